//! The top-level error and its exit codes.
