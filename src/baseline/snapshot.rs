//! Renders and parses baseline snapshot files (a small header over a sorted JSON body);
//! knows nothing about where files live or how observations are compared.

use crate::model::{Observation, ObservationKey, ProbeKind};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The format line every snapshot this version writes carries.
pub const SNAPSHOT_FORMAT: &str = "driftwatch-snapshot/1";

/// Why a snapshot file could not be read, written or moved.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{}:{line}: corrupt snapshot: {reason}; it was left untouched: {}", path.display(), recovery(path))]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How to get a readable file back. An accepted snapshot is reviewed in git,
/// so git has the last good copy; a pending `.snap.new` is only a proposal,
/// which the next run writes again.
fn recovery(path: &Path) -> String {
    let shown = path.display();
    if path.extension().is_some_and(|e| e == "new") {
        "delete it and run `driftwatch run` again to rewrite it".to_owned()
    } else {
        format!(
            "restore it with `git checkout -- {shown}`, or delete it and accept a fresh baseline (`driftwatch run`, then `driftwatch accept`)"
        )
    }
}

/// The header of a snapshot file: what was observed, by which suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub format: String,
    pub suite: String,
    pub key: ObservationKey,
}

impl SnapshotHeader {
    /// A header in the current format.
    pub fn new(suite: impl Into<String>, key: ObservationKey) -> Self {
        SnapshotHeader {
            format: SNAPSHOT_FORMAT.to_owned(),
            suite: suite.into(),
            key,
        }
    }
}

/// The file text: `---`, one `name: value` line per header field, `---`, the pretty JSON body
/// with sorted keys and a trailing newline. Stable, so baselines diff well in review.
pub fn render_snapshot(header: &SnapshotHeader, body: &Value) -> String {
    let mut out = String::from("---\n");
    let mut line = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(&encode_value(value));
        out.push('\n');
    };
    line("format", &header.format);
    line("suite", &header.suite);
    line("provider", &header.key.provider);
    line("probe", header.key.probe.as_str());
    line("subject", &header.key.subject);
    if let Some(connection) = &header.key.connection {
        line("connection", connection);
    }
    out.push_str("---\n");
    // Serialising a Value cannot fail (its map keys are strings).
    out.push_str(&serde_json::to_string_pretty(&sorted(body)).unwrap_or_default());
    out.push('\n');
    out
}

/// Plain values are written as is; anything that would not survive a line-based read
/// (empty, padded, control characters, a leading quote) is written as a JSON string.
fn encode_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value.trim() == value
        && !value.starts_with('"')
        && !value.chars().any(char::is_control);
    if plain {
        value.to_owned()
    } else {
        Value::String(value.to_owned()).to_string()
    }
}

/// A copy with every object's keys in sorted order, whatever the map implementation keeps.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Parses a snapshot file; `path` only names the file in errors.
pub fn parse_snapshot(
    path: &Path,
    text: &str,
) -> Result<(SnapshotHeader, Observation), SnapshotError> {
    let corrupt = |line: usize, reason: String| SnapshotError::Corrupt {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // Header lines tolerate CRLF checkouts; the body is JSON, which does anyway.
    let line_at = |i: usize| {
        lines
            .get(i)
            .map(|l| l.trim_end_matches('\n').trim_end_matches('\r'))
    };

    if line_at(0) != Some("---") {
        return Err(corrupt(1, "expected `---` opening the header".to_owned()));
    }
    let mut fields = Vec::new();
    let mut i = 1;
    loop {
        let n = i + 1;
        let Some(line) = line_at(i) else {
            return Err(corrupt(
                n,
                "file ends before the `---` closing the header".to_owned(),
            ));
        };
        if line == "---" {
            break;
        }
        let Some((name, raw)) = line.split_once(": ") else {
            return Err(corrupt(
                n,
                "expected a `name: value` header line".to_owned(),
            ));
        };
        let value = decode_value(raw)
            .ok_or_else(|| corrupt(n, format!("`{name}` has a badly quoted value")))?;
        fields.push((n, name.to_owned(), value));
        i += 1;
    }
    // `i` is the closing `---` (0-based), so the body starts on 1-based line `i + 2`.
    let closing_line = i + 1;
    let header = header_from_fields(&fields, closing_line).map_err(|(n, r)| corrupt(n, r))?;
    let body_text: String = lines[i + 1..].concat();
    if body_text.trim().is_empty() {
        return Err(corrupt(
            closing_line + 1,
            "the json body is missing".to_owned(),
        ));
    }
    let mut body: Value = serde_json::from_str(&body_text)
        .map_err(|e| corrupt(closing_line + e.line().max(1), json_reason(&e)))?;
    if header.key.probe == ProbeKind::Schema {
        read_legacy_number_types(&mut body);
    }
    let observation = Observation {
        key: header.key.clone(),
        body,
    };
    Ok((header, observation))
}

/// Schema bodies written before integer became a subtype of number hold `"types": ["integer",
/// "number"]` where today's inference writes `["number"]`: read them as today's, in memory only,
/// so such a baseline compares unchanged with no drift and the accepted file is never rewritten.
fn read_legacy_number_types(body: &mut Value) {
    let Some(shape) = body.get_mut("shape").and_then(Value::as_object_mut) else {
        return;
    };
    for descriptor in shape.values_mut() {
        if let Some(types) = descriptor.get_mut("types").and_then(Value::as_array_mut)
            && types.iter().any(|t| t == "number")
        {
            types.retain(|t| t != "integer");
        }
    }
}

/// serde_json's message without its body-relative position (the error carries the file line).
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    format!("invalid json body: {message} (column {})", e.column())
}

fn decode_value(raw: &str) -> Option<String> {
    if raw.starts_with('"') {
        serde_json::from_str(raw).ok()
    } else {
        Some(raw.to_owned())
    }
}

/// Checks the header fields' order and values; errors carry the line to point at.
fn header_from_fields(
    fields: &[(usize, String, String)],
    end_line: usize,
) -> Result<SnapshotHeader, (usize, String)> {
    const ORDER: [&str; 6] = [
        "format",
        "suite",
        "provider",
        "probe",
        "subject",
        "connection",
    ];
    let mut values: Vec<Option<(usize, &str)>> = vec![None; ORDER.len()];
    let mut pos = 0;
    for (n, name, value) in fields {
        let Some(i) = ORDER.iter().position(|o| o == name) else {
            return Err((*n, format!("unknown header field `{name}`")));
        };
        if i < pos || values[i].is_some() {
            return Err((
                *n,
                format!("header field `{name}` is out of order or repeated"),
            ));
        }
        pos = i;
        values[i] = Some((*n, value.as_str()));
    }
    let required =
        |i: usize| values[i].ok_or((end_line, format!("header field `{}` is missing", ORDER[i])));
    let (n, format) = required(0)?;
    if format != SNAPSHOT_FORMAT {
        return Err((
            n,
            format!("unsupported format `{format}` (expected `{SNAPSHOT_FORMAT}`)"),
        ));
    }
    let (_, suite) = required(1)?;
    let (_, provider) = required(2)?;
    let (n, probe) = required(3)?;
    let probe: ProbeKind = serde_json::from_value(Value::String(probe.to_owned()))
        .map_err(|_| (n, format!("unknown probe `{probe}`")))?;
    let (_, subject) = required(4)?;
    let connection = values[5].map(|(_, c)| c.to_owned());
    Ok(SnapshotHeader {
        format: format.to_owned(),
        suite: suite.to_owned(),
        key: ObservationKey {
            provider: provider.to_owned(),
            probe,
            subject: subject.to_owned(),
            connection,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header(connection: Option<&str>) -> SnapshotHeader {
        SnapshotHeader::new(
            "suites/demo.yaml",
            ObservationKey {
                provider: "demo".into(),
                probe: ProbeKind::Schema,
                subject: "invoices".into(),
                connection: connection.map(str::to_owned),
            },
        )
    }

    const GOLDEN: &str = "---
format: driftwatch-snapshot/1
suite: suites/demo.yaml
provider: demo
probe: schema
subject: invoices
connection: acme
---
{
  \"a\": [
    1,
    {
      \"x\": null,
      \"y\": true
    }
  ],
  \"b\": \"text\"
}
";

    /// Issue 13: a baseline holding `integer | number` reads as `number`, so it equals today's
    /// observation of the same field (no drift, no pending file, the accepted file untouched).
    #[test]
    fn legacy_integer_or_number_schema_baseline_reads_as_number() {
        let body = json!({"responses": {}, "shape": {
            "$": {"required": true, "types": ["object"]},
            "$.total": {"required": true, "types": ["integer", "null", "number"]},
            "$.count": {"required": true, "types": ["integer"]},
            "$.tags": {"required": true, "types": ["array", "integer", "number", "string"]},
        }});
        let text = render_snapshot(&header(None), &body);
        let (_, obs) = parse_snapshot(Path::new("x.snap"), &text).expect("parses");
        assert_eq!(
            obs.body,
            json!({"responses": {}, "shape": {
                "$": {"required": true, "types": ["object"]},
                "$.total": {"required": true, "types": ["null", "number"]},
                "$.count": {"required": true, "types": ["integer"]},
                "$.tags": {"required": true, "types": ["array", "number", "string"]},
            }})
        );
        // Other probes' bodies are read as written.
        let mut other = header(None);
        other.key.probe = ProbeKind::Values;
        let values = json!({"shape": {"$": {"types": ["integer", "number"]}}});
        let text = render_snapshot(&other, &values);
        let (_, obs) = parse_snapshot(Path::new("x.snap"), &text).expect("parses");
        assert_eq!(obs.body, values);
    }

    #[test]
    fn renders_the_documented_layout_with_sorted_keys() {
        let body = json!({"b": "text", "a": [1, {"y": true, "x": null}]});
        assert_eq!(render_snapshot(&header(Some("acme")), &body), GOLDEN);
        let no_conn = render_snapshot(&header(None), &json!({}));
        assert_eq!(
            no_conn,
            "---\nformat: driftwatch-snapshot/1\nsuite: suites/demo.yaml\nprovider: demo\nprobe: schema\nsubject: invoices\n---\n{}\n"
        );
    }

    #[test]
    fn parse_then_render_round_trips_byte_for_byte() {
        let (h, obs) = parse_snapshot(Path::new("x.snap"), GOLDEN).expect("valid");
        assert_eq!(h, header(Some("acme")));
        assert_eq!(obs.key, h.key);
        assert_eq!(render_snapshot(&h, &obs.body), GOLDEN);

        let odd = [
            "",
            " padded",
            "\"quoted",
            "two\nlines",
            "tab\there",
            "ünïcode: yes",
            "a: b",
        ];
        let bodies = [
            json!(null),
            json!([]),
            json!({"k": 1.25, "s": "é\n\"", "n": -0.1}),
            json!(u64::MAX),
        ];
        for (i, value) in odd.iter().enumerate() {
            let mut h = header(Some(value));
            h.suite = (*value).to_owned();
            h.key.subject = format!("s{value}");
            let body = &bodies[i % bodies.len()];
            let text = render_snapshot(&h, body);
            let (h2, obs) =
                parse_snapshot(Path::new("x.snap"), &text).expect("rendered text parses");
            assert_eq!((&h2, &obs.body), (&h, body));
            assert_eq!(render_snapshot(&h2, &obs.body), text);
        }
    }

    fn corrupt(text: &str) -> (usize, String, String) {
        match parse_snapshot(Path::new("snapshots/demo/schema/invoices.snap"), text) {
            Err(e @ SnapshotError::Corrupt { .. }) => {
                let shown = e.to_string();
                let SnapshotError::Corrupt { line, reason, .. } = e else {
                    unreachable!()
                };
                (line, reason, shown)
            }
            other => panic!("expected a corrupt error, got {other:?}"),
        }
    }

    #[test]
    fn a_damaged_pending_file_is_rewritten_by_the_next_run() {
        let e = parse_snapshot(Path::new("snapshots/demo/schema/a.snap.new"), "{}")
            .expect_err("damaged");
        assert_eq!(
            e.to_string(),
            "snapshots/demo/schema/a.snap.new:1: corrupt snapshot: expected `---` opening the header; it was left untouched: delete it and run `driftwatch run` again to rewrite it"
        );
    }

    #[test]
    fn damage_is_reported_with_file_and_line() {
        let (line, _, shown) = corrupt("{}\n");
        assert_eq!(line, 1);
        assert_eq!(
            shown,
            "snapshots/demo/schema/invoices.snap:1: corrupt snapshot: expected `---` opening the header; it was left untouched: restore it with `git checkout -- snapshots/demo/schema/invoices.snap`, or delete it and accept a fresh baseline (`driftwatch run`, then `driftwatch accept`)"
        );
        let damaged_json = GOLDEN.replace("\"x\": null", "\"x\": nul!");
        let (line, reason, _) = corrupt(&damaged_json);
        assert_eq!(line, 13);
        assert!(reason.starts_with("invalid json body: "), "{reason}");
        assert_eq!(
            corrupt(&GOLDEN.replace("probe: schema", "probe: schemas")).0,
            5
        );
        assert_eq!(
            corrupt(&GOLDEN.replace("probe: schema", "probe: schemas")).1,
            "unknown probe `schemas`"
        );
        assert_eq!(corrupt(&GOLDEN.replace("suite: ", "suite:")).0, 3);
        assert_eq!(
            corrupt(&GOLDEN.replace("/1", "/2")).1,
            "unsupported format `driftwatch-snapshot/2` (expected `driftwatch-snapshot/1`)"
        );
        assert_eq!(
            corrupt(&GOLDEN.replace("provider: demo\n", "")),
            (
                7,
                "header field `provider` is missing".to_owned(),
                "snapshots/demo/schema/invoices.snap:7: corrupt snapshot: header field `provider` is missing; it was left untouched: restore it with `git checkout -- snapshots/demo/schema/invoices.snap`, or delete it and accept a fresh baseline (`driftwatch run`, then `driftwatch accept`)"
                    .to_owned()
            )
        );
        assert_eq!(
            corrupt(&GOLDEN.replace("subject: invoices\n", "subject: invoices\nextra: 1\n")).0,
            7
        );
        assert_eq!(
            corrupt(&GOLDEN[..GOLDEN.find("\n---\n").map_or(0, |i| i + 1)]).0,
            8
        );
        let header_only = &GOLDEN[..GOLDEN.find("{").unwrap_or(0)];
        assert_eq!(
            corrupt(header_only),
            (
                9,
                "the json body is missing".to_owned(),
                "snapshots/demo/schema/invoices.snap:9: corrupt snapshot: the json body is missing; it was left untouched: restore it with `git checkout -- snapshots/demo/schema/invoices.snap`, or delete it and accept a fresh baseline (`driftwatch run`, then `driftwatch accept`)"
                    .to_owned()
            )
        );
        assert_eq!(
            corrupt(&GOLDEN.replace("suite: suites/demo.yaml", "suite: \"open")).1,
            "`suite` has a badly quoted value"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Header values that stress the line format: separators, quotes, padding, controls.
        fn header_value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[-: \"\t\r\n\\a]{0,6}",
                Just("---".to_owned()),
            ]
        }

        fn probe() -> impl Strategy<Value = ProbeKind> {
            prop::sample::select(vec![
                ProbeKind::Metadata,
                ProbeKind::Token,
                ProbeKind::Permissions,
                ProbeKind::Refresh,
                ProbeKind::Schema,
                ProbeKind::Values,
                ProbeKind::Deprecation,
                ProbeKind::App,
            ])
        }

        proptest! {
            #[test]
            fn observations_round_trip_byte_for_byte(
                suite in header_value(),
                provider in header_value(),
                probe in probe(),
                subject in header_value(),
                connection in prop::option::of(header_value()),
                body in crate::probe::shape::tests::any_json(),
            ) {
                let key = ObservationKey { provider, probe, subject, connection };
                let header = SnapshotHeader::new(suite, key);
                let text = render_snapshot(&header, &body);
                let (h2, obs) = parse_snapshot(Path::new("x.snap"), &text)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&h2, &header);
                prop_assert_eq!(&obs.key, &header.key);
                prop_assert_eq!(&obs.body, &body);
                prop_assert_eq!(render_snapshot(&h2, &obs.body), text);
            }
        }
    }
}
