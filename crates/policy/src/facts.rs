//! Release facts: what closure needs to know about a referenced object, without the object.
//!
//! Deciding whether a *referenced* object is released looks at little of it: its type and id,
//! where the node got it, its `object_marking_refs`, which top-level properties it has (the
//! redactions of the rules that match it, and granular markings, look only at names), how
//! deeply it nests, and its required references. [`ReleaseFacts`] are exactly that, taken once
//! per stored version (a version never changes, and none of the facts depends on a policy or a
//! partner), so a server can keep them across requests and partners and decide a page's
//! thousands of references without parsing each referenced object.
//!
//! Facts decide only the common case: an object that is not a marking definition, carries no
//! granular markings, and whose copy the matching rules would leave as it is. Anything else is
//! decided from the object itself (see `crate::decide::assess_facts`), so facts never widen what
//! the object would get.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use stix::Object;

use crate::decide::{JSON_DEPTH_MAX, json_depth};
use crate::model::Provenance;

/// One required reference slot of an object: (property, whether it is a list, the ids).
pub(crate) type RequiredSlot = (String, bool, Vec<String>);

/// What a release decision about a referenced object needs from one stored version. Made only
/// by this crate, from the object ([`ReleaseFacts::of`]) or from its JSON text
/// ([`ReleaseFacts::from_json`]); both give the same facts.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseFacts {
    id: String,
    /// The parts many versions have in common are shared ([`FactsShare`]): a server keeping
    /// the facts of a million versions holds each type, marking list and set of property
    /// names once.
    object_type: Arc<str>,
    provenance: Provenance,
    too_deep: bool,
    markings: Option<Arc<Value>>,
    /// Top-level property names, each followed by a NUL (one allocation, not one per name).
    properties: Arc<str>,
    slots: Vec<RequiredSlot>,
}

/// Makes facts share the parts they have in common with facts shared before: the type, the
/// marking list and the set of property names. Holds at most [`FactsShare::PARTS_MAX`] parts
/// of each kind; past that, facts keep their own.
#[derive(Debug, Default)]
pub struct FactsShare {
    types: HashSet<Arc<str>>,
    properties: HashSet<Arc<str>>,
    /// By the marking list's JSON text.
    markings: HashMap<String, Arc<Value>>,
}

impl FactsShare {
    /// Most distinct parts of each kind kept for sharing.
    pub const PARTS_MAX: usize = 65_536;

    /// The same facts, holding shared parts where it can.
    pub fn share(&mut self, mut facts: ReleaseFacts) -> ReleaseFacts {
        facts.object_type = shared_str(&mut self.types, facts.object_type);
        facts.properties = shared_str(&mut self.properties, facts.properties);
        if let Some(markings) = facts.markings.take() {
            let text = markings.to_string();
            facts.markings = Some(match self.markings.get(&text) {
                Some(known) => Arc::clone(known),
                None if self.markings.len() < Self::PARTS_MAX => {
                    self.markings.insert(text, Arc::clone(&markings));
                    markings
                }
                None => markings,
            });
        }
        facts
    }
}

fn shared_str(known: &mut HashSet<Arc<str>>, text: Arc<str>) -> Arc<str> {
    match known.get(&*text) {
        Some(shared) => Arc::clone(shared),
        None if known.len() < FactsShare::PARTS_MAX => {
            known.insert(Arc::clone(&text));
            text
        }
        None => text,
    }
}

/// Ends each property name in [`ReleaseFacts::properties`].
const NAME_END: char = '\0';

fn push_name(names: &mut String, name: &str) {
    names.push_str(name);
    names.push(NAME_END);
}

/// Whether a property (at any depth) names references: every `*_ref` and `*_refs`. At the top
/// level, these may decide a membership (or are the markings).
pub(crate) fn is_reference_property(property: &str) -> bool {
    property.ends_with("_ref") || property.ends_with("_refs")
}

impl ReleaseFacts {
    /// The facts of an object version the node holds.
    pub fn of(object: &Object, provenance: &Provenance) -> ReleaseFacts {
        let map = object.as_map();
        let references: Map<String, Value> = map
            .iter()
            .filter(|(property, _)| is_reference_property(property))
            .map(|(property, value)| (property.clone(), value.clone()))
            .collect();
        ReleaseFacts {
            id: object.id().to_string(),
            object_type: object.object_type().into(),
            provenance: provenance.clone(),
            too_deep: map.values().map(|v| json_depth(v, 0)).max().unwrap_or(0) > JSON_DEPTH_MAX,
            markings: map.get("object_marking_refs").cloned().map(Arc::new),
            properties: map
                .keys()
                .fold(String::new(), |mut names, name| {
                    push_name(&mut names, name);
                    names
                })
                .into(),
            slots: crate::closure::required_slots(object.object_type(), &references),
        }
    }

    /// The facts of an object version from its JSON text (the store keeps canonical JSON),
    /// reading only the reference properties into values and skipping the rest. Fails where
    /// [`Object::from_slice`] would, and also on a property name with escapes: the caller then
    /// takes [`ReleaseFacts::of`] the parsed object.
    pub fn from_json(json: &[u8], provenance: &Provenance) -> Result<ReleaseFacts, String> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let scanned = de::Deserializer::deserialize_map(&mut deserializer, ScanVisitor)
            .map_err(|e| e.to_string())?;
        deserializer.end().map_err(|e| e.to_string())?;
        let (Some(id), Some(object_type)) = (scanned.id, scanned.object_type) else {
            return Err("an object needs a string type and id".to_string());
        };
        Ok(ReleaseFacts {
            slots: crate::closure::required_slots(&object_type, &scanned.references),
            markings: scanned
                .references
                .get("object_marking_refs")
                .cloned()
                .map(Arc::new),
            id,
            object_type: object_type.into(),
            provenance: provenance.clone(),
            too_deep: scanned.depth > JSON_DEPTH_MAX,
            properties: scanned.properties.into(),
        })
    }

    /// The object's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn object_type(&self) -> &str {
        &self.object_type
    }

    pub(crate) fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    pub(crate) fn is_too_deep(&self) -> bool {
        self.too_deep
    }

    pub(crate) fn markings(&self) -> Option<&Value> {
        self.markings.as_deref()
    }

    /// Whether the object has this top-level property. A name holding the separator is said to
    /// be present, which only ever sends the decision to the object itself.
    pub(crate) fn has(&self, property: &str) -> bool {
        property.contains(NAME_END) || self.names().any(|p| p == property)
    }

    /// Whether the object has a custom (`x_`) property; as conservative as [`Self::has`].
    pub(crate) fn has_custom_properties(&self) -> bool {
        self.names().any(|p| p.starts_with("x_"))
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.properties.split_terminator(NAME_END)
    }

    pub(crate) fn slots(&self) -> &[RequiredSlot] {
        &self.slots
    }

    /// What a decision from facts alone looks at, for facts of the node's own versions:
    /// every part but the id and the required references. Facts made by one [`FactsShare`]
    /// with the same shape hold the same parts, so a caller may key what it decided by the
    /// parts' addresses ([`ShapeKey`]) while it holds the parts ([`Shape`]), so that an
    /// address is not reused while it is a key. `None` for a received version (its
    /// provenance is part of the decision, and rarer).
    pub(crate) fn shape(&self) -> Option<(ShapeKey, Shape)> {
        let key = self.shape_key()?;
        Some((
            key,
            Shape {
                _object_type: Arc::clone(&self.object_type),
                _properties: Arc::clone(&self.properties),
                _markings: self.markings.clone(),
            },
        ))
    }

    /// The key of [`Self::shape`] alone, without taking the parts.
    pub(crate) fn shape_key(&self) -> Option<ShapeKey> {
        if self.provenance != Provenance::Local {
            return None;
        }
        Some(ShapeKey {
            object_type: Arc::as_ptr(&self.object_type).cast::<u8>() as usize,
            properties: Arc::as_ptr(&self.properties).cast::<u8>() as usize,
            markings: self
                .markings
                .as_ref()
                .map_or(0, |m| Arc::as_ptr(m) as usize),
            too_deep: self.too_deep,
        })
    }
}

/// The addresses of a local version's shared parts (equal addresses are equal parts; equal
/// parts at different addresses only miss a cache), with its depth verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ShapeKey {
    object_type: usize,
    properties: usize,
    markings: usize,
    too_deep: bool,
}

/// Holds the parts a [`ShapeKey`] names, so that their addresses stay theirs.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    _object_type: Arc<str>,
    _properties: Arc<str>,
    _markings: Option<Arc<Value>>,
}

#[derive(Default)]
struct Scanned {
    id: Option<String>,
    object_type: Option<String>,
    references: Map<String, Value>,
    properties: String,
    depth: usize,
}

struct ScanVisitor;

impl<'de> Visitor<'de> for ScanVisitor {
    type Value = Scanned;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a STIX object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scanned, A::Error> {
        let mut scanned = Scanned::default();
        // Borrowed names only: a name with escapes fails the scan, and the caller parses.
        while let Some(property) = map.next_key::<&'de str>()? {
            let depth = match property {
                "id" | "type" => {
                    let value: Value = map.next_value()?;
                    let depth = json_depth(&value, 0);
                    if let Value::String(text) = value {
                        if property == "id" {
                            scanned.id = Some(text);
                        } else {
                            scanned.object_type = Some(text);
                        }
                    }
                    depth
                }
                _ if is_reference_property(property) => {
                    let value: Value = map.next_value()?;
                    let depth = json_depth(&value, 0);
                    scanned.references.insert(property.to_string(), value);
                    depth
                }
                _ => map.next_value_seed(Depth)?,
            };
            scanned.depth = scanned.depth.max(depth);
            push_name(&mut scanned.properties, property);
        }
        Ok(scanned)
    }
}

/// Skips a value, answering its nesting depth as `decide::json_depth` counts it (a scalar is 0,
/// a list or map one more than its deepest member, at least 1).
struct Depth;

impl<'de> DeserializeSeed<'de> for Depth {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_any(DepthVisitor)
    }
}

struct DepthVisitor;

impl<'de> Visitor<'de> for DepthVisitor {
    type Value = usize;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_i64<E>(self, _: i64) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_u64<E>(self, _: u64) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_f64<E>(self, _: f64) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_str<E>(self, _: &str) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_unit<E>(self) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut depth = 1;
        while let Some(inner) = seq.next_element_seed(Depth)? {
            depth = depth.max(inner + 1);
        }
        Ok(depth)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut depth = 1;
        while map.next_key::<IgnoredAny>()?.is_some() {
            depth = depth.max(map.next_value_seed(Depth)? + 1);
        }
        Ok(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn both(value: Value, provenance: &Provenance) -> (ReleaseFacts, ReleaseFacts) {
        let object = Object::from_value(value).expect("an object");
        let text = stix::canonical::canonical_object(object.as_map());
        (
            ReleaseFacts::of(&object, provenance),
            ReleaseFacts::from_json(&text, provenance).expect("scanned"),
        )
    }

    /// Shared facts are the same facts; versions of one shape hold one copy of each part, and a
    /// different marking list stays its own.
    #[test]
    fn shared_facts_are_equal_and_hold_one_copy_of_common_parts() {
        let mut share = FactsShare::default();
        let green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
        let amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
        let facts = |n: u32, marking: &str| {
            both(
                json!({
                    "type": "attack-pattern", "spec_version": "2.1",
                    "id": format!("attack-pattern--6a2a0a8e-3b4b-4f4f-9b9b-0c0c0c0c{n:04x}"),
                    "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
                    "name": "x", "object_marking_refs": [marking],
                }),
                &Provenance::Local,
            )
            .1
        };
        let (a, b, c) = (facts(1, green), facts(2, green), facts(3, amber));
        let (sa, sb, sc) = (
            share.share(a.clone()),
            share.share(b.clone()),
            share.share(c.clone()),
        );
        assert_eq!((&sa, &sb, &sc), (&a, &b, &c));
        assert!(Arc::ptr_eq(&sa.object_type, &sb.object_type));
        assert!(Arc::ptr_eq(&sa.properties, &sc.properties));
        let marking = |f: &ReleaseFacts| Arc::clone(f.markings.as_ref().unwrap());
        assert!(Arc::ptr_eq(&marking(&sa), &marking(&sb)));
        assert!(!Arc::ptr_eq(&marking(&sa), &marking(&sc)));
        assert_eq!(sc.markings(), Some(&json!([amber])));
    }

    #[test]
    fn the_scan_and_the_object_give_the_same_facts() {
        let (of, scanned) = both(
            json!({
                "type": "relationship", "id": "relationship--6a2a0a8e-3b4b-4f4f-9b9b-0c0c0c0c0c0c",
                "source_ref": "indicator--6a2a0a8e-3b4b-4f4f-9b9b-0c0c0c0c0c01",
                "target_ref": "malware--6a2a0a8e-3b4b-4f4f-9b9b-0c0c0c0c0c02",
                "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
                "x_nested": {"a": [[{"b": [1, 2.5, null, true]}]], "c": {}},
                "description": "with \"escapes\" \u{e9}",
                "external_references": [{"source_name": "x", "external_id": "T1"}],
            }),
            &Provenance::Received { peer: "bfv".into() },
        );
        assert_eq!(of, scanned);
        assert_eq!(scanned.slots().len(), 2);
        assert!(scanned.has("x_nested") && scanned.has_custom_properties());
        assert!(!scanned.is_too_deep());
    }

    #[test]
    fn depth_is_counted_as_the_decision_counts_it() {
        let mut deep = json!("leaf");
        for _ in 0..=JSON_DEPTH_MAX {
            deep = json!([deep]);
        }
        let (of, scanned) = both(
            json!({"type": "x-deep", "id": "x-deep--6a2a0a8e-3b4b-4f4f-9b9b-0c0c0c0c0c0c", "x_v": deep}),
            &Provenance::Local,
        );
        assert_eq!(of, scanned);
        assert!(scanned.is_too_deep());
    }

    #[test]
    fn text_that_is_not_an_object_is_refused() {
        for text in [
            &b"[1]"[..],
            b"{\"type\":\"x\"}",
            b"{\"id\":1,\"type\":\"x\"}",
            b"{} x",
        ] {
            assert!(ReleaseFacts::from_json(text, &Provenance::Local).is_err());
        }
    }
}
