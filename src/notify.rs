//! Drift notifications: a Slack-compatible incoming-webhook message built from
//! drift metadata only (rule, severity, provider, probe, subject, path,
//! connection ids), and its delivery. Never sees evidence values, exchanges or
//! tokens; never prints the webhook URL beyond scheme and host.

use crate::config::mask_url;
// The one loopback rule: 127.0.0.0/8, ::1, `localhost` and its FQDN form `localhost.`.
use crate::http::Redactor;
use crate::http::is_loopback;
use crate::model::{ConnectionStatus, Drift, Severity};
use crate::run::history::Changes;
use crate::run::{Counts, Run, RunSummary};
use serde_json::{Value, json};
use std::time::Duration;

/// How many drift lines the message lists; the rest are counted.
pub const TOP_N: usize = 10;

/// Whole-request timeout of one delivery attempt.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where and when to notify.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// A secret: print only [`mask_url`] of it.
    pub url: String,
    /// The least severe unsuppressed drift that sends the message.
    pub on: Severity,
    /// Link to the report; `{run_id}` is replaced by the run id.
    pub report_url: Option<String>,
    /// Allow plain http to a non-loopback receiver (`--allow-insecure-http`).
    pub allow_insecure_http: bool,
    /// `on = "new"`: what changed since the previous run. The message is sent only when
    /// something is new or worse, and lists those drifts first, marked. `None`: every run
    /// with drift at or above `on` sends.
    pub changes: Option<Changes>,
}

/// A webhook that could not be delivered. Messages name the URL as `scheme://host/…` only.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("invalid webhook url {0}")]
    InvalidUrl(String),
    #[error("refusing plain http to {0}: webhooks need https (or --allow-insecure-http)")]
    Insecure(String),
    #[error("webhook {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("webhook {url}: {source}")]
    Send {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// Unsuppressed drifts at or above `on`: new or worse ones first (with `changes`), then
/// most severe first, then in the stable order.
fn selected<'r>(run: &'r Run, on: Severity, changes: Option<&Changes>) -> Vec<&'r Drift> {
    let mut v: Vec<&Drift> = run
        .drifts
        .iter()
        .filter(|d| d.suppressed.is_none() && d.severity >= on)
        .collect();
    let fresh = |d: &Drift| changes.is_some_and(|c| c.is_new_or_worse(&d.fingerprint));
    v.sort_by(|a, b| {
        fresh(b)
            .cmp(&fresh(a))
            .then(b.severity.cmp(&a.severity))
            .then(a.sort_key().cmp(&b.sort_key()))
    });
    v
}

/// Connection items (unusable or recovered connections) at or above `on`.
fn connection_items(run: &Run, on: Severity) -> Vec<&ConnectionStatus> {
    run.connections
        .iter()
        .filter(|c| c.severity.is_some_and(|s| s >= on))
        .collect()
}

/// True when the run has unsuppressed drift, or a connection item, at or above `on`; with
/// `changes` (`on = "new"`), only when something in it is new or worse.
pub fn should_send(run: &Run, on: Severity, changes: Option<&Changes>) -> bool {
    match changes {
        Some(c) => c.any(),
        None => {
            RunSummary::of(run).totals.at_least(on) > 0 || !connection_items(run, on).is_empty()
        }
    }
}

/// One connection item as a line: severity, provider/connection, state, error.
fn connection_line(c: &ConnectionStatus) -> String {
    let mut s = format!(
        "• *{}* connection {}/{} `{}`",
        c.severity.unwrap_or(Severity::Breaking),
        c.provider,
        c.connection,
        c.state
    );
    if let Some(e) = &c.error {
        s.push_str(&format!(" ({e})"));
    }
    if !c.usable {
        s.push_str(" — unusable, not compared");
        if let Some(r) = &c.reconnect {
            s.push_str(&format!(": `{r}`"));
        }
    }
    s
}

/// "2 breaking · 1 warning · 0 info" over unsuppressed drifts, then " · 1 suppressed"
/// when some are: the numbers of the run summary, worded as the terminal words them.
fn counts(c: &Counts) -> String {
    let mut s = format!(
        "{} breaking · {} warning · {} info",
        c.breaking, c.warning, c.info
    );
    if c.suppressed > 0 {
        s.push_str(&format!(" · {} suppressed", c.suppressed));
    }
    s
}

/// One drift as a line: a new/worse mark (with `changes`), severity, rule,
/// provider/probe, subject, path, connections.
fn drift_line(d: &Drift, changes: Option<&Changes>) -> String {
    let mark = match changes {
        Some(c) if c.new.contains(&d.fingerprint) => "🆕 new ",
        Some(c) if c.worse.contains(&d.fingerprint) => "⬆️ worse ",
        _ => "",
    };
    let mut s = format!(
        "• {mark}*{}* `{}` {}/{} `{}`",
        d.severity, d.rule, d.provider, d.probe, d.subject
    );
    if let Some(p) = &d.path {
        s.push_str(&format!(" `{p}`"));
    }
    if !d.connections.is_empty() {
        s.push_str(&format!(" [{}]", d.connections.join(", ")));
    }
    s
}

/// The message: `text` (the fallback Slack shows in notifications) and `blocks`
/// (header verdict, per-provider counts, the top drifts, run id and report link).
/// Every string passes through the redactor although none should hold a secret.
pub fn payload(run: &Run, on: Severity, report_url: Option<&str>) -> Value {
    payload_with(run, on, report_url, None)
}

/// [`payload`] for `on = "new"`: the verdict counts what is new or worse, and those
/// drifts come first, marked.
pub fn payload_with(
    run: &Run,
    on: Severity,
    report_url: Option<&str>,
    changes: Option<&Changes>,
) -> Value {
    let redactor = Redactor::new(&[]).ok();
    let clean = |s: String| match &redactor {
        Some(r) => r.scrub(&s),
        None => s,
    };
    let all = selected(run, on, changes);
    let summary = RunSummary::of(run);
    let total = counts(&summary.totals);
    let n = summary.totals.at_least(on);
    let verdict = match changes {
        Some(c) => {
            let mut v = format!(
                "driftwatch: {} new drift{}",
                c.new.len(),
                if c.new.len() == 1 { "" } else { "s" }
            );
            if !c.worse.is_empty() {
                v.push_str(&format!(" · {} worse", c.worse.len()));
            }
            v.push_str(&format!(" · {n} open"));
            v
        }
        None => format!(
            "driftwatch: {n} drift{} at or above {on}",
            if n == 1 { "" } else { "s" }
        ),
    };
    // Providers with any drift, suppressed or not, sorted by name.
    let fields: Vec<Value> = summary
        .providers
        .iter()
        .filter(|p| p.counts.drifts > 0)
        .take(10) // Slack allows at most 10 fields per section.
        .map(|p| {
            json!({"type": "mrkdwn", "text": clean(format!("*{}*\n{}", p.provider, counts(&p.counts)))})
        })
        .collect();
    let mut lines: Vec<String> = all
        .iter()
        .take(TOP_N)
        .map(|d| drift_line(d, changes))
        .collect();
    if all.len() > TOP_N {
        lines.push(format!("… and {} more", all.len() - TOP_N));
    }
    let mut context = format!("run `{}` · {total}", run.run_id);
    if let Some(u) = report_url {
        context.push_str(&format!(
            " · <{}|report>",
            u.replace("{run_id}", &run.run_id)
        ));
    }
    let conns = connection_items(run, on);
    let unusable = conns.iter().filter(|c| !c.usable).count();
    let verdict = if unusable > 0 {
        format!(
            "driftwatch: {unusable} unusable connection{} · {}",
            if unusable == 1 { "" } else { "s" },
            verdict.trim_start_matches("driftwatch: ")
        )
    } else {
        verdict
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": clean(verdict.clone())}
    })];
    // Connection states first: credential trouble is never drift.
    if !conns.is_empty() {
        let text: Vec<String> = conns.iter().map(|c| connection_line(c)).collect();
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": clean(text.join("\n"))}
        }));
    }
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if !lines.is_empty() || conns.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": clean(lines.join("\n"))}
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clean(context)}]
    }));
    json!({
        "text": clean(format!("{verdict} ({total}) in run {}", run.run_id)),
        "blocks": blocks,
    })
}

/// Sends the message when the run has drift at or above `hook.on`. Returns whether
/// it was sent. One retry on a 5xx answer or a connection failure.
pub async fn notify(run: &Run, hook: &Webhook) -> Result<bool, NotifyError> {
    if !should_send(run, hook.on, hook.changes.as_ref()) {
        return Ok(false);
    }
    let shown = mask_url(&hook.url);
    let url = url::Url::parse(&hook.url).map_err(|_| NotifyError::InvalidUrl(shown.clone()))?;
    match url.scheme() {
        "https" => {}
        "http" if hook.allow_insecure_http || is_loopback(&url) => {}
        "http" => return Err(NotifyError::Insecure(shown)),
        _ => return Err(NotifyError::InvalidUrl(shown)),
    }
    let body = payload_with(
        run,
        hook.on,
        hook.report_url.as_deref(),
        hook.changes.as_ref(),
    );
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        // A redirect could carry the capability URL's path to another host.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| NotifyError::Send {
            url: shown.clone(),
            source: e.without_url(),
        })?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = client.post(url.clone()).json(&body).send().await;
        let retry = attempt < 2;
        match result {
            Ok(r) if r.status().is_success() => return Ok(true),
            Ok(r) if r.status().is_server_error() && retry => {
                tracing::debug!(status = r.status().as_u16(), "webhook: retrying");
            }
            Ok(r) => {
                return Err(NotifyError::Status {
                    url: shown,
                    status: r.status().as_u16(),
                });
            }
            Err(e) if e.is_connect() && retry => {
                tracing::debug!("webhook: connection failed, retrying");
            }
            // reqwest's message names the full URL; `without_url` keeps the capability out.
            Err(e) => {
                return Err(NotifyError::Send {
                    url: shown,
                    source: e.without_url(),
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
