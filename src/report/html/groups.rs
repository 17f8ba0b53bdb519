//! Groups identical drifts (or findings) for the HTML report: the same rule making the same
//! change on many endpoints and connections is one card, not hundreds. Pure: knows drifts,
//! not markup, files or sizes.

use crate::model::{Drift, Severity};
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

/// Drifts that say the same thing about different endpoints or connections: same provider,
/// probe, rule, severity, suppression, path and before/after evidence. Messages may differ
/// (they name the endpoint), so they are not part of the key.
#[derive(Debug)]
pub(crate) struct DriftGroup<'a> {
    /// Members in the order given (the run's stable sort order); never empty.
    pub members: Vec<&'a Drift>,
    /// Distinct subjects (endpoints) of the members.
    pub endpoints: usize,
    /// Distinct connections named by the members, sorted.
    pub connections: BTreeSet<&'a str>,
}

impl<'a> DriftGroup<'a> {
    pub fn first(&self) -> &'a Drift {
        self.members[0]
    }
}

/// The grouping key; evidence is compared as its canonical JSON text.
type Key<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Severity,
    Option<&'a str>,
    Option<&'a str>,
    String,
    String,
);

fn key(d: &Drift) -> Key<'_> {
    let json = |v: Option<&serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    (
        &d.provider,
        d.probe.as_str(),
        d.rule.as_str(),
        d.severity,
        d.suppressed.as_deref(),
        d.path.as_deref(),
        json(d.before.as_ref()),
        json(d.after.as_ref()),
    )
}

/// Groups `drifts` (already in the run's stable order) and orders the groups most urgent
/// first: unsuppressed before suppressed, then breaking, warning, info, then the blast
/// radius (most connections affected), then the most drifts, then the stable order of
/// each group's first member. Linear in the drifts
/// (plus the sort of the groups).
pub(crate) fn group<'a>(drifts: &[&'a Drift]) -> Vec<DriftGroup<'a>> {
    let mut index: HashMap<Key<'a>, usize> = HashMap::new();
    let mut groups: Vec<DriftGroup<'a>> = Vec::new();
    let mut subjects: Vec<BTreeSet<&'a str>> = Vec::new();
    for &d in drifts {
        let at = *index.entry(key(d)).or_insert_with(|| {
            groups.push(DriftGroup {
                members: Vec::new(),
                endpoints: 0,
                connections: BTreeSet::new(),
            });
            subjects.push(BTreeSet::new());
            groups.len() - 1
        });
        let g = &mut groups[at];
        g.members.push(d);
        g.connections
            .extend(d.connections.iter().map(String::as_str));
        subjects[at].insert(&d.subject);
    }
    for (g, s) in groups.iter_mut().zip(&subjects) {
        g.endpoints = s.len();
    }
    // Groups were created in the order of their first member, so a stable sort keeps
    // that order among equals.
    groups.sort_by_key(|g| {
        let d = g.first();
        (
            d.suppressed.is_some(),
            Reverse(d.severity),
            Reverse(g.connections.len()),
            Reverse(g.members.len()),
        )
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProbeKind;
    use crate::rules::{Rule, RuleId};
    use serde_json::json;

    fn drift(rule: Rule, severity: Severity, subject: &str, path: &str, conns: &[&str]) -> Drift {
        Drift {
            rule: RuleId::parse(rule.id()),
            severity,
            provider: "p".into(),
            probe: ProbeKind::Schema,
            subject: subject.into(),
            path: Some(path.into()),
            connections: conns.iter().map(|c| c.to_string()).collect(),
            message: format!("`{path}` changed on `{subject}`"),
            before: None,
            after: Some(json!({"types": ["string"]})),
            exchanges: vec![],
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }
    }

    /// (rule, severity, drifts, endpoints, connections) of each group, in order.
    fn summary(groups: &[DriftGroup<'_>]) -> Vec<(String, Severity, usize, usize, usize)> {
        groups
            .iter()
            .map(|g| {
                (
                    g.first().rule.to_string(),
                    g.first().severity,
                    g.members.len(),
                    g.endpoints,
                    g.connections.len(),
                )
            })
            .collect()
    }

    #[test]
    fn the_same_field_added_on_300_endpoints_and_2_connections_is_one_group() {
        let mut drifts: Vec<Drift> = (0..300)
            .flat_map(|i| {
                let e = format!("endpoint-{i:03}");
                [
                    drift(Rule::SchemaFieldAdded, Severity::Info, &e, "$.new", &["a"]),
                    drift(Rule::SchemaFieldAdded, Severity::Info, &e, "$.new", &["b"]),
                ]
            })
            .collect();
        drifts.push(drift(
            Rule::SchemaFieldAdded,
            Severity::Info,
            "endpoint-000",
            "$.other",
            &["a", "b"],
        ));
        let refs: Vec<&Drift> = drifts.iter().collect();
        let groups = group(&refs);
        assert_eq!(
            summary(&groups),
            [
                (
                    Rule::SchemaFieldAdded.id().to_string(),
                    Severity::Info,
                    600,
                    300,
                    2
                ),
                (
                    Rule::SchemaFieldAdded.id().to_string(),
                    Severity::Info,
                    1,
                    1,
                    2
                ),
            ]
        );
        assert_eq!(groups[0].first().subject, "endpoint-000");
        assert_eq!(
            groups[0].connections.iter().copied().collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn groups_order_by_severity_then_count_then_first_seen() {
        let mut removed = drift(
            Rule::SchemaFieldRemoved,
            Severity::Breaking,
            "e1",
            "$.x",
            &[],
        );
        removed.before = Some(json!({"types": ["integer"]}));
        removed.after = None;
        let mut drifts = vec![
            drift(Rule::SchemaFieldAdded, Severity::Info, "e1", "$.a", &[]),
            drift(Rule::SchemaFieldAdded, Severity::Info, "e2", "$.a", &[]),
            drift(Rule::SchemaFieldAdded, Severity::Info, "e3", "$.a", &[]),
            drift(Rule::SchemaFieldAdded, Severity::Info, "e1", "$.b", &[]),
            drift(Rule::SchemaTypeChanged, Severity::Warning, "e1", "$.c", &[]),
            removed.clone(),
            drift(Rule::SchemaTypeChanged, Severity::Warning, "e2", "$.c", &[]),
            drift(Rule::SchemaTypeChanged, Severity::Warning, "e3", "$.d", &[]),
        ];
        // A suppressed breaking drift goes after every unsuppressed group.
        let mut silenced = removed;
        silenced.subject = "e9".into();
        silenced.suppressed = Some("known, ticket 12".into());
        drifts.push(silenced);
        let refs: Vec<&Drift> = drifts.iter().collect();
        let got: Vec<(String, usize, Option<String>)> = group(&refs)
            .iter()
            .map(|g| {
                (
                    format!(
                        "{} {}",
                        g.first().rule,
                        g.first().path.as_deref().unwrap_or("")
                    ),
                    g.members.len(),
                    g.first().suppressed.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("schema.field-removed $.x".to_string(), 1, None),
                ("schema.type-changed $.c".to_string(), 2, None),
                ("schema.type-changed $.d".to_string(), 1, None),
                ("schema.field-added $.a".to_string(), 3, None),
                ("schema.field-added $.b".to_string(), 1, None),
                (
                    "schema.field-removed $.x".to_string(),
                    1,
                    Some("known, ticket 12".to_string())
                ),
            ]
        );
    }

    #[test]
    fn groups_of_one_severity_order_by_connections_affected_before_size() {
        let drifts = [
            // Three endpoints on one connection.
            drift(
                Rule::SchemaFieldAdded,
                Severity::Warning,
                "e1",
                "$.a",
                &["a"],
            ),
            drift(
                Rule::SchemaFieldAdded,
                Severity::Warning,
                "e2",
                "$.a",
                &["a"],
            ),
            drift(
                Rule::SchemaFieldAdded,
                Severity::Warning,
                "e3",
                "$.a",
                &["a"],
            ),
            // One endpoint on three connections: the wider blast radius comes first.
            drift(
                Rule::SchemaFieldAdded,
                Severity::Warning,
                "e1",
                "$.b",
                &["a", "b", "c"],
            ),
            // Any breaking group still precedes every warning group.
            drift(
                Rule::SchemaFieldRemoved,
                Severity::Breaking,
                "e9",
                "$.c",
                &["a"],
            ),
        ];
        let refs: Vec<&Drift> = drifts.iter().collect();
        let got: Vec<(String, usize, usize)> = group(&refs)
            .iter()
            .map(|g| {
                (
                    g.first().path.clone().unwrap_or_default(),
                    g.connections.len(),
                    g.members.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("$.c".to_string(), 1, 1),
                ("$.b".to_string(), 3, 1),
                ("$.a".to_string(), 1, 3),
            ]
        );
    }

    #[test]
    fn different_evidence_rule_or_provider_never_merges() {
        let a = drift(
            Rule::SchemaTypeChanged,
            Severity::Breaking,
            "e1",
            "$.c",
            &[],
        );
        let mut other_after = a.clone();
        other_after.subject = "e2".into();
        other_after.after = Some(json!({"types": ["boolean"]}));
        let mut other_provider = a.clone();
        other_provider.provider = "q".into();
        let mut other_rule = a.clone();
        other_rule.rule = RuleId::parse(Rule::SchemaTypeWidened.id());
        let same = Drift {
            subject: "e3".into(),
            message: "a different message".into(),
            ..a.clone()
        };
        let drifts = [a, other_after, other_provider, other_rule, same];
        let refs: Vec<&Drift> = drifts.iter().collect();
        let sizes: Vec<usize> = group(&refs).iter().map(|g| g.members.len()).collect();
        assert_eq!(sizes, [2, 1, 1, 1]);
    }
}
