//! The simulator's admin endpoint, `/_sim/…`: the controls of [`super::Sim`] over HTTP, for
//! people and for tests that run `driftwatch sim` as a separate process. Loopback clients
//! only; answers are JSON and never carry a token. Grant state lives in `tokens`.
//!
//! | request | form fields | answer |
//! |---|---|---|
//! | `GET /_sim/state` | — | version, switches, counters, refresh withholding, every grant |
//! | `POST /_sim/version` | `version=v1\|v2` | `{"version": …}` |
//! | `POST /_sim/revoke-access` | `account=…` or `token=…` | `{"revoked": N}` |
//! | `POST /_sim/kill-grant` | `account=…` or `token=…` | `{"killed": [grant numbers]}` |
//! | `POST /_sim/client` | `state=live\|secret-rotated\|deleted` and/or `generic_errors=on\|off` | `{"client": …, "generic_errors": bool}` |
//! | `POST /_sim/callback` | `remove=<https callback>` or `add=<https callback>` | `{"callbacks": [registered https callbacks]}` |
//! | `POST /_sim/withhold-refresh` | `ttl=<duration>` (`30s`, `500ms`, `14d`) or `ttl=off` | `{"withheld": bool}` |

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::data;
use super::oauth::params;
use super::options::{ApiVersion, Switches};
use super::server::{AppState, ClientState, SimStats};
use super::tokens::{GrantStats, Target};

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A refused admin request: its status and message (`{"error": message}`).
#[derive(Debug)]
pub(crate) struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        answer(self.0, json!({"error": self.1}))
    }
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal(status, message.to_owned())
}

fn refused(status: StatusCode, message: &str) -> Response {
    refuse(status, message).into_response()
}

/// The form of an admin request from a loopback client, or the finished refusal.
pub(crate) fn admin_form(
    peer: SocketAddr,
    body: &[u8],
) -> Result<HashMap<String, String>, Refusal> {
    if !peer.ip().is_loopback() {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "the simulator's admin endpoint answers loopback clients only",
        ));
    }
    params(body).map_err(|dup| {
        refuse(
            StatusCode::BAD_REQUEST,
            &format!("parameter {dup} is repeated"),
        )
    })
}

/// `account=…` (one of the simulated accounts) or `token=…`, exactly one of them.
fn target(p: &HashMap<String, String>) -> Result<Target<'_>, Refusal> {
    match (p.get("account"), p.get("token")) {
        (Some(a), None) => match data::account(a) {
            Some(acct) => Ok(Target::Account(acct.slug)),
            None => Err(refuse(
                StatusCode::BAD_REQUEST,
                &format!(
                    "unknown account `{a}` (expected one of {})",
                    data::ACCOUNTS.join(", ")
                ),
            )),
        },
        (None, Some(t)) => Ok(Target::Token(t)),
        _ => Err(refuse(
            StatusCode::BAD_REQUEST,
            "give exactly one of `account` and `token`",
        )),
    }
}

/// The version whose switches are in force, or `custom` for any other mix.
pub(crate) fn version_name(sw: Switches) -> &'static str {
    if sw == Switches::NONE {
        "v1"
    } else if sw == Switches::ALL {
        "v2"
    } else {
        "custom"
    }
}

fn grant_json(g: &GrantStats) -> Value {
    json!({
        "grant": g.grant,
        "account": g.account,
        "token_requests": g.token_requests,
        "refreshes": g.refreshes,
        "replays": g.replays,
        "ended": g.ended.map(|e| e.name()),
    })
}

fn stats_json(s: &SimStats) -> Value {
    json!({
        "token_requests": s.token_requests,
        "refresh_grants": s.refresh_grants,
        "refresh_reuse_rejected": s.refresh_reuse_rejected,
        "refresh_replays": s.refresh_replays,
        "api_requests": s.api_requests,
        "device_polls": s.device_polls,
        "slow_downs": s.slow_downs,
        "password_grants": s.password_grants,
        "rate_limited": s.rate_limited,
    })
}

/// `GET /_sim/state`.
pub(crate) async fn state(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if let Err(refusal) = admin_form(peer, b"") {
        return refusal.into_response();
    }
    let sw = s.switches();
    let (grants, withheld) = {
        let store = s.store();
        (store.grant_stats(), store.refresh_withheld())
    };
    answer(
        StatusCode::OK,
        json!({
            "version": version_name(sw),
            "switches": {
                "schema": sw.schema,
                "scopes": sw.scopes,
                "rotation": sw.rotation,
                "zeroed_metric": sw.zeroed_metric,
                "deprecation": sw.deprecation,
                "metadata": sw.metadata,
            },
            "refresh_withheld": withheld,
            "stats": stats_json(&s.stats()),
            "grants": grants.iter().map(grant_json).collect::<Vec<_>>(),
        }),
    )
}

/// `POST /_sim/version`: switches every drift on (`v2`) or off (`v1`), keeping every grant.
pub(crate) async fn version(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let p = match admin_form(peer, &body) {
        Ok(p) => p,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(raw) = p.get("version") else {
        return refused(StatusCode::BAD_REQUEST, "`version` is required (v1 or v2)");
    };
    match raw.parse::<ApiVersion>() {
        Ok(v) => {
            s.set_switches(Switches::from(v));
            answer(StatusCode::OK, json!({"version": v.to_string()}))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// A control aimed at an account's or one token's grants (`account=` or `token=`): checks the
/// caller and the form, applies `act`, saves the state and answers what `act` returned.
fn on_target(
    s: &AppState,
    peer: SocketAddr,
    body: &Bytes,
    act: impl FnOnce(&AppState, Target<'_>) -> Value,
) -> Response {
    let p = match admin_form(peer, body) {
        Ok(p) => p,
        Err(refusal) => return refusal.into_response(),
    };
    match target(&p) {
        Ok(t) => {
            let result = act(s, t);
            s.save_state();
            answer(StatusCode::OK, result)
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /_sim/revoke-access`: access tokens die, refresh tokens stay valid.
pub(crate) async fn revoke_access(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    on_target(
        &s,
        peer,
        &body,
        |s, t| json!({"revoked": s.store().revoke_access(t)}),
    )
}

/// `POST /_sim/kill-grant`: refresh answers `invalid_grant` from now on, access tokens die.
pub(crate) async fn kill_grant(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    on_target(
        &s,
        peer,
        &body,
        |s, t| json!({"killed": s.store().kill_grants(t)}),
    )
}

/// `POST /_sim/withhold-refresh`: `ttl=<duration>` starts withholding now, `ttl=off` ends it.
pub(crate) async fn withhold_refresh(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let p = match admin_form(peer, &body) {
        Ok(p) => p,
        Err(refusal) => return refusal.into_response(),
    };
    let ttl = match p.get("ttl").map(String::as_str) {
        Some("off") => None,
        Some(raw) => match crate::suite::parse_duration(raw) {
            Some(d) => Some(d),
            None => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "`ttl` must be a duration such as 30s, 500ms or 14d, or off; got `{raw}`"
                    ),
                );
            }
        },
        None => {
            return refused(
                StatusCode::BAD_REQUEST,
                "`ttl` is required (a duration such as 30s, or off)",
            );
        }
    };
    s.store().withhold_refresh(ttl, std::time::Instant::now());
    s.save_state();
    answer(StatusCode::OK, json!({"withheld": ttl.is_some()}))
}

/// `POST /_sim/client`: the OAuth client's state at the provider and whether token-endpoint
/// errors are a bare `400` (issue 20).
pub(crate) async fn client(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let p = match admin_form(peer, &body) {
        Ok(p) => p,
        Err(refusal) => return refusal.into_response(),
    };
    let state = match p.get("state").map(|v| (v, ClientState::parse(v))) {
        None => None,
        Some((_, Some(c))) => Some(c),
        Some((v, None)) => {
            return refused(
                StatusCode::BAD_REQUEST,
                &format!("`state` must be live, secret-rotated or deleted; got `{v}`"),
            );
        }
    };
    let generic = match p.get("generic_errors").map(String::as_str) {
        None => None,
        Some("on") => Some(true),
        Some("off") => Some(false),
        Some(v) => {
            return refused(
                StatusCode::BAD_REQUEST,
                &format!("`generic_errors` must be on or off; got `{v}`"),
            );
        }
    };
    if state.is_none() && generic.is_none() {
        return refused(
            StatusCode::BAD_REQUEST,
            "give `state` (live, secret-rotated, deleted) or `generic_errors` (on, off)",
        );
    }
    if let Some(c) = state {
        s.set_client_state(c);
    }
    if let Some(g) = generic {
        s.set_generic_errors(g);
    }
    answer(
        StatusCode::OK,
        json!({"client": s.client_state().name(), "generic_errors": s.generic_errors()}),
    )
}

/// `POST /_sim/callback`: removes (`remove=<uri>`, "callback removed") or registers
/// (`add=<uri>`) one https callback of the simulated app (issue 20 item 3).
pub(crate) async fn callback(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let p = match admin_form(peer, &body) {
        Ok(p) => p,
        Err(refusal) => return refusal.into_response(),
    };
    match (p.get("remove"), p.get("add")) {
        (Some(uri), None) => {
            if !s.remove_callback(uri) {
                return refused(
                    StatusCode::NOT_FOUND,
                    &format!("`{uri}` is not a registered callback"),
                );
            }
        }
        (None, Some(uri)) => {
            let ok = url::Url::parse(uri).is_ok_and(|u| u.scheme() == "https");
            if !ok {
                return refused(
                    StatusCode::BAD_REQUEST,
                    &format!("`add` must be an https URL; got `{uri}`"),
                );
            }
            s.add_callback(uri);
        }
        _ => {
            return refused(
                StatusCode::BAD_REQUEST,
                "give exactly one of `remove=<https callback>` and `add=<https callback>`",
            );
        }
    }
    answer(StatusCode::OK, json!({"callbacks": s.callbacks()}))
}
