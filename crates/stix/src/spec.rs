//! The STIX 2.1 object types as data: each type's category and properties with their STIX data
//! types, plus the cross-property rules that a table cannot express.
//!
//! The tables follow the specification's property tables (sections 4 to 7, STIX 2.1 Errata 01).
//! They are data on purpose: one reviewer can hold a table beside the spec and check it line by
//! line, and `tests/spec_tables.rs` holds them against the OASIS JSON schemas so they cannot
//! drift.
//!
//! - `spec/tables.rs` lists every type ([`TYPES`]) with its own properties.
//! - `spec/extensions.rs` lists the predefined SCO extensions (`archive-ext`, `ntfs-ext`, ...).
//! - `spec/rules.rs` holds the MUSTs that span several properties ("at least one of", "later than",
//!   "must not be present when ...").
//!
//! Architecture invariant: this module knows nothing about the common properties (`type`, `id`,
//! `created`, markings, ...): `validate` owns those. A table lists a common property only where a
//! type makes it required (`created_by_ref` on `extension-definition`), and then as
//! [`Kind::Any`], so that a bad value is reported once, by `validate`.
//!
//! # Example
//!
//! ```
//! use stix::spec::{self, Category};
//!
//! let malware = spec::type_spec("malware").expect("malware is a STIX 2.1 type");
//! assert_eq!(malware.category, Category::Sdo);
//! assert!(malware.properties.iter().any(|p| p.name == "is_family" && p.required));
//! assert_eq!(spec::category_of("x-mitre-tactic"), Category::Custom);
//! ```

mod extensions;
mod rules;
mod tables;

use serde_json::{Map, Value};

use crate::validate::Checker;

pub use self::extensions::{ExtensionSpec, PREDEFINED_EXTENSIONS, predefined_extension};
pub use self::tables::TYPES;

/// What family an object type belongs to; it decides which common properties apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// STIX Domain Object.
    Sdo,
    /// STIX Relationship Object.
    Sro,
    /// STIX Cyber-observable Object.
    Sco,
    /// `marking-definition`, `extension-definition`, `language-content`.
    Meta,
    /// A type the specification does not define (`x-mitre-tactic`, a new-sdo extension, ...).
    Custom,
}

/// A STIX data type, as a property table names it (section 2).
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Presence only; the shape is checked by a type rule or by `validate`.
    Any,
    String,
    Boolean,
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Float {
        min: Option<f64>,
        max: Option<f64>,
    },
    Timestamp,
    /// A timestamp that must carry at least millisecond precision.
    TimestampMillis,
    /// An identifier whose type is one of these (empty: any type; see `ANY_SDO`, `ANY_SCO`).
    Identifier(&'static [&'static str]),
    /// A closed vocabulary or enumeration.
    Enum(&'static [&'static str]),
    Hex,
    Binary,
    Hashes,
    Dictionary,
    /// An embedded object with its own property table.
    Object(&'static [Prop]),
    /// A non-empty list of the inner kind.
    List(&'static Kind),
}

/// One property of a type.
#[derive(Debug, Clone, Copy)]
pub struct Prop {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

/// A required property.
pub const fn req(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: true,
    }
}

/// An optional property.
pub const fn opt(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: false,
    }
}

/// A type defined by the specification.
#[derive(Debug)]
pub struct TypeSpec {
    pub name: &'static str,
    pub category: Category,
    /// The type's own properties (the common ones are checked in `validate`).
    pub properties: &'static [Prop],
}

/// `extension-type-enum` (section 10.5).
pub const EXTENSION_TYPES: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

/// `external-reference` (section 2.5).
pub const EXTERNAL_REFERENCE: &[Prop] = &[
    req("source_name", Kind::String),
    opt("description", Kind::String),
    opt("url", Kind::String),
    opt("hashes", Kind::Hashes),
    opt("external_id", Kind::String),
];

/// `kill-chain-phase` (section 2.11).
pub const KILL_CHAIN_PHASE: &[Prop] = &[
    req("kill_chain_name", Kind::String),
    req("phase_name", Kind::String),
];

/// The specification of a type, or `None` for a custom type.
///
/// Called once per object on bulk imports, so it is a binary search over [`TYPES`], which is
/// kept sorted by name (a test asserts it): about six short string comparisons.
pub fn type_spec(name: &str) -> Option<&'static TypeSpec> {
    TYPES
        .binary_search_by(|t| t.name.cmp(name))
        .ok()
        .map(|i| &TYPES[i])
}

/// The category of a type name; custom types are `Category::Custom`.
pub fn category_of(name: &str) -> Category {
    type_spec(name).map_or(Category::Custom, |t| t.category)
}

/// Rules of one type that span several properties (e.g. `first_seen <= last_seen`). Types the
/// specification does not define have none.
pub fn check_type_rules(check: &mut Checker<'_>, object_type: &str, object: &Map<String, Value>) {
    rules::check(check, object_type, object);
}

/// Checks a predefined SCO extension (`archive-ext`, `ntfs-ext`, ...): its property table and
/// its own MUSTs. Other `-ext` keys are custom extensions (section 11.3, deprecated but allowed
/// on SCOs); their contents are not ours to judge, so they pass here. Whether an extension
/// belongs on the object's type is checked by [`check_type_rules`], which knows the type.
pub fn check_predefined_extension(
    check: &mut Checker<'_>,
    key: &str,
    body: &Map<String, Value>,
    path: &str,
) {
    extensions::check(check, key, body, path);
}
