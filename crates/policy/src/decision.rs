//! What a release decision says: [`Decision::Release`] with the redacted copy and everything done
//! to it, or [`Decision::Withhold`] with the reason. Both are meant for the ledger: a node must be
//! able to say what it released to whom, under which rule, and why it held something back.

use std::fmt;

use stix::Object;

use crate::model::LocationPrecision;
use crate::tlp::Tlp;

/// The outcome of asking whether a partner may see an object.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a decision must be acted on: send the released copy, or record the withholding"]
pub enum Decision {
    /// The partner may receive this copy.
    Release(Release),
    /// The partner may not see the object, for this reason.
    Withhold(Reason),
}

impl Decision {
    /// The released copy, if the object is released.
    pub fn released(&self) -> Option<&Release> {
        match self {
            Decision::Release(release) => Some(release),
            Decision::Withhold(_) => None,
        }
    }

    /// The reason, if the object is withheld.
    pub fn withheld(&self) -> Option<&Reason> {
        match self {
            Decision::Release(_) => None,
            Decision::Withhold(reason) => Some(reason),
        }
    }

    /// Whether the object is released.
    pub fn is_release(&self) -> bool {
        matches!(self, Decision::Release(_))
    }
}

/// A copy of an object that may go to one partner. Only this crate makes one: its fields are
/// private, so a `Release` in hand is proof that the policy produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub(crate) object: Object,
    pub(crate) basis: Basis,
    pub(crate) redactions: Vec<Redaction>,
    /// The copy is the object the decision was asked about, unchanged.
    pub(crate) unchanged: bool,
}

impl Release {
    /// The redacted copy to send.
    pub fn object(&self) -> &Object {
        &self.object
    }

    /// Why the object may go to this partner.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }

    /// Everything removed or changed on the way out, in the order it was done.
    pub fn redactions(&self) -> &[Redaction] {
        &self.redactions
    }

    /// Whether the copy is exactly the object the decision was asked about (nothing redacted,
    /// filtered or replaced), so that a caller holding that object's canonical text may send
    /// the text instead of serialising the copy again.
    pub fn is_unchanged(&self) -> bool {
        self.unchanged
    }

    /// The redacted copy, by value.
    pub fn into_object(self) -> Object {
        self.object
    }
}

/// Why an object may go to a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The receiver is one of the node's own analysts.
    Analyst,
    /// A TLP marking definition: public, released in its published form.
    PublishedTlpDefinition,
    /// A sharing-group marking definition named by this rule, released to the rule's audience so
    /// that they can read the marking they receive.
    SharingGroupMarking {
        /// The first rule (in policy order) that names the marking.
        rule: String,
    },
    /// These rules (names) release the object; their redactions were all applied.
    Rules(Vec<String>),
}

/// One change made to the released copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redaction {
    /// A top-level property was removed by a rule (`external_references`, `created_by_ref`,
    /// `description`, a custom or named property).
    PropertyRemoved {
        /// The property.
        property: String,
    },
    /// A `location` was coarsened; these properties were removed.
    LocationCoarsened {
        /// The precision released.
        precision: LocationPrecision,
        /// The properties removed.
        removed: Vec<String>,
    },
    /// A property under a granular marking the partner is not cleared for was removed, with
    /// that granular marking.
    GranularMarkingApplied {
        /// The top-level property removed.
        property: String,
        /// The granular marking that restricts it.
        marking_ref: String,
    },
    /// A granular marking entry was removed because its marking definition is not released to
    /// the partner (the property it marks was kept: the marking does not restrict it).
    GranularMarkingRemoved {
        /// The marking definition id.
        marking_ref: String,
    },
    /// A reference to an object not released to the partner was removed (at this JSON path).
    ReferenceRemoved {
        /// The JSON path of the property or list that held it.
        path: String,
        /// The id removed.
        ref_id: String,
    },
    /// A stored TLP marking definition differed from the published one; the published form was
    /// released instead.
    ReplacedByPublishedDefinition,
}

/// Why an object is withheld from a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The policy defines no partner of this name.
    UnknownPartner {
        /// The name asked for.
        partner: String,
    },
    /// Default deny: the object carries neither a TLP marking nor a sharing-group marking.
    NoReleaseMarking,
    /// The object carries a marking definition the policy knows nothing about (neither TLP,
    /// nor a rule's sharing-group marking, nor declared neutral). It may restrict distribution
    /// in ways the policy cannot honour, so the object stays home.
    UnknownMarking {
        /// The marking id, or a description of the malformed marking.
        marking_ref: String,
    },
    /// No rule releases objects of this type (with these markings) to the partner.
    NoMatchingRule {
        /// The partner's name.
        partner: String,
        /// The object's type.
        object_type: String,
    },
    /// Rules cover the object, but not at its TLP.
    NotCleared {
        /// The partner's name.
        partner: String,
        /// The object's TLP (`None` for an object with only a sharing-group marking).
        tlp: Option<Tlp>,
        /// The highest `tlp_max` of the rules that cover the object for the partner.
        clearance: Tlp,
    },
    /// The object came from a peer under a TLP (or without one) that forbids passing it on.
    ReceivedUnderTlp {
        /// The peer it came from.
        peer: String,
        /// Its TLP, if any.
        tlp: Option<Tlp>,
    },
    /// A required reference (`source_ref`, `target_ref`, `sighting_of_ref`, ...) points to an
    /// object the partner may not see.
    ReferenceWithheld {
        /// The property.
        property: String,
        /// The id it refers to.
        ref_id: String,
    },
    /// A required list of references (`object_refs`) has no entry the partner may see.
    RequiredListEmptied {
        /// The property.
        property: String,
    },
    /// A redaction removed a property the object's type requires.
    RequiredPropertyRedacted {
        /// The property.
        property: String,
    },
    /// The redacted copy breaks rules of STIX that the original met (e.g. a location with only
    /// coordinates, coarsened to country).
    RedactionInvalidates {
        /// The validation errors of the redacted copy.
        problems: Vec<String>,
    },
    /// The object is nested deeper than the policy walks.
    TooDeep {
        /// The bound, [`crate::JSON_DEPTH_MAX`].
        depth_max: usize,
    },
    /// Deciding the object needed more of the graph than the closure limits allow.
    ClosureLimit {
        /// `nodes_max` or `depth_max` (see [`crate::ClosureLimits`]).
        limit: &'static str,
        /// Its value.
        max: usize,
    },
    /// The referenced id is not held by the node (reported for ids, not for a released object).
    NotHeld,
    /// An internal check found a released copy that would break the policy's invariants. This
    /// is a bug; the object is withheld rather than risk a leak.
    InvariantBroken {
        /// What the check found.
        detail: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UnknownPartner { partner } => {
                write!(f, "no partner named {partner:?} in the policy")
            }
            Reason::NoReleaseMarking => {
                write!(
                    f,
                    "the object has no TLP or sharing-group marking (default deny)"
                )
            }
            Reason::UnknownMarking { marking_ref } => write!(
                f,
                "the object carries marking {marking_ref}, which the policy does not know; \
                 declare it in neutral_markings or use it in a rule"
            ),
            Reason::NoMatchingRule {
                partner,
                object_type,
            } => {
                write!(
                    f,
                    "no rule releases {object_type} objects with these markings to {partner}"
                )
            }
            Reason::NotCleared {
                partner,
                tlp,
                clearance,
            } => match tlp {
                Some(tlp) => write!(
                    f,
                    "{partner} is cleared up to {clearance}, the object is {tlp}"
                ),
                None => write!(f, "{partner} is cleared up to {clearance} for this object"),
            },
            Reason::ReceivedUnderTlp { peer, tlp } => match tlp {
                Some(tlp) => write!(
                    f,
                    "received from {peer} under {tlp}, which forbids passing it on"
                ),
                None => write!(
                    f,
                    "received from {peer} without TLP, so it is not passed on"
                ),
            },
            Reason::ReferenceWithheld { property, ref_id } => {
                write!(
                    f,
                    "{property} refers to {ref_id}, which is not released to this partner"
                )
            }
            Reason::RequiredListEmptied { property } => {
                write!(
                    f,
                    "none of the objects in {property} is released to this partner"
                )
            }
            Reason::RequiredPropertyRedacted { property } => {
                write!(
                    f,
                    "redaction removed {property}, which the object's type requires"
                )
            }
            Reason::RedactionInvalidates { problems } => {
                write!(
                    f,
                    "the redacted copy would be invalid STIX: {}",
                    problems.join("; ")
                )
            }
            Reason::TooDeep { depth_max } => {
                write!(f, "the object nests deeper than {depth_max} levels")
            }
            Reason::ClosureLimit { limit, max } => {
                write!(
                    f,
                    "deciding the object needs more than {limit} = {max} of the graph"
                )
            }
            Reason::NotHeld => write!(f, "the object is not held by this node"),
            Reason::InvariantBroken { detail } => {
                write!(f, "internal check failed (withheld to be safe): {detail}")
            }
        }
    }
}
