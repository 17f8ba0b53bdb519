//! How much of each recorded exchange a finished run keeps (`evidence: full | shapes | none`).
//!
//! `run.json` is uploaded as a CI artifact, and full response bodies hold customer data
//! (e-mail addresses, signed download URLs). This step reduces the exchanges of a finished
//! run before anything is written or rendered, so every report (JSON, HTML, Markdown, JUnit,
//! terminal) honours the mode. It never touches observations, drifts, findings or shard
//! evidence: those are what the baseline stores (shapes, value classes, header signals) and
//! what `merge` assesses, so verdicts are the same under every mode. Knows nothing about
//! HTTP, baselines or output formats.

use super::evidence::SuiteEvidence;
use super::types::Run;
use crate::model::{Exchange, ProbeKind};
use crate::probe::shape;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What the recorded exchanges of a run keep. Ordered from most to least revealing, so the
/// stricter of two modes is their `max`.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceMode {
    /// Bodies and headers as received (secrets redacted).
    #[default]
    Full,
    /// Each response body replaced by its inferred shape; response header values kept only
    /// for the headers the probes read; request query values masked.
    Shapes,
    /// No body and no header at all: method, URL (query values masked), status, sizes, timing.
    None,
}

impl EvidenceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceMode::Full => "full",
            EvidenceMode::Shapes => "shapes",
            EvidenceMode::None => "none",
        }
    }

    /// `full`: the default, omitted from `run.json`.
    pub fn is_full(&self) -> bool {
        *self == EvidenceMode::Full
    }
}

impl std::fmt::Display for EvidenceMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value that replaces a header value or a query value left out.
pub const OMITTED: &str = "[omitted]";

/// Response headers whose values the probes and the HTTP client read (lowercase); under
/// `shapes` they keep their values, every other response header keeps only its name. The
/// suite's vendor deprecation headers are kept too (see [`vendor_headers`]).
pub const READ_HEADERS: &[&str] = &[
    "content-type",
    "deprecation",
    "sunset",
    "link",
    "warning",
    "www-authenticate",
    "retry-after",
    "x-ratelimit-reset",
];

/// Reduces the run's exchanges to `mode`, or keeps them as they are when the run already
/// keeps less (a mode only ever removes: what a run left out cannot come back). Returns the
/// run's mode afterwards.
pub fn apply_evidence_mode(run: &mut Run, mode: EvidenceMode) -> EvidenceMode {
    let to = run.evidence_mode.max(mode);
    let vendor = vendor_headers(run);
    reduce(&mut run.exchanges, run.evidence_mode, to, &vendor);
    if to != run.evidence_mode {
        // Reduced exchanges are not those rendered ahead (they would not be found anyway).
        run.rendered = Default::default();
    }
    run.evidence_mode = to;
    to
}

/// Names (lowercase) of the vendor deprecation headers the run observed: the keys of every
/// deprecation observation's `vendor` map and of shard evidence's signals. Their values are
/// already in those observations, so keeping them in the exchanges reveals nothing more.
pub(crate) fn vendor_headers(run: &Run) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for o in &run.observations {
        if o.key.probe != ProbeKind::Deprecation {
            continue;
        }
        if let Some(signals) = crate::probe::deprecation::view::view(&o.body) {
            names.extend(signals.vendor.iter().map(|(k, _)| k.to_ascii_lowercase()));
        }
    }
    names.extend(evidence_vendor_headers(&run.evidence));
    names
}

/// The vendor deprecation headers (lowercase) in shard evidence's signals.
pub(crate) fn evidence_vendor_headers(evidence: &[SuiteEvidence]) -> BTreeSet<String> {
    evidence
        .iter()
        .flat_map(|ev| ev.signals.iter().flatten())
        .flat_map(|s| s.vendor.keys().map(|k| k.to_ascii_lowercase()))
        .collect()
}

/// Reduces exchanges recorded under `from` to `to`; nothing happens unless `to` is stricter.
pub(crate) fn reduce(
    exchanges: &mut [Exchange],
    from: EvidenceMode,
    to: EvidenceMode,
    vendor: &BTreeSet<String>,
) {
    if to <= from {
        return;
    }
    for x in exchanges {
        match to {
            EvidenceMode::Full => {}
            EvidenceMode::Shapes => to_shapes(x, vendor),
            EvidenceMode::None => to_none(x),
        }
    }
}

fn to_shapes(x: &mut Exchange, vendor: &BTreeSet<String>) {
    x.request.url = mask_query(&x.request.url);
    if let Some(r) = x.response.as_mut() {
        for (name, value) in &mut r.headers {
            let lower = name.to_ascii_lowercase();
            if !READ_HEADERS.contains(&lower.as_str()) && !vendor.contains(&lower) {
                *value = OMITTED.to_string();
            }
        }
        r.body = r
            .body
            .as_deref()
            .and_then(|b| body_shape(b, r.body_truncated));
    }
}

fn to_none(x: &mut Exchange) {
    x.request.url = mask_query(&x.request.url);
    x.request.headers.clear();
    x.request.body = None;
    if let Some(r) = x.response.as_mut() {
        r.headers.clear();
        r.body = None;
    }
}

/// The shape of a recorded JSON body as compact JSON text (paths, types, requiredness and
/// string formats; no value). A body recorded only in part (`truncated`) gives the shape of
/// the complete values it holds. `None` for a body that is not JSON.
pub fn body_shape(body: &str, truncated: bool) -> Option<String> {
    let inferred = match shape::infer_slice(body.as_bytes()) {
        Ok(s) => s,
        Err(_) if truncated => shape::infer_slice(close_prefix(body)?.as_bytes()).ok()?,
        Err(_) => return None,
    };
    serde_json::to_string(&inferred.to_body()).ok()
}

/// A cut JSON text made whole: cut after the last complete value and closed with the
/// brackets still open there. The cut lies directly inside the outermost array still open at
/// the end (or shallower), so an item cut in half is dropped rather than merged with its
/// complete siblings (where its missing fields would look optional). `None` when there is no
/// such point. Linear in the text.
fn close_prefix(text: &str) -> Option<String> {
    // Candidate cuts (position, open brackets there): before a `,`, after a closing
    // bracket, right after an opening one.
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let open_at_end = scan(text.as_bytes(), |pos, depth| cuts.push((pos, depth)))?;
    let limit = open_at_end
        .iter()
        .position(|&b| b == b']')
        .map_or(usize::MAX, |i| i + 1);
    let (cut, _) = cuts.iter().rev().find(|(_, depth)| *depth <= limit)?;
    let open = scan(&text.as_bytes()[..*cut], |_, _| {})?;
    let mut whole = String::with_capacity(cut + open.len());
    whole.push_str(&text[..*cut]);
    whole.extend(open.iter().rev().map(|&b| b as char));
    Some(whole)
}

/// Walks JSON text outside strings, calling `cut(position, depth)` at every candidate cut;
/// returns the closing brackets still needed at the end, outermost first. `None` when a
/// bracket closes nothing.
fn scan(bytes: &[u8], mut cut: impl FnMut(usize, usize)) -> Option<Vec<u8>> {
    let mut open = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                open.push(if b == b'{' { b'}' } else { b']' });
                cut(i + 1, open.len());
            }
            b'}' | b']' => {
                open.pop()?;
                cut(i + 1, open.len());
            }
            b',' if !open.is_empty() => cut(i, open.len()),
            _ => {}
        }
    }
    Some(open)
}

/// The URL with every query value replaced by [`OMITTED`] (names kept): a query may carry a
/// value taken from a provider's answer (a redirect's `Location`, a signed URL).
fn mask_query(url: &str) -> String {
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let masked: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((name, _)) => format!("{name}={OMITTED}"),
            None => p.to_string(),
        })
        .collect();
    let mut out = format!("{base}?{}", masked.join("&"));
    if fragment.is_some() {
        out.push('#');
        out.push_str(OMITTED);
    }
    out
}

#[cfg(test)]
#[path = "evidence_mode_tests.rs"]
mod tests;
