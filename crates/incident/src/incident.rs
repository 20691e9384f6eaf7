//! [`Incident`]: a STIX `incident` carrying Tessera's extension, built and read back.
//!
//! Reading an incident never changes the object: [`Incident::from_object`] takes a typed view of
//! it, and the store keeps the object as it was received. Only its creator may issue a new
//! version, which is why there is no "update in place" here.

use serde_json::{Map, Value, json};
use stix::Object;

use crate::extension::{ExtensionError, IncidentExtension, extension_body};
use crate::ids::EXTENSION_DEFINITION_ID;
use crate::sdo::{BuildError, ExternalReference, Provenance, Stamp, finish};

/// Why an object cannot be read as (or built into) a Tessera incident.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IncidentError {
    #[error("expected an incident, found a {0}")]
    NotAnIncident(String),
    #[error("the incident has no readable {0}")]
    Property(&'static str),
    #[error(transparent)]
    Extension(#[from] ExtensionError),
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A counter-terrorism incident: the STIX common properties Tessera uses, and the extension.
///
/// ```
/// use incident::{Date, Incident, IncidentExtension, Provenance};
/// use incident::vocab::{AttackType, DatePrecision};
/// use stix::Timestamp;
///
/// let mut extension = IncidentExtension::new(Date::parse("2024-01-28").unwrap(), DatePrecision::Day);
/// extension.attack_types = vec![AttackType::ArmedAssault];
/// let incident = Incident::new(
///     "incident--0b7c3a1e-54f2-4c6f-9f71-1c2f7b0e6d11",
///     "Shooting at a church in Istanbul",
///     extension,
/// );
/// let provenance = Provenance::new(Timestamp::parse("2024-02-01T00:00:00Z").unwrap(), incident::ids::TESSERA_IDENTITY_ID);
/// let object = incident.build(&provenance).unwrap();
/// assert!(object.validate().is_empty());
/// assert_eq!(Incident::from_object(&object).unwrap(), incident);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// STIX `confidence` (0-100) in the whole statement.
    pub confidence: Option<u8>,
    pub labels: Vec<String>,
    pub external_references: Vec<ExternalReference>,
    pub extension: IncidentExtension,
}

impl Incident {
    /// An incident with a name and an extension, and nothing else yet.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        extension: IncidentExtension,
    ) -> Incident {
        Incident {
            id: id.into(),
            name: name.into(),
            description: None,
            confidence: None,
            labels: Vec::new(),
            external_references: Vec::new(),
            extension,
        }
    }

    /// Builds the STIX object. Fails when the extension breaks one of its rules or the object
    /// would not be valid STIX 2.1, so that no invalid incident ever leaves this crate.
    pub fn build(&self, provenance: &Provenance) -> Result<Object, IncidentError> {
        self.build_stamped(&provenance.stamp())
    }

    pub(crate) fn build_stamped(&self, stamp: &Stamp) -> Result<Object, IncidentError> {
        Ok(finish(self.to_map(stamp)?)?)
    }

    /// The incident's properties, its extension checked; importers add what they share across
    /// rows and finish the object themselves.
    pub(crate) fn to_map(&self, stamp: &Stamp) -> Result<Map<String, Value>, IncidentError> {
        if let Some(problem) = self.extension.problems().into_iter().next() {
            return Err(problem.into());
        }
        let mut map = stamp.base("incident", &self.id);
        map.insert("name".into(), Value::String(self.name.clone()));
        if let Some(description) = &self.description {
            map.insert("description".into(), Value::String(description.clone()));
        }
        if let Some(confidence) = self.confidence {
            map.insert("confidence".into(), json!(confidence));
        }
        if !self.labels.is_empty() {
            map.insert("labels".into(), json!(self.labels));
        }
        if !self.external_references.is_empty() {
            map.insert(
                "external_references".into(),
                Value::Array(
                    self.external_references
                        .iter()
                        .map(ExternalReference::to_value)
                        .collect(),
                ),
            );
        }
        map.insert(
            "extensions".into(),
            json!({ EXTENSION_DEFINITION_ID: self.extension.to_json() }),
        );
        Ok(map)
    }

    /// Reads a typed view of an incident object. Properties this type does not model (custom
    /// ones, markings, other extensions) stay in the object, untouched.
    pub fn from_object(object: &Object) -> Result<Incident, IncidentError> {
        if object.object_type() != "incident" {
            return Err(IncidentError::NotAnIncident(
                object.object_type().to_string(),
            ));
        }
        let body = extension_body(object.as_map()).ok_or(ExtensionError::Missing)?;
        let extension = IncidentExtension::from_json(body)?;
        let name = object
            .get_str("name")
            .ok_or(IncidentError::Property("name"))?
            .to_string();
        let confidence = match object.get("confidence") {
            None => None,
            Some(value) => Some(
                value
                    .as_u64()
                    .and_then(|c| u8::try_from(c).ok())
                    .filter(|c| *c <= 100)
                    .ok_or(IncidentError::Property("confidence"))?,
            ),
        };
        let labels = match object.get("labels") {
            None => Vec::new(),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|_| IncidentError::Property("labels"))?,
        };
        let external_references = match object.get("external_references") {
            None => Vec::new(),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|_| IncidentError::Property("external_references"))?,
        };
        Ok(Incident {
            id: object.id().to_string(),
            name,
            description: object.get_str("description").map(str::to_string),
            confidence,
            labels,
            external_references,
            extension,
        })
    }
}

/// Whether an object is an incident that carries the Tessera extension.
pub fn has_extension(object: &Object) -> bool {
    object.object_type() == "incident" && extension_body(object.as_map()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::extension::CasualtyRange;
    use crate::vocab::{
        AttackType, ClaimMode, DatePrecision, LocationPrecision, TargetType, WeaponType,
    };
    use stix::Timestamp;

    fn provenance() -> Provenance {
        Provenance::new(
            Timestamp::parse("2024-04-01T00:00:00Z").unwrap(),
            crate::ids::TESSERA_IDENTITY_ID,
        )
        .with_marking(crate::ids::TLP_CLEAR_ID)
    }

    fn full_incident() -> Incident {
        let mut extension =
            IncidentExtension::new(Date::parse("2024-03-26").unwrap(), DatePrecision::Day);
        extension.attack_types = vec![AttackType::BombingExplosion];
        extension.weapon_types = vec![WeaponType::Explosives, WeaponType::Vehicle];
        extension.target_types = vec![TargetType::Business];
        extension.killed = Some(CasualtyRange::range(6, 7, 7));
        extension.suicide = Some(true);
        extension.claimed = Some(false);
        extension.perpetrator_uncertain = Some(true);
        extension.international_logistical = Some(true);
        extension.location_precision = Some(LocationPrecision::Near);
        let mut incident = Incident::new(
            crate::ids::deterministic_id("incident", "test|besham"),
            "Suicide car bombing of a convoy near Besham",
            extension,
        );
        incident.description = Some("Test description".into());
        incident.confidence = Some(70);
        incident.labels = vec!["suicide-attack".into()];
        incident.external_references =
            vec![ExternalReference::new("Test source").with_url("https://example.org/a")];
        incident
    }

    #[test]
    fn builds_valid_stix_and_reads_back() {
        let incident = full_incident();
        let object = incident.build(&provenance()).unwrap();
        assert_eq!(object.validate(), vec![]);
        assert_eq!(
            object.marking_refs().collect::<Vec<_>>(),
            vec![crate::ids::TLP_CLEAR_ID]
        );
        assert_eq!(Incident::from_object(&object).unwrap(), incident);
        assert!(has_extension(&object));
    }

    #[test]
    fn refuses_invalid_extensions() {
        let mut incident = full_incident();
        incident.extension.claim_mode = Some(ClaimMode::Video);
        assert!(matches!(
            incident.build(&provenance()),
            Err(IncidentError::Extension(
                ExtensionError::ClaimModeWithoutClaim
            ))
        ));
        let mut incident = full_incident();
        incident.confidence = Some(101);
        assert!(matches!(
            incident.build(&provenance()),
            Err(IncidentError::Build(_))
        ));
    }

    #[test]
    fn reading_needs_an_incident_with_the_extension() {
        let object = crate::extension::tessera_identity();
        assert!(matches!(
            Incident::from_object(&object),
            Err(IncidentError::NotAnIncident(_))
        ));
        let mut map = full_incident().build(&provenance()).unwrap().into_map();
        map.remove("extensions");
        let object = Object::from_map(map).unwrap();
        assert!(matches!(
            Incident::from_object(&object),
            Err(IncidentError::Extension(ExtensionError::Missing))
        ));
    }
}
