//! Federation end to end: three nodes (A, B, C) as separate `tessera serve` processes on
//! loopback, each with its own data directory, policy and keys. A releases TLP:GREEN to B and
//! C and TLP:AMBER+STRICT to B only; B passes on what it may to C. Then the faults: a receiver
//! killed mid-sync, a sender killed mid-page, a tampered page, a rewritten ledger, a wrong
//! token, an unknown key, and a ledger file altered on disk.
//!
//! The data is MITRE ATT&CK for ICS (real, 1,826 objects), marked by this test: intrusion
//! sets AMBER+STRICT, everything else GREEN.

mod taxii_support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use policy::Tlp;
use serde_json::{Value, json};
use taxii_support::{Server, add_partner, run, shared_data, tessera};

const ANALYSTS: &str = "analysts";

/// A policy file: the node's analysts, its partners (name, STIX identity), and its rules.
fn policy(partners: &[(&str, &str)], rules: &str) -> String {
    let mut text = format!(
        "version = 1\nneutral_markings = [\"marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168\"]\n\n\
         [[partner]]\nname = \"{ANALYSTS}\"\nidentity_ref = \"identity--5d6f55e7-d337-42a9-89ef-658976546091\"\nrole = \"analyst\"\n\n"
    );
    for (name, identity) in partners {
        text.push_str(&format!(
            "[[partner]]\nname = \"{name}\"\nidentity_ref = \"{identity}\"\nrole = \"partner\"\n\n"
        ));
    }
    text + rules
}

const NODE_B: (&str, &str) = ("node-b", "identity--bf5d16eb-35fc-458f-b144-51b2948c2e44");
const NODE_C: (&str, &str) = ("node-c", "identity--256c665f-9234-4db4-91aa-1cdfe6c8e1a4");

/// A: GREEN to everyone, AMBER+STRICT to B only.
fn policy_a() -> String {
    policy(
        &[NODE_B, NODE_C],
        "[[rule]]\nname = \"green-to-everyone\"\neveryone = true\ntlp_max = \"green\"\n\n\
         [[rule]]\nname = \"amber-strict-to-b\"\npartners = [\"node-b\"]\ntlp_max = \"amber+strict\"\n",
    )
}

/// B: everything to C as far as its rules go (received data is capped by the receiver rule).
fn policy_b() -> String {
    policy(
        &[NODE_C],
        "[[rule]]\nname = \"everything-to-c\"\npartners = [\"node-c\"]\ntlp_max = \"red\"\n",
    )
}

/// ICS ATT&CK with TLP markings: intrusion sets AMBER+STRICT, the rest GREEN, and the TLP
/// marking definitions themselves.
fn marked_bundle(dir: &Path) -> (std::path::PathBuf, BTreeSet<String>) {
    let text = std::fs::read_to_string(shared_data("stix/ics-attack-18.1.json")).unwrap();
    let mut bundle: Value = serde_json::from_str(&text).unwrap();
    let mut strict = BTreeSet::new();
    let objects = bundle["objects"].as_array_mut().unwrap();
    for object in objects.iter_mut() {
        if object["type"] == "marking-definition" {
            continue;
        }
        let tlp = if object["type"] == "intrusion-set" {
            strict.insert(object["id"].as_str().unwrap().to_string());
            Tlp::AmberStrict
        } else {
            Tlp::Green
        };
        let refs = object
            .as_object_mut()
            .unwrap()
            .entry("object_marking_refs")
            .or_insert_with(|| json!([]));
        refs.as_array_mut().unwrap().push(json!(tlp.marking_id()));
    }
    for tlp in [Tlp::Green, Tlp::AmberStrict] {
        objects.push(
            policy::published_definition(tlp.marking_id())
                .unwrap()
                .into_value(),
        );
    }
    let path = dir.join("ics-marked.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    assert!(strict.len() > 5, "ICS ATT&CK has intrusion sets");
    (path, strict)
}

/// A node: `init` (prints its key), its policy, and the partners' tokens.
struct Node {
    dir: tempfile::TempDir,
    key: String,
    analyst_token: String,
}

fn node(name: &str, policy: &str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let out = tessera(dir.path(), &["--json", "init", "--name", name]);
    let key = serde_json::from_str::<Value>(&out).unwrap()["public_key"]
        .as_str()
        .expect("init prints the node's public key")
        .to_string();
    assert_eq!(key.len(), 64);
    std::fs::write(dir.path().join("policy.toml"), policy).unwrap();
    let analyst_token = add_partner(dir.path(), ANALYSTS, "analyst");
    Node {
        dir,
        key,
        analyst_token,
    }
}

impl Node {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// (id, version) → content hash of every version `token` may read in a collection.
fn holdings(server: &Server, token: &str, collection: &str) -> BTreeMap<(String, String), String> {
    let objects = server.walk(
        &format!("/api/collections/{collection}/objects/?match%5Bversion%5D=all"),
        token,
        1_000,
    );
    objects
        .into_iter()
        .map(|o| {
            let key = (
                o["id"].as_str().unwrap().to_string(),
                o["modified"]
                    .as_str()
                    .or(o["created"].as_str())
                    .unwrap_or("")
                    .to_string(),
            );
            let hash = hex(&stix::canonical::content_hash(&stix::canonical::canonical(
                &o,
            )));
            (key, hash)
        })
        .collect()
}

/// What a node holds of `expected`, plus everything it holds as received from peers: equal
/// to `expected` exactly when it received all of it and nothing else. (What it held already,
/// such as the TLP definitions every node ships, is held, not received again.)
fn received(
    server: &Server,
    token: &str,
    expected: &BTreeMap<(String, String), String>,
) -> BTreeMap<(String, String), String> {
    let inbox = holdings(server, token, "inbox");
    let mut all = holdings(server, token, "shared");
    all.retain(|k, _| expected.contains_key(k) || inbox.contains_key(k));
    all
}

/// Asserts two holdings are equal, saying how they differ (not printing thousands of entries).
fn assert_same(
    found: &BTreeMap<(String, String), String>,
    expected: &BTreeMap<(String, String), String>,
    what: &str,
) {
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !found.contains_key(*k))
        .take(3)
        .collect();
    let extra: Vec<_> = found
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(3)
        .collect();
    let changed: Vec<_> = expected
        .iter()
        .filter(|(k, h)| found.get(*k).is_some_and(|f| f != *h))
        .map(|(k, _)| k)
        .take(3)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && changed.is_empty(),
        "{what}: {} found, {} expected; missing e.g. {missing:?}; extra e.g. {extra:?}; other content e.g. {changed:?}",
        found.len(),
        expected.len()
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ledger_size(dir: &Path) -> u64 {
    let out = tessera(dir, &["--json", "ledger", "head"]);
    serde_json::from_str::<Value>(&out).unwrap()["tree_size"]
        .as_u64()
        .unwrap()
}

/// Pins node A again on B with another address, token or key.
fn repin(b: &Path, url: &str, token: &str, key: &str) {
    tessera(b, &["peer", "remove", "node-a"]);
    tessera(
        b,
        &[
            "peer", "add", "node-a", "--url", url, "--token", token, "--key", key,
        ],
    );
}

fn peer_add(dir: &Path, name: &str, server: &Server, token: &str, key: &str) {
    tessera(
        dir,
        &[
            "peer",
            "add",
            name,
            "--url",
            &server.url("/taxii2/"),
            "--token",
            token,
            "--key",
            key,
        ],
    );
}

#[test]
fn three_nodes_share_exactly_what_each_policy_releases() {
    let a = node("Node A", &policy_a());
    let b = node("Node B", &policy_b());
    let c = node("Node C", &policy(&[], ""));
    let (bundle, strict) = marked_bundle(a.path());
    tessera(a.path(), &["import", bundle.to_str().unwrap()]);
    let a_for_b = add_partner(a.path(), "node-b", "partner");
    let a_for_c = add_partner(a.path(), "node-c", "partner");
    let b_for_c = add_partner(b.path(), "node-c", "partner");

    let server_a = Server::start(a.path(), &[]);
    peer_add(b.path(), "node-a", &server_a, &a_for_b, &a.key);
    let server_b = Server::start(b.path(), &["--sync-interval-s", "1"]);
    peer_add(c.path(), "node-a", &server_a, &a_for_c, &a.key);
    peer_add(c.path(), "node-b", &server_b, &b_for_c, &b.key);
    let server_c = Server::start(c.path(), &["--sync-interval-s", "1"]);

    // What A's policy releases to each, as A serves it.
    let released_to_b = holdings(&server_a, &a_for_b, "shared");
    let released_to_c = holdings(&server_a, &a_for_c, "shared");
    assert!(
        strict
            .iter()
            .all(|id| released_to_b.keys().any(|(i, _)| i == id)),
        "B is cleared for the AMBER+STRICT intrusion sets"
    );
    assert!(
        !released_to_c.keys().any(|(id, _)| strict.contains(id)),
        "C is not cleared for them"
    );
    assert!(released_to_c.len() > 1_000, "C gets the GREEN objects");

    // B holds exactly what A released to it, byte for byte.
    wait_for("B to hold what A released to it", || {
        received(&server_b, &b.analyst_token, &released_to_b).len() >= released_to_b.len()
    });
    let b_holds = received(&server_b, &b.analyst_token, &released_to_b);
    assert_same(
        &b_holds,
        &released_to_b,
        "B's holdings from A against A's release to B",
    );

    // C holds what A released to it, and from B only what B may pass on: received
    // AMBER+STRICT never goes further, whatever B's own rules say.
    let released_b_to_c = holdings(&server_b, &b_for_c, "shared");
    assert!(
        !released_b_to_c.keys().any(|(id, _)| strict.contains(id)),
        "B re-released A's AMBER+STRICT data"
    );
    let mut expected_c = released_to_c.clone();
    expected_c.extend(released_b_to_c.clone());
    wait_for("C to hold what A and B released to it", || {
        received(&server_c, &c.analyst_token, &expected_c).len() >= expected_c.len()
    });
    let c_holds = received(&server_c, &c.analyst_token, &expected_c);
    assert_same(
        &c_holds,
        &expected_c,
        "C's holdings against A's and B's releases to C",
    );
    assert!(
        !c_holds.keys().any(|(id, _)| strict.contains(id)),
        "C received AMBER+STRICT data"
    );
    let strict_marking = Tlp::AmberStrict.marking_id();
    let c_objects = server_c.walk("/api/collections/inbox/objects/", &c.analyst_token, 1_000);
    assert!(c_objects.iter().all(|o| {
        !o["object_marking_refs"]
            .as_array()
            .is_some_and(|m| m.iter().any(|r| r == strict_marking))
    }));

    // Every page came signed by the key pinned for the peer.
    let page = server_a.get("/api/collections/shared/objects/?limit=5", &a_for_b);
    let signature = page.header("x-tessera-signature").expect("a signed page");
    assert_eq!(signature.len(), 128);

    // The ledgers: A recorded what it released to B; B what it received, with the signature.
    drop(server_a);
    drop(server_b);
    drop(server_c);
    let some_strict = strict.iter().next().unwrap();
    let proof: Value = serde_json::from_str(&tessera(
        a.path(),
        &["--json", "ledger", "prove", some_strict],
    ))
    .unwrap();
    let kinds: Vec<(&str, &str)> = proof["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["entry"]["kind"].as_str().unwrap(),
                p["entry"]["partner"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(kinds.contains(&("created", "")));
    assert!(kinds.contains(&("released", "node-b")));
    assert!(!kinds.iter().any(|(_, partner)| *partner == "node-c"));
    let proof: Value = serde_json::from_str(&tessera(
        b.path(),
        &["--json", "ledger", "prove", some_strict],
    ))
    .unwrap();
    let entry = &proof["proofs"][0]["entry"];
    assert_eq!(entry["kind"], "received");
    assert_eq!(entry["peer"], "node-a");
    assert_eq!(entry["page_signature"].as_str().unwrap().len(), 128);
    for node in [&a, &b, &c] {
        tessera(node.path(), &["ledger", "verify"]);
        tessera(node.path(), &["verify"]);
    }
}

/// Node A serving the marked ICS bundle, and node B pinned to it (not serving: it syncs from
/// the command line).
struct Pair {
    a: Node,
    b: Node,
    server_a: Option<Server>,
    a_address: String,
    expected: BTreeMap<(String, String), String>,
}

fn pair() -> Pair {
    let a = node("Node A", &policy_a());
    let b = node("Node B", &policy_b());
    let (bundle, _) = marked_bundle(a.path());
    tessera(a.path(), &["import", bundle.to_str().unwrap()]);
    let token = add_partner(a.path(), "node-b", "partner");
    let server_a = Server::start(a.path(), &[]);
    peer_add(b.path(), "node-a", &server_a, &token, &a.key);
    let expected = holdings(&server_a, &token, "shared");
    let a_address = server_a.address.to_string();
    Pair {
        a,
        b,
        server_a: Some(server_a),
        a_address,
        expected,
    }
}

impl Pair {
    /// B's holdings from A, read by serving B briefly.
    fn b_holds(&self) -> BTreeMap<(String, String), String> {
        let server = Server::start(self.b.path(), &[]);
        received(&server, &self.b.analyst_token, &self.expected)
    }

    fn sync_b(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["peer", "sync"];
        args.extend(extra);
        run(self.b.path(), &args)
    }

    /// Everything B should hold once sync completed: exactly A's release, each version
    /// recorded once in B's ledger, both stores and ledgers sound.
    fn check_complete(&self) {
        assert_same(
            &self.b_holds(),
            &self.expected,
            "B's holdings against A's release",
        );
        // B created 4 objects at init; every other entry records one version received in a
        // signed page (TLP:CLEAR too, which B held already).
        assert_eq!(
            ledger_size(self.b.path()),
            4 + self.expected.len() as u64,
            "B's ledger records each received version exactly once"
        );
        tessera(self.b.path(), &["verify"]);
        tessera(self.b.path(), &["ledger", "verify"]);
    }
}

fn child_sync(dir: &Path, page_size: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(dir)
        .args(["peer", "sync", "--page-size", page_size])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_receiver_killed_mid_sync_resumes_without_duplicates_or_loss() {
    let pair = pair();
    let cursor = pair.b.path().join("sync/node-a.json");
    let mut sync = child_sync(pair.b.path(), "5");
    wait_for("the first committed page", || cursor.exists());
    std::thread::sleep(Duration::from_millis(100));
    sync.kill().unwrap(); // SIGKILL
    sync.wait().unwrap();
    let partial = pair.b_holds().len();
    assert!(
        partial > 0 && partial < pair.expected.len(),
        "killed mid-sync: {partial} of {}",
        pair.expected.len()
    );
    let out = pair.sync_b(&["--page-size", "20"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pair.check_complete();
    // A second run finds nothing new.
    let out = pair.sync_b(&["--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let written: u64 = report["synced"][0]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["written"].as_u64().unwrap())
        .sum();
    assert_eq!(written, 0);
}

#[test]
fn a_sender_killed_mid_page_is_resumed_after_its_restart() {
    let mut pair = pair();
    let cursor = pair.b.path().join("sync/node-a.json");
    let mut sync = child_sync(pair.b.path(), "10");
    wait_for("the first committed page", || cursor.exists());
    pair.server_a.take().unwrap().kill_hard();
    // The receiver retries with back-off; the sender comes back where it was.
    std::thread::sleep(Duration::from_millis(500));
    let server_a = Server::start_at(pair.a.path(), &pair.a_address, &[]);
    let status = sync.wait().unwrap();
    let mut stderr = String::new();
    sync.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    if !status.success() {
        // Gave up before the restart: a new run resumes from the committed cursor.
        assert!(stderr.contains("node-a"), "{stderr}");
        let out = pair.sync_b(&[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    pair.server_a = Some(server_a);
    pair.check_complete();
}

/// Forwards HTTP requests to `target`, flipping one letter of the first object's name in
/// every page of objects (the signature header passes through unchanged).
fn tampering_proxy(target: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let target = target.clone();
            std::thread::spawn(move || proxy_one(client, &target));
        }
    });
    address
}

fn proxy_one(mut client: TcpStream, target: &str) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let request: String = text
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect::<String>()
        + "Connection: close\r\n\r\n";
    let mut upstream = TcpStream::connect(target).unwrap();
    upstream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).unwrap();
    if text.contains("/objects/")
        && let Some(at) = find(&response, b"\"name\":\"")
    {
        let letter = &mut response[at + 8];
        *letter = if *letter == b'X' { b'Y' } else { b'X' };
    }
    let _ = client.write_all(&response);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn tampered_pages_rewritten_ledgers_wrong_tokens_and_unknown_keys_are_refused() {
    let mut pair = pair();
    let b = pair.b.path().to_path_buf();
    let token = {
        let peers: Value =
            serde_json::from_slice(&std::fs::read(b.join("peers.json")).unwrap()).unwrap();
        peers["peers"][0]["token"].as_str().unwrap().to_string()
    };
    let before = ledger_size(&b);
    let held_before = pair.b_holds();

    // A peer (here: someone between the nodes) alters one object of a signed page.
    let proxy = tampering_proxy(pair.a_address.clone());
    repin(&b, &format!("http://{proxy}"), &token, &pair.a.key);
    let out = pair.sync_b(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("fails its signature check"), "{stderr}");
    assert_eq!(
        ledger_size(&b),
        before,
        "nothing of the refused page is recorded"
    );
    assert_eq!(
        pair.b_holds(),
        held_before,
        "nothing of the refused page is stored"
    );

    // Wrong token, unknown key: refused, with the reason.
    let server_url = format!("http://{}", pair.a_address);
    for (token, key, expected) in [
        ("not-the-token", pair.a.key.as_str(), "token is not valid"),
        (token.as_str(), pair.b.key.as_str(), "not the pinned key"),
    ] {
        repin(&b, &server_url, token, key);
        let out = pair.sync_b(&[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }

    // The honest peer: sync completes.
    repin(&b, &server_url, &token, &pair.a.key);
    let out = pair.sync_b(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pair.check_complete();

    // A rewrites its ledger history (a fresh ledger re-recorded from its store): B, holding
    // a head of the old history, detects it.
    drop(pair.server_a.take());
    let a = pair.a.path();
    std::fs::remove_dir_all(a.join("ledger")).unwrap();
    std::fs::remove_file(a.join("ledger.seq")).unwrap();
    tessera(a, &["ledger", "head"]); // a new, self-consistent ledger
    pair.server_a = Some(Server::start_at(a, &pair.a_address, &[]));
    let out = pair.sync_b(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ledger head is refused"), "{stderr}");

    // B's own ledger still verifies; altered on disk, it does not.
    tessera(&b, &["ledger", "verify"]);
    let entries = b.join("ledger/entries.log");
    let mut bytes = std::fs::read(&entries).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&entries, bytes).unwrap();
    let out = run(&b, &["ledger", "verify"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "an altered ledger must fail verification"
    );
}

#[test]
fn revocations_and_withdrawals_travel_to_the_receiver() {
    let pair = pair();
    let out = pair.sync_b(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server_a = pair.server_a.as_ref().unwrap();
    let analyst = &pair.a.analyst_token;
    let patterns = server_a.walk(
        "/api/collections/shared/objects/?match%5Btype%5D=attack-pattern",
        analyst,
        1_000,
    );
    let (revoked, withdrawn) = (&patterns[0], &patterns[1]);

    // A revokes one object (a new version) and withdraws another (TAXII DELETE).
    let mut revocation = revoked.clone();
    revocation["revoked"] = json!(true);
    revocation["modified"] = json!("2026-01-01T00:00:00.000Z");
    let body = serde_json::to_vec(&json!({ "objects": [revocation] })).unwrap();
    let posted = server_a.post("/api/collections/shared/objects/", analyst, &body);
    assert_eq!(posted.status, 202);
    assert_eq!(posted.json()["status"], "complete");
    let withdrawn_id = withdrawn["id"].as_str().unwrap();
    let deleted = taxii_support::request(
        server_a.address,
        "DELETE",
        &format!("/api/collections/shared/objects/{withdrawn_id}/"),
        &taxii_support::auth(analyst),
        None,
    );
    assert_eq!(deleted.status, 200);

    let out = pair.sync_b(&["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["synced"][0]["withdrawn"], 1);

    let b = Server::start(pair.b.path(), &[]);
    let token = &pair.b.analyst_token;
    let latest = b.get_json(
        &format!(
            "/api/collections/shared/objects/{}/",
            revoked["id"].as_str().unwrap()
        ),
        token,
    );
    assert_eq!(latest["objects"][0]["revoked"], true);
    assert_eq!(latest["objects"][0]["modified"], "2026-01-01T00:00:00.000Z");
    let gone = b.get(
        &format!("/api/collections/shared/objects/{withdrawn_id}/"),
        token,
    );
    assert_eq!(gone.status, 404, "B still serves what A withdrew");
}

/// Push: A sends B what its policy releases to B, into B's inbox, in envelopes signed with A's
/// key; B checks each against the key it pinned for A, stores it, and records it as received
/// with the signature. From the command line (A not serving), then in the background of
/// `serve --push-interval-s`. A push signed by someone else, or signed by a partner whose key
/// B never pinned, is refused whole.
#[test]
fn a_node_pushes_what_its_policy_releases_into_a_peers_inbox() {
    let a = node("Node A", &policy_a());
    let b = node(
        "Node B",
        &policy(
            &[
                ("node-a", "identity--0c1a6f33-2d3c-4b6e-9d43-6f1f1f2a8e51"),
                NODE_C,
            ],
            "[[rule]]\nname = \"everything-to-c\"\npartners = [\"node-c\"]\ntlp_max = \"red\"\n",
        ),
    );
    let (bundle, strict) = marked_bundle(a.path());
    tessera(a.path(), &["import", bundle.to_str().unwrap()]);
    let a_for_b = add_partner(a.path(), "node-b", "partner");
    let b_for_a = add_partner(b.path(), "node-a", "partner");
    let b_for_c = add_partner(b.path(), "node-c", "partner");
    // B pins A's key (it never pulls from A here: the pin is what checks A's pushes).
    tessera(
        b.path(),
        &[
            "peer",
            "add",
            "node-a",
            "--url",
            "http://127.0.0.1:9",
            "--token",
            &a_for_b,
            "--key",
            &a.key,
        ],
    );
    let server_b = Server::start(b.path(), &[]);
    peer_add(a.path(), "node-b", &server_b, &b_for_a, &b.key);

    let out: Value =
        serde_json::from_str(&tessera(a.path(), &["--json", "peer", "push", "node-b"])).unwrap();
    let pushed = &out["pushed"];
    assert_eq!(pushed["partner"], "node-b");
    assert!(pushed["envelopes"].as_u64().unwrap() >= 3, "{pushed}");
    assert_eq!(pushed["objects"], pushed["accepted"], "{pushed}");
    assert_eq!(pushed["objects"], pushed["recorded"], "{pushed}");

    // B holds exactly what A's policy releases to B, as A would serve it to B.
    let server_a = Server::start(a.path(), &[]);
    let released_to_b = holdings(&server_a, &a_for_b, "shared");
    drop(server_a);
    assert!(
        strict
            .iter()
            .all(|id| released_to_b.keys().any(|(i, _)| i == id)),
        "B is cleared for the AMBER+STRICT intrusion sets"
    );
    let b_holds = received(&server_b, &b.analyst_token, &released_to_b);
    assert_same(
        &b_holds,
        &released_to_b,
        "B's inbox against A's release to B",
    );
    let inbox = holdings(&server_b, &b.analyst_token, "inbox");
    assert_eq!(
        pushed["objects"].as_u64().unwrap() as usize,
        released_to_b.len()
    );
    let held_already: Vec<_> = released_to_b
        .keys()
        .filter(|k| !inbox.contains_key(*k))
        .collect();
    assert!(
        held_already
            .iter()
            .all(|(id, _)| id.starts_with("marking-definition--")),
        "every pushed version is in B's inbox but the TLP definitions B ships: {held_already:?}"
    );
    // Pushed AMBER+STRICT data is B's to read, not to pass on.
    let b_to_c = holdings(&server_b, &b_for_c, "shared");
    assert!(b_to_c.len() > 1_000, "B passes the GREEN objects on");
    assert!(!b_to_c.keys().any(|(id, _)| strict.contains(id)));

    // Nothing new: nothing sent.
    let again: Value =
        serde_json::from_str(&tessera(a.path(), &["--json", "peer", "push", "node-b"])).unwrap();
    assert_eq!(again["pushed"]["objects"], 0, "{again}");

    // Refused whole, nothing stored: a push signed with another key, and a signed push from a
    // partner whose key B never pinned.
    let indicator = |n: u32| {
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--6b8e5c1a-3f2d-4e7a-9c1b-5d3e7f9a1b{n:02}"),
            "created": "2024-03-22T10:00:00.000Z", "modified": "2024-03-22T10:00:00.000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
            "valid_from": "2024-03-22T10:00:00Z",
            "object_marking_refs": [Tlp::Green.marking_id()],
        })
    };
    let envelope = serde_json::to_vec(&json!({ "objects": [indicator(1)] })).unwrap();
    let forged = "ab".repeat(64);
    let post_signed = |token: &str, signature: &str| {
        let mut headers = taxii_support::auth(token);
        headers.push((
            "Content-Type".into(),
            "application/taxii+json;version=2.1".into(),
        ));
        headers.push(("x-tessera-signature".into(), signature.into()));
        taxii_support::request(
            server_b.address,
            "POST",
            "/api/collections/inbox/objects/",
            &headers,
            Some(&envelope),
        )
    };
    let refused = post_signed(&b_for_a, &forged).expect_error(403);
    assert!(
        refused["description"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{refused}"
    );
    let refused = post_signed(&b_for_c, &forged).expect_error(403);
    assert!(
        refused["description"]
            .as_str()
            .unwrap()
            .contains("no key is pinned for node-c"),
        "{refused}"
    );
    assert_eq!(
        holdings(&server_b, &b.analyst_token, "inbox").len(),
        inbox.len(),
        "a refused push stored nothing"
    );
    // A plain TAXII client's push is unsigned: taken, and recorded as received unsigned.
    let unsigned = serde_json::to_vec(&json!({ "objects": [indicator(2)] })).unwrap();
    let status = server_b
        .post("/api/collections/inbox/objects/", &b_for_c, &unsigned)
        .json();
    assert_eq!(status["success_count"], 1, "{status}");

    // In the background: A serves, its analyst adds an indicator, and it reaches B's inbox.
    let server_a = Server::start(a.path(), &["--push-interval-s", "1"]);
    let added = server_a.post(
        "/api/collections/internal/objects/",
        &a.analyst_token,
        &envelope,
    );
    assert_eq!(added.status, 202);
    let id = indicator(1)["id"].as_str().unwrap().to_string();
    wait_for("the new indicator to reach B's inbox", || {
        holdings(&server_b, &b.analyst_token, "inbox")
            .keys()
            .any(|(i, _)| *i == id)
    });
    drop(server_a);
    drop(server_b);

    // The ledgers: A released it to B; B received it from A, with A's signature.
    let proof: Value =
        serde_json::from_str(&tessera(a.path(), &["--json", "ledger", "prove", &id])).unwrap();
    assert!(
        proof["proofs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| { p["entry"]["kind"] == "released" && p["entry"]["partner"] == "node-b" }),
        "{proof}"
    );
    for id in [id.as_str(), strict.iter().next().unwrap()] {
        let proof: Value =
            serde_json::from_str(&tessera(b.path(), &["--json", "ledger", "prove", id])).unwrap();
        let entry = &proof["proofs"][0]["entry"];
        assert_eq!(entry["kind"], "received", "{proof}");
        assert_eq!(entry["peer"], "node-a");
        assert_eq!(entry["page_signature"].as_str().unwrap().len(), 128);
    }
    let unsigned_id = indicator(2)["id"].as_str().unwrap().to_string();
    let proof: Value = serde_json::from_str(&tessera(
        b.path(),
        &["--json", "ledger", "prove", &unsigned_id],
    ))
    .unwrap();
    let entry = &proof["proofs"][0]["entry"];
    assert_eq!(
        (&entry["kind"], &entry["peer"], &entry["page_signature"]),
        (&json!("received"), &json!("node-c"), &json!(""))
    );
    for node in [&a, &b] {
        tessera(node.path(), &["ledger", "verify"]);
    }
}
