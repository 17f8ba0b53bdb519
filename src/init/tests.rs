//! Unit tests of `init --from-openapi`: exact results for refs, nullable, scopes, flows
//! and errors, and insta snapshots of the suites generated from the fixtures (each of
//! which must pass `driftwatch check` without errors).

use super::openapi::{AuthPlan, openapi_version, plan, slug};
use super::refs::{SchemaResolver, deref, lookup};
use super::security::{Security, requires};
use super::*;
use crate::context::Context;
use serde_json::{Value, json};

fn opts() -> InitOptions {
    InitOptions {
        source_name: "spec.yaml".into(),
        ..InitOptions::default()
    }
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
    let p = plan(&doc, &opts(), &mut w).unwrap();
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

/// Generates the suite of a fixture, checks it like `driftwatch check`, and returns it.
fn generate_and_check(fixture: &str, base_url: Option<&str>) -> Generated {
    let path = format!(
        "{}/tests/fixtures/openapi/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let generated = from_openapi(
        &text,
        &InitOptions {
            source_name: fixture.into(),
            base_url: base_url.map(str::to_string),
            provider: None,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.yaml");
    std::fs::write(&suite, &generated.yaml).unwrap();
    let report = crate::suite::check_files(&[suite], &Context::empty(dir.path()), false);
    assert_eq!(report.errors, 0, "{}\n{}", generated.yaml, report.rendered);
    generated
}

#[test]
fn petstore_30_yaml() {
    let g = generate_and_check("petstore.yaml", None);
    insta::assert_snapshot!(g.yaml);
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
    let g = generate_and_check("crm.json", None);
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
    let g = generate_and_check("sim.yaml", Some("${env:SIM_BASE_URL}"));
    insta::assert_snapshot!(g.yaml);
    assert_eq!(g.warnings, Vec::<String>::new());
}
