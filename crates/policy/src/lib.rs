//! Release decisions: may this partner see this STIX object, and in what redacted form?
//!
//! Every object a Tessera node gives a partner (TAXII objects, manifests, pushes, duty-to-warn
//! alerts) goes through [`Releaser::release`], which answers [`Decision::Release`] with a
//! redacted copy and the list of redactions, or [`Decision::Withhold`] with a [`Reason`]. The
//! server and the federation send what it releases and the ledger records why.
//!
//! # Architecture invariants
//!
//! - **No IO.** This crate opens no file, socket or clock. It parses a policy from a string the
//!   caller read, and learns about other objects only through the caller's [`Resolver`].
//! - **Never release without a matching rule.** Default deny: an object with no release marking,
//!   an unknown marking, no rule for the partner, or a TLP above the rule's ceiling stays home.
//!   The only exceptions are the published TLP marking definitions (public, and released in their
//!   published form, not the stored copy) and a sharing-group marking definition, which goes to
//!   the audience of the rules that use it.
//! - **Never leak through a reference.** A released copy refers (through any `*_ref`/`*_refs`
//!   at any depth, or any other string that is a whole STIX id, such as a custom
//!   `x_related: "identity--..."`) only to objects released to the same partner, and to TLP
//!   marking definitions. A last check walks the copy before it leaves; if it finds anything
//!   else, it withholds.
//! - [`Release`] can only be made here: holding one is proof the policy produced it.
//!
//! # The rules, in order
//!
//! 1. **Analysts** (role `analyst`) see every object as stored: no rule, no redaction.
//! 2. **TLP marking definitions** are released in their published form.
//! 3. **Markings.** The object's TLP is the most restrictive TLP 1.0 or 2.0 marking in its
//!    `object_marking_refs`. A marking that is neither TLP, nor a rule's sharing-group marking,
//!    nor declared neutral withholds the object (it may restrict in ways the policy cannot
//!    honour). No TLP and no sharing-group marking: withheld (default deny).
//! 4. **Receivers enforce too.** An object received from a peer is passed on only under
//!    TLP:CLEAR or TLP:GREEN. AMBER+STRICT and RED never go beyond the node's analysts; neither
//!    does AMBER, which TLP limits to the recipient's organisation (and its clients, which a
//!    partner agency is not); nor an object received without TLP, which carries no permission
//!    to pass it on. Granular markings on a received object are enforced with a clearance of at
//!    most GREEN.
//! 5. **Rules.** A rule releases an object to its audience when the type matches and either the
//!    rule has no marking and the object's TLP is at most `tlp_max`, or the rule has a marking,
//!    the object carries it, and its TLP (if any) is at most `tlp_max`. All matching rules'
//!    redactions apply (their union, and the coarsest location).
//! 6. **Granular markings** are enforced on whole top-level properties: a property under a TLP
//!    granular marking above the partner's clearance is removed with the marking; so is one under
//!    a sharing-group marking of another audience or an unknown marking. Neutral markings and
//!    markings the partner is cleared for stay.
//! 7. **Redactions**: `external_references`, `created_by_ref` (source protection),
//!    `description`, every `x_*` property, named properties, and location coarsening. A coarsened
//!    `location` keeps only the common properties and the fields of its precision (`region`,
//!    `country`, `administrative_area`): latitude, longitude, precision, city, street address,
//!    postal code, and also `name`, `description`, `labels`, `external_references`, extensions and
//!    custom properties go, because each can name the exact place. A redaction that removes a
//!    property the type requires, or makes a valid object invalid (a location with only
//!    coordinates, coarsened to country), withholds the object instead.
//! 8. **Closure** (see [`closure`] for the exact semantics and cost): a
//!    relationship, sighting, report, note, opinion, grouping or observed-data is released only
//!    if its required references are (each of `source_ref`, `target_ref`, `sighting_of_ref`,
//!    `object_ref`; at least one of `object_refs`). Optional references to unreleased objects
//!    are removed from the copy; `object_marking_refs` keeps only visible marking definitions.
//!
//! **Identities.** An `identity` is an object like any other: it is released only under its
//! own release marking and a rule. The creator of a released object is not released with it: if
//! the creator's identity is not released to the partner, `created_by_ref` is removed from the
//! copy (and a rule with `created_by_ref = true` removes it always, for source protection). Mark
//! the node's own identity TLP:CLEAR or TLP:GREEN if partners should see who sent them what.
//!
//! # The policy file
//!
//! [`Policy::from_toml_str`] parses it, [`Policy::to_toml_string`] writes it back; the edit
//! methods ([`Policy::add_partner`], [`Policy::add_rule`], ...) serve the CLI. A policy with any
//! problem is refused as a whole, every problem named with its path and line and how to fix it.
//! Unknown keys are errors, so a misspelt redaction cannot be silently ignored.
//!
//! ```toml
#![doc = include_str!("../policy.example.toml")]
//! ```
//!
//! # Example
//!
//! ```
//! use policy::{Decision, Held, Policy, Provenance, Tlp};
//! use serde_json::json;
//! use stix::Object;
//!
//! let policy = Policy::from_toml_str(include_str!("../policy.example.toml"))?;
//! let indicator = Object::from_value(json!({
//!     "type": "indicator", "spec_version": "2.1",
//!     "id": "indicator--bb68e487-a221-4b47-9d44-5c2b03f668a7",
//!     "created": "2024-03-22T10:00:00.000Z", "modified": "2024-03-22T10:00:00.000Z",
//!     "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
//!     "valid_from": "2024-03-22T10:00:00Z",
//!     "created_by_ref": "identity--5d6f55e7-d337-42a9-89ef-658976546091",
//!     "object_marking_refs": [Tlp::Amber.marking_id()],
//! }))
//! .expect("a STIX object");
//! let nothing_else_held = |_: &str| -> Option<Held> { None };
//!
//! // bfv is cleared up to AMBER+STRICT for indicators; the creator is not released to it.
//! let decision = policy.release(&indicator, &Provenance::Local, "bfv", &nothing_else_held);
//! let released = decision.released().expect("released to bfv");
//! assert!(released.object().get("created_by_ref").is_none());
//!
//! // aivd only gets GREEN.
//! let decision = policy.release(&indicator, &Provenance::Local, "aivd", &nothing_else_held);
//! assert!(matches!(decision, Decision::Withhold(_)));
//! # Ok::<(), policy::PolicyError>(())
//! ```

#![warn(missing_docs)]

pub mod closure;
mod decide;
mod decision;
mod error;
mod facts;
mod file;
mod model;
mod policy;
mod text_filter;
mod tlp;

pub use closure::{
    AsHeld, ClosureLimits, Held, Memberships, Releaser, Resolver, StoredDecision, StoredRelease,
};
pub use decide::JSON_DEPTH_MAX;
pub use decision::{Basis, Decision, Reason, Redaction, Release};
pub use error::{PolicyError, Problem, ProblemKind};
pub use facts::{FactsShare, ReleaseFacts};
pub use file::FORMAT_VERSION;
pub use model::{LocationPrecision, Partner, Provenance, Redact, Role, Rule, SharingGroup};
pub use policy::{NAME_LENGTH_MAX, Policy, RESERVED_PROPERTIES};
pub use tlp::{
    TLP_MARKINGS, TLP2_EXTENSION_ID, Tlp, TlpMarking, TlpVersion, is_tlp_marking, most_restrictive,
    published_definition, tlp_marking,
};
