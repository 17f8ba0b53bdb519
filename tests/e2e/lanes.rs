//! Optional lanes: tests that need software beyond a Rust toolchain (headless
//! Chromium and chromedriver for the HTML browser test; Python with
//! django-oauth-toolkit for the real-server lane). On a machine without it a
//! lane says plainly on stderr that it did not run and why, and its test
//! returns; where the lane is required — `CI=true`, or the lane's
//! `DRIFTWATCH_REQUIRE_*=1` that `.ci/run` sets after installing it — its
//! absence is a failure.

/// The lane is required here: `CI=true` or `var=1`.
pub fn required(var: &str) -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true") || std::env::var(var).is_ok_and(|v| v == "1")
}

/// Decides what a lane whose prerequisite is missing does: fails when the lane
/// is required (see [`required`]), else prints why it did not run and lets the
/// test return.
pub fn missing(lane: &str, var: &str, why: &str, install: &str) {
    if required(var) {
        panic!(
            "{lane} is required here (CI=true or {var}=1) but cannot run: {why}. Install: {install}"
        );
    }
    eprintln!(
        "NOT RUN: {lane} did not run: {why}. It runs wherever its prerequisites exist and is \
         required in CI (CI=true or {var}=1). Install: {install}"
    );
}
