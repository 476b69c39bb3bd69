//! A small, deterministic byte mutator for the bounded fuzz run in CI (issue 16).
//!
//! The long runs use cargo fuzz (libFuzzer, coverage guided, `fuzz/`); CI cannot afford hours,
//! so it replays a fixed number of mutations of real seeds through the same entry points. The
//! mutations are the ones that found bugs in parsers like ours: bit flips, bytes that matter to
//! JSON and CSV, numbers pushed to their limits, cut, repeated and spliced ranges, invalid
//! UTF-8. Seeded, so a failure names an iteration that reproduces.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Byte strings that change how JSON, CSV and numbers parse.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b" ",
    b"\n",
    b"\r\n",
    b"\\",
    b"-",
    b"0",
    b"1e309",
    b"-1",
    b"99999999999999999999999",
    b"18446744073709551616",
    b"9223372036854775807",
    b"NaN",
    b"null",
    b"true",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\x00",
    b"0.000000001",
    b"32503680000000",
    b"-62135596800000",
];

/// A deterministic mutator over a set of seeds.
pub struct Mutator {
    rng: ChaCha8Rng,
    seeds: Vec<Vec<u8>>,
}

impl Mutator {
    /// A mutator over `seeds` (at least one), seeded with `seed`.
    pub fn new(seeds: Vec<Vec<u8>>, seed: u64) -> Self {
        assert!(!seeds.is_empty(), "a mutator needs seeds");
        Mutator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            seeds,
        }
    }

    /// The next input: a seed with one to four mutations, capped at `max_len` bytes.
    pub fn next_input(&mut self, max_len: usize) -> Vec<u8> {
        let i = self.rng.gen_range(0..self.seeds.len());
        let mut b = self.seeds[i].clone();
        for _ in 0..self.rng.gen_range(1..=4) {
            self.mutate(&mut b);
        }
        b.truncate(max_len);
        b
    }

    fn mutate(&mut self, b: &mut Vec<u8>) {
        let at = |r: &mut ChaCha8Rng, len: usize| r.gen_range(0..=len);
        match self.rng.gen_range(0..8) {
            0 if !b.is_empty() => {
                let i = self.rng.gen_range(0..b.len());
                b[i] ^= 1 << self.rng.gen_range(0..8);
            }
            1 => {
                let t = TOKENS[self.rng.gen_range(0..TOKENS.len())];
                let i = at(&mut self.rng, b.len());
                b.splice(i..i, t.iter().copied());
            }
            2 if !b.is_empty() => {
                let t = TOKENS[self.rng.gen_range(0..TOKENS.len())];
                let i = self.rng.gen_range(0..b.len());
                let j = (i + self.rng.gen_range(1..=8)).min(b.len());
                b.splice(i..j, t.iter().copied());
            }
            3 => {
                let n = at(&mut self.rng, b.len());
                b.truncate(n);
            }
            4 if !b.is_empty() => {
                let i = self.rng.gen_range(0..b.len());
                let j = (i + self.rng.gen_range(1..=64)).min(b.len());
                b.drain(i..j);
            }
            5 if !b.is_empty() => {
                let i = self.rng.gen_range(0..b.len());
                let j = (i + self.rng.gen_range(1..=256)).min(b.len());
                let piece = b[i..j].to_vec();
                let k = at(&mut self.rng, b.len());
                b.splice(k..k, piece);
            }
            6 => {
                let other = &self.seeds[self.rng.gen_range(0..self.seeds.len())];
                let from = at(&mut self.rng, other.len());
                let k = at(&mut self.rng, b.len());
                b.truncate(k);
                b.extend_from_slice(&other[from..]);
            }
            _ => replace_number(&mut self.rng, b),
        }
    }
}

/// Replaces the digits of one number in `b` with a token (a limit, a negative, a fraction).
fn replace_number(r: &mut ChaCha8Rng, b: &mut Vec<u8>) {
    let digits: Vec<usize> = (0..b.len()).filter(|&i| b[i].is_ascii_digit()).collect();
    if digits.is_empty() {
        return;
    }
    let mut i = digits[r.gen_range(0..digits.len())];
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    let mut j = i;
    while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
        j += 1;
    }
    let t = TOKENS[r.gen_range(0..TOKENS.len())];
    b.splice(i..j, t.iter().copied());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let seeds = vec![b"123 {\"a\": 4.5}".to_vec(), b"x,y\n1,2\n".to_vec()];
        let mut a = Mutator::new(seeds.clone(), 7);
        let mut b = Mutator::new(seeds, 7);
        for _ in 0..100 {
            assert_eq!(a.next_input(1 << 12), b.next_input(1 << 12));
        }
    }
}
