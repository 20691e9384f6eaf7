//! The relationship types Tessera uses around incidents and groups, and what each one means.
//!
//! STIX 2.1 lets producers use relationship types of their own (lower-case ASCII letters, digits
//! and hyphens). Tessera's are listed here with their direction, so that the graph, the UI and
//! partner nodes read an edge the same way.
//!
//! | type | source | target | meaning |
//! | --- | --- | --- | --- |
//! | `attributed-to` | incident | threat-actor, intrusion-set, identity | the perpetrator, as attributed by the source |
//! | `claimed-by` | incident | threat-actor, identity | who claimed responsibility (a claim is not an attribution) |
//! | `located-at` | incident, threat-actor | location | where the incident happened; where a group is based |
//! | `targets` | incident | identity, location | the intended target or victims |
//! | `involves` | incident | threat-actor, identity | a party to the violence, without saying who started it (UCDP dyads) |
//! | `same-cell` | incident | incident | carried out by the same cell or network |
//! | `same-plot` | incident | incident | parts of one coordinated plot (e.g. twin bombings planned together) |
//! | `part-of` | threat-actor | threat-actor | a branch or sub-unit of the target (ISKP is part of Islamic State) |
//! | `affiliated-with` | threat-actor | threat-actor | an ally or affiliate that is not a sub-unit (TIP is affiliated with al-Qaeda) |
//!
//! Importers pass other sources' own types through unchanged where they are valid STIX names
//! (MISP galaxy `similar`, `overlaps`, ...): rewriting them would claim more than the source did.

use std::fmt;

/// A relationship type Tessera defines or uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationshipType {
    AttributedTo,
    ClaimedBy,
    LocatedAt,
    Targets,
    Involves,
    SameCell,
    SamePlot,
    PartOf,
    AffiliatedWith,
}

impl RelationshipType {
    /// Every type, in the order of the table above.
    pub const ALL: &'static [RelationshipType] = &[
        RelationshipType::AttributedTo,
        RelationshipType::ClaimedBy,
        RelationshipType::LocatedAt,
        RelationshipType::Targets,
        RelationshipType::Involves,
        RelationshipType::SameCell,
        RelationshipType::SamePlot,
        RelationshipType::PartOf,
        RelationshipType::AffiliatedWith,
    ];

    /// The `relationship_type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationshipType::AttributedTo => "attributed-to",
            RelationshipType::ClaimedBy => "claimed-by",
            RelationshipType::LocatedAt => "located-at",
            RelationshipType::Targets => "targets",
            RelationshipType::Involves => "involves",
            RelationshipType::SameCell => "same-cell",
            RelationshipType::SamePlot => "same-plot",
            RelationshipType::PartOf => "part-of",
            RelationshipType::AffiliatedWith => "affiliated-with",
        }
    }

    /// Reads a `relationship_type` string.
    pub fn parse(text: &str) -> Option<RelationshipType> {
        RelationshipType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == text)
    }

    /// The object types this relationship may start from.
    pub fn source_types(self) -> &'static [&'static str] {
        match self {
            RelationshipType::LocatedAt => {
                &["incident", "threat-actor", "intrusion-set", "identity"]
            }
            RelationshipType::PartOf | RelationshipType::AffiliatedWith => {
                &["threat-actor", "intrusion-set"]
            }
            _ => &["incident"],
        }
    }

    /// The object types this relationship may point to.
    pub fn target_types(self) -> &'static [&'static str] {
        match self {
            RelationshipType::AttributedTo => &["threat-actor", "intrusion-set", "identity"],
            RelationshipType::ClaimedBy | RelationshipType::Involves => {
                &["threat-actor", "identity"]
            }
            RelationshipType::LocatedAt => &["location"],
            RelationshipType::Targets => &["identity", "location"],
            RelationshipType::SameCell | RelationshipType::SamePlot => &["incident"],
            RelationshipType::PartOf | RelationshipType::AffiliatedWith => {
                &["threat-actor", "intrusion-set"]
            }
        }
    }

    /// Whether an edge of this type between ids of these types follows the table above.
    ///
    /// ```
    /// use incident::RelationshipType;
    /// let part_of = RelationshipType::PartOf;
    /// assert!(part_of.allows("threat-actor--0a1b2c3d-0000-4000-8000-000000000000", "threat-actor--0a1b2c3d-0000-4000-8000-000000000001"));
    /// assert!(!part_of.allows("incident--0a1b2c3d-0000-4000-8000-000000000000", "threat-actor--0a1b2c3d-0000-4000-8000-000000000001"));
    /// ```
    pub fn allows(self, source_ref: &str, target_ref: &str) -> bool {
        let type_of = |id: &str| id.split_once("--").map(|(t, _)| t.to_string());
        match (type_of(source_ref), type_of(target_ref)) {
            (Some(source), Some(target)) => {
                self.source_types().contains(&source.as_str())
                    && self.target_types().contains(&target.as_str())
            }
            _ => false,
        }
    }
}

impl fmt::Display for RelationshipType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a text is a valid STIX relationship type (lower-case letters, digits, hyphens).
pub fn is_valid_relationship_type(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_round_trip() {
        for kind in RelationshipType::ALL {
            assert!(is_valid_relationship_type(kind.as_str()));
            assert_eq!(RelationshipType::parse(kind.as_str()), Some(*kind));
        }
        assert!(!is_valid_relationship_type("Same Cell"));
        assert_eq!(RelationshipType::parse("uses"), None);
    }
}
