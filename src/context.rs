//! The process context handed to every command: environment variables, the
//! working directory and whether we run in CI.
//!
//! The environment is read once, into this value, so tests (and the demo) can
//! supply variables without mutating the process environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A snapshot of the environment a command runs in.
#[derive(Debug, Clone, Default)]
pub struct Context {
    vars: BTreeMap<String, String>,
    /// Directory relative paths (`snapshots/`, `reports/`) resolve against.
    pub cwd: PathBuf,
}

impl Context {
    /// The real process environment and working directory.
    pub fn from_process() -> Self {
        Context {
            vars: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    /// An empty environment rooted at `cwd` (tests).
    pub fn empty(cwd: impl Into<PathBuf>) -> Self {
        Context {
            vars: BTreeMap::new(),
            cwd: cwd.into(),
        }
    }

    /// Returns a copy with `name` set to `value`.
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn set_var(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// `CI` set to anything but `false`/`0`/empty, as insta reads it.
    pub fn is_ci(&self) -> bool {
        matches!(self.var("CI"), Some(v) if !v.is_empty() && v != "false" && v != "0")
    }

    /// `NO_COLOR` set to a non-empty value.
    pub fn no_color(&self) -> bool {
        matches!(self.var("NO_COLOR"), Some(v) if !v.is_empty())
    }

    /// Resolves a path against `cwd` unless it is absolute.
    pub fn resolve(&self, path: impl AsRef<std::path::Path>) -> PathBuf {
        let p = path.as_ref();
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        }
    }
}
