//! Over-the-wire tests of the drift switches: each one alone changes exactly its part of the
//! provider, `set_version` maps to all or none, and the stable audit-log warning never moves.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::data::ACCOUNTS;
use super::tests_oauth::{client, grant, refresh_form, start, token_request};
use super::{ApiVersion, Sim, Switches};

const FULL: &str = "profile email invoices:read reports:read admin:read audit:read";
const DEPRECATION_HEADERS: [&str; 4] = ["deprecation", "sunset", "link", "x-api-warn"];
const METRICS: [&str; 5] = ["impressions", "clicks", "conversions", "spend", "ctr"];
const DISCOVERY: [&str; 2] = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
];
/// Report calls per account per fingerprint: values move, their zero class must not.
const REPORT_CALLS: usize = 3;

/// A running simulator with the tokens a fingerprint needs, minted once: tokens outlive
/// switch flips, so every fingerprint reads the same grants.
struct World {
    sim: Sim,
    full: BTreeMap<&'static str, String>,
    invoices_only: String,
    profile_only: String,
    refresh_token: String,
}

impl World {
    async fn start() -> World {
        let sim = start().await;
        let mut full = BTreeMap::new();
        for a in ACCOUNTS {
            full.insert(a, access_token(&grant(&sim, a, FULL).await));
        }
        let invoices_only = access_token(&grant(&sim, "acme-corp", "invoices:read").await);
        let profile_only = access_token(&grant(&sim, "acme-corp", "profile").await);
        let rt = grant(&sim, "initech", "profile").await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        World {
            sim,
            full,
            invoices_only,
            profile_only,
            refresh_token: rt,
        }
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        client()
            .get(format!("{}{path}", self.sim.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str, account: &str) -> Value {
        let resp = self.get(path, &self.full[account]).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path} {account}");
        resp.json().await.unwrap()
    }

    /// Everything a switch may change, as one comparable value. Invariants that hold under
    /// every switch are asserted on the way.
    async fn fingerprint(&mut self) -> Value {
        let me = self.json("/v1/me", "globex").await;
        let invoices = self.json("/v1/invoices", "acme-corp").await;
        let ok = self.get("/v1/invoices", &self.full["acme-corp"]).await;
        let denied = self.get("/v1/invoices", &self.profile_only).await;
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        let read_only = self.get("/v1/invoices", &self.invoices_only).await;

        let mut metric_keys = Value::Null;
        let mut zeroed = BTreeMap::new();
        for a in ACCOUNTS {
            let mut classes = Vec::new();
            for _ in 0..REPORT_CALLS {
                let rep = self.json("/v1/reports/summary", a).await;
                assert_eq!(rep["data_complete"], true, "{a}");
                let m = &rep["metrics"];
                assert!(m["clicks"].as_u64().unwrap() > 100, "{a}: {m}");
                metric_keys = json!(sorted_keys(m));
                let zero: Vec<&str> = METRICS
                    .into_iter()
                    .filter(|k| m[*k].as_f64().unwrap() == 0.0)
                    .collect();
                classes.push(zero);
            }
            assert!(classes.windows(2).all(|w| w[0] == w[1]), "{a}: {classes:?}");
            zeroed.insert(a, classes.swap_remove(0));
        }

        let mut billing = BTreeMap::new();
        for a in ["acme-corp", "globex"] {
            let ws = self.json("/v1/workspace/settings", a).await;
            billing.insert(a, ws["billing_email"].clone());
        }
        let audit_ok = self.get("/v1/audit-log", &self.full["umbrella"]).await;
        assert_eq!(audit_ok.status(), StatusCode::OK);
        let audit_denied = self.get("/v1/audit-log", &self.profile_only).await;
        assert_eq!(audit_denied.status(), StatusCode::FORBIDDEN);

        let resp = token_request(&self.sim, &refresh_form(&self.refresh_token)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        let rotates = match body["refresh_token"].as_str() {
            Some(rt) => {
                self.refresh_token = rt.to_owned();
                true
            }
            None => false,
        };

        let mut discovery = BTreeMap::new();
        for path in DISCOVERY {
            let doc: Value = client()
                .get(format!("{}{path}", self.sim.base_url()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(doc["issuer"], json!(self.sim.base_url()), "{path}");
            discovery.insert(
                path,
                json!({
                    "grants": doc["grant_types_supported"],
                    "scopes": doc["scopes_supported"],
                    "auth_methods": doc["token_endpoint_auth_methods_supported"],
                }),
            );
        }

        json!({
            "me_keys": sorted_keys(&me),
            "invoice": invoices["data"][0],
            "invoices_read_only": read_only.status().as_u16(),
            "invoice_headers_ok": deprecation_headers(&ok),
            "invoice_headers_denied": deprecation_headers(&denied),
            "metric_keys": metric_keys,
            "zeroed": zeroed,
            "billing_email": billing,
            "audit_warning": [warning(&audit_ok), warning(&audit_denied)],
            "refresh_rotates": rotates,
            "discovery": discovery,
        })
    }
}

fn access_token(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_owned()
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn header(resp: &reqwest::Response, name: &str) -> Value {
    resp.headers()
        .get(name)
        .map_or(Value::Null, |v| v.to_str().unwrap().into())
}

fn deprecation_headers(resp: &reqwest::Response) -> Value {
    DEPRECATION_HEADERS.map(|h| header(resp, h)).into()
}

fn warning(resp: &reqwest::Response) -> Value {
    header(resp, "warning")
}

fn only(f: fn(&mut Switches)) -> Switches {
    let mut s = Switches::NONE;
    f(&mut s);
    s
}

const AUDIT_WARNING: &str = "299 - \"audit-log pagination will change\"";

fn patch_schema(fp: &mut Value) {
    fp["me_keys"] = json!([
        "account",
        "created_at",
        "display_name",
        "email",
        "id",
        "phone",
        "plan",
        "request_id",
        "server_time"
    ]);
    fp["invoice"] = json!({"id": "inv_a1x7k2m9q4", "number": "INV-1001", "amount_cents": "12500",
        "status": "paid", "issued_at": "2024-01-05T09:00:00Z",
        "customer": {"id": "cus_7Qm2aLx9", "name": "Road Runner Logistics"}});
    fp["metric_keys"] = json!([
        "clicks",
        "conversions",
        "ctr",
        "impressions",
        "spend",
        "video_views"
    ]);
    fp["billing_email"]["globex"] = Value::Null;
}

fn patch_scopes(fp: &mut Value) {
    fp["invoices_read_only"] = json!(403);
}

fn patch_rotation(fp: &mut Value) {
    fp["refresh_rotates"] = json!(false);
}

fn patch_zeroed_metric(fp: &mut Value) {
    fp["zeroed"]["globex"] = json!(["conversions"]);
    fp["zeroed"]["umbrella"] = json!(["conversions"]);
}

fn patch_deprecation(fp: &mut Value) {
    let headers = json!([
        "@1767225600",
        "Wed, 30 Jun 2027 23:59:59 GMT",
        "<https://developer.sim.example/changelog#invoices-v1>; rel=\"deprecation\", \
         <https://developer.sim.example/migrate/invoices-v2>; rel=\"sunset\"",
        "invoices v1 is deprecated, use /v2/invoices"
    ]);
    fp["invoice_headers_ok"] = headers.clone();
    fp["invoice_headers_denied"] = headers;
}

fn patch_metadata(fp: &mut Value) {
    for path in DISCOVERY {
        fp["discovery"][path] = json!({
            "grants": [
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code"
            ],
            "scopes": [
                "profile",
                "email",
                "invoices:read",
                "reports:read",
                "admin:read",
                "channels:read",
                "activities:read",
                "activities:read_all",
                "offline_access"
            ],
            "auth_methods": ["client_secret_basic"],
        });
    }
}

type Case = (&'static str, fn(&mut Switches), fn(&mut Value));

const CASES: [Case; 6] = [
    ("schema", |s| s.schema = true, patch_schema),
    ("scopes", |s| s.scopes = true, patch_scopes),
    ("rotation", |s| s.rotation = true, patch_rotation),
    (
        "zeroed_metric",
        |s| s.zeroed_metric = true,
        patch_zeroed_metric,
    ),
    ("deprecation", |s| s.deprecation = true, patch_deprecation),
    ("metadata", |s| s.metadata = true, patch_metadata),
];

#[tokio::test]
async fn v1_fingerprint_is_exact() {
    let mut w = World::start().await;
    let fp = w.fingerprint().await;
    let no_headers = json!([null, null, null, null]);
    let no_zero: Vec<&str> = Vec::new();
    assert_eq!(
        fp["me_keys"],
        json!([
            "account",
            "created_at",
            "email",
            "id",
            "name",
            "phone",
            "plan",
            "request_id",
            "server_time"
        ])
    );
    assert_eq!(fp["invoice"]["amount_cents"], 12500);
    assert_eq!(fp["invoice"]["currency"], "EUR");
    assert_eq!(fp["invoices_read_only"], 200);
    assert_eq!(fp["invoice_headers_ok"], no_headers);
    assert_eq!(fp["invoice_headers_denied"], no_headers);
    assert_eq!(
        fp["metric_keys"],
        json!(["clicks", "conversions", "ctr", "impressions", "spend"])
    );
    assert_eq!(
        fp["zeroed"],
        json!({"acme-corp": no_zero, "globex": no_zero, "initech": no_zero, "umbrella": no_zero})
    );
    assert_eq!(
        fp["billing_email"],
        json!({"acme-corp": "billing@acme-corp.example", "globex": "billing@globex.example"})
    );
    assert_eq!(fp["audit_warning"], json!([AUDIT_WARNING, AUDIT_WARNING]));
    assert_eq!(fp["refresh_rotates"], true);
    for path in DISCOVERY {
        assert_eq!(
            fp["discovery"][path]["grants"],
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        assert_eq!(
            fp["discovery"][path]["auth_methods"],
            json!(["client_secret_basic", "client_secret_post"])
        );
        let scopes = fp["discovery"][path]["scopes"].as_array().unwrap();
        assert_eq!(scopes.len(), 10);
        assert_eq!(scopes[5], "audit:read");
    }
    w.sim.shutdown().await;
}

#[tokio::test]
async fn each_switch_alone_changes_exactly_its_part() {
    let mut w = World::start().await;
    let baseline = w.fingerprint().await;
    for (name, set, patch) in CASES {
        let switches = only(set);
        w.sim.set_switches(switches);
        assert_eq!(w.sim.switches(), switches, "{name}");
        let mut expected = baseline.clone();
        patch(&mut expected);
        assert_ne!(expected, baseline, "{name} must change something");
        assert_eq!(w.fingerprint().await, expected, "{name}");
        // Flipping it back restores the baseline live, without a restart.
        w.sim.set_switches(Switches::NONE);
        assert_eq!(w.fingerprint().await, baseline, "{name} off again");
    }
    w.sim.shutdown().await;
}

#[tokio::test]
async fn set_version_maps_to_all_or_none_of_the_switches() {
    let mut w = World::start().await;
    let baseline = w.fingerprint().await;
    let mut expected = baseline.clone();
    for (_, _, patch) in CASES {
        patch(&mut expected);
    }
    w.sim.set_version(ApiVersion::V2);
    assert_eq!(w.sim.switches(), Switches::ALL);
    assert_eq!(w.fingerprint().await, expected);
    w.sim.set_version(ApiVersion::V1);
    assert_eq!(w.sim.switches(), Switches::NONE);
    assert_eq!(w.fingerprint().await, baseline);
    // Two switches together change the union of their parts and nothing else.
    w.sim.set_switches(Switches {
        scopes: true,
        deprecation: true,
        ..Switches::NONE
    });
    let mut both = baseline.clone();
    patch_scopes(&mut both);
    patch_deprecation(&mut both);
    assert_eq!(w.fingerprint().await, both);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn schema_alone_keeps_rotating_refresh_tokens() {
    let w = World::start().await;
    w.sim.set_switches(only(|s| s.schema = true));
    let mut rt = w.refresh_token.clone();
    for _ in 0..2 {
        let body: Value = token_request(&w.sim, &refresh_form(&rt))
            .await
            .json()
            .await
            .unwrap();
        let next = body["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(next, rt);
        rt = next;
    }
    w.sim.shutdown().await;
}

#[tokio::test]
async fn deprecation_headers_are_exact_and_only_on_invoices() {
    let w = World::start().await;
    w.sim.set_switches(only(|s| s.deprecation = true));
    let resp = w.get("/v1/invoices", &w.full["initech"]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["deprecation"], "@1767225600");
    assert_eq!(h["sunset"], "Wed, 30 Jun 2027 23:59:59 GMT");
    assert_eq!(
        h["link"],
        "<https://developer.sim.example/changelog#invoices-v1>; rel=\"deprecation\", \
         <https://developer.sim.example/migrate/invoices-v2>; rel=\"sunset\""
    );
    assert_eq!(
        h["x-api-warn"],
        "invoices v1 is deprecated, use /v2/invoices"
    );
    assert!(h.get("warning").is_none());
    let anon = w.get("/v1/invoices", "sim_at_unknown").await;
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anon.headers()["deprecation"], "@1767225600");
    for path in [
        "/v1/me",
        "/v1/reports/summary",
        "/v1/workspace/settings",
        "/v1/audit-log",
    ] {
        let resp = w.get(path, &w.full["initech"]).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        for name in DEPRECATION_HEADERS {
            assert!(resp.headers().get(name).is_none(), "{path} {name}");
        }
    }
    w.sim.shutdown().await;
}

#[tokio::test]
async fn audit_log_warning_is_the_same_in_v1_and_v2_and_only_there() {
    let w = World::start().await;
    for v in [ApiVersion::V1, ApiVersion::V2] {
        w.sim.set_version(v);
        let resp = w.get("/v1/audit-log", &w.full["globex"]).await;
        assert_eq!(resp.status(), StatusCode::OK, "{v}");
        let all: Vec<&str> = resp
            .headers()
            .get_all("warning")
            .iter()
            .map(|h| h.to_str().unwrap())
            .collect();
        assert_eq!(all, [AUDIT_WARNING], "{v}");
        let me = w.get("/v1/me", &w.full["globex"]).await;
        assert!(me.headers().get("warning").is_none(), "{v}");
    }
    w.sim.shutdown().await;
}
