use super::*;

fn file(text: &str) -> ConfigFile {
    parse(Path::new("driftwatch.toml"), text).unwrap()
}

fn err(text: &str) -> String {
    parse(Path::new("driftwatch.toml"), text)
        .unwrap_err()
        .to_string()
}

const FILE: &str = r#"
snapshots = "file-snaps"
fail_on = "warning"
expiry_window = "3d"
update = "new"
format = ["junit", "markdown"]

[webhook]
url = "https://hooks.example/services/T1/B2/secretpart"
on = "any"
report_url = "https://ci.example/{run_id}"
"#;

#[test]
fn defaults_apply_without_any_layer() {
    let s = resolve(&Context::empty("/w"), None, &Flags::default()).unwrap();
    assert_eq!(s.snapshots.value, PathBuf::from("snapshots"));
    assert_eq!(s.snapshots.source, Source::Default);
    assert_eq!(s.fail_on.value, FailOn::Breaking);
    assert_eq!(s.expiry_window.value, Duration::from_secs(7 * 86_400));
    assert_eq!(s.update.value, Update::Auto);
    assert_eq!(s.webhook_on.value, WebhookOn::New);
    assert_eq!(s.webhook_url.value, None);
    assert_eq!(
        s.history.value,
        Some(PathBuf::from("reports/history.jsonl"))
    );
    assert_eq!(s.history.source, Source::Default);
    assert_eq!(s.credentials.value, None);
}

#[test]
fn each_layer_overrides_the_one_before() {
    let c = file(FILE);
    let p = Path::new("driftwatch.toml");
    let bare = Context::empty("/w");
    // config file over defaults
    let s = resolve(&bare, Some((p, &c)), &Flags::default()).unwrap();
    assert_eq!(
        (s.snapshots.value.clone(), s.snapshots.source),
        (PathBuf::from("file-snaps"), Source::ConfigFile)
    );
    assert_eq!(
        (s.fail_on.value, s.fail_on.source),
        (FailOn::Warning, Source::ConfigFile)
    );
    assert_eq!(s.expiry_window.value, Duration::from_secs(3 * 86_400));
    assert_eq!(s.update.value, Update::New);
    assert_eq!(s.formats.value, vec![Format::Junit, Format::Markdown]);
    assert_eq!(s.webhook_on.value, WebhookOn::Any);
    // environment over the config file
    let ctx = bare
        .clone()
        .with_var("DRIFTWATCH_SNAPSHOTS", "env-snaps")
        .with_var("DRIFTWATCH_FAIL_ON", "info")
        .with_var("DRIFTWATCH_EXPIRY_WINDOW", "12h")
        .with_var("DRIFTWATCH_WEBHOOK_ON", "warning");
    let s = resolve(&ctx, Some((p, &c)), &Flags::default()).unwrap();
    assert_eq!(
        (s.snapshots.value.clone(), s.snapshots.source),
        (
            PathBuf::from("env-snaps"),
            Source::Env("DRIFTWATCH_SNAPSHOTS")
        )
    );
    assert_eq!(s.fail_on.value, FailOn::Info);
    assert_eq!(s.expiry_window.value, Duration::from_secs(12 * 3600));
    assert_eq!(s.webhook_on.value, WebhookOn::Warning);
    assert_eq!(s.update.source, Source::ConfigFile);
    // flags over the environment
    let flags = Flags {
        snapshots: Some("flag-snaps".into()),
        fail_on: Some(FailOn::Never),
        expiry_window: Some(Duration::from_secs(60)),
        formats: vec![Format::Json],
        ..Flags::default()
    };
    let s = resolve(&ctx, Some((p, &c)), &flags).unwrap();
    assert_eq!(
        (s.snapshots.value.clone(), s.snapshots.source),
        (PathBuf::from("flag-snaps"), Source::Flag("--snapshots"))
    );
    assert_eq!(
        (s.fail_on.value, s.fail_on.source),
        (FailOn::Never, Source::Flag("--fail-on"))
    );
    assert_eq!(s.expiry_window.value, Duration::from_secs(60));
    assert_eq!(s.formats.value, vec![Format::Json]);
}

#[test]
fn a_typed_flag_equal_to_the_environment_is_still_the_flag() {
    // Flags hold only what was typed (clap's value source), so nothing is guessed.
    let ctx = Context::empty("/w").with_var("DRIFTWATCH_REPORTS", "r");
    let flags = Flags {
        reports: Some("r".into()),
        ..Flags::default()
    };
    let s = resolve(&ctx, None, &flags).unwrap();
    assert_eq!(s.reports.source, Source::Flag("--reports"));
    let s = resolve(&ctx, None, &Flags::default()).unwrap();
    assert_eq!(s.reports.source, Source::Env("DRIFTWATCH_REPORTS"));
}

#[test]
fn only_arguments_typed_on_the_command_line_are_flags() {
    use crate::cli::{Cli, Command};
    let (cli, typed) =
        Cli::try_parse_typed(["driftwatch", "tokens", "--credentials", "team.json"]).unwrap();
    let Command::Tokens(args) = cli.command else {
        panic!("not tokens")
    };
    assert_eq!(
        typed.flag("credentials", args.credentials.clone()),
        Some("team.json".into())
    );
    assert_eq!(typed.flag("window", args.window), None);
    // A clap default is not typed either.
    let (_, typed) = Cli::try_parse_typed(["driftwatch", "connect", "s.yaml", "c"]).unwrap();
    assert_eq!(typed.flag("timeout", Some(1)), None);
    assert_eq!(typed.flag("suite", Some(1)), Some(1));
}

#[test]
fn config_shows_only_the_settings_a_command_reads() {
    let c = file(FILE);
    let s = resolve(
        &Context::empty("/w"),
        Some((Path::new("driftwatch.toml"), &c)),
        &Flags::default(),
    )
    .unwrap();
    let text = s.render_only(&["credentials", "credential_helper", "expiry_window"]);
    let keys: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(
        keys,
        ["#", "credentials", "credential_helper", "expiry_window"],
        "{text}"
    );
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let ctx = Context::empty("/w").with_var("DRIFTWATCH_FAIL_ON", "loud");
    let e = resolve(&ctx, None, &Flags::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid DRIFTWATCH_FAIL_ON=`loud`: expected one of info, warning, breaking, never"
    );
}

#[test]
fn unknown_key_points_at_the_line_and_suggests() {
    let e = err("reports = \"r\"\nsnapshot = \"s\"\n");
    assert!(e.starts_with("unknown field `snapshot`"), "{e}");
    assert!(e.contains("--> driftwatch.toml:2:1"), "{e}");
    assert!(e.contains("did you mean `snapshots`?"), "{e}");
}

#[test]
fn bad_enum_value_points_at_the_value() {
    let e = err("\nfail_on = \"braking\"\n");
    assert!(e.starts_with("invalid value `braking`"), "{e}");
    assert!(e.contains("--> driftwatch.toml:2:11"), "{e}");
    assert!(
        e.contains("expected one of info, warning, breaking, never"),
        "{e}"
    );
    assert!(e.contains("did you mean `breaking`?"), "{e}");
}

#[test]
fn bad_duration_and_insecure_http_are_refused() {
    let e = err("expiry_window = \"soon\"\n");
    assert!(e.starts_with("invalid duration `soon`"), "{e}");
    let e = err("allow_insecure_http = true\n");
    assert!(
        e.starts_with("`allow_insecure_http` is not accepted in a config file"),
        "{e}"
    );
    assert!(e.contains("driftwatch.toml:1:23"), "{e}");
}

#[test]
fn errors_never_quote_a_webhook_path() {
    let e = err(
        "[webhook]\nurl = \"https://hooks.example/services/T1/B2/secretpart\"\non = \"sometimes\"\n",
    );
    assert!(!e.contains("secretpart"), "{e}");
    let e = err("[webhook]\nurl = \"https://hooks.example/services/T1/B2/secretpart\" x\n");
    assert!(!e.contains("secretpart"), "{e}");
    assert!(e.contains("driftwatch.toml:2:"), "{e}");
}

#[test]
fn locate_prefers_flag_then_env_then_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::empty(dir.path());
    assert_eq!(locate(&ctx, None), None);
    std::fs::write(dir.path().join(DEFAULT_CONFIG), "").unwrap();
    assert_eq!(locate(&ctx, None), Some(PathBuf::from(DEFAULT_CONFIG)));
    let ctx = ctx.with_var("DRIFTWATCH_CONFIG", "ci.toml");
    assert_eq!(locate(&ctx, None), Some(PathBuf::from("ci.toml")));
    assert_eq!(
        locate(&ctx, Some(Path::new("x.toml"))),
        Some(PathBuf::from("x.toml"))
    );
}

#[test]
fn render_masks_the_webhook_and_names_sources() {
    let c = file(FILE);
    let ctx = Context::empty("/w").with_var("DRIFTWATCH_REPORTS", "env-reports");
    let s = resolve(
        &ctx,
        Some((Path::new("driftwatch.toml"), &c)),
        &Flags::default(),
    )
    .unwrap();
    let text = s.render();
    assert!(!text.contains("secretpart"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# config file: driftwatch.toml");
    assert_eq!(
        lines[1],
        "snapshots          = \"file-snaps\"                 # config file"
    );
    assert_eq!(
        lines[2],
        "reports            = \"env-reports\"                # env DRIFTWATCH_REPORTS"
    );
    assert_eq!(
        lines[6],
        "expiry_window      = \"3d\"                         # config file"
    );
    assert_eq!(
        lines[9],
        "evidence           = \"full\"                       # default"
    );
    assert_eq!(
        lines[12],
        "webhook.url        = \"https://hooks.example/…\"    # config file"
    );
}

#[test]
fn mask_url_keeps_scheme_host_and_port_only() {
    assert_eq!(
        mask_url("https://hooks.slack.com/services/T/B/x"),
        "https://hooks.slack.com/…"
    );
    assert_eq!(
        mask_url("http://127.0.0.1:4000/hook?k=v"),
        "http://127.0.0.1:4000/…"
    );
    assert_eq!(mask_url("not a url"), "(invalid url)");
}

/// Issue 16: the config file's "did you mean" measured bytes, so a key with multi-byte
/// characters got suggestions the suite loader (which counts characters) would not make.
#[test]
fn did_you_mean_counts_characters_not_bytes() {
    // `urëë` is 4 characters (6 bytes), two edits from `url`: too far for a suggestion.
    let e = err("urëë = \"x\"\n");
    assert!(!e.contains("did you mean"), "{e}");
    let e = err("snapshot = \"x\"\n");
    assert!(e.contains("did you mean `snapshots`?"), "{e}");
}

#[test]
fn evidence_flows_default_file_env_flag() {
    let p = Path::new("driftwatch.toml");
    let bare = Context::empty("/w");
    let s = resolve(&bare, None, &Flags::default()).unwrap();
    assert_eq!(
        (s.evidence.value, s.evidence.source),
        (EvidenceMode::Full, Source::Default)
    );
    let c = file("evidence = \"shapes\"\n");
    let s = resolve(&bare, Some((p, &c)), &Flags::default()).unwrap();
    assert_eq!(
        (s.evidence.value, s.evidence.source),
        (EvidenceMode::Shapes, Source::ConfigFile)
    );
    let ctx = bare.clone().with_var("DRIFTWATCH_EVIDENCE", "none");
    let s = resolve(&ctx, Some((p, &c)), &Flags::default()).unwrap();
    assert_eq!(
        (s.evidence.value, s.evidence.source),
        (EvidenceMode::None, Source::Env("DRIFTWATCH_EVIDENCE"))
    );
    let flags = Flags {
        evidence: Some(EvidenceMode::Full),
        ..Flags::default()
    };
    let s = resolve(&ctx, Some((p, &c)), &flags).unwrap();
    assert_eq!(
        (s.evidence.value, s.evidence.source),
        (EvidenceMode::Full, Source::Flag("--evidence"))
    );
    assert!(
        s.render()
            .contains("evidence           = \"full\"                       # flag --evidence\n"),
        "{}",
        s.render()
    );
    let e = err("evidence = \"shape\"\n");
    assert!(e.starts_with("invalid value `shape`"), "{e}");
    assert!(e.contains("expected one of full, shapes, none"), "{e}");
    assert!(e.contains("did you mean `shapes`?"), "{e}");
    let ctx = bare.with_var("DRIFTWATCH_EVIDENCE", "bodies");
    assert_eq!(
        resolve(&ctx, None, &Flags::default())
            .unwrap_err()
            .to_string(),
        "invalid DRIFTWATCH_EVIDENCE=`bodies`: expected one of full, shapes, none"
    );
}

#[test]
fn history_follows_reports_and_each_layer_can_move_or_disable_it() {
    let bare = Context::empty("/w");
    let p = Path::new("driftwatch.toml");
    // The default sits in whatever reports directory is in effect.
    let c = file("reports = \"out\"\n");
    let s = resolve(&bare, Some((p, &c)), &Flags::default()).unwrap();
    assert_eq!(
        (s.history.value.clone(), s.history.source),
        (Some(PathBuf::from("out/history.jsonl")), Source::Default)
    );
    let c = file("history = \"ci/history.jsonl\"\n");
    let s = resolve(&bare, Some((p, &c)), &Flags::default()).unwrap();
    assert_eq!(
        (s.history.value.clone(), s.history.source),
        (Some(PathBuf::from("ci/history.jsonl")), Source::ConfigFile)
    );
    let off = file("history = false\n");
    let s = resolve(&bare, Some((p, &off)), &Flags::default()).unwrap();
    assert_eq!(
        (s.history.value.clone(), s.history.source),
        (None, Source::ConfigFile)
    );
    assert!(
        s.render().contains("history            = false"),
        "{}",
        s.render()
    );
    let ctx = bare.clone().with_var("DRIFTWATCH_HISTORY", "env.jsonl");
    let s = resolve(&ctx, Some((p, &off)), &Flags::default()).unwrap();
    assert_eq!(
        (s.history.value.clone(), s.history.source),
        (
            Some(PathBuf::from("env.jsonl")),
            Source::Env("DRIFTWATCH_HISTORY")
        )
    );
    let flags = Flags {
        no_history: true,
        ..Flags::default()
    };
    let s = resolve(&ctx, Some((p, &c)), &flags).unwrap();
    assert_eq!(
        (s.history.value, s.history.source),
        (None, Source::Flag("--no-history"))
    );
    let flags = Flags {
        history: Some("flag.jsonl".into()),
        report_url: Some("https://ci.example/{run_id}".into()),
        ..Flags::default()
    };
    let s = resolve(&ctx, Some((p, &off)), &flags).unwrap();
    assert_eq!(s.history.value, Some(PathBuf::from("flag.jsonl")));
    assert_eq!(s.webhook_report_url.source, Source::Flag("--report-url"));
    assert!(
        err("history = 3\n").contains("driftwatch.toml:1:"),
        "{}",
        err("history = 3\n")
    );
}

/// Issue 18 item 5: `driftwatch config` shows every severity override with where it came
/// from, and says which ones a more specific layer replaces.
#[test]
fn severity_overrides_render_with_their_origin() {
    let p = Path::new("driftwatch.toml");
    let c = file(
        "[severity]\n\"refresh.class-changed\" = \"breaking\"\n\n\
         [severity.acme]\n\"schema.field-added\" = \"warning\"\n",
    );
    let mut s = resolve(&Context::empty("/w"), Some((p, &c)), &Flags::default()).unwrap();
    s.severity.extend([crate::rules::SeverityOverride {
        rule: crate::rules::Rule::RefreshClassChanged,
        provider: Some("acme".into()),
        severity: crate::model::Severity::Warning,
        origin: crate::rules::OverrideOrigin::Suite("suites/acme.yaml".into()),
    }]);
    let shown = s.render_only(&["severity"]);
    assert_eq!(
        shown,
        "# config file: driftwatch.toml\n\
         severity.\"refresh.class-changed\"      = \"breaking\" # config file\n\
         severity.acme.\"refresh.class-changed\" = \"warning\"  # suite suites/acme.yaml (replaced by the config file)\n\
         severity.acme.\"schema.field-added\"    = \"warning\"  # config file\n"
    );
    assert_eq!(
        err("[severity.acme]\n\"schema.feild-added\" = \"info\"\n"),
        "unknown rule `schema.feild-added` (did you mean `schema.field-added`?); `driftwatch rules` lists them\n \
         --> driftwatch.toml:1:1\n  |\n1 | [severity.acme]\n  | ^^^^^^^^^^^^^^^ not a rule id"
    );
}
