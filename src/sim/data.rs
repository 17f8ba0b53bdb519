//! The fixed world behind the simulated resource API: accounts, invoices, settings, audit
//! events, and the JSON shape of each endpoint under the drift switches. Volatile values
//! (request ids, clocks, metrics) are passed in, so every builder here is deterministic.

use serde_json::{Map, Value, json};

use super::options::Switches;

/// The accounts a user can consent as (`login_hint` on the non-browser consent path).
pub const ACCOUNTS: [&str; 4] = ["acme-corp", "globex", "initech", "umbrella"];

/// One simulated customer account.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) slug: &'static str,
    id: &'static str,
    name: &'static str,
    plan: &'static str,
    seats: u32,
    phone: Option<&'static str>,
    created_at: &'static str,
    workspace_id: &'static str,
    sso_enabled: bool,
    /// Whether the schema drift nulls `billing_email` for this account.
    v2_hides_billing_email: bool,
    /// Whether the zeroed-metric drift reports `conversions: 0` for this account.
    zeroed_conversions: bool,
    invoices: &'static [Invoice],
    events: &'static [Event],
}

#[derive(Debug)]
struct Invoice {
    id: &'static str,
    number: &'static str,
    amount_cents: u64,
    paid: bool,
    issued_at: &'static str,
    customer_id: &'static str,
    customer_name: &'static str,
}

#[derive(Debug)]
struct Event {
    id: &'static str,
    kind: &'static str,
    actor_id: &'static str,
    actor_email: &'static str,
    occurred_at: &'static str,
}

const fn inv(
    id: &'static str,
    number: &'static str,
    amount_cents: u64,
    paid: bool,
    issued_at: &'static str,
    customer: (&'static str, &'static str),
) -> Invoice {
    Invoice {
        id,
        number,
        amount_cents,
        paid,
        issued_at,
        customer_id: customer.0,
        customer_name: customer.1,
    }
}

const fn evt(
    id: &'static str,
    kind: &'static str,
    actor: (&'static str, &'static str),
    occurred_at: &'static str,
) -> Event {
    Event {
        id,
        kind,
        actor_id: actor.0,
        actor_email: actor.1,
        occurred_at,
    }
}

const ACME_CUSTOMER: (&str, &str) = ("cus_7Qm2aLx9", "Road Runner Logistics");
const INITECH_CUSTOMER: (&str, &str) = ("cus_3Tp8vNc1", "Chotchkie's");
const UMBRELLA_CUSTOMER: (&str, &str) = ("cus_9Hr4kWe6", "Raccoon City Labs");

static ALL: [Account; 4] = [
    Account {
        slug: "acme-corp",
        id: "5b1f6c2e-8a43-4d7e-9c1a-2f3e4d5a6b70",
        name: "Acme Corp",
        plan: "pro",
        seats: 25,
        phone: Some("+1-555-0100"),
        created_at: "2021-03-04T10:00:00Z",
        workspace_id: "ws_acme8f3k2p",
        sso_enabled: true,
        v2_hides_billing_email: false,
        zeroed_conversions: false,
        invoices: &[
            inv(
                "inv_a1x7k2m9q4",
                "INV-1001",
                12500,
                true,
                "2024-01-05T09:00:00Z",
                ACME_CUSTOMER,
            ),
            inv(
                "inv_a2p3r8t6w1",
                "INV-1002",
                4900,
                true,
                "2024-02-05T09:00:00Z",
                ACME_CUSTOMER,
            ),
            inv(
                "inv_a3d5f7h9j2",
                "INV-1003",
                31075,
                true,
                "2024-03-05T09:00:00Z",
                ACME_CUSTOMER,
            ),
            inv(
                "inv_a4g6k8m1n3",
                "INV-1004",
                12500,
                false,
                "2024-04-05T09:00:00Z",
                ACME_CUSTOMER,
            ),
            inv(
                "inv_a5s2v4x6z8",
                "INV-1005",
                880,
                false,
                "2024-05-05T09:00:00Z",
                ACME_CUSTOMER,
            ),
        ],
        events: &[
            evt(
                "evt_ac01m4n7",
                "login",
                ("usr_ac9k2", "ops@acme-corp.example"),
                "2024-05-01T08:15:00Z",
            ),
            evt(
                "evt_ac02p5q8",
                "export",
                ("usr_ac9k2", "ops@acme-corp.example"),
                "2024-05-01T08:20:00Z",
            ),
            evt(
                "evt_ac03r6s9",
                "login",
                ("usr_ac4w7", "wile.e@acme-corp.example"),
                "2024-05-02T17:45:00Z",
            ),
        ],
    },
    Account {
        slug: "globex",
        id: "c3d9a1b4-27e5-4f68-8b0d-91e2f3a4b5c6",
        name: "Globex",
        plan: "free",
        seats: 1,
        phone: None,
        created_at: "2022-07-19T14:30:00Z",
        workspace_id: "ws_glbx4h7r1m",
        sso_enabled: false,
        v2_hides_billing_email: true,
        zeroed_conversions: true,
        invoices: &[],
        events: &[
            evt(
                "evt_gx01c3d5",
                "login",
                ("usr_gx1h5", "hank@globex.example"),
                "2024-04-11T12:00:00Z",
            ),
            evt(
                "evt_gx02e4f6",
                "login",
                ("usr_gx1h5", "hank@globex.example"),
                "2024-04-12T12:05:00Z",
            ),
        ],
    },
    Account {
        slug: "initech",
        id: "8e7d6c5b-4a39-4281-a7f6-e5d4c3b2a190",
        name: "Initech",
        plan: "pro",
        seats: 10,
        phone: Some("+1-555-0142"),
        created_at: "2020-11-30T08:45:00Z",
        workspace_id: "ws_init2q9z5v",
        sso_enabled: false,
        v2_hides_billing_email: false,
        zeroed_conversions: false,
        invoices: &[
            inv(
                "inv_i1b3n5m7k9",
                "INV-2001",
                7300,
                true,
                "2024-01-15T09:00:00Z",
                INITECH_CUSTOMER,
            ),
            inv(
                "inv_i2c4v6b8n1",
                "INV-2002",
                7300,
                true,
                "2024-02-15T09:00:00Z",
                INITECH_CUSTOMER,
            ),
            inv(
                "inv_i3x5z7c9v2",
                "INV-2003",
                9150,
                false,
                "2024-03-15T09:00:00Z",
                INITECH_CUSTOMER,
            ),
        ],
        events: &[
            evt(
                "evt_in01g7h9",
                "login",
                ("usr_in3p8", "peter@initech.example"),
                "2024-03-20T09:01:00Z",
            ),
            evt(
                "evt_in02j8k1",
                "export",
                ("usr_in7b2", "bill@initech.example"),
                "2024-03-20T16:59:00Z",
            ),
        ],
    },
    Account {
        slug: "umbrella",
        id: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        name: "Umbrella Corporation",
        plan: "enterprise",
        seats: 500,
        phone: None,
        created_at: "2019-06-01T00:00:00Z",
        workspace_id: "ws_umbr7x3c8d",
        sso_enabled: true,
        v2_hides_billing_email: true,
        zeroed_conversions: true,
        invoices: &[inv(
            "inv_u1q2w3e4r5",
            "INV-3001",
            990000,
            true,
            "2024-01-31T09:00:00Z",
            UMBRELLA_CUSTOMER,
        )],
        events: &[
            evt(
                "evt_um01t2y3",
                "login",
                ("usr_um5a1", "albert@umbrella.example"),
                "2024-02-02T22:10:00Z",
            ),
            evt(
                "evt_um02u3i4",
                "export",
                ("usr_um5a1", "albert@umbrella.example"),
                "2024-02-02T22:30:00Z",
            ),
            evt(
                "evt_um03o4p5",
                "login",
                ("usr_um8j3", "jill@umbrella.example"),
                "2024-02-03T07:00:00Z",
            ),
        ],
    },
];

/// Looks an account up by its slug.
pub(crate) fn account(slug: &str) -> Option<&'static Account> {
    ALL.iter().find(|a| a.slug == slug)
}

/// Values that change on every call; injected so builders stay testable.
#[derive(Debug, Clone)]
pub(crate) struct Volatile {
    pub(crate) request_id: String,
    pub(crate) now: String,
}

/// `GET /v1/me`. `email` appears only with the `email` scope (silent partial data).
pub(crate) fn me(a: &Account, sw: Switches, with_email: bool, vol: &Volatile) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), a.id.into());
    m.insert("account".into(), a.slug.into());
    let name_key = if sw.schema { "display_name" } else { "name" };
    m.insert(name_key.into(), a.name.into());
    if with_email {
        m.insert("email".into(), format!("ops@{}.example", a.slug).into());
    }
    m.insert("created_at".into(), a.created_at.into());
    m.insert("plan".into(), json!({"name": a.plan, "seats": a.seats}));
    m.insert("phone".into(), a.phone.into());
    m.insert("request_id".into(), vol.request_id.clone().into());
    m.insert("server_time".into(), vol.now.clone().into());
    Value::Object(m)
}

/// Number of invoices an account has.
pub(crate) fn invoice_count(a: &Account) -> usize {
    a.invoices.len()
}

/// The invoices `offset..offset+limit` as JSON items.
pub(crate) fn invoice_page(a: &Account, sw: Switches, offset: usize, limit: usize) -> Vec<Value> {
    a.invoices
        .iter()
        .skip(offset)
        .take(limit)
        .map(|i| {
            let mut m = Map::new();
            m.insert("id".into(), i.id.into());
            m.insert("number".into(), i.number.into());
            if sw.schema {
                m.insert("amount_cents".into(), i.amount_cents.to_string().into());
            } else {
                m.insert("amount_cents".into(), i.amount_cents.into());
                m.insert("currency".into(), "EUR".into());
            }
            let status = if i.paid { "paid" } else { "open" };
            m.insert("status".into(), status.into());
            m.insert("issued_at".into(), i.issued_at.into());
            m.insert(
                "customer".into(),
                json!({"id": i.customer_id, "name": i.customer_name}),
            );
            Value::Object(m)
        })
        .collect()
}

/// Random but never-zero report metrics; `clicks` is always above 100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Metrics {
    pub(crate) impressions: u64,
    pub(crate) clicks: u64,
    pub(crate) conversions: u64,
    pub(crate) spend: f64,
    pub(crate) ctr: f64,
    pub(crate) video_views: u64,
}

/// `GET /v1/reports/summary`. `period` is the previous UTC day as `(start, end)`.
pub(crate) fn report(
    a: &Account,
    sw: Switches,
    period: (&str, &str),
    m: &Metrics,
    vol: &Volatile,
) -> Value {
    // A tracking outage, not a quiet day: everything else still looks healthy and complete.
    let conversions = if sw.zeroed_metric && a.zeroed_conversions {
        0
    } else {
        m.conversions
    };
    // A whole money value is written as a JSON integer (`1204`), as providers do.
    let spend: Value = if m.spend.fract() == 0.0 && m.spend >= 0.0 && m.spend < 9.0e15 {
        (m.spend as u64).into()
    } else {
        m.spend.into()
    };
    let mut metrics = json!({
        "impressions": m.impressions,
        "clicks": m.clicks,
        "conversions": conversions,
        "spend": spend,
        "ctr": m.ctr,
    });
    if sw.schema
        && let Some(obj) = metrics.as_object_mut()
    {
        obj.insert("video_views".into(), m.video_views.into());
    }
    json!({
        "account": a.slug,
        "period": {"start": period.0, "end": period.1},
        "metrics": metrics,
        "data_complete": true,
        "generated_at": vol.now,
        "request_id": vol.request_id,
    })
}

/// `GET /v1/workspace/settings`.
pub(crate) fn workspace(a: &Account, sw: Switches, vol: &Volatile) -> Value {
    let billing_email = if sw.schema && a.v2_hides_billing_email {
        Value::Null
    } else {
        format!("billing@{}.example", a.slug).into()
    };
    json!({
        "workspace_id": a.workspace_id,
        "timezone": "Europe/Berlin",
        "billing_email": billing_email,
        "sso_enabled": a.sso_enabled,
        "updated_at": "2024-01-02T03:04:05Z",
        "request_id": vol.request_id,
    })
}

/// `GET /v1/audit-log`.
pub(crate) fn audit_log(a: &Account, vol: &Volatile) -> Value {
    let events: Vec<Value> = a
        .events
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "type": e.kind,
                "actor": {"id": e.actor_id, "email": e.actor_email},
                "occurred_at": e.occurred_at,
            })
        })
        .collect();
    json!({"events": events, "next_cursor": null, "request_id": vol.request_id})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol() -> Volatile {
        Volatile {
            request_id: "00000000-0000-4000-8000-000000000000".into(),
            now: "2024-06-01T00:00:00Z".into(),
        }
    }

    fn acct(slug: &str) -> &'static Account {
        account(slug).unwrap()
    }

    #[test]
    fn every_public_account_exists_with_the_documented_invoice_count() {
        let counts: Vec<usize> = ACCOUNTS.iter().map(|s| invoice_count(acct(s))).collect();
        assert_eq!(counts, [5, 0, 3, 1]);
        assert!(account("hooli").is_none());
        let plans: Vec<&str> = ACCOUNTS.iter().map(|s| acct(s).plan).collect();
        assert_eq!(plans, ["pro", "free", "pro", "enterprise"]);
        for a in &ALL {
            assert!((2..=3).contains(&a.events.len()), "{}", a.slug);
        }
    }

    #[test]
    fn me_v1_is_exact() {
        let got = me(acct("acme-corp"), Switches::NONE, true, &vol());
        assert_eq!(
            got,
            json!({
                "id": "5b1f6c2e-8a43-4d7e-9c1a-2f3e4d5a6b70",
                "account": "acme-corp",
                "name": "Acme Corp",
                "email": "ops@acme-corp.example",
                "created_at": "2021-03-04T10:00:00Z",
                "plan": {"name": "pro", "seats": 25},
                "phone": "+1-555-0100",
                "request_id": "00000000-0000-4000-8000-000000000000",
                "server_time": "2024-06-01T00:00:00Z",
            })
        );
    }

    #[test]
    fn me_without_email_scope_and_v2_rename() {
        let got = me(acct("globex"), Switches::ALL, false, &vol());
        let obj = got.as_object().unwrap();
        assert!(!obj.contains_key("email"));
        assert!(!obj.contains_key("name"));
        assert_eq!(obj["display_name"], "Globex");
        assert_eq!(obj["phone"], Value::Null);
    }

    #[test]
    fn invoices_v1_and_v2() {
        let a = acct("acme-corp");
        let v1 = invoice_page(a, Switches::NONE, 0, 2);
        assert_eq!(
            v1[0],
            json!({"id": "inv_a1x7k2m9q4", "number": "INV-1001", "amount_cents": 12500,
                   "currency": "EUR", "status": "paid", "issued_at": "2024-01-05T09:00:00Z",
                   "customer": {"id": "cus_7Qm2aLx9", "name": "Road Runner Logistics"}})
        );
        assert_eq!(v1.len(), 2);
        let v2 = invoice_page(a, Switches::ALL, 4, 2);
        assert_eq!(v2.len(), 1);
        assert_eq!(v2[0]["amount_cents"], "880");
        assert_eq!(v2[0]["status"], "open");
        assert!(v2[0].get("currency").is_none());
    }

    #[test]
    fn report_adds_video_views_in_v2_and_floats_keep_fraction() {
        let m = Metrics {
            impressions: 1000,
            clicks: 20,
            conversions: 3,
            spend: 123.25,
            ctr: 0.02,
            video_views: 7,
        };
        let p = ("2024-05-31T00:00:00Z", "2024-06-01T00:00:00Z");
        let v1 = report(acct("initech"), Switches::NONE, p, &m, &vol());
        assert!(v1["metrics"].get("video_views").is_none());
        assert_eq!(v1["data_complete"], true);
        assert!(v1.to_string().contains("\"spend\":123.25"), "{v1}");
        let v2 = report(acct("initech"), Switches::ALL, p, &m, &vol());
        assert_eq!(v2["metrics"]["video_views"], 7);
        assert_eq!(v2["period"]["start"], "2024-05-31T00:00:00Z");
    }

    #[test]
    fn zeroed_metric_zeroes_conversions_for_globex_and_umbrella_only() {
        let m = Metrics {
            impressions: 9000,
            clicks: 150,
            conversions: 4,
            spend: 10.25,
            ctr: 0.0167,
            video_views: 7,
        };
        let p = ("2024-05-31T00:00:00Z", "2024-06-01T00:00:00Z");
        let zeroed = Switches {
            zeroed_metric: true,
            ..Switches::NONE
        };
        let conversions = |sw: Switches| -> Vec<Value> {
            ACCOUNTS
                .iter()
                .map(|s| report(acct(s), sw, p, &m, &vol())["metrics"]["conversions"].clone())
                .collect()
        };
        assert_eq!(
            conversions(zeroed),
            [json!(4), json!(0), json!(4), json!(0)]
        );
        assert_eq!(
            conversions(Switches::ALL),
            [json!(4), json!(0), json!(4), json!(0)]
        );
        assert_eq!(conversions(Switches::NONE), vec![json!(4); 4]);
        let globex = report(acct("globex"), zeroed, p, &m, &vol());
        assert_eq!(
            globex["metrics"],
            json!({"impressions": 9000, "clicks": 150, "conversions": 0, "spend": 10.25,
                   "ctr": 0.0167})
        );
        assert_eq!(globex["data_complete"], true);
    }

    #[test]
    fn workspace_billing_email_goes_null_in_v2_for_globex_and_umbrella_only() {
        let nulls: Vec<bool> = ACCOUNTS
            .iter()
            .map(|s| workspace(acct(s), Switches::ALL, &vol())["billing_email"].is_null())
            .collect();
        assert_eq!(nulls, [false, true, false, true]);
        let v1 = workspace(acct("globex"), Switches::NONE, &vol());
        assert_eq!(v1["billing_email"], "billing@globex.example");
        assert_eq!(v1["timezone"], "Europe/Berlin");
    }

    #[test]
    fn audit_log_is_fixed() {
        let got = audit_log(acct("globex"), &vol());
        assert_eq!(got["events"].as_array().unwrap().len(), 2);
        assert_eq!(
            got["events"][0],
            json!({"id": "evt_gx01c3d5", "type": "login",
                   "actor": {"id": "usr_gx1h5", "email": "hank@globex.example"},
                   "occurred_at": "2024-04-11T12:00:00Z"})
        );
        assert_eq!(got["next_cursor"], Value::Null);
    }
}
