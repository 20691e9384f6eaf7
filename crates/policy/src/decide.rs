//! The decision on one object alone, for a partner of role `partner`: its markings against the
//! rules, its provenance, and the redactions of the rules that release it. What the object
//! refers to is the business of [`crate::closure`]; this module never sees other objects.

use serde_json::{Map, Value};
use stix::Object;

use crate::decision::{Basis, Reason, Redaction};
use crate::facts::ReleaseFacts;
use crate::model::{LocationPrecision, Partner, Provenance, Redact, Rule};
use crate::policy::Policy;
use crate::tlp::{Tlp, is_published_form, is_tlp_marking, most_restrictive, published_definition};

/// The deepest JSON nesting the policy walks; deeper objects are withheld. The same bound as
/// validation's, so every valid object fits.
pub const JSON_DEPTH_MAX: usize = stix::validate::DEPTH_MAX;

/// Properties every object keeps, whatever the redaction: without them it is not STIX.
const COMMON_REQUIRED: &[&str] = &["type", "id", "spec_version", "created", "modified"];

/// What a coarsened `location` keeps besides its location fields. Everything else goes: `name`
/// and `description` are free text that often names the street or the building, `labels` and
/// `external_references` can carry map links or gazetteer ids of the exact place, and extensions
/// and custom properties are unknown.
const LOCATION_COMMON_KEPT: &[&str] = &[
    "type",
    "spec_version",
    "id",
    "created",
    "modified",
    "created_by_ref",
    "revoked",
    "confidence",
    "lang",
    "object_marking_refs",
    "granular_markings",
];

/// An object cleared on its own, before closure.
#[derive(Debug)]
pub(crate) struct Cleared {
    pub basis: Basis,
    pub copy: Map<String, Value>,
    pub redactions: Vec<Redaction>,
}

/// Decides an object for a partner of role `partner`. `rules` are the rules whose audience holds
/// the partner.
/// Takes the object, which becomes the copy when the rules leave it as it is (no deep copy).
pub(crate) fn evaluate(
    policy: &Policy,
    partner: &Partner,
    rules: &[&Rule],
    object: Object,
    provenance: &Provenance,
) -> Result<Cleared, Reason> {
    match assess(policy, partner, rules, &object, provenance)? {
        Assessment::Copied(cleared) => Ok(cleared),
        Assessment::ToRedact {
            basis,
            clearance,
            redact,
        } => {
            if copy_is_unchanged(&object, &redact) {
                return Ok(Cleared {
                    basis,
                    copy: object.into_map(),
                    redactions: Vec::new(),
                });
            }
            let (copy, redactions) = redact_copy(policy, rules, &object, clearance, &redact)?;
            Ok(Cleared {
                basis,
                copy,
                redactions,
            })
        }
    }
}

/// Decides an object for a partner as [`evaluate`] does, without making the copy when the copy
/// would be the object as it is (no granular marking, nothing the rules redact is present):
/// `Ok(None)` then means cleared, with the copy equal to `object`. Closure asks this of every
/// referenced object, and only needs the copy's required references.
pub(crate) fn evaluate_in_place(
    policy: &Policy,
    partner: &Partner,
    rules: &[&Rule],
    object: &Object,
    provenance: &Provenance,
) -> Result<Option<Cleared>, Reason> {
    match assess(policy, partner, rules, object, provenance)? {
        Assessment::Copied(cleared) => Ok(Some(cleared)),
        Assessment::ToRedact {
            basis,
            clearance,
            redact,
        } => {
            if copy_is_unchanged(object, &redact) {
                return Ok(None);
            }
            let (copy, redactions) = redact_copy(policy, rules, object, clearance, &redact)?;
            Ok(Some(Cleared {
                basis,
                copy,
                redactions,
            }))
        }
    }
}

/// Whether [`redact_copy`] would return the object unchanged: it has no granular markings (the
/// only input of the granular enforcement and pruning), none of the properties `redact` removes,
/// and it is not a location to coarsen. Then nothing is removed, no redaction is recorded, and
/// neither the required-property check nor the re-validation can fail.
fn copy_is_unchanged(object: &Object, redact: &Redact) -> bool {
    let map = object.as_map();
    leaves_unchanged(
        object.object_type(),
        |property| map.contains_key(property),
        || map.keys().any(|k| k.starts_with("x_")),
        redact,
    )
}

/// [`copy_is_unchanged`] from the object's property names alone.
fn leaves_unchanged(
    object_type: &str,
    has: impl Fn(&str) -> bool,
    has_custom: impl Fn() -> bool,
    redact: &Redact,
) -> bool {
    let changes = has("granular_markings")
        || (redact.external_references && has("external_references"))
        || (redact.created_by_ref && has("created_by_ref"))
        || (redact.description && has("description"))
        || (redact.custom_properties && has_custom())
        || redact.properties.iter().any(|p| has(p))
        || (object_type == "location" && redact.location.kept_properties().is_some());
    !changes
}

/// What the decision on a referenced object is, from its facts alone.
#[derive(Debug, Clone)]
pub(crate) enum FactsVerdict {
    /// Withheld on its own, for this reason.
    Withheld(Reason),
    /// Cleared on this basis, and the copy is the object as held: its required references
    /// are the facts'.
    Cleared(Basis),
    /// The facts do not settle it (a marking definition, granular markings, or a rule that
    /// would redact the copy): decide from the object.
    NeedsObject,
}

/// Decides a referenced object from its facts as [`evaluate_in_place`] decides it from the
/// object, whenever that decision does not depend on more than the facts hold.
pub(crate) fn assess_facts(
    policy: &Policy,
    partner: &Partner,
    rules: &[&Rule],
    facts: &ReleaseFacts,
) -> FactsVerdict {
    // Marking definitions have rules of their own, and granular markings are enforced on values.
    if facts.object_type() == "marking-definition" || facts.has("granular_markings") {
        return FactsVerdict::NeedsObject;
    }
    if facts.is_too_deep() {
        return FactsVerdict::Withheld(Reason::TooDeep {
            depth_max: JSON_DEPTH_MAX,
        });
    }
    let markings = match markings_of(facts.markings()) {
        Ok(markings) => markings,
        Err(reason) => return FactsVerdict::Withheld(reason),
    };
    match assess_markings(
        policy,
        partner,
        rules,
        facts.object_type(),
        &markings,
        facts.provenance(),
    ) {
        Err(reason) => FactsVerdict::Withheld(reason),
        Ok((basis, _, redact)) => {
            if leaves_unchanged(
                facts.object_type(),
                |property| facts.has(property),
                || facts.has_custom_properties(),
                &redact,
            ) {
                FactsVerdict::Cleared(basis)
            } else {
                FactsVerdict::NeedsObject
            }
        }
    }
}

/// What [`assess`] found: a decided copy (published TLP definitions, sharing-group markings),
/// or a clearance whose redactions are still to apply.
enum Assessment {
    Copied(Cleared),
    ToRedact {
        basis: Basis,
        clearance: Tlp,
        redact: Redact,
    },
}

fn assess(
    policy: &Policy,
    partner: &Partner,
    rules: &[&Rule],
    object: &Object,
    provenance: &Provenance,
) -> Result<Assessment, Reason> {
    if object
        .as_map()
        .values()
        .map(|v| json_depth(v, 0))
        .max()
        .unwrap_or(0)
        > JSON_DEPTH_MAX
    {
        return Err(Reason::TooDeep {
            depth_max: JSON_DEPTH_MAX,
        });
    }
    let object_type = object.object_type();

    // TLP marking definitions are public. Release the published form, whatever was stored.
    if object_type == "marking-definition"
        && let Some(published) = published_definition(object.id())
    {
        let redactions = if is_published_form(object.as_map()) {
            Vec::new()
        } else {
            vec![Redaction::ReplacedByPublishedDefinition]
        };
        return Ok(Assessment::Copied(Cleared {
            basis: Basis::PublishedTlpDefinition,
            copy: published.into_map(),
            redactions,
        }));
    }

    // A sharing-group marking definition goes to the audience of the rules that use it: they
    // must be able to read the marking on what they receive.
    if object_type == "marking-definition" {
        let naming: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| r.marking.as_deref() == Some(object.id()))
            .collect();
        if let Some(first) = naming.first() {
            let redact = naming
                .iter()
                .fold(Redact::default(), |all, r| all.union(&r.redact));
            let mut clearance = naming.iter().map(|r| r.tlp_max).max().unwrap_or(Tlp::Clear);
            if matches!(provenance, Provenance::Received { .. }) {
                clearance = clearance.min(Tlp::Green);
            }
            let (copy, redactions) = redact_copy(policy, rules, object, clearance, &redact)?;
            return Ok(Assessment::Copied(Cleared {
                basis: Basis::SharingGroupMarking {
                    rule: first.name.clone(),
                },
                copy,
                redactions,
            }));
        }
    }

    let markings = markings_of(object.get("object_marking_refs"))?;
    let (basis, clearance, redact) =
        assess_markings(policy, partner, rules, object_type, &markings, provenance)?;
    Ok(Assessment::ToRedact {
        basis,
        clearance,
        redact,
    })
}

/// The decision on an object that is not a marking definition, from its object-level markings:
/// the rules that release it (the basis), the clearance its granular markings are held to, and
/// the redactions to apply.
fn assess_markings(
    policy: &Policy,
    partner: &Partner,
    rules: &[&Rule],
    object_type: &str,
    markings: &[&str],
    provenance: &Provenance,
) -> Result<(Basis, Tlp, Redact), Reason> {
    for marking in markings {
        if !is_tlp_marking(marking)
            && !policy.is_group_marking(marking)
            && !policy.is_neutral_marking(marking)
        {
            return Err(Reason::UnknownMarking {
                marking_ref: marking.to_string(),
            });
        }
    }
    let tlp = most_restrictive(markings.iter().copied());
    let has_group_marking = markings.iter().any(|m| policy.is_group_marking(m));
    if tlp.is_none() && !has_group_marking {
        return Err(Reason::NoReleaseMarking);
    }

    // Receivers enforce too. CLEAR and GREEN may be passed on within the community; AMBER is
    // for the recipient's organisation, AMBER+STRICT for the organisation only, RED for the
    // named recipients, and an object received without TLP carries no permission to pass on.
    if let Provenance::Received { peer } = provenance
        && !matches!(tlp, Some(Tlp::Clear | Tlp::Green))
    {
        return Err(Reason::ReceivedUnderTlp {
            peer: peer.clone(),
            tlp,
        });
    }

    let candidates: Vec<&Rule> = rules
        .iter()
        .copied()
        .filter(|rule| rule.covers_type(object_type))
        .filter(|rule| match &rule.marking {
            None => tlp.is_some(),
            Some(marking) => markings.contains(&marking.as_str()),
        })
        .collect();
    let Some(clearance_max) = candidates.iter().map(|r| r.tlp_max).max() else {
        return Err(Reason::NoMatchingRule {
            partner: partner.name.clone(),
            object_type: object_type.to_string(),
        });
    };
    let matching: Vec<&Rule> = candidates
        .into_iter()
        .filter(|rule| tlp.is_none_or(|tlp| tlp <= rule.tlp_max))
        .collect();
    if matching.is_empty() {
        return Err(Reason::NotCleared {
            partner: partner.name.clone(),
            tlp,
            clearance: clearance_max,
        });
    }

    let mut clearance = matching
        .iter()
        .map(|r| r.tlp_max)
        .max()
        .expect("matching is not empty");
    if matches!(provenance, Provenance::Received { .. }) {
        clearance = clearance.min(Tlp::Green);
    }
    let redact = matching
        .iter()
        .fold(Redact::default(), |all, r| all.union(&r.redact));
    Ok((
        Basis::Rules(matching.iter().map(|r| r.name.clone()).collect()),
        clearance,
        redact,
    ))
}

/// The object-level markings, refusing a malformed `object_marking_refs`: a marking that cannot
/// be read may be a restriction, so it is not ignored.
fn markings_of(object_marking_refs: Option<&Value>) -> Result<Vec<&str>, Reason> {
    match object_marking_refs {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().ok_or_else(|| Reason::UnknownMarking {
                    marking_ref: format!("(not a string: {item})"),
                })
            })
            .collect(),
        Some(other) => Err(Reason::UnknownMarking {
            marking_ref: format!("(object_marking_refs is not a list: {other})"),
        }),
    }
}

/// The copy with granular markings enforced and the rule's redactions applied.
fn redact_copy(
    policy: &Policy,
    rules: &[&Rule],
    object: &Object,
    clearance: Tlp,
    redact: &Redact,
) -> Result<(Map<String, Value>, Vec<Redaction>), Reason> {
    let mut copy = object.as_map().clone();
    let mut redactions = Vec::new();

    enforce_granular_markings(policy, rules, &mut copy, clearance, &mut redactions)?;

    let remove =
        |copy: &mut Map<String, Value>, property: &str, redactions: &mut Vec<Redaction>| {
            if copy.remove(property).is_some() {
                redactions.push(Redaction::PropertyRemoved {
                    property: property.to_string(),
                });
            }
        };
    if redact.external_references {
        remove(&mut copy, "external_references", &mut redactions);
    }
    if redact.created_by_ref {
        remove(&mut copy, "created_by_ref", &mut redactions);
    }
    if redact.description {
        remove(&mut copy, "description", &mut redactions);
    }
    if redact.custom_properties {
        let custom: Vec<String> = copy
            .keys()
            .filter(|k| k.starts_with("x_"))
            .cloned()
            .collect();
        for property in custom {
            remove(&mut copy, &property, &mut redactions);
        }
    }
    for property in &redact.properties {
        remove(&mut copy, property, &mut redactions);
    }
    if object.object_type() == "location"
        && let Some(kept) = redact.location.kept_properties()
    {
        coarsen_location(&mut copy, redact.location, kept, &mut redactions);
    }
    prune_granular_markings(&mut copy);

    // A redaction may not remove what the type requires: the copy would not be STIX.
    let spec = stix::spec::type_spec(object.object_type());
    for property in object.as_map().keys() {
        if copy.contains_key(property) {
            continue;
        }
        let required = COMMON_REQUIRED.contains(&property.as_str())
            || spec.is_some_and(|spec| {
                spec.properties
                    .iter()
                    .any(|p| p.required && p.name == property)
            });
        if required {
            return Err(Reason::RequiredPropertyRedacted {
                property: property.clone(),
            });
        }
    }
    // Nor break a rule of STIX the original met (a location left with nothing to say where).
    if !redactions.is_empty() {
        let after = stix::validate::validate(&copy);
        if !after.is_empty() && object.validate().is_empty() {
            return Err(Reason::RedactionInvalidates {
                problems: after.iter().map(ToString::to_string).collect(),
            });
        }
    }
    Ok((copy, redactions))
}

fn coarsen_location(
    copy: &mut Map<String, Value>,
    precision: LocationPrecision,
    kept: &[&str],
    redactions: &mut Vec<Redaction>,
) {
    let removed: Vec<String> = copy
        .keys()
        .filter(|k| !LOCATION_COMMON_KEPT.contains(&k.as_str()) && !kept.contains(&k.as_str()))
        .cloned()
        .collect();
    if removed.is_empty() {
        return;
    }
    for property in &removed {
        copy.remove(property);
    }
    redactions.push(Redaction::LocationCoarsened { precision, removed });
}

/// The top-level property a granular marking selector points into (`external_references.[0].url`
/// selects within `external_references`). Granular markings are enforced on whole top-level
/// properties: removing more than the selector names is safe, removing less is not.
fn selector_property(selector: &str) -> &str {
    let end = selector.find(['.', '[']).unwrap_or(selector.len());
    &selector[..end]
}

/// Removes the properties that granular markings restrict beyond the partner's clearance, with
/// the markings themselves. A granular TLP marking no more restrictive than the clearance stays
/// (the partner must see it to honour it); a sharing-group marking is honoured when a rule with
/// that marking names the partner; a neutral marking restricts nothing; any other marking
/// removes what it marks.
fn enforce_granular_markings(
    policy: &Policy,
    rules: &[&Rule],
    copy: &mut Map<String, Value>,
    clearance: Tlp,
    redactions: &mut Vec<Redaction>,
) -> Result<(), Reason> {
    let Some(entries) = copy.get("granular_markings") else {
        return Ok(());
    };
    let Value::Array(entries) = entries else {
        return Err(Reason::UnknownMarking {
            marking_ref: "(granular_markings is not a list)".to_string(),
        });
    };
    let mut kept = Vec::new();
    let mut restricted: Vec<(String, String)> = Vec::new();
    for entry in entries {
        let malformed = || Reason::UnknownMarking {
            marking_ref: format!("(malformed granular marking: {entry})"),
        };
        let selectors: Vec<&str> = entry
            .get("selectors")
            .and_then(Value::as_array)
            .ok_or_else(malformed)?
            .iter()
            .map(|s| s.as_str().ok_or_else(malformed))
            .collect::<Result<_, _>>()?;
        let marking_ref = match entry.get("marking_ref") {
            Some(Value::String(marking_ref)) => marking_ref.as_str(),
            // A language marking restricts nothing.
            None if entry.get("lang").is_some_and(Value::is_string) => {
                kept.push(entry.clone());
                continue;
            }
            _ => return Err(malformed()),
        };
        let allowed = match crate::tlp::Tlp::from_marking_id(marking_ref) {
            Some(tlp) => tlp <= clearance,
            None => {
                policy.is_neutral_marking(marking_ref)
                    || rules
                        .iter()
                        .any(|r| r.marking.as_deref() == Some(marking_ref))
            }
        };
        if allowed {
            kept.push(entry.clone());
        } else {
            for selector in selectors {
                restricted.push((
                    selector_property(selector).to_string(),
                    marking_ref.to_string(),
                ));
            }
        }
    }
    for (property, marking_ref) in restricted {
        if COMMON_REQUIRED.contains(&property.as_str()) || property == "object_marking_refs" {
            return Err(Reason::RequiredPropertyRedacted { property });
        }
        if copy.remove(&property).is_some() {
            redactions.push(Redaction::GranularMarkingApplied {
                property,
                marking_ref,
            });
        }
    }
    if kept.is_empty() {
        copy.remove("granular_markings");
    } else {
        copy.insert("granular_markings".to_string(), Value::Array(kept));
    }
    Ok(())
}

/// Drops granular marking selectors whose property is gone, and entries left without any, so
/// that the copy does not point at what it no longer holds.
pub(crate) fn prune_granular_markings(copy: &mut Map<String, Value>) {
    if !copy.contains_key("granular_markings") {
        return;
    }
    let present: Vec<String> = copy.keys().cloned().collect();
    let Some(Value::Array(entries)) = copy.get_mut("granular_markings") else {
        return;
    };
    for entry in entries.iter_mut() {
        if let Some(Value::Array(selectors)) = entry.get_mut("selectors") {
            selectors.retain(|s| {
                s.as_str()
                    .is_some_and(|s| present.iter().any(|p| p == selector_property(s)))
            });
        }
    }
    entries.retain(|entry| {
        entry
            .get("selectors")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty())
    });
    if entries.is_empty() {
        copy.remove("granular_markings");
    }
}

/// The nesting depth of a JSON value (a scalar is 0), stopping once past the bound.
pub(crate) fn json_depth(value: &Value, depth: usize) -> usize {
    if depth > JSON_DEPTH_MAX {
        return depth;
    }
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| json_depth(v, depth + 1))
            .max()
            .unwrap_or(depth + 1),
        Value::Object(map) => map
            .values()
            .map(|v| json_depth(v, depth + 1))
            .max()
            .unwrap_or(depth + 1),
        _ => depth,
    }
}
