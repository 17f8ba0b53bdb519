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
    /// What the provider said about the grant itself (refresh tokens issued or withheld,
    /// a rejected refresh); `connect` writes a new entry, which clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<super::health::GrantRecord>,
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
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FileData {
                    format: FORMAT.into(),
                    entries: BTreeMap::new(),
                });
            }
            Err(e) => return Err(self.io("read")(e)),
        };
        // Bytes, not text: a store garbled into invalid UTF-8 is damage, not an I/O failure.
        let data: FileData = serde_json::from_slice(&text).map_err(|e| StoreError::Corrupt {
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
            return super::helper::get(helper, key);
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
            return super::helper::put(helper, key, &entry);
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

/// Describes a JSON error without quoting the input (which holds secrets).
pub(super) fn classify_json(e: &serde_json::Error) -> &'static str {
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
}
