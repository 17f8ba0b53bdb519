//! The deprecation probe: reads RFC 9745 `Deprecation`, RFC 8594 `Sunset`, `Link` relations,
//! `Warning: 299` texts and suite-configured vendor headers into signals, merges them into one
//! observation per endpoint and names what matters on the day of the run. Pure: knows nothing
//! about HTTP, baselines or reports; malformed headers become findings, never panics.

mod body;
mod diff;
pub mod view;

pub use body::{DeprecationBody, DeprecationLink};

use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::{Merged as MergedField, ObservationBody};
use crate::rules::Rule;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// A sunset closer than this many days is breaking: there is no time left for a release cycle.
pub const SUNSET_SOON_DAYS: i64 = 30;

/// Characters of a malformed value quoted in a reason; headers can be long.
const MAX_QUOTED: usize = 80;

/// Parsed deprecation signals of one response (headers only; names compared case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    pub deprecation: Option<DeprecationValue>,
    pub sunset: Option<DateValue>,
    /// (rel, uri) for every `Link` relation `deprecation` or `sunset`, sorted and deduplicated.
    pub links: Vec<(String, String)>,
    /// Texts of `Warning: 299` values, sorted and deduplicated.
    pub warnings: Vec<String>,
    /// Suite-configured header name (as configured) → value; repeated lines joined with `, `.
    pub vendor: BTreeMap<String, String>,
    /// (header, reason) for every value that could not be read.
    pub malformed: Vec<(String, String)>,
}

/// The value of a `Deprecation` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeprecationValue {
    /// `@epoch` (RFC 9745 sf-date) or a legacy HTTP-date.
    Date(DateTime<Utc>),
    /// The legacy `true` of the early drafts: deprecated, no date.
    True,
}

/// The value of a `Sunset` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DateValue {
    Date(DateTime<Utc>),
}

impl DateValue {
    fn at(self) -> DateTime<Utc> {
        let DateValue::Date(d) = self;
        d
    }
}

/// Reads the deprecation signals of one response. `vendor_headers` are the header names the
/// suite declares as provider-specific deprecation signals.
pub fn parse(headers: &[(String, String)], vendor_headers: &[String]) -> Signals {
    let mut s = Signals::default();
    for (name, value) in headers {
        let name = name.trim();
        if name.eq_ignore_ascii_case("deprecation") {
            match parse_deprecation(value) {
                Ok(v) => keep_first(&mut s.deprecation, v, "Deprecation", &mut s.malformed),
                Err(reason) => s.malformed.push(("Deprecation".to_owned(), reason)),
            }
        } else if name.eq_ignore_ascii_case("sunset") {
            match http_date(value) {
                Some(d) => keep_first(
                    &mut s.sunset,
                    DateValue::Date(d),
                    "Sunset",
                    &mut s.malformed,
                ),
                None => s.malformed.push((
                    "Sunset".to_owned(),
                    format!("`{}` is not an HTTP-date", quoted(value)),
                )),
            }
        } else if name.eq_ignore_ascii_case("link") {
            parse_links(value, &mut s);
        } else if name.eq_ignore_ascii_case("warning") {
            parse_warnings(value, &mut s);
        }
        if let Some(configured) = vendor_headers.iter().find(|v| v.eq_ignore_ascii_case(name)) {
            let value = value.trim();
            s.vendor
                .entry(configured.clone())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(value);
                })
                .or_insert_with(|| value.to_owned());
        }
    }
    s.links.sort();
    s.links.dedup();
    s.warnings.sort();
    s.warnings.dedup();
    s
}

/// Both fields are single items; a second line that disagrees is reported and the first kept.
fn keep_first<T: PartialEq>(
    slot: &mut Option<T>,
    value: T,
    header: &str,
    malformed: &mut Vec<(String, String)>,
) {
    match slot {
        None => *slot = Some(value),
        Some(first) if *first == value => {}
        Some(_) => malformed.push((
            header.to_owned(),
            "repeated with a different value; the first one counts".to_owned(),
        )),
    }
}

fn parse_deprecation(value: &str) -> Result<DeprecationValue, String> {
    let v = value.trim();
    if let Some(rest) = v.strip_prefix('@') {
        // An sf-date is an sf-integer (at most 15 digits); parameters after `;` carry nothing
        // we use, and stray spaces are tolerated because providers write them.
        let digits: String = rest
            .split(';')
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let unsigned = digits.strip_prefix('-').unwrap_or(&digits);
        let integer = !unsigned.is_empty()
            && unsigned.len() <= 15
            && unsigned.bytes().all(|b| b.is_ascii_digit());
        return integer
            .then(|| digits.parse::<i64>().ok())
            .flatten()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .map(DeprecationValue::Date)
            .ok_or_else(|| {
                format!(
                    "`{}` is not an sf-date (`@` and whole seconds since 1970)",
                    quoted(v)
                )
            });
    }
    if v.eq_ignore_ascii_case("true") {
        return Ok(DeprecationValue::True);
    }
    http_date(v).map(DeprecationValue::Date).ok_or_else(|| {
        format!(
            "`{}` is neither an sf-date (`@<seconds>`), the legacy `true` nor an HTTP-date",
            quoted(v)
        )
    })
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), also with `UTC` as RFC 9745 §4 writes it.
/// The weekday must be a day name but is not checked against the date: RFC 8594's own example
/// (`Sat, 31 Dec 2018`) names the wrong day, and the date is what matters.
fn http_date(value: &str) -> Option<DateTime<Utc>> {
    let (rest, zone) = value.trim().rsplit_once(' ')?;
    if !(zone.eq_ignore_ascii_case("GMT") || zone.eq_ignore_ascii_case("UTC")) {
        return None;
    }
    let (day, date) = rest.split_once(',')?;
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    if !DAYS.iter().any(|d| d.eq_ignore_ascii_case(day.trim())) {
        return None;
    }
    NaiveDateTime::parse_from_str(date.trim(), "%d %b %Y %H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

/// Splits at commas outside `<…>` and quoted strings (RFC 9110 §5.6.1 lists).
fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut in_quote, mut in_angle, mut escaped) = (0, false, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '"' if !in_angle => in_quote = !in_quote,
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            ',' if !in_quote && !in_angle => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// RFC 8288 link-values; keeps the `deprecation` and `sunset` relations. Only the first `rel`
/// parameter counts (§3.3); relation types are case-insensitive and space-separated.
fn parse_links(value: &str, s: &mut Signals) {
    for link in split_list(value) {
        let Some((uri, params)) = link.strip_prefix('<').and_then(|rest| rest.split_once('>'))
        else {
            s.malformed.push((
                "Link".to_owned(),
                format!("`{}` has no target in `<…>`", quoted(link)),
            ));
            continue;
        };
        let rel = params.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("rel")
                .then(|| unquote(v.trim()))
        });
        for r in rel.iter().flat_map(|r| r.split_whitespace()) {
            let r = r.to_ascii_lowercase();
            if r == "deprecation" || r == "sunset" {
                s.links.push((r, uri.trim().to_owned()));
            }
        }
    }
}

/// `"text"` → `text` with backslash escapes resolved; a token stays as it is.
fn unquote(v: &str) -> String {
    quoted_string(v).unwrap_or_else(|| v.to_owned())
}

/// The content of the quoted string `v` starts with; `None` when it has none or is unterminated.
fn quoted_string(v: &str) -> Option<String> {
    let mut chars = v.strip_prefix('"')?.chars();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// RFC 7234 §5.5 `warn-code SP warn-agent SP warn-text [SP warn-date]`; keeps 299 texts.
fn parse_warnings(value: &str, s: &mut Signals) {
    for warning in split_list(value) {
        let mut parts = warning.splitn(3, ' ');
        let code = parts.next().unwrap_or("");
        let agent = parts.next().unwrap_or("");
        let text = parts.next().unwrap_or("").trim_start();
        let text = quoted_string(text);
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) || agent.is_empty() {
            s.malformed.push((
                "Warning".to_owned(),
                format!(
                    "`{}` does not start with a 3-digit code and an agent",
                    quoted(warning)
                ),
            ));
            continue;
        }
        let Some(text) = text else {
            s.malformed.push((
                "Warning".to_owned(),
                format!("`{}` has no quoted warning text", quoted(warning)),
            ));
            continue;
        };
        if code == "299" && !text.is_empty() {
            s.warnings.push(text);
        }
    }
}

/// A value as quoted in a reason: trimmed, cut, backticks replaced so the quote stays intact.
fn quoted(v: &str) -> String {
    let v = v.trim().replace('`', "'");
    match v.char_indices().nth(MAX_QUOTED) {
        Some((i, _)) => format!("{}…", &v[..i]),
        None => v,
    }
}

/// The signals of every connection, merged. Dates merge to the earliest (the conservative
/// reading: the soonest deadline anyone was told), a date beats the legacy `true`.
struct Merged {
    deprecated: Option<DeprecationValue>,
    sunset: Option<DateTime<Utc>>,
    links: BTreeSet<(String, String)>,
    warnings: BTreeSet<String>,
    vendor: BTreeMap<String, BTreeSet<String>>,
    malformed: BTreeSet<(String, String)>,
}

fn merge(signals: &[Signals]) -> Merged {
    let mut m = Merged {
        deprecated: None,
        sunset: None,
        links: BTreeSet::new(),
        warnings: BTreeSet::new(),
        vendor: BTreeMap::new(),
        malformed: BTreeSet::new(),
    };
    for s in signals {
        // `Date` orders before `True`, so the minimum is the earliest date when there is one.
        m.deprecated = match (m.deprecated, s.deprecation) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sunset = s.sunset.map(DateValue::at);
        m.sunset = match (m.sunset, sunset) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        m.links.extend(s.links.iter().cloned());
        m.warnings.extend(s.warnings.iter().cloned());
        for (k, v) in &s.vendor {
            m.vendor.entry(k.clone()).or_default().insert(v.clone());
        }
        m.malformed.extend(s.malformed.iter().cloned());
    }
    m
}

fn rfc3339(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One observation per endpoint: key (provider, Deprecation, endpoint id), body
/// `{"deprecated": null|"true"|"<RFC3339>", "sunset": null|"<RFC3339>", "links": [{"rel", "uri"}…],
/// "warnings": [...], "vendor": {name: value | [values…]}}`, merged over connections (dates to
/// the earliest, lists to their sorted union; a vendor header whose connections disagree holds
/// the sorted values). Holds only what the parsed headers said, never a volatile header.
pub fn observe(provider: &str, endpoint: &str, signals: &[Signals]) -> Observation {
    let m = merge(signals);
    let body = DeprecationBody {
        deprecated: match m.deprecated {
            None => None,
            Some(DeprecationValue::True) => Some("true".to_owned()),
            Some(DeprecationValue::Date(d)) => Some(rfc3339(d)),
        },
        links: m
            .links
            .iter()
            .map(|(rel, uri)| DeprecationLink {
                rel: rel.clone(),
                uri: uri.clone(),
            })
            .collect(),
        sunset: m.sunset.map(rfc3339),
        vendor: m
            .vendor
            .into_iter()
            .map(|(k, values)| {
                // In string order, as the set holds them (not by JSON text).
                let mut values: Vec<String> = values.into_iter().collect();
                let v = if values.len() == 1 {
                    MergedField::One(values.remove(0))
                } else {
                    MergedField::Many(values)
                };
                (k, v)
            })
            .collect(),
        warnings: m.warnings.into_iter().collect(),
    };
    Observation {
        key: ObservationKey {
            provider: provider.to_owned(),
            probe: ProbeKind::Deprecation,
            subject: endpoint.to_owned(),
            connection: None,
        },
        body: body.to_json(),
    }
}

/// Findings of this run, sorted by [`Drift::sort_key`]:
/// - `deprecation.deprecated` (warning): deprecated, with the date and days since (or until);
/// - `deprecation.sunset-scheduled` (warning; breaking when fewer than [`SUNSET_SOON_DAYS`]
///   days are left): the sunset date and days left;
/// - `deprecation.sunset-passed` (breaking): the sunset date is not after `now`. It lives here,
///   not in the diff, because observations must not depend on the day they were made; so it
///   fires on every run after the date, not only the first;
/// - `deprecation.malformed-header` (info): the header and why (also a sunset before the
///   deprecation date, which RFC 9745 §4 forbids).
///
/// `Warning: 299` texts and vendor deprecation headers are no finding: they do not depend on the
/// day, so the diff's `deprecation.warning-added` is their one verdict (a finding repeated the
/// same header in the same run).
pub fn findings(
    provider: &str,
    endpoint: &str,
    signals: &[Signals],
    now: DateTime<Utc>,
) -> Vec<Drift> {
    let m = merge(signals);
    let mut out = Vec::new();
    let mut push = |rule: Rule, severity, path: &str, message: String, after: Value| {
        out.push(Drift {
            rule: rule.emit(severity),
            severity,
            provider: provider.to_owned(),
            probe: ProbeKind::Deprecation,
            subject: endpoint.to_owned(),
            path: Some(path.to_owned()),
            connections: Vec::new(),
            message,
            before: None,
            after: Some(after),
            exchanges: Vec::new(),
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        });
    };
    match m.deprecated {
        Some(DeprecationValue::Date(d)) if d <= now => {
            let days = (now - d).num_days();
            push(
                Rule::DeprecationDeprecated,
                Severity::Warning,
                "$.deprecated",
                format!(
                    "`{endpoint}` is deprecated since {} ({days} days ago)",
                    rfc3339(d)
                ),
                json!({"deprecated": rfc3339(d), "days_since": days}),
            );
        }
        Some(DeprecationValue::Date(d)) => {
            let days = (d - now).num_days();
            push(
                Rule::DeprecationDeprecated,
                Severity::Warning,
                "$.deprecated",
                format!(
                    "`{endpoint}` will be deprecated on {} (in {days} days)",
                    rfc3339(d)
                ),
                json!({"deprecated": rfc3339(d), "days_left": days}),
            );
        }
        Some(DeprecationValue::True) => push(
            Rule::DeprecationDeprecated,
            Severity::Warning,
            "$.deprecated",
            format!("`{endpoint}` is deprecated (the legacy `Deprecation: true` gives no date)"),
            json!({"deprecated": "true"}),
        ),
        None => {}
    }
    if let Some(s) = m.sunset {
        if s <= now {
            let days = (now - s).num_days();
            push(
                Rule::DeprecationSunsetPassed,
                Severity::Breaking,
                "$.sunset",
                format!(
                    "`{endpoint}` passed its sunset date {} {days} days ago and may stop \
                     answering at any time",
                    rfc3339(s)
                ),
                json!({"sunset": rfc3339(s), "days_since": days}),
            );
        } else {
            let left = s - now;
            let days = left.num_days();
            let severity = if left < TimeDelta::days(SUNSET_SOON_DAYS) {
                Severity::Breaking
            } else {
                Severity::Warning
            };
            push(
                Rule::DeprecationSunsetScheduled,
                severity,
                "$.sunset",
                format!("`{endpoint}` sunsets on {} ({days} days left)", rfc3339(s)),
                json!({"sunset": rfc3339(s), "days_left": days}),
            );
        }
        if let Some(DeprecationValue::Date(d)) = m.deprecated
            && s < d
        {
            push(
                Rule::DeprecationMalformedHeader,
                Severity::Info,
                "Sunset",
                format!(
                    "`{endpoint}`: the sunset date {} is before the deprecation date {}, which \
                     RFC 9745 §4 forbids",
                    rfc3339(s),
                    rfc3339(d)
                ),
                json!({"sunset": rfc3339(s), "deprecated": rfc3339(d)}),
            );
        }
    }
    for (header, reason) in &m.malformed {
        push(
            Rule::DeprecationMalformedHeader,
            Severity::Info,
            header,
            format!("`{endpoint}` sent a malformed `{header}` header: {reason}"),
            json!({"header": header, "reason": reason}),
        );
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

#[cfg(test)]
mod tests;
