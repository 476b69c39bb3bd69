//! The venues' book checksums, computed from the local book's original strings.
//!
//! - **Kraken** (WS v1 `book`): the top 10 asks (lowest first) then the top 10 bids (highest
//!   first); for each level its price then its volume, each with the decimal point removed and
//!   leading zeros stripped; all concatenated; CRC32 (IEEE), compared with `c` as an unsigned
//!   decimal string.
//! - **OKX** (v5 `books`): the top 25 bids and asks interleaved
//!   `bid1_px:bid1_sz:ask1_px:ask1_sz:bid2_px:…` (a side with fewer levels just stops
//!   contributing), the original strings joined by `:`; CRC32 read as a signed 32-bit integer.

use super::book::PriceBook;

/// Kraken's checksum of a book.
pub fn kraken(book: &PriceBook) -> u32 {
    let mut s = String::with_capacity(512);
    let mut push = |t: &str| {
        let digits: String = t.chars().filter(|&c| c != '.').collect();
        s.push_str(digits.trim_start_matches('0'));
    };
    for l in book.asks_asc().take(10).chain(book.bids_desc().take(10)) {
        push(&l.px);
        push(&l.sz);
    }
    crc32fast::hash(s.as_bytes())
}

/// OKX's checksum of a book.
pub fn okx(book: &PriceBook) -> i32 {
    let mut parts: Vec<&str> = Vec::with_capacity(100);
    let mut bids = book.bids_desc().take(25);
    let mut asks = book.asks_asc().take(25);
    loop {
        let (b, a) = (bids.next(), asks.next());
        if b.is_none() && a.is_none() {
            break;
        }
        for l in b.into_iter().chain(a) {
            parts.push(&l.px);
            parts.push(&l.sz);
        }
    }
    crc32fast::hash(parts.join(":").as_bytes()) as i32
}
