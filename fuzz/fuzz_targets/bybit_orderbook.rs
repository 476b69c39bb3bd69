#![no_main]
//! `cargo fuzz run bybit_orderbook`: see `daedalus_sources::fuzzing::bybit_orderbook`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::bybit_orderbook(data);
});
