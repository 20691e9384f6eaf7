//! Walking the snapshot: neighbourhoods, shortest and k-shortest paths, time-respecting paths.
//!
//! Links are walked in both directions (an incident is as close to its group as the group to
//! the incident); each answer names the links it used, and a link names its direction.
//! A [`Filter`] keeps nodes by type, time and confidence and links by type, time and
//! confidence; a node or link without a time or a confidence passes the time window or the
//! minimum (absence of a value is not evidence against it). The start of a walk is always
//! kept.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use crate::marks::with_marks;
use crate::snapshot::{LinkIx, NodeIx, Snapshot};
use crate::{GraphError, Limits, check_limit};

/// What a walk may use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Node types to keep (empty: all).
    pub node_kinds: Vec<String>,
    /// Link (relationship) types to keep (empty: all).
    pub link_kinds: Vec<String>,
    /// Keep only nodes and links whose day falls in this window, both ends included.
    pub days: Option<(i64, i64)>,
    /// Keep only nodes and links whose confidence is at least this.
    pub confidence_min: Option<u8>,
}

/// A filter resolved against one snapshot's interned types.
pub(crate) struct Compiled {
    /// No condition on nodes: every node passes.
    every_node: bool,
    /// No condition on links: every link passes.
    every_link: bool,
    node_kinds: Option<Vec<bool>>,
    link_kinds: Option<Vec<bool>>,
    days: Option<(i64, i64)>,
    confidence_min: Option<u8>,
}

impl Filter {
    pub(crate) fn compile(&self, s: &Snapshot) -> Compiled {
        let node_kinds = (!self.node_kinds.is_empty()).then(|| {
            let mut keep = vec![false; s.kind_count() + 1];
            for kind in &self.node_kinds {
                if let Some(k) = s.kind_index(kind) {
                    keep[usize::from(k)] = true;
                }
            }
            keep
        });
        let link_kinds = (!self.link_kinds.is_empty()).then(|| {
            let mut keep = vec![false; s.link_kind_count() + 1];
            for kind in &self.link_kinds {
                if let Some(k) = s.link_kind_index(kind) {
                    keep[usize::from(k)] = true;
                }
            }
            keep
        });
        let timeless = self.days.is_none() && self.confidence_min.is_none();
        Compiled {
            every_node: node_kinds.is_none() && timeless,
            every_link: link_kinds.is_none() && timeless,
            node_kinds,
            link_kinds,
            days: self.days,
            confidence_min: self.confidence_min,
        }
    }
}

impl Compiled {
    fn day_ok(&self, day: Option<i64>) -> bool {
        match (self.days, day) {
            (Some((from, to)), Some(day)) => from <= day && day <= to,
            _ => true,
        }
    }

    fn confidence_ok(&self, confidence: Option<u8>) -> bool {
        match (self.confidence_min, confidence) {
            (Some(min), Some(c)) => c >= min,
            _ => true,
        }
    }

    #[inline]
    pub(crate) fn node_ok(&self, s: &Snapshot, node: NodeIx) -> bool {
        if self.every_node {
            return true;
        }
        if let Some(keep) = &self.node_kinds
            && !keep
                .get(usize::from(s.node_kind_raw(node)))
                .copied()
                .unwrap_or(false)
        {
            return false;
        }
        self.day_ok(s.node_day_raw(node)) && self.confidence_ok(s.node_confidence_raw(node))
    }

    #[inline]
    pub(crate) fn link_ok(&self, s: &Snapshot, link: LinkIx) -> bool {
        if self.every_link {
            return true;
        }
        if let Some(keep) = &self.link_kinds
            && !keep
                .get(usize::from(s.link_kind_raw(link)))
                .copied()
                .unwrap_or(false)
        {
            return false;
        }
        self.day_ok(s.link_day_raw(link)) && self.confidence_ok(s.link_confidence_raw(link))
    }

    /// Whether any link of an adjacency entry passes.
    #[inline]
    pub(crate) fn entry_ok(&self, s: &Snapshot, entry: usize) -> bool {
        if self.every_link {
            return true;
        }
        s.adjacency_links(entry).iter().any(|&l| self.link_ok(s, l))
    }

    /// The passing link of an entry with the highest confidence (the first on ties).
    fn best_link(&self, s: &Snapshot, entry: usize) -> Option<LinkIx> {
        let mut best: Option<(LinkIx, i16)> = None;
        for &l in s.adjacency_links(entry) {
            if !self.link_ok(s, l) {
                continue;
            }
            let c = s.link_confidence_raw(l).map_or(-1, i16::from);
            if best.is_none_or(|(_, b)| c > b) {
                best = Some((l, c));
            }
        }
        best.map(|(l, _)| l)
    }
}

/// The nodes within `depth` hops of a start, and the links between them that the walk used.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbourhood {
    /// Each node with its distance in hops, in visiting order (the start first, at 0).
    pub nodes: Vec<(NodeIx, u32)>,
    /// Passing links from a node nearer than `depth` to another node of the answer, each once,
    /// in the order the walk took them (nearer first).
    pub links: Vec<LinkIx>,
    /// Whether `Limits::nodes_max` cut the walk short.
    pub truncated: bool,
}

/// Nodes whose adjacency a walk fetches together before reading it (see
/// `Snapshot::warm_adjacency`).
const WARM: usize = 16;

/// Breadth-first walk from `start` to `depth` hops.
pub fn neighbourhood(
    s: &Snapshot,
    start: NodeIx,
    depth: usize,
    filter: &Filter,
    limits: &Limits,
) -> Result<Neighbourhood, GraphError> {
    check_limit("depth", depth, limits.depth_max)?;
    check_node(s, start)?;
    let compiled = filter.compile(s);
    // A node's mark is its place in `nodes`. A link between two nodes that are both expanded
    // (nearer than `depth`) is taken from the one expanded first only: that keeps each link
    // once without sorting them (sorting was a third of a depth-2 walk of 200 links).
    Ok(with_marks(|marks| {
        marks.set(start, 0, 0);
        let mut nodes = Vec::with_capacity(128);
        nodes.push((start, 0u32));
        let mut links: Vec<LinkIx> = Vec::with_capacity(256);
        let mut truncated = false;
        let mut head = 0;
        let mut warmed = 0;
        let mut ahead: Vec<NodeIx> = Vec::with_capacity(WARM);
        while head < nodes.len() {
            if head >= warmed {
                warmed = (head + WARM).min(nodes.len());
                ahead.clear();
                ahead.extend(
                    nodes[head..warmed]
                        .iter()
                        .filter(|n| (n.1 as usize) < depth)
                        .map(|n| n.0),
                );
                s.warm_adjacency(&ahead, true);
            }
            let place = head as u32;
            let (v, d) = nodes[head];
            head += 1;
            if d as usize >= depth {
                continue;
            }
            let (from, to) = s.adjacency_range(v);
            for entry in from..to {
                let w = s.adjacency_node(entry);
                let mark = marks.get(w, 0);
                if let Some(at) = mark
                    && at < place
                    && (nodes[at as usize].1 as usize) < depth
                {
                    continue;
                }
                if !compiled.node_ok(s, w) && w != start {
                    continue;
                }
                let before = links.len();
                links.extend(
                    s.adjacency_links(entry)
                        .iter()
                        .copied()
                        .filter(|&l| compiled.link_ok(s, l)),
                );
                if links.len() == before {
                    continue;
                }
                if mark.is_none() {
                    if nodes.len() >= limits.nodes_max {
                        truncated = true;
                        links.truncate(before);
                        continue;
                    }
                    marks.set(w, 0, nodes.len() as u32);
                    nodes.push((w, d + 1));
                }
            }
        }
        Neighbourhood {
            nodes,
            links,
            truncated,
        }
    }))
}

/// Every link between two nodes (any type, any direction), unfiltered.
pub fn links_between(s: &Snapshot, a: NodeIx, b: NodeIx) -> Vec<LinkIx> {
    if (a as usize) >= s.node_count() || (b as usize) >= s.node_count() {
        return vec![];
    }
    entry_between(s, a, b).map_or_else(Vec::new, |entry| s.adjacency_links(entry).to_vec())
}

/// A path: `links[i]` joins `nodes[i]` and `nodes[i + 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub nodes: Vec<NodeIx>,
    pub links: Vec<LinkIx>,
}

impl Path {
    pub fn hops(&self) -> usize {
        self.links.len()
    }
}

fn check_node(s: &Snapshot, node: NodeIx) -> Result<(), GraphError> {
    if (node as usize) < s.node_count() {
        Ok(())
    } else {
        Err(GraphError::UnknownNode(format!("#{node}")))
    }
}

/// The adjacency entry of `v` for neighbour `w` (runs are sorted by neighbour).
fn entry_between(s: &Snapshot, v: NodeIx, w: NodeIx) -> Option<usize> {
    let (from, _) = s.adjacency_range(v);
    s.neighbours(v).binary_search(&w).ok().map(|i| from + i)
}

fn path_from_nodes(s: &Snapshot, compiled: &Compiled, nodes: Vec<NodeIx>) -> Path {
    let links = nodes
        .windows(2)
        .map(|pair| {
            let entry = entry_between(s, pair[0], pair[1])
                .expect("invariant: consecutive nodes of a found path are adjacent");
            compiled
                .best_link(s, entry)
                .expect("invariant: a path only crosses entries with a passing link")
        })
        .collect();
    Path { nodes, links }
}

/// A shortest path (fewest hops) from `from` to `to`, by a breadth-first search from both
/// ends; `None` when there is none within `Limits::hops_max`.
pub fn shortest_path(
    s: &Snapshot,
    from: NodeIx,
    to: NodeIx,
    filter: &Filter,
    limits: &Limits,
) -> Result<Option<Path>, GraphError> {
    check_node(s, from)?;
    check_node(s, to)?;
    let compiled = filter.compile(s);
    if from == to {
        return Ok(Some(Path {
            nodes: vec![from],
            links: vec![],
        }));
    }
    let ok = |w: NodeIx| w == from || w == to || compiled.node_ok(s, w);
    // Side 0 walks from `from`, side 1 from `to`; a node's mark is the node it was reached from.
    let nodes = with_marks(|marks| {
        marks.set(from, 0, from);
        marks.set(to, 1, to);
        let mut frontiers = [vec![from], vec![to]];
        let mut next = Vec::new();
        let mut hops = 0usize;
        while !frontiers[0].is_empty() && !frontiers[1].is_empty() {
            if hops >= limits.hops_max {
                return None;
            }
            hops += 1;
            // Expand the smaller side: the search stays small.
            let side = usize::from(frontiers[0].len() > frontiers[1].len());
            next.clear();
            let mut meeting: Option<(NodeIx, NodeIx)> = None;
            'level: for (k, &v) in frontiers[side].iter().enumerate() {
                if k % WARM == 0 {
                    let frontier = &frontiers[side];
                    s.warm_adjacency(
                        &frontier[k..(k + WARM).min(frontier.len())],
                        !compiled.every_link,
                    );
                }
                let (start, end) = s.adjacency_range(v);
                for entry in start..end {
                    let w = s.adjacency_node(entry);
                    let seen = marks.side(w);
                    if seen.is_some_and(|(on, _)| on == side as u32)
                        || !ok(w)
                        || !compiled.entry_ok(s, entry)
                    {
                        continue;
                    }
                    if seen.is_some() {
                        // Every node the other side marked is at most its frontier's depth
                        // away, and the frontier is the deepest: any meeting in this level is
                        // shortest.
                        meeting = Some((v, w));
                        break 'level;
                    }
                    marks.set(w, side as u32, v);
                    next.push(w);
                }
            }
            if let Some((v, w)) = meeting {
                // `near` is marked from `from`, `far` from `to`, and they are adjacent.
                let (near, far) = if side == 0 { (v, w) } else { (w, v) };
                let chain = |mut x: NodeIx, side: u32| {
                    let mut chain = vec![x];
                    while let Some(p) = marks.get(x, side).filter(|&p| p != x) {
                        chain.push(p);
                        x = p;
                    }
                    chain
                };
                let mut nodes = chain(near, 0);
                nodes.reverse();
                nodes.extend(chain(far, 1));
                return Some(nodes);
            }
            std::mem::swap(&mut frontiers[side], &mut next);
        }
        None
    });
    Ok(nodes.map(|nodes| path_from_nodes(s, &compiled, nodes)))
}

/// Breadth-first search avoiding some nodes and node pairs (Yen's spur searches).
fn bfs_avoiding(
    s: &Snapshot,
    compiled: &Compiled,
    from: NodeIx,
    to: NodeIx,
    blocked_nodes: &HashSet<NodeIx>,
    blocked_pairs: &HashSet<(NodeIx, NodeIx)>,
    hops_max: usize,
) -> Option<Vec<NodeIx>> {
    let mut parent: HashMap<NodeIx, NodeIx> = HashMap::from([(from, from)]);
    let mut frontier = vec![from];
    let mut hops = 0;
    while !frontier.is_empty() && hops < hops_max {
        hops += 1;
        let mut next = Vec::new();
        for &v in &frontier {
            let (start, end) = s.adjacency_range(v);
            for entry in start..end {
                let w = s.adjacency_node(entry);
                if parent.contains_key(&w)
                    || blocked_nodes.contains(&w)
                    || blocked_pairs.contains(&(v, w))
                    || (w != to && !compiled.node_ok(s, w))
                    || !compiled.entry_ok(s, entry)
                {
                    continue;
                }
                parent.insert(w, v);
                if w == to {
                    let mut nodes = vec![to];
                    let mut x = to;
                    while parent[&x] != x {
                        x = parent[&x];
                        nodes.push(x);
                    }
                    nodes.reverse();
                    return Some(nodes);
                }
                next.push(w);
            }
        }
        frontier = next;
    }
    None
}

/// Up to `k` loopless paths from `from` to `to`, shortest first (Yen's algorithm over
/// breadth-first searches; paths of equal length in ascending node order).
pub fn k_shortest_paths(
    s: &Snapshot,
    from: NodeIx,
    to: NodeIx,
    k: usize,
    filter: &Filter,
    limits: &Limits,
) -> Result<Vec<Path>, GraphError> {
    check_limit("k", k, limits.paths_max)?;
    check_node(s, from)?;
    check_node(s, to)?;
    let compiled = filter.compile(s);
    let none = HashSet::new();
    let Some(first) = bfs_avoiding(
        s,
        &compiled,
        from,
        to,
        &none,
        &HashSet::new(),
        limits.hops_max,
    ) else {
        return Ok(vec![]);
    };
    let mut found: Vec<Vec<NodeIx>> = vec![first];
    let mut candidates: BinaryHeap<Reverse<(usize, Vec<NodeIx>)>> = BinaryHeap::new();
    let mut known: HashSet<Vec<NodeIx>> = HashSet::from([found[0].clone()]);
    while found.len() < k {
        let previous = found.last().expect("found holds the first path").clone();
        for i in 0..previous.len().saturating_sub(1) {
            let spur = previous[i];
            let root = &previous[..=i];
            let mut blocked_pairs = HashSet::new();
            for path in &found {
                if path.len() > i + 1 && &path[..=i] == root {
                    blocked_pairs.insert((path[i], path[i + 1]));
                }
            }
            let blocked_nodes: HashSet<NodeIx> = root[..i].iter().copied().collect();
            let Some(tail) = bfs_avoiding(
                s,
                &compiled,
                spur,
                to,
                &blocked_nodes,
                &blocked_pairs,
                limits.hops_max.saturating_sub(i),
            ) else {
                continue;
            };
            let mut total = root[..i].to_vec();
            total.extend(tail);
            if known.insert(total.clone()) {
                candidates.push(Reverse((total.len(), total)));
            }
        }
        let Some(Reverse((_, next))) = candidates.pop() else {
            break;
        };
        found.push(next);
    }
    Ok(found
        .into_iter()
        .map(|nodes| path_from_nodes(s, &compiled, nodes))
        .collect())
}

/// A time-respecting path: the days of its timed links never decrease, and consecutive timed
/// links are at most the maximum gap apart. Links without a day (a group's `part-of`) are
/// timeless and may be crossed at any point.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedPath {
    pub path: Path,
    /// The day each link was crossed at (`None` for a timeless link).
    pub days: Vec<Option<i64>>,
}

/// The time-respecting path from `from` to `to` with the fewest hops, by a breadth-first
/// search over (node, day of the last timed link) states. `gap_max_days` bounds the time
/// between consecutive timed links.
pub fn time_respecting_path(
    s: &Snapshot,
    from: NodeIx,
    to: NodeIx,
    gap_max_days: Option<i64>,
    filter: &Filter,
    limits: &Limits,
) -> Result<Option<TimedPath>, GraphError> {
    check_node(s, from)?;
    check_node(s, to)?;
    let compiled = filter.compile(s);
    type State = (NodeIx, Option<i64>);
    let start: State = (from, None);
    let mut parent: HashMap<State, (State, LinkIx)> = HashMap::new();
    let mut seen: HashSet<State> = HashSet::from([start]);
    let mut frontier = vec![start];
    let mut hops = 0;
    let mut end: Option<State> = (from == to).then_some(start);
    while end.is_none() && !frontier.is_empty() && hops < limits.hops_max {
        hops += 1;
        let mut next = Vec::new();
        'level: for &(v, last) in &frontier {
            let (start_entry, end_entry) = s.adjacency_range(v);
            for entry in start_entry..end_entry {
                let w = s.adjacency_node(entry);
                if w != to && !compiled.node_ok(s, w) {
                    continue;
                }
                for &l in s.adjacency_links(entry) {
                    if !compiled.link_ok(s, l) {
                        continue;
                    }
                    let day = s.link_day_raw(l);
                    let arrival = match (last, day) {
                        (_, None) => last,
                        (None, Some(d)) => Some(d),
                        (Some(t), Some(d)) => {
                            if d < t || gap_max_days.is_some_and(|gap| d - t > gap) {
                                continue;
                            }
                            Some(d)
                        }
                    };
                    let state = (w, arrival);
                    if !seen.insert(state) {
                        continue;
                    }
                    check_limit("visited (node, day) states", seen.len(), limits.states_max)?;
                    parent.insert(state, ((v, last), l));
                    if w == to {
                        end = Some(state);
                        break 'level;
                    }
                    next.push(state);
                }
            }
        }
        frontier = next;
    }
    let Some(mut state) = end else {
        return Ok(None);
    };
    let mut nodes = vec![state.0];
    let mut links = Vec::new();
    let mut days = Vec::new();
    while let Some(&(previous, link)) = parent.get(&state) {
        nodes.push(previous.0);
        links.push(link);
        days.push(s.link_day_raw(link));
        state = previous;
    }
    nodes.reverse();
    links.reverse();
    days.reverse();
    Ok(Some(TimedPath {
        path: Path { nodes, links },
        days,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Batch, LinkRecord, ObjectRecord};

    fn graph(edges: &[(&str, &str, &str, Option<i64>)]) -> Snapshot {
        let mut ids: Vec<&str> = edges.iter().flat_map(|e| [e.0, e.1]).collect();
        ids.sort();
        ids.dedup();
        Snapshot::from_batch(Batch {
            objects: ids
                .iter()
                .map(|id| ObjectRecord {
                    id: id.to_string(),
                    kind: if id.starts_with('g') {
                        "group"
                    } else {
                        "incident"
                    }
                    .into(),
                    name: id.to_string(),
                    day: None,
                    confidence: None,
                    source: "s".into(),
                })
                .collect(),
            links: edges
                .iter()
                .enumerate()
                .map(|(i, e)| LinkRecord {
                    id: format!("r{i}"),
                    kind: e.2.into(),
                    source_ref: e.0.into(),
                    target_ref: e.1.into(),
                    day: e.3,
                    confidence: Some(50),
                })
                .collect(),
            ..Batch::default()
        })
        .unwrap()
    }

    fn names(s: &Snapshot, nodes: &[NodeIx]) -> Vec<String> {
        nodes.iter().map(|&n| s.node(n).id().to_string()).collect()
    }

    #[test]
    fn neighbourhood_respects_depth_and_link_filter() {
        let s = graph(&[
            ("a", "b", "x", None),
            ("b", "c", "x", None),
            ("c", "d", "x", None),
            ("a", "e", "y", None),
        ]);
        let a = s.lookup("a").unwrap();
        let all = neighbourhood(&s, a, 2, &Filter::default(), &Limits::default()).unwrap();
        let mut got = names(&s, &all.nodes.iter().map(|n| n.0).collect::<Vec<_>>());
        got.sort();
        assert_eq!(got, vec!["a", "b", "c", "e"]);
        assert_eq!(all.links.len(), 3);
        let only_x = Filter {
            link_kinds: vec!["x".into()],
            ..Filter::default()
        };
        let some = neighbourhood(&s, a, 6, &only_x, &Limits::default()).unwrap();
        assert_eq!(some.nodes.len(), 4);
        assert!(!some.nodes.iter().any(|n| s.node(n.0).id() == "e"));
        let over = neighbourhood(&s, a, 7, &only_x, &Limits::default());
        assert!(matches!(over, Err(GraphError::Limit { what: "depth", .. })));
    }

    #[test]
    fn a_neighbourhood_lists_every_link_within_reach_once() {
        let mut rng = crate::rng::SplitMix64::new(11);
        let names: Vec<String> = (0..60).map(|i| format!("n{i}")).collect();
        let edges: Vec<(&str, &str, &str, Option<i64>)> = (0..150)
            .map(|k| {
                let (a, b) = (rng.below_u64(60) as usize, rng.below_u64(60) as usize);
                let kind = if k % 4 == 0 { "y" } else { "x" };
                (names[a].as_str(), names[b].as_str(), kind, None)
            })
            .filter(|e| e.0 != e.1)
            .collect();
        let s = graph(&edges);
        for start in 0..s.node_count() as NodeIx {
            for depth in 0..4 {
                let found = neighbourhood(&s, start, depth, &Filter::default(), &Limits::default())
                    .unwrap();
                // By hand: distances by a plain breadth-first search, then every link with an
                // end nearer than `depth`.
                let mut distance = vec![u32::MAX; s.node_count()];
                distance[start as usize] = 0;
                let mut queue = std::collections::VecDeque::from([start]);
                while let Some(v) = queue.pop_front() {
                    for &w in s.neighbours(v) {
                        if distance[w as usize] == u32::MAX {
                            distance[w as usize] = distance[v as usize] + 1;
                            queue.push_back(w);
                        }
                    }
                }
                let near = |v: NodeIx| (distance[v as usize] as usize) < depth;
                let expected: Vec<LinkIx> = (0..s.link_count() as LinkIx)
                    .filter(|&l| near(s.link(l).source()) || near(s.link(l).target()))
                    .collect();
                let mut got = found.links.clone();
                got.sort_unstable();
                assert_eq!(got, expected, "start {start}, depth {depth}");
                let mut reached: Vec<(NodeIx, u32)> = (0..s.node_count() as NodeIx)
                    .filter(|&v| (distance[v as usize] as usize) <= depth)
                    .map(|v| (v, distance[v as usize]))
                    .collect();
                let mut nodes = found.nodes.clone();
                nodes.sort_unstable();
                reached.sort_unstable();
                assert_eq!(nodes, reached, "start {start}, depth {depth}");
            }
        }
    }

    #[test]
    fn shortest_and_k_shortest_paths() {
        let s = graph(&[
            ("a", "b", "x", None),
            ("b", "d", "x", None),
            ("a", "c", "x", None),
            ("c", "e", "x", None),
            ("e", "d", "x", None),
            ("d", "f", "x", None),
        ]);
        let (a, f) = (s.lookup("a").unwrap(), s.lookup("f").unwrap());
        let p = shortest_path(&s, a, f, &Filter::default(), &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(names(&s, &p.nodes), vec!["a", "b", "d", "f"]);
        assert_eq!(p.hops(), 3);
        let back = shortest_path(&s, f, a, &Filter::default(), &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(names(&s, &back.nodes), vec!["f", "d", "b", "a"]);
        let ks = k_shortest_paths(&s, a, f, 5, &Filter::default(), &Limits::default()).unwrap();
        let lengths: Vec<usize> = ks.iter().map(Path::hops).collect();
        assert_eq!(lengths, vec![3, 4]);
        assert_eq!(names(&s, &ks[1].nodes), vec!["a", "c", "e", "d", "f"]);
    }

    #[test]
    fn time_respecting_paths_never_go_back_in_time() {
        // a -1- b -3- c and a -5- d -2- c: only a, b, c respects time.
        let s = graph(&[
            ("a", "d", "x", Some(5)),
            ("d", "c", "x", Some(2)),
            ("a", "b", "x", Some(1)),
            ("b", "c", "x", Some(3)),
            ("c", "z", "x", Some(40)),
            ("g", "c", "part-of", None),
        ]);
        let (a, c, z) = (
            s.lookup("a").unwrap(),
            s.lookup("c").unwrap(),
            s.lookup("z").unwrap(),
        );
        let p = time_respecting_path(&s, a, c, None, &Filter::default(), &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(names(&s, &p.path.nodes), vec!["a", "b", "c"]);
        assert_eq!(p.days, vec![Some(1), Some(3)]);
        // With a gap of at most 10 days, 3 -> 40 is too long.
        let gap = time_respecting_path(&s, a, z, Some(10), &Filter::default(), &Limits::default())
            .unwrap();
        assert_eq!(gap, None);
        let no_gap = time_respecting_path(&s, a, z, None, &Filter::default(), &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(no_gap.path.hops(), 3);
        let g = s.lookup("g").unwrap();
        let timeless =
            time_respecting_path(&s, a, g, Some(10), &Filter::default(), &Limits::default())
                .unwrap()
                .unwrap();
        assert_eq!(timeless.days.last(), Some(&None));
    }
}
