//! Issue 16: the bad-input table of docs/OPERATIONS.md ("Ingest bad input") is walked row by
//! row, so it cannot drift from what the binary does.
//!
//! Every row must have exactly one [`Case`] here (matched by the start of its first cell), every
//! case must match a row, the row's outcome cell must contain the case's `doc` fragments, and
//! running the case (a small bad input made in the test, fed to `daedalus ingest` strictly and
//! with `--lenient`) must exit as the row says and print the case's `out` fragments. A new row
//! without a case, a case without a row, or a row whose text no longer says what the binary does
//! fails here.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

/// What one invocation printed and how it exited.
struct Ran {
    ok: bool,
    text: String,
}

fn ingest(dir: &Path, format: &str, file: &str, lenient: bool) -> Ran {
    let root = dir.join(format!("root-{file}-{lenient}"));
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(["ingest", "--format", format, file, "--root"])
        .arg(&root);
    if lenient {
        cmd.arg("--lenient");
    }
    let out = cmd.output().expect("daedalus runs");
    Ran {
        ok: out.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// One row of the table: how to make its input, and what strict and lenient runs must show.
struct Case {
    /// The start of the row's first cell.
    row: &'static str,
    /// `--format` value.
    format: &'static str,
    /// File name and its bytes.
    file: (&'static str, fn() -> Vec<u8>),
    /// Fragments the row's outcome cell must contain.
    doc: &'static [&'static str],
    /// Strict run: exits successfully?, and fragments its output must contain.
    strict: (bool, &'static [&'static str]),
    /// `--lenient` run: exits successfully?, and fragments its output must contain.
    lenient: (bool, &'static [&'static str]),
}

const SNAPSHOT: &str = r#"1723161254206652067 {"lastUpdateId":11,"bids":[["61737.63","3.78"]],"asks":[["61838.04","1.5"]]}"#;
const DIFF_10_12: &str = r#"1723161254306652067 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":10,"u":12,"b":[["61737.63","0.5"]],"a":[]}}"#;
const DIFF_15_16: &str = r#"1723161254406652067 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":15,"u":16,"b":[["61737.63","0.7"]],"a":[]}}"#;
const DIFF_13_14: &str = r#"1723161254506652067 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255408,"s":"BTCUSDT","U":13,"u":14,"b":[["61737.63","0.9"]],"a":[]}}"#;
const TRADE_7: &str = r#"1723161254506652067 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255300,"s":"BTCUSDT","t":7,"p":"61800.00","q":"0.001","T":1723161255300,"m":true}}"#;
const TRADES_HEADER: &str = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";

fn lines(ls: &[&str]) -> Vec<u8> {
    ls.iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip in memory");
    e.finish().expect("gzip in memory")
}

const CASES: &[Case] = &[
    Case {
        row: "Binance line that is not",
        format: "binance-raw",
        file: ("bad_line.log", || {
            lines(&[DIFF_10_12, SNAPSHOT, "not a line"])
        }),
        doc: &["`<file>:<line>: <rule>`", "`--lenient`: skipped, counted"],
        strict: (
            false,
            &["bad_line.log:3: receive timestamp \"not\" is not an integer"],
        ),
        lenient: (true, &["skipped (lenient)"]),
    },
    Case {
        row: "Binance chain break",
        format: "binance-raw",
        file: ("chain.log", || lines(&[DIFF_10_12, SNAPSHOT, DIFF_15_16])),
        doc: &["naming the ids", "`--lenient`: gap marker, counted"],
        strict: (
            false,
            &["chain.log:3: binance/BTC-USDT: depth chain broken: U=15 but previous u=12"],
        ),
        lenient: (true, &["binance/BTC-USDT"]),
    },
    Case {
        row: "truncated or corrupt gzip",
        format: "binance-raw",
        file: ("cut.gz", || {
            let g = gzip(&lines(&[DIFF_10_12, SNAPSHOT, DIFF_10_12]));
            g[..g.len() - 12].to_vec()
        }),
        doc: &[
            "`<file>: truncated or corrupt input after line N`",
            "lines before the cut kept",
        ],
        strict: (false, &["cut.gz: truncated or corrupt input after line"]),
        lenient: (true, &["truncated"]),
    },
    Case {
        row: "Tardis CSV with a UTF-8 byte order mark",
        format: "tardis-csv",
        file: ("bom.csv", || {
            let mut b = b"\xef\xbb\xbf".to_vec();
            let rows = [
                TRADES_HEADER,
                "bitmex,XBTUSD,1585699200000000,1585699200100000,\"a,1\",buy,6500.5,100",
            ];
            b.extend(rows.join("\r\n").into_bytes());
            b.extend(b"\r\n");
            b
        }),
        doc: &["read as any other", "no error"],
        strict: (true, &["ingested 1 file(s)"]),
        lenient: (true, &["ingested 1 file(s)"]),
    },
    Case {
        row: "Tardis header without a column its dataset needs",
        format: "tardis-csv",
        file: ("no_amount.csv", || {
            lines(&[
                "exchange,symbol,timestamp,local_timestamp,id,side,price",
                "bitmex,XBTUSD,1,2,a,buy,1",
            ])
        }),
        doc: &["`<file>:1: header: missing column `price`", "not skippable"],
        strict: (false, &["no_amount.csv:1: header: missing column `amount`"]),
        lenient: (false, &["no_amount.csv:1: header: missing column `amount`"]),
    },
    Case {
        row: "Tardis header of no supported dataset",
        format: "tardis-csv",
        file: ("foo.csv", || lines(&["foo,bar", "1,2"])),
        doc: &["unrecognised Tardis CSV header"],
        strict: (
            false,
            &["foo.csv:1: header: unrecognised Tardis CSV header"],
        ),
        lenient: (
            false,
            &["foo.csv:1: header: unrecognised Tardis CSV header"],
        ),
    },
    Case {
        row: "Tardis row with another number of fields",
        format: "tardis-csv",
        file: ("short_row.csv", || {
            lines(&[
                TRADES_HEADER,
                "binance,BTCUSDT,1585699200000000,1585699200100000,a1,buy,6500.5",
            ])
        }),
        doc: &["`7 fields, header has 8`", "counted as `bad csv row`"],
        strict: (false, &["short_row.csv:2: 7 fields, header has 8"]),
        lenient: (true, &["\"bad csv row\": 1"]),
    },
    Case {
        row: "Tardis empty gzip",
        format: "tardis-csv",
        file: ("empty.csv.gz", || gzip(b"")),
        doc: &["accepted, nothing written, counted as an empty input"],
        strict: (true, &["empty inputs (no rows): 1"]),
        lenient: (true, &["empty inputs (no rows): 1"]),
    },
    Case {
        row: "Binance line with bytes that are not UTF-8",
        format: "binance-raw",
        file: ("utf8.log", || {
            let mut b = lines(&[DIFF_10_12, SNAPSHOT]);
            b.extend_from_slice(b"1723161254406652067 {\"stream\":\"btcusdt@trade\xff\"}\n");
            b.extend(lines(&[DIFF_13_14]));
            b
        }),
        doc: &["`<file>:<line>: not UTF-8`", "counted as `not UTF-8`"],
        strict: (false, &["utf8.log:3: not UTF-8"]),
        lenient: (true, &["\"not UTF-8\": 1"]),
    },
    Case {
        row: "Tardis `book_snapshot_N` header without a level's column",
        format: "tardis-csv",
        file: ("snap.csv", || {
            let mut cols = vec!["exchange,symbol,timestamp,local_timestamp".to_string()];
            for i in 0..5 {
                cols.push(format!("asks[{i}].price,asks[{i}].amount,bids[{i}].price"));
                if i != 3 {
                    cols.push(format!("bids[{i}].amount"));
                }
            }
            lines(&[&cols.join(",")])
        }),
        doc: &[
            "`<file>:1: header: missing column `bids[3].amount`",
            "not skippable",
        ],
        strict: (
            false,
            &["snap.csv:1: header: missing column `bids[3].amount` (Tardis book_snapshot_5"],
        ),
        lenient: (
            false,
            &["snap.csv:1: header: missing column `bids[3].amount`"],
        ),
    },
    Case {
        row: "Hyperliquid line that is not",
        format: "hyperliquid",
        file: ("hl.log", || {
            lines(&[
                r#"1737918843893903000 {"channel":"l2Book","data":{"coin":"@107","time":1737918843542,"levels":[[{"n":1,"px":"1.0","sz":"2.0"}],[]]}}"#,
            ])
        }),
        doc: &[
            "`unknown hyperliquid coin \"@107\"`",
            "counted as `bad hyperliquid line`",
        ],
        strict: (false, &["hl.log:1: unknown hyperliquid coin \"@107\""]),
        lenient: (true, &["\"bad hyperliquid line\": 1"]),
    },
    Case {
        row: "Bybit order book line that is not a message",
        format: "bybit-orderbook",
        file: ("bad.data", || {
            lines(&[
                r#"{"topic":"orderbook.500.BTC-27DEC24","type":"snapshot","ts":1733011200691,"cts":1733011200690,"data":{"s":"BTC-27DEC24","b":[],"a":[],"u":1,"seq":1}}"#,
            ])
        }),
        doc: &["`<file>:<line>: <rule>`", "counted as `bad bybit line`"],
        strict: (
            false,
            &["bad.data:1: unknown bybit order book \"orderbook.500.BTC-27DEC24\""],
        ),
        lenient: (true, &["\"bad bybit line\": 1"]),
    },
    Case {
        row: "Bybit order book `u` chain break",
        format: "bybit-orderbook",
        file: ("gap.data", || {
            let m = |kind: &str, u: u64| {
                format!(
                    r#"{{"topic":"orderbook.500.XRPUSDT","type":"{kind}","ts":1733011200691,"cts":1733011200690,"data":{{"s":"XRPUSDT","b":[["1.95","10"]],"a":[["1.96","5"]],"u":{u},"seq":1}}}}"#
                )
            };
            lines(&[&m("snapshot", 7), &m("delta", 8), &m("delta", 10)])
        }),
        doc: &[
            "u chain broken: u=B but previous u=A",
            "counted as `bybit u gap`",
        ],
        strict: (
            false,
            &["gap.data:3: bybit/XRP-USDT-PERP: u chain broken: u=10 but previous u=8"],
        ),
        lenient: (true, &["\"bybit u gap\": 1"]),
    },
    Case {
        row: "`.zip` archive with several files",
        format: "bybit-orderbook",
        file: ("two.zip", || {
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            for name in ["a.data", "b.data"] {
                w.start_file(name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                std::io::Write::write_all(&mut w, b"{}\n").unwrap();
            }
            w.finish().unwrap().into_inner()
        }),
        doc: &[
            "zip archive holds N files; one recording per archive is read",
            "not skippable",
        ],
        strict: (false, &["two.zip", "zip archive holds 2 files"]),
        lenient: (false, &["zip archive holds 2 files"]),
    },
    Case {
        row: "Binance archive (`binance-vision`) row",
        format: "binance-vision",
        file: ("BTCUSDT-trades-2024-08-08.csv", || {
            lines(&[
                "3740919981,61837.63,0.002,123.67526,1723075200016,True,True",
                "3740919982,61837.64,0.001,61.83764,1723075200017,maybe,True",
            ])
        }),
        doc: &[
            "`<file>:<line>: <rule>`",
            "is not true or false",
            "counted as `bad binance-vision row`",
        ],
        strict: (
            false,
            &["BTCUSDT-trades-2024-08-08.csv:2: is_buyer_maker \"maybe\" is not true or false"],
        ),
        lenient: (true, &["\"bad binance-vision row\": 1"]),
    },
    Case {
        row: "Binance archive time",
        format: "binance-vision",
        file: ("ETHUSDT-trades-2025-01-01.csv", || {
            lines(&[
                "1,3332.1,0.5,1666.05,1735689600090493,False,True",
                "2,3332.2,0.5,1666.1,1735689600091,False,True",
            ])
        }),
        doc: &[
            "reads as ms but the file's first row was in µs",
            "counted as `bad binance-vision row`",
        ],
        strict: (
            false,
            &[
                "ETHUSDT-trades-2025-01-01.csv:2: time 1735689600091 reads as ms but the file's first row was in µs",
            ],
        ),
        lenient: (true, &["\"bad binance-vision row\": 1"]),
    },
    Case {
        row: "Binance archive whose file name",
        format: "binance-vision",
        file: ("trades.csv", || {
            lines(&["1,3332.1,0.5,1666.05,1735689600090,False,True"])
        }),
        doc: &["is not a Binance archive name", "not skippable"],
        strict: (false, &["trades.csv", "is not a Binance archive name"]),
        lenient: (false, &["is not a Binance archive name"]),
    },
    Case {
        row: "BitMEX symbol from Tardis",
        format: "tardis-csv",
        file: ("xbteur.csv", || {
            lines(&[
                TRADES_HEADER,
                "bitmex,XBT/EUR,1585699200000000,1585699200100000,a1,buy,6500.5,100",
            ])
        }),
        doc: &[
            "`<file>:<line>: cannot map symbol \"XBT/EUR\" of exchange \"bitmex\"",
            "`--lenient`: skipped, counted",
        ],
        strict: (
            false,
            &["xbteur.csv:2: cannot map symbol \"XBT/EUR\" of exchange \"bitmex\""],
        ),
        lenient: (true, &["\"bad csv row\": 1"]),
    },
    Case {
        row: "event or receive time before 2009-01-01",
        format: "binance-raw",
        file: ("y3000.log", || {
            lines(&[
                DIFF_10_12,
                SNAPSHOT,
                r#"1723161254506652067 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255300,"s":"BTCUSDT","t":5,"p":"61800.00","q":"0.001","T":32503680000000,"m":true}}"#,
            ])
        }),
        doc: &[
            "trade time T 32503680000000 ms is outside the accepted range 2009-01-01..2100-01-01",
            "counted as `time out of range`",
        ],
        strict: (
            false,
            &[
                "y3000.log:3: trade time T 32503680000000 ms is outside the accepted range 2009-01-01..2100-01-01",
            ],
        ),
        lenient: (true, &["\"time out of range\": 1"]),
    },
    Case {
        row: "Binance depth diffs that cannot be synced",
        format: "binance-raw",
        file: ("unsynced.log", || lines(&[DIFF_10_12, DIFF_13_14])),
        doc: &[
            "`<file>: <market>: N depth diff(s) (M book rows) cannot be synced",
            "`--allow-unsynced`",
            "`stale_diffs`, never unsynced",
        ],
        strict: (
            false,
            &["unsynced.log: binance/BTC-USDT: 2 depth diff(s) (2 book rows) cannot be synced"],
        ),
        lenient: (
            true,
            &["warning: unsynced.log: binance/BTC-USDT: 2 depth diff(s) (2 book rows) dropped"],
        ),
    },
    Case {
        row: "trade id repeated in one input",
        format: "binance-raw",
        file: ("dup.log", || {
            lines(&[DIFF_10_12, SNAPSHOT, TRADE_7, TRADE_7])
        }),
        doc: &[
            "dropped and counted as `duplicate_trades`",
            "never deduplicated",
        ],
        strict: (true, &["duplicate trades dropped: 1"]),
        lenient: (true, &["duplicate trades dropped: 1"]),
    },
    Case {
        row: "trade size below the fixed-point resolution",
        format: "binance-raw",
        file: ("tiny.log", || {
            lines(&[
                DIFF_10_12,
                SNAPSHOT,
                &TRADE_7.replace("0.001", "0.000000000001"),
            ])
        }),
        doc: &[
            "trade size 1e-12 is below the fixed-point resolution 1e-9",
            "counted as `sub-resolution trade`",
        ],
        strict: (
            false,
            &[
                "tiny.log:3: binance/BTC-USDT: trade \"7\": trade size 1e-12 is below the fixed-point resolution 1e-9",
            ],
        ),
        lenient: (true, &["\"sub-resolution trade\": 1"]),
    },
];

/// `(first cell, outcome cell)` of every row of the "Ingest bad input" table.
fn table_rows() -> Vec<(String, String)> {
    let ops = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/OPERATIONS.md"
    ))
    .expect("docs/OPERATIONS.md");
    let start = ops
        .find("\n## Ingest bad input")
        .expect("Ingest bad input section");
    let section = &ops[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    // The first table of the section (the cryptofeed table that follows has its own tests).
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| {
            let cells: Vec<&str> = split_cells(l);
            assert!(cells.len() >= 2, "table row without an outcome: {l}");
            (cells[0].to_string(), cells[1..].join(" | "))
        })
        .collect()
}

/// Cells of a markdown row; `|` inside backticks does not split.
fn split_cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = Vec::new();
    let (mut from, mut code) = (0, false);
    for (i, c) in inner.char_indices() {
        match c {
            '`' => code = !code,
            '|' if !code => {
                cells.push(inner[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    cells.push(inner[from..].trim());
    cells
}

#[test]
fn issue_16_every_row_of_the_bad_input_table_has_a_case_and_it_holds() {
    let rows = table_rows();
    assert!(rows.len() >= CASES.len(), "table has {} rows", rows.len());
    for (input, _) in &rows {
        let n = CASES.iter().filter(|c| input.starts_with(c.row)).count();
        assert_eq!(
            n, 1,
            "row {input:?} has {n} cases in cli/tests/issue_16_table.rs (needs 1)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for c in CASES {
        let (_, outcome) = rows
            .iter()
            .find(|(input, _)| input.starts_with(c.row))
            .unwrap_or_else(|| panic!("case {:?} has no row in the table", c.row));
        for d in c.doc {
            assert!(
                outcome.contains(d),
                "row {:?}: outcome lacks {d:?}: {outcome}",
                c.row
            );
        }
        let (name, bytes) = c.file;
        std::fs::write(dir.path().join(name), bytes()).unwrap();
        for (lenient, (ok, out)) in [(false, c.strict), (true, c.lenient)] {
            let r = ingest(dir.path(), c.format, name, lenient);
            assert_eq!(
                r.ok, ok,
                "row {:?} (lenient {lenient}): exit: {}",
                c.row, r.text
            );
            for o in out {
                assert!(
                    r.text.contains(o),
                    "row {:?} (lenient {lenient}): lacks {o:?}: {}",
                    c.row,
                    r.text
                );
            }
        }
    }
}
