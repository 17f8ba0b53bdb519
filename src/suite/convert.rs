//! Turns the raw parsed suite into the plain model: resolves `${env:VAR}`,
//! applies defaults and reports every semantic problem with its position.
//!
//! Never prints a scalar that could be a secret; knows nothing about HTTP.

use super::diagnostic::{Diags, one_of};
use super::interpolate::{InterpolateErrorKind, interpolate, is_single_reference};
use super::load::LoadMode;
use super::model::*;
use super::raw::*;
use super::units::{parse_duration, parse_size};
use crate::context::Context;
use secrecy::SecretString;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A string scalar after interpolation.
pub(super) struct Text {
    pub value: String,
    /// Every reference was set (or there were none); only then is the value checked.
    pub resolved: bool,
    pub pos: Pos,
}

impl Text {
    pub fn located(self) -> Located<String> {
        Located {
            value: self.value,
            pos: self.pos,
        }
    }

    fn secret(self) -> Located<SecretString> {
        Located {
            value: SecretString::from(self.value),
            pos: self.pos,
        }
    }
}

pub(super) struct Converter<'a> {
    ctx: &'a Context,
    mode: LoadMode,
    pub(super) source: &'a str,
    pub suite_dir: &'a Path,
    pub diags: &'a mut Diags,
}

pub(super) fn pos<T>(s: &Spanned<T>) -> Pos {
    Pos {
        line: u32::try_from(s.referenced.line()).unwrap_or(u32::MAX),
        column: u32::try_from(s.referenced.column()).unwrap_or(u32::MAX),
    }
}

/// Converts and validates `raw`; problems go to `diags` (the suite is only usable
/// when no error was reported).
pub(crate) fn convert(
    raw: RawSuite,
    file: &Path,
    suite_dir: &Path,
    source: &str,
    ctx: &Context,
    mode: LoadMode,
    diags: &mut Diags,
) -> Suite {
    let mut c = Converter {
        ctx,
        mode,
        source,
        suite_dir,
        diags,
    };
    if raw.version.value != 1 {
        c.diags.error(
            pos(&raw.version),
            format!("unsupported suite version `{}`", raw.version.value),
            "expected `1`",
        );
    }
    let provider = c.provider(&raw.provider);
    let (auth, auths) = c.auths(&raw);
    let scope_sets: BTreeMap<String, Located<Vec<String>>> = raw
        .scope_sets
        .iter()
        .map(|(name, scopes)| {
            let list = scopes.value.iter().map(|s| c.text(s).value).collect();
            (
                name.clone(),
                Located {
                    value: list,
                    pos: pos(scopes),
                },
            )
        })
        .collect();
    let connections = c.connections(&raw.connections, &provider, &auths, &scope_sets);
    let default_auth = c.endpoint_auth(
        raw.endpoint_defaults.as_ref().and_then(|d| d.auth.as_ref()),
        EndpointAuth::Token,
    );
    let endpoints = c.endpoints(&raw.endpoints, &auths, &scope_sets, default_auth);
    let helper = auths.values().any(|a| a.credential_helper.is_some());
    c.check_chains(&connections, &endpoints, helper);
    let limits = c.limits(raw.limits.as_ref());
    let redact = raw.redact.iter().map(|r| c.redact(r)).collect();
    let deprecation_headers = raw
        .deprecation
        .as_ref()
        .map(|d| d.headers.clone())
        .unwrap_or_default();
    let metadata = match &raw.metadata {
        Some(m) => MetadataConfig {
            issuer: m.issuer.as_ref().map(|i| c.text(i).value),
            documents: match &m.documents {
                Some(d) => d
                    .iter()
                    .map(|k| match k {
                        RawMetadataDocument::OauthAuthorizationServer => {
                            "oauth-authorization-server"
                        }
                        RawMetadataDocument::OpenidConfiguration => "openid-configuration",
                    })
                    .map(str::to_string)
                    .collect(),
                None => vec![
                    "oauth-authorization-server".to_string(),
                    "openid-configuration".to_string(),
                ],
            },
        },
        None => MetadataConfig::default(),
    };
    let mut severity = Vec::new();
    for (rule, level) in &raw.severity {
        match crate::rules::parse_override(rule, &level.value) {
            Ok(entry) => severity.push(entry),
            Err(e) => {
                let label = match &e {
                    crate::rules::OverrideError::UnknownRule { .. } => "not a rule id",
                    crate::rules::OverrideError::Level { .. } => {
                        "expected breaking, warning or info"
                    }
                };
                c.diags.error(pos(level), e.to_string(), label);
            }
        }
    }
    Suite {
        severity,
        file: file.to_path_buf(),
        version: raw.version.value,
        provider,
        auth,
        scope_sets,
        connections,
        endpoints,
        limits,
        redact,
        deprecation_headers,
        metadata,
        auths,
    }
}

impl Converter<'_> {
    /// The values of the set environment variables `s` refers to: credentials
    /// the redactor must know by value.
    pub(super) fn env_values(&self, s: &Spanned<String>) -> Vec<SecretString> {
        super::interpolate::references(&s.value)
            .iter()
            .filter_map(|name| self.ctx.var(name))
            .map(|v| SecretString::from(v.to_string()))
            .collect()
    }

    /// Interpolates one scalar, reporting malformed and unset references.
    pub(super) fn text(&mut self, s: &Spanned<String>) -> Text {
        let at = pos(s);
        match interpolate(&s.value, |name| self.ctx.var(name)) {
            Ok(done) => {
                for (offset, name) in &done.unset {
                    let needle = &s.value[*offset..];
                    let ref_pos = self.find_in_line(at, needle, name);
                    let message = format!("environment variable `{name}` is not set");
                    match self.mode {
                        LoadMode::Run => {
                            self.diags.error(
                                ref_pos,
                                message,
                                format!("set `{name}` before running"),
                            );
                        }
                        LoadMode::Check => {
                            self.diags.warning(
                                ref_pos,
                                message,
                                "`driftwatch run` needs this variable",
                            );
                        }
                    }
                }
                Text {
                    resolved: done.unset.is_empty(),
                    value: done.value,
                    pos: at,
                }
            }
            Err(e) => {
                let ref_pos = self.find_in_line(at, &s.value[e.offset..], "");
                let (message, label) = match e.kind {
                    InterpolateErrorKind::Unterminated => (
                        "unterminated `${env:` reference".to_string(),
                        "expected `}`",
                    ),
                    InterpolateErrorKind::BadName(name) => (
                        format!("invalid environment variable name `{name}`"),
                        "expected `${env:NAME}` with NAME of letters, digits and `_`",
                    ),
                };
                self.diags.error(ref_pos, message, label);
                Text {
                    value: s.value.clone(),
                    resolved: false,
                    pos: at,
                }
            }
        }
    }

    /// Where `${env:name` appears on the scalar's line, so the caret sits on the
    /// reference itself; falls back to the scalar.
    fn find_in_line(&self, at: Pos, rest: &str, name: &str) -> Pos {
        let needle = if name.is_empty() {
            rest.chars().take(6).collect::<String>()
        } else {
            format!("${{env:{name}}}")
        };
        let Some(line) = self.source.lines().nth((at.line as usize).wrapping_sub(1)) else {
            return at;
        };
        let from: usize = line
            .char_indices()
            .nth((at.column as usize).saturating_sub(1))
            .map_or(line.len(), |(i, _)| i);
        match line[from..].find(&needle) {
            Some(i) => Pos {
                line: at.line,
                column: u32::try_from(line[..from + i].chars().count() + 1).unwrap_or(at.column),
            },
            None => at,
        }
    }

    fn provider(&mut self, raw: &Spanned<RawProvider>) -> Provider {
        let name = self.text(&raw.value.name);
        if name.resolved && !valid_id(&name.value, false) {
            self.diags.error(
                name.pos,
                format!("invalid provider name `{}`", name.value),
                "expected lowercase letters, digits, `_` or `-`, starting with a letter or digit",
            );
        }
        let base_url = self.text(&raw.value.base_url);
        if base_url.resolved && !is_http_url(&base_url.value) {
            self.diags.error(
                base_url.pos,
                "`base_url` is not an absolute http(s) URL",
                "expected a URL like `https://api.example.com`",
            );
        }
        Provider {
            name: name.located(),
            base_url: base_url.located(),
        }
    }

    pub(super) fn auth(&mut self, raw: &Spanned<RawAuth>) -> Auth {
        let a = &raw.value;
        let grant = match a.grant.value {
            RawGrant::AuthorizationCode => Grant::AuthorizationCode,
            RawGrant::ClientCredentials => Grant::ClientCredentials,
            RawGrant::StaticBearer => Grant::StaticBearer,
            RawGrant::Password => Grant::Password,
        };
        if grant == Grant::Password {
            self.diags
                .warning(
                    pos(&a.grant),
                    "the password grant is deprecated",
                    "OAuth 2.1 removes the resource-owner password grant",
                )
                .help = Some(
                "it still works here; move to authorization_code or device flow when the provider allows"
                    .to_string(),
            );
        }
        let token_url = self.url(a.token_url.as_ref(), "token_url", true);
        let authorize_url = self.url(a.authorize_url.as_ref(), "authorize_url", true);
        let discovery_url = self.url(a.discovery_url.as_ref(), "discovery_url", true);
        let redirect_uri = self.url(a.redirect_uri.as_ref(), "redirect_uri", false);
        let device_authorization_url = self.url(
            a.device_authorization_url.as_ref(),
            "device_authorization_url",
            true,
        );
        let refresh_token_lifetime = match &a.refresh_token_lifetime {
            Some(l) => RefreshLifetime {
                idle: l.idle.as_ref().and_then(|d| self.duration(d)),
                absolute: l.absolute.as_ref().and_then(|d| self.duration(d)),
            },
            None => RefreshLifetime::default(),
        };
        let credential_helper = a.credential_helper.as_ref().map(|h| self.text(h).located());
        let refresh = match &a.refresh {
            Some(r) => RefreshDocs {
                documented: r.documented.map(|d| match d {
                    RawDocumentedRefresh::None => DocumentedRefresh::None,
                    RawDocumentedRefresh::Reusable => DocumentedRefresh::Reusable,
                    RawDocumentedRefresh::Rotating => DocumentedRefresh::Rotating,
                }),
                replay_delay: r.replay_delay.as_ref().and_then(|d| self.duration(d)),
                replay: match r.replay {
                    None | Some(RawReplay::Once) => ReplayPolicy::Once,
                    Some(RawReplay::EveryRun) => ReplayPolicy::EveryRun,
                    Some(RawReplay::Never) => ReplayPolicy::Never,
                },
            },
            None => RefreshDocs::default(),
        };
        if grant != Grant::StaticBearer && token_url.is_none() && discovery_url.is_none() {
            self.diags.error(
                pos(raw),
                "`auth` needs `token_url` or `discovery_url`",
                "add one of them to this mapping",
            );
        }
        let client_id = a.client_id.as_ref().map(|s| self.text(s).secret());
        if client_id.is_none() && grant != Grant::StaticBearer {
            self.diags.error(
                pos(&a.grant),
                format!("missing `client_id` for grant `{}`", grant_name(grant)),
                "this grant needs `client_id` in `auth`",
            );
        }
        let client_secret = a.client_secret.as_ref().map(|s| {
            self.literal_secret(s, "client_secret");
            self.text(s).secret()
        });
        let client_auth = match &a.client_auth {
            Some(s) => Located {
                value: match s.value {
                    RawClientAuth::Basic => ClientAuth::Basic,
                    RawClientAuth::Post => ClientAuth::Post,
                },
                pos: pos(s),
            },
            None => Located {
                value: ClientAuth::default(),
                pos: pos(raw),
            },
        };
        Auth {
            token_url,
            authorize_url,
            discovery_url,
            grant: Located {
                value: grant,
                pos: pos(&a.grant),
            },
            client_id,
            client_secret,
            client_auth,
            scopes: a.scopes.iter().map(|s| self.text(s).value).collect(),
            redirect_uri,
            device_authorization_url,
            refresh_token_lifetime,
            refresh,
            credential_helper,
            authorize_params: self.authorize_params(a.authorize_params.as_ref()),
            client_secret_expires: a
                .client_secret_expires
                .as_ref()
                .and_then(|s| self.expiry(s)),
            redirect_uris: self.redirect_uris(&a.redirect_uris),
        }
    }

    /// `auth.redirect_uris` (issue 20): absolute http(s) URLs without a fragment, plain `http`
    /// only on a loopback host (RFC 8252 §7.3); a repeated URL is warned about and dropped.
    fn redirect_uris(&mut self, raw: &[Spanned<String>]) -> Vec<Located<String>> {
        let mut out: Vec<Located<String>> = Vec::new();
        for s in raw {
            let text = self.text(s);
            if text.resolved {
                if let Err(why) = callback_url_problem(&text.value) {
                    self.diags
                        .error(text.pos, "invalid URL in `redirect_uris`", why);
                    continue;
                }
                if out.iter().any(|o| o.value == text.value) {
                    self.diags.warning(
                        text.pos,
                        "repeated URL in `redirect_uris`",
                        "each callback is checked once; remove the repetition",
                    );
                    continue;
                }
            }
            out.push(text.located());
        }
        out
    }

    /// `auth.client_secret_expires` (issue 20): a date (midnight UTC), an RFC 3339 time, or
    /// `stored` (read from the credential store or helper when a run starts).
    fn expiry(&mut self, s: &Spanned<String>) -> Option<Located<super::model::SecretExpiry>> {
        let text = self.text(s);
        // An unset `${env:…}` is already warned about (`check`) or an error (`run`).
        if !text.resolved {
            return None;
        }
        let raw = text.value.trim();
        if raw == "stored" {
            return Some(Located {
                value: super::model::SecretExpiry::Stored,
                pos: pos(s),
            });
        }
        let at = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .or_else(|| {
                chrono::DateTime::parse_from_rfc3339(raw)
                    .ok()
                    .map(|t| t.with_timezone(&chrono::Utc))
            });
        if at.is_none() {
            self.diags.error(
                pos(s),
                format!("`client_secret_expires` must be a date such as 2027-03-01, an RFC 3339 time or `stored`; got `{raw}`"),
                "write the date the provider shows for the client secret, or `stored` to read it from the credential store or helper",
            );
        }
        at.map(|at| Located {
            value: super::model::SecretExpiry::At(at),
            pos: pos(s),
        })
    }

    /// A duration value, or an error diagnostic at its position.
    fn duration(&mut self, s: &Spanned<String>) -> Option<std::time::Duration> {
        let text = self.text(s);
        match parse_duration(&text.value) {
            Some(d) => Some(d),
            None if text.resolved => {
                let d = self.diags.error(
                    text.pos,
                    format!("invalid duration `{}`", text.value),
                    "expected a number with a unit: `500ms`, `30s`, `2m`, `12h`, `90d`",
                );
                if text.value.trim().chars().all(|c| c.is_ascii_digit()) {
                    d.help = Some(format!("did you mean `{}s`?", text.value.trim()));
                }
                None
            }
            None => None,
        }
    }

    /// An auth URL: absolute http(s), or (when `relative_ok`) a path starting with `/`.
    fn url(
        &mut self,
        raw: Option<&Spanned<String>>,
        key: &str,
        relative_ok: bool,
    ) -> Option<Located<String>> {
        let text = self.text(raw?);
        let ok = is_http_url(&text.value) || (relative_ok && text.value.starts_with('/'));
        if text.resolved && !ok {
            let label = if relative_ok {
                "expected an absolute http(s) URL or a path starting with `/`"
            } else {
                "expected an absolute http(s) URL"
            };
            self.diags
                .error(text.pos, format!("invalid URL in `{key}`"), label);
        }
        Some(text.located())
    }

    /// Warns when a secret is written inline instead of as `${env:VAR}`.
    pub(super) fn literal_secret(&mut self, s: &Spanned<String>, key: &str) {
        if !is_single_reference(&s.value) {
            self.diags
                .warning(
                    pos(s),
                    format!("literal secret in `{key}`"),
                    "write `${env:VAR}` instead",
                )
                .help = Some(
                "keep secrets in the environment or the credential store, not in the suite"
                    .to_string(),
            );
        }
    }

    fn connections(
        &mut self,
        raw: &[Spanned<RawConnection>],
        provider: &Provider,
        auths: &BTreeMap<String, Auth>,
        scope_sets: &BTreeMap<String, Located<Vec<String>>>,
    ) -> Vec<Connection> {
        let mut seen: HashMap<String, Pos> = HashMap::new();
        let mut out = Vec::new();
        for entry in raw {
            let r = &entry.value;
            let id = self.text(&r.id);
            self.check_id(&id, "connection id", &mut seen);
            let auth_name = self.connection_auth(r.auth.as_ref(), pos(entry), &id.value, auths);
            let auth = match auths.get(&auth_name).or_else(|| auths.values().next()) {
                Some(a) => a,
                None => continue,
            };
            let credential = match &r.credential {
                Some(s) => self.text(s).value,
                None => format!("{}/{}", provider.name.value, id.value),
            };
            let scope_set = r.scope_set.as_ref().map(|s| self.text(s).located());
            if let Some(set) = &scope_set
                && !scope_sets.contains_key(&set.value)
            {
                let names: Vec<&str> = scope_sets.keys().map(String::as_str).collect();
                let label = if names.is_empty() {
                    "no scope sets are defined in `scope_sets`".to_string()
                } else {
                    format!("expected one of {}", one_of(&names))
                };
                self.diags
                    .error(set.pos, format!("unknown scope set `{}`", set.value), label)
                    .suggest(&set.value, names.iter().copied());
            }
            let token = r.token.as_ref().map(|s| {
                if auth.grant.value != Grant::StaticBearer {
                    self.diags.error(
                        pos(s),
                        format!(
                            "`token` is not allowed with grant `{}`",
                            grant_name(auth.grant.value)
                        ),
                        "only `static_bearer` connections carry a token",
                    );
                }
                self.literal_secret(s, "token");
                self.text(s).secret()
            });
            let password_grant = auth.grant.value == Grant::Password;
            let username = r.username.as_ref().map(|s| {
                if !password_grant {
                    self.only_for_password(s, "username", auth.grant.value);
                }
                self.text(s).located()
            });
            let password = r.password.as_ref().map(|s| {
                if !password_grant {
                    self.only_for_password(s, "password", auth.grant.value);
                }
                self.literal_secret(s, "password");
                self.text(s).secret()
            });
            if password_grant && (username.is_none() || password.is_none()) {
                self.diags.error(
                    pos(entry),
                    format!("connection `{}` needs `username` and `password`", id.value),
                    "grant `password` signs in as a resource owner",
                );
            }
            let (vars, var_secrets) = self.conn_vars(&r.vars);
            out.push(Connection {
                vars,
                var_secrets,
                id: id.located(),
                credential,
                scope_set,
                disposable: r.disposable,
                token,
                username,
                password,
                pos: pos(entry),
                auth: auth_name,
            });
        }
        out
    }

    fn only_for_password(&mut self, s: &Spanned<String>, key: &str, grant: Grant) {
        self.diags.error(
            pos(s),
            format!("`{key}` is not allowed with grant `{}`", grant_name(grant)),
            "only `password` connections sign in with a username and password",
        );
    }

    /// Validates an id's syntax and uniqueness among `seen`.
    pub(super) fn check_id(&mut self, id: &Text, what: &str, seen: &mut HashMap<String, Pos>) {
        if id.resolved && !valid_id(&id.value, true) {
            self.diags.error(
                id.pos,
                format!("invalid {what} `{}`", id.value),
                "expected lowercase letters, digits, `_`, `.` or `-`, starting with a letter or digit",
            );
        }
        if let Some(first) = seen.get(&id.value) {
            self.diags.error(
                id.pos,
                format!("duplicate {what} `{}`", id.value),
                format!("already used on line {}", first.line),
            );
        } else {
            seen.insert(id.value.clone(), id.pos);
        }
    }

    fn limits(&mut self, raw: Option<&RawLimits>) -> Limits {
        let mut limits = Limits::default();
        let Some(raw) = raw else {
            return limits;
        };
        for (field, target) in [
            (&raw.timeout, &mut limits.timeout),
            (&raw.connect_timeout, &mut limits.connect_timeout),
            (&raw.max_retry_wait, &mut limits.max_retry_wait),
        ] {
            if let Some(s) = field {
                let text = self.text(s);
                match parse_duration(&text.value) {
                    Some(d) => *target = d,
                    None if text.resolved => {
                        let d = self.diags.error(
                            text.pos,
                            format!("invalid duration `{}`", text.value),
                            "expected a number with a unit: `500ms`, `30s`, `2m`",
                        );
                        if text.value.trim().chars().all(|c| c.is_ascii_digit()) {
                            d.help = Some(format!("did you mean `{}s`?", text.value.trim()));
                        }
                    }
                    None => {}
                }
            }
        }
        if let Some(s) = &raw.max_body {
            let text = self.text(s);
            match parse_size(&text.value) {
                Some(n) => limits.max_body_bytes = n,
                None if text.resolved => {
                    self.diags.error(
                        text.pos,
                        format!("invalid size `{}`", text.value),
                        "expected bytes, or a number with `KiB`, `MiB` or `GiB`",
                    );
                }
                None => {}
            }
        }
        if let Some(c) = &raw.concurrency {
            if c.value == 0 {
                self.diags.error(
                    pos(c),
                    "`concurrency` must be at least 1",
                    "expected 1 or more",
                );
            } else {
                limits.concurrency = c.value as usize;
            }
        }
        if let Some(r) = &raw.retries {
            limits.retries = r.value;
        }
        if let Some(s) = &raw.rate {
            /// `<n>/s` or `<n>/m` with n at least 1.
            fn parse_rate(text: &str) -> Option<RequestRate> {
                let (n, unit) = text.trim().split_once('/')?;
                let per = match unit.trim() {
                    "s" => std::time::Duration::from_secs(1),
                    "m" => std::time::Duration::from_secs(60),
                    _ => return None,
                };
                let requests: u32 = n.trim().parse().ok().filter(|n| *n > 0)?;
                Some(RequestRate { requests, per })
            }
            let text = self.text(s);
            match parse_rate(&text.value) {
                Some(rate) => limits.rate = Some(rate),
                None if text.resolved => {
                    self.diags.error(
                        text.pos,
                        format!("invalid rate `{}`", text.value),
                        "expected requests per second or minute, at least 1: `50/s`, `600/m`",
                    );
                }
                None => {}
            }
        }
        limits
    }

    fn redact(&mut self, s: &Spanned<String>) -> Located<String> {
        let text = self.text(s);
        if text.resolved {
            let bad = if text.value.starts_with('$') {
                serde_json_path::JsonPath::parse(&text.value).is_err()
            } else {
                text.value.trim().is_empty()
            };
            if bad {
                self.diags.error(
                    text.pos,
                    "invalid redaction selector",
                    "expected a JSONPath like `$.user.ssn` or a bare key like `api_key`",
                );
            }
        }
        text.located()
    }
}

fn grant_name(grant: Grant) -> &'static str {
    match grant {
        Grant::AuthorizationCode => "authorization_code",
        Grant::ClientCredentials => "client_credentials",
        Grant::StaticBearer => "static_bearer",
        Grant::Password => "password",
    }
}

/// `[a-z0-9][a-z0-9_-]*`, plus `.` when `dots`.
fn valid_id(id: &str, dots: bool) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if ok(c))
        && chars.all(|c| ok(c) || c == '_' || c == '-' || (dots && c == '.'))
}

/// Why `text` cannot be a registered callback, if it cannot.
pub(super) fn callback_url_problem(text: &str) -> Result<(), &'static str> {
    let Ok(u) = url::Url::parse(text) else {
        return Err("expected an absolute http(s) URL");
    };
    if u.fragment().is_some() {
        return Err("a callback URL cannot have a fragment (RFC 6749 §3.1.2)");
    }
    match (u.scheme(), u.host()) {
        (_, None) => Err("expected an absolute http(s) URL"),
        ("https", _) => Ok(()),
        ("http", Some(url::Host::Ipv4(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(url::Host::Ipv6(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(url::Host::Domain("localhost"))) => Ok(()),
        ("http", _) => {
            Err("plain `http` only on a loopback host (127.0.0.1, [::1], localhost); use https")
        }
        _ => Err("expected an absolute http(s) URL"),
    }
}

pub(super) fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

#[cfg(test)]
mod tests {
    use super::super::diagnostic::{DiagSeverity, Diagnostic};
    use super::super::load::analyze;
    use super::*;
    use secrecy::ExposeSecret;

    const SUITE: &str = "version: 1
provider:
  name: demo
  base_url: http://${env:HOST}/api
auth:
  grant: static_bearer
connections:
  - id: a
    token: ${env:TOKEN_A}
";

    fn run(ctx: &Context, mode: LoadMode) -> (Option<Suite>, Vec<Diagnostic>) {
        analyze(Path::new("s.yaml"), SUITE, ctx, mode)
    }

    #[test]
    fn variables_resolve_from_the_context() {
        let ctx = Context::empty("/")
            .with_var("HOST", "127.0.0.1:9")
            .with_var("TOKEN_A", "sim_at_1");
        let (suite, diags) = run(&ctx, LoadMode::Run);
        assert_eq!(diags, vec![]);
        let suite = suite.unwrap();
        assert_eq!(suite.provider.base_url.value, "http://127.0.0.1:9/api");
        assert_eq!(
            suite.provider.base_url.pos,
            Pos {
                line: 4,
                column: 13
            }
        );
        let conn = &suite.connections[0];
        assert_eq!(conn.credential, "demo/a");
        assert_eq!(conn.pos, Pos { line: 8, column: 5 });
        let token = conn.token.as_ref().map(|t| t.value.expose_secret());
        assert_eq!(token, Some("sim_at_1"));
        assert_eq!(suite.auth.client_auth.value, ClientAuth::Basic);
        assert_eq!(suite.limits, Limits::default());
    }

    #[test]
    fn limits_rate_retries_and_max_retry_wait() {
        let ctx = Context::empty("/")
            .with_var("HOST", "h")
            .with_var("TOKEN_A", "t");
        let limits = |block: &str| {
            let src = format!("{SUITE}limits:\n{block}");
            analyze(Path::new("s.yaml"), &src, &ctx, LoadMode::Run)
        };
        let (suite, diags) = limits("  rate: 50/s\n  retries: 0\n  max_retry_wait: 5s\n");
        assert_eq!(diags, vec![]);
        let got = suite.expect("suite").limits;
        assert_eq!(
            got.rate,
            Some(RequestRate {
                requests: 50,
                per: std::time::Duration::from_secs(1)
            })
        );
        assert_eq!(got.retries, 0);
        assert_eq!(got.max_retry_wait, std::time::Duration::from_secs(5));
        let (suite, _) = limits("  rate: 600/m\n");
        assert_eq!(
            suite.expect("suite").limits.rate,
            Some(RequestRate {
                requests: 600,
                per: std::time::Duration::from_secs(60)
            })
        );
        for bad in ["0/s", "50/h", "50", "fast"] {
            let (_, diags) = limits(&format!("  rate: \"{bad}\"\n"));
            assert_eq!(diags.len(), 1, "{bad}");
            assert_eq!(diags[0].message, format!("invalid rate `{bad}`"));
            assert_eq!(
                diags[0].pos,
                Pos {
                    line: 11,
                    column: 9
                },
                "{bad}"
            );
        }
    }

    #[test]
    fn unset_variables_are_errors_in_run_mode_and_warnings_in_check_mode() {
        let ctx = Context::empty("/").with_var("HOST", "h");
        let (_, diags) = run(&ctx, LoadMode::Run);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].severity, DiagSeverity::Error);
        assert_eq!(
            diags[0].message,
            "environment variable `TOKEN_A` is not set"
        );
        assert_eq!(
            diags[0].pos,
            Pos {
                line: 9,
                column: 12
            }
        );
        let (suite, diags) = run(&Context::empty("/"), LoadMode::Check);
        let found: Vec<_> = diags.iter().map(|d| (d.severity, d.pos)).collect();
        assert_eq!(
            found,
            vec![
                (
                    DiagSeverity::Warning,
                    Pos {
                        line: 4,
                        column: 20
                    }
                ),
                (
                    DiagSeverity::Warning,
                    Pos {
                        line: 9,
                        column: 12
                    }
                ),
            ]
        );
        assert!(suite.is_some());
    }

    #[test]
    fn literal_tokens_warn_and_header_credentials_are_detected() {
        let yaml = SUITE.replace("${env:TOKEN_A}", "abc")
            + "endpoints:\n  - id: e\n    path: /e\n    headers: { X-Api-Key: k1, Accept: Bearer-ish }\n";
        let ctx = Context::empty("/").with_var("HOST", "h");
        let (_, diags) = analyze(Path::new("s.yaml"), &yaml, &ctx, LoadMode::Run);
        let messages: Vec<_> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "literal secret in `token`",
                "literal credential in header `X-Api-Key`"
            ]
        );
    }

    #[test]
    fn ids() {
        assert!(valid_id("acme-corp_2", false));
        assert!(!valid_id("invoices.list", false));
        assert!(valid_id("invoices.list", true));
        assert!(!valid_id("-a", true));
        assert!(!valid_id("", true));
        assert!(!valid_id("Acme", true));
        assert!(is_http_url("https://api.example.com/v1"));
        assert!(!is_http_url("/v1"));
        assert!(!is_http_url("ftp://x"));
    }

    /// Issue 20 item 3: `auth.redirect_uris` — absolute, https (plain http on loopback only),
    /// no fragment, `${env:…}` per environment, repetitions warned and dropped.
    /// `client_secret_expires`: a date, an RFC 3339 time, `stored`, or an `${env:…}` that
    /// `check` only warns about while it is unset (never "not a date").
    #[test]
    fn client_secret_expires_forms() {
        let expiry = |value: &str, ctx: &Context, mode: LoadMode| {
            let src = SUITE.replace(
                "  grant: static_bearer\n",
                &format!("  grant: static_bearer\n  client_secret_expires: {value}\n"),
            );
            let (suite, diags) = analyze(Path::new("s.yaml"), &src, ctx, mode);
            let errors: Vec<String> = diags
                .iter()
                .filter(|d| d.severity == DiagSeverity::Error)
                .map(|d| d.message.clone())
                .collect();
            (
                suite.and_then(|s| s.auth.client_secret_expires.map(|l| l.value)),
                errors,
            )
        };
        let ctx = Context::empty("/")
            .with_var("HOST", "h")
            .with_var("TOKEN_A", "t");
        let at = |s: &str| Some(SecretExpiry::At(s.parse().unwrap()));
        assert_eq!(
            expiry("2027-03-01", &ctx, LoadMode::Run),
            (at("2027-03-01T00:00:00Z"), vec![])
        );
        assert_eq!(
            expiry("2027-03-01T12:30:00+02:00", &ctx, LoadMode::Run),
            (at("2027-03-01T10:30:00Z"), vec![])
        );
        assert_eq!(
            expiry("stored", &ctx, LoadMode::Run),
            (Some(SecretExpiry::Stored), vec![])
        );
        assert_eq!(
            expiry("next spring", &ctx, LoadMode::Run).1,
            [
                "`client_secret_expires` must be a date such as 2027-03-01, an RFC 3339 time or `stored`; got `next spring`"
            ]
        );
        let unset = expiry("${env:SECRET_EXPIRES}", &ctx, LoadMode::Check);
        assert_eq!(unset, (None, vec![]));
        let set = ctx.clone().with_var("SECRET_EXPIRES", "2027-01-02");
        assert_eq!(
            expiry("${env:SECRET_EXPIRES}", &set, LoadMode::Run),
            (at("2027-01-02T00:00:00Z"), vec![])
        );
    }

    #[test]
    fn redirect_uris_are_absolute_https_or_loopback_http() {
        let ctx = Context::empty("/")
            .with_var("HOST", "h")
            .with_var("TOKEN_A", "t")
            .with_var("APP_ORIGIN", "https://staging.example.com");
        let suite_with = |list: &str| {
            let src = SUITE.replace(
                "  grant: static_bearer\n",
                &format!("  grant: static_bearer\n  redirect_uris:\n{list}"),
            );
            analyze(Path::new("s.yaml"), &src, &ctx, LoadMode::Run)
        };
        let (suite, diags) = suite_with(
            "    - https://app.example.com/cb\n    - ${env:APP_ORIGIN}/cb\n    - http://127.0.0.1:8765/callback\n    - http://[::1]/cb\n    - http://localhost:9/cb\n",
        );
        assert_eq!(diags, vec![]);
        let got: Vec<String> = suite
            .expect("suite")
            .auth
            .redirect_uris
            .iter()
            .map(|u| u.value.clone())
            .collect();
        assert_eq!(
            got,
            vec![
                "https://app.example.com/cb",
                "https://staging.example.com/cb",
                "http://127.0.0.1:8765/callback",
                "http://[::1]/cb",
                "http://localhost:9/cb",
            ]
        );
        for (bad, label) in [
            (
                "http://app.example.com/cb",
                "plain `http` only on a loopback host (127.0.0.1, [::1], localhost); use https",
            ),
            ("/cb", "expected an absolute http(s) URL"),
            ("myapp://cb", "expected an absolute http(s) URL"),
            (
                "https://app.example.com/cb#x",
                "a callback URL cannot have a fragment (RFC 6749 §3.1.2)",
            ),
        ] {
            let (_, diags) = suite_with(&format!("    - {bad}\n"));
            assert_eq!(diags.len(), 1, "{bad}");
            assert_eq!(diags[0].severity, DiagSeverity::Error, "{bad}");
            assert_eq!(diags[0].message, "invalid URL in `redirect_uris`");
            assert_eq!(diags[0].label, label, "{bad}");
            assert_eq!(diags[0].pos, Pos { line: 8, column: 7 }, "{bad}");
        }
        let (suite, diags) =
            suite_with("    - https://app.example.com/cb\n    - https://app.example.com/cb\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].severity, DiagSeverity::Warning);
        assert_eq!(diags[0].message, "repeated URL in `redirect_uris`");
        assert_eq!(suite.expect("suite").auth.redirect_uris.len(), 1);
    }
}
