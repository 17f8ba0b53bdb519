//! Keeps accepted baselines and pending `.snap.new` files under a snapshots root, insta-style:
//! a mismatch writes a pending file beside the accepted one, and only `accept` changes a baseline.

use super::diff::diff_observations;
use super::snapshot::{SnapshotError, SnapshotHeader, parse_snapshot, render_snapshot};
use crate::model::{Drift, Observation, ObservationKey, ProbeKind};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Baseline files under `<root>/<provider>/<probe>/<subject>[@<connection>].snap`.
#[derive(Debug, Clone)]
pub struct BaselineStore {
    root: PathBuf,
}

/// What comparing an observation with its baseline found.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// The body equals the accepted one.
    Unchanged,
    /// No accepted baseline yet; `pending` is the `.snap.new` written, if writing was allowed.
    New { pending: Option<PathBuf> },
    /// The body differs from the accepted one.
    Changed {
        drifts: Vec<Drift>,
        pending: Option<PathBuf>,
    },
}

/// What a run writes when an observation is new or changed (cargo-insta's `--update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// `.snap.new` locally, nothing under CI.
    Auto,
    /// Always `.snap.new`, even under CI.
    New,
    /// The accepted `.snap` itself, in place (never under CI).
    Always,
    /// Nothing at all.
    No,
}

impl UpdateMode {
    /// The mode a run really uses: `auto` becomes `new` or `no`, and `always` under CI becomes
    /// `no` with a warning to print, so a CI job can never rewrite the baseline.
    pub fn effective(self, ci: bool) -> (UpdateMode, Option<&'static str>) {
        match (self, ci) {
            (UpdateMode::Auto, false) => (UpdateMode::New, None),
            (UpdateMode::Auto, true) => (UpdateMode::No, None),
            (UpdateMode::Always, true) => (
                UpdateMode::No,
                Some("--update always is ignored when CI=true: no snapshot is written"),
            ),
            (mode, _) => (mode, None),
        }
    }
}

/// Which pending snapshots `accept`/`reject`/`review` act on; an empty filter selects all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub provider: Option<String>,
    pub probe: Option<ProbeKind>,
    pub subject: Option<String>,
    /// Only these exact keys (e.g. those with a drift of one rule in the latest run).
    pub keys: Option<BTreeSet<ObservationKey>>,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.provider.is_none()
            && self.probe.is_none()
            && self.subject.is_none()
            && self.keys.is_none()
    }

    /// Whether a snapshot with `key` is selected.
    pub fn matches(&self, key: &ObservationKey) -> bool {
        self.provider.as_ref().is_none_or(|p| *p == key.provider)
            && self.probe.is_none_or(|p| p == key.probe)
            && self.subject.as_ref().is_none_or(|s| *s == key.subject)
            && self.keys.as_ref().is_none_or(|k| k.contains(key))
    }
}

const PENDING_SUFFIX: &str = ".snap.new";

impl BaselineStore {
    /// A store rooted at `root` (usually `snapshots/`); nothing is read until asked.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        BaselineStore { root: root.into() }
    }

    /// Where the accepted baseline of `key` lives. Ids are reduced to safe file-name characters
    /// so a provider or subject id can never point outside the root.
    pub fn path_for(&self, key: &ObservationKey) -> PathBuf {
        let mut file = component(&key.subject);
        if let Some(connection) = &key.connection {
            file.push('@');
            file.push_str(&component(connection));
        }
        file.push_str(".snap");
        self.root
            .join(component(&key.provider))
            .join(key.probe.as_str())
            .join(file)
    }

    /// The accepted observation of `key`, or `None` when there is none yet.
    pub fn load(&self, key: &ObservationKey) -> Result<Option<Observation>, SnapshotError> {
        let path = self.path_for(key);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(io_error("read", &path, source)),
        };
        let (header, observation) = parse_snapshot(&path, &text)?;
        if header.key != *key {
            return Err(SnapshotError::Corrupt {
                path,
                line: 1,
                reason: format!("the header describes `{}`, not `{key}`", header.key),
            });
        }
        Ok(Some(observation))
    }

    /// Compare `obs` with the accepted file. `mode` should be [`UpdateMode::effective`]'s result
    /// (`Auto` here writes like `New`). Unchanged → removes a stale `.snap.new` (unless `No`).
    /// New/Changed → `New`/`Auto` write `<file>.new`, `Always` writes the accepted file and
    /// removes any `.snap.new`, `No` writes nothing. Only `Always` writes an accepted `.snap`.
    pub fn compare(
        &self,
        suite_path: &str,
        obs: &Observation,
        mode: UpdateMode,
    ) -> Result<Comparison, SnapshotError> {
        let accepted_path = self.path_for(&obs.key);
        let pending_path = pending_path(&accepted_path);
        let baseline = self.load(&obs.key)?;
        if let Some(base) = &baseline
            && base.body == obs.body
        {
            if mode != UpdateMode::No {
                remove_if_exists(&pending_path)?;
            }
            return Ok(Comparison::Unchanged);
        }
        let header = SnapshotHeader::new(suite_path, obs.key.clone());
        let pending = match mode {
            UpdateMode::Auto | UpdateMode::New => {
                write_atomic(&pending_path, &render_snapshot(&header, &obs.body))?;
                Some(pending_path)
            }
            UpdateMode::Always => {
                write_atomic(&accepted_path, &render_snapshot(&header, &obs.body))?;
                remove_if_exists(&pending_path)?;
                None
            }
            UpdateMode::No => None,
        };
        Ok(match baseline {
            None => Comparison::New { pending },
            Some(base) => Comparison::Changed {
                drifts: diff_observations(&base, obs),
                pending,
            },
        })
    }

    /// Every `*.snap.new` under the root, sorted; an absent root has none.
    pub fn pending(&self) -> Result<Vec<PathBuf>, SnapshotError> {
        let mut found = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir == self.root => continue,
                Err(source) => return Err(io_error("list", &dir, source)),
            };
            for entry in entries {
                let entry = entry.map_err(|source| io_error("list", &dir, source))?;
                let path = entry.path();
                // file_type() does not follow symlinks, so a link loop cannot trap the walk.
                let kind = entry
                    .file_type()
                    .map_err(|source| io_error("inspect", &path, source))?;
                if kind.is_dir() {
                    dirs.push(path);
                } else if kind.is_file() && path.to_string_lossy().ends_with(PENDING_SUFFIX) {
                    found.push(path);
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// The pending files `filter` selects with their keys (read from each file's header),
    /// sorted by path. A damaged pending file is an error, not silently skipped.
    pub fn pending_matching(
        &self,
        filter: &Filter,
    ) -> Result<Vec<(PathBuf, ObservationKey)>, SnapshotError> {
        let mut out = Vec::new();
        for pending in self.pending()? {
            let key = read_pending(&pending)?.0.key;
            if filter.matches(&key) {
                out.push((pending, key));
            }
        }
        Ok(out)
    }

    /// Promote the pending files `filter` selects (rename .snap.new → .snap, fsync); returns
    /// the accepted paths. A damaged pending file is not promoted.
    pub fn accept(&self, filter: &Filter) -> Result<Vec<PathBuf>, SnapshotError> {
        let mut promoted = Vec::new();
        for pending in self.pending_for(filter)? {
            promoted.push(self.accept_one(&pending)?);
        }
        Ok(promoted)
    }

    /// Delete the pending files `filter` selects; returns the deleted paths.
    pub fn reject(&self, filter: &Filter) -> Result<Vec<PathBuf>, SnapshotError> {
        let mut removed = Vec::new();
        for pending in self.pending_for(filter)? {
            self.reject_one(&pending)?;
            removed.push(pending);
        }
        Ok(removed)
    }

    /// Promote one pending file (from [`BaselineStore::pending`]); returns the accepted path.
    pub fn accept_one(&self, pending: &Path) -> Result<PathBuf, SnapshotError> {
        read_pending(pending)?;
        let accepted = accepted_path(pending);
        std::fs::rename(pending, &accepted)
            .map_err(|source| io_error("rename", pending, source))?;
        sync_dir(&accepted)?;
        Ok(accepted)
    }

    /// Delete one pending file (from [`BaselineStore::pending`]).
    pub fn reject_one(&self, pending: &Path) -> Result<(), SnapshotError> {
        std::fs::remove_file(pending).map_err(|source| io_error("delete", pending, source))
    }

    fn pending_for(&self, filter: &Filter) -> Result<Vec<PathBuf>, SnapshotError> {
        // Without a selector there is no header to read, so a damaged file can still be rejected.
        if filter.is_empty() {
            return self.pending();
        }
        Ok(self
            .pending_matching(filter)?
            .into_iter()
            .map(|(p, _)| p)
            .collect())
    }
}

/// Header and observation of a pending file.
fn read_pending(path: &Path) -> Result<(SnapshotHeader, Observation), SnapshotError> {
    let text = std::fs::read_to_string(path).map_err(|source| io_error("read", path, source))?;
    parse_snapshot(path, &text)
}

/// An id as one safe path component: `[A-Za-z0-9._-]`, others become `_`, never `.`-leading.
fn component(id: &str) -> String {
    let mut out: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

fn pending_path(accepted: &Path) -> PathBuf {
    let mut s = accepted.as_os_str().to_owned();
    s.push(".new");
    PathBuf::from(s)
}

pub(super) fn accepted_path(pending: &Path) -> PathBuf {
    // Only called on paths ending in `.snap.new` (see `pending`).
    pending.with_extension("")
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> SnapshotError {
    SnapshotError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn remove_if_exists(path: &Path) -> Result<(), SnapshotError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io_error("delete", path, source)),
    }
}

/// Temp file in the same directory, fsync, rename, fsync the directory: readers see the old
/// file or the new one, never half of one, even after a crash.
fn write_atomic(path: &Path, text: &str) -> Result<(), SnapshotError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| io_error("create directory", dir, source))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|source| io_error("create a temporary file in", dir, source))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|source| io_error("write", path, source))?;
    tmp.persist(path)
        .map_err(|e| io_error("write", path, e.error))?;
    sync_dir(path)
}

/// Makes a rename durable on Unix; elsewhere directories cannot be opened, so it is a no-op.
fn sync_dir(file: &Path) -> Result<(), SnapshotError> {
    #[cfg(unix)]
    {
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| io_error("sync", dir, source))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProbeKind;
    use serde_json::json;

    fn key(provider: &str, connection: Option<&str>) -> ObservationKey {
        ObservationKey {
            provider: provider.into(),
            probe: ProbeKind::Schema,
            subject: "invoices".into(),
            connection: connection.map(str::to_owned),
        }
    }

    fn obs(provider: &str, shape: serde_json::Value) -> Observation {
        Observation {
            key: key(provider, None),
            body: json!({"responses": {}, "shape": shape}),
        }
    }

    fn provider(p: &str) -> Filter {
        Filter {
            provider: Some(p.into()),
            ..Filter::default()
        }
    }

    fn v1() -> serde_json::Value {
        json!({"$": {"required": true, "types": ["object"]}, "$.id": {"required": true, "types": ["integer"]}})
    }

    #[test]
    fn paths_follow_the_layout_and_stay_inside_the_root() {
        let store = BaselineStore::new("/snap");
        assert_eq!(
            store.path_for(&key("demo", None)),
            PathBuf::from("/snap/demo/schema/invoices.snap")
        );
        assert_eq!(
            store.path_for(&key("demo", Some("acme"))),
            PathBuf::from("/snap/demo/schema/invoices@acme.snap")
        );
        let mut evil = key("../up", Some("a/b"));
        evil.subject = "..".into();
        assert_eq!(
            store.path_for(&evil),
            PathBuf::from("/snap/_.._up/schema/_..@a_b.snap")
        );
    }

    #[test]
    fn new_changed_unchanged_accept_and_never_writing_the_accepted_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BaselineStore::new(dir.path());
        let accepted = dir.path().join("demo/schema/invoices.snap");
        let pending = dir.path().join("demo/schema/invoices.snap.new");
        let first = obs("demo", v1());

        // CI: nothing is written at all.
        assert_eq!(
            store
                .compare("suites/demo.yaml", &first, UpdateMode::No)
                .expect("compare"),
            Comparison::New { pending: None }
        );
        assert!(!dir.path().join("demo").exists());

        let got = store
            .compare("suites/demo.yaml", &first, UpdateMode::New)
            .expect("compare");
        assert_eq!(
            got,
            Comparison::New {
                pending: Some(pending.clone())
            }
        );
        assert!(!accepted.exists());
        let header = SnapshotHeader::new("suites/demo.yaml", first.key.clone());
        assert_eq!(
            std::fs::read_to_string(&pending).expect("pending"),
            render_snapshot(&header, &first.body)
        );
        assert_eq!(store.pending().expect("pending"), vec![pending.clone()]);

        assert_eq!(
            store.accept(&Filter::default()).expect("accept"),
            vec![accepted.clone()]
        );
        assert!(!pending.exists());
        assert_eq!(store.load(&first.key).expect("load"), Some(first.clone()));
        assert_eq!(
            store
                .compare("suites/demo.yaml", &first, UpdateMode::New)
                .expect("compare"),
            Comparison::Unchanged
        );

        let accepted_bytes = std::fs::read(&accepted).expect("accepted");
        let mut shape = v1();
        shape["$.id"]["types"] = json!(["string"]);
        let second = obs("demo", shape);
        match store
            .compare("suites/demo.yaml", &second, UpdateMode::New)
            .expect("compare")
        {
            Comparison::Changed {
                drifts,
                pending: Some(p),
            } => {
                assert_eq!(p, pending);
                let rules: Vec<_> = drifts
                    .iter()
                    .map(|d| (d.rule.as_str(), d.path.as_deref()))
                    .collect();
                assert_eq!(rules, vec![("schema.type-changed", Some("$.id"))]);
            }
            other => panic!("expected a change with a pending file, got {other:?}"),
        }
        assert_eq!(std::fs::read(&accepted).expect("accepted"), accepted_bytes);

        // CI leaves a stale pending file alone; a local unchanged run removes it.
        assert_eq!(
            store
                .compare("suites/demo.yaml", &first, UpdateMode::No)
                .expect("compare"),
            Comparison::Unchanged
        );
        assert!(pending.exists());
        assert_eq!(
            store
                .compare("suites/demo.yaml", &first, UpdateMode::New)
                .expect("compare"),
            Comparison::Unchanged
        );
        assert!(!pending.exists());
        assert_eq!(std::fs::read(&accepted).expect("accepted"), accepted_bytes);
    }

    #[test]
    fn accept_and_reject_filter_by_provider() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BaselineStore::new(dir.path());
        for p in ["alpha", "beta"] {
            store
                .compare("s.yaml", &obs(p, v1()), UpdateMode::New)
                .expect("compare");
        }
        let a = dir.path().join("alpha/schema/invoices.snap.new");
        let b = dir.path().join("beta/schema/invoices.snap.new");
        assert_eq!(
            store.pending().expect("pending"),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(
            store.reject(&provider("alpha")).expect("reject"),
            vec![a.clone()]
        );
        assert_eq!(
            store.accept(&provider("alpha")).expect("accept"),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            store.accept(&provider("beta")).expect("accept"),
            vec![dir.path().join("beta/schema/invoices.snap")]
        );
        assert_eq!(store.pending().expect("pending"), Vec::<PathBuf>::new());
        assert!(!dir.path().join("alpha/schema/invoices.snap").exists());
    }

    #[test]
    fn damaged_files_are_errors_not_baselines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BaselineStore::new(dir.path());
        assert_eq!(store.pending().expect("no root yet"), Vec::<PathBuf>::new());
        let first = obs("demo", v1());
        store
            .compare("s.yaml", &first, UpdateMode::New)
            .expect("compare");
        let pending = dir.path().join("demo/schema/invoices.snap.new");
        std::fs::write(&pending, "---\nbroken\n").expect("write");
        assert!(matches!(
            store.accept(&Filter::default()),
            Err(SnapshotError::Corrupt { line: 2, .. })
        ));
        assert!(pending.exists());

        // A file whose header names another key is not silently used.
        let other = SnapshotHeader::new("s.yaml", key("demo", Some("acme")));
        std::fs::write(
            dir.path().join("demo/schema/invoices.snap"),
            render_snapshot(&other, &first.body),
        )
        .expect("write");
        match store.load(&first.key) {
            Err(SnapshotError::Corrupt {
                line: 1, reason, ..
            }) => {
                assert_eq!(
                    reason,
                    "the header describes `demo/schema/invoices@acme`, not `demo/schema/invoices`"
                );
            }
            other => panic!("expected a corrupt error, got {other:?}"),
        }
    }

    #[test]
    fn effective_update_modes_follow_insta() {
        use UpdateMode::*;
        let got: Vec<_> = [Auto, New, Always, No]
            .into_iter()
            .flat_map(|m| [m.effective(false), m.effective(true)])
            .map(|(m, w)| (m, w.is_some()))
            .collect();
        assert_eq!(
            got,
            vec![
                (New, false),
                (No, false),
                (New, false),
                (New, false),
                (Always, false),
                (No, true),
                (No, false),
                (No, false),
            ]
        );
    }

    #[test]
    fn always_writes_the_baseline_in_place_and_no_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BaselineStore::new(dir.path());
        let accepted = dir.path().join("demo/schema/invoices.snap");
        let pending = dir.path().join("demo/schema/invoices.snap.new");
        let first = obs("demo", v1());
        assert_eq!(
            store
                .compare("s.yaml", &first, UpdateMode::Always)
                .expect("compare"),
            Comparison::New { pending: None }
        );
        assert_eq!(store.load(&first.key).expect("load"), Some(first.clone()));
        assert!(!pending.exists());

        let mut shape = v1();
        shape["$.id"]["types"] = json!(["string"]);
        let second = obs("demo", shape);
        let before = std::fs::read(&accepted).expect("accepted");
        match store
            .compare("s.yaml", &second, UpdateMode::No)
            .expect("compare")
        {
            Comparison::Changed { drifts, pending } => {
                assert_eq!(drifts.len(), 1);
                assert_eq!(pending, None);
            }
            other => panic!("expected a change, got {other:?}"),
        }
        assert_eq!(std::fs::read(&accepted).expect("accepted"), before);
        assert!(!pending.exists());

        // A stale pending file goes when `always` writes the baseline itself.
        store
            .compare("s.yaml", &second, UpdateMode::New)
            .expect("compare");
        assert!(pending.exists());
        assert!(matches!(
            store.compare("s.yaml", &second, UpdateMode::Always),
            Ok(Comparison::Changed { pending: None, .. })
        ));
        assert!(!pending.exists());
        assert_eq!(store.load(&second.key).expect("load"), Some(second.clone()));
        assert_eq!(
            store
                .compare("s.yaml", &second, UpdateMode::No)
                .expect("compare"),
            Comparison::Unchanged
        );
    }

    #[test]
    fn filters_select_by_probe_subject_and_exact_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BaselineStore::new(dir.path());
        let mut keys = Vec::new();
        for (probe, subject, connection) in [
            (ProbeKind::Schema, "invoices", None),
            (ProbeKind::Schema, "me", None),
            (ProbeKind::Values, "invoices", Some("acme")),
        ] {
            let k = ObservationKey {
                provider: "demo".into(),
                probe,
                subject: subject.into(),
                connection: connection.map(str::to_owned),
            };
            let o = Observation {
                key: k.clone(),
                body: json!({"n": 1}),
            };
            store
                .compare("s.yaml", &o, UpdateMode::New)
                .expect("compare");
            keys.push(k);
        }
        let names = |f: &Filter| -> Vec<String> {
            store
                .pending_matching(f)
                .expect("pending")
                .into_iter()
                .map(|(_, k)| k.to_string())
                .collect()
        };
        let by_probe = Filter {
            probe: Some(ProbeKind::Values),
            ..Filter::default()
        };
        assert_eq!(names(&by_probe), vec!["demo/values/invoices@acme"]);
        let by_subject = Filter {
            subject: Some("invoices".into()),
            ..Filter::default()
        };
        assert_eq!(
            names(&by_subject),
            vec!["demo/schema/invoices", "demo/values/invoices@acme"]
        );
        let by_key = Filter {
            keys: Some(BTreeSet::from([keys[1].clone()])),
            ..Filter::default()
        };
        assert_eq!(names(&by_key), vec!["demo/schema/me"]);
        assert_eq!(names(&provider("other")), Vec::<String>::new());

        assert_eq!(
            store.accept(&by_subject).expect("accept"),
            vec![
                dir.path().join("demo/schema/invoices.snap"),
                dir.path().join("demo/values/invoices@acme.snap")
            ]
        );
        assert_eq!(
            store.pending().expect("pending"),
            vec![dir.path().join("demo/schema/me.snap.new")]
        );
    }
}
