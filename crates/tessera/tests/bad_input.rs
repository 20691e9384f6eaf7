//! Bad input on purpose: every case must leave the store exactly as it was and say what is
//! wrong and where.

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

const CAMPAIGN_ID: &str = "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";

fn bundle(objects: Value) -> Value {
    json!({"type": "bundle", "id": "bundle--6b7b7b2a-6b3e-4f5a-9e0c-2b1f7b9a0c11", "objects": objects})
}

fn campaign() -> Value {
    json!({
        "type": "campaign", "spec_version": "2.1", "id": CAMPAIGN_ID,
        "created": "2024-01-03T10:00:00.000Z", "modified": "2024-01-03T10:00:00.000Z",
        "name": "Kerman bombings"
    })
}

/// A node holding real data, so that "unchanged" means something.
fn seeded_node() -> tempfile::TempDir {
    let node = fresh_node();
    ok(
        node.path(),
        &[
            "import",
            shared_data("stix/oasis-examples/threat-reports/apt1.json")
                .to_str()
                .unwrap(),
        ],
    );
    node
}

/// Imports `bytes`, expecting rejection; checks the store is untouched and returns the output.
fn rejected(node: &Path, bytes: &[u8], extra: &[&str]) -> String {
    let before_stats = stats(node);
    let before = fingerprint(node);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let mut args = vec!["import"];
    args.extend_from_slice(extra);
    args.push(file.path().to_str().unwrap());
    let out = tessera(node, &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1 (objects rejected): {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        stats(node)["versions"],
        before_stats["versions"],
        "the store changed"
    );
    assert_eq!(fingerprint(node), before, "the store's content changed");
    let verify: Value = serde_json::from_str(&ok(node, &["--json", "verify"])).unwrap();
    assert_eq!(verify["ok"], true);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn truncated_json_names_the_line_and_column() {
    let node = seeded_node();
    let bytes = std::fs::read(shared_data("stix/ics-attack-18.1.json")).unwrap();
    let message = rejected(node.path(), &bytes[..bytes.len() / 2], &[]);
    assert!(message.contains("not valid JSON at line"), "{message}");
    assert!(message.contains("column"), "{message}");
}

#[test]
fn json_that_is_not_a_bundle_is_refused() {
    let node = seeded_node();
    let message = rejected(node.path(), br#"{"hello": "world"}"#, &[]);
    assert!(message.contains("not a STIX bundle"), "{message}");
    let message = rejected(node.path(), b"[1, 2, 3]", &[]);
    assert!(
        message.contains("expected a STIX bundle") || message.contains("not a STIX bundle"),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_json_at_all_is_refused() {
    let node = seeded_node();
    let binary = std::fs::read(env!("CARGO_BIN_EXE_tessera")).unwrap();
    let message = rejected(node.path(), &binary[..4096], &[]);
    assert!(message.contains("not valid JSON at line 1"), "{message}");
    let message = rejected(node.path(), b"", &[]);
    assert!(message.contains("not valid JSON"), "{message}");
}

#[test]
fn wrong_property_types_are_pointed_at() {
    let node = seeded_node();
    let mut object = campaign();
    object["name"] = json!(42);
    object["confidence"] = json!(101);
    let message = rejected(
        node.path(),
        bundle(json!([object])).to_string().as_bytes(),
        &[],
    );
    assert!(message.contains("objects[0].name"), "{message}");
    assert!(message.contains("[property-type]"), "{message}");
    assert!(
        message.contains("objects[0].confidence") && message.contains("[range]"),
        "{message}"
    );
    assert!(message.contains(CAMPAIGN_ID), "{message}");
}

#[test]
fn missing_required_properties_are_listed_each() {
    let node = seeded_node();
    let relationship = json!({
        "type": "relationship", "spec_version": "2.1", "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
        "created": "2024-01-03T10:00:00.000Z", "modified": "2024-01-03T10:00:00.000Z", "relationship_type": "attributed-to"
    });
    let message = rejected(
        node.path(),
        bundle(json!([campaign(), relationship]))
            .to_string()
            .as_bytes(),
        &[],
    );
    assert!(
        message.contains("objects[1].source_ref") && message.contains("objects[1].target_ref"),
        "{message}"
    );
    assert!(message.contains("[required-property]"), "{message}");
    assert!(
        message.contains("REJECTED"),
        "the valid campaign must not be written either: {message}"
    );
}

#[test]
fn bad_timestamps_are_refused() {
    let node = seeded_node();
    for bad in [
        "2024-13-01T00:00:00.000Z",
        "2024-02-30T00:00:00.000Z",
        "2024-01-03 10:00:00",
        "yesterday",
        "2024-01-03T10:00:00Z",
    ] {
        let mut object = campaign();
        object["created"] = json!(bad);
        let message = rejected(
            node.path(),
            bundle(json!([object])).to_string().as_bytes(),
            &[],
        );
        assert!(
            message.contains("objects[0].created") && message.contains("[timestamp-format]"),
            "{bad}: {message}"
        );
    }
}

#[test]
fn modified_before_created_is_refused() {
    let node = seeded_node();
    let mut object = campaign();
    object["modified"] = json!("2023-12-31T23:59:59.999Z");
    let message = rejected(
        node.path(),
        bundle(json!([object])).to_string().as_bytes(),
        &[],
    );
    assert!(
        message.contains("objects[0].modified") && message.contains("[time-order]"),
        "{message}"
    );
}

#[test]
fn a_conflicting_version_is_reported_and_never_overwrites() {
    let node = seeded_node();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bundle(json!([campaign()])).to_string()).unwrap();
    ok(node.path(), &["import", file.path().to_str().unwrap()]);
    let mut changed = campaign();
    changed["name"] = json!("Something else");
    let message = rejected(
        node.path(),
        bundle(json!([changed.clone()])).to_string().as_bytes(),
        &[],
    );
    assert!(
        message.contains("[version-conflict]")
            && message.contains("already held with different content"),
        "{message}"
    );
    // Also with --skip-invalid, and also inside one bundle.
    rejected(
        node.path(),
        bundle(json!([changed])).to_string().as_bytes(),
        &["--skip-invalid"],
    );
    let mut other = campaign();
    other["id"] = json!("campaign--1c7b5b88-8ff7-4a4d-aa9d-feb398cd0061");
    let mut other_changed = other.clone();
    other_changed["name"] = json!("Different");
    let message = rejected(
        node.path(),
        bundle(json!([other, other_changed])).to_string().as_bytes(),
        &[],
    );
    assert!(message.contains("two different objects"), "{message}");
    let shown: Value =
        serde_json::from_str(&ok(node.path(), &["--json", "get", CAMPAIGN_ID])).unwrap();
    assert_eq!(shown["object"]["name"], "Kerman bombings");
}

#[test]
fn a_hundred_megabyte_string_is_refused() {
    let node = seeded_node();
    let mut object = campaign();
    object["description"] = json!("A".repeat(100 << 20));
    let message = rejected(
        node.path(),
        bundle(json!([object])).to_string().as_bytes(),
        &[],
    );
    assert!(
        message.contains("[object-size]") && message.contains("limit"),
        "{message}"
    );
}

#[test]
fn deep_nesting_is_refused() {
    let node = seeded_node();
    // Far beyond the parser's recursion limit.
    let deep = format!(
        r#"{{"type":"bundle","id":"bundle--6b7b7b2a-6b3e-4f5a-9e0c-2b1f7b9a0c11","objects":[{{"type":"campaign","x_deep":{}{}}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let message = rejected(node.path(), deep.as_bytes(), &[]);
    assert!(message.contains("recursion limit"), "{message}");
    // Within the parser's limit but deeper than any real STIX object.
    let mut object = campaign();
    let mut nested = json!("bottom");
    for _ in 0..100 {
        nested = json!([nested]);
    }
    object["x_deep"] = nested;
    let message = rejected(
        node.path(),
        bundle(json!([object])).to_string().as_bytes(),
        &[],
    );
    assert!(message.contains("[depth]"), "{message}");
}

#[test]
fn a_name_twice_in_one_object_is_refused() {
    let node = seeded_node();
    // serde_json would keep the second marking and another reader the first: the object
    // would mean different things to different partners.
    let object = campaign().to_string();
    let twice = object.replacen(
        r#""name":"#,
        r#""object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],"object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],"name":"#,
        1,
    );
    assert_ne!(twice, object);
    let text = bundle(json!(["PLACEHOLDER"]))
        .to_string()
        .replace(r#""PLACEHOLDER""#, &twice);
    let message = rejected(node.path(), text.as_bytes(), &[]);
    assert!(
        message.contains(r#"the name "object_marking_refs" appears twice"#),
        "{message}"
    );
    assert!(message.contains("objects[0]"), "{message}");
    // With --skip-invalid the object is still refused, and nothing else is in the bundle.
    let message = rejected(node.path(), text.as_bytes(), &["--skip-invalid"]);
    assert!(message.contains("appears twice"), "{message}");

    // Two lists of objects: the bundle is ambiguous as a whole.
    let two_lists = bundle(json!([campaign()]))
        .to_string()
        .replace(r#""objects":"#, r#""objects":[],"objects":"#);
    let message = rejected(node.path(), two_lists.as_bytes(), &[]);
    assert!(
        message.contains(r#"the name "objects" appears twice"#),
        "{message}"
    );
}

#[test]
fn a_bundle_whose_objects_are_not_a_list_is_refused() {
    let node = seeded_node();
    let message = rejected(
        node.path(),
        bundle(json!({"0": campaign()})).to_string().as_bytes(),
        &[],
    );
    assert!(
        message.contains(r#"its "objects" is a JSON object, not a list"#),
        "{message}"
    );
    // Valid JSON of the wrong shape is not called invalid JSON.
    let message = rejected(
        node.path(),
        bundle(json!("campaign")).to_string().as_bytes(),
        &[],
    );
    assert!(
        message.contains("not a STIX bundle at line 1, column")
            && message.contains("expected a list of STIX objects"),
        "{message}"
    );
}

#[test]
fn skip_invalid_stores_the_valid_objects_and_reports_the_rest() {
    let node = fresh_node();
    let baseline = stats(node.path())["objects"].as_u64().unwrap();
    let mut bad = campaign();
    bad["id"] = json!("campaign--not-a-uuid");
    let mut second = campaign();
    second["id"] = json!("campaign--2c7b5b88-8ff7-4a4d-aa9d-feb398cd0061");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        bundle(json!([campaign(), bad, second])).to_string(),
    )
    .unwrap();
    let out = tessera(
        node.path(),
        &[
            "--json",
            "import",
            "--skip-invalid",
            file.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &report["imports"][0];
    assert_eq!(r["written"], 2);
    assert_eq!(r["rejected"], 1);
    assert_eq!(r["problems"][0]["path"], "objects[1].id");
    assert_eq!(r["problems"][0]["rule"], "identifier-syntax");
    assert_eq!(
        stats(node.path())["objects"].as_u64().unwrap(),
        baseline + 2
    );
}

#[test]
fn usage_errors_exit_with_two() {
    let node = fresh_node();
    assert_eq!(
        tessera(node.path(), &["import", "/no/such/file.json"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        tessera(node.path(), &["export", "--added-after", "last tuesday"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(tessera(node.path(), &["frobnicate"]).status.code(), Some(2));
    // A mistyped id says what is wrong with it, rather than that no such object is held.
    for command in ["get", "show"] {
        let out = tessera(node.path(), &[command, "campaign-0c7b5b88"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("is not of the form type--uuid"),
            "{command}: {}",
            text(&out.stderr)
        );
    }
    let out = tessera(node.path(), &["export", "--type", "Attack Pattern"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a STIX type name"),
        "{}",
        text(&out.stderr)
    );
    let empty = tempfile::tempdir().unwrap();
    let out = tessera(empty.path(), &["stats"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("init"),
        "the error should say how to fix it: {}",
        text(&out.stderr)
    );
    assert_eq!(
        tessera(node.path(), &["init"]).status.code(),
        Some(2),
        "init must not clobber an existing store"
    );
}
