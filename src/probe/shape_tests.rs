use super::*;
use JsonType::{Array, Boolean, Integer, Null, Number, Object};
use proptest::prelude::*;
use serde_json::{Value, json};
const STR: JsonType = JsonType::String;

fn fs(types: &[JsonType], format: Option<StringFormat>, required: bool) -> FieldShape {
    FieldShape {
        types: types.iter().copied().collect(),
        format,
        required,
    }
}

fn flat(samples: &[Value]) -> Vec<(String, FieldShape)> {
    let mut shape = Shape::empty();
    for s in samples {
        shape = shape.merge(&infer(s).expect("shallow sample"));
    }
    shape.flatten().into_iter().collect()
}

fn entry(path: &str, f: FieldShape) -> (String, FieldShape) {
    (path.to_owned(), f)
}

#[test]
fn infers_every_scalar_type() {
    let v = json!({"n": null, "b": true, "i": -3, "u": u64::MAX, "f": 1.5, "s": "x"});
    assert_eq!(
        flat(&[v]),
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("$.b", fs(&[Boolean], None, true)),
            entry("$.f", fs(&[Number], None, true)),
            entry("$.i", fs(&[Integer], None, true)),
            entry("$.n", fs(&[Null], None, true)),
            entry("$.s", fs(&[STR], None, true)),
            entry("$.u", fs(&[Integer], None, true)),
        ]
    );
}

#[test]
fn detects_each_format() {
    use StringFormat as F;
    let cases = [
        ("2024-05-01T12:30:00Z", Some(F::DateTime)),
        ("2024-05-01T12:30:00.123+02:00", Some(F::DateTime)),
        ("2024-05-01", Some(F::Date)),
        ("2024-02-30", None),
        ("+2024-05-01", None),
        ("https://api.example.com/v1/x?y=1", Some(F::Uri)),
        ("http://localhost:8080/", Some(F::Uri)),
        ("urn:isbn:0451450523", Some(F::Uri)),
        ("ftp://example.com/file", None),
        ("\u{1}HTTPS://Example.com", Some(F::Uri)),
        ("URN:isbn:1", Some(F::Uri)),
        ("tok:x", None),
        ("httpx://e.com", None),
        ("/relative/path", None),
        ("ada@example.com", Some(F::Email)),
        ("ada @example.com", None),
        ("ada@localhost", None),
        ("123e4567-e89b-12d3-a456-426614174000", Some(F::Uuid)),
        ("123e4567-e89b-12d3-a456-42661417400g", None),
        // Opaque cursors and ids must not look like anything.
        ("eyJpZCI6MTIzLCJ0cyI6MTcwMDAwMDAwMH0=", None),
        ("dGhpcyBpcyBhIGN1cnNvcg", None),
        ("aGVsbG8_d29ybGQ-", None),
        ("tok_3f9a7cQx", None),
        ("", None),
    ];
    for (s, want) in cases {
        assert_eq!(StringFormat::detect(s), want, "{s:?}");
    }
}

#[test]
fn format_is_reported_only_when_all_strings_share_it() {
    let same = flat(&[json!("2024-05-01"), json!("2023-01-31")]);
    assert_eq!(
        same,
        vec![entry("$", fs(&[STR], Some(StringFormat::Date), true))]
    );
    let mixed = flat(&[json!("2024-05-01"), json!("soon")]);
    assert_eq!(mixed, vec![entry("$", fs(&[STR], None, true))]);
    // null samples do not dilute the format
    let nullable = flat(&[json!("ada@example.com"), json!(null)]);
    assert_eq!(
        nullable,
        vec![entry(
            "$",
            fs(&[Null, STR], Some(StringFormat::Email), true)
        )]
    );
}

#[test]
fn requiredness_across_samples() {
    let got = flat(&[
        json!({"a": 1, "b": "x"}),
        json!({"a": 2}),
        json!({"a": 3, "c": null}),
    ]);
    assert_eq!(
        got,
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("$.a", fs(&[Integer], None, true)),
            entry("$.b", fs(&[STR], None, false)),
            entry("$.c", fs(&[Null], None, false)),
        ]
    );
}

#[test]
fn absent_parent_does_not_make_children_optional() {
    let got = flat(&[
        json!({"p": {"x": 1}}),
        json!({"p": null}),
        json!({"p": {"x": 2.5}}),
    ]);
    assert_eq!(
        got,
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("$.p", fs(&[Null, Object], None, true)),
            entry("$.p.x", fs(&[Number], None, true)),
        ]
    );
}

#[test]
fn arrays_of_mixed_objects_merge_items() {
    let v = json!({"data": [{"id": 1, "n": "a"}, {"id": 2}, {"id": 3, "n": null}], "empty": []});
    assert_eq!(
        flat(&[v]),
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("$.data", fs(&[Array], None, true)),
            entry("$.data[]", fs(&[Object], None, true)),
            entry("$.data[].id", fs(&[Integer], None, true)),
            entry("$.data[].n", fs(&[Null, STR], None, false)),
            entry("$.empty", fs(&[Array], None, true)),
        ]
    );
}

#[test]
fn odd_keys_are_bracketed_and_escaped() {
    let v = json!({"odd key": 1, "it's": 2, "_ok1": 3, "1a": 4, "": 5});
    let paths: Vec<std::string::String> = flat(&[v]).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            "$",
            "$._ok1",
            "$['']",
            "$['1a']",
            "$['it\\'s']",
            "$['odd key']"
        ]
    );
}

#[test]
fn to_body_is_the_flattened_map() {
    let shape = infer(&json!({"at": "2024-05-01T00:00:00Z", "tags": ["a"]})).expect("shallow");
    assert_eq!(
        shape.to_body(),
        json!({
            "$": {"required": true, "types": ["object"]},
            "$.at": {"format": "date-time", "required": true, "types": ["string"]},
            "$.tags": {"required": true, "types": ["array"]},
            "$.tags[]": {"required": true, "types": ["string"]},
        })
    );
    let field: FieldShape =
        serde_json::from_value(shape.to_body()["$.at"].clone()).expect("descriptor");
    assert_eq!(field, fs(&[STR], Some(StringFormat::DateTime), true));
}

fn nested_arrays(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = Value::Array(vec![v]);
    }
    v
}

/// Unwraps one level at a time, so dropping a very deep value never recurses.
fn drop_iteratively(mut v: Value) {
    while let Value::Array(mut items) = v {
        v = items.pop().unwrap_or(Value::Null);
    }
}

#[test]
fn depth_limit_is_exact() {
    let ok = nested_arrays(MAX_DEPTH);
    assert!(infer(&ok).is_ok());
    drop_iteratively(ok);
    let deep = nested_arrays(MAX_DEPTH + 1);
    let err = infer(&deep).expect_err("too deep");
    drop_iteratively(deep);
    let path = format!("${}", "[]".repeat(MAX_DEPTH));
    assert_eq!(
        err,
        ShapeError::TooDeep {
            max: MAX_DEPTH,
            path: path.clone()
        }
    );
    assert_eq!(
        err.to_string(),
        format!("json nested deeper than 128 levels at {path}")
    );
}

#[test]
fn depth_100_000_is_an_error_not_an_overflow() {
    let mut v = json!(null);
    for _ in 0..100_000 {
        let mut m = serde_json::Map::new();
        m.insert("a".into(), v);
        v = Value::Object(m);
    }
    let err = infer(&v).expect_err("too deep");
    assert_eq!(
        err,
        ShapeError::TooDeep {
            max: MAX_DEPTH,
            path: format!("${}", ".a".repeat(MAX_DEPTH))
        }
    );
    while let Value::Object(mut m) = v {
        v = m.remove("a").unwrap_or(Value::Null);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|i| json!(i)),
        (-1000.0f64..1000.0).prop_map(|f| json!(f + 0.5)),
        prop::sample::select(vec![
            "",
            "x",
            "2024-05-01",
            "a@b.io",
            "https://e.com",
            "eyJhIjoxfQ=="
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), inner, 0..3)
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
        ]
    })
}

proptest! {
    #[test]
    fn merge_is_commutative_associative_with_identity(a in json_value(), b in json_value(), c in json_value()) {
        let (a, b, c) = (infer(&a).unwrap(), infer(&b).unwrap(), infer(&c).unwrap());
        prop_assert_eq!(a.merge(&b), b.merge(&a));
        prop_assert_eq!(a.merge(&b).merge(&c), a.merge(&b.merge(&c)));
        prop_assert_eq!(a.merge(&Shape::empty()), a.clone());
        prop_assert_eq!(Shape::empty().merge(&a), a.clone());
        // Idempotent up to sample counts: the same samples twice describe the same shape.
        prop_assert_eq!(a.merge(&a).flatten(), a.flatten());
    }
}

/// Richer JSON than `json_value`: every number kind, format-bearing and odd strings, odd keys.
/// Shared with the snapshot round-trip properties.
pub(crate) fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>()
            .prop_filter("json has no nan or infinity", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "2024-05-01T12:30:00Z",
            "2024-05-01",
            "123e4567-e89b-12d3-a456-426614174000",
            "https://api.example.com/v1",
            "urn:isbn:1",
            "a@b.io",
        ])
        .prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec!["a", "b", "id", "odd key", "it's", ""])
                        .prop_map(str::to_owned),
                    ".{0,4}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn merge_laws_hold_for_any_json(a in any_json(), b in any_json(), c in any_json()) {
        let (a, b, c) = (infer(&a).unwrap(), infer(&b).unwrap(), infer(&c).unwrap());
        prop_assert_eq!(a.merge(&b), b.merge(&a));
        prop_assert_eq!(a.merge(&b).merge(&c), a.merge(&b.merge(&c)));
        let mut in_place = a.clone();
        in_place.merge_from(b.clone());
        prop_assert_eq!(&in_place, &a.merge(&b));
        in_place.merge_from(c.clone());
        prop_assert_eq!(in_place, a.merge(&b).merge(&c));
    }

    #[test]
    fn streaming_inference_equals_parse_then_infer(v in any_json(), pretty in any::<bool>()) {
        let bytes = if pretty {
            serde_json::to_vec_pretty(&v).unwrap()
        } else {
            serde_json::to_vec(&v).unwrap()
        };
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(infer_slice(&bytes).unwrap(), infer(&parsed).unwrap());
    }

    #[test]
    fn streaming_inference_fails_like_parsing(bytes in prop::collection::vec(
        prop::sample::select(b"{}[],:\" \\0123456789.eE+-truefalsnul\xc3\xa9\xff".to_vec()), 0..40,
    )) {
        match (serde_json::from_slice::<Value>(&bytes), infer_slice(&bytes)) {
            (Ok(v), Ok(s)) => prop_assert_eq!(infer(&v).unwrap(), s),
            (Err(e), Err(InferError::Json(s))) => prop_assert_eq!(e.to_string(), s.to_string()),
            (p, s) => prop_assert!(false, "parse {:?} vs stream {:?}", p, s),
        }
    }
}

#[test]
fn merge_from_follows_the_optionality_rules() {
    let mut shape = infer(&json!({"a": 1, "p": {"x": 1}})).unwrap();
    shape.merge_from(infer(&json!({"b": "2024-05-01", "p": null})).unwrap());
    shape.merge_from(Shape::empty());
    shape.merge_from(infer(&json!([{"c": []}])).unwrap());
    assert_eq!(
        shape.flatten().into_iter().collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Array, Object], None, true)),
            entry("$.a", fs(&[Integer], None, false)),
            entry("$.b", fs(&[STR], Some(StringFormat::Date), false)),
            entry("$.p", fs(&[Null, Object], None, true)),
            entry("$.p.x", fs(&[Integer], None, true)),
            entry("$[]", fs(&[Object], None, true)),
            entry("$[].c", fs(&[Array], None, true)),
        ]
    );
}

#[test]
fn streaming_reads_duplicate_keys_and_raw_values_like_serde_json() {
    let dup = br#"{"a": 1, "a": "x"}"#;
    assert_eq!(
        infer_slice(dup)
            .unwrap()
            .flatten()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("$.a", fs(&[STR], None, true)),
        ]
    );
    // serde_json's raw-value token: `Value` parses the member's string as the document.
    let raw = br#"{"$serde_json::private::RawValue": "[\"2024-05-01\"]"}"#;
    let expected = infer(&serde_json::from_slice(raw).unwrap()).unwrap();
    assert_eq!(infer_slice(raw).unwrap(), expected);
    assert_eq!(
        expected.flatten().into_iter().collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Array], None, true)),
            entry("$[]", fs(&[STR], Some(StringFormat::Date), true)),
        ]
    );
    let bad = br#"{"$serde_json::private::RawValue": 5}"#;
    assert_eq!(
        infer_slice(bad).unwrap_err().to_string(),
        serde_json::from_slice::<Value>(bad)
            .unwrap_err()
            .to_string()
    );
}

#[test]
fn streaming_errors_are_serde_jsons() {
    for bad in [
        &b""[..],
        b"{",
        b"[1,]",
        b"{\"a\" 1}",
        b"1 2",
        b"\"\xff\"",
        b"nul",
    ] {
        let want = serde_json::from_slice::<Value>(bad)
            .unwrap_err()
            .to_string();
        match infer_slice(bad) {
            Err(InferError::Json(e)) => assert_eq!(e.to_string(), want),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    // serde_json stops at 128 open containers, before MAX_DEPTH; the error is the parser's.
    let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
    let err = infer_slice(deep.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "recursion limit exceeded at line 1 column 128"
    );
    let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
    assert_eq!(
        infer_slice(ok.as_bytes()).unwrap(),
        infer(&serde_json::from_str(&ok).unwrap()).unwrap()
    );
}

#[test]
fn streaming_depth_limit_matches_infer_on_unbounded_input() {
    // `&Value` deserialises without serde_json's recursion limit, so MAX_DEPTH is what stops it.
    let ok = nested_arrays(MAX_DEPTH);
    assert_eq!(stream::infer_from(&ok).unwrap(), infer(&ok).unwrap());
    drop_iteratively(ok);
    let mut deep = json!(1);
    for i in 0..MAX_DEPTH + 1 {
        deep = if i % 2 == 0 {
            Value::Array(vec![deep])
        } else {
            json!({ "k y": deep })
        };
    }
    let want = infer(&deep).unwrap_err();
    match stream::infer_from(&deep) {
        Err(InferError::Shape(got)) => assert_eq!(got, want),
        other => panic!("{other:?}"),
    }
    assert!(
        want.to_string()
            .starts_with("json nested deeper than 128 levels at $[]['k y'][]")
    );
}

/// `is_uri` before the cheap scheme check: the check must never change an answer.
fn is_uri_by_parsing_only(s: &str) -> bool {
    !s.chars().any(|c| c.is_whitespace())
        && url::Url::parse(s).is_ok_and(|u| match u.scheme() {
            "http" | "https" => u.host_str().is_some_and(|h| !h.is_empty()),
            "urn" => !u.path().is_empty(),
            _ => false,
        })
}

proptest! {
    #[test]
    fn scheme_check_never_changes_is_uri(
        s in "[\\x00-\\x20]{0,2}(?i:https?|urn|ftp|x)?[:/]{0,3}[a-z0-9.:/@\\[\\]%\\x00-\\x20-]{0,10}"
    ) {
        prop_assert_eq!(is_uri(&s), is_uri_by_parsing_only(&s));
    }
}

/// JSON has one number type (issue 13): integer is a subtype of number, so the merged type of
/// whole and fractional samples is `number`, never `integer | number`, on both inference paths.
#[test]
fn integer_merged_with_number_is_number() {
    let mixed = br#"{"total": [1204, 1204.35, 7], "n": [1, 2], "x": [1.5], "m": [1, "a", 2.5]}"#;
    let want = vec![
        entry("$", fs(&[Object], None, true)),
        entry("$.m", fs(&[Array], None, true)),
        entry("$.m[]", fs(&[Number, STR], None, true)),
        entry("$.n", fs(&[Array], None, true)),
        entry("$.n[]", fs(&[Integer], None, true)),
        entry("$.total", fs(&[Array], None, true)),
        entry("$.total[]", fs(&[Number], None, true)),
        entry("$.x", fs(&[Array], None, true)),
        entry("$.x[]", fs(&[Number], None, true)),
    ];
    let streamed = infer_slice(mixed).unwrap();
    let parsed = infer(&serde_json::from_slice(mixed).unwrap()).unwrap();
    assert_eq!(streamed, parsed);
    assert_eq!(streamed.flatten().into_iter().collect::<Vec<_>>(), want);
    // Across samples (pages, connections) too, in either order and in place.
    let whole = infer(&json!({"total": 1204})).unwrap();
    let fraction = infer(&json!({"total": 1204.35})).unwrap();
    let number = vec![
        entry("$", fs(&[Object], None, true)),
        entry("$.total", fs(&[Number], None, true)),
    ];
    assert_eq!(
        whole
            .merge(&fraction)
            .flatten()
            .into_iter()
            .collect::<Vec<_>>(),
        number
    );
    assert_eq!(
        fraction
            .merge(&whole)
            .flatten()
            .into_iter()
            .collect::<Vec<_>>(),
        number
    );
    let mut in_place = whole.clone();
    in_place.merge_from(fraction.clone());
    assert_eq!(in_place, whole.merge(&fraction));
    assert_eq!(
        in_place.to_body()["$.total"],
        json!({"required": true, "types": ["number"]})
    );
}

/// A shape deserialised from an older `integer | number` body flattens to `number`.
#[test]
fn deserialised_integer_or_number_flattens_to_number() {
    let shape: Shape =
        serde_json::from_value(json!({"types": ["integer", "null", "number"]})).unwrap();
    assert_eq!(
        shape.flatten().into_iter().collect::<Vec<_>>(),
        vec![entry("$", fs(&[Null, Number], None, true))]
    );
}

/// One numeric field seen whole or fractional, in any mix.
fn numeric_mix() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        prop_oneof![
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            (-1.0e9f64..1.0e9)
                .prop_filter("has a fraction", |f| f.fract() != 0.0)
                .prop_map(|f| json!(f)),
        ],
        1..12,
    )
}

proptest! {
    /// Both inference paths agree on numeric mixes, and the item type is `integer` exactly when
    /// every value is whole, `number` otherwise (never both).
    #[test]
    fn numeric_mixes_infer_integer_or_number_on_both_paths(values in numeric_mix()) {
        let doc = json!({"total": values.clone()});
        let bytes = serde_json::to_vec(&doc).unwrap();
        let streamed = infer_slice(&bytes).unwrap();
        prop_assert_eq!(&streamed, &infer(&doc).unwrap());
        let all_whole = values.iter().all(|v| v.is_i64() || v.is_u64());
        let want = if all_whole { Integer } else { Number };
        let flat = streamed.flatten();
        prop_assert_eq!(&flat["$.total[]"].types, &BTreeSet::from([want]));
    }
}

/// `{"k0": v, "k1": v, …}` with `n` keys starting at `from`.
fn keyed(from: usize, n: usize, v: &Value) -> Value {
    Value::Object(
        (from..from + n)
            .map(|i| (format!("k{i}"), v.clone()))
            .collect(),
    )
}

/// Issue 15: an object keeps up to `MAP_KEY_LIMIT` keys as named fields; one more and it is a
/// map whose values merge into one shape under `{}`, on both inference paths.
#[test]
fn map_shape_folds_past_the_key_limit() {
    let at_limit = keyed(0, MAP_KEY_LIMIT, &json!(1));
    let shape = infer(&at_limit).unwrap();
    assert!(!shape.is_map());
    assert_eq!(shape.flatten().len(), MAP_KEY_LIMIT + 1);
    let past = keyed(0, MAP_KEY_LIMIT + 1, &json!({"amount": 1, "note": "x"}));
    let streamed = infer_slice(&serde_json::to_vec(&past).unwrap()).unwrap();
    assert_eq!(streamed, infer(&past).unwrap());
    assert!(streamed.is_map());
    assert_eq!(
        streamed.flatten().into_iter().collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("${}", fs(&[Object], None, true)),
            entry("${}.amount", fs(&[Integer], None, true)),
            entry("${}.note", fs(&[STR], None, true)),
        ]
    );
    // Values that differ between keys merge like array items: optional fields, joined types.
    let mut m = serde_json::Map::new();
    for i in 0..=MAP_KEY_LIMIT {
        let v = if i % 2 == 0 {
            json!({"amount": 1})
        } else {
            json!({"amount": 2.5, "tax": null})
        };
        m.insert(format!("id_{i}"), v);
    }
    let doc = json!({"by_id": Value::Object(m)});
    let streamed = infer_slice(&serde_json::to_vec(&doc).unwrap()).unwrap();
    assert_eq!(streamed, infer(&doc).unwrap());
    assert_eq!(
        streamed.flatten().into_iter().collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("$.by_id", fs(&[Object], None, true)),
            entry("$.by_id{}", fs(&[Object], None, true)),
            entry("$.by_id{}.amount", fs(&[Number], None, true)),
            entry("$.by_id{}.tax", fs(&[Null], None, false)),
        ]
    );
}

/// The merged objects of an array (or of pages and connections) fold the same way, and once a
/// map, every later object's keys merge into its value shape.
#[test]
fn map_shape_folds_merged_objects() {
    let half = MAP_KEY_LIMIT / 2 + 1;
    let a = infer(&keyed(0, half, &json!(1))).unwrap();
    let b = infer(&keyed(half, half, &json!("x"))).unwrap();
    assert!(!a.is_map() && !b.is_map());
    let merged = a.merge(&b);
    assert!(merged.is_map());
    assert_eq!(
        merged.flatten().into_iter().collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("${}", fs(&[Integer, STR], None, true)),
        ]
    );
    // A later object with a few named keys, or null, changes only the value shape or types.
    let later = merged.merge(&infer(&json!({"k1": 2.5, "k99999": true})).unwrap());
    assert_eq!(
        later.flatten().into_iter().collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Object], None, true)),
            entry("${}", fs(&[Boolean, Number, STR], None, true)),
        ]
    );
    assert_eq!(
        merged.merge(&infer(&json!(null)).unwrap()).flatten()["$"].types,
        BTreeSet::from([Null, Object])
    );
}

/// Issue 15: `[{"f0":1},{"f1":1},…]` with 20,000 distinct keys took over 120 s; it must infer in
/// under 2 s on a debug build, on both paths.
#[test]
fn twenty_thousand_distinct_key_items_infer_in_under_two_seconds() {
    let mut body = String::from("[");
    for i in 0..20_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!("{{\"f{i}\":1}}"));
    }
    body.push(']');
    let start = std::time::Instant::now();
    let streamed = infer_slice(body.as_bytes()).unwrap();
    let streaming = start.elapsed();
    let start = std::time::Instant::now();
    let value: Value = serde_json::from_str(&body).unwrap();
    let walked = infer(&value).unwrap();
    let value_path = start.elapsed();
    assert_eq!(streamed, walked);
    assert_eq!(
        streamed.flatten().into_iter().collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Array], None, true)),
            entry("$[]", fs(&[Object], None, true)),
            entry("$[]{}", fs(&[Integer], None, true)),
        ]
    );
    assert!(
        streaming < std::time::Duration::from_secs(2),
        "infer_slice took {streaming:?}"
    );
    assert!(
        value_path < std::time::Duration::from_secs(2),
        "parse + infer took {value_path:?}"
    );
}

/// Objects with many keys from overlapping ranges, so unions cross the map limit.
fn wide_object() -> impl Strategy<Value = Value> {
    (
        0usize..1200,
        0usize..700,
        prop_oneof![
            Just(json!(1)),
            Just(json!(2.5)),
            Just(json!("s")),
            Just(json!({"x": null}))
        ],
    )
        .prop_map(|(from, n, v)| keyed(from, n, &v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Folding into maps keeps merge commutative and associative, in place and not, and the
    /// streaming path equal to the Value walker.
    #[test]
    fn map_folding_keeps_the_merge_laws(a in wide_object(), b in wide_object(), c in wide_object()) {
        for v in [&a, &b, &c] {
            prop_assert_eq!(infer_slice(&serde_json::to_vec(v).unwrap()).unwrap(), infer(v).unwrap());
        }
        let (a, b, c) = (infer(&a).unwrap(), infer(&b).unwrap(), infer(&c).unwrap());
        prop_assert_eq!(a.merge(&b), b.merge(&a));
        prop_assert_eq!(a.merge(&b).merge(&c), a.merge(&b.merge(&c)));
        let mut in_place = a.clone();
        in_place.merge_from(b.clone());
        in_place.merge_from(c.clone());
        prop_assert_eq!(in_place, a.merge(&b).merge(&c));
    }
}

/// The `shape_infer` fuzz target's invariants hold past the map limit, repeated keys included.
#[test]
fn fuzz_shape_infer_invariants_hold_for_map_sized_objects() {
    let wide = serde_json::to_vec(&keyed(0, MAP_KEY_LIMIT + 1, &json!(1))).unwrap();
    crate::fuzzing::shape_infer(&wide);
    // `"k0"` again after the fold: `Value` keeps the last value only, streaming merged both.
    let mut repeated = wide.clone();
    repeated.pop();
    repeated.extend_from_slice(br#","k0":"x"}"#);
    crate::fuzzing::shape_infer(&repeated);
    // `"k0":"x"` first, `"k0":1` again after the fold: `Value` keeps only the 1, while streaming
    // already merged the "x" into the map's value shape (the documented exception).
    let rest = serde_json::to_vec(&keyed(1, MAP_KEY_LIMIT, &json!(1))).unwrap();
    let mut first = br#"{"k0":"x","#.to_vec();
    first.extend_from_slice(&rest[1..rest.len() - 1]);
    first.extend_from_slice(br#","k0":1}"#);
    let streamed = infer_slice(&first).unwrap();
    let parsed = infer(&serde_json::from_slice(&first).unwrap()).unwrap();
    assert_eq!(parsed.flatten()["${}"].types, BTreeSet::from([Integer]));
    assert_eq!(
        streamed.flatten()["${}"].types,
        BTreeSet::from([Integer, STR])
    );
    crate::fuzzing::shape_infer(&first);
    crate::fuzzing::shape_infer(br#"{"a": [1, 2.5, {"b": null}], "a": 3}"#);
}

/// A key repeated inside one array item (not a map) counts once with its last value on the
/// streaming path too: it falls back to parse + infer instead of merging both values.
#[test]
fn repeated_key_inside_an_array_item_keeps_the_last_value() {
    let dup = br#"[{"a": 1, "b": true}, {"a": 2, "a": "x"}]"#;
    let streamed = infer_slice(dup).unwrap();
    assert_eq!(
        streamed,
        infer(&serde_json::from_slice(dup).unwrap()).unwrap()
    );
    assert_eq!(
        streamed.flatten().into_iter().collect::<Vec<_>>(),
        vec![
            entry("$", fs(&[Array], None, true)),
            entry("$[]", fs(&[Object], None, true)),
            entry("$[].a", fs(&[Integer, STR], None, true)),
            entry("$[].b", fs(&[Boolean], None, false)),
        ]
    );
}

/// Stored shapes read and write exactly as the sets they replaced: sorted type names, formats
/// with `null` for "no format" first.
#[test]
fn shape_serialises_types_and_formats_as_sorted_lists() {
    let shape = infer(&json!(["2024-05-01", "x", 1, 2.5, null])).unwrap();
    let stored = serde_json::to_value(&shape).unwrap();
    assert_eq!(
        stored,
        json!({"types": ["array"], "items": {"types": ["null", "number", "string"], "formats": [null, "date"]}})
    );
    let back: Shape = serde_json::from_value(stored).unwrap();
    assert_eq!(back, shape);
}

/// An object text with `keys` in the given order, each value `value`.
fn object_text(keys: &[String], value: &str) -> String {
    let members: Vec<String> = keys.iter().map(|k| format!("\"{k}\":{value}")).collect();
    format!("{{{}}}", members.join(","))
}

#[test]
fn field_order_never_matters_below_and_above_the_sorted_index() {
    // Fields are kept in first-seen order with a cursor, and a sorted index from 16 keys on:
    // samples whose keys come in other orders, with one missing and one added, must give the
    // shape `Value` (sorted keys) gives, stored sorted.
    for n in [3, 15, 16, 17, 40] {
        let keys: Vec<String> = (0..n).map(|i| format!("k{i:02}")).collect();
        let ascending = object_text(&keys, "1");
        let mut descending: Vec<String> = keys[1..].to_vec();
        descending.reverse();
        descending.push("zz".to_owned());
        let descending = object_text(&descending, "\"x\"");
        let mut rotated = keys.clone();
        rotated.rotate_left(n / 2);
        let rotated = object_text(&rotated, "null");
        let body = format!("[{ascending},{descending},{rotated}]");
        let streamed = infer_slice(body.as_bytes()).unwrap();
        let parsed = infer(&serde_json::from_str(&body).unwrap()).unwrap();
        assert_eq!(streamed, parsed, "{n} keys");
        let stored = serde_json::to_string(&streamed).unwrap();
        assert_eq!(stored, serde_json::to_string(&parsed).unwrap(), "{n} keys");
        let back: Shape = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, streamed);
        assert_eq!(serde_json::to_string(&back).unwrap(), stored);
        let flat = streamed.flatten();
        assert_eq!(flat.len(), n + 3, "{n} keys: $, $[], every key and zz");
        assert_eq!(flat["$[].k00"], fs(&[Integer, Null], None, false));
        assert_eq!(flat["$[].k01"], fs(&[Null, Integer, STR], None, true));
        assert_eq!(flat["$[].zz"], fs(&[STR], None, false));
        // A key repeated inside a wide object: the last value wins, as in `Value`.
        let mut repeated = keys.clone();
        repeated.push("k01".to_owned());
        let mut text = object_text(&repeated, "true");
        text = text.replacen("\"k01\":true", "\"k01\":2", 1);
        let streamed = infer_slice(text.as_bytes()).unwrap();
        assert_eq!(
            streamed,
            infer(&serde_json::from_str(&text).unwrap()).unwrap()
        );
        assert_eq!(streamed.flatten()["$.k01"], fs(&[Boolean], None, true));
    }
}
