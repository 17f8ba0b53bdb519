//! Conversion of `auth:` / `auths:` (several grants per provider) and of the auth a
//! connection names (`connections[].auth`).
//!
//! Part of the raw → model conversion; knows nothing about HTTP.

use super::convert::{Converter, pos};
use super::diagnostic::one_of;
use super::model::*;
use super::raw::RawSuite;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

impl Converter<'_> {
    /// Every auth by name, and the default one (see [`Suite::auth`]). Exactly one of `auth`
    /// and `auths` must be given; `auths` needs at least one entry with a valid name.
    pub(super) fn auths(&mut self, raw: &RawSuite) -> (Auth, BTreeMap<String, Auth>) {
        let mut out = BTreeMap::new();
        match (&raw.auth, &raw.auths) {
            (Some(single), None) => {
                out.insert(DEFAULT_AUTH.to_string(), self.auth(single));
            }
            (Some(single), Some(several)) => {
                self.diags.error(
                    pos(several),
                    "`auth` and `auths` are both given",
                    "keep `auths` (named auths) or `auth` (one auth), not both",
                );
                out.insert(DEFAULT_AUTH.to_string(), self.auth(single));
            }
            (None, Some(several)) => {
                if several.value.is_empty() {
                    self.diags.error(
                        pos(several),
                        "`auths` is empty",
                        "expected at least one named auth",
                    );
                }
                for (name, a) in &several.value {
                    if !valid_auth_name(name) {
                        self.diags.error(
                            pos(a),
                            format!("invalid auth name `{name}`"),
                            "expected lowercase letters, digits, `_` or `-`, starting with a letter or digit",
                        );
                    }
                    out.insert(name.clone(), self.auth(a));
                }
                self.one_credential_helper(&out);
            }
            (None, None) => {
                self.diags.error(
                    Pos { line: 1, column: 1 },
                    "missing `auth`",
                    "expected `auth:` (one auth) or `auths:` (named auths)",
                );
            }
        }
        let default = out
            .get(DEFAULT_AUTH)
            .or_else(|| out.values().next())
            .cloned()
            .unwrap_or_else(placeholder_auth);
        (default, out)
    }

    /// All auths of a suite share one credential store: two different helpers are an error.
    fn one_credential_helper(&mut self, auths: &BTreeMap<String, Auth>) {
        let mut first: Option<(&str, &str)> = None;
        for (name, auth) in auths {
            let Some(helper) = &auth.credential_helper else {
                continue;
            };
            match first {
                None => first = Some((name, helper.value.as_str())),
                Some((other, cmd)) if cmd != helper.value => {
                    self.diags.error(
                        helper.pos,
                        format!(
                            "auth `{name}` names another `credential_helper` than auth `{other}`"
                        ),
                        "all auths of a suite share one credential store",
                    );
                }
                Some(_) => {}
            }
        }
    }

    /// The auth a connection names, checked against `auths`; [`DEFAULT_AUTH`] for the single
    /// `auth:` form, the only auth when there is one, an error when several exist and none is
    /// named.
    pub(super) fn connection_auth(
        &mut self,
        raw: Option<&Spanned<String>>,
        conn_pos: Pos,
        conn_id: &str,
        auths: &BTreeMap<String, Auth>,
    ) -> String {
        let names: Vec<&str> = auths.keys().map(String::as_str).collect();
        let Some(raw) = raw else {
            return match names.as_slice() {
                [only] => (*only).to_string(),
                [] => DEFAULT_AUTH.to_string(),
                _ => {
                    self.diags.error(
                        conn_pos,
                        format!("connection `{conn_id}` names no `auth`"),
                        format!(
                            "the suite declares several auths: expected `auth:` with one of {}",
                            one_of(&names)
                        ),
                    );
                    DEFAULT_AUTH.to_string()
                }
            };
        };
        let name = self.text(raw);
        if !auths.contains_key(&name.value) {
            self.diags
                .error(
                    name.pos,
                    format!("unknown auth `{}`", name.value),
                    format!("expected one of {}", one_of(&names)),
                )
                .suggest(&name.value, names.iter().copied());
        }
        name.value
    }
}

fn valid_auth_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Stands in when the suite has no auth at all (already an error): never used for a run.
fn placeholder_auth() -> Auth {
    Auth {
        token_url: None,
        authorize_url: None,
        discovery_url: None,
        grant: Located {
            value: Grant::StaticBearer,
            pos: Pos::default(),
        },
        client_id: None,
        client_secret: None,
        client_secret_expires: None,
        redirect_uris: Vec::new(),
        client_auth: Located {
            value: ClientAuth::default(),
            pos: Pos::default(),
        },
        scopes: Vec::new(),
        redirect_uri: None,
        device_authorization_url: None,
        refresh_token_lifetime: RefreshLifetime::default(),
        refresh: RefreshDocs::default(),
        credential_helper: None,
        authorize_params: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::load::{analyze, render_all};
    use super::super::model::{DEFAULT_AUTH, Grant};
    use super::super::{DiagSeverity, LoadMode, Suite};
    use crate::context::Context;
    use std::path::Path;

    const HEAD: &str = "version: 1\nprovider:\n  name: demo\n  base_url: http://127.0.0.1/\n";

    const AUTHS: &str = "auths:\n  user:\n    grant: authorization_code\n    token_url: /t\n    client_id: app\n  service:\n    grant: client_credentials\n    token_url: /t\n    client_id: app\n    client_auth: post\n";

    fn load(tail: &str) -> (Option<Suite>, Vec<super::super::Diagnostic>, String) {
        let src = format!("{HEAD}{tail}");
        let ctx = Context::empty("/");
        let (suite, diags) = analyze(Path::new("s.yaml"), &src, &ctx, LoadMode::Check);
        (suite, diags, src)
    }

    fn errors(diags: &[super::super::Diagnostic]) -> Vec<String> {
        diags
            .iter()
            .filter(|d| d.severity == DiagSeverity::Error)
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn single_auth_is_named_default_and_serves_every_connection() {
        let (suite, diags, _) = load(
            "auth:\n  grant: client_credentials\n  token_url: /t\n  client_id: app\nconnections:\n  - id: a\n",
        );
        assert_eq!(errors(&diags), Vec::<String>::new());
        let suite = suite.expect("suite");
        assert_eq!(suite.auths.keys().collect::<Vec<_>>(), [DEFAULT_AUTH]);
        assert_eq!(suite.connections[0].auth, DEFAULT_AUTH);
        // The credential key is unchanged: existing store entries keep working.
        assert_eq!(suite.connections[0].credential, "demo/a");
        assert_eq!(
            suite.auth_of(&suite.connections[0]).grant.value,
            Grant::ClientCredentials
        );
    }

    #[test]
    fn named_auths_serve_the_connections_that_name_them() {
        let (suite, diags, _) = load(&format!(
            "{AUTHS}connections:\n  - id: alice\n    auth: user\n  - id: robot\n    auth: service\n"
        ));
        assert_eq!(errors(&diags), Vec::<String>::new());
        let suite = suite.expect("suite");
        assert_eq!(suite.auths.keys().collect::<Vec<_>>(), ["service", "user"]);
        let grants: Vec<(&str, &str, Grant)> = suite
            .connections
            .iter()
            .map(|c| {
                (
                    c.id.value.as_str(),
                    c.credential.as_str(),
                    suite.auth_of(c).grant.value,
                )
            })
            .collect();
        assert_eq!(
            grants,
            [
                ("alice", "demo/alice", Grant::AuthorizationCode),
                ("robot", "demo/robot", Grant::ClientCredentials),
            ]
        );
        // No `default` among several: the first by name.
        assert_eq!(suite.auth.grant.value, Grant::ClientCredentials);
        let only = suite.with_only_auth("user");
        assert_eq!(only.auth.grant.value, Grant::AuthorizationCode);
        assert_eq!(only.auths.len(), 1);
    }

    #[test]
    fn unknown_auth_name_is_an_error_with_a_suggestion() {
        let (_, diags, src) = load(&format!(
            "{AUTHS}connections:\n  - id: alice\n    auth: usr\n"
        ));
        assert_eq!(
            render_all(&diags, &src, false),
            "error: unknown auth `usr`\n  --> s.yaml:17:11\n   |\n17 |     auth: usr\n   |           ^^^ expected one of `service`, `user`\n   |\n   = help: did you mean `user`?\n\n"
        );
    }

    #[test]
    fn several_auths_need_each_connection_to_name_one() {
        let (_, diags, _) = load(&format!("{AUTHS}connections:\n  - id: alice\n"));
        assert_eq!(errors(&diags), ["connection `alice` names no `auth`"]);
    }

    #[test]
    fn auth_and_auths_together_or_neither_are_errors() {
        let (_, diags, _) = load(&format!("auth:\n  grant: static_bearer\n{AUTHS}"));
        assert_eq!(errors(&diags), ["`auth` and `auths` are both given"]);
        let (_, diags, _) = load("connections: []\n");
        assert_eq!(errors(&diags), ["missing `auth`"]);
        let (_, diags, _) = load(
            "auths:\n  a:\n    grant: static_bearer\n    credential_helper: one\n  b:\n    grant: static_bearer\n    credential_helper: two\n",
        );
        assert_eq!(
            errors(&diags),
            ["auth `b` names another `credential_helper` than auth `a`"]
        );
    }
}
