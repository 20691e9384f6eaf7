//! TLS and mutual TLS between nodes, end to end: real certificates made by the `openssl`
//! command, a real `tessera serve --tls-*` process, the Python `taxii2-client` (over
//! `requests`) as a partner's client, and a second node that pins the first over https and
//! syncs from it. Then the refusals: no client certificate, a client certificate from
//! another CA, a server certificate from another CA, plain HTTP to the TLS port, TLS settings
//! on an http:// address, and a server started with a key that does not fit its certificate.

mod taxii_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use policy::Tlp;
use serde_json::{Value, json};
use taxii_support::{Server, add_partner, run, run_python, shared_data, tessera};

/// Runs `openssl ARGS...` in `dir`, expecting success.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command runs (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME-ca.pem`, `NAME-ca.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name} test CA"),
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &format!("{name}-ca.key"),
            "-out",
            &format!("{name}-ca.pem"),
        ],
    );
}

/// A certificate `NAME.pem` and key `NAME.key` issued by CA `ca`, for a server (with the
/// loopback names) or a client.
fn issue(dir: &Path, ca: &str, name: &str, server: bool) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    let extensions = if server {
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    } else {
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
    };
    std::fs::write(dir.join(format!("{name}.ext")), extensions).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}-ca.pem"),
            "-CAkey",
            &format!("{ca}-ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// The federation's CA with a server and two client certificates, and a rogue CA with its
    /// own server and client certificates.
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        make_ca(dir.path(), "federation");
        make_ca(dir.path(), "rogue");
        issue(dir.path(), "federation", "node-a", true);
        issue(dir.path(), "federation", "node-b", false);
        // Another machine of the federation: its certificate passes the handshake.
        issue(dir.path(), "federation", "node-c", false);
        issue(dir.path(), "rogue", "rogue-server", true);
        issue(dir.path(), "rogue", "rogue-client", false);
        Pki { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn arg(&self, file: &str) -> String {
        self.path(file).to_str().unwrap().to_string()
    }
}

const NODE_B: &str = "node-b";
const NODE_B_IDENTITY: &str = "identity--bf5d16eb-35fc-458f-b144-51b2948c2e44";

/// Node A: ICS ATT&CK, every object TLP:GREEN, released to node-b; returns the node and
/// node-b's token.
fn node_a() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    tessera(dir.path(), &["init", "--name", "node-a"]);
    let policy = format!(
        "version = 1\nneutral_markings = [\"marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168\"]\n\n[[partner]]\nname = \"{NODE_B}\"\nidentity_ref = \"{NODE_B_IDENTITY}\"\nrole = \"partner\"\n\n\
         [[rule]]\nname = \"green-to-b\"\npartners = [\"{NODE_B}\"]\ntlp_max = \"green\"\n"
    );
    std::fs::write(dir.path().join("policy.toml"), policy).unwrap();
    let token = add_partner(dir.path(), NODE_B, "partner");
    let text = std::fs::read_to_string(shared_data("stix/ics-attack-18.1.json")).unwrap();
    let mut bundle: Value = serde_json::from_str(&text).unwrap();
    let objects = bundle["objects"].as_array_mut().unwrap();
    for object in objects.iter_mut() {
        if object["type"] != "marking-definition" {
            object
                .as_object_mut()
                .unwrap()
                .entry("object_marking_refs")
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .unwrap()
                .push(json!(Tlp::Green.marking_id()));
        }
    }
    objects.push(
        policy::published_definition(Tlp::Green.marking_id())
            .unwrap()
            .into_value(),
    );
    let path = dir.path().join("ics-green.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    tessera(dir.path(), &["import", path.to_str().unwrap()]);
    (dir, token)
}

/// What the Python `taxii2-client` sees as node-b over TLS: the number of objects in every
/// collection it may read, or the name of the exception that stopped it.
const CLIENT: &str = r#"
import json, os, sys
import requests
# requests lets these override the verify= a client passes; this test pins its own CA.
for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(name, None)
from taxii2client.v21 import Server, as_pages
from taxii2client.common import TokenAuth
url, token, ca, cert, key = sys.argv[1:6]
client_cert = (cert, key) if cert else None
try:
    server = Server(url, auth=TokenAuth(token), verify=ca, cert=client_cert)
    counts = {}
    for root in server.api_roots:
        for collection in root.collections:
            if not collection.can_read:
                continue
            total = 0
            for page in as_pages(collection.get_objects, per_request=500):
                total += len(page.get("objects", []))
            counts[collection.id] = total
    print(json.dumps({"key": server._raw.get("x_tessera_public_key"), "counts": counts}))
except requests.exceptions.RequestException as e:
    print(json.dumps({"refused": type(e).__name__, "detail": str(e)[:300]}))
"#;

fn python_client(url: &str, token: &str, pki: &Pki, cert: Option<(&str, &str)>) -> Value {
    let (c, k) = cert.map_or((String::new(), String::new()), |(c, k)| {
        (pki.arg(c), pki.arg(k))
    });
    let out = run_python(CLIENT, &[url, token, &pki.arg("federation-ca.pem"), &c, &k]);
    serde_json::from_str(out.trim()).unwrap()
}

/// `tessera peer add` that must fail; returns its standard error.
fn peer_add_refused(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, &[&["peer", "add"], args].concat());
    assert!(
        !out.status.success(),
        "peer add {args:?} should have been refused: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !dir.join("peers.json").exists()
            || !std::fs::read_to_string(dir.join("peers.json"))
                .unwrap()
                .contains(args[0]),
        "a refused peer must not be pinned"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Node A served over TLS, asking every client for a certificate of the federation's CA.
fn mutual_tls_server(a: &Path, pki: &Pki) -> Server {
    Server::start(
        a,
        &[
            "--tls-certificate",
            &pki.arg("node-a.pem"),
            "--tls-key",
            &pki.arg("node-a.key"),
            "--tls-client-ca",
            &pki.arg("federation-ca.pem"),
        ],
    )
}

/// The objects a `python_client` run read over all collections (it must have read some).
fn objects_read(seen: &Value) -> u64 {
    seen["counts"]
        .as_object()
        .unwrap_or_else(|| panic!("the client was refused: {seen}"))
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum()
}

#[test]
fn nodes_federate_over_mutual_tls_and_refuse_everything_else() {
    let pki = Pki::new();
    let (a, token_b) = node_a();
    let server = mutual_tls_server(a.path(), &pki);
    let url = format!("https://{}/taxii2/", server.address);
    let base = format!("https://{}", server.address);

    // The real client, with the federation's CA and node-b's certificate: it reads what A
    // releases to node-b.
    let seen = python_client(&url, &token_b, &pki, Some(("node-b.pem", "node-b.key")));
    let shared = objects_read(&seen);
    assert!(shared > 1_000, "node-b reads ICS ATT&CK over TLS: {seen}");
    let key_a = seen["key"].as_str().unwrap().to_string();

    // Without a client certificate, or with one from another CA, the handshake fails.
    let bare = python_client(&url, &token_b, &pki, None);
    assert!(bare["refused"].is_string(), "no client certificate: {bare}");
    let rogue = python_client(
        &url,
        &token_b,
        &pki,
        Some(("rogue-client.pem", "rogue-client.key")),
    );
    assert!(
        rogue["refused"].is_string(),
        "a client certificate of another CA: {rogue}"
    );

    // Plain HTTP to the TLS port gets no TAXII answer.
    let mut plain = TcpStream::connect(server.address).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    plain
        .write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("HTTP/1.1 200"),
        "plain HTTP must not be answered on the TLS port"
    );

    // Node B pins A over mutual TLS (trust on first use of A's Ed25519 key, fetched over the
    // verified channel) and syncs everything A releases to it.
    let b = tempfile::tempdir().unwrap();
    tessera(b.path(), &["init", "--name", NODE_B]);
    let out = tessera(
        b.path(),
        &[
            "--json",
            "peer",
            "add",
            "node-a",
            "--url",
            &base,
            "--token",
            &token_b,
            "--ca",
            &pki.arg("federation-ca.pem"),
            "--client-certificate",
            &pki.arg("node-b.pem"),
            "--client-key",
            &pki.arg("node-b.key"),
        ],
    );
    let added: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(added["public_key"], json!(key_a));
    let listed: Value =
        serde_json::from_str(&tessera(b.path(), &["--json", "peer", "list"])).unwrap();
    assert_eq!(listed["peers"][0]["tls_client_certificate"], json!(true));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(b.path().join("peers.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o077, 0, "peers.json holds a client key: 0600");
    let out = tessera(b.path(), &["--json", "peer", "sync", "node-a"]);
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    let collections = report["synced"][0]["collections"]
        .as_array()
        .unwrap_or_else(|| panic!("{report}"));
    let pulled: u64 = collections
        .iter()
        .map(|c| c["objects"].as_u64().unwrap())
        .sum();
    let new: u64 = collections
        .iter()
        .map(|c| c["written"].as_u64().unwrap() + c["duplicates"].as_u64().unwrap())
        .sum();
    assert_eq!(
        pulled, shared,
        "B pulled exactly what node-b reads at A: {report}"
    );
    assert_eq!(new, pulled, "every pulled object stored or held: {report}");
    // A second sync over the same channel finds nothing new.
    let out = tessera(b.path(), &["--json", "peer", "sync", "node-a"]);
    let again: Value = serde_json::from_str(out.trim()).unwrap();
    let written: u64 = again["synced"][0]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["written"].as_u64().unwrap())
        .sum();
    assert_eq!(written, 0, "{again}");

    // Refusals at `peer add`, each with a message that says TLS and nothing pinned:
    // no client certificate for a peer that requires one;
    let c = tempfile::tempdir().unwrap();
    tessera(c.path(), &["init"]);
    // `peer add node-a --token T` to `url` with `more`, refused; its standard error.
    let refused = |url: &str, more: &[&str]| {
        peer_add_refused(
            c.path(),
            &[&["node-a", "--url", url, "--token", &token_b], more].concat(),
        )
    };
    let (ca, rogue_ca) = (pki.arg("federation-ca.pem"), pki.arg("rogue-ca.pem"));
    let (certificate, key) = (pki.arg("node-b.pem"), pki.arg("node-b.key"));
    let error = refused(&base, &["--ca", &ca]);
    assert!(error.contains("the TLS connection was refused"), "{error}");
    // a server certificate the pinned CA did not sign;
    let error = refused(
        &base,
        &[
            "--ca",
            &rogue_ca,
            "--client-certificate",
            &certificate,
            "--client-key",
            &key,
        ],
    );
    assert!(error.contains("the TLS connection was refused"), "{error}");
    // TLS settings for an http:// address, a key without its certificate, and a CA file that
    // is not PEM.
    let plain = format!("http://{}", server.address);
    let error = refused(&plain, &["--key", &key_a, "--ca", &ca]);
    assert!(error.contains("not an https:// address"), "{error}");
    let error = refused(&base, &["--key", &key_a, "--client-key", &key]);
    assert!(error.contains("--client-certificate"), "{error}");
    let error = refused(&base, &["--key", &key_a, "--ca", &key]);
    assert!(error.contains("--ca"), "{error}");
    drop(server);
}

/// The SHA-256 of a PEM certificate's DER as the `openssl` command computes it (lower-case hex,
/// no colons): an implementation other than the one under test.
fn openssl_fingerprint(pki: &Pki, certificate: &str) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pki.path(certificate))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (_, hex) = text.trim().split_once('=').unwrap();
    hex.replace(':', "").to_lowercase()
}

/// A partner bound to its machine's certificate is served only over a connection that
/// presented exactly that certificate: another certificate of the same CA (the handshake
/// passes) and plain HTTP get 401 with the reason; unbinding, on the running server, lets the
/// other machine in again.
#[test]
fn a_token_bound_to_a_certificate_is_refused_from_any_other_connection() {
    let pki = Pki::new();
    let (a, token_b) = node_a();
    let bound: Value = serde_json::from_str(&tessera(
        a.path(),
        &[
            "--json",
            "partner",
            "bind",
            NODE_B,
            "--certificate",
            &pki.arg("node-b.pem"),
        ],
    ))
    .unwrap();
    let fingerprint = openssl_fingerprint(&pki, "node-b.pem");
    assert_eq!(bound["certificate_sha256"], json!(fingerprint));
    let listed: Value =
        serde_json::from_str(&tessera(a.path(), &["--json", "partner", "list"])).unwrap();
    assert_eq!(
        listed["partners"][0]["certificate_sha256"],
        json!(fingerprint)
    );
    // A file without a certificate binds nothing and says which file.
    let out = run(
        a.path(),
        &[
            "partner",
            "bind",
            NODE_B,
            "--certificate",
            &pki.arg("node-b.key"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("node-b.key"), "{error}");
    let listed: Value =
        serde_json::from_str(&tessera(a.path(), &["--json", "partner", "list"])).unwrap();
    assert_eq!(
        listed["partners"][0]["certificate_sha256"],
        json!(fingerprint)
    );

    let server = mutual_tls_server(a.path(), &pki);
    let url = format!("https://{}/taxii2/", server.address);
    let own = python_client(&url, &token_b, &pki, Some(("node-b.pem", "node-b.key")));
    let shared = objects_read(&own);
    assert!(shared > 1_000, "node-b from its own machine: {own}");
    let other = python_client(&url, &token_b, &pki, Some(("node-c.pem", "node-c.key")));
    assert_eq!(other["refused"], json!("HTTPError"), "{other}");
    assert!(other["detail"].as_str().unwrap().contains("401"), "{other}");

    tessera(a.path(), &["partner", "unbind", NODE_B]);
    let other = python_client(&url, &token_b, &pki, Some(("node-c.pem", "node-c.key")));
    // Unbound, any machine of the federation may use the token.
    assert_eq!(objects_read(&other), shared);
    drop(server);

    // Over plain HTTP a bound token is refused with the reason; the server said at its start
    // that this partner could not be served.
    tessera(
        a.path(),
        &[
            "partner",
            "bind",
            NODE_B,
            "--certificate",
            &pki.arg("node-b.pem"),
        ],
    );
    let plain = Server::start(a.path(), &[]);
    let body = plain.get("/taxii2/", &token_b).expect_error(401);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("no client certificate"),
        "{body}"
    );
    assert!(
        plain.log().contains("bound to a client certificate"),
        "{}",
        plain.log()
    );
    tessera(a.path(), &["partner", "unbind", NODE_B]);
    assert_eq!(plain.get("/taxii2/", &token_b).status, 200);
}

#[test]
fn a_server_with_bad_tls_files_does_not_start() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    tessera(dir.path(), &["init"]);
    // `serve` with these TLS files, refused before it listens; its standard error.
    let refused = |certificate: &str, key: &str| {
        let out = run(
            dir.path(),
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-certificate",
                &pki.arg(certificate),
                "--tls-key",
                &pki.arg(key),
            ],
        );
        assert!(
            !out.status.success(),
            "serve started with {certificate} and {key}"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // A key that does not belong to the certificate.
    let error = refused("node-a.pem", "rogue-server.key");
    assert!(error.contains("TLS"), "{error}");
    // A certificate file that holds no certificate: the error names the file.
    let error = refused("node-a.key", "node-a.key");
    assert!(error.contains("node-a.key"), "{error}");
    // A key without a certificate is a usage error.
    let out = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-key",
            &pki.arg("node-a.key"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}
