#![no_main]
//! `cargo fuzz run hyperliquid`: see `daedalus_sources::fuzzing::hyperliquid`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::hyperliquid(data);
});
