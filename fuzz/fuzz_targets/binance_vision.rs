#![no_main]
//! `cargo fuzz run binance_vision`: see `daedalus_sources::fuzzing::binance_vision`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::binance_vision(data);
});
