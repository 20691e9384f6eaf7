//! Reading for consumers that page through the log (TAXII): a [`Snapshot`] (one read
//! transaction for a whole response), [`Selection`]s over the versions in the order they were
//! added (by type, id, version, `added_after`, source and spec version), and withdrawals
//! ([`Store::delete`]), which hide versions without ever rewriting one.
//!
//! The cost of a page is what it examines: a selection walks the log (or the type index, or
//! the keys of the ids asked for) from a cursor, reads each candidate's body once, and checks
//! its place among the versions of its id with one range read of the key index. A caller
//! bounds the walk with `examine_max`, so a page whose candidates are mostly filtered out
//! still ends in bounded time, and resumes from [`Selected::resume_after`].
//!
//! Withdrawn versions (TAXII's "delete") are recorded in a `tombstones` table, keyed by seq.
//! Every read in this module skips them; the older readers in `lib.rs` (`get`, `versions`,
//! `scan`, and so `export`) do not know about them yet.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{
    ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    TableError,
};

use crate::datafile::ReadAhead;
use crate::{
    BY_TYPE, Store, StoreError, StoredVersion, VERSION_KEYS, VERSIONS, VersionKeys, db_err, dbe,
    first_added_after, record,
};

/// seq -> when the version was withdrawn (microseconds since the Unix epoch). Created by the
/// first [`Store::delete`]; a store without it has withdrawn nothing.
pub(crate) const TOMBSTONES: TableDefinition<u64, i64> = TableDefinition::new("tombstones");
/// The instant of the latest withdrawal, in microseconds (as the `u64` bits of an `i64`, like
/// `last_date_added_micros`).
const META_LAST_WITHDRAWN: &str = "last_withdrawn_micros";

/// Most ids one selection may name (TAXII `match[id]`).
pub const SELECTION_IDS_MAX: usize = 1_000;
/// Most types one selection may name (TAXII `match[type]`).
pub const SELECTION_TYPES_MAX: usize = 100;
/// Most explicit version timestamps one selection may name (TAXII `match[version]`).
pub const SELECTION_VERSIONS_MAX: usize = 100;
/// Most spec versions one selection may name (TAXII `match[spec_version]`).
pub const SELECTION_SPEC_VERSIONS_MAX: usize = 10;
/// Most versions of one id read to place a version among its siblings. Ids with more versions
/// are still served, but an explicit timestamp or `first` is only looked for among the first
/// this many.
pub const VERSIONS_PER_ID_MAX: usize = 100_000;

/// Which versions of each object a selection keeps (TAXII `match[version]`): any combination
/// of the first, the last, every one, and those whose version (`modified`, else `created`) is
/// one of the given instants. Withdrawn versions do not count: the last version is the last
/// one not withdrawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMatch {
    pub first: bool,
    pub last: bool,
    pub all: bool,
    /// Version keys in Unix nanoseconds, as [`crate::PreparedVersion::version`].
    pub at: Vec<i128>,
}

impl VersionMatch {
    /// Only each object's current version (TAXII's default).
    pub fn last() -> VersionMatch {
        VersionMatch {
            last: true,
            ..VersionMatch::default()
        }
    }

    /// Every version.
    pub fn all() -> VersionMatch {
        VersionMatch {
            all: true,
            ..VersionMatch::default()
        }
    }

    /// Whether the version at `index` (oldest first) of `live` live versions, with key
    /// `version`, is kept.
    fn keeps(&self, version: i128, index: usize, live: usize) -> bool {
        self.all
            || (self.first && index == 0)
            || (self.last && index + 1 == live)
            || self.at.contains(&version)
    }

    fn is_empty(&self) -> bool {
        !self.first && !self.last && !self.all && self.at.is_empty()
    }
}

/// Which sources a selection keeps, by the label recorded with each version (`peer:bfv`,
/// `import:attack.json`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SourceFilter {
    #[default]
    Any,
    /// Only labels that start with this prefix.
    Prefixed(String),
    /// Only labels that do not start with this prefix.
    NotPrefixed(String),
}

impl SourceFilter {
    fn keeps(&self, source: &str) -> bool {
        match self {
            SourceFilter::Any => true,
            SourceFilter::Prefixed(prefix) => source.starts_with(prefix.as_str()),
            SourceFilter::NotPrefixed(prefix) => !source.starts_with(prefix.as_str()),
        }
    }
}

/// A filter over the log of versions. Every list that is empty does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only versions added strictly after this instant (microseconds since the Unix epoch).
    pub added_after_micros: Option<i64>,
    /// Only objects of these types.
    pub types: Vec<String>,
    /// Only these objects.
    pub ids: Vec<String>,
    pub versions: VersionMatch,
    /// Only versions whose `spec_version` is one of these (an object without one is "2.1",
    /// as every version this store holds was validated or upgraded to 2.1).
    pub spec_versions: Vec<String>,
    pub sources: SourceFilter,
}

/// A selection the store refuses, naming the bound it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("{count} ids named; the limit is {SELECTION_IDS_MAX}")]
    TooManyIds { count: usize },
    #[error("{count} types named; the limit is {SELECTION_TYPES_MAX}")]
    TooManyTypes { count: usize },
    #[error("{count} version instants named; the limit is {SELECTION_VERSIONS_MAX}")]
    TooManyVersions { count: usize },
    #[error("{count} spec versions named; the limit is {SELECTION_SPEC_VERSIONS_MAX}")]
    TooManySpecVersions { count: usize },
    #[error("the selection keeps no version (match[version] is empty)")]
    NoVersions,
}

impl Selection {
    /// Checks the bounds; [`Snapshot::select`] calls it.
    pub fn check(&self) -> Result<(), SelectionError> {
        if self.ids.len() > SELECTION_IDS_MAX {
            return Err(SelectionError::TooManyIds {
                count: self.ids.len(),
            });
        }
        if self.types.len() > SELECTION_TYPES_MAX {
            return Err(SelectionError::TooManyTypes {
                count: self.types.len(),
            });
        }
        if self.versions.at.len() > SELECTION_VERSIONS_MAX {
            return Err(SelectionError::TooManyVersions {
                count: self.versions.at.len(),
            });
        }
        if self.spec_versions.len() > SELECTION_SPEC_VERSIONS_MAX {
            return Err(SelectionError::TooManySpecVersions {
                count: self.spec_versions.len(),
            });
        }
        if self.versions.is_empty() {
            return Err(SelectionError::NoVersions);
        }
        Ok(())
    }
}

/// Why a selection could not run.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Selection(#[from] SelectionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Versions = redb::ReadOnlyTable<u64, (u64, u32, i64)>;
type ByType = redb::ReadOnlyTable<(&'static str, u64), ()>;
type Tombstones = redb::ReadOnlyTable<u64, i64>;

/// One consistent view of the store for a whole response: every read through it sees the same
/// committed state, whatever is written meanwhile.
pub struct Snapshot<'s> {
    store: &'s Store,
    versions: Versions,
    keys: VersionKeys,
    by_type: ByType,
    /// `None` while nothing was ever withdrawn.
    tombstones: Option<Tombstones>,
    _txn: ReadTransaction,
}

impl Store {
    /// A read snapshot for many reads (one page of a TAXII response and the objects its
    /// release decisions look up).
    pub fn snapshot(&self) -> Result<Snapshot<'_>, StoreError> {
        let txn = self.db.begin_read().map_err(dbe)?;
        let tombstones = match txn.open_table(TOMBSTONES) {
            Ok(table) if table.len().map_err(dbe)? > 0 => Some(table),
            Ok(_) | Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(dbe(e)),
        };
        Ok(Snapshot {
            store: self,
            versions: txn.open_table(VERSIONS).map_err(dbe)?,
            keys: txn.open_table(VERSION_KEYS).map_err(dbe)?,
            by_type: txn.open_table(BY_TYPE).map_err(dbe)?,
            tombstones,
            _txn: txn,
        })
    }

    /// Withdraws the versions of `id` that `versions` keeps (among those not already
    /// withdrawn), durably. Returns their seqs, oldest first; empty when nothing matched.
    ///
    /// The bodies stay in the log (it is append-only, and the ledger may prove they were
    /// held); the versions are hidden from every read of this module. A withdrawn (id, version)
    /// cannot be stored again: the store never writes a version twice.
    pub fn delete(&self, id: &str, versions: &VersionMatch) -> Result<Vec<u64>, StoreError> {
        let now_micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        self.delete_at(id, versions, now_micros)
    }

    /// [`Store::delete`] with the clock read by the caller. The instant recorded is later than
    /// every withdrawal before it even when the clock went back: peers page through
    /// withdrawals by (instant, seq), and one recorded behind a peer's cursor would never
    /// reach it, so the partner would keep a version its sender took back.
    pub(crate) fn delete_at(
        &self,
        id: &str,
        versions: &VersionMatch,
        now_micros: i64,
    ) -> Result<Vec<u64>, StoreError> {
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.set_durability(redb::Durability::Immediate)
            .map_err(dbe)?;
        let mut deleted = Vec::new();
        {
            let keys = txn.open_table(VERSION_KEYS).map_err(dbe)?;
            let mut tombstones = txn.open_table(TOMBSTONES).map_err(dbe)?;
            let mut meta = txn.open_table(crate::META).map_err(dbe)?;
            let last_withdrawn = match meta.get(META_LAST_WITHDRAWN).map_err(dbe)? {
                Some(micros) => micros.value() as i64,
                // A store from before the key was kept: the latest instant recorded, once.
                None => {
                    let mut latest = i64::MIN;
                    for entry in tombstones.iter().map_err(dbe)? {
                        latest = latest.max(entry.map_err(dbe)?.1.value());
                    }
                    latest
                }
            };
            let at = now_micros.max(last_withdrawn.saturating_add(1));
            let mut live: Vec<(i128, u64)> = Vec::new();
            for entry in keys.range((id, i128::MIN)..=(id, i128::MAX)).map_err(dbe)? {
                let (key, value) = entry.map_err(dbe)?;
                let seq = value.value().0;
                if tombstones.get(seq).map_err(dbe)?.is_none() {
                    live.push((key.value().1, seq));
                }
                if live.len() >= VERSIONS_PER_ID_MAX {
                    break;
                }
            }
            let count = live.len();
            for (index, (version, seq)) in live.into_iter().enumerate() {
                if versions.keeps(version, index, count) {
                    tombstones.insert(seq, at).map_err(dbe)?;
                    deleted.push(seq);
                }
            }
            if !deleted.is_empty() {
                meta.insert(META_LAST_WITHDRAWN, at as u64).map_err(dbe)?;
            }
        }
        txn.commit().map_err(dbe)?;
        Ok(deleted)
    }
}

/// A live version of an id, from the key index alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionKey {
    /// `modified` (else `created`) in Unix nanoseconds; [`crate::UNVERSIONED`] for objects
    /// without either.
    pub version: i128,
    pub seq: u64,
}

/// Which committed state of the store a [`Snapshot`] reads: two snapshots with equal
/// watermarks read the same versions and the same withdrawals. Versions are only appended and
/// withdrawals only added, so the last version (its seq and `date_added`, which a rolled-back
/// and rewritten seq does not repeat) and the last withdrawal name the state; the counts guard
/// against a roll-back that happens to end on the same entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermark {
    last_seq: u64,
    last_added_micros: i64,
    versions: u64,
    withdrawals: u64,
    last_withdrawn: Option<(u64, i64)>,
}

impl Watermark {
    /// The seq of the last version the snapshot holds (0 for an empty store): every version a
    /// later commit adds comes after it.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// How many versions were withdrawn in the snapshot's state.
    pub fn withdrawals(&self) -> u64 {
        self.withdrawals
    }

    /// Whether this state may follow `earlier` (nothing it holds is fewer): versions are only
    /// appended and withdrawals only added, so a later state of the same store never has less.
    pub fn may_follow(&self, earlier: &Watermark) -> bool {
        self.last_seq >= earlier.last_seq
            && self.versions >= earlier.versions
            && self.withdrawals >= earlier.withdrawals
    }
}

/// Most withdrawals one call of [`Snapshot::withdrawals`] returns.
pub const WITHDRAWALS_MAX: usize = 10_000;

impl Snapshot<'_> {
    /// Versions withdrawn after the point `after` (withdrawal time in microseconds, then seq),
    /// in the order they were withdrawn, at most `limit` (and [`WITHDRAWALS_MAX`]): each as
    /// (withdrawn at, seq). The cursor is a pair because one deletion withdraws several
    /// versions at the same instant.
    pub fn withdrawals(
        &self,
        after: (i64, u64),
        limit: usize,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let Some(table) = &self.tombstones else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in table.iter().map_err(dbe)? {
            let (seq, at) = entry.map_err(dbe)?;
            let point = (at.value(), seq.value());
            if point > after {
                out.push(point);
            }
        }
        out.sort_unstable();
        out.truncate(limit.min(WITHDRAWALS_MAX));
        Ok(out)
    }

    /// The state this snapshot reads, for caches of what was derived from it.
    pub fn watermark(&self) -> Result<Watermark, StoreError> {
        let (last_seq, last_added_micros) = match self.versions.last().map_err(dbe)? {
            Some((seq, location)) => (seq.value(), location.value().2),
            None => (0, i64::MIN),
        };
        let (withdrawals, last_withdrawn) = match &self.tombstones {
            Some(table) => (
                table.len().map_err(dbe)?,
                table
                    .last()
                    .map_err(dbe)?
                    .map(|(seq, at)| (seq.value(), at.value())),
            ),
            None => (0, None),
        };
        Ok(Watermark {
            last_seq,
            last_added_micros,
            versions: self.versions.len().map_err(dbe)?,
            withdrawals,
            last_withdrawn,
        })
    }

    fn is_withdrawn(&self, seq: u64) -> Result<bool, StoreError> {
        match &self.tombstones {
            Some(table) => Ok(table.get(seq).map_err(dbe)?.is_some()),
            None => Ok(false),
        }
    }

    /// The live versions of `id`, oldest first (at most [`VERSIONS_PER_ID_MAX`]).
    pub fn version_keys(&self, id: &str) -> Result<Vec<VersionKey>, StoreError> {
        let mut out = Vec::new();
        for entry in self
            .keys
            .range((id, i128::MIN)..=(id, i128::MAX))
            .map_err(dbe)?
        {
            let (key, value) = entry.map_err(dbe)?;
            let seq = value.value().0;
            if !self.is_withdrawn(seq)? {
                out.push(VersionKey {
                    version: key.value().1,
                    seq,
                });
            }
            if out.len() >= VERSIONS_PER_ID_MAX {
                break;
            }
        }
        Ok(out)
    }

    /// The seq of the current (latest live) version of `id`.
    pub fn current_seq(&self, id: &str) -> Result<Option<u64>, StoreError> {
        let mut range = self
            .keys
            .range((id, i128::MIN)..=(id, i128::MAX))
            .map_err(dbe)?;
        while let Some(entry) = range.next_back() {
            let seq = entry.map_err(dbe)?.1.value().0;
            if !self.is_withdrawn(seq)? {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }

    /// Calls `visit(id, seq)` with the current (latest live) version of every id the node
    /// holds, in id order: one pass over the key index, for a caller that keeps its own index
    /// of current versions. `visit` returns `false` to stop early.
    pub fn each_current(&self, mut visit: impl FnMut(&str, u64) -> bool) -> Result<(), StoreError> {
        // The keys of one id are adjacent and ordered by version, so an id's current version
        // is the last live one before the id changes. One buffer holds the id being read.
        let mut held = String::new();
        let mut current: Option<u64> = None;
        for entry in self.keys.iter().map_err(dbe)? {
            let (key, value) = entry.map_err(dbe)?;
            let (id, _) = key.value();
            let seq = value.value().0;
            if id != held {
                if let Some(previous) = current.take()
                    && !visit(&held, previous)
                {
                    return Ok(());
                }
                held.clear();
                held.push_str(id);
            }
            if !self.is_withdrawn(seq)? {
                current = Some(seq);
            }
        }
        if let Some(last) = current {
            visit(&held, last);
        }
        Ok(())
    }

    /// The seqs of the versions added after `after_seq`, in order, at most `limit`.
    pub fn seqs_after(&self, after_seq: u64, limit: usize) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        if limit == 0 || after_seq == u64::MAX {
            return Ok(out);
        }
        for entry in self.versions.range(after_seq + 1..).map_err(dbe)? {
            out.push(entry.map_err(dbe)?.0.value());
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The seqs of every withdrawn version, at most `limit` (in seq order).
    pub fn withdrawn_seqs(&self, limit: usize) -> Result<Vec<u64>, StoreError> {
        let Some(table) = &self.tombstones else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in table.iter().map_err(dbe)? {
            if out.len() >= limit {
                break;
            }
            out.push(entry.map_err(dbe)?.0.value());
        }
        Ok(out)
    }

    /// The current (latest live) version of `id`, or `None` when the node does not hold it
    /// (or withdrew every version).
    pub fn current(&self, id: &str) -> Result<Option<StoredVersion>, StoreError> {
        match self.current_seq(id)? {
            Some(seq) => self.version(seq).map(Some),
            None => Ok(None),
        }
    }

    /// The version with this seq (withdrawn or not).
    pub fn version(&self, seq: u64) -> Result<StoredVersion, StoreError> {
        let (offset, length, _) = self
            .versions
            .get(seq)
            .map_err(dbe)?
            .ok_or(StoreError::Corrupt {
                seq,
                message: "an index points at a missing version".into(),
            })?
            .value();
        record::decode(seq, &self.store.bodies.read(offset, length)?)
    }

    /// The versions `selection` keeps with a seq above `after_seq`, in seq order (the order
    /// they were added), examining at most `examine_max` candidates.
    pub fn select<'a>(
        &'a self,
        selection: &'a Selection,
        after_seq: u64,
        examine_max: usize,
    ) -> Result<Selected<'a>, QueryError> {
        selection.check()?;
        let mut start = after_seq.saturating_add(1);
        let mut empty = false;
        if let Some(after) = selection.added_after_micros {
            match first_added_after(&self.versions, after)? {
                Some(seq) => start = start.max(seq),
                None => empty = true,
            }
        }
        let candidates = if empty {
            Candidates::Seqs(Vec::new().into_iter())
        } else if !selection.ids.is_empty() {
            Candidates::Seqs(self.seqs_of_ids(selection, start)?.into_iter())
        } else if !selection.types.is_empty() {
            let mut types: Vec<&str> = selection.types.iter().map(String::as_str).collect();
            types.sort_unstable();
            types.dedup();
            let mut heads = Vec::with_capacity(types.len());
            for object_type in types {
                let mut range = self
                    .by_type
                    .range((object_type, start)..=(object_type, u64::MAX))
                    .map_err(dbe)?;
                let head = next_typed(&mut range)?;
                heads.push((head, range));
            }
            Candidates::Types(heads)
        } else {
            Candidates::Log(Box::new(self.versions.range(start..).map_err(dbe)?))
        };
        Ok(Selected {
            snapshot: self,
            selection,
            candidates,
            current: None,
            examined: 0,
            examine_max,
            last_examined: None,
            budget_spent: false,
            ahead: ReadAhead::default(),
        })
    }

    /// The seqs of the versions of the selected ids that the version match keeps, from
    /// `start`, sorted.
    fn seqs_of_ids(&self, selection: &Selection, start: u64) -> Result<Vec<u64>, StoreError> {
        let mut ids: Vec<&str> = selection.ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut seqs = Vec::new();
        for id in ids {
            if !selection.types.is_empty() && !type_matches(&selection.types, id) {
                continue;
            }
            let live = self.version_keys(id)?;
            let count = live.len();
            for (index, key) in live.iter().enumerate() {
                if key.seq >= start && selection.versions.keeps(key.version, index, count) {
                    seqs.push(key.seq);
                }
            }
        }
        seqs.sort_unstable();
        Ok(seqs)
    }

    /// Whether the version `seq` of `id` is one the version match keeps. `current`, when
    /// given, answers for the current seq of an id at this snapshot's state.
    fn version_kept(
        &self,
        id: &str,
        seq: u64,
        versions: &VersionMatch,
        current: Option<&CurrentSeq<'_>>,
    ) -> Result<bool, StoreError> {
        if versions.all {
            // Withdrawn versions were skipped before this is asked.
            return Ok(true);
        }
        if versions.last {
            let current_seq = match current {
                Some(current) => current(id),
                None => self.current_seq(id)?,
            };
            if current_seq == Some(seq) {
                return Ok(true);
            }
        }
        if versions.first || !versions.at.is_empty() {
            let live = self.version_keys(id)?;
            let count = live.len();
            if let Some(index) = live.iter().position(|k| k.seq == seq) {
                return Ok(versions.keeps(live[index].version, index, count));
            }
        }
        Ok(false)
    }
}

fn type_matches(types: &[String], id: &str) -> bool {
    let object_type = stix::id::type_of(id).unwrap_or("");
    types.iter().any(|t| t == object_type)
}

fn next_typed(range: &mut TypeRange) -> Result<Option<u64>, StoreError> {
    match range.next() {
        Some(entry) => Ok(Some(entry.map_err(dbe)?.0.value().1)),
        None => Ok(None),
    }
}

type TypeRange = redb::Range<'static, (&'static str, u64), ()>;

/// The current seq of an id (`None`: not held), as a caller that keeps its own index of the
/// current versions at a snapshot's state knows it.
pub type CurrentSeq<'a> = dyn Fn(&str) -> Option<u64> + 'a;

/// A candidate seq, with where its body is when the source already knows it.
type Candidate = (u64, Option<(u64, u32)>);

enum Candidates {
    /// Every version, in seq order.
    Log(Box<redb::Range<'static, u64, (u64, u32, i64)>>),
    /// The union of per-type index ranges: each range with its next seq.
    Types(Vec<(Option<u64>, TypeRange)>),
    /// Seqs computed up front (the versions of named ids).
    Seqs(std::vec::IntoIter<u64>),
}

/// The versions a selection keeps, lazily, in seq order. Yields at most what `examine_max`
/// candidates give; [`Selected::exhausted`] then says whether the log has more to examine.
pub struct Selected<'a> {
    snapshot: &'a Snapshot<'a>,
    selection: &'a Selection,
    candidates: Candidates,
    current: Option<&'a CurrentSeq<'a>>,
    examined: usize,
    examine_max: usize,
    last_examined: Option<u64>,
    budget_spent: bool,
    /// Bodies read ahead on a walk of the log, whose bodies lie end to end in the file:
    /// one read for many versions instead of one each.
    ahead: ReadAhead,
}

impl<'a> Selected<'a> {
    /// Asks `current` for the current seq of an id instead of the key index. The caller
    /// vouches that it answers for this snapshot's state, exactly as
    /// [`Snapshot::current_seq`] would.
    pub fn knowing_current(mut self, current: &'a CurrentSeq<'a>) -> Selected<'a> {
        self.current = Some(current);
        self
    }

    /// The seq of the last candidate examined (kept or not): where a walk that stopped after
    /// this iterator returned `None` resumes.
    pub fn resume_after(&self) -> Option<u64> {
        self.last_examined
    }

    /// Whether the iterator stopped because there is nothing more to examine (rather than
    /// because it examined `examine_max` candidates). Meaningful once it returned `None`.
    pub fn exhausted(&self) -> bool {
        !self.budget_spent
    }

    /// Candidates examined so far.
    pub fn examined(&self) -> usize {
        self.examined
    }

    /// The next candidate seq and its body location (`None` for computed seqs).
    fn next_candidate(&mut self) -> Result<Option<Candidate>, StoreError> {
        match &mut self.candidates {
            Candidates::Log(range) => match range.next() {
                Some(entry) => {
                    let (seq, location) = entry.map_err(dbe)?;
                    let (offset, length, _) = location.value();
                    Ok(Some((seq.value(), Some((offset, length)))))
                }
                None => Ok(None),
            },
            Candidates::Types(heads) => {
                let Some(position) = heads
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (head, _))| head.map(|seq| (seq, i)))
                    .min()
                    .map(|(_, i)| i)
                else {
                    return Ok(None);
                };
                let (head, range) = &mut heads[position];
                let seq = head
                    .take()
                    .expect("the minimum was taken from a present head");
                *head = next_typed(range)?;
                Ok(Some((seq, None)))
            }
            Candidates::Seqs(seqs) => Ok(seqs.next().map(|seq| (seq, None))),
        }
    }

    /// Examines one candidate: the version if the selection keeps it.
    fn examine(
        &mut self,
        seq: u64,
        location: Option<(u64, u32)>,
    ) -> Result<Option<StoredVersion>, StoreError> {
        let snapshot = self.snapshot;
        let selection = self.selection;
        if snapshot.is_withdrawn(seq)? {
            return Ok(None);
        }
        let version = match location {
            // Only the log yields locations, in file order: read ahead.
            Some((offset, length)) => {
                record::decode(seq, self.ahead.get(&snapshot.store.bodies, offset, length)?)?
            }
            None => snapshot.version(seq)?,
        };
        // Named ids had their types and versions chosen from the key index up front; the type
        // index yields only the types asked for.
        let from_ids = matches!(self.candidates, Candidates::Seqs(_));
        if !from_ids
            && !snapshot.version_kept(&version.id, seq, &selection.versions, self.current)?
        {
            return Ok(None);
        }
        if !selection.sources.keeps(&version.source) {
            return Ok(None);
        }
        if !selection.spec_versions.is_empty() {
            let spec = spec_version_of(&version)?;
            if !selection.spec_versions.contains(&spec) {
                return Ok(None);
            }
        }
        Ok(Some(version))
    }
}

impl Iterator for Selected<'_> {
    type Item = Result<StoredVersion, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.examined >= self.examine_max {
                self.budget_spent = true;
                return None;
            }
            let (seq, location) = match self.next_candidate() {
                Ok(Some(candidate)) => candidate,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            self.examined += 1;
            self.last_examined = Some(seq);
            match self.examine(seq, location) {
                Ok(Some(version)) => return Some(Ok(version)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The top-level `spec_version` of a stored version ("2.1" when absent).
fn spec_version_of(version: &StoredVersion) -> Result<String, StoreError> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow, default)]
        spec_version: Option<Cow<'a, str>>,
    }
    let head: Head<'_> =
        serde_json::from_slice(&version.canonical_json).map_err(|e| StoreError::Corrupt {
            seq: version.seq,
            message: e.to_string(),
        })?;
    Ok(head
        .spec_version
        .map_or_else(|| "2.1".to_string(), Cow::into_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BundleInput, ImportOptions, import_bundle};

    fn object(id: &str, modified: &str, name: &str) -> String {
        format!(
            r#"{{"type":"{t}","spec_version":"2.1","id":"{id}","created":"2020-01-01T00:00:00.000Z","modified":"{modified}","name":"{name}"}}"#,
            t = stix::id::type_of(id).unwrap()
        )
    }

    fn import(store: &Store, objects: &[String], source: &str) {
        let bundle = format!(
            r#"{{"type":"bundle","id":"bundle--6a2a0a8e-3b4b-4f4f-9b9b-0c0c0c0c0c0c","objects":[{}]}}"#,
            objects.join(",")
        );
        let options = ImportOptions {
            source: source.to_string(),
            ..ImportOptions::default()
        };
        let report = import_bundle(
            store,
            BundleInput::Slice(bundle.as_bytes()),
            &options,
            &mut (),
        )
        .unwrap();
        assert_eq!(report.rejected, 0, "{:?}", report.problems);
    }

    const A: &str = "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";
    const B: &str = "threat-actor--56f3f0db-b5d5-431c-ae56-c18f02caf500";
    const C: &str = "campaign--1d8b5b88-8ff7-4a4d-aa9d-feb398cd0062";

    fn seqs(snapshot: &Snapshot<'_>, selection: &Selection, after: u64) -> Vec<(String, u64)> {
        snapshot
            .select(selection, after, 1_000)
            .unwrap()
            .map(|v| {
                let v = v.unwrap();
                (v.id, v.seq)
            })
            .collect()
    }

    fn store_with_versions() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        import(
            &store,
            &[
                object(A, "2020-01-01T00:00:00.000Z", "a1"),
                object(B, "2020-01-01T00:00:00.000Z", "b1"),
            ],
            "import:x",
        );
        import(
            &store,
            &[object(A, "2021-01-01T00:00:00.000Z", "a2")],
            "peer:bfv",
        );
        import(
            &store,
            &[object(C, "2020-01-01T00:00:00.000Z", "c1")],
            "import:y",
        );
        (dir, store)
    }

    #[test]
    fn selects_by_version_type_id_and_source() {
        let (_dir, store) = store_with_versions();
        let snapshot = store.snapshot().unwrap();
        let last = Selection {
            versions: VersionMatch::last(),
            ..Selection::default()
        };
        assert_eq!(
            seqs(&snapshot, &last, 0),
            vec![(B.into(), 2), (A.into(), 3), (C.into(), 4)]
        );
        let first = Selection {
            versions: VersionMatch {
                first: true,
                ..VersionMatch::default()
            },
            ..Selection::default()
        };
        assert_eq!(
            seqs(&snapshot, &first, 0),
            vec![(A.into(), 1), (B.into(), 2), (C.into(), 4)]
        );
        let campaigns = Selection {
            types: vec!["campaign".into()],
            versions: VersionMatch::all(),
            ..Selection::default()
        };
        assert_eq!(
            seqs(&snapshot, &campaigns, 1),
            vec![(A.into(), 3), (C.into(), 4)]
        );
        let at = Selection {
            ids: vec![A.into()],
            versions: VersionMatch {
                at: vec![
                    stix::Timestamp::parse("2020-01-01T00:00:00Z")
                        .unwrap()
                        .unix_nanos(),
                ],
                ..VersionMatch::default()
            },
            ..Selection::default()
        };
        assert_eq!(seqs(&snapshot, &at, 0), vec![(A.into(), 1)]);
        let received = Selection {
            versions: VersionMatch::all(),
            sources: SourceFilter::Prefixed("peer:".into()),
            ..Selection::default()
        };
        assert_eq!(seqs(&snapshot, &received, 0), vec![(A.into(), 3)]);
        let old_spec = Selection {
            versions: VersionMatch::all(),
            spec_versions: vec!["2.0".into()],
            ..Selection::default()
        };
        assert!(seqs(&snapshot, &old_spec, 0).is_empty());
    }

    /// A time window walks the time index in time order, page by page through its cursor,
    /// keeping only current versions (or all, when asked), of the types asked for, and none
    /// withdrawn.
    #[test]
    fn a_time_window_pages_through_the_time_index_in_time_order() {
        let (_dir, store) = store_with_versions();
        let nanos = |ts: &str| stix::Timestamp::parse(ts).unwrap().unix_nanos();
        let window = |from: &str, to: &str| {
            crate::TimeWindow::new("modified", nanos(from), nanos(to)).unwrap()
        };
        // Every page of `scan`, limit 1, as (id, seq).
        let walk = |mut scan: crate::Scan| {
            scan.limit = 1;
            let mut seen = Vec::new();
            for _ in 0..10 {
                let page = store.scan(&scan).unwrap();
                assert!(page.next_after_seq.is_none());
                seen.extend(page.versions.iter().map(|v| (v.id.clone(), v.seq)));
                match page.next_after_time {
                    Some(point) => scan.after_time = Some(point),
                    None => return seen,
                }
            }
            panic!("the walk does not end: {seen:?}");
        };
        let everything = window("2019-01-01T00:00:00Z", "2022-01-01T00:00:00Z");
        // A's first version (2020) is superseded by its 2021 one: only current versions.
        assert_eq!(
            walk(crate::Scan {
                time: Some(everything.clone()),
                latest_only: true,
                ..crate::Scan::default()
            }),
            [(B.into(), 2), (C.into(), 4), (A.into(), 3)]
        );
        assert_eq!(
            walk(crate::Scan {
                time: Some(everything.clone()),
                ..crate::Scan::default()
            }),
            [(A.into(), 1), (B.into(), 2), (C.into(), 4), (A.into(), 3)]
        );
        assert_eq!(
            walk(crate::Scan {
                time: Some(everything.clone()),
                types: vec!["campaign".into()],
                ..crate::Scan::default()
            }),
            [(A.into(), 1), (C.into(), 4), (A.into(), 3)]
        );
        let only_2021 = window("2020-06-01T00:00:00Z", "2021-12-31T00:00:00Z");
        assert_eq!(
            walk(crate::Scan {
                time: Some(only_2021),
                ..crate::Scan::default()
            }),
            [(A.into(), 3)]
        );
        store.delete(B, &VersionMatch::all()).unwrap();
        assert_eq!(
            walk(crate::Scan {
                time: Some(everything),
                latest_only: true,
                ..crate::Scan::default()
            }),
            [(C.into(), 4), (A.into(), 3)]
        );
        assert!(crate::TimeWindow::new("seen", 0, 1).is_err());
        assert!(crate::TimeWindow::new("modified", 1, 0).is_err());
    }

    /// A clock that goes back must not hide a withdrawal from a peer whose cursor is past
    /// the instant the clock now reads: each withdrawal is recorded after the one before.
    #[test]
    fn withdrawals_stay_in_order_when_the_clock_goes_back() {
        let (_dir, store) = store_with_versions();
        let first = store.delete_at(B, &VersionMatch::all(), 5_000_000).unwrap();
        assert_eq!(first, vec![2]);
        let cursor = store
            .snapshot()
            .unwrap()
            .withdrawals((i64::MIN, 0), 10)
            .unwrap();
        assert_eq!(cursor, vec![(5_000_000, 2)]);
        // The clock stepped back an hour before the next withdrawal.
        let second = store
            .delete_at(C, &VersionMatch::all(), 5_000_000 - 3_600_000_000)
            .unwrap();
        assert_eq!(second, vec![4]);
        let after = store
            .snapshot()
            .unwrap()
            .withdrawals(cursor[0], 10)
            .unwrap();
        assert_eq!(after, vec![(5_000_001, 4)]);
        // Once the clock is past the last instant again, it is used as it reads.
        let third = store
            .delete_at(A, &VersionMatch::last(), 9_000_000)
            .unwrap();
        assert_eq!(third, vec![3]);
        let after = store.snapshot().unwrap().withdrawals(after[0], 10).unwrap();
        assert_eq!(after, vec![(9_000_000, 3)]);
        // Nothing left to withdraw records nothing and moves no instant.
        assert!(
            store
                .delete_at(B, &VersionMatch::all(), 1)
                .unwrap()
                .is_empty()
        );
        let all = store
            .snapshot()
            .unwrap()
            .withdrawals((i64::MIN, 0), 10)
            .unwrap();
        assert_eq!(all, vec![(5_000_000, 2), (5_000_001, 4), (9_000_000, 3)]);
    }

    /// The key-index walk the store offers to a caller that keeps its own index: every id's
    /// current version, a withdrawn current version giving way to the one before, an id with
    /// every version withdrawn gone; and the seqs added after a point, and the withdrawn ones.
    #[test]
    fn each_current_seqs_after_and_withdrawn_seqs() {
        let (_dir, store) = store_with_versions();
        let currents = |store: &Store| {
            let snapshot = store.snapshot().unwrap();
            let mut out = Vec::new();
            snapshot
                .each_current(|id, seq| {
                    out.push((id.to_string(), seq));
                    true
                })
                .unwrap();
            out
        };
        assert_eq!(
            currents(&store),
            vec![(A.into(), 3), (C.into(), 4), (B.into(), 2)]
        );
        let snapshot = store.snapshot().unwrap();
        assert_eq!(snapshot.seqs_after(0, 10).unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(snapshot.seqs_after(2, 1).unwrap(), vec![3]);
        assert!(snapshot.seqs_after(4, 10).unwrap().is_empty());
        assert!(snapshot.seqs_after(u64::MAX, 10).unwrap().is_empty());
        assert!(snapshot.withdrawn_seqs(10).unwrap().is_empty());
        drop(snapshot);
        store.delete(A, &VersionMatch::last()).unwrap();
        store.delete(C, &VersionMatch::all()).unwrap();
        assert_eq!(currents(&store), vec![(A.into(), 1), (B.into(), 2)]);
        let snapshot = store.snapshot().unwrap();
        assert_eq!(snapshot.withdrawn_seqs(10).unwrap(), vec![3, 4]);
        assert_eq!(snapshot.withdrawn_seqs(1).unwrap(), vec![3]);
        // Stopping early stops.
        let mut visited = 0;
        snapshot
            .each_current(|_, _| {
                visited += 1;
                false
            })
            .unwrap();
        assert_eq!(visited, 1);
        let later = snapshot.watermark().unwrap();
        drop(snapshot);
        let fresh = tempfile::tempdir().unwrap();
        let empty = Store::init(fresh.path()).unwrap();
        let earlier = empty.snapshot().unwrap().watermark().unwrap();
        assert!(later.may_follow(&earlier));
        assert!(!earlier.may_follow(&later));
        assert_eq!(later.withdrawals(), 2);
    }

    /// A selection told the current seqs by the caller keeps what the oracle says is current,
    /// and gives the same versions as the store's own answer when the oracle agrees.
    #[test]
    fn a_selection_may_be_told_the_current_versions() {
        let (_dir, store) = store_with_versions();
        let snapshot = store.snapshot().unwrap();
        let last = Selection {
            versions: VersionMatch::last(),
            ..Selection::default()
        };
        let kept = |current: &CurrentSeq<'_>| -> Vec<u64> {
            snapshot
                .select(&last, 0, 100)
                .unwrap()
                .knowing_current(current)
                .map(|v| v.unwrap().seq)
                .collect()
        };
        let agreeing = |id: &str| snapshot.current_seq(id).unwrap();
        assert_eq!(kept(&agreeing), vec![2, 3, 4]);
        // An oracle that knows only A's first version and nothing of C.
        let other = |id: &str| match id {
            A => Some(1),
            B => Some(2),
            _ => None,
        };
        assert_eq!(kept(&other), vec![1, 2]);
    }

    #[test]
    fn a_budget_stops_the_walk_and_says_where() {
        let (_dir, store) = store_with_versions();
        let snapshot = store.snapshot().unwrap();
        let selection = Selection {
            versions: VersionMatch::last(),
            ..Selection::default()
        };
        let mut selected = snapshot.select(&selection, 0, 1).unwrap();
        // Seq 1 is an old version of A: examined, not kept, and the budget is spent.
        assert!(selected.next().is_none());
        assert!(!selected.exhausted());
        assert_eq!(selected.resume_after(), Some(1));
        let mut selected = snapshot.select(&selection, 3, 10).unwrap();
        assert_eq!(selected.next().unwrap().unwrap().seq, 4);
        assert!(selected.next().is_none());
        assert!(selected.exhausted());
    }

    #[test]
    fn deleted_versions_disappear_and_the_previous_one_becomes_current() {
        let (_dir, store) = store_with_versions();
        let deleted = store.delete(A, &VersionMatch::last()).unwrap();
        assert_eq!(deleted, vec![3]);
        let snapshot = store.snapshot().unwrap();
        assert_eq!(snapshot.current_seq(A).unwrap(), Some(1));
        let last = Selection {
            versions: VersionMatch::last(),
            ..Selection::default()
        };
        assert_eq!(
            seqs(&snapshot, &last, 0),
            vec![(A.into(), 1), (B.into(), 2), (C.into(), 4)]
        );
        drop(snapshot);
        assert_eq!(store.delete(A, &VersionMatch::all()).unwrap(), vec![1]);
        assert!(store.delete(A, &VersionMatch::all()).unwrap().is_empty());
        let snapshot = store.snapshot().unwrap();
        assert!(snapshot.current(A).unwrap().is_none());
        assert_eq!(snapshot.current(B).unwrap().unwrap().seq, 2);
    }

    #[test]
    fn added_after_starts_at_the_first_later_version() {
        let (_dir, store) = store_with_versions();
        let snapshot = store.snapshot().unwrap();
        let third = snapshot.version(3).unwrap();
        let selection = Selection {
            added_after_micros: Some(third.date_added_micros),
            versions: VersionMatch::all(),
            ..Selection::default()
        };
        assert_eq!(seqs(&snapshot, &selection, 0), vec![(C.into(), 4)]);
        let selection = Selection {
            added_after_micros: Some(i64::MAX),
            versions: VersionMatch::all(),
            ..Selection::default()
        };
        assert!(seqs(&snapshot, &selection, 0).is_empty());
    }

    #[test]
    fn refuses_unbounded_selections() {
        let selection = Selection {
            ids: vec!["x".into(); SELECTION_IDS_MAX + 1],
            versions: VersionMatch::last(),
            ..Selection::default()
        };
        assert!(matches!(
            selection.check(),
            Err(SelectionError::TooManyIds { .. })
        ));
        assert!(matches!(
            Selection::default().check(),
            Err(SelectionError::NoVersions)
        ));
    }
}
