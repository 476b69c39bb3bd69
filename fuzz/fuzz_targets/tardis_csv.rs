#![no_main]
//! `cargo fuzz run tardis_csv`: see `daedalus_sources::fuzzing::tardis_csv`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::tardis_csv(data);
});
