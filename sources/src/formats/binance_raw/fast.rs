//! The fast path of a Binance line: the combined-stream envelope and its three message shapes
//! read with the allocation-free [`Json`] reader, decimals as fixed point.
//!
//! Why: this is where ingest spends its time. The messages are parsed, not prefix-matched: any
//! key order and whitespace is accepted (`data` may come before `stream`), unknown keys are
//! skipped. Whatever the fast path does not accept with certainty is [`Unsupported`] and the
//! line goes through the serde_json path in [`super::rows`], which decides (value or error), so
//! both paths give the same rows for every line the fast path accepts.

use super::markets::kind_of;
use crate::formats::fields::parse_decimal;
use crate::formats::json::{Fast, Json, Unsupported, fixed_decimal};
use daedalus_model::rows::BookSide;

/// A depth level as written: side, price, size.
pub(super) type Level = (BookSide, f64, f64);

/// A `depthUpdate`'s ids and event time (its levels go to the caller's scratch vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_snake_case)]
pub(super) struct DepthMsg {
    pub(super) E: i64,
    pub(super) U: u64,
    pub(super) u: u64,
    pub(super) pu: Option<u64>,
}

/// A `trade`, prices and sizes as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_snake_case)]
pub(super) struct TradeMsg<'a> {
    pub(super) T: i64,
    pub(super) t: u64,
    pub(super) p: &'a str,
    pub(super) q: &'a str,
    pub(super) m: bool,
}

/// A `bookTicker`, prices and sizes as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_snake_case)]
pub(super) struct TickerMsg<'a> {
    pub(super) E: Option<i64>,
    pub(super) u: u64,
    pub(super) b: &'a str,
    pub(super) B: &'a str,
    pub(super) a: &'a str,
    pub(super) A: &'a str,
}

/// The `data` of a combined-stream line, by the stream's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Msg<'a> {
    Depth(DepthMsg),
    Trade(TradeMsg<'a>),
    Ticker(TickerMsg<'a>),
    /// A stream that is not ingested (its `data` was skipped).
    Other,
}

/// Parses a line's JSON: `Some((stream, message))` for a combined-stream line (depth levels in
/// `levels`, bids then asks), `None` for a line without `stream`.
pub(super) fn line<'a>(json: &'a str, levels: &mut Vec<Level>) -> Fast<Option<(&'a str, Msg<'a>)>> {
    let mut j = Json::new(json);
    j.object()?;
    let (mut stream, mut msg, mut later) = (None, None, None);
    let mut first = true;
    while let Some(k) = j.key(&mut first)? {
        match k {
            "stream" if stream.is_none() => stream = Some(j.str()?),
            "data" if msg.is_none() && later.is_none() => match stream {
                Some(s) => msg = Some(data(&mut j, s, levels)?),
                None => {
                    let from = j.pos();
                    j.skip()?;
                    later = Some((from, j.pos()));
                }
            },
            "stream" | "data" => return Err(Unsupported),
            _ => j.skip()?,
        }
    }
    j.end()?;
    let Some(s) = stream else {
        return Ok(None);
    };
    let msg = match (msg, later) {
        (Some(m), _) => m,
        (None, Some((from, to))) => {
            let mut d = j.sub(from, to);
            let m = data(&mut d, s, levels)?;
            d.end()?;
            m
        }
        (None, None) => return Err(Unsupported),
    };
    Ok(Some((s, msg)))
}

fn data<'a>(j: &mut Json<'a>, stream: &str, levels: &mut Vec<Level>) -> Fast<Msg<'a>> {
    match kind_of(stream).map(|(_, _, what)| what) {
        Some("depth") => depth(j, levels).map(Msg::Depth),
        Some("trade") => trade(j).map(Msg::Trade),
        Some(_) => ticker(j).map(Msg::Ticker),
        None => j.skip().map(|()| Msg::Other),
    }
}

/// Sets a field seen for the first time (a duplicate is left to serde_json, which rejects it).
fn once<T>(slot: &mut Option<T>, v: T) -> Fast<()> {
    if slot.is_some() {
        return Err(Unsupported);
    }
    *slot = Some(v);
    Ok(())
}

#[allow(non_snake_case)]
fn depth(j: &mut Json<'_>, levels: &mut Vec<Level>) -> Fast<DepthMsg> {
    j.object()?;
    levels.clear();
    let (mut E, mut s, mut U, mut u, mut pu) = (None, None, None, None, None);
    let (mut bids, mut asks) = (None, None);
    let mut first = true;
    while let Some(k) = j.key(&mut first)? {
        match k {
            "E" => once(&mut E, j.i64()?)?,
            "s" => once(&mut s, j.str()?)?,
            "U" => once(&mut U, j.u64()?)?,
            "u" => once(&mut u, j.u64()?)?,
            "pu" => once(&mut pu, if j.null() { None } else { Some(j.u64()?) })?,
            "b" => once(&mut bids, side(j, BookSide::Bid, levels)?)?,
            "a" => once(&mut asks, side(j, BookSide::Ask, levels)?)?,
            _ => j.skip()?,
        }
    }
    let ((b0, _), (a0, a1)) = (bids.ok_or(Unsupported)?, asks.ok_or(Unsupported)?);
    if a0 < b0 {
        levels.rotate_left(a1 - a0);
    }
    s.ok_or(Unsupported)?;
    Ok(DepthMsg {
        E: E.ok_or(Unsupported)?,
        U: U.ok_or(Unsupported)?,
        u: u.ok_or(Unsupported)?,
        pu: pu.flatten(),
    })
}

/// One side's `[[price, size], ..]`: prices positive, sizes non-negative (else the serde path
/// words the error); returns the range it appended. The compact form of real recordings is
/// read by [`Json::compact_decimal_pairs`]; anything else (whitespace, exponents, a refused
/// level) is read again from the start by [`side_general`], which decides.
fn side(j: &mut Json<'_>, side: BookSide, out: &mut Vec<Level>) -> Fast<(usize, usize)> {
    let from = out.len();
    let compact = j.compact_decimal_pairs(|price, size| {
        out.push((side, price, size));
        price > 0.0
    });
    if compact.is_some() {
        return Ok((from, out.len()));
    }
    out.truncate(from);
    side_general(j, side, out)
}

/// [`side`] with the general reader: any whitespace, any decimal [`decimal`] accepts.
fn side_general(j: &mut Json<'_>, side: BookSide, out: &mut Vec<Level>) -> Fast<(usize, usize)> {
    let from = out.len();
    j.array()?;
    let mut first = true;
    while j.more(&mut first)? {
        j.array()?;
        let mut f = true;
        let p = if j.more(&mut f)? {
            j.str()?
        } else {
            return Err(Unsupported);
        };
        let q = if j.more(&mut f)? {
            j.str()?
        } else {
            return Err(Unsupported);
        };
        if j.more(&mut f)? {
            return Err(Unsupported);
        }
        let price = decimal(p).filter(|v| *v > 0.0).ok_or(Unsupported)?;
        out.push((side, price, decimal(q).ok_or(Unsupported)?));
    }
    Ok((from, out.len()))
}

/// A non-negative decimal: fixed point when plain, else the general rule.
#[inline]
pub(super) fn decimal(s: &str) -> Option<f64> {
    fixed_decimal(s).or_else(|| parse_decimal(s))
}

#[allow(non_snake_case)]
fn trade<'a>(j: &mut Json<'a>) -> Fast<TradeMsg<'a>> {
    j.object()?;
    let (mut T, mut s, mut t, mut p, mut q, mut m) = (None, None, None, None, None, None);
    let mut first = true;
    while let Some(k) = j.key(&mut first)? {
        match k {
            "T" => once(&mut T, j.i64()?)?,
            "s" => once(&mut s, j.str()?)?,
            "t" => once(&mut t, j.u64()?)?,
            "p" => once(&mut p, j.str()?)?,
            "q" => once(&mut q, j.str()?)?,
            "m" => once(&mut m, j.bool()?)?,
            _ => j.skip()?,
        }
    }
    s.ok_or(Unsupported)?;
    Ok(TradeMsg {
        T: T.ok_or(Unsupported)?,
        t: t.ok_or(Unsupported)?,
        p: p.ok_or(Unsupported)?,
        q: q.ok_or(Unsupported)?,
        m: m.ok_or(Unsupported)?,
    })
}

#[allow(non_snake_case)]
fn ticker<'a>(j: &mut Json<'a>) -> Fast<TickerMsg<'a>> {
    j.object()?;
    let (mut E, mut u, mut s) = (None, None, None);
    let (mut b, mut B, mut a, mut A) = (None, None, None, None);
    let mut first = true;
    while let Some(k) = j.key(&mut first)? {
        match k {
            "E" => once(&mut E, if j.null() { None } else { Some(j.i64()?) })?,
            "u" => once(&mut u, j.u64()?)?,
            "s" => once(&mut s, j.str()?)?,
            "b" => once(&mut b, j.str()?)?,
            "B" => once(&mut B, j.str()?)?,
            "a" => once(&mut a, j.str()?)?,
            "A" => once(&mut A, j.str()?)?,
            _ => j.skip()?,
        }
    }
    s.ok_or(Unsupported)?;
    Ok(TickerMsg {
        E: E.flatten(),
        u: u.ok_or(Unsupported)?,
        b: b.ok_or(Unsupported)?,
        B: B.ok_or(Unsupported)?,
        a: a.ok_or(Unsupported)?,
        A: A.ok_or(Unsupported)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPTH: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723075200123,"s":"BTCUSDT","U":100,"u":102,"b":[["61837.63000000","0.50000000"],["61837.62","0"]],"a":[["61837.64000000","1.25"]]}}"#;

    #[test]
    fn reordered_keys_and_whitespace_parse_to_the_same_message() {
        let mut lv = vec![];
        let want = line(DEPTH, &mut lv).unwrap().unwrap();
        let want_lv = lv.clone();
        assert_eq!(
            want_lv,
            vec![
                (BookSide::Bid, 61837.63, 0.5),
                (BookSide::Bid, 61837.62, 0.0),
                (BookSide::Ask, 61837.64, 1.25)
            ]
        );
        let reordered = r#" { "data" : { "a" : [ [ "61837.64000000" , "1.25" ] ] ,
            "u":102, "b":[["61837.63000000","0.50000000"],["61837.62","0"]], "U" : 100,
            "s":"BTCUSDT", "x": {"nested": [1, 2.5e3, null, true]}, "E":1723075200123 } ,
            "stream" : "btcusdt@depth@100ms" } "#;
        let got = line(reordered, &mut lv).unwrap().unwrap();
        assert_eq!(got, want);
        assert_eq!(lv, want_lv, "bids before asks whatever the key order");
    }

    #[test]
    fn trades_and_tickers_parse_and_odd_lines_go_to_serde() {
        let t = r#"{"data":{"T":1723075200999,"t":7,"p":"58.60","q":"0.001","m":true,"s":"ETHUSDT","e":"trade"},"stream":"ethusdt@trade"}"#;
        let mut lv = vec![];
        let (s, m) = line(t, &mut lv).unwrap().unwrap();
        assert_eq!(s, "ethusdt@trade");
        assert_eq!(
            m,
            Msg::Trade(TradeMsg {
                T: 1723075200999,
                t: 7,
                p: "58.60",
                q: "0.001",
                m: true
            })
        );
        let k = r#"{"stream":"btcusdt@bookTicker","data":{"u":5,"s":"BTCUSDT","b":"1.5","B":"2","a":"1.6","A":"3"}}"#;
        assert!(matches!(line(k, &mut lv), Ok(Some((_, Msg::Ticker(t)))) if t.E.is_none()));
        assert_eq!(
            line(r#"{"lastUpdateId":1,"bids":[],"asks":[]}"#, &mut lv),
            Ok(None)
        );
        // Escapes, duplicate keys, bad decimals and cut lines are left to serde_json.
        for odd in [
            r#"{"stream":"btcusdt@trade","data":{"T":1,"t":1,"p":"1\u0030","q":"1","m":true,"s":"X"}}"#,
            r#"{"stream":"btcusdt@trade","data":{"T":1,"T":2,"t":1,"p":"1","q":"1","m":true,"s":"X"}}"#,
            r#"{"stream":"btcusdt@depth@100ms","data":{"E":1,"s":"X","U":1,"u":2,"b":[["-1","1"]],"a":[]}}"#,
            &DEPTH[..DEPTH.len() / 2],
        ] {
            assert_eq!(line(odd, &mut lv), Err(Unsupported), "{odd}");
        }
    }

    type Rng = rand_chacha::ChaCha8Rng;

    /// The serde_json path's reading of one side: `Ok(levels)` or `Err(())` when it rejects.
    fn serde_side(text: &str, side: BookSide) -> Result<Vec<Level>, ()> {
        let raw: Vec<(std::borrow::Cow<str>, std::borrow::Cow<str>)> =
            serde_json::from_str(text).map_err(|_| ())?;
        let mut out = vec![];
        super::super::messages::levels(&raw, side, &mut out).map_err(|_| ())?;
        Ok(out)
    }

    /// Reads `text` as one side with `read`; `Ok` only when the whole text was consumed.
    fn read_side(
        text: &str,
        read: fn(&mut Json<'_>, BookSide, &mut Vec<Level>) -> Fast<(usize, usize)>,
    ) -> Fast<Vec<Level>> {
        let mut j = Json::new(text);
        let mut out = vec![(BookSide::Ask, 9.0, 9.0)];
        let (from, to) = read(&mut j, BookSide::Bid, &mut out)?;
        j.end()?;
        assert_eq!((from, to), (1, out.len()), "appends after what was there");
        Ok(out.split_off(1))
    }

    /// The scanner (with its fallback), the general reader and serde_json agree on `text`:
    /// the fast path accepts only what serde_json accepts, with the same values bit for bit.
    fn check_side(text: &str) -> Fast<Vec<Level>> {
        let fast = read_side(text, side);
        assert_eq!(
            fast,
            read_side(text, side_general),
            "scanner vs general: {text}"
        );
        if let Ok(lv) = &fast {
            let bits = |v: &[Level]| -> Vec<(BookSide, u64, u64)> {
                v.iter()
                    .map(|(s, p, q)| (*s, p.to_bits(), q.to_bits()))
                    .collect()
            };
            let want = serde_side(text, BookSide::Bid).expect("serde_json accepts it too");
            assert_eq!(bits(lv), bits(&want), "fast vs serde_json: {text}");
        }
        fast
    }

    /// A random decimal string, mostly plain, sometimes anything serde_json or the fast path
    /// might stumble over.
    fn random_number(r: &mut Rng) -> String {
        use rand::Rng as _;
        let digits = |r: &mut Rng, n: usize| -> String {
            (0..n)
                .map(|_| char::from(b'0' + r.gen_range(0..10u8)))
                .collect()
        };
        match r.gen_range(0..20) {
            0 => [
                "", ".", "-1", "1e5", "1E-2", "+1", "1..2", ".5", "5.", "0x1", "NaN", "1,5",
            ][r.gen_range(0..12)]
            .to_string(),
            1 => {
                let n = r.gen_range(15..25);
                digits(r, n)
            }
            2 => {
                let n = r.gen_range(18..26);
                format!("{}.{}", digits(r, 1), digits(r, n))
            }
            3 => format!("0.{}", "0".repeat(r.gen_range(0..25))),
            4 => format!("{}\\u0030", digits(r, 2)),
            _ => {
                let n = r.gen_range(1..8);
                let int = digits(r, n);
                match r.gen_range(0..3) {
                    0 => int,
                    _ => {
                        let n = r.gen_range(1..10);
                        format!("{int}.{}", digits(r, n))
                    }
                }
            }
        }
    }

    /// A random side: compact most of the time, else with whitespace, wrong arity, numbers
    /// instead of strings, a trailing comma or a cut.
    fn random_side(r: &mut Rng) -> String {
        use rand::Rng as _;
        let n = r.gen_range(0..6);
        let mut levels: Vec<String> = (0..n)
            .map(|_| format!("[\"{}\",\"{}\"]", random_number(r), random_number(r)))
            .collect();
        match r.gen_range(0..12) {
            0 if n > 0 => levels[0] = format!("[ \"{}\" , \"1\" ]", random_number(r)),
            1 if n > 0 => levels[0] = format!("[\"{}\"]", random_number(r)),
            2 if n > 0 => levels[0] = "[\"1\",\"2\",\"3\"]".into(),
            3 if n > 0 => levels[0] = "[1.5,\"2\"]".into(),
            4 => levels.push(String::new()),
            _ => {}
        }
        let text = format!("[{}]", levels.join(","));
        match r.gen_range(0..10) {
            0 => format!(" {}\n", text.replace(',', " , ")),
            1 => text[..r.gen_range(0..=text.len())].to_string(),
            _ => text,
        }
    }

    #[test]
    fn level_scanner_agrees_with_the_general_reader_and_serde_json_on_random_sides() {
        use rand::SeedableRng;
        let mut r = Rng::seed_from_u64(14);
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..200_000 {
            match check_side(&random_side(&mut r)) {
                Ok(_) => accepted += 1,
                Err(Unsupported) => refused += 1,
            }
        }
        // Both outcomes are exercised in earnest.
        assert!(
            accepted > 50_000 && refused > 50_000,
            "{accepted} / {refused}"
        );
        for (text, want) in [
            ("[]", Ok(vec![])),
            (
                r#"[["61837.63000000","0.50000000"],["0.1","0"]]"#,
                Ok(vec![
                    (BookSide::Bid, 61837.63, 0.5),
                    (BookSide::Bid, 0.1, 0.0),
                ]),
            ),
            (
                " [ [\"1.5\" , \"2\"] ] ",
                Ok(vec![(BookSide::Bid, 1.5, 2.0)]),
            ),
            (r#"[["1e2","2"]]"#, Ok(vec![(BookSide::Bid, 100.0, 2.0)])),
            (r#"[["0","2"]]"#, Err(Unsupported)),
            (r#"[["1","-2"]]"#, Err(Unsupported)),
            (r#"[["1","2"],]"#, Err(Unsupported)),
            (r#"[["1","2"]"#, Err(Unsupported)),
        ] {
            assert_eq!(check_side(text), want, "{text}");
        }
    }

    /// The depth lines of one real recording: each is read by the compact scanner (never the
    /// fallback) and gives the ids and levels of the serde_json path.
    fn check_real_file(gz: &std::path::Path) -> usize {
        use std::io::BufRead;
        let reader = crate::ingest::lines::open_reader(gz).expect("readable");
        let mut n = 0;
        let mut lv = vec![];
        for text in reader.lines() {
            let text = text.expect("UTF-8 lines");
            let (_, json) = text.split_once(' ').expect("<recv_ns> <json>");
            let Ok(Some((_, Msg::Depth(d)))) = line(json, &mut lv) else {
                continue;
            };
            let w: super::super::messages::Wrapped<super::super::messages::DepthData> =
                serde_json::from_str(json).expect("serde_json reads it");
            let mut want = vec![];
            super::super::messages::levels(&w.data.b, BookSide::Bid, &mut want).unwrap();
            super::super::messages::levels(&w.data.a, BookSide::Ask, &mut want).unwrap();
            assert_eq!(
                (d.E, d.U, d.u, d.pu),
                (w.data.E, w.data.U, w.data.u, w.data.pu)
            );
            assert_eq!(lv, want, "{}: {json}", gz.display());
            for key in ["\"b\":", "\"a\":"] {
                let at = json.find(key).expect("both sides") + key.len();
                let mut j = Json::new(&json[at..]);
                assert!(
                    j.compact_decimal_pairs(|_, _| true).is_some(),
                    "compact: {json}"
                );
            }
            n += 1;
        }
        n
    }

    #[test]
    fn level_scanner_reads_every_real_depth_line_like_serde_json() {
        let base = std::env::var_os("DAEDALUS_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
            });
        let dir = base.join("data/real/hftbacktest");
        if !dir.is_dir() {
            eprintln!(
                "SKIP level scanner on real lines: {} not found",
                dir.display()
            );
            return;
        }
        let mut total = 0;
        for venue in ["spot", "usdm", "cm"] {
            let mut files: Vec<_> = std::fs::read_dir(dir.join(venue))
                .expect("listable")
                .map(|e| e.expect("entry").path())
                .collect();
            files.sort();
            for f in files {
                let n = check_real_file(&f);
                assert!(n > 1000, "{}: {n} depth lines", f.display());
                total += n;
            }
        }
        eprintln!("{total} real depth lines agree");
    }
}
