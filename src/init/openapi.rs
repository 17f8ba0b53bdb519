//! Reads an OpenAPI 3.0/3.1 document (YAML or JSON, as a `serde_json::Value`) into a
//! [`Plan`] of the suite to write: provider, auth, scopes, GET endpoints and their schemas.
//!
//! Hand-walks the document (no OpenAPI model crate handles both 3.0 and 3.1); knows
//! nothing about how the suite is rendered.

use super::emit::render;
use super::error::InitError;
use super::filter::Filter;
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
    /// Shared component schemas become files under `schemas/<provider>/` next to the suite
    /// (needs a directory: `--output`); without it, endpoints get no `schema:`.
    pub schema_files: bool,
    /// Which suite keys the suite reader of this build understands.
    pub syntax: SuiteSyntax,
    /// `--include` patterns: path glob, `tag:NAME` or `operation:ID`; none = everything.
    pub include: Vec<String>,
    /// `--exclude` patterns, same forms; they win over `--include`.
    pub exclude: Vec<String>,
}

/// The suite keys `init` may write beyond the basic format, each emitted only when the
/// suite reader knows it (so a generated suite always passes `check`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SuiteSyntax {
    /// `connections[].vars` and `${conn:NAME}` in paths, query and headers.
    pub conn_vars: bool,
    /// `endpoints[].from`: a path placeholder filled from another endpoint's answer.
    pub chained: bool,
    /// `endpoints[].requires_any`: alternatives of scope lists.
    pub requires_any: bool,
    /// `endpoints[].auth: none`: probed without a token.
    pub auth_none: bool,
}

impl SuiteSyntax {
    /// Every key this module can write.
    pub fn all() -> SuiteSyntax {
        SuiteSyntax {
            conn_vars: true,
            chained: true,
            requires_any: true,
            auth_none: true,
        }
    }

    /// What the suite reader of this build accepts, read from its JSON Schema (the same
    /// serde types `check` parses with).
    pub fn detect() -> SuiteSyntax {
        let schema = crate::suite::suite_json_schema();
        let defs = schema.get("$defs").or_else(|| schema.get("definitions"));
        let has = |def: &str, prop: &str| {
            defs.and_then(|d| d.get(def))
                .and_then(|d| d.get("properties"))
                .is_some_and(|p| p.get(prop).is_some())
        };
        SuiteSyntax {
            conn_vars: has("Connection", "vars"),
            chained: has("Endpoint", "from"),
            requires_any: has("Endpoint", "requires_any"),
            auth_none: has("Endpoint", "auth"),
        }
    }
}

/// A generated suite and what was left out on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The suite, as YAML text.
    pub yaml: String,
    /// Schema files to write beside the suite: path relative to the suite's directory
    /// (`schemas/<provider>/Contact.json`) and JSON text, sorted by path.
    pub files: Vec<(String, String)>,
    /// One line per thing skipped or needing attention, for stderr.
    pub warnings: Vec<String>,
    /// What became of the document's operations.
    pub summary: Summary,
}

/// Counts of what became of the document's operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// GET operations in the document.
    pub get_operations: usize,
    /// Endpoints written active.
    pub active: usize,
    /// Active endpoints with a `from:` chain.
    pub chained: usize,
    /// Active endpoints that use a `${conn:…}` value.
    pub conn_values: usize,
    /// Endpoints written commented out, by reason (sorted).
    pub commented_out: BTreeMap<String, usize>,
    /// GET operations left out by `--include`/`--exclude`.
    pub filtered_out: usize,
    /// Operations with another method (a suite only probes reads).
    pub non_get: usize,
}

impl Summary {
    /// The lines `init` prints on stderr after the warnings.
    pub fn lines(&self) -> Vec<String> {
        let commented: usize = self.commented_out.values().sum();
        let mut out = vec![format!(
            "{} GET operation(s): {} active ({} chained with `from:`, {} with `${{conn:…}}` values), {} commented out, {} filtered out; {} non-GET operation(s) skipped",
            self.get_operations,
            self.active,
            self.chained,
            self.conn_values,
            commented,
            self.filtered_out,
            self.non_get
        )];
        for (reason, n) in &self.commented_out {
            out.push(format!("  commented out: {n} need {reason}"));
        }
        out
    }
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
    /// Where the declared schema file is, relative to the suite's directory.
    pub schema_file: Option<String>,
    /// Values the user must supply (path parameters, required query parameters without an
    /// example): the endpoint is written commented out.
    pub missing: Vec<String>,
    /// The short reasons of `missing`, for the summary.
    pub missing_kinds: Vec<&'static str>,
    /// Path parameters still to fill (a `from:` chain or a `${conn:…}` value).
    pub path_params: Vec<String>,
    /// Placeholder → (source endpoint id, JSONPath).
    pub from: BTreeMap<String, (String, String)>,
    /// Alternatives of scope lists when the document gives several.
    pub requires_any: Vec<Vec<String>>,
    /// Probed without a token (`auth: none`): the document declares no security for it.
    pub auth_none: bool,
    /// Whether the endpoint uses a `${conn:…}` value.
    pub uses_conn: bool,
    /// The raw response schema, to find a list's ids when another endpoint chains from it.
    pub raw_schema: Option<Value>,
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
    /// Extra query parameters of the authorization request (`access_type=offline`).
    pub authorize_params: BTreeMap<String, String>,
    /// `connections[].vars` of the one connection: name → value.
    pub conn_vars: BTreeMap<String, String>,
    pub endpoints: Vec<EndpointPlan>,
}

/// Generates a suite from the OpenAPI document `text` (YAML or JSON).
pub fn from_openapi(text: &str, opts: &InitOptions) -> Result<Generated, InitError> {
    let doc: Value = if text.trim_start().starts_with('{') {
        // JSON is YAML, but the JSON parser is far faster on vendor-sized documents.
        serde_json::from_str(text).map_err(|e| InitError::Parse(e.to_string()))?
    } else {
        serde_saphyr::from_str_with_options(text, document_options())
            .map_err(|e| InitError::Parse(e.to_string()))?
    };
    let filter = Filter::new(&opts.include, &opts.exclude)?;
    let mut warnings = Vec::new();
    let mut summary = Summary::default();
    let (plan, schemas) = plan(&doc, opts, &filter, &mut warnings, &mut summary)?;
    let dir = schema_dir(&plan.provider);
    let files = schemas
        .into_iter()
        .map(|(name, v)| {
            let text = serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
            (format!("{dir}/{name}"), text)
        })
        .collect();
    Ok(Generated {
        yaml: render(&plan),
        files,
        warnings,
        summary,
    })
}

/// Where a provider's schema files go, relative to the suite's directory.
pub(crate) fn schema_dir(provider: &str) -> String {
    format!("schemas/{provider}")
}

/// Limits for reading an OpenAPI document: vendor documents are large (Box: 1.7 MB of JSON,
/// Slack: thousands of comment lines), so the budget is scaled to the size cap
/// (`bounded::SPEC_LIMIT`) instead of the defaults tuned for suites.
fn document_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: 50_000_000,
            max_events: 100_000_000,
            max_total_scalar_bytes: 64 * 1024 * 1024,
        },
    }
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

/// The plan of the suite, and the schema files it names (file name, schema).
pub(crate) fn plan(
    doc: &Value,
    opts: &InitOptions,
    filter: &Filter,
    warnings: &mut Vec<String>,
    summary: &mut Summary,
) -> Result<(Plan, Vec<(String, Value)>), InitError> {
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

    let mut resolver = if opts.schema_files {
        SchemaResolver::with_component_files(doc, v30)
    } else {
        SchemaResolver::new(doc, v30)
    };
    let ctx = EndpointCtx {
        doc,
        security: &security,
        syntax: opts.syntax,
        schema_files: opts.schema_files,
        schema_dir: schema_dir(&provider),
        env_prefix: env_prefix.clone(),
    };
    let mut endpoints = Vec::new();
    let mut ids = BTreeSet::new();
    let mut conn_vars: BTreeMap<String, String> = BTreeMap::new();
    let mut endpoint_schemas: Vec<(String, Value)> = Vec::new();
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
            summary.non_get += ["put", "post", "delete", "options", "head", "patch", "trace"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .count();
            let Some(op) = item.get("get") else { continue };
            summary.get_operations += 1;
            if !filter.accepts(path, op) {
                summary.filtered_out += 1;
                continue;
            }
            let ep = endpoint(
                &ctx,
                path,
                item,
                op,
                &format!("{at}/get"),
                &mut resolver,
                &mut conn_vars,
                &mut endpoint_schemas,
                warnings,
            )?;
            let ep = EndpointPlan {
                id: unique(&ep.id, &mut ids),
                ..ep
            };
            endpoints.push(ep);
        }
    }
    fill_path_params(
        &mut endpoints,
        opts.syntax,
        doc,
        &env_prefix,
        &mut conn_vars,
    );
    let mut files = resolver.component_files()?;
    files.append(&mut endpoint_schemas);
    files.sort_by(|a, b| a.0.cmp(&b.0));
    warnings.append(&mut resolver.warnings);
    let with_schema = endpoints.iter().filter(|e| e.raw_schema.is_some()).count();
    if !opts.schema_files && with_schema > 0 {
        warnings.push(format!(
            "{with_schema} response schema(s) left out: schemas are written as files beside the suite, which needs --output"
        ));
    }
    if summary.non_get > 0 {
        warnings.push(format!(
            "{} non-GET operation(s) skipped: a suite only probes reads",
            summary.non_get
        ));
    }
    for e in &endpoints {
        if e.missing.is_empty() {
            summary.active += 1;
            summary.chained += usize::from(!e.from.is_empty());
            summary.conn_values += usize::from(e.uses_conn);
        } else {
            for kind in &e.missing_kinds {
                *summary
                    .commented_out
                    .entry((*kind).to_string())
                    .or_default() += 1;
            }
        }
    }
    let mut scopes: BTreeSet<String> = endpoints
        .iter()
        .filter(|e| e.missing.is_empty())
        .flat_map(|e| {
            e.requires
                .iter()
                .chain(e.requires_any.iter().flatten())
                .cloned()
        })
        .collect();
    let mut auth_notes = security.notes;
    let mut authorize_params = BTreeMap::new();
    if let AuthPlan::AuthorizationCode {
        authorize_url,
        token_url,
        ..
    } = &security.auth
    {
        let declared = security.chosen.as_ref().is_some_and(|name| {
            doc.pointer(&format!(
                "/components/securitySchemes/{}/flows/authorizationCode/scopes/offline_access",
                escape_segment(name)
            ))
            .is_some()
        });
        let urls = [authorize_url.as_deref(), token_url.as_deref()];
        match refresh_family(&urls) {
            Some(RefreshFamily::OfflineAccessScope(family))
                if scopes.insert("offline_access".to_string()) =>
            {
                auth_notes.push(format!(
                    "`offline_access` added to the scope set: {family} issues a refresh token only with it"
                ));
            }
            Some(RefreshFamily::OfflineAccessScope(_)) => {}
            Some(RefreshFamily::AccessTypeOffline(family)) => {
                authorize_params.insert("access_type".to_string(), "offline".to_string());
                authorize_params.insert("prompt".to_string(), "consent".to_string());
                auth_notes.push(format!(
                    "{family} issues a refresh token only with `access_type=offline`, and again only on fresh consent"
                ));
            }
            None if declared
                && !scopes.is_empty()
                && scopes.insert("offline_access".to_string()) =>
            {
                auth_notes.push(
                    "`offline_access` added to the scope set: the document declares it for refresh tokens".to_string(),
                );
            }
            None => {}
        }
    }
    let plan = Plan {
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
        auth_notes,
        scopes: scopes.into_iter().collect(),
        authorize_params,
        conn_vars,
        endpoints,
    };
    Ok((plan, files))
}

/// How a provider family issues refresh tokens (oauth-facts.md), from its OAuth URLs.
enum RefreshFamily {
    /// Microsoft Entra, Xero: only with the `offline_access` scope.
    OfflineAccessScope(&'static str),
    /// Google: only with `access_type=offline` on the authorization request.
    AccessTypeOffline(&'static str),
}

fn refresh_family(urls: &[Option<&str>]) -> Option<RefreshFamily> {
    let hosts: Vec<String> = urls
        .iter()
        .flatten()
        .filter_map(|u| url::Url::parse(u).ok())
        .filter_map(|u| u.host_str().map(str::to_ascii_lowercase))
        .collect();
    let under = |domain: &str| {
        hosts
            .iter()
            .any(|h| h == domain || h.ends_with(&format!(".{domain}")))
    };
    if under("microsoftonline.com") || under("login.microsoft.com") || under("login.live.com") {
        Some(RefreshFamily::OfflineAccessScope("Microsoft"))
    } else if under("xero.com") {
        Some(RefreshFamily::OfflineAccessScope("Xero"))
    } else if under("accounts.google.com") || under("oauth2.googleapis.com") {
        Some(RefreshFamily::AccessTypeOffline("Google"))
    } else {
        None
    }
}

/// A `${conn:…}` name for a parameter: `ContactID` → `contact_id`, `Xero-Tenant-Id` →
/// `xero_tenant_id`.
fn conn_var_name(param: &str) -> String {
    let s = slug(param).replace(['-', '.'], "_");
    if s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s
    } else {
        format!("p_{s}")
    }
}

/// Registers the `${conn:…}` value for `param` and returns its reference.
fn conn_ref(param: &str, env_prefix: &str, conn_vars: &mut BTreeMap<String, String>) -> String {
    let name = conn_var_name(param);
    conn_vars
        .entry(name.clone())
        .or_insert_with(|| format!("${{env:{env_prefix}_{}}}", name.to_ascii_uppercase()));
    format!("${{conn:{name}}}")
}

/// Fills each endpoint's path parameters: a `from:` chain when the path without the
/// parameter is another active GET that lists the resource (`GET /things` →
/// `GET /things/{thing_id}`, the id taken from the list's first item), else a `${conn:…}`
/// value of the connection.
fn fill_path_params(
    endpoints: &mut [EndpointPlan],
    syntax: SuiteSyntax,
    doc: &Value,
    env_prefix: &str,
    conn_vars: &mut BTreeMap<String, String>,
) {
    let by_path: BTreeMap<String, usize> = endpoints
        .iter()
        .enumerate()
        .filter(|(_, e)| e.missing.is_empty())
        .map(|(i, e)| (e.path.clone(), i))
        .collect();
    for i in 0..endpoints.len() {
        let params = std::mem::take(&mut endpoints[i].path_params);
        for param in params {
            let placeholder = format!("{{{param}}}");
            let Some(at) = endpoints[i].path.find(&placeholder) else {
                continue;
            };
            let prefix = endpoints[i].path[..at].trim_end_matches('/').to_string();
            let source = syntax
                .chained
                .then(|| by_path.get(&prefix))
                .flatten()
                .filter(|&&s| s != i)
                .and_then(|&s| {
                    let json_path = endpoints[s]
                        .raw_schema
                        .as_ref()
                        .and_then(|schema| list_id_path(doc, schema, &param))?;
                    Some((endpoints[s].id.clone(), json_path))
                });
            match source {
                Some(src) => {
                    endpoints[i].from.insert(param, src);
                }
                None => {
                    let r = conn_ref(&param, env_prefix, conn_vars);
                    let e = &mut endpoints[i];
                    e.path = e.path.replace(&placeholder, &r);
                    e.uses_conn = true;
                }
            }
        }
    }
}

/// The JSONPath of the first item's id in a list response: `$[0].id` for a top-level array,
/// `$.Contacts[0].ContactID` for an object with an array of objects. The id field is the
/// one named like the parameter (`ContactID`, `contact_id`), else `id`.
fn list_id_path(doc: &Value, schema: &Value, param: &str) -> Option<String> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let wanted = norm(param);
    let schema = deref_schema(doc, schema)?;
    let id_of = |items: &Value| -> Option<String> {
        let props = object_properties(doc, items);
        props
            .iter()
            .find(|k| norm(k) == wanted)
            .or_else(|| props.iter().find(|k| k.as_str() == "id"))
            .cloned()
    };
    if let Some(items) = array_items(doc, schema) {
        let id = id_of(items)?;
        return Some(format!("$[0]{}", json_path_member(&id)));
    }
    for (name, prop) in object_property_schemas(doc, schema) {
        let Some(items) = deref_schema(doc, prop).and_then(|p| array_items(doc, p)) else {
            continue;
        };
        if let Some(id) = id_of(items) {
            return Some(format!(
                "${}[0]{}",
                json_path_member(&name),
                json_path_member(&id)
            ));
        }
    }
    None
}

/// Follows local `$ref`s of a schema (bounded), `None` for an external or broken one.
fn deref_schema<'a>(doc: &'a Value, mut schema: &'a Value) -> Option<&'a Value> {
    for _ in 0..16 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => schema = super::refs::lookup(doc, r)?,
            None => return Some(schema),
        }
    }
    None
}

fn array_items<'a>(doc: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    let is_array = schema.get("type").is_some_and(|t| {
        t == "array" || t.as_array().is_some_and(|l| l.iter().any(|x| x == "array"))
    });
    if !is_array {
        return None;
    }
    deref_schema(doc, schema.get("items")?)
}

/// The properties of an object schema, including those of its `allOf` members.
fn object_property_schemas<'a>(doc: &'a Value, schema: &'a Value) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    let mut stack = vec![(schema, 0)];
    while let Some((s, depth)) = stack.pop() {
        if let Some(Value::Object(props)) = s.get("properties") {
            out.extend(props.iter().map(|(k, v)| (k.clone(), v)));
        }
        if depth < 4
            && let Some(Value::Array(all)) = s.get("allOf")
        {
            stack.extend(
                all.iter()
                    .filter_map(|m| deref_schema(doc, m))
                    .map(|m| (m, depth + 1)),
            );
        }
    }
    out
}

fn object_properties(doc: &Value, schema: &Value) -> Vec<String> {
    object_property_schemas(doc, schema)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// `.name` when RFC 9535 allows the shorthand, else `['name']`.
fn json_path_member(name: &str) -> String {
    let shorthand = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if shorthand {
        format!(".{name}")
    } else {
        format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
    }
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

/// What every endpoint is planned with.
struct EndpointCtx<'d> {
    doc: &'d Value,
    security: &'d Security,
    syntax: SuiteSyntax,
    schema_files: bool,
    /// `schemas/<provider>`.
    schema_dir: String,
    /// Prefix of the environment variables the suite names.
    env_prefix: String,
}

#[allow(clippy::too_many_arguments)]
fn endpoint(
    ctx: &EndpointCtx<'_>,
    path: &str,
    item: &Value,
    op: &Value,
    at: &str,
    resolver: &mut SchemaResolver<'_>,
    conn_vars: &mut BTreeMap<String, String>,
    endpoint_schemas: &mut Vec<(String, Value)>,
    warnings: &mut Vec<String>,
) -> Result<EndpointPlan, InitError> {
    let doc = ctx.doc;
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
    let env_prefix = ctx.env_prefix.clone();
    let (mut query, mut headers, mut missing) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    let mut missing_kinds: Vec<&'static str> = Vec::new();
    let mut filled = Vec::new();
    let mut path_params = Vec::new();
    let mut uses_conn = false;
    for ((location, name), p) in &params {
        let required = p.get("required") == Some(&Value::Bool(true)) || location == "path";
        if !required {
            continue;
        }
        match location.as_str() {
            "path" if !path.contains(&format!("{{{name}}}")) => {}
            "path" if ctx.syntax.conn_vars => path_params.push(name.clone()),
            "path" => {
                missing.push(format!("path parameter `{{{name}}}`"));
                missing_kinds.push("a path parameter");
            }
            // The token itself: the suite's auth sends it (Slack documents `token` as a
            // required query parameter beside the bearer header).
            "query" | "header"
                if ["authorization", "token", "access_token"]
                    .iter()
                    .any(|a| name.eq_ignore_ascii_case(a)) => {}
            "query" | "header" => {
                let value = match example(p) {
                    Some(v) if ctx.syntax.conn_vars && is_placeholder(&v) => {
                        uses_conn = true;
                        Some(conn_ref(name, &env_prefix, conn_vars))
                    }
                    Some(v) => {
                        filled.push(format!("{location} `{name}: {v}`"));
                        Some(v)
                    }
                    None if ctx.syntax.conn_vars => {
                        uses_conn = true;
                        Some(conn_ref(name, &env_prefix, conn_vars))
                    }
                    None => None,
                };
                match value {
                    Some(v) if location == "query" => {
                        query.insert(name.clone(), v);
                    }
                    Some(v) => {
                        headers.insert(name.clone(), v);
                    }
                    None => {
                        missing.push(format!("required {location} parameter `{name}`"));
                        missing_kinds.push("a required parameter without an example");
                    }
                }
            }
            _ => {
                missing.push(format!(
                    "required {location} parameter `{name}` (a suite cannot send it)"
                ));
                missing_kinds.push("a cookie parameter");
            }
        }
    }
    // Placeholders in the path the parameters do not declare still need a value.
    for name in placeholders(path) {
        if !params.contains_key(&("path".to_string(), name.clone())) {
            if ctx.syntax.conn_vars {
                path_params.push(name);
            } else {
                missing.push(format!("path parameter `{{{name}}}`"));
                missing_kinds.push("a path parameter");
            }
        }
    }
    // Path order, so that `from:` and the summary read like the path.
    path_params.sort_by_key(|n| path.find(&format!("{{{n}}}")));
    path_params.dedup();
    let req = requires(op, ctx.security);
    // An `auth: none` endpoint is probed once per suite, so it cannot take per-connection
    // values or chain from a connection's answer: those keep the token.
    let public = req.public;
    let mut notes = req.notes;
    if !req.others.is_empty() {
        missing.push(format!(
            "credentials for {} (not the suite's auth; e.g. a header from `${{env:…}}`)",
            req.others.join(", ")
        ));
        missing_kinds.push("credentials of another security scheme");
    }
    let (requires, requires_any) = match req.alternatives.len() {
        0 => (Vec::new(), Vec::new()),
        1 => (req.alternatives[0].clone(), Vec::new()),
        _ if ctx.syntax.requires_any => (Vec::new(), req.alternatives.clone()),
        _ => {
            let alts: Vec<String> = req
                .alternatives
                .iter()
                .map(|a| format!("[{}]", a.join(", ")))
                .collect();
            notes.push(format!(
                "the document accepts any one of {}; `requires` means all of, so it is left empty",
                alts.join(" or ")
            ));
            warnings.push(format!(
                "endpoint `{id}`: security alternatives {} written as a comment: this build has no `requires_any`",
                alts.join(" | ")
            ));
            (Vec::new(), Vec::new())
        }
    };
    missing_kinds.sort_unstable();
    missing_kinds.dedup();
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

    let (schema, raw_schema) = response_schema(
        doc,
        op,
        at,
        ctx.schema_files.then_some(resolver),
        &id,
        warnings,
    )?;
    let schema_file = match &schema {
        Some(s) if ctx.schema_files => {
            let name = match s.as_object() {
                Some(o) if o.len() == 1 => {
                    o.get("$ref").and_then(Value::as_str).map(str::to_string)
                }
                _ => None,
            };
            let name = match name {
                Some(n) if !n.contains(['#', '/']) => n,
                _ => {
                    let n = resolver.reserve_file(&format!("response.{id}"));
                    endpoint_schemas.push((n.clone(), s.clone()));
                    n
                }
            };
            Some(format!("{}/{name}", ctx.schema_dir))
        }
        _ => None,
    };
    let auth_none = public && ctx.syntax.auth_none && path_params.is_empty() && !uses_conn;
    Ok(EndpointPlan {
        id,
        path: path.to_string(),
        summary,
        query,
        headers,
        requires,
        notes,
        schema,
        schema_file,
        missing,
        missing_kinds,
        path_params,
        from: BTreeMap::new(),
        requires_any,
        auth_none,
        uses_conn,
        raw_schema,
    })
}

/// An example that only stands for a value the user has (`YOUR_XERO_TENANT_ID`, `<id>`):
/// a per-connection value, not something to send.
fn is_placeholder(v: &str) -> bool {
    v.to_ascii_uppercase().starts_with("YOUR_") || (v.starts_with('<') && v.ends_with('>'))
}

/// The `{name}` placeholders of a path, in order.
fn placeholders(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        if !name.is_empty() && !name.starts_with(['$', '{']) {
            out.push(name.to_string());
        }
        rest = &rest[start + len + 1..];
    }
    out
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
/// `+json` (else `*/*`) response, resolved into a self-contained JSON Schema.
fn response_schema(
    doc: &Value,
    op: &Value,
    at: &str,
    resolver: Option<&mut SchemaResolver<'_>>,
    id: &str,
    warnings: &mut Vec<String>,
) -> Result<(Option<Value>, Option<Value>), InitError> {
    let Some(Value::Object(responses)) = op.get("responses") else {
        return Ok((None, None));
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
    let Some(key) = key else {
        return Ok((None, None));
    };
    let r_at = format!("{at}/responses/{key}");
    let Some(response) = responses.get(key) else {
        return Ok((None, None));
    };
    let Some(response) = deref(doc, response, &r_at)? else {
        warnings.push(format!(
            "endpoint `{id}`: response `{key}` is an external `$ref`: no schema"
        ));
        return Ok((None, None));
    };
    let Some(Value::Object(content)) = response.get("content") else {
        return Ok((None, None));
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
        })
        // A wildcard stands for JSON when nothing more precise is given: the documents
        // converted from Google's discovery format declare every answer as `*/*`.
        .or_else(|| {
            ["*/*", "application/*"]
                .into_iter()
                .find_map(|k| content.get(k).map(|m| (k, m)))
        });
    let Some((media_type, media)) = media else {
        return Ok((None, None));
    };
    let Some(schema) = media.get("schema") else {
        return Ok((None, None));
    };
    let s_at = format!("{r_at}/content/{}/schema", escape_segment(media_type));
    // Without schema files nothing is written, so nothing needs resolving.
    let Some(resolver) = resolver else {
        return Ok((None, Some(schema.clone())));
    };
    let resolved = resolver.resolve(schema, &s_at)?;
    // The suite loader rejects an invalid schema; better to leave it out with a reason.
    if let Err(e) = jsonschema::meta::validate(&resolved) {
        warnings.push(format!(
            "endpoint `{id}`: the response schema is not a valid JSON Schema after conversion ({e}): left out"
        ));
        return Ok((None, Some(schema.clone())));
    }
    Ok((Some(resolved), Some(schema.clone())))
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
