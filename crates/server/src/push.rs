//! Pushing to a peer (`tessera peer push`): what this node's policy releases to the peer, as
//! the partner the policy knows it by, POSTed to the peer's writable collection (a Tessera
//! node's `inbox`) in signed envelopes.
//!
//! Nothing leaves by another road than pages do: each envelope is a page of
//! [`outbound::page`] (the policy's releases, closure and redactions included), written by
//! [`outbound::envelope`], recorded in this node's ledger as released to the partner before it
//! is sent (as a page a partner reads is), and signed with the node's key over its RFC 8785
//! form, which is the body itself. The receiver checks the signature against the key it pinned
//! for this node and records what it stored with it.
//!
//! A cursor per peer (the last store seq pushed) is committed once the peer has stored an
//! envelope, so a cut push resumes where it stopped and sends at most one envelope again,
//! which the peer holds already (a no-op there). The cursor follows the store's log, so a
//! policy that later releases more does not reach versions already passed: `--from-start`
//! walks the log again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger::{Ledger, NodeKey};
use policy::Policy;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::Store;
use store::query::{Selection, SourceFilter, VersionMatch};

use crate::node::NodeError;
use crate::outbound;
use crate::peers::Peer;
use crate::sync::{
    Remote, SYNC_DIR, SyncError, SyncOptions, encode, load_cursor_file, save_cursor_file,
};
use crate::taxii::collections::PEER_SOURCE_PREFIX;

/// Bounds of one push run.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Objects per envelope (the peer's `objects_per_post_max` must allow it).
    pub envelope_objects: usize,
    /// Versions examined per envelope, released or not (a bound on one release pass).
    pub examine_max: usize,
    /// Envelopes in one run (a bound, not a target: the next run continues).
    pub envelopes_max: usize,
    /// How often, and how many times, to ask for the status of an envelope the peer is still
    /// storing.
    pub status_poll_ms: u64,
    pub status_polls_max: u32,
    /// Walk the whole store log again instead of resuming from the cursor.
    pub from_start: bool,
    /// Network bounds and retries, as for pulls.
    pub http: SyncOptions,
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            envelope_objects: 500,
            examine_max: 50_000,
            envelopes_max: 100_000,
            status_poll_ms: 200,
            status_polls_max: 600,
            from_start: false,
            http: SyncOptions::default(),
        }
    }
}

/// This node, as a push reads it.
pub struct Outgoing<'a> {
    pub data_dir: &'a Path,
    pub store: &'a Store,
    pub ledger: &'a Mutex<Ledger>,
    pub key: &'a NodeKey,
    pub policy: Arc<Policy>,
}

/// What one run pushed to one peer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PushReport {
    pub peer: String,
    /// The partner of this node's policy the objects were released to.
    pub partner: String,
    /// The peer's collection they went to.
    pub collection: String,
    pub envelopes: usize,
    /// Versions released and sent.
    pub objects: usize,
    /// Of those, how many the peer reports stored or already held.
    pub accepted: usize,
    /// Ledger records of the releases.
    pub recorded: usize,
}

/// The committed push cursor of one peer.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// The partner the releases were made for: another partner starts from the beginning.
    partner: String,
    /// The last store seq examined and sent.
    after_seq: u64,
}

fn cursor_path(data_dir: &Path, peer: &str) -> PathBuf {
    data_dir.join(SYNC_DIR).join(format!("{peer}.push.json"))
}

/// A push run from a node that is not serving (`tessera peer push`): opens the node in
/// `data_dir` (its store, key, ledger and policy file), records in the ledger what the node
/// created since the last record (what is pushed must be recorded as created before it is
/// recorded as released), then pushes to the peer named `name` as `partner` (default: the
/// peer's name). The store must not be open elsewhere: a serving node pushes with its
/// `--push-interval-s`.
pub fn push_from_data_dir(
    data_dir: &Path,
    name: &str,
    partner: Option<&str>,
    options: &PushOptions,
) -> Result<PushReport, SyncError> {
    let invalid = |detail: String| SyncError::Node(NodeError::Invalid(detail));
    let peers = crate::peers::load(data_dir).map_err(|e| invalid(e.to_string()))?;
    let peer = peers
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| invalid(crate::peers::PeersError::Unknown(name.to_string()).to_string()))?;
    let policy = crate::policy_file::load(data_dir)
        .map_err(|e| invalid(e.to_string()))?
        .ok_or_else(|| {
            invalid(format!(
                "no policy file ({}): this node releases nothing to anyone until it has one",
                crate::policy_file::path(data_dir).display()
            ))
        })?;
    let store = Store::open(data_dir).map_err(|e| SyncError::Node(e.into()))?;
    let key = crate::node::load_or_create_key(data_dir)?;
    let mut ledger = crate::node::open_ledger(data_dir)?;
    crate::node::record_created(data_dir, &store, &mut ledger)?;
    let ledger = Mutex::new(ledger);
    let local = Outgoing {
        data_dir,
        store: &store,
        ledger: &ledger,
        key: &key,
        policy: Arc::new(policy),
    };
    let outcome = push_peer(&local, peer, partner.unwrap_or(name), options);
    // Closed whether or not the push got through: what it recorded stays recorded.
    ledger
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .close()
        .map_err(|e| SyncError::Node(e.into()))?;
    outcome
}

/// Pushes to `peer` what this node's policy releases to `partner` and the peer does not have
/// from this node yet.
pub fn push_peer(
    local: &Outgoing<'_>,
    peer: &Peer,
    partner: &str,
    options: &PushOptions,
) -> Result<PushReport, SyncError> {
    let invalid = |detail: String| SyncError::Node(NodeError::Invalid(detail));
    if local.policy.partner(partner).is_none() {
        return Err(invalid(format!(
            "this node's policy has no partner named {partner:?}: nothing is released to it (name the partner with --as)"
        )));
    }
    let remote = Remote::new(peer, &options.http)?;
    // The pinned key names the node the releases are meant for: a URL that now reaches
    // another node gets nothing.
    let (_, api_root) = remote.discover()?;
    let collections_url = format!("{api_root}collections/");
    let (collections, _) = remote.get_json(&collections_url)?;
    let collection = collections["collections"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["can_write"].as_bool() == Some(true))
        .and_then(|c| c["id"].as_str())
        .ok_or_else(|| {
            remote.malformed(
                &collections_url,
                "no collection this node may write to (the peer must make it a partner)",
            )
        })?
        .to_string();
    let objects_url = format!("{api_root}collections/{}/objects/", encode(&collection));

    let path = cursor_path(local.data_dir, &peer.name);
    let mut cursor = match load_cursor_file::<Cursor>(&path, &peer.name)? {
        cursor if cursor.partner == partner && !options.from_start => cursor,
        _ => Cursor {
            partner: partner.to_string(),
            after_seq: 0,
        },
    };
    let mut report = PushReport {
        peer: peer.name.clone(),
        partner: partner.to_string(),
        collection: collection.clone(),
        ..PushReport::default()
    };
    // What the peer sent this node goes back to it only from its own store.
    let selection = Selection {
        versions: VersionMatch::all(),
        sources: SourceFilter::NotPrefixed(format!("{PEER_SOURCE_PREFIX}{}", peer.name)),
        ..Selection::default()
    };
    let caches = outbound::Caches {
        held: outbound::HeldCache::new(4_096),
        facts: outbound::FactsCache::new(65_536),
        memberships: outbound::MembershipCache::new(1),
        // A push is one walk of the log: an index of the whole store would cost more to build
        // than the walk saves.
        index: Arc::new(crate::release_index::ReleaseIndex::off()),
    };
    for _ in 0..options.envelopes_max {
        let snapshot = local.store.snapshot()?;
        let page = outbound::page(
            &snapshot,
            &caches,
            &local.policy,
            partner,
            &selection,
            cursor.after_seq,
            options.envelope_objects,
            options.examine_max,
        )
        .map_err(|e| invalid(format!("releasing to {partner}: {}", e.message())))?;
        drop(snapshot);
        let next_seq = page
            .next_after
            .or_else(|| page.items.last().map(|r| r.seq))
            .unwrap_or(cursor.after_seq);
        if !page.items.is_empty() {
            // Recorded before it leaves, as every release is.
            let (body, recorded) = outbound::recorded_envelope(&page, partner, local.ledger)
                .map_err(|e| invalid(format!("releasing an envelope: {}", e.message())))?;
            report.recorded += recorded;
            let signature = hex::encode(local.key.sign_message(&body));
            let answer = remote.post(&objects_url, &body, &signature)?;
            let accepted = settled(&remote, &api_root, &objects_url, answer, options)?;
            report.envelopes += 1;
            report.objects += page.items.len();
            report.accepted += accepted;
        }
        if next_seq != cursor.after_seq {
            cursor.after_seq = next_seq;
            save_cursor_file(&path, &cursor)?;
        }
        if !page.more {
            break;
        }
    }
    Ok(report)
}

/// Waits for the peer to finish storing an envelope (its status resource), and fails when it
/// refused any object. Returns how many it stored or held already.
fn settled(
    remote: &Remote<'_>,
    api_root: &str,
    objects_url: &str,
    answer: crate::sync::Answer,
    options: &PushOptions,
) -> Result<usize, SyncError> {
    let mut status: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| remote.malformed(objects_url, format!("the status is not JSON: {e}")))?;
    let id = status["id"]
        .as_str()
        .ok_or_else(|| remote.malformed(objects_url, "the status has no id"))?
        .to_string();
    let status_url = format!("{api_root}status/{}/", encode(&id));
    let mut polls = 0;
    while status["status"].as_str() != Some("complete") {
        polls += 1;
        if polls > options.status_polls_max {
            return Err(remote.malformed(
                &status_url,
                format!(
                    "still pending after {} polls; the next push sends it again",
                    options.status_polls_max
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(options.status_poll_ms));
        status = remote.get_json(&status_url)?.0;
    }
    let failures = status["failure_count"].as_u64().unwrap_or(0);
    if failures > 0 {
        let detail = status["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .take(3)
            .map(|f| {
                format!(
                    "{}: {}",
                    f["id"].as_str().unwrap_or("?"),
                    f["message"].as_str().unwrap_or("refused")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(SyncError::Rejected {
            peer: remote.peer.name.clone(),
            url: objects_url.to_string(),
            detail: format!("{failures} objects refused: {detail}"),
        });
    }
    Ok(status["success_count"].as_u64().unwrap_or(0) as usize)
}
