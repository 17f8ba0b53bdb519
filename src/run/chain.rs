//! Per-connection requests (issue 19): `${conn:…}` filled from a connection's `vars`, `{name}`
//! placeholders filled from a chained source's answer (`from:`), and the reason a call is
//! `skipped` when a chained value is missing. Pure: no I/O; gather calls it per call.
//!
//! Chained values are read from the answer the probes see, which the redactor has already
//! cleaned: a value that reads `[REDACTED]` is never sent, the call is skipped instead.

use crate::suite::{Endpoint, fill_conn_vars};
use std::collections::BTreeMap;
use url::Url;

/// The connection id of a call that belongs to no connection (`auth: none`, probed once).
pub(crate) const NO_CONNECTION: &str = "-";

/// Where one call goes and the headers it carries, after per-connection filling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub url: Url,
    pub headers: BTreeMap<String, String>,
}

/// Why a call cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// A chained value is missing: the probe is `skipped` with this reason.
    Skip(String),
    /// The suite cannot be filled for this connection (an undefined `${conn:…}`, a bad URL):
    /// a `config` run error.
    Config(String),
}

/// What a source endpoint's answer yielded for one connection: JSONPath → value or the reason
/// there is none; `Err` when the answer itself is unusable (status, transport, not JSON).
pub(crate) type SourceValues = Result<BTreeMap<String, Result<String, String>>, String>;

/// The request target of `ep` for a connection with `vars`, its placeholders filled from
/// `sources` (source endpoint id → what its answer yielded for this connection).
pub(crate) fn resolve(
    base: &Url,
    ep: &Endpoint,
    vars: &BTreeMap<String, String>,
    sources: &BTreeMap<String, SourceValues>,
) -> Result<Target, Unresolved> {
    let undefined = |name: String| {
        Unresolved::Config(format!(
            "endpoint `{}`: the connection defines no `{name}` for `${{conn:{name}}}`",
            ep.base
        ))
    };
    let mut path = fill_conn_vars(&ep.path.value, vars).map_err(undefined)?;
    for (placeholder, src) in &ep.from {
        let value = match sources.get(&src.endpoint) {
            None => {
                return Err(Unresolved::Skip(format!(
                    "`{}` was not probed for this connection",
                    src.endpoint
                )));
            }
            Some(Err(reason)) => return Err(Unresolved::Skip(reason.clone())),
            Some(Ok(values)) => match values.get(&src.path) {
                Some(Ok(v)) => v,
                Some(Err(reason)) => return Err(Unresolved::Skip(reason.clone())),
                None => {
                    return Err(Unresolved::Skip(format!(
                        "`{}` selects nothing in the answer of `{}`",
                        src.path, src.endpoint
                    )));
                }
            },
        };
        let encoded: String =
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
        // form encoding writes a space as `+`; a path segment needs `%20`.
        path = path.replace(&format!("{{{placeholder}}}"), &encoded.replace('+', "%20"));
    }
    let mut url = if path.starts_with("http://") || path.starts_with("https://") {
        Url::parse(&path)
    } else {
        super::session::join(base, &path)
    }
    .map_err(|e| Unresolved::Config(format!("endpoint `{}`: bad path `{path}`: {e}", ep.base)))?;
    if !ep.query.is_empty() {
        let mut pairs = Vec::with_capacity(ep.query.len());
        for (k, v) in &ep.query {
            pairs.push((k, fill_conn_vars(v, vars).map_err(undefined)?));
        }
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, &v);
        }
    }
    let mut headers = BTreeMap::new();
    for (k, v) in &ep.headers {
        headers.insert(k.clone(), fill_conn_vars(v, vars).map_err(undefined)?);
    }
    Ok(Target { url, headers })
}

/// The value `path` selects first in `source`'s answer `body`, or why there is none.
pub(crate) fn extract(
    body: &serde_json::Value,
    path: &str,
    source: &str,
) -> Result<String, String> {
    let parsed = serde_json_path::JsonPath::parse(path)
        .map_err(|_| format!("`{path}` is not a JSONPath"))?;
    let nodes = parsed.query(body);
    let Some(first) = nodes.first() else {
        return Err(format!(
            "`{path}` selects nothing in the answer of `{source}`"
        ));
    };
    let value = match first {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => {
            return Err(format!(
                "`{path}` in the answer of `{source}` is not a string or number"
            ));
        }
    };
    if value.is_empty() {
        return Err(format!("`{path}` in the answer of `{source}` is empty"));
    }
    if value.contains("[REDACTED]") {
        return Err(format!("`{path}` in the answer of `{source}` is redacted"));
    }
    Ok(value)
}

/// Per endpoint (suite order): the endpoints whose answers it needs, as suite positions.
pub(crate) fn dependencies(endpoints: &[Endpoint]) -> Vec<Vec<usize>> {
    endpoints
        .iter()
        .map(|ep| {
            let mut deps: Vec<usize> = ep
                .from
                .values()
                .filter_map(|src| endpoints.iter().position(|e| e.base == src.endpoint))
                .collect();
            deps.sort_unstable();
            deps.dedup();
            deps
        })
        .collect()
}

/// Per endpoint (suite order): the JSONPaths other endpoints read from its answers.
pub(crate) fn chain_paths(endpoints: &[Endpoint]) -> Vec<Vec<String>> {
    endpoints
        .iter()
        .map(|ep| {
            let mut paths: Vec<String> = endpoints
                .iter()
                .flat_map(|e| e.from.values())
                .filter(|src| src.endpoint == ep.base && ep.params.is_empty())
                .map(|src| src.path.clone())
                .collect();
            paths.sort();
            paths.dedup();
            paths
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extract_takes_the_first_node_and_names_why_there_is_none() {
        let body =
            json!({"data": [{"id": "c-1"}, {"id": "c-2"}], "n": 7, "o": {}, "r": "[REDACTED]"});
        assert_eq!(
            extract(&body, "$.data[0].id", "campaigns"),
            Ok("c-1".into())
        );
        assert_eq!(
            extract(&body, "$.data[*].id", "campaigns"),
            Ok("c-1".into())
        );
        assert_eq!(extract(&body, "$.n", "campaigns"), Ok("7".into()));
        assert_eq!(
            extract(&json!({"data": []}), "$.data[0].id", "campaigns"),
            Err("`$.data[0].id` selects nothing in the answer of `campaigns`".into())
        );
        assert_eq!(
            extract(&body, "$.o", "campaigns"),
            Err("`$.o` in the answer of `campaigns` is not a string or number".into())
        );
        assert_eq!(
            extract(&body, "$.r", "campaigns"),
            Err("`$.r` in the answer of `campaigns` is redacted".into())
        );
    }
}
