//! Issue 19's suite features at load time: `connections[].vars`, `endpoints[].params`
//! expansion, `endpoints[].from` chains and `auth: none`, with every check `check` makes
//! about them (undefined `${conn:…}`, uncovered placeholders, unknown sources, cycles).
//!
//! Part of the raw → model conversion; plain data, never a request. Values of `vars` written as
//! `${env:…}` are secrets: only their names reach a diagnostic.

use super::convert::{Converter, pos};
use super::diagnostic::one_of;
use super::model::*;
use super::raw::{RawEndpoint, RawEndpointAuth, RawFrom};
use secrecy::SecretString;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};

/// At most this many probes from one `params` matrix (safety rule 7: bounded input).
pub(crate) const MAX_EXPANSIONS: usize = 64;

impl Converter<'_> {
    /// `connections[].vars`: names checked, values interpolated; `${env:…}` values are secrets.
    pub(super) fn conn_vars(
        &mut self,
        raw: &BTreeMap<String, Spanned<String>>,
    ) -> (BTreeMap<String, String>, Vec<SecretString>) {
        let mut vars = BTreeMap::new();
        let mut secrets = Vec::new();
        for (name, value) in raw {
            if !valid_var_name(name) {
                self.diags.error(
                    pos(value),
                    format!("invalid variable name `{name}`"),
                    "expected letters, digits and `_`, not starting with a digit",
                );
            }
            secrets.extend(self.env_values(value));
            vars.insert(name.clone(), self.text(value).value);
        }
        (vars, secrets)
    }

    /// An endpoint's `auth`, else the suite default.
    pub(super) fn endpoint_auth(
        &mut self,
        raw: Option<&Spanned<RawEndpointAuth>>,
        default: EndpointAuth,
    ) -> EndpointAuth {
        match raw.map(|a| a.value) {
            Some(RawEndpointAuth::Token) => EndpointAuth::Token,
            Some(RawEndpointAuth::None) => EndpointAuth::None,
            None => default,
        }
    }

    /// `from:` as placeholder → source, checked against the path's placeholders and the
    /// `params` names (which fill placeholders themselves).
    pub(super) fn chain_sources(
        &mut self,
        r: &RawEndpoint,
        path: &str,
    ) -> BTreeMap<String, ChainSource> {
        let placeholders: Vec<String> = path_placeholders(path);
        let open: Vec<&String> = placeholders
            .iter()
            .filter(|p| !r.params.contains_key(p.as_str()))
            .collect();
        let mut out = BTreeMap::new();
        match &r.from {
            None => {}
            Some(from) => {
                let at = pos(from);
                let entries: Vec<(Option<String>, &super::raw::RawSource)> = match &from.value {
                    RawFrom::One(src) => match open.as_slice() {
                        [only] => vec![(Some((*only).clone()), src)],
                        _ => {
                            self.diags.error(
                                at,
                                format!(
                                    "`from` names one source, but the path has {} placeholders to fill",
                                    open.len()
                                ),
                                "write `from: {placeholder: {endpoint: …, path: …}}` for each `{placeholder}` of the path",
                            );
                            Vec::new()
                        }
                    },
                    RawFrom::Map(map) => map.iter().map(|(k, v)| (Some(k.clone()), v)).collect(),
                };
                for (name, src) in entries {
                    let Some(name) = name else { continue };
                    if !open.iter().any(|p| **p == name) {
                        let names: Vec<&str> = open.iter().map(|s| s.as_str()).collect();
                        let label = if names.is_empty() {
                            "the path has no `{placeholder}` left to fill".to_string()
                        } else {
                            format!("expected one of {}", one_of(&names))
                        };
                        self.diags
                            .error(
                                at,
                                format!(
                                    "`from` names `{name}`, which is not a placeholder of the path"
                                ),
                                label,
                            )
                            .suggest(&name, names.iter().copied());
                        continue;
                    }
                    if serde_json_path::JsonPath::parse(&src.path).is_err() {
                        self.diags.error(
                            at,
                            format!("invalid JSONPath `{}` in `from`", src.path),
                            "expected an RFC 9535 JSONPath such as `$.data[0].id`",
                        );
                    }
                    out.insert(
                        name,
                        ChainSource {
                            endpoint: src.endpoint.clone(),
                            path: src.path.clone(),
                        },
                    );
                }
            }
        }
        for p in open {
            if !out.contains_key(p)
                && r.from
                    .as_ref()
                    .is_none_or(|f| matches!(f.value, RawFrom::Map(_)))
            {
                self.diags.error(
                    pos(&r.path),
                    format!("path placeholder `{{{p}}}` is never filled"),
                    format!("add `params: {{{p}: [...]}}` or `from: {{endpoint: …, path: …}}`"),
                );
            }
        }
        out
    }

    /// One endpoint per value set of `params` (the cartesian product, names sorted), each with
    /// its subject id `base[name=value,…]`; a name the path has as `{name}` fills it, the others
    /// become query parameters. Without `params`, the endpoint itself.
    pub(super) fn expand_params(&mut self, ep: Endpoint, r: &RawEndpoint) -> Vec<Endpoint> {
        if r.params.is_empty() {
            return vec![ep];
        }
        let placeholders = path_placeholders(&ep.path.value);
        let mut axes: Vec<(String, Vec<String>)> = Vec::new();
        let mut total: usize = 1;
        for (name, values) in &r.params {
            let at = pos(values);
            if !valid_var_name(name) {
                self.diags.error(
                    at,
                    format!("invalid parameter name `{name}`"),
                    "expected letters, digits and `_`, not starting with a digit",
                );
            }
            if values.value.is_empty() {
                self.diags.error(
                    at,
                    format!("parameter `{name}` has no values"),
                    "expected a list of one or more values",
                );
                return Vec::new();
            }
            if !placeholders.contains(name) && ep.query.contains_key(name) {
                self.diags.error(
                    at,
                    format!("parameter `{name}` is also in `query`"),
                    "keep it in one of `params` and `query`",
                );
            }
            let mut seen = BTreeSet::new();
            let mut list = Vec::new();
            for v in &values.value {
                let text = self.text(v);
                if text.resolved && !valid_param_value(&text.value) {
                    self.diags.error(
                        text.pos,
                        format!("invalid parameter value `{}`", text.value),
                        "expected letters, digits, `_`, `.` or `-` (the value names a baseline file)",
                    );
                }
                if !seen.insert(text.value.clone()) {
                    self.diags.error(
                        text.pos,
                        format!("duplicate value `{}` of parameter `{name}`", text.value),
                        "each value is probed once",
                    );
                }
                list.push(text.value);
            }
            total = total.saturating_mul(list.len());
            axes.push((name.clone(), list));
        }
        if total > MAX_EXPANSIONS {
            self.diags.error(
                pos(&r.id),
                format!(
                    "`params` of endpoint `{}` expands to {total} probes",
                    ep.base
                ),
                format!("expected at most {MAX_EXPANSIONS} combinations"),
            );
            return Vec::new();
        }
        let mut combos: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
        for (name, values) in &axes {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.insert(name.clone(), v.clone());
                        c
                    })
                })
                .collect();
        }
        combos
            .into_iter()
            .map(|combo| {
                let mut e = ep.clone();
                let label: Vec<String> = combo.iter().map(|(k, v)| format!("{k}={v}")).collect();
                e.id.value = format!("{}[{}]", ep.base, label.join(","));
                for (k, v) in &combo {
                    if placeholders.contains(k) {
                        e.path.value = e.path.value.replace(&format!("{{{k}}}"), v);
                    } else {
                        e.query.insert(k.clone(), v.clone());
                    }
                }
                e.params = combo;
                e
            })
            .collect()
    }

    /// Checks across endpoints and connections: `${conn:…}` defined by every connection,
    /// `from` sources that exist and can be chained, no cycles, `auth: none` endpoints without
    /// per-connection values, and subject ids that stay distinct as baseline file names.
    pub(super) fn check_chains(
        &mut self,
        connections: &[Connection],
        endpoints: &[Endpoint],
        helper: bool,
    ) {
        let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
        let mut files: BTreeMap<String, &str> = BTreeMap::new();
        for ep in endpoints {
            let file = file_component(&ep.id.value);
            if let Some(first) = files.get(&file)
                && *first != ep.id.value
            {
                self.diags.error(
                    ep.id.pos,
                    format!(
                        "endpoint `{}` and `{first}` would share the baseline file `{file}.snap`",
                        ep.id.value
                    ),
                    "rename one endpoint or change a parameter value",
                );
            }
            files.entry(file).or_insert(&ep.id.value);
            let used = ep.conn_vars();
            if ep.auth == EndpointAuth::None {
                if !used.is_empty() || !ep.from.is_empty() {
                    self.diags.error(
                        ep.id.pos,
                        format!(
                            "endpoint `{}` has `auth: none` but uses per-connection values",
                            ep.base
                        ),
                        "an `auth: none` endpoint is probed once per suite: drop `${conn:…}` and `from`",
                    );
                }
                continue;
            }
            for var in &used {
                for c in connections {
                    if c.vars.contains_key(var)
                        || !reported.insert((c.id.value.clone(), format!("{var}/{}", ep.base)))
                    {
                        continue;
                    }
                    let message = format!(
                        "connection `{}` does not define `{var}`, used by endpoint `{}` as `${{conn:{var}}}`",
                        c.id.value, ep.base
                    );
                    if helper {
                        self.diags.warning(
                            c.pos,
                            message,
                            "the credential helper's entry must carry it in `vars`",
                        );
                    } else {
                        self.diags.error(
                            c.pos,
                            message,
                            format!("add `vars: {{{var}: …}}` to this connection"),
                        );
                    }
                }
            }
            for src in ep.from.values() {
                let Some(source) = endpoints.iter().find(|e| e.base == src.endpoint) else {
                    let names: Vec<&str> = endpoints.iter().map(|e| e.base.as_str()).collect();
                    self.diags
                        .error(
                            ep.id.pos,
                            format!(
                                "endpoint `{}` chains from unknown endpoint `{}`",
                                ep.base, src.endpoint
                            ),
                            "expected the id of another endpoint",
                        )
                        .suggest(&src.endpoint, names.iter().copied());
                    continue;
                };
                if !source.params.is_empty() || source.auth == EndpointAuth::None {
                    self.diags.error(
                        ep.id.pos,
                        format!(
                            "endpoint `{}` chains from `{}`, which has `params` or `auth: none`",
                            ep.base, src.endpoint
                        ),
                        "a source must be a plain endpoint probed once per connection",
                    );
                }
            }
        }
        if let Some(cycle) = find_cycle(endpoints) {
            let at = endpoints
                .iter()
                .find(|e| e.base == cycle[0])
                .map_or(Pos::default(), |e| e.id.pos);
            self.diags.error(
                at,
                format!("`from` chains form a cycle: {}", cycle.join(" → ")),
                "a chained endpoint cannot depend on itself",
            );
        }
    }
}

/// The first cycle of `from` dependencies (base ids, closing on the first), if any.
fn find_cycle(endpoints: &[Endpoint]) -> Option<Vec<String>> {
    let deps: BTreeMap<&str, BTreeSet<&str>> = endpoints
        .iter()
        .map(|e| {
            (
                e.base.as_str(),
                e.from.values().map(|s| s.endpoint.as_str()).collect(),
            )
        })
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    fn visit<'a>(
        n: &'a str,
        deps: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(n, 1);
        stack.push(n);
        for d in deps.get(n).into_iter().flatten() {
            if deps.contains_key(d)
                && let Some(c) = visit(d, deps, state, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let mut stack = Vec::new();
    for n in deps.keys() {
        if let Some(c) = visit(n, &deps, &mut state, &mut stack) {
            return Some(c);
        }
    }
    None
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `[A-Za-z0-9_.-]+`: a value that is safe in a path segment, a query and a file name.
fn valid_param_value(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The file-name form of a subject id, as the baseline store writes it.
fn file_component(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::diagnostic::{DiagSeverity, Diagnostic};
    use super::super::load::{LoadMode, analyze};
    use super::*;
    use crate::context::Context;
    use std::path::Path;

    const HEAD: &str = "version: 1
provider:
  name: demo
  base_url: http://127.0.0.1:9/api
auth:
  grant: static_bearer
";

    fn load(rest: &str) -> (Option<Suite>, Vec<Diagnostic>) {
        let ctx = Context::empty("/").with_var("T", "tok");
        analyze(
            Path::new("s.yaml"),
            &format!("{HEAD}{rest}"),
            &ctx,
            LoadMode::Check,
        )
    }

    fn messages(d: &[Diagnostic]) -> Vec<(DiagSeverity, String)> {
        d.iter().map(|d| (d.severity, d.message.clone())).collect()
    }

    #[test]
    fn params_expand_to_one_endpoint_per_value_with_readable_subjects() {
        let (suite, d) = load(
            "endpoints:
  - id: metrics
    path: /v1/metrics
    params: {period: [7d, 30d, 90d]}
  - id: report
    path: /v1/{kind}/report
    params: {kind: [a, b], region: [eu]}
",
        );
        assert_eq!(messages(&d), vec![]);
        let suite = suite.expect("suite");
        let got: Vec<(&str, &str, &str, Option<&String>)> = suite
            .endpoints
            .iter()
            .map(|e| {
                (
                    e.id.value.as_str(),
                    e.base.as_str(),
                    e.path.value.as_str(),
                    e.query.get("period").or(e.query.get("region")),
                )
            })
            .collect();
        let s = |v: &str| v.to_string();
        assert_eq!(
            got,
            vec![
                (
                    "metrics[period=7d]",
                    "metrics",
                    "/v1/metrics",
                    Some(&s("7d"))
                ),
                (
                    "metrics[period=30d]",
                    "metrics",
                    "/v1/metrics",
                    Some(&s("30d"))
                ),
                (
                    "metrics[period=90d]",
                    "metrics",
                    "/v1/metrics",
                    Some(&s("90d"))
                ),
                (
                    "report[kind=a,region=eu]",
                    "report",
                    "/v1/a/report",
                    Some(&s("eu"))
                ),
                (
                    "report[kind=b,region=eu]",
                    "report",
                    "/v1/b/report",
                    Some(&s("eu"))
                ),
            ]
        );
    }

    #[test]
    fn conn_vars_must_be_defined_by_every_connection() {
        let (_, d) = load(
            "connections:
  - id: acme
    token: ${env:T}
    vars: {tenant_id: t-1}
  - id: globex
    token: ${env:T}
endpoints:
  - id: invoices
    path: /invoices
    headers: {Xero-tenant-id: '${conn:tenant_id}'}
",
        );
        assert_eq!(
            messages(&d),
            vec![(
                DiagSeverity::Error,
                "connection `globex` does not define `tenant_id`, used by endpoint `invoices` as `${conn:tenant_id}`".to_string()
            )]
        );
        assert_eq!(
            d[0].pos,
            Pos {
                line: 11,
                column: 5
            }
        );
    }

    #[test]
    fn from_sources_placeholders_and_cycles_are_checked() {
        let (suite, d) = load(
            "endpoints:
  - id: campaigns
    path: /campaigns
  - id: stats
    path: /campaigns/{id}/stats
    from: {endpoint: campaigns, path: '$.data[0].id'}
",
        );
        assert_eq!(messages(&d), vec![]);
        let stats = &suite.expect("suite").endpoints[1];
        assert_eq!(
            stats.from.get("id"),
            Some(&ChainSource {
                endpoint: "campaigns".into(),
                path: "$.data[0].id".into()
            })
        );
        let (_, d) = load(
            "endpoints:
  - id: a
    path: /a/{x}
    from: {endpoint: b, path: '$.id'}
  - id: b
    path: /b/{y}
    from: {y: {endpoint: a, path: '$.id'}}
  - id: c
    path: /c/{z}
  - id: d
    path: /d/{w}
    from: {endpoint: nope, path: '$.id'}
",
        );
        assert_eq!(
            messages(&d),
            vec![
                (
                    DiagSeverity::Error,
                    "`from` chains form a cycle: a → b → a".to_string()
                ),
                (
                    DiagSeverity::Error,
                    "path placeholder `{z}` is never filled".to_string()
                ),
                (
                    DiagSeverity::Error,
                    "endpoint `d` chains from unknown endpoint `nope`".to_string()
                ),
            ]
        );
    }

    #[test]
    fn auth_none_endpoints_take_the_suite_default_and_refuse_conn_values() {
        let (suite, d) = load(
            "endpoint_defaults: {auth: none}
endpoints:
  - id: health
    path: /health
  - id: me
    path: /me
    auth: token
  - id: bad
    path: /t/${conn:tenant}
",
        );
        let auths: Vec<EndpointAuth> = suite
            .expect("suite")
            .endpoints
            .iter()
            .map(|e| e.auth)
            .collect();
        assert_eq!(
            auths,
            vec![EndpointAuth::None, EndpointAuth::Token, EndpointAuth::None]
        );
        assert_eq!(
            messages(&d),
            vec![(
                DiagSeverity::Error,
                "endpoint `bad` has `auth: none` but uses per-connection values".to_string()
            )]
        );
    }

    #[test]
    fn fill_and_placeholders() {
        let vars = BTreeMap::from([("t".to_string(), "42".to_string())]);
        assert_eq!(
            fill_conn_vars("/a/${conn:t}/b", &vars),
            Ok("/a/42/b".into())
        );
        assert_eq!(fill_conn_vars("${conn:u}", &vars), Err("u".into()));
        assert_eq!(
            path_placeholders("/a/{id}/${conn:t}/{b_2}"),
            vec!["id".to_string(), "b_2".to_string()]
        );
    }
}
