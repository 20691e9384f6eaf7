//! Corroboration on real overlaps: the same UCDP events, delivered a second time by another
//! source as STIX with their dates shifted by a day, are matched to the originals by `tessera
//! show`; distinct events are not; and neither source's objects are rewritten.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

/// A second source's copy: new ids (consistently, so links survive), another creator and
/// source name, and every incident date one day later.
fn second_source(bundle: &Value) -> Value {
    let mut text = bundle.to_string();
    let mut renamed = BTreeMap::new();
    for object in bundle["objects"].as_array().unwrap() {
        let id = object["id"].as_str().unwrap();
        if id.starts_with("incident--")
            || id.starts_with("location--")
            || id.starts_with("relationship--")
        {
            let (kind, uuid) = id.split_once("--").unwrap();
            renamed.insert(id.to_string(), format!("{kind}--0000{}", &uuid[4..]));
        }
    }
    for (old, new) in &renamed {
        text = text.replace(old.as_str(), new.as_str());
    }
    text = text.replace("UCDP GED 23.1", "Partner agency report");
    let mut copy: Value = serde_json::from_str(&text).unwrap();
    for object in copy["objects"].as_array_mut().unwrap() {
        if object["type"] != "incident" {
            continue;
        }
        for extension in object["extensions"].as_object_mut().unwrap().values_mut() {
            if let Some(date) = extension.get("date").and_then(Value::as_str) {
                let day: u32 = date[8..10].parse().unwrap();
                // Stay inside the month: a shifted copy, not a calendar exercise.
                let shifted = if day < 28 {
                    format!("{}{:02}", &date[..8], day + 1)
                } else {
                    format!("{}{:02}", &date[..8], day - 1)
                };
                extension["date"] = Value::String(shifted);
                extension.as_object_mut().unwrap().remove("date_end");
            }
        }
    }
    copy
}

#[test]
fn the_same_events_from_two_sources_are_matched_and_left_as_they_were() {
    let node = fresh_node();
    ok(
        node.path(),
        &[
            "import",
            shared_data("events/ucdp-ged-23.1-sample.csv")
                .to_str()
                .unwrap(),
        ],
    );
    let original = node.path().join("original.json");
    ok(
        node.path(),
        &[
            "export",
            "--type",
            "incident",
            "--type",
            "location",
            "--type",
            "relationship",
            "--out",
            original.to_str().unwrap(),
        ],
    );
    let bundle: Value = serde_json::from_slice(&std::fs::read(&original).unwrap()).unwrap();
    let copy = second_source(&bundle);
    let copy_path = node.path().join("copy.json");
    std::fs::write(&copy_path, copy.to_string()).unwrap();
    ok(node.path(), &["import", copy_path.to_str().unwrap()]);
    let before = fingerprint(node.path());

    // Pick a few precisely dated and placed events and look each up.
    let incidents: Vec<&Value> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "incident")
        .collect();
    let mut checked = 0;
    for incident in incidents
        .iter()
        .filter(|i| {
            i["extensions"]
                .to_string()
                .contains("\"location_precision\":\"exact\"")
        })
        .take(5)
    {
        let id = incident["id"].as_str().unwrap();
        let twin = format!("incident--0000{}", &id["incident--".len() + 4..]);
        let shown: Value = serde_json::from_str(&ok(node.path(), &["--json", "show", id])).unwrap();
        let sources: Vec<&str> = shown["corroborated_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["incident"].as_str().unwrap())
            .collect();
        assert!(
            sources.contains(&twin.as_str()),
            "{id}: the shifted copy {twin} is not among {sources:?}"
        );
        let best = &shown["corroborated_by"][0];
        assert_eq!(
            best["incident"],
            twin.as_str(),
            "{id}: the best match must be its own copy, not a distinct event: {shown}"
        );
        assert!(
            best["score"].as_f64().unwrap() >= 0.6 && !best["reason"].as_str().unwrap().is_empty(),
            "{best}"
        );
        // Copies of distinct events (other places, other days) score below the true twin.
        for other in shown["corroborated_by"].as_array().unwrap().iter().skip(1) {
            assert!(
                other["score"].as_f64().unwrap() < best["score"].as_f64().unwrap(),
                "{other}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
    // Showing is reading: nothing was rewritten or merged.
    assert_eq!(fingerprint(node.path()), before);
}
