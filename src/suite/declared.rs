//! Declared response schemas: reading a schema file next to the suite and checking
//! that a schema is a valid JSON Schema, offline (no remote `$ref` or `$schema` fetch).

use jsonschema::Draft;
use serde_json::Value;
use std::path::Path;

/// Why a declared schema was rejected; the text is user-facing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaProblem {
    pub message: String,
    pub label: String,
}

fn problem(message: String, label: &str) -> SchemaProblem {
    SchemaProblem {
        message,
        label: label.to_string(),
    }
}

/// Reads and parses the JSON file `written` (as in the suite) under `suite_dir`.
pub(crate) fn read_schema_file(suite_dir: &Path, written: &str) -> Result<Value, SchemaProblem> {
    let text =
        crate::bounded::read_bounded_string(&suite_dir.join(written), crate::bounded::SUITE_LIMIT)
            .map_err(|e| {
                problem(
                    format!("cannot read schema file `{written}`: {e}"),
                    "expected a JSON Schema file, relative to the suite file",
                )
            })?;
    serde_json::from_str(&text).map_err(|e| {
        problem(
            format!("schema file `{written}` is not valid JSON: {e}"),
            "this file must hold one JSON document",
        )
    })
}

/// Checks `schema` against its draft's meta-schema. Custom `$schema` URIs are
/// rejected rather than fetched.
pub(crate) fn check_schema(schema: &Value) -> Result<(), SchemaProblem> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err(problem(
            "a JSON Schema must be a mapping or a boolean".to_string(),
            "expected a JSON Schema",
        ));
    }
    if Draft::default().detect(schema) == Draft::Unknown {
        return Err(problem(
            "unsupported `$schema` in declared schema".to_string(),
            "expected draft 4, 6, 7, 2019-09 or 2020-12 (custom meta-schemas are never fetched)",
        ));
    }
    jsonschema::meta::validate(schema).map_err(|e| {
        let at = e.instance_path().to_string();
        let place = if at.is_empty() {
            String::new()
        } else {
            format!(" at `{at}`")
        };
        problem(
            format!("declared schema is not a valid JSON Schema{place}: {e}"),
            "this schema fails its meta-schema",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_schemas_pass() {
        assert_eq!(check_schema(&json!({"type": "object"})), Ok(()));
        assert_eq!(check_schema(&json!(true)), Ok(()));
        assert_eq!(
            check_schema(&json!({"$schema": "http://json-schema.org/draft-07/schema#"})),
            Ok(())
        );
    }

    #[test]
    fn invalid_schemas_are_named() {
        let err = check_schema(&json!({"type": "invalid_type"})).unwrap_err();
        assert!(
            err.message
                .starts_with("declared schema is not a valid JSON Schema at `/type`: "),
            "{}",
            err.message
        );
        let err = check_schema(&json!({"$schema": "https://example.com/meta"})).unwrap_err();
        assert_eq!(err.message, "unsupported `$schema` in declared schema");
        let err = check_schema(&json!([1])).unwrap_err();
        assert_eq!(err.message, "a JSON Schema must be a mapping or a boolean");
    }

    #[test]
    fn schema_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.json"), r#"{"type":"object"}"#).unwrap();
        std::fs::write(dir.path().join("bad.json"), "{type: object}").unwrap();
        assert_eq!(
            read_schema_file(dir.path(), "ok.json"),
            Ok(json!({"type": "object"}))
        );
        let err = read_schema_file(dir.path(), "bad.json").unwrap_err();
        assert!(
            err.message
                .starts_with("schema file `bad.json` is not valid JSON: key must be a string"),
            "{}",
            err.message
        );
        let err = read_schema_file(dir.path(), "none.json").unwrap_err();
        assert!(
            err.message
                .starts_with("cannot read schema file `none.json`: ")
        );
    }
}
