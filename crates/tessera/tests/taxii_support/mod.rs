//! Helpers for the TAXII tests: a real `tessera serve` on a free loopback port, partners made
//! with the real `tessera partner add`, and a small HTTP/1.1 client (so that the tests see
//! exactly the bytes the server sends).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const TAXII: &str = "application/taxii+json;version=2.1";

// The paths to the repository, the shared data and the venv are the same for every end-to-end
// test; they live in `common`.
#[path = "../common/mod.rs"]
mod common;
// Each test target uses a different subset, as with the helpers below (`dead_code` above).
#[allow(unused_imports)]
pub use common::{python, shared_data, tessera as run};

/// Runs `tessera --data-dir DIR ARGS...`, expecting success; returns standard output.
pub fn tessera(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("the tessera binary runs");
    assert!(
        out.status.success(),
        "tessera {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh, initialised node.
pub fn fresh_node() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    tessera(dir.path(), &["init"]);
    dir
}

/// `tessera partner add NAME [--role ROLE]`; returns the token.
pub fn add_partner(dir: &Path, name: &str, role: &str) -> String {
    let out = tessera(dir, &["--json", "partner", "add", name, "--role", role]);
    let value: Value = serde_json::from_str(&out).expect("partner add --json prints JSON");
    value["token"]
        .as_str()
        .expect("a token in the output")
        .to_string()
}

/// A running `tessera serve`, stopped (SIGTERM, then killed) when dropped.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts a server on a free port with `extra` arguments, and generous rate limits (tests
    /// make many requests) unless `extra` sets them.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        Server::start_at(dir, "127.0.0.1:0", extra)
    }

    /// [`Server::start`] on a given address (to restart a server where its peers expect it).
    pub fn start_at(dir: &Path, listen: &str, extra: &[&str]) -> Server {
        let log = dir.join(format!("serve-{}.log", std::process::id()));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("a log file");
        let mut args = vec!["serve", "--listen", listen];
        if !extra.contains(&"--requests-per-second") {
            args.extend([
                "--requests-per-second",
                "100000",
                "--requests-burst",
                "100000",
            ]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--data-dir")
            .arg(dir)
            .args(&args)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("tessera serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints where it listens");
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .or_else(|| line.trim().strip_prefix("listening on https://"))
            .and_then(|rest| rest.strip_suffix("/taxii2/"))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "unexpected first line {line:?}; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        Server {
            child,
            address,
            log,
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn get(&self, path: &str, token: &str) -> Response {
        request(self.address, "GET", path, &auth(token), None)
    }

    /// GETs a TAXII resource expecting 200, as JSON.
    pub fn get_json(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, token);
        assert_eq!(
            response.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    pub fn post(&self, path: &str, token: &str, body: &[u8]) -> Response {
        let mut headers = auth(token);
        headers.push(("Content-Type".into(), TAXII.into()));
        request(self.address, "POST", path, &headers, Some(body))
    }

    /// Every object of a paged GET, following `next` (pages of `limit`).
    pub fn walk(&self, path: &str, token: &str, limit: usize) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..100_000 {
            let url = match &next {
                Some(cursor) => format!("{path}{separator}limit={limit}&next={cursor}"),
                None => format!("{path}{separator}limit={limit}"),
            };
            let page = self.get_json(&url, token);
            let objects = page["objects"].as_array().cloned().unwrap_or_default();
            assert!(objects.len() <= limit, "a page larger than its limit");
            out.extend(objects);
            if page["more"] != Value::Bool(true) {
                return out;
            }
            next = Some(
                page["next"]
                    .as_str()
                    .expect("a page with more has a next")
                    .to_string(),
            );
        }
        panic!("the walk of {path} did not end");
    }
}

impl Server {
    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            // Already gone (`kill_hard`): its pid may belong to another process by now.
            return;
        }
        // SIGTERM first, so the server stops as an operator would stop it.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn auth(token: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), format!("Bearer {token}")),
        ("Accept".into(), TAXII.into()),
    ]
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts a TAXII error with this status, and returns its body.
    pub fn expect_error(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "expected {status}, got {}: {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some(TAXII));
        let body = self.json();
        assert_eq!(body["http_status"], status.to_string());
        assert!(body["title"].is_string() && body["description"].is_string());
        body
    }
}

/// A minimal HTTP/1.1 client: one request per connection, loopback only.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> Response {
    assert!(address.ip().is_loopback(), "tests only talk to loopback");
    let mut stream = TcpStream::connect(address).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("a timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send the head");
    if let Some(body) = body {
        // The server may answer (413) and close before reading it all.
        let _ = stream.write_all(body);
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        match headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
        {
            Some(length) => rest[..length.min(rest.len())].to_vec(),
            None => rest.to_vec(),
        }
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&rest[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return body;
        }
        let start = end + 2;
        body.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
        rest = &rest[(start + size + 2).min(rest.len())..];
    }
}

/// Runs a Python script with the venv's interpreter; returns its standard output, or panics
/// with both streams.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the Python script failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
