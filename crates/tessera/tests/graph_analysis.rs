//! Link analysis end to end, on a node holding the demo case, enterprise ATT&CK 18.1 and the
//! UCDP GED sample: the real binary answers `graph path`, `graph neighbours`, `surge` and
//! the rest, and the app API answers the same questions with an analyst's token and with a
//! partner's token whose policy releases less.

mod taxii_support;

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use taxii_support::*;

const KERMAN: &str = "incident--ffff463b-72b7-535e-aeba-1e0481392eea";
const ISTANBUL: &str = "incident--58c6f5e5-16d5-5558-96ad-082f34f8d7b7";
const CROCUS: &str = "incident--ba50c8d9-47cf-5a09-954f-fcf912471572";
const ISKP: &str = "threat-actor--4f35b76c-1d39-56eb-a754-3d52a89ea412";

/// The node every test here reads (built once; no test writes to it), with two tokens: an
/// analyst's and a partner's ("limited"), whose one rule releases incidents, places and
/// victims but no groups.
struct Node {
    dir: tempfile::TempDir,
    analyst: String,
    partner: String,
}

fn node() -> &'static Node {
    static NODE: OnceLock<Node> = OnceLock::new();
    NODE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        tessera(dir.path(), &["init", "--demo"]);
        tessera(
            dir.path(),
            &[
                "import",
                "--progress",
                "none",
                shared_data("stix/enterprise-attack-18.1-stix20.json.gz")
                    .to_str()
                    .unwrap(),
                shared_data("events/ucdp-ged-23.1-sample.csv")
                    .to_str()
                    .unwrap(),
            ],
        );
        let partner = add_partner(dir.path(), "limited", "partner");
        let analyst = add_partner(dir.path(), "desk", "analyst");
        let policy = dir.path().join("policy.toml");
        let mut text = std::fs::read_to_string(&policy).expect("partner add wrote a policy");
        text.push_str(
            r#"
[[rule]]
name = "incidents-without-groups"
partners = ["limited"]
tlp_max = "clear"
types = ["incident", "location", "identity", "relationship", "marking-definition"]
"#,
        );
        std::fs::write(&policy, text).expect("write the policy");
        Node {
            dir,
            analyst,
            partner,
        }
    })
}

/// One process at a time holds a store: the tests' commands on the shared node take turns.
static TURN: Mutex<()> = Mutex::new(());

fn run(dir: &Path, args: &[&str]) -> String {
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tessera(dir, args)
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&run(dir, &all)).expect("--json prints JSON")
}

/// A copy of the shared node, for a server (which holds its store for as long as it runs).
fn copy_of(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary directory");
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", dir.display()))
        .arg(copy.path())
        .status()
        .expect("cp runs");
    assert!(status.success());
    copy
}

fn ids(nodes: &Value) -> Vec<String> {
    nodes
        .as_array()
        .expect("a list of nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("an id").to_string())
        .collect()
}

#[test]
fn the_kerman_istanbul_paths_show_the_same_cell_link_and_the_shared_group() {
    let node = node();
    let answer = json(
        node.dir.path(),
        &["graph", "path", KERMAN, ISTANBUL, "--k", "3"],
    );
    let paths = answer["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 3, "{answer:#}");
    // The shortest: the direct same-cell link, with the relationship that supports it.
    assert_eq!(paths[0]["hops"], 1);
    assert_eq!(ids(&paths[0]["nodes"]), vec![KERMAN, ISTANBUL]);
    let link = &paths[0]["links"][0];
    assert_eq!(link["type"], "same-cell");
    assert_eq!(link["supports"].as_array().unwrap().len(), 1);
    // Next: through the group both are attributed to (ISKP), by name.
    let through_group = paths
        .iter()
        .find(|p| ids(&p["nodes"]).contains(&ISKP.to_string()))
        .expect("a path through ISKP");
    assert_eq!(through_group["hops"], 2);
    assert_eq!(
        through_group["nodes"][1]["name"],
        "Islamic State Khorasan Province"
    );
    for link in through_group["links"].as_array().unwrap() {
        assert_eq!(link["type"], "attributed-to");
    }
    // Names work as well as ids; the text form names both incidents.
    let by_name = run(
        node.dir.path(),
        &[
            "graph",
            "path",
            "Twin suicide bombings at the Soleimani commemoration in Kerman",
            "Shooting at the Santa Maria Church in Istanbul",
        ],
    );
    assert!(by_name.contains("--same-cell-->"), "{by_name}");
    // Time-respecting: Kerman (3 January) before Istanbul (28 January), not the reverse
    // through a later event.
    let timed = json(
        node.dir.path(),
        &[
            "graph",
            "path",
            KERMAN,
            CROCUS,
            "--time",
            "--gap-days",
            "90",
        ],
    );
    let path = &timed["paths"][0];
    let days: Vec<&str> = path["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut sorted = days.clone();
    sorted.sort();
    assert_eq!(days, sorted, "{timed:#}");
    assert_eq!(ids(&path["nodes"]).last().unwrap(), CROCUS);
}

#[test]
fn iskp_at_depth_two_holds_its_2024_incidents() {
    let node = node();
    let answer = json(
        node.dir.path(),
        &["graph", "neighbours", "ISKP", "--depth", "2"],
    );
    assert_eq!(answer["start"]["id"], ISKP);
    let found = ids(&answer["nodes"]);
    for incident in [KERMAN, ISTANBUL, CROCUS] {
        assert!(found.contains(&incident.to_string()), "{incident} missing");
    }
    // Resolution: the Islamic State of the demo case and UCDP's "IS" are one node with two
    // sources.
    let islamic_state = answer["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "Islamic State")
        .expect("the parent group at depth 1");
    assert_eq!(islamic_state["depth"], 1);
    assert!(islamic_state["sources"].as_array().unwrap().len() >= 2);
    // A filter on 2024 keeps the 2024 incidents and drops UCDP's older IS incidents.
    let recent = json(
        node.dir.path(),
        &[
            "graph",
            "neighbours",
            "ISKP",
            "--depth",
            "2",
            "--type",
            "incident",
            "--type",
            "threat-actor",
            "--from",
            "2024-01-01",
        ],
    );
    let incidents: Vec<&Value> = recent["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "incident")
        .collect();
    assert!(incidents.len() >= 3);
    assert!(
        incidents
            .iter()
            .all(|n| n["date"].as_str().unwrap() >= "2024-01-01")
    );
    assert!(incidents.len() < found.len());
}

#[test]
fn surge_flags_iskp_outside_afghanistan_in_early_2024_and_explains_it() {
    let node = node();
    let answer = json(node.dir.path(), &["surge", "--top", "1000"]);
    let surges = answer["surges"].as_array().unwrap();
    let abroad = surges
        .iter()
        .find(|s| s["key"]["group"]["id"] == ISKP && s["key"]["outside_country"] == "AF")
        .unwrap_or_else(|| panic!("no ISKP surge outside Afghanistan in {answer:#}"));
    assert_eq!(abroad["period"], "2024-Q1");
    assert_eq!(abroad["count"], 3);
    assert_eq!(abroad["baseline_count"], 0);
    assert_eq!(abroad["countries"], serde_json::json!(["IR", "RU", "TR"]));
    assert!(abroad["q_value"].as_f64().unwrap() <= 0.05);
    let explanation = abroad["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with(
            "Islamic State Khorasan Province-attributed incidents outside Afghanistan (AF): 3 in 2024-Q1 against a baseline of 0.00 a quarter"
        ),
        "{explanation}"
    );
    assert!(explanation.contains("Kerman") && explanation.contains("Crocus"));
    // Nothing in Afghanistan itself surges for ISKP.
    assert!(
        !surges
            .iter()
            .any(|s| s["key"]["group"]["id"] == ISKP && s["key"]["country"] == "AF")
    );
    // The trend counts behind it.
    let trends = json(
        node.dir.path(),
        &[
            "trends",
            "--by",
            "group",
            "--interval",
            "quarter",
            "--top",
            "1000",
        ],
    );
    let iskp = trends["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"]["group"]["id"] == ISKP)
        .expect("an ISKP series");
    assert_eq!(iskp["counts"]["2024-Q1"], 3);
}

#[test]
fn centrality_communities_and_a_stix_grouping() {
    let node = node();
    let out = node.dir.path().join("grouping.json");
    let central = json(
        node.dir.path(),
        &[
            "graph",
            "central",
            "--measure",
            "degree",
            "--top",
            "5",
            "--grouping",
            out.to_str().unwrap(),
        ],
    );
    let ranking = central["ranking"].as_array().unwrap();
    assert_eq!(ranking.len(), 5);
    let scores: Vec<f64> = ranking
        .iter()
        .map(|n| n["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let grouping = &bundle["objects"][0];
    assert_eq!(grouping["type"], "grouping");
    let refs: Vec<&str> = grouping["object_refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(refs.contains(&ranking[0]["id"].as_str().unwrap()));
    // The grouping is valid STIX 2.1: a node takes it (import validates every MUST).
    let other = fresh_node();
    tessera(
        other.path(),
        &["import", "--progress", "none", out.to_str().unwrap()],
    );
    let communities = json(
        node.dir.path(),
        &["graph", "communities", "--method", "louvain", "--top", "3"],
    );
    assert!(communities["count"].as_u64().unwrap() > 3);
    assert!(communities["modularity"].as_f64().unwrap() > 0.3);
}

#[test]
fn a_partner_that_may_not_see_groups_sees_less_through_the_app_api() {
    let node = node();
    let copy = copy_of(node.dir.path());
    let server = Server::start(copy.path(), &[]);
    let path = format!("/app/graph/path?source={KERMAN}&target={ISTANBUL}&k=3");
    let analyst = server.get(&path, &node.analyst);
    assert_eq!(
        analyst.status,
        200,
        "{}",
        String::from_utf8_lossy(&analyst.body)
    );
    assert_eq!(analyst.header("content-type"), Some("application/json"));
    let analyst = analyst.json();
    let partner = server.get(&path, &node.partner).json();
    let analyst_paths = analyst["paths"].as_array().unwrap();
    let partner_paths = partner["paths"].as_array().unwrap();
    // Both see the same-cell link; only the analyst sees the path through the group.
    assert_eq!(partner_paths[0]["links"][0]["type"], "same-cell");
    assert!(
        analyst_paths
            .iter()
            .any(|p| ids(&p["nodes"]).contains(&ISKP.to_string()))
    );
    for p in partner_paths {
        for n in p["nodes"].as_array().unwrap() {
            assert_ne!(n["type"], "threat-actor", "{partner:#}");
        }
    }
    // The partner cannot name ISKP at all; the analyst's depth-2 neighbourhood holds Crocus.
    let neighbours = "/app/graph/neighbours?node=ISKP&depth=2";
    let seen = server.get_json(neighbours, &node.analyst);
    assert!(ids(&seen["nodes"]).contains(&CROCUS.to_string()));
    let hidden = server.get(neighbours, &node.partner);
    assert_eq!(hidden.status, 404);
    // The partner's surge view has no group series; the analyst's has ISKP abroad.
    let analyst_surges = server.get_json("/app/surge?top=1000", &node.analyst);
    let partner_surges = server.get_json("/app/surge?top=1000", &node.partner);
    assert!(
        analyst_surges["surges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["key"]["outside_country"] == "AF")
    );
    assert!(
        partner_surges["surges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["key"].get("group").is_none())
    );
    // The partner sees a strictly smaller graph.
    let analyst_parts = server.get_json(
        "/app/graph/communities?method=components&top=1",
        &node.analyst,
    );
    let partner_parts = server.get_json(
        "/app/graph/communities?method=components&top=1",
        &node.partner,
    );
    assert!(
        partner_parts["nodes_considered"].as_u64().unwrap()
            < analyst_parts["nodes_considered"].as_u64().unwrap()
    );
    // The same question from the CLI, as that partner.
    let as_partner = json(
        node.dir.path(),
        &[
            "graph", "path", KERMAN, ISTANBUL, "--k", "3", "--as", "limited",
        ],
    );
    assert_eq!(as_partner["paths"], partner["paths"]);
    // No token, no answer.
    let anonymous = request(server.address, "GET", &path, &[], None);
    assert_eq!(anonymous.status, 401);
    // Bad parameters are named.
    let bad = server.get("/app/graph/neighbours?node=ISKP&depth=9", &node.analyst);
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("depth"));
}
