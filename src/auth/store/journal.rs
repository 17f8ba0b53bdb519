//! The journal of token answers and the recovery of what an interrupted run
//! left behind.
//!
//! `<store>.journal` (mode 0600, under the store's lock) holds one JSON line
//! per token answer not yet known to be in the store: the credential key, the
//! in-flight marker of the refresh it answers, and the complete successor
//! entry. It is appended and fsync'd (file and directory) before the store is
//! rewritten, and emptied once the store holds the answer. Recovery, at every
//! lock (and before a read when the lock is free): a record whose marker is
//! still the entry's marker is the successor the store never received, and
//! replaces the entry; a temp file of an interrupted atomic write gives up an
//! entry the same way when it holds the answer to the entry's marker. Every
//! other record or temp file is stale. The store is rewritten first, then the
//! journal emptied and the temp files removed, so a crash during recovery
//! loses nothing either.

use super::path;
use super::{CredentialStore, Entry, FileData, InFlight, StoreError, parse_store};
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A journal larger than this is not a journal driftwatch wrote (one record
/// is a few hundred bytes, and the journal is emptied after every answer).
const MAX_JOURNAL_BYTES: u64 = 16 * 1024 * 1024;

/// One journaled token answer.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    key: String,
    /// The marker of the refresh this answers.
    marker: InFlight,
    /// The successor entry, as the store would have held it.
    entry: Entry,
}

pub(super) fn journal_path(real: &Path) -> PathBuf {
    path::sidecar(real, "journal")
}

/// True when a journal with content or a temp file waits beside the store.
pub(super) fn has_leftovers(real: &Path) -> bool {
    let journal = std::fs::metadata(journal_path(real)).is_ok_and(|m| m.len() > 0);
    journal || !path::leftover_temps(real).is_empty()
}

/// Appends one answer and makes it durable (file and directory fsync).
pub(super) fn append(real: &Path, key: &str, marker: &InFlight, entry: &Entry) -> io::Result<()> {
    let record = Record {
        key: key.to_string(),
        marker: marker.clone(),
        entry: entry.clone(),
    };
    let mut line = serde_json::to_vec(&record).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(journal_path(real))?;
    super::set_private(&file);
    file.write_all(&line)?;
    file.sync_all()?;
    path::sync_dir(path::parent_dir(real))
}

/// Empties the journal (kept as an empty file: no secret stays on disk, and
/// the next answer needs no new directory entry).
pub(super) fn clear(real: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).open(journal_path(real)) {
        Ok(file) => {
            file.set_len(0)?;
            file.sync_all()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The complete records of a journal, in order. A line that does not parse
/// is skipped: only the last one can be torn (a write the kill interrupted,
/// so never a durable answer), and a damaged record must not block the store.
fn read_records(real: &Path) -> io::Result<Vec<Record>> {
    // A regular file only (a FIFO there would block the run), read to its limit.
    let bytes = match crate::bounded::open_bounded(&journal_path(real), MAX_JOURNAL_BYTES) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut f, &mut bytes)?;
            bytes
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(io::Error::other(format!(
            "the journal is larger than {MAX_JOURNAL_BYTES} bytes"
        )));
    }
    Ok(bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect())
}

/// The entry the store should hold instead of `current` when `candidate`
/// answers `current`'s in-flight marker: `current` is waiting for the answer
/// to exactly that refresh, and `candidate` is a settled entry with a
/// refresh token obtained no earlier than the refresh started.
fn answers(current: &Entry, candidate: &Entry) -> bool {
    let Some(marker) = &current.refresh_in_flight else {
        return false;
    };
    candidate.refresh_in_flight.is_none()
        && candidate.refresh_token.is_some()
        && candidate
            .last_refreshed_at
            .is_some_and(|t| t >= marker.started_at)
}

/// Recovers journaled answers and interrupted writes into the store at
/// `real`, then removes the leftovers. The caller holds the lock. A store
/// that cannot be read leaves every leftover in place (it may hold the only
/// copy of a token).
pub(super) fn recover(store: &CredentialStore, real: &Path) -> Result<(), StoreError> {
    let records = read_records(real).map_err(store.io("read the journal of"))?;
    let journal_has_bytes = std::fs::metadata(journal_path(real)).is_ok_and(|m| m.len() > 0);
    let temps = path::leftover_temps(real);
    if !journal_has_bytes && temps.is_empty() {
        return Ok(());
    }
    let mut data: FileData = store.read_all(real)?;
    let mut recovered = Vec::new();
    for r in records {
        let Some(current) = data.entries.get(&r.key) else {
            continue;
        };
        if current.refresh_in_flight.as_ref() == Some(&r.marker) && answers(current, &r.entry) {
            recovered.push(r.key.clone());
            data.entries.insert(r.key, r.entry);
        }
    }
    for temp in &temps {
        // A temp file that does not parse was cut short: never a durable answer.
        let Ok(bytes) = crate::bounded::read_bounded(temp, crate::bounded::STORE_LIMIT) else {
            continue;
        };
        let Ok(written) = parse_store(&bytes) else {
            continue;
        };
        for (key, candidate) in written.entries {
            if data
                .entries
                .get(&key)
                .is_some_and(|c| answers(c, &candidate))
            {
                recovered.push(key.clone());
                data.entries.insert(key, candidate);
            }
        }
    }
    if !recovered.is_empty() {
        recovered.sort();
        recovered.dedup();
        store.write_all(real, &data)?;
        tracing::warn!(
            store = %store.path.display(),
            "recovered the refresh token an interrupted run received but never saved, for: {}",
            recovered.join(", ")
        );
    }
    clear(real).map_err(store.io("clear the journal of"))?;
    for temp in &temps {
        match std::fs::remove_file(temp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(store.io("remove a leftover temporary file beside")(e)),
        }
    }
    if !temps.is_empty() {
        path::sync_dir(path::parent_dir(real)).map_err(store.io("fsync the directory of"))?;
    }
    Ok(())
}
