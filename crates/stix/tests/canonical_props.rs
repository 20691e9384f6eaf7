//! Property tests: the canonical form ignores member order and survives a round trip, and an
//! object read, written and read again is the same object.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use stix::{Object, canonical};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| Value::Number(Number::from_f64(f).expect("finite"))),
        "\\PC{0,12}".prop_map(Value::String),
        // Control characters, quotes and characters beyond the BMP exercise the escaping.
        prop::collection::vec(
            prop_oneof![
                Just('\u{0}'),
                Just('\u{1f}'),
                Just('"'),
                Just('\\'),
                Just('\u{e000}'),
                Just('😀'),
                Just('a')
            ],
            0..6
        )
        .prop_map(|c| Value::String(c.into_iter().collect())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_😀\u{e000}]{1,6}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Writes JSON text with object members in a given (shuffled) order.
fn write_shuffled(value: &Value, seed: &mut u64, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            // A small deterministic shuffle driven by the seed.
            for i in (1..entries.len()).rev() {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                entries.swap(i, (*seed >> 33) as usize % (i + 1));
            }
            out.push_str("{ ");
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(" ,\n");
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(" : ");
                write_shuffled(v, seed, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_shuffled(v, seed, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

fn stix_object() -> impl Strategy<Value = Value> {
    (
        json_value(),
        "[a-z]{3,10}",
        prop::collection::vec(("x_[a-z_]{3,10}", json_value()), 0..5),
    )
        .prop_map(|(extra, name, custom)| {
            let mut map = Map::new();
            map.insert("type".into(), Value::String("x-tessera-test".into()));
            map.insert(
                "id".into(),
                Value::String("x-tessera-test--4e0b9c54-1f5a-4d6b-9a59-0f5b1e9c3c2a".into()),
            );
            map.insert("name".into(), Value::String(name));
            map.insert("x_payload".into(), extra);
            for (k, v) in custom {
                map.insert(k, v);
            }
            Value::Object(map)
        })
}

/// Equality under JSON's number semantics, which RFC 8785 adopts: `1.0` and `1` are one number
/// (the canonical form writes both as `1`), so only their values are compared.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            x.as_f64() == y.as_f64()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_form_ignores_member_order(value in json_value(), seed in any::<u64>()) {
        let mut seed = seed;
        let mut text = String::new();
        write_shuffled(&value, &mut seed, &mut text);
        let reparsed: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(canonical(&reparsed), canonical(&value));
    }

    #[test]
    fn canonical_form_is_a_fixed_point(value in json_value()) {
        let once = canonical(&value);
        let parsed: Value = serde_json::from_slice(&once).unwrap();
        prop_assert!(same_json(&parsed, &value), "{parsed} != {value}");
        prop_assert_eq!(canonical(&parsed), once);
    }

    #[test]
    fn parse_write_parse_is_the_identity(value in stix_object()) {
        let object = Object::from_value(value.clone()).unwrap();
        let written = object.canonical_json();
        let again = Object::from_slice(&written).unwrap();
        prop_assert_eq!(again.content_hash(), object.content_hash());
        prop_assert_eq!(again.canonical_json(), written);
        let again = again.into_value();
        prop_assert!(same_json(&again, &value), "{again} != {value}");
    }
}
