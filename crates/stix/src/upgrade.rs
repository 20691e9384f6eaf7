//! STIX 2.0 to 2.1, on the way in. Real feeds (ATT&CK among them) still publish 2.0.
//!
//! The changes are the ones section 1.6 of STIX 2.1 lists that a 2.0 object actually meets:
//! `spec_version` moves from the bundle onto every object, the `labels` that 2.0 required on
//! some types become their 2.1 `*_types` vocabularies, `malware` gains the required
//! `is_family`, and `indicator` gains `pattern_type`.

use serde_json::{Map, Value};

/// What an upgrade changed, for the import report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpgradeNotes {
    pub changes: Vec<&'static str>,
}

/// Types whose 2.0 `labels` are the 2.1 `<type>_types` vocabulary.
const LABELS_TO_TYPES: &[(&str, &str)] = &[
    ("indicator", "indicator_types"),
    ("malware", "malware_types"),
    ("report", "report_types"),
    ("threat-actor", "threat_actor_types"),
    ("tool", "tool_types"),
];

/// Whether an object is read as STIX 2.0, and so upgraded on import: it says "2.0", or it says
/// nothing. STIX 2.0 objects carry no `spec_version` (the 2.0 bundle does) and a 2.1 SDO or SRO
/// must, so one without is 2.0, unless it is a cyber-observable outside a bundle declaring 2.0:
/// STIX 2.1 makes `spec_version` optional on those.
pub fn reads_as_20(object: &Map<String, Value>, bundle_declares_20: bool) -> bool {
    match object.get("spec_version").and_then(Value::as_str) {
        Some(spec) => spec == "2.0",
        None => {
            bundle_declares_20
                || object
                    .get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| crate::spec::category_of(t) != crate::Category::Sco)
        }
    }
}

/// Upgrades a STIX 2.0 object to 2.1 in place. An object that already says `spec_version`
/// "2.1" is left alone.
pub fn upgrade_from_20(object: &mut Map<String, Value>) -> UpgradeNotes {
    let mut notes = UpgradeNotes::default();
    if object.get("spec_version").and_then(Value::as_str) == Some("2.1") {
        return notes;
    }
    object.insert("spec_version".to_string(), Value::String("2.1".to_string()));
    notes.changes.push("spec_version set to 2.1");
    let object_type = object
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();

    if let Some((_, vocabulary)) = LABELS_TO_TYPES.iter().find(|(t, _)| *t == object_type)
        && !object.contains_key(*vocabulary)
        && let Some(labels) = object.remove("labels")
    {
        object.insert((*vocabulary).to_string(), labels);
        notes
            .changes
            .push("labels moved to the type's *_types vocabulary");
    }
    if object_type == "malware" && !object.contains_key("is_family") {
        // A 2.0 malware object described a family or an instance without saying which; feeds
        // overwhelmingly meant the family, and 2.1 tools treat it so.
        object.insert("is_family".to_string(), Value::Bool(true));
        notes.changes.push("malware is_family set to true");
    }
    if object_type == "indicator" && !object.contains_key("pattern_type") {
        object.insert(
            "pattern_type".to_string(),
            Value::String("stix".to_string()),
        );
        notes.changes.push("indicator pattern_type set to stix");
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn upgrades_a_20_malware() {
        let mut m = json!({"type": "malware", "id": "malware--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22", "labels": ["trojan"], "name": "X",
            "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z"});
        let notes = upgrade_from_20(m.as_object_mut().unwrap());
        assert_eq!(m["spec_version"], "2.1");
        assert_eq!(m["malware_types"], json!(["trojan"]));
        assert!(m.get("labels").is_none());
        assert_eq!(m["is_family"], true);
        assert_eq!(notes.changes.len(), 3);
    }

    #[test]
    fn leaves_21_alone() {
        let mut m = json!({"type": "malware", "spec_version": "2.1", "labels": ["x"]});
        let before = m.clone();
        assert!(
            upgrade_from_20(m.as_object_mut().unwrap())
                .changes
                .is_empty()
        );
        assert_eq!(m, before);
    }

    #[test]
    fn an_object_without_spec_version_is_20_unless_a_21_observable() {
        let reads =
            |object: Value, declared_20| reads_as_20(object.as_object().unwrap(), declared_20);
        assert!(reads(
            json!({"type": "malware", "spec_version": "2.0"}),
            false
        ));
        assert!(!reads(
            json!({"type": "malware", "spec_version": "2.1"}),
            true
        ));
        assert!(reads(json!({"type": "malware"}), false));
        assert!(reads(json!({"type": "relationship"}), false));
        assert!(!reads(
            json!({"type": "ipv4-addr", "value": "10.0.0.1"}),
            false
        ));
        assert!(reads(
            json!({"type": "ipv4-addr", "value": "10.0.0.1"}),
            true
        ));
        assert!(reads(json!({"id": "no type"}), false));
    }
}
