#![no_main]
//! `cargo fuzz run ingest_state`: see `daedalus_sources::fuzzing::ingest_state`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::ingest_state(data);
});
