//! [`Object`]: one STIX object version, as received, with typed access on top.

use serde_json::{Map, Value};

use crate::canonical::{canonical_object, content_hash};
use crate::spec::{self, Category};
use crate::timestamp::Timestamp;
use crate::validate::{self, ValidationError};

/// Why a JSON value cannot even be held as a STIX object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("a STIX object must be a JSON object, found {0}")]
    NotAnObject(&'static str),
    #[error("a STIX object needs a string \"type\"")]
    NoType,
    #[error("a STIX object needs a string \"id\"")]
    NoId,
}

/// One version of a STIX object. Every property, known or custom, is kept as received; the
/// accessors read from that JSON rather than from a projection, so nothing is ever dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    map: Map<String, Value>,
}

impl Object {
    /// Wraps a JSON value that has at least a string `type` and `id`. It is not validated: call
    /// [`Object::validate`] for that.
    pub fn from_value(value: Value) -> Result<Object, ObjectError> {
        match value {
            Value::Object(map) => Object::from_map(map),
            other => Err(ObjectError::NotAnObject(validate::json_type(&other))),
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Result<Object, ObjectError> {
        if !map.get("type").is_some_and(Value::is_string) {
            return Err(ObjectError::NoType);
        }
        if !map.get("id").is_some_and(Value::is_string) {
            return Err(ObjectError::NoId);
        }
        Ok(Object { map })
    }

    /// Parses canonical (or any) JSON bytes of one object.
    pub fn from_slice(bytes: &[u8]) -> Result<Object, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        Object::from_value(value).map_err(|e| e.to_string())
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.map)
    }

    pub fn get(&self, property: &str) -> Option<&Value> {
        self.map.get(property)
    }

    pub fn get_str(&self, property: &str) -> Option<&str> {
        self.map.get(property).and_then(Value::as_str)
    }

    pub fn object_type(&self) -> &str {
        self.get_str("type")
            .expect("Object::from_map checked that type is a string")
    }

    pub fn id(&self) -> &str {
        self.get_str("id")
            .expect("Object::from_map checked that id is a string")
    }

    pub fn category(&self) -> Category {
        spec::category_of(self.object_type())
    }

    pub fn created(&self) -> Option<Timestamp> {
        self.get_str("created")
            .and_then(|t| Timestamp::parse(t).ok())
    }

    pub fn modified(&self) -> Option<Timestamp> {
        self.get_str("modified")
            .and_then(|t| Timestamp::parse(t).ok())
    }

    /// The version key of the object: `modified`, else `created` (marking definitions), else
    /// `None` (cyber-observables, which STIX does not version).
    pub fn version(&self) -> Option<Timestamp> {
        self.modified().or_else(|| self.created())
    }

    pub fn created_by_ref(&self) -> Option<&str> {
        self.get_str("created_by_ref")
    }

    pub fn is_revoked(&self) -> bool {
        self.map
            .get("revoked")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn confidence(&self) -> Option<i64> {
        self.map.get("confidence").and_then(Value::as_i64)
    }

    /// The object-level marking definitions.
    pub fn marking_refs(&self) -> impl Iterator<Item = &str> {
        string_list(self.map.get("object_marking_refs"))
    }

    /// Every `*_ref`/`*_refs` edge of the object, with the JSON path it sits at.
    pub fn references(&self) -> Vec<(String, String)> {
        validate::references(&self.map)
    }

    /// Calls `visit` with each edge [`Object::references`] lists, without building the list.
    pub fn visit_references(&self, visit: impl FnMut(&str, &str)) {
        validate::visit_references(&self.map, visit);
    }

    /// Names an analyst may search by: `name`, `aliases`, and the aliases that custom
    /// vocabularies (ATT&CK's `x_mitre_aliases`) carry.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.get_str("name").into_iter().collect();
        for key in ["aliases", "x_mitre_aliases"] {
            names.extend(string_list(self.map.get(key)));
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The timestamped properties an index should cover, as (position in
    /// [`TIME_PROPERTIES`], time).
    pub fn times(&self) -> Vec<(u8, Timestamp)> {
        // One walk over the members rather than a lookup per time property: an object holds
        // two or three of the eleven, and each lookup compared strings down the map.
        let mut times: Vec<(u8, Timestamp)> = self
            .map
            .iter()
            .filter_map(|(name, value)| {
                let code = TIME_PROPERTIES.iter().position(|p| p == name)?;
                let time = Timestamp::parse(value.as_str()?).ok()?;
                Some((code as u8, time))
            })
            .collect();
        times.sort_unstable_by_key(|(code, _)| *code);
        times
    }

    /// Every rule of the specification this object breaks; empty when it is valid.
    pub fn validate(&self) -> Vec<ValidationError> {
        validate::validate(&self.map)
    }

    /// RFC 8785 canonical JSON of this version.
    pub fn canonical_json(&self) -> Vec<u8> {
        canonical_object(&self.map)
    }

    /// Appends the RFC 8785 canonical JSON of this version to `out`, so that a caller who
    /// knows roughly how long it will be (the text it was parsed from) reserves it once.
    pub fn write_canonical_json(&self, out: &mut Vec<u8>) {
        crate::canonical::write_canonical_object(&self.map, out);
    }

    /// SHA-256 over the canonical JSON: the identity of this exact content.
    pub fn content_hash(&self) -> [u8; 32] {
        content_hash(&self.canonical_json())
    }

    /// A typed view of a relationship.
    pub fn as_relationship(&self) -> Option<Relationship<'_>> {
        if self.object_type() != "relationship" {
            return None;
        }
        Some(Relationship {
            relationship_type: self.get_str("relationship_type")?,
            source_ref: self.get_str("source_ref")?,
            target_ref: self.get_str("target_ref")?,
        })
    }

    /// A typed view of a sighting.
    pub fn as_sighting(&self) -> Option<Sighting<'_>> {
        if self.object_type() != "sighting" {
            return None;
        }
        Some(Sighting {
            sighting_of_ref: self.get_str("sighting_of_ref")?,
            observed_data_refs: string_list(self.map.get("observed_data_refs")).collect(),
            where_sighted_refs: string_list(self.map.get("where_sighted_refs")).collect(),
        })
    }
}

/// The top-level time properties of STIX 2.1 objects that stores index. The position of a
/// property in this list is its stable code; append, never reorder.
pub const TIME_PROPERTIES: &[&str] = &[
    "created",
    "modified",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
    "valid_from",
    "valid_until",
    "published",
    "start_time",
    "stop_time",
];

/// The graph-relevant part of a `relationship`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relationship<'a> {
    pub relationship_type: &'a str,
    pub source_ref: &'a str,
    pub target_ref: &'a str,
}

/// The graph-relevant part of a `sighting`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting<'a> {
    pub sighting_of_ref: &'a str,
    pub observed_data_refs: Vec<&'a str>,
    pub where_sighted_refs: Vec<&'a str>,
}

fn string_list(value: Option<&Value>) -> impl Iterator<Item = &str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}
