//! No leaks over HTTP. A node holds objects under every marking (none, TLP 2.0 and 1.0 at every
//! level, a sharing-group marking, an unknown marking, a neutral one), relationships, sightings
//! and reports that cross them, second versions that change an object's marking, and objects a
//! partner pushed (received, so passed on only under CLEAR or GREEN). Three partners with
//! different rights and an analyst page through `shared` over real HTTP, and each gets exactly
//! what the policy crate releases to it, redactions included, and no released object refers to
//! one the partner did not receive (TLP marking definitions aside).

mod taxii_support;

use std::collections::{BTreeMap, BTreeSet};

use policy::{Decision, Held, Policy, Provenance, Tlp};
use serde_json::{Value, json};
use stix::Object;
use taxii_support::*;

const GROUP_MARKING: &str = "marking-definition--9377ca90-5868-4ddc-9e2c-d2b389c0abe2";
const COPYRIGHT_MARKING: &str = "marking-definition--3c0fd00e-f9a8-41d9-9e4a-7fc1ff8a0c18";
const UNKNOWN_MARKING: &str = "marking-definition--0f7c2f55-8e7e-4d2b-9b5f-6d1f8a2c3b4e";
const TLP1_WHITE: &str = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
const TLP1_AMBER: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";

const PARTNERS: [&str; 4] = ["green-only", "strict", "grouped", "analysts"];
/// The partner that pushes objects to the node's inbox.
const PUSHER: &str = "grouped";

fn policy_text() -> String {
    format!(
        r#"version = 1
neutral_markings = ["{COPYRIGHT_MARKING}"]

[[partner]]
name = "analysts"
identity_ref = "identity--5d6f55e7-d337-42a9-89ef-658976546091"
role = "analyst"

[[partner]]
name = "green-only"
identity_ref = "identity--256c665f-9234-4db4-91aa-1cdfe6c8e1a4"
role = "partner"

[[partner]]
name = "strict"
identity_ref = "identity--bf5d16eb-35fc-458f-b144-51b2948c2e44"
role = "partner"

[[partner]]
name = "grouped"
identity_ref = "identity--ccd29914-2138-48cd-a2e6-9c40060244c2"
role = "partner"

[[group]]
name = "ct-core"
members = ["grouped", "strict"]

[[rule]]
name = "green-to-everyone"
everyone = true
tlp_max = "green"

[rule.redact]
created_by_ref = true
custom_properties = true
location = "country"

[[rule]]
name = "amber-strict-to-strict"
partners = ["strict"]
tlp_max = "amber+strict"
types = ["indicator", "threat-actor", "relationship", "sighting", "report", "identity", "location"]

[rule.redact]
external_references = true
properties = ["x_source_handler"]

[[rule]]
name = "ct-core-shared"
groups = ["ct-core"]
tlp_max = "amber"
marking = "{GROUP_MARKING}"

[rule.redact]
description = true
"#
    )
}

/// A small deterministic generator (xorshift64*), so a failure is reproducible.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn id(&mut self, object_type: &str) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{object_type}--{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// Every kind of marking an object may carry.
fn markings(choice: usize) -> Vec<&'static str> {
    match choice % 13 {
        0 => vec![],
        1 => vec![Tlp::Clear.marking_id()],
        2 => vec![Tlp::Green.marking_id()],
        3 => vec![Tlp::Amber.marking_id()],
        4 => vec![Tlp::AmberStrict.marking_id()],
        5 => vec![Tlp::Red.marking_id()],
        6 => vec![GROUP_MARKING],
        7 => vec![GROUP_MARKING, Tlp::Amber.marking_id()],
        8 => vec![UNKNOWN_MARKING, Tlp::Green.marking_id()],
        9 => vec![COPYRIGHT_MARKING, Tlp::Green.marking_id()],
        10 => vec![TLP1_WHITE],
        11 => vec![TLP1_AMBER],
        _ => vec![Tlp::Green.marking_id(), Tlp::Amber.marking_id()],
    }
}

fn common(object: &mut Value, rng: &mut Random, identities: &[String], modified: &str) {
    let marking = markings(rng.below(13));
    if !marking.is_empty() {
        object["object_marking_refs"] = json!(marking);
    }
    if rng.below(2) == 0 && !identities.is_empty() {
        object["created_by_ref"] = json!(identities[rng.below(identities.len())]);
    }
    if rng.below(3) == 0 {
        object["external_references"] =
            json!([{ "source_name": "agency", "url": "https://example.org/r/1" }]);
    }
    if rng.below(3) == 0 {
        object["x_source_handler"] = json!("handler 7");
    }
    if rng.below(2) == 0 {
        object["description"] = json!("what the source said");
    }
    object["modified"] = json!(modified);
}

fn base(object_type: &str, id: &str) -> Value {
    json!({
        "type": object_type, "spec_version": "2.1", "id": id,
        "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
    })
}

fn make_sdo(rng: &mut Random, object_type: &str, identities: &[String], n: usize) -> Value {
    let id = rng.id(object_type);
    let mut object = base(object_type, &id);
    match object_type {
        "indicator" => {
            object["pattern"] = json!(format!("[ipv4-addr:value = '198.51.100.{}']", n % 250));
            object["pattern_type"] = json!("stix");
            object["valid_from"] = json!("2024-01-01T00:00:00Z");
            object["name"] = json!(format!("indicator {n}"));
        }
        "malware" => {
            object["name"] = json!(format!("malware {n}"));
            object["is_family"] = json!(true);
        }
        "identity" => {
            object["name"] = json!(format!("organisation {n}"));
            object["identity_class"] = json!("organization");
        }
        "location" => {
            object["name"] = json!(format!("place {n}"));
            object["country"] = json!("FR");
            object["city"] = json!("Lyon");
            object["latitude"] = json!(45.76);
            object["longitude"] = json!(4.83);
        }
        _ => object["name"] = json!(format!("{object_type} {n}")),
    }
    common(&mut object, rng, identities, "2024-01-01T00:00:00.000Z");
    object
}

/// The node's own objects, then what the pushing partner sends.
fn generate() -> (Vec<Value>, Vec<Value>) {
    let mut rng = Random(0x9e37_79b9_7f4a_7c15);
    let mut local: Vec<Value> = Vec::new();
    for id in [
        Tlp::Clear.marking_id(),
        Tlp::Green.marking_id(),
        Tlp::Amber.marking_id(),
        Tlp::AmberStrict.marking_id(),
        Tlp::Red.marking_id(),
    ] {
        local.push(
            policy::published_definition(id)
                .expect("a TLP 2.0 marking")
                .into_value(),
        );
    }
    for (id, statement) in [
        (GROUP_MARKING, "CT core sharing group"),
        (COPYRIGHT_MARKING, "Copyright the partners"),
        (UNKNOWN_MARKING, "Handle via special channels"),
    ] {
        local.push(json!({
            "type": "marking-definition", "spec_version": "2.1", "id": id,
            "created": "2024-01-01T00:00:00.000Z", "definition_type": "statement",
            "definition": { "statement": statement },
        }));
    }
    let mut identities: Vec<String> = Vec::new();
    for n in 0..6 {
        let identity = make_sdo(&mut rng, "identity", &[], n);
        identities.push(identity["id"].as_str().expect("an id").to_string());
        local.push(identity);
    }
    let types = [
        "indicator",
        "threat-actor",
        "malware",
        "location",
        "campaign",
        "intrusion-set",
        "attack-pattern",
    ];
    let mut domain: Vec<String> = identities.clone();
    for n in 0..70 {
        let object = make_sdo(&mut rng, types[n % types.len()], &identities, n);
        domain.push(object["id"].as_str().expect("an id").to_string());
        local.push(object);
    }
    let mut relationships = Vec::new();
    for _ in 0..90 {
        let id = rng.id("relationship");
        let mut object = base("relationship", &id);
        object["relationship_type"] = json!("related-to");
        object["source_ref"] = json!(domain[rng.below(domain.len())]);
        object["target_ref"] = json!(domain[rng.below(domain.len())]);
        common(
            &mut object,
            &mut rng,
            &identities,
            "2024-01-01T00:00:00.000Z",
        );
        relationships.push(id);
        local.push(object);
    }
    for _ in 0..15 {
        let id = rng.id("sighting");
        let mut object = base("sighting", &id);
        object["sighting_of_ref"] = json!(domain[6 + rng.below(domain.len() - 6)]);
        object["where_sighted_refs"] = json!([identities[rng.below(identities.len())]]);
        object["count"] = json!(3);
        common(
            &mut object,
            &mut rng,
            &identities,
            "2024-01-01T00:00:00.000Z",
        );
        local.push(object);
    }
    for n in 0..12 {
        let id = rng.id("report");
        let mut object = base("report", &id);
        object["name"] = json!(format!("report {n}"));
        object["published"] = json!("2024-02-01T00:00:00Z");
        let mut refs: Vec<String> = (0..2 + rng.below(4))
            .map(|_| domain[rng.below(domain.len())].clone())
            .collect();
        refs.push(relationships[rng.below(relationships.len())].clone());
        refs.sort();
        refs.dedup();
        object["object_refs"] = json!(refs);
        object["x_related"] = json!(domain[rng.below(domain.len())]);
        common(
            &mut object,
            &mut rng,
            &identities,
            "2024-01-01T00:00:00.000Z",
        );
        local.push(object);
    }
    // Second versions that change the marking (and so what is current).
    for k in 0..12 {
        let mut newer = local[8 + k * 7].clone();
        if newer["type"] == "marking-definition" {
            continue;
        }
        common(
            &mut newer,
            &mut rng,
            &identities,
            "2024-06-01T00:00:00.000Z",
        );
        local.push(newer);
    }

    // What the pushing partner sends: its own indicators under several markings, and links
    // from them to the node's objects.
    let mut pushed = Vec::new();
    let mut pushed_ids = Vec::new();
    for (n, marking) in [1usize, 2, 3, 4, 0, 6, 2].into_iter().enumerate() {
        let mut object = make_sdo(&mut rng, "indicator", &[], 100 + n);
        let chosen = markings(marking);
        object
            .as_object_mut()
            .expect("an object")
            .remove("object_marking_refs");
        if !chosen.is_empty() {
            object["object_marking_refs"] = json!(chosen);
        }
        pushed_ids.push(object["id"].as_str().expect("an id").to_string());
        pushed.push(object);
    }
    for n in 0..4 {
        let id = rng.id("relationship");
        let mut object = base("relationship", &id);
        object["relationship_type"] = json!("indicates");
        object["source_ref"] = json!(pushed_ids[n]);
        object["target_ref"] = json!(domain[7 + n]);
        object["object_marking_refs"] = json!([Tlp::Green.marking_id()]);
        pushed.push(object);
    }
    (local, pushed)
}

/// What the policy crate itself releases to `partner`: for the current version of every
/// object (or every version), the released copy.
fn oracle(
    policy: &Policy,
    partner: &str,
    versions: &[(Value, Provenance)],
    every_version: bool,
) -> BTreeMap<(String, String), Value> {
    let mut current: BTreeMap<String, (Value, Provenance)> = BTreeMap::new();
    for (object, provenance) in versions {
        let id = object["id"].as_str().expect("an id").to_string();
        let newer = match current.get(&id) {
            Some((held, _)) => version_of(object) > version_of(held),
            None => true,
        };
        if newer {
            current.insert(id, (object.clone(), provenance.clone()));
        }
    }
    let resolver = |id: &str| -> Option<Held> {
        current.get(id).map(|(object, provenance)| Held {
            object: Object::from_value(object.clone()).expect("a STIX object"),
            provenance: provenance.clone(),
        })
    };
    let decide: Vec<&(Value, Provenance)> = if every_version {
        versions.iter().collect()
    } else {
        current.values().collect()
    };
    let mut out = BTreeMap::new();
    for (object, provenance) in decide {
        let parsed = Object::from_value(object.clone()).expect("a STIX object");
        if let Decision::Release(release) = policy.release(&parsed, provenance, partner, &resolver)
        {
            let copy = release.into_object().into_value();
            out.insert(
                (copy["id"].as_str().unwrap().to_string(), version_of(&copy)),
                copy,
            );
        }
    }
    out
}

fn version_of(object: &Value) -> String {
    object
        .get("modified")
        .or_else(|| object.get("created"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn keyed(objects: Vec<Value>) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for object in objects {
        let key = (
            object["id"].as_str().unwrap().to_string(),
            version_of(&object),
        );
        assert!(out.insert(key.clone(), object).is_none(), "{key:?} twice");
    }
    out
}

/// Every string value (at any depth, not keys) that is a whole STIX identifier, except the
/// object's own id.
fn referenced_ids(object: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, top: bool, out: &mut BTreeSet<String>) {
        match value {
            Value::String(text) if stix::parse_identifier(text).is_ok() => {
                out.insert(text.clone());
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, false, out)),
            Value::Object(map) => {
                for (key, v) in map {
                    if !(top && key == "id") {
                        walk(v, false, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(object, true, &mut out);
    out
}

#[test]
fn each_partner_gets_exactly_what_the_policy_releases_and_nothing_it_refers_to_is_missing() {
    let node = fresh_node();
    let dir = node.path();
    std::fs::write(dir.join("policy.toml"), policy_text()).expect("write the policy");
    let tokens: BTreeMap<&str, String> = PARTNERS
        .iter()
        .map(|&name| {
            let role = if name == "analysts" {
                "analyst"
            } else {
                "partner"
            };
            (name, add_partner(dir, name, role))
        })
        .collect();
    // What a new node already holds (its own identity, the objects every node ships) is part
    // of what the policy decides over.
    let shipped_path = dir.join("shipped.json");
    tessera(
        dir,
        &[
            "export",
            "--all-versions",
            "--out",
            shipped_path.to_str().unwrap(),
        ],
    );
    let shipped: Value = serde_json::from_slice(&std::fs::read(&shipped_path).unwrap()).unwrap();
    let shipped_ids: BTreeSet<&str> = shipped["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    let (mut local, pushed) = generate();
    local.retain(|o| !shipped_ids.contains(o["id"].as_str().unwrap()));
    let bundle = json!({
        "type": "bundle", "id": "bundle--6a2a0a8e-3b4b-4f4f-9b9b-0c0c0c0c0c0c", "objects": local,
    });
    let bundle_path = dir.join("local.json");
    std::fs::write(&bundle_path, bundle.to_string()).expect("write the bundle");
    let out = tessera(
        dir,
        &[
            "--json",
            "import",
            bundle_path.to_str().expect("a UTF-8 path"),
        ],
    );
    let report: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        report["imports"][0]["rejected"], 0,
        "the generated objects are valid STIX: {out}"
    );

    let server = Server::start(dir, &[]);
    // The release index is built before the push, so that what is pushed reaches the
    // partners' pages through the index's catch-up (the decisions below are checked either
    // way: an index that is not at a page's state is not asked).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.log().contains("release index:") {
        assert!(
            std::time::Instant::now() < deadline,
            "the release index was not built: {}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = server
        .post(
            "/api/collections/inbox/objects/",
            &tokens[PUSHER],
            json!({ "objects": pushed }).to_string().as_bytes(),
        )
        .json();
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["success_count"], pushed.len(), "{status}");

    let policy = Policy::from_toml_str(&std::fs::read_to_string(dir.join("policy.toml")).unwrap())
        .expect("the policy file is valid");
    let mut versions: Vec<(Value, Provenance)> = shipped["objects"]
        .as_array()
        .unwrap()
        .iter()
        .chain(local.iter())
        .map(|o| (o.clone(), Provenance::Local))
        .collect();
    versions.extend(pushed.iter().map(|o| {
        (
            o.clone(),
            Provenance::Received {
                peer: PUSHER.to_string(),
            },
        )
    }));

    let mut counts = BTreeMap::new();
    for partner in PARTNERS {
        let token = &tokens[partner];
        // Current versions, in small pages so that paging is exercised.
        let got = keyed(server.walk("/api/collections/shared/objects/", token, 7));
        let expected = oracle(&policy, partner, &versions, false);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{partner}: the set of released objects differs from the policy's"
        );
        for (key, object) in &got {
            assert_eq!(
                object, &expected[key],
                "{partner}: {key:?} is not the policy's copy"
            );
        }
        // Closure: nothing refers to what the partner did not get.
        let received: BTreeSet<&str> = got.keys().map(|(id, _)| id.as_str()).collect();
        for object in got.values() {
            for id in referenced_ids(object) {
                assert!(
                    received.contains(id.as_str()) || policy::is_tlp_marking(&id),
                    "{partner}: {} refers to {id}, which it did not receive",
                    object["id"]
                );
            }
        }
        // Every version, each decided as given.
        let all = keyed(server.walk(
            "/api/collections/shared/objects/?match[version]=all",
            token,
            13,
        ));
        let expected_all = oracle(&policy, partner, &versions, true);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            expected_all.keys().collect::<Vec<_>>(),
            "{partner}: match[version]=all differs from the policy's"
        );
        // The manifest lists exactly what is released.
        let manifest = server.walk("/api/collections/shared/manifest/", token, 11);
        let listed: BTreeSet<(String, String)> = manifest
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap().to_string(),
                    m["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            got.keys().cloned().collect::<BTreeSet<_>>(),
            "{partner}: the manifest lists other objects than those released"
        );
        // One object at a time: what is released of it, and an object none of whose versions
        // is released does not exist.
        for (object, _) in versions.iter().step_by(9) {
            let id = object["id"].as_str().unwrap();
            let path = format!("/api/collections/shared/objects/{id}/");
            let response = server.get(&path, token);
            let expected_versions: Vec<&str> = expected_all
                .keys()
                .filter(|(i, _)| i == id)
                .map(|(_, v)| v.as_str())
                .collect();
            if expected_versions.is_empty() {
                response.expect_error(404);
                server
                    .get(&format!("{path}versions/"), token)
                    .expect_error(404);
                continue;
            }
            assert_eq!(response.status, 200, "{partner} {id}");
            let current: Vec<&Value> = got.values().filter(|o| o["id"] == id).collect();
            let body = response.json();
            let objects = body.get("objects").cloned().unwrap_or(json!([]));
            assert_eq!(objects, json!(current), "{partner} {id}");
            let listed = server.get_json(&format!("{path}versions/"), token);
            assert_eq!(
                listed["versions"],
                json!(expected_versions),
                "{partner} {id}"
            );
        }
        counts.insert(partner, got.len());
    }
    // The three partners see different, non-trivial views; the analysts see everything.
    let total_ids = versions
        .iter()
        .map(|(o, _)| o["id"].as_str().unwrap())
        .collect::<BTreeSet<_>>()
        .len();
    eprintln!("objects released per partner: {counts:?}, of {total_ids}");
    assert_eq!(counts["analysts"], total_ids);
    for partner in ["green-only", "strict", "grouped"] {
        assert!(
            counts[partner] > 10 && counts[partner] < total_ids,
            "{partner} sees {} of {total_ids}",
            counts[partner]
        );
    }
    assert!(counts["green-only"] < counts["strict"], "{counts:?}");
    assert!(counts["green-only"] < counts["grouped"], "{counts:?}");
    // The inbox is for the analysts: it holds exactly what the partner pushed.
    let inbox = server.walk("/api/collections/inbox/objects/", &tokens["analysts"], 5);
    assert_eq!(inbox.len(), pushed.len());
    server
        .get("/api/collections/inbox/objects/", &tokens["green-only"])
        .expect_error(403);
}
