//! The nightly GitHub Actions recipe of docs/ci.md, executed as written: the workflow's YAML
//! block is read out of the page and its jobs run in `needs` order, every `run:` step through
//! `bash -e` with the driftwatch binary on `PATH`, for three consecutive nights against the
//! simulated provider (issue 18: night 1 drifts are new and posted, night 2 the same drifts
//! are known and the webhook stays silent, night 3 adds drifts and only those are new; the
//! history and the HTML chart hold every night). What only GitHub has is a local stand-in: `actions/checkout` copies the
//! repository, the cache and artifact actions copy folders into a store kept between nights,
//! the test-report action reads the JUnit file, `cargo install` copies the built binary to its
//! `--root`, and a stub `gh secret set` writes the repository secrets the credential helper
//! stores rotated tokens in; a local receiver stands in for the Slack webhook. `${{ … }}` expressions are looked up in a small table (strategy
//! index/total, secrets, run id); one the table does not know fails the test. So a command in
//! docs/ci.md that drifts from the CLI fails here.

use crate::support::{WebhookReceiver, World, contains_secret};
use driftwatch::model::Severity;
use driftwatch::sim::{ApiVersion, Switches};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workflow's YAML block in docs/ci.md.
fn workflow() -> Value {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md"))
        .expect("docs/ci.md");
    let start = doc
        .find("```yaml\n# .github/workflows/driftwatch-nightly.yml\n")
        .expect("the workflow block in docs/ci.md");
    let body = &doc[start + "```yaml\n".len()..];
    let end = body.find("\n```").expect("the end of the workflow block");
    serde_saphyr::from_str(&body[..end + 1]).expect("the workflow is YAML")
}

/// The secret the stub `gh` requires: only a step given the writer token can store a secret.
const WRITER_TOKEN: &str = "writer-token-for-the-recipe-test";

/// A stub `gh secret set NAME --repo REPO` that writes the body to `$RECIPE_SECRETS/NAME`, only
/// with the writer token in `GH_TOKEN`.
const GH_STUB: &str = r#"#!/bin/sh
set -eu
[ "$1 $2" = "secret set" ] || { echo "stub gh: unexpected $*" >&2; exit 64; }
[ "$4" = "--repo" ] || { echo "stub gh: no --repo" >&2; exit 64; }
[ "${GH_TOKEN:-}" = "writer-token-for-the-recipe-test" ] || { echo "stub gh: no writer token" >&2; exit 65; }
cat >"$RECIPE_SECRETS/$3"
"#;

/// What one step did.
#[derive(Debug)]
struct StepResult {
    job: String,
    name: String,
    code: i32,
    stdout: String,
    stderr: String,
}

/// The machine the recipe runs on: the repository, the secrets, and the store that stands in
/// for GitHub's caches and artifacts, all kept between nights.
struct Runner<'a> {
    w: &'a World,
    /// What `actions/checkout` copies: suites/, snapshots/, examples/.
    repo: PathBuf,
    /// Scratch space of each job (workspace, home, runner temp), per night.
    scratch: PathBuf,
    /// `cache/<key>/…` and `artifacts/<run>/<name>/…`.
    store: PathBuf,
    /// The repository's secrets; the stub `gh` writes rotated ones to `secrets/`.
    secrets: BTreeMap<String, String>,
    secrets_dir: PathBuf,
    /// The stub `gh`.
    stub_bin: PathBuf,
}

/// One job's state while it runs.
struct Job {
    name: String,
    workspace: PathBuf,
    home: PathBuf,
    runner_temp: PathBuf,
    github_path: PathBuf,
    summary: PathBuf,
    index: usize,
    total: usize,
    matrix: Map<String, Value>,
    failed: bool,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// `actions/cache` saves after the job: (path, key).
    post_saves: Vec<(String, String)>,
}

impl Runner<'_> {
    /// Runs every job of `wf` as night `run_id`; returns every step's result.
    fn night(&mut self, wf: &Value, run_id: u32) -> Vec<StepResult> {
        let jobs = wf["jobs"].as_object().expect("jobs");
        let mut done: Vec<String> = Vec::new();
        let mut results = Vec::new();
        while done.len() < jobs.len() {
            let (name, job) = jobs
                .iter()
                .find(|(name, job)| {
                    !done.contains(name) && needs(job).iter().all(|n| done.contains(&n.to_string()))
                })
                .expect("a job whose needs are met");
            let matrix_entries = job["strategy"]["matrix"]
                .as_object()
                .map(|m| {
                    assert_eq!(m.len(), 1, "one matrix variable");
                    let (var, values) = m.iter().next().expect("the variable");
                    values
                        .as_array()
                        .expect("a list")
                        .iter()
                        .map(|v| {
                            let mut one = Map::new();
                            one.insert(var.clone(), v.clone());
                            one
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_else(|| vec![Map::new()]);
            let total = matrix_entries.len();
            for (index, matrix) in matrix_entries.into_iter().enumerate() {
                results.extend(self.job(wf, name, job, run_id, index, total, matrix));
            }
            done.push(name.clone());
        }
        // The helper stored rotated entries as repository secrets: tomorrow's values.
        for e in std::fs::read_dir(&self.secrets_dir)
            .expect("secrets")
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let value = std::fs::read_to_string(e.path()).expect("secret");
            self.secrets.insert(name, value.trim_end().to_owned());
        }
        results
    }

    #[allow(clippy::too_many_arguments)]
    fn job(
        &self,
        wf: &Value,
        name: &str,
        job: &Value,
        run_id: u32,
        index: usize,
        total: usize,
        matrix: Map<String, Value>,
    ) -> Vec<StepResult> {
        assert!(
            job["timeout-minutes"].as_u64().is_some(),
            "job `{name}` has no timeout-minutes"
        );
        let root = self.scratch.join(format!("night-{run_id}/{name}-{index}"));
        let mut j = Job {
            name: name.to_owned(),
            workspace: root.join("work"),
            home: root.join("home"),
            runner_temp: root.join("temp"),
            github_path: root.join("github_path"),
            summary: root.join("step_summary.md"),
            index,
            total,
            matrix,
            failed: false,
            outputs: BTreeMap::new(),
            post_saves: Vec::new(),
        };
        for d in [&j.workspace, &j.home, &j.runner_temp] {
            std::fs::create_dir_all(d).expect("job dirs");
        }
        std::fs::write(&j.github_path, "").expect("GITHUB_PATH");
        let mut results = Vec::new();
        if let Some(cond) = job["if"].as_str() {
            assert!(self.condition(cond, &j), "job `{name}` skipped");
        }
        for step in job["steps"].as_array().expect("steps") {
            let runs = match step["if"].as_str() {
                Some(cond) => self.condition(cond, &j),
                None => !j.failed,
            };
            if !runs {
                continue;
            }
            let r = self.step(wf, job, step, &mut j, run_id);
            if r.code != 0 {
                j.failed = true;
            }
            results.push(r);
        }
        for (path, key) in std::mem::take(&mut j.post_saves) {
            self.cache_save(&j, &path, &key);
        }
        // GitHub discards a job's runner when the job ends; so does this test (each job's
        // copy of the installed binary would otherwise stay on disk until the last night).
        std::fs::remove_dir_all(&root).expect("job scratch");
        results
    }

    /// Evaluates an `if:`: the few conditions the recipe uses, nothing else.
    fn condition(&self, cond: &str, j: &Job) -> bool {
        let cond = cond
            .trim()
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(cond)
            .trim();
        match cond {
            "always()" | "!cancelled()" => true,
            "success()" => !j.failed,
            other => {
                let (left, right) = other
                    .split_once(" != ")
                    .unwrap_or_else(|| panic!("unsupported condition `{other}`"));
                let right = right.trim_matches('\'');
                self.lookup(left, j, 0) != right
            }
        }
    }

    /// The value of one expression (without `${{ }}`).
    fn lookup(&self, expr: &str, j: &Job, run_id: u32) -> String {
        let expr = expr.trim();
        if let Some(name) = expr.strip_prefix("secrets.") {
            // GitHub gives an unset secret as the empty string.
            return self.secrets.get(name).cloned().unwrap_or_default();
        }
        if let Some(var) = expr.strip_prefix("matrix.") {
            return match &j.matrix[var] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
        }
        if let Some(rest) = expr.strip_prefix("steps.") {
            let (id, output) = rest
                .split_once(".outputs.")
                .unwrap_or_else(|| panic!("unsupported `{expr}`"));
            return j
                .outputs
                .get(id)
                .and_then(|o| o.get(output))
                .cloned()
                .unwrap_or_default();
        }
        if expr.starts_with("hashFiles(") {
            return "srchash".into();
        }
        match expr {
            "strategy.job-index" => j.index.to_string(),
            "strategy.job-total" => j.total.to_string(),
            "runner.os" => "Linux".into(),
            "github.run_id" => run_id.to_string(),
            other => panic!("the recipe test does not know `${{{{ {other} }}}}`"),
        }
    }

    /// `s` with every `${{ … }}` replaced.
    fn expand(&self, s: &str, j: &Job, run_id: u32) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find("${{") {
            out.push_str(&rest[..at]);
            let end = rest[at..].find("}}").expect("closed expression") + at;
            out.push_str(&self.lookup(&rest[at + 3..end], j, run_id));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// `~` and relative paths of an action's `path:`.
    fn local(&self, path: &str, j: &Job) -> PathBuf {
        match path.strip_prefix("~/") {
            Some(rest) => j.home.join(rest),
            None => j.workspace.join(path),
        }
    }

    fn step(&self, wf: &Value, job: &Value, step: &Value, j: &mut Job, run_id: u32) -> StepResult {
        let name = step["name"]
            .as_str()
            .or(step["uses"].as_str())
            .or(step["run"].as_str())
            .unwrap_or("step")
            .to_owned();
        let with = |k: &str| -> Option<String> {
            step["with"][k].as_str().map(|v| self.expand(v, j, run_id))
        };
        let ok = |code: i32| StepResult {
            job: j.name.clone(),
            name: name.clone(),
            code,
            stdout: String::new(),
            stderr: String::new(),
        };
        if let Some(uses) = step["uses"].as_str() {
            let action = uses.split('@').next().expect("an action");
            return match action {
                "actions/checkout" => {
                    copy_tree(&self.repo, &j.workspace);
                    ok(0)
                }
                "actions/cache" | "actions/cache/restore" => {
                    let path = with("path").expect("cache path");
                    let key = with("key").expect("cache key");
                    let prefixes: Vec<String> = with("restore-keys")
                        .map(|k| k.lines().map(str::to_owned).collect())
                        .unwrap_or_default();
                    let hit = self.cache_restore(j, &path, &key, &prefixes);
                    if let Some(id) = step["id"].as_str() {
                        j.outputs
                            .entry(id.to_owned())
                            .or_default()
                            .insert("cache-hit".into(), (hit == Some(true)).to_string());
                    }
                    if action == "actions/cache" && hit != Some(true) {
                        j.post_saves.push((path, key));
                    }
                    let required = step["with"]["fail-on-cache-miss"].as_bool() == Some(true);
                    ok(if required && hit != Some(true) { 1 } else { 0 })
                }
                "actions/cache/save" => {
                    let path = with("path").expect("cache path");
                    let key = with("key").expect("cache key");
                    self.cache_save(j, &path, &key);
                    ok(0)
                }
                "actions/upload-artifact" => {
                    let artifact = with("name").expect("artifact name");
                    let from = self.local(&with("path").expect("artifact path"), j);
                    if !from.exists() {
                        return ok(1);
                    }
                    let to = self.store.join(format!("artifacts/{run_id}/{artifact}"));
                    assert!(!to.exists(), "artifact `{artifact}` uploaded twice");
                    if from.is_dir() {
                        copy_tree(&from, &to);
                    } else {
                        std::fs::create_dir_all(&to).expect("artifact dir");
                        std::fs::copy(&from, to.join(from.file_name().expect("a file")))
                            .expect("upload");
                    }
                    ok(0)
                }
                "actions/download-artifact" => {
                    let pattern = with("pattern").expect("pattern");
                    let prefix = pattern.strip_suffix('*').expect("a `name-*` pattern");
                    let to = self.local(&with("path").expect("path"), j);
                    let dir = self.store.join(format!("artifacts/{run_id}"));
                    for e in std::fs::read_dir(dir).expect("artifacts").flatten() {
                        let n = e.file_name().to_string_lossy().into_owned();
                        if n.starts_with(prefix) {
                            copy_tree(&e.path(), &to.join(&n));
                        }
                    }
                    ok(0)
                }
                "mikepenz/action-junit-report" => {
                    let file = self.local(&with("report_paths").expect("report_paths"), j);
                    let xml = std::fs::read_to_string(&file).unwrap_or_default();
                    let mut r = ok(if xml.contains("<testsuite") { 0 } else { 1 });
                    r.stdout = xml;
                    r
                }
                other => panic!("the recipe test has no stand-in for `{other}`"),
            };
        }
        let script = self.expand(step["run"].as_str().expect("run or uses"), j, run_id);
        if let Some(args) = script.trim().strip_prefix("cargo install ") {
            // The build: the binary this test was built with lands where `--root` says.
            let root = args
                .split_whitespace()
                .skip_while(|a| *a != "--root")
                .nth(1)
                .expect("cargo install --root DIR");
            let bin = self.local(root, j).join("bin");
            std::fs::create_dir_all(&bin).expect("bin");
            std::fs::copy(env!("CARGO_BIN_EXE_driftwatch"), bin.join("driftwatch"))
                .expect("install");
            return ok(0);
        }
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for scope in [&wf["env"], &job["env"], &step["env"]] {
            if let Some(vars) = scope.as_object() {
                for (k, v) in vars {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    env.insert(k.clone(), self.expand(&v, j, run_id));
                }
            }
        }
        // One line per connection in the doc (its example names ACME's): this world's
        // connections replace them, each from its repository secret.
        if env.keys().any(|k| k.starts_with("DRIFTWATCH_CRED_")) {
            env.retain(|k, _| !k.starts_with("DRIFTWATCH_CRED_"));
            for (k, v) in &self.secrets {
                if k.starts_with("DRIFTWATCH_CRED_") {
                    env.insert(k.clone(), v.clone());
                }
            }
        }
        let mut path: Vec<String> = std::fs::read_to_string(&j.github_path)
            .expect("GITHUB_PATH")
            .lines()
            .rev()
            .map(str::to_owned)
            .collect();
        path.push(self.stub_bin.display().to_string());
        path.push(std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .current_dir(&j.workspace)
            .env_clear()
            .env("PATH", path.join(":"))
            .env("HOME", &j.home)
            .env("XDG_DATA_HOME", j.home.join("data"))
            .env("RUNNER_TEMP", &j.runner_temp)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_PATH", &j.github_path)
            .env("GITHUB_STEP_SUMMARY", &j.summary)
            .env("GITHUB_REPOSITORY", "owner/repo")
            .env("GITHUB_RUN_ID", run_id.to_string())
            .env("NO_COLOR", "1")
            .env("RECIPE_SECRETS", &self.secrets_dir)
            // The simulated provider stands in for the real one.
            .env("SIM_BASE_URL", self.w.sim.base_url())
            .env("SIM_CLIENT_ID", self.w.sim.client_id())
            .env("SIM_CLIENT_SECRET", self.w.sim.client_secret())
            .envs(&env)
            .stdin(Stdio::null());
        let out = cmd.output().expect("bash");
        let r = StepResult {
            job: j.name.clone(),
            name,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for text in [&r.stdout, &r.stderr] {
            assert!(
                !contains_secret(text),
                "secret printed by `{}`:\n{text}",
                r.name
            );
        }
        r
    }

    /// Restores `key` (exact: `Some(true)`) or the newest entry starting with one of
    /// `prefixes` (`Some(false)`); `None` when nothing matched.
    fn cache_restore(&self, j: &Job, path: &str, key: &str, prefixes: &[String]) -> Option<bool> {
        let caches = self.store.join("cache");
        let exact = caches.join(key);
        let (found, hit) = if exact.exists() {
            (exact, true)
        } else {
            // Keys end in the run id: the highest is the newest.
            let mut matching: Vec<(u64, PathBuf)> = std::fs::read_dir(&caches)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let p = prefixes.iter().find(|p| n.starts_with(p.as_str()))?;
                    let order = n[p.len()..].parse().unwrap_or(0);
                    Some((order, e.path()))
                })
                .collect();
            matching.sort();
            (matching.pop()?.1, false)
        };
        let to = self.local(path, j);
        let saved = found.join("content");
        if saved.is_dir() {
            copy_tree(&saved, &to);
        } else {
            std::fs::create_dir_all(to.parent().expect("a parent")).expect("dir");
            std::fs::copy(&saved, &to).expect("restore");
        }
        Some(hit)
    }

    /// Saves `path` under `key`, once (GitHub's cache entries are immutable); a missing path
    /// is a warning in GitHub, nothing here.
    fn cache_save(&self, j: &Job, path: &str, key: &str) {
        let entry = self.store.join("cache").join(key);
        let from = self.local(path, j);
        if entry.exists() || !from.exists() {
            return;
        }
        std::fs::create_dir_all(&entry).expect("cache entry");
        if from.is_dir() {
            copy_tree(&from, &entry.join("content"));
        } else {
            std::fs::copy(&from, entry.join("content")).expect("save");
        }
    }
}

fn needs(job: &Value) -> Vec<&str> {
    match &job["needs"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Copies `from` into `to` (merging), following symlinks.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy target");
    for e in std::fs::read_dir(from).expect("copy source").flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

/// Files under `dir` ending in `suffix`, relative, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p.strip_prefix(dir).expect("inside").display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn step<'r>(results: &'r [StepResult], job: &str, name: &str) -> Vec<&'r StepResult> {
    results
        .iter()
        .filter(|r| r.job == job && r.name == name)
        .collect()
}

/// Every step whose environment or `with:` names `secret`, as `job/step`.
fn steps_naming(wf: &Value, secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (name, job) in wf["jobs"].as_object().expect("jobs") {
        assert!(
            !job["env"].to_string().contains(secret),
            "job `{name}` exposes {secret}"
        );
        for (i, s) in job["steps"].as_array().expect("steps").iter().enumerate() {
            if s.to_string().contains(secret) {
                found.push(format!(
                    "{name}/{}",
                    s["name"].as_str().map_or(i.to_string(), str::to_owned)
                ));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_recipe_of_docs_ci_md_runs_as_written_for_three_nights() {
    let wf = workflow();
    // The recipe's hygiene, as docs/ci.md promises it.
    assert_eq!(wf["permissions"], serde_json::json!({"contents": "read"}));
    assert!(
        wf["env"]["SHARDS"].is_null(),
        "the shard count is the matrix's"
    );
    assert_eq!(
        steps_naming(&wf, "DRIFTWATCH_SECRETS_WRITER"),
        ["shard/Probe"],
        "the secrets-writing token belongs to the probe step only"
    );
    assert!(!wf["env"].to_string().contains("secrets."));

    // Day 0: the team connected its accounts and accepted v1.
    let w = World::connected().await;
    w.run_and_accept().await;
    let repo = w.dir.path().join("repo");
    for d in ["suites", "snapshots"] {
        copy_tree(&w.dir.path().join(d), &repo.join(d));
    }
    let helper =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/credential-helpers/github-actions.sh");
    let helper_to = repo.join("examples/credential-helpers/github-actions.sh");
    std::fs::create_dir_all(helper_to.parent().expect("dir")).expect("examples dir");
    std::fs::copy(&helper, &helper_to).expect("helper");
    // The repository secrets: each connection's entry, the writer token.
    let store = driftwatch::auth::CredentialStore::new(w.credentials());
    let mut secrets = BTreeMap::new();
    for (key, name) in [
        ("demo/acme-corp", "DRIFTWATCH_CRED_DEMO_ACME_CORP"),
        ("demo/globex", "DRIFTWATCH_CRED_DEMO_GLOBEX"),
        ("demo/initech", "DRIFTWATCH_CRED_DEMO_INITECH"),
        ("demo/umbrella", "DRIFTWATCH_CRED_DEMO_UMBRELLA"),
    ] {
        let entry = store.get(key).expect("store").expect("connected");
        secrets.insert(
            name.to_owned(),
            serde_json::to_string(&entry).expect("json"),
        );
    }
    secrets.insert("DRIFTWATCH_SECRETS_WRITER".into(), WRITER_TOKEN.into());
    // The team's Slack incoming webhook, a local stand-in.
    let hook = WebhookReceiver::start(200).await;
    secrets.insert("DRIFTWATCH_WEBHOOK".into(), hook.url.clone());
    let stub_bin = w.dir.path().join("stub-bin");
    std::fs::create_dir_all(&stub_bin).expect("stub bin");
    std::fs::write(stub_bin.join("gh"), GH_STUB).expect("gh");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(stub_bin.join("gh"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let secrets_dir = w.dir.path().join("secrets");
    std::fs::create_dir_all(&secrets_dir).expect("secrets");
    let baseline = files_ending(&repo.join("snapshots"), ".snap");
    let mut runner = Runner {
        w: &w,
        repo: repo.clone(),
        scratch: w.dir.path().join("runner"),
        store: w.dir.path().join("github"),
        secrets,
        secrets_dir,
        stub_bin,
    };

    let mut night_one_run_id = String::new();
    let mut night_two_drifts = BTreeSet::new();
    // The provider ships v2 but for its deprecation notice; two nights pass without anyone
    // accepting it; before the third it also announces the deprecation (all of v2).
    w.sim.set_switches(Switches {
        deprecation: false,
        ..Switches::ALL
    });
    for night in 1..=3u32 {
        if night == 3 {
            w.sim.set_version(ApiVersion::V2);
        }
        let results = tokio::task::block_in_place(|| runner.night(&wf, night));
        let show = || {
            results
                .iter()
                .map(|r| format!("{}/{}: {}\n{}{}", r.job, r.name, r.code, r.stdout, r.stderr))
                .collect::<String>()
        };
        // The build is cached: built on night 1 only.
        let installs = step(&results, "build", "Install driftwatch");
        assert_eq!(installs.len(), usize::from(night == 1), "{}", show());
        // Four shards from the matrix, each probing its own connections.
        let probes = step(&results, "shard", "Probe");
        assert_eq!(probes.len(), 4, "{}", show());
        for (i, p) in probes.iter().enumerate() {
            assert_eq!(p.code, 0, "{}", show());
            assert!(
                p.stdout.contains(&format!("shard {}/4", i + 1)),
                "{}",
                p.stdout
            );
        }
        // The merge fails the night on breaking drift; everything after it still ran.
        let merge = step(&results, "merge", "Merge and compare with the baseline");
        assert_eq!(merge.len(), 1, "{}", show());
        assert_eq!(merge[0].code, 1, "{}", show());
        for after in [
            "Collect the report",
            "Save the history for tomorrow",
            "Upload the report",
            "Test report",
        ] {
            let s = step(&results, "merge", after);
            assert_eq!(s.len(), 1, "{after} did not run\n{}", show());
            assert_eq!(s[0].code, 0, "{after}\n{}", show());
        }
        let artifact = runner
            .store
            .join(format!("artifacts/{night}/driftwatch-report"));
        let run = driftwatch::report::read_run(&artifact.join("run.json")).expect("run.json");
        assert_eq!(run.merged.as_ref().map(|m| m.shards), Some(4));
        assert_eq!(run.errors, vec![]);
        // Night 3 adds the deprecation drifts to v2's.
        let fingerprints: BTreeSet<String> =
            run.drifts.iter().map(|d| d.fingerprint.clone()).collect();
        let added: Vec<String> = {
            let mut a: Vec<String> = run
                .drifts
                .iter()
                .filter(|d| !night_two_drifts.contains(&d.fingerprint))
                .map(|d| {
                    format!(
                        "{} {} {} {}",
                        d.severity,
                        d.rule,
                        d.subject,
                        d.path.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            a.sort();
            a
        };
        let breaking = run.count_at_least(Severity::Breaking);
        let warning = run.count_at_least(Severity::Warning) - breaking;
        // The drift set `drift::v1_to_v2_yields_the_exact_drift_set` spells out, by severity.
        if night < 3 {
            assert_eq!((breaking, warning), (18, 1));
        } else {
            assert_eq!((breaking, warning), (20, 2));
            assert_eq!(
                added,
                [
                    "breaking deprecation.announced invoices $.deprecated",
                    "breaking deprecation.announced invoices $.sunset",
                    "info deprecation.link-changed invoices $.links",
                    "warning deprecation.warning-added invoices $.vendor['X-API-Warn']",
                ],
                "night 3 added"
            );
        }
        // JUnit inside the uploaded folder, read by the test-report step.
        let junit = &step(&results, "merge", "Test report")[0].stdout;
        assert_eq!(
            std::fs::read_to_string(artifact.join("junit.xml")).expect("junit in the artifact"),
            *junit
        );
        let failures = junit.matches("<failure").count();
        assert_eq!(failures, if night < 3 { 10 } else { 11 }, "{junit}");
        // Annotations capped to what GitHub shows.
        assert_eq!(merge[0].stdout.matches("::error title=").count(), 10);
        let left_out: Vec<&str> = merge[0]
            .stdout
            .lines()
            .filter(|l| l.starts_with("::notice title=driftwatch annotations left out::"))
            .collect();
        // 18 breaking drifts (20 on night 3) for 10 error annotations.
        let hidden = if night < 3 { 8 } else { 10 };
        assert_eq!(
            left_out,
            [format!(
                "::notice title=driftwatch annotations left out::{hidden} error(s) not shown (GitHub shows 10 annotations of each level per step); the job log, the step summary and the report list everything"
            )],
            "night {night}"
        );
        // What CI would have written for review, in the artifact, never in snapshots/.
        let pending = files_ending(&artifact.join("pending"), ".snap.new");
        assert_eq!(pending.len(), run.pending.len());
        assert!(!pending.is_empty());
        assert_eq!(files_ending(&repo.join("snapshots"), ".snap"), baseline);
        assert_eq!(
            files_ending(&repo.join("snapshots"), ".snap.new"),
            Vec::<String>::new()
        );
        // History carried from night to night through the cache.
        let history = runner
            .store
            .join(format!("cache/driftwatch-history-{night}/content"));
        // `merge` appends one line per night; the cache carries it to the next night.
        let lines = std::fs::read_to_string(&history).expect("history carried");
        assert_eq!(lines.lines().count(), night as usize, "{lines}");
        // The HTML history reads that file: night 2's page charts both nights although the
        // merge job started with an empty `reports/`.
        let page = std::fs::read_to_string(artifact.join("index.html")).expect("index.html");
        let charted = format!("over the last {night} runs");
        assert!(
            page.contains(&charted),
            "no `{charted}` in the HTML history"
        );
        // Night 1's drifts are new; night 2 sees the same drifts as known, first seen on night 1;
        // night 3 only the deprecation drifts are new.
        assert!(!run.drifts.is_empty());
        if night == 1 {
            night_one_run_id = run.run_id.clone();
            assert!(run.drifts.iter().all(|d| d.is_new_in(&run.run_id)));
        } else {
            for d in &run.drifts {
                let first = d.first_seen.as_ref().map(|f| f.run_id.as_str());
                if night_two_drifts.is_empty() || night_two_drifts.contains(&d.fingerprint) {
                    assert_eq!(first, Some(night_one_run_id.as_str()), "{d:?}");
                } else {
                    assert!(d.is_new_in(&run.run_id), "{d:?}");
                }
            }
        }
        // The webhook: night 1 posts, night 2 (nothing new) stays silent, night 3 posts only
        // what it added as new.
        let posts = hook.received();
        assert_eq!(posts.len(), [1, 1, 2][night as usize - 1], "{posts:?}");
        if night == 3 {
            let header = &posts[1]["blocks"][0]["text"]["text"];
            assert_eq!(
                *header,
                format!(
                    "driftwatch: {} new drift{} · {} open",
                    added.len(),
                    if added.len() == 1 { "" } else { "s" },
                    run.drifts.len()
                ),
                "{posts:?}"
            );
        }
        if night == 2 {
            night_two_drifts = fingerprints;
        }
    }

    // Morning: a developer downloads night 2's report and reviews it locally.
    let download = repo.join("ci-report");
    copy_tree(
        &runner.store.join("artifacts/2/driftwatch-report"),
        &download,
    );
    let night2 = driftwatch::report::read_run(&download.join("run.json")).expect("run");
    let mut review = w.command();
    review
        .current_dir(&repo)
        .args(["review", "--from", "ci-report", "--yes"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = review.spawn().expect("review");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"A\n")
            .expect("answer");
    }
    let out = child.wait_with_output().expect("review");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let n = night2.pending.len();
    assert!(
        stdout.ends_with(&format!("accepted {n}, rejected 0, skipped 0\n")),
        "{stdout}"
    );
    assert_eq!(
        files_ending(&download.join("pending"), ".snap.new"),
        Vec::<String>::new()
    );
    let accepted = files_ending(&repo.join("snapshots"), ".snap");
    assert_eq!(
        accepted.len(),
        baseline.len() + night2.pending.iter().filter(|p| p.status == "new").count()
    );
    assert_eq!(
        files_ending(&repo.join("snapshots"), ".snap.new"),
        Vec::<String>::new()
    );

    // Night 1's report is older than that decision: every one of its pending snapshots is
    // refused, and the baseline stays as accepted.
    copy_tree(
        &runner.store.join("artifacts/1/driftwatch-report"),
        &repo.join("night-1"),
    );
    let night1 = driftwatch::report::read_run(&repo.join("night-1/run.json")).expect("run");
    let before: Vec<Vec<u8>> = accepted
        .iter()
        .map(|f| std::fs::read(repo.join("snapshots").join(f)).expect("snap"))
        .collect();
    let out = crate::support::output_blocking({
        let mut c = w.command();
        c.current_dir(&repo).args(["accept", "--from", "night-1"]);
        c
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("refused demo/").count(),
        night1.pending.len(),
        "{stderr}"
    );
    let after: Vec<Vec<u8>> = accepted
        .iter()
        .map(|f| std::fs::read(repo.join("snapshots").join(f)).expect("snap"))
        .collect();
    assert_eq!(before, after);
}
