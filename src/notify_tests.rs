use super::*;
use crate::report::fixture;

/// The fixture without its connection items: these tests are about drift.
fn fixed_run() -> Run {
    let mut run = fixture::fixed_run();
    run.connections.retain(|c| c.severity.is_none());
    run
}

#[test]
fn unusable_connections_come_first_and_send_the_message() {
    let mut run = fixture::fixed_run();
    run.drifts.clear();
    assert!(should_send(&run, Severity::Breaking, None));
    let p = payload(&run, Severity::Warning, None);
    assert_eq!(
        p["blocks"][0]["text"]["text"],
        "driftwatch: 1 unusable connection · 0 drifts at or above warning"
    );
    assert_eq!(
        p["blocks"][1]["text"]["text"],
        "• *warning* connection demo/globex `access-token-rejected` (invalid_token)\n\
         • *breaking* connection quiet/app `grant-dead` (invalid_grant) — unusable, not compared: \
         `driftwatch connect suites/quiet.yaml app`"
    );
    // The recovered connection alone is a warning: it sends at warning, not at breaking.
    run.connections.retain(|c| c.usable);
    assert!(!should_send(&run, Severity::Breaking, None));
    assert!(should_send(&run, Severity::Warning, None));
}

#[test]
fn payload_lists_drift_metadata_most_severe_first() {
    let run = fixed_run();
    let p = payload(
        &run,
        Severity::Info,
        Some("https://ci.example/runs/{run_id}"),
    );
    assert_eq!(
        p["text"],
        "driftwatch: 3 drifts at or above info (1 breaking · 1 warning · 1 info) in run 20261127T210000Z-abcd"
    );
    assert_eq!(p["blocks"][0]["type"], "header");
    assert_eq!(
        p["blocks"][0]["text"]["text"],
        "driftwatch: 3 drifts at or above info"
    );
    assert_eq!(
        p["blocks"][1]["fields"][0]["text"],
        "*demo*\n1 breaking · 1 warning · 1 info"
    );
    assert_eq!(
        p["blocks"][2]["text"]["text"],
        "• *breaking* `schema.type-changed` demo/schema `invoices` `$.data[].amount_cents`\n\
         • *warning* `schema.status-changed` demo/schema `me` [globex]\n\
         • *info* `refresh.class-changed` demo/refresh `refresh` [acme-corp]"
    );
    assert_eq!(
        p["blocks"][3]["elements"][0]["text"],
        "run `20261127T210000Z-abcd` · 1 breaking · 1 warning · 1 info · \
         <https://ci.example/runs/20261127T210000Z-abcd|report>"
    );
}

#[test]
fn payload_never_carries_messages_or_evidence() {
    let run = fixed_run();
    let text = payload(&run, Severity::Info, None).to_string();
    // Messages, before/after evidence and exchange ids of the fixture.
    for absent in [
        "changed type from",
        "status 404",
        "integer",
        "x0001",
        "now rotate",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
}

#[test]
fn threshold_and_suppression_decide_whether_to_send() {
    let mut run = fixed_run();
    assert!(should_send(&run, Severity::Breaking, None));
    run.drifts
        .iter_mut()
        .filter(|d| d.severity == Severity::Breaking)
        .for_each(|d| d.suppressed = Some("known".into()));
    assert!(!should_send(&run, Severity::Breaking, None));
    assert!(should_send(&run, Severity::Warning, None));
    let p = payload(&run, Severity::Warning, None);
    assert_eq!(
        p["blocks"][0]["text"]["text"],
        "driftwatch: 1 drift at or above warning"
    );
    run.drifts.clear();
    assert!(!should_send(&run, Severity::Info, None));
}

#[test]
fn more_than_top_n_drifts_are_counted() {
    let mut run = fixed_run();
    let d = run.drifts[1].clone();
    run.drifts = (0..TOP_N + 3)
        .map(|i| Drift {
            subject: format!("e{i:02}"),
            ..d.clone()
        })
        .collect();
    let p = payload(&run, Severity::Breaking, None);
    let lines = p["blocks"][2]["text"]["text"].as_str().unwrap_or_default();
    assert_eq!(lines.lines().count(), TOP_N + 1);
    assert_eq!(lines.lines().last(), Some("… and 3 more"));
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_without_showing_the_path() {
    let hook = Webhook {
        url: "http://hooks.example/services/T000/B000/XXXXSECRET".into(),
        on: Severity::Info,
        report_url: None,
        allow_insecure_http: false,
        changes: None,
    };
    let e = notify(&fixed_run(), &hook).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "refusing plain http to http://hooks.example/…: webhooks need https (or --allow-insecure-http)"
    );
}

#[tokio::test]
async fn nothing_is_sent_below_the_threshold() {
    let mut run = fixed_run();
    run.drifts.clear();
    let hook = Webhook {
        // Unroutable: a send attempt would fail, so Ok(false) proves none was made.
        url: "http://127.0.0.1:1/hook".into(),
        on: Severity::Info,
        report_url: None,
        allow_insecure_http: false,
        changes: None,
    };
    assert!(!notify(&run, &hook).await.unwrap());
}

/// Issue 16: the webhook had its own loopback rule that refused `localhost.`, which the
/// HTTP client accepts. Both now use `crate::http::is_loopback`.
#[tokio::test]
async fn webhook_plain_http_follows_the_one_loopback_rule() {
    let hook = |url: &str| Webhook {
        url: url.into(),
        on: Severity::Info,
        report_url: None,
        allow_insecure_http: false,
        changes: None,
    };
    let run = fixed_run();
    let e = notify(&run, &hook("http://localhost.evil.example/x"))
        .await
        .unwrap_err();
    assert!(matches!(e, NotifyError::Insecure(_)), "{e}");
    // `localhost.` is loopback: not refused, only unreachable on port 1.
    let e = notify(&run, &hook("http://localhost.:1/x"))
        .await
        .unwrap_err();
    assert!(matches!(e, NotifyError::Send { .. }), "{e}");
}

/// Issue 18: `on = "new"` posts only when something is new or worse, and lists it first.
#[test]
fn webhook_on_new_sends_only_new_or_worse_and_marks_them_first() {
    use crate::run::history::{Changes, Previous, carry_first_seen};
    let mut run = fixed_run();
    for d in run.drifts.iter_mut().chain(run.findings.iter_mut()) {
        d.fingerprint = crate::rules::fingerprint(d);
    }
    let mut night1 = run.clone();
    night1.run_id = "r1".into();
    carry_first_seen(&mut night1, None);
    let prev = Previous::from_run(&night1);
    // Same drifts and connection problems the next night: silent.
    let mut night2 = run.clone();
    night2.run_id = "r2".into();
    carry_first_seen(&mut night2, Some(&prev));
    let c = Changes::of(&night2, Some(&prev));
    assert!(!should_send(&night2, Severity::Info, Some(&c)));
    // One more drift: sent, and it comes first although it is only info.
    let mut extra = run.drifts[0].clone();
    extra.subject = "new-endpoint".into();
    extra.fingerprint = crate::rules::fingerprint(&extra);
    night2.drifts.push(extra);
    carry_first_seen(&mut night2, Some(&prev));
    let c = Changes::of(&night2, Some(&prev));
    assert!(should_send(&night2, Severity::Info, Some(&c)));
    let p = payload_with(&night2, Severity::Info, None, Some(&c));
    assert_eq!(
        p["blocks"][0]["text"]["text"],
        "driftwatch: 1 new drift · 4 open"
    );
    let lines = p["blocks"][2]["text"]["text"].as_str().unwrap_or_default();
    let first = lines.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("• 🆕 new *info* ") && first.contains("`new-endpoint`"),
        "{lines}"
    );
    assert_eq!(lines.matches("🆕").count(), 1, "{lines}");
}
