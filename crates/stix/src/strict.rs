//! JSON read as I-JSON (RFC 7493) requires: no name twice in one object.
//!
//! serde_json keeps the last of two equal names; other readers keep the first. A STIX object
//! that names `created_by_ref` or `object_marking_refs` twice would then mean one thing to this
//! node and another to a partner, and its content hash, over canonical JSON (RFC 8785, which
//! presumes I-JSON), would vouch for only one reading. So such an object is refused, at
//! whatever depth the name repeats.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// A JSON value read with no name twice in any of its objects.
pub struct StrictValue(pub Value);

/// Parses `text` as one JSON value, refusing any object that names a member twice.
pub fn from_str(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str::<StrictValue>(text).map(|strict| strict.0)
}

/// The error for a name met twice in one object; serde_json adds where.
pub fn repeated_name<E: de::Error>(name: &str) -> E {
    E::custom(format_args!(
        "the name {name:?} appears twice in one object (I-JSON, RFC 7493, forbids it: readers \
         disagree on which value counts)"
    ))
}

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StrictValue, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

/// Builds the same `Value` serde_json's own reader builds, but for the repeated name.
struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        StrictValue::deserialize(deserializer).map(|strict| strict.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(StrictValue(value)) = seq.next_element()? {
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            match members.entry(name) {
                Entry::Occupied(held) => return Err(repeated_name(held.key())),
                Entry::Vacant(slot) => {
                    slot.insert(map.next_value::<StrictValue>()?.0);
                }
            }
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        let text = r#"{"a": [1, -2, 3.5, 1e300, "x\u00e9", null, true, {"b": {}}], "c": 18446744073709551615}"#;
        assert_eq!(
            from_str(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn refuses_a_name_twice_at_any_depth() {
        for text in [
            r#"{"name": "a", "name": "b"}"#,
            r#"{"x": [{"name": 1, "name": 1}]}"#,
            r#"{"x": {"y": {"name": null, "z": 0, "name": null}}}"#,
        ] {
            let error = from_str(text).unwrap_err().to_string();
            assert!(
                error.contains(r#"the name "name" appears twice"#),
                "{text}: {error}"
            );
            assert!(error.contains("line 1 column"), "{text}: {error}");
        }
        // The same name in two different objects is fine.
        assert!(from_str(r#"[{"name": 1}, {"name": 2}]"#).is_ok());
    }
}
