//! The credential store: one JSON file holding every connection's tokens, or
//! a credential helper command that keeps them in a secret manager.
//!
//! Safety contract (DESIGN.md rule 1, docs/credential-store.md): a store
//! reached through a symlink is the link's real target (one store, one lock,
//! whatever the path); the file is mode 0600, replaced atomically (temp file,
//! fsync, rename, fsync of the directory), and every read-modify-write happens
//! under an exclusive cross-process lock on a sidecar `.lock` file beside the
//! real target, so two runs never both spend one refresh token. Before a
//! refresh request is sent, the entry records a "refresh in flight" marker; the
//! answer is journaled (`.journal`, fsync'd) before the store is rewritten, and
//! the next lock (or read) of the store recovers a journaled or half-written
//! successor instead of declaring the grant lost. A marker that is still there
//! names the credential that may have been spent. This module never talks HTTP.
//!
//! With a helper (docs/credential-helpers.md) entries travel as JSON through
//! `<cmd> get <key>` / `<cmd> store <key>`; the lock is then a local file and
//! only serialises runs on the same machine, and no journal is kept (the
//! secrets stay in the helper's keeping).

mod journal;
pub mod kill;
mod path;

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
    /// The replay probe spent this grant's rotated-away refresh token (`auth.refresh.replay`).
    /// A new grant (`driftwatch connect`) starts without it, which re-arms the probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed: Option<Replayed>,
    /// The permissions probe's narrowed refresh of this (disposable) grant rotated into a
    /// refresh token narrowed for good: the connection is `consumed` until `driftwatch
    /// connect` writes a new entry, which starts without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrowed: Option<Narrowed>,
    /// What the provider said about the grant itself (refresh tokens issued or withheld,
    /// a rejected refresh); `connect` writes a new entry, which clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<super::health::GrantRecord>,
    /// Per-connection values for `${conn:NAME}` (issue 19), e.g. a tenant id a credential
    /// helper knows. Not secrets: they appear in URLs and headers that are recorded.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub vars: std::collections::BTreeMap<String, String>,
    /// Only in the app entry `<provider>/@app` (issue 20): when the client secret stops
    /// working, for `auth.client_secret_expires: stored`. Never written by driftwatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<DateTime<Utc>>,
}

/// When the replay probe replayed a grant's old refresh token, and what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    pub at: DateTime<Utc>,
    pub outcome: ReplayOutcome,
}

/// When the permissions probe's narrowed refresh left a grant narrowed for good, how that
/// showed, and the scopes its refresh token still holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narrowed {
    pub at: DateTime<Utc>,
    pub cause: NarrowedCause,
    /// The narrowed scopes the refresh token holds now (not secret).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// How a narrowed-for-good grant showed, right after the narrowed refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NarrowedCause {
    /// A refresh of the narrowed successor asking the whole grant back was refused with
    /// `invalid_scope` (django-oauth-toolkit: "Unable to add extra scopes").
    WideningRefused,
    /// That refresh answered, but its `scope` lacked some of the grant's scopes.
    NarrowerScopeAnswered,
}

/// What a replay did to the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayOutcome {
    /// The newest refresh token still worked after the replay.
    GrantSurvived,
    /// The newest refresh token was refused after the replay: reuse revoked the grant.
    GrantRevoked,
    /// The sequence stopped before the grant could be checked (a request failed).
    Inconclusive,
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
    /// The store file's real path (symlinks resolved) when the lock was
    /// taken: every write under this lock goes there. `None` for a helper.
    real: Option<PathBuf>,
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

    /// The store file's real path: symlinks followed (the link stays in
    /// place), the parent directory canonicalised. `create` makes a missing
    /// parent directory first; without it a missing directory leaves the path
    /// as given (nothing there to read).
    fn real_path(&self, create: bool) -> Result<PathBuf, StoreError> {
        path::resolve(&self.path, create).map_err(self.io("resolve the path of"))
    }

    /// The store's real path, as [`lock`](Self::lock) and every write use it.
    /// For a helper store, the lock file.
    pub fn resolved_path(&self) -> Result<PathBuf, StoreError> {
        match self.helper {
            Some(_) => Ok(self.path.clone()),
            None => self.real_path(false),
        }
    }

    fn lock_path(&self, real: &Path) -> PathBuf {
        if self.helper.is_some() {
            return self.path.clone();
        }
        path::sidecar(real, "lock")
    }

    fn ensure_dir(&self, path: &Path) -> Result<(), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(self.io("create the directory of"))?;
        }
        Ok(())
    }

    /// Blocks until this process holds the exclusive lock, then recovers what
    /// an interrupted run left behind (a journaled token answer, half-written
    /// temp files). Call from a blocking context. For a helper store this
    /// covers runs on this machine only.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let real = match self.helper {
            Some(_) => None,
            None => Some(self.real_path(true)?),
        };
        let lock_path = match &real {
            Some(r) => self.lock_path(r),
            None => {
                self.ensure_dir(&self.path)?;
                self.path.clone()
            }
        };
        let file = open_lock_file(&lock_path).map_err(self.io("open the lock file of"))?;
        file.lock().map_err(self.io("lock"))?;
        let lock = StoreLock { file, real };
        if let Some(real) = &lock.real {
            journal::recover(self, real)?;
        }
        Ok(lock)
    }

    /// Recovers leftovers before a read when nobody holds the lock; when
    /// someone does (another run, or this process mid-refresh) the holder has
    /// recovered them already or will, and the read goes ahead.
    fn settle(&self, real: &Path) -> Result<(), StoreError> {
        if !journal::has_leftovers(real) {
            return Ok(());
        }
        let Ok(file) = open_lock_file(&self.lock_path(real)) else {
            return Ok(());
        };
        if file.try_lock().is_err() {
            return Ok(());
        }
        let _held = StoreLock {
            file,
            real: Some(real.to_path_buf()),
        };
        journal::recover(self, real)
    }

    fn read_all(&self, real: &Path) -> Result<FileData, StoreError> {
        let text = match crate::bounded::read_bounded(real, crate::bounded::STORE_LIMIT) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FileData {
                    format: FORMAT.into(),
                    entries: BTreeMap::new(),
                });
            }
            Err(e) => return Err(self.io("read")(e)),
        };
        parse_store(&text).map_err(|reason| StoreError::Corrupt {
            path: self.path.clone(),
            reason,
        })
    }

    /// Reads one entry (no lock needed: replacement is atomic).
    /// A helper store runs the helper, which may block for up to its timeout.
    pub fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        if let Some(helper) = &self.helper {
            return super::helper::get(helper, key);
        }
        let real = self.real_path(false)?;
        self.settle(&real)?;
        Ok(self.read_all(&real)?.entries.remove(key))
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
        let real = self.real_path(false)?;
        self.settle(&real)?;
        Ok(self.read_all(&real)?.entries)
    }

    /// Replaces one entry. The caller must hold the [`StoreLock`]; the entry
    /// is written to the real path resolved when the lock was taken.
    pub fn put(&self, lock: &StoreLock, key: &str, entry: Entry) -> Result<(), StoreError> {
        self.put_inner(lock, key, entry, false)
    }

    fn put_inner(
        &self,
        lock: &StoreLock,
        key: &str,
        entry: Entry,
        answer: bool,
    ) -> Result<(), StoreError> {
        if let Some(helper) = &self.helper {
            return super::helper::put(helper, key, &entry);
        }
        let real = self.locked_path(lock)?;
        let mut data = self.read_all(&real)?;
        data.format = FORMAT.into();
        data.entries.insert(key.to_string(), entry);
        if answer {
            self.write_answer(&real, &data)
        } else {
            self.write_all(&real, &data)
        }
    }

    /// Persists a token answer: `entry` is the successor of the refresh that
    /// `marker` announced. It is journaled first (fsync'd, file and directory),
    /// then the store is rewritten, then the journal is emptied; a crash
    /// anywhere after the journal write leaves the successor recoverable by
    /// the next [`lock`](Self::lock). A helper store gets a plain `put`.
    pub fn put_answer(
        &self,
        lock: &StoreLock,
        key: &str,
        marker: &InFlight,
        entry: Entry,
    ) -> Result<(), StoreError> {
        if self.helper.is_some() {
            return self.put(lock, key, entry);
        }
        let real = self.locked_path(lock)?;
        if let Err(e) = journal::append(&real, key, marker, &entry) {
            // Still write the store: the successor must land somewhere.
            tracing::warn!(store = %self.path.display(), "cannot journal a token answer: {e}");
        }
        kill::point("after-answer");
        self.put_inner(lock, key, entry, true)?;
        kill::point("after-store-write");
        // The store holds the answer now; a record left behind is stale and
        // dropped by the next lock, so failing to empty the journal is no error.
        if let Err(e) = journal::clear(&real) {
            tracing::warn!(store = %self.path.display(), "cannot empty the journal: {e}");
        }
        Ok(())
    }

    fn locked_path(&self, lock: &StoreLock) -> Result<PathBuf, StoreError> {
        match &lock.real {
            Some(real) => Ok(real.clone()),
            None => self.real_path(true),
        }
    }

    fn write_all(&self, real: &Path, data: &FileData) -> Result<(), StoreError> {
        self.write(real, data, false)
    }

    /// [`write_all`](Self::write_all) of a token answer (the `store-write` kill point).
    fn write_answer(&self, real: &Path, data: &FileData) -> Result<(), StoreError> {
        self.write(real, data, true)
    }

    fn write(&self, real: &Path, data: &FileData, answer: bool) -> Result<(), StoreError> {
        self.ensure_dir(real)?;
        let dir = path::parent_dir(real);
        let mut tmp = tempfile::Builder::new()
            .prefix(&path::temp_prefix(real))
            .suffix(path::TEMP_SUFFIX)
            .rand_bytes(path::TEMP_RAND_LEN)
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
        if answer {
            kill::point("store-write");
        }
        tmp.persist(real).map_err(|e| self.io("replace")(e.error))?;
        path::sync_dir(dir).map_err(self.io("fsync the directory of"))
    }
}

/// Parses a store file; the error says where and what, never quoting the
/// input (which holds secrets).
fn parse_store(bytes: &[u8]) -> Result<FileData, String> {
    // Bytes, not text: a store garbled into invalid UTF-8 is damage, not an I/O failure.
    let data: FileData = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "line {} column {}: {}",
            e.line(),
            e.column(),
            classify_json(&e)
        )
    })?;
    if data.format != FORMAT {
        return Err(format!(
            "unknown format `{}`, expected `{FORMAT}`",
            data.format
        ));
    }
    Ok(data)
}

/// Opens (creating, mode 0600) a lock file.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    set_private(&file);
    Ok(file)
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
mod tests;
