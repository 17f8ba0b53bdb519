//! Suppressions: the ignore file for known drifts, and marking the drifts it silences.
//!
//! Reads `driftwatch.ignore.yaml`, matches entries against a finished run's drifts and
//! findings, and reports expired or unused entries. Knows nothing about HTTP, probes or
//! how suppressed drifts are shown.

use crate::context::Context;
use crate::model::{Drift, ProbeKind, Severity};
use crate::rules::Rule;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter as _};
use std::path::{Path, PathBuf};

/// The only suppression-file version this build understands.
pub const SUPPRESSIONS_VERSION: u32 = 1;

/// Why a suppression file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SuppressError {
    /// The file could not be read.
    #[error("cannot read suppressions `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid suppression file; `message` starts with `file:line:col` when known.
    #[error("invalid suppressions {message}")]
    Invalid { path: PathBuf, message: String },
}

/// One entry of the ignore file: a rule plus optional selectors that must all match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub rule: Rule,
    pub provider: Option<String>,
    pub probe: Option<ProbeKind>,
    pub subject: Option<String>,
    pub path: Option<String>,
    pub connection: Option<String>,
    pub fingerprint: Option<String>,
    /// Why the drift is known and accepted; shown wherever the drift is shown.
    pub reason: String,
    /// Last day on which the suppression applies.
    pub expires: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u32,
    #[serde(default)]
    suppressions: Vec<RawSuppression>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuppression {
    rule: String,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    probe: Option<ProbeKind>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    connection: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    reason: String,
    // A string, not a NaiveDate, so a bad date gets our own message.
    #[serde(default)]
    expires: Option<String>,
}

/// Reads and validates the suppression file at `path` (resolved against `ctx.cwd`;
/// messages show `path` as given).
pub fn load_suppressions(path: &Path, ctx: &Context) -> Result<Vec<Suppression>, SuppressError> {
    let source =
        crate::bounded::read_bounded_string(&ctx.resolve(path), crate::bounded::SUITE_LIMIT)
            .map_err(|source| SuppressError::Io {
                path: path.to_path_buf(),
                source,
            })?;
    parse_suppressions(path, &source)
}

/// Parses suppression-file text; `path` only names the file in messages.
pub fn parse_suppressions(path: &Path, source: &str) -> Result<Vec<Suppression>, SuppressError> {
    let invalid = |message: String| SuppressError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let raw: RawFile = serde_saphyr::from_str(source).map_err(|e| {
        let e = e.without_snippet();
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        let text: String = DefaultMessageFormatter
            .format_message(e)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        invalid(format!("{}{at}: {text}", path.display()))
    })?;
    let file = path.display();
    if raw.version != SUPPRESSIONS_VERSION {
        return Err(invalid(format!(
            "{file}: unsupported version {} (expected {SUPPRESSIONS_VERSION})",
            raw.version
        )));
    }
    raw.suppressions
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let entry = format!("{file}: suppressions[{i}]");
            let Some(rule) = Rule::from_id(&r.rule) else {
                let hint = crate::rules::suggest(&r.rule)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(invalid(format!(
                    "{entry}: unknown rule `{}`{hint}; `driftwatch rules` lists them",
                    r.rule
                )));
            };
            if r.reason.trim().is_empty() {
                return Err(invalid(format!("{entry}: `reason` must not be empty")));
            }
            let expires = match r.expires {
                None => None,
                Some(s) => Some(
                    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                        invalid(format!(
                            "{entry}: `expires` must be a date like 2027-01-31, found `{s}`"
                        ))
                    })?,
                ),
            };
            Ok(Suppression {
                rule,
                provider: r.provider,
                probe: r.probe,
                subject: r.subject,
                path: r.path,
                connection: r.connection,
                fingerprint: r.fingerprint,
                reason: r.reason,
                expires,
            })
        })
        .collect()
}

impl Suppression {
    /// True when the rule and every given selector match `d`.
    pub fn matches(&self, d: &Drift) -> bool {
        let eq = |sel: &Option<String>, value: &str| sel.as_deref().is_none_or(|s| s == value);
        d.rule == self.rule
            && eq(&self.provider, &d.provider)
            && self.probe.is_none_or(|p| p == d.probe)
            && eq(&self.subject, &d.subject)
            && self
                .path
                .as_deref()
                .is_none_or(|p| d.path.as_deref() == Some(p))
            && self
                .connection
                .as_deref()
                .is_none_or(|c| d.connections.iter().any(|x| x == c))
            && eq(&self.fingerprint, &d.fingerprint)
    }

    /// Expired once `today` is past the expiry date; the expiry day itself still applies.
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        self.expires.is_some_and(|e| today > e)
    }
}

/// Marks drifts and findings matched by an unexpired suppression (the first match wins),
/// then appends a `suppression.expired` drift per expired entry and a `suppression.unused`
/// finding per unexpired entry that matched nothing. Fingerprints must already be filled
/// (the `fingerprint` selector reads them); the new entries get theirs here.
pub fn apply_suppressions(
    list: &[Suppression],
    today: NaiveDate,
    drifts: &mut Vec<Drift>,
    findings: &mut Vec<Drift>,
) {
    let mut expired = Vec::new();
    let mut unused = Vec::new();
    for s in list {
        let first = drifts.iter().chain(findings.iter()).find(|d| s.matches(d));
        let probe = first.map(|d| d.probe);
        let provider = s
            .provider
            .clone()
            .or_else(|| first.map(|d| d.provider.clone()))
            .unwrap_or_else(|| "suppressions".into());
        if s.is_expired(today) {
            let date = s.expires.map(|d| d.to_string()).unwrap_or_default();
            expired.push(entry(
                s,
                Rule::SuppressionExpired,
                Severity::Warning,
                provider,
                probe,
                format!(
                    "suppression of `{}` expired on {date} (reason: {})",
                    s.rule, s.reason
                ),
            ));
            continue;
        }
        if first.is_none() {
            unused.push(entry(
                s,
                Rule::SuppressionUnused,
                Severity::Info,
                provider,
                None,
                format!(
                    "suppression of `{}` matched nothing in this run (reason: {})",
                    s.rule, s.reason
                ),
            ));
            continue;
        }
        for d in drifts.iter_mut().chain(findings.iter_mut()) {
            if d.suppressed.is_none() && s.matches(d) {
                d.suppressed = Some(s.reason.clone());
            }
        }
    }
    drifts.extend(expired);
    findings.extend(unused);
}

fn entry(
    s: &Suppression,
    rule: Rule,
    severity: Severity,
    provider: String,
    probe: Option<ProbeKind>,
    message: String,
) -> Drift {
    let mut d = Drift {
        rule: rule.emit(severity),
        severity,
        provider,
        probe: probe.unwrap_or(ProbeKind::Schema),
        subject: s.rule.id().to_owned(),
        path: s.path.clone(),
        connections: s.connection.iter().cloned().collect(),
        message,
        before: None,
        after: None,
        exchanges: Vec::new(),
        fingerprint: String::new(),
        suppressed: None,
        first_seen: None,
    };
    d.fingerprint = crate::rules::fingerprint(&d);
    d
}

#[cfg(test)]
#[path = "suppress_tests.rs"]
mod tests;
