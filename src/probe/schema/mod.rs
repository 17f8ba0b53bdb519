//! The schema probe: turns each endpoint's responses (one per connection)
//! into one observation — the merged shape plus each connection's status —
//! and checks responses against the suite's declared JSON Schema.
//!
//! Knows nothing about HTTP or reports: the runner hands it parsed samples.

mod body;
pub(crate) mod diff;
mod tolerate;
pub mod view;

pub use body::{Response, SchemaBody};
pub use tolerate::tolerated;

use super::shape::Shape;
use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// One connection's response to one endpoint, as the schema probe needs it and as the run's
/// evidence stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub connection: String,
    pub status: u16,
    /// Media type without parameters, lowercased (`application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The inferred shape of a 2xx JSON body. Shared between the samples of one endpoint that
    /// have the same shape (most do: every connection answers alike), so a run holds one copy
    /// per distinct shape, not per probe. Stored as the shape itself.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "shared_shape"
    )]
    pub shape: Option<Arc<Shape>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_id: Option<String>,
}

/// `Option<Arc<Shape>>` (de)serialised as `Option<Shape>`.
mod shared_shape {
    use super::{Arc, Shape};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        shape: &Option<Arc<Shape>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        shape.as_deref().serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Arc<Shape>>, D::Error> {
        Ok(Option::<Shape>::deserialize(d)?.map(Arc::new))
    }
}

/// Builds the schema observation of one endpoint from all its samples.
/// Shapes of 2xx JSON responses are merged; every connection's status is kept.
///
/// A shape shared by several samples is merged once: merging a shape again changes no
/// descriptor of the observation (a field is required when it was in every object sample,
/// types and formats are unions), and the connections of an endpoint nearly always share
/// one shape, so an endpoint costs one merge per distinct answer, not three copies of a
/// shape per connection.
pub fn observe(provider: &str, endpoint: &str, samples: &[Sample]) -> Observation {
    let mut responses = BTreeMap::new();
    let mut merged: HashSet<*const Shape> = HashSet::new();
    let mut distinct: Vec<&Arc<Shape>> = Vec::new();
    for s in samples {
        responses.insert(
            s.connection.clone(),
            Response {
                status: s.status,
                content_type: s.content_type.clone(),
            },
        );
        if let Some(sh) = &s.shape
            && merged.insert(Arc::as_ptr(sh))
        {
            distinct.push(sh);
        }
    }
    let shape = match distinct.as_slice() {
        [] => Shape::empty().to_body(),
        [only] => only.to_body(),
        [first, rest @ ..] => {
            let mut shape = Shape::clone(first);
            for sh in rest {
                shape.merge_from(Shape::clone(sh));
            }
            shape.to_body()
        }
    };
    Observation {
        key: ObservationKey {
            provider: provider.to_string(),
            probe: ProbeKind::Schema,
            subject: endpoint.to_string(),
            connection: None,
        },
        body: SchemaBody::of(responses, shape).to_json(),
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
                first_seen: None,
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

    fn sample(connection: &str, status: u16, body: Option<Value>) -> Sample {
        Sample {
            connection: connection.into(),
            status,
            content_type: body.as_ref().map(|_| "application/json".to_owned()),
            shape: body.map(|b| Arc::new(crate::probe::shape::infer(&b).expect("shallow"))),
            exchange_id: None,
        }
    }

    #[test]
    fn schema_snapshot_round_trips_through_the_typed_body() {
        let o = observe(
            "demo",
            "invoices",
            &[
                sample(
                    "bob",
                    200,
                    Some(json!({"data": [{"id": "in_1", "at": "2024-05-01T00:00:00Z"}]})),
                ),
                sample("alice", 500, None),
            ],
        );
        let header = crate::baseline::SnapshotHeader::new("demo", o.key.clone());
        let text = crate::baseline::render_snapshot(&header, &o.body);
        let (_, read) =
            crate::baseline::parse_snapshot(std::path::Path::new("t.snap"), &text).unwrap();
        let typed = SchemaBody::parse(&read.body).unwrap();
        assert_eq!(
            typed.responses["alice"],
            Response {
                status: 500,
                content_type: None
            }
        );
        assert_eq!(
            typed.responses["bob"].content_type.as_deref(),
            Some("application/json")
        );
        let paths: Vec<&str> = typed.shape.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            vec!["$", "$.data", "$.data[]", "$.data[].at", "$.data[].id"]
        );
        assert_eq!(
            crate::baseline::render_snapshot(&header, &typed.to_json()),
            text
        );
        let shown = view::view(&o.body).unwrap();
        assert_eq!(shown, typed);
        let at = shown
            .descriptors()
            .find(|(p, _)| p.as_str() == "$.data[].at")
            .and_then(|(_, d)| d)
            .unwrap();
        assert_eq!(at.format.map(|f| f.as_str()), Some("date-time"));
        assert!(at.required);
        assert_eq!(view::view(&json!({"responses": []})), None);
    }

    /// A descriptor that cannot be read is reported at its path by the generic
    /// `unreadable_part`, and the other descriptors and the responses are still compared.
    #[test]
    fn schema_observation_unreadable_descriptor_is_reported_at_its_path_and_the_rest_compared() {
        let before = observe(
            "demo",
            "invoices",
            &[sample("bob", 200, Some(json!({"a": 1, "b": "x"})))],
        );
        let mut broken = before.clone();
        broken.body["shape"]["$.a"] = json!({"types": "integer"});
        let after = observe(
            "demo",
            "invoices",
            &[sample("bob", 404, Some(json!({"a": 1, "b": 2})))],
        );
        let d = crate::baseline::diff::diff_observations(&broken, &after);
        let got: Vec<(&str, Option<&str>, Severity)> = d
            .iter()
            .map(|d| (d.rule.as_str(), d.path.as_deref(), d.severity))
            .collect();
        assert_eq!(
            got,
            vec![
                (Rule::SchemaFieldAdded.id(), Some("$.a"), Severity::Info),
                (
                    Rule::SchemaObservationUnreadable.id(),
                    Some("$.a"),
                    Severity::Warning
                ),
                (Rule::SchemaStatusChanged.id(), None, Severity::Breaking),
                (
                    Rule::SchemaTypeChanged.id(),
                    Some("$.b"),
                    Severity::Breaking
                ),
            ]
        );
        let unreadable = &d[1];
        assert!(
            unreadable.message.starts_with(
                "the baseline schema observation has an unreadable descriptor for `$.a`: "
            ),
            "{}",
            unreadable.message
        );
        assert_eq!(d[2].connections, vec!["bob"]);
        assert_eq!(
            d[2].message,
            "connection `bob` now answers 404 instead of 200"
        );
    }

    proptest::proptest! {
        /// Merging each shared shape once gives exactly the observation of merging every
        /// connection's shape in turn (what `observe` did before it shared them).
        #[test]
        fn shared_shapes_merged_once_observe_like_every_sample_merged(
            bodies in proptest::collection::vec(crate::probe::shape::tests::any_json(), 1..4),
            picks in proptest::collection::vec(0usize..4, 1..12),
        ) {
            let shapes: Vec<Arc<Shape>> = bodies
                .iter()
                .map(|b| Arc::new(crate::probe::shape::infer(b).expect("shallow")))
                .collect();
            let samples: Vec<Sample> = picks
                .iter()
                .enumerate()
                .map(|(i, p)| Sample {
                    connection: format!("c{i}"),
                    status: 200,
                    content_type: Some("application/json".into()),
                    shape: Some(shapes[p % shapes.len()].clone()),
                    exchange_id: None,
                })
                .collect();
            let mut every = Shape::empty();
            for s in &samples {
                every = every.merge(s.shape.as_deref().expect("set"));
            }
            let got = observe("demo", "ep", &samples);
            let want = SchemaBody::of(BTreeMap::new(), every.to_body()).to_json();
            proptest::prop_assert_eq!(got.body.get("shape"), want.get("shape"));
        }
    }
}
