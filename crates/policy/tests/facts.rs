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
