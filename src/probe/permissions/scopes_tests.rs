use super::*;

fn cell(class: CellClass) -> Cell {
    Cell {
        class,
        status: Some(if class == CellClass::Denied { 403 } else { 200 }),
        ..Cell::not_probed()
    }
}

fn sets(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
        .collect()
}

fn cells(pairs: &[(&str, CellClass)]) -> BTreeMap<String, Cell> {
    pairs
        .iter()
        .map(|(k, c)| ((*k).to_owned(), cell(*c)))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// (endpoint, basis, together_with, documented).
type Row = (String, Basis, Vec<String>, bool);

/// (scope, its unlocks, unused) per scope.
fn table(p: &ProviderScopes) -> Vec<(String, Vec<Row>, bool)> {
    p.scopes
        .iter()
        .map(|s| {
            (
                s.scope.clone(),
                s.unlocks
                    .iter()
                    .map(|u| {
                        (
                            u.endpoint.clone(),
                            u.basis,
                            u.together_with.clone(),
                            u.documented,
                        )
                    })
                    .collect(),
                s.unused,
            )
        })
        .collect()
}

struct Ep {
    id: &'static str,
    requires: Vec<String>,
    requires_any: Vec<Vec<String>>,
    fields: BTreeMap<String, Vec<String>>,
    cells: Option<BTreeMap<String, Cell>>,
}

fn ep(id: &'static str, requires: &[&str], c: &[(&str, CellClass)]) -> Ep {
    Ep {
        id,
        requires: strings(requires),
        requires_any: Vec::new(),
        fields: BTreeMap::new(),
        cells: Some(cells(c)),
    }
}

fn run(
    eps: &[Ep],
    scope_sets: &BTreeMap<String, Vec<String>>,
    auth: &[&str],
) -> (ProviderScopes, Vec<Drift>) {
    let views: Vec<EndpointScopes<'_>> = eps
        .iter()
        .map(|e| EndpointScopes {
            id: e.id,
            requires: &e.requires,
            requires_any: &e.requires_any,
            requires_fields: &e.fields,
            cells: e.cells.as_ref(),
        })
        .collect();
    let requested = BTreeMap::from([("auth.scopes".to_owned(), strings(auth))]);
    let p = justify("acme", &views, scope_sets, &requested);
    let f = findings(&p, scope_sets);
    (p, f)
}

use CellClass::{Denied as D, Granted as G, Partial as P};

#[test]
fn full_read_none_isolates_read_credits_documented_write_and_flags_the_extra_scope() {
    let ss = sets(&[
        ("full", &["read", "write", "webhooks"]),
        ("read", &["read"]),
        ("none", &[]),
    ]);
    let eps = [
        ep("list", &["read"], &[("full", G), ("read", G), ("none", D)]),
        ep(
            "create",
            &["write"],
            &[("full", G), ("read", D), ("none", D)],
        ),
    ];
    let (p, f) = run(&eps, &ss, &["read", "write", "webhooks"]);
    assert_eq!(
        table(&p),
        [
            (
                "read".to_owned(),
                vec![("list".to_owned(), Basis::Observed, vec![], true)],
                false
            ),
            ("webhooks".to_owned(), vec![], true),
            (
                "write".to_owned(),
                vec![(
                    "create".to_owned(),
                    Basis::Observed,
                    strings(&["webhooks"]),
                    true
                )],
                false
            ),
        ]
    );
    // The closest comparison is the evidence: `read` against `none`.
    let read = &p.scopes[0].unlocks[0];
    assert_eq!(
        (read.set.as_deref(), read.narrower_set.as_deref()),
        (Some("read"), Some("none"))
    );
    assert_eq!((read.gets, read.without), (Some(G), Some(D)));
    assert_eq!(p.scopes[1].requested_in, strings(&["auth.scopes", "full"]));
    let got: Vec<(&str, Severity, &str, Option<&str>, &str)> = f
        .iter()
        .map(|d| {
            (
                d.rule.as_str(),
                d.severity,
                d.subject.as_str(),
                d.path.as_deref(),
                d.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(
            Rule::PermissionScopeUnused.id(),
            Severity::Info,
            "scopes",
            Some("webhooks"),
            "scope `webhooks` is requested (`auth.scopes`, `full`) but unlocks nothing the suite \
             probes: no comparison of the probed scope sets credits it with an endpoint, and no \
             endpoint documents it; drop it (least privilege) or probe what needs it"
        )]
    );
}

#[test]
fn an_undocumented_difference_credits_every_scope_of_it_not_isolated() {
    let ss = sets(&[("full", &["read", "write"]), ("none", &[])]);
    let eps = [ep("create", &[], &[("full", G), ("none", D)])];
    let (p, f) = run(&eps, &ss, &[]);
    assert_eq!(
        table(&p),
        [
            (
                "read".to_owned(),
                vec![(
                    "create".to_owned(),
                    Basis::Observed,
                    strings(&["write"]),
                    false
                )],
                false
            ),
            (
                "write".to_owned(),
                vec![(
                    "create".to_owned(),
                    Basis::Observed,
                    strings(&["read"]),
                    false
                )],
                false
            ),
        ]
    );
    assert!(f.is_empty());
}

#[test]
fn a_set_lacking_a_scope_that_gets_as_much_rules_it_out() {
    // `basic` ⊂ `full`; `public` gets the same data without `admin`, so `admin` is ruled
    // out of the `full`/`basic` difference and `stats` is `read`'s alone.
    let ss = sets(&[
        ("full", &["profile", "read", "admin"]),
        ("basic", &["profile"]),
        ("public", &["profile", "read"]),
    ]);
    let eps = [ep(
        "stats",
        &[],
        &[("full", G), ("basic", D), ("public", G)],
    )];
    let (p, f) = run(&eps, &ss, &["profile"]);
    assert_eq!(
        table(&p),
        [
            ("admin".to_owned(), vec![], true),
            ("profile".to_owned(), vec![], false),
            (
                "read".to_owned(),
                vec![("stats".to_owned(), Basis::Observed, vec![], false)],
                false
            ),
        ]
    );
    assert!(p.scopes[1].token_scope, "profile serves the token endpoint");
    assert_eq!(
        f.iter().map(|d| d.path.as_deref()).collect::<Vec<_>>(),
        [Some("admin")]
    );
}

#[test]
fn partial_against_granted_is_an_unlock_of_the_full_data() {
    let ss = sets(&[
        ("full", &["activities:read", "activities:read_all"]),
        ("public", &["activities:read"]),
    ]);
    let eps = [ep(
        "activities",
        &["activities:read"],
        &[("full", G), ("public", P)],
    )];
    let (p, f) = run(&eps, &ss, &[]);
    let all = &p.scopes[1];
    assert_eq!(all.scope, "activities:read_all");
    assert_eq!(all.unlocks.len(), 1);
    assert_eq!(
        (all.unlocks[0].gets, all.unlocks[0].without),
        (Some(G), Some(P))
    );
    // `activities:read` is in every set: only the documentation names it.
    assert_eq!(
        table(&p)[0].1,
        [("activities".to_owned(), Basis::Documented, vec![], true)]
    );
    assert!(f.is_empty());
}

#[test]
fn requires_any_alternatives_are_each_isolated() {
    let ss = sets(&[("a", &["a"]), ("b", &["b"]), ("none", &[])]);
    let mut e = ep("x", &[], &[("a", G), ("b", G), ("none", D)]);
    e.requires_any = vec![strings(&["a"]), strings(&["b"])];
    let (p, _) = run(&[e], &ss, &[]);
    assert_eq!(
        table(&p),
        [
            (
                "a".to_owned(),
                vec![("x".to_owned(), Basis::Observed, vec![], true)],
                false
            ),
            (
                "b".to_owned(),
                vec![("x".to_owned(), Basis::Observed, vec![], true)],
                false
            ),
        ]
    );
}

#[test]
fn documentation_contradicted_by_a_granted_set_credits_nothing() {
    let ss = sets(&[("full", &["x", "y"]), ("only-y", &["y"])]);
    let eps = [ep("e", &["x"], &[("full", G), ("only-y", G)])];
    let (p, f) = run(&eps, &ss, &[]);
    assert_eq!(
        table(&p),
        [
            ("x".to_owned(), vec![], false),
            ("y".to_owned(), vec![], true),
        ]
    );
    // `x` is documented (the permission findings speak of the contradiction); `y` is unused.
    assert_eq!(
        f.iter().map(|d| d.path.as_deref()).collect::<Vec<_>>(),
        [Some("y")]
    );
}

#[test]
fn token_scopes_and_fields_documentation_are_never_unused() {
    let ss = sets(&[("full", &["openid", "offline_access", "contacts"])]);
    let mut e = ep("me", &[], &[("full", G)]);
    e.fields = BTreeMap::from([("$.contacts".to_owned(), strings(&["contacts"]))]);
    let (p, f) = run(&[e], &ss, &["openid", "offline_access", "phone", "extra"]);
    let unused: Vec<(&str, bool, bool)> = p
        .scopes
        .iter()
        .map(|s| (s.scope.as_str(), s.token_scope, s.unused))
        .collect();
    assert_eq!(
        unused,
        [
            ("contacts", false, false),
            ("extra", false, true),
            ("offline_access", true, false),
            ("openid", true, false),
            ("phone", true, false),
        ]
    );
    assert_eq!(
        f[0].message,
        "scope `extra` is requested (`auth.scopes`) but unlocks nothing the suite probes: no \
         scope set holds it, so it was never probed, and no endpoint documents it; drop it \
         (least privilege) or probe what needs it"
    );
}

#[test]
fn error_and_not_probed_cells_compare_nothing() {
    let ss = sets(&[("full", &["read"]), ("none", &[])]);
    for cells in [
        [("full", G), ("none", CellClass::NotProbed)],
        [("full", CellClass::Error), ("none", D)],
    ] {
        let (p, f) = run(&[ep("e", &[], &cells)], &ss, &[]);
        assert!(p.scopes[0].unlocks.is_empty());
        // One probed set and no documentation: nothing to judge by.
        assert!(!p.judged);
        assert!(f.is_empty());
    }
}

#[test]
fn json_form_is_stable() {
    let ss = sets(&[("full", &["read", "webhooks"]), ("none", &[])]);
    let eps = [ep("list", &["read"], &[("full", G), ("none", D)])];
    let (p, _) = run(&eps, &ss, &[]);
    assert_eq!(
        serde_json::to_value(&p).expect("serialises"),
        serde_json::json!({
            "provider": "acme",
            "judged": true,
            "scopes": [
                {"scope": "read", "requested_in": ["full"], "unlocks": [
                    {"endpoint": "list", "basis": "observed", "gets": "granted",
                     "without": "denied", "set": "full", "narrower_set": "none",
                     "together_with": ["webhooks"], "documented": true}
                ]},
                {"scope": "webhooks", "requested_in": ["full"], "unlocks": [], "unused": true}
            ]
        })
    );
}

#[test]
fn one_scope_set_and_no_documentation_judges_nothing() {
    let ss = sets(&[("full", &["read"])]);
    let eps = [ep("e", &[], &[("full", G)])];
    let (p, f) = run(&eps, &ss, &["read"]);
    assert_eq!(table(&p), [("read".to_owned(), vec![], false)]);
    assert!(!p.judged);
    assert!(f.is_empty());
    // Documentation is something to judge by, even with one scope set.
    let eps = [ep("e", &["write"], &[("full", G)])];
    let (p, _) = run(&eps, &ss, &["read"]);
    assert!(p.scopes[0].unused);
}
