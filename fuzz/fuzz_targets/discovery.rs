#![no_main]
//! Fuzz target: see `driftwatch::fuzzing::discovery` for the input format and the invariants.

libfuzzer_sys::fuzz_target!(|data: &[u8]| driftwatch::fuzzing::discovery(data));
