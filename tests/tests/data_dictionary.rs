//! `docs/DATA.md` (the data dictionary) cannot drift from the schemas: for every dataset, the
//! column names of its table, in order, equal the schema's fields (default parameters), and each
//! row's type and "null when" cells agree with the field's Arrow type and nullability.
//!
//! The dictionary's format: under a heading `### <layer>/<dataset>` (e.g. `### silver/book`),
//! the first Markdown table lists one column per row, its name in backticks in the first cell,
//! its type in the second, and `never` in the "null when" cell (the fourth) exactly when the
//! column is not nullable.

use arrow_schema::{DataType, SchemaRef, TimeUnit};
use daedalus_dataflow::{ParamTemplate, RunConfig};
use daedalus_model::datasets::{
    bronze_book, bronze_ticker, bronze_trades, gold_bars, silver_book, silver_cross,
    silver_intervals, silver_ticker, silver_trades,
};
use daedalus_model::market::Market;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Every dataset the engine writes or reads, with its schema at the default run parameters
/// (the output layout a default `daedalus run` gives a market).
fn datasets() -> Vec<(&'static str, SchemaRef)> {
    let market = Market::new("binance", "BTC-USDT").unwrap();
    let l = ParamTemplate::new(&RunConfig::default())
        .unwrap()
        .params_for(&market)
        .output_layout();
    vec![
        ("bronze/book", bronze_book::schema()),
        ("bronze/trades", bronze_trades::schema()),
        ("bronze/ticker", bronze_ticker::schema()),
        (
            "silver/book",
            silver_book::schema(l.mlofi_levels, &l.book_windows),
        ),
        ("silver/ticker", silver_ticker::schema(&l.ticker_windows)),
        ("silver/trades", silver_trades::schema(&l.trade_windows)),
        ("silver/intervals", silver_intervals::schema(l.mlofi_levels)),
        ("silver/cross", silver_cross::schema()),
        ("gold/bars", gold_bars::schema()),
    ]
}

/// One documented column: name, type cell, "null when" cell.
#[derive(Debug)]
struct DocColumn {
    name: String,
    ty: String,
    null_when: String,
}

fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    // `\|` is a pipe inside a cell.
    t.replace("\\|", "\u{1}")
        .split('|')
        .map(|c| c.trim().replace('\u{1}', "|"))
        .collect()
}

fn backticked(cell: &str) -> Option<String> {
    let rest = cell.strip_prefix('`')?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

/// The first table after each `### <dataset>` heading of `text`.
fn parse(text: &str) -> BTreeMap<String, Vec<DocColumn>> {
    let known: Vec<&str> = datasets().iter().map(|d| d.0).collect();
    let mut out: BTreeMap<String, Vec<DocColumn>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_table = false;
    let mut header_seen = 0;
    for line in text.lines() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix("### ") {
            let h = h.trim().trim_matches('`').to_string();
            in_table = false;
            header_seen = 0;
            current = known.contains(&h.as_str()).then(|| {
                assert!(
                    !out.contains_key(&h),
                    "docs/DATA.md: dataset heading `### {h}` appears twice"
                );
                out.insert(h.clone(), Vec::new());
                h
            });
            continue;
        }
        let Some(ds) = current.clone() else { continue };
        if l.starts_with('|') {
            in_table = true;
            header_seen += 1;
            if header_seen <= 2 {
                continue; // header row and separator row
            }
            let c = cells(l);
            let name = backticked(&c[0]).unwrap_or_else(|| {
                panic!(
                    "docs/DATA.md `### {ds}`: first cell {:?} must be a column name in backticks",
                    c[0]
                )
            });
            assert!(
                c.len() >= 4,
                "docs/DATA.md `### {ds}`: row `{name}` needs column, type, unit, null when, meaning"
            );
            out.get_mut(&ds).unwrap().push(DocColumn {
                name,
                ty: c[1].trim_matches('`').to_string(),
                null_when: c[3].clone(),
            });
        } else if in_table {
            // The dataset's table ended; ignore anything until the next heading.
            current = None;
        }
    }
    out
}

/// The type cell the dictionary uses for an Arrow type.
fn type_name(t: &DataType) -> String {
    match t {
        DataType::Timestamp(TimeUnit::Nanosecond, Some(tz)) => format!("timestamp[ns, {tz}]"),
        DataType::UInt64 => "uint64".into(),
        DataType::Int64 => "int64".into(),
        DataType::Int8 => "int8".into(),
        DataType::Float64 => "float64".into(),
        DataType::Boolean => "bool".into(),
        DataType::Utf8 => "string".into(),
        DataType::Dictionary(k, v) if **k == DataType::Int8 && **v == DataType::Utf8 => {
            "dictionary<int8, string>".into()
        }
        other => panic!("no dictionary type name for {other}"),
    }
}

fn data_md() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/DATA.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every disagreement between a dictionary text and the schemas.
fn problems(text: &str) -> Vec<String> {
    let doc = parse(text);
    let mut problems = Vec::new();
    for (ds, schema) in datasets() {
        let Some(cols) = doc.get(ds) else {
            problems.push(format!("no `### {ds}` section with a column table"));
            continue;
        };
        let documented: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let declared: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        if documented != declared {
            let missing: Vec<&&str> = declared
                .iter()
                .filter(|n| !documented.contains(n))
                .collect();
            let extra: Vec<&&str> = documented
                .iter()
                .filter(|n| !declared.contains(n))
                .collect();
            problems.push(format!(
                "{ds}: documented columns differ from the schema (missing {missing:?}, extra \
                 {extra:?}; order documented {documented:?} vs schema {declared:?})"
            ));
            continue;
        }
        for (c, f) in cols.iter().zip(schema.fields()) {
            let want = type_name(f.data_type());
            if c.ty != want {
                problems.push(format!(
                    "{ds}.{}: documented type {:?}, schema {want:?}",
                    c.name, c.ty
                ));
            }
            let never = c.null_when.trim_matches('`').eq_ignore_ascii_case("never");
            if never == f.is_nullable() {
                problems.push(format!(
                    "{ds}.{}: \"null when\" is {:?} but the field is {}nullable",
                    c.name,
                    c.null_when,
                    if f.is_nullable() { "" } else { "not " }
                ));
            }
        }
    }
    problems
}

#[test]
fn data_dictionary_lists_every_column_of_every_dataset_in_schema_order() {
    let p = problems(&data_md());
    assert!(
        p.is_empty(),
        "docs/DATA.md disagrees with daedalus_model::schema:\n{}",
        p.join("\n")
    );
}

/// The check itself: the real dictionary with one column row removed, one added, or two swapped
/// is rejected.
#[test]
fn a_missing_extra_or_swapped_column_is_detected() {
    let text = data_md();
    let lines: Vec<&str> = text.lines().collect();
    let row = |name: &str| {
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("no row for `{name}`"));
        (at, lines[at])
    };
    let (at, vwap) = row("vwap");
    let mut missing = lines.clone();
    missing.remove(at);
    let p = problems(&missing.join("\n"));
    assert!(p.iter().any(|m| m.contains("missing [\"vwap\"]")), "{p:?}");
    let extra_row = vwap.replace("`vwap`", "`vwap_extra`");
    let mut extra = lines.clone();
    extra.insert(at + 1, &extra_row);
    let p = problems(&extra.join("\n"));
    assert!(
        p.iter().any(|m| m.contains("extra [\"vwap_extra\"]")),
        "{p:?}"
    );
    let (a, _) = row("ofi_10s");
    let (b, _) = row("ofi_60s");
    let mut swapped = lines.clone();
    swapped.swap(a, b);
    let p = problems(&swapped.join("\n"));
    assert!(p.iter().any(|m| m.starts_with("silver/book")), "{p:?}");
}
