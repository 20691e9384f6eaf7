//! Fixed and deterministic identifiers.
//!
//! Tessera's own objects (its identity, the extension definition) have fixed ids so that every
//! node ships the same ones. Imported objects get UUIDv5 ids derived from [`NAMESPACE`] and a
//! natural key (source, type and, e.g., a folded group name or a dataset's event id): importing
//! the same file twice yields the same ids, which the store deduplicates on (`id`, `modified`).

use uuid::Uuid;

/// The UUIDv5 namespace under which Tessera derives every deterministic identifier.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x4553ea97_af9c_4345_8507_1b1c17c97ba8);

/// The identity of the Tessera project: creator of the incident extension definition and of the
/// curated demo case. Every node ships it unchanged.
pub const TESSERA_IDENTITY_ID: &str = "identity--e4436fbe-9ade-4464-800f-e06cc46ee194";

/// The `extension-definition` of Tessera's counter-terrorism incident property extension (v1).
pub const EXTENSION_DEFINITION_ID: &str =
    "extension-definition--d0afcfab-fd9d-4e27-8bab-d8393e8edfd4";

/// TLP:CLEAR (TLP 2.0), the marking definition that OASIS publishes for it.
pub const TLP_CLEAR_ID: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";

/// A deterministic STIX identifier `object_type--uuid5(NAMESPACE, key)`.
///
/// The key must name everything that makes the object distinct; callers build it as
/// `source|type|natural key` so that two sources never mint the same id (only an object's creator
/// may version it, and two sources' views of one group are two objects that a resolution index
/// relates, never one object that both rewrite).
///
/// ```
/// let a = incident::ids::deterministic_id("threat-actor", "ucdp-ged|threat-actor|is");
/// let b = incident::ids::deterministic_id("threat-actor", "ucdp-ged|threat-actor|is");
/// assert_eq!(a, b);
/// assert!(a.starts_with("threat-actor--"));
/// assert!(stix::parse_identifier(&a).is_ok());
/// ```
pub fn deterministic_id(object_type: &str, key: &str) -> String {
    // Written by hand rather than with `format!`: importers mint several ids per row.
    let mut buffer = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let uuid = Uuid::new_v5(&NAMESPACE, key.as_bytes());
    let mut id = String::with_capacity(object_type.len() + 2 + buffer.len());
    id.push_str(object_type);
    id.push_str("--");
    id.push_str(uuid.hyphenated().encode_lower(&mut buffer));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ids_are_valid_stix_identifiers() {
        for id in [TESSERA_IDENTITY_ID, EXTENSION_DEFINITION_ID, TLP_CLEAR_ID] {
            assert!(stix::parse_identifier(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn deterministic_ids_differ_by_key() {
        assert_ne!(
            deterministic_id("location", "a"),
            deterministic_id("location", "b")
        );
        let id = deterministic_id("location", "a");
        // Version 5, RFC 4122 variant.
        let uuid = &id["location--".len()..];
        assert_eq!(&uuid[14..15], "5");
    }
}
