//! Orchestration of the metadata probe: fetch the suite's discovery documents
//! from the issuer's well-known URLs and hand them to `probe::metadata`.

use crate::http::{Auth, HttpClient, Request};
use crate::model::{Drift, Observation, ProbeKind, RunError};
use crate::probe::metadata;
use crate::suite::Suite;
use url::Url;

/// Observations, findings and errors of the metadata probe for one suite.
pub(crate) struct MetadataRun {
    pub observations: Vec<Observation>,
    pub findings: Vec<Drift>,
    pub errors: Vec<RunError>,
}

/// The well-known URL of `document` for `issuer`: RFC 8414 §3 inserts the
/// well-known segment between host and path; OpenID Discovery appends it.
pub(crate) fn well_known(issuer: &Url, document: &str) -> Option<Url> {
    let path = issuer.path().trim_end_matches('/');
    let new_path = if document == "openid-configuration" {
        format!("{path}/.well-known/openid-configuration")
    } else {
        format!("/.well-known/{document}{path}")
    };
    let mut u = issuer.clone();
    u.set_path(&new_path);
    u.set_query(None);
    Some(u)
}

pub(crate) async fn probe(s: &Suite, http: &HttpClient) -> MetadataRun {
    let provider = s.provider.name.value.clone();
    let mut out = MetadataRun {
        observations: Vec::new(),
        findings: Vec::new(),
        errors: Vec::new(),
    };
    if s.metadata.documents.is_empty() {
        return out;
    }
    let issuer_text = s
        .metadata
        .issuer
        .clone()
        .unwrap_or_else(|| s.provider.base_url.value.trim_end_matches('/').to_string());
    let error = |class: &str, message: String| RunError {
        provider: provider.clone(),
        connection: None,
        probe: Some(ProbeKind::Metadata),
        subject: None,
        class: class.into(),
        message,
    };
    let issuer = match Url::parse(&issuer_text) {
        Ok(u) => u,
        Err(e) => {
            out.errors.push(error(
                "config",
                format!("metadata issuer `{issuer_text}`: {e}"),
            ));
            return out;
        }
    };
    for doc in &s.metadata.documents {
        let Some(url) = well_known(&issuer, doc) else {
            continue;
        };
        let resp = http
            .send(Request {
                method: reqwest::Method::GET,
                url,
                headers: vec![("accept".into(), "application/json".into())],
                auth: Auth::None,
                form: None,
                purpose: format!("metadata:{doc}"),
                connection: None,
            })
            .await
            .and_then(crate::http::Response::into_available);
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                out.errors
                    .push(error(e.class(), format!("discovery document `{doc}`: {e}")));
                continue;
            }
        };
        if resp.status == 404 {
            // Not every provider publishes both documents; absence is recorded, not an error.
            out.observations.push(metadata::observe(
                &provider,
                doc,
                &serde_json::json!({"absent": true}),
            ));
            continue;
        }
        match resp.json() {
            Ok(v) if (200..300).contains(&resp.status) && v.is_object() => {
                out.findings
                    .extend(metadata::findings(&provider, doc, &v, issuer_text.as_str()));
                out.observations.push(metadata::observe(&provider, doc, &v));
            }
            Ok(_) | Err(_) => out.errors.push(error(
                "metadata",
                format!(
                    "discovery document `{doc}` answered HTTP {} without a JSON object",
                    resp.status
                ),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_follow_rfc8414_and_oidc() {
        let root = Url::parse("https://as.example").unwrap();
        assert_eq!(
            well_known(&root, "oauth-authorization-server")
                .unwrap()
                .as_str(),
            "https://as.example/.well-known/oauth-authorization-server"
        );
        let tenant = Url::parse("https://as.example/tenant1").unwrap();
        assert_eq!(
            well_known(&tenant, "oauth-authorization-server")
                .unwrap()
                .as_str(),
            "https://as.example/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            well_known(&tenant, "openid-configuration")
                .unwrap()
                .as_str(),
            "https://as.example/tenant1/.well-known/openid-configuration"
        );
    }
}
