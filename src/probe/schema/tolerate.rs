//! Schema tolerance (`endpoints[].tolerate`): which schema drifts a suite declares acceptable
//! at a path. Presence never is: fields added, removed or renamed, optionality and maps are
//! always reported. Pure: looks at drifts only.

use super::diff::is_below;
use crate::model::Drift;
use crate::rules::Rule;
use crate::suite::Tolerance;
use std::collections::BTreeMap;

/// True when `drift` is a schema drift the endpoint's `tolerate` accepts:
/// `any` — type, widening, nullability and format changes at the path or below it;
/// `type` — the same at exactly the path; `format` — format changes at exactly the path.
pub fn tolerated(drift: &Drift, tolerate: &BTreeMap<String, Tolerance>) -> bool {
    let (Some(rule), Some(path)) = (drift.rule.rule(), drift.path.as_deref()) else {
        return false;
    };
    let type_like = matches!(
        rule,
        Rule::SchemaTypeChanged | Rule::SchemaTypeWidened | Rule::SchemaNullabilityChanged
    );
    let format = rule == Rule::SchemaFormatChanged;
    if !type_like && !format {
        return false;
    }
    tolerate.iter().any(|(at, level)| match level {
        Tolerance::Any => path == at || (path.starts_with(at.as_str()) && is_below(path, at)),
        Tolerance::Type => path == at,
        Tolerance::Format => path == at && format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ProbeKind, Severity};

    fn drift(rule: Rule, severity: Severity, path: &str) -> Drift {
        Drift {
            rule: rule.emit(severity),
            severity,
            provider: "demo".into(),
            probe: ProbeKind::Schema,
            subject: "invoices".into(),
            path: Some(path.into()),
            connections: Vec::new(),
            message: String::new(),
            before: None,
            after: None,
            exchanges: Vec::new(),
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        }
    }

    #[test]
    fn tolerate_levels_accept_exactly_their_changes() {
        use Rule::*;
        use Severity::*;
        let t = BTreeMap::from([
            ("$.data[].meta".to_owned(), Tolerance::Any),
            ("$.total".to_owned(), Tolerance::Type),
            ("$.created".to_owned(), Tolerance::Format),
        ]);
        let cases = [
            (SchemaTypeChanged, Breaking, "$.data[].meta", true),
            (SchemaTypeChanged, Breaking, "$.data[].meta.kind", true),
            (SchemaFormatChanged, Warning, "$.data[].meta['x y']", true),
            (
                SchemaNullabilityChanged,
                Warning,
                "$.data[].metadata",
                false,
            ),
            (SchemaFieldRemoved, Breaking, "$.data[].meta.kind", false),
            (SchemaFieldAdded, Info, "$.data[].meta.extra", false),
            (SchemaOptionalityChanged, Warning, "$.data[].meta", false),
            (SchemaTypeWidened, Info, "$.total", true),
            (SchemaNullabilityChanged, Warning, "$.total", true),
            (SchemaTypeChanged, Breaking, "$.total.cents", false),
            (SchemaFormatChanged, Warning, "$.created", true),
            (SchemaTypeChanged, Breaking, "$.created", false),
            (SchemaTypeChanged, Breaking, "$.id", false),
        ];
        for (rule, severity, path, want) in cases {
            assert_eq!(
                tolerated(&drift(rule, severity, path), &t),
                want,
                "{rule} at {path}"
            );
        }
    }
}
