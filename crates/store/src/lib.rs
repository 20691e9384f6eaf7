//! Tessera's embedded store: every STIX object version a node holds, in one data directory.
//!
//! Ground state is the log of versions, keyed by a sequence number that grows with the
//! node-local `date_added`. Version bodies live in an append-only file (`versions.dat`); the
//! redb database (`store.redb`) maps each sequence number to its body and holds everything
//! derived from it (the (id, modified) key, the latest view, and the indexes by type, name,
//! time and reference edge), written in the same transaction that makes the body visible, so
//! the two can never disagree; [`Store::verify`] checks that they do not.
//!
//! Architecture invariant: the store knows nothing of HTTP, TAXII or release policy. It answers
//! "what do I hold", never "what may this partner see"; that question belongs to `policy`.

mod datafile;
mod edges;
mod import;
mod prepare;
pub mod query;
mod record;

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use edges::target_hash;

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};

pub use edges::EncodedEdges;
pub use import::{
    BundleInput, ImportError, ImportOptions, ImportProgress, ImportReport, ObjectProblem,
    import_bundle,
};
pub use prepare::{PreparedVersion, UNVERSIONED, fold_name};
pub use record::StoredVersion;

/// The file inside the data directory that holds the indexes.
pub const STORE_FILE: &str = "store.redb";
/// The append-only file of version bodies.
pub const BODIES_FILE: &str = "versions.dat";

/// Largest page a single scan returns; callers page with the returned cursor.
pub const PAGE_LIMIT_MAX: usize = 10_000;

// Keys are fixed-width integers wherever they can be: they compare without memcmp over long
// shared prefixes such as "relationship--", which dominated bulk imports when keyed by text.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// seq -> (offset, length) of the body in `versions.dat`, and its date_added in microseconds.
/// Both seq and date_added strictly increase, so `added_after` is a binary search here rather
/// than a second index.
const VERSIONS: TableDefinition<u64, (u64, u32, i64)> = TableDefinition::new("versions");
/// (id, version in Unix nanoseconds) -> (seq, content hash).
const VERSION_KEYS: TableDefinition<(&str, i128), (u64, [u8; 32])> =
    TableDefinition::new("version_keys");
const BY_TYPE: TableDefinition<(&str, u64), ()> = TableDefinition::new("by_type");
/// seq -> the version's edges, `property\0target\0...`.
const REFS_OUT: TableDefinition<u64, &[u8]> = TableDefinition::new("refs_out");
/// (hash of the target id, first seq) -> the edges into targets of that hash from one slice of
/// a batch, in seq order (see [`encode_incoming`]). One entry per target and slice rather than
/// per edge: almost every object refers to its creator and its marking, so per-edge keys made
/// this the largest index and its inserts the largest cost of an import. The hash keeps keys
/// fixed-width; the targets in the value settle the (rare) collisions.
const REFS_IN: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("refs_in");
const NAMES: TableDefinition<(&str, u64), ()> = TableDefinition::new("names");
/// (time property code, nanoseconds, seq).
const TIMES: TableDefinition<(u8, i128, u64), ()> = TableDefinition::new("times");
const BATCHES: TableDefinition<u64, (u64, u64)> = TableDefinition::new("batches");

const META_NEXT_SEQ: &str = "next_seq";
const META_LAST_ADDED: &str = "last_date_added_micros";
const META_NEXT_BATCH: &str = "next_batch";
const META_BODIES_LEN: &str = "bodies_len";
const META_SCHEMA: &str = "schema_version";
/// 3: the incoming-edge index holds one entry per target and slice of a batch.
const SCHEMA_VERSION: u64 = 3;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no store at {0}: run `tessera --data-dir {0} init` first")]
    NotInitialised(PathBuf),
    #[error("{0} already holds a store")]
    AlreadyInitialised(PathBuf),
    #[error("the store at {0} is open in another process (is `tessera serve` running on it?)")]
    InUse(PathBuf),
    #[error(
        "the store's layout is schema {found} and this build reads schema {SCHEMA_VERSION}: {}",
        if *found > SCHEMA_VERSION {
            "it was written by a newer Tessera"
        } else {
            "it was written by an older Tessera; export it with that version and import the bundle into a new store"
        }
    )]
    Schema { found: u64 },
    #[error("IO error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] redb::Error),
    #[error("stored version {seq} is corrupt: {message}")]
    Corrupt { seq: u64, message: String },
    #[error("page limit {requested} is above the maximum of {PAGE_LIMIT_MAX}")]
    PageLimit { requested: usize },
}

fn dbe<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Database(e.into())
}

/// What happened to one version offered to [`Store::write_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Written {
        seq: u64,
    },
    /// The same (id, modified) with the same content is already held: a no-op.
    Duplicate {
        seq: u64,
    },
    /// The same (id, modified) is held with different content. Never overwritten.
    Conflict {
        seq: u64,
        stored_hash: [u8; 32],
    },
}

/// What the store says about an (id, version) before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Absent,
    Same { seq: u64 },
    Different { seq: u64, stored_hash: [u8; 32] },
}

/// Counts for `tessera stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub versions: u64,
    pub objects: u64,
    pub objects_by_type: BTreeMap<String, u64>,
    pub batches: u64,
    pub reference_edges: u64,
    pub last_date_added_micros: Option<i64>,
    pub file_bytes: u64,
}

/// A filter over the log of versions, for export and (later) TAXII.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Only versions with a sequence number above this (a cursor from a previous page).
    pub after_seq: u64,
    /// Only versions added strictly after this instant.
    pub added_after_micros: Option<i64>,
    /// Only these types (empty: all).
    pub types: Vec<String>,
    /// Only each object's latest version.
    pub latest_only: bool,
    /// Only versions whose time property falls in this window, found through the time index
    /// and given in time order (then seq order) rather than in the log's order.
    pub time: Option<TimeWindow>,
    /// With `time`: only versions after this point of the window (a cursor from a previous
    /// page, [`Page::next_after_time`]).
    pub after_time: Option<(i128, u64)>,
    pub limit: usize,
}

/// A window on one time property of the objects (`modified`, `valid_from`, `first_seen` ...),
/// both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    /// The property's code: its position in [`stix::object::TIME_PROPERTIES`].
    pub property: u8,
    /// Nanoseconds since the Unix epoch.
    pub from_nanos: i128,
    pub to_nanos: i128,
}

impl TimeWindow {
    /// A window on the property named `property`, or why there can be none.
    pub fn new(property: &str, from_nanos: i128, to_nanos: i128) -> Result<TimeWindow, String> {
        let code = stix::object::TIME_PROPERTIES
            .iter()
            .position(|p| *p == property)
            .ok_or_else(|| {
                format!(
                    "{property:?} is not an indexed time property (one of: {})",
                    stix::object::TIME_PROPERTIES.join(", ")
                )
            })?;
        if from_nanos > to_nanos {
            return Err("the window ends before it begins".into());
        }
        Ok(TimeWindow {
            property: code as u8,
            from_nanos,
            to_nanos,
        })
    }
}

/// One page of a scan.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub versions: Vec<StoredVersion>,
    /// Pass as `after_seq` to continue; `None` when the scan is complete.
    pub next_after_seq: Option<u64>,
    /// For a scan of a [`TimeWindow`]: pass as `after_time` to continue; `None` when the scan
    /// is complete.
    pub next_after_time: Option<(i128, u64)>,
}

/// What [`Store::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub versions_checked: u64,
    pub batches: u64,
    pub versions_in_batches: u64,
    /// Entries held by the indexes over the versions (location, key, type, name, time and
    /// both edge indexes): what a batch of versions costs the writer.
    pub index_entries: u64,
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The embedded store of one node.
pub struct Store {
    db: Database,
    bodies: datafile::DataFile,
    path: PathBuf,
    /// Bytes of a torn tail cut from `versions.dat` when the store was opened.
    recovered_bytes: u64,
}

impl Store {
    /// Creates a new, empty store in `dir` (created if missing).
    pub fn init(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(STORE_FILE);
        if path.exists() {
            return Err(StoreError::AlreadyInitialised(dir.to_path_buf()));
        }
        let bodies = datafile::DataFile::create(&dir.join(BODIES_FILE))?;
        let db = database_builder()
            .create(&path)
            .map_err(|e| open_error(e, dir))?;
        let txn = db.begin_write().map_err(db_err)?;
        {
            let mut meta = txn.open_table(META).map_err(dbe)?;
            meta.insert(META_SCHEMA, SCHEMA_VERSION).map_err(dbe)?;
            meta.insert(META_BODIES_LEN, datafile::MAGIC.len() as u64)
                .map_err(dbe)?;
            meta.insert(META_NEXT_SEQ, 1).map_err(dbe)?;
            meta.insert(META_NEXT_BATCH, 1).map_err(dbe)?;
            // Every table exists from the start, so readers never meet a missing table.
            txn.open_table(VERSIONS).map_err(dbe)?;
            txn.open_table(VERSION_KEYS).map_err(dbe)?;
            txn.open_table(BY_TYPE).map_err(dbe)?;
            txn.open_table(REFS_OUT).map_err(dbe)?;
            txn.open_table(REFS_IN).map_err(dbe)?;
            txn.open_table(NAMES).map_err(dbe)?;
            txn.open_table(TIMES).map_err(dbe)?;
            txn.open_table(BATCHES).map_err(dbe)?;
        }
        txn.commit().map_err(dbe)?;
        Ok(Store {
            db,
            bodies,
            path,
            recovered_bytes: 0,
        })
    }

    /// Opens the store in `dir`. A store left by a killed process opens cleanly: redb
    /// recovers to the last committed transaction.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, CACHE_BYTES)
    }

    /// Opens the store as [`Store::open`] does, with `cache_bytes` of redb page cache instead
    /// of [`CACHE_BYTES`]: a server looking up the ids a page refers to, scattered over a large
    /// key index, reads each index page from the file again once a small cache dropped it.
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        let path = dir.join(STORE_FILE);
        if !path.exists() {
            return Err(StoreError::NotInitialised(dir.to_path_buf()));
        }
        let mut builder = database_builder();
        builder.set_cache_size(cache_bytes);
        let db = builder.open(&path).map_err(|e| open_error(e, dir))?;
        let (schema, bodies_len) = {
            let txn = db.begin_read().map_err(dbe)?;
            let meta = txn.open_table(META).map_err(dbe)?;
            let get = |key| {
                meta.get(key)
                    .map(|v| v.map_or(0, |v| v.value()))
                    .map_err(dbe)
            };
            (get(META_SCHEMA)?, get(META_BODIES_LEN)?)
        };
        if schema != SCHEMA_VERSION {
            return Err(StoreError::Schema { found: schema });
        }
        let (bodies, recovered_bytes) =
            datafile::DataFile::open(&dir.join(BODIES_FILE), bodies_len)?;
        Ok(Store {
            db,
            bodies,
            path,
            recovered_bytes,
        })
    }

    /// Bytes of an uncommitted tail (left by a killed process) that opening cut off.
    pub fn recovered_bytes(&self) -> u64 {
        self.recovered_bytes
    }

    /// The path of the store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        self.db.begin_read().map_err(dbe)
    }

    /// Marks the current state so that [`Store::roll_back`] can return to it: how a bundle
    /// rejected after some of its batches were written leaves the store as it was.
    ///
    /// Rolling back also undoes what other writers committed after the mark, so a caller holds
    /// the mark only while it is the node's one writer (an import).
    pub fn mark(&self) -> Result<Mark, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let savepoint = txn.ephemeral_savepoint().map_err(dbe)?;
        txn.commit().map_err(dbe)?;
        Ok(Mark(savepoint))
    }

    /// Returns the store to a [`Mark`], durably, and cuts the bodies written since.
    pub fn roll_back(&self, mark: Mark) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.restore_savepoint(&mark.0).map_err(dbe)?;
        let bodies_len = {
            let meta = txn.open_table(META).map_err(dbe)?;
            meta.get(META_BODIES_LEN).map_err(dbe)?.map(|v| v.value())
        };
        txn.commit().map_err(dbe)?;
        if let Some(len) = bodies_len {
            self.bodies.truncate(len)?;
        }
        Ok(())
    }

    /// Opens a reusable reader for many presence checks (one snapshot, no per-call transaction).
    pub fn presence_checker(&self) -> Result<PresenceChecker, StoreError> {
        let txn = self.read()?;
        let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        Ok(PresenceChecker { keys })
    }

    /// Writes a batch of versions durably: the bodies are appended and synced, then one index
    /// transaction commits. All of it is on disk when this returns, or none of it is visible.
    /// Duplicates are skipped, conflicts reported and never written.
    pub fn write_batch(
        &self,
        batch: &[PreparedVersion],
        source: &str,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut writer = self.begin_batch()?;
        let outcomes = writer.add(batch, source)?;
        writer.commit()?;
        Ok(outcomes)
    }

    /// Opens a batch that versions are added to a slice at a time and that becomes visible,
    /// whole and durably, when [`BatchWriter::commit`] returns. Bodies go to `versions.dat` as
    /// they are added (beyond the committed length, where a crash or a dropped batch leaves
    /// only a tail that is cut), so a batch holds its index entries in memory, not its bodies.
    pub fn begin_batch(&self) -> Result<BatchWriter<'_>, StoreError> {
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.set_durability(redb::Durability::Immediate)
            .map_err(dbe)?;
        let (next_seq, last_added, batch_no, bodies_start) = {
            let meta = txn.open_table(META).map_err(dbe)?;
            let get = |key: &str| meta.get(key).map(|v| v.map(|v| v.value())).map_err(dbe);
            (
                get(META_NEXT_SEQ)?.unwrap_or(1),
                get(META_LAST_ADDED)?.map_or(i64::MIN, |v| v as i64),
                get(META_NEXT_BATCH)?.unwrap_or(1),
                get(META_BODIES_LEN)?.ok_or(StoreError::Corrupt {
                    seq: 0,
                    message: "the bodies length is missing".into(),
                })?,
            )
        };
        Ok(BatchWriter {
            store: self,
            txn: Some(txn),
            first_seq: next_seq,
            next_seq,
            last_added,
            batch_no,
            bodies_start,
            bodies_end: bodies_start,
            records: Vec::new(),
        })
    }

    fn read_version(&self, txn: &ReadTransaction, seq: u64) -> Result<StoredVersion, StoreError> {
        let versions = txn.open_table(VERSIONS).map_err(dbe)?;
        let (offset, length, _) = versions
            .get(seq)
            .map_err(dbe)?
            .ok_or(StoreError::Corrupt {
                seq,
                message: "an index points at a missing version".into(),
            })?
            .value();
        record::decode(seq, &self.bodies.read(offset, length)?)
    }

    /// The latest version of an object.
    pub fn get(&self, id: &str) -> Result<Option<StoredVersion>, StoreError> {
        let txn = self.read()?;
        let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let withdrawn = Withdrawn::open(&txn)?;
        let Some(seq) = latest_seq(&keys, &withdrawn, id)? else {
            return Ok(None);
        };
        self.read_version(&txn, seq).map(Some)
    }

    /// Every version of an object, oldest first.
    pub fn versions(&self, id: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let txn = self.read()?;
        let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let withdrawn = Withdrawn::open(&txn)?;
        let mut out = Vec::new();
        for entry in keys.range((id, i128::MIN)..=(id, i128::MAX)).map_err(dbe)? {
            let seq = entry.map_err(dbe)?.1.value().0;
            if !withdrawn.contains(seq)? {
                out.push(self.read_version(&txn, seq)?);
            }
        }
        Ok(out)
    }

    /// Versions that reference `target`, as (property paths, version), at most `limit`.
    pub fn referrers(
        &self,
        target: &str,
        limit: usize,
    ) -> Result<Vec<(Vec<String>, StoredVersion)>, StoreError> {
        let txn = self.read()?;
        let refs_in = txn.open_table(REFS_IN).map_err(dbe)?;
        let hash = target_hash(target);
        let mut out = Vec::new();
        for entry in refs_in
            .range((hash, 0u64)..=(hash, u64::MAX))
            .map_err(dbe)?
        {
            let (key, value) = entry.map_err(dbe)?;
            let first_seq = key.value().1;
            for edge in decode_incoming(first_seq, value.value())? {
                if edge.target != target {
                    continue;
                }
                let properties = edge.properties.into_iter().map(Cow::into_owned).collect();
                out.push((properties, self.read_version(&txn, edge.seq)?));
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// The edges of one version, as (property path, target id).
    pub fn references_of(&self, seq: u64) -> Result<Vec<(String, String)>, StoreError> {
        let txn = self.read()?;
        let refs_out = txn.open_table(REFS_OUT).map_err(dbe)?;
        match refs_out.get(seq).map_err(dbe)? {
            Some(bytes) => edges::decode_list(bytes.value()).ok_or_else(|| damaged_refs(seq)),
            None => Ok(Vec::new()),
        }
    }

    /// Latest versions whose name or alias folds to `name`.
    pub fn find_by_name(&self, name: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let folded = fold_name(name);
        let txn = self.read()?;
        let names = txn.open_table(NAMES).map_err(dbe)?;
        let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let withdrawn = Withdrawn::open(&txn)?;
        let mut out = Vec::new();
        for entry in names
            .range((folded.as_str(), 0u64)..=(folded.as_str(), u64::MAX))
            .map_err(dbe)?
        {
            let (key, _) = entry.map_err(dbe)?;
            let version = self.read_version(&txn, key.value().1)?;
            if latest_seq(&keys, &withdrawn, &version.id)? == Some(version.seq) {
                out.push(version);
            }
        }
        Ok(out)
    }

    /// One page of versions in the order they were added.
    pub fn scan(&self, scan: &Scan) -> Result<Page, StoreError> {
        if scan.limit > PAGE_LIMIT_MAX {
            return Err(StoreError::PageLimit {
                requested: scan.limit,
            });
        }
        let txn = self.read()?;
        let mut start = scan.after_seq.saturating_add(1);
        if let Some(after) = scan.added_after_micros {
            let versions = txn.open_table(VERSIONS).map_err(dbe)?;
            match first_added_after(&versions, after)? {
                Some(seq) => start = start.max(seq),
                None => return Ok(Page::default()),
            }
        }
        let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let withdrawn = Withdrawn::open(&txn)?;
        let mut out = Vec::new();
        let mut last_seen = None;
        let mut push =
            |version: StoredVersion, out: &mut Vec<StoredVersion>| -> Result<bool, StoreError> {
                last_seen = Some(version.seq);
                let shown = if scan.latest_only {
                    latest_seq(&keys, &withdrawn, &version.id)? == Some(version.seq)
                } else {
                    !withdrawn.contains(version.seq)?
                };
                if shown {
                    out.push(version);
                }
                Ok(out.len() >= scan.limit)
            };
        let mut last_time = None;
        if let Some(window) = &scan.time {
            // The time index orders entries by (property, instant, seq), so a cursor of
            // (instant, seq) resumes exactly where the last page stopped.
            let times = txn.open_table(TIMES).map_err(dbe)?;
            let by_type = txn.open_table(BY_TYPE).map_err(dbe)?;
            let first = match scan.after_time {
                Some((nanos, seq)) => (window.property, nanos, seq.saturating_add(1)),
                None => (window.property, window.from_nanos, 0),
            };
            let last = (window.property, window.to_nanos, u64::MAX);
            if first <= last {
                for entry in times.range(first..=last).map_err(dbe)? {
                    let (_, nanos, seq) = entry.map_err(dbe)?.0.value();
                    last_time = Some((nanos, seq));
                    if seq < start {
                        continue;
                    }
                    // The type index says whether a version is wanted without reading its
                    // body, which may be a 200 KB collection.
                    let wanted = scan.types.is_empty() || is_of_type(&by_type, &scan.types, seq)?;
                    if wanted && push(self.read_version(&txn, seq)?, &mut out)? {
                        break;
                    }
                }
            }
        } else if scan.types.is_empty() {
            let versions = txn.open_table(VERSIONS).map_err(dbe)?;
            for entry in versions.range(start..).map_err(dbe)? {
                let (seq, location) = entry.map_err(dbe)?;
                let (offset, length, _) = location.value();
                if push(
                    record::decode(seq.value(), &self.bodies.read(offset, length)?)?,
                    &mut out,
                )? {
                    break;
                }
            }
        } else {
            // Candidates in seq order: the union of the per-type index ranges.
            let by_type = txn.open_table(BY_TYPE).map_err(dbe)?;
            let mut seqs = Vec::new();
            for object_type in &scan.types {
                for entry in by_type
                    .range((object_type.as_str(), start)..=(object_type.as_str(), u64::MAX))
                    .map_err(dbe)?
                {
                    seqs.push(entry.map_err(dbe)?.0.value().1);
                    if !scan.latest_only && seqs.len() >= scan.limit * scan.types.len() {
                        break;
                    }
                }
            }
            seqs.sort_unstable();
            for seq in seqs {
                if push(self.read_version(&txn, seq)?, &mut out)? {
                    break;
                }
            }
        }
        let full = out.len() >= scan.limit;
        let (next_after_seq, next_after_time) = match &scan.time {
            Some(_) => (None, last_time.filter(|_| full)),
            None => (last_seen.filter(|_| full), None),
        };
        Ok(Page {
            versions: out,
            next_after_seq,
            next_after_time,
        })
    }

    /// Counts for operators.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let txn = self.read()?;
        let mut stats = Stats {
            versions: txn.open_table(VERSIONS).map_err(dbe)?.len().map_err(dbe)?,
            objects: 0,
            batches: txn.open_table(BATCHES).map_err(dbe)?.len().map_err(dbe)?,
            reference_edges: 0,
            ..Stats::default()
        };
        for entry in txn.open_table(REFS_OUT).map_err(dbe)?.iter().map_err(dbe)? {
            let (seq, bytes) = entry.map_err(dbe)?;
            stats.reference_edges +=
                edges::count_list(bytes.value()).ok_or_else(|| damaged_refs(seq.value()))?;
        }
        // Versions of one id are adjacent in the key order, so distinct ids are counted by
        // comparing each key with the previous one.
        let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let mut previous = String::new();
        for entry in keys.iter().map_err(dbe)? {
            let (key, _) = entry.map_err(dbe)?;
            let id = key.value().0;
            if id != previous {
                stats.objects += 1;
                let object_type = stix::id::type_of(id).unwrap_or("?").to_string();
                *stats.objects_by_type.entry(object_type).or_default() += 1;
                previous.clear();
                previous.push_str(id);
            }
        }
        let meta = txn.open_table(META).map_err(dbe)?;
        stats.last_date_added_micros = meta
            .get(META_LAST_ADDED)
            .map_err(dbe)?
            .map(|v| v.value() as i64);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        stats.file_bytes = [STORE_FILE, BODIES_FILE]
            .iter()
            .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
            .sum();
        Ok(stats)
    }

    /// Re-reads every version and checks it against its hash and against every index entry
    /// derived from it, and that the committed batches account for every version.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let txn = self.read()?;
        let mut report = VerifyReport::default();
        let versions = txn.open_table(VERSIONS).map_err(dbe)?;
        let version_keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let by_type = txn.open_table(BY_TYPE).map_err(dbe)?;
        let refs_in = txn.open_table(REFS_IN).map_err(dbe)?;
        let refs_out = txn.open_table(REFS_OUT).map_err(dbe)?;
        let names = txn.open_table(NAMES).map_err(dbe)?;
        let times = txn.open_table(TIMES).map_err(dbe)?;
        let batches = txn.open_table(BATCHES).map_err(dbe)?;
        // What the versions call for in each index: an index holding more than that holds
        // entries no version accounts for.
        let mut expected = IndexCounts::default();
        // Incoming-edge entries decoded so far, by key: an entry holds the edges of one target
        // from a whole slice of versions, and the versions are checked in seq order, so each is
        // decoded about once instead of once per edge it holds (6 s for ATT&CK before).
        let mut groups = DecodedIncoming::default();
        // The versions are walked in seq order, which is their order in the file.
        let mut ahead = datafile::ReadAhead::default();
        let problems = &mut report.problems;
        let mut note = |problem: String| {
            if problems.len() < 1000 {
                problems.push(problem);
            }
        };
        let mut previous_added = i64::MIN;
        for entry in versions.iter().map_err(dbe)? {
            let (seq, location) = entry.map_err(dbe)?;
            let seq = seq.value();
            let (offset, length, date_added) = location.value();
            report.versions_checked += 1;
            let version = match ahead
                .get(&self.bodies, offset, length)
                .and_then(|bytes| record::decode(seq, bytes))
            {
                Ok(v) => v,
                Err(e) => {
                    note(e.to_string());
                    continue;
                }
            };
            if version.date_added_micros <= previous_added {
                note(format!("version {seq}: date_added goes backwards"));
            }
            previous_added = version.date_added_micros;
            if stix::content_hash(&version.canonical_json) != version.content_hash {
                note(format!(
                    "version {seq} ({}): content does not match its hash",
                    version.id
                ));
            }
            let object = match version.object() {
                Ok(o) => o,
                Err(e) => {
                    note(e.to_string());
                    continue;
                }
            };
            let prepared = PreparedVersion::from_object(&object);
            if prepared.id != version.id {
                note(format!(
                    "version {seq}: record id {} differs from the object's id {}",
                    version.id, prepared.id
                ));
            }
            match version_keys
                .get((prepared.id.as_str(), prepared.version))
                .map_err(dbe)?
                .map(|v| v.value())
            {
                Some((indexed, hash)) if indexed == seq && hash == version.content_hash => {}
                _ => note(format!(
                    "version {seq} ({}): missing or wrong in the (id, modified) index",
                    prepared.id
                )),
            }
            if by_type
                .get((prepared.object_type.as_str(), seq))
                .map_err(dbe)?
                .is_none()
            {
                note(format!(
                    "version {seq} ({}): missing from the type index",
                    prepared.id
                ));
            }
            if date_added != version.date_added_micros {
                note(format!(
                    "version {seq} ({}): date_added differs between the index and the body",
                    prepared.id
                ));
            }
            expected.keys += 1;
            expected.typed += 1;
            expected.named += prepared.names.len() as u64;
            expected.timed += prepared.times.len() as u64;
            expected.outgoing += u64::from(!prepared.edges.is_empty());
            for name in &prepared.names {
                if names.get((name.as_str(), seq)).map_err(dbe)?.is_none() {
                    note(format!(
                        "version {seq} ({}): name {name:?} missing from the name index",
                        prepared.id
                    ));
                }
            }
            for &(property, nanos) in &prepared.times {
                if times.get((property, nanos, seq)).map_err(dbe)?.is_none() {
                    let name = stix::object::TIME_PROPERTIES
                        .get(usize::from(property))
                        .copied()
                        .unwrap_or("?");
                    note(format!(
                        "version {seq} ({}): {name} missing from the time index",
                        prepared.id
                    ));
                }
            }
            // A damaged value reads as no edges, and differs like any other wrong one.
            let out_edges = match refs_out.get(seq).map_err(dbe)? {
                Some(bytes) => edges::decode_list(bytes.value()).unwrap_or_default(),
                None => Vec::new(),
            };
            let references = prepared.edges.decode();
            if out_edges != references {
                note(format!(
                    "version {seq} ({}): the outgoing edge index differs from the object",
                    prepared.id
                ));
            }
            for (property, target) in &references {
                // The entry holding this seq's edges is the last one that starts at or before it.
                let hash = target_hash(target);
                let group = refs_in
                    .range((hash, 0u64)..=(hash, seq))
                    .map_err(dbe)?
                    .next_back()
                    .transpose()
                    .map_err(dbe)?;
                let found = match group {
                    Some((key, value)) => groups
                        .edges(key.value(), value.value())?
                        .of_seq(seq)
                        .any(|edge| {
                            edge.target == target.as_str()
                                && edge.properties.iter().any(|p| p == property.as_str())
                        }),
                    None => false,
                };
                if !found {
                    note(format!(
                        "version {seq} ({}): edge {property} -> {target} missing from the reference index",
                        prepared.id
                    ));
                }
            }
        }
        // Two versions of one (id, version) key cannot both be held, so the key index has
        // exactly one entry per version, as the type index does.
        let held = [
            (
                "(id, modified)",
                version_keys.len().map_err(dbe)?,
                expected.keys,
            ),
            ("type", by_type.len().map_err(dbe)?, expected.typed),
            ("name", names.len().map_err(dbe)?, expected.named),
            ("time", times.len().map_err(dbe)?, expected.timed),
            (
                "outgoing edge",
                refs_out.len().map_err(dbe)?,
                expected.outgoing,
            ),
        ];
        report.index_entries = held.iter().map(|(_, found, _)| found).sum::<u64>()
            + versions.len().map_err(dbe)?
            + refs_in.len().map_err(dbe)?;
        for (index, found, wanted) in held {
            if found != wanted {
                note(format!(
                    "entries in the {index} index: {found}, where the versions account for {wanted}"
                ));
            }
        }
        for entry in batches.iter().map_err(dbe)? {
            let (_, value) = entry.map_err(dbe)?;
            report.batches += 1;
            report.versions_in_batches += value.value().1;
        }
        if report.versions_in_batches != report.versions_checked {
            report.problems.push(format!(
                "committed batches account for {} versions but the log holds {}",
                report.versions_in_batches, report.versions_checked
            ));
        }
        Ok(report)
    }
}

/// Whether version `seq` is of one of `types`, by the type index.
fn is_of_type(
    by_type: &redb::ReadOnlyTable<(&'static str, u64), ()>,
    types: &[String],
    seq: u64,
) -> Result<bool, StoreError> {
    for object_type in types {
        if by_type
            .get((object_type.as_str(), seq))
            .map_err(dbe)?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Entries each index should hold, as [`Store::verify`] counts them from the versions.
#[derive(Default)]
struct IndexCounts {
    keys: u64,
    typed: u64,
    named: u64,
    timed: u64,
    outgoing: u64,
}

/// A batch being written (see [`Store::begin_batch`]). Dropped without a commit, nothing of it
/// becomes visible.
pub struct BatchWriter<'s> {
    store: &'s Store,
    /// `None` once committed.
    txn: Option<redb::WriteTransaction>,
    first_seq: u64,
    next_seq: u64,
    last_added: i64,
    batch_no: u64,
    /// Where this batch's bodies begin and end in `versions.dat`.
    bodies_start: u64,
    bodies_end: u64,
    /// The records of one `add`, reused so that a batch allocates its buffer once.
    records: Vec<u8>,
}

impl BatchWriter<'_> {
    /// Versions this batch writes (duplicates and conflicts excluded).
    pub fn written(&self) -> u64 {
        self.next_seq - self.first_seq
    }

    /// Adds versions to the batch. Duplicates (of what is held or of what this batch already
    /// added) are skipped, conflicts reported and never written.
    pub fn add(
        &mut self,
        batch: &[PreparedVersion],
        source: &str,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let txn = self.txn.as_ref().ok_or(StoreError::Corrupt {
            seq: 0,
            message: "a version added to a committed batch".into(),
        })?;
        let now_micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut versions = txn.open_table(VERSIONS).map_err(dbe)?;
        let mut version_keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let mut by_type = txn.open_table(BY_TYPE).map_err(dbe)?;
        let mut refs_out = txn.open_table(REFS_OUT).map_err(dbe)?;
        let mut refs_in = txn.open_table(REFS_IN).map_err(dbe)?;
        let mut names = txn.open_table(NAMES).map_err(dbe)?;
        let mut times = txn.open_table(TIMES).map_err(dbe)?;

        let records_start = self.bodies_end;
        self.records.clear();
        // Index entries are gathered and inserted in key order after the loop: B-tree
        // inserts in order touch each leaf once instead of jumping across the tree.
        let mut incoming: Vec<IncomingEdge<'_>> = Vec::new();
        let mut timed: Vec<(u8, i128, u64)> = Vec::new();
        let mut typed: Vec<(&str, u64)> = Vec::new();
        let mut named: Vec<(&str, u64)> = Vec::new();
        let mut keyed: Vec<(IdVersion<'_>, (u64, [u8; 32]))> = Vec::with_capacity(batch.len());
        let mut located: Vec<(u64, (u64, u32, i64))> = Vec::with_capacity(batch.len());

        // What the store holds of each key (this transaction's own inserts included), read in
        // key order like the inserts below (the ids are random, so in bundle order every read
        // would land on another page).
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_unstable_by(|&a, &b| key_of(&batch[a]).cmp(&key_of(&batch[b])));
        let mut held: Vec<Option<(u64, [u8; 32])>> = vec![None; batch.len()];
        for &i in &order {
            held[i] = version_keys
                .get(key_of(&batch[i]))
                .map_err(dbe)?
                .map(|v| v.value());
        }
        // A key offered twice in one slice: the later one meets what the earlier one wrote.
        let repeated = order
            .windows(2)
            .any(|pair| key_of(&batch[pair[0]]) == key_of(&batch[pair[1]]));
        let mut written_here: HashMap<IdVersion<'_>, (u64, [u8; 32])> = HashMap::new();

        for (i, version) in batch.iter().enumerate() {
            let existing = held[i].or_else(|| {
                if repeated {
                    written_here.get(&key_of(version)).copied()
                } else {
                    None
                }
            });
            if let Some((seq, stored_hash)) = existing {
                outcomes.push(if stored_hash == version.content_hash {
                    WriteOutcome::Duplicate { seq }
                } else {
                    WriteOutcome::Conflict { seq, stored_hash }
                });
                continue;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            // date_added strictly increases, so it orders versions exactly as seq does and a
            // TAXII client paging by added_after can never skip a version that shares an instant.
            let date_added = now_micros.max(self.last_added.saturating_add(1));
            self.last_added = date_added;

            let offset = records_start + self.records.len() as u64;
            record::encode_into(
                &mut self.records,
                date_added,
                &version.content_hash,
                source,
                &version.id,
                &version.canonical_json,
            );
            let length = u32::try_from(records_start + self.records.len() as u64 - offset)
                .map_err(|_| StoreError::Corrupt {
                    seq,
                    message: "a version body over 4 GiB".into(),
                })?;
            located.push((seq, (offset, length, date_added)));
            keyed.push((key_of(version), (seq, version.content_hash)));
            if repeated {
                written_here.insert(key_of(version), (seq, version.content_hash));
            }
            typed.push((version.object_type.as_str(), seq));
            if !version.edges.is_empty() {
                refs_out.insert(seq, version.edges.value()).map_err(dbe)?;
                incoming.extend(
                    version
                        .edges
                        .incoming()
                        .map(|(hash, target, property)| (hash, seq, target, property)),
                );
            }
            named.extend(version.names.iter().map(|name| (name.as_str(), seq)));
            timed.extend(
                version
                    .times
                    .iter()
                    .map(|(property, nanos)| (*property, *nanos, seq)),
            );
            outcomes.push(WriteOutcome::Written { seq });
        }
        // The bodies go out now, unsynced (nothing points at them until the commit, which
        // syncs them first), on a helper thread while this one fills the indexes: the writer
        // is the slowest stage of a bulk import, and the copy into the page cache (about 20 ms
        // of enterprise ATT&CK's import) need not wait for it.
        let bodies = &self.store.bodies;
        let records = &self.records;
        let written = std::thread::scope(|scope| {
            let writing = (!records.is_empty()).then(|| {
                scope.spawn(move || -> Result<(), StoreError> {
                    bodies.write_at(records_start, records)?;
                    // Written out while the batch goes on, the bodies leave the commit's sync
                    // little to wait for (33 to 53 ms for enterprise ATT&CK's 35 MB at the
                    // end, 0.4 ms so).
                    bodies.start_writeback(records_start, records.len() as u64);
                    Ok(())
                })
            });
            let inserted = insert_index_entries(
                IndexTables {
                    versions: &mut versions,
                    version_keys: &mut version_keys,
                    by_type: &mut by_type,
                    refs_in: &mut refs_in,
                    names: &mut names,
                    times: &mut times,
                },
                IndexEntries {
                    located,
                    keyed,
                    incoming,
                    timed,
                    typed,
                    named,
                },
            );
            let bodies_written = writing.map_or(Ok(()), |writing| {
                writing.join().unwrap_or_else(|_| {
                    Err(StoreError::Corrupt {
                        seq: 0,
                        message: "the thread writing version bodies panicked".into(),
                    })
                })
            });
            inserted.and(bodies_written)
        });
        written?;
        self.bodies_end = records_start + self.records.len() as u64;
        Ok(outcomes)
    }

    /// Makes the batch visible, durably: the bodies are synced, then the index transaction
    /// that points at them commits. All of it is on disk when this returns, or none of it is
    /// visible.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let Some(txn) = self.txn.take() else {
            return Ok(());
        };
        let written = self.written();
        if written > 0 {
            // The bodies reach the disk before the transaction that points at them commits.
            self.store.bodies.sync()?;
            let mut meta = txn.open_table(META).map_err(dbe)?;
            let mut batches = txn.open_table(BATCHES).map_err(dbe)?;
            batches
                .insert(self.batch_no, (self.first_seq, written))
                .map_err(dbe)?;
            meta.insert(META_NEXT_BATCH, self.batch_no + 1)
                .map_err(dbe)?;
            meta.insert(META_NEXT_SEQ, self.next_seq).map_err(dbe)?;
            meta.insert(META_LAST_ADDED, self.last_added as u64)
                .map_err(dbe)?;
            meta.insert(META_BODIES_LEN, self.bodies_end).map_err(dbe)?;
        }
        txn.commit().map_err(dbe)?;
        Ok(())
    }
}

impl Drop for BatchWriter<'_> {
    fn drop(&mut self) {
        // The transaction is held until the cut is done, so no other batch can begin writing
        // bodies at the same offset meanwhile.
        if let Some(txn) = self.txn.take() {
            if self.bodies_end > self.bodies_start {
                // An abandoned batch: its bodies are an uncommitted tail. Cutting it now keeps
                // the file tidy; if this fails, the next open cuts it.
                let _ = self.store.bodies.truncate(self.bodies_start);
            }
            drop(txn);
        }
    }
}

/// A point [`Store::roll_back`] can return to.
pub struct Mark(redb::Savepoint);

/// One read snapshot for many presence checks.
pub struct PresenceChecker {
    keys: VersionKeys,
}

impl PresenceChecker {
    pub fn check(
        &self,
        id: &str,
        version: i128,
        content_hash: &[u8; 32],
    ) -> Result<Presence, StoreError> {
        presence_from(&self.keys, id, version, content_hash)
    }
}

fn presence_from(
    keys: &VersionKeys,
    id: &str,
    version: i128,
    content_hash: &[u8; 32],
) -> Result<Presence, StoreError> {
    Ok(
        match keys.get((id, version)).map_err(dbe)?.map(|v| v.value()) {
            None => Presence::Absent,
            Some((seq, stored_hash)) if &stored_hash == content_hash => Presence::Same { seq },
            Some((seq, stored_hash)) => Presence::Different { seq, stored_hash },
        },
    )
}

type VersionKeys = redb::ReadOnlyTable<(&'static str, i128), (u64, [u8; 32])>;

/// The latest version of an id is the last of its (id, version) keys: the latest view is a
/// reading of the key order, not a table of its own that could drift.
fn latest_seq(
    keys: &VersionKeys,
    withdrawn: &Withdrawn,
    id: &str,
) -> Result<Option<u64>, StoreError> {
    let range = keys.range((id, i128::MIN)..=(id, i128::MAX)).map_err(dbe)?;
    for entry in range.rev() {
        let seq = entry.map_err(dbe)?.1.value().0;
        if !withdrawn.contains(seq)? {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}

/// The versions TAXII DELETE withdrew (`query.rs` writes them). Every read here hides them, as
/// the TAXII reads do, so that export, `get` and search never show what was withdrawn.
struct Withdrawn(Option<redb::ReadOnlyTable<u64, i64>>);

impl Withdrawn {
    fn open(txn: &ReadTransaction) -> Result<Withdrawn, StoreError> {
        match txn.open_table(query::TOMBSTONES) {
            Ok(table) if table.len().map_err(dbe)? > 0 => Ok(Withdrawn(Some(table))),
            Ok(_) | Err(redb::TableError::TableDoesNotExist(_)) => Ok(Withdrawn(None)),
            Err(e) => Err(dbe(e)),
        }
    }

    fn contains(&self, seq: u64) -> Result<bool, StoreError> {
        match &self.0 {
            Some(table) => Ok(table.get(seq).map_err(dbe)?.is_some()),
            None => Ok(false),
        }
    }
}

/// The first seq whose date_added is after `after_micros`: a binary search, since both grow
/// together and seqs are dense from 1.
fn first_added_after(
    versions: &redb::ReadOnlyTable<u64, (u64, u32, i64)>,
    after_micros: i64,
) -> Result<Option<u64>, StoreError> {
    let Some(last) = versions.last().map_err(dbe)?.map(|(k, _)| k.value()) else {
        return Ok(None);
    };
    let added = |seq: u64| -> Result<i64, StoreError> {
        Ok(versions
            .get(seq)
            .map_err(dbe)?
            .ok_or(StoreError::Corrupt {
                seq,
                message: "a gap in the version log".into(),
            })?
            .value()
            .2)
    };
    if added(last)? <= after_micros {
        return Ok(None);
    }
    let (mut low, mut high) = (1u64, last);
    while low < high {
        let middle = low + (high - low) / 2;
        if added(middle)? > after_micros {
            high = middle
        } else {
            low = middle + 1
        }
    }
    Ok(Some(low))
}

/// An (id, version) key of `version_keys`.
type IdVersion<'a> = (&'a str, i128);

/// The (id, version) key of a version in `version_keys`.
fn key_of(version: &PreparedVersion) -> IdVersion<'_> {
    (version.id.as_str(), version.version)
}

/// The tables one slice of a batch adds index entries to, besides the outgoing edges.
struct IndexTables<'t, 'txn> {
    versions: &'t mut redb::Table<'txn, u64, (u64, u32, i64)>,
    version_keys: &'t mut redb::Table<'txn, (&'static str, i128), (u64, [u8; 32])>,
    by_type: &'t mut redb::Table<'txn, (&'static str, u64), ()>,
    refs_in: &'t mut redb::Table<'txn, (u64, u64), &'static [u8]>,
    names: &'t mut redb::Table<'txn, (&'static str, u64), ()>,
    times: &'t mut redb::Table<'txn, (u8, i128, u64), ()>,
}

/// One slice's index entries, gathered so that each table's are inserted in key order:
/// B-tree inserts in order touch each leaf once instead of jumping across the tree.
struct IndexEntries<'v> {
    located: Vec<(u64, (u64, u32, i64))>,
    keyed: Vec<(IdVersion<'v>, (u64, [u8; 32]))>,
    incoming: Vec<IncomingEdge<'v>>,
    timed: Vec<(u8, i128, u64)>,
    typed: Vec<(&'v str, u64)>,
    named: Vec<(&'v str, u64)>,
}

fn insert_index_entries(
    tables: IndexTables<'_, '_>,
    mut entries: IndexEntries<'_>,
) -> Result<(), StoreError> {
    for (seq, location) in entries.located {
        tables.versions.insert(seq, location).map_err(dbe)?;
    }
    entries.keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (key, value) in entries.keyed {
        tables.version_keys.insert(key, value).map_err(dbe)?;
    }
    entries.incoming.sort_unstable();
    let mut value = Vec::new();
    for group in entries.incoming.chunk_by(|a, b| a.0 == b.0) {
        encode_incoming(group, &mut value)?;
        tables
            .refs_in
            .insert((group[0].0, group[0].1), value.as_slice())
            .map_err(dbe)?;
    }
    entries.timed.sort_unstable();
    for key in entries.timed {
        tables.times.insert(key, ()).map_err(dbe)?;
    }
    entries.typed.sort_unstable();
    for key in entries.typed {
        tables.by_type.insert(key, ()).map_err(dbe)?;
    }
    entries.named.sort_unstable();
    for key in entries.named {
        tables.names.insert(key, ()).map_err(dbe)?;
    }
    Ok(())
}

/// (hash of the target, seq, encoded target, encoded property): one edge, as the
/// incoming-edge index sorts it.
type IncomingEdge<'a> = (u64, u64, &'a [u8], &'a [u8]);

/// One edge read back from the incoming-edge index.
#[derive(Debug, PartialEq, Eq)]
struct Incoming<'v> {
    seq: u64,
    target: Cow<'v, str>,
    properties: Vec<Cow<'v, str>>,
}

impl Incoming<'_> {
    fn into_owned(self) -> Incoming<'static> {
        Incoming {
            seq: self.seq,
            target: Cow::Owned(self.target.into_owned()),
            properties: self
                .properties
                .into_iter()
                .map(|p| Cow::Owned(p.into_owned()))
                .collect(),
        }
    }
}

/// Incoming-edge entries as [`Store::verify`] decodes them, by key, each once while it is in
/// use.
#[derive(Default)]
struct DecodedIncoming(HashMap<(u64, u64), IncomingGroup>);

/// One decoded incoming-edge entry, its edges in seq order.
struct IncomingGroup(Vec<Incoming<'static>>);

impl DecodedIncoming {
    /// Entries kept decoded at once; the walk in seq order has moved past older ones.
    const KEPT_MAX: usize = 4_096;

    /// The entry at `key`, whose stored value is `value`.
    fn edges(&mut self, key: (u64, u64), value: &[u8]) -> Result<&IncomingGroup, StoreError> {
        if self.0.len() >= Self::KEPT_MAX && !self.0.contains_key(&key) {
            self.0.clear();
        }
        Ok(match self.0.entry(key) {
            Entry::Occupied(held) => held.into_mut(),
            Entry::Vacant(slot) => {
                let mut edges: Vec<Incoming<'static>> = decode_incoming(key.1, value)?
                    .into_iter()
                    .map(Incoming::into_owned)
                    .collect();
                edges.sort_by_key(|edge| edge.seq);
                slot.insert(IncomingGroup(edges))
            }
        })
    }
}

impl IncomingGroup {
    /// The edges from version `seq`.
    fn of_seq(&self, seq: u64) -> impl Iterator<Item = &Incoming<'static>> {
        let from = self.0.partition_point(|edge| edge.seq < seq);
        self.0[from..]
            .iter()
            .take_while(move |edge| edge.seq == seq)
    }
}

/// Encodes sorted edges that share a target hash as one value, in the layout of
/// [`edges`]: for each (seq, target), the seq as its distance from the first seq (u32 LE), the
/// target and its properties (u16 LE count, then each).
fn encode_incoming(edges: &[IncomingEdge<'_>], out: &mut Vec<u8>) -> Result<(), StoreError> {
    let too_large = |what: &str| StoreError::Corrupt {
        seq: edges.first().map_or(0, |e| e.1),
        message: format!("{what} does not fit the incoming-edge index"),
    };
    let first_seq = edges.first().map_or(0, |e| e.1);
    let mut writer = edges::Writer::new(out);
    for group in edges.chunk_by(|a, b| (a.1, a.2) == (b.1, b.2)) {
        let (_, seq, target, _) = group[0];
        let distance = u32::try_from(seq - first_seq).map_err(|_| too_large("a slice"))?;
        writer.raw(&distance.to_le_bytes());
        writer.target(target);
        let count = u16::try_from(group.len()).map_err(|_| too_large("a list of references"))?;
        writer.raw(&count.to_le_bytes());
        for (_, _, _, property) in group {
            writer.raw(property);
        }
    }
    Ok(())
}

fn decode_incoming(first_seq: u64, bytes: &[u8]) -> Result<Vec<Incoming<'_>>, StoreError> {
    let corrupt = || StoreError::Corrupt {
        seq: first_seq,
        message: "an incoming-edge index entry is cut short or not UTF-8".into(),
    };
    let Some(mut reader) = edges::Reader::new(bytes) else {
        return decode_incoming_text(first_seq, bytes).ok_or_else(corrupt);
    };
    let mut out = Vec::new();
    while !reader.is_empty() {
        let distance = reader
            .take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(corrupt)?;
        let target = reader.target().ok_or_else(corrupt)?;
        let count = reader
            .take(2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes)
            .ok_or_else(corrupt)?;
        let properties = (0..count)
            .map(|_| reader.property().ok_or_else(corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Incoming {
            seq: first_seq + u64::from(distance),
            target: Cow::Owned(target),
            properties,
        });
    }
    Ok(out)
}

/// The text layout of stores written before [`edges`]: targets and properties as u16 LE
/// length and bytes.
fn decode_incoming_text(first_seq: u64, mut bytes: &[u8]) -> Option<Vec<Incoming<'_>>> {
    fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(head)
    }
    fn text<'b>(bytes: &mut &'b [u8]) -> Option<Cow<'b, str>> {
        let length = u16::from_le_bytes(take(bytes, 2)?.try_into().ok()?);
        std::str::from_utf8(take(bytes, usize::from(length))?)
            .ok()
            .map(Cow::Borrowed)
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let distance = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().ok()?);
        let target = text(&mut bytes)?;
        let count = u16::from_le_bytes(take(&mut bytes, 2)?.try_into().ok()?);
        let properties = (0..count)
            .map(|_| text(&mut bytes))
            .collect::<Option<Vec<_>>>()?;
        out.push(Incoming {
            seq: first_seq + u64::from(distance),
            target,
            properties,
        });
    }
    Some(out)
}

fn damaged_refs(seq: u64) -> StoreError {
    StoreError::Corrupt {
        seq,
        message: "an outgoing-edge index entry is cut short or damaged".into(),
    }
}

/// redb's page cache. Its default (1 GiB) let a bulk import hold every page it wrote in
/// memory; version bodies live outside redb, so the index pages are all it needs to cache.
/// 8 MiB: enterprise ATT&CK's whole index (13 MB in the compact edge layout) imported about
/// as fast with it as with 16 MiB, and an import's peak memory (bench/import bounds it at 3x
/// the bundle) was 5 to 9 MB lower. Into a store of a million objects, a 100,000-object
/// import took 10.8 s against 10.1 s with 16 MiB, one run each.
pub const CACHE_BYTES: usize = 8 << 20;

fn database_builder() -> redb::Builder {
    let mut builder = Database::builder();
    builder.set_cache_size(CACHE_BYTES);
    builder
}

fn db_err(e: redb::TransactionError) -> StoreError {
    dbe(e)
}

fn open_error(e: redb::DatabaseError, dir: &Path) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(dir.to_path_buf()),
        other => dbe(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relationship(n: u32, source: &str, target: &str) -> PreparedVersion {
        let text = format!(
            r#"{{"type":"relationship","spec_version":"2.1","id":"relationship--00000000-0000-4000-8000-{n:012}","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","relationship_type":"uses","source_ref":"{source}","target_ref":"{target}","object_marking_refs":["{target}"]}}"#
        );
        PreparedVersion::from_object(&stix::Object::from_slice(text.as_bytes()).unwrap())
    }

    const GROUP: &str = "intrusion-set--00000000-0000-4000-8000-000000000001";
    const TOOL: &str = "tool--00000000-0000-4000-8000-000000000002";

    #[test]
    fn referrers_span_slices_and_batches_in_seq_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let mut batch = store.begin_batch().unwrap();
        batch
            .add(
                &[relationship(1, GROUP, TOOL), relationship(2, TOOL, GROUP)],
                "t",
            )
            .unwrap();
        batch.add(&[relationship(3, GROUP, TOOL)], "t").unwrap();
        batch.commit().unwrap();
        store
            .write_batch(&[relationship(4, GROUP, TOOL)], "t")
            .unwrap();
        // A batch dropped without a commit leaves nothing behind.
        let mut dropped = store.begin_batch().unwrap();
        dropped.add(&[relationship(5, GROUP, TOOL)], "t").unwrap();
        drop(dropped);

        let into_tool = store.referrers(TOOL, 10).unwrap();
        let seqs: Vec<u64> = into_tool.iter().map(|(_, v)| v.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert_eq!(into_tool[0].0, ["object_marking_refs", "target_ref"]);
        assert_eq!(into_tool[1].0, ["source_ref"]);
        let into_group = store.referrers(GROUP, 10).unwrap();
        let seqs: Vec<(Vec<String>, u64)> =
            into_group.into_iter().map(|(p, v)| (p, v.seq)).collect();
        assert_eq!(
            seqs,
            [
                (vec!["source_ref".to_string()], 1),
                (
                    vec!["object_marking_refs".to_string(), "target_ref".to_string()],
                    2
                ),
                (vec!["source_ref".to_string()], 3),
                (vec!["source_ref".to_string()], 4)
            ]
        );
        assert_eq!(store.referrers(GROUP, 2).unwrap().len(), 2);
        let report = store.verify().unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!((report.versions_checked, report.batches), (4, 2));
    }

    /// `verify` checks every index against the versions: an entry missing from the name, time
    /// or incoming-edge index is named with its version, and one no version accounts for (here
    /// in the type and time indexes) shows in that index's count.
    #[test]
    fn verify_finds_missing_and_stray_index_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let text = format!(
            r#"{{"type":"intrusion-set","spec_version":"2.1","id":"{GROUP}","created":"2024-01-01T00:00:00.000Z","modified":"2024-02-01T00:00:00.000Z","name":"Cell A","aliases":["Cell A","The Cell"],"first_seen":"2023-06-01T00:00:00Z"}}"#
        );
        let group =
            PreparedVersion::from_object(&stix::Object::from_slice(text.as_bytes()).unwrap());
        assert_eq!(group.names, ["cell a", "the cell"]);
        assert_eq!(group.times.len(), 3);
        store
            .write_batch(
                &[group.clone(), relationship(1, GROUP, TOOL)],
                "import:test",
            )
            .unwrap();
        let report = store.verify().unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);

        let txn = store.db.begin_write().unwrap();
        {
            let mut names = txn.open_table(NAMES).unwrap();
            assert!(names.remove(("the cell", 1)).unwrap().is_some());
            let mut times = txn.open_table(TIMES).unwrap();
            let (property, nanos) = group.times[2];
            assert!(times.remove((property, nanos, 1)).unwrap().is_some());
            times.insert((property, nanos, 9), ()).unwrap();
            times.insert((property, nanos, 10), ()).unwrap();
            let mut by_type = txn.open_table(BY_TYPE).unwrap();
            by_type.insert(("tool", 7), ()).unwrap();
            let mut refs_in = txn.open_table(REFS_IN).unwrap();
            assert!(refs_in.remove((target_hash(TOOL), 2)).unwrap().is_some());
        }
        txn.commit().unwrap();
        let problems = store.verify().unwrap().problems;
        const RELATIONSHIP: &str = "relationship--00000000-0000-4000-8000-000000000001";
        let first_seen = stix::object::TIME_PROPERTIES[usize::from(group.times[2].0)];
        assert_eq!(
            problems,
            [
                format!("version 1 ({GROUP}): name \"the cell\" missing from the name index"),
                format!("version 1 ({GROUP}): {first_seen} missing from the time index"),
                format!(
                    "version 2 ({RELATIONSHIP}): edge object_marking_refs -> {TOOL} missing from the reference index"
                ),
                format!(
                    "version 2 ({RELATIONSHIP}): edge target_ref -> {TOOL} missing from the reference index"
                ),
                "entries in the type index: 3, where the versions account for 2".to_string(),
                "entries in the name index: 1, where the versions account for 2".to_string(),
                "entries in the time index: 6, where the versions account for 5".to_string(),
            ],
        );
    }

    #[test]
    fn incoming_edges_of_colliding_targets_stay_apart() {
        // Two targets under one hash (as a collision would put them) in one entry.
        let encoded: Vec<(u64, u64, Vec<u8>, Vec<u8>)> = [
            (10, "tool--a", "target_ref"),
            (10, "tool--b", "object_marking_refs"),
            (12, "tool--a", "object_marking_refs"),
            (12, "tool--a", "target_ref"),
        ]
        .into_iter()
        .map(|(seq, target, property)| {
            let target = edges::encoded_target(target);
            (7, seq, target, edges::encoded_property(property))
        })
        .collect();
        let edges: Vec<IncomingEdge<'_>> = encoded
            .iter()
            .map(|(hash, seq, target, property)| (*hash, *seq, &target[..], &property[..]))
            .collect();
        let mut value = Vec::new();
        encode_incoming(&edges, &mut value).unwrap();
        let decoded = decode_incoming(10, &value).unwrap();
        assert_eq!(
            decoded,
            [
                Incoming {
                    seq: 10,
                    target: "tool--a".into(),
                    properties: vec!["target_ref".into()]
                },
                Incoming {
                    seq: 10,
                    target: "tool--b".into(),
                    properties: vec!["object_marking_refs".into()]
                },
                Incoming {
                    seq: 12,
                    target: "tool--a".into(),
                    properties: vec!["object_marking_refs".into(), "target_ref".into()]
                },
            ]
        );
        assert!(decode_incoming(10, &value[..value.len() - 1]).is_err());
    }

    #[test]
    fn edge_values_of_the_text_layout_still_read() {
        // As stores before the compact layout wrote them.
        let mut incoming = Vec::new();
        for (distance, target, properties) in [
            (0u32, "tool--a", &["target_ref"][..]),
            (2, "tool--a", &["object_marking_refs", "target_ref"][..]),
        ] {
            incoming.extend_from_slice(&distance.to_le_bytes());
            incoming.extend_from_slice(&(target.len() as u16).to_le_bytes());
            incoming.extend_from_slice(target.as_bytes());
            incoming.extend_from_slice(&(properties.len() as u16).to_le_bytes());
            for property in properties {
                incoming.extend_from_slice(&(property.len() as u16).to_le_bytes());
                incoming.extend_from_slice(property.as_bytes());
            }
        }
        let decoded = decode_incoming(10, &incoming).unwrap();
        assert_eq!(decoded.len(), 2);
        assert_eq!(
            (decoded[1].seq, decoded[1].target.as_ref()),
            (12, "tool--a")
        );
        assert_eq!(decoded[1].properties, ["object_marking_refs", "target_ref"]);
        assert!(decode_incoming(10, &incoming[..incoming.len() - 1]).is_err());

        let outgoing = b"created_by_ref\0identity--x\0object_refs\0report--y\0";
        assert_eq!(
            edges::decode_list(outgoing).unwrap(),
            [
                ("created_by_ref".to_string(), "identity--x".to_string()),
                ("object_refs".to_string(), "report--y".to_string())
            ]
        );
        let references = vec![
            (
                "created_by_ref".to_string(),
                "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5".to_string(),
            ),
            ("x_custom_ref".to_string(), "x-thing--42".to_string()),
        ];
        assert_eq!(
            edges::decode_list(&edges::encode_list(&references)).unwrap(),
            references
        );
    }
}
