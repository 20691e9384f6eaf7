//! A stored version's canonical text, decided on as it is: the scan for the ids it may refer to
//! ([`candidate_references`], which also marks its members), and the release filter run on the
//! text instead of the parsed object ([`filter`]).
//!
//! A partner's page of a million-object collection carries, one page in eleven, an ATT&CK
//! `x-mitre-collection` of 200 KB whose contents name 1,800 objects, a quarter of them withheld.
//! Parsing it into values, filtering them and writing them back out took most of that page's
//! time; this walks the text once and writes the copy as it goes.
//!
//! It is exact or it declines: the copy, the redactions and their order are those
//! `finish_copy` gives for the parsed object (the stored text is canonical, RFC 8785, so leaving
//! out members and items of it is the canonical text of the filtered object). Whatever it cannot
//! match byte for byte, it declines (`None`), and the caller filters the parsed object: text
//! that is not canonical, names with escapes or beyond ASCII (whose order a parsed map may
//! differ on), granular markings (which the copy prunes), too deep a value, a required
//! reference withheld, and an id-shaped string the last check would refuse.

use std::borrow::Cow;

use stix::canonical_text::Reader;

use crate::closure::{is_reference, is_required_list, is_required_single, refers};
use crate::decide::JSON_DEPTH_MAX;
use crate::decision::Redaction;
use crate::facts::is_reference_property;

/// The canonical text of a stored object with every reference `visible` refuses removed, as
/// the release filter removes them, and the removals in order; `None` where the parsed object
/// must decide (see the module's documentation). The text is the one `scan` read
/// ([`candidate_references`]): a member whose candidates are all visible is copied as it is,
/// unread.
pub(crate) fn filter(
    scan: &Scan<'_>,
    object_type: &str,
    visible: &dyn Fn(&str) -> bool,
) -> Option<(Vec<u8>, Vec<Redaction>)> {
    let mut filter = TextFilter {
        reader: Reader::from_text(scan.text),
        out: Vec::with_capacity(scan.text.len()),
        removed: Vec::new(),
        path: String::new(),
        visible,
    };
    filter.top(scan, object_type)?;
    Some((filter.out, filter.removed))
}

/// What [`candidate_references`] found in an object's text.
pub(crate) struct Scan<'t> {
    /// The text scanned.
    text: &'t str,
    /// The candidates, in text order.
    pub ids: Vec<Cow<'t, str>>,
    members: Vec<Member<'t>>,
}

/// A top-level member: its name, its value's place in the text, and where its candidates end
/// in [`Scan::ids`] (they start where the previous member's end).
struct Member<'t> {
    name: &'t str,
    value_start: usize,
    value_end: usize,
    ids_end: usize,
}

/// Every string of an object's canonical text that could be a reference: each string value, at
/// any depth, that contains `--` (every reference walk of this crate and of `stix` looks only at
/// such strings), except the object's own top-level `id`. A superset: a release decided on
/// these is at least as strict as one decided on the references the walks find. `None` for
/// text that is not canonical, holds a name with escapes or beyond ASCII, or is nested deeper
/// than a stored object may be.
pub(crate) fn candidate_references(json: &[u8]) -> Option<Scan<'_>> {
    fn strings<'t>(
        reader: &mut Reader<'t>,
        out: &mut Vec<Cow<'t, str>>,
        depth: usize,
    ) -> Option<()> {
        if depth > JSON_DEPTH_MAX {
            return None;
        }
        match reader.peek()? {
            b'"' => {
                let (_, value) = reader.string()?;
                if is_reference(&value) {
                    out.push(value);
                }
            }
            b'[' => {
                reader.expect(b'[')?;
                let mut first = true;
                while reader.next(b']', first)? {
                    first = false;
                    strings(reader, out, depth + 1)?;
                }
            }
            b'{' => reader.members(|reader, _| strings(reader, out, depth + 1))?,
            _ => {
                reader.scalar()?;
            }
        }
        Some(())
    }
    let mut reader = Reader::new(json)?;
    let mut ids = Vec::new();
    let mut members = Vec::new();
    reader.members(|reader, name| {
        let value_start = reader.at();
        if name == "id" {
            reader.skip(JSON_DEPTH_MAX)?;
        } else {
            strings(reader, &mut ids, 0)?;
        }
        members.push(Member {
            name,
            value_start,
            value_end: reader.at(),
            ids_end: ids.len(),
        });
        Some(())
    })?;
    reader.is_done().then_some(Scan {
        text: reader.text(),
        ids,
        members,
    })
}

/// What became of a value.
enum Kept {
    /// Written to the copy.
    Kept,
    /// Left out of the copy (a reference not visible, or a list of references emptied).
    Removed,
}

struct TextFilter<'t, 'v> {
    reader: Reader<'t>,
    out: Vec<u8>,
    /// Each reference removed, as `finish_copy` records it.
    removed: Vec<Redaction>,
    /// One buffer extended and cut back, as `filter_value` builds paths.
    path: String,
    visible: &'v dyn Fn(&str) -> bool,
}

impl TextFilter<'_, '_> {
    /// The object's top-level members, as `filter_references` treats them.
    fn top(&mut self, scan: &Scan<'_>, object_type: &str) -> Option<()> {
        self.out.push(b'{');
        let mut ids_start = 0;
        for member in &scan.members {
            let property = member.name;
            let ids = &scan.ids[ids_start..member.ids_end];
            ids_start = member.ids_end;
            if property == "granular_markings" {
                return None;
            }
            let mark = self.out.len();
            if mark > 1 {
                self.out.push(b',');
            }
            self.write_name(property);
            // Nothing to remove and nothing the last check could refuse (every reference a
            // walk finds is a candidate): the member as it is.
            if property == "id" || ids.iter().all(|id| (self.visible)(id)) {
                let value = &self.reader.text().as_bytes()[member.value_start..member.value_end];
                self.out.extend_from_slice(value);
                continue;
            }
            self.reader.rewind(member.value_start);
            if is_required_single(object_type, property) && self.reader.peek()? == b'"' {
                let (raw, value) = self.reader.string()?;
                if is_reference(&value) {
                    if !(self.visible)(&value) {
                        return None;
                    }
                    self.out.extend_from_slice(raw.as_bytes());
                    continue;
                }
                self.reader.rewind(member.value_start);
            }
            self.path.clear();
            self.path.push_str(property);
            let (kept, references_left, had_reference) =
                self.value(is_reference_property(property), 0)?;
            if self.reader.at() != member.value_end {
                return None;
            }
            // A required list left with no reference withholds the object.
            if is_required_list(object_type, property) && had_reference && references_left == 0 {
                return None;
            }
            if let Kept::Removed = kept {
                if property == "type" {
                    return None;
                }
                self.out.truncate(mark);
            }
        }
        self.out.push(b'}');
        Some(())
    }

    /// Filters the value at the cursor under a key that is (or is inside) a reference key,
    /// writing what is kept. Returns what became of it and, for a list, how many of its direct
    /// items are references kept and whether it held any reference before.
    fn value(&mut self, reference_key: bool, depth: usize) -> Option<(Kept, usize, bool)> {
        if depth > JSON_DEPTH_MAX {
            return None;
        }
        match self.reader.peek()? {
            b'"' => {
                let (raw, value) = self.reader.string()?;
                // Only an id-shaped string (`type--...`) is a reference to any walk.
                let reference = is_reference(&value);
                if reference {
                    let visible = (self.visible)(&value);
                    if refers(reference_key, &value) && !visible {
                        self.removed.push(Redaction::ReferenceRemoved {
                            path: self.path.clone(),
                            ref_id: value.into_owned(),
                        });
                        return Some((Kept::Removed, 0, true));
                    }
                    // What the copy's last check would refuse: let the object decide.
                    if !visible {
                        return None;
                    }
                }
                self.out.extend_from_slice(raw.as_bytes());
                Some((Kept::Kept, usize::from(reference), reference))
            }
            b'[' => self.list(reference_key, depth),
            b'{' => {
                self.map(reference_key, depth)?;
                Some((Kept::Kept, 0, false))
            }
            _ => {
                let scalar = self.reader.scalar()?;
                self.out.extend_from_slice(scalar.as_bytes());
                Some((Kept::Kept, 0, false))
            }
        }
    }

    /// A list; of its items, only direct strings count as the references it holds (as
    /// `filter_references` counts them for a required list).
    fn list(&mut self, reference_key: bool, depth: usize) -> Option<(Kept, usize, bool)> {
        self.reader.expect(b'[')?;
        let mark = self.out.len();
        self.out.push(b'[');
        let base = self.path.len();
        let (mut index, mut written, mut references_left, mut had_reference) = (0, 0, 0, false);
        while self.reader.next(b']', index == 0)? {
            if !reference_key {
                use std::fmt::Write;
                // Writing to a String cannot fail.
                let _ = write!(self.path, "[{index}]");
            }
            let item_mark = self.out.len();
            if written > 0 {
                self.out.push(b',');
            }
            let is_string = self.reader.peek()? == b'"';
            let (kept, left, had) = self.value(reference_key, depth + 1)?;
            self.path.truncate(base);
            if is_string {
                had_reference |= had;
            }
            match kept {
                Kept::Kept => {
                    written += 1;
                    if is_string {
                        references_left += left;
                    }
                }
                Kept::Removed => self.out.truncate(item_mark),
            }
            index += 1;
        }
        // STIX lists are never empty: a list of references emptied by filtering goes.
        if reference_key && written == 0 && index > 0 {
            self.out.truncate(mark);
            return Some((Kept::Removed, 0, had_reference));
        }
        self.out.push(b']');
        Some((Kept::Kept, references_left, had_reference))
    }

    fn map(&mut self, reference_key: bool, depth: usize) -> Option<()> {
        self.reader.expect(b'{')?;
        self.out.push(b'{');
        let base = self.path.len();
        let (mut first_read, mut written) = (true, 0);
        while self.reader.next(b'}', first_read)? {
            first_read = false;
            let name = self.reader.name()?;
            let mark = self.out.len();
            if written > 0 {
                self.out.push(b',');
            }
            self.write_name(name);
            self.path.push('.');
            self.path.push_str(name);
            // Inside a reference property, every nested key is a reference key.
            let inner_reference = reference_key || is_reference_property(name);
            let (kept, _, _) = self.value(inner_reference, depth + 1)?;
            self.path.truncate(base);
            match kept {
                Kept::Kept => written += 1,
                Kept::Removed => self.out.truncate(mark),
            }
        }
        self.out.push(b'}');
        Some(())
    }

    fn write_name(&mut self, name: &str) {
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closure::finish_copy;
    use serde_json::{Value, json};

    fn filter_text(
        json: &[u8],
        object_type: &str,
        visible: &dyn Fn(&str) -> bool,
    ) -> Option<(Vec<u8>, Vec<Redaction>)> {
        filter(&candidate_references(json)?, object_type, visible)
    }

    const A: &str = "attack-pattern--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22";
    const B: &str = "malware--2a5dc8a5-6b7e-43f6-a4f9-2b43c5eb6de9";
    const C: &str = "identity--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b23";
    const D: &str = "tool--2a5dc8a5-6b7e-43f6-a4f9-2b43c5eb6de8";

    /// The text filter's answer, where it gives one, is `finish_copy`'s: the same canonical
    /// text and the same redactions in the same order. Returns whether it answered and whether
    /// `finish_copy` made a copy.
    fn agrees(object: &Value, visible: &dyn Fn(&str) -> bool) -> (bool, bool) {
        let map = object.as_object().expect("an object").clone();
        let object_type = map["type"].as_str().expect("a type").to_string();
        let text = stix::canonical::canonical_object(&map);
        let by_text = filter_text(&text, &object_type, visible);
        let mut redactions = Vec::new();
        let by_object = finish_copy(map, &object_type, visible, &mut redactions)
            .ok()
            .map(|copy| stix::canonical::canonical_object(copy.as_map()));
        match by_text {
            Some((copy, removed)) => {
                assert_eq!(Some(&copy), by_object.as_ref(), "{object}");
                assert_eq!(removed, redactions, "{object}");
                (true, true)
            }
            None => (false, by_object.is_some()),
        }
    }

    fn subsets() -> Vec<Vec<&'static str>> {
        (0..16u8)
            .map(|mask| {
                [A, B, C, D]
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, id)| id)
                    .collect()
            })
            .collect()
    }

    /// Any JSON value, with keys that are and are not reference keys, strings that are the four
    /// ids, id-shaped non-ids, and plain text.
    fn value_strategy() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            proptest::sample::select(vec![A, B, C, D, "before--after", "x--", "plain", "a \"q\""])
                .prop_map(|s| json!(s)),
            any::<i32>().prop_map(|n| json!(n)),
            any::<bool>().prop_map(|b| json!(b)),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            let keys = proptest::sample::select(vec![
                "a",
                "b_ref",
                "c_refs",
                "object_ref",
                "x_list",
                "id",
                "type",
            ]);
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(keys, inner, 0..4).prop_map(|members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest::proptest! {
        // Cheap cases (about 30 µs each), so many of them: removals nested in lists of
        // objects are a small share of the values generated.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4_096))]

        /// Never a copy where the parsed object's filter gives none, and, where both give one,
        /// the same copy and the same redactions.
        #[test]
        fn never_releases_what_the_object_filter_refuses(
            object_type in proptest::sample::select(vec!["report", "relationship", "x-test"]),
            members in proptest::collection::btree_map(
                proptest::sample::select(vec![
                    "object_refs", "source_ref", "target_ref", "created_by_ref", "x_nested",
                    "x_mitre_contents", "x_related", "labels", "sample_refs",
                ]),
                value_strategy(),
                0..6,
            ),
            mask in 0..16u8,
        ) {
            let mut object = serde_json::Map::new();
            object.insert("type".into(), json!(object_type));
            object.insert(
                "id".into(),
                json!(format!("{object_type}--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3")),
            );
            for (name, value) in members {
                object.insert(name.to_string(), value);
            }
            let visible: Vec<&str> = [A, B, C, D]
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, id)| id)
                .collect();
            let (by_text, by_object) =
                agrees(&Value::Object(object), &|id: &str| visible.contains(&id));
            // `agrees` compared the copies; a copy from the text alone would be a leak.
            proptest::prop_assert!(!by_text || by_object);
        }
    }

    #[test]
    fn nested_references_are_filtered_as_the_object_filters_them() {
        let report = json!({
            "type": "report",
            "spec_version": "2.1",
            "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
            "created": "2024-03-22T00:00:00.000Z",
            "modified": "2024-03-22T00:00:00.000Z",
            "name": "Crocus \"City\" Hall \u{e9}",
            "published": "2024-03-22T00:00:00Z",
            "object_refs": [A, B, C],
            "created_by_ref": C,
            "confidence": 85,
            "x_score": -1.5e-7,
            "x_flag": true,
            "x_none": null,
            "x_related": D,
            "x_list": [A, "not an id", D],
            "x_nested": {"handler_ref": B, "inner": {"note": "n", "seen_refs": [C, D]}},
            "x_mitre_contents": [
                {"object_modified": "2024-01-01T00:00:00.000Z", "object_ref": A},
                {"object_modified": "2024-01-01T00:00:00.000Z", "object_ref": B},
                {"object_ref": D, "x_more": [[C], {"x": D}]}
            ],
            "x_holder_refs": [{"who_ref": A}, B],
        });
        let mut answered = 0;
        for visible in subsets() {
            let (by_text, by_object) = agrees(&report, &|id: &str| visible.contains(&id));
            // It declines only where the object is withheld (every object_refs entry gone).
            assert_eq!(by_text, by_object, "{visible:?}");
            answered += usize::from(by_text);
        }
        assert_eq!(answered, 14);
    }

    #[test]
    fn the_collection_of_ics_attack_is_filtered_as_its_object_is() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/stix/ics-attack-18.1.json");
        let bundle: Value =
            serde_json::from_slice(&std::fs::read(path).expect("ICS ATT&CK")).expect("JSON");
        let objects = bundle["objects"].as_array().expect("objects");
        // Withhold about one id in three, by the id's text.
        let visible = |id: &str| !id.bytes().map(usize::from).sum::<usize>().is_multiple_of(3);
        let (mut answered, mut declined) = (0, 0);
        for object in objects {
            let (by_text, by_object) = agrees(object, &visible);
            answered += usize::from(by_text);
            // Besides copies the object cannot make either (a relationship with an end
            // withheld), it declines only text whose last check is for the object to make: a
            // string with `--` that is not an id (a command line's option).
            if by_object && !by_text {
                declined += 1;
                assert!(object.to_string().contains(" --"), "declined {object}");
            }
        }
        assert!(declined < 20, "{declined} declined");
        let collection = objects
            .iter()
            .find(|o| o["type"] == "x-mitre-collection")
            .expect("a collection");
        let text = stix::canonical::canonical_object(collection.as_object().unwrap());
        let (copy, removed) = filter_text(&text, "x-mitre-collection", &visible).expect("filtered");
        assert!(removed.len() > 400, "{} removed", removed.len());
        assert!(copy.len() < text.len());
        assert!(answered > 1_000, "{answered} answered");
    }

    #[test]
    fn declines_what_it_cannot_match_exactly() {
        let all = |_: &str| true;
        let none = |_: &str| false;
        let relationship = json!({
            "type": "relationship", "id": "relationship--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
            "relationship_type": "uses", "source_ref": A, "target_ref": B,
        });
        let text = stix::canonical::canonical_object(relationship.as_object().unwrap());
        assert!(filter_text(&text, "relationship", &all).is_some());
        // A required end withheld.
        assert!(filter_text(&text, "relationship", &|id: &str| id != B).is_none());
        // Not canonical: whitespace.
        let spaced = serde_json::to_vec_pretty(&relationship).unwrap();
        assert!(filter_text(&spaced, "relationship", &all).is_none());
        // Truncated, trailing text, not JSON.
        assert!(filter_text(&text[..text.len() - 1], "relationship", &all).is_none());
        assert!(filter_text(&[&text[..], b"x"].concat(), "relationship", &all).is_none());
        assert!(filter_text(b"\xff\xfe", "relationship", &all).is_none());
        // Granular markings (the copy prunes them) and names beyond ASCII.
        for odd in [
            json!({"type": "note", "id": "note--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
                   "granular_markings": [{"marking_ref": A, "selectors": ["type"]}]}),
            json!({"type": "note", "id": "note--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
                   "x_caf\u{e9}": "x"}),
            // An id-shaped string that is no identifier, not under a reference key, not
            // visible: the copy's last check refuses it.
            json!({"type": "note", "id": "note--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
                   "x_text": "before--after"}),
        ] {
            let text = stix::canonical::canonical_object(odd.as_object().unwrap());
            assert!(filter_text(&text, "note", &none).is_none(), "{odd}");
        }
    }
}
