#![no_main]
//! `cargo fuzz run binance_raw`: see `daedalus_sources::fuzzing::binance_raw`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::binance_raw(data);
});
