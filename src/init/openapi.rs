//! Reads an OpenAPI 3.0/3.1 document (YAML or JSON, as a `serde_json::Value`) into a
//! [`Plan`] of the suite to write: provider, auth, scopes, GET endpoints and their schemas.
//!
//! Hand-walks the document (no OpenAPI model crate handles both 3.0 and 3.1); knows
//! nothing about how the suite is rendered.

use super::emit::render;
use super::error::InitError;
use super::refs::{SchemaResolver, deref, escape_segment};
use super::security::{Security, is_http_url, requires};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What `init --from-openapi` needs besides the document.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// How the document is named in the generated header (a file name, never a temp path).
    pub source_name: String,
    /// Overrides `servers[0]` as the suite's `base_url` (e.g. `${env:ACME_BASE_URL}`).
    pub base_url: Option<String>,
    /// Overrides the provider name derived from `info.title`.
    pub provider: Option<String>,
}

/// A generated suite and what was left out on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The suite, as YAML text.
    pub yaml: String,
    /// One line per thing skipped or needing attention, for stderr.
    pub warnings: Vec<String>,
}

/// Which OAuth grant the suite uses, and the URLs it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthPlan {
    /// `authorization_code` (always with PKCE), from a flow or OpenID Connect discovery.
    AuthorizationCode {
        authorize_url: Option<String>,
        token_url: Option<String>,
        discovery_url: Option<String>,
    },
    ClientCredentials {
        token_url: String,
    },
    Password {
        token_url: String,
    },
    /// No usable OAuth scheme: a token pasted into the environment.
    StaticBearer,
}

/// One GET endpoint of the suite.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EndpointPlan {
    pub id: String,
    pub path: String,
    pub summary: Option<String>,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub requires: Vec<String>,
    /// Comment lines about security (public, optional, other schemes).
    pub notes: Vec<String>,
    pub schema: Option<Value>,
    /// Values the user must supply (path parameters, required query parameters without an
    /// example): the endpoint is written commented out.
    pub missing: Vec<String>,
}

/// Everything the emitter writes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub source_name: String,
    pub title: String,
    pub api_version: String,
    pub openapi: String,
    pub provider: String,
    pub env_prefix: String,
    pub base_url: String,
    /// The security scheme the auth section comes from, and how it was described.
    pub scheme: Option<String>,
    pub auth: AuthPlan,
    /// The issuer of an OpenID Connect scheme, for the `metadata:` probe.
    pub issuer: Option<String>,
    /// Comment lines for the auth section.
    pub auth_notes: Vec<String>,
    pub scopes: Vec<String>,
    pub endpoints: Vec<EndpointPlan>,
}

/// Generates a suite from the OpenAPI document `text` (YAML or JSON).
pub fn from_openapi(text: &str, opts: &InitOptions) -> Result<Generated, InitError> {
    let doc: Value = serde_saphyr::from_str(text).map_err(|e| InitError::Parse(e.to_string()))?;
    let mut warnings = Vec::new();
    let plan = plan(&doc, opts, &mut warnings)?;
    Ok(Generated {
        yaml: render(&plan),
        warnings,
    })
}

/// Checks the version field; `Ok(true)` for 3.0, `Ok(false)` for 3.1.
pub(crate) fn openapi_version(doc: &Value) -> Result<(String, bool), InitError> {
    let Value::Object(root) = doc else {
        return Err(InitError::NotOpenApi);
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(v) = root.get("swagger") {
        return Err(InitError::Swagger(text(v)));
    }
    let version = text(root.get("openapi").ok_or(InitError::NotOpenApi)?);
    let is = |prefix: &str| version == prefix || version.starts_with(&format!("{prefix}."));
    if is("3.0") {
        Ok((version, true))
    } else if is("3.1") {
        Ok((version, false))
    } else {
        Err(InitError::Version(version))
    }
}

pub(crate) fn plan(
    doc: &Value,
    opts: &InitOptions,
    warnings: &mut Vec<String>,
) -> Result<Plan, InitError> {
    let (openapi, v30) = openapi_version(doc)?;
    let info = doc.get("info");
    let field = |k: &str| {
        info.and_then(|i| i.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (title, api_version) = (field("title"), field("version"));
    let provider = opts.provider.clone().unwrap_or_else(|| {
        // Provider names allow no `.`.
        let s = slug(&title.replace('.', " "));
        if s.is_empty() { "api".to_string() } else { s }
    });
    let env_prefix = env_prefix(&provider);
    let server = server_url(doc);
    let base_url = match (&opts.base_url, &server) {
        (Some(b), _) => b.clone(),
        (None, Some(s)) if is_http_url(s) => s.clone(),
        (None, other) => {
            let var = format!("{env_prefix}_BASE_URL");
            warnings.push(match other {
                Some(s) => format!(
                    "servers[0] `{s}` is not an absolute URL: base_url is `${{env:{var}}}`; set it to the API's absolute URL"
                ),
                None => format!("the document lists no servers: base_url is `${{env:{var}}}`"),
            });
            format!("${{env:{var}}}")
        }
    };
    let spec_base = server.filter(|s| is_http_url(s));
    let security = Security::read(doc, spec_base.as_deref(), warnings)?;

    let mut resolver = SchemaResolver::new(doc, v30);
    let mut endpoints = Vec::new();
    let mut ids = BTreeSet::new();
    let mut skipped_methods = 0;
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            if path.starts_with("x-") {
                continue;
            }
            let at = format!("/paths/{}", escape_segment(path));
            let Some(item) = deref(doc, item, &at)? else {
                warnings.push(format!("path `{path}` is an external `$ref`: skipped"));
                continue;
            };
            skipped_methods += ["put", "post", "delete", "options", "head", "patch", "trace"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .count();
            let Some(op) = item.get("get") else { continue };
            let ep = endpoint(
                doc,
                path,
                item,
                op,
                &format!("{at}/get"),
                &security,
                &mut resolver,
                warnings,
            )?;
            let ep = EndpointPlan {
                id: unique(&ep.id, &mut ids),
                ..ep
            };
            endpoints.push(ep);
        }
    }
    warnings.append(&mut resolver.warnings);
    if skipped_methods > 0 {
        warnings.push(format!(
            "{skipped_methods} non-GET operation(s) skipped: a suite only probes reads"
        ));
    }
    let scopes: BTreeSet<String> = endpoints
        .iter()
        .filter(|e| e.missing.is_empty())
        .flat_map(|e| e.requires.iter().cloned())
        .collect();
    Ok(Plan {
        source_name: opts.source_name.clone(),
        title,
        api_version,
        openapi,
        provider,
        env_prefix,
        base_url,
        scheme: security.chosen.clone(),
        auth: security.auth,
        issuer: security.issuer,
        auth_notes: security.notes,
        scopes: scopes.into_iter().collect(),
        endpoints,
    })
}

/// `servers[0].url` with its `{variables}` replaced by their defaults, without a trailing `/`.
fn server_url(doc: &Value) -> Option<String> {
    let server = doc.get("servers")?.get(0)?;
    let mut url = server.get("url")?.as_str()?.to_string();
    if let Some(Value::Object(vars)) = server.get("variables") {
        for (name, var) in vars {
            if let Some(default) = var.get("default").and_then(scalar_text) {
                url = url.replace(&format!("{{{name}}}"), &default);
            }
        }
    }
    Some(url.trim_end_matches('/').to_string())
}

#[allow(clippy::too_many_arguments)]
fn endpoint(
    doc: &Value,
    path: &str,
    item: &Value,
    op: &Value,
    at: &str,
    security: &Security,
    resolver: &mut SchemaResolver<'_>,
    warnings: &mut Vec<String>,
) -> Result<EndpointPlan, InitError> {
    let id = match op.get("operationId").and_then(Value::as_str).map(slug) {
        Some(s) if !s.is_empty() => s,
        _ => {
            let s = slug(&format!("get {path}"));
            if s == "get" {
                "get-root".to_string()
            } else {
                s
            }
        }
    };
    let summary = op
        .get("summary")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string());

    // Operation parameters override path-item ones with the same name and location.
    let mut params: BTreeMap<(String, String), &Value> = BTreeMap::new();
    for (list, list_at) in [
        (item.get("parameters"), "parameters"),
        (op.get("parameters"), "get/parameters"),
    ] {
        for (i, p) in list
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let p_at = format!("{}/{list_at}/{i}", at.trim_end_matches("/get"));
            let Some(p) = deref(doc, p, &p_at)? else {
                warnings.push(format!(
                    "endpoint `{id}`: a parameter is an external `$ref`: skipped"
                ));
                continue;
            };
            let text = |k: &str| {
                p.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            params.insert((text("in"), text("name")), p);
        }
    }
    let (mut query, mut headers, mut missing) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    let mut filled = Vec::new();
    for ((location, name), p) in &params {
        let required = p.get("required") == Some(&Value::Bool(true)) || location == "path";
        if !required {
            continue;
        }
        match location.as_str() {
            "path" => missing.push(format!("path parameter `{{{name}}}`")),
            "query" | "header" if name.eq_ignore_ascii_case("authorization") => {}
            "query" | "header" => match example(p) {
                Some(v) => {
                    filled.push(format!("{location} `{name}: {v}`"));
                    if location == "query" {
                        query.insert(name.clone(), v);
                    } else {
                        headers.insert(name.clone(), v);
                    }
                }
                None => missing.push(format!("required {location} parameter `{name}`")),
            },
            _ => missing.push(format!(
                "required {location} parameter `{name}` (a suite cannot send it)"
            )),
        }
    }
    let (requires, mut notes, other_schemes) = requires(op, security);
    if !other_schemes.is_empty() {
        missing.push(format!(
            "credentials for {} (not the suite's auth; e.g. a header from `${{env:…}}`)",
            other_schemes.join(", ")
        ));
    }
    if !missing.is_empty() {
        warnings.push(format!(
            "endpoint `{id}` (GET {path}) written commented out: it needs {}",
            missing.join(", ")
        ));
    }
    if !filled.is_empty() {
        notes.push(format!(
            "required {} taken from the document's example/default: adjust",
            filled.join(", ")
        ));
    }

    let schema = response_schema(doc, op, at, resolver, &id, warnings)?;
    Ok(EndpointPlan {
        id,
        path: path.to_string(),
        summary,
        query,
        headers,
        requires,
        notes,
        schema,
        missing,
    })
}

/// A value to send for a required parameter: its example, else its schema's default,
/// example or first enum member. Only scalars qualify.
fn example(p: &Value) -> Option<String> {
    let schema = p.get("schema");
    let candidates = [
        p.get("example"),
        p.get("examples")
            .and_then(Value::as_object)
            .and_then(|m| m.values().next())
            .and_then(|e| e.get("value")),
        schema.and_then(|s| s.get("default")),
        schema.and_then(|s| s.get("example")),
        schema
            .and_then(|s| s.get("examples"))
            .and_then(|e| e.get(0)),
        schema.and_then(|s| s.get("enum")).and_then(|e| e.get(0)),
    ];
    candidates.into_iter().flatten().find_map(scalar_text)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The JSON schema of the 200 (else first 2xx, else `default`) `application/json` or
/// `+json` response, resolved into a self-contained JSON Schema.
fn response_schema(
    doc: &Value,
    op: &Value,
    at: &str,
    resolver: &mut SchemaResolver<'_>,
    id: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Value>, InitError> {
    let Some(Value::Object(responses)) = op.get("responses") else {
        return Ok(None);
    };
    let key = ["200"]
        .into_iter()
        .find(|k| responses.contains_key(*k))
        .or_else(|| {
            responses
                .keys()
                .map(String::as_str)
                .find(|k| k.starts_with('2'))
        })
        .or_else(|| responses.contains_key("default").then_some("default"));
    let Some(key) = key else { return Ok(None) };
    let r_at = format!("{at}/responses/{key}");
    let Some(response) = responses.get(key) else {
        return Ok(None);
    };
    let Some(response) = deref(doc, response, &r_at)? else {
        warnings.push(format!(
            "endpoint `{id}`: response `{key}` is an external `$ref`: no schema"
        ));
        return Ok(None);
    };
    let Some(Value::Object(content)) = response.get("content") else {
        return Ok(None);
    };
    let is_json = |m: &str| {
        let base = m
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        base == "application/json" || base.ends_with("+json")
    };
    let media = content
        .get("application/json")
        .map(|m| ("application/json", m))
        .or_else(|| {
            content
                .iter()
                .find(|(k, _)| is_json(k))
                .map(|(k, m)| (k.as_str(), m))
        });
    let Some((media_type, media)) = media else {
        return Ok(None);
    };
    let Some(schema) = media.get("schema") else {
        return Ok(None);
    };
    let s_at = format!("{r_at}/content/{}/schema", escape_segment(media_type));
    let resolved = resolver.resolve(schema, &s_at)?;
    // The suite loader rejects an invalid schema; better to leave it out with a reason.
    if let Err(e) = jsonschema::meta::validate(&resolved) {
        warnings.push(format!(
            "endpoint `{id}`: the response schema is not a valid JSON Schema after conversion ({e}): left out"
        ));
        return Ok(None);
    }
    Ok(Some(resolved))
}

/// A lowercase identifier: `listPets` → `list-pets`, `GET /pets/{id}` → `get-pets-id`.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('-');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push('-');
        }
    }
    let mut collapsed = String::new();
    for part in out.split('-').filter(|p| !p.is_empty()) {
        if !collapsed.is_empty() {
            collapsed.push('-');
        }
        collapsed.push_str(part);
    }
    collapsed.trim_start_matches(['_', '.']).to_string()
}

fn unique(id: &str, seen: &mut BTreeSet<String>) -> String {
    let mut candidate = id.to_string();
    let mut n = 2;
    while !seen.insert(candidate.clone()) {
        candidate = format!("{id}-{n}");
        n += 1;
    }
    candidate
}

/// `acme-crm` → `ACME_CRM`, the prefix of every environment variable the suite names.
pub(crate) fn env_prefix(provider: &str) -> String {
    let up: String = provider
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if up.starts_with(|c: char| c.is_ascii_digit()) {
        format!("API_{up}")
    } else {
        up
    }
}
