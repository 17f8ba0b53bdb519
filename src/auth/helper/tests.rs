//! Tests of the helper runner and of the helper-backed credential store.

use super::*;

#[test]
fn parse_splits_like_a_shell_without_running_one() {
    let cmd = HelperCommand::parse(r#"  env A='x y' sh "my helper.sh" $HOME  "#).unwrap();
    assert_eq!(cmd.argv, ["env", "A=x y", "sh", "my helper.sh", "$HOME"]);
    assert_eq!(cmd.line(), r#"env A='x y' sh "my helper.sh" $HOME"#);
    assert_eq!(cmd.timeout, DEFAULT_TIMEOUT);
}

#[test]
fn parse_rejects_empty_and_unbalanced_lines() {
    assert_eq!(HelperCommand::parse("").unwrap_err(), ParseError::Empty);
    assert_eq!(HelperCommand::parse("   ").unwrap_err(), ParseError::Empty);
    assert_eq!(
        HelperCommand::parse("helper 'open").unwrap_err(),
        ParseError::Unbalanced
    );
}

#[test]
fn scrub_removes_token_shaped_runs_only() {
    assert_eq!(
        scrub("refused sim_rt_FAKE0123456789abcdef (code=7)"),
        "refused [REDACTED] (code=7)"
    );
    assert_eq!(
        scrub("Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc"),
        "Bearer [REDACTED]"
    );
    // 15 token characters survive; 16 do not.
    assert_eq!(scrub("a23456789012345"), "a23456789012345");
    assert_eq!(scrub("a234567890123456!"), "[REDACTED]!");
    assert_eq!(scrub("no secrets here"), "no secrets here");
}

#[test]
fn stderr_note_is_flattened_scrubbed_and_bounded() {
    assert_eq!(stderr_note(b"  \n"), "");
    assert_eq!(
        stderr_note(b"error:\n  token sim_at_0123456789abcdefgh rejected\n"),
        "; its stderr (secrets removed): error: token [REDACTED] rejected"
    );
    let long = "word ".repeat(200);
    let note = stderr_note(long.as_bytes());
    let tail = note.trim_start_matches("; its stderr (secrets removed): …");
    assert_eq!(tail.chars().count(), STDERR_TAIL);
}

#[test]
fn human_duration_prefers_seconds() {
    assert_eq!(human_duration(Duration::from_secs(30)), "30 s");
    assert_eq!(human_duration(Duration::from_millis(300)), "300 ms");
}

#[cfg(unix)]
#[test]
fn run_passes_action_key_and_stdin() {
    let cmd = HelperCommand::parse(r#"sh -c 'printf "%s %s " "$1" "$2"; cat' helper"#).unwrap();
    let out = cmd.run("store", "acme/corp", Some(b"{}")).unwrap();
    assert_eq!(out.stdout, b"store acme/corp {}");
}

#[cfg(unix)]
#[test]
fn missing_program_is_named() {
    let cmd = HelperCommand::parse("driftwatch-no-such-helper --flag").unwrap();
    assert_eq!(
        cmd.run("get", "a/b", None).unwrap_err(),
        "cannot start `driftwatch-no-such-helper`: not found (is it installed and on PATH?)"
    );
}

#[cfg(unix)]
#[test]
fn timeout_kills_the_whole_process_group() {
    // `; :` keeps sh from exec-ing sleep, so sleep is a grandchild.
    let mut cmd = HelperCommand::parse("sh -c 'sleep 60; :'").unwrap();
    cmd.set_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = cmd.run("get", "a/b", None).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err,
        "it did not finish within 300 ms and was stopped; run it by hand to see whether it waits for input (helpers must not prompt)"
    );
}

/// Drives tests/fixtures/helpers/file-helper.sh. The command line itself
/// sets the helper's environment, so the test process env never changes.
#[cfg(unix)]
mod backend {
    use crate::auth::store::{CredentialStore, Entry, InFlight, StoreError, StoredSecret};
    use chrono::{TimeZone, Utc};
    use std::path::PathBuf;
    use std::time::Duration;

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
            replayed: None,
            narrowed: None,
            grant: None,
            vars: std::collections::BTreeMap::from([("tenant_id".into(), "t-1".into())]),
            client_secret_expires_at: Some(at),
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
                r#""refresh_in_flight":{"started_at":"2025-03-04T05:06:07Z","pid":4242},"#,
                r#""vars":{"tenant_id":"t-1"},"#,
                r#""client_secret_expires_at":"2025-03-04T05:06:07Z"}"#,
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

/// The documented example helpers, driven through the store with stand-in
/// `gh` and `vault` commands from tests/fixtures/helpers/stubs.
#[cfg(unix)]
mod examples {
    use crate::auth::store::{CredentialStore, Entry};

    fn q(s: &str) -> String {
        shlex::try_quote(s).unwrap().into_owned()
    }

    fn store_for(script: &str, stub_dir: &std::path::Path, extra_env: &str) -> CredentialStore {
        let root = env!("CARGO_MANIFEST_DIR");
        // Reading (never setting) PATH: the stubs go in front of the real one.
        let path = format!(
            "{root}/tests/fixtures/helpers/stubs:{}",
            std::env::var("PATH").unwrap_or_default()
        );
        let line = format!(
            "env PATH={} DRIFTWATCH_TEST_STUB_DIR={} {extra_env} bash {}",
            q(&path),
            q(stub_dir.to_str().unwrap()),
            q(&format!("{root}/examples/credential-helpers/{script}"))
        );
        CredentialStore::with_helper(&line, stub_dir.join("helper.lock")).unwrap()
    }

    fn entry(scope: &str) -> Entry {
        Entry {
            scopes: vec![scope.into()],
            ..Entry::default()
        }
    }

    #[test]
    fn github_actions_helper_reads_env_then_its_own_rotated_copy() {
        let dir = tempfile::tempdir().unwrap();
        let env = format!(
            "RUNNER_TEMP={} GITHUB_REPOSITORY=owner/repo",
            q(dir.path().join("runner").to_str().unwrap())
        );
        let unset = store_for("github-actions.sh", dir.path(), &env);
        assert_eq!(unset.get("acme/acme-corp").unwrap(), None);

        let mapped = format!(r#"{env} DRIFTWATCH_CRED_ACME_ACME_CORP='{{"scopes":["old"]}}'"#);
        let store = store_for("github-actions.sh", dir.path(), &mapped);
        assert_eq!(store.get("acme/acme-corp").unwrap(), Some(entry("old")));

        let lock = store.lock().unwrap();
        store.put(&lock, "acme/acme-corp", entry("new")).unwrap();
        let secret = dir.path().join("DRIFTWATCH_CRED_ACME_ACME_CORP");
        assert_eq!(
            std::fs::read_to_string(&secret).unwrap(),
            "{\"scopes\":[\"new\"]}\n"
        );
        assert_eq!(
            std::fs::read_to_string(secret.with_extension("repo")).unwrap(),
            "owner/repo\n"
        );
        // The variable still holds the old entry; the job-local copy wins.
        assert_eq!(store.get("acme/acme-corp").unwrap(), Some(entry("new")));
    }

    #[test]
    fn vault_kv_helper_round_trips_and_treats_missing_as_not_found() {
        if std::process::Command::new("jq")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: vault-kv.sh needs jq, which is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = store_for("vault-kv.sh", dir.path(), "");
        assert_eq!(store.get("acme/acme-corp").unwrap(), None);
        let lock = store.lock().unwrap();
        store.put(&lock, "acme/acme-corp", entry("v")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("secret__driftwatch__acme__acme-corp"))
                .unwrap(),
            "{\"scopes\":[\"v\"]}\n"
        );
        assert_eq!(store.get("acme/acme-corp").unwrap(), Some(entry("v")));
    }
}
