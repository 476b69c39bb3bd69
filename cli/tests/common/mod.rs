//! Helpers for the tests that run the `daedalus` binary as a user does (each test file
//! includes this module with `mod common;` and uses what it needs).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_daedalus");

/// Runs the binary to its end, stdout and stderr captured, without an inherited fault
/// injection (`DAEDALUS_FAULT`).
pub fn daedalus(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DAEDALUS_FAULT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// [`daedalus`], asserting that it succeeded (its stderr in the message when not).
pub fn ok(args: &[&str]) -> Output {
    let out = daedalus(args);
    assert!(
        out.status.success(),
        "daedalus {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A path as an argument.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}
