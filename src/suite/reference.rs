//! `docs/suite-reference.md`: the suite format as Markdown, rendered from the
//! JSON Schema the loader derives (`suite_json_schema`), so the reference can
//! never describe a key the loader does not know. Pure text work: never reads
//! a suite, a file or the environment.

use super::schema::suite_json_schema;
use serde_json::{Map, Value};

/// The hand-written part above the generated tables.
const INTRO: &str = "# Suite reference

<!-- Generated from the suite JSON Schema (`src/suite/raw.rs` doc comments, \
`driftwatch::suite::suite_reference_markdown`). Do not edit: run \
`UPDATE_GOLDEN=1 cargo test --lib suite::reference` to rewrite. -->

A suite is one YAML file per provider. `driftwatch check FILE` validates it \
(every error names `file:line:col`); `driftwatch schema` prints the same format \
as JSON Schema, committed as [suite.schema.json](suite.schema.json) for editor \
autocompletion. The README's \"Suite format\" section shows a complete annotated \
suite; the [example suites](../suites/examples/) show real providers; this page \
lists every key.

Conventions:

- Any string value may contain `${env:VAR}` references, resolved when the suite \
is loaded. `check` warns about an unset variable, `run` refuses it. Secrets \
(`client_secret`, `token`, `password`, credential headers) must be written as \
exactly one `${env:VAR}` reference, or `check` warns.
- Endpoint `path`, `query` and `headers` values may contain `${conn:NAME}`, filled per \
connection from `connections[].vars` (or the credential helper's `vars`) when the request is \
made; `check` reports a connection that lacks a name an endpoint uses. `{name}` in a `path` \
is a placeholder filled by `params` or `from`.
- Durations are a number with a unit: `500ms`, `30s`, `2m`, `12h`, `90d`.
- Unknown keys are errors, with the nearest known key suggested.
- A key marked *required* must be present; the others may be left out and take \
the default shown (`—`: none, the behaviour the description names applies).
";

/// The hand-written semantics below the generated tables: behaviour a key's one-line
/// description cannot hold.
const NOTES: &str = "
## Several grants per provider

`auths:` declares named auths instead of the single `auth:` (which is one auth named \
`default`); each takes every key of [`auth`](#auth). Each connection names its auth with \
`auth:` (required when there are several; unknown names are an error with a suggestion). \
Two registered clients of one provider (say `client_secret_basic` and `client_secret_post`) \
are two auths.

```yaml
auths:
  user:    {grant: authorization_code, token_url: /oauth/token, client_id: ${env:CLIENT_ID}, client_secret: ${env:CLIENT_SECRET}}
  service: {grant: client_credentials, token_url: /oauth/token, client_id: ${env:CLIENT_ID}, client_secret: ${env:CLIENT_SECRET}, client_auth: post}
connections:
  - {id: alice, auth: user, scope_set: full}
  - {id: robot, auth: service, scope_set: reporting}
```

- One provider name and one baseline folder: observations are keyed by connection and \
endpoint as before, so a `service` connection and a `user` connection sit side by side.
- Credential store and helper keys stay `<provider>/<connection>` (or `credential:`): \
a suite moved from `auth:` to `auths:` keeps its stored grants. All auths share one \
credential store; two different `credential_helper` commands are an error.
- Each auth resolves its own token endpoint (`token_url` or `discovery_url`); the token \
probe's deliberate error request is sent once per auth with a client. The refresh probe \
judges each connection by its own auth's grant and documented refresh behaviour; \
`connect` authorises a connection with its own auth.
- Permissions: a scope set belongs to the auths whose connections name it (`scope_set:`), \
and only their grants are used (or narrowed) to probe it; a set no connection names may be \
probed with any auth's grant.

## Field-level requirements

`endpoints[].requires_fields` maps a field path to the scopes without which the provider \
leaves that field out by design (`/me` returns `email` only with scope `email`):

```yaml
- id: me
  path: /v1/me
  requires: [profile]
  requires_fields: {\"$.email\": [email]}
```

The permissions probe still compares every scope set's answer with the fullest one. For a \
`partial` cell, each missing path that is a listed field (or lies below one) is moved to \
the cell's `fields_withheld` when the cell's scope set lacks at least one of that field's \
scopes. A cell left with no missing path and no missing array items is `granted` \
(`{class: granted, fields_withheld: [$.email]}`), so `permission.undocumented-requirement` \
does not fire for it. A listed field missing under a scope set that holds all its scopes \
stays in `missing_paths`: the cell is `partial`, and `permission.undocumented-requirement` \
reports it. Paths use the shape notation (`$.a.b`, `$.items[].b`; `[*]` is read as `[]`).

## Schema tolerance

`endpoints[].tolerate` maps a field path to what may vary there without schema drift:

| level | not reported | where |
|---|---|---|
| `any` | `schema.type-changed`, `schema.type-widened`, `schema.nullability-changed`, `schema.format-changed` | at the path and every path below it |
| `type` | the same four | at exactly the path |
| `format` | `schema.format-changed` | at exactly the path |

Presence is never tolerated: `schema.field-added`, `schema.field-removed`, \
`schema.field-renamed`, `schema.optionality-changed` and `schema.map-changed` are reported \
as always. An observation whose only differences are tolerated is unchanged: no pending \
snapshot is written, and the baseline keeps the shape it had.
";

/// The whole reference page: the intro, then one section per mapping of the format,
/// in the order a suite is written, then the notes.
pub fn suite_reference_markdown() -> String {
    let mut out = String::from(INTRO);
    out.push_str(&render_sections(&suite_json_schema()));
    out.push_str(NOTES);
    out
}

/// One section per object schema reachable from the root, depth-first in key order
/// (so `auth.refresh` follows `auth`), named by its YAML path (`endpoints[].values`).
fn render_sections(root: &Value) -> String {
    let defs = root.get("$defs").and_then(Value::as_object);
    let lookup = |v: &Value| -> Option<Value> { resolve(v, defs) };
    let mut out = String::new();
    render_section(&mut out, "top level", root, &lookup);
    out
}

fn render_section(
    out: &mut String,
    path: &str,
    schema: &Value,
    lookup: &dyn Fn(&Value) -> Option<Value>,
) {
    out.push_str(&format!("\n## {}\n\n", heading(path)));
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        out.push_str(&format!("{}\n\n", one_line(d)));
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let empty = Map::new();
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut keys: Vec<&String> = props.keys().collect();
    // Required keys first, in the schema's declared order; then the rest by name.
    keys.sort_by_key(|k| {
        (
            required.iter().position(|r| r == k).unwrap_or(usize::MAX),
            k.as_str(),
        )
    });
    out.push_str("| key | type | required | default | description |\n|---|---|---|---|---|\n");
    let mut variants = Vec::new();
    let mut nested = Vec::new();
    for key in keys {
        let prop = &props[key];
        let child_path = if path == "top level" {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let (ty, child) = type_of(prop, lookup, &child_path);
        nested.extend(child);
        let default = match prop.get("default") {
            None | Some(Value::Null) => "—".to_string(),
            Some(v) => format!("`{v}`"),
        };
        let mut description = prop
            .get("description")
            .and_then(Value::as_str)
            .map(one_line)
            .unwrap_or_default();
        if let Some(p) = prop.get("pattern").and_then(Value::as_str) {
            description.push_str(&format!(" Pattern: `{p}`."));
        }
        if let Some(m) = prop.get("minimum").and_then(Value::as_u64)
            && m > 0
        {
            description.push_str(&format!(" Minimum: {m}."));
        }
        let required = if required.contains(&key.as_str()) {
            "*required*"
        } else {
            ""
        };
        out.push_str(&format!(
            "| `{key}` | {} | {required} | {default} | {} |\n",
            cell(&ty),
            cell(description.trim())
        ));
        variants.extend(variant_list(key, prop, lookup));
    }
    for v in variants {
        out.push('\n');
        out.push_str(&v);
    }
    for (child_path, child_schema) in nested {
        render_section(out, &child_path, &child_schema, lookup);
    }
}

/// Follows a local `$ref` and unwraps `Option` (`anyOf: [X, {type: null}]`).
fn resolve(v: &Value, defs: Option<&Map<String, Value>>) -> Option<Value> {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/")?;
        return defs?.get(name).cloned();
    }
    if let Some(any) = v.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = any.iter().filter(|s| !is_null_type(s)).collect();
        if non_null.len() == 1 && any.len() == 2 {
            return resolve(non_null[0], defs).or_else(|| Some(non_null[0].clone()));
        }
    }
    None
}

fn is_null_type(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// The type column, plus the nested object section this property opens (if any).
fn type_of(
    prop: &Value,
    lookup: &dyn Fn(&Value) -> Option<Value>,
    path: &str,
) -> (String, Option<(String, Value)>) {
    let target = lookup(prop).unwrap_or_else(|| prop.clone());
    if target.get("properties").is_some() {
        let link = format!("[mapping](#{})", anchor(path));
        return (link, Some((path.to_string(), target)));
    }
    if let Some(items) = array_items(&target) {
        let item = lookup(items).unwrap_or_else(|| items.clone());
        if item.get("properties").is_some() {
            let item_path = format!("{path}[]");
            let link = format!("list of [mappings](#{})", anchor(&item_path));
            return (link, Some((item_path, item)));
        }
        return (format!("list of {}", plain_type(&item)), None);
    }
    if let Some(values) = target.get("additionalProperties").filter(|v| v.is_object()) {
        let value = lookup(values).unwrap_or_else(|| values.clone());
        return (format!("map of string to {}", plain_type(&value)), None);
    }
    (plain_type(&target), None)
}

fn array_items(v: &Value) -> Option<&Value> {
    let is_array = match v.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "array"),
        _ => false,
    };
    if is_array { v.get("items") } else { None }
}

/// A scalar-ish type name: `string`, `integer`, `one of ...`, `integer or string`, `any`.
fn plain_type(v: &Value) -> String {
    if let Some(consts) = enum_values(v) {
        return format!("one of {}", consts.join(", "));
    }
    if let Some(items) = array_items(v) {
        return format!("list of {}", plain_type(items));
    }
    if let Some(alts) = v
        .get("anyOf")
        .or_else(|| v.get("oneOf"))
        .and_then(Value::as_array)
    {
        let names: Vec<String> = alts
            .iter()
            .filter(|a| !is_null_type(a))
            .map(plain_type)
            .collect();
        return names.join(" or ");
    }
    match v.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_string(),
    }
}

/// `oneOf` of string constants (a Rust unit enum) as backticked values.
fn enum_values(v: &Value) -> Option<Vec<String>> {
    let alts = v.get("oneOf").and_then(Value::as_array)?;
    alts.iter()
        .map(|a| {
            a.get("const")
                .map(|c| format!("`{}`", c.as_str().unwrap_or_default()))
        })
        .collect()
}

/// Under the table: what each value of an enum (or each form of an untagged union) means.
fn variant_list(
    key: &str,
    prop: &Value,
    lookup: &dyn Fn(&Value) -> Option<Value>,
) -> Option<String> {
    let mut target = lookup(prop).unwrap_or_else(|| prop.clone());
    if let Some(items) = array_items(&target) {
        target = lookup(items).unwrap_or_else(|| items.clone());
    }
    let alts = target
        .get("oneOf")
        .or_else(|| target.get("anyOf"))
        .and_then(Value::as_array)?;
    let lines: Vec<String> = alts
        .iter()
        .filter(|a| !is_null_type(a))
        .filter_map(|a| {
            let what = match a.get("const") {
                Some(c) => format!("`{}`", c.as_str().unwrap_or_default()),
                None => plain_type(a),
            };
            let d = a.get("description").and_then(Value::as_str)?;
            Some(format!("- {what}: {}\n", one_line(d)))
        })
        .collect();
    if lines.is_empty() {
        return None;
    }
    Some(format!("`{key}`:\n\n{}", lines.concat()))
}

fn heading(path: &str) -> String {
    if path == "top level" {
        "Top level".to_string()
    } else {
        format!("`{path}`")
    }
}

/// GitHub's heading anchor: lowercase, punctuation other than `-` and `_` dropped.
fn anchor(path: &str) -> String {
    path.chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Doc comments wrap lines; a table cell needs one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_sections_types_defaults_and_enum_values() {
        let schema = json!({
            "description": "Root.",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "description": "The name.", "pattern": "^[a-z]+$"},
                "count": {"type": ["integer", "null"], "default": null, "minimum": 1},
                "mode": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "null"}], "description": "How."},
                "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "description": "a\n  b"},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}, "default": {}}
            },
            "$defs": {
                "Mode": {"oneOf": [
                    {"const": "fast", "description": "Quick."},
                    {"const": "slow", "description": "Careful | thorough."}
                ]},
                "Item": {"description": "One item.", "properties": {
                    "on": {"type": "boolean", "default": false, "description": "Switch."}
                }}
            }
        });
        let expected = "
## Top level

Root.

| key | type | required | default | description |
|---|---|---|---|---|
| `name` | string | *required* | — | The name. Pattern: `^[a-z]+$`. |
| `count` | integer |  | — | Minimum: 1. |
| `items` | list of [mappings](#items) |  | — | a b |
| `mode` | one of `fast`, `slow` |  | — | How. |
| `tags` | map of string to string |  | `{}` |  |

`mode`:

- `fast`: Quick.
- `slow`: Careful | thorough.

## `items[]`

One item.

| key | type | required | default | description |
|---|---|---|---|---|
| `on` | boolean |  | `false` | Switch. |
";
        assert_eq!(render_sections(&schema), expected);
    }

    #[test]
    fn anchors_match_github_headings() {
        assert_eq!(anchor("endpoints[].values.rules[]"), "endpointsvaluesrules");
        assert_eq!(
            anchor("auth.refresh_token_lifetime"),
            "authrefresh_token_lifetime"
        );
    }

    #[test]
    fn untagged_unions_read_as_alternatives() {
        let v =
            json!({"anyOf": [{"type": "integer", "description": "Bytes."}, {"type": "string"}]});
        assert_eq!(plain_type(&v), "integer or string");
        assert_eq!(
            variant_list("max_body", &v, &|_| None).as_deref(),
            Some("`max_body`:\n\n- integer: Bytes.\n")
        );
    }

    #[test]
    fn every_key_of_the_suite_schema_is_documented() {
        let md = suite_reference_markdown();
        for key in [
            "`version`",
            "`auth.refresh_token_lifetime`",
            "`endpoints[].values.rules[]`",
            "`endpoints[].values.complete_flag`",
            "`replay_delay`",
            "`client_credentials`",
            "`openid-configuration`",
            "`max_retry_wait`",
        ] {
            assert!(md.contains(key), "{key} missing");
        }
    }

    #[test]
    fn docs_suite_reference_md_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/suite-reference.md");
        let rendered = suite_reference_markdown();
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &rendered).expect("docs/suite-reference.md is writable");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == rendered,
            "docs/suite-reference.md is out of date: run `UPDATE_GOLDEN=1 cargo test --lib suite::reference`"
        );
    }
}
