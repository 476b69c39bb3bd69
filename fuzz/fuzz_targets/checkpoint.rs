#![no_main]
//! `cargo fuzz run checkpoint`: see `daedalus_dataflow::fuzzing::checkpoint`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = daedalus_dataflow::fuzzing::checkpoint(data);
});
