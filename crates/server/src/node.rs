//! The node's signing key and ledger, as files of its data directory, and the recording of
//! what the node itself created.
//!
//! The ledger records every version the node holds: what it created (local imports,
//! analysts' POSTs) is recorded here by [`record_created`], which catches the ledger up with
//! the store's log; what it received from a peer is recorded by `sync` with the signature of
//! the page that carried it; what it released is recorded by the server for each page it
//! serves to a partner.

use std::path::{Path, PathBuf};

use ledger::{Entry, Ledger, LedgerError, NodeKey, NodePublicKey};
use serde::Deserialize;
use store::query::{Selection, SourceFilter, VersionMatch};
use store::{Store, StoredVersion};

use crate::files::{micros_text, now_micros, write_atomically};
use crate::taxii::collections::PEER_SOURCE_PREFIX;

/// The node's Ed25519 secret key (hex seed, mode 0600).
pub const KEY_FILE: &str = "node.key";
/// The ledger's directory.
pub const LEDGER_DIR: &str = "ledger";
/// The last store seq whose version the ledger records as created (derived: a lost or stale
/// file only makes [`record_created`] look again, and it never records a version twice).
const WATERMARK_FILE: &str = "ledger.seq";
/// Versions recorded per ledger batch (one sync of `entries.log`, and one of the watermark,
/// each). A created or received entry is under 1 KB (a STIX id, a timestamp, a hash, a peer
/// name and a signature), so a batch stays inside the ledger's 16 MB and 65,536-entry bounds.
/// At 4,096 the syncs were half of the time enterprise ATT&CK's import spent recording.
const RECORD_BATCH_MAX: usize = 12_288;

/// Why the node's key or ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Query(#[from] store::query::QueryError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// Creates the node's key pair (`tessera init`); refuses to replace one.
pub fn create_key(data_dir: &Path) -> Result<NodePublicKey, NodeError> {
    let key = NodeKey::generate()?;
    key.save(&key_path(data_dir))?;
    Ok(key.public_key())
}

/// The node's key; a node made before keys existed gets one now.
pub fn load_or_create_key(data_dir: &Path) -> Result<NodeKey, NodeError> {
    let path = key_path(data_dir);
    if !path.exists() {
        NodeKey::generate()?.save(&path)?;
        crate::log(&format!("created the node key {}", path.display()));
    }
    Ok(NodeKey::load(&path)?)
}

/// Opens (or creates) the node's ledger, logging what recovery did.
pub fn open_ledger(data_dir: &Path) -> Result<Ledger, NodeError> {
    let (ledger, recovery) = Ledger::open(data_dir.join(LEDGER_DIR))?;
    if !recovery.is_clean() {
        crate::log(&format!("ledger recovery: {recovery:?}"));
    }
    Ok(ledger)
}

/// What names a version of an object, as the ledger and TAXII name it: its id, and its
/// `modified`, else `created`, else (objects STIX does not version) when the node added it.
/// The one reading of a version string, for stored versions, released copies and received
/// objects alike.
#[derive(Deserialize)]
pub(crate) struct VersionName {
    #[serde(default)]
    pub id: String,
    modified: Option<String>,
    created: Option<String>,
}

impl VersionName {
    /// From an object's JSON text, reading nothing else of it.
    pub(crate) fn of_json(json: &[u8]) -> Result<VersionName, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// From an object already parsed.
    pub(crate) fn of_map(object: &serde_json::Map<String, serde_json::Value>) -> VersionName {
        let text = |property| {
            object
                .get(property)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        VersionName {
            id: text("id").unwrap_or_default(),
            modified: text("modified"),
            created: text("created"),
        }
    }

    /// The version string; `unversioned` names an object without `modified` or `created`.
    pub(crate) fn version(self, unversioned: impl FnOnce() -> String) -> String {
        self.modified.or(self.created).unwrap_or_else(unversioned)
    }
}

/// The version string of a stored version (see [`VersionName`]).
pub(crate) fn version_text(canonical_json: &[u8], date_added_micros: i64) -> String {
    let unversioned = || micros_text(date_added_micros);
    // Read only as far as `modified` (a collection's 200 KB of contents come after it).
    if let Some([modified, created]) = stix::canonical_text::top_level_strings(
        canonical_json,
        ["modified", "created"],
        stix::validate::DEPTH_MAX,
    ) {
        return modified.or(created).map_or_else(unversioned, Into::into);
    }
    match VersionName::of_json(canonical_json) {
        Ok(name) => name.version(unversioned),
        Err(_) => unversioned(),
    }
}

/// A signed head for the whole ledger: the latest one issued when nothing was appended
/// since, else a new one (never dated before the previous head).
pub fn current_head(
    ledger: &mut Ledger,
    key: &NodeKey,
) -> Result<ledger::SignedTreeHead, LedgerError> {
    match ledger.latest_issued_head() {
        Some(head) if head.tree_size == ledger.tree_size() => Ok(*head),
        latest => {
            let floor = latest.map_or(0, |h| h.timestamp_unix_ms);
            ledger.sign_head(key, now_ms().max(floor))
        }
    }
}

pub(crate) fn now_ms() -> u64 {
    (now_micros() / 1_000).max(0) as u64
}

/// Records every version the node holds from its own sources (not from peers) that the
/// ledger does not hold yet, as `Created`. Returns how many it recorded. Safe to run at any
/// time and after a crash: a version already recorded is not recorded again.
pub fn record_created(
    data_dir: &Path,
    store: &Store,
    ledger: &mut Ledger,
) -> Result<usize, NodeError> {
    let watermark_path = data_dir.join(WATERMARK_FILE);
    let after_seq = std::fs::read_to_string(&watermark_path)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let selection = Selection {
        versions: VersionMatch::all(),
        sources: SourceFilter::NotPrefixed(PEER_SOURCE_PREFIX.to_string()),
        ..Selection::default()
    };
    let created = |version: &StoredVersion| {
        Some(Entry::Created {
            recorded_at_unix_ms: now_ms(),
            object_id: version.id.clone(),
            version: version_text(&version.canonical_json, version.date_added_micros),
            content_hash: version.content_hash_hex(),
        })
    };
    record_log(store, ledger, &selection, after_seq, created, |seq| {
        write_atomically(&watermark_path, seq.to_string().as_bytes(), 0o644).map_err(|source| {
            NodeError::Io {
                path: watermark_path.clone(),
                source,
            }
        })
    })
}

/// Records the versions a partner's push stored (every version after `after_seq` whose source
/// is that partner's), as received from it with the push's signature, or with none for a
/// push a plain TAXII client made unsigned. Returns how many it recorded.
pub(crate) fn record_pushed(
    store: &Store,
    ledger: &mut Ledger,
    partner: &str,
    after_seq: u64,
    signature_hex: &str,
) -> Result<usize, NodeError> {
    let source = format!("{PEER_SOURCE_PREFIX}{partner}");
    let selection = Selection {
        versions: VersionMatch::all(),
        sources: SourceFilter::Prefixed(source.clone()),
        ..Selection::default()
    };
    // `peer:bfv` also prefixes `peer:bfv2`.
    let received = |version: &StoredVersion| {
        (version.source == source).then(|| Entry::Received {
            recorded_at_unix_ms: now_ms(),
            peer: partner.to_string(),
            object_id: version.id.clone(),
            version: version_text(&version.canonical_json, version.date_added_micros),
            content_hash: version.content_hash_hex(),
            page_signature: signature_hex.to_string(),
        })
    };
    record_log(store, ledger, &selection, after_seq, received, |_| Ok(()))
}

/// Appends the entry `entry_of` makes of each version `selection` keeps after `after_seq`,
/// unless the ledger holds it already, a batch at a time; `committed` learns how far each
/// appended batch reached. Returns how many it appended.
///
/// The store is read on a helper thread one batch ahead of the appends: after a large import
/// both take about as long (reading back and naming 25,000 versions, and hashing, writing and
/// syncing their entries), and they share nothing but the batches handed over.
fn record_log(
    store: &Store,
    ledger: &mut Ledger,
    selection: &Selection,
    after_seq: u64,
    entry_of: impl Fn(&StoredVersion) -> Option<Entry> + Sync,
    mut committed: impl FnMut(u64) -> Result<(), NodeError>,
) -> Result<usize, NodeError> {
    std::thread::scope(|scope| {
        // One batch waits while the next is read: two at most in memory.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<LogBatch, NodeError>>(1);
        let entry_of = &entry_of;
        scope.spawn(move || {
            let mut after_seq = after_seq;
            loop {
                let batch = select_batch(store, selection, after_seq, entry_of);
                let next = batch
                    .as_ref()
                    .ok()
                    .filter(|batch| !batch.exhausted)
                    .and_then(|batch| batch.resume);
                let more = next.is_some();
                after_seq = next.unwrap_or(after_seq);
                // The receiver is gone once the appends failed; nothing more is wanted.
                if sender.send(batch).is_err() || !more {
                    return;
                }
            }
        });
        let mut recorded = 0;
        for batch in receiver {
            let batch = batch?;
            // Held entries are looked for here, just before the append, where the ledger is.
            let mut entries = Vec::with_capacity(batch.entries.len());
            for entry in batch.entries {
                if !holds(ledger, &entry)? {
                    entries.push(entry);
                }
            }
            if !entries.is_empty() {
                ledger.append_batch(&entries)?;
                recorded += entries.len();
            }
            if let Some(seq) = batch.resume {
                committed(seq)?;
            }
        }
        Ok(recorded)
    })
}

/// One batch of [`record_log`]'s entries, and where the walk of the log stopped.
struct LogBatch {
    entries: Vec<Entry>,
    resume: Option<u64>,
    exhausted: bool,
}

fn select_batch(
    store: &Store,
    selection: &Selection,
    after_seq: u64,
    entry_of: &(impl Fn(&StoredVersion) -> Option<Entry> + Sync),
) -> Result<LogBatch, NodeError> {
    let snapshot = store.snapshot()?;
    let mut selected = snapshot.select(selection, after_seq, RECORD_BATCH_MAX)?;
    let mut entries = Vec::new();
    let mut last_seq = None;
    for version in &mut selected {
        let version = version?;
        last_seq = Some(version.seq);
        entries.extend(entry_of(&version));
    }
    Ok(LogBatch {
        entries,
        resume: selected.resume_after().or(last_seq),
        exhausted: selected.exhausted(),
    })
}

/// Whether the ledger shows this version was released to `partner`.
pub(crate) fn released_to(
    ledger: &Ledger,
    partner: &str,
    id: &str,
    version: &str,
) -> Result<bool, NodeError> {
    for index in ledger.entry_indexes_for_object(id)? {
        if let Entry::Released {
            partner: p,
            version: v,
            ..
        } = ledger.entry(index)?
            && p == partner
            && v == version
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the ledger already holds an entry of the same kind for the same version.
pub(crate) fn holds(ledger: &Ledger, entry: &Entry) -> Result<bool, NodeError> {
    let Some(id) = entry.object_id() else {
        return Ok(false);
    };
    for index in ledger.entry_indexes_for_object(id)?.into_iter().rev() {
        if same_record(&ledger.entry(index)?, entry) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn same_record(held: &Entry, new: &Entry) -> bool {
    match (held, new) {
        (
            Entry::Created {
                version: a,
                content_hash: ha,
                ..
            },
            Entry::Created {
                version: b,
                content_hash: hb,
                ..
            },
        ) => a == b && ha == hb,
        (
            Entry::Received {
                peer: pa,
                version: a,
                content_hash: ha,
                ..
            },
            Entry::Received {
                peer: pb,
                version: b,
                content_hash: hb,
                ..
            },
        ) => pa == pb && a == b && ha == hb,
        _ => false,
    }
}
