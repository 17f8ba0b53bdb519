#![no_main]
//! Fuzz target: see `driftwatch::fuzzing::token_response` for the input format and the invariants.

libfuzzer_sys::fuzz_target!(|data: &[u8]| driftwatch::fuzzing::token_response(data));
