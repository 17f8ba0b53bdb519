//! Local `$ref` resolution in an OpenAPI document, and the rewrite of an OpenAPI schema
//! into a self-contained JSON Schema (2020-12) that validates the same data.
//!
//! Knows JSON pointers and schema keywords; knows nothing about suites or YAML.

use super::error::InitError;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Deeper than this, a (non-recursive) schema is cut and accepts anything: a guard against
/// documents that expand exponentially, not a limit real schemas reach.
const MAX_DEPTH: usize = 32;

/// Annotations left out of generated schemas: they never change what validates, and the
/// suite stays readable. `$id`/`$schema`/`$anchor` would change how `#/$defs/…` resolves.
const DROPPED: [&str; 11] = [
    "description",
    "example",
    "examples",
    "externalDocs",
    "xml",
    "discriminator",
    "$id",
    "$schema",
    "$anchor",
    "$defs",
    "definitions",
];

/// The value at a local reference (`#/components/schemas/Pet`), JSON-pointer escapes
/// (`~0`, `~1`) and percent-encoding decoded. `None` when nothing is there.
pub(crate) fn lookup<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = percent_decode(reference.strip_prefix('#')?);
    if fragment.is_empty() {
        return Some(root);
    }
    root.pointer(&fragment)
}

/// Follows a chain of `$ref`s from `node` (a response, parameter or path item) to the object
/// it names. `Ok(None)`: the chain leaves the document (an external reference).
pub(crate) fn deref<'a>(
    root: &'a Value,
    node: &'a Value,
    at: &str,
) -> Result<Option<&'a Value>, InitError> {
    let mut cur = node;
    let mut seen: Vec<&str> = Vec::new();
    while let Some(r) = cur.get("$ref").and_then(Value::as_str) {
        if !r.starts_with('#') {
            return Ok(None);
        }
        if seen.contains(&r) {
            return Err(InitError::RefCycle {
                pointer: r.to_string(),
                at: at.to_string(),
            });
        }
        seen.push(r);
        cur = lookup(root, r).ok_or_else(|| InitError::BrokenRef {
            pointer: r.to_string(),
            at: at.to_string(),
        })?;
    }
    Ok(Some(cur))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON pointer segment as written in a reference (`a/b` → `a~1b`).
pub(crate) fn escape_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Rewrites OpenAPI schemas into self-contained JSON Schemas.
///
/// Every local `$ref` is inlined. A reference back into a schema that is being expanded
/// (a recursive schema) becomes `{"$ref": "#/$defs/<Name>"}` with the schema once under
/// the result's `$defs`, so recursion never loops. OpenAPI 3.0 `nullable: true` becomes a
/// `null` type (and a `null` enum member), and 3.0's boolean `exclusiveMinimum`/`Maximum`
/// the 2020-12 numbers, so the declared schema validates the same data in both versions.
pub(crate) struct SchemaResolver<'a> {
    root: &'a Value,
    v30: bool,
    /// Recursive targets of the schema being resolved: pointer → `$defs` name.
    defs: BTreeMap<String, String>,
    /// Component-file mode: `#/components/schemas/<Name>` becomes `{"$ref": "<Name>.json"}`
    /// instead of being inlined, and the component is written once as its own file.
    files: Option<ComponentFiles>,
    /// What was left out, for the user (external references, cut depth).
    pub warnings: Vec<String>,
}

/// The component schemas referenced so far, and the file each one becomes.
#[derive(Default)]
struct ComponentFiles {
    /// Pointer → file name (`Contact.json`), unique ignoring case.
    names: BTreeMap<String, String>,
    /// Lowercased file names taken (case-insensitive file systems).
    taken: BTreeSet<String>,
    /// Pointers referenced but not yet written.
    pending: Vec<String>,
}

/// `#/components/schemas/<Name>` (exactly one segment after the prefix).
fn component_pointer(r: &str) -> bool {
    r.strip_prefix("#/components/schemas/")
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// A file name from a component name: `[A-Za-z0-9_.-]` kept, others `_`, never hidden.
fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "schema".to_string()
    } else {
        s
    }
}

impl<'a> SchemaResolver<'a> {
    /// A resolver for `root`; `v30` turns on the OpenAPI 3.0 rewrites.
    pub(crate) fn new(root: &'a Value, v30: bool) -> Self {
        SchemaResolver {
            root,
            v30,
            defs: BTreeMap::new(),
            files: None,
            warnings: Vec::new(),
        }
    }

    /// A resolver in component-file mode: every reference to a component schema stays a
    /// reference, to the file [`Self::component_files`] writes for it.
    pub(crate) fn with_component_files(root: &'a Value, v30: bool) -> Self {
        SchemaResolver {
            files: Some(ComponentFiles::default()),
            ..Self::new(root, v30)
        }
    }

    /// A file name for `extra` (an endpoint's own response schema) that no component
    /// file uses.
    pub(crate) fn reserve_file(&mut self, stem: &str) -> String {
        let files = self.files.get_or_insert_with(ComponentFiles::default);
        let base = file_stem(stem);
        let mut name = format!("{base}.json");
        let mut n = 2;
        while !files.taken.insert(name.to_ascii_lowercase()) {
            name = format!("{base}-{n}.json");
            n += 1;
        }
        name
    }

    fn component_file(&mut self, pointer: &str) -> String {
        let files = self.files.get_or_insert_with(ComponentFiles::default);
        if let Some(name) = files.names.get(pointer) {
            return name.clone();
        }
        let raw = pointer.rsplit('/').next().unwrap_or_default();
        let decoded = percent_decode(raw).replace("~1", "/").replace("~0", "~");
        let base = file_stem(&decoded);
        let mut name = format!("{base}.json");
        let mut n = 2;
        while !files.taken.insert(name.to_ascii_lowercase()) {
            name = format!("{base}-{n}.json");
            n += 1;
        }
        files.names.insert(pointer.to_string(), name.clone());
        files.pending.push(pointer.to_string());
        name
    }

    /// Every component schema referenced so far (and those they reference), as
    /// `(file name, JSON Schema)`, sorted by file name. A component that is not a valid JSON
    /// Schema after conversion is written as `{}` (accepts anything), with a warning.
    pub(crate) fn component_files(&mut self) -> Result<Vec<(String, Value)>, InitError> {
        let mut out = Vec::new();
        while let Some(pointer) = self.files.as_mut().and_then(|f| f.pending.pop()) {
            let name = self.component_file(&pointer);
            let target = lookup(self.root, &pointer).ok_or_else(|| InitError::BrokenRef {
                pointer: pointer.clone(),
                at: pointer.clone(),
            })?;
            let mut schema = self.resolve(target, &pointer)?;
            if let Err(e) = jsonschema::meta::validate(&schema) {
                self.warnings.push(format!(
                    "component schema `{pointer}` is not a valid JSON Schema after conversion ({e}): its file accepts anything"
                ));
                schema = json!({});
            }
            out.push((name, schema));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The self-contained JSON Schema for `schema`, written at pointer `at`.
    pub(crate) fn resolve(&mut self, schema: &Value, at: &str) -> Result<Value, InitError> {
        self.defs.clear();
        let mut out = self.walk(schema, at, &mut Vec::new(), 0)?;
        let mut bodies: BTreeMap<String, Value> = BTreeMap::new();
        // Resolving one recursive target can discover another; repeat until none is new.
        loop {
            let pending: Vec<(String, String)> = self
                .defs
                .iter()
                .filter(|(_, name)| !bodies.contains_key(*name))
                .map(|(p, n)| (p.clone(), n.clone()))
                .collect();
            if pending.is_empty() {
                break;
            }
            for (pointer, name) in pending {
                let target = lookup(self.root, &pointer).unwrap_or(&Value::Null);
                let body = self.walk(target, &pointer, &mut vec![pointer.clone()], 1)?;
                bodies.insert(name, body);
            }
        }
        if !bodies.is_empty() {
            // A recursive schema at the top is written once, under `$defs`.
            if let Some(name) = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| self.defs.get(r))
            {
                out = json!({ "$ref": format!("#/$defs/{name}") });
            }
            if !out.is_object() {
                out = json!({ "allOf": [out] });
            }
            if let Some(obj) = out.as_object_mut() {
                obj.insert("$defs".into(), Value::Object(bodies.into_iter().collect()));
            }
        }
        Ok(out)
    }

    fn def_name(&mut self, pointer: &str) -> String {
        if let Some(name) = self.defs.get(pointer) {
            return name.clone();
        }
        let last = percent_decode(pointer.rsplit('/').next().unwrap_or("schema"))
            .replace("~1", "/")
            .replace("~0", "~");
        let base: String = last
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let base = if base.is_empty() {
            "schema".into()
        } else {
            base
        };
        let mut name = base.clone();
        let mut n = 2;
        while self.defs.values().any(|v| *v == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.defs.insert(pointer.to_string(), name.clone());
        name
    }

    fn walk(
        &mut self,
        node: &Value,
        at: &str,
        stack: &mut Vec<String>,
        depth: usize,
    ) -> Result<Value, InitError> {
        let Value::Object(obj) = node else {
            return Ok(node.clone());
        };
        if depth > MAX_DEPTH {
            self.warnings.push(format!(
                "schema at `{at}` is nested deeper than {MAX_DEPTH} levels: cut there (accepts anything below)"
            ));
            return Ok(json!({}));
        }
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            return self.reference(obj, r, at, stack, depth);
        }
        let mut out = Map::new();
        for (key, value) in obj {
            if DROPPED.contains(&key.as_str()) || key.starts_with("x-") {
                continue;
            }
            let here = format!("{at}/{}", escape_segment(key));
            let walked = match key.as_str() {
                "nullable" if self.v30 => continue,
                "properties" | "patternProperties" | "dependentSchemas" => match value {
                    Value::Object(map) => {
                        let mut m = Map::new();
                        for (name, sub) in map {
                            let sub_at = format!("{here}/{}", escape_segment(name));
                            m.insert(name.clone(), self.walk(sub, &sub_at, stack, depth + 1)?);
                        }
                        Value::Object(m)
                    }
                    other => other.clone(),
                },
                "items" | "prefixItems" | "allOf" | "anyOf" | "oneOf" => match value {
                    Value::Array(list) => Value::Array(
                        list.iter()
                            .enumerate()
                            .map(|(i, sub)| {
                                self.walk(sub, &format!("{here}/{i}"), stack, depth + 1)
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    other => self.walk(other, &here, stack, depth + 1)?,
                },
                "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "additionalItems" => self.walk(value, &here, stack, depth + 1)?,
                _ => value.clone(),
            };
            out.insert(key.clone(), walked);
        }
        if self.v30 {
            exclusive_bounds(&mut out);
            if obj.get("nullable") == Some(&Value::Bool(true)) {
                return Ok(nullable(out));
            }
        }
        Ok(Value::Object(out))
    }

    fn reference(
        &mut self,
        obj: &Map<String, Value>,
        r: &str,
        at: &str,
        stack: &mut Vec<String>,
        depth: usize,
    ) -> Result<Value, InitError> {
        if !r.starts_with('#') {
            self.warnings.push(format!(
                "external `$ref` `{r}` at `{at}` left out: only references inside the document are resolved (that part accepts anything)"
            ));
            return Ok(json!({}));
        }
        let target = lookup(self.root, r).ok_or_else(|| InitError::BrokenRef {
            pointer: r.to_string(),
            at: at.to_string(),
        })?;
        let resolved = if self.files.is_some() && component_pointer(r) {
            json!({ "$ref": self.component_file(r) })
        } else if stack.iter().any(|s| s == r) {
            json!({ "$ref": format!("#/$defs/{}", self.def_name(r)) })
        } else {
            stack.push(r.to_string());
            let v = self.walk(target, r, stack, depth + 1)?;
            stack.pop();
            v
        };
        let siblings: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| *k != "$ref")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if self.v30 {
            // 3.0 ignores `$ref` siblings, but `nullable: true` beside a `$ref` is so common
            // that honouring it is what the author meant.
            if siblings.get("nullable") == Some(&Value::Bool(true)) {
                return Ok(json!({ "anyOf": [resolved, {"type": "null"}] }));
            }
            return Ok(resolved);
        }
        let rest = self.walk(&Value::Object(siblings), at, stack, depth)?;
        match rest {
            Value::Object(m) if m.is_empty() => Ok(resolved),
            rest => Ok(json!({ "allOf": [resolved, rest] })),
        }
    }
}

/// 3.0's `exclusiveMaximum: true` + `maximum: n` is 2020-12's `exclusiveMaximum: n`.
fn exclusive_bounds(out: &mut Map<String, Value>) {
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match out.get(flag) {
            Some(Value::Bool(true)) => {
                if let Some(n) = out.remove(bound) {
                    out.insert(flag.into(), n);
                } else {
                    out.remove(flag);
                }
            }
            Some(Value::Bool(false)) => {
                out.remove(flag);
            }
            _ => {}
        }
    }
}

/// A 3.0 schema with `nullable: true`, rewritten to also accept `null`.
fn nullable(mut out: Map<String, Value>) -> Value {
    if let Some(Value::Array(members)) = out.get_mut("enum")
        && !members.contains(&Value::Null)
    {
        members.push(Value::Null);
    }
    match out.get("type").cloned() {
        Some(Value::String(t)) => {
            out.insert("type".into(), json!([t, "null"]));
            Value::Object(out)
        }
        Some(Value::Array(mut types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
            out.insert("type".into(), Value::Array(types));
            Value::Object(out)
        }
        _ if out.is_empty() => Value::Object(out),
        _ => json!({ "anyOf": [Value::Object(out), {"type": "null"}] }),
    }
}
