//! Bad input over HTTP gets the TAXII error the specification gives it and stores nothing;
//! tokens, revocation and the rate limit hold; a bad policy file is refused while the old one
//! stays in force; and a thousand concurrent requests from several partners give no 5xx and
//! no answer meant for someone else.

mod taxii_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use taxii_support::*;

const OBJECTS: &str = "/api/collections/shared/objects/";

/// The ICS ATT&CK bundle with a TLP marking on every object (CLEAR, GREEN, AMBER, RED in
/// turn) beside the MITRE copyright marking, and a policy that declares that one neutral:
/// partners with different clearances then see different parts of real data.
fn marked_ics(dir: &std::path::Path) -> (Vec<Value>, String) {
    let bundle: Value = serde_json::from_slice(
        &std::fs::read(shared_data("stix/ics-attack-18.1.json")).expect("the ICS bundle"),
    )
    .expect("JSON");
    let mut objects = bundle["objects"].as_array().expect("objects").clone();
    let copyright: Vec<String> = objects
        .iter()
        .filter(|o| o["type"] == "marking-definition")
        .map(|o| o["id"].as_str().expect("an id").to_string())
        .collect();
    let levels = [
        policy::Tlp::Clear,
        policy::Tlp::Green,
        policy::Tlp::Amber,
        policy::Tlp::Red,
    ];
    for (n, object) in objects.iter_mut().enumerate() {
        if object["type"] == "marking-definition" {
            continue;
        }
        let mut refs: Vec<Value> = object["object_marking_refs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        refs.push(json!(levels[n % levels.len()].marking_id()));
        object["object_marking_refs"] = json!(refs);
    }
    let path = dir.join("marked.json");
    std::fs::write(
        &path,
        json!({"type": "bundle", "id": bundle["id"], "objects": objects}).to_string(),
    )
    .expect("write the bundle");
    tessera(dir, &["import", path.to_str().expect("a UTF-8 path")]);
    let policy = format!(
        r#"version = 1
neutral_markings = {copyright:?}

[[partner]]
name = "analysts"
identity_ref = "identity--5d6f55e7-d337-42a9-89ef-658976546091"
role = "analyst"

[[partner]]
name = "green-only"
identity_ref = "identity--256c665f-9234-4db4-91aa-1cdfe6c8e1a4"
role = "partner"

[[partner]]
name = "amber"
identity_ref = "identity--bf5d16eb-35fc-458f-b144-51b2948c2e44"
role = "partner"

[[rule]]
name = "green-to-everyone"
everyone = true
tlp_max = "green"

[[rule]]
name = "amber-to-amber"
partners = ["amber"]
tlp_max = "amber"
"#
    );
    (objects, policy)
}

/// What the analysts see of the shared collection: every current (id, version).
fn holdings(server: &Server, analyst: &str) -> Vec<(String, String)> {
    server
        .walk("/api/collections/shared/manifest/", analyst, 1_000)
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn bad_requests_get_taxii_errors_and_store_nothing() {
    let node = fresh_node();
    let dir = node.path();
    tessera(
        dir,
        &[
            "import",
            shared_data("stix/ics-attack-18.1.json").to_str().unwrap(),
        ],
    );
    let analyst = add_partner(dir, "analysts", "analyst");
    let stats_before: Value = serde_json::from_str(&tessera(dir, &["--json", "stats"])).unwrap();
    let server = Server::start(dir, &["--max-content-length", "200000"]);
    let before = holdings(&server, &analyst);
    assert!(before.len() >= 1826);

    // Not JSON, not an envelope.
    for body in [
        &b"{\"objects\": [{\"type\": \"indicator\""[..],
        b"\xff\xfe not even text",
        b"[1, 2, 3]",
        b"{\"more\": false}",
        b"{\"objects\": {\"type\": \"indicator\"}}",
        b"",
    ] {
        let error = server.post(OBJECTS, &analyst, body).expect_error(400);
        assert!(
            error["description"].as_str().unwrap().contains("JSON")
                || error["description"].as_str().unwrap().contains("envelope"),
            "{error}"
        );
    }
    // Another media type, in either direction.
    let mut headers = auth(&analyst);
    headers.push(("Content-Type".into(), "application/json".into()));
    request(
        server.address,
        "POST",
        OBJECTS,
        &headers,
        Some(b"{\"objects\": []}"),
    )
    .expect_error(415);
    request(
        server.address,
        "POST",
        OBJECTS,
        &auth(&analyst),
        Some(b"{\"objects\": []}"),
    )
    .expect_error(415);
    for accept in [
        "application/json",
        "application/taxii+json;version=2.0",
        "text/html",
    ] {
        let headers = vec![
            ("Authorization".to_string(), format!("Bearer {analyst}")),
            ("Accept".to_string(), accept.to_string()),
        ];
        request(server.address, "GET", OBJECTS, &headers, None).expect_error(406);
    }
    // Too large: declared, and (chunked) undeclared.
    let big =
        json!({ "objects": [ { "type": "note", "content": "x".repeat(300_000) } ] }).to_string();
    let error = server
        .post(OBJECTS, &analyst, big.as_bytes())
        .expect_error(413);
    assert_eq!(error["details"]["limit"], "max_content_length");
    assert_eq!(error["details"]["value"], 200_000);
    let mut headers = auth(&analyst);
    headers.push(("Content-Type".into(), TAXII.into()));
    headers.push(("Transfer-Encoding".into(), "chunked".into()));
    let mut chunked = Vec::new();
    for piece in big.as_bytes().chunks(50_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = request_raw_body(&server, &headers, &chunked);
    response.expect_error(413);

    // Valid JSON, invalid STIX: accepted as TAXII says, every object a failure, none stored.
    let invalid = json!({ "objects": [
        { "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
          "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z" },
        { "type": "malware", "spec_version": "2.1", "id": "malware--not-a-uuid", "name": "x", "is_family": true,
          "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z" },
        { "type": "campaign", "spec_version": "2.1", "id": "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
          "name": "x", "created": "yesterday", "modified": "2024-01-01T00:00:00.000Z" },
        7,
        { "no": "type" }
    ]});
    let response = server.post(OBJECTS, &analyst, invalid.to_string().as_bytes());
    assert_eq!(response.status, 202);
    let status = response.json();
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["total_count"], 5);
    assert_eq!(status["failure_count"], 5, "{status}");
    assert_eq!(status["success_count"], 0);
    for failure in status["failures"].as_array().unwrap() {
        assert!(
            failure["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{failure}"
        );
    }
    assert_eq!(
        status["failures"][0]["id"],
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    );
    assert!(
        status["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("pattern"),
        "{status}"
    );
    // A conflicting version (same id and modified, other content) is refused too.
    let held =
        server.get_json(&format!("{OBJECTS}?limit=1&match[type]=malware"), &analyst)["objects"][0]
            .clone();
    let mut conflicting = held.clone();
    conflicting["name"] = json!("renamed without a new version");
    let status = server
        .post(
            OBJECTS,
            &analyst,
            json!({ "objects": [conflicting] }).to_string().as_bytes(),
        )
        .json();
    assert_eq!(status["failure_count"], 1, "{status}");
    assert!(
        status["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("version-conflict")
    );

    // A name twice in one object: refused, as I-JSON requires, with the name in the message.
    let twice = r#"{"objects":[{"type":"campaign","spec_version":"2.1","id":"campaign--5a3b4a9e-0e6f-4c3e-9d2a-2f6f3c9a7b11","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"one","name":"two"}]}"#;
    let status = server.post(OBJECTS, &analyst, twice.as_bytes()).json();
    assert_eq!(status["failure_count"], 1, "{status}");
    assert_eq!(
        status["failures"][0]["id"],
        "campaign--5a3b4a9e-0e6f-4c3e-9d2a-2f6f3c9a7b11"
    );
    assert!(
        status["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains(r#"the name "name" appears twice"#),
        "{status}"
    );

    // Bad parameters.
    for query in [
        "limit=0",
        "limit=-3",
        "limit=many",
        "next=page-2",
        "added_after=last%20week",
        "match[version]=newest",
        "match[version]=",
    ] {
        server
            .get(&format!("{OBJECTS}?{query}"), &analyst)
            .expect_error(400);
    }
    let long = format!("{OBJECTS}?match[id]={}", "x".repeat(20_000));
    server.get(&long, &analyst).expect_error(414);
    let many_ids: Vec<String> = (0..1_001).map(|n| format!("indicator--{n}")).collect();
    server
        .get(
            &format!("{OBJECTS}?match[id]={}", many_ids[..600].join(",")),
            &analyst,
        )
        .status
        .eq(&200)
        .then_some(())
        .expect("600 ids is within the bounds");
    // Unknown resources and methods.
    server
        .get("/api/collections/shared/nothing/", &analyst)
        .expect_error(404);
    server.get("/nowhere", &analyst).expect_error(404);
    request(server.address, "PUT", OBJECTS, &auth(&analyst), Some(b"{}")).expect_error(405);
    server
        .get(
            "/api/status/00000000-0000-4000-8000-000000000000/",
            &analyst,
        )
        .expect_error(404);

    assert_eq!(
        holdings(&server, &analyst),
        before,
        "bad input changed the store"
    );
    drop(server);
    let verify: Value = serde_json::from_str(&tessera(dir, &["--json", "verify"])).unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
    let stats: Value = serde_json::from_str(&tessera(dir, &["--json", "stats"])).unwrap();
    assert_eq!(stats["versions"], stats_before["versions"]);
}

/// Sends a POST whose body is already framed (chunked), through the test client.
fn request_raw_body(server: &Server, headers: &[(String, String)], framed: &[u8]) -> Response {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.address).expect("connect");
    let mut head = format!(
        "POST {OBJECTS} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        server.address
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send");
    let _ = stream.write_all(framed);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let body_start = text.find("\r\n\r\n").expect("a head") + 4;
    let headers = text[..body_start]
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: raw[body_start..].to_vec(),
    }
}

#[test]
fn tokens_are_checked_revocation_is_immediate_and_rates_are_limited() {
    let node = fresh_node();
    let dir = node.path();
    let partner = add_partner(dir, "bfv", "partner");
    let server = Server::start(
        dir,
        &["--requests-per-second", "2", "--requests-burst", "3"],
    );
    let discovery = "/taxii2/";
    request(server.address, "GET", discovery, &[], None).expect_error(401);
    let wrong = format!("tsr_{}", "0".repeat(64));
    server.get(discovery, &wrong).expect_error(401);
    let basic = vec![("Authorization".to_string(), format!("Basic {partner}"))];
    request(server.address, "GET", discovery, &basic, None).expect_error(401);
    let response = server.get(discovery, "");
    assert_eq!(response.status, 401);
    assert!(response.header("www-authenticate").is_some());

    // Three in a burst, then 429 naming the limit, with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(server.get(discovery, &partner));
    }
    assert!(statuses[..3].iter().all(|r| r.status == 200));
    let error = statuses[3].expect_error(429);
    assert_eq!(error["details"]["limit"], "requests_per_second");
    assert!(statuses[3].header("retry-after").is_some());
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    assert_eq!(server.get(discovery, &partner).status, 200);

    // Revoked: refused from the next request on, without a restart.
    tessera(dir, &["partner", "revoke", "bfv"]);
    server.get(discovery, &partner).expect_error(401);
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let renewed = add_partner(dir, "bfv", "partner");
    assert_eq!(server.get(discovery, &renewed).status, 200);
    server.get(discovery, &partner).expect_error(401);
    let listing: Value =
        serde_json::from_str(&tessera(dir, &["--json", "partner", "list"])).unwrap();
    assert_eq!(listing["partners"][0]["token"], "active");
    let table = std::fs::read_to_string(dir.join("partners.json")).unwrap();
    assert!(!table.contains(&renewed) && !table.contains(&partner));
}

#[test]
fn a_bad_policy_file_is_refused_and_the_old_policy_stays() {
    let node = fresh_node();
    let dir = node.path();
    let (_, policy) = marked_ics(dir);
    std::fs::write(dir.join("policy.toml"), &policy).unwrap();
    let token = add_partner(dir, "green-only", "partner");
    let server = Server::start(dir, &[]);
    let seen = server.walk(OBJECTS, &token, 500).len();
    assert!(seen > 100, "green-only sees {seen}");

    // A typo: refused with a message naming the problem, and the old policy stays.
    std::fs::write(
        dir.join("policy.toml"),
        policy.replace("tlp_max = \"green\"", "tlp_max = \"greenish\""),
    )
    .unwrap();
    assert_eq!(server.walk(OBJECTS, &token, 500).len(), seen);
    let log = server.log();
    assert!(log.contains("refused the changed policy"), "{log}");
    assert!(log.contains("greenish"), "{log}");

    // A valid change takes effect on the next request.
    std::fs::write(
        dir.join("policy.toml"),
        policy.replace("tlp_max = \"green\"\n", "tlp_max = \"clear\"\n"),
    )
    .unwrap();
    let now = server.walk(OBJECTS, &token, 500).len();
    assert!(now > 0 && now < seen, "{now} of {seen}");
    assert!(server.log().contains("reloaded the policy"));

    // A server does not start on a policy it refuses.
    drop(server);
    std::fs::write(dir.join("policy.toml"), "version = 1\n[[rule]]\nname = 3\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .expect("tessera runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy"));
}

#[test]
fn a_thousand_concurrent_requests_get_no_5xx_and_only_their_own_view() {
    let node = fresh_node();
    let dir = node.path();
    let (_, policy) = marked_ics(dir);
    std::fs::write(dir.join("policy.toml"), &policy).unwrap();
    let tokens: BTreeMap<&str, String> = [
        ("analysts", "analyst"),
        ("green-only", "partner"),
        ("amber", "partner"),
    ]
    .into_iter()
    .map(|(name, role)| (name, add_partner(dir, name, role)))
    .collect();
    let server = Arc::new(Server::start(dir, &[]));

    // Each caller's answer to each request, asked one at a time.
    let paths: Vec<String> = {
        let mut paths = vec![
            format!("{OBJECTS}?limit=25"),
            format!("{OBJECTS}?limit=40&match[type]=attack-pattern"),
            format!("{OBJECTS}?limit=60&match[type]=relationship,malware"),
            "/api/collections/shared/manifest/?limit=100".to_string(),
            "/api/collections/internal/objects/?limit=5".to_string(),
            "/api/collections/inbox/objects/".to_string(),
            "/api/collections/".to_string(),
        ];
        let first = server.get_json(&format!("{OBJECTS}?limit=30"), &tokens["analysts"]);
        paths.push(format!(
            "{OBJECTS}?limit=30&next={}",
            first["next"].as_str().expect("more than one page")
        ));
        paths
    };
    let mut expected: Vec<(String, String, u16, Vec<u8>)> = Vec::new();
    for (name, token) in &tokens {
        for path in &paths {
            let response = server.get(path, token);
            expected.push((
                name.to_string(),
                path.clone(),
                response.status,
                response.body,
            ));
        }
    }
    // The views really differ, so that a mixed-up answer would show.
    let first_page = |name: &str| {
        expected
            .iter()
            .find(|(n, p, _, _)| n == name && p == &paths[0])
            .map(|(_, _, _, body)| body.clone())
            .unwrap()
    };
    assert_ne!(first_page("green-only"), first_page("amber"));
    assert_ne!(first_page("amber"), first_page("analysts"));
    let expected = Arc::new(expected);
    let tokens = Arc::new(tokens);

    let done = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..40)
        .map(|t| {
            let server = Arc::clone(&server);
            let expected = Arc::clone(&expected);
            let tokens = Arc::clone(&tokens);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let (name, path, status, body) = &expected[(t * 31 + i * 7) % expected.len()];
                    let response = server.get(path, &tokens[name.as_str()]);
                    assert!(response.status < 500, "{name} {path}: {}", response.status);
                    assert_eq!(response.status, *status, "{name} {path}");
                    assert!(
                        response.body == *body,
                        "{name} {path}: an answer other than its own"
                    );
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a client thread failed");
    }
    assert_eq!(done.load(Ordering::SeqCst), 1_000);
}
