#![no_main]
//! `cargo fuzz run partition_path`: see `daedalus_sources::fuzzing::partition_path`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::partition_path(data);
});
