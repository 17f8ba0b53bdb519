//! The values probe: classifies an endpoint's response values per connection (zero, empty,
//! null, …), checks the suite's implication rules and completeness flag, and turns the classes
//! into one observation per endpoint. Pure: never keeps a raw value, knows nothing about HTTP,
//! baselines or reports.

mod body;
mod diff;

pub mod view;

pub use body::ValuesBody;

use crate::model::{Drift, Observation, ObservationKey, ProbeKind, Severity};
use crate::probe::body::ObservationBody;
use crate::probe::shape::{MAX_DEPTH, push_key};
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use serde_json_path::JsonPath;
use std::collections::{BTreeMap, BTreeSet};

/// How an endpoint's values are checked (built by the lead from the suite).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValuesSpec {
    /// Named metrics: name → RFC 9535 JSONPath (e.g. "conversions" → "$.metrics.conversions").
    pub metrics: BTreeMap<String, String>,
    /// Also track every numeric leaf of the response, named by its shape path (`$.metrics.ctr`,
    /// array items folded to `[]`); see [`ValueClass::fold`] for how items are folded.
    pub auto_numeric: bool,
    /// Implication rules: "`then` must be non-zero when `when` > `greater_than`".
    pub rules: Vec<ValueRule>,
    /// A completeness flag (JSONPath, e.g. "$.data_complete") and the value that claims
    /// complete data.
    pub complete_flag: Option<(String, Value)>,
}

/// "`then` must carry data whenever `when` is greater than `greater_than`".
///
/// `when` and `then` are metric names, auto-tracked shape paths (`$.rows[].clicks`) or RFC 9535
/// JSONPaths, looked up in that order. `when`'s value is the sum of its numeric nodes; a `when`
/// without any numeric node leaves the rule unchecked. `then` holds when its folded class
/// carries data ([`ValueClass::has_data`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueRule {
    pub name: String,
    pub when: String,
    pub greater_than: f64,
    pub then: String,
}

/// What kind of value a metric holds; observations store only this, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueClass {
    /// A number (or numeric string such as `"0"`) equal to zero.
    Zero,
    /// A number (or numeric string such as `"12.5"`) other than zero.
    NonZero,
    /// `""`, `[]` or `{}`.
    Empty,
    /// JSON `null`.
    Null,
    /// Nothing at the path.
    Missing,
    /// A non-empty string that is not a number.
    Text,
    True,
    False,
    /// A non-empty array or object.
    NonEmpty,
}

impl ValueClass {
    /// The kebab-case name used in observations and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueClass::Zero => "zero",
            ValueClass::NonZero => "non-zero",
            ValueClass::Empty => "empty",
            ValueClass::Null => "null",
            ValueClass::Missing => "missing",
            ValueClass::Text => "text",
            ValueClass::True => "true",
            ValueClass::False => "false",
            ValueClass::NonEmpty => "non-empty",
        }
    }

    /// The class of one JSON value. Numeric strings count as numbers because many APIs send
    /// 64-bit counters as strings (the proto3 JSON mapping does).
    pub fn of(value: &Value) -> ValueClass {
        match value {
            Value::Null => ValueClass::Null,
            Value::Bool(true) => ValueClass::True,
            Value::Bool(false) => ValueClass::False,
            Value::Number(_) => number_class(value),
            Value::String(s) if s.is_empty() => ValueClass::Empty,
            Value::String(s) => match numeric_str(s) {
                Some(0.0) => ValueClass::Zero,
                Some(_) => ValueClass::NonZero,
                None => ValueClass::Text,
            },
            Value::Array(a) if a.is_empty() => ValueClass::Empty,
            Value::Object(o) if o.is_empty() => ValueClass::Empty,
            Value::Array(_) | Value::Object(_) => ValueClass::NonEmpty,
        }
    }

    /// The value says something is there: non-zero, non-empty, text or `true`.
    pub fn has_data(self) -> bool {
        matches!(
            self,
            ValueClass::NonZero | ValueClass::NonEmpty | ValueClass::Text | ValueClass::True
        )
    }

    /// How much a class says is there; the fold keeps the highest.
    fn rank(self) -> u8 {
        match self {
            ValueClass::Missing => 0,
            ValueClass::Null => 1,
            ValueClass::Empty => 2,
            ValueClass::Zero => 3,
            ValueClass::False => 4,
            ValueClass::True => 5,
            ValueClass::Text => 6,
            ValueClass::NonEmpty => 7,
            ValueClass::NonZero => 8,
        }
    }

    /// The class of several values at one path (array items, or every node a JSONPath
    /// matched): the class that says the most is there, in the order
    /// missing < null < empty < zero < false < true < text < non-empty < non-zero.
    /// So a leaf is `zero` only when no item carries data and at least one is zero, `null`
    /// only when every item is null, and `non-zero` as soon as one item is. No values: `missing`.
    pub fn fold(classes: impl IntoIterator<Item = ValueClass>) -> ValueClass {
        classes
            .into_iter()
            .max_by_key(|c| c.rank())
            .unwrap_or(ValueClass::Missing)
    }
}

fn number_class(value: &Value) -> ValueClass {
    let zero = value.as_u64() == Some(0)
        || value.as_i64() == Some(0)
        || value.as_f64().is_some_and(|f| f == 0.0);
    if zero {
        ValueClass::Zero
    } else {
        ValueClass::NonZero
    }
}

/// A string in JSON number syntax (leading digit or `-digit`, no `inf`/`NaN`), as a number.
fn numeric_str(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The numeric value of a node (numbers and numeric strings), for rule thresholds only.
fn numeric(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => numeric_str(s),
        _ => None,
    }
}

/// What one connection's response showed: classes only, no values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionValues {
    pub connection: String,
    /// Metric name (or auto-tracked shape path) → class.
    pub classes: BTreeMap<String, ValueClass>,
    /// Names of the rules this response violates, sorted.
    pub rule_violations: Vec<String>,
    /// Whether the completeness flag claims complete data; `None` without a flag in the spec
    /// or in the response.
    pub claims_complete: Option<bool>,
}

/// Classifies one connection's response. The only error is a path that is not RFC 9535
/// JSONPath (or a rule operand that is neither a metric, a shape path nor a JSONPath).
pub fn evaluate(
    spec: &ValuesSpec,
    connection: &str,
    body: &Value,
) -> Result<ConnectionValues, String> {
    let mut leaves = BTreeMap::new();
    leaves_at(body, &mut String::from("$"), 0, &mut leaves);
    let mut classes = BTreeMap::new();
    if spec.auto_numeric {
        for (path, values) in &leaves {
            if values.iter().any(|v| v.is_number()) {
                classes.insert(path.clone(), fold_values(values));
            }
        }
    }
    for (name, path) in &spec.metrics {
        let nodes = query(path, body).map_err(|e| format!("metric `{name}`: {e}"))?;
        classes.insert(name.clone(), fold_values(&nodes));
    }
    let mut rule_violations = BTreeSet::new();
    for rule in &spec.rules {
        let resolve = |operand: &str| {
            resolve(spec, &leaves, operand, body).map_err(|e| format!("rule `{}`: {e}", rule.name))
        };
        let when: Option<f64> = resolve(&rule.when)?
            .iter()
            .filter_map(|v| numeric(v))
            .reduce(|a, b| a + b);
        let then = fold_values(&resolve(&rule.then)?);
        if when.is_some_and(|w| w > rule.greater_than) && !then.has_data() {
            rule_violations.insert(rule.name.clone());
        }
    }
    let claims_complete = match &spec.complete_flag {
        None => None,
        Some((path, claim)) => {
            let nodes = query(path, body).map_err(|e| format!("complete flag: {e}"))?;
            (!nodes.is_empty()).then(|| nodes.iter().all(|v| *v == claim))
        }
    };
    Ok(ConnectionValues {
        connection: connection.to_owned(),
        classes,
        rule_violations: rule_violations.into_iter().collect(),
        claims_complete,
    })
}

fn fold_values(values: &[&Value]) -> ValueClass {
    ValueClass::fold(values.iter().map(|v| ValueClass::of(v)))
}

/// The nodes an RFC 9535 JSONPath selects, each node once even when several segments reach it.
fn query<'v>(path: &str, body: &'v Value) -> Result<Vec<&'v Value>, String> {
    let parsed = JsonPath::parse(path).map_err(|e| format!("`{path}` is not a JSONPath: {e}"))?;
    Ok(parsed
        .query_located(body)
        .dedup()
        .all()
        .into_iter()
        .map(|n| n.node())
        .collect())
}

/// A rule operand's nodes: a metric name, then an auto-tracked shape path, then a JSONPath. A
/// shape path with `[]` that this response lacks (an empty array) has no nodes rather than
/// being an error, so the same rule keeps working when a list comes back empty.
fn resolve<'v>(
    spec: &ValuesSpec,
    leaves: &BTreeMap<String, Vec<&'v Value>>,
    operand: &str,
    body: &'v Value,
) -> Result<Vec<&'v Value>, String> {
    if let Some(path) = spec.metrics.get(operand) {
        return query(path, body);
    }
    if let Some(values) = leaves.get(operand) {
        return Ok(values.clone());
    }
    if operand.starts_with('$') && operand.contains("[]") {
        return Ok(Vec::new());
    }
    if !operand.starts_with('$') {
        return Err(format!("`{operand}` is neither a metric nor a JSONPath"));
    }
    query(operand, body)
}

/// Every scalar under `value`, by shape path (`[]` for array items). Containers nested deeper
/// than [`MAX_DEPTH`] are skipped: the schema probe reports them.
fn leaves_at<'v>(
    value: &'v Value,
    path: &mut String,
    depth: usize,
    out: &mut BTreeMap<String, Vec<&'v Value>>,
) {
    match value {
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return;
            }
            let len = path.len();
            path.push_str("[]");
            for item in items {
                leaves_at(item, path, depth + 1, out);
            }
            path.truncate(len);
        }
        Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return;
            }
            for (key, child) in map {
                let len = path.len();
                push_key(path, key);
                leaves_at(child, path, depth + 1, out);
                path.truncate(len);
            }
        }
        scalar => out.entry(path.clone()).or_default().push(scalar),
    }
}

/// One entry per connection name; a later duplicate replaces an earlier one.
fn by_connection(values: &[ConnectionValues]) -> BTreeMap<&str, &ConnectionValues> {
    values.iter().map(|v| (v.connection.as_str(), v)).collect()
}

/// Rule name → its violators, sorted.
fn violators(values: &[ConnectionValues]) -> BTreeMap<&str, Vec<&str>> {
    let mut rules: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (conn, v) in by_connection(values) {
        for rule in &v.rule_violations {
            rules.entry(rule).or_default().push(conn);
        }
    }
    rules
}

/// One observation per endpoint (no connection in the key). Body:
/// `{"connections": {conn: {metric: class}}, "rules": {rule: [violators]}, "complete_flag":
/// {conn: bool}}`; `rules` lists only violated rules, `complete_flag` only connections whose
/// response had the flag.
pub fn observe(provider: &str, endpoint: &str, values: &[ConnectionValues]) -> Observation {
    let conns = by_connection(values);
    let body = ValuesBody {
        complete_flag: conns
            .iter()
            .filter_map(|(c, v)| v.claims_complete.map(|b| ((*c).to_owned(), b)))
            .collect(),
        connections: conns
            .iter()
            .map(|(c, v)| ((*c).to_owned(), v.classes.clone()))
            .collect(),
        rules: violators(values)
            .into_iter()
            .map(|(r, who)| (r.to_owned(), who.into_iter().map(str::to_owned).collect()))
            .collect(),
    };
    Observation {
        key: ObservationKey {
            provider: provider.to_owned(),
            probe: ProbeKind::Values,
            subject: endpoint.to_owned(),
            connection: None,
        },
        body: body.to_json(),
    }
}

/// This run's findings (re-checked every run, not drift), sorted by [`Drift::sort_key`]:
/// `values.incomplete-flag-contradicted` per connection whose flag claims complete data while it
/// violates a rule or has a metric at zero that another connection has non-zero.
///
/// A rule violation alone is not a finding: the observation records the violators, and a rule
/// that held for a connection in the baseline and fails now is the drift
/// `values.rule-violated` (one verdict per fact; a finding would repeat it in the same run).
pub fn findings(provider: &str, endpoint: &str, values: &[ConnectionValues]) -> Vec<Drift> {
    let drift = |rule: Rule, path: Option<&str>, connections: Vec<String>, message, after| Drift {
        rule: rule.emit(Severity::Warning),
        severity: Severity::Warning,
        provider: provider.to_owned(),
        probe: ProbeKind::Values,
        subject: endpoint.to_owned(),
        path: path.map(str::to_owned),
        connections,
        message,
        before: None,
        after: Some(after),
        exchanges: Vec::new(),
        fingerprint: String::new(),
        suppressed: None,
        first_seen: None,
    };
    let mut out = Vec::new();
    let all = by_connection(values);
    for (conn, v) in &all {
        if v.claims_complete != Some(true) {
            continue;
        }
        let zeroed: Vec<&str> = v
            .classes
            .iter()
            .filter(|(m, c)| {
                **c == ValueClass::Zero
                    && all.iter().any(|(other, o)| {
                        other != conn && o.classes.get(*m) == Some(&ValueClass::NonZero)
                    })
            })
            .map(|(m, _)| m.as_str())
            .collect();
        if zeroed.is_empty() && v.rule_violations.is_empty() {
            continue;
        }
        let mut why = Vec::new();
        if !v.rule_violations.is_empty() {
            let rules: Vec<&str> = v.rule_violations.iter().map(String::as_str).collect();
            why.push(format!("violates {}", list(&rules)));
        }
        if !zeroed.is_empty() {
            why.push(format!(
                "has {} at zero while other connections have it non-zero",
                list(&zeroed)
            ));
        }
        let message = format!(
            "connection `{conn}` claims complete data but {}",
            why.join(" and ")
        );
        let after = json!({
            "claims_complete": true,
            "violated_rules": v.rule_violations,
            "zero_metrics": zeroed,
        });
        let conns = vec![(*conn).to_owned()];
        out.push(drift(
            Rule::ValuesIncompleteFlagContradicted,
            None,
            conns,
            message,
            after,
        ));
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

/// "`a`, `b`" for messages.
pub(crate) fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
