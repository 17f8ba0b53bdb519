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

/// Reads and parses the JSON file `written` (as in the suite) under `suite_dir`, with the
/// files its relative `$ref`s name (`"$ref": "Contact.json"`, `"../common/Id.json#/x"`),
/// resolved against the referring file and bundled into one schema (see [`bundle`]).
pub(crate) fn read_schema_file(suite_dir: &Path, written: &str) -> Result<Value, SchemaProblem> {
    let root = read_json(suite_dir, written, written)?;
    bundle(suite_dir, written, root)
}

fn read_json(suite_dir: &Path, rel: &str, written: &str) -> Result<Value, SchemaProblem> {
    let text =
        crate::bounded::read_bounded_string(&suite_dir.join(rel), crate::bounded::SUITE_LIMIT)
            .map_err(|e| {
                problem(
                    if rel == written {
                        format!("cannot read schema file `{written}`: {e}")
                    } else {
                        format!(
                            "cannot read schema file `{rel}` (referenced from `{written}`): {e}"
                        )
                    },
                    "expected a JSON Schema file, relative to the suite file",
                )
            })?;
    serde_json::from_str(&text).map_err(|e| {
        problem(
            format!("schema file `{rel}` is not valid JSON: {e}"),
            "this file must hold one JSON document",
        )
    })
}

/// At most this many files in one bundle: a guard, far above what `init` writes.
const MAX_BUNDLED_FILES: usize = 4096;

/// The base URI a bundle's files are identified by; `.invalid` never resolves, and
/// validators are built offline, so nothing is ever fetched.
const BUNDLE_BASE: &str = "https://driftwatch.invalid/suite/";

/// Makes a schema whose relative `$ref`s name other files self-contained, so the offline
/// validator resolves them: the root gets `$id` = [`BUNDLE_BASE`] + its path, and every file
/// it reaches (transitively) is embedded under `$defs` (`definitions` for drafts 4–7) with
/// its own `$id`. The `$ref`s themselves stay as written. A schema without file references,
/// or with its own `$id`, is returned unchanged.
fn bundle(suite_dir: &Path, written: &str, mut root: Value) -> Result<Value, SchemaProblem> {
    let Some(obj) = root.as_object() else {
        return Ok(root);
    };
    if obj.contains_key("$id") {
        return Ok(root);
    }
    let start = normalize("", written).ok_or_else(|| escapes(written, written))?;
    let mut seen: Vec<String> = vec![start.clone()];
    let mut queue: Vec<(String, Vec<String>)> = vec![(start.clone(), file_refs(&root))];
    let mut embedded: Vec<(String, Value)> = Vec::new();
    while let Some((from, refs)) = queue.pop() {
        let dir = from.rsplit_once('/').map(|(d, _)| d).unwrap_or_default();
        for r in refs {
            let file = r.split('#').next().unwrap_or_default();
            let rel = normalize(dir, file).ok_or_else(|| escapes(&r, written))?;
            if seen.contains(&rel) {
                continue;
            }
            if seen.len() >= MAX_BUNDLED_FILES {
                return Err(problem(
                    format!(
                        "schema file `{written}` references more than {MAX_BUNDLED_FILES} files"
                    ),
                    "split the schema or reference fewer files",
                ));
            }
            seen.push(rel.clone());
            let value = read_json(suite_dir, &rel, written)?;
            queue.push((rel.clone(), file_refs(&value)));
            embedded.push((rel, value));
        }
    }
    if embedded.is_empty() {
        return Ok(root);
    }
    let legacy = obj.get("$schema").and_then(Value::as_str).is_some_and(|s| {
        ["draft-04", "draft-06", "draft-07"]
            .iter()
            .any(|d| s.contains(d))
    });
    let defs_key = if legacy { "definitions" } else { "$defs" };
    let Some(obj) = root.as_object_mut() else {
        return Ok(root);
    };
    obj.insert("$id".into(), Value::String(format!("{BUNDLE_BASE}{start}")));
    let defs = obj
        .entry(defs_key)
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    let Some(defs) = defs.as_object_mut() else {
        return Err(problem(
            format!("schema file `{written}`: `{defs_key}` is not a mapping"),
            "expected a mapping of schemas",
        ));
    };
    for (rel, mut value) in embedded {
        if let Some(o) = value.as_object_mut() {
            o.insert("$id".into(), Value::String(format!("{BUNDLE_BASE}{rel}")));
        } else {
            // A boolean schema cannot carry `$id`; wrap it.
            value = serde_json::json!({"$id": format!("{BUNDLE_BASE}{rel}"), "allOf": [value]});
        }
        defs.insert(format!("driftwatch-file:{rel}"), value);
    }
    Ok(root)
}

fn escapes(r: &str, written: &str) -> SchemaProblem {
    problem(
        format!("schema `$ref` `{r}` in `{written}` is an absolute path"),
        "schema files reference other files by a path relative to the referring file",
    )
}

/// Every `$ref` in `v` that names another file by a relative path (no scheme, not `#…`).
fn file_refs(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && !r.starts_with('#')
                    && !r.contains(':')
                    && !r.is_empty()
                    && !out.contains(r)
                {
                    out.push(r.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(list) => stack.extend(list),
            _ => {}
        }
    }
    out
}

/// `dir` + `/` + `rel` with `.` and `..` applied lexically, as a `/`-separated path relative
/// to the suite's directory; `None` for an absolute path.
fn normalize(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.starts_with('\\') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in rel.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                if matches!(parts.last(), None | Some(&"..")) {
                    parts.push("..");
                } else {
                    parts.pop();
                }
            }
            s => parts.push(s),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
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

    /// `init` writes shared component schemas as files that reference each other; the file
    /// a suite names is bundled so the offline validator of a run resolves every `$ref`.
    #[test]
    fn relative_file_refs_are_bundled_and_resolve_offline() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("schemas/p");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("Contacts.json"),
            r#"{"type":"object","properties":{"Contacts":{"type":"array","items":{"$ref":"Contact.json"}}}}"#,
        )
        .unwrap();
        // Recursive through files, and a fragment into another file.
        std::fs::write(
            d.join("Contact.json"),
            r#"{"type":"object","required":["ContactID"],"properties":{"ContactID":{"$ref":"../common.json#/$defs/id"},"Parent":{"$ref":"Contact.json"}}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("schemas/common.json"),
            r#"{"$defs":{"id":{"type":"string","format":"uuid"}}}"#,
        )
        .unwrap();
        let schema = read_schema_file(dir.path(), "schemas/p/Contacts.json").unwrap();
        assert_eq!(check_schema(&schema), Ok(()));
        let validator = jsonschema::options().offline().build(&schema).unwrap();
        let ok = json!({"Contacts": [{"ContactID": "a", "Parent": {"ContactID": "b"}}]});
        assert!(validator.is_valid(&ok));
        let bad = json!({"Contacts": [{"ContactID": "a", "Parent": {"ContactID": 5}}]});
        let errors: Vec<String> = validator
            .iter_errors(&bad)
            .map(|e| format!("{} {}", e.instance_path(), e))
            .collect();
        assert_eq!(
            errors,
            ["/Contacts/0/Parent/ContactID 5 is not of type \"string\""]
        );
        let missing = json!({"Contacts": [{"Parent": {"ContactID": "b"}}]});
        assert!(!validator.is_valid(&missing));

        std::fs::write(d.join("Broken.json"), r#"{"$ref":"Gone.json"}"#).unwrap();
        let err = read_schema_file(dir.path(), "schemas/p/Broken.json").unwrap_err();
        assert!(
            err.message.starts_with(
                "cannot read schema file `schemas/p/Gone.json` (referenced from `schemas/p/Broken.json`): "
            ),
            "{}",
            err.message
        );
        std::fs::write(d.join("Abs.json"), r#"{"$ref":"/etc/passwd"}"#).unwrap();
        let err = read_schema_file(dir.path(), "schemas/p/Abs.json").unwrap_err();
        assert_eq!(
            err.message,
            "schema `$ref` `/etc/passwd` in `schemas/p/Abs.json` is an absolute path"
        );
    }
}
