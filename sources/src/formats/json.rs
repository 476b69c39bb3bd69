//! A strict, allocation-free JSON reader for the hot path of ingest (issue 14 item 8).
//!
//! Why: serde_json into borrowed structs was a large share of ingest time, and most of it went
//! into generic machinery the few Binance message shapes do not need. This reader parses real
//! JSON (any key order, any whitespace, unknown keys skipped and validated), borrowing every
//! string from the line. It only accepts what serde_json would accept *with the same values*:
//! anything outside that — a string with an escape, a number outside the plain integer grammar,
//! a duplicate known key, invalid JSON — is [`Unsupported`], and the caller re-parses the line
//! with serde_json, which then gives the authoritative value or error. So the fast path never
//! changes what a line means, only how quickly the common case is read.

/// The line is outside the fast path (or not valid JSON): re-parse it with serde_json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported;

/// Result of the fast path.
pub(crate) type Fast<T> = std::result::Result<T, Unsupported>;

/// Nesting deeper than this is left to serde_json.
const MAX_DEPTH: u32 = 64;

/// The bytes that end the plain part of a JSON string: its closing quote, an escape, or a
/// control character (invalid inside a string). One table lookup per byte.
const STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// A cursor over one JSON text.
pub(crate) struct Json<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Json<'a> {
    /// A reader at the start of `s`.
    pub(crate) fn new(s: &'a str) -> Self {
        Json {
            s,
            b: s.as_bytes(),
            i: 0,
        }
    }

    /// The byte offset of the cursor.
    pub(crate) fn pos(&self) -> usize {
        self.i
    }

    /// A reader over `s[from..to]` of this text.
    pub(crate) fn sub(&self, from: usize, to: usize) -> Json<'a> {
        Json::new(&self.s[from..to])
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Fast<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    /// Only whitespace is left.
    pub(crate) fn end(&mut self) -> Fast<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Unsupported),
        }
    }

    /// Starts an object: `{`.
    #[inline]
    pub(crate) fn object(&mut self) -> Fast<()> {
        self.eat(b'{')
    }

    /// The next key of an object started with [`Json::object`] (consuming `:`), or `None` at
    /// its `}`. `first` tracks whether a `,` is due.
    #[inline]
    pub(crate) fn key(&mut self, first: &mut bool) -> Fast<Option<&'a str>> {
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(None);
        }
        if !*first {
            self.eat(b',')?;
        }
        *first = false;
        // One-letter keys (most of Binance's) without the general string scan.
        self.ws();
        if let Some(&[b'"', c, b'"', b':']) = self.b.get(self.i..self.i + 4)
            && c.is_ascii()
            && !STOP[usize::from(c)]
        {
            let k = self.s.get(self.i + 1..self.i + 2).ok_or(Unsupported)?;
            self.i += 4;
            return Ok(Some(k));
        }
        let k = self.str()?;
        self.eat(b':')?;
        Ok(Some(k))
    }

    /// A string without escapes (an escaped one is [`Unsupported`]).
    #[inline]
    pub(crate) fn str(&mut self) -> Fast<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = &self.b[start..];
        let n = rest
            .iter()
            .position(|&c| STOP[usize::from(c)])
            .ok_or(Unsupported)?;
        if rest[n] != b'"' {
            return Err(Unsupported);
        }
        self.i = start + n;
        let out = self.s.get(start..self.i).ok_or(Unsupported)?;
        self.i += 1;
        Ok(out)
    }

    /// The digits of a plain JSON integer: `0` or `[1-9][0-9]*`, no fraction or exponent.
    #[inline]
    fn digits(&mut self) -> Fast<u64> {
        let start = self.i;
        let run = &self.b[start..];
        let n = run.iter().take_while(|c| c.is_ascii_digit()).count();
        // Up to 19 digits cannot overflow a u64 (10^19 - 1 < 2^64): checked steps only beyond.
        let mut v: u64 = 0;
        for &c in &run[..n.min(19)] {
            v = v * 10 + u64::from(c - b'0');
        }
        for &c in run.get(19..n).unwrap_or_default() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or(Unsupported)?;
        }
        self.i = start + n;
        let leading_zero = n > 1 && run[0] == b'0';
        let more = matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'));
        if n == 0 || leading_zero || more {
            return Err(Unsupported);
        }
        Ok(v)
    }

    /// An unsigned integer.
    #[inline]
    pub(crate) fn u64(&mut self) -> Fast<u64> {
        self.ws();
        self.digits()
    }

    /// A signed integer.
    #[inline]
    pub(crate) fn i64(&mut self) -> Fast<i64> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let v = self.digits()?;
        if neg {
            0i64.checked_sub_unsigned(v).ok_or(Unsupported)
        } else {
            i64::try_from(v).map_err(|_| Unsupported)
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        self.ws();
        let hit = self.b[self.i..].starts_with(word);
        if hit {
            self.i += word.len();
        }
        hit
    }

    /// `true` or `false`.
    pub(crate) fn bool(&mut self) -> Fast<bool> {
        if self.literal(b"true") {
            Ok(true)
        } else if self.literal(b"false") {
            Ok(false)
        } else {
            Err(Unsupported)
        }
    }

    /// Consumes `null` if it is next.
    pub(crate) fn null(&mut self) -> bool {
        self.literal(b"null")
    }

    /// Starts an array: `[`.
    #[inline]
    pub(crate) fn array(&mut self) -> Fast<()> {
        self.eat(b'[')
    }

    /// Whether another element of an array started with [`Json::array`] follows (consuming the
    /// `,` before it), or consumes its `]`.
    #[inline]
    pub(crate) fn more(&mut self, first: &mut bool) -> Fast<bool> {
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(false);
        }
        if !*first {
            self.eat(b',')?;
        }
        *first = false;
        Ok(true)
    }

    /// Skips any one value, validating it.
    pub(crate) fn skip(&mut self) -> Fast<()> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: u32) -> Fast<()> {
        if depth > MAX_DEPTH {
            return Err(Unsupported);
        }
        match self.peek().ok_or(Unsupported)? {
            b'{' => {
                self.i += 1;
                let mut first = true;
                while self.key(&mut first)?.is_some() {
                    self.skip_at(depth + 1)?;
                }
                Ok(())
            }
            b'[' => {
                self.i += 1;
                let mut first = true;
                while self.more(&mut first)? {
                    self.skip_at(depth + 1)?;
                }
                Ok(())
            }
            b'"' => self.str().map(|_| ()),
            b't' | b'f' => self.bool().map(|_| ()),
            b'n' if self.null() => Ok(()),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Unsupported),
        }
    }

    /// Any JSON number (skipped).
    fn number(&mut self) -> Fast<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int = self.run_of_digits();
        if int == 0 || (int > 1 && self.b[self.i - int] == b'0') {
            return Err(Unsupported);
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.run_of_digits() == 0 {
                return Err(Unsupported);
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.run_of_digits() == 0 {
                return Err(Unsupported);
            }
        }
        Ok(())
    }

    fn run_of_digits(&mut self) -> usize {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    /// An array of two-string arrays of plain decimals, `[["p","q"],...]`, written compactly
    /// (no whitespace, no escapes): each pair goes to `each` as its two values (the
    /// [`fixed_decimal`] of each string). `None` when the value is not exactly in that form or
    /// `each` refuses a pair (returns `false`); the cursor is then where it was and pairs
    /// already given must be discarded by the caller, who reads the value with the general
    /// methods instead.
    ///
    /// Why: the levels of Binance depth updates are most of the bytes of a recording; this
    /// reads them in one pass, each decimal parsed where it is scanned, without the key/value
    /// machinery. A value outside this form is not rejected here, only left to the general
    /// path, so the form only changes speed, never what is accepted.
    pub(crate) fn compact_decimal_pairs(
        &mut self,
        mut each: impl FnMut(f64, f64) -> bool,
    ) -> Option<()> {
        self.ws();
        let b = self.b;
        let mut i = self.i;
        if b.get(i) != Some(&b'[') {
            return None;
        }
        i += 1;
        if b.get(i) == Some(&b']') {
            self.i = i + 1;
            return Some(());
        }
        loop {
            if b.get(i..i + 2) != Some(b"[\"") {
                return None;
            }
            let (p, j) = plain_decimal(b, i + 2)?;
            if b.get(j..j + 3) != Some(b"\",\"") {
                return None;
            }
            let (q, k) = plain_decimal(b, j + 3)?;
            if b.get(k..k + 2) != Some(b"\"]") || !each(p, q) {
                return None;
            }
            i = k + 2;
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b']') => {
                    self.i = i + 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// Powers of ten exactly representable as `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal `[0-9]+(\.[0-9]+)?` read as fixed point (integer mantissa and a count of
/// fraction digits) and converted with one correctly rounded division — exact when the mantissa
/// is at most 2^53 and the scale at most 10^22 (Clinger's fast path), so the value is bit for
/// bit what `str::parse::<f64>` gives. `None` for anything else (the caller then uses the
/// general parser).
#[inline]
pub(crate) fn fixed_decimal(s: &str) -> Option<f64> {
    match plain_decimal(s.as_bytes(), 0) {
        Some((v, end)) if end == s.len() => Some(v),
        _ => None,
    }
}

/// The [`fixed_decimal`] of the run of digits and dots starting at `b[start]`, and the index
/// of the first byte after the run. `None` when the run is not a decimal the fast path reads
/// exactly (empty, a dot first or last, two dots, more than 19 significant digits, a mantissa
/// over 2^53, a scale over 10^22).
pub(crate) fn plain_decimal(b: &[u8], start: usize) -> Option<(f64, usize)> {
    let mut m: u64 = 0;
    let mut sig = 0usize;
    let mut i = mantissa_digits(b, start, &mut m, &mut sig)?;
    if i == start {
        return None;
    }
    let mut scale = 0;
    if b.get(i) == Some(&b'.') {
        let f = i + 1;
        i = mantissa_digits(b, f, &mut m, &mut sig)?;
        if i == f || b.get(i) == Some(&b'.') {
            return None;
        }
        scale = i - f;
    }
    if m > (1u64 << 53) {
        return None;
    }
    let p = POW10.get(scale)?;
    Some((m as f64 / p, i))
}

/// Appends the run of digits at `b[i]` to the mantissa `m` (`sig`: its significant digits so
/// far, at most 19 so that `m` cannot overflow); the index after the run.
#[inline]
fn mantissa_digits(b: &[u8], mut i: usize, m: &mut u64, sig: &mut usize) -> Option<usize> {
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        if *sig == 19 {
            return None;
        }
        *m = *m * 10 + u64::from(c - b'0');
        if *m > 0 {
            *sig += 1;
        }
        i += 1;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_keys(s: &str) -> Fast<Vec<String>> {
        let mut j = Json::new(s);
        j.object()?;
        let mut first = true;
        let mut out = vec![];
        while let Some(k) = j.key(&mut first)? {
            out.push(k.to_string());
            j.skip()?;
        }
        j.end()?;
        Ok(out)
    }

    #[test]
    fn objects_parse_with_any_whitespace_and_skip_nested_values() {
        let a = depth_keys(r#"{"a":1,"b":[1,2,{"c":null}],"d":"x","e":-1.5e-3,"f":true}"#);
        let b = depth_keys(
            " {\n \"a\" : 1 ,\t\"b\":[ 1 , 2 , { \"c\" : null } ] , \"d\":\"x\",\"e\":-1.5e-3,\"f\" : true }\r\n",
        );
        assert_eq!(a, b);
        assert_eq!(a.unwrap(), ["a", "b", "d", "e", "f"]);
    }

    #[test]
    fn invalid_or_unusual_json_is_unsupported() {
        for bad in [
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":"x\"y"}"#,
            r#"{"a":1} x"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":nul}"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert_eq!(depth_keys(bad), Err(Unsupported), "{bad}");
        }
    }

    #[test]
    fn integers_follow_the_json_grammar() {
        assert_eq!(Json::new(" 123").u64(), Ok(123));
        assert_eq!(Json::new("-42").i64(), Ok(-42));
        assert_eq!(Json::new("0").i64(), Ok(0));
        assert_eq!(
            Json::new("-9223372036854775808").i64(),
            Ok(i64::MIN),
            "the least i64"
        );
        assert_eq!(Json::new("9223372036854775808").i64(), Err(Unsupported));
        assert_eq!(Json::new("18446744073709551616").u64(), Err(Unsupported));
        assert_eq!(Json::new("-1").u64(), Err(Unsupported));
        assert_eq!(Json::new("1.0").u64(), Err(Unsupported));
        assert_eq!(Json::new("1e3").u64(), Err(Unsupported));
    }

    #[test]
    fn fixed_decimals_equal_the_general_parser_bit_for_bit() {
        for s in [
            "61837.63000000",
            "0.00100000",
            "0.1",
            "0.3",
            "2.675",
            "1",
            "0",
            "0.00000000",
            "100000000.00000001",
            "9007199254740992",
            "123456789.123456789",
            "58.60",
            "0.000001",
            "3000.01",
        ] {
            let want = s.parse::<f64>().unwrap();
            let got = fixed_decimal(s).unwrap_or_else(|| s.parse().unwrap());
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
        }
        assert_eq!(fixed_decimal("61837.63000000"), Some(61837.63));
        assert_eq!(fixed_decimal("0.1"), Some(0.1));
        for other in [
            "",
            ".5",
            "5.",
            "-1",
            "+1",
            "1e5",
            "1.2.3",
            "abc",
            "NaN",
            "9007199254740993",
        ] {
            assert_eq!(fixed_decimal(other), None, "{other}");
        }
    }

    /// The grammar `[0-9]+(\.[0-9]+)?` with at most 19 significant digits, a mantissa of at
    /// most 2^53 and at most 22 fraction digits, checked naively.
    fn naive_fixed(s: &str) -> bool {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let all_digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) {
            return false;
        }
        if s.contains('.') && frac.is_empty() {
            return false;
        }
        let m = format!("{int}{frac}");
        let sig = m.trim_start_matches('0');
        sig.len() <= 19 && sig.parse::<u64>().unwrap_or(0) <= (1 << 53) && frac.len() <= 22
    }

    #[test]
    fn plain_decimals_agree_with_the_grammar_and_the_general_parser_on_random_strings() {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let mut hits = 0;
        for _ in 0..300_000 {
            let n = r.gen_range(0..26);
            let s: String = (0..n)
                .map(|_| match r.gen_range(0..30) {
                    0 => '.',
                    1 => '0',
                    2 => ['e', '-', '"', ' '][r.gen_range(0..4)],
                    _ => char::from(b'0' + r.gen_range(0..10u8)),
                })
                .collect();
            let got = fixed_decimal(&s);
            assert_eq!(got.is_some(), naive_fixed(&s), "{s:?}");
            if let Some(v) = got {
                hits += 1;
                assert_eq!(v.to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s:?}");
            }
            // Inside a longer text the run ends at the first byte that is neither.
            let quoted = format!("{s}\"]");
            if let Some((v, end)) = plain_decimal(quoted.as_bytes(), 0) {
                let run = quoted[..end].to_string();
                assert!(!quoted[end..].starts_with(|c: char| c.is_ascii_digit() || c == '.'));
                assert_eq!(Some(v), fixed_decimal(&run), "{s:?}");
            }
        }
        assert!(hits > 10_000, "{hits}");
    }
}
