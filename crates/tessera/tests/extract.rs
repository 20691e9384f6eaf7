//! Extraction end to end: the seed article (read from ../shared at test time, never copied)
//! through `tessera extract`, odd inputs, the MUC-4 mode, and the review queue.

mod common;

use common::*;
use serde_json::Value;

const SEED: &str = "text/seed/000_5773ec9424cee50c.txt";

fn demo_node() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ok(dir.path(), &["init", "--demo"]);
    dir
}

fn draft(dir: &std::path::Path, file: &std::path::Path) -> Value {
    let out = ok(
        dir,
        &[
            "extract",
            file.to_str().expect("utf-8 path"),
            "--published",
            "2024-03-30",
        ],
    );
    serde_json::from_str(&out).expect("extract prints a JSON bundle")
}

fn objects<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["objects"]
        .as_array()
        .expect("a bundle has objects")
        .iter()
        .filter(|o| o["type"] == kind)
        .collect()
}

fn extension(incident: &Value) -> &Value {
    incident["extensions"]
        .as_object()
        .and_then(|e| e.values().next())
        .expect("an incident has the extension")
}

#[test]
fn seed_article_gives_its_incidents_resolved_to_the_demo_groups() {
    let node = demo_node();
    let bundle = draft(node.path(), &shared_data(SEED));
    for object in bundle["objects"].as_array().expect("objects") {
        let parsed = stix::Object::from_value(object.clone()).expect("an object");
        assert!(
            parsed.validate().is_empty(),
            "{object}: {:?}",
            parsed.validate()
        );
    }
    let ids = |name: &str| -> String {
        let demo = incident::demo::demo_objects();
        demo.iter()
            .find(|o| o.get_str("name") == Some(name))
            .map(|o| o.id().to_string())
            .expect("the demo case holds the group")
    };
    let islamic_state = ids("Islamic State");
    let iskp = ids("Islamic State Khorasan Province");
    let ttp = ids("Tehrik-e-Taliban Pakistan");
    // Groups mentioned ("Isis", "Isis-K", "Tehreek-i-Taliban Pakistan") resolve to the demo
    // case's objects, which the draft references rather than duplicates.
    let report = &objects(&bundle, "report")[0];
    let refs: Vec<&str> = report["object_refs"]
        .as_array()
        .expect("refs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for id in [&islamic_state, &iskp, &ttp] {
        assert!(refs.contains(&id.as_str()), "{id} not in the report");
    }
    assert!(
        objects(&bundle, "threat-actor")
            .iter()
            .all(|t| t["labels"][0] == "tessera-new-group")
    );

    let incidents = objects(&bundle, "incident");
    let relationships = objects(&bundle, "relationship");
    let locations = objects(&bundle, "location");
    let find = |date: &str| -> &Value {
        incidents
            .iter()
            .find(|i| extension(i)["date"] == date)
            .unwrap_or_else(|| panic!("no incident on {date}: {incidents:#?}"))
    };
    let place_of = |incident: &Value| -> (String, String) {
        let link = relationships
            .iter()
            .find(|r| r["source_ref"] == incident["id"] && r["relationship_type"] == "located-at")
            .expect("the incident has a place");
        let place = locations
            .iter()
            .find(|l| l["id"] == link["target_ref"])
            .expect("the place is in the draft");
        (
            place["name"].as_str().unwrap_or("").to_string(),
            place["country"].as_str().unwrap_or("").to_string(),
        )
    };
    let perpetrators = |incident: &Value| -> Vec<String> {
        relationships
            .iter()
            .filter(|r| {
                r["source_ref"] == incident["id"] && r["relationship_type"] == "attributed-to"
            })
            .filter_map(|r| r["target_ref"].as_str().map(str::to_string))
            .collect()
    };

    let moscow = find("2024-03-22");
    assert_eq!(extension(moscow)["date_precision"], "day");
    assert_eq!(extension(moscow)["killed"]["best"], 137);
    assert_eq!(place_of(moscow), ("Moscow".to_string(), "RU".to_string()));
    assert_eq!(perpetrators(moscow), vec![islamic_state.clone()]);
    let moscow_location = locations
        .iter()
        .find(|l| l["name"] == "Moscow")
        .expect("Moscow");
    assert!((moscow_location["latitude"].as_f64().expect("latitude") - 55.75).abs() < 0.1);

    let kerman = find("2024-01-03");
    assert_eq!(extension(kerman)["killed"]["low"], 91, "more than 90");
    assert_eq!(extension(kerman)["suicide"], true);
    assert_eq!(place_of(kerman), ("Kerman".to_string(), "IR".to_string()));
    assert_eq!(perpetrators(kerman), vec![islamic_state.clone()]);

    // "two days previously", counted from March 18.
    let soldiers = find("2024-03-16");
    assert_eq!(extension(soldiers)["killed"]["best"], 7);
    assert_eq!(perpetrators(soldiers), vec![ttp.clone()]);
    // The sentence names Afghanistan only as the air strikes' target; the dead were Pakistani
    // soldiers, the one hint of where they died.
    assert_eq!(place_of(soldiers).1, "PK");

    // "on Tuesday", resolved backwards from Saturday 30 March.
    let besham = find("2024-03-26");
    assert_eq!(extension(besham)["killed"]["best"], 5);
    // "in northern Pakistan", not "Afghanistan's Taliban regime" blamed after it.
    assert_eq!(place_of(besham), ("Pakistan".to_string(), "PK".to_string()));

    let gwadar = find("2024-03-21");
    assert_eq!(extension(gwadar)["killed"]["best"], 2);
    assert_eq!(place_of(gwadar), ("Gwadar".to_string(), "PK".to_string()));

    let istanbul = find("2024-01-28");
    assert_eq!(
        place_of(istanbul),
        ("Istanbul".to_string(), "TR".to_string())
    );

    // One note per incident, whose spans point at the text they quote.
    let text = std::fs::read_to_string(shared_data(SEED)).expect("the seed article");
    let chars: Vec<char> = text.chars().collect();
    let notes = objects(&bundle, "note");
    assert_eq!(notes.len(), incidents.len());
    for note in notes {
        for span in note["x_tessera_evidence"].as_array().expect("evidence") {
            let (start, end) = (
                span["start"].as_u64().expect("start") as usize,
                span["end"].as_u64().expect("end") as usize,
            );
            let quoted: String = chars[start..end].iter().collect();
            assert_eq!(quoted, span["text"].as_str().expect("text"));
        }
    }
}

#[test]
fn odd_inputs_give_an_error_or_an_empty_draft() {
    let node = fresh_node();
    let work = tempfile::tempdir().expect("a temporary directory");
    let write = |name: &str, bytes: &[u8]| {
        let path = work.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let empty = write("empty.txt", b"");
    let quiet = write(
        "quiet.txt",
        b"The council met on Tuesday to discuss the budget for parks.",
    );
    let foreign = write(
        "foreign.txt",
        "Взрыв в Москве 22 марта. 爆炸发生在三月。".as_bytes(),
    );
    let mut big = String::new();
    while big.len() < 10 << 20 {
        big.push_str("the weather in kerman was mild and nobody was hurt on march 3. ");
    }
    let big = write("big.txt", big.as_bytes());
    for path in [&empty, &quiet, &foreign, &big] {
        let bundle = draft(node.path(), path);
        assert!(
            objects(&bundle, "incident").is_empty(),
            "{}",
            path.display()
        );
        assert_eq!(objects(&bundle, "report").len(), 1);
    }
    let binary = write("binary.bin", &[0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, 0]);
    let out = tessera(node.path(), &["extract", binary.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not UTF-8"),
        "{}",
        text(&out.stderr)
    );
    for bad in ["2024-02-30", "yesterday", ""] {
        let out = tessera(
            node.path(),
            &["extract", quiet.to_str().expect("path"), "--published", bad],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(text(&out.stderr).contains("--published"));
    }
    let missing = tessera(node.path(), &["extract", "/nonexistent/file.txt"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn muc4_mode_prints_templates_by_document() {
    let node = fresh_node();
    let work = tempfile::tempdir().expect("a temporary directory");
    let file = work.path().join("two.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"docid": "A", "doctext": "urban guerrillas of the fmln today exploded a car bomb outside the embassy, killing two guards.", "templates": []}"#,
            "\n",
            r#"{"docid": "B", "doctext": "the minister spoke about coffee exports.", "templates": []}"#,
            "\n"
        ),
    )
    .expect("write");
    let out: Value = serde_json::from_str(&ok(
        node.path(),
        &["extract", "--muc4", file.to_str().expect("path")],
    ))
    .expect("JSON");
    assert!(out["A"].is_array() && out["B"].is_array(), "{out}");
    for template in out["A"].as_array().expect("templates") {
        assert!(
            extract::muc4::INCIDENT_TYPES
                .contains(&template["incident_type"].as_str().expect("type"))
        );
        for role in ["PerpInd", "PerpOrg", "Target", "Victim", "Weapon"] {
            assert!(template[role].is_array());
        }
    }
    let bad = work.path().join("bad.jsonl");
    std::fs::write(&bad, "{not json\n").expect("write");
    assert_eq!(
        tessera(
            node.path(),
            &["extract", "--muc4", bad.to_str().expect("path")]
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn only_accepted_drafts_join_the_store() {
    let node = demo_node();
    let work = tempfile::tempdir().expect("a temporary directory");
    let draft_text = ok(
        node.path(),
        &[
            "extract",
            shared_data(SEED).to_str().expect("path"),
            "--published",
            "2024-03-30",
        ],
    );
    let file = work.path().join("draft.json");
    std::fs::write(&file, &draft_text).expect("write");
    let incidents_before = stats(node.path());
    let filed: Value = serde_json::from_str(&ok(
        node.path(),
        &["--json", "import", "--review", file.to_str().expect("path")],
    ))
    .expect("JSON");
    let id = filed["filed"][0]["id"].as_str().expect("an id").to_string();
    // Filing imports nothing.
    assert_eq!(stats(node.path()), incidents_before);
    let listed: Value =
        serde_json::from_str(&ok(node.path(), &["--json", "review", "list"])).expect("JSON");
    assert_eq!(listed["pending"][0]["id"], id.as_str());
    assert!(listed["pending"][0]["incidents"].as_u64().expect("count") >= 5);

    let report_id = objects(&serde_json::from_str(&draft_text).expect("JSON"), "report")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(
        !tessera(node.path(), &["show", &report_id]).status.success(),
        "not in the store before acceptance"
    );
    ok(node.path(), &["review", "accept", &id]);
    assert!(ok(node.path(), &["--json", "show", &report_id]).contains(&report_id));
    let listed: Value =
        serde_json::from_str(&ok(node.path(), &["--json", "review", "list"])).expect("JSON");
    assert!(listed["pending"].as_array().expect("list").is_empty());
    // A second accept or a reject of a filed-away draft is an error, not a panic.
    assert_eq!(
        tessera(node.path(), &["review", "accept", &id])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        tessera(node.path(), &["review", "reject", "draft-../../etc"])
            .status
            .code(),
        Some(2)
    );

    // A rejected draft is never imported.
    let other = work.path().join("other.txt");
    std::fs::write(
        &other,
        "A bombing in Kabul on March 1 killed 12 people, police said.",
    )
    .expect("write");
    let other_draft = ok(
        node.path(),
        &[
            "extract",
            other.to_str().expect("path"),
            "--published",
            "2024-03-30",
        ],
    );
    let other_file = work.path().join("other.json");
    std::fs::write(&other_file, &other_draft).expect("write");
    let filed: Value = serde_json::from_str(&ok(
        node.path(),
        &[
            "--json",
            "import",
            "--review",
            other_file.to_str().expect("path"),
        ],
    ))
    .expect("JSON");
    let other_id = filed["filed"][0]["id"].as_str().expect("id").to_string();
    let before = stats(node.path());
    ok(node.path(), &["review", "reject", &other_id]);
    assert_eq!(stats(node.path()), before);
    let other_report =
        objects(&serde_json::from_str(&other_draft).expect("JSON"), "report")[0]["id"]
            .as_str()
            .expect("id")
            .to_string();
    assert!(
        !tessera(node.path(), &["show", &other_report])
            .status
            .success()
    );
}
