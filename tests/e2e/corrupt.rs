//! Corrupt state: a damaged credential store, snapshot or `run.json` is a
//! clear error that names the file and how to recover, and the file is left
//! byte for byte as it was (nothing overwritten, nothing lost).

use crate::support::World;
use std::path::Path;
use std::process::Output;

/// The damages every file is put through: cut in half, and garbled into bytes that are not UTF-8.
fn damages(original: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut garbled = original.to_vec();
    let mid = garbled.len() / 2;
    garbled[mid..mid + 4].copy_from_slice(b"\xff\xfe\x00\xc3");
    vec![
        ("truncated", original[..original.len() / 2].to_vec()),
        ("garbled", garbled),
    ]
}

async fn bin(w: &World, args: &[&str]) -> Output {
    let mut c = w.command();
    c.args(args);
    crate::support::output(c).await
}

/// Asserts the exit code, that the output names `file` and says `hint`, and
/// that `file` still holds exactly `bytes`.
fn assert_refused(out: &Output, code: i32, file: &Path, hint: &str, bytes: &[u8], what: &str) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "{what}:\n{all}");
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        all.contains(&*name),
        "{what}: the file is not named:\n{all}"
    );
    assert!(
        all.contains(hint),
        "{what}: no recovery hint `{hint}`:\n{all}"
    );
    assert_eq!(
        std::fs::read(file).unwrap(),
        bytes,
        "{what}: the file changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_credential_store_is_named_and_kept() {
    let w = World::connected().await;
    let store = w.credentials();
    let creds = store.to_string_lossy().into_owned();
    let suite = w.suite.to_string_lossy().into_owned();
    let original = std::fs::read(&store).unwrap();
    let hint = "move it aside and run `driftwatch connect` again";
    for (how, bytes) in damages(&original) {
        std::fs::write(&store, &bytes).unwrap();
        let tokens = bin(&w, &["tokens", &suite, "--credentials", &creds]).await;
        assert_refused(&tokens, 3, &store, hint, &bytes, &format!("tokens, {how}"));
        // A run fails without writing a credential (a rotated token could not be saved).
        let run = bin(&w, &["run", &suite, "--credentials", &creds]).await;
        assert_refused(&run, 3, &store, hint, &bytes, &format!("run, {how}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_snapshot_is_named_and_kept() {
    let w = World::connected().await;
    w.run_and_accept().await;
    let snap = w.snapshots().join("demo/schema/invoices.snap");
    let original = std::fs::read(&snap).unwrap();
    let creds = w.credentials().to_string_lossy().into_owned();
    let suite = w.suite.to_string_lossy().into_owned();
    let hint = "restore it with `git checkout -- ";
    for (how, bytes) in damages(&original) {
        std::fs::write(&snap, &bytes).unwrap();
        // `--update always` would rewrite an accepted file: it must not rewrite a damaged one.
        for update in ["new", "always"] {
            let out = bin(
                &w,
                &[
                    "run",
                    &suite,
                    "--credentials",
                    &creds,
                    "--snapshots",
                    "snapshots",
                    "--update",
                    update,
                ],
            )
            .await;
            let what = format!("run --update {update}, {how}");
            assert_refused(&out, 3, &snap, hint, &bytes, &what);
            assert!(
                !snap.with_extension("snap.new").exists(),
                "{what}: a pending file replaced the damaged one"
            );
        }
    }
}

#[test]
fn a_damaged_run_json_is_named_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .current_dir(dir.path())
        .arg("demo")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(demo.status.code(), Some(0));
    let run_json = std::fs::canonicalize(dir.path().join("reports/latest/run.json")).unwrap();
    let original = std::fs::read(&run_json).unwrap();
    for (how, bytes) in damages(&original) {
        std::fs::write(&run_json, &bytes).unwrap();
        for args in [
            vec!["report", "reports/latest/run.json", "--format", "markdown"],
            vec!["accept", "--rule", "schema.field-removed"],
        ] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"))
                .current_dir(dir.path())
                .args(&args)
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            let what = format!("{}, {how}", args[0]);
            assert_refused(&out, 2, &run_json, "re-run `driftwatch run`", &bytes, &what);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("is not a driftwatch run file"),
                "{what}: {stderr}"
            );
        }
    }
}
