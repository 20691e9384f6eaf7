//! The snapshot: objects, links and resolution in flat tables, and a CSR adjacency derived from
//! them.
//!
//! Ground state of a snapshot is what callers added: objects (by STIX id), links (relationships,
//! by their own id, between two object ids) and resolution pairs ("these two objects are one
//! thing"). Derived by [`Snapshot::reindex`]: resolution classes become nodes (union-find, the
//! earliest object of a class stands for it), links between the same two nodes with the same
//! type become one link listing every supporting relationship, and the adjacency of each node
//! is a sorted run of distinct neighbours, each with the links it shares with the node.
//!
//! Cost of a reindex: one parallel sort of the live links by (node pair, type) and a few linear
//! passes; about 0.6 s on two cores for a million objects and 5 million links (measured in
//! `bench/graph`).

use std::borrow::Cow;
use std::collections::HashMap;

use rayon::prelude::*;

use crate::GraphError;
use crate::ids::IdTable;

/// Index of a node (a resolution class of objects) in one reindexed snapshot.
pub type NodeIx = u32;
/// Index of a link (all relationships of one type between two nodes).
pub type LinkIx = u32;

const NO_DAY: i64 = i64::MIN;
const NO_CONFIDENCE: u8 = u8::MAX;
const PENDING: u32 = u32::MAX;
const DEAD: u32 = u32::MAX;

/// One object as the viewer may see it. Its strings are owned (`String`, the default) or
/// borrowed from the caller's own objects (`&str`): the snapshot copies what it keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRecord<S = String> {
    pub id: S,
    /// The STIX type (`incident`, `threat-actor`, ...).
    pub kind: S,
    /// What to call it: its name, else its id.
    pub name: S,
    /// When it happened (an incident's date), in days since 1970-01-01.
    pub day: Option<i64>,
    /// STIX confidence, 0..=100.
    pub confidence: Option<u8>,
    /// Who reported it (a source label); nodes merged by resolution list several.
    pub source: S,
}

/// One relationship as the viewer may see it (strings owned or borrowed, as an
/// [`ObjectRecord`]'s).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRecord<S = String> {
    pub id: S,
    /// The relationship type (`attributed-to`, `same-cell`, ...).
    pub kind: S,
    pub source_ref: S,
    pub target_ref: S,
    /// When it holds from, in days since 1970-01-01.
    pub day: Option<i64>,
    pub confidence: Option<u8>,
}

/// What arrived since the last update. Records borrowed from the caller's objects
/// (`Batch<&str>`) spare it a copy and a free of every string (twenty million of them for a
/// million objects and five million relationships).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch<S = String> {
    pub objects: Vec<ObjectRecord<S>>,
    pub links: Vec<LinkRecord<S>>,
    /// Resolution: each pair names two objects that are one thing (a corroborated incident, a
    /// group under another source's name).
    pub same: Vec<(String, String)>,
    /// Objects or relationships no longer visible (revoked, withdrawn).
    pub removed: Vec<String>,
}

/// The strings of a record: owned or borrowed.
pub trait Text: AsRef<str> + Into<Box<str>> + Sync {}

impl<S: AsRef<str> + Into<Box<str>> + Sync> Text for S {}

/// Interned short strings (types, sources).
#[derive(Debug, Default, Clone)]
struct Interner {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u16>,
    /// The name interned last: records arrive in runs of one type and one source, and a
    /// comparison is cheaper than a hash.
    last: u16,
}

impl Interner {
    fn intern(&mut self, name: &str) -> u16 {
        if self
            .names
            .get(usize::from(self.last))
            .is_some_and(|last| **last == *name)
        {
            return self.last;
        }
        if let Some(&i) = self.index.get(name) {
            self.last = i;
            return i;
        }
        // More than 65,535 distinct types or sources is not a STIX graph; they share the last.
        let i = u16::try_from(self.names.len()).unwrap_or(u16::MAX);
        if i < u16::MAX {
            self.names.push(name.into());
            self.index.insert(name.into(), i);
            self.last = i;
        }
        i
    }

    fn get(&self, name: &str) -> Option<u16> {
        self.index.get(name).copied()
    }

    fn name(&self, i: u16) -> &str {
        self.names.get(usize::from(i)).map_or("", |n| n)
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

#[derive(Debug, Default, Clone)]
struct RawLinks {
    ids: IdTable,
    source: Vec<u32>,
    target: Vec<u32>,
    kind: Vec<u16>,
    day: Vec<i64>,
    confidence: Vec<u8>,
    alive: Vec<bool>,
    /// Links whose ends were not known when they arrived: (raw index, source_ref, target_ref).
    pending: Vec<(u32, Box<str>, Box<str>)>,
}

impl RawLinks {
    fn reserve(&mut self, more: usize, text_bytes: usize) {
        self.ids.reserve(more, text_bytes);
        self.source.reserve(more);
        self.target.reserve(more);
        self.kind.reserve(more);
        self.day.reserve(more);
        self.confidence.reserve(more);
        self.alive.reserve(more);
    }
}

/// A graph snapshot of what one viewer may see. See the module documentation.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    kinds: Interner,
    link_kinds: Interner,
    sources: Interner,
    // Objects (ground state).
    ids: IdTable,
    kind: Vec<u16>,
    name: Vec<Box<str>>,
    day: Vec<i64>,
    confidence: Vec<u8>,
    source: Vec<u16>,
    alive: Vec<bool>,
    parent: Vec<u32>,
    raw: RawLinks,
    // Derived by reindex.
    node_of: Vec<u32>,
    member_start: Vec<u32>,
    members: Vec<u32>,
    node_day: Vec<i64>,
    node_confidence: Vec<u8>,
    link_a: Vec<u32>,
    link_b: Vec<u32>,
    link_kind: Vec<u16>,
    link_day: Vec<i64>,
    link_confidence: Vec<u8>,
    support_start: Vec<u32>,
    supports: Vec<u32>,
    adj_start: Vec<u32>,
    adj_node: Vec<u32>,
    adj_link_start: Vec<u32>,
    adj_links: Vec<u32>,
    dirty: bool,
}

/// A node of a reindexed snapshot, for reading.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'s> {
    snapshot: &'s Snapshot,
    pub ix: NodeIx,
}

/// A link of a reindexed snapshot, for reading.
#[derive(Debug, Clone, Copy)]
pub struct LinkView<'s> {
    snapshot: &'s Snapshot,
    pub ix: LinkIx,
}

/// A simple undirected graph in CSR form (distinct neighbours, no self-loops): what centrality
/// and community algorithms run on. `original` maps its nodes back to snapshot nodes.
#[derive(Debug, Clone)]
pub struct SimpleGraph<'s> {
    pub offsets: Cow<'s, [u32]>,
    pub targets: Cow<'s, [u32]>,
    /// Snapshot node of each node (`None`: the identity).
    pub original: Option<Vec<NodeIx>>,
}

impl SimpleGraph<'_> {
    /// A simple graph from an edge list over `0..nodes` (duplicates and self-loops dropped).
    pub fn from_edges(nodes: usize, edges: &[(u32, u32)]) -> SimpleGraph<'static> {
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(edges.len() * 2);
        for &(a, b) in edges {
            if a != b && (a as usize) < nodes && (b as usize) < nodes {
                pairs.push((a, b));
                pairs.push((b, a));
            }
        }
        pairs.par_sort_unstable();
        pairs.dedup();
        let mut offsets = vec![0u32; nodes + 1];
        for &(a, _) in &pairs {
            offsets[a as usize + 1] += 1;
        }
        for i in 0..nodes {
            offsets[i + 1] += offsets[i];
        }
        SimpleGraph {
            offsets: Cow::Owned(offsets),
            targets: Cow::Owned(pairs.into_iter().map(|(_, b)| b).collect()),
            original: None,
        }
    }

    pub fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Undirected edges (each counted once).
    pub fn edge_count(&self) -> usize {
        self.targets.len() / 2
    }

    #[inline]
    pub fn neighbours(&self, node: u32) -> &[u32] {
        let start = self.offsets[node as usize] as usize;
        let end = self.offsets[node as usize + 1] as usize;
        &self.targets[start..end]
    }

    /// The snapshot node of a node of this graph.
    pub fn original(&self, node: u32) -> NodeIx {
        self.original.as_ref().map_or(node, |o| o[node as usize])
    }
}

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    /// A snapshot of one batch.
    pub fn from_batch(batch: Batch) -> Result<Snapshot, GraphError> {
        let mut snapshot = Snapshot::new();
        snapshot.apply(batch)?;
        Ok(snapshot)
    }

    /// Adds (or updates) what arrived, then reindexes.
    pub fn apply(&mut self, batch: Batch) -> Result<(), GraphError> {
        self.add(batch)?;
        self.reindex();
        Ok(())
    }

    /// Adds (or updates) what arrived; the change takes effect at the next
    /// [`Snapshot::reindex`]. A large graph may arrive in several batches, reindexed once.
    ///
    /// Cost: the batch's ids are hashed and the links' ends looked up on every core, then the
    /// records are filed one by one; a million objects and five million relationships, in
    /// batches of 500,000 borrowed records after a [`Snapshot::reserve`], take about 1.5 s on
    /// two cores (measured in `bench/graph`; most of it waiting for memory: the tables are
    /// larger than the caches).
    pub fn add<S: Text>(&mut self, batch: Batch<S>) -> Result<(), GraphError> {
        /// Records filed ahead of whose ids' slots are fetched.
        const AHEAD: usize = 16;
        let Batch {
            objects,
            links,
            same,
            removed,
        } = batch;
        let text: usize = objects.iter().map(|o| o.id.as_ref().len()).sum();
        self.reserve_objects(objects.len(), text);
        let object_hashes: Vec<u64> = objects
            .par_iter()
            .map(|o| self.ids.hash(o.id.as_ref()))
            .collect();
        // Filing looks each id up in the table of objects: fetch the next few slots while
        // filing the current few (as for links, below).
        for (k, object) in objects.into_iter().enumerate() {
            if k % AHEAD == 0 {
                let ahead = (k + AHEAD).min(object_hashes.len());
                let till = (k + 2 * AHEAD).min(object_hashes.len());
                self.ids.warm(&object_hashes[ahead..till]);
            }
            self.add_object_hashed(object, object_hashes[k])?;
        }
        let text: usize = links.iter().map(|l| l.id.as_ref().len()).sum();
        self.raw.reserve(links.len(), text);
        // Every end is known or not by now (objects came first): hash the links' ids and look
        // their ends up on every core.
        let found: Vec<(u64, Option<u32>, Option<u32>)> = links
            .par_chunks(4096)
            .flat_map_iter(|part| {
                let ends: Vec<&str> = part
                    .iter()
                    .flat_map(|l| [l.source_ref.as_ref(), l.target_ref.as_ref()])
                    .collect();
                let mut at = Vec::with_capacity(ends.len());
                self.ids.get_each(&ends, &mut at);
                part.iter()
                    .zip(at.chunks_exact(2))
                    .map(|(l, pair)| (self.raw.ids.hash(l.id.as_ref()), pair[0], pair[1]))
                    .collect::<Vec<_>>()
            })
            .collect();
        // Filing looks each id up in the table of relationships: fetch the next few slots
        // while filing the current few.
        let mut next: Vec<u64> = Vec::with_capacity(AHEAD);
        for (k, (link, &(hash, source, target))) in links.iter().zip(&found).enumerate() {
            if k % AHEAD == 0 {
                next.clear();
                next.extend(found.iter().skip(k + AHEAD).take(AHEAD).map(|f| f.0));
                self.raw.ids.warm(&next);
            }
            let kind = self.link_kinds.intern(link.kind.as_ref());
            self.add_link_found(link, kind, hash, source, target)?;
        }
        drop(found);
        drop(links);
        for (a, b) in &same {
            self.same(a, b);
        }
        for id in &removed {
            self.remove(id);
        }
        Ok(())
    }

    /// Makes room for `objects` more objects and `links` more relationships, so that adding
    /// them in batches does not grow (and refile) the tables on the way; a caller that knows
    /// how many are coming (a store counts its objects) says so first.
    pub fn reserve(&mut self, objects: usize, links: usize) {
        self.reserve_objects(objects, 0);
        self.raw.reserve(links, 0);
    }

    fn reserve_objects(&mut self, more: usize, text_bytes: usize) {
        self.ids.reserve(more, text_bytes);
        self.kind.reserve(more);
        self.name.reserve(more);
        self.day.reserve(more);
        self.confidence.reserve(more);
        self.source.reserve(more);
        self.alive.reserve(more);
        self.parent.reserve(more);
    }

    /// Adds an object, or updates the one with its id. Takes effect at the next reindex.
    pub fn add_object(&mut self, record: ObjectRecord) -> Result<(), GraphError> {
        let hash = self.ids.hash(&record.id);
        self.add_object_hashed(record, hash)
    }

    fn add_object_hashed<S: Text>(
        &mut self,
        record: ObjectRecord<S>,
        hash: u64,
    ) -> Result<(), GraphError> {
        let kind = self.kinds.intern(record.kind.as_ref());
        let source = self.sources.intern(record.source.as_ref());
        let day = record.day.unwrap_or(NO_DAY);
        let confidence = record.confidence.map_or(NO_CONFIDENCE, |c| c.min(100));
        self.dirty = true;
        let (i, new) = self
            .ids
            .get_or_push(record.id.as_ref(), hash)
            .ok_or(GraphError::TooLarge(self.ids.len()))?;
        if !new {
            let i = i as usize;
            self.kind[i] = kind;
            self.name[i] = record.name.into();
            self.day[i] = day;
            self.confidence[i] = confidence;
            self.source[i] = source;
            self.alive[i] = true;
            return Ok(());
        }
        self.kind.push(kind);
        self.name.push(record.name.into());
        self.day.push(day);
        self.confidence.push(confidence);
        self.source.push(source);
        self.alive.push(true);
        self.parent.push(i);
        Ok(())
    }

    /// Adds a relationship, or updates the one with its id. Its ends may arrive later.
    pub fn add_link(&mut self, record: LinkRecord) -> Result<(), GraphError> {
        let kind = self.link_kinds.intern(&record.kind);
        let hash = self.raw.ids.hash(&record.id);
        let source = self.ids.get(&record.source_ref);
        let target = self.ids.get(&record.target_ref);
        self.add_link_found(&record, kind, hash, source, target)
    }

    /// Files a relationship whose type is interned, id hashed and ends looked up.
    fn add_link_found<S: Text>(
        &mut self,
        record: &LinkRecord<S>,
        kind: u16,
        hash: u64,
        source: Option<u32>,
        target: Option<u32>,
    ) -> Result<(), GraphError> {
        let day = record.day.unwrap_or(NO_DAY);
        let confidence = record.confidence.map_or(NO_CONFIDENCE, |c| c.min(100));
        self.dirty = true;
        let raw = &mut self.raw;
        let (i, new) = raw
            .ids
            .get_or_push(record.id.as_ref(), hash)
            .ok_or(GraphError::TooLarge(raw.ids.len()))?;
        if new {
            raw.source.push(PENDING);
            raw.target.push(PENDING);
            raw.kind.push(kind);
            raw.day.push(day);
            raw.confidence.push(confidence);
            raw.alive.push(true);
        } else {
            let at = i as usize;
            raw.kind[at] = kind;
            raw.day[at] = day;
            raw.confidence[at] = confidence;
            raw.alive[at] = true;
        }
        match (source, target) {
            (Some(s), Some(t)) => {
                raw.source[i as usize] = s;
                raw.target[i as usize] = t;
            }
            _ => raw.pending.push((
                i,
                record.source_ref.as_ref().into(),
                record.target_ref.as_ref().into(),
            )),
        }
        Ok(())
    }

    /// Records that two objects are one thing. Unknown ids are ignored.
    pub fn same(&mut self, a: &str, b: &str) {
        let (Some(a), Some(b)) = (self.ids.get(a), self.ids.get(b)) else {
            return;
        };
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The earlier object stands for the class: stable under later additions.
            let (keep, join) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[join as usize] = keep;
            self.dirty = true;
        }
    }

    /// Hides an object or relationship.
    pub fn remove(&mut self, id: &str) {
        if let Some(i) = self.ids.get(id) {
            self.alive[i as usize] = false;
            self.dirty = true;
        }
        if let Some(i) = self.raw.ids.get(id) {
            self.raw.alive[i as usize] = false;
            self.dirty = true;
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    /// Rebuilds the derived tables (nodes, links, adjacency) from the ground state. A no-op when
    /// nothing changed since the last one.
    pub fn reindex(&mut self) {
        if !self.dirty && !self.adj_start.is_empty() {
            return;
        }
        self.dirty = false;
        self.resolve_pending();
        self.index_nodes();
        self.index_links();
        self.index_adjacency();
    }

    fn resolve_pending(&mut self) {
        let pending = std::mem::take(&mut self.raw.pending);
        for (i, source_ref, target_ref) in pending {
            match (self.ids.get(&source_ref), self.ids.get(&target_ref)) {
                (Some(s), Some(t)) => {
                    self.raw.source[i as usize] = s;
                    self.raw.target[i as usize] = t;
                }
                _ => self.raw.pending.push((i, source_ref, target_ref)),
            }
        }
    }

    fn index_nodes(&mut self) {
        let objects = self.ids.len();
        for x in 0..objects as u32 {
            let root = self.find(x);
            self.parent[x as usize] = root;
        }
        // A class is live when its root is; a dead root with live members hands the class to the
        // earliest live member.
        let mut first_live: HashMap<u32, u32> = HashMap::new();
        for x in 0..objects {
            let root = self.parent[x];
            if self.alive[x] && !self.alive[root as usize] {
                first_live.entry(root).or_insert(x as u32);
            }
        }
        let class_root: Vec<u32> = self
            .parent
            .iter()
            .map(|&root| {
                if self.alive[root as usize] {
                    root
                } else {
                    first_live.get(&root).copied().unwrap_or(DEAD)
                }
            })
            .collect();
        let mut node_of = vec![DEAD; objects];
        let mut nodes = 0u32;
        for x in 0..objects {
            if self.alive[x] && class_root[x] == x as u32 {
                node_of[x] = nodes;
                nodes += 1;
            }
        }
        for x in 0..objects {
            if self.alive[x] && class_root[x] != DEAD {
                node_of[x] = node_of[class_root[x] as usize];
            }
        }
        let n = nodes as usize;
        let mut member_start = vec![0u32; n + 1];
        for &node in &node_of {
            if node != DEAD {
                member_start[node as usize + 1] += 1;
            }
        }
        for i in 0..n {
            member_start[i + 1] += member_start[i];
        }
        let mut fill = member_start.clone();
        let mut members = vec![0u32; member_start[n] as usize];
        let mut node_day = vec![NO_DAY; n];
        let mut node_confidence = vec![NO_CONFIDENCE; n];
        for (x, &node) in node_of.iter().enumerate() {
            if node == DEAD {
                continue;
            }
            let node = node as usize;
            members[fill[node] as usize] = x as u32;
            fill[node] += 1;
            if self.day[x] != NO_DAY && (node_day[node] == NO_DAY || self.day[x] < node_day[node]) {
                node_day[node] = self.day[x];
            }
            if self.confidence[x] != NO_CONFIDENCE
                && (node_confidence[node] == NO_CONFIDENCE
                    || self.confidence[x] > node_confidence[node])
            {
                node_confidence[node] = self.confidence[x];
            }
        }
        self.node_of = node_of;
        self.member_start = member_start;
        self.members = members;
        self.node_day = node_day;
        self.node_confidence = node_confidence;
    }

    fn index_links(&mut self) {
        let raw = &self.raw;
        let node_of = &self.node_of;
        // Every live link between two live nodes as (low node << 32 | high node,
        // kind << 33 | raw index << 1 | whether it runs from high to low): sorted, the links of
        // one pair and type are consecutive, their relationships in order of arrival.
        let mut keyed: Vec<(u64, u64)> = (0..raw.ids.len() as u32)
            .into_par_iter()
            .filter_map(|i| {
                let at = i as usize;
                if !raw.alive[at] || raw.source[at] == PENDING || raw.target[at] == PENDING {
                    return None;
                }
                let (a, b) = (
                    node_of[raw.source[at] as usize],
                    node_of[raw.target[at] as usize],
                );
                if a == DEAD || b == DEAD || a == b {
                    return None;
                }
                let (low, high) = if a < b { (a, b) } else { (b, a) };
                Some((
                    (u64::from(low) << 32) | u64::from(high),
                    (u64::from(raw.kind[at]) << 33) | (u64::from(i) << 1) | u64::from(a > b),
                ))
            })
            .collect();
        keyed.par_sort_unstable();
        let mut link_a = Vec::new();
        let mut link_b = Vec::new();
        let mut link_kind = Vec::new();
        let mut support_start = vec![0u32];
        let mut previous: Option<(u64, u16)> = None;
        for (at, &(pair, rest)) in keyed.iter().enumerate() {
            let kind = (rest >> 33) as u16;
            if previous != Some((pair, kind)) {
                if previous.is_some() {
                    support_start.push(at as u32);
                }
                previous = Some((pair, kind));
                // Direction as the first supporting relationship states it.
                let (low, high) = ((pair >> 32) as u32, pair as u32);
                let (a, b) = if rest & 1 == 1 {
                    (high, low)
                } else {
                    (low, high)
                };
                link_a.push(a);
                link_b.push(b);
                link_kind.push(kind);
            }
        }
        if previous.is_some() {
            support_start.push(keyed.len() as u32);
        }
        let supports: Vec<u32> = keyed
            .par_iter()
            .map(|&(_, rest)| (rest >> 1) as u32)
            .collect();
        drop(keyed);
        // A link holds from its earliest relationship, as sure as its surest. Its
        // relationships sit anywhere in the raw tables: each part asks for the rows of the
        // links a few ahead while it reads the current one's.
        const CHUNK: usize = 1 << 14;
        const AHEAD: usize = 16;
        let links = link_a.len();
        let mut link_day = vec![NO_DAY; links];
        let mut link_confidence = vec![NO_CONFIDENCE; links];
        link_day
            .par_chunks_mut(CHUNK)
            .zip(link_confidence.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(part, (days, confidences))| {
                let first = part * CHUNK;
                for (k, (day, confidence)) in days.iter_mut().zip(confidences).enumerate() {
                    let l = first + k;
                    if let Some(&ahead) = support_start.get(l + AHEAD)
                        && let Some(&i) = supports.get(ahead as usize)
                    {
                        crate::prefetch(&raw.day[i as usize]);
                        crate::prefetch(&raw.confidence[i as usize]);
                    }
                    let run = &supports[support_start[l] as usize..support_start[l + 1] as usize];
                    for &i in run {
                        let d = raw.day[i as usize];
                        if d != NO_DAY && (*day == NO_DAY || d < *day) {
                            *day = d;
                        }
                        let c = raw.confidence[i as usize];
                        if c != NO_CONFIDENCE && (*confidence == NO_CONFIDENCE || c > *confidence) {
                            *confidence = c;
                        }
                    }
                }
            });
        self.link_a = link_a;
        self.link_b = link_b;
        self.link_kind = link_kind;
        self.link_day = link_day;
        self.link_confidence = link_confidence;
        self.support_start = support_start;
        self.supports = supports;
    }

    fn index_adjacency(&mut self) {
        let n = self.member_start.len() - 1;
        let links = self.link_a.len();
        let mut adj_start = vec![0u32; n + 1];
        for l in 0..links {
            adj_start[self.link_a[l] as usize + 1] += 1;
            adj_start[self.link_b[l] as usize + 1] += 1;
        }
        for i in 0..n {
            adj_start[i + 1] += adj_start[i];
        }
        let mut fill = adj_start.clone();
        let mut entry_node = vec![0u32; links * 2];
        let mut entry_link = vec![0u32; links * 2];
        // Links are sorted by (low, high, kind). Giving every high end its low neighbours first,
        // then every low end its high neighbours, leaves each run sorted by neighbour.
        for pass in 0..2 {
            for l in 0..links {
                let (a, b) = (self.link_a[l], self.link_b[l]);
                let (low, high) = if a < b { (a, b) } else { (b, a) };
                let (at, neighbour) = if pass == 0 { (high, low) } else { (low, high) };
                let slot = fill[at as usize] as usize;
                entry_node[slot] = neighbour;
                entry_link[slot] = l as u32;
                fill[at as usize] += 1;
            }
        }
        // Distinct neighbours, each with its run of links.
        let mut start = vec![0u32; n + 1];
        let mut adj_node = Vec::with_capacity(entry_node.len());
        let mut adj_link_start = Vec::with_capacity(entry_node.len() + 1);
        for node in 0..n {
            let (from, to) = (adj_start[node] as usize, adj_start[node + 1] as usize);
            let mut last = DEAD;
            for (e, &neighbour) in entry_node.iter().enumerate().take(to).skip(from) {
                if neighbour != last {
                    last = neighbour;
                    adj_node.push(last);
                    adj_link_start.push(e as u32);
                }
            }
            start[node + 1] = adj_node.len() as u32;
        }
        adj_link_start.push(entry_link.len() as u32);
        self.adj_start = start;
        self.adj_node = adj_node;
        self.adj_link_start = adj_link_start;
        self.adj_links = entry_link;
    }

    pub fn node_count(&self) -> usize {
        self.member_start.len().saturating_sub(1)
    }

    pub fn link_count(&self) -> usize {
        self.link_a.len()
    }

    /// Objects held (live or not), and relationships held.
    pub fn object_count(&self) -> usize {
        self.ids.len()
    }

    pub fn relationship_count(&self) -> usize {
        self.raw.ids.len()
    }

    /// The node an object id belongs to.
    pub fn lookup(&self, id: &str) -> Option<NodeIx> {
        let x = self.ids.get(id)?;
        self.node_of
            .get(x as usize)
            .copied()
            .filter(|&node| node != DEAD)
    }

    pub fn node(&self, ix: NodeIx) -> NodeView<'_> {
        NodeView { snapshot: self, ix }
    }

    pub fn link(&self, ix: LinkIx) -> LinkView<'_> {
        LinkView { snapshot: self, ix }
    }

    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'_>> {
        (0..self.node_count() as u32).map(|ix| self.node(ix))
    }

    /// Distinct neighbours of a node, ascending.
    #[inline]
    pub fn neighbours(&self, node: NodeIx) -> &[NodeIx] {
        let (from, to) = self.adjacency_range(node);
        &self.adj_node[from..to]
    }

    #[inline]
    pub(crate) fn adjacency_range(&self, node: NodeIx) -> (usize, usize) {
        (
            self.adj_start[node as usize] as usize,
            self.adj_start[node as usize + 1] as usize,
        )
    }

    #[inline]
    pub(crate) fn adjacency_node(&self, entry: usize) -> NodeIx {
        self.adj_node[entry]
    }

    /// Fetches the adjacency of a few nodes (range, neighbours and, with `links`, their links)
    /// from memory together, ahead of a walk reading it: for each node that is a chain of
    /// dependent reads, which on a large graph would otherwise wait for memory one after the
    /// other (a depth-2 neighbourhood spent most of its time so). The last read of each chain
    /// is a prefetch, which does not hold the core up as a read that misses does; a walk that
    /// passes every link (`links` false) never reads the links of an entry it does not take.
    pub(crate) fn warm_adjacency(&self, nodes: &[NodeIx], links: bool) {
        const MOST: usize = 32;
        let mut ranges = [(0usize, 0usize); MOST];
        let count = nodes.len().min(MOST);
        for (range, &v) in ranges.iter_mut().zip(nodes) {
            *range = self.adjacency_range(v);
        }
        let ranges = &ranges[..count];
        for &(from, to) in ranges.iter().filter(|r| r.0 < r.1) {
            crate::prefetch(&self.adj_node[from]);
            crate::prefetch(&self.adj_node[to - 1]);
        }
        if !links {
            return;
        }
        let mut touched = 0u32;
        for &(from, to) in ranges.iter().filter(|r| r.0 < r.1) {
            touched ^= self.adj_link_start[from] ^ self.adj_link_start[to];
        }
        // The reads only warm the caches; keep the compiler from dropping them.
        std::hint::black_box(touched);
        for &(from, to) in ranges.iter().filter(|r| r.0 < r.1) {
            let (first, last) = (self.adj_link_start[from], self.adj_link_start[to]);
            crate::prefetch(&self.adj_links[first as usize]);
            crate::prefetch(&self.adj_links[last as usize - 1]);
        }
    }

    /// The links of one adjacency entry (between a node and one neighbour).
    #[inline]
    pub(crate) fn adjacency_links(&self, entry: usize) -> &[LinkIx] {
        &self.adj_links
            [self.adj_link_start[entry] as usize..self.adj_link_start[entry + 1] as usize]
    }

    /// The interned index of a node type, if any node has it.
    pub(crate) fn kind_index(&self, kind: &str) -> Option<u16> {
        self.kinds.get(kind)
    }

    pub(crate) fn link_kind_index(&self, kind: &str) -> Option<u16> {
        self.link_kinds.get(kind)
    }

    pub(crate) fn kind_count(&self) -> usize {
        self.kinds.len()
    }

    pub(crate) fn link_kind_count(&self) -> usize {
        self.link_kinds.len()
    }

    #[inline]
    pub(crate) fn node_kind_raw(&self, node: NodeIx) -> u16 {
        let rep = self.members[self.member_start[node as usize] as usize];
        self.kind[rep as usize]
    }

    #[inline]
    pub(crate) fn node_day_raw(&self, node: NodeIx) -> Option<i64> {
        Some(self.node_day[node as usize]).filter(|&d| d != NO_DAY)
    }

    #[inline]
    pub(crate) fn node_confidence_raw(&self, node: NodeIx) -> Option<u8> {
        Some(self.node_confidence[node as usize]).filter(|&c| c != NO_CONFIDENCE)
    }

    #[inline]
    pub(crate) fn link_kind_raw(&self, link: LinkIx) -> u16 {
        self.link_kind[link as usize]
    }

    #[inline]
    pub(crate) fn link_day_raw(&self, link: LinkIx) -> Option<i64> {
        Some(self.link_day[link as usize]).filter(|&d| d != NO_DAY)
    }

    #[inline]
    pub(crate) fn link_confidence_raw(&self, link: LinkIx) -> Option<u8> {
        Some(self.link_confidence[link as usize]).filter(|&c| c != NO_CONFIDENCE)
    }

    /// The whole snapshot as a simple graph (borrowing the adjacency).
    pub fn simple(&self) -> SimpleGraph<'_> {
        SimpleGraph {
            offsets: Cow::Borrowed(&self.adj_start),
            targets: Cow::Borrowed(&self.adj_node),
            original: None,
        }
    }

    /// The part of the snapshot a filter keeps, as a simple graph: nodes the filter keeps, and an
    /// edge where at least one link between the two passes.
    pub fn simple_filtered(&self, filter: &crate::traverse::Filter) -> SimpleGraph<'static> {
        let compiled = filter.compile(self);
        let kept: Vec<NodeIx> = (0..self.node_count() as u32)
            .filter(|&v| compiled.node_ok(self, v))
            .collect();
        let mut new_of = vec![DEAD; self.node_count()];
        for (i, &v) in kept.iter().enumerate() {
            new_of[v as usize] = i as u32;
        }
        let mut offsets = Vec::with_capacity(kept.len() + 1);
        offsets.push(0u32);
        let mut targets = Vec::new();
        for &v in &kept {
            let (from, to) = self.adjacency_range(v);
            for e in from..to {
                let w = self.adj_node[e];
                if new_of[w as usize] != DEAD && compiled.entry_ok(self, e) {
                    targets.push(new_of[w as usize]);
                }
            }
            offsets.push(targets.len() as u32);
        }
        SimpleGraph {
            offsets: Cow::Owned(offsets),
            targets: Cow::Owned(targets),
            original: Some(kept),
        }
    }
}

impl<'s> NodeView<'s> {
    fn rep(&self) -> usize {
        self.snapshot.members[self.snapshot.member_start[self.ix as usize] as usize] as usize
    }

    /// The id of the object that stands for the node (the earliest of its class).
    pub fn id(&self) -> &'s str {
        self.snapshot.ids.text(self.rep() as u32)
    }

    pub fn kind(&self) -> &'s str {
        self.snapshot.kinds.name(self.snapshot.kind[self.rep()])
    }

    pub fn name(&self) -> &'s str {
        &self.snapshot.name[self.rep()]
    }

    /// The earliest day of its objects.
    pub fn day(&self) -> Option<i64> {
        self.snapshot.node_day_raw(self.ix)
    }

    /// The highest confidence of its objects.
    pub fn confidence(&self) -> Option<u8> {
        self.snapshot.node_confidence_raw(self.ix)
    }

    /// Every object the node stands for, with its source label.
    pub fn members(&self) -> impl Iterator<Item = (&'s str, &'s str)> + 's {
        let s = self.snapshot;
        let from = s.member_start[self.ix as usize] as usize;
        let to = s.member_start[self.ix as usize + 1] as usize;
        s.members[from..to]
            .iter()
            .map(move |&x| (s.ids.text(x), s.sources.name(s.source[x as usize])))
    }

    /// Names of every object the node stands for (the first is [`NodeView::name`]).
    pub fn names(&self) -> impl Iterator<Item = &'s str> + 's {
        let s = self.snapshot;
        let from = s.member_start[self.ix as usize] as usize;
        let to = s.member_start[self.ix as usize + 1] as usize;
        s.members[from..to]
            .iter()
            .map(move |&x| &*s.name[x as usize])
    }
}

impl<'s> LinkView<'s> {
    /// The node the first supporting relationship names as `source_ref`.
    pub fn source(&self) -> NodeIx {
        self.snapshot.link_a[self.ix as usize]
    }

    pub fn target(&self) -> NodeIx {
        self.snapshot.link_b[self.ix as usize]
    }

    pub fn kind(&self) -> &'s str {
        self.snapshot
            .link_kinds
            .name(self.snapshot.link_kind[self.ix as usize])
    }

    /// The earliest day of its relationships.
    pub fn day(&self) -> Option<i64> {
        self.snapshot.link_day_raw(self.ix)
    }

    /// The highest confidence of its relationships.
    pub fn confidence(&self) -> Option<u8> {
        self.snapshot.link_confidence_raw(self.ix)
    }

    /// Ids of the relationships that support it.
    pub fn supports(&self) -> impl Iterator<Item = &'s str> + 's {
        let s = self.snapshot;
        let from = s.support_start[self.ix as usize] as usize;
        let to = s.support_start[self.ix as usize + 1] as usize;
        s.supports[from..to].iter().map(move |&i| s.raw.ids.text(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: &str, kind: &str, source: &str) -> ObjectRecord {
        ObjectRecord {
            id: id.into(),
            kind: kind.into(),
            name: id.to_uppercase(),
            day: None,
            confidence: None,
            source: source.into(),
        }
    }

    fn link(id: &str, kind: &str, a: &str, b: &str) -> LinkRecord {
        LinkRecord {
            id: id.into(),
            kind: kind.into(),
            source_ref: a.into(),
            target_ref: b.into(),
            day: None,
            confidence: Some(50),
        }
    }

    #[test]
    fn a_link_holds_from_its_earliest_relationship_as_sure_as_its_surest() {
        let dated =
            |id: &str, a: &str, b: &str, day: Option<i64>, confidence: Option<u8>| LinkRecord {
                day,
                confidence,
                ..link(id, "k", a, b)
            };
        // Enough links that the per-link pass runs in several parts.
        let mut links = vec![
            dated("r1", "a", "b", Some(20), Some(40)),
            dated("r2", "b", "a", None, Some(70)),
            dated("r3", "a", "b", Some(12), None),
            dated("r4", "a", "c", None, None),
        ];
        let mut objects = vec![
            object("a", "x", "s"),
            object("b", "x", "s"),
            object("c", "x", "s"),
        ];
        for i in 0..40_000 {
            objects.push(object(&format!("o{i}"), "x", "s"));
            links.push(dated(
                &format!("q{i}"),
                "a",
                &format!("o{i}"),
                Some(i64::from(i)),
                Some((i % 101) as u8),
            ));
        }
        let s = Snapshot::from_batch(Batch {
            objects,
            links,
            ..Batch::default()
        })
        .unwrap();
        let between = |a: &str, b: &str| {
            let (a, b) = (s.lookup(a).unwrap(), s.lookup(b).unwrap());
            let found = crate::traverse::links_between(&s, a, b);
            assert_eq!(found.len(), 1);
            s.link(found[0])
        };
        let ab = between("a", "b");
        assert_eq!((ab.day(), ab.confidence()), (Some(12), Some(70)));
        let ac = between("a", "c");
        assert_eq!((ac.day(), ac.confidence()), (None, None));
        for i in [0, 16_383, 16_384, 39_999] {
            let l = between("a", &format!("o{i}"));
            assert_eq!(
                (l.day(), l.confidence()),
                (Some(i64::from(i)), Some((i % 101) as u8))
            );
        }
    }

    #[test]
    fn resolution_merges_nodes_and_links_keep_their_supports() {
        let batch = Batch {
            objects: vec![
                object("i1", "incident", "us"),
                object("i2", "incident", "them"),
                object("g1", "threat-actor", "us"),
                object("g2", "threat-actor", "them"),
                object("x", "location", "us"),
            ],
            links: vec![
                link("r1", "attributed-to", "i1", "g1"),
                link("r2", "attributed-to", "i2", "g2"),
                link("r3", "located-at", "i1", "x"),
                link("r4", "located-at", "nobody", "x"),
            ],
            same: vec![("i1".into(), "i2".into()), ("g2".into(), "g1".into())],
            removed: vec![],
        };
        let s = Snapshot::from_batch(batch).unwrap();
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.link_count(), 2);
        let incident = s.lookup("i2").unwrap();
        assert_eq!(s.lookup("i1"), Some(incident));
        assert_eq!(s.node(incident).id(), "i1");
        let members: Vec<_> = s.node(incident).members().collect();
        assert_eq!(members, vec![("i1", "us"), ("i2", "them")]);
        let group = s.lookup("g2").unwrap();
        assert_eq!(s.neighbours(incident).len(), 2);
        let entry = s.adjacency_range(incident).0;
        let first = s.adjacency_links(entry)[0];
        let l = s.link(first);
        assert_eq!(l.kind(), "attributed-to");
        assert_eq!((l.source(), l.target()), (incident, group));
        assert_eq!(l.supports().collect::<Vec<_>>(), vec!["r1", "r2"]);
    }

    #[test]
    fn pending_links_attach_when_their_ends_arrive_and_removal_hides() {
        let mut s = Snapshot::new();
        s.apply(Batch {
            objects: vec![object("a", "incident", "s")],
            links: vec![link("r", "same-cell", "a", "b")],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(s.link_count(), 0);
        s.apply(Batch {
            objects: vec![object("b", "incident", "s")],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(s.link_count(), 1);
        assert_eq!(s.node_count(), 2);
        s.apply(Batch {
            removed: vec!["r".into()],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(s.link_count(), 0);
        s.apply(Batch {
            removed: vec!["a".into()],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(s.node_count(), 1);
        assert_eq!(s.lookup("a"), None);
    }

    #[test]
    fn a_graph_added_in_parts_is_the_graph_added_at_once() {
        let mut rng = crate::rng::SplitMix64::new(5);
        let objects: Vec<ObjectRecord> = (0..200)
            .map(|i| object(&format!("n{i}"), "x", "s"))
            .collect();
        let links: Vec<LinkRecord> = (0..900)
            .map(|k| {
                let (a, b) = (rng.below(210), rng.below(200));
                let kind = if k % 3 == 0 { "k" } else { "j" };
                // Some ends unknown (n200..n209), some relationships repeated (an update).
                link(
                    &format!("r{}", k % 850),
                    kind,
                    &format!("n{a}"),
                    &format!("n{b}"),
                )
            })
            .collect();
        let whole = Snapshot::from_batch(Batch {
            objects: objects.clone(),
            links: links.clone(),
            ..Batch::default()
        })
        .unwrap();
        let mut parts = Snapshot::new();
        // Room said first, and less than what comes: the tables still grow as needed.
        parts.reserve(150, 600);
        for chunk in objects.chunks(64) {
            parts
                .add(Batch {
                    objects: chunk.to_vec(),
                    ..Batch::default()
                })
                .unwrap();
        }
        for chunk in links.chunks(100) {
            parts
                .add(Batch {
                    links: chunk.to_vec(),
                    ..Batch::default()
                })
                .unwrap();
        }
        parts.reindex();
        assert_eq!(parts.node_count(), whole.node_count());
        assert_eq!(parts.link_count(), whole.link_count());
        assert_eq!(parts.relationship_count(), 850);
        for v in 0..whole.node_count() as u32 {
            assert_eq!(parts.node(v).id(), whole.node(v).id());
            assert_eq!(parts.neighbours(v), whole.neighbours(v));
        }
        for l in 0..whole.link_count() as u32 {
            let (a, b) = (parts.link(l), whole.link(l));
            assert_eq!(
                (a.source(), a.target(), a.kind()),
                (b.source(), b.target(), b.kind())
            );
            assert_eq!(
                a.supports().collect::<Vec<_>>(),
                b.supports().collect::<Vec<_>>()
            );
        }
        assert_eq!(parts.lookup("n199"), whole.lookup("n199"));
        assert_eq!(parts.lookup("n200"), None);
    }

    #[test]
    fn adjacency_is_sorted_and_symmetric() {
        let mut edges = Vec::new();
        let mut rng = crate::rng::SplitMix64::new(7);
        for _ in 0..2_000 {
            edges.push((rng.below(300) as u32, rng.below(300) as u32));
        }
        let mut s = Snapshot::new();
        for i in 0..300 {
            s.add_object(object(&format!("n{i}"), "x", "s")).unwrap();
        }
        for (k, &(a, b)) in edges.iter().enumerate() {
            s.add_link(link(
                &format!("r{k}"),
                "k",
                &format!("n{a}"),
                &format!("n{b}"),
            ))
            .unwrap();
        }
        s.reindex();
        let simple = SimpleGraph::from_edges(300, &edges);
        for v in 0..300u32 {
            let node = s.lookup(&format!("n{v}")).unwrap();
            let mine: Vec<String> = s
                .neighbours(node)
                .iter()
                .map(|&w| s.node(w).id().to_string())
                .collect();
            let theirs: Vec<String> = simple
                .neighbours(v)
                .iter()
                .map(|w| format!("n{w}"))
                .collect();
            let mut sorted = mine.clone();
            sorted.sort();
            let mut expected = theirs.clone();
            expected.sort();
            assert_eq!(sorted, expected, "neighbours of n{v}");
            assert!(s.neighbours(node).windows(2).all(|w| w[0] < w[1]));
        }
    }
}
