//! The Traffic Light Protocol: TLP 2.0 levels, the marking definitions OASIS publishes for them,
//! and the TLP 1.0 markings of STIX 2.1 section 7.2.1.4, which are understood on input.

use std::fmt;

use serde_json::{Map, Value, json};
use stix::Object;

/// A TLP 2.0 level. The order is the order of restriction: `Clear < Green < Amber < AmberStrict
/// < Red`, so "the most restrictive of several markings" is their maximum.
///
/// TLP 1.0 markings map onto it: WHITE is CLEAR, and GREEN, AMBER and RED keep their names.
///
/// ```
/// use policy::Tlp;
///
/// assert!(Tlp::Green < Tlp::AmberStrict);
/// assert_eq!(Tlp::from_name("TLP:WHITE"), Some(Tlp::Clear));
/// assert_eq!(
///     Tlp::from_marking_id("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"),
///     Some(Tlp::Amber), // TLP 1.0 AMBER
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    /// TLP:CLEAR (TLP 1.0 WHITE): no limit on disclosure.
    Clear,
    /// TLP:GREEN: the recipient's community.
    Green,
    /// TLP:AMBER: the recipient's organisation and its clients, on a need-to-know basis.
    Amber,
    /// TLP:AMBER+STRICT: the recipient's organisation only.
    AmberStrict,
    /// TLP:RED: the named recipients only.
    Red,
}

/// Which edition of TLP a marking definition belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlpVersion {
    /// STIX 2.1 section 7.2.1.4 (WHITE, GREEN, AMBER, RED).
    V1,
    /// The OASIS TLP 2.0 marking definitions (extension
    /// `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`).
    V2,
}

/// One published TLP marking definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlpMarking {
    /// The marking definition id.
    pub id: &'static str,
    /// The level it stands for.
    pub tlp: Tlp,
    /// TLP 1.0 or 2.0.
    pub version: TlpVersion,
    /// The `name` of the published object (`TLP:WHITE`, `TLP:AMBER+STRICT`, ...).
    pub name: &'static str,
}

/// The id of the OASIS extension definition that TLP 2.0 marking definitions carry.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Every TLP marking definition Tessera understands: the five of TLP 2.0 (OASIS
/// cti-stix-common-objects, `extension-definition-specifications/tlp-2.0`) and the four of TLP
/// 1.0 (STIX 2.1 section 7.2.1.4).
pub const TLP_MARKINGS: &[TlpMarking] = &[
    TlpMarking {
        id: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        tlp: Tlp::Clear,
        version: TlpVersion::V2,
        name: "TLP:CLEAR",
    },
    TlpMarking {
        id: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        tlp: Tlp::Green,
        version: TlpVersion::V2,
        name: "TLP:GREEN",
    },
    TlpMarking {
        id: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        tlp: Tlp::Amber,
        version: TlpVersion::V2,
        name: "TLP:AMBER",
    },
    TlpMarking {
        id: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        tlp: Tlp::AmberStrict,
        version: TlpVersion::V2,
        name: "TLP:AMBER+STRICT",
    },
    TlpMarking {
        id: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        tlp: Tlp::Red,
        version: TlpVersion::V2,
        name: "TLP:RED",
    },
    TlpMarking {
        id: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        tlp: Tlp::Clear,
        version: TlpVersion::V1,
        name: "TLP:WHITE",
    },
    TlpMarking {
        id: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        tlp: Tlp::Green,
        version: TlpVersion::V1,
        name: "TLP:GREEN",
    },
    TlpMarking {
        id: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        tlp: Tlp::Amber,
        version: TlpVersion::V1,
        name: "TLP:AMBER",
    },
    TlpMarking {
        id: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        tlp: Tlp::Red,
        version: TlpVersion::V1,
        name: "TLP:RED",
    },
];

impl Tlp {
    /// Every level, least restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The level a marking definition id stands for, TLP 1.0 or 2.0; `None` for any other id.
    pub fn from_marking_id(id: &str) -> Option<Tlp> {
        tlp_marking(id).map(|m| m.tlp)
    }

    /// The TLP 2.0 marking definition id of this level, the one Tessera writes.
    pub fn marking_id(self) -> &'static str {
        TLP_MARKINGS
            .iter()
            .find(|m| m.tlp == self && m.version == TlpVersion::V2)
            .map(|m| m.id)
            .expect("TLP_MARKINGS holds a TLP 2.0 marking for every level")
    }

    /// Parses a level as operators write it: `clear`, `white` (TLP 1.0, the same as CLEAR),
    /// `green`, `amber`, `amber+strict`, `red`, in any case, with or without a `TLP:` prefix.
    pub fn from_name(name: &str) -> Option<Tlp> {
        let name = name.trim();
        let bare = match name.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("tlp:") => &name[4..],
            _ => name,
        };
        match bare.to_ascii_lowercase().as_str() {
            "clear" | "white" => Some(Tlp::Clear),
            "green" => Some(Tlp::Green),
            "amber" => Some(Tlp::Amber),
            "amber+strict" => Some(Tlp::AmberStrict),
            "red" => Some(Tlp::Red),
            _ => None,
        }
    }

    /// The lower-case TLP 2.0 name, as the policy file writes it (`amber+strict`).
    pub fn name(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLP:{}", self.name().to_ascii_uppercase())
    }
}

/// The published TLP marking with this id, if it is one.
pub fn tlp_marking(id: &str) -> Option<&'static TlpMarking> {
    // Asked of every reference a page holds: most are not marking definitions at all.
    if !id.starts_with("marking-definition--") {
        return None;
    }
    TLP_MARKINGS.iter().find(|m| m.id == id)
}

/// Whether an id is one of the nine TLP marking definitions (1.0 or 2.0).
pub fn is_tlp_marking(id: &str) -> bool {
    tlp_marking(id).is_some()
}

/// The most restrictive TLP among marking ids; `None` when none of them is a TLP marking.
pub fn most_restrictive<'a>(marking_ids: impl IntoIterator<Item = &'a str>) -> Option<Tlp> {
    marking_ids
        .into_iter()
        .filter_map(Tlp::from_marking_id)
        .max()
}

/// The marking definition object as its publisher defines it. Tessera releases this canonical
/// form, never the stored copy, so that nothing a stored copy may have gained (a custom property,
/// a `created_by_ref`) can ride out on a definition every partner receives.
pub fn published_definition(id: &str) -> Option<Object> {
    let marking = tlp_marking(id)?;
    let value = match marking.version {
        TlpVersion::V1 => json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": marking.id,
            "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "tlp",
            "name": marking.name,
            "definition": { "tlp": marking.name.trim_start_matches("TLP:").to_ascii_lowercase() },
        }),
        TlpVersion::V2 => json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": marking.id,
            "created": "2022-10-01T00:00:00.000Z",
            "name": marking.name,
            "extensions": {
                TLP2_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "tlp_2_0": marking.tlp.name(),
                }
            },
        }),
    };
    let Value::Object(map) = value else {
        unreachable!("json! of an object literal is an object")
    };
    Some(Object::from_map(map).expect("the published TLP definitions have a string type and id"))
}

/// Whether a stored marking definition is exactly the published one.
pub(crate) fn is_published_form(map: &Map<String, Value>) -> bool {
    map.get("id")
        .and_then(Value::as_str)
        .and_then(published_definition)
        .is_some_and(|published| published.as_map() == map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_the_order_of_restriction() {
        let mut levels = Tlp::ALL;
        levels.reverse();
        levels.sort();
        assert_eq!(levels, Tlp::ALL);
        assert!(
            Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red
        );
    }

    #[test]
    fn version_1_and_2_ids_map_to_the_same_levels() {
        for marking in TLP_MARKINGS {
            assert_eq!(Tlp::from_marking_id(marking.id), Some(marking.tlp));
            assert!(
                stix::parse_identifier(marking.id).is_ok(),
                "{} is a STIX id",
                marking.id
            );
        }
        assert_eq!(
            Tlp::from_marking_id("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Some(Tlp::Clear)
        );
        assert_eq!(
            Tlp::from_marking_id("marking-definition--00000000-0000-4000-8000-000000000000"),
            None
        );
        for tlp in Tlp::ALL {
            assert_eq!(Tlp::from_marking_id(tlp.marking_id()), Some(tlp));
            assert_eq!(Tlp::from_name(tlp.name()), Some(tlp));
        }
    }

    #[test]
    fn names_parse_loosely_but_not_wrongly() {
        assert_eq!(Tlp::from_name("TLP:AMBER+STRICT"), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::from_name("tlp:white"), Some(Tlp::Clear));
        assert_eq!(Tlp::from_name("Amber"), Some(Tlp::Amber));
        assert_eq!(Tlp::from_name("amber strict"), None);
        assert_eq!(Tlp::from_name("orange"), None);
        assert_eq!(Tlp::from_name(""), None);
        assert_eq!(Tlp::AmberStrict.to_string(), "TLP:AMBER+STRICT");
    }

    #[test]
    fn most_restrictive_wins() {
        let ids = [
            Tlp::Green.marking_id(),
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        ];
        assert_eq!(most_restrictive(ids), Some(Tlp::Red));
        assert_eq!(most_restrictive(["marking-definition--x"]), None);
    }

    #[test]
    fn published_definitions_are_valid_stix() {
        for marking in TLP_MARKINGS {
            let object = published_definition(marking.id).expect("a TLP id");
            assert_eq!(object.validate(), vec![], "{}", marking.name);
            assert!(is_published_form(object.as_map()));
        }
    }
}
