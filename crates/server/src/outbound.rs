//! The one way out of the node: stored versions become [`Released`] copies through
//! `policy`'s [`Releaser`], and only `Released` values become response bodies.
//!
//! Every TAXII body that carries STIX objects, manifest entries or versions is written by the
//! functions of this module from a [`Page`] of `Released` values, and a `Released` can only be
//! made here, from the policy's [`Release`] (of a parsed object) or [`policy::StoredRelease`]
//! (of a stored version's text, which the policy decides from its release facts without
//! parsing it: most versions). Analysts are no exception: the policy releases
//! everything to them, but it is still the policy that says so. A version the policy withholds
//! leaves no trace in a body: not its object, not its manifest entry, not its version string.
//!
//! The resolver the policy uses to decide references reads the same [`Snapshot`] as the page,
//! so a decision and the objects it looked at are one consistent state of the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use policy::{
    AsHeld, Decision, Held, Memberships, Policy, Provenance, Release, ReleaseFacts, Releaser,
    Resolver, StoredDecision,
};
use store::StoredVersion;
use store::query::{Selection, Snapshot, Watermark};

use crate::files::micros_text;
use crate::node::VersionName;
use crate::release_index::{IndexView, ReleaseIndex, facts_of};
use crate::taxii::collections::PEER_SOURCE_PREFIX;
use crate::taxii::error::TaxiiError;
use crate::taxii::media::STIX_MEDIA_TYPE;
use crate::taxii::params::encode_cursor;

/// Where the node got a version, from the source label the store keeps with it: what a
/// partner pushed (`peer:NAME`) was received from that partner; everything else (imports,
/// analysts) is the node's own.
pub(crate) fn provenance_of(source: &str) -> Provenance {
    match source.strip_prefix(PEER_SOURCE_PREFIX) {
        Some(peer) => Provenance::Received {
            peer: peer.to_string(),
        },
        None => Provenance::Local,
    }
}

/// What release decisions derived from stored versions, by seq, shared by all requests: the
/// parsed versions ([`HeldCache`]) and their release facts ([`FactsCache`]). A stored version
/// never changes, and neither depends on a policy or a partner, so an entry is never stale;
/// which version of an id is current is asked of each request's snapshot, never of a cache.
///
/// Bounded by two generations of `entries_max / 2`: when the young one fills, the old one is
/// dropped (outside the lock) and the young one becomes old, so recently used entries survive
/// and no request waits on a large drop.
pub(crate) struct SeqCache<T> {
    generations: Mutex<Generations<T>>,
    generation_max: usize,
}

/// Parsed versions that release decisions looked up.
pub(crate) type HeldCache = SeqCache<Held>;

/// Release facts of versions that release decisions looked up.
pub(crate) type FactsCache = SeqCache<ReleaseFacts>;

struct Generations<T> {
    young: HashMap<u64, Arc<T>>,
    old: HashMap<u64, Arc<T>>,
}

impl<T: Send + Sync + 'static> SeqCache<T> {
    pub(crate) fn new(entries_max: usize) -> SeqCache<T> {
        SeqCache {
            generations: Mutex::new(Generations {
                young: HashMap::new(),
                old: HashMap::new(),
            }),
            generation_max: (entries_max / 2).max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations<T>> {
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, seq: u64) -> Option<Arc<T>> {
        let generations = self.lock();
        generations
            .young
            .get(&seq)
            .or_else(|| generations.old.get(&seq))
            .cloned()
    }

    fn insert(&self, seq: u64, value: Arc<T>) {
        let dropped = {
            let mut generations = self.lock();
            generations.young.insert(seq, value);
            if generations.young.len() >= self.generation_max {
                let young = std::mem::take(&mut generations.young);
                Some(std::mem::replace(&mut generations.old, young))
            } else {
                None
            }
        };
        // A generation of facts is tens of thousands of small allocations: freeing them would
        // stall this request for milliseconds, so another thread does it.
        if let Some(old) = dropped.filter(|old| !old.is_empty()) {
            let spawned = std::thread::Builder::new()
                .name("cache-drop".into())
                .spawn(move || drop(old));
            // Without a thread, this request frees them itself.
            drop(spawned);
        }
    }
}

/// Gives the policy the node's current version of a referenced id, or its release facts, from
/// the page's snapshot. A version that cannot be read counts as not held, which only ever
/// withholds more.
struct SnapshotResolver<'s> {
    snapshot: &'s Snapshot<'s>,
    held: &'s HeldCache,
    facts: &'s FactsCache,
    /// The release index at the snapshot's state, when it has one.
    index: Option<&'s IndexView<'s>>,
}

impl SnapshotResolver<'_> {
    fn current_seq(&self, id: &str) -> Result<Option<u64>, store::StoreError> {
        match self.index {
            Some(index) => Ok(index.current_seq(id)),
            None => self.snapshot.current_seq(id),
        }
    }

    fn lookup(&self, id: &str) -> Result<Option<Arc<Held>>, store::StoreError> {
        let Some(seq) = self.current_seq(id)? else {
            return Ok(None);
        };
        if let Some(held) = self.held.get(seq) {
            return Ok(Some(held));
        }
        let version = self.snapshot.version(seq)?;
        let held = Arc::new(Held {
            object: version.object()?,
            provenance: provenance_of(&version.source),
        });
        self.held.insert(seq, Arc::clone(&held));
        Ok(Some(held))
    }

    /// The facts of a version a page is deciding: from the index when it is its id's current
    /// version, else the cache, else scanned from its text (and kept: the versions a page
    /// releases are often the ones later pages refer to, an object, then the relationships
    /// that name it). `None` for text the scan does not take; the object then decides.
    fn facts_of_version(
        &self,
        version: &StoredVersion,
        provenance: &Provenance,
    ) -> Option<Arc<ReleaseFacts>> {
        if let Some(facts) = self
            .index
            .and_then(|index| index.facts_of_version(&version.id, version.seq))
            .or_else(|| self.facts.get(version.seq))
        {
            return Some(facts);
        }
        let taken = Arc::new(ReleaseFacts::from_json(&version.canonical_json, provenance).ok()?);
        self.facts.insert(version.seq, Arc::clone(&taken));
        Some(taken)
    }

    /// The facts of the current version: from the cache, else from a parsed version at hand,
    /// else scanned from the stored text (no values built but the references).
    fn lookup_facts(&self, id: &str) -> Result<Option<Arc<ReleaseFacts>>, store::StoreError> {
        if let Some(index) = self.index {
            return Ok(index.get(id).map(|current| Arc::clone(&current.facts)));
        }
        let Some(seq) = self.snapshot.current_seq(id)? else {
            return Ok(None);
        };
        if let Some(facts) = self.facts.get(seq) {
            return Ok(Some(facts));
        }
        let facts = match self.held.get(seq) {
            Some(held) => ReleaseFacts::of(&held.object, &held.provenance),
            None => facts_of(&self.snapshot.version(seq)?)?,
        };
        let facts = Arc::new(facts);
        self.facts.insert(seq, Arc::clone(&facts));
        Ok(Some(facts))
    }
}

fn logged<T>(id: &str, found: Result<Option<T>, store::StoreError>) -> Option<T> {
    found.unwrap_or_else(|e| {
        crate::log(&format!("resolving {id} for a release decision: {e}"));
        None
    })
}

impl Resolver for SnapshotResolver<'_> {
    fn resolve(&self, id: &str) -> Option<Held> {
        self.resolve_shared(id).map(|held| Held::clone(&held))
    }

    fn resolve_shared(&self, id: &str) -> Option<Arc<Held>> {
        logged(id, self.lookup(id))
    }

    fn resolve_facts(&self, id: &str) -> Option<Arc<ReleaseFacts>> {
        logged(id, self.lookup_facts(id))
    }
}

/// What release decisions learnt about referenced objects, per partner, kept from one request
/// to the next while it stays true: only for the same policy (the `Arc` in force; a reload
/// makes a new one) and the same store state (the snapshot's [`Watermark`]; a new version or a
/// withdrawal moves it). A request whose policy or snapshot differs starts afresh, and what it
/// learns replaces the entry.
///
/// Bounded: one entry per partner of the policy in force (at most `partners_max`, else the
/// table is cleared), and each entry by the releaser's own memo bound.
pub(crate) struct MembershipCache {
    entries: Mutex<HashMap<String, Learnt>>,
    partners_max: usize,
}

struct Learnt {
    policy: Arc<Policy>,
    watermark: Watermark,
    memberships: Memberships,
}

impl MembershipCache {
    pub(crate) fn new(partners_max: usize) -> MembershipCache {
        MembershipCache {
            entries: Mutex::new(HashMap::new()),
            partners_max: partners_max.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Learnt>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes what was learnt for `partner` under this policy and store state (a concurrent
    /// request of the same partner then starts afresh).
    fn take(&self, partner: &str, policy: &Arc<Policy>, watermark: Watermark) -> Memberships {
        let found = self.lock().remove(partner);
        match found {
            Some(learnt)
                if Arc::ptr_eq(&learnt.policy, policy) && learnt.watermark == watermark =>
            {
                learnt.memberships
            }
            _ => Memberships::default(),
        }
    }

    fn put(
        &self,
        partner: &str,
        policy: &Arc<Policy>,
        watermark: Watermark,
        memberships: Memberships,
    ) {
        let mut entries = self.lock();
        if entries.len() >= self.partners_max && !entries.contains_key(partner) {
            entries.clear();
        }
        entries.insert(
            partner.to_string(),
            Learnt {
                policy: Arc::clone(policy),
                watermark,
                memberships,
            },
        );
    }
}

/// A version the policy released to the caller, as the caller may receive it.
pub(crate) struct Released {
    pub seq: u64,
    pub date_added_micros: i64,
    content: Content,
}

/// What goes out for one version.
enum Content {
    /// The copy the policy released, with the stored canonical text of the version when the
    /// policy says the copy is that version unchanged.
    Release {
        release: Release,
        unchanged_json: Option<Vec<u8>>,
    },
    /// The version as stored (its canonical JSON), for a caller the policy releases everything
    /// to as held ([`AsHeld`]): the node's analysts. Nothing to parse, copy or re-serialise.
    AsHeld { id: String, canonical_json: Vec<u8> },
    /// The copy the policy released from the stored text itself ([`StoredRelease`]): the text
    /// as stored or as the policy rewrote it, canonical either way.
    Stored { id: String, canonical_json: Vec<u8> },
}

impl Released {
    /// The version string TAXII reports: the copy's `modified`, else `created`, else (for
    /// objects STIX does not version) when the node added it.
    fn version_text(&self) -> Result<String, TaxiiError> {
        match &self.content {
            Content::Release { release, .. } => Ok(VersionName::of_map(release.object().as_map())
                .version(|| micros_text(self.date_added_micros))),
            Content::AsHeld { canonical_json, .. } | Content::Stored { canonical_json, .. } => Ok(
                crate::node::version_text(canonical_json, self.date_added_micros),
            ),
        }
    }

    fn id(&self) -> &str {
        match &self.content {
            Content::Release { release, .. } => release.object().id(),
            Content::AsHeld { id, .. } | Content::Stored { id, .. } => id,
        }
    }
}

/// What the outbound path keeps across requests.
pub(crate) struct Caches {
    pub held: HeldCache,
    pub facts: FactsCache,
    pub memberships: MembershipCache,
    pub index: Arc<ReleaseIndex>,
}

/// One page of released versions.
pub(crate) struct Page {
    pub items: Vec<Released>,
    /// Whether more may follow (then `next_after` is where).
    pub more: bool,
    pub next_after: Option<u64>,
}

impl Page {
    /// `X-TAXII-Date-Added-First` and `-Last`: when the first and last items were added.
    pub(crate) fn date_added_range(&self) -> Option<(String, String)> {
        let first = self.items.first()?;
        let last = self.items.last()?;
        Some((
            micros_text(first.date_added_micros),
            micros_text(last.date_added_micros),
        ))
    }
}

/// Walks the versions `selection` keeps after `after_seq`, releasing each to `partner`, until
/// `limit` are released (and one more is known to follow), the log ends, or `examine_max`
/// versions were examined.
#[allow(clippy::too_many_arguments)]
pub(crate) fn page(
    snapshot: &Snapshot<'_>,
    caches: &Caches,
    policy: &Arc<Policy>,
    partner: &str,
    selection: &Selection,
    after_seq: u64,
    limit: usize,
    examine_max: usize,
) -> Result<Page, TaxiiError> {
    let watermark = snapshot.watermark()?;
    let index = caches.index.view(snapshot, watermark);
    let resolver = SnapshotResolver {
        snapshot,
        held: &caches.held,
        facts: &caches.facts,
        index: index.as_ref(),
    };
    let learnt = &caches.memberships;
    let mut releaser = policy
        .releaser(partner, &resolver)
        .with_memberships(learnt.take(partner, policy, watermark));
    let page = page_with(
        &mut releaser,
        &resolver,
        selection,
        after_seq,
        limit,
        examine_max,
    );
    learnt.put(partner, policy, watermark, releaser.into_memberships());
    page
}

/// `known` is what the releaser resolves through: the page's own versions are selected from
/// its snapshot and looked up in the same index and caches.
fn page_with(
    releaser: &mut Releaser<'_>,
    known: &SnapshotResolver<'_>,
    selection: &Selection,
    after_seq: u64,
    limit: usize,
    examine_max: usize,
) -> Result<Page, TaxiiError> {
    let index = known.index;
    let current_seq = |id: &str| index.and_then(|index| index.current_seq(id));
    let mut selected = known.snapshot.select(selection, after_seq, examine_max)?;
    if index.is_some() {
        selected = selected.knowing_current(&current_seq);
    }
    let mut items: Vec<Released> = Vec::with_capacity(limit.min(1_024));
    let mut more = false;
    // Decided once for the whole page: the policy releases everything to this caller as held.
    let as_held = releaser.releases_as_held();
    for version in &mut selected {
        let version = version?;
        let released = match &as_held {
            Some(word) => Some(release_as_held(word, version)),
            None => release(releaser, known, version)?,
        };
        let Some(released) = released else {
            continue;
        };
        if items.len() == limit {
            // One more is released: the page is full and `more` is certain.
            more = true;
            break;
        }
        items.push(released);
    }
    let next_after = if more {
        items.last().map(|r| r.seq)
    } else if !selected.exhausted() {
        // The examination budget ran out: more may follow, from where it stopped.
        more = true;
        selected.resume_after()
    } else {
        None
    };
    Ok(Page {
        items,
        more,
        next_after,
    })
}

/// A stored version as it is, on the policy's word that this caller receives everything so.
fn release_as_held(_word: &AsHeld, version: StoredVersion) -> Released {
    Released {
        seq: version.seq,
        date_added_micros: version.date_added_micros,
        content: Content::AsHeld {
            id: version.id,
            canonical_json: version.canonical_json,
        },
    }
}

/// Releases one stored version, or `None` if the policy withholds it: from its release facts
/// and stored text when the policy can decide so (most versions: nothing is parsed), else from
/// the parsed object.
fn release(
    releaser: &mut Releaser<'_>,
    known: &SnapshotResolver<'_>,
    version: StoredVersion,
) -> Result<Option<Released>, TaxiiError> {
    let provenance = provenance_of(&version.source);
    if let Some(facts) = known.facts_of_version(&version, &provenance) {
        match releaser.release_stored(&facts, &version.canonical_json) {
            StoredDecision::Withhold(_) => return Ok(None),
            StoredDecision::Release(stored) => {
                return Ok(Some(Released {
                    seq: version.seq,
                    date_added_micros: version.date_added_micros,
                    content: Content::Stored {
                        id: version.id,
                        canonical_json: stored.into_text(version.canonical_json),
                    },
                }));
            }
            StoredDecision::NeedsObject => {}
        }
    }
    let object = version.object()?;
    Ok(match releaser.release_owned(object, &provenance) {
        Decision::Release(release) => Some(Released {
            seq: version.seq,
            date_added_micros: version.date_added_micros,
            content: Content::Release {
                unchanged_json: release.is_unchanged().then_some(version.canonical_json),
                release,
            },
        }),
        Decision::Withhold(_) => None,
    })
}

/// The start of an envelope, manifest or versions resource: `more` and `next`.
fn open(out: &mut Vec<u8>, page: &Page, list: &str) {
    out.extend_from_slice(b"{\"more\":");
    out.extend_from_slice(if page.more { b"true" } else { b"false" });
    if let Some(after) = page.next_after.filter(|_| page.more) {
        out.extend_from_slice(b",\"next\":\"");
        out.extend_from_slice(encode_cursor(after).as_bytes());
        out.push(b'"');
    }
    if !page.items.is_empty() {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(list.as_bytes());
        out.extend_from_slice(b"\":[");
    }
}

fn close(out: &mut Vec<u8>, page: &Page) {
    if !page.items.is_empty() {
        out.push(b']');
    }
    out.push(b'}');
}

/// The envelope resource of Get Objects and Get An Object, in RFC 8785 canonical form (its
/// members `more`, `next` and `objects` are already in canonical order, and each object is
/// written canonically), so the body is exactly what the node's page signature covers. With
/// `ledger`, also the ledger's `Released` record of each object for `partner`.
pub(crate) fn envelope(
    page: &Page,
    mut ledger: Option<(&str, &mut Vec<ledger::Entry>)>,
) -> Result<Vec<u8>, TaxiiError> {
    let size: usize = page.items.len() * 2_048 + 64;
    let mut out = Vec::with_capacity(size);
    open(&mut out, page, "objects");
    let recorded_at_unix_ms = crate::node::now_ms();
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let start = out.len();
        match &item.content {
            // The copy is the version as stored, which is kept in canonical form.
            Content::Release {
                unchanged_json: Some(canonical_json),
                ..
            } => out.extend_from_slice(canonical_json),
            Content::Release {
                release,
                unchanged_json: None,
            } => out.extend_from_slice(&stix::canonical::canonical_object(
                release.object().as_map(),
            )),
            // Stored versions are kept in canonical form already, and the policy's rewrites of
            // them are canonical too.
            Content::AsHeld { canonical_json, .. } | Content::Stored { canonical_json, .. } => {
                out.extend_from_slice(canonical_json)
            }
        }
        if let Some((partner, entries)) = ledger.as_mut() {
            entries.push(ledger::Entry::Released {
                recorded_at_unix_ms,
                partner: (*partner).to_string(),
                object_id: item.id().to_string(),
                version: item.version_text()?,
                content_hash: hex::encode(stix::canonical::content_hash(&out[start..])),
            });
        }
    }
    close(&mut out, page);
    Ok(out)
}

/// The envelope of a page released to `partner` (a page it reads, or one pushed to it),
/// recorded in the ledger as released before the caller may send it: a page the ledger cannot
/// record is not sent. Returns the body and how many releases were recorded.
pub(crate) fn recorded_envelope(
    page: &Page,
    partner: &str,
    ledger: &Mutex<ledger::Ledger>,
) -> Result<(Vec<u8>, usize), TaxiiError> {
    let mut released = Vec::with_capacity(page.items.len());
    let body = envelope(page, Some((partner, &mut released)))?;
    let mut ledger = ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for chunk in released.chunks(ledger::MAX_BATCH_ENTRIES) {
        ledger.append_batch(chunk).map_err(|e| {
            TaxiiError::internal(format!(
                "the ledger cannot record this release, so it is not sent: {e}"
            ))
        })?;
    }
    Ok((body, released.len()))
}

/// The manifest resource of Get Object Manifests, canonical as [`envelope`] is.
pub(crate) fn manifest(page: &Page) -> Result<Vec<u8>, TaxiiError> {
    let mut out = Vec::with_capacity(page.items.len() * 160 + 64);
    open(&mut out, page, "objects");
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let entry = serde_json::json!({
            "id": item.id(),
            "date_added": micros_text(item.date_added_micros),
            "version": item.version_text()?,
            "media_type": STIX_MEDIA_TYPE,
        });
        stix::canonical::write_canonical(&entry, &mut out);
    }
    close(&mut out, page);
    Ok(out)
}

/// The versions resource of Get Object Versions, canonical as [`envelope`] is.
pub(crate) fn versions(page: &Page) -> Result<Vec<u8>, TaxiiError> {
    let mut out = Vec::with_capacity(page.items.len() * 40 + 64);
    open(&mut out, page, "versions");
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        stix::canonical::write_canonical(
            &serde_json::Value::String(item.version_text()?),
            &mut out,
        );
    }
    close(&mut out, page);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_from_partners_are_received_and_the_rest_local() {
        assert_eq!(
            provenance_of("peer:bfv"),
            Provenance::Received { peer: "bfv".into() }
        );
        assert_eq!(provenance_of("import:attack.json"), Provenance::Local);
        assert_eq!(provenance_of("analyst:alice"), Provenance::Local);
    }
}
