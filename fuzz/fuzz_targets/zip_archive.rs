#![no_main]
//! `cargo fuzz run zip_archive`: see `daedalus_sources::fuzzing::zip_archive`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::zip_archive(data);
});
