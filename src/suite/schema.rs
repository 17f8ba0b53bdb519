//! The JSON Schema of the suite format, generated from the raw serde structs so
//! editors (yaml-language-server) and `driftwatch schema` never drift from the loader.

use super::raw::RawSuite;

/// JSON Schema of the suite format (what `driftwatch schema` prints, pretty, trailing newline).
pub fn suite_json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(RawSuite).to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".to_string(),
            serde_json::Value::String("https://driftwatch.dev/schemas/suite-v1.json".to_string()),
        );
        // Exactly one of `auth` (one auth) and `auths` (several named auths).
        obj.insert(
            "oneOf".to_string(),
            serde_json::json!([{"required": ["auth"]}, {"required": ["auths"]}]),
        );
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_a_valid_json_schema_with_descriptions() {
        let schema = suite_json_schema();
        assert_eq!(
            jsonschema::meta::validate(&schema).map_err(|e| e.to_string()),
            Ok(())
        );
        assert_eq!(
            schema
                .pointer("/properties/version/description")
                .and_then(|v| v.as_str()),
            Some("Suite format version; must be `1`.")
        );
        let required = schema.pointer("/required").cloned();
        assert_eq!(required, Some(serde_json::json!(["version", "provider"])));
        assert_eq!(
            schema.pointer("/oneOf").cloned(),
            Some(serde_json::json!([{"required": ["auth"]}, {"required": ["auths"]}]))
        );
    }
}
