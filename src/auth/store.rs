//! The credential store: one JSON file holding every connection's tokens, or
//! a credential helper command that keeps them in a secret manager.
//!
//! Safety contract (DESIGN.md rule 1): the file is mode 0600, replaced
//! atomically (temp file, fsync, rename, fsync of the directory), and every
//! read-modify-write happens under an exclusive cross-process lock on a
//! sidecar `.lock` file, so two runs never both spend one refresh token.
//! Before a refresh request is sent, the entry records a "refresh in flight"
//! marker; finding it later means a run died mid-refresh and names the
//! credential that may have been spent. This module never talks HTTP.
//!
//! With a helper (docs/credential-helpers.md) entries travel as JSON through
//! `<cmd> get <key>` / `<cmd> store <key>`; the lock is then a local file and
//! only serialises runs on the same machine.

use super::helper::HelperCommand;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FORMAT: &str = "driftwatch-credentials/1";

/// A secret as stored; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoredSecret(String);

impl StoredSecret {
    pub fn new(s: impl Into<String>) -> Self {
        StoredSecret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Marker written before a refresh request leaves the process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub started_at: DateTime<Utc>,
    pub pid: u32,
}

/// One connection's credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<StoredSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<StoredSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obtained_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refreshed_at: Option<DateTime<Utc>>,
    /// From `refresh_token_expires_in` and friends, when the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_in_flight: Option<InFlight>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileData {
    format: String,
    #[serde(default)]
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} credential store `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "credential store `{}` is damaged ({reason}); it was left untouched: restore it from a backup or move it aside and run `driftwatch connect` again",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
    /// A helper call failed. `reason` never holds the helper's stdout.
    #[error("credential helper `{command}` failed to {action}: {reason}")]
    Helper {
        command: String,
        action: String,
        reason: String,
    },
    #[error("credential helper command `{command}` cannot be used: {reason}")]
    BadHelper {
        command: String,
        reason: &'static str,
    },
}

/// Handle to a credential store. Cheap; every operation re-reads the file or
/// asks the helper again, so nothing stale is ever served.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    /// The store file, or the lock file when `helper` is set.
    path: PathBuf,
    helper: Option<HelperCommand>,
}

/// An exclusive cross-process lock on the store, released on drop.
#[derive(Debug)]
pub struct StoreLock {
    file: File,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

impl CredentialStore {
    /// A store kept in one JSON file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CredentialStore {
            path: path.into(),
            helper: None,
        }
    }

    /// A store kept by a credential helper. `command` is split like a shell
    /// would split it (no shell runs); `lock_path` is a local file that
    /// [`lock`](Self::lock) locks, since a helper cannot lock remotely.
    pub fn with_helper(command: &str, lock_path: PathBuf) -> Result<CredentialStore, StoreError> {
        let helper = HelperCommand::parse(command).map_err(|e| StoreError::BadHelper {
            command: command.trim().to_string(),
            reason: e.reason(),
        })?;
        Ok(CredentialStore {
            path: lock_path,
            helper: Some(helper),
        })
    }

    /// Shortens or lengthens the helper timeout (30 s by default); no effect on a file store.
    pub fn with_helper_timeout(mut self, timeout: Duration) -> Self {
        if let Some(helper) = &mut self.helper {
            helper.set_timeout(timeout);
        }
        self
    }

    /// Names the store for messages: "`<file path>`" or "credential helper `<cmd>`".
    pub fn describe(&self) -> String {
        match &self.helper {
            Some(helper) => format!("credential helper `{}`", helper.line()),
            None => format!("`{}`", self.path.display()),
        }
    }

    /// The platform default: `<data dir>/driftwatch/credentials.json`.
    pub fn default_path() -> Option<PathBuf> {
        use etcetera::BaseStrategy;
        etcetera::choose_base_strategy()
            .ok()
            .map(|s| s.data_dir().join("driftwatch").join("credentials.json"))
    }

    /// The store file, or for a helper store the local lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }

    fn lock_path(&self) -> PathBuf {
        if self.helper.is_some() {
            return self.path.clone();
        }
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(self.io("create the directory of"))?;
        }
        Ok(())
    }

    /// Blocks until this process holds the exclusive lock. Call from a blocking context.
    /// For a helper store this covers runs on this machine only.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        self.ensure_dir()?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.lock_path())
            .map_err(self.io("open the lock file of"))?;
        set_private(&file);
        file.lock().map_err(self.io("lock"))?;
        Ok(StoreLock { file })
    }

    fn read_all(&self) -> Result<FileData, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FileData {
                    format: FORMAT.into(),
                    entries: BTreeMap::new(),
                });
            }
            Err(e) => return Err(self.io("read")(e)),
        };
        let data: FileData = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            reason: format!(
                "line {} column {}: {}",
                e.line(),
                e.column(),
                classify_json(&e)
            ),
        })?;
        if data.format != FORMAT {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!("unknown format `{}`, expected `{FORMAT}`", data.format),
            });
        }
        Ok(data)
    }

    /// Reads one entry (no lock needed: replacement is atomic).
    /// A helper store runs the helper, which may block for up to its timeout.
    pub fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        if let Some(helper) = &self.helper {
            return helper_get(helper, key);
        }
        Ok(self.read_all()?.entries.remove(key))
    }

    /// All entries, sorted by key. Helpers cannot list: callers look keys up one by one.
    pub fn entries(&self) -> Result<BTreeMap<String, Entry>, StoreError> {
        if let Some(helper) = &self.helper {
            return Err(StoreError::Helper {
                command: helper.line().to_string(),
                action: "list entries".into(),
                reason: "listing is not supported by credential helpers; look entries up one key at a time".into(),
            });
        }
        Ok(self.read_all()?.entries)
    }

    /// Replaces one entry. The caller must hold the [`StoreLock`].
    pub fn put(&self, _lock: &StoreLock, key: &str, entry: Entry) -> Result<(), StoreError> {
        if let Some(helper) = &self.helper {
            return helper_put(helper, key, &entry);
        }
        let mut data = self.read_all()?;
        data.format = FORMAT.into();
        data.entries.insert(key.to_string(), entry);
        self.write_all(&data)
    }

    fn write_all(&self, data: &FileData) -> Result<(), StoreError> {
        self.ensure_dir()?;
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".credentials-")
            .tempfile_in(dir)
            .map_err(self.io("create a temporary file beside"))?;
        set_private(tmp.as_file());
        let mut text = serde_json::to_string_pretty(data).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        tmp.write_all(text.as_bytes()).map_err(self.io("write"))?;
        tmp.as_file().sync_all().map_err(self.io("fsync"))?;
        tmp.persist(&self.path)
            .map_err(|e| self.io("replace")(e.error))?;
        if let Ok(d) = File::open(dir) {
            d.sync_all().map_err(self.io("fsync the directory of"))?;
        }
        Ok(())
    }
}

fn helper_failed(helper: &HelperCommand, action: &str, key: &str, reason: String) -> StoreError {
    StoreError::Helper {
        command: helper.line().to_string(),
        action: format!("{action} `{key}`"),
        reason,
    }
}

/// `<cmd> get <key>`: an entry as JSON, or empty output for "not found".
fn helper_get(helper: &HelperCommand, key: &str) -> Result<Option<Entry>, StoreError> {
    let out = helper
        .run("get", key, None)
        .map_err(|reason| helper_failed(helper, "get", key, reason))?;
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&out.stdout).map(Some).map_err(|e| {
        let reason = format!(
            "its output is not a credential entry (line {} column {}: {})",
            e.line(),
            e.column(),
            classify_json(&e)
        );
        helper_failed(helper, "get", key, reason)
    })
}

/// `<cmd> store <key>` with the entry as JSON on stdin; exit 0 means stored.
fn helper_put(helper: &HelperCommand, key: &str, entry: &Entry) -> Result<(), StoreError> {
    let mut json = serde_json::to_vec(entry).map_err(|e| {
        helper_failed(
            helper,
            "store",
            key,
            format!("cannot encode the entry ({e})"),
        )
    })?;
    json.push(b'\n');
    helper
        .run("store", key, Some(&json))
        .map(drop)
        .map_err(|reason| helper_failed(helper, "store", key, reason))
}

/// Describes a JSON error without quoting the input (which holds secrets).
fn classify_json(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "not valid JSON",
        Category::Data => "unexpected structure",
        Category::Eof => "file ends too early (truncated?)",
    }
}

#[cfg(unix)]
fn set_private(file: &File) {
    use std::os::unix::fs::PermissionsExt;
    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn set_private(_file: &File) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_round_trips_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::new(dir.path().join("sub/creds.json"));
        let lock = store.lock().unwrap();
        let entry = Entry {
            refresh_token: Some(StoredSecret::new("rt-1")),
            scopes: vec!["profile".into()],
            ..Entry::default()
        };
        store.put(&lock, "demo/a", entry.clone()).unwrap();
        assert_eq!(store.get("demo/a").unwrap(), Some(entry));
        assert_eq!(store.get("demo/b").unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn damaged_file_is_reported_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        std::fs::write(
            &path,
            "{\"format\": \"driftwatch-credentials/1\", \"entries\": {",
        )
        .unwrap();
        let store = CredentialStore::new(&path);
        let err = store.get("x").unwrap_err().to_string();
        assert!(err.contains("is damaged"), "{err}");
        assert!(err.contains("truncated"), "{err}");
        let lock = store.lock().unwrap();
        assert!(store.put(&lock, "x", Entry::default()).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"format\": \"driftwatch-credentials/1\", \"entries\": {"
        );
    }

    #[test]
    fn file_store_describes_itself_by_path() {
        let store = CredentialStore::new("/data/creds.json");
        assert_eq!(store.describe(), "`/data/creds.json`");
        assert_eq!(store.path(), Path::new("/data/creds.json"));
        assert_eq!(store.lock_path(), PathBuf::from("/data/creds.json.lock"));
    }

    #[test]
    fn empty_helper_command_is_rejected() {
        for line in ["", "   "] {
            let err = CredentialStore::with_helper(line, PathBuf::from("x.lock")).unwrap_err();
            assert_eq!(
                err.to_string(),
                "credential helper command `` cannot be used: the command is empty"
            );
        }
        let err = CredentialStore::with_helper("vault-kv.sh 'x", PathBuf::from("x.lock"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "credential helper command `vault-kv.sh 'x` cannot be used: it has an unterminated quote or a trailing backslash"
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let e = Entry {
            refresh_token: Some(StoredSecret::new("sim_rt_abcdefgh12345678")),
            ..Entry::default()
        };
        assert!(!format!("{e:?}").contains("sim_rt_"));
    }

    /// Drives tests/fixtures/helpers/file-helper.sh. The command line itself
    /// sets the helper's environment, so the test process env never changes.
    #[cfg(unix)]
    mod helper_backend {
        use super::*;
        use chrono::TimeZone;

        const FIXTURE: &str = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/helpers/file-helper.sh"
        );

        fn q(s: &str) -> String {
            shlex::try_quote(s).unwrap().into_owned()
        }

        struct Setup {
            data: tempfile::TempDir,
            lock_dir: tempfile::TempDir,
        }

        impl Setup {
            fn new() -> Setup {
                Setup {
                    data: tempfile::tempdir().unwrap(),
                    lock_dir: tempfile::tempdir().unwrap(),
                }
            }
            fn line(&self, mode: &str) -> String {
                format!(
                    "env DRIFTWATCH_TEST_HELPER_DIR={} {mode} sh {}",
                    q(self.data.path().to_str().unwrap()),
                    q(FIXTURE)
                )
            }
            fn store(&self, mode: &str) -> CredentialStore {
                CredentialStore::with_helper(&self.line(mode), self.lock_path()).unwrap()
            }
            fn lock_path(&self) -> PathBuf {
                self.lock_dir.path().join("sub/helper.lock")
            }
        }

        fn full_entry() -> Entry {
            let at = Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).unwrap();
            Entry {
                refresh_token: Some(StoredSecret::new("sim_rt_round_trip_0123456789")),
                access_token: Some(StoredSecret::new("sim_at_round_trip_0123456789")),
                access_token_expires_at: Some(at),
                scopes: vec!["read".into(), "write".into()],
                obtained_at: Some(at),
                last_refreshed_at: Some(at),
                refresh_token_expires_at: Some(at),
                refresh_in_flight: Some(InFlight {
                    started_at: at,
                    pid: 4242,
                }),
            }
        }

        #[test]
        fn round_trip_get_put_and_not_found() {
            let setup = Setup::new();
            let store = setup.store("");
            assert_eq!(store.get("acme/corp").unwrap(), None);
            let lock = store.lock().unwrap();
            store.put(&lock, "acme/corp", full_entry()).unwrap();
            assert_eq!(store.get("acme/corp").unwrap(), Some(full_entry()));
            assert_eq!(store.get("acme/other").unwrap(), None);
            // The helper got exactly one compact JSON document.
            let stored = std::fs::read_to_string(setup.data.path().join("acme__corp")).unwrap();
            assert_eq!(
                stored,
                concat!(
                    r#"{"refresh_token":"sim_rt_round_trip_0123456789","#,
                    r#""access_token":"sim_at_round_trip_0123456789","#,
                    r#""access_token_expires_at":"2025-03-04T05:06:07Z","#,
                    r#""scopes":["read","write"],"obtained_at":"2025-03-04T05:06:07Z","#,
                    r#""last_refreshed_at":"2025-03-04T05:06:07Z","#,
                    r#""refresh_token_expires_at":"2025-03-04T05:06:07Z","#,
                    r#""refresh_in_flight":{"started_at":"2025-03-04T05:06:07Z","pid":4242}}"#,
                    "\n"
                )
            );
            // The lock is the given local file itself, not `<path>.lock`.
            assert_eq!(store.path(), setup.lock_path().as_path());
            assert!(setup.lock_path().is_file());
            drop(lock);
            assert_eq!(
                store.describe(),
                format!("credential helper `{}`", setup.line(""))
            );
        }

        #[test]
        fn whitespace_only_output_means_not_found() {
            let dir = tempfile::tempdir().unwrap();
            let store =
                CredentialStore::with_helper(r#"sh -c 'printf "  \n\t\n"'"#, dir.path().join("l"))
                    .unwrap();
            assert_eq!(store.get("a/b").unwrap(), None);
        }

        fn assert_no_secret(msg: &str) {
            for needle in ["sim_rt_", "sim_at_", "0123456789abcdef"] {
                assert!(!msg.contains(needle), "{needle} leaked: {msg}");
            }
        }

        #[test]
        fn non_zero_exit_is_reported_with_scrubbed_stderr() {
            let setup = Setup::new();
            let mode = "DRIFTWATCH_TEST_HELPER_FAIL=1";
            let store = setup.store(mode);
            let get = store.get("acme/corp").unwrap_err().to_string();
            assert_eq!(
                get,
                format!(
                    "credential helper `{}` failed to get `acme/corp`: it exited with code 3; its stderr (secrets removed): file-helper: backend rejected token [REDACTED]",
                    setup.line(mode)
                )
            );
            assert_no_secret(&get);
            let lock = store.lock().unwrap();
            let put = store
                .put(&lock, "acme/corp", full_entry())
                .unwrap_err()
                .to_string();
            assert_eq!(
                put,
                format!(
                    "credential helper `{}` failed to store `acme/corp`: it exited with code 3; its stderr (secrets removed): file-helper: backend rejected token [REDACTED]",
                    setup.line(mode)
                )
            );
            assert_no_secret(&put);
        }

        #[test]
        fn garbage_output_is_not_quoted() {
            let setup = Setup::new();
            let mode = "DRIFTWATCH_TEST_HELPER_GARBAGE=1";
            let err = setup.store(mode).get("acme/corp").unwrap_err();
            assert!(matches!(err, StoreError::Helper { .. }), "{err:?}");
            let msg = err.to_string();
            assert_eq!(
                msg,
                format!(
                    "credential helper `{}` failed to get `acme/corp`: its output is not a credential entry (line 1 column 1: not valid JSON)",
                    setup.line(mode)
                )
            );
            assert_no_secret(&msg);
        }

        #[test]
        fn json_of_the_wrong_shape_is_not_quoted() {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out.json");
            std::fs::write(
                &out,
                r#"{"refresh_token": ["sim_rt_WRONG0123456789abcdef"]}"#,
            )
            .unwrap();
            // `$0` is the file; the helper's own arguments (`get a/b`) are ignored.
            let line = format!("sh -c 'cat \"$0\"' {}", q(out.to_str().unwrap()));
            let store = CredentialStore::with_helper(&line, dir.path().join("l")).unwrap();
            let msg = store.get("a/b").unwrap_err().to_string();
            assert_eq!(
                msg,
                format!(
                    "credential helper `{line}` failed to get `a/b`: its output is not a credential entry (line 1 column 18: unexpected structure)"
                )
            );
            assert_no_secret(&msg);
        }

        #[test]
        fn a_hanging_helper_is_killed_at_the_timeout() {
            let dir = tempfile::tempdir().unwrap();
            // Prints a secret first: the timeout message must not carry it.
            let line = "sh -c 'echo sim_rt_SLOW0123456789abcdef; sleep 60; :'";
            let store = CredentialStore::with_helper(line, dir.path().join("l"))
                .unwrap()
                .with_helper_timeout(Duration::from_millis(300));
            let started = std::time::Instant::now();
            let msg = store.get("a/b").unwrap_err().to_string();
            assert!(started.elapsed() < Duration::from_secs(10));
            assert_eq!(
                msg,
                format!(
                    "credential helper `{line}` failed to get `a/b`: it did not finish within 300 ms and was stopped; run it by hand to see whether it waits for input (helpers must not prompt)"
                )
            );
        }

        #[test]
        fn helpers_cannot_list_entries() {
            let setup = Setup::new();
            let msg = setup.store("").entries().unwrap_err().to_string();
            assert_eq!(
                msg,
                format!(
                    "credential helper `{}` failed to list entries: listing is not supported by credential helpers; look entries up one key at a time",
                    setup.line("")
                )
            );
        }
    }
}
