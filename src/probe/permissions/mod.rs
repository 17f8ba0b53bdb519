//! The permissions probe: classifies one endpoint's answers under every scope set by the data
//! (granted, partial, denied, error), names where they contradict the documented `requires`
//! and observes the matrix. Pure: no HTTP, no I/O, no baselines or output formats, and no
//! response value is ever kept (only paths, counts, statuses and short error codes).

mod body;
mod diff;
mod fields;
pub mod scopes;
pub mod view;

pub use body::{CellEntry, PermissionsBody};
pub use fields::apply_field_requirements;

use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::probe::shape::{infer, push_key};
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The signal of a denial carried in a 2xx body (Slack `ok: false`, GitHub GraphQL).
pub const ENVELOPE_SIGNAL: &str = "200-error-envelope";

/// The signal of an RFC 6750 §3.1 conformant denial.
pub const INSUFFICIENT_SCOPE_SIGNAL: &str = "403-insufficient-scope";

/// Members an error envelope may carry besides `error` and still hold no data.
const ENVELOPE_KEYS: [&str; 12] = [
    "error",
    "error_description",
    "error_uri",
    "error_summary",
    "error_code",
    "message",
    "code",
    "status",
    "details",
    "request_id",
    "documentation_url",
    "ok",
];

/// Simulated-provider secrets look like codes; they must never be kept as one.
use crate::sim::SECRET_PREFIXES;

/// One call of one endpoint under one scope set.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionSample {
    /// The scope set's name in the suite.
    pub scope_set: String,
    /// The scopes the token carried.
    pub scopes: Vec<String>,
    /// The connection whose grant the token came from.
    pub connection: String,
    /// `None` = transport error.
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    /// Parsed 2xx/4xx JSON, `None` if not JSON.
    pub body: Option<Value>,
    /// Class of the transport error, e.g. `timeout`.
    pub transport_error: Option<String>,
}

/// What a scope set got from the endpoint, judged by the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellClass {
    /// The full shape of the reference.
    Granted,
    /// 2xx with fields or array items missing compared with the reference.
    Partial,
    /// A 4xx or a 2xx error envelope.
    Denied,
    /// Transport error, 5xx, an unreadable 2xx or a status that is no answer (1xx, 3xx).
    Error,
    /// No token for the scope set could be got without risking a grant: no connection holds
    /// exactly the set, and none may be narrowed to it. Never compared with the baseline.
    NotProbed,
}

impl CellClass {
    /// The kebab-case name used in bodies and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            CellClass::Granted => "granted",
            CellClass::Partial => "partial",
            CellClass::Denied => "denied",
            CellClass::Error => "error",
            CellClass::NotProbed => "not-probed",
        }
    }
}

/// One cell of the scope set × endpoint matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub class: CellClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How a denial was signalled: [`INSUFFICIENT_SCOPE_SIGNAL`], `403`, `401`, `404`, `400`,
    /// [`ENVELOPE_SIGNAL`], other `<status>` — `None` when not denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Body `error` / `error.status` / `code` / `errors[0].code` …: a short code, never a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The `error=` attribute of `WWW-Authenticate` actually sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub www_authenticate_error: Option<String>,
    /// Partial: paths present under the reference but absent here (top-most only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_paths: Vec<String>,
    /// Partial by items: (seen, reference), summed over arrays at the same paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_items: Option<(u64, u64)>,
    /// Paths absent here that the endpoint's `requires_fields` says the provider leaves out
    /// without scopes this scope set lacks: explained by design, not counted as partial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields_withheld: Vec<String>,
    /// This cell's sample was the reference of the others. Not part of the cell's JSON: the
    /// observation names the reference once, at the top.
    #[serde(skip)]
    pub reference: bool,
}

impl Cell {
    /// The cell of a scope set that was not probed.
    pub fn not_probed() -> Cell {
        Cell {
            class: CellClass::NotProbed,
            status: None,
            signal: None,
            error_code: None,
            www_authenticate_error: None,
            missing_paths: Vec::new(),
            missing_items: None,
            fields_withheld: Vec::new(),
            reference: false,
        }
    }

    fn new(class: CellClass, sample: &PermissionSample) -> Cell {
        Cell {
            class,
            status: sample.status,
            signal: None,
            error_code: None,
            www_authenticate_error: www_authenticate_error(&sample.headers),
            missing_paths: Vec::new(),
            missing_items: None,
            fields_withheld: Vec::new(),
            reference: false,
        }
    }

    /// The cell as stored in observations and drift evidence.
    pub fn to_json(&self) -> Value {
        // A plain struct of strings and numbers: serialising cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// What a 2xx data answer holds, values dropped: every node path and item counts per array path.
struct Data {
    paths: BTreeSet<String>,
    items: BTreeMap<String, u64>,
}

/// Classifies every sample of one endpoint. The reference is the sample of the scope set with
/// the most (distinct) scopes among 2xx non-envelope answers (ties: the first by name). A scope
/// set sampled twice keeps its first sample. Rules: transport error / 5xx / unparseable 2xx →
/// Error; 2xx error envelope (`ok: false`, a top-level `error` with no other data, GraphQL
/// `INSUFFICIENT_SCOPES` with null data) → Denied([`ENVELOPE_SIGNAL`]); 2xx with fewer paths or
/// fewer array items than the reference → Partial (items only within one connection: counts are
/// one customer's data); other 2xx → Granted; 4xx → Denied.
pub fn classify(samples: &[PermissionSample]) -> BTreeMap<String, Cell> {
    let mut by_set: BTreeMap<&str, &PermissionSample> = BTreeMap::new();
    for s in samples {
        by_set.entry(s.scope_set.as_str()).or_insert(s);
    }
    let mut out = BTreeMap::new();
    let mut data: BTreeMap<&str, Data> = BTreeMap::new();
    for (set, sample) in &by_set {
        match first_pass(sample) {
            Pass::Data(d) => {
                data.insert(set, d);
            }
            Pass::Judged(cell) => {
                out.insert((*set).to_owned(), cell);
            }
        }
    }
    let mut reference: Option<(&str, usize)> = None;
    for set in data.keys() {
        let n = distinct(&by_set[set].scopes);
        if reference.is_none_or(|(_, best)| n > best) {
            reference = Some((set, n));
        }
    }
    let Some(reference) = reference.and_then(|(set, _)| data.get(set).map(|d| (set, d))) else {
        return out;
    };
    for (set, d) in &data {
        // Item counts are one customer's data: only compared within one connection.
        let same_account = by_set[set].connection == by_set[reference.0].connection;
        let mut cell = compare(by_set[set], d, reference.1, same_account);
        cell.reference = *set == reference.0;
        out.insert((*set).to_owned(), cell);
    }
    out
}

fn distinct(scopes: &[String]) -> usize {
    scopes.iter().collect::<BTreeSet<_>>().len()
}

/// What one sample alone tells.
enum Pass {
    /// A 2xx data answer: judged against the reference later.
    Data(Data),
    /// Everything else, judged already.
    Judged(Cell),
}

fn first_pass(s: &PermissionSample) -> Pass {
    let error = |class: CellClass| {
        let mut cell = Cell::new(class, s);
        cell.error_code = error_code(s.body.as_ref());
        cell
    };
    let status = match (s.status, &s.transport_error) {
        (Some(status), None) => status,
        _ => return Pass::Judged(error(CellClass::Error)),
    };
    match status {
        200..=299 => {
            let Some(body) = &s.body else {
                return Pass::Judged(error(CellClass::Error));
            };
            if is_envelope(body) {
                let mut cell = error(CellClass::Denied);
                cell.signal = Some(ENVELOPE_SIGNAL.to_owned());
                return Pass::Judged(cell);
            }
            let Ok(shape) = infer(body) else {
                return Pass::Judged(error(CellClass::Error));
            };
            let mut items = BTreeMap::new();
            count_items(body, &mut String::from("$"), &mut items);
            Pass::Data(Data {
                paths: shape.flatten().into_keys().collect(),
                items,
            })
        }
        400..=499 => {
            let mut cell = error(CellClass::Denied);
            let conformant = status == 403
                && cell
                    .www_authenticate_error
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case("insufficient_scope"));
            cell.signal = Some(if conformant {
                INSUFFICIENT_SCOPE_SIGNAL.to_owned()
            } else {
                status.to_string()
            });
            Pass::Judged(cell)
        }
        // 5xx, and 1xx/3xx which answer nothing about permissions.
        _ => Pass::Judged(error(CellClass::Error)),
    }
}

/// A 2xx body that says "no" instead of carrying data.
fn is_envelope(body: &Value) -> bool {
    let Value::Object(m) = body else {
        return false;
    };
    if m.get("ok") == Some(&Value::Bool(false)) {
        return true;
    }
    let insufficient = m
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| {
            errors
                .iter()
                .any(|e| e.get("type").and_then(Value::as_str) == Some("INSUFFICIENT_SCOPES"))
        });
    if insufficient && m.get("data").is_none_or(Value::is_null) {
        return true;
    }
    matches!(m.get("error"), Some(Value::Object(_) | Value::String(_)))
        && m.keys().all(|k| ENVELOPE_KEYS.contains(&k.as_str()))
}

/// Array lengths summed per normalised path (`$.data`, `$.data[].tags`). Only called after
/// `infer` succeeded, so the depth is bounded by `shape::MAX_DEPTH`.
fn count_items(value: &Value, path: &mut String, out: &mut BTreeMap<String, u64>) {
    match value {
        Value::Array(items) => {
            *out.entry(path.clone()).or_default() += items.len() as u64;
            let len = path.len();
            path.push_str("[]");
            for item in items {
                count_items(item, path, out);
            }
            path.truncate(len);
        }
        Value::Object(map) => {
            for (key, child) in map {
                let len = path.len();
                push_key(path, key);
                count_items(child, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn compare(sample: &PermissionSample, d: &Data, reference: &Data, same_account: bool) -> Cell {
    let missing: BTreeSet<&String> = reference.paths.difference(&d.paths).collect();
    let missing_paths: Vec<String> = missing
        .iter()
        .filter(|p| !missing.iter().any(|q| is_ancestor(q, p)))
        // Items of an array that is there but empty are counted by `missing_items` instead.
        .filter(|p| !p.strip_suffix("[]").is_some_and(|a| d.paths.contains(a)))
        .map(|p| (*p).clone())
        .collect();
    let (mut seen, mut expected) = (0, 0);
    for (path, n) in reference.items.iter().filter(|_| same_account) {
        if let Some(m) = d.items.get(path) {
            expected += n;
            seen += m;
        }
    }
    let missing_items = (seen < expected).then_some((seen, expected));
    let partial = !missing_paths.is_empty() || missing_items.is_some();
    let mut cell = Cell::new(
        if partial {
            CellClass::Partial
        } else {
            CellClass::Granted
        },
        sample,
    );
    cell.missing_paths = missing_paths;
    cell.missing_items = missing_items;
    cell
}

/// `q` is a proper ancestor path of `p`; every path ends with an identifier, `]` or `[]`, so a
/// prefix followed by `.` or `[` is a real ancestor.
pub(crate) fn is_ancestor(q: &str, p: &str) -> bool {
    p.len() > q.len() && p.starts_with(q) && matches!(p.as_bytes()[q.len()], b'.' | b'[')
}

/// The first plausible error code in a body: `error` (string), `error.{.tag,status,code,type}`,
/// `code`, `errors[0].{code,type,reason}`.
fn error_code(body: Option<&Value>) -> Option<String> {
    let body = body?;
    let err = body.get("error");
    let first = body.get("errors").and_then(|e| e.get(0));
    let candidates = [
        err.filter(|e| e.is_string()),
        err.and_then(|e| e.get(".tag")),
        err.and_then(|e| e.get("status")),
        err.and_then(|e| e.get("code")),
        err.and_then(|e| e.get("type")),
        body.get("code"),
        first.and_then(|e| e.get("code")),
        first.and_then(|e| e.get("type")),
        first.and_then(|e| e.get("reason")),
    ];
    candidates.into_iter().flatten().find_map(as_code)
}

fn as_code(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) if is_code(s) => Some(s.clone()),
        _ => None,
    }
}

/// Real codes are words (`missing_scope`, `PERMISSION_DENIED`) or numbers (`4711`); anything
/// else might be a value the provider echoed, so it is not kept.
fn is_code(s: &str) -> bool {
    let word = s
        .bytes()
        .all(|b| b.is_ascii_alphabetic() || b"_-.".contains(&b));
    let number = s.bytes().all(|b| b.is_ascii_digit());
    !s.is_empty()
        && s.len() <= 64
        && (word || number)
        && !SECRET_PREFIXES.iter().any(|p| s.starts_with(p))
}

/// The `error` attribute of the first `WWW-Authenticate` header that has one.
fn www_authenticate_error(headers: &[(String, String)]) -> Option<String> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .find_map(|(_, v)| auth_param(v, "error"))
        .filter(|code| is_code(code))
}

/// The value of auth-param `name` in a challenge (RFC 9110 §11.2), quoted or not.
fn auth_param(header: &str, name: &str) -> Option<String> {
    let b = header.as_bytes();
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (blank(b[i]) || b[i] == b',') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !(blank(b[i]) || b[i] == b',' || b[i] == b'=') {
            i += 1;
        }
        let key = &header[start..i];
        let mut j = i;
        while j < b.len() && blank(b[j]) {
            j += 1;
        }
        // A word without `=` is the scheme (`Bearer`); move on to its parameters.
        if j >= b.len() || b[j] != b'=' {
            continue;
        }
        i = j + 1;
        while i < b.len() && blank(b[i]) {
            i += 1;
        }
        let mut value = Vec::new();
        if b.get(i) == Some(&b'"') {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if let Some(c) = b.get(i) {
                    value.push(*c);
                }
                i += 1;
            }
            i += 1;
        } else {
            while i < b.len() && !(blank(b[i]) || b[i] == b',') {
                value.push(b[i]);
                i += 1;
            }
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(String::from_utf8_lossy(&value).into_owned());
        }
    }
    None
}

/// Findings for this run against the documented `requires` of the endpoint (checked every
/// run), sorted by [`Drift::sort_key`]: `permission.undocumented-requirement`,
/// `permission.works-without-documented-scope`, `permission.misleading-denial`,
/// `permission.insufficient-scope-missing`, `permission.not-probed`. A scope set missing from `scope_sets` is only
/// judged on how it was denied.
pub fn findings(
    provider: &str,
    endpoint: &str,
    requires: &[String],
    requires_any: &[Vec<String>],
    scope_sets: &BTreeMap<String, Vec<String>>,
    cells: &BTreeMap<String, Cell>,
) -> Vec<Drift> {
    let mut out = Vec::new();
    for (set, cell) in cells {
        let mut push = |rule: Rule, severity: Severity, message: String| {
            out.push(Drift {
                rule: rule.emit(severity),
                severity,
                provider: provider.to_owned(),
                probe: ProbeKind::Permissions,
                subject: endpoint.to_owned(),
                path: Some(set.clone()),
                connections: Vec::new(),
                message,
                before: None,
                after: Some(cell.to_json()),
                exchanges: Vec::new(),
                fingerprint: String::new(),
                suppressed: None,
                first_seen: None,
            });
        };
        if cell.class == CellClass::NotProbed {
            push(
                Rule::PermissionNotProbed,
                Severity::Info,
                format!(
                    "scope set `{set}` was not probed against `{endpoint}`: no connection holds exactly \
                     these scopes, and narrowing another grant could narrow it for good; add a \
                     connection granted exactly `{set}`, or mark a test connection that holds more \
                     `disposable: true`"
                ),
            );
            continue;
        }
        if let Some(scopes) = scope_sets.get(set) {
            let lacking = lacking(requires, requires_any, scopes);
            match cell.class {
                CellClass::Denied | CellClass::Partial if lacking.is_empty() => push(
                    Rule::PermissionUndocumentedRequirement,
                    Severity::Warning,
                    format!(
                        "scope set `{set}` holds every documented scope of `{endpoint}` ({}) but {}",
                        documented(requires, requires_any),
                        evidence(cell)
                    ),
                ),
                CellClass::Granted if !lacking.is_empty() => push(
                    Rule::PermissionWorksWithoutDocumentedScope,
                    Severity::Info,
                    format!(
                        "scope set `{set}` gets the full data of `{endpoint}` without documented scope {}{}",
                        quoted(&lacking),
                        if requires_any.is_empty() {
                            String::new()
                        } else {
                            format!(" (documented: {})", documented(requires, requires_any))
                        }
                    ),
                ),
                _ => {}
            }
        }
        let signal = cell.signal.as_deref().unwrap_or("");
        if cell.class == CellClass::Denied
            && ["404", "401", "400", ENVELOPE_SIGNAL].contains(&signal)
        {
            push(
                Rule::PermissionMisleadingDenial,
                Severity::Warning,
                format!(
                    "`{endpoint}` denies scope set `{set}` with {} instead of 403 insufficient_scope",
                    describe_signal(cell)
                ),
            );
        }
        if cell.class == CellClass::Denied && signal == "403" {
            push(
                Rule::PermissionInsufficientScopeMissing,
                Severity::Info,
                format!(
                    "`{endpoint}` denies scope set `{set}` with 403 but WWW-Authenticate {}",
                    match &cell.www_authenticate_error {
                        Some(e) => format!("says error=\"{e}\" instead of insufficient_scope"),
                        None => "has no error=\"insufficient_scope\"".to_owned(),
                    }
                ),
            );
        }
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// The documented scopes `scopes` lacks: those of `requires` it does not hold, plus, when it
/// meets none of the `requires_any` alternatives, the missing scopes of the alternative it comes
/// closest to (the first of the closest). Empty when the documented requirement is met.
fn lacking<'a>(
    requires: &'a [String],
    requires_any: &'a [Vec<String>],
    scopes: &[String],
) -> Vec<&'a str> {
    let missing = |list: &'a [String]| -> Vec<&'a str> {
        list.iter()
            .filter(|r| !scopes.contains(r))
            .map(String::as_str)
            .collect()
    };
    let mut out = missing(requires);
    if let Some(closest) = requires_any
        .iter()
        .map(|alternative| missing(alternative))
        .min_by_key(Vec::len)
    {
        out.extend(
            closest
                .into_iter()
                .filter(|s| !out.contains(s))
                .collect::<Vec<_>>(),
        );
    }
    out
}

fn documented(requires: &[String], requires_any: &[Vec<String>]) -> String {
    let alternatives = requires_any
        .iter()
        .map(|a| quoted(&a.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect::<Vec<_>>()
        .join(" or ");
    match (requires.is_empty(), alternatives.is_empty()) {
        (true, true) => "none".to_owned(),
        (false, true) => quoted(&requires.iter().map(String::as_str).collect::<Vec<_>>()),
        (true, false) => format!("any of {alternatives}"),
        (false, false) => format!(
            "{} and any of {alternatives}",
            quoted(&requires.iter().map(String::as_str).collect::<Vec<_>>())
        ),
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a denied or partial cell showed, as the end of a sentence.
pub(crate) fn evidence(cell: &Cell) -> String {
    match cell.class {
        CellClass::Denied => format!("was denied with {}", describe_signal(cell)),
        CellClass::Partial => {
            let mut parts = Vec::new();
            if !cell.missing_paths.is_empty() {
                let paths: Vec<&str> = cell.missing_paths.iter().map(String::as_str).collect();
                parts.push(format!("missing {}", quoted(&paths)));
            }
            if let Some((seen, expected)) = cell.missing_items {
                parts.push(format!("{seen} of {expected} items"));
            }
            format!("got partial data ({})", parts.join("; "))
        }
        CellClass::Granted => "got the full data".to_owned(),
        CellClass::NotProbed => "was not probed".to_owned(),
        CellClass::Error => match cell.status {
            Some(status) => format!("failed with {status}"),
            None => "failed without an answer".to_owned(),
        },
    }
}

/// The signal plus its error code, e.g. `404 (object_not_found)`.
pub(crate) fn describe_signal(cell: &Cell) -> String {
    let signal = cell.signal.as_deref().unwrap_or("no signal");
    match &cell.error_code {
        Some(code) => format!("{signal} ({code})"),
        None => signal.to_owned(),
    }
}

/// One observation per endpoint: `{"reference": <scope set or null>, "cells": {set: cell},
/// "downscoping": "honoured" | "ignored" | "unknown" | "not-needed" | "not-probed"}`.
pub fn observe(
    provider: &str,
    endpoint: &str,
    cells: &BTreeMap<String, Cell>,
    downscoping: &str,
) -> Observation {
    let body = PermissionsBody {
        cells: cells
            .iter()
            .map(|(set, cell)| (set.clone(), CellEntry::Cell(cell.clone())))
            .collect(),
        downscoping: Some(downscoping.to_owned()),
        reference: cells
            .iter()
            .find(|(_, c)| c.reference)
            .map(|(set, _)| set.clone()),
    };
    Observation {
        key: ObservationKey {
            provider: provider.to_owned(),
            probe: ProbeKind::Permissions,
            subject: endpoint.to_owned(),
            connection: None,
        },
        body: body.to_json(),
    }
}

#[cfg(test)]
mod tests;
