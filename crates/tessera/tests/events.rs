//! The incident model end to end: real event data and group catalogues through `tessera
//! import`, the demo case, search by any alias, and the OASIS validator over exported incidents.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn import_json(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut full = vec!["--json", "import"];
    full.extend_from_slice(args);
    let out = tessera(dir, &full);
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), value)
}

fn demo_node() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init", "--demo", "--name", "Test agency"]);
    dir
}

fn search(dir: &std::path::Path, args: &[&str]) -> Value {
    let mut full = vec!["--json", "search"];
    full.extend_from_slice(args);
    serde_json::from_str(&ok(dir, &full)).unwrap()
}

#[test]
fn ucdp_gives_one_incident_per_event_with_its_links() {
    let node = demo_node();
    let before = stats(node.path())["objects_by_type"]["incident"]
        .as_u64()
        .unwrap();
    let (code, report) = import_json(
        node.path(),
        &[shared_data("events/ucdp-ged-23.1-sample.csv")
            .to_str()
            .unwrap()],
    );
    assert_eq!(code, Some(0), "{report}");
    let r = &report["imports"][0];
    assert_eq!(r["conversion"]["rows"], 1000);
    assert_eq!(r["conversion"]["imported"], 1000);
    assert_eq!(r["conversion"]["skipped_invalid"], 0);
    assert_eq!(r["conversion"]["objects"]["incident"], 1000);
    assert_eq!(r["rejected"], 0);
    let held = stats(node.path());
    assert_eq!(
        held["objects_by_type"]["incident"].as_u64().unwrap() - before,
        1000
    );
    // Every event is located; the report's relationship count is what the store holds.
    let exported = node.path().join("incidents.json");
    ok(
        node.path(),
        &[
            "export",
            "--type",
            "relationship",
            "--out",
            exported.to_str().unwrap(),
        ],
    );
    let bundle: Value = serde_json::from_slice(&std::fs::read(&exported).unwrap()).unwrap();
    let located = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o["relationship_type"] == "located-at"
                && o["source_ref"].as_str().unwrap().starts_with("incident--")
        })
        .count();
    assert!(located >= 1000, "{located} located-at links");
    // Importing the same file again changes nothing.
    let (code, again) = import_json(
        node.path(),
        &[shared_data("events/ucdp-ged-23.1-sample.csv")
            .to_str()
            .unwrap()],
    );
    assert_eq!(code, Some(0));
    assert_eq!(again["imports"][0]["written"], 0);
}

#[test]
fn gdelt_imports_violent_events_and_counts_the_rest() {
    let node = demo_node();
    let (code, report) = import_json(
        node.path(),
        &[shared_data("events/gdelt-2.0-events-sample.csv")
            .to_str()
            .unwrap()],
    );
    assert_eq!(code, Some(0), "{report}");
    let c = &report["imports"][0]["conversion"];
    assert_eq!(c["rows"], 6090);
    assert_eq!(c["imported"], 454);
    assert_eq!(c["skipped_out_of_scope"], 5636);
    assert_eq!(c["objects"]["incident"], 454);
}

#[test]
fn misp_galaxies_give_no_duplicate_groups_and_every_alias_finds_the_group() {
    let node = demo_node();
    let (code, report) = import_json(
        node.path(),
        &[
            shared_data("groups/clusters_terrorist-groups.json")
                .to_str()
                .unwrap(),
            shared_data("groups/clusters_threat-actor.json")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{report}");
    let c = &report["imports"][0]["conversion"];
    assert_eq!(c["rows"], 1131);
    assert_eq!(
        c["objects"]["threat-actor"], 1130,
        "two clusters that list each other are one group"
    );
    let first = |query: &str| -> Value {
        search(node.path(), &[query, "--type", "threat-actor"])["hits"][0].clone()
    };
    let iskp = first("ISKP");
    assert_eq!(iskp["name"], "Islamic State Khorasan Province");
    assert_eq!(first("Islamic State Khorasan Province")["id"], iskp["id"]);
    assert_eq!(first("Daesh Khorasan")["id"], iskp["id"]);
    assert_eq!(first("isis-k")["id"], iskp["id"]);
    // The demo's group and the galaxy's cluster are one group with two sources, not two groups.
    let hits = search(
        node.path(),
        &[
            "Islamic State Khorasan Province",
            "--type",
            "threat-actor",
            "--limit",
            "50",
        ],
    );
    let named: Vec<&Value> = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["name"] == "Islamic State Khorasan Province")
        .collect();
    assert_eq!(named.len(), 1, "{hits}");
}

#[test]
fn search_facets_by_type_country_group_and_year() {
    let node = demo_node();
    let all = search(
        node.path(),
        &["", "--type", "incident", "--year", "2024", "--limit", "100"],
    );
    assert!(all["total"].as_u64().unwrap() >= 6, "{all}");
    let countries = &all["facets"]["country"];
    for code in ["IR", "TR", "RU", "PK"] {
        assert!(countries.get(code).is_some(), "no {code} among {countries}");
    }
    let by_group = search(
        node.path(),
        &[
            "",
            "--type",
            "incident",
            "--group",
            "Islamic State Khorasan Province",
            "--limit",
            "100",
        ],
    );
    let names: Vec<&str> = by_group["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert!(
        names.len() >= 2 && names.iter().any(|n| n.contains("Kerman")),
        "{names:?}"
    );
}

#[test]
fn bad_rows_are_reported_with_file_and_line_and_the_rest_import() {
    let node = demo_node();
    let original = std::fs::read_to_string(shared_data("events/ucdp-ged-23.1-sample.csv")).unwrap();
    let mut lines: Vec<String> = original.lines().take(11).map(str::to_string).collect();
    let header_line = lines[0].clone();
    let header: Vec<&str> = header_line.split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // Rows are simple enough to edit by field only where no quoted comma precedes the field;
    // the date and coordinates sit after the quoted source fields, so edit from the end.
    let edit_from_end = |line: &str, name: &str, value: &str| -> String {
        let from_end = header.len() - column(name);
        let mut fields: Vec<String> = line
            .rsplitn(from_end + 1, ',')
            .map(str::to_string)
            .collect();
        fields[from_end - 1] = value.to_string();
        fields.reverse();
        fields.join(",")
    };
    lines[3] = edit_from_end(&lines[3], "date_start", "2013-02-31 00:00:00.000");
    lines[5] = edit_from_end(&lines[5], "latitude", "123.4");
    lines[7] = lines[7].split(',').take(5).collect::<Vec<_>>().join(",");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ucdp-bad.csv");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let (code, report) = import_json(node.path(), &[file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "bad rows make the exit code 1: {report}");
    let c = &report["imports"][0]["conversion"];
    assert_eq!(c["rows"], 10);
    assert_eq!(c["skipped_invalid"], 3, "{c}");
    assert_eq!(c["imported"], 7);
    let problems = c["problems"].as_array().unwrap();
    let lines_reported: Vec<u64> = problems
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines_reported, [4, 6, 8], "{problems:?}");
    assert!(
        problems.iter().all(|p| p["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("ucdp-bad.csv"))),
        "{problems:?}"
    );
    assert!(report["imports"][0]["written"].as_u64().unwrap() > 0);
}

#[test]
fn exported_incidents_pass_the_oasis_validator() {
    let node = demo_node();
    ok(
        node.path(),
        &[
            "import",
            shared_data("events/ucdp-ged-23.1-sample.csv")
                .to_str()
                .unwrap(),
        ],
    );
    let out = node.path().join("incidents.json");
    ok(
        node.path(),
        &[
            "export",
            "--type",
            "incident",
            "--type",
            "extension-definition",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let script = r#"
import json, sys
from stix2validator import validate_file, ValidationOptions
results = validate_file(sys.argv[1], ValidationOptions(version="2.1", strict=False))
errors = [f"{r.object_id}: {e}" for r in results.object_results for e in r.errors]
print(json.dumps({"valid": results.is_valid, "errors": errors[:20], "error_count": len(errors)}))
"#;
    let result = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", text(&result.stderr));
    let verdict: Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(verdict["error_count"], 0, "{verdict}");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let incidents = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "incident")
        .count();
    assert!(incidents >= 1006, "{incidents} incidents exported");
}
