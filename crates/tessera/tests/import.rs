//! Importing real bundles: exact counts, STIX 2.0 upgrade, re-import no-ops, and the export
//! passing the OASIS validator.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn import_json(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut full = vec!["--json", "import"];
    full.extend_from_slice(args);
    let out = tessera(dir, &full);
    let value: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("import --json printed no JSON ({e}): {}", text(&out.stdout)));
    (out.status.code(), value)
}

fn count_objects(path: &std::path::Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    if value["type"] == "bundle" {
        value["objects"].as_array().unwrap().len()
    } else {
        1
    }
}

#[test]
fn ics_attack_imports_every_object_without_error() {
    let node = fresh_node();
    let baseline = stats(node.path())["objects"].as_u64().unwrap();
    let path = shared_data("stix/ics-attack-18.1.json");
    let (code, report) = import_json(node.path(), &[path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report}");
    let r = &report["imports"][0];
    assert_eq!(r["objects_read"], 1826);
    assert_eq!(r["written"], 1826);
    assert_eq!(r["rejected"], 0);
    assert_eq!(r["problems"].as_array().unwrap().len(), 0);
    let held = stats(node.path());
    assert_eq!(held["objects"].as_u64().unwrap(), 1826 + baseline);
    assert_eq!(held["objects_by_type"]["relationship"], 1373);
    assert_eq!(held["objects_by_type"]["x-mitre-tactic"], 12);

    // Importing the same bundle again is a no-op.
    let (code, report) = import_json(node.path(), &[path.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert_eq!(report["imports"][0]["written"], 0);
    assert_eq!(report["imports"][0]["duplicates"], 1826);
    assert_eq!(
        stats(node.path())["versions"].as_u64().unwrap(),
        1826 + baseline
    );
}

/// `tessera import -` with the bundle on standard input, plain and gzipped, as a pipe gives it
/// (no size known ahead): every object, as from a file; a bundle cut short on standard input
/// is refused whole and leaves the store as it was.
#[test]
fn a_bundle_on_standard_input_imports_as_from_a_file() {
    use std::io::Write;
    let stdin_import = |node: &std::path::Path, bytes: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--data-dir")
            .arg(node)
            .args(["--json", "import", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        let writer = std::thread::spawn(move || input.write_all(&bytes));
        let out = child.wait_with_output().unwrap();
        let _ = writer.join().unwrap();
        let value: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), value, text(&out.stderr))
    };
    let bytes = std::fs::read(shared_data("stix/ics-attack-18.1.json")).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&bytes).unwrap();
    let gz = encoder.finish().unwrap();
    for input in [&bytes, &gz] {
        let node = fresh_node();
        let (code, report, stderr) = stdin_import(node.path(), input);
        assert_eq!(code, Some(0), "{report} {stderr}");
        assert_eq!(report["imports"][0]["written"], 1826, "{report}");
    }
    let node = fresh_node();
    // What the store holds, not how large its file has grown.
    let held = |node: &std::path::Path| {
        let mut held = stats(node);
        held.as_object_mut().unwrap().remove("store_bytes");
        held
    };
    let before = held(node.path());
    let (code, report, stderr) = stdin_import(node.path(), &bytes[..bytes.len() - 100]);
    assert_eq!(code, Some(1), "a cut bundle is refused: {report} {stderr}");
    // The file is named once, beside the error, which says where the input ended.
    assert_eq!(report["imports"][0]["file"], "-", "{report}");
    let error = report["imports"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("not valid JSON at line") && error.contains("EOF while parsing"),
        "{report}"
    );
    assert_eq!(held(node.path()), before);
}

/// A directory whose links lead back up the tree, or twice to one file, imports each file once
/// instead of nesting to the depth limit and refusing everything.
#[test]
fn links_in_an_imported_directory_are_followed_once() {
    let tree = tempfile::tempdir().unwrap();
    let apt1 = tree.path().join("apt1.json");
    std::fs::copy(
        shared_data("stix/oasis-examples/threat-reports/apt1.json"),
        &apt1,
    )
    .unwrap();
    let sub = tree.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::os::unix::fs::symlink(tree.path(), sub.join("up")).unwrap();
    std::os::unix::fs::symlink(&apt1, sub.join("again.json")).unwrap();
    let node = fresh_node();
    let (code, report) = import_json(node.path(), &[tree.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report}");
    let imports = report["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 1, "{report}");
    assert_eq!(imports[0]["written"], 76, "{report}");
}

/// Files saved with a UTF-8 byte order mark (as editors on Windows save them) import as they
/// would without: a STIX bundle read whole in memory and streamed from standard input, and a
/// MISP galaxy, whose format is recognised through the mark.
#[test]
fn files_with_a_byte_order_mark_import_as_without() {
    let with_bom = |path: &std::path::Path| {
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend(std::fs::read(path).unwrap());
        let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
        std::fs::write(file.path(), &bytes).unwrap();
        file
    };
    let ics = with_bom(&shared_data("stix/ics-attack-18.1.json"));
    let node = fresh_node();
    let (code, report) = import_json(node.path(), &[ics.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["imports"][0]["written"], 1826, "{report}");
    let node = fresh_node();
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat '{}' | '{}' --data-dir '{}' --json import -",
            ics.path().display(),
            env!("CARGO_BIN_EXE_tessera"),
            node.path().display()
        ))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&piped.stdout).unwrap_or(Value::Null);
    assert_eq!(
        piped.status.code(),
        Some(0),
        "{report} {}",
        text(&piped.stderr)
    );
    assert_eq!(report["imports"][0]["written"], 1826, "{report}");

    let galaxy = shared_data("groups/clusters_terrorist-groups.json");
    let plain = fresh_node();
    let (code, expected) = import_json(plain.path(), &[galaxy.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{expected}");
    let marked = with_bom(&galaxy);
    let node = fresh_node();
    let (code, report) = import_json(node.path(), &[marked.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        stats(node.path())["objects"],
        stats(plain.path())["objects"]
    );
    assert!(stats(node.path())["objects"].as_u64().unwrap() > 1);
}

/// A gzip file of several members (what `cat a.gz b.gz` makes) imports whole: the size its
/// trailer states is the last member's only, a hint for the buffer and nothing more.
#[test]
fn a_gzip_file_of_several_members_imports_whole() {
    use std::io::Write;
    let node = fresh_node();
    let bytes = std::fs::read(shared_data("stix/ics-attack-18.1.json")).unwrap();
    let (head, tail) = bytes.split_at(bytes.len() * 3 / 4);
    let mut gz = Vec::new();
    for part in [head, tail] {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(part).unwrap();
        gz.extend(encoder.finish().unwrap());
    }
    let stated = u32::from_le_bytes(gz[gz.len() - 4..].try_into().unwrap());
    assert_eq!(
        stated as usize,
        tail.len(),
        "the trailer states the last member only"
    );
    let path = node.path().join("ics.json.gz");
    std::fs::write(&path, &gz).unwrap();
    let (code, report) = import_json(node.path(), &[path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["imports"][0]["written"], 1826, "{report}");
    assert_eq!(report["imports"][0]["rejected"], 0, "{report}");
}

#[test]
fn enterprise_attack_stix20_is_upgraded_on_import() {
    let node = fresh_node();
    let baseline = stats(node.path())["objects"].as_u64().unwrap();
    let path = shared_data("stix/enterprise-attack-18.1-stix20.json.gz");
    let (code, report) = import_json(node.path(), &[path.to_str().unwrap()]);
    let r = &report["imports"][0];
    assert_eq!(code, Some(0), "{}", r["problems"]);
    assert_eq!(r["objects_read"], 24771);
    assert_eq!(r["written"], 24771);
    assert_eq!(r["upgraded_from_20"], 24771);
    assert_eq!(r["rejected"], 0);
    let held = stats(node.path());
    assert_eq!(held["objects"].as_u64().unwrap(), 24771 + baseline);
    assert_eq!(held["objects_by_type"]["intrusion-set"], 187);
    assert_eq!(held["objects_by_type"]["malware"], 696);

    // A 2.0 malware came out as 2.1: spec_version, is_family, labels moved to malware_types.
    let shown: Value = serde_json::from_str(&ok(
        node.path(),
        &[
            "--json",
            "get",
            "malware--007b44b6-e4c5-480b-b5b9-56f2081b1b7b",
        ],
    ))
    .unwrap();
    let malware = &shown["object"];
    assert_eq!(malware["spec_version"], "2.1");
    assert_eq!(malware["is_family"], true);
    assert!(malware.get("labels").is_none());
    assert_eq!(malware["malware_types"], serde_json::json!(["malware"]));
    let verify: Value = serde_json::from_str(&ok(node.path(), &["--json", "verify"])).unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
}

#[test]
fn every_oasis_example_imports_with_exact_counts() {
    let dir = shared_data("stix/oasis-examples");
    let mut files = Vec::new();
    for entry in walk(&dir) {
        files.push(entry);
    }
    assert!(files.len() >= 8, "expected the OASIS example bundles");
    for file in files {
        let node = fresh_node();
        let expected = count_objects(&file);
        let (code, report) = import_json(node.path(), &[file.to_str().unwrap()]);
        let r = &report["imports"][0];
        assert_eq!(code, Some(0), "{}: {}", file.display(), r);
        assert_eq!(r["objects_read"], expected, "{}", file.display());
        assert_eq!(r["rejected"], 0, "{}: {}", file.display(), r["problems"]);
        let written = r["written"].as_u64().unwrap() + r["duplicates"].as_u64().unwrap();
        assert_eq!(written as usize, expected, "{}", file.display());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The OASIS validator's verdict on a file: (errors, full output).
fn oasis_validate(path: &std::path::Path) -> (usize, String) {
    let script = r#"
import json, sys
from stix2validator import validate_file, ValidationOptions
results = validate_file(sys.argv[1], ValidationOptions(version="2.1", strict=False))
errors = []
for r in results.object_results:
    for e in r.errors:
        errors.append(f"{r.object_id}: {e}")
print(json.dumps({"valid": results.is_valid, "errors": errors, "objects": len(results.object_results)}))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the validator failed to run: {}",
        text(&out.stderr)
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).expect("validator prints JSON");
    (
        verdict["errors"].as_array().unwrap().len(),
        verdict.to_string(),
    )
}

/// `export --time modified --from --to` finds, through the time index, exactly the objects a
/// scan of the whole export finds by reading each one's `modified`, in `modified` order.
#[test]
fn export_by_a_time_window_matches_a_full_scan() {
    let node = fresh_node();
    let ics = shared_data("stix/ics-attack-18.1.json");
    ok(node.path(), &["import", ics.to_str().unwrap()]);
    let export = |args: &[&str]| -> Vec<Value> {
        let out = node.path().join("window.json");
        let mut full = vec!["export", "--out", out.to_str().unwrap()];
        full.extend_from_slice(args);
        ok(node.path(), &full);
        let bundle: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        bundle["objects"].as_array().unwrap().clone()
    };
    let nanos = |text: &str| stix::Timestamp::parse(text).unwrap().unix_nanos();
    let (from, to) = ("2023-10-01T00:00:00Z", "2025-04-30T23:59:59.999Z");
    let mut expected: Vec<(i128, String)> = export(&[])
        .iter()
        .filter_map(|o| {
            let modified = nanos(o["modified"].as_str()?);
            (nanos(from)..=nanos(to))
                .contains(&modified)
                .then(|| (modified, o["id"].as_str().unwrap().to_string()))
        })
        .collect();
    expected.sort();
    let found: Vec<(i128, String)> = export(&["--time", "modified", "--from", from, "--to", to])
        .iter()
        .map(|o| {
            (
                nanos(o["modified"].as_str().unwrap()),
                o["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        expected.len() > 100,
        "the window holds objects: {}",
        expected.len()
    );
    assert!(
        expected.len() < 1826,
        "and leaves some out: {}",
        expected.len()
    );
    let by_time: Vec<i128> = found.iter().map(|(t, _)| *t).collect();
    assert!(
        by_time.windows(2).all(|w| w[0] <= w[1]),
        "in modified order"
    );
    let mut found = found;
    found.sort();
    assert_eq!(found, expected);
    // With a type too.
    let relationships = export(&[
        "--time",
        "modified",
        "--from",
        from,
        "--to",
        to,
        "--type",
        "relationship",
    ]);
    assert_eq!(
        relationships.len(),
        expected
            .iter()
            .filter(|(_, id)| id.starts_with("relationship--"))
            .count()
    );
}

#[test]
fn export_of_the_whole_store_passes_the_oasis_validator() {
    let node = fresh_node();
    ok(
        node.path(),
        &[
            "import",
            shared_data("stix/ics-attack-18.1.json").to_str().unwrap(),
        ],
    );
    for example in walk(&shared_data("stix/oasis-examples")) {
        ok(node.path(), &["import", example.to_str().unwrap()]);
    }
    let out = node.path().join("export.json");
    ok(node.path(), &["export", "--out", out.to_str().unwrap()]);
    let exported: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let objects = exported["objects"].as_array().unwrap().len();
    assert_eq!(
        objects as u64,
        stats(node.path())["objects"].as_u64().unwrap()
    );
    let (errors, verdict) = oasis_validate(&out);
    assert_eq!(errors, 0, "the OASIS validator found errors: {verdict}");
    let verdict: Value = serde_json::from_str(&verdict).unwrap();
    assert_eq!(verdict["valid"], true, "{verdict}");

    // Filters: by type and by added_after.
    let typed = node.path().join("typed.json");
    ok(
        node.path(),
        &[
            "export",
            "--type",
            "campaign",
            "--type",
            "intrusion-set",
            "--out",
            typed.to_str().unwrap(),
        ],
    );
    let typed: Value = serde_json::from_slice(&std::fs::read(&typed).unwrap()).unwrap();
    let types: std::collections::BTreeSet<&str> = typed["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        ["campaign", "intrusion-set"]
    );
    let future = node.path().join("future.json");
    ok(
        node.path(),
        &[
            "export",
            "--added-after",
            "2999-01-01T00:00:00Z",
            "--out",
            future.to_str().unwrap(),
        ],
    );
    let future: Value = serde_json::from_slice(&std::fs::read(&future).unwrap()).unwrap();
    assert_eq!(future["objects"].as_array().unwrap().len(), 0);
}

#[test]
fn the_validator_catches_what_tessera_rejects_too() {
    // Guard against a validator run that cannot fail: a bundle with a bad object must fail it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"type":"bundle","id":"bundle--6b7b7b2a-6b3e-4f5a-9e0c-2b1f7b9a0c11","objects":[{"type":"campaign","spec_version":"2.1","id":"campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z"}]}"#,
    )
    .unwrap();
    let (errors, verdict) = oasis_validate(&path);
    assert!(
        errors > 0,
        "a campaign without a name must fail the validator: {verdict}"
    );
    let node = fresh_node();
    let out = tessera(node.path(), &["import", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("objects[0].name"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn get_shows_every_version() {
    let node = fresh_node();
    let dir = tempfile::tempdir().unwrap();
    let make = |modified: &str, name: &str| {
        format!(
            r#"{{"type":"bundle","id":"bundle--6b7b7b2a-6b3e-4f5a-9e0c-2b1f7b9a0c11","objects":[{{"type":"threat-actor","spec_version":"2.1","id":"threat-actor--9a8a0d25-7636-429b-a99e-b2a73cd0f11f","created":"2024-01-01T00:00:00.000Z","modified":"{modified}","name":"{name}"}}]}}"#
        )
    };
    let first = dir.path().join("v1.json");
    let second = dir.path().join("v2.json");
    std::fs::write(&first, make("2024-01-01T00:00:00.000Z", "ISKP")).unwrap();
    std::fs::write(
        &second,
        make(
            "2024-03-23T00:00:00.000Z",
            "Islamic State Khorasan Province",
        ),
    )
    .unwrap();
    ok(node.path(), &["import", second.to_str().unwrap()]);
    ok(node.path(), &["import", first.to_str().unwrap()]);
    let latest: Value = serde_json::from_str(&ok(
        node.path(),
        &[
            "--json",
            "get",
            "threat-actor--9a8a0d25-7636-429b-a99e-b2a73cd0f11f",
        ],
    ))
    .unwrap();
    assert_eq!(
        latest["object"]["name"], "Islamic State Khorasan Province",
        "the latest view follows modified, not arrival order"
    );
    let all = ok(
        node.path(),
        &[
            "--json",
            "get",
            "--versions",
            "threat-actor--9a8a0d25-7636-429b-a99e-b2a73cd0f11f",
        ],
    );
    let versions: Vec<Value> = all
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["object"]["name"], "ISKP");
    let missing = tessera(
        node.path(),
        &["get", "threat-actor--00000000-0000-4000-8000-000000000000"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("not held"));
}

/// An import is recorded in the ledger once per version written; with the ledger's watermark
/// gone (the file is derived), a later command reads the whole store back, finds every
/// version recorded, and adds nothing.
#[test]
fn an_import_is_recorded_in_the_ledger_once_even_when_the_watermark_is_lost() {
    let node = fresh_node();
    let tree_size = || -> u64 {
        let head: Value = serde_json::from_str(&ok(node.path(), &["--json", "ledger", "head"]))
            .expect("ledger head --json");
        head["tree_size"].as_u64().unwrap()
    };
    let before = tree_size();
    let ics = shared_data("stix/ics-attack-18.1.json");
    ok(node.path(), &["import", ics.to_str().unwrap()]);
    let imported = tree_size();
    assert_eq!(imported - before, 1826, "one record per version imported");

    std::fs::remove_file(node.path().join("ledger.seq")).expect("the watermark exists");
    // Writes nothing new; the ledger is caught up from the whole store.
    ok(node.path(), &["import", ics.to_str().unwrap()]);
    assert_eq!(tree_size(), imported, "no version recorded twice");
    // A record names the version as the object gives it.
    let proof = ok(
        node.path(),
        &[
            "--json",
            "ledger",
            "prove",
            "attack-pattern--2883c520-7957-46ca-89bd-dab1ad53b601",
        ],
    );
    assert!(proof.contains("2025-04-16T21:26:11.583Z"), "{proof}");
}
