//! Conversion of the `endpoints:` list: ids, paths, headers (with literal-credential
//! warnings), documented scopes and declared response schemas.
//!
//! Part of the raw → model conversion; never prints a header value.

use super::convert::{Converter, is_http_url, pos};
use super::declared::{check_schema, read_schema_file};
use super::interpolate::is_single_reference;
use super::model::*;
use super::raw::{RawEndpoint, RawValues};
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet, HashMap};

impl Converter<'_> {
    pub(super) fn endpoints(
        &mut self,
        raw: &[Spanned<RawEndpoint>],
        auths: &BTreeMap<String, Auth>,
        scope_sets: &BTreeMap<String, Located<Vec<String>>>,
        default_auth: EndpointAuth,
    ) -> Vec<Endpoint> {
        let known: BTreeSet<&str> = scope_sets
            .values()
            .flat_map(|s| s.value.iter())
            .chain(auths.values().flat_map(|a| a.scopes.iter()))
            .map(String::as_str)
            .collect();
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for entry in raw {
            let r = &entry.value;
            let id = self.text(&r.id);
            self.check_id(&id, "endpoint id", &mut seen);
            let method = match &r.method {
                Some(m) => {
                    let text = self.text(m);
                    if text.resolved
                        && (text.value.is_empty()
                            || !text.value.chars().all(|c| c.is_ascii_alphabetic()))
                    {
                        self.diags.error(
                            text.pos,
                            "invalid HTTP method",
                            "expected a method like `GET` or `POST`",
                        );
                    }
                    text.value.to_ascii_uppercase()
                }
                None => "GET".to_string(),
            };
            let path = self.text(&r.path);
            if path.resolved && !path.value.starts_with('/') && !is_http_url(&path.value) {
                self.diags.error(
                    path.pos,
                    "endpoint path must start with `/`",
                    "expected `/...` relative to `base_url`, or an absolute http(s) URL",
                );
            }
            let secrets = r
                .query
                .values()
                .chain(r.headers.values())
                .flat_map(|v| self.env_values(v))
                .collect();
            let query = r
                .query
                .iter()
                .map(|(k, v)| (k.clone(), self.text(v).value))
                .collect();
            let headers = r
                .headers
                .iter()
                .map(|(k, v)| {
                    self.header_secret(k, v);
                    (k.clone(), self.text(v).value)
                })
                .collect();
            let mut requires = Vec::new();
            for scope in &r.requires {
                let text = self.text(scope);
                if text.resolved && !known.contains(text.value.as_str()) {
                    self.diags
                        .warning(
                            text.pos,
                            format!("scope `{}` appears in no scope set", text.value),
                            "no token will carry this scope, so its effect is never observed",
                        )
                        .suggest(&text.value, known.iter().copied());
                }
                requires.push(text.value);
            }
            let requires_any = self.requires_any(&r.requires_any, &known);
            let schema = r.schema.as_ref().and_then(|s| self.schema(s));
            let values = r.values.as_ref().map(|v| self.values(v, &entry.value.id));
            let from = self.chain_sources(r, &path.value);
            let auth = self.endpoint_auth(r.auth.as_ref(), default_auth);
            let ep = Endpoint {
                base: id.value.clone(),
                params: BTreeMap::new(),
                from,
                auth,
                id: id.located(),
                method,
                path: path.located(),
                query,
                headers,
                secrets,
                requires,
                requires_any,
                schema,
                values,
                pos: pos(entry),
                requires_fields: self.requires_fields(&r.requires_fields, &known),
                tolerate: self.tolerate(&r.tolerate),
            };
            out.extend(self.expand_params(ep, r));
        }
        out
    }

    /// The values config; JSONPaths are checked (a bad one is an error at the endpoint id).
    fn values(&mut self, v: &RawValues, id: &Spanned<String>) -> ValuesConfig {
        let check = |this: &mut Self, path: &str, what: &str| {
            if path.starts_with('$') && serde_json_path::JsonPath::parse(path).is_err() {
                this.diags.error(
                    pos(id),
                    format!("invalid JSONPath `{path}` in `values.{what}`"),
                    "expected an RFC 9535 JSONPath such as `$.metrics.clicks`",
                );
            }
        };
        for p in v.metrics.values() {
            check(self, p, "metrics");
        }
        for r in &v.rules {
            for p in [&r.when, &r.then] {
                if p.starts_with('$') {
                    check(self, p, "rules");
                } else if !v.metrics.contains_key(p) {
                    self.diags.error(
                        pos(id),
                        format!(
                            "rule `{}` names `{p}`, which is neither a metric nor a JSONPath",
                            r.name
                        ),
                        "expected a name from `values.metrics` or a path starting with `$`",
                    );
                }
            }
        }
        if let Some(f) = &v.complete_flag {
            check(self, &f.path, "complete_flag");
        }
        ValuesConfig {
            metrics: v.metrics.clone(),
            auto: v.auto,
            rules: v
                .rules
                .iter()
                .map(|r| ValueRuleConfig {
                    name: r.name.clone(),
                    when: r.when.clone(),
                    greater_than: r.greater_than,
                    then: r.then.clone(),
                })
                .collect(),
            complete_flag: v
                .complete_flag
                .as_ref()
                .map(|f| (f.path.clone(), f.complete_when.clone())),
        }
    }

    /// Warns about a literal credential in a header value.
    fn header_secret(&mut self, name: &str, value: &Spanned<String>) {
        let v = value.value.trim();
        let scheme = ["Bearer ", "Basic ", "Token "]
            .iter()
            .any(|s| v.len() > s.len() && v[..s.len()].eq_ignore_ascii_case(s));
        let secret_name = ["authorization", "x-api-key", "api-key", "api_key"]
            .contains(&name.to_ascii_lowercase().as_str());
        let after_scheme = v.split_once(' ').map_or(v, |(_, rest)| rest.trim());
        if (scheme || secret_name) && !is_single_reference(after_scheme) && !v.is_empty() {
            self.diags
                .warning(
                    pos(value),
                    format!("literal credential in header `{name}`"),
                    "write `${env:VAR}` instead",
                )
                .help = Some(
                "tokens come from the auth section; a literal header token leaks into git"
                    .to_string(),
            );
        }
    }

    fn schema(&mut self, s: &Spanned<serde_json::Value>) -> Option<Located<DeclaredSchema>> {
        let at = pos(s);
        let declared = match &s.value {
            serde_json::Value::String(path) => match read_schema_file(self.suite_dir, path) {
                Ok(schema) => DeclaredSchema::File {
                    path: path.clone(),
                    schema,
                },
                Err(p) => {
                    self.diags.error(at, p.message, p.label);
                    return None;
                }
            },
            serde_json::Value::Object(_) => DeclaredSchema::Inline(s.value.clone()),
            _ => {
                self.diags.error(
                    at,
                    "wrong type",
                    "expected a schema file path or an inline JSON Schema mapping",
                );
                return None;
            }
        };
        let value = match &declared {
            DeclaredSchema::Inline(v) | DeclaredSchema::File { schema: v, .. } => v,
        };
        if let Err(p) = check_schema(value) {
            self.diags.error(at, p.message, p.label);
            return None;
        }
        Some(Located {
            value: declared,
            pos: at,
        })
    }
}
