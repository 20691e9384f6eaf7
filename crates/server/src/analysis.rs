//! The bridge from a node's store to the pure `graph` crate: a viewer's [`View`] (a graph
//! snapshot, the objects behind it, and the incident facts trends are computed from), built
//! from the latest version of every object the viewer may see.
//!
//! What a viewer sees: the node's analysts see everything the node holds; a partner sees only
//! what the release policy releases to it (the released copy, so redactions apply to names
//! too). A relationship becomes a link only when the relationship and both its ends are
//! visible. This is the same decision `outbound` makes for TAXII, through the same
//! `policy::Releaser`; nothing here bypasses it.
//!
//! Resolution: objects of several sources that resolve to one group (by folded name and alias,
//! `incident::AliasIndex`), and incidents the corroboration matcher pairs
//! (`incident::corroborate::propose`), become one node listing every source object.
//!
//! Updates: an analyst's view catches up with the store incrementally (only versions added
//! since the seq it covers are read; resolution and facts are recomputed from the held
//! objects). A partner's view is rebuilt, because one new object can change what the policy's
//! closure releases of the others.

use std::collections::{BTreeMap, HashMap};

use graph::trend::{Facts, GroupRef, IncidentFact};
use graph::{Batch, LinkRecord, NodeIx, ObjectRecord, Snapshot};
use policy::{Decision, Held, Policy, Provenance, Resolver};
use stix::Object;
use store::{Scan, Store};

use crate::outbound::provenance_of;

/// Versions read per store page.
const PAGE: usize = 5_000;
/// Most objects a view holds; a store beyond this needs a sharded analysis, not a bigger view.
pub const OBJECTS_MAX: usize = 20_000_000;
/// Types that are plumbing, not intelligence: never nodes.
const NOT_NODES: &[&str] = &[
    "marking-definition",
    "extension-definition",
    "language-content",
];

/// Who the view is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Viewer {
    /// The node's own analysts: everything the node holds.
    Analyst,
    /// A partner (by its name in the policy): only what the policy releases to it.
    Partner(String),
}

/// Why a view could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Graph(#[from] graph::GraphError),
    #[error("the store holds more than {OBJECTS_MAX} objects; the analysis view's limit")]
    TooMany,
    #[error("partner {0} is not in the policy")]
    UnknownPartner(String),
    #[error("no node matches {0:?} in this view")]
    NoMatch(String),
    #[error("{query:?} matches several nodes; give one id: {candidates}")]
    Ambiguous { query: String, candidates: String },
}

/// One viewer's analysis state.
pub struct View {
    pub viewer: Viewer,
    pub snapshot: Snapshot,
    pub facts: Facts,
    /// The latest visible version of each object, by id (released copies for partners).
    objects: HashMap<String, Object>,
    /// The store seq this view covers.
    pub through_seq: u64,
}

impl View {
    /// Builds a viewer's view from the latest version of every object in the store.
    pub fn build(
        store: &Store,
        viewer: Viewer,
        policy: Option<&Policy>,
    ) -> Result<View, AnalysisError> {
        let (held, through_seq) = read_latest(store, 0)?;
        let objects = visible(held, &viewer, policy)?;
        let mut view = View {
            viewer,
            snapshot: Snapshot::new(),
            facts: Facts::default(),
            objects: HashMap::new(),
            through_seq,
        };
        view.absorb(objects)?;
        Ok(view)
    }

    /// Brings the view up to date with the store. Returns how many versions were read.
    pub fn catch_up(
        &mut self,
        store: &Store,
        policy: Option<&Policy>,
    ) -> Result<usize, AnalysisError> {
        let (held, through_seq) = read_latest(store, self.through_seq)?;
        if held.is_empty() {
            return Ok(0);
        }
        let read = held.len();
        if let Viewer::Partner(_) = self.viewer {
            *self = View::build(store, self.viewer.clone(), policy)?;
            return Ok(read);
        }
        self.through_seq = through_seq;
        let objects = visible(held, &self.viewer, policy)?;
        self.absorb(objects)?;
        Ok(read)
    }

    /// Adds objects (new, or new versions) to the snapshot, then recomputes resolution and
    /// facts over everything held.
    fn absorb(&mut self, objects: Vec<Object>) -> Result<(), AnalysisError> {
        let mut batch = Batch::default();
        let mut arrived: Vec<String> = Vec::new();
        for object in objects {
            let id = object.id().to_string();
            if object.is_revoked() {
                batch.removed.push(id.clone());
                self.objects.remove(&id);
                continue;
            }
            arrived.push(id.clone());
            self.objects.insert(id, object);
        }
        if self.objects.len() > OBJECTS_MAX {
            return Err(AnalysisError::TooMany);
        }
        let incident_days: HashMap<&str, i64> = self
            .objects
            .values()
            .filter(|o| o.object_type() == "incident")
            .filter_map(|o| Some((o.id(), incident_day(o)?)))
            .collect();
        // Objects enter in id order, so which object stands for a merged node is stable.
        arrived.sort();
        for id in &arrived {
            let object = &self.objects[id];
            if NOT_NODES.contains(&object.object_type()) {
                continue;
            }
            if let Some(link) = object.as_relationship() {
                let day = object
                    .get_str("start_time")
                    .and_then(|t| stix::Timestamp::parse(t).ok())
                    .map(|t| (t.unix_nanos() / 86_400_000_000_000) as i64)
                    .or_else(|| {
                        // Without a stated time, a link to an incident holds from the incident
                        // (the later one, between two incidents).
                        let a = incident_days.get(link.source_ref).copied();
                        let b = incident_days.get(link.target_ref).copied();
                        a.max(b)
                    });
                batch.links.push(LinkRecord {
                    id: id.clone(),
                    kind: link.relationship_type.to_string(),
                    source_ref: link.source_ref.to_string(),
                    target_ref: link.target_ref.to_string(),
                    day,
                    confidence: confidence(object),
                });
                continue;
            }
            if object.object_type() == "sighting" {
                continue;
            }
            batch.objects.push(ObjectRecord {
                id: id.clone(),
                kind: object.object_type().to_string(),
                name: display_name(object),
                day: incident_days.get(id.as_str()).copied(),
                confidence: confidence(object),
                source: source_of(object),
            });
        }
        batch.same = resolution(&self.objects);
        self.snapshot.apply(batch)?;
        self.facts = facts(&self.snapshot, &self.objects);
        Ok(())
    }

    /// The object behind an id, as this viewer sees it.
    pub fn object(&self, id: &str) -> Option<&Object> {
        self.objects.get(id)
    }

    /// The node a query names: an id (of any object the node stands for), else a name or alias
    /// (folded: case, punctuation and transliteration do not matter), else a unique part of a
    /// name.
    pub fn find(&self, query: &str) -> Result<NodeIx, AnalysisError> {
        if let Some(node) = self.snapshot.lookup(query) {
            return Ok(node);
        }
        let folded = incident::fold(query);
        let mut exact = Vec::new();
        let mut partial = Vec::new();
        for node in self.snapshot.nodes() {
            let mut names: Vec<String> = node.names().map(incident::fold).collect();
            for (id, _) in node.members() {
                if let Some(object) = self.objects.get(id) {
                    names.extend(object.names().into_iter().map(incident::fold));
                }
            }
            if names.contains(&folded) {
                exact.push(node.ix);
            } else if !folded.is_empty() && names.iter().any(|n| n.contains(&folded)) {
                partial.push(node.ix);
            }
        }
        let found = if exact.is_empty() { partial } else { exact };
        match found.as_slice() {
            [] => Err(AnalysisError::NoMatch(query.to_string())),
            [one] => Ok(*one),
            many => Err(AnalysisError::Ambiguous {
                query: query.to_string(),
                candidates: many
                    .iter()
                    .take(5)
                    .map(|&n| {
                        let node = self.snapshot.node(n);
                        format!("{} ({})", node.id(), node.name())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// The latest version of every object added after `after_seq`, and the last seq read.
fn read_latest(
    store: &Store,
    after_seq: u64,
) -> Result<(Vec<(Object, Provenance)>, u64), AnalysisError> {
    let mut scan = Scan {
        after_seq,
        latest_only: true,
        limit: PAGE,
        ..Scan::default()
    };
    let mut out = Vec::new();
    let mut through = after_seq;
    loop {
        let page = store.scan(&scan)?;
        for version in &page.versions {
            through = through.max(version.seq);
            // A stored version that no longer parses is left out of the view, not fatal.
            if let Ok(object) = version.object() {
                out.push((object, provenance_of(&version.source)));
            }
            if out.len() > OBJECTS_MAX {
                return Err(AnalysisError::TooMany);
            }
        }
        match page.next_after_seq {
            Some(seq) => scan.after_seq = seq,
            None => break,
        }
    }
    Ok((out, through))
}

/// Looks held objects up for the policy's closure decisions.
struct HeldResolver<'a> {
    held: &'a HashMap<&'a str, usize>,
    objects: &'a [(Object, Provenance)],
}

impl Resolver for HeldResolver<'_> {
    fn resolve(&self, id: &str) -> Option<Held> {
        let &i = self.held.get(id)?;
        let (object, provenance) = &self.objects[i];
        Some(Held {
            object: object.clone(),
            provenance: provenance.clone(),
        })
    }
}

/// What the viewer may see of `held`: everything for analysts; the released copies for a
/// partner, with relationships kept only when both ends are released too.
fn visible(
    held: Vec<(Object, Provenance)>,
    viewer: &Viewer,
    policy: Option<&Policy>,
) -> Result<Vec<Object>, AnalysisError> {
    let partner = match viewer {
        Viewer::Analyst => return Ok(held.into_iter().map(|(o, _)| o).collect()),
        Viewer::Partner(partner) => partner,
    };
    let policy = policy
        .filter(|p| p.partner(partner).is_some())
        .ok_or_else(|| AnalysisError::UnknownPartner(partner.clone()))?;
    let index: HashMap<&str, usize> = held
        .iter()
        .enumerate()
        .map(|(i, (o, _))| (o.id(), i))
        .collect();
    let resolver = HeldResolver {
        held: &index,
        objects: &held,
    };
    let mut releaser = policy.releaser(partner, &resolver);
    let mut released: Vec<Object> = Vec::new();
    for (object, provenance) in &held {
        if let Decision::Release(release) = releaser.release(object, provenance) {
            released.push(release.object().clone());
        }
    }
    let ids: std::collections::HashSet<String> =
        released.iter().map(|o| o.id().to_string()).collect();
    Ok(released
        .into_iter()
        .filter(|o| match o.as_relationship() {
            Some(link) => ids.contains(link.source_ref) && ids.contains(link.target_ref),
            None => true,
        })
        .collect())
}

/// What to call an object: its `name`, else its first alias, else its id.
fn display_name(object: &Object) -> String {
    object
        .get_str("name")
        .or_else(|| object.names().first().copied())
        .unwrap_or(object.id())
        .to_string()
}

fn confidence(object: &Object) -> Option<u8> {
    object
        .confidence()
        .and_then(|c| u8::try_from(c.clamp(0, 100)).ok())
}

/// Who reported an object: its first external reference's source, else its creator.
fn source_of(object: &Object) -> String {
    object
        .get("external_references")
        .and_then(|r| r.as_array())
        .and_then(|r| r.first())
        .and_then(|r| r.get("source_name"))
        .and_then(|s| s.as_str())
        .or_else(|| object.created_by_ref())
        .unwrap_or("unknown")
        .to_string()
}

/// An incident's first possible day.
fn incident_day(object: &Object) -> Option<i64> {
    let typed = incident::Incident::from_object(object).ok()?;
    Some(typed.extension.day_window().0)
}

/// Resolution pairs: groups that resolve to one group, incidents the matcher corroborates.
fn resolution(objects: &HashMap<String, Object>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut aliases = incident::AliasIndex::curated();
    let mut groups: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    let mut sorted: Vec<&Object> = objects.values().collect();
    sorted.sort_by(|a, b| a.id().cmp(b.id()));
    for object in &sorted {
        if !matches!(object.object_type(), "threat-actor" | "intrusion-set") {
            continue;
        }
        let names = object.names();
        let Some((name, rest)) = names.split_first() else {
            continue;
        };
        // A name that cannot enter the index (empty, too long) stays unresolved.
        if let Ok(group) = aliases.resolve_or_add(name, rest.iter().copied()) {
            groups.entry(group.index()).or_default().push(object.id());
        }
    }
    for members in groups.values() {
        for pair in members.windows(2) {
            pairs.push((pair[0].to_string(), pair[1].to_string()));
        }
    }
    let incidents: Vec<Object> = sorted
        .iter()
        .filter(|o| matches!(o.object_type(), "incident" | "location" | "relationship"))
        .map(|o| (*o).clone())
        .collect();
    let candidates = incident::corroborate::candidates(&incidents);
    let matches = incident::corroborate::propose(
        &candidates,
        &incident::corroborate::MatchOptions::default(),
    );
    for m in matches.matches {
        pairs.push((m.a, m.b));
    }
    pairs
}

/// The incident facts trends and surges count: one per incident node (corroborated reports
/// count once), with its country (from the location it is `located-at`), the groups it is
/// `attributed-to` (resolved), and its attack types.
fn facts(snapshot: &Snapshot, objects: &HashMap<String, Object>) -> Facts {
    let country_of_node = |node: NodeIx| -> Option<String> {
        snapshot.node(node).members().find_map(|(id, _)| {
            objects
                .get(id)?
                .get_str("country")
                .map(str::to_ascii_uppercase)
        })
    };
    let mut groups: Vec<GroupRef> = Vec::new();
    let mut group_index: HashMap<NodeIx, usize> = HashMap::new();
    let mut incidents = Vec::new();
    let mut country_names = HashMap::new();
    for node in snapshot.nodes() {
        if node.kind() != "incident" {
            continue;
        }
        let Some(day) = node.day() else {
            continue;
        };
        let mut country = None;
        let mut attributed = Vec::new();
        for &neighbour in snapshot.neighbours(node.ix) {
            let other = snapshot.node(neighbour);
            for kind in links_between(snapshot, node.ix, neighbour) {
                match (kind, other.kind()) {
                    ("located-at", "location") if country.is_none() => {
                        country = country_of_node(neighbour);
                    }
                    ("attributed-to", "threat-actor" | "intrusion-set") => {
                        let g = *group_index.entry(neighbour).or_insert_with(|| {
                            groups.push(GroupRef {
                                key: other.id().to_string(),
                                name: other.name().to_string(),
                                home: home_of(snapshot, neighbour, &country_of_node),
                            });
                            groups.len() - 1
                        });
                        if !attributed.contains(&g) {
                            attributed.push(g);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut attack_types: Vec<String> = Vec::new();
        for (id, _) in node.members() {
            if let Some(object) = objects.get(id)
                && let Ok(typed) = incident::Incident::from_object(object)
            {
                for t in typed.extension.attack_types {
                    let t = t.as_str().to_string();
                    if !attack_types.contains(&t) {
                        attack_types.push(t);
                    }
                }
            }
        }
        if let Some(code) = &country
            && let Some(name) = incident::country::name(code)
        {
            country_names.insert(code.clone(), name.to_string());
        }
        incidents.push(IncidentFact {
            id: node.id().to_string(),
            name: node.name().to_string(),
            day,
            country,
            groups: attributed,
            attack_types,
        });
    }
    for group in &groups {
        if let Some(code) = &group.home
            && let Some(name) = incident::country::name(code)
        {
            country_names.insert(code.clone(), name.to_string());
        }
    }
    Facts {
        groups,
        incidents,
        country_names,
    }
}

/// The relationship types of the links between two adjacent nodes.
fn links_between(snapshot: &Snapshot, a: NodeIx, b: NodeIx) -> Vec<&str> {
    graph::traverse::links_between(snapshot, a, b)
        .into_iter()
        .map(|l| snapshot.link(l).kind())
        .collect()
}

/// Where a group is based: the country of the location it is `located-at`.
fn home_of(
    snapshot: &Snapshot,
    group: NodeIx,
    country_of_node: &dyn Fn(NodeIx) -> Option<String>,
) -> Option<String> {
    snapshot.neighbours(group).iter().find_map(|&n| {
        let located = graph::traverse::links_between(snapshot, group, n)
            .into_iter()
            .any(|l| {
                let link = snapshot.link(l);
                link.kind() == "located-at" && link.source() == group
            });
        if located && snapshot.node(n).kind() == "location" {
            country_of_node(n)
        } else {
            None
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Queries, answered as JSON (the same documents for the CLI's --json and the app API).

use graph::centrality::{self, Sources};
use graph::community::{self, LouvainOptions};
use graph::traverse::{self, Filter};
use graph::trend::{self, Dimension, Interval, SurgeOptions};
use graph::{Limits, LinkIx};
use serde_json::{Value, json};

/// Exact betweenness up to this many nodes; sampled sources beyond.
pub const EXACT_BETWEENNESS_MAX: usize = 5_000;
/// Most entries of a ranking or a community listing.
pub const TOP_MAX: usize = 1_000;

/// A day as `YYYY-MM-DD`.
pub fn day_text(day: i64) -> String {
    let (y, m, d) = graph::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reads `YYYY-MM-DD` (or a STIX timestamp, whose date is taken).
pub fn parse_day(text: &str) -> Result<i64, String> {
    let date = text.get(..10).unwrap_or(text);
    let parts: Vec<&str> = date.split('-').collect();
    let bad = || format!("{text:?} is not a date (YYYY-MM-DD)");
    if parts.len() != 3 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(graph::days_from_civil(y, m, d))
}

/// Which centrality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Degree,
    Betweenness,
    Eigenvector,
}

impl Measure {
    pub fn parse(text: &str) -> Result<Measure, String> {
        match text {
            "degree" => Ok(Measure::Degree),
            "betweenness" => Ok(Measure::Betweenness),
            "eigenvector" => Ok(Measure::Eigenvector),
            _ => Err(format!(
                "unknown measure {text:?}: degree, betweenness or eigenvector"
            )),
        }
    }
}

/// Which grouping of nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Components,
    Louvain,
}

impl Grouping {
    pub fn parse(text: &str) -> Result<Grouping, String> {
        match text {
            "louvain" => Ok(Grouping::Louvain),
            "components" => Ok(Grouping::Components),
            _ => Err(format!("unknown method {text:?}: louvain or components")),
        }
    }
}

/// Parses `month`, `quarter` or `year`.
pub fn parse_interval(text: &str) -> Result<Interval, String> {
    match text {
        "month" => Ok(Interval::Month),
        "quarter" => Ok(Interval::Quarter),
        "year" => Ok(Interval::Year),
        _ => Err(format!("unknown interval {text:?}: month, quarter or year")),
    }
}

/// Parses `group`, `country` or `attack-type`.
pub fn parse_dimension(text: &str) -> Result<Dimension, String> {
    match text {
        "group" => Ok(Dimension::Group),
        "country" => Ok(Dimension::Country),
        "attack-type" => Ok(Dimension::AttackType),
        _ => Err(format!(
            "unknown dimension {text:?}: group, country or attack-type"
        )),
    }
}

/// A query's failure, for the caller to render.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Find(#[from] AnalysisError),
    #[error(transparent)]
    Graph(#[from] graph::GraphError),
    #[error("{0}")]
    Invalid(String),
}

impl View {
    /// A node as answers name it: id, display name, type, and every source object behind it.
    pub fn node_json(&self, node: NodeIx) -> Value {
        let view = self.snapshot.node(node);
        let sources: Vec<Value> = view
            .members()
            .map(|(id, source)| json!({ "id": id, "source": source }))
            .collect();
        let mut out = json!({
            "id": view.id(),
            "name": view.name(),
            "type": view.kind(),
            "sources": sources,
        });
        if let Some(day) = view.day() {
            out["date"] = json!(day_text(day));
        }
        if let Some(c) = view.confidence() {
            out["confidence"] = json!(c);
        }
        out
    }

    /// A link: its type, ends (by id), time, confidence and supporting relationships.
    pub fn link_json(&self, link: LinkIx) -> Value {
        let view = self.snapshot.link(link);
        let mut out = json!({
            "type": view.kind(),
            "source": self.snapshot.node(view.source()).id(),
            "target": self.snapshot.node(view.target()).id(),
            "supports": view.supports().collect::<Vec<_>>(),
        });
        if let Some(day) = view.day() {
            out["date"] = json!(day_text(day));
        }
        if let Some(c) = view.confidence() {
            out["confidence"] = json!(c);
        }
        out
    }

    fn path_json(&self, path: &traverse::Path) -> Value {
        json!({
            "hops": path.hops(),
            "nodes": path.nodes.iter().map(|&n| self.node_json(n)).collect::<Vec<_>>(),
            "links": path.links.iter().map(|&l| self.link_json(l)).collect::<Vec<_>>(),
        })
    }

    /// The neighbourhood of the node `query` names.
    pub fn neighbours(
        &self,
        query: &str,
        depth: usize,
        filter: &Filter,
        limits: &Limits,
    ) -> Result<Value, QueryError> {
        let start = self.find(query)?;
        let found = traverse::neighbourhood(&self.snapshot, start, depth, filter, limits)?;
        let nodes: Vec<Value> = found
            .nodes
            .iter()
            .map(|&(n, d)| {
                let mut v = self.node_json(n);
                v["depth"] = json!(d);
                v
            })
            .collect();
        Ok(json!({
            "start": self.node_json(start),
            "depth": depth,
            "nodes": nodes,
            "links": found.links.iter().map(|&l| self.link_json(l)).collect::<Vec<_>>(),
            "truncated": found.truncated,
        }))
    }

    /// Paths between two nodes: the shortest, the `k` shortest, or the time-respecting one.
    #[allow(clippy::too_many_arguments)]
    pub fn paths(
        &self,
        from: &str,
        to: &str,
        k: usize,
        time_respecting: bool,
        gap_days: Option<i64>,
        filter: &Filter,
        limits: &Limits,
    ) -> Result<Value, QueryError> {
        let (a, b) = (self.find(from)?, self.find(to)?);
        let paths: Vec<Value> = if time_respecting {
            traverse::time_respecting_path(&self.snapshot, a, b, gap_days, filter, limits)?
                .map(|p| {
                    let mut v = self.path_json(&p.path);
                    v["days"] = json!(p.days.iter().map(|d| d.map(day_text)).collect::<Vec<_>>());
                    v
                })
                .into_iter()
                .collect()
        } else if k <= 1 {
            traverse::shortest_path(&self.snapshot, a, b, filter, limits)?
                .map(|p| self.path_json(&p))
                .into_iter()
                .collect()
        } else {
            traverse::k_shortest_paths(&self.snapshot, a, b, k, filter, limits)?
                .iter()
                .map(|p| self.path_json(p))
                .collect()
        };
        Ok(json!({
            "from": self.node_json(a),
            "to": self.node_json(b),
            "time_respecting": time_respecting,
            "gap_days": gap_days,
            "paths": paths,
        }))
    }

    /// The `top` most central nodes by a measure, over the part of the graph `filter` keeps.
    pub fn central(
        &self,
        measure: Measure,
        top: usize,
        sample: Option<usize>,
        seed: u64,
        filter: &Filter,
        limits: &Limits,
    ) -> Result<Value, QueryError> {
        graph::check_top(top, TOP_MAX)?;
        let graph = self.snapshot.simple_filtered(filter);
        let n = graph.node_count();
        let (scores, method) = match measure {
            Measure::Degree => (centrality::degree(&graph), "degree / (n - 1)".to_string()),
            Measure::Eigenvector => (
                centrality::eigenvector(&graph, 1e-6, limits)?,
                "power iteration on A + I, L2-normalised".to_string(),
            ),
            Measure::Betweenness => {
                let count = sample.unwrap_or(if n <= EXACT_BETWEENNESS_MAX { n } else { 1_000 });
                let sources = if count >= n {
                    Sources::All
                } else {
                    Sources::Sample { count, seed }
                };
                let method = match sources {
                    Sources::All => "exact (Brandes), normalised by 1/((n-1)(n-2))".to_string(),
                    Sources::Sample { count, seed } => format!(
                        "sampled: {count} of {n} sources (seed {seed}), scaled by n/{count}"
                    ),
                };
                (centrality::betweenness(&graph, sources, limits)?, method)
            }
        };
        let ranked: Vec<Value> = centrality::top(&scores, top)
            .into_iter()
            .map(|(v, score)| {
                let mut node = self.node_json(graph.original(v));
                node["score"] = json!(score);
                node
            })
            .collect();
        Ok(json!({
            "measure": format!("{measure:?}").to_lowercase(),
            "method": method,
            "nodes_considered": n,
            "ranking": ranked,
        }))
    }

    /// Components or Louvain communities, the `top` largest with their members.
    pub fn communities(
        &self,
        method: Grouping,
        top: usize,
        members_max: usize,
        seed: u64,
        filter: &Filter,
        limits: &Limits,
    ) -> Result<Value, QueryError> {
        graph::check_top(top, TOP_MAX)?;
        graph::check_top(members_max, TOP_MAX)?;
        let graph = self.snapshot.simple_filtered(filter);
        let partition = match method {
            Grouping::Components => community::components(&graph),
            Grouping::Louvain => community::louvain(
                &graph,
                &LouvainOptions {
                    seed,
                    ..LouvainOptions::default()
                },
                limits,
            )?,
        };
        let modularity = community::modularity(&graph, &partition);
        let mut blocks = partition.blocks();
        blocks.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        let listed: Vec<Value> = blocks
            .iter()
            .take(top)
            .map(|block| {
                // The best-connected members first: they say what the community is about.
                let mut members: Vec<u32> = block.clone();
                members.sort_by_key(|&v| std::cmp::Reverse(graph.neighbours(v).len()));
                json!({
                    "size": block.len(),
                    "members": members
                        .iter()
                        .take(members_max)
                        .map(|&v| self.node_json(graph.original(v)))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(json!({
            "method": format!("{method:?}").to_lowercase(),
            "count": partition.count,
            "modularity": modularity,
            "nodes_considered": graph.node_count(),
            "communities": listed,
        }))
    }

    /// Incident counts per period along one dimension.
    pub fn trends(
        &self,
        dimension: Dimension,
        interval: Interval,
        days: Option<(i64, i64)>,
        series_max: usize,
    ) -> Result<Value, QueryError> {
        graph::check_top(series_max, TOP_MAX)?;
        let series = trend::counts(&self.facts, dimension, interval, days, series_max);
        Ok(json!({
            "interval": interval.noun(),
            "incidents": self.facts.incidents.len(),
            "series": series.iter().map(|s| json!({
                "what": s.what,
                "where": s.place,
                "key": self.scope_key(&s.scope),
                "total": s.total,
                "counts": s.counts.iter().map(|(p, c)| (interval.label(*p), json!(c))).collect::<serde_json::Map<_, _>>(),
            })).collect::<Vec<_>>(),
        }))
    }

    fn scope_key(&self, scope: &trend::Scope) -> Value {
        let group = |g: usize| {
            let group = &self.facts.groups[g];
            json!({ "id": group.key, "name": group.name, "home": group.home })
        };
        match scope {
            trend::Scope::Group(g) => json!({ "group": group(*g) }),
            trend::Scope::GroupIn(g, c) => json!({ "group": group(*g), "country": c }),
            trend::Scope::GroupOutsideHome(g, c) => {
                json!({ "group": group(*g), "outside_country": c })
            }
            trend::Scope::Country(c) => json!({ "country": c }),
            trend::Scope::AttackType(t) => json!({ "attack_type": t }),
        }
    }

    /// Surges, each explained.
    pub fn surges(&self, options: &SurgeOptions) -> Value {
        let found = trend::surges(&self.facts, options);
        json!({
            "test": "one-sided exact conditional Poisson rate test (binomial), each period against the covered periods of its baseline window; Benjamini-Hochberg over all tests",
            "interval": options.interval.noun(),
            "baseline_periods": options.baseline_periods,
            "count_min": options.count_min,
            "alpha": options.alpha,
            "incidents": self.facts.incidents.len(),
            "surges": found.iter().map(|s| json!({
                "what": s.what,
                "where": s.place,
                "key": self.scope_key(&s.scope),
                "period": s.period,
                "count": s.count,
                "baseline_count": s.baseline_count,
                "baseline_periods_with_data": s.baseline_periods,
                "baseline_window": [s.baseline_window.0, s.baseline_window.1],
                "baseline_rate": s.baseline_rate,
                "rate_ratio": s.rate_ratio,
                "p_value": s.p_value,
                "q_value": s.q_value,
                "tests": s.tests,
                "countries": s.countries,
                "incidents": s.incidents.iter().map(|id| match self.snapshot.lookup(id) {
                    Some(n) => self.node_json(n),
                    None => json!({ "id": id }),
                }).collect::<Vec<_>>(),
                "explanation": s.explanation,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Every STIX id an answer names (nodes, their source objects, supporting relationships), in
/// order of first mention.
pub fn ids_in(answer: &Value) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>, seen: &mut std::collections::HashSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("id" | "source" | "target", Value::String(s)) if s.contains("--") => {
                            if seen.insert(s.clone()) {
                                out.push(s.clone());
                            }
                        }
                        ("supports", Value::Array(ids)) => {
                            for id in ids.iter().filter_map(Value::as_str) {
                                if seen.insert(id.to_string()) {
                                    out.push(id.to_string());
                                }
                            }
                        }
                        _ => walk(v, out, seen),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out, seen)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(answer, &mut out, &mut std::collections::HashSet::new());
    out
}

/// An answer as a STIX 2.1 `grouping` (context `suspicious-activity`) of every object it
/// names. `now` is the grouping's created and modified time; `None` when it names nothing.
pub fn grouping(answer: &Value, name: &str, now: &str) -> Option<Object> {
    let refs = ids_in(answer);
    if refs.is_empty() {
        return None;
    }
    let value = json!({
        "type": "grouping",
        "spec_version": "2.1",
        "id": format!("grouping--{}", uuid::Uuid::new_v4()),
        "created": now,
        "modified": now,
        "name": name,
        "context": "suspicious-activity",
        "object_refs": refs,
    });
    Object::from_value(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::import;

    const KERMAN: &str = "incident--ffff463b-72b7-535e-aeba-1e0481392eea";
    const ISTANBUL: &str = "incident--58c6f5e5-16d5-5558-96ad-082f34f8d7b7";

    fn hops(view: &View) -> Option<usize> {
        let answer = view
            .paths(
                KERMAN,
                ISTANBUL,
                1,
                false,
                None,
                &Filter::default(),
                &Limits::default(),
            )
            .expect("both incidents are visible");
        answer["paths"][0]["hops"].as_u64().map(|h| h as usize)
    }

    /// An analyst's view catches up with what the store gained, without a rebuild: the
    /// same-cell link arrives after the view was built and shortens the path.
    #[test]
    fn an_analyst_view_catches_up_incrementally() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path()).unwrap();
        let demo: serde_json::Value = serde_json::from_str(incident::demo::DEMO_BUNDLE).unwrap();
        let (same_cell, rest): (Vec<_>, Vec<_>) = demo["objects"]
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .partition(|o| o["relationship_type"] == "same-cell");
        assert_eq!(same_cell.len(), 1);
        import(&store, rest);
        let mut view = View::build(&store, Viewer::Analyst, None).unwrap();
        let before = view.through_seq;
        let relationships = view.snapshot.relationship_count();
        assert_eq!(hops(&view), Some(2));
        assert_eq!(view.catch_up(&store, None).unwrap(), 0);
        import(&store, same_cell);
        assert_eq!(view.catch_up(&store, None).unwrap(), 1);
        assert!(view.through_seq > before);
        assert_eq!(view.snapshot.relationship_count(), relationships + 1);
        assert_eq!(hops(&view), Some(1));
        // A partner the policy does not know gets no view at all.
        let refused = View::build(&store, Viewer::Partner("nobody".into()), None);
        assert!(matches!(refused, Err(AnalysisError::UnknownPartner(_))));
    }
}
