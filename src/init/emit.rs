//! Renders a [`Plan`] as suite YAML: a header comment, the sections in the order of the
//! README's suite reference, and endpoints that need user input commented out.
//!
//! Deterministic (no timestamps, sorted keys); scalars are quoted by serde-saphyr, so a
//! value from the document can never break the YAML. Knows nothing about OpenAPI.

use super::openapi::{AuthPlan, EndpointPlan, Plan};
use serde::Serialize;
use serde_saphyr::{FlowMap, FlowSeq};
use std::collections::BTreeMap;

/// Where `driftwatch connect` listens; any loopback port works with most providers, but
/// the URI must be registered with the provider.
const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

#[derive(Serialize)]
struct ProviderOut<'a> {
    name: &'a str,
    base_url: &'a str,
}

#[derive(Serialize)]
struct AuthOut<'a> {
    grant: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    discovery_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorize_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorize_params: Option<FlowMap<&'a BTreeMap<String, String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_uri: Option<&'static str>,
}

#[derive(Serialize)]
struct ConnectionOut<'a> {
    id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope_set: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    vars: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct EndpointOut<'a> {
    id: &'a str,
    path: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    query: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<FromOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requires: Option<FlowSeq<&'a [String]>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    requires_any: Vec<FlowSeq<&'a [String]>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<&'a str>,
}

/// One chained value: the source endpoint and the JSONPath into its answer.
#[derive(Serialize)]
struct SourceOut<'a> {
    endpoint: &'a str,
    path: &'a str,
}

/// `from:` in its one-source form when the path has one placeholder, else by placeholder.
#[derive(Serialize)]
#[serde(untagged)]
enum FromOut<'a> {
    One(SourceOut<'a>),
    Map(BTreeMap<&'a str, SourceOut<'a>>),
}

#[derive(Serialize)]
struct MetadataOut<'a> {
    issuer: &'a str,
    documents: FlowSeq<[&'static str; 1]>,
}

/// The one connection the suite starts with.
const CONNECTION: &str = "main";
/// The one scope set: every scope an endpoint requires.
const SCOPE_SET: &str = "full";

/// The suite YAML for `plan`.
pub(crate) fn render(plan: &Plan) -> String {
    let env = |name: &str| format!("${{env:{}_{name}}}", plan.env_prefix);
    let mut out = header(plan);
    out.push_str("version: 1\n");
    out.push_str(&section(
        "provider",
        &ProviderOut {
            name: &plan.provider,
            base_url: &plan.base_url,
        },
    ));

    let client = Some(env("CLIENT_ID"));
    let secret = Some(env("CLIENT_SECRET"));
    let auth = match &plan.auth {
        AuthPlan::AuthorizationCode {
            authorize_url,
            token_url,
            discovery_url,
        } => AuthOut {
            grant: "authorization_code",
            discovery_url: discovery_url.clone(),
            authorize_url: authorize_url.clone(),
            authorize_params: (!plan.authorize_params.is_empty())
                .then_some(FlowMap(&plan.authorize_params)),
            token_url: token_url.clone(),
            client_id: client,
            client_secret: secret,
            redirect_uri: Some(REDIRECT_URI),
        },
        AuthPlan::ClientCredentials { token_url } | AuthPlan::Password { token_url } => AuthOut {
            grant: if matches!(plan.auth, AuthPlan::Password { .. }) {
                "password"
            } else {
                "client_credentials"
            },
            discovery_url: None,
            authorize_url: None,
            authorize_params: None,
            token_url: Some(token_url.clone()),
            client_id: client,
            client_secret: secret,
            redirect_uri: None,
        },
        AuthPlan::StaticBearer => AuthOut {
            grant: "static_bearer",
            discovery_url: None,
            authorize_url: None,
            authorize_params: None,
            token_url: None,
            client_id: None,
            client_secret: None,
            redirect_uri: None,
        },
    };
    if let Some(scheme) = &plan.scheme {
        out.push_str(&format!("# from security scheme `{scheme}`\n"));
    }
    for note in &plan.auth_notes {
        out.push_str(&format!("# {note}\n"));
    }
    if auth.redirect_uri.is_some() {
        out.push_str(
            "# redirect_uri must be registered with the provider for `driftwatch connect`\n",
        );
    }
    out.push_str(&section("auth", &auth));

    if !plan.scopes.is_empty() {
        out.push_str("# every scope an endpoint below requires; add narrower sets to see what each scope unlocks\n");
        let sets = BTreeMap::from([(SCOPE_SET, FlowSeq(&plan.scopes))]);
        out.push_str(&section("scope_sets", &sets));
    }
    let connection = ConnectionOut {
        id: CONNECTION,
        scope_set: (!plan.scopes.is_empty()).then_some(SCOPE_SET),
        token: matches!(plan.auth, AuthPlan::StaticBearer).then(|| env("TOKEN")),
        username: matches!(plan.auth, AuthPlan::Password { .. }).then(|| env("USERNAME")),
        password: matches!(plan.auth, AuthPlan::Password { .. }).then(|| env("PASSWORD")),
        vars: &plan.conn_vars,
    };
    if !plan.conn_vars.is_empty() {
        out.push_str(
            "# values the endpoints use as ${conn:NAME}: one per connection (e.g. a tenant id)\n",
        );
    }
    out.push_str(&section("connections", &[connection]));

    let active = plan
        .endpoints
        .iter()
        .filter(|e| e.missing.is_empty())
        .count();
    out.push_str(if active == 0 {
        "endpoints: []\n"
    } else {
        "endpoints:\n"
    });
    for e in &plan.endpoints {
        out.push_str(&endpoint(e));
    }
    if let Some(issuer) = &plan.issuer {
        out.push_str(&section(
            "metadata",
            &MetadataOut {
                issuer,
                documents: FlowSeq(["openid-configuration"]),
            },
        ));
    }
    out
}

fn header(plan: &Plan) -> String {
    let mut vars: Vec<String> = Vec::new();
    if plan.base_url.contains("${env:") {
        vars.push(format!("{}_BASE_URL", plan.env_prefix));
    }
    let names: &[&str] = match plan.auth {
        AuthPlan::AuthorizationCode { .. } | AuthPlan::ClientCredentials { .. } => {
            &["CLIENT_ID", "CLIENT_SECRET"]
        }
        AuthPlan::Password { .. } => &["CLIENT_ID", "CLIENT_SECRET", "USERNAME", "PASSWORD"],
        AuthPlan::StaticBearer => &["TOKEN"],
    };
    vars.extend(names.iter().map(|n| format!("{}_{n}", plan.env_prefix)));
    vars.extend(plan.conn_vars.values().map(|v| {
        v.trim_start_matches("${env:")
            .trim_end_matches('}')
            .to_string()
    }));
    let title = if plan.title.is_empty() {
        "(untitled)".to_string()
    } else {
        format!("\"{}\"", one_line(&plan.title))
    };
    let mut h = String::from("# yaml-language-server: $schema=../docs/suite.schema.json\n#\n");
    h.push_str(&format!(
        "# Generated by `driftwatch init --from-openapi` from {}:\n# {title} {} (OpenAPI {}).\n",
        one_line(&plan.source_name),
        one_line(&plan.api_version),
        plan.openapi
    ));
    h.push_str("# Review it before the first run:\n");
    h.push_str(&format!(
        "#   - set the environment variables {} (secrets never go into this file);\n",
        vars.join(", ")
    ));
    if matches!(plan.auth, AuthPlan::AuthorizationCode { .. }) {
        h.push_str(&format!(
            "#   - authorise the connection: driftwatch connect <this file> {CONNECTION};\n"
        ));
    }
    if plan.endpoints.iter().any(|e| !e.missing.is_empty()) {
        h.push_str("#   - fill in the commented-out endpoints (marked TODO) and uncomment them;\n");
    }
    h.push_str("#   - then: driftwatch check <this file>\n");
    h
}

/// One endpoint as a list item under `endpoints:`, with its comments; commented out
/// entirely when it needs values only the user knows.
fn endpoint<'a>(e: &'a EndpointPlan) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut title = format!("GET {}", one_line(&e.path));
    if let Some(s) = e.summary.as_deref().filter(|s| !s.is_empty()) {
        title.push_str(&format!(": {}", one_line(s)));
    }
    lines.push(format!("  # {title}"));
    for note in &e.notes {
        lines.push(format!("  # {}", one_line(note)));
    }
    if !e.missing.is_empty() {
        lines.push(format!(
            "  # TODO: needs {}; fill in, then uncomment",
            e.missing.join(", ")
        ));
    }
    let source = |(endpoint, path): &'a (String, String)| SourceOut { endpoint, path };
    let from = match e.from.len() {
        0 => None,
        1 if !e.path.contains("${conn:") => e.from.values().next().map(|s| FromOut::One(source(s))),
        _ => Some(FromOut::Map(
            e.from
                .iter()
                .map(|(k, v)| (k.as_str(), source(v)))
                .collect(),
        )),
    };
    let body = serde_saphyr::to_string(&EndpointOut {
        id: &e.id,
        path: &e.path,
        query: &e.query,
        headers: &e.headers,
        from,
        auth: e.auth_none.then_some("none"),
        requires: (!e.requires.is_empty()).then_some(FlowSeq(e.requires.as_slice())),
        requires_any: e
            .requires_any
            .iter()
            .map(|a| FlowSeq(a.as_slice()))
            .collect(),
        schema: e.schema_file.as_deref(),
    })
    .unwrap_or_default();
    let prefix = if e.missing.is_empty() { "" } else { "# " };
    for (i, line) in body.lines().enumerate() {
        let lead = if i == 0 { "- " } else { "  " };
        lines.push(format!("  {prefix}{lead}{line}"));
    }
    lines.join("\n") + "\n"
}

/// `key:` and the serialized value, as a top-level section.
fn section<T: Serialize + ?Sized>(key: &str, value: &T) -> String {
    // Serializing plain data (strings, maps, lists) cannot fail.
    serde_saphyr::to_string(&BTreeMap::from([(key, value)])).unwrap_or_default()
}

/// Text from the document made safe for a one-line comment.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
