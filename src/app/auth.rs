//! `connect` and `tokens`: getting grants and showing their health.

use super::{default_suites, print_out};
use crate::auth::CredentialStore;
use crate::cli::{ConnectArgs, TokensArgs, Typed};
use crate::context::Context;
use crate::error::{Error, exit};
use std::path::PathBuf;

pub(super) fn credentials_path(given: Option<PathBuf>) -> Result<PathBuf, Error> {
    match given {
        Some(p) => Ok(p),
        None => CredentialStore::default_path().ok_or_else(|| {
            Error::Usage("no platform data directory; pass --credentials FILE".into())
        }),
    }
}

pub(super) async fn cmd_connect(
    ctx: &Context,
    args: ConnectArgs,
    typed: &Typed,
) -> Result<i32, Error> {
    use crate::auth::connect::ConnectError;
    match connect_inner(ctx, args, typed).await {
        Err(Error::Connect(e @ ConnectError::NoRefreshToken { .. })) => {
            diag!("warning: {e}");
            Ok(exit::NO_REFRESH_TOKEN)
        }
        // A file that is not a usable token answer is bad input, like a bad flag.
        Err(Error::Connect(e @ ConnectError::Import { .. })) => Err(Error::Usage(e.to_string())),
        other => other,
    }
}

/// Reads `--import FILE|-`, at most `MAX_IMPORT_BYTES` (+1 to notice more).
fn read_import(ctx: &Context, from: &str) -> Result<Vec<u8>, Error> {
    use crate::auth::import::MAX_IMPORT_BYTES;
    use std::io::Read;
    let limit = (MAX_IMPORT_BYTES + 1) as u64;
    let mut buf = Vec::new();
    if from == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|source| Error::Io {
                what: "cannot read the token answer from",
                path: PathBuf::from("stdin"),
                source,
            })?;
    } else {
        let path = ctx.resolve(PathBuf::from(from));
        std::fs::File::open(&path)
            .and_then(|f| f.take(limit).read_to_end(&mut buf))
            .map_err(|source| Error::Io {
                what: "cannot read the token answer",
                path: PathBuf::from(from),
                source,
            })?;
    }
    Ok(buf)
}

async fn connect_inner(ctx: &Context, args: ConnectArgs, typed: &Typed) -> Result<i32, Error> {
    use crate::auth::connect::{self, ConnectOptions, RedirectOverride};
    // The same store and helper `run` uses: flag, environment, driftwatch.toml, default.
    let settings = super::config::connect_settings(ctx, &args, typed)?;
    let suite = crate::suite::load_suite(&args.suite, ctx, crate::suite::LoadMode::Run)?.suite;
    // Several grants per provider: the connection is authorised with the auth it names.
    let suite = match suite
        .connections
        .iter()
        .find(|c| c.id.value == args.connection)
    {
        Some(c) => suite.with_only_auth(&c.auth),
        None => suite,
    };
    let conn = suite
        .connections
        .iter()
        .find(|c| c.id.value == args.connection)
        .ok_or_else(|| {
            let ids: Vec<&str> = suite
                .connections
                .iter()
                .map(|c| c.id.value.as_str())
                .collect();
            Error::Usage(format!(
                "suite `{}` has no connection `{}` (it has: {})",
                args.suite.display(),
                args.connection,
                ids.join(", ")
            ))
        })?;
    let store = crate::run::open_store(
        ctx,
        &suite,
        &ctx.resolve(credentials_path(settings.credentials.value.clone())?),
        settings.credential_helper.value.as_deref(),
    )?;
    // Read before any network call: a bad file fails fast and offline.
    let import = match &args.import {
        Some(from) => Some((from.clone(), read_import(ctx, from)?)),
        None => None,
    };
    let (session, setup_error) = crate::run::ProviderSession::open(&suite, false, store).await?;
    if let Some(e) = setup_error {
        return Err(Error::Runtime(e.message));
    }
    let opts = ConnectOptions {
        open_browser: !args.no_browser && !ctx.is_ci(),
        timeout: args.timeout,
        login_hint: args.login_hint.clone(),
        redirect: match (args.redirect_port, args.redirect_uri.clone()) {
            (Some(p), _) => Some(RedirectOverride::Port(p)),
            (None, Some(u)) => Some(RedirectOverride::Uri(u)),
            (None, None) => None,
        },
        allow_no_refresh: args.allow_no_refresh,
        verify: args.verify,
    };
    let show = |line: &str| print_out(&format!("{line}\n"));
    if let Some((from, bytes)) = import {
        let from = connect::import_source_name(&from);
        connect::import(&suite, &session.tokens, conn, &bytes, &from, &opts, &show).await?;
        return Ok(exit::OK);
    }
    let endpoints = connect::endpoints(&suite, &session.base, &session.tokens).await?;
    if args.device {
        connect::device(&suite, &session.tokens, &endpoints, conn, &opts, &show).await?;
    } else {
        connect::authorization_code(&suite, &session.tokens, &endpoints, conn, &opts, &show)
            .await?;
    }
    Ok(exit::OK)
}

pub(super) async fn cmd_tokens(
    ctx: &Context,
    args: TokensArgs,
    typed: &Typed,
) -> Result<i32, Error> {
    // The same store and helper `run` uses: flag, environment, driftwatch.toml, default.
    let settings = super::config::tokens_settings(ctx, &args, typed)?;
    let suites = if args.suites.is_empty() {
        default_suites(ctx)?
    } else {
        args.suites.clone()
    };
    let path = ctx.resolve(credentials_path(settings.credentials.value.clone())?);
    let window = chrono::Duration::from_std(settings.expiry_window.value)
        .unwrap_or(chrono::Duration::days(7));
    let helper = settings.credential_helper.value.as_deref();
    let mut all = Vec::new();
    let mut secrets = Vec::new();
    let mut unreadable_secret = false;
    for file in &suites {
        let suite = crate::suite::load_suite(file, ctx, crate::suite::LoadMode::Check)?.suite;
        let store = crate::run::open_store(ctx, &suite, &path, helper)?;
        all.extend(crate::run::token_health(&suite, &store, window)?);
        // The app's client secret (issue 20), when the suite dates it (or reads its date
        // from the credential store or helper).
        match crate::probe::app::client_secret_expiry(&suite, &store) {
            Ok(Some(at)) => secrets.push(crate::probe::app::client_secret_health(
                &suite.provider.name.value,
                at,
                window,
                chrono::Utc::now(),
            )),
            Ok(None) => {}
            Err(message) => {
                diag!("warning: {message}");
                unreadable_secret = true;
            }
        }
    }
    if args.json {
        let text = serde_json::to_string_pretty(&all)?;
        print_out(&format!("{text}\n"));
    } else {
        print_out(&crate::report::terminal::render_tokens(&all));
        if !secrets.is_empty() {
            print_out(&crate::report::terminal::render_client_secrets(&secrets));
        }
    }
    let unhealthy = all.iter().any(|h| {
        matches!(
            h.status.as_str(),
            "expired" | "dead" | "refresh-in-flight" | "not-connected"
        )
    });
    let secret_expired = secrets.iter().any(|h| h.status == "expired");
    Ok(if unhealthy || secret_expired || unreadable_secret {
        exit::RUNTIME
    } else {
        exit::OK
    })
}
