//! Exact-result tests of the baseline store: layout, update modes, filters, accept/reject.

use super::*;
use crate::model::ProbeKind;
use crate::rules::Rule;
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
            assert_eq!(rules, vec![(Rule::SchemaTypeChanged.id(), Some("$.id"))]);
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

    // Bytes that are not UTF-8 are damage too, located by line, and kept as they are.
    let accepted = dir.path().join("demo/schema/invoices.snap");
    let garbled = b"---\nformat: driftwatch-snapshot/1\n\xff\xfe\n".to_vec();
    std::fs::write(&accepted, &garbled).expect("write");
    for mode in [UpdateMode::New, UpdateMode::Always] {
        match store.compare("s.yaml", &first, mode) {
            Err(SnapshotError::Corrupt { line, reason, .. }) => {
                assert_eq!((line, reason.as_str()), (3, "the file is not UTF-8 text"));
            }
            other => panic!("expected a corrupt error, got {other:?}"),
        }
        assert_eq!(std::fs::read(&accepted).expect("read"), garbled);
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

/// Every file under `root`, relative, sorted (temp files included: none may be left).
fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn snapshot_batch_writes_every_file_across_directories_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut batch = SnapshotBatch::default();
    let mut want = Vec::new();
    for d in ["a/schema", "a/values", "b/schema"] {
        for i in 0..20 {
            let rel = format!("{d}/s{i:02}.snap");
            batch.write(dir.path().join(&rel), format!("body of {rel}\n"));
            want.push(rel);
        }
    }
    assert!(!batch.is_empty());
    // Nothing lands before the commit.
    assert!(!dir.path().join("a").exists());
    batch.commit().expect("commit");
    want.sort();
    assert_eq!(files_under(dir.path()), want);
    for rel in &want {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(rel)).unwrap(),
            format!("body of {rel}\n")
        );
    }
}

#[test]
fn snapshot_batch_follows_queue_order_for_one_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (kept, gone, stale) = (
        dir.path().join("p/x.snap"),
        dir.path().join("p/y.snap"),
        dir.path().join("p/z.snap.new"),
    );
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    std::fs::write(&kept, "old\n").unwrap();
    std::fs::write(&gone, "old\n").unwrap();
    std::fs::write(&stale, "stale\n").unwrap();
    let mut batch = SnapshotBatch::default();
    // remove then write: the file is there; write then remove: it is gone.
    batch.remove(kept.clone());
    batch.write(kept.clone(), "first\n".into());
    batch.write(kept.clone(), "second\n".into());
    batch.write(gone.clone(), "new\n".into());
    batch.remove(gone.clone());
    batch.remove(stale.clone());
    batch.remove(dir.path().join("p/never-existed.snap.new"));
    batch.commit().expect("commit");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "second\n");
    assert_eq!(files_under(dir.path()), vec!["p/x.snap"]);
}

#[test]
fn snapshot_batch_error_names_the_file_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The target of one write is a directory: renaming a file over it fails.
    std::fs::create_dir_all(dir.path().join("p/blocked.snap")).unwrap();
    let mut batch = SnapshotBatch::default();
    for i in 0..10 {
        batch.write(dir.path().join(format!("q/s{i}.snap")), "x\n".into());
    }
    batch.write(dir.path().join("p/blocked.snap"), "x\n".into());
    let err = batch.commit().expect_err("a directory is in the way");
    let SnapshotError::Io { action, path, .. } = &err else {
        panic!("not an I/O error: {err}");
    };
    assert_eq!(
        (*action, path.clone()),
        ("write", dir.path().join("p/blocked.snap"))
    );
    // The files renamed before the failure are complete; no temp file is left anywhere.
    let got = files_under(dir.path());
    assert_eq!(got.len(), 10, "{got:?}");
    assert!(
        got.iter()
            .all(|f| f.starts_with("q/s") && f.ends_with(".snap"))
    );
}

#[test]
fn compare_into_queues_what_compare_writes_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BaselineStore::new(dir.path());
    let a = obs("demo", v1());
    let b = Observation {
        key: key("other", Some("acme")),
        body: a.body.clone(),
    };
    let mut batch = SnapshotBatch::default();
    let got = [&a, &b].map(|o| {
        store
            .compare_into("suites/demo.yaml", o, UpdateMode::New, &mut batch)
            .expect("compare")
    });
    let pending = [
        dir.path().join("demo/schema/invoices.snap.new"),
        dir.path().join("other/schema/invoices@acme.snap.new"),
    ];
    assert_eq!(
        got,
        [
            Comparison::New {
                pending: Some(pending[0].clone())
            },
            Comparison::New {
                pending: Some(pending[1].clone())
            }
        ]
    );
    assert!(pending.iter().all(|p| !p.exists()));
    batch.commit().expect("commit");
    // Byte for byte what `compare` writes.
    let single = tempfile::tempdir().expect("tempdir");
    let one = BaselineStore::new(single.path());
    one.compare("suites/demo.yaml", &a, UpdateMode::New)
        .expect("compare");
    assert_eq!(
        std::fs::read(&pending[0]).unwrap(),
        std::fs::read(single.path().join("demo/schema/invoices.snap.new")).unwrap()
    );
    assert_eq!(
        files_under(dir.path()),
        vec![
            "demo/schema/invoices.snap.new",
            "other/schema/invoices@acme.snap.new"
        ]
    );
}

#[test]
fn schema_type_changed_tolerated_only_is_unchanged_and_writes_no_pending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BaselineStore::new(dir.path());
    let pending = dir.path().join("demo/schema/invoices.snap.new");
    store
        .compare("s.yaml", &obs("demo", v1()), UpdateMode::Always)
        .expect("compare");
    let mut shape = v1();
    shape["$.id"]["types"] = json!(["string"]);
    let retyped = obs("demo", shape);
    let tolerate =
        std::collections::BTreeMap::from([("$.id".to_string(), crate::suite::Tolerance::Type)]);
    let tolerated = |d: &Drift| crate::probe::schema::tolerated(d, &tolerate);
    let mut batch = SnapshotBatch::default();
    let got = store
        .compare_into_tolerating("s.yaml", &retyped, UpdateMode::New, &mut batch, &tolerated)
        .expect("compare");
    batch.commit().expect("commit");
    assert_eq!(got, Comparison::Unchanged);
    assert!(!pending.exists());
    // The same change with a field removed too: the removal alone is reported.
    let mut shape = v1();
    shape["$.id"]["types"] = json!(["string"]);
    shape["$.name"] = json!({"required": true, "types": ["string"]});
    let base = obs("demo", shape.clone());
    store
        .compare("s.yaml", &base, UpdateMode::Always)
        .expect("compare");
    let mut after = base.body.clone();
    after["shape"]["$.id"]["types"] = json!(["integer"]);
    after["shape"]
        .as_object_mut()
        .expect("object")
        .remove("$.name");
    let changed = Observation {
        key: base.key.clone(),
        body: after,
    };
    let mut batch = SnapshotBatch::default();
    match store
        .compare_into_tolerating("s.yaml", &changed, UpdateMode::No, &mut batch, &tolerated)
        .expect("compare")
    {
        Comparison::Changed { drifts, .. } => {
            let rules: Vec<(Option<Rule>, Option<String>)> = drifts
                .iter()
                .map(|d| (d.rule.rule(), d.path.clone()))
                .collect();
            assert_eq!(
                rules,
                [(Some(Rule::SchemaFieldRemoved), Some("$.name".to_string()))]
            );
        }
        other => panic!("expected a change, got {other:?}"),
    }
}

/// Issue 17 item 2: a run reads a provider's baselines while its requests are in flight;
/// loads then answer from what was read (each file once: it is handed over, not copied; a peek
/// leaves it), and only what was not read, or was handed over already, comes from disk.
#[test]
fn read_ahead_baselines_answer_loads_until_forgotten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BaselineStore::new(dir.path());
    let first = obs("demo", v1());
    store.compare("s.yaml", &first, UpdateMode::Always).unwrap();
    let second = Observation {
        key: key("demo", Some("acme")),
        ..obs("demo", v1())
    };
    store
        .compare("s.yaml", &second, UpdateMode::Always)
        .unwrap();
    let other = obs("other", v1());
    store.compare("s.yaml", &other, UpdateMode::Always).unwrap();
    let accepted = dir.path().join("demo/schema/invoices.snap");
    let second_path = dir.path().join("demo/schema/invoices@acme.snap");
    let text = std::fs::read_to_string(&accepted).unwrap();

    store.read_ahead("demo");
    // The first load waits for the reading; from then on what was read answers, whatever the
    // file says now — once per file.
    assert_eq!(store.load(&first.key).unwrap(), Some(first.clone()));
    std::fs::write(&second_path, "not a snapshot").unwrap();
    // A peek answers from what was read and leaves it there for the load that compares.
    assert_eq!(store.peek(&second.key).unwrap(), Some(second.clone()));
    assert_eq!(store.peek(&second.key).unwrap(), Some(second.clone()));
    // A clone shares the read-ahead.
    assert_eq!(
        store.clone().load(&second.key).unwrap(),
        Some(second.clone())
    );
    let err = store.load(&second.key).unwrap_err();
    assert!(matches!(err, SnapshotError::Corrupt { .. }), "{err}");
    // Another provider's baseline, and a key with no file, come from disk.
    assert_eq!(store.load(&other.key).unwrap(), Some(other.clone()));
    assert_eq!(store.load(&key("demo", Some("zeta"))).unwrap(), None);

    // Forgotten: the next reading reads the files as they are now.
    std::fs::write(&accepted, "not a snapshot").unwrap();
    store.forget_read_ahead();
    let err = store.load(&first.key).unwrap_err();
    assert!(matches!(err, SnapshotError::Corrupt { .. }), "{err}");

    // A file that does not parse is not read ahead: loading it reports why.
    store.read_ahead("demo");
    let err = store.load(&first.key).unwrap_err();
    assert!(matches!(err, SnapshotError::Corrupt { .. }), "{err}");
    store.forget_read_ahead();
    std::fs::write(&accepted, text).unwrap();
    store.read_ahead("demo");
    assert_eq!(store.load(&first.key).unwrap(), Some(first));
}
