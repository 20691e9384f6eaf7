//! Typed builders for the STIX objects this crate emits besides incidents: threat actors,
//! identities, locations and relationships.
//!
//! Every builder validates what it produces with [`stix::validate::validate`] and refuses to hand
//! out an invalid object: an importer that emitted one would push the problem onto every node
//! that receives it.

use serde_json::{Map, Value, json};
use stix::{Object, Timestamp, ValidationError};

/// Why an object could not be built: it would break these STIX rules.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the {object_type} would be invalid STIX: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct BuildError {
    pub object_type: String,
    pub errors: Vec<ValidationError>,
}

/// The properties that every object a producer creates in one go shares: when, by whom, and
/// under which markings.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// `created` and `modified` of each new object. Pass the source's own release time for an
    /// import (e.g. the dataset's publication date): re-importing the same file then yields the
    /// very same object versions.
    pub created: Timestamp,
    /// The identity that creates the objects (the importing node or analyst).
    pub created_by_ref: Option<String>,
    /// Object-level markings (TLP and others) to put on every object.
    pub object_marking_refs: Vec<String>,
}

impl Provenance {
    /// Provenance with a creator and no markings.
    pub fn new(created: Timestamp, created_by_ref: impl Into<String>) -> Provenance {
        Provenance {
            created,
            created_by_ref: Some(created_by_ref.into()),
            object_marking_refs: Vec::new(),
        }
    }

    /// The same provenance with one more marking.
    pub fn with_marking(mut self, marking_ref: impl Into<String>) -> Provenance {
        self.object_marking_refs.push(marking_ref.into());
        self
    }

    /// The common properties, with the timestamp text computed once: importers stamp thousands
    /// of objects with one provenance.
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp {
            created: Value::String(stix_timestamp(self.created)),
            created_by_ref: self.created_by_ref.clone().map(Value::String),
            object_marking_refs: (!self.object_marking_refs.is_empty())
                .then(|| json!(self.object_marking_refs)),
        }
    }
}

/// [`Provenance`] as ready-made JSON values.
pub(crate) struct Stamp {
    created: Value,
    created_by_ref: Option<Value>,
    object_marking_refs: Option<Value>,
}

impl Stamp {
    /// The common properties of an SDO or SRO: type, spec_version, id, created, modified,
    /// created_by_ref and object_marking_refs.
    pub(crate) fn base(&self, object_type: &str, id: &str) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("type".into(), Value::String(object_type.into()));
        map.insert("spec_version".into(), Value::String("2.1".into()));
        map.insert("id".into(), Value::String(id.into()));
        map.insert("created".into(), self.created.clone());
        map.insert("modified".into(), self.created.clone());
        if let Some(creator) = &self.created_by_ref {
            map.insert("created_by_ref".into(), creator.clone());
        }
        if let Some(markings) = &self.object_marking_refs {
            map.insert("object_marking_refs".into(), markings.clone());
        }
        map
    }
}

/// A STIX timestamp text with at least millisecond precision, which `created` and `modified`
/// require; a caller's timestamp written to the second is padded rather than rejected.
pub(crate) fn stix_timestamp(time: Timestamp) -> String {
    Timestamp {
        fraction_digits: time.fraction_digits.max(3),
        ..time
    }
    .to_string()
}

/// Wraps an object this crate generated from checked parts, which is valid by construction:
/// debug builds (and so every test) still validate it; release builds skip the validator, the
/// largest cost of a bulk import after allocation.
pub(crate) fn finish_generated(map: Map<String, Value>) -> Object {
    debug_assert_eq!(
        stix::validate::validate(&map),
        vec![],
        "a generated object must be valid"
    );
    Object::from_map(map).expect("a generated object has a type and an id")
}

/// Validates a finished object and wraps it.
pub(crate) fn finish(map: Map<String, Value>) -> Result<Object, BuildError> {
    let errors = stix::validate::validate(&map);
    let object_type = map
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object")
        .to_string();
    if !errors.is_empty() {
        return Err(BuildError {
            object_type,
            errors,
        });
    }
    Object::from_map(map).map_err(|e| BuildError {
        object_type,
        errors: vec![ValidationError {
            object_id: None,
            path: String::new(),
            rule: stix::Rule::RequiredProperty,
            message: e.to_string(),
        }],
    })
}

/// A STIX external reference: where a statement comes from, and under which licence.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ExternalReference {
    pub source_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl ExternalReference {
    /// A reference to a named source.
    ///
    /// ```
    /// use incident::ExternalReference;
    /// let reference = ExternalReference::new("UCDP GED 23.1")
    ///     .with_description("UCDP Georeferenced Event Dataset 23.1, CC BY 4.0")
    ///     .with_external_id("300380");
    /// assert_eq!(reference.external_id.as_deref(), Some("300380"));
    /// ```
    pub fn new(source_name: impl Into<String>) -> ExternalReference {
        ExternalReference {
            source_name: source_name.into(),
            ..ExternalReference::default()
        }
    }

    /// The same reference with a description (what the source says, its licence).
    pub fn with_description(mut self, description: impl Into<String>) -> ExternalReference {
        self.description = Some(description.into());
        self
    }

    /// The same reference with the URL of the page or dataset.
    pub fn with_url(mut self, url: impl Into<String>) -> ExternalReference {
        self.url = Some(url.into());
        self
    }

    /// The same reference with the source's own identifier for the thing referred to.
    pub fn with_external_id(mut self, external_id: impl Into<String>) -> ExternalReference {
        self.external_id = Some(external_id.into());
        self
    }

    pub(crate) fn to_value(&self) -> Value {
        // Built by hand rather than through serde: importers write one per object.
        let mut map = Map::new();
        map.insert(
            "source_name".into(),
            Value::String(self.source_name.clone()),
        );
        for (key, value) in [
            ("description", &self.description),
            ("url", &self.url),
            ("external_id", &self.external_id),
        ] {
            if let Some(text) = value {
                map.insert(key.into(), Value::String(text.clone()));
            }
        }
        Value::Object(map)
    }
}

fn insert_optional(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(text) = value {
        map.insert(key.into(), Value::String(text.into()));
    }
}

fn insert_list(map: &mut Map<String, Value>, key: &str, values: &[String]) {
    if !values.is_empty() {
        map.insert(key.into(), json!(values));
    }
}

fn insert_references(map: &mut Map<String, Value>, references: &[ExternalReference]) {
    if !references.is_empty() {
        map.insert(
            "external_references".into(),
            Value::Array(references.iter().map(ExternalReference::to_value).collect()),
        );
    }
}

/// A `threat-actor`: a group, with the names it is known by.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ThreatActor {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub description: Option<String>,
    /// STIX `threat-actor-type-ov` values, e.g. `terrorist`.
    pub threat_actor_types: Vec<String>,
    pub confidence: Option<u8>,
    pub external_references: Vec<ExternalReference>,
}

impl ThreatActor {
    /// Builds the STIX object, validated; an object that would break a STIX rule is refused.
    pub fn build(&self, provenance: &Provenance) -> Result<Object, BuildError> {
        self.build_stamped(&provenance.stamp())
    }

    pub(crate) fn build_stamped(&self, stamp: &Stamp) -> Result<Object, BuildError> {
        let mut map = stamp.base("threat-actor", &self.id);
        map.insert("name".into(), Value::String(self.name.clone()));
        insert_optional(&mut map, "description", self.description.as_deref());
        insert_list(&mut map, "threat_actor_types", &self.threat_actor_types);
        insert_list(&mut map, "aliases", &self.aliases);
        if let Some(confidence) = self.confidence {
            map.insert("confidence".into(), json!(confidence));
        }
        insert_references(&mut map, &self.external_references);
        finish(map)
    }
}

/// An `identity`: a government, an organisation, or a class of people (e.g. civilians) that an
/// incident involves or targets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Identity {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// STIX `identity-class-ov`: `individual`, `group`, `system`, `organization`, `class`, ...
    pub identity_class: Option<String>,
    /// STIX `industry-sector-ov` values.
    pub sectors: Vec<String>,
    pub external_references: Vec<ExternalReference>,
}

impl Identity {
    /// Builds the STIX object, validated; an object that would break a STIX rule is refused.
    pub fn build(&self, provenance: &Provenance) -> Result<Object, BuildError> {
        self.build_stamped(&provenance.stamp())
    }

    pub(crate) fn build_stamped(&self, stamp: &Stamp) -> Result<Object, BuildError> {
        let mut map = stamp.base("identity", &self.id);
        map.insert("name".into(), Value::String(self.name.clone()));
        insert_optional(&mut map, "description", self.description.as_deref());
        insert_optional(&mut map, "identity_class", self.identity_class.as_deref());
        insert_list(&mut map, "sectors", &self.sectors);
        insert_references(&mut map, &self.external_references);
        finish(map)
    }
}

/// A `location`: a place with coordinates, or only a country.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Location {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Latitude and longitude in decimal degrees (WGS 84).
    pub coordinates: Option<(f64, f64)>,
    /// STIX `precision`: radius in metres around the coordinates.
    pub precision_m: Option<f64>,
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    pub region: Option<String>,
    pub administrative_area: Option<String>,
    pub city: Option<String>,
    pub external_references: Vec<ExternalReference>,
}

impl Location {
    /// Builds the STIX object, validated; an object that would break a STIX rule is refused.
    pub fn build(&self, provenance: &Provenance) -> Result<Object, BuildError> {
        self.build_stamped(&provenance.stamp())
    }

    pub(crate) fn build_stamped(&self, stamp: &Stamp) -> Result<Object, BuildError> {
        finish(self.to_map(stamp))
    }

    pub(crate) fn to_map(&self, stamp: &Stamp) -> Map<String, Value> {
        let mut map = stamp.base("location", &self.id);
        insert_optional(&mut map, "name", self.name.as_deref());
        insert_optional(&mut map, "description", self.description.as_deref());
        if let Some((latitude, longitude)) = self.coordinates {
            map.insert("latitude".into(), json!(latitude));
            map.insert("longitude".into(), json!(longitude));
            if let Some(precision) = self.precision_m {
                map.insert("precision".into(), json!(precision));
            }
        }
        insert_optional(&mut map, "country", self.country.as_deref());
        insert_optional(&mut map, "region", self.region.as_deref());
        insert_optional(
            &mut map,
            "administrative_area",
            self.administrative_area.as_deref(),
        );
        insert_optional(&mut map, "city", self.city.as_deref());
        insert_references(&mut map, &self.external_references);
        map
    }
}

/// A `relationship` between two objects. See [`crate::relationship`] for the types Tessera
/// defines and what each means.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Relationship {
    pub id: String,
    pub relationship_type: String,
    pub source_ref: String,
    pub target_ref: String,
    pub description: Option<String>,
    pub confidence: Option<u8>,
    pub external_references: Vec<ExternalReference>,
}

impl Relationship {
    /// A relationship whose id is derived from its type and ends (under `source_key`), so that
    /// the same link imported twice is the same object.
    pub fn between(
        source_key: &str,
        relationship_type: &str,
        source_ref: &str,
        target_ref: &str,
    ) -> Relationship {
        Relationship {
            id: crate::ids::deterministic_id(
                "relationship",
                &[
                    source_key,
                    "|relationship|",
                    relationship_type,
                    "|",
                    source_ref,
                    "|",
                    target_ref,
                ]
                .concat(),
            ),
            relationship_type: relationship_type.to_string(),
            source_ref: source_ref.to_string(),
            target_ref: target_ref.to_string(),
            ..Relationship::default()
        }
    }

    /// The same relationship with a description (why it holds).
    pub fn with_description(mut self, description: impl Into<String>) -> Relationship {
        self.description = Some(description.into());
        self
    }

    /// The same relationship with a STIX confidence (0-100).
    pub fn with_confidence(mut self, confidence: u8) -> Relationship {
        self.confidence = Some(confidence);
        self
    }

    /// The same relationship citing one more source.
    pub fn with_reference(mut self, reference: ExternalReference) -> Relationship {
        self.external_references.push(reference);
        self
    }

    /// Builds the STIX object, validated; an object that would break a STIX rule is refused.
    pub fn build(&self, provenance: &Provenance) -> Result<Object, BuildError> {
        self.build_stamped(&provenance.stamp())
    }

    pub(crate) fn build_stamped(&self, stamp: &Stamp) -> Result<Object, BuildError> {
        let mut map = stamp.base("relationship", &self.id);
        map.insert(
            "relationship_type".into(),
            Value::String(self.relationship_type.clone()),
        );
        insert_optional(&mut map, "description", self.description.as_deref());
        map.insert("source_ref".into(), Value::String(self.source_ref.clone()));
        map.insert("target_ref".into(), Value::String(self.target_ref.clone()));
        if let Some(confidence) = self.confidence {
            map.insert("confidence".into(), json!(confidence));
        }
        insert_references(&mut map, &self.external_references);
        finish(map)
    }

    /// Builds a relationship whose every property this crate produced: ids from
    /// [`crate::ids::deterministic_id`], a relationship type and a description that are constants,
    /// and the importer's own (already valid) external references as a JSON value. Such an
    /// object is valid by construction, so release builds skip the validator here (it is the
    /// largest cost of a bulk import); debug builds and the tests still run it on every one.
    pub(crate) fn build_generated(self, stamp: &Stamp, references: &Value) -> Object {
        let mut map = stamp.base("relationship", &self.id);
        map.insert(
            "relationship_type".into(),
            Value::String(self.relationship_type),
        );
        if let Some(description) = self.description {
            map.insert("description".into(), Value::String(description));
        }
        map.insert("source_ref".into(), Value::String(self.source_ref));
        map.insert("target_ref".into(), Value::String(self.target_ref));
        if let Some(confidence) = self.confidence {
            map.insert("confidence".into(), json!(confidence));
        }
        map.insert("external_references".into(), references.clone());
        finish_generated(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance::new(
            Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
            crate::ids::TESSERA_IDENTITY_ID,
        )
    }

    #[test]
    fn builders_emit_valid_stix() {
        let location = Location {
            id: crate::ids::deterministic_id("location", "test|kerman"),
            name: Some("Kerman".into()),
            coordinates: Some((30.2839, 57.0834)),
            precision_m: Some(2000.0),
            country: Some("IR".into()),
            ..Location::default()
        };
        let object = location.build(&provenance()).unwrap();
        assert_eq!(object.get_str("created"), Some("2024-01-01T00:00:00.000Z"));
        let actor = ThreatActor {
            id: crate::ids::deterministic_id("threat-actor", "test|x"),
            name: "X".into(),
            aliases: vec!["Y".into()],
            ..ThreatActor::default()
        };
        assert!(actor.build(&provenance()).is_ok());
        let link = Relationship::between(
            "test",
            "located-at",
            "incident--6b4f1e0e-45a4-4d0c-8a63-6a4fb3a0a3c1",
            &location.id,
        );
        assert!(link.build(&provenance()).is_ok());
    }

    #[test]
    fn invalid_objects_are_refused() {
        let location = Location {
            id: crate::ids::deterministic_id("location", "test|nowhere"),
            ..Location::default()
        };
        let error = location.build(&provenance()).unwrap_err();
        assert_eq!(error.object_type, "location");
        let bad = Location {
            id: "location--x".into(),
            coordinates: Some((91.0, 0.0)),
            ..Location::default()
        };
        assert!(bad.build(&provenance()).is_err());
        let link = Relationship::between(
            "test",
            "Not Valid",
            "incident--6b4f1e0e-45a4-4d0c-8a63-6a4fb3a0a3c1",
            "location--6b4f1e0e-45a4-4d0c-8a63-6a4fb3a0a3c1",
        );
        assert!(link.build(&provenance()).is_err());
    }
}
