#![no_main]
//! Fuzz target: see `driftwatch::fuzzing::run_json` for the input format and the invariants.

libfuzzer_sys::fuzz_target!(|data: &[u8]| driftwatch::fuzzing::run_json(data));
