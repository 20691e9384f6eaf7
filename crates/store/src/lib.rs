//! Tessera's embedded store: every STIX object version a node holds, in one data directory.
//!
//! Ground state is the log of versions, keyed by a sequence number that grows with the
//! node-local `date_added`. Everything else (the (id, modified) key, the latest view, and the
//! indexes by type, name, time and reference edge) is derived from it inside the same
//! transaction, so it can never disagree with the log; [`Store::verify`] checks that it does not.
//!
//! Architecture invariant: the store knows nothing of HTTP, TAXII or release policy. It answers
//! "what do I hold", never "what may this partner see"; that question belongs to `policy`.

mod import;
mod prepare;
mod record;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};

pub use import::{
    BundleInput, ImportError, ImportOptions, ImportProgress, ImportReport, ObjectProblem,
    import_bundle,
};
pub use prepare::{PreparedVersion, UNVERSIONED, fold_name};
pub use record::StoredVersion;

/// The file inside the data directory that holds the store.
pub const STORE_FILE: &str = "store.redb";

/// Largest page a single scan returns; callers page with the returned cursor.
pub const PAGE_LIMIT_MAX: usize = 10_000;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const VERSIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("versions");
const VERSION_KEYS: TableDefinition<(&str, &str), u64> = TableDefinition::new("version_keys");
const LATEST: TableDefinition<&str, (u64, &str)> = TableDefinition::new("latest");
const ADDED: TableDefinition<i64, u64> = TableDefinition::new("date_added");
const BY_TYPE: TableDefinition<(&str, u64), ()> = TableDefinition::new("by_type");
const REFS_OUT: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("refs_out");
const REFS_IN: TableDefinition<(&str, u64, &str), ()> = TableDefinition::new("refs_in");
const NAMES: TableDefinition<(&str, u64), ()> = TableDefinition::new("names");
const TIMES: TableDefinition<(&str, &str, u64), ()> = TableDefinition::new("times");
const BATCHES: TableDefinition<u64, (u64, u64)> = TableDefinition::new("batches");

const META_NEXT_SEQ: &str = "next_seq";
const META_LAST_ADDED: &str = "last_date_added_micros";
const META_NEXT_BATCH: &str = "next_batch";
const META_SCHEMA: &str = "schema_version";
const SCHEMA_VERSION: u64 = 1;

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
        "the store was written by a newer Tessera (schema {found}, this build reads {SCHEMA_VERSION})"
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
    pub limit: usize,
}

/// One page of a scan.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub versions: Vec<StoredVersion>,
    /// Pass as `after_seq` to continue; `None` when the scan is complete.
    pub next_after_seq: Option<u64>,
}

/// What [`Store::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub versions_checked: u64,
    pub batches: u64,
    pub versions_in_batches: u64,
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
    path: PathBuf,
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
        let db = Database::create(&path).map_err(|e| open_error(e, dir))?;
        let txn = db.begin_write().map_err(db_err)?;
        {
            let mut meta = txn.open_table(META).map_err(dbe)?;
            meta.insert(META_SCHEMA, SCHEMA_VERSION).map_err(dbe)?;
            meta.insert(META_NEXT_SEQ, 1).map_err(dbe)?;
            meta.insert(META_NEXT_BATCH, 1).map_err(dbe)?;
            // Every table exists from the start, so readers never meet a missing table.
            txn.open_table(VERSIONS).map_err(dbe)?;
            txn.open_table(VERSION_KEYS).map_err(dbe)?;
            txn.open_table(LATEST).map_err(dbe)?;
            txn.open_table(ADDED).map_err(dbe)?;
            txn.open_table(BY_TYPE).map_err(dbe)?;
            txn.open_table(REFS_OUT).map_err(dbe)?;
            txn.open_table(REFS_IN).map_err(dbe)?;
            txn.open_table(NAMES).map_err(dbe)?;
            txn.open_table(TIMES).map_err(dbe)?;
            txn.open_table(BATCHES).map_err(dbe)?;
        }
        txn.commit().map_err(dbe)?;
        Ok(Store { db, path })
    }

    /// Opens the store in `dir`. A store left by a killed process opens cleanly: redb
    /// recovers to the last committed transaction.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(STORE_FILE);
        if !path.exists() {
            return Err(StoreError::NotInitialised(dir.to_path_buf()));
        }
        let db = Database::open(&path).map_err(|e| open_error(e, dir))?;
        let store = Store { db, path };
        let schema = store.meta(META_SCHEMA)?;
        if schema > SCHEMA_VERSION {
            return Err(StoreError::Schema { found: schema });
        }
        Ok(store)
    }

    /// The path of the store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        self.db.begin_read().map_err(dbe)
    }

    fn meta(&self, key: &str) -> Result<u64, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(META).map_err(dbe)?;
        Ok(table.get(key).map_err(dbe)?.map(|v| v.value()).unwrap_or(0))
    }

    /// Whether (id, version) is held, and with which content.
    pub fn presence(
        &self,
        id: &str,
        version_key: &str,
        content_hash: &[u8; 32],
    ) -> Result<Presence, StoreError> {
        let txn = self.read()?;
        presence_in(&txn, id, version_key, content_hash)
    }

    /// Opens a reusable reader for many presence checks (one snapshot, no per-call transaction).
    pub fn presence_checker(&self) -> Result<PresenceChecker, StoreError> {
        Ok(PresenceChecker { txn: self.read()? })
    }

    /// Writes a batch of versions in one durable transaction: all of it is on disk when this
    /// returns, or none of it. Duplicates are skipped, conflicts reported and never written.
    pub fn write_batch(
        &self,
        batch: &[PreparedVersion],
        source: &str,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let now_micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let txn = self.db.begin_write().map_err(db_err)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        {
            let mut meta = txn.open_table(META).map_err(dbe)?;
            let mut versions = txn.open_table(VERSIONS).map_err(dbe)?;
            let mut version_keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
            let mut latest = txn.open_table(LATEST).map_err(dbe)?;
            let mut added = txn.open_table(ADDED).map_err(dbe)?;
            let mut by_type = txn.open_table(BY_TYPE).map_err(dbe)?;
            let mut refs_out = txn.open_table(REFS_OUT).map_err(dbe)?;
            let mut refs_in = txn.open_table(REFS_IN).map_err(dbe)?;
            let mut names = txn.open_table(NAMES).map_err(dbe)?;
            let mut times = txn.open_table(TIMES).map_err(dbe)?;
            let mut batches = txn.open_table(BATCHES).map_err(dbe)?;

            let mut next_seq = meta
                .get(META_NEXT_SEQ)
                .map_err(dbe)?
                .map_or(1, |v| v.value());
            let mut last_added = meta
                .get(META_LAST_ADDED)
                .map_err(dbe)?
                .map_or(i64::MIN, |v| v.value() as i64);
            let batch_no = meta
                .get(META_NEXT_BATCH)
                .map_err(dbe)?
                .map_or(1, |v| v.value());
            let first_seq = next_seq;

            for version in batch {
                let existing = version_keys
                    .get((version.id.as_str(), version.version_key.as_str()))
                    .map_err(dbe)?
                    .map(|v| v.value());
                if let Some(seq) = existing {
                    let stored = versions
                        .get(seq)
                        .map_err(dbe)?
                        .and_then(|r| record::content_hash_of(r.value()));
                    let stored_hash = stored.ok_or(StoreError::Corrupt {
                        seq,
                        message: "version key points at a missing record".into(),
                    })?;
                    outcomes.push(if stored_hash == version.content_hash {
                        WriteOutcome::Duplicate { seq }
                    } else {
                        WriteOutcome::Conflict { seq, stored_hash }
                    });
                    continue;
                }
                let seq = next_seq;
                next_seq += 1;
                // date_added strictly increases, so it orders versions exactly as seq does and a
                // TAXII client paging by added_after can never skip a version that shares an instant.
                let date_added = now_micros.max(last_added.saturating_add(1));
                last_added = date_added;

                let bytes = record::encode(
                    date_added,
                    &version.content_hash,
                    source,
                    &version.id,
                    &version.canonical_json,
                );
                versions.insert(seq, bytes.as_slice()).map_err(dbe)?;
                version_keys
                    .insert((version.id.as_str(), version.version_key.as_str()), seq)
                    .map_err(dbe)?;
                added.insert(date_added, seq).map_err(dbe)?;
                by_type
                    .insert((version.object_type.as_str(), seq), ())
                    .map_err(dbe)?;
                let is_latest = match latest.get(version.id.as_str()).map_err(dbe)? {
                    Some(current) => current.value().1 < version.version_key.as_str(),
                    None => true,
                };
                if is_latest {
                    latest
                        .insert(version.id.as_str(), (seq, version.version_key.as_str()))
                        .map_err(dbe)?;
                }
                if !version.references.is_empty() {
                    refs_out
                        .insert(
                            (version.id.as_str(), seq),
                            encode_refs(&version.references).as_slice(),
                        )
                        .map_err(dbe)?;
                    for (property, target) in &version.references {
                        refs_in
                            .insert((target.as_str(), seq, property.as_str()), ())
                            .map_err(dbe)?;
                    }
                }
                for name in &version.names {
                    names.insert((name.as_str(), seq), ()).map_err(dbe)?;
                }
                for (property, key) in &version.times {
                    times
                        .insert((*property, key.as_str(), seq), ())
                        .map_err(dbe)?;
                }
                outcomes.push(WriteOutcome::Written { seq });
            }
            let written = next_seq - first_seq;
            if written > 0 {
                batches
                    .insert(batch_no, (first_seq, written))
                    .map_err(dbe)?;
                meta.insert(META_NEXT_BATCH, batch_no + 1).map_err(dbe)?;
                meta.insert(META_NEXT_SEQ, next_seq).map_err(dbe)?;
                meta.insert(META_LAST_ADDED, last_added as u64)
                    .map_err(dbe)?;
            }
        }
        txn.commit().map_err(dbe)?;
        Ok(outcomes)
    }

    /// The latest version of an object.
    pub fn get(&self, id: &str) -> Result<Option<StoredVersion>, StoreError> {
        let txn = self.read()?;
        let latest = txn.open_table(LATEST).map_err(dbe)?;
        let Some(seq) = latest.get(id).map_err(dbe)?.map(|v| v.value().0) else {
            return Ok(None);
        };
        read_version(&txn, seq).map(Some)
    }

    /// Every version of an object, oldest first.
    pub fn versions(&self, id: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let txn = self.read()?;
        let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let mut out = Vec::new();
        for entry in keys.range((id, "")..=(id, "\u{7f}")).map_err(dbe)? {
            let (_, seq) = entry.map_err(dbe)?;
            out.push(read_version(&txn, seq.value())?);
        }
        Ok(out)
    }

    /// Versions of objects that reference `target`, as (property path, version).
    pub fn referrers(
        &self,
        target: &str,
        limit: usize,
    ) -> Result<Vec<(String, StoredVersion)>, StoreError> {
        let txn = self.read()?;
        let refs_in = txn.open_table(REFS_IN).map_err(dbe)?;
        let mut out = Vec::new();
        for entry in refs_in
            .range((target, 0u64, "")..=(target, u64::MAX, "\u{7f}"))
            .map_err(dbe)?
        {
            let (key, _) = entry.map_err(dbe)?;
            let (_, seq, property) = key.value();
            out.push((property.to_string(), read_version(&txn, seq)?));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Latest versions whose name or alias folds to `name`.
    pub fn find_by_name(&self, name: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let folded = fold_name(name);
        let txn = self.read()?;
        let names = txn.open_table(NAMES).map_err(dbe)?;
        let latest = txn.open_table(LATEST).map_err(dbe)?;
        let mut out = Vec::new();
        for entry in names
            .range((folded.as_str(), 0u64)..=(folded.as_str(), u64::MAX))
            .map_err(dbe)?
        {
            let (key, _) = entry.map_err(dbe)?;
            let version = read_version(&txn, key.value().1)?;
            if is_latest(&latest, &version)? {
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
            let added = txn.open_table(ADDED).map_err(dbe)?;
            let first = added
                .range(after.saturating_add(1)..)
                .map_err(dbe)?
                .next()
                .transpose()
                .map_err(dbe)?
                .map(|(_, seq)| seq.value());
            match first {
                Some(seq) => start = start.max(seq),
                None => return Ok(Page::default()),
            }
        }
        let latest = txn.open_table(LATEST).map_err(dbe)?;
        let mut out = Vec::new();
        let mut last_seen = None;
        // Candidates in seq order: the whole log, or the union of the per-type index ranges.
        let mut push =
            |version: StoredVersion, out: &mut Vec<StoredVersion>| -> Result<bool, StoreError> {
                last_seen = Some(version.seq);
                if !scan.latest_only || is_latest(&latest, &version)? {
                    out.push(version);
                }
                Ok(out.len() >= scan.limit)
            };
        if scan.types.is_empty() {
            let versions = txn.open_table(VERSIONS).map_err(dbe)?;
            for entry in versions.range(start..).map_err(dbe)? {
                let (seq, bytes) = entry.map_err(dbe)?;
                if push(record::decode(seq.value(), bytes.value())?, &mut out)? {
                    break;
                }
            }
        } else {
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
                if push(read_version(&txn, seq)?, &mut out)? {
                    break;
                }
            }
        }
        let next_after_seq = if out.len() >= scan.limit {
            last_seen
        } else {
            None
        };
        Ok(Page {
            versions: out,
            next_after_seq,
        })
    }

    /// Counts for operators.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let txn = self.read()?;
        let mut stats = Stats {
            versions: txn.open_table(VERSIONS).map_err(dbe)?.len().map_err(dbe)?,
            objects: txn.open_table(LATEST).map_err(dbe)?.len().map_err(dbe)?,
            batches: txn.open_table(BATCHES).map_err(dbe)?.len().map_err(dbe)?,
            reference_edges: txn.open_table(REFS_IN).map_err(dbe)?.len().map_err(dbe)?,
            ..Stats::default()
        };
        let latest = txn.open_table(LATEST).map_err(dbe)?;
        for entry in latest.iter().map_err(dbe)? {
            let (id, _) = entry.map_err(dbe)?;
            let object_type = stix::id::type_of(id.value()).unwrap_or("?").to_string();
            *stats.objects_by_type.entry(object_type).or_default() += 1;
        }
        let meta = txn.open_table(META).map_err(dbe)?;
        stats.last_date_added_micros = meta
            .get(META_LAST_ADDED)
            .map_err(dbe)?
            .map(|v| v.value() as i64);
        stats.file_bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        Ok(stats)
    }

    /// Re-reads every version and checks it against its hash and against every index entry
    /// derived from it, and that the committed batches account for every version.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let txn = self.read()?;
        let mut report = VerifyReport::default();
        let versions = txn.open_table(VERSIONS).map_err(dbe)?;
        let version_keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
        let latest = txn.open_table(LATEST).map_err(dbe)?;
        let by_type = txn.open_table(BY_TYPE).map_err(dbe)?;
        let added = txn.open_table(ADDED).map_err(dbe)?;
        let refs_in = txn.open_table(REFS_IN).map_err(dbe)?;
        let batches = txn.open_table(BATCHES).map_err(dbe)?;
        let problems = &mut report.problems;
        let mut note = |problem: String| {
            if problems.len() < 1000 {
                problems.push(problem);
            }
        };
        let mut previous_added = i64::MIN;
        for entry in versions.iter().map_err(dbe)? {
            let (seq, bytes) = entry.map_err(dbe)?;
            let seq = seq.value();
            report.versions_checked += 1;
            let version = match record::decode(seq, bytes.value()) {
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
            if version_keys
                .get((prepared.id.as_str(), prepared.version_key.as_str()))
                .map_err(dbe)?
                .map(|v| v.value())
                != Some(seq)
            {
                note(format!(
                    "version {seq} ({}): missing from the (id, modified) index",
                    prepared.id
                ));
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
            if added
                .get(version.date_added_micros)
                .map_err(dbe)?
                .map(|v| v.value())
                != Some(seq)
            {
                note(format!(
                    "version {seq} ({}): missing from the date_added index",
                    prepared.id
                ));
            }
            for (property, target) in &prepared.references {
                if refs_in
                    .get((target.as_str(), seq, property.as_str()))
                    .map_err(dbe)?
                    .is_none()
                {
                    note(format!(
                        "version {seq} ({}): edge {property} -> {target} missing from the reference index",
                        prepared.id
                    ));
                }
            }
            match latest.get(prepared.id.as_str()).map_err(dbe)? {
                Some(current) if current.value().1 < prepared.version_key.as_str() => {
                    note(format!(
                        "{}: the latest view points at an older version",
                        prepared.id
                    ));
                }
                Some(_) => {}
                None => note(format!("{}: missing from the latest view", prepared.id)),
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

/// One read snapshot for many presence checks.
pub struct PresenceChecker {
    txn: ReadTransaction,
}

impl PresenceChecker {
    pub fn check(
        &self,
        id: &str,
        version_key: &str,
        content_hash: &[u8; 32],
    ) -> Result<Presence, StoreError> {
        presence_in(&self.txn, id, version_key, content_hash)
    }
}

fn presence_in(
    txn: &ReadTransaction,
    id: &str,
    version_key: &str,
    content_hash: &[u8; 32],
) -> Result<Presence, StoreError> {
    let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
    let Some(seq) = keys.get((id, version_key)).map_err(dbe)?.map(|v| v.value()) else {
        return Ok(Presence::Absent);
    };
    let versions = txn.open_table(VERSIONS).map_err(dbe)?;
    let stored = versions
        .get(seq)
        .map_err(dbe)?
        .and_then(|r| record::content_hash_of(r.value()));
    let stored_hash = stored.ok_or(StoreError::Corrupt {
        seq,
        message: "version key points at a missing record".into(),
    })?;
    Ok(if &stored_hash == content_hash {
        Presence::Same { seq }
    } else {
        Presence::Different { seq, stored_hash }
    })
}

fn read_version(txn: &ReadTransaction, seq: u64) -> Result<StoredVersion, StoreError> {
    let versions = txn.open_table(VERSIONS).map_err(dbe)?;
    let bytes = versions.get(seq).map_err(dbe)?.ok_or(StoreError::Corrupt {
        seq,
        message: "an index points at a missing version".into(),
    })?;
    record::decode(seq, bytes.value())
}

fn is_latest(
    latest: &redb::ReadOnlyTable<&str, (u64, &str)>,
    version: &StoredVersion,
) -> Result<bool, StoreError> {
    Ok(latest
        .get(version.id.as_str())
        .map_err(dbe)?
        .is_some_and(|v| v.value().0 == version.seq))
}

fn encode_refs(references: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (property, target) in references {
        out.extend_from_slice(property.as_bytes());
        out.push(0);
        out.extend_from_slice(target.as_bytes());
        out.push(0);
    }
    out
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
