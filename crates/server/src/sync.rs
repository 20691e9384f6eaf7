//! Pulling from peers: every collection a peer lets this node read, page by page from the
//! last committed cursor, each page verified against the peer's pinned key before anything
//! of it is stored, stored under the peer's name (so this node's policy treats it as received
//! and never re-releases it beyond the sender's marking), recorded in the ledger with the
//! page's signature, and only then the cursor moved.
//!
//! Crash safety: a page is stored (durably, atomically), then recorded, then the cursor
//! committed. A crash between two of these makes the next run fetch the page again; storing
//! a version already held is a no-op and the ledger never records one twice, so a resumed
//! sync ends with no duplicate and no loss.
//!
//! The peer's ledger is checked at the start and the end of each run: its signed tree head
//! must verify against the pinned key and extend the last head this node accepted from it
//! (a consistency proof), so a peer that rewrote its history is caught.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use ledger::{Entry, Ledger, NodePublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{BundleInput, ImportOptions, Store};

use crate::node::{NodeError, VersionName, holds, now_ms};
use crate::peers::{Peer, PeerTls};
use crate::taxii::PAGE_SIGNATURE_HEADER;
use crate::taxii::collections::PEER_SOURCE_PREFIX;

const ACCEPT: &str = "application/taxii+json;version=2.1";
/// Where each peer's cursors are kept.
pub(crate) const SYNC_DIR: &str = "sync";

/// Bounds of one sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Objects asked for per page.
    pub page_size: usize,
    /// Largest response body accepted, in bytes.
    pub page_bytes_max: u64,
    /// Attempts per request on a network error, a 5xx or a 429, before the run fails.
    pub attempts_max: u32,
    /// First pause between attempts; doubles each time up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// Per request, connection to last byte.
    pub timeout_ms: u64,
    /// Pages per collection in one run (a bound, not a target: the next run continues).
    pub pages_max: usize,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            page_size: 1_000,
            page_bytes_max: 256 << 20,
            attempts_max: 6,
            backoff_initial_ms: 250,
            backoff_max_ms: 8_000,
            timeout_ms: 60_000,
            pages_max: 100_000,
        }
    }
}

/// Why a sync run stopped. What was committed before it stays committed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("peer {peer}: {url}: {detail} (gave up after {attempts} attempts)")]
    Unreachable {
        peer: String,
        url: String,
        detail: String,
        attempts: u32,
    },
    #[error("peer {peer}: {url} answered {status}: {detail}")]
    Refused {
        peer: String,
        url: String,
        status: u16,
        detail: String,
    },
    #[error(
        "peer {peer}: {url}: the TLS connection was refused ({detail}); check the peer's certificate, --ca, and whether it requires --client-certificate"
    )]
    Tls {
        peer: String,
        url: String,
        detail: String,
    },
    #[error(
        "peer {peer} presents key {presented}, not the pinned key {pinned}; nothing was fetched. If the peer really changed its key, remove it and add it again with the new --key"
    )]
    UnknownKey {
        peer: String,
        pinned: String,
        presented: String,
    },
    #[error(
        "peer {peer}: the page {url} fails its signature check against the pinned key ({detail}); the whole page was refused and nothing of it stored"
    )]
    BadSignature {
        peer: String,
        url: String,
        detail: String,
    },
    #[error("peer {peer}: {url}: the answer is not what TAXII 2.1 says: {detail}")]
    Malformed {
        peer: String,
        url: String,
        detail: String,
    },
    #[error(
        "peer {peer}: the page {url} was refused by validation, nothing of it stored: {detail}"
    )]
    Rejected {
        peer: String,
        url: String,
        detail: String,
    },
    #[error("peer {peer}: its ledger head is refused: {source}")]
    Ledger {
        peer: String,
        source: ledger::LedgerError,
    },
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Import(#[from] store::ImportError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// This node, as sync writes to it.
pub struct Local<'a> {
    pub data_dir: &'a Path,
    pub store: &'a Store,
    pub ledger: &'a Mutex<Ledger>,
}

/// What one run pulled from one peer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeerReport {
    pub peer: String,
    pub collections: Vec<CollectionReport>,
    /// The peer's ledger size at the end of the run, as its signed head says.
    pub peer_tree_size: u64,
    /// Versions received from the peer that it withdrew since, and this node withdrew too.
    pub withdrawn: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CollectionReport {
    pub id: String,
    pub pages: usize,
    pub objects: usize,
    pub written: usize,
    pub duplicates: usize,
    pub recorded: usize,
}

/// The committed cursors of one peer: per collection, the `date_added` of the last version
/// stored.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursors {
    collections: BTreeMap<String, String>,
    /// The last withdrawal point applied (the peer's `next`).
    #[serde(default)]
    withdrawals: Option<String>,
}

fn cursors_path(data_dir: &Path, peer: &str) -> PathBuf {
    data_dir.join(SYNC_DIR).join(format!("{peer}.json"))
}

fn load_cursors(data_dir: &Path, peer: &str) -> Result<Cursors, SyncError> {
    load_cursor_file(&cursors_path(data_dir, peer), peer)
}

fn save_cursors(data_dir: &Path, peer: &str, cursors: &Cursors) -> Result<(), SyncError> {
    save_cursor_file(&cursors_path(data_dir, peer), cursors)
}

/// Reads a cursor file of a peer (pulls, pushes); a missing one is the start.
pub(crate) fn load_cursor_file<T: serde::de::DeserializeOwned + Default>(
    path: &Path,
    peer: &str,
) -> Result<T, SyncError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            // Cursors only save work: going over everything again stores no version twice.
            crate::log(&format!(
                "{}: damaged cursor ({e}); starting over with {peer}",
                path.display()
            ));
            T::default()
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(SyncError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a cursor file beside and renames it over, without syncing: cursors are written only
/// after what they point past is durable, so a lost or stale one costs a re-fetch, never a
/// version (and two syncs a page are a tenth of a page's time).
pub(crate) fn save_cursor_file<T: Serialize>(path: &Path, value: &T) -> Result<(), SyncError> {
    let io = |source| SyncError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let bytes = serde_json::to_vec(value).map_err(|e| io(std::io::Error::other(e)))?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(io)
}

/// A peer's HTTP side.
pub(crate) struct Remote<'p> {
    pub(crate) peer: &'p Peer,
    agent: ureq::Agent,
    options: &'p SyncOptions,
}

pub(crate) struct Answer {
    pub(crate) body: Vec<u8>,
    signature: Option<String>,
    date_added_last: Option<String>,
}

impl<'p> Remote<'p> {
    pub(crate) fn new(peer: &'p Peer, options: &'p SyncOptions) -> Result<Remote<'p>, SyncError> {
        let tls = peer.tls.client_config().map_err(|detail| SyncError::Tls {
            peer: peer.name.clone(),
            url: peer.url.clone(),
            detail: format!("the pinned TLS settings: {detail}"),
        })?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(options.timeout_ms)))
            .http_status_as_error(false)
            .tls_config(tls)
            .build()
            .into();
        Ok(Remote {
            peer,
            agent,
            options,
        })
    }

    /// GET with bounded retries and exponential back-off on what may pass (network errors,
    /// 5xx, 429); any other refusal ends the run at once.
    pub(crate) fn get(&self, url: &str) -> Result<Answer, SyncError> {
        self.request(url, None)
    }

    /// POST of a TAXII envelope with its signature, retried as [`Remote::get`] is (storing
    /// the same versions again is a no-op on the other side).
    pub(crate) fn post(
        &self,
        url: &str,
        envelope: &[u8],
        signature_hex: &str,
    ) -> Result<Answer, SyncError> {
        self.request(url, Some((envelope, signature_hex)))
    }

    fn request(&self, url: &str, post: Option<(&[u8], &str)>) -> Result<Answer, SyncError> {
        let mut pause_ms = self.options.backoff_initial_ms;
        let mut attempt = 0;
        let authorization = format!("Bearer {}", self.peer.token);
        loop {
            attempt += 1;
            let outcome = match post {
                None => self
                    .agent
                    .get(url)
                    .header("Authorization", &authorization)
                    .header("Accept", ACCEPT)
                    .call(),
                Some((envelope, signature_hex)) => self
                    .agent
                    .post(url)
                    .header("Authorization", &authorization)
                    .header("Accept", ACCEPT)
                    .header("Content-Type", ACCEPT)
                    .header(PAGE_SIGNATURE_HEADER, signature_hex)
                    .send(envelope),
            };
            let retry_detail = match outcome {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let header = |name: &str| {
                        response
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let signature = header(PAGE_SIGNATURE_HEADER);
                    let date_added_last = header("x-taxii-date-added-last");
                    let retry_after_s = header("retry-after").and_then(|v| v.parse::<u64>().ok());
                    let body = response
                        .body_mut()
                        .with_config()
                        .limit(self.options.page_bytes_max)
                        .read_to_vec();
                    match (status, body) {
                        (200..=299, Ok(body)) => {
                            return Ok(Answer {
                                body,
                                signature,
                                date_added_last,
                            });
                        }
                        (429 | 500..=599, _) => {
                            if let Some(s) = retry_after_s {
                                pause_ms = pause_ms.max(s.saturating_mul(1_000));
                            }
                            format!("answered {status}")
                        }
                        (200..=299, Err(e)) => format!("reading the answer: {e}"),
                        (_, body) => {
                            let detail = body
                                .ok()
                                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                                .and_then(|v| {
                                    v["description"]
                                        .as_str()
                                        .or(v["title"].as_str())
                                        .map(str::to_string)
                                })
                                .unwrap_or_else(|| "no TAXII error message".to_string());
                            return Err(SyncError::Refused {
                                peer: self.peer.name.clone(),
                                url: url.to_string(),
                                status,
                                detail,
                            });
                        }
                    }
                }
                // A certificate the pinned trust refuses will be refused again: say so now.
                Err(e) if is_tls_refusal(&e) => {
                    return Err(SyncError::Tls {
                        peer: self.peer.name.clone(),
                        url: url.to_string(),
                        detail: e.to_string(),
                    });
                }
                Err(e) => e.to_string(),
            };
            if attempt >= self.options.attempts_max {
                return Err(SyncError::Unreachable {
                    peer: self.peer.name.clone(),
                    url: url.to_string(),
                    detail: retry_detail,
                    attempts: attempt,
                });
            }
            crate::log(&format!(
                "peer {}: {url}: {retry_detail}; retrying in {pause_ms} ms (attempt {attempt} of {})",
                self.peer.name, self.options.attempts_max
            ));
            std::thread::sleep(Duration::from_millis(pause_ms));
            pause_ms = (pause_ms * 2).min(self.options.backoff_max_ms);
        }
    }

    pub(crate) fn get_json(&self, url: &str) -> Result<(Value, Answer), SyncError> {
        let answer = self.get(url)?;
        let value = serde_json::from_slice(&answer.body).map_err(|e| SyncError::Malformed {
            peer: self.peer.name.clone(),
            url: url.to_string(),
            detail: format!("not JSON: {e}"),
        })?;
        Ok((value, answer))
    }

    /// The peer's pinned key, once its discovery document announces that same key, and the
    /// absolute URL of its default API root. Nothing is asked of or sent to a node that
    /// presents another key.
    pub(crate) fn discover(&self) -> Result<(NodePublicKey, String), SyncError> {
        let peer = self.peer;
        let key = peer.key().map_err(|e| self.malformed("", e.to_string()))?;
        let discovery_url = format!("{}/taxii2/", peer.url);
        let (discovery, _) = self.get_json(&discovery_url)?;
        let presented = discovery["x_tessera_public_key"].as_str().unwrap_or("none");
        if presented != key.to_hex() {
            return Err(SyncError::UnknownKey {
                peer: peer.name.clone(),
                pinned: key.to_hex(),
                presented: presented.to_string(),
            });
        }
        let api_root = discovery["default"]
            .as_str()
            .ok_or_else(|| self.malformed(&discovery_url, "no default API root"))?;
        Ok((key, absolute(&peer.url, api_root)))
    }

    pub(crate) fn malformed(&self, url: &str, detail: impl Into<String>) -> SyncError {
        SyncError::Malformed {
            peer: self.peer.name.clone(),
            url: url.to_string(),
            detail: detail.into(),
        }
    }
}

/// Whether a request failed on TLS itself (an untrusted or mismatched certificate, a refused
/// client certificate) rather than on the network, so that retrying cannot help.
fn is_tls_refusal(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => true,
        ureq::Error::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    }
}

/// The public key a node announces in its discovery document, for `tessera peer add` without
/// `--key` (trust on first use: the operator should compare it with one received out of band).
pub fn announced_key(url: &str, token: &str, tls: &PeerTls) -> Result<NodePublicKey, SyncError> {
    let options = SyncOptions {
        attempts_max: 2,
        ..SyncOptions::default()
    };
    let placeholder = Peer {
        name: "new-peer".to_string(),
        url: crate::peers::base_url(url).map_err(|e| SyncError::Malformed {
            peer: "new-peer".to_string(),
            url: url.to_string(),
            detail: e.to_string(),
        })?,
        token: token.to_string(),
        public_key: String::new(),
        added: String::new(),
        tls: tls.clone(),
    };
    let remote = Remote::new(&placeholder, &options)?;
    let discovery_url = format!("{}/taxii2/", placeholder.url);
    let (discovery, _) = remote.get_json(&discovery_url)?;
    let text = discovery["x_tessera_public_key"].as_str().ok_or_else(|| {
        remote.malformed(
            &discovery_url,
            "no x_tessera_public_key: not a Tessera node; pin its key with --key",
        )
    })?;
    NodePublicKey::from_hex(text)
        .map_err(|e| remote.malformed(&discovery_url, format!("x_tessera_public_key: {e}")))
}

/// Pulls everything new from one peer.
pub fn sync_peer(
    local: &Local<'_>,
    peer: &Peer,
    options: &SyncOptions,
) -> Result<PeerReport, SyncError> {
    let remote = Remote::new(peer, options)?;
    let (key, api_root) = remote.discover()?;
    check_head(local, &remote, &key)?;
    let collections_url = format!("{api_root}collections/");
    let (collections, _) = remote.get_json(&collections_url)?;
    let mut report = PeerReport {
        peer: peer.name.clone(),
        ..PeerReport::default()
    };
    let mut cursors = load_cursors(local.data_dir, &peer.name)?;
    let listed = collections["collections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for collection in listed.iter().take(crate::peers::PEERS_MAX) {
        if collection["can_read"].as_bool() != Some(true) {
            continue;
        }
        let id = collection["id"]
            .as_str()
            .ok_or_else(|| remote.malformed(&collections_url, "a collection without an id"))?;
        let pulled = pull_collection(local, &remote, &key, &api_root, id, &mut cursors)?;
        report.collections.push(pulled);
    }
    report.withdrawn = pull_withdrawals(local, &remote, &key, &mut cursors)?;
    report.peer_tree_size = check_head(local, &remote, &key)?;
    Ok(report)
}

/// Applies the peer's withdrawals (TAXII DELETE on its side) to the versions this node holds
/// from that peer, and only those: a version this node holds from its own sources or another
/// peer stays.
fn pull_withdrawals(
    local: &Local<'_>,
    remote: &Remote<'_>,
    key: &NodePublicKey,
    cursors: &mut Cursors,
) -> Result<usize, SyncError> {
    let peer = &remote.peer.name;
    let source = format!("{PEER_SOURCE_PREFIX}{peer}");
    let mut withdrawn = 0;
    for _ in 0..remote.options.pages_max {
        let mut url = format!("{}{}", remote.peer.url, crate::federation::WITHDRAWALS_PATH);
        if let Some(after) = &cursors.withdrawals {
            url.push_str(&format!("?after={}", encode(after)));
        }
        let answer = remote.get(&url)?;
        let envelope = verified_envelope(remote, key, &url, &answer)?;
        for item in envelope["withdrawals"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
        {
            let (Some(id), Some(version)) = (item["id"].as_str(), item["version"].as_str()) else {
                return Err(remote.malformed(&url, "a withdrawal without id or version"));
            };
            let Ok(at) = stix::Timestamp::parse(version) else {
                continue; // an unversioned object: nothing this node can name by version
            };
            let at = at.unix_nanos();
            let held_from_peer = {
                let snapshot = local.store.snapshot()?;
                let mut found = false;
                for held in snapshot.version_keys(id)? {
                    if held.version == at && snapshot.version(held.seq)?.source == source {
                        found = true;
                    }
                }
                found
            };
            if held_from_peer {
                let versions = store::query::VersionMatch {
                    at: vec![at],
                    ..store::query::VersionMatch::default()
                };
                withdrawn += local.store.delete(id, &versions)?.len();
            }
        }
        let next = envelope["next"].as_str().map(str::to_string);
        if let Some(next) = &next {
            if crate::federation::parse_withdrawal_point(next).is_none() {
                return Err(remote.malformed(&url, "`next` is not a withdrawal point"));
            }
            cursors.withdrawals = Some(next.clone());
            save_cursors(local.data_dir, peer, cursors)?;
        }
        if envelope["more"].as_bool() != Some(true) || next.is_none() {
            break;
        }
    }
    Ok(withdrawn)
}

/// Resolves the API root the peer announced against the URL this node reaches it by (a peer
/// behind a proxy may announce a relative root).
fn absolute(base: &str, root: &str) -> String {
    let root = if root.ends_with('/') {
        root.to_string()
    } else {
        format!("{root}/")
    };
    if root.starts_with("http://") || root.starts_with("https://") {
        root
    } else {
        format!("{base}/{}", root.trim_start_matches('/'))
    }
}

/// Fetches the peer's signed tree head with a consistency proof from the last head accepted,
/// and accepts it; returns its size.
fn check_head(
    local: &Local<'_>,
    remote: &Remote<'_>,
    key: &NodePublicKey,
) -> Result<u64, SyncError> {
    let peer = &remote.peer.name;
    let since = lock(local.ledger)
        .peer_head(peer)
        .map_or(0, |head| head.tree_size);
    let url = format!(
        "{}{}?since={since}",
        remote.peer.url,
        crate::federation::HEAD_PATH
    );
    let (value, _) = remote.get_json(&url)?;
    let (head, proof) =
        crate::federation::parse_head(&value).map_err(|detail| remote.malformed(&url, detail))?;
    lock(local.ledger)
        .accept_peer_head(peer, key, &head, &proof)
        .map_err(|source| SyncError::Ledger {
            peer: peer.clone(),
            source,
        })?;
    Ok(head.tree_size)
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn pull_collection(
    local: &Local<'_>,
    remote: &Remote<'_>,
    key: &NodePublicKey,
    api_root: &str,
    collection: &str,
    cursors: &mut Cursors,
) -> Result<CollectionReport, SyncError> {
    let mut report = CollectionReport {
        id: collection.to_string(),
        ..CollectionReport::default()
    };
    let base = format!(
        "{api_root}collections/{}/objects/?limit={}&match%5Bversion%5D=all",
        encode(collection),
        remote.options.page_size
    );
    let added_after = cursors.collections.get(collection).cloned();
    // One thread fetches and verifies the next page while this one stores the last: the
    // peer's time and this node's overlap. At most a commit's worth of pages waits.
    std::thread::scope(|scope| {
        let (pages, arriving) =
            std::sync::mpsc::sync_channel::<Result<Fetched, SyncError>>(STORE_BATCH_PAGES);
        scope.spawn(move || {
            let mut next: Option<String> = None;
            for _ in 0..remote.options.pages_max {
                let mut url = base.clone();
                if let Some(after) = &added_after {
                    url.push_str(&format!("&added_after={}", encode(after)));
                }
                if let Some(next) = &next {
                    url.push_str(&format!("&next={}", encode(next)));
                }
                let fetched = remote
                    .get(&url)
                    .and_then(|answer| verified_page(remote, key, url, answer));
                let (fetched, last) = match fetched {
                    Ok(page) => match (page.more, page.next.as_deref()) {
                        (true, Some(cursor)) => {
                            next = Some(cursor.to_string());
                            (Ok(page), false)
                        }
                        (true, None) => (
                            Err(remote
                                .malformed(&page.url, "`more` is true but there is no `next`")),
                            true,
                        ),
                        _ => (Ok(page), true),
                    },
                    Err(e) => (Err(e), true),
                };
                if pages.send(fetched).is_err() || last {
                    return;
                }
            }
        });
        // Verified pages are stored together, up to STORE_BATCH_OBJECTS: one durable commit
        // of the store and the ledger for several pages rewrites far fewer index pages.
        let mut pending: Vec<Fetched> = Vec::new();
        let mut pending_objects = 0;
        loop {
            let page = match arriving.recv() {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    // What verified before the failure is kept.
                    store_pages(local, remote, collection, &pending, cursors, &mut report)?;
                    return Err(e);
                }
                Err(_) => break,
            };
            report.pages += 1;
            pending_objects += page.objects.len();
            pending.push(page);
            if pending_objects >= STORE_BATCH_OBJECTS || pending.len() >= STORE_BATCH_PAGES {
                store_pages(local, remote, collection, &pending, cursors, &mut report)?;
                pending.clear();
                pending_objects = 0;
            }
        }
        store_pages(local, remote, collection, &pending, cursors, &mut report)?;
        Ok(report)
    })
}

/// Objects of verified pages stored in one commit, and pages (so small pages still commit
/// often and a cut costs little).
const STORE_BATCH_OBJECTS: usize = 5_000;
const STORE_BATCH_PAGES: usize = 5;

/// A page fetched and verified, waiting to be stored: its envelope in canonical form, and
/// where each object's canonical text lies in it.
struct Fetched {
    url: String,
    answer: Answer,
    canonical: Vec<u8>,
    objects: Vec<std::ops::Range<usize>>,
    more: bool,
    next: Option<String>,
}

impl Fetched {
    fn objects(&self) -> impl Iterator<Item = &[u8]> {
        self.objects
            .iter()
            .map(|range| &self.canonical[range.clone()])
    }
}

/// An envelope read without building its objects: each is kept as its text.
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(default)]
    more: bool,
    next: Option<String>,
    #[serde(borrow, default)]
    objects: Vec<&'a serde_json::value::RawValue>,
}

/// A page of objects, once its signature verifies. A Tessera peer sends the canonical form
/// itself, so the signature is first checked over the bytes as received, and then each
/// object's canonical text is a slice of them (nothing is parsed into values, re-serialised or
/// canonicalised again). Otherwise the envelope is canonicalised and checked as the signature
/// scheme says, and the canonical form is used.
fn verified_page(
    remote: &Remote<'_>,
    key: &NodePublicKey,
    url: String,
    answer: Answer,
) -> Result<Fetched, SyncError> {
    let signature = page_signature(remote, &url, &answer)?;
    let canonical = if key.verifies(&answer.body, &signature) {
        answer.body.clone()
    } else {
        let envelope = verified_envelope(remote, key, &url, &answer)?;
        stix::canonical::canonical(&envelope)
    };
    let raw: RawEnvelope<'_> = serde_json::from_slice(&canonical)
        .map_err(|e| remote.malformed(&url, format!("not a TAXII envelope: {e}")))?;
    let base = canonical.as_ptr() as usize;
    let objects = raw
        .objects
        .iter()
        .map(|object| {
            let start = object.get().as_ptr() as usize - base;
            start..start + object.get().len()
        })
        .collect();
    let (more, next) = (raw.more, raw.next);
    Ok(Fetched {
        url,
        answer,
        canonical,
        objects,
        more,
        next,
    })
}

/// The page's signature header, decoded.
fn page_signature(remote: &Remote<'_>, url: &str, answer: &Answer) -> Result<[u8; 64], SyncError> {
    let bad = |detail: &str| {
        let error = SyncError::BadSignature {
            peer: remote.peer.name.clone(),
            url: url.to_string(),
            detail: detail.to_string(),
        };
        crate::log(&error.to_string());
        error
    };
    let signature_hex = answer
        .signature
        .as_deref()
        .ok_or_else(|| bad("the page carries no signature"))?;
    let mut signature = [0u8; 64];
    hex::decode_to_slice(signature_hex, &mut signature)
        .map_err(|_| bad("the signature is not 64 bytes of hex"))?;
    Ok(signature)
}

/// The page's envelope, once its signature verifies against the pinned key over the RFC 8785
/// canonical form of what was received.
fn verified_envelope(
    remote: &Remote<'_>,
    key: &NodePublicKey,
    url: &str,
    answer: &Answer,
) -> Result<Value, SyncError> {
    let signature = page_signature(remote, url, answer)?;
    let envelope: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| remote.malformed(url, format!("not JSON: {e}")))?;
    if !key.verifies(&stix::canonical::canonical(&envelope), &signature) {
        let error = SyncError::BadSignature {
            peer: remote.peer.name.clone(),
            url: url.to_string(),
            detail: "the signature does not match the page's content".to_string(),
        };
        crate::log(&error.to_string());
        return Err(error);
    }
    if !envelope.is_object() {
        return Err(remote.malformed(url, "the envelope is not a JSON object"));
    }
    Ok(envelope)
}

/// Stores verified pages as one bundle (all or nothing), records each version in the ledger
/// with the signature of its page, and only then moves the collection's cursor past them.
fn store_pages(
    local: &Local<'_>,
    remote: &Remote<'_>,
    collection: &str,
    pages: &[Fetched],
    cursors: &mut Cursors,
    report: &mut CollectionReport,
) -> Result<(), SyncError> {
    if pages.is_empty() {
        return Ok(());
    }
    let peer = &remote.peer.name;
    let objects: usize = pages.iter().map(|p| p.objects.len()).sum();
    if objects > 0 {
        // The bundle is the objects' canonical texts, joined: they are parsed once, by the
        // import.
        let mut bytes =
            Vec::with_capacity(pages.iter().map(|p| p.canonical.len()).sum::<usize>() + 128);
        bytes.extend_from_slice(
            format!(
                "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
                uuid::Uuid::new_v4()
            )
            .as_bytes(),
        );
        for (i, object) in pages.iter().flat_map(Fetched::objects).enumerate() {
            if i > 0 {
                bytes.push(b',');
            }
            bytes.extend_from_slice(object);
        }
        bytes.extend_from_slice(b"]}");
        let options = ImportOptions {
            source: format!("{PEER_SOURCE_PREFIX}{peer}"),
            ..ImportOptions::default()
        };
        let imported =
            store::import_bundle(local.store, BundleInput::Slice(&bytes), &options, &mut ())?;
        if imported.rejected > 0 {
            let detail = imported
                .problems
                .iter()
                .take(3)
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(SyncError::Rejected {
                peer: peer.clone(),
                url: pages[0].url.clone(),
                detail: format!(
                    "{} objects rejected in this page or the {} after it: {detail}",
                    imported.rejected,
                    pages.len() - 1
                ),
            });
        }
        report.objects += objects;
        report.written += imported.written;
        report.duplicates += imported.duplicates;

        let recorded_at_unix_ms = now_ms();
        let mut ledger = lock(local.ledger);
        let mut entries = Vec::with_capacity(objects);
        for page in pages {
            let signature = page.answer.signature.clone().unwrap_or_default();
            for object in page.objects() {
                let mut named = VersionName::of_json(object)
                    .map_err(|e| remote.malformed(&page.url, format!("an object: {e}")))?;
                if named.id.is_empty() {
                    return Err(remote.malformed(&page.url, "an object without an id"));
                }
                let object_id = std::mem::take(&mut named.id);
                let version =
                    named.version(|| page.answer.date_added_last.clone().unwrap_or_default());
                let entry = Entry::Received {
                    recorded_at_unix_ms,
                    peer: peer.clone(),
                    object_id,
                    version,
                    content_hash: hex::encode(stix::canonical::content_hash(object)),
                    page_signature: signature.clone(),
                };
                if !holds(&ledger, &entry)? {
                    entries.push(entry);
                }
            }
        }
        for chunk in entries.chunks(ledger::MAX_BATCH_ENTRIES) {
            ledger
                .append_batch(chunk)
                .map_err(|e| SyncError::Node(NodeError::Ledger(e)))?;
        }
        report.recorded += entries.len();
    }
    if let Some(last) = pages
        .iter()
        .rev()
        .find_map(|p| p.answer.date_added_last.as_ref())
    {
        // Committed only once the pages are stored and recorded.
        cursors
            .collections
            .insert(collection.to_string(), last.clone());
        save_cursors(local.data_dir, peer, cursors)?;
    }
    Ok(())
}

pub(crate) fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
