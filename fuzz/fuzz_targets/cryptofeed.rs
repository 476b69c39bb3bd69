#![no_main]
//! `cargo fuzz run cryptofeed`: see `daedalus_sources::fuzzing::cryptofeed`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_sources::fuzzing::cryptofeed(data);
});
