//! Tessera's counter-terrorism domain model.
//!
//! This crate says what a terrorist incident, a group and a corroboration are in Tessera, on top
//! of STIX 2.1 (the [`stix`] crate):
//!
//! - [`extension`]: Tessera's property extension of STIX `incident` (date and its precision, GTD
//!   attack, weapon and target types, casualties as low/best/high, suicide, claims, perpetrator
//!   uncertainty, GTD `INT_LOG`/`INT_IDEO`, location precision), its `extension-definition` and
//!   JSON Schema; [`vocab`] holds the vocabularies and their GTD, UCDP, ACLED and CAMEO mappings;
//!   [`Incident`] builds and reads incidents.
//! - [`relationship`]: the relationship types around incidents and groups (`attributed-to`,
//!   `located-at`, `targets`, `same-cell`, `same-plot`, `part-of`, `affiliated-with`, ...).
//! - [`alias`]: folding of group names and an [`AliasIndex`] that resolves "Isis-K", "ISKP" and
//!   "Islamic State Khorasan Province" to one group.
//! - [`import`]: pure converters from UCDP GED and GDELT CSV and MISP galaxy JSON to STIX, with
//!   exact counts and a line-numbered report of every row they skip.
//! - [`corroborate`]: proposes which incidents from different sources describe one event.
//! - [`demo`]: the curated 2024 case bundle every node ships.
//!
//! Architecture invariants:
//! - **No IO.** Everything here parses from the bytes or strings its caller hands in and returns
//!   values; it never opens a file, a socket or a clock. Timestamps (`created`, `modified`) are
//!   arguments ([`Provenance`]).
//! - **Never rewrite a source object.** Reading an object takes a typed view of it; matching two
//!   reports of one incident proposes a link and leaves both objects as they are. Only an
//!   object's creator may version it.
//! - **Nothing invalid leaves.** Every STIX object this crate emits passes
//!   [`stix::validate::validate`] with no error. The public builders validate what they build
//!   and refuse an invalid object. On the UCDP bulk path, objects assembled only from checked
//!   parts (generated ids, constant types, validated coordinates, dates and counts) skip the
//!   validator in release builds for speed; debug builds, and so every test, still run it on
//!   each one.

pub mod alias;
pub mod corroborate;
pub mod country;
mod country_table;
pub mod date;
pub mod demo;
pub mod extension;
pub mod ids;
pub mod import;
pub mod incident;
pub mod relationship;
pub mod sdo;
pub mod vocab;

pub use alias::{AliasIndex, GroupId, fold};
pub use date::Date;
pub use extension::{
    CasualtyRange, IncidentExtension, extension_definition, tessera_identity, tlp_clear,
};
pub use incident::{Incident, IncidentError};
pub use relationship::RelationshipType;
pub use sdo::{
    BuildError, ExternalReference, Identity, Location, Provenance, Relationship, ThreatActor,
};
