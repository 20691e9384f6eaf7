//! The release index: the current version of every id the node holds, with its release facts,
//! in memory, for one state of the store.
//!
//! A partner's page is decided by closure, which asks about every object the page refers to:
//! a relationship's ends, and every id nested anywhere in an object (ATT&CK's
//! `x-mitre-collection` names 1,824 objects). Asked of the store, each is a walk of the key
//! index, a read of the version and a scan of its text: about thirty microseconds, so one
//! such object costs a page tens of milliseconds. Asked of this index, each is one hash
//! lookup.
//!
//! The index is built once, in the background, when the server starts (until then pages are
//! decided from the store, as they always could be), and then kept at the store's state by
//! catching up: each request whose snapshot is newer than the index applies the versions
//! added and withdrawn since, re-reading only the ids they touch. A request whose snapshot is
//! not the index's state (older, or too far ahead to catch up at once) is decided from the
//! store; the index never answers for a state it does not hold.
//!
//! Bounded: at most `entries_max` ids (beyond that the index is dropped and not rebuilt:
//! decisions fall back to the store), and one catch-up applies at most [`CATCH_UP_MAX`]
//! versions (beyond that the index is rebuilt in the background).

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use hashbrown::HashTable;
use policy::{FactsShare, ReleaseFacts};
use store::query::{Snapshot, Watermark};
use store::{Store, StoreError, StoredVersion};

use crate::outbound::provenance_of;

/// Most versions (added plus withdrawn) one request applies to catch the index up; a larger
/// gap (a bulk import while serving) is closed by a rebuild in the background. A catch-up
/// holds the index (and so other partner pages) for about ten microseconds a version.
const CATCH_UP_MAX: usize = 20_000;

/// Versions a build reads (on two threads) before filing them. Small in tests, so that the
/// tests' stores take several blocks.
#[cfg(not(test))]
const BUILD_BLOCK: usize = 32_768;
#[cfg(test)]
const BUILD_BLOCK: usize = 333;

/// The current version of one id.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub seq: u64,
    pub facts: Arc<ReleaseFacts>,
}

/// The index at one state of the store.
struct IndexState {
    watermark: Watermark,
    /// The current versions, by the id their facts hold (the id is kept once).
    current: HashTable<Current>,
    hasher: foldhash::fast::RandomState,
    share: FactsShare,
    /// The withdrawn seqs applied, so that a catch-up finds the new ones.
    withdrawn: HashSet<u64>,
}

impl IndexState {
    fn empty(watermark: Watermark, capacity: usize) -> IndexState {
        IndexState {
            watermark,
            current: HashTable::with_capacity(capacity),
            hasher: foldhash::fast::RandomState::default(),
            share: FactsShare::default(),
            withdrawn: HashSet::new(),
        }
    }

    fn get(&self, id: &str) -> Option<&Current> {
        self.current
            .find(self.hasher.hash_one(id), |c| c.facts.id() == id)
    }

    fn remove(&mut self, id: &str) {
        if let Ok(entry) = self
            .current
            .find_entry(self.hasher.hash_one(id), |c| c.facts.id() == id)
        {
            entry.remove();
        }
    }

    /// Files the facts of `seq` as the current version of their id.
    fn put(&mut self, seq: u64, facts: ReleaseFacts) {
        let facts = Arc::new(self.share.share(facts));
        let hasher = &self.hasher;
        let hash = hasher.hash_one(facts.id());
        let current = Current { seq, facts };
        match self
            .current
            .find_mut(hash, |c| c.facts.id() == current.facts.id())
        {
            Some(found) => *found = current,
            None => {
                self.current
                    .insert_unique(hash, current, |c| hasher.hash_one(c.facts.id()));
            }
        }
    }
}

/// The release index a server keeps; see the module documentation.
pub(crate) struct ReleaseIndex {
    /// The store it indexes; `None` for an index that is off.
    store: Option<Arc<Store>>,
    state: RwLock<Option<IndexState>>,
    entries_max: usize,
    /// A build is running (at most one at a time).
    building: AtomicBool,
    /// The store outgrew `entries_max`: never build again.
    refused: AtomicBool,
}

/// The index, read at the state of one snapshot.
pub(crate) struct IndexView<'a>(RwLockReadGuard<'a, Option<IndexState>>);

impl IndexView<'_> {
    /// The current version of `id`, or `None` when the node does not hold it.
    pub(crate) fn get(&self, id: &str) -> Option<&Current> {
        self.0.as_ref().and_then(|state| state.get(id))
    }

    /// The seq of `id`'s current version, or `None` when the node does not hold it.
    pub(crate) fn current_seq(&self, id: &str) -> Option<u64> {
        self.get(id).map(|current| current.seq)
    }

    /// The facts of version `seq` of `id`, when it is the current one.
    pub(crate) fn facts_of_version(&self, id: &str, seq: u64) -> Option<Arc<ReleaseFacts>> {
        self.get(id)
            .filter(|current| current.seq == seq)
            .map(|current| Arc::clone(&current.facts))
    }
}

/// The facts of a stored version: scanned from its text, or taken from the parsed object for
/// text the scan does not take (a property name with escapes).
pub(crate) fn facts_of(version: &StoredVersion) -> Result<ReleaseFacts, StoreError> {
    let provenance = provenance_of(&version.source);
    match ReleaseFacts::from_json(&version.canonical_json, &provenance) {
        Ok(facts) => Ok(facts),
        Err(_) => Ok(ReleaseFacts::of(&version.object()?, &provenance)),
    }
}

impl ReleaseIndex {
    /// An index of `store`, of at most `entries_max` ids (0: off). Nothing is built yet.
    pub(crate) fn new(store: Arc<Store>, entries_max: usize) -> ReleaseIndex {
        ReleaseIndex {
            store: Some(store),
            state: RwLock::new(None),
            entries_max,
            building: AtomicBool::new(false),
            refused: AtomicBool::new(entries_max == 0),
        }
    }

    /// An index that never answers: every decision is made from the store.
    pub(crate) fn off() -> ReleaseIndex {
        ReleaseIndex {
            store: None,
            state: RwLock::new(None),
            entries_max: 0,
            building: AtomicBool::new(false),
            refused: AtomicBool::new(true),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<IndexState>> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<IndexState>> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the index holds some state (it may still be behind the store).
    pub(crate) fn is_built(&self) -> bool {
        self.read().is_some()
    }

    /// How many ids the index holds (0 before it is built).
    pub(crate) fn len(&self) -> usize {
        self.read().as_ref().map_or(0, |state| state.current.len())
    }

    /// Builds the index from the store's current state, in this thread, unless one is
    /// building. Returns whether the index is built afterwards.
    pub(crate) fn build(&self) -> Result<bool, StoreError> {
        let Some(store) = &self.store else {
            return Ok(false);
        };
        if self.refused.load(Ordering::Relaxed) || self.building.swap(true, Ordering::AcqRel) {
            return Ok(self.is_built());
        }
        let built = self.build_state(store);
        // Installed before the build is said to be over, so that no second build starts for
        // an index that is about to be there.
        let answer = match built {
            Ok(Some(state)) => {
                *self.write() = Some(state);
                Ok(true)
            }
            Ok(None) => {
                self.refused.store(true, Ordering::Relaxed);
                *self.write() = None;
                crate::log(&format!(
                    "the release index is off: the store holds more than {} objects; partner \
                     pages are decided from the store",
                    self.entries_max
                ));
                Ok(false)
            }
            Err(e) => Err(e),
        };
        self.building.store(false, Ordering::Release);
        answer
    }

    /// Builds the index in a thread of its own.
    pub(crate) fn build_in_background(self: &Arc<Self>) {
        if self.store.is_none()
            || self.refused.load(Ordering::Relaxed)
            || self.building.load(Ordering::Acquire)
        {
            return;
        }
        let index = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("release-index".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match index.build() {
                    Ok(true) => crate::log(&format!(
                        "release index: {} objects in {} ms",
                        index.len(),
                        started.elapsed().as_millis()
                    )),
                    Ok(false) => {}
                    Err(e) => crate::log(&format!(
                        "the release index could not be built ({e}); partner pages are \
                         decided from the store"
                    )),
                }
            });
        if let Err(e) = spawned {
            crate::log(&format!("the release index could not start a thread: {e}"));
        }
    }

    /// `None` when the store holds more than `entries_max` ids.
    fn build_state(&self, store: &Store) -> Result<Option<IndexState>, StoreError> {
        let snapshot = store.snapshot()?;
        let watermark = snapshot.watermark()?;
        let mut seqs: Vec<u64> = Vec::new();
        let mut too_many = false;
        snapshot.each_current(|_, seq| {
            if seqs.len() >= self.entries_max {
                too_many = true;
                return false;
            }
            seqs.push(seq);
            true
        })?;
        if too_many {
            return Ok(None);
        }
        // In seq order, the versions are read in the order they lie in the data file. Reading
        // and scanning them is most of the build, and a server that starts has little else to
        // do: two threads read the halves of each block of the one snapshot, and the block is
        // filed (sharing parts) before the next is read, so unshared facts never pile up.
        seqs.sort_unstable();
        let read = |part: &[u64]| -> Result<Vec<ReleaseFacts>, StoreError> {
            part.iter()
                .map(|&seq| facts_of(&snapshot.version(seq)?))
                .collect()
        };
        let mut state = IndexState::empty(watermark, seqs.len());
        for block in seqs.chunks(BUILD_BLOCK) {
            let half = block.len().div_ceil(2);
            let (first, second) = std::thread::scope(|scope| {
                let second = scope.spawn(|| read(&block[half..]));
                (read(&block[..half]), second.join())
            });
            let second = second.map_err(|_| StoreError::Corrupt {
                seq: 0,
                message: "a release index thread panicked".into(),
            })?;
            for (&seq, facts) in block.iter().zip(first?.into_iter().chain(second?)) {
                state.put(seq, facts);
            }
        }
        state.withdrawn = snapshot.withdrawn_seqs(usize::MAX)?.into_iter().collect();
        Ok(Some(state))
    }

    /// The index at `snapshot`'s state, catching it up first when the snapshot is newer; `None`
    /// when it cannot answer for that state (not built, the snapshot is older, or the gap is
    /// too large: then a rebuild starts in the background).
    pub(crate) fn view<'a>(
        self: &'a Arc<Self>,
        snapshot: &Snapshot<'_>,
        watermark: Watermark,
    ) -> Option<IndexView<'a>> {
        {
            let guard = self.read();
            match guard.as_ref() {
                None => return None,
                Some(state) if state.watermark == watermark => return Some(IndexView(guard)),
                Some(state) if !watermark.may_follow(&state.watermark) => return None,
                Some(_) => {}
            }
        }
        match self.catch_up(snapshot, watermark) {
            Ok(true) => {}
            Ok(false) => {
                self.build_in_background();
                return None;
            }
            Err(e) => {
                crate::log(&format!("the release index could not catch up: {e}"));
                *self.write() = None;
                self.build_in_background();
                return None;
            }
        }
        let guard = self.read();
        match guard.as_ref() {
            Some(state) if state.watermark == watermark => Some(IndexView(guard)),
            _ => None,
        }
    }

    /// Applies what `snapshot` holds beyond the index's state. Returns whether the index is at
    /// the snapshot's state (or another request moved it elsewhere first); `false` when the
    /// gap is too large, and the index is dropped for a rebuild.
    fn catch_up(&self, snapshot: &Snapshot<'_>, watermark: Watermark) -> Result<bool, StoreError> {
        let mut guard = self.write();
        let Some(state) = guard.as_mut() else {
            return Ok(false);
        };
        if state.watermark == watermark || !watermark.may_follow(&state.watermark) {
            // Another request caught it up, or past this snapshot: the caller checks again.
            return Ok(true);
        }
        let added = snapshot.seqs_after(state.watermark.last_seq(), CATCH_UP_MAX + 1)?;
        let newly_withdrawn =
            watermark.withdrawals() as usize - state.watermark.withdrawals() as usize;
        if added.len() + newly_withdrawn > CATCH_UP_MAX {
            *guard = None;
            return Ok(false);
        }
        let mut touched: HashSet<String> = HashSet::new();
        for seq in added {
            touched.insert(snapshot.version(seq)?.id);
        }
        if newly_withdrawn > 0 {
            for seq in snapshot.withdrawn_seqs(usize::MAX)? {
                if state.withdrawn.insert(seq) {
                    touched.insert(snapshot.version(seq)?.id);
                }
            }
        }
        for id in touched {
            match snapshot.current_seq(&id)? {
                None => state.remove(&id),
                Some(seq) if state.get(&id).is_some_and(|c| c.seq == seq) => {}
                Some(seq) => state.put(seq, facts_of(&snapshot.version(seq)?)?),
            }
        }
        if state.current.len() > self.entries_max || state.withdrawn.len() > self.entries_max {
            self.refused.store(true, Ordering::Relaxed);
            *guard = None;
            crate::log(&format!(
                "the release index is off: the store outgrew {} objects; partner pages are \
                 decided from the store",
                self.entries_max
            ));
            return Ok(false);
        }
        state.watermark = watermark;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use policy::Policy;
    use serde_json::{Value, json};
    use store::query::{Selection, VersionMatch};

    use super::*;
    use crate::outbound::{self, Caches, FactsCache, HeldCache, MembershipCache};
    use crate::test_support::import;

    const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

    /// ICS ATT&CK 18.1 (real data), each object GREEN and one in four AMBER, as the TAXII
    /// benchmark marks it, so that a partner cleared for GREEN sees a real policy decision:
    /// AMBER objects withheld, relationships to them withheld, and the collection's list of
    /// contents filtered.
    fn ics_objects() -> Vec<Value> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/stix/ics-attack-18.1.json");
        let text = std::fs::read(&path).expect("the ICS ATT&CK bundle in ../shared/data");
        let bundle: Value = serde_json::from_slice(&text).unwrap();
        let mut objects = bundle["objects"].as_array().unwrap().clone();
        for (n, object) in objects.iter_mut().enumerate() {
            if object["type"] == "marking-definition" {
                continue;
            }
            let marking = if n % 4 == 3 { AMBER } else { GREEN };
            let mut refs = object["object_marking_refs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            refs.push(json!(marking));
            object["object_marking_refs"] = Value::Array(refs);
        }
        objects
    }

    fn loaded() -> (tempfile::TempDir, Arc<Store>, Vec<Value>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let objects = ics_objects();
        import(&store, objects.clone());
        (dir, Arc::new(store), objects)
    }

    /// The index holds exactly the store's current versions, each with the facts of its text.
    fn assert_matches_store(index: &Arc<ReleaseIndex>, store: &Store) {
        let snapshot = store.snapshot().unwrap();
        let watermark = snapshot.watermark().unwrap();
        let view = index.view(&snapshot, watermark).expect("the index answers");
        let mut held = 0;
        snapshot
            .each_current(|id, seq| {
                held += 1;
                assert_eq!(snapshot.current_seq(id).unwrap(), Some(seq), "{id}");
                let current = view.get(id).unwrap_or_else(|| panic!("{id} is indexed"));
                assert_eq!(current.seq, seq, "{id}");
                let facts = facts_of(&snapshot.version(seq).unwrap()).unwrap();
                assert_eq!(*current.facts, facts, "{id}");
                true
            })
            .unwrap();
        assert!(held > 0);
        drop(view);
        assert_eq!(index.len(), held);
    }

    #[test]
    fn the_index_holds_every_current_version_and_nothing_else() {
        let (_dir, store, objects) = loaded();
        let index = Arc::new(ReleaseIndex::new(Arc::clone(&store), 1_000_000));
        assert!(!index.is_built());
        assert!(index.build().unwrap());
        assert_eq!(index.len(), objects.len());
        assert_matches_store(&index, &store);
        let snapshot = store.snapshot().unwrap();
        let view = index
            .view(&snapshot, snapshot.watermark().unwrap())
            .unwrap();
        assert!(
            view.get("attack-pattern--00000000-0000-4000-8000-000000000000")
                .is_none()
        );
        assert!(view.get("").is_none());
    }

    /// New objects, a newer version, an older version arriving late, and withdrawals (of a
    /// current version, which makes the one before it current, and of every version of an id)
    /// are caught up from the store; a snapshot older than the index gets no answer.
    #[test]
    fn the_index_catches_up_with_versions_added_and_withdrawn() {
        let (_dir, store, objects) = loaded();
        let index = Arc::new(ReleaseIndex::new(Arc::clone(&store), 1_000_000));
        assert!(index.build().unwrap());
        let before = store.snapshot().unwrap();
        let before_watermark = before.watermark().unwrap();

        let versioned: Vec<&Value> = objects
            .iter()
            .filter(|o| o["modified"].is_string() && o["type"] != "marking-definition")
            .take(6)
            .collect();
        let newer = |o: &Value, modified: &str| {
            let mut o = o.clone();
            o["modified"] = json!(modified);
            o
        };
        let mut later = Vec::new();
        // Three ids get a newer version; one of them also gets an older one, late.
        for o in &versioned[..3] {
            later.push(newer(o, "2030-01-01T00:00:00.000Z"));
        }
        let mut older = versioned[0].clone();
        older["created"] = json!("2001-01-01T00:00:00.000Z");
        older["modified"] = json!("2001-01-01T00:00:00.000Z");
        later.push(older);
        later.push(json!({
            "type": "intrusion-set", "spec_version": "2.1",
            "id": "intrusion-set--2f1b5c3e-9a4d-4c1e-8b7a-6d5e4f3a2b1c",
            "created": "2024-03-22T00:00:00.000Z", "modified": "2024-03-22T00:00:00.000Z",
            "name": "Crocus cell", "object_marking_refs": [GREEN],
        }));
        import(&store, later);
        // The newer version of the second id is withdrawn (its old one is current again), and
        // every version of the fourth id.
        let second = versioned[1]["id"].as_str().unwrap();
        let fourth = versioned[3]["id"].as_str().unwrap();
        assert_eq!(
            store.delete(second, &VersionMatch::last()).unwrap().len(),
            1
        );
        assert_eq!(store.delete(fourth, &VersionMatch::all()).unwrap().len(), 1);

        assert_matches_store(&index, &store);
        let snapshot = store.snapshot().unwrap();
        let view = index
            .view(&snapshot, snapshot.watermark().unwrap())
            .unwrap();
        assert!(view.get(fourth).is_none());
        assert!(
            view.get("intrusion-set--2f1b5c3e-9a4d-4c1e-8b7a-6d5e4f3a2b1c")
                .is_some()
        );
        drop(view);
        assert!(index.view(&before, before_watermark).is_none());
    }

    #[test]
    fn a_store_beyond_the_bound_gets_no_index() {
        let (_dir, store, _) = loaded();
        let index = Arc::new(ReleaseIndex::new(Arc::clone(&store), 100));
        assert!(!index.build().unwrap());
        let snapshot = store.snapshot().unwrap();
        assert!(
            index
                .view(&snapshot, snapshot.watermark().unwrap())
                .is_none()
        );
        // Refused for good: a later build does not try again.
        assert!(!index.build().unwrap());
        let off = Arc::new(ReleaseIndex::off());
        assert!(!off.build().unwrap());
        assert!(off.view(&snapshot, snapshot.watermark().unwrap()).is_none());
    }

    /// Every page of a GREEN partner's walk is the same, byte for byte, whether closure asks
    /// the index or the store.
    #[test]
    fn pages_decided_through_the_index_are_the_pages_decided_from_the_store() {
        let (_dir, store, _) = loaded();
        let policy = Arc::new(
            Policy::from_toml_str(
                r#"version = 1
neutral_markings = ["marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"]

[[partner]]
name = "bfv"
identity_ref = "identity--256c665f-9234-4db4-91aa-1cdfe6c8e1a4"
role = "partner"

[[rule]]
name = "green"
everyone = true
tlp_max = "green"
"#,
            )
            .unwrap(),
        );
        let caches = |index: ReleaseIndex| Caches {
            held: HeldCache::new(64),
            facts: FactsCache::new(64),
            memberships: MembershipCache::new(1),
            index: Arc::new(index),
        };
        let indexed = caches(ReleaseIndex::new(Arc::clone(&store), 1_000_000));
        assert!(indexed.index.build().unwrap());
        let plain = caches(ReleaseIndex::off());
        let selection = Selection {
            versions: VersionMatch::last(),
            ..Selection::default()
        };
        let walk = |caches: &Caches| {
            let (mut bodies, mut after, mut released) = (Vec::new(), 0, 0);
            loop {
                let snapshot = store.snapshot().unwrap();
                let page = outbound::page(
                    &snapshot, caches, &policy, "bfv", &selection, after, 50, 10_000,
                )
                .unwrap();
                released += page.items.len();
                bodies.push(outbound::envelope(&page, None).unwrap());
                match page.next_after.filter(|_| page.more) {
                    Some(next) => after = next,
                    None => return (bodies, released),
                }
            }
        };
        let (through_index, released) = walk(&indexed);
        let (from_store, _) = walk(&plain);
        // Some released, some withheld: the walk decided something.
        assert!(released > 500 && released < 1_500, "{released} released");
        assert_eq!(through_index.len(), from_store.len());
        for (n, (a, b)) in through_index.iter().zip(&from_store).enumerate() {
            assert!(a == b, "page {n} differs");
        }
        // The collection is released with its contents filtered: AMBER ids are gone from it.
        let all = String::from_utf8(through_index.concat()).unwrap();
        assert!(all.contains("x-mitre-collection"));
    }
}
