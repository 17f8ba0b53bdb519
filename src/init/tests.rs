//! Unit tests of `init --from-openapi`: exact results for refs, nullable, scopes, flows
//! and errors, and insta snapshots of the suites generated from the fixtures (each of
//! which must pass `driftwatch check` without errors).

use super::filter::Filter;
use super::openapi::{AuthPlan, openapi_version, plan, slug};
use super::refs::{SchemaResolver, deref, lookup};
use super::security::{Requirement, Security};
use super::*;
use crate::context::Context;
use serde_json::{Value, json};

fn opts() -> InitOptions {
    InitOptions {
        source_name: "spec.yaml".into(),
        ..InitOptions::default()
    }
}

/// `requires` as (the one alternative, notes, other schemes), for the single-alternative cases.
fn requires(op: &Value, sec: &Security) -> (Vec<String>, Vec<String>, Vec<String>) {
    let Requirement {
        alternatives,
        notes,
        others,
        ..
    } = super::security::requires(op, sec);
    assert!(alternatives.len() <= 1, "{alternatives:?}");
    (
        alternatives.into_iter().next().unwrap_or_default(),
        notes,
        others,
    )
}

fn resolve(doc: &Value, v30: bool, schema: Value) -> (Value, Vec<String>) {
    let mut r = SchemaResolver::new(doc, v30);
    let out = r.resolve(&schema, "/s").unwrap();
    (out, r.warnings)
}

#[test]
fn lookup_decodes_pointer_escapes_and_percent_encoding() {
    let doc = json!({"components": {"schemas": {"a/b": 1, "c~d": 2, "e f": 3}}});
    assert_eq!(lookup(&doc, "#/components/schemas/a~1b"), Some(&json!(1)));
    assert_eq!(lookup(&doc, "#/components/schemas/c~0d"), Some(&json!(2)));
    assert_eq!(lookup(&doc, "#/components/schemas/e%20f"), Some(&json!(3)));
    assert_eq!(lookup(&doc, "#"), Some(&doc));
    assert_eq!(lookup(&doc, "#/components/schemas/nope"), None);
    assert_eq!(lookup(&doc, "other.yaml#/x"), None);
}

#[test]
fn deref_follows_chains_and_names_broken_pointers_and_cycles() {
    let doc = json!({"components": {"responses": {
        "A": {"$ref": "#/components/responses/B"},
        "B": {"description": "b"},
        "Loop1": {"$ref": "#/components/responses/Loop2"},
        "Loop2": {"$ref": "#/components/responses/Loop1"},
    }}});
    let node = json!({"$ref": "#/components/responses/A"});
    assert_eq!(
        deref(&doc, &node, "/x").unwrap(),
        Some(&json!({"description": "b"}))
    );
    assert_eq!(
        deref(&doc, &json!({"$ref": "ext.yaml#/R"}), "/x").unwrap(),
        None
    );
    let err = deref(
        &doc,
        &json!({"$ref": "#/components/responses/Nope"}),
        "/paths/~1a/get",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "broken `$ref` `#/components/responses/Nope` at `/paths/~1a/get`: nothing in the document at that pointer"
    );
    let err = deref(&doc, &json!({"$ref": "#/components/responses/Loop1"}), "/y").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`$ref` cycle at `/y`: `#/components/responses/Loop1` never reaches an object"
    );
}

#[test]
fn nested_refs_are_inlined_and_annotations_dropped() {
    let doc = json!({"components": {"schemas": {
        "Pet": {"type": "object", "description": "a pet", "x-go-type": "Pet",
                "properties": {"owner": {"$ref": "#/components/schemas/Owner"}}},
        "Owner": {"type": "object", "example": {"$ref": "not a ref"},
                  "properties": {"name": {"type": "string"}}},
    }}});
    let (out, warnings) = resolve(&doc, true, json!({"$ref": "#/components/schemas/Pet"}));
    assert_eq!(
        out,
        json!({"type": "object", "properties": {"owner": {"type": "object",
            "properties": {"name": {"type": "string"}}}}})
    );
    assert!(warnings.is_empty());
}

#[test]
fn recursive_schemas_become_defs_instead_of_looping() {
    let doc = json!({"components": {"schemas": {
        "Node": {"type": "object", "properties": {
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            "parent": {"$ref": "#/components/schemas/NodeRef"}}},
        "NodeRef": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Node"}]},
    }}});
    let (out, _) = resolve(&doc, false, json!({"$ref": "#/components/schemas/Node"}));
    let node_ref = json!({"$ref": "#/$defs/Node"});
    let body = json!({"type": "object", "properties": {
        "children": {"type": "array", "items": node_ref},
        "parent": {"oneOf": [{"type": "null"}, node_ref]}}});
    assert_eq!(
        out,
        json!({"$ref": "#/$defs/Node", "$defs": {"Node": body}})
    );
    let validator = jsonschema::validator_for(&out).unwrap();
    assert!(validator.is_valid(&json!({"children": [{"children": [], "parent": null}]})));
    assert!(!validator.is_valid(&json!({"children": [{"children": 3}]})));
}

#[test]
fn external_refs_are_left_out_with_a_warning() {
    let doc = json!({});
    let (out, warnings) = resolve(
        &doc,
        false,
        json!({"type": "object", "properties": {"o": {"$ref": "https://x.example/o.json"}}}),
    );
    assert_eq!(out, json!({"type": "object", "properties": {"o": {}}}));
    assert_eq!(
        warnings,
        [
            "external `$ref` `https://x.example/o.json` at `/s/properties/o` left out: only references inside the document are resolved (that part accepts anything)"
        ]
    );
}

#[test]
fn nullable_30_becomes_a_null_type() {
    let doc = json!({"components": {"schemas": {"O": {"type": "object"}}}});
    let cases = [
        (
            json!({"type": "string", "nullable": true}),
            json!({"type": ["string", "null"]}),
        ),
        (
            json!({"type": "string", "enum": ["a"], "nullable": true}),
            json!({"type": ["string", "null"], "enum": ["a", null]}),
        ),
        (
            json!({"type": "string", "nullable": false}),
            json!({"type": "string"}),
        ),
        (
            json!({"allOf": [{"$ref": "#/components/schemas/O"}], "nullable": true}),
            json!({"anyOf": [{"allOf": [{"type": "object"}]}, {"type": "null"}]}),
        ),
        (
            json!({"$ref": "#/components/schemas/O", "nullable": true}),
            json!({"anyOf": [{"type": "object"}, {"type": "null"}]}),
        ),
        (
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false}),
            json!({"type": "number", "exclusiveMinimum": 0, "maximum": 9}),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(resolve(&doc, true, input.clone()).0, expected, "{input}");
    }
    // 3.1 has no `nullable` keyword; its `$ref` siblings are applied alongside the target.
    assert_eq!(
        resolve(&doc, false, json!({"type": "string", "nullable": true})).0,
        json!({"type": "string", "nullable": true})
    );
    assert_eq!(
        resolve(
            &doc,
            false,
            json!({"$ref": "#/components/schemas/O", "minProperties": 1})
        )
        .0,
        json!({"allOf": [{"type": "object"}, {"minProperties": 1}]})
    );
}

#[test]
fn versions_and_non_openapi_documents_are_refused_clearly() {
    let err = |text: &str| from_openapi(text, &opts()).unwrap_err().to_string();
    assert_eq!(
        err("swagger: '2.0'\ninfo: {title: x}\n"),
        "only OpenAPI 3.0/3.1 is supported; this is Swagger 2.0 (convert it first, e.g. with swagger2openapi)"
    );
    assert_eq!(
        err("name: not an api\n"),
        "not an OpenAPI document: no top-level `openapi` field (only OpenAPI 3.0/3.1 is supported)"
    );
    assert_eq!(err("- a list\n"), err("name: x\n"));
    assert_eq!(
        err("openapi: 4.0.0\n"),
        "only OpenAPI 3.0/3.1 is supported; this document says `openapi: 4.0.0`"
    );
    assert!(err("openapi: [\n").starts_with("cannot parse the OpenAPI document: "));
    assert_eq!(
        openapi_version(&json!({"openapi": 3.1})).unwrap(),
        ("3.1".into(), false)
    );
    assert_eq!(
        openapi_version(&json!({"openapi": "3.0.3"})).unwrap(),
        ("3.0.3".into(), true)
    );
    assert!(openapi_version(&json!({"openapi": "3.10"})).is_err());
    // A broken reference is found when the schema is resolved, i.e. written as files.
    let err = |text: &str| {
        from_openapi(
            text,
            &InitOptions {
                schema_files: true,
                ..opts()
            },
        )
        .unwrap_err()
        .to_string()
    };
    let broken = r##"{"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {
        "description": "x", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}}}}}}}}"##;
    assert_eq!(
        err(broken),
        "broken `$ref` `#/components/schemas/Gone` at `/paths/~1a/get/responses/200/content/application~1json/schema`: nothing in the document at that pointer"
    );
}

fn security(doc: &Value) -> (Security, Vec<String>) {
    let mut warnings = Vec::new();
    let s = Security::read(doc, Some("https://api.example"), &mut warnings).unwrap();
    (s, warnings)
}

#[test]
fn scopes_come_from_the_operation_else_the_document() {
    let doc = json!({
        "security": [{"key": []}, {"oauth": ["read"]}],
        "components": {"securitySchemes": {
            "oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/t"}}},
            "key": {"type": "apiKey", "in": "header", "name": "k"}}}
    });
    let (sec, _) = security(&doc);
    let op = |security: Value| json!({"security": security});
    let none: Vec<String> = Vec::new();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        requires(&json!({}), &sec),
        (strings(&["read"]), none.clone(), none.clone())
    );
    assert_eq!(
        requires(&op(json!([{"oauth": ["b", "a", "b"]}])), &sec),
        (strings(&["a", "b"]), none.clone(), none.clone())
    );
    assert_eq!(
        requires(&op(json!([])), &sec),
        (
            none.clone(),
            strings(&["public: the document's security requirement is empty"]),
            none.clone()
        )
    );
    assert_eq!(
        requires(&op(json!([{}, {"oauth": ["a"]}])), &sec),
        (
            strings(&["a"]),
            strings(&["auth is optional: the document also allows anonymous calls"]),
            none.clone()
        )
    );
    assert_eq!(
        requires(&op(json!([{"key": []}])), &sec),
        (none.clone(), none.clone(), strings(&["`key`"]))
    );
    let no_security = Security {
        global: None,
        ..security(&json!({})).0
    };
    assert_eq!(
        requires(&json!({}), &no_security),
        (
            none.clone(),
            strings(&["public: the document declares no security requirement"]),
            none
        )
    );
}

#[test]
fn oauth_flows_map_to_grants() {
    let scheme = |flows: Value| json!({"components": {"securitySchemes": {"s": {"type": "oauth2", "flows": flows}}}});
    let ac = json!({"authorizationUrl": "https://api.example/oauth/authorize",
                    "tokenUrl": "https://auth.example/token"});
    let (s, w) = security(&scheme(
        json!({"authorizationCode": ac, "clientCredentials": {"tokenUrl": "/t"}}),
    ));
    assert_eq!(
        s.auth,
        AuthPlan::AuthorizationCode {
            authorize_url: Some("/oauth/authorize".into()),
            token_url: Some("https://auth.example/token".into()),
            discovery_url: None
        }
    );
    assert_eq!(
        s.notes,
        ["the scheme also offers clientCredentials; this suite uses authorizationCode"]
    );
    assert!(w.is_empty());
    let (s, _) = security(&scheme(
        json!({"clientCredentials": {"tokenUrl": "oauth/token"}}),
    ));
    assert_eq!(
        s.auth,
        AuthPlan::ClientCredentials {
            token_url: "/oauth/token".into()
        }
    );
    let (s, w) = security(&scheme(
        json!({"password": {"tokenUrl": "https://api.example/token"}}),
    ));
    assert_eq!(
        s.auth,
        AuthPlan::Password {
            token_url: "/token".into()
        }
    );
    assert_eq!(
        w,
        ["the password flow is deprecated (OAuth 2.1 removes it); `check` warns about it"]
    );
    let (s, w) = security(&scheme(json!({"implicit": {"authorizationUrl": "/a"}})));
    assert_eq!(s.auth, AuthPlan::StaticBearer);
    assert_eq!(
        w,
        [
            "the implicit flow is not supported (OAuth 2.1 removes it): auth is `static_bearer` with a token from the environment"
        ]
    );
    let oidc = json!({"components": {"securitySchemes": {"o": {"type": "openIdConnect",
        "openIdConnectUrl": "https://login.example/.well-known/openid-configuration"}}}});
    let (s, _) = security(&oidc);
    assert_eq!(
        s.auth,
        AuthPlan::AuthorizationCode {
            authorize_url: None,
            token_url: None,
            discovery_url: Some("https://login.example/.well-known/openid-configuration".into())
        }
    );
    assert_eq!(s.issuer.as_deref(), Some("https://login.example"));
    let (s, w) = security(&json!({}));
    assert_eq!((s.auth, s.chosen), (AuthPlan::StaticBearer, None));
    assert_eq!(w.len(), 1);
}

#[test]
fn global_security_chooses_among_several_oauth_schemes() {
    let doc = json!({"security": [{"b": []}], "components": {"securitySchemes": {
        "a": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/a"}}},
        "b": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/b"}}}}}});
    let (s, w) = security(&doc);
    assert_eq!(s.chosen.as_deref(), Some("b"));
    assert_eq!(
        w,
        ["security scheme `a` ignored: a suite has one auth section, generated from `b`"]
    );
}

#[test]
fn ids_are_slugs() {
    assert_eq!(slug("listPets"), "list-pets");
    assert_eq!(slug("contacts.list"), "contacts.list");
    assert_eq!(
        slug("get /pets/{petId}/HTTPStatus"),
        "get-pets-pet-id-httpstatus"
    );
    assert_eq!(
        slug("Swagger Petstore - OpenAPI 3"),
        "swagger-petstore-open-api-3"
    );
    assert_eq!(slug("__x"), "x");
}

#[test]
fn duplicate_ids_and_missing_servers() {
    let doc = json!({"openapi": "3.1.0", "info": {"title": "T.I"}, "paths": {
        "/a": {"get": {"operationId": "same", "responses": {}}},
        "/b": {"get": {"operationId": "same", "responses": {}}, "post": {}}}});
    let mut w = Vec::new();
    let (p, _) = plan(
        &doc,
        &opts(),
        &Filter::default(),
        &mut w,
        &mut Summary::default(),
    )
    .unwrap();
    let ids: Vec<&str> = p.endpoints.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["same", "same-2"]);
    assert_eq!(
        (p.provider.as_str(), p.base_url.as_str()),
        ("t-i", "${env:T_I_BASE_URL}")
    );
    assert_eq!(
        w,
        [
            "the document lists no servers: base_url is `${env:T_I_BASE_URL}`",
            "no OAuth 2.0 or OpenID Connect security scheme: auth is `static_bearer` with a token from the environment",
            "1 non-GET operation(s) skipped: a suite only probes reads",
        ]
    );
}

/// The text of a fixture under tests/fixtures/openapi, gunzipped when it ends in `.gz`.
pub(crate) fn fixture_text(fixture: &str) -> String {
    use std::io::Read as _;
    let path = format!(
        "{}/tests/fixtures/openapi/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    if fixture.ends_with(".gz") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        text
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

/// Generates the suite of a fixture with `syntax`, writes it and its schema files to a
/// temp dir, and returns them with the dir.
fn generate(
    fixture: &str,
    base_url: Option<&str>,
    syntax: SuiteSyntax,
) -> (Generated, tempfile::TempDir) {
    let generated = from_openapi(
        &fixture_text(fixture),
        &InitOptions {
            source_name: fixture.into(),
            base_url: base_url.map(str::to_string),
            provider: None,
            schema_files: true,
            syntax,
            include: Vec::new(),
            exclude: Vec::new(),
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("suite.yaml"), &generated.yaml).unwrap();
    for (rel, text) in &generated.files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    (generated, dir)
}

/// Generates the suite of a fixture with `syntax` (a subset of what this build's reader
/// knows), checks it like `driftwatch check` (no errors), compiles every declared schema the
/// way a run does (so the schema files' `$ref`s resolve), and returns it.
fn generate_and_check(fixture: &str, base_url: Option<&str>, syntax: SuiteSyntax) -> Generated {
    let (generated, dir) = generate(fixture, base_url, syntax);
    let suite = dir.path().join("suite.yaml");
    let ctx = Context::empty(dir.path());
    let report = crate::suite::check_files(std::slice::from_ref(&suite), &ctx, false);
    assert_eq!(report.errors, 0, "{}\n{}", generated.yaml, report.rendered);
    let loaded = crate::suite::load_suite(&suite, &ctx, crate::suite::LoadMode::Check).unwrap();
    for ep in &loaded.suite.endpoints {
        if let Some(declared) = &ep.schema {
            let (crate::suite::DeclaredSchema::Inline(v)
            | crate::suite::DeclaredSchema::File { schema: v, .. }) = &declared.value;
            crate::probe::schema::Declared::new(v)
                .unwrap_or_else(|e| panic!("endpoint `{}`: {e}", ep.id.value));
        }
    }
    generated
}

#[test]
fn petstore_30_yaml() {
    let g = generate_and_check("petstore.yaml", None, SuiteSyntax::default());
    insta::assert_snapshot!(g.yaml);
    // The shared component schemas, one file each, `$ref`s between them kept.
    let files: String = g
        .files
        .iter()
        .map(|(p, t)| format!("--- {p}\n{t}"))
        .collect();
    insta::assert_snapshot!("petstore_30_yaml_files", files);
    assert_eq!(
        g.warnings,
        [
            "endpoint `show-pet-by-id` (GET /pets/{petId}) written commented out: it needs path parameter `{petId}`",
            "endpoint `get-inventory` (GET /store/inventory) written commented out: it needs credentials for `api_key` (not the suite's auth; e.g. a header from `${env:…}`)",
            "2 non-GET operation(s) skipped: a suite only probes reads",
        ]
    );
}

#[test]
fn crm_31_json() {
    let g = generate_and_check("crm.json", None, SuiteSyntax::default());
    insta::assert_snapshot!(g.yaml);

    assert_eq!(
        g.warnings,
        [
            "security scheme `acme_oidc` ignored: a suite has one auth section, generated from `acme_app`",
            "endpoint `get-owners-owner-id` (GET /owners/{ownerId}) written commented out: it needs path parameter `{ownerId}`",
            "external `$ref` `https://schemas.acmecrm.example/owner.json` at `/paths/~1owners~1{ownerId}/get/responses/200/content/application~1json/schema` left out: only references inside the document are resolved (that part accepts anything)",
        ]
    );
}

#[test]
fn sim_mirror() {
    let g = generate_and_check(
        "sim.yaml",
        Some("${env:SIM_BASE_URL}"),
        SuiteSyntax::default(),
    );
    insta::assert_snapshot!(g.yaml);
    assert_eq!(g.warnings, Vec::<String>::new());
}

/// The vendor documents of issue 19 (tests/fixtures/openapi/README.md): the suite for this
/// build's reader (every key `init` can write) passes `check`, its schemas compile, and what
/// became of each GET is counted exactly; so does the suite for a reader without the issue-19
/// keys (`SuiteSyntax::default()`: path parameters commented out, alternatives as comments).
/// Returns (that basic summary, the full summary, the full suite).
fn vendor(fixture: &str) -> (Summary, Summary, Generated) {
    assert_eq!(SuiteSyntax::detect(), SuiteSyntax::all());
    let full = generate_and_check(fixture, None, SuiteSyntax::detect());
    let basic = generate_and_check(fixture, None, SuiteSyntax::default());
    (basic.summary.clone(), full.summary.clone(), full)
}

fn summary(
    get_operations: usize,
    active: usize,
    chained: usize,
    conn_values: usize,
    commented_out: &[(&str, usize)],
    non_get: usize,
) -> Summary {
    Summary {
        get_operations,
        active,
        chained,
        conn_values,
        commented_out: commented_out
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect(),
        filtered_out: 0,
        non_get,
    }
}

#[test]
fn vendor_xero_accounting() {
    let (basic, full, g) = vendor("xero-accounting.yaml.gz");
    let full_expected = summary(126, 126, 86, 126, &[], 109);
    assert_eq!(full, full_expected);
    assert_eq!(
        basic,
        summary(126, 40, 0, 0, &[("a path parameter", 86)], 109)
    );
    assert_eq!(g.files.len(), 118);
    for line in [
        "  full: [accounting.attachments, accounting.attachments.read, accounting.budgets.read, accounting.contacts, accounting.contacts.read, accounting.journals.read, accounting.reports.read, accounting.reports.tenninetynine.read, accounting.settings, accounting.settings.read, accounting.transactions, accounting.transactions.read, offline_access, paymentservices]\n",
        "  vars:\n    xero_tenant_id: ${env:XERO_ACCOUNTING_API_XERO_TENANT_ID}\n",
        "  - id: get-accounts\n    path: /Accounts\n    headers:\n      xero-tenant-id: ${conn:xero_tenant_id}\n    requires: [accounting.settings, accounting.settings.read]\n    schema: schemas/xero-accounting-api/Accounts.json\n",
        "    from:\n      endpoint: get-accounts\n      path: $.Accounts[0].AccountID\n",
    ] {
        assert!(g.yaml.contains(line), "{line}\n{}", g.yaml);
    }
}

#[test]
fn vendor_spotify() {
    let (basic, full, g) = vendor("spotify.yaml.gz");
    let full_expected = summary(61, 61, 14, 11, &[], 36);
    assert_eq!(full, full_expected);
    assert_eq!(
        basic,
        summary(
            61,
            36,
            0,
            0,
            &[
                ("a path parameter", 24),
                ("a required parameter without an example", 1)
            ],
            36
        )
    );
    assert_eq!(g.files.len(), 115);
    let line = "    from:\n      endpoint: get-multiple-albums\n      path: $.albums[0].id\n";
    assert!(g.yaml.contains(line), "{}", g.yaml);
}

#[test]
fn vendor_box() {
    let (basic, full, g) = vendor("box.json.gz");
    let full_expected = summary(129, 129, 36, 51, &[], 167);
    assert_eq!(full, full_expected);
    assert_eq!(
        basic,
        summary(129, 44, 0, 0, &[("a path parameter", 85)], 167)
    );
    assert_eq!(g.files.len(), 234);
    let line = "    from:\n      endpoint: get_collaborations\n";
    assert!(g.yaml.contains(line), "{}", g.yaml);
}

/// Slack (OpenAPI 2 converted with swagger2openapi): its `token` query parameter is the
/// suite's auth, never a value to fill in.
#[test]
fn vendor_slack() {
    let (basic, full, g) = vendor("slack-web.json.gz");
    let full_expected = summary(80, 80, 0, 26, &[], 94);
    assert_eq!(full, full_expected);
    assert_eq!(
        basic,
        summary(
            80,
            54,
            0,
            0,
            &[("a required parameter without an example", 26)],
            94
        )
    );
    assert_eq!(g.files.len(), 127);
    assert!(!g.yaml.contains("token: ${conn:"), "{}", g.yaml);
}

#[test]
fn include_and_exclude_count_as_filtered_out() {
    let text = fixture_text("xero-accounting.yaml.gz");
    let g = from_openapi(
        &text,
        &InitOptions {
            include: vec!["/Contacts/**".into(), "/Contacts".into()],
            exclude: vec!["op:getContactHistory".into()],
            syntax: SuiteSyntax::all(),
            ..opts()
        },
    )
    .unwrap();
    let ids: Vec<&str> = g
        .yaml
        .lines()
        .filter_map(|l| l.strip_prefix("  - id: "))
        .collect();
    assert_eq!(
        ids,
        [
            "get-contacts",
            "get-contact",
            "get-contact-attachments",
            "get-contact-attachment-by-id",
            "get-contact-attachment-by-file-name",
            "get-contact-cissettings",
            "get-contact-by-contact-number",
        ]
    );
    assert_eq!(g.summary.filtered_out, 126 - ids.len());
}

/// OR-security (HubSpot's `[{oauth: [files.ui_hidden.read]}, {oauth: [files]}]`): both
/// alternatives reach the scope set; `requires_any` lists them where the reader has it,
/// else a comment says so and `requires` stays empty instead of silently taking the first.
#[test]
fn or_security_becomes_requires_any_or_a_comment() {
    let doc = r##"{"openapi": "3.0.3", "info": {"title": "Files", "version": "1"},
      "servers": [{"url": "https://api.files.example"}],
      "components": {"securitySchemes": {"oauth": {"type": "oauth2", "flows": {
        "authorizationCode": {"authorizationUrl": "https://app.files.example/oauth/authorize",
          "tokenUrl": "https://api.files.example/oauth/token", "scopes": {}}}}}},
      "paths": {"/files": {"get": {"operationId": "listFiles",
        "security": [{"oauth": ["files.ui_hidden.read"]}, {"oauth": ["files"]}],
        "responses": {"200": {"description": "ok"}}}}}}"##;
    let with = |syntax| from_openapi(doc, &InitOptions { syntax, ..opts() }).unwrap();
    let any = with(SuiteSyntax::all());
    assert!(
        any.yaml.contains("  full: [files, files.ui_hidden.read]\n"),
        "{}",
        any.yaml
    );
    assert!(
        any.yaml.contains(
            "  - id: list-files\n    path: /files\n    requires_any:\n    - [files.ui_hidden.read]\n    - [files]\n"
        ),
        "{}",
        any.yaml
    );
    // This build's reader takes it: the endpoint's alternatives load as written.
    assert!(SuiteSyntax::detect().requires_any);
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.yaml");
    std::fs::write(&suite, &any.yaml).unwrap();
    let ctx = Context::empty(dir.path());
    let report = crate::suite::check_files(std::slice::from_ref(&suite), &ctx, false);
    assert_eq!(report.errors, 0, "{}\n{}", any.yaml, report.rendered);
    let loaded = crate::suite::load_suite(&suite, &ctx, crate::suite::LoadMode::Check).unwrap();
    assert_eq!(
        loaded.suite.endpoints[0].requires_any,
        [
            vec!["files.ui_hidden.read".to_owned()],
            vec!["files".to_owned()]
        ]
    );
    let without = with(SuiteSyntax {
        requires_any: false,
        ..SuiteSyntax::all()
    });
    assert!(
        without.yaml.contains(
            "  # the document accepts any one of [files.ui_hidden.read] or [files]; `requires` means all of, so it is left empty\n  - id: list-files\n    path: /files\n"
        ),
        "{}",
        without.yaml
    );
    assert_eq!(
        without.warnings,
        [
            "endpoint `list-files`: security alternatives [files.ui_hidden.read] | [files] written as a comment: this build has no `requires_any`"
        ]
    );
}

/// Refresh tokens per provider family (oauth-facts.md): Microsoft and Xero need the
/// `offline_access` scope, Google `access_type=offline` (and fresh consent).
#[test]
fn offline_access_where_the_provider_family_needs_it() {
    let doc = |authorize: &str, token: &str| {
        format!(
            r##"{{"openapi": "3.0.3", "info": {{"title": "P", "version": "1"}},
          "servers": [{{"url": "https://api.p.example"}}],
          "components": {{"securitySchemes": {{"o": {{"type": "oauth2", "flows": {{
            "authorizationCode": {{"authorizationUrl": "{authorize}", "tokenUrl": "{token}", "scopes": {{}}}}}}}}}}}},
          "security": [{{"o": ["read"]}}],
          "paths": {{"/me": {{"get": {{"responses": {{"200": {{"description": "ok"}}}}}}}}}}}}"##
        )
    };
    let yaml = |a: &str, t: &str| from_openapi(&doc(a, t), &opts()).unwrap().yaml;
    let ms = yaml(
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    );
    assert!(ms.contains("  full: [offline_access, read]\n"), "{ms}");
    assert!(ms.contains("# `offline_access` added to the scope set: Microsoft issues a refresh token only with it\n"), "{ms}");
    let xero = yaml(
        "https://login.xero.com/identity/connect/authorize",
        "https://identity.xero.com/connect/token",
    );
    assert!(xero.contains("  full: [offline_access, read]\n"), "{xero}");
    let google = yaml(
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
    );
    assert!(google.contains("  full: [read]\n"), "{google}");
    assert!(
        google.contains("  authorize_params: {access_type: offline, prompt: consent}\n"),
        "{google}"
    );
    let other = yaml("https://p.example/authorize", "https://p.example/token");
    assert!(other.contains("  full: [read]\n"), "{other}");
    assert!(!other.contains("authorize_params"), "{other}");
}

/// A real vendor document with OR-security: Google's OAuth2 v2 API (APIs-guru's conversion of
/// the discovery document, CC BY 3.0). Each `security` alternative names two schemes with the
/// same scope (implicit `Oauth2`, authorization-code `Oauth2c`); the suite takes the
/// authorization-code one, and the three alternatives become `requires_any`.
#[test]
fn vendor_google_oauth2_or_security() {
    let (basic, full, g) = vendor("google-oauth2-v2.yaml");
    assert_eq!(full, summary(3, 3, 0, 0, &[], 1));
    assert_eq!(basic, full);
    for (line, times) in [
        // The authorization-code scheme, not the implicit one listed first.
        ("# from security scheme `Oauth2c`\n", 1),
        ("  grant: authorization_code\n", 1),
        (
            "  token_url: https://accounts.google.com/o/oauth2/token\n",
            1,
        ),
        (
            "  authorize_params: {access_type: offline, prompt: consent}\n",
            1,
        ),
        // The public JWKS endpoint is probed without a token.
        (
            "  - id: oauth2.get-cert-for-open-id-connect\n    path: /oauth2/v2/certs\n    auth: none\n",
            1,
        ),
        (
            "    requires_any:\n    - [https://www.googleapis.com/auth/plus.me]\n    - [https://www.googleapis.com/auth/userinfo.email]\n    - [https://www.googleapis.com/auth/userinfo.profile]\n    schema: schemas/google-oauth2/Userinfoplus.json\n",
            2,
        ),
    ] {
        assert_eq!(g.yaml.matches(line).count(), times, "{line}\n{}", g.yaml);
    }
    let files: Vec<&str> = g.files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        files,
        [
            "schemas/google-oauth2/Jwk.json",
            "schemas/google-oauth2/Userinfoplus.json"
        ]
    );
}
