#![no_main]
//! `cargo fuzz run config_toml`: see `daedalus_dataflow::fuzzing::config_toml`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_dataflow::fuzzing::config_toml(data);
});
