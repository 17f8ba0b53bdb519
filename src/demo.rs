//! `driftwatch demo`: the zero-setup first run. Starts the simulated
//! provider, connects its four accounts, runs the bundled demo suite against
//! API v1, accepts the baseline into a scratch directory, switches the
//! provider to v2, runs again and prints the drifts. Offline, no credentials.

use crate::auth::pkce::{Pkce, random_token};
use crate::auth::{AuthError, CredentialStore};
use crate::baseline::BaselineStore;
use crate::context::Context;
use crate::error::{Error, exit};
use crate::run::{ProviderSession, RunOptions};
use crate::sim::{ApiVersion, Sim, SimOptions};
use crate::suite::{Connection, LoadMode, Suite};
use std::path::{Path, PathBuf};

const DEMO_SUITE: &str = include_str!("../suites/demo.yaml");
const DEMO_INVOICE_SCHEMA: &str = include_str!("../suites/schemas/invoices.json");

/// Writes the bundled demo suite (and its schema file) into `dir/suites/`.
pub fn write_demo_suite(dir: &Path) -> std::io::Result<PathBuf> {
    let suites = dir.join("suites");
    std::fs::create_dir_all(suites.join("schemas"))?;
    std::fs::write(suites.join("schemas/invoices.json"), DEMO_INVOICE_SCHEMA)?;
    let path = suites.join("demo.yaml");
    std::fs::write(&path, DEMO_SUITE)?;
    Ok(path)
}

/// The context variables the demo suite reads, for a running sim.
pub fn sim_context(ctx: &Context, sim: &Sim) -> Context {
    ctx.clone()
        .with_var("SIM_BASE_URL", sim.base_url())
        .with_var("SIM_CLIENT_ID", sim.client_id())
        .with_var("SIM_CLIENT_SECRET", sim.client_secret())
}

/// Authorises `conn` against the simulated provider the way a browser would,
/// through its documented non-browser consent path (`X-Sim-Consent: approve`,
/// `login_hint=<account>`), then exchanges the code (PKCE S256) and stores
/// the grant.
pub async fn authorize_with_sim(
    suite: &Suite,
    session: &ProviderSession,
    conn: &Connection,
) -> Result<(), Error> {
    let pkce = Pkce::new();
    let state = random_token(16);
    let redirect_uri = suite
        .auth
        .redirect_uri
        .as_ref()
        .map(|r| r.value.clone())
        .ok_or_else(|| Error::Usage("the demo suite needs `auth.redirect_uri`".into()))?;
    let authorize = suite
        .auth
        .authorize_url
        .as_ref()
        .map(|a| a.value.clone())
        .unwrap_or_else(|| "/oauth/authorize".into());
    let mut url = url::Url::parse(&format!(
        "{}{}",
        session.base.as_str().trim_end_matches('/'),
        authorize
    ))
    .map_err(|e| Error::Runtime(format!("authorize URL: {e}")))?;
    let scopes = conn
        .scope_set
        .as_ref()
        .and_then(|s| suite.scope_sets.get(&s.value))
        .map(|s| s.value.join(" "))
        .unwrap_or_else(|| suite.auth.scopes.join(" "));
    let client_id = {
        use secrecy::ExposeSecret;
        suite
            .auth
            .client_id
            .as_ref()
            .map(|c| c.value.expose_secret().to_string())
            .unwrap_or_default()
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &scopes)
        .append_pair("state", &state)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", &conn.id.value);
    // The "browser": follow nothing, read the redirect.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Runtime(format!("browser stand-in: {e}")))?;
    let resp = browser
        .get(url)
        .header("X-Sim-Consent", "approve")
        .send()
        .await
        .map_err(|e| Error::Runtime(format!("authorize request: {e}")))?;
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Error::Runtime(format!(
                "authorize answered HTTP {} without a redirect",
                resp.status().as_u16()
            ))
        })?;
    let back = url::Url::parse(location)
        .map_err(|e| Error::Runtime(format!("authorize redirect: {e}")))?;
    let param = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(state.as_str()) {
        return Err(Error::Runtime("authorize redirect: state mismatch".into()));
    }
    if let Some(err) = param("error") {
        return Err(Error::Runtime(format!("authorization refused: {err}")));
    }
    let code =
        param("code").ok_or_else(|| Error::Runtime("authorize redirect carries no code".into()))?;
    session
        .tokens
        .exchange_code(conn, &code, &pkce.verifier, &redirect_uri)
        .await
        .map_err(|e: AuthError| Error::Auth(e))
}

/// Runs the whole demo, printing as it goes. Returns the exit code (0 when
/// the demo itself worked; the drifts it shows are expected).
pub async fn run_demo(
    ctx: &Context,
    keep: Option<PathBuf>,
    reports: PathBuf,
    color: bool,
) -> Result<i32, Error> {
    let temp;
    let keep_scratch = keep.is_some();
    let scratch = match keep {
        Some(d) => {
            let d = ctx.resolve(d);
            std::fs::create_dir_all(&d).map_err(|source| Error::Io {
                what: "cannot create",
                path: d.clone(),
                source,
            })?;
            d
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("driftwatch-demo-")
                .tempdir()
                .map_err(|source| Error::Io {
                    what: "cannot create a scratch directory in",
                    path: std::env::temp_dir(),
                    source,
                })?;
            temp.path().to_path_buf()
        }
    };
    let say = |s: &str| crate::app::print_out(&format!("{s}\n"));
    let sim = Sim::start(([127, 0, 0, 1], 0).into(), SimOptions::default())
        .await
        .map_err(|e| Error::Runtime(format!("cannot start the simulated provider: {e}")))?;
    say(&format!(
        "[1/5] simulated provider listening on {} (API v1)",
        sim.base_url()
    ));
    let suite_path = write_demo_suite(&scratch).map_err(|source| Error::Io {
        what: "cannot write the demo suite into",
        path: scratch.clone(),
        source,
    })?;
    let dctx = sim_context(ctx, &sim);
    let suite = crate::suite::load_suite(&suite_path, &dctx, LoadMode::Run)?.suite;
    let credentials = CredentialStore::new(scratch.join("credentials.json"));
    let (session, _) = ProviderSession::open(&suite, false, credentials.clone()).await?;
    for conn in &suite.connections {
        authorize_with_sim(&suite, &session, conn).await?;
    }
    say(&format!(
        "[2/5] connected {} accounts (authorization code + PKCE, consent auto-approved)",
        suite.connections.len()
    ));
    let snapshots = scratch.join("snapshots");
    let opts = RunOptions {
        suites: vec![suite_path.clone()],
        snapshots: snapshots.clone(),
        reports: reports.clone(),
        credentials: credentials.path().to_path_buf(),
        credential_helper: None,
        allow_insecure_http: false,
        update: crate::baseline::UpdateMode::New,
        expiry_window: std::time::Duration::from_secs(7 * 86_400),
        suppressions: None,
    };
    let quiet = |_e: crate::run::Event| {};
    let first = crate::run::execute(&dctx, &opts, &quiet).await?;
    if !first.errors.is_empty() {
        let summary = crate::run::RunSummary::of(&first);
        let text = crate::report::terminal::render(&first, &summary, color, None);
        crate::app::print_out(&text);
        return Ok(exit::RUNTIME);
    }
    let accepted = BaselineStore::new(&snapshots).accept(&crate::baseline::Filter::default())?;
    say(&format!(
        "[3/5] first run: {} observations; baseline accepted into {}",
        accepted.len(),
        snapshots.display()
    ));
    sim.set_version(ApiVersion::V2);
    say("[4/5] the provider silently shipped API v2");
    let second = crate::run::execute(&dctx, &opts, &quiet).await?;
    say("[5/5] second run against the accepted baseline:\n");
    // The same publishing as `run`: run.json, the terminal summary, and the HTML page the
    // team reads every morning next to run.json (so also `reports/latest/`). The drifts
    // are the point of the demo, so none fails it.
    let code = crate::app::publish(
        ctx,
        &second,
        &reports,
        &crate::cli::OutputArgs {
            formats: Vec::new(),
            outputs: Vec::new(),
        },
        crate::settings::FailOn::Never,
    )?;
    let page_path = reports.join(&second.run_id).join("index.html");
    say(&format!(
        "HTML report: {} (self-contained; open it in a browser)",
        page_path.display()
    ));
    if keep_scratch {
        say(&format!(
            "\nThe baseline and the pending v2 snapshots stay in {}: compare them, or run `driftwatch accept --snapshots {}`.",
            snapshots.display(),
            snapshots.display()
        ));
    } else {
        say(
            "\nThe scratch baseline was a temporary directory; `driftwatch demo --dir DIR` keeps it for a look.",
        );
    }
    sim.shutdown().await;
    Ok(code)
}
