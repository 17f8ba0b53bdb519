//! The schema probe: turns each endpoint's responses (one per connection)
//! into one observation — the merged shape plus each connection's status —
//! and checks responses against the suite's declared JSON Schema.
//!
//! Knows nothing about HTTP or reports: the runner hands it parsed samples.

mod body;
mod diff;
pub mod view;

pub use body::{Response, SchemaBody};
pub(crate) use diff::{name_similarity, split_last};

use super::shape::Shape;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One connection's response to one endpoint, as the schema probe needs it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub connection: String,
    pub status: u16,
    /// Media type without parameters, lowercased (`application/json`).
    pub content_type: Option<String>,
    /// The inferred shape of a 2xx JSON body.
    pub shape: Option<Shape>,
    pub exchange_id: Option<String>,
}

/// Builds the schema observation of one endpoint from all its samples.
/// Shapes of 2xx JSON responses are merged; every connection's status is kept.
pub fn observe(provider: &str, endpoint: &str, samples: &[Sample]) -> Observation {
    let mut responses = BTreeMap::new();
    let mut shape = Shape::empty();
    for s in samples {
        responses.insert(
            s.connection.clone(),
            Response {
                status: s.status,
                content_type: s.content_type.clone(),
            },
        );
        if let Some(sh) = &s.shape {
            shape = shape.merge(sh);
        }
    }
    Observation {
        key: ObservationKey {
            provider: provider.to_string(),
            probe: ProbeKind::Schema,
            subject: endpoint.to_string(),
            connection: None,
        },
        body: SchemaBody::of(responses, shape.to_body()).to_json(),
    }
}

/// A compiled declared schema. Built offline: remote `$ref`s are never fetched.
pub struct Declared {
    validator: jsonschema::Validator,
}

/// One violation of the declared schema, located by JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `$.data[].amount_cents` — array indices folded to `[]` so connections group.
    pub path: String,
    pub message: String,
}

impl Declared {
    pub fn new(schema: &Value) -> Result<Declared, String> {
        jsonschema::options()
            .offline()
            .build(schema)
            .map(|validator| Declared { validator })
            .map_err(|e| e.to_string())
    }

    /// Every violation in `instance`, deduplicated by (path, message), sorted.
    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        let mut v: Vec<Violation> = self
            .validator
            .iter_errors(instance)
            .map(|e| Violation {
                path: pointer_to_path(e.instance_path().as_str()),
                message: truncate(&e.to_string(), 200),
            })
            .collect();
        v.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        v.dedup();
        v
    }
}

/// `schema.declared-violation` drifts: one per violated path, naming the
/// connections whose responses violate it.
pub fn declared_drifts(
    provider: &str,
    endpoint: &str,
    per_connection: &[(String, Vec<Violation>, Option<String>)],
) -> Vec<Drift> {
    let mut by_path: BTreeMap<String, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
    for (conn, violations, exchange) in per_connection {
        for v in violations {
            let e = by_path
                .entry(v.path.clone())
                .or_insert_with(|| (v.message.clone(), Vec::new(), Vec::new()));
            if !e.1.contains(conn) {
                e.1.push(conn.clone());
            }
            if let Some(x) = exchange
                && !e.2.contains(x)
            {
                e.2.push(x.clone());
            }
        }
    }
    by_path
        .into_iter()
        .map(|(path, (message, mut connections, mut exchanges))| {
            connections.sort();
            exchanges.sort();
            Drift {
                rule: Rule::SchemaDeclaredViolation.emit(Severity::Breaking),
                severity: Severity::Breaking,
                provider: provider.to_string(),
                probe: ProbeKind::Schema,
                subject: endpoint.to_string(),
                path: Some(path.clone()),
                connections,
                message: format!("response violates the declared schema at `{path}`: {message}"),
                before: None,
                after: Some(json!({ "violation": message })),
                exchanges,
                fingerprint: String::new(),
                suppressed: None,
            }
        })
        .collect()
}

/// `/data/0/amount_cents` → `$.data[].amount_cents` (numeric segments are array indices).
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::from("$");
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("[]");
        } else if is_ident(&seg) {
            out.push('.');
            out.push_str(&seg);
        } else {
            out.push_str(&format!("['{}']", seg.replace('\'', "\\'")));
        }
    }
    out
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_paths_fold_indices() {
        assert_eq!(pointer_to_path(""), "$");
        assert_eq!(
            pointer_to_path("/data/0/amount_cents"),
            "$.data[].amount_cents"
        );
        assert_eq!(pointer_to_path("/odd key/a~1b"), "$['odd key']['a/b']");
    }

    #[test]
    fn declared_violations_are_located_and_grouped() {
        let d = Declared::new(&json!({
            "type": "object",
            "properties": {"data": {"type": "array", "items": {
                "type": "object",
                "properties": {"amount_cents": {"type": "integer"}},
                "required": ["amount_cents"]}}}
        }))
        .unwrap();
        let ok = json!({"data": [{"amount_cents": 1}]});
        assert!(d.violations(&ok).is_empty());
        let bad = json!({"data": [{"amount_cents": "1"}, {"amount_cents": "2"}]});
        let v = d.violations(&bad);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v.iter().all(|x| x.path == "$.data[].amount_cents"));
        let drifts = declared_drifts(
            "demo",
            "invoices",
            &[
                ("b".into(), v.clone(), Some("x2".into())),
                ("a".into(), v, Some("x1".into())),
            ],
        );
        assert_eq!(drifts.len(), 1);
        assert_eq!(drifts[0].rule, Rule::SchemaDeclaredViolation);
        assert_eq!(drifts[0].connections, vec!["a", "b"]);
        assert_eq!(drifts[0].exchanges, vec!["x1", "x2"]);
    }

    #[test]
    fn remote_refs_are_never_fetched() {
        let err = Declared::new(&json!({"$ref": "https://example.invalid/schema.json"}));
        assert!(err.is_err());
    }
}
