//! STIX 2.1, losslessly.
//!
//! This crate is Tessera's model of Structured Threat Information Expression: it reads bundles
//! (STIX 2.0 is upgraded to 2.1 on the way in), validates every object against the MUSTs of the
//! specification, and gives each object version its canonical JSON (RFC 8785) and content hash.
//! Unknown types and custom properties are kept as they were received: an [`Object`] is the
//! received JSON with typed access on top, never a lossy projection of it.
//!
//! Architecture invariant: this crate does no IO. It parses from a reader its caller hands it
//! and never opens a file, a socket or a clock.

pub mod bundle;
pub mod canonical;
pub mod canonical_text;
pub mod id;
pub mod object;
pub mod spec;
pub mod strict;
pub mod timestamp;
pub mod upgrade;
pub mod validate;

pub use bundle::{BundleError, BundleReader, BundleVisitor};
pub use canonical::{canonical, canonical_object, content_hash};
pub use id::{IdentifierError, parse_identifier};
pub use object::{Object, ObjectError};
pub use spec::Category;
pub use timestamp::{Timestamp, TimestampError};
pub use upgrade::{reads_as_20, upgrade_from_20};
pub use validate::{Rule, ValidationError, validate};
