//! Tessera's counter-terrorism incident extension: a STIX 2.1 property extension on `incident`.
//!
//! STIX 2.1's `incident` is a stub (a name and a description), and the OASIS Incident Core
//! extension describes cyber incidents. This extension carries what the counter-terrorism
//! datasets record about an attack. It lives under
//! `extensions["extension-definition--d0afcfab-fd9d-4e27-8bab-d8393e8edfd4"]`; its normative
//! definition is the JSON Schema [`SCHEMA_JSON`] (`schema/incident-ct-v1.json`), and
//! [`extension_definition`] builds the `extension-definition` object every node ships.
//!
//! | property | type | meaning |
//! | --- | --- | --- |
//! | `extension_type` | `"property-extension"` | required by STIX |
//! | `date` | `YYYY-MM-DD` | required: the day, or the first possible day |
//! | `date_end` | `YYYY-MM-DD` | the last possible day, when the source gives a range |
//! | `date_precision` | [`DatePrecision`] | required: day, week, month, year |
//! | `attack_types` | list of [`AttackType`] | GTD attack types |
//! | `weapon_types` | list of [`WeaponType`] | GTD weapon types |
//! | `target_types` | list of [`TargetType`] | the 22 GTD target types |
//! | `killed`, `wounded` | [`CasualtyRange`] `{low, best, high}` | perpetrators included |
//! | `perpetrators_killed` | integer | GTD `nkillter` |
//! | `suicide` | boolean | GTD `suicide` |
//! | `claimed`, `claim_mode` | boolean, [`ClaimMode`] | GTD `claimed`, `claimmode` |
//! | `perpetrator_uncertain` | boolean | GTD `guncertain1`: attribution suspected only |
//! | `international_logistical` | boolean | GTD `INT_LOG` |
//! | `international_ideological` | boolean | GTD `INT_IDEO` |
//! | `location_precision` | [`LocationPrecision`] | how far the true place may be from the location |
//! | `violence_type` | [`ViolenceType`] | UCDP state-based, non-state, one-sided |
//!
//! Absent means unknown: a missing `suicide` is not `false`, a missing `killed` is not zero. That
//! is why every optional property is an `Option` rather than a default.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use stix::Object;

use crate::date::Date;
use crate::ids::{EXTENSION_DEFINITION_ID, TESSERA_IDENTITY_ID, TLP_CLEAR_ID};
use crate::sdo::{BuildError, finish};
use crate::vocab::{
    AttackType, ClaimMode, DatePrecision, LocationPrecision, TargetType, ViolenceType, WeaponType,
};

/// The JSON Schema of the extension (draft 2020-12), the normative definition.
pub const SCHEMA_JSON: &str = include_str!("../schema/incident-ct-v1.json");

/// The extension's version, as the `extension-definition` states it.
pub const EXTENSION_VERSION: &str = "1.0";

/// `created` and `modified` of the v1.0 extension definition and of the Tessera identity. They
/// are fixed: every node must ship byte-identical objects, or two nodes would hold two different
/// versions under one (`id`, `modified`).
pub const EXTENSION_CREATED: &str = "2026-11-27T00:00:00.000Z";

/// A count with its uncertainty, as UCDP gives deaths: `low <= best <= high`, each optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasualtyRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<u32>,
}

impl CasualtyRange {
    /// An exact count.
    pub fn exact(count: u32) -> CasualtyRange {
        CasualtyRange {
            low: Some(count),
            best: Some(count),
            high: Some(count),
        }
    }

    /// A range with a best estimate.
    pub fn range(low: u32, best: u32, high: u32) -> CasualtyRange {
        CasualtyRange {
            low: Some(low),
            best: Some(best),
            high: Some(high),
        }
    }

    /// The smallest and largest counts the range allows (`low`, else `best`, else `high`; and the
    /// reverse), or `None` when it holds no number.
    pub fn bounds(&self) -> Option<(u32, u32)> {
        let low = self.low.or(self.best).or(self.high)?;
        let high = self.high.or(self.best).or(self.low)?;
        Some((low, high))
    }

    fn problems(&self, name: &str, out: &mut Vec<ExtensionError>) {
        if self.low.is_none() && self.best.is_none() && self.high.is_none() {
            out.push(ExtensionError::EmptyCasualties {
                property: name.to_string(),
            });
        }
        let ordered =
            |a: Option<u32>, b: Option<u32>| !matches!((a, b), (Some(a), Some(b)) if a > b);
        if !(ordered(self.low, self.best)
            && ordered(self.best, self.high)
            && ordered(self.low, self.high))
        {
            out.push(ExtensionError::CasualtyOrder {
                property: name.to_string(),
                range: *self,
            });
        }
    }
}

/// A rule of the extension that a value breaks (beyond the JSON shape that serde checks).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error("date_end {end} is earlier than date {start}")]
    DateOrder { start: Date, end: Date },
    #[error("{property} must hold at least one of low, best, high")]
    EmptyCasualties { property: String },
    #[error("{property} must have low <= best <= high, found {range:?}")]
    CasualtyOrder {
        property: String,
        range: CasualtyRange,
    },
    #[error("claim_mode is only meaningful when claimed is true")]
    ClaimModeWithoutClaim,
    #[error("{property} lists {value:?} twice")]
    Duplicate { property: String, value: String },
    #[error("{property} lists \"unknown\" beside known values")]
    UnknownBesideKnown { property: String },
    #[error("the extension is not valid JSON for version 1.0: {0}")]
    Shape(String),
    #[error("the incident has no extension {EXTENSION_DEFINITION_ID}")]
    Missing,
}

/// The typed body of the extension on one incident.
///
/// ```
/// use incident::{CasualtyRange, Date, IncidentExtension};
/// use incident::vocab::{AttackType, DatePrecision};
///
/// let mut extension = IncidentExtension::new(Date::parse("2024-03-22").unwrap(), DatePrecision::Day);
/// extension.attack_types = vec![AttackType::ArmedAssault];
/// extension.killed = Some(CasualtyRange::range(137, 145, 145));
/// assert!(extension.problems().is_empty());
/// let json = extension.to_json();
/// assert_eq!(json["extension_type"], "property-extension");
/// assert_eq!(IncidentExtension::from_json(&json).unwrap(), extension);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentExtension {
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_end: Option<Date>,
    pub date_precision: DatePrecision,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attack_types: Vec<AttackType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weapon_types: Vec<WeaponType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_types: Vec<TargetType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed: Option<CasualtyRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wounded: Option<CasualtyRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetrators_killed: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suicide: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_mode: Option<ClaimMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetrator_uncertain: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub international_logistical: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub international_ideological: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_precision: Option<LocationPrecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violence_type: Option<ViolenceType>,
}

impl IncidentExtension {
    /// An extension that knows only the date; everything else is unknown.
    pub fn new(date: Date, date_precision: DatePrecision) -> IncidentExtension {
        IncidentExtension {
            date,
            date_end: None,
            date_precision,
            attack_types: Vec::new(),
            weapon_types: Vec::new(),
            target_types: Vec::new(),
            killed: None,
            wounded: None,
            perpetrators_killed: None,
            suicide: None,
            claimed: None,
            claim_mode: None,
            perpetrator_uncertain: None,
            international_logistical: None,
            international_ideological: None,
            location_precision: None,
            violence_type: None,
        }
    }

    /// Every rule of the extension this value breaks; empty when it is valid.
    pub fn problems(&self) -> Vec<ExtensionError> {
        let mut out = Vec::new();
        if let Some(end) = self.date_end
            && end < self.date
        {
            out.push(ExtensionError::DateOrder {
                start: self.date,
                end,
            });
        }
        if let Some(killed) = &self.killed {
            killed.problems("killed", &mut out);
        }
        if let Some(wounded) = &self.wounded {
            wounded.problems("wounded", &mut out);
        }
        if self.claim_mode.is_some() && self.claimed != Some(true) {
            out.push(ExtensionError::ClaimModeWithoutClaim);
        }
        list_problems(
            "attack_types",
            &self.attack_types,
            AttackType::Unknown,
            AttackType::as_str,
            &mut out,
        );
        list_problems(
            "weapon_types",
            &self.weapon_types,
            WeaponType::Unknown,
            WeaponType::as_str,
            &mut out,
        );
        list_problems(
            "target_types",
            &self.target_types,
            TargetType::Unknown,
            TargetType::as_str,
            &mut out,
        );
        out
    }

    /// The extension as STIX JSON, `extension_type` included.
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self)
            .expect("the extension holds only strings, numbers and booleans");
        if let Value::Object(map) = &mut value {
            map.insert(
                "extension_type".into(),
                Value::String("property-extension".into()),
            );
        }
        value
    }

    /// Reads the extension from its STIX JSON, and checks its rules.
    pub fn from_json(value: &Value) -> Result<IncidentExtension, ExtensionError> {
        let Value::Object(map) = value else {
            return Err(ExtensionError::Shape(
                "the extension must be a JSON object".into(),
            ));
        };
        let mut body = map.clone();
        match body.remove("extension_type") {
            Some(Value::String(kind)) if kind == "property-extension" => {}
            other => {
                return Err(ExtensionError::Shape(format!(
                    "extension_type must be \"property-extension\", found {other:?}"
                )));
            }
        }
        let extension: IncidentExtension = serde_json::from_value(Value::Object(body))
            .map_err(|e| ExtensionError::Shape(e.to_string()))?;
        match extension.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(extension),
        }
    }

    /// The days (since 1970-01-01, inclusive) on which the incident may have happened.
    pub fn day_window(&self) -> (i64, i64) {
        self.date.window(self.date_end, self.date_precision)
    }
}

fn list_problems<T: Copy + PartialEq>(
    property: &str,
    values: &[T],
    unknown: T,
    name: fn(T) -> &'static str,
    out: &mut Vec<ExtensionError>,
) {
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            out.push(ExtensionError::Duplicate {
                property: property.to_string(),
                value: name(*value).to_string(),
            });
        }
    }
    if values.len() > 1 && values.contains(&unknown) {
        out.push(ExtensionError::UnknownBesideKnown {
            property: property.to_string(),
        });
    }
}

/// The identity of the Tessera project, creator of the extension definition and the demo case.
pub fn tessera_identity() -> Object {
    let value = json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": TESSERA_IDENTITY_ID,
        "created": EXTENSION_CREATED,
        "modified": EXTENSION_CREATED,
        "name": "Tessera",
        "description": "The Tessera project: federated counter-terrorism knowledge graph nodes. Creator of the Tessera incident extension and of the curated demo case.",
        "identity_class": "organization",
    });
    built(value).expect("the Tessera identity is a fixed, valid object")
}

/// The `extension-definition` of the incident extension, v1.0. Every node ships this exact
/// object; the SHA-256 of the schema in its external reference lets a receiver check that it
/// reads incidents against the same schema.
pub fn extension_definition() -> Object {
    let schema_hash = hex::encode(Sha256::digest(SCHEMA_JSON.as_bytes()));
    let value = json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_DEFINITION_ID,
        "created_by_ref": TESSERA_IDENTITY_ID,
        "created": EXTENSION_CREATED,
        "modified": EXTENSION_CREATED,
        "name": "Tessera counter-terrorism incident",
        "description": "Adds to incident what counter-terrorism datasets record: date and date precision; GTD attack, weapon and target types; killed and wounded as low/best/high; suicide; claim and claim mode; perpetrator uncertainty; international logistical and ideological flags (GTD INT_LOG, INT_IDEO); location precision; UCDP violence type.",
        "schema": "urn:tessera:schema:incident-ct:v1 - JSON Schema (draft 2020-12) shipped with Tessera as crates/incident/schema/incident-ct-v1.json; its SHA-256 is in external_references",
        "version": EXTENSION_VERSION,
        "extension_types": ["property-extension"],
        "external_references": [{
            "source_name": "tessera",
            "description": "JSON Schema incident-ct-v1.json",
            "external_id": "urn:tessera:schema:incident-ct:v1",
            "hashes": { "SHA-256": schema_hash },
        }],
    });
    built(value).expect("the extension definition is a fixed, valid object")
}

/// The TLP:CLEAR marking definition (TLP 2.0) exactly as OASIS publishes it.
pub fn tlp_clear() -> Object {
    let value = json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_CLEAR_ID,
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:CLEAR",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "clear",
            }
        },
    });
    built(value).expect("the OASIS TLP:CLEAR marking is a valid object")
}

fn built(value: Value) -> Result<Object, BuildError> {
    let Value::Object(map) = value else {
        unreachable!("json! of an object literal is an object")
    };
    finish(map)
}

/// The extension body of an incident object, if it has one.
pub(crate) fn extension_body(object: &Map<String, Value>) -> Option<&Value> {
    object
        .get("extensions")?
        .as_object()?
        .get(EXTENSION_DEFINITION_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extension() -> IncidentExtension {
        IncidentExtension::new(Date::parse("2024-01-03").unwrap(), DatePrecision::Day)
    }

    #[test]
    fn fixed_objects_validate() {
        for object in [tessera_identity(), extension_definition(), tlp_clear()] {
            assert_eq!(object.validate(), vec![], "{}", object.id());
        }
        assert_eq!(
            stix::Timestamp::parse(EXTENSION_CREATED)
                .unwrap()
                .to_string(),
            EXTENSION_CREATED
        );
    }

    #[test]
    fn schema_is_json_and_matches_the_rust_vocabularies() {
        let schema: Value = serde_json::from_str(SCHEMA_JSON).unwrap();
        let enum_of = |path: &[&str]| -> Vec<String> {
            let mut value = &schema;
            for key in path {
                value = &value[*key];
            }
            value
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        let names = |all: Vec<&'static str>| all.into_iter().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            enum_of(&["properties", "attack_types", "items", "enum"]),
            names(AttackType::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enum_of(&["properties", "weapon_types", "items", "enum"]),
            names(WeaponType::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enum_of(&["properties", "target_types", "items", "enum"]),
            names(TargetType::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enum_of(&["properties", "claim_mode", "enum"]),
            names(ClaimMode::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enum_of(&["properties", "date_precision", "enum"]),
            names(DatePrecision::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enum_of(&["properties", "location_precision", "enum"]),
            names(LocationPrecision::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enum_of(&["properties", "violence_type", "enum"]),
            names(ViolenceType::ALL.iter().map(|v| v.as_str()).collect())
        );
        // Every property the Rust type writes is one the schema declares, and no other.
        let mut full = extension();
        full.date_end = Some(full.date);
        full.attack_types = vec![AttackType::Unknown];
        full.weapon_types = vec![WeaponType::Unknown];
        full.target_types = vec![TargetType::Unknown];
        full.killed = Some(CasualtyRange::exact(1));
        full.wounded = Some(CasualtyRange::exact(1));
        full.perpetrators_killed = Some(0);
        full.suicide = Some(false);
        full.claimed = Some(true);
        full.claim_mode = Some(ClaimMode::Unknown);
        full.perpetrator_uncertain = Some(false);
        full.international_logistical = Some(false);
        full.international_ideological = Some(false);
        full.location_precision = Some(LocationPrecision::Exact);
        full.violence_type = Some(ViolenceType::OneSided);
        let written: Vec<String> = full
            .to_json()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let declared: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let (mut written, mut declared) = (written, declared);
        written.sort();
        declared.sort();
        assert_eq!(written, declared);
    }

    /// The extension definition is fixed at version 1.0: if the schema changes, nodes that ship
    /// different schemas under one (`id`, `modified`) would disagree silently. Change the schema
    /// only together with a new version (and `modified`), then update this hash.
    #[test]
    fn schema_is_pinned_to_the_published_version() {
        let hash = hex::encode(Sha256::digest(SCHEMA_JSON.as_bytes()));
        assert_eq!(
            hash, PINNED_SCHEMA_SHA256,
            "the schema changed: publish a new extension version"
        );
    }

    const PINNED_SCHEMA_SHA256: &str =
        "fd1e3dd65be471d603342d897e74096e9c25190951a358c1be88d5a470740372";

    #[test]
    fn rules_are_checked() {
        let mut bad = extension();
        bad.date_end = Some(Date::parse("2024-01-02").unwrap());
        bad.killed = Some(CasualtyRange {
            low: Some(5),
            best: Some(3),
            high: None,
        });
        bad.wounded = Some(CasualtyRange::default());
        bad.claim_mode = Some(ClaimMode::Video);
        bad.attack_types = vec![
            AttackType::ArmedAssault,
            AttackType::ArmedAssault,
            AttackType::Unknown,
        ];
        let problems = bad.problems();
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(IncidentExtension::from_json(&bad.to_json()).is_err());
    }

    #[test]
    fn unknown_properties_and_wrong_values_are_refused() {
        let mut json = extension().to_json();
        json["colour"] = json!("red");
        assert!(matches!(
            IncidentExtension::from_json(&json),
            Err(ExtensionError::Shape(_))
        ));
        let mut json = extension().to_json();
        json["attack_types"] = json!(["bombing"]);
        assert!(IncidentExtension::from_json(&json).is_err());
        let mut json = extension().to_json();
        json.as_object_mut().unwrap().remove("extension_type");
        assert!(IncidentExtension::from_json(&json).is_err());
        let mut json = extension().to_json();
        json["date"] = json!("2024-02-30");
        assert!(IncidentExtension::from_json(&json).is_err());
    }

    #[test]
    fn casualty_bounds() {
        assert_eq!(CasualtyRange::range(1, 2, 3).bounds(), Some((1, 3)));
        assert_eq!(
            CasualtyRange {
                best: Some(4),
                ..CasualtyRange::default()
            }
            .bounds(),
            Some((4, 4))
        );
        assert_eq!(CasualtyRange::default().bounds(), None);
    }
}
