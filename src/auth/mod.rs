//! (module skeleton)
