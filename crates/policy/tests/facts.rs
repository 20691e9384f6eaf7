//! Release facts scanned from an object's canonical text are the facts of the parsed object,
//! for every object of real bundles: ICS ATT&CK and the OASIS examples.

use std::path::{Path, PathBuf};

use policy::{Provenance, ReleaseFacts};
use serde_json::Value;
use stix::Object;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/stix")
}

fn objects_of(path: &Path, out: &mut Vec<Object>) {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: Value = serde_json::from_slice(&text).expect("a JSON file");
    let items = match value.get("objects").and_then(Value::as_array) {
        Some(items) => items.clone(),
        None => vec![value],
    };
    out.extend(items.into_iter().filter_map(|v| Object::from_value(v).ok()));
}

#[test]
fn scanned_facts_are_the_facts_of_the_object() {
    let mut objects = Vec::new();
    objects_of(&data_dir().join("ics-attack-18.1.json"), &mut objects);
    let examples = data_dir().join("oasis-examples");
    let mut stack = vec![examples];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("the OASIS examples") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                objects_of(&path, &mut objects);
            }
        }
    }
    assert!(objects.len() > 1_800, "{} objects", objects.len());
    let provenances = [
        Provenance::Local,
        Provenance::Received { peer: "bfv".into() },
    ];
    for (n, object) in objects.iter().enumerate() {
        let provenance = &provenances[n % 2];
        let text = stix::canonical::canonical_object(object.as_map());
        let scanned = ReleaseFacts::from_json(&text, provenance)
            .unwrap_or_else(|e| panic!("{}: {e}", object.id()));
        assert_eq!(
            scanned,
            ReleaseFacts::of(object, provenance),
            "{}",
            object.id()
        );
    }
}

/// Releases decided from stored text and facts agree with releases of the parsed objects on
/// real data: ICS ATT&CK marked GREEN, its intrusion sets AMBER (so the relationships that
/// name them are withheld by closure), to a partner cleared for GREEN. Most objects go out as
/// stored without being parsed.
#[test]
fn stored_text_decides_as_the_object_does_on_ics_attack() {
    use policy::{Decision, Held, Policy, StoredDecision, Tlp};
    use std::collections::HashMap;

    let mut objects = Vec::new();
    objects_of(&data_dir().join("ics-attack-18.1.json"), &mut objects);
    let neutral: Vec<String> = objects
        .iter()
        .filter(|o| o.object_type() == "marking-definition")
        .map(|o| format!("{:?}", o.id()))
        .collect();
    let policy = Policy::from_toml_str(&format!(
        "version = 1\nneutral_markings = [{}]\n\n\
         [[partner]]\nname = \"bfv\"\nidentity_ref = \"identity--256c665f-9234-4db4-91aa-1cdfe6c8e1a4\"\nrole = \"partner\"\n\n\
         [[rule]]\nname = \"green\"\neveryone = true\ntlp_max = \"green\"\n",
        neutral.join(", ")
    ))
    .expect("a policy");
    let mut held: HashMap<String, Held> = HashMap::new();
    for object in &objects {
        let mut value = object.clone().into_value();
        if object.object_type() != "marking-definition" {
            let tlp = if object.object_type() == "intrusion-set" {
                Tlp::Amber
            } else {
                Tlp::Green
            };
            let refs = value
                .as_object_mut()
                .unwrap()
                .entry("object_marking_refs")
                .or_insert_with(|| serde_json::json!([]));
            refs.as_array_mut()
                .unwrap()
                .push(serde_json::json!(tlp.marking_id()));
        }
        let object = Object::from_value(value).expect("still an object");
        held.insert(
            object.id().to_string(),
            Held {
                object,
                provenance: Provenance::Local,
            },
        );
    }
    let resolver = |id: &str| held.get(id).cloned();
    let mut releaser = policy.releaser("bfv", &resolver);
    let (mut released, mut withheld, mut needs_object) = (0, 0, 0);
    let mut collection_filtered = false;
    for h in held.values() {
        let text = stix::canonical::canonical_object(h.object.as_map());
        let facts = ReleaseFacts::from_json(&text, &h.provenance).expect("scanned");
        let stored = releaser.release_stored(&facts, &text);
        let decision = releaser.release(&h.object, &h.provenance);
        match stored {
            StoredDecision::Release(stored) => {
                released += 1;
                if h.object.object_type() == "x-mitre-collection" {
                    collection_filtered = stored
                        .redactions()
                        .iter()
                        .any(|r| matches!(r, policy::Redaction::ReferenceRemoved { path, .. } if path.starts_with("x_mitre_contents[")));
                }
                let Decision::Release(release) = &decision else {
                    panic!(
                        "{}: released from its text, not from the object: {decision:?}",
                        h.object.id()
                    );
                };
                assert_eq!(
                    stored.redactions(),
                    release.redactions(),
                    "{}",
                    h.object.id()
                );
                assert_eq!(stored.is_unchanged(), release.is_unchanged());
                assert_eq!(
                    stored.into_text(text.clone()),
                    stix::canonical::canonical_object(release.object().as_map()),
                    "{}",
                    h.object.id()
                );
            }
            StoredDecision::Withhold(reason) => {
                withheld += 1;
                assert_eq!(decision, Decision::Withhold(reason), "{}", h.object.id());
            }
            StoredDecision::NeedsObject => needs_object += 1,
        }
    }
    // The intrusion sets and the relationships naming them are withheld; everything else is
    // released from its text, losing the copyright marking (a neutral marking whose definition
    // carries no release marking) from `object_marking_refs`. The x-mitre-collection lists the
    // withheld objects inside its entries: its copy is filtered from the stored text too,
    // with the graph the text's decision explored, and is the object's filtered copy.
    assert!(released > 1_300, "{released} released from their text");
    assert!(withheld > 40, "{withheld} withheld");
    assert!(needs_object < 20, "{needs_object} parsed");
    assert!(
        collection_filtered,
        "the collection's withheld contents are filtered from its text"
    );
}
