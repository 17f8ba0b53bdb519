//! The security side of an OpenAPI document: which OAuth 2.0 / OpenID Connect scheme
//! becomes the suite's auth, how its flows map to a grant, and which scopes an operation
//! requires. Knows nothing about schemas or YAML output.

use super::error::InitError;
use super::openapi::AuthPlan;
use super::refs::{deref, escape_segment};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub(crate) fn is_http_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && !s.contains('{')
}

/// A URL of the document, relative to the server URL when it lies under it, so that
/// `base_url` (or `--base-url`) moves the auth endpoints along with the API.
fn relative_to(url: &str, base: Option<&str>) -> String {
    if let Some(rest) = base.and_then(|b| url.strip_prefix(b))
        && rest.starts_with('/')
    {
        return rest.to_string();
    }
    if is_http_url(url) || url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    }
}

/// The security schemes: which one becomes the suite's auth, and the grant it maps to.
pub(crate) struct Security {
    pub chosen: Option<String>,
    pub auth: AuthPlan,
    pub issuer: Option<String>,
    pub notes: Vec<String>,
    /// `security` at the document level (the default of every operation).
    pub global: Option<Value>,
}

impl Security {
    pub(crate) fn read(
        doc: &Value,
        base: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Result<Security, InitError> {
        let mut schemes: BTreeMap<String, &Value> = BTreeMap::new();
        if let Some(Value::Object(map)) = doc.pointer("/components/securitySchemes") {
            for (name, s) in map {
                let at = format!("/components/securitySchemes/{}", escape_segment(name));
                match deref(doc, s, &at)? {
                    Some(s) => {
                        schemes.insert(name.clone(), s);
                    }
                    None => warnings.push(format!(
                        "security scheme `{name}` is an external `$ref`: ignored"
                    )),
                }
            }
        }
        let is_oauth = |s: &Value| {
            matches!(
                s.get("type").and_then(Value::as_str),
                Some("oauth2" | "openIdConnect")
            )
        };
        let global = doc.get("security").cloned();
        // The scheme the document applies by default wins; else the first OAuth one by name.
        // Among several, one with a token endpoint goes first: Google's documents name an
        // implicit `Oauth2` and an authorization-code `Oauth2c` side by side, and only the
        // second gives a grant driftwatch can refresh.
        let best = |names: &mut dyn Iterator<Item = &String>| {
            names
                .filter(|name| schemes.get(*name).is_some_and(|s| is_oauth(s)))
                .min_by_key(|name| schemes.get(*name).map_or(u8::MAX, |s| flow_rank(s)))
                .cloned()
        };
        let global_names: Vec<&String> = global
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|req| req.keys())
            .collect();
        let chosen = best(&mut global_names.into_iter()).or_else(|| best(&mut schemes.keys()));
        for (name, s) in &schemes {
            if Some(name) != chosen.as_ref() && is_oauth(s) {
                warnings.push(format!(
                    "security scheme `{name}` ignored: a suite has one auth section, generated from `{}`",
                    chosen.as_deref().unwrap_or_default()
                ));
            }
        }
        let mut notes = Vec::new();
        let mut issuer = None;
        let auth = match chosen.as_ref().and_then(|n| schemes.get(n)) {
            None => {
                warnings.push(
                    "no OAuth 2.0 or OpenID Connect security scheme: auth is `static_bearer` with a token from the environment".to_string(),
                );
                AuthPlan::StaticBearer
            }
            Some(s) if s.get("type").and_then(Value::as_str) == Some("openIdConnect") => {
                let url = s
                    .get("openIdConnectUrl")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                issuer = url
                    .strip_suffix("/.well-known/openid-configuration")
                    .filter(|i| is_http_url(i))
                    .map(str::to_string);
                notes.push("OpenID Connect: endpoints come from discovery".to_string());
                AuthPlan::AuthorizationCode {
                    authorize_url: None,
                    token_url: None,
                    discovery_url: Some(relative_to(url, base)),
                }
            }
            Some(s) => oauth_flow(s, base, &mut notes, warnings),
        };
        Ok(Security {
            chosen,
            auth,
            issuer,
            notes,
            global,
        })
    }
}

/// Maps the flows of an `oauth2` scheme to one grant: authorization code (with PKCE) first,
/// then client credentials, then the legacy password grant; implicit is never used.
fn oauth_flow(
    scheme: &Value,
    base: Option<&str>,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> AuthPlan {
    let flows = scheme.get("flows");
    let flow = |name: &str| flows.and_then(|f| f.get(name));
    let url = |f: &Value, key: &str| {
        f.get(key)
            .and_then(Value::as_str)
            .map(|u| relative_to(u, base))
    };
    let order = ["authorizationCode", "clientCredentials", "password"];
    let present: Vec<&str> = order
        .iter()
        .chain(["implicit"].iter())
        .copied()
        .filter(|n| flow(n).is_some())
        .collect();
    let Some(&used) = present.iter().find(|n| order.contains(n)) else {
        if present.contains(&"implicit") {
            warnings.push(
                "the implicit flow is not supported (OAuth 2.1 removes it): auth is `static_bearer` with a token from the environment".to_string(),
            );
        } else {
            warnings
                .push("the OAuth scheme declares no flows: auth is `static_bearer`".to_string());
        }
        return AuthPlan::StaticBearer;
    };
    let others: Vec<&str> = present.iter().copied().filter(|n| *n != used).collect();
    if !others.is_empty() {
        notes.push(format!(
            "the scheme also offers {}; this suite uses {used}",
            others.join(", ")
        ));
    }
    let Some(f) = flow(used) else {
        return AuthPlan::StaticBearer;
    };
    let token_url = url(f, "tokenUrl").unwrap_or_default();
    if let Some(refresh) = url(f, "refreshUrl")
        && refresh != token_url
    {
        warnings.push(format!(
            "refreshUrl `{refresh}` differs from tokenUrl: driftwatch refreshes at token_url"
        ));
    }
    match used {
        "authorizationCode" => AuthPlan::AuthorizationCode {
            authorize_url: url(f, "authorizationUrl"),
            token_url: Some(token_url),
            discovery_url: None,
        },
        "clientCredentials" => AuthPlan::ClientCredentials { token_url },
        _ => {
            warnings.push(
                "the password flow is deprecated (OAuth 2.1 removes it); `check` warns about it"
                    .to_string(),
            );
            AuthPlan::Password { token_url }
        }
    }
}

/// How well a scheme serves a suite, lower first: OpenID Connect or an authorization-code
/// flow (a refreshable user grant), then client credentials or password (a token endpoint),
/// then what has no token endpoint at all (implicit only).
fn flow_rank(scheme: &Value) -> u8 {
    if scheme.get("type").and_then(Value::as_str) == Some("openIdConnect") {
        return 0;
    }
    let flows = scheme.get("flows");
    let has = |flow: &str| flows.and_then(|f| f.get(flow)).is_some();
    if has("authorizationCode") {
        0
    } else if has("clientCredentials") || has("password") {
        1
    } else {
        2
    }
}

/// What an operation's `security` says about the chosen scheme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Requirement {
    /// The alternatives naming the chosen scheme, each a sorted scope list; more than one
    /// means any one of them suffices (OpenAPI: a list of requirement objects is an OR).
    pub alternatives: Vec<Vec<String>>,
    /// Comment lines (public, optional).
    pub notes: Vec<String>,
    /// The other schemes, when only those secure the operation.
    pub others: Vec<String>,
    /// No security at all (none declared, or only an empty requirement): the endpoint is
    /// probed without a token (`auth: none`) where the suite reader has it.
    pub public: bool,
}

/// The scopes of the chosen scheme in the operation's (else the document's) `security`,
/// comment lines (public, optional), and the other schemes when only those secure it.
pub(crate) fn requires(op: &Value, security: &Security) -> Requirement {
    let declared = op.get("security").or(security.global.as_ref());
    let Some(alternatives) = declared.and_then(Value::as_array) else {
        return Requirement {
            notes: vec!["public: the document declares no security requirement".to_string()],
            public: true,
            ..Requirement::default()
        };
    };
    let reqs: Vec<&Map<String, Value>> = alternatives.iter().filter_map(Value::as_object).collect();
    let optional = reqs.is_empty() || reqs.iter().any(|r| r.is_empty());
    let chosen = security.chosen.as_deref().unwrap_or_default();
    let mut alts: Vec<Vec<String>> = Vec::new();
    for scopes in reqs.iter().filter_map(|r| r.get(chosen)) {
        let mut list: Vec<String> = scopes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        list.sort();
        list.dedup();
        if !alts.contains(&list) {
            alts.push(list);
        }
    }
    if !alts.is_empty() {
        let notes = if optional {
            vec!["auth is optional: the document also allows anonymous calls".to_string()]
        } else {
            Vec::new()
        };
        return Requirement {
            alternatives: alts,
            notes,
            ..Requirement::default()
        };
    }
    if optional {
        return Requirement {
            notes: vec!["public: the document's security requirement is empty".to_string()],
            public: true,
            ..Requirement::default()
        };
    }
    let mut others: Vec<String> = reqs
        .iter()
        .flat_map(|r| r.keys())
        .map(|k| format!("`{k}`"))
        .collect();
    others.dedup();
    Requirement {
        others,
        ..Requirement::default()
    }
}
