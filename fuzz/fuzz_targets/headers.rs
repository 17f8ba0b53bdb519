#![no_main]
//! Fuzz target: see `driftwatch::fuzzing::headers` for the input format and the invariants.

libfuzzer_sys::fuzz_target!(|data: &[u8]| driftwatch::fuzzing::headers(data));
