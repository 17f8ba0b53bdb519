//! Unit tests of the credential store: round trips, damage, symlinks, the
//! journal and the recovery of interrupted writes.

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
    assert_eq!(
        store.lock_path(Path::new("/data/creds.json")),
        PathBuf::from("/data/creds.json.lock")
    );
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

fn marker(secs_ago: i64) -> InFlight {
    InFlight {
        started_at: Utc::now() - chrono::Duration::seconds(secs_ago),
        pid: 4242,
    }
}

/// An entry waiting for the answer to `m`.
fn waiting(m: &InFlight) -> Entry {
    Entry {
        refresh_token: Some(StoredSecret::new("rt-spent")),
        refresh_in_flight: Some(m.clone()),
        ..Entry::default()
    }
}

/// The successor a refresh answered at `at`.
fn successor(rt: &str, at: DateTime<Utc>) -> Entry {
    Entry {
        refresh_token: Some(StoredSecret::new(rt)),
        access_token: Some(StoredSecret::new("at-new")),
        last_refreshed_at: Some(at),
        ..Entry::default()
    }
}

fn rt_of(store: &CredentialStore, key: &str) -> Option<String> {
    store
        .get(key)
        .unwrap()
        .and_then(|e| e.refresh_token)
        .map(|t| t.expose().to_string())
}

fn journal_len(real: &Path) -> u64 {
    std::fs::metadata(journal::journal_path(real)).map_or(0, |m| m.len())
}

/// A store with `demo/a` waiting for the answer to `m`; returns the store and its real path.
fn store_waiting(dir: &Path, m: &InFlight) -> (CredentialStore, PathBuf) {
    let store = CredentialStore::new(dir.join("creds.json"));
    let lock = store.lock().unwrap();
    store.put(&lock, "demo/a", waiting(m)).unwrap();
    let real = store.resolved_path().unwrap();
    (store, real)
}

#[test]
fn journaled_answer_is_recovered_at_the_next_lock() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(1);
    let (store, real) = store_waiting(dir.path(), &m);
    // The run died after journaling the answer, before rewriting the store.
    journal::append(&real, "demo/a", &m, &successor("rt-next", Utc::now())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(journal::journal_path(&real))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    drop(store.lock().unwrap());
    let e = store.get("demo/a").unwrap().unwrap();
    assert_eq!(e.refresh_token, Some(StoredSecret::new("rt-next")));
    assert_eq!(e.refresh_in_flight, None);
    assert_eq!(journal_len(&real), 0);
}

#[test]
fn a_read_recovers_the_journal_when_nobody_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(1);
    let (store, real) = store_waiting(dir.path(), &m);
    // While another holder has the lock, a read neither blocks nor recovers.
    let held = store.lock().unwrap();
    journal::append(&real, "demo/a", &m, &successor("rt-next", Utc::now())).unwrap();
    assert_eq!(rt_of(&store, "demo/a").as_deref(), Some("rt-spent"));
    drop(held);
    assert_eq!(rt_of(&store, "demo/a").as_deref(), Some("rt-next"));
    assert_eq!(store.entries().unwrap()["demo/a"].refresh_in_flight, None);
    assert_eq!(journal_len(&real), 0);
}

#[test]
fn stale_and_torn_journal_records_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(1);
    let (store, real) = store_waiting(dir.path(), &m);
    // Answers another refresh (another marker); then a record cut in half by a kill.
    journal::append(
        &real,
        "demo/a",
        &marker(99),
        &successor("rt-other", Utc::now()),
    )
    .unwrap();
    let mut torn = serde_json::to_vec(&serde_json::json!({
        "key": "demo/a",
        "marker": m,
        "entry": successor("rt-torn", Utc::now()),
    }))
    .unwrap();
    torn.truncate(torn.len() / 2);
    let mut f = OpenOptions::new()
        .append(true)
        .open(journal::journal_path(&real))
        .unwrap();
    f.write_all(&torn).unwrap();
    drop(f);
    drop(store.lock().unwrap());
    let e = store.get("demo/a").unwrap().unwrap();
    assert_eq!(
        e,
        waiting(&m),
        "nothing recovered from a stale or torn record"
    );
    assert_eq!(journal_len(&real), 0);
}

#[test]
fn put_answer_journals_writes_and_empties_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(1);
    let (store, real) = store_waiting(dir.path(), &m);
    let lock = store.lock().unwrap();
    store
        .put_answer(&lock, "demo/a", &m, successor("rt-next", Utc::now()))
        .unwrap();
    assert_eq!(rt_of(&store, "demo/a").as_deref(), Some("rt-next"));
    assert!(journal::journal_path(&real).exists());
    assert_eq!(journal_len(&real), 0);
    assert!(path::leftover_temps(&real).is_empty());
}

/// Writes `data` where an interrupted atomic write of `real` would have left it.
fn temp_file(real: &Path, random: &str, data: &FileData) -> PathBuf {
    let mut name = path::temp_prefix(real);
    name.push(random);
    name.push(path::TEMP_SUFFIX);
    let p = real.with_file_name(name);
    std::fs::write(&p, serde_json::to_vec_pretty(data).unwrap()).unwrap();
    p
}

fn file_data(entries: &[(&str, Entry)]) -> FileData {
    FileData {
        format: FORMAT.into(),
        entries: entries
            .iter()
            .map(|(k, e)| (k.to_string(), e.clone()))
            .collect(),
    }
}

#[test]
fn a_newer_valid_temp_file_gives_up_its_entry_then_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(5);
    let (store, real) = store_waiting(dir.path(), &m);
    let temp = temp_file(
        &real,
        "Ab3dE9",
        &file_data(&[("demo/a", successor("rt-next", Utc::now()))]),
    );
    assert_eq!(path::leftover_temps(&real), vec![temp.clone()]);
    drop(store.lock().unwrap());
    let e = store.get("demo/a").unwrap().unwrap();
    assert_eq!(e.refresh_token, Some(StoredSecret::new("rt-next")));
    assert_eq!(e.refresh_in_flight, None);
    assert!(!temp.exists());
}

#[test]
fn stale_damaged_and_legacy_temp_files_are_removed_without_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(5);
    let (store, real) = store_waiting(dir.path(), &m);
    // Older than the refresh in flight: an earlier write that never landed.
    let stale = temp_file(
        &real,
        "stAle1",
        &file_data(&[(
            "demo/a",
            successor("rt-old", m.started_at - chrono::Duration::seconds(60)),
        )]),
    );
    // Cut short by the kill.
    let damaged = real.with_file_name(".creds.json.dAmAg3.tmp");
    std::fs::write(
        &damaged,
        b"{\"format\": \"driftwatch-credentials/1\", \"entr",
    )
    .unwrap();
    // Still waiting for an answer itself.
    let waiting_too = temp_file(
        &real,
        "wait22",
        &file_data(&[("demo/a", waiting(&marker(1)))]),
    );
    // What versions before the journal named their temp files.
    let legacy = real.with_file_name(".credentials-Q1w2E3");
    std::fs::write(&legacy, b"{}").unwrap();
    // Another store's temp file and a file of the user's are not ours.
    let foreign = real.with_file_name(".other.json.Zz9Yy8.tmp");
    std::fs::write(&foreign, b"{}").unwrap();
    let user = real.with_file_name(".credentials-notes.txt");
    std::fs::write(&user, b"mine").unwrap();
    drop(store.lock().unwrap());
    assert_eq!(store.get("demo/a").unwrap().unwrap(), waiting(&m));
    for gone in [&stale, &damaged, &waiting_too, &legacy] {
        assert!(!gone.exists(), "{} survived", gone.display());
    }
    assert!(foreign.exists() && user.exists());
}

#[test]
fn a_damaged_store_keeps_every_leftover() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(1);
    let (store, real) = store_waiting(dir.path(), &m);
    journal::append(&real, "demo/a", &m, &successor("rt-next", Utc::now())).unwrap();
    let temp = temp_file(
        &real,
        "KeEp01",
        &file_data(&[("demo/a", successor("rt-next", Utc::now()))]),
    );
    std::fs::write(&real, b"{\"format\": ").unwrap();
    let err = store.lock().unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(journal_len(&real) > 0);
    assert!(temp.exists());
}

#[cfg(unix)]
#[test]
fn a_symlinked_store_is_locked_and_written_at_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let target = real_dir.join("creds.json");
    // A relative link whose target does not exist yet.
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("real/creds.json", &link).unwrap();
    let via_link = CredentialStore::new(&link);
    let direct = CredentialStore::new(&target);
    assert_eq!(
        via_link.resolved_path().unwrap(),
        std::fs::canonicalize(&real_dir).unwrap().join("creds.json")
    );
    let lock = via_link.lock().unwrap();
    // One lock, whatever the path.
    let other = open_lock_file(&direct.lock_path(&direct.resolved_path().unwrap())).unwrap();
    assert!(other.try_lock().is_err());
    via_link
        .put(&lock, "demo/a", successor("rt-1", Utc::now()))
        .unwrap();
    drop(lock);
    assert!(other.try_lock().is_ok());
    drop(other);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(rt_of(&direct, "demo/a").as_deref(), Some("rt-1"));
    // A second write through the real path is seen through the link.
    let lock = direct.lock().unwrap();
    direct
        .put(&lock, "demo/a", successor("rt-2", Utc::now()))
        .unwrap();
    drop(lock);
    assert_eq!(rt_of(&via_link, "demo/a").as_deref(), Some("rt-2"));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["link.json", "real"]);
}

#[cfg(unix)]
#[test]
fn a_chain_of_links_resolves_and_a_loop_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::os::unix::fs::symlink("b.json", &a).unwrap();
    std::os::unix::fs::symlink(dir.path().join("c.json"), &b).unwrap();
    let canon = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(path::resolve(&a, false).unwrap(), canon.join("c.json"));
    let x = dir.path().join("x.json");
    let y = dir.path().join("y.json");
    std::os::unix::fs::symlink("y.json", &x).unwrap();
    std::os::unix::fs::symlink("x.json", &y).unwrap();
    let err = CredentialStore::new(&x).get("k").unwrap_err().to_string();
    assert!(
        err.starts_with("cannot resolve the path of credential store"),
        "{err}"
    );
    assert!(err.contains("symbolic links"), "{err}");
}
