//! Who holds the network together: degree, betweenness and eigenvector centrality on a
//! [`SimpleGraph`] (undirected, distinct neighbours), normalised as networkx normalises them so
//! the two can be compared.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::rng::SplitMix64;
use crate::snapshot::SimpleGraph;
use crate::{GraphError, Limits, check_limit};

/// Degree centrality: neighbours / (n - 1).
pub fn degree(graph: &SimpleGraph<'_>) -> Vec<f64> {
    let n = graph.node_count();
    let scale = if n > 1 { 1.0 / (n - 1) as f64 } else { 1.0 };
    (0..n as u32)
        .map(|v| graph.neighbours(v).len() as f64 * scale)
        .collect()
}

/// Which sources a betweenness computation starts from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sources {
    /// Every node: exact betweenness.
    All,
    /// `count` nodes drawn uniformly without replacement with `seed`; the sums are scaled by
    /// n / count, an unbiased estimate of the exact values.
    Sample { count: usize, seed: u64 },
}

/// Betweenness centrality (Brandes 2001, unweighted), normalised by 1 / ((n - 1)(n - 2)) as
/// networkx's `betweenness_centrality(normalized=True)` is. Sources run in parallel.
///
/// Cost: one breadth-first search and one reverse sweep per source, O(n + m) each, and
/// about 50 bytes of buffers per node per thread. On a million nodes and five million edges,
/// about 0.15 CPU-seconds per source (measured in `bench/graph`; see [`Sweeps`] for why).
pub fn betweenness(
    graph: &SimpleGraph<'_>,
    sources: Sources,
    limits: &Limits,
) -> Result<Vec<f64>, GraphError> {
    let n = graph.node_count();
    let chosen: Vec<u32> = match sources {
        Sources::All => {
            check_limit("betweenness sources", n, limits.sources_max)?;
            (0..n as u32).collect()
        }
        Sources::Sample { count, seed } => {
            check_limit("betweenness sources", count, limits.sources_max)?;
            let mut all: Vec<u32> = (0..n as u32).collect();
            let count = count.min(n);
            // A partial Fisher–Yates shuffle: the first `count` are a uniform sample.
            let mut rng = SplitMix64::new(seed);
            for i in 0..count {
                let j = i + rng.below(n - i);
                all.swap(i, j);
            }
            all.truncate(count);
            all
        }
    };
    let k = chosen.len();
    // One worker per thread, each with its own buffers, taking the next few sources as it
    // finishes (a worker slowed down by other load does not hold the others back).
    let next = AtomicUsize::new(0);
    let workers = rayon::current_num_threads()
        .min(k.div_ceil(SOURCES_PER_TAKE))
        .max(1);
    let totals = (0..workers)
        .into_par_iter()
        .map(|_| {
            let mut centrality = vec![0.0; n];
            let mut sweeps: Option<Sweeps> = None;
            loop {
                let at = next.fetch_add(1, Ordering::Relaxed) * SOURCES_PER_TAKE;
                if at >= k {
                    break;
                }
                let sweeps = sweeps.get_or_insert_with(|| Sweeps::new(n));
                for &source in &chosen[at..(at + SOURCES_PER_TAKE).min(k)] {
                    sweeps.accumulate(graph, source, &mut centrality);
                }
            }
            centrality
        })
        .reduce(
            || vec![0.0; n],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        );
    let mut scale = if n > 2 {
        1.0 / ((n - 1) as f64 * (n - 2) as f64)
    } else {
        1.0
    };
    if k > 0 && k < n {
        scale *= n as f64 / k as f64;
    }
    Ok(totals.into_iter().map(|b| b * scale).collect())
}

/// Sources a worker takes from the shared counter at a time.
const SOURCES_PER_TAKE: usize = 4;
/// Nodes a forward sweep takes together: it finds their predecessors first, then reads the
/// predecessors' path counts in one loop of independent reads, which the memory system
/// serves together instead of one after the other.
const GROUP: usize = 32;
/// The 2-bit code of a node the forward sweep has not reached.
const FAR: u8 = 3;
/// The codes of 32 nodes (one 64-bit word) that no sweep has reached.
const FAR_WORD: u64 = u64::MAX;
/// The low bit of each 2-bit code of a word.
const LOW_BITS: u64 = 0x5555_5555_5555_5555;

/// Buffers of one thread's Brandes sweeps (one source at a time).
///
/// On a million nodes the sweeps are bound by the memory system, not by arithmetic: every
/// structure they touch at random is larger than a core's cache, and in the first version
/// (24 bytes of state per node, visited in breadth-first order) a source took 0.57 CPU-seconds,
/// nearly all of it waiting for memory. So:
///
/// - the check made for every adjacency entry ("how far is this neighbour?") reads two bits
///   per node (its level mod 3, which tells the level before, this one and the next apart,
///   as a neighbour is at most one level away): a quarter of a megabyte for a million nodes,
///   which stays in a core's own cache;
/// - each level's nodes are taken in index order, found 32 at a time in the codes, so the
///   adjacency is read front to back and neighbours in the same part of the graph share
///   cache lines (taking them in order of discovery instead doubled the time);
/// - predecessors are found without a branch per entry, and their path counts read in
///   groups (see [`GROUP`]);
/// - the forward sweep records each node's predecessors, so the backward sweep reads no
///   adjacency and checks nothing: each node, latest first, pushes its share to them.
struct Sweeps {
    /// One bit per node, 32 nodes per word: whether an earlier level reached it.
    reached_bits: Vec<u32>,
    /// Two bits per node, 32 nodes per 8 bytes: its level mod 3, or `FAR` before the forward
    /// sweep reaches it.
    code: Vec<u8>,
    /// Shortest paths from the source (sigma).
    sigma: Vec<f64>,
    /// What a node gains from its successors: the backward sweep's sum.
    gain: Vec<f64>,
    /// The nodes the forward sweep reached, in its order (levels ascending), each with the end
    /// of its run in `predecessors`.
    reached: Vec<(u32, u32)>,
    predecessors: Vec<u32>,
    /// One group of a level's nodes.
    group: Vec<u32>,
}

impl Sweeps {
    fn new(n: usize) -> Sweeps {
        let words = n.div_ceil(32);
        Sweeps {
            reached_bits: vec![0; words],
            // Whole words; the padding past the last node is never reached.
            code: vec![0xff; words * 8],
            sigma: vec![0.0; n],
            gain: vec![0.0; n],
            reached: Vec::with_capacity(n),
            predecessors: Vec::new(),
            group: Vec::with_capacity(GROUP),
        }
    }

    /// Adds the dependencies of every node on `source` to `centrality`.
    fn accumulate(&mut self, graph: &SimpleGraph<'_>, source: u32, centrality: &mut [f64]) {
        let Sweeps {
            reached_bits,
            code,
            sigma,
            gain,
            reached,
            predecessors,
            group,
        } = self;
        code.fill(0xff);
        reached_bits.fill(0);
        reached.clear();
        predecessors.clear();
        set_code(code, source, 0);
        sigma[source as usize] = 1.0;
        // Forward: each level's nodes sum their predecessors' path counts (the level before
        // is done) and discover the next level.
        for depth in 0u32.. {
            let (here, before, after) = (
                (depth % 3) as u8,
                ((depth + 2) % 3) as u8,
                ((depth + 1) % 3) as u8,
            );
            let first = reached.len();
            let pattern = LOW_BITS * u64::from(here);
            let mut word = 0;
            while word < reached_bits.len() {
                // The next group of this level's nodes: those whose code says `here` that no
                // earlier level reached.
                group.clear();
                while word < reached_bits.len() && group.len() < GROUP {
                    let codes = code_word(code, word);
                    if codes != FAR_WORD {
                        let x = codes ^ pattern;
                        // Bit 2i is set where node i's code equals `here`.
                        let mut equal = !(x | (x >> 1)) & LOW_BITS;
                        let mut level = 0u32;
                        while equal != 0 {
                            level |= 1 << (equal.trailing_zeros() / 2);
                            equal &= equal - 1;
                        }
                        let mut level = level & !reached_bits[word];
                        reached_bits[word] |= level;
                        while level != 0 {
                            group.push(word as u32 * 32 + level.trailing_zeros());
                            level &= level - 1;
                        }
                    }
                    word += 1;
                }
                let from = predecessors.len();
                for &v in group.iter() {
                    // No branch per entry: every neighbour is written to the list, which grows
                    // past it only when it is a predecessor.
                    let neighbours = graph.neighbours(v);
                    let mut end = predecessors.len();
                    predecessors.resize(end + neighbours.len(), 0);
                    for &u in neighbours {
                        let c = get_code(code, u);
                        if c == FAR {
                            set_code(code, u, after);
                        }
                        predecessors[end] = u;
                        end += usize::from(c == before);
                    }
                    predecessors.truncate(end);
                    reached.push((v, end as u32));
                }
                if depth > 0 {
                    let mut start = from;
                    for &(v, end) in &reached[reached.len() - group.len()..] {
                        let end = end as usize;
                        sigma[v as usize] = predecessors[start..end]
                            .iter()
                            .map(|&u| sigma[u as usize])
                            .sum();
                        start = end;
                    }
                }
            }
            if reached.len() == first {
                break;
            }
        }
        // Backward: a node's successors come after it in `reached`, so going back each node
        // has its whole gain when its turn comes.
        for &(v, _) in reached.iter() {
            gain[v as usize] = 0.0;
        }
        for at in (0..reached.len()).rev() {
            let (v, end) = reached[at];
            let start = if at == 0 { 0 } else { reached[at - 1].1 };
            let paths = sigma[v as usize];
            let delta = paths * gain[v as usize];
            if v != source {
                centrality[v as usize] += delta;
            }
            let share = (1.0 + delta) / paths;
            for &u in &predecessors[start as usize..end as usize] {
                gain[u as usize] += share;
            }
        }
    }
}

#[inline(always)]
fn code_word(code: &[u8], word: usize) -> u64 {
    let bytes: [u8; 8] = code[word * 8..word * 8 + 8]
        .try_into()
        .expect("invariant: the codes are whole words");
    u64::from_le_bytes(bytes)
}

#[inline(always)]
fn get_code(code: &[u8], u: u32) -> u8 {
    (code[(u >> 2) as usize] >> ((u & 3) * 2)) & 3
}

#[inline(always)]
fn set_code(code: &mut [u8], u: u32, c: u8) {
    let byte = &mut code[(u >> 2) as usize];
    let shift = (u & 3) * 2;
    *byte = (*byte & !(3 << shift)) | (c << shift);
}

/// Eigenvector centrality by power iteration on A + I with L2 normalisation, started from the
/// uniform vector, stopping when the L1 change falls below n * `tolerance` (networkx's
/// `eigenvector_centrality` method). Fails when `Limits::iterations_max` is reached first.
pub fn eigenvector(
    graph: &SimpleGraph<'_>,
    tolerance: f64,
    limits: &Limits,
) -> Result<Vec<f64>, GraphError> {
    let n = graph.node_count();
    if n == 0 {
        return Ok(vec![]);
    }
    let mut x = vec![1.0 / n as f64; n];
    for _ in 0..limits.iterations_max {
        let next: Vec<f64> = (0..n as u32)
            .into_par_iter()
            .map(|v| {
                x[v as usize]
                    + graph
                        .neighbours(v)
                        .iter()
                        .map(|&w| x[w as usize])
                        .sum::<f64>()
            })
            .collect();
        let norm = next.iter().map(|v| v * v).sum::<f64>().sqrt();
        let norm = if norm > 0.0 { norm } else { 1.0 };
        let next: Vec<f64> = next.into_iter().map(|v| v / norm).collect();
        let change: f64 = next.iter().zip(&x).map(|(a, b)| (a - b).abs()).sum();
        x = next;
        if change < n as f64 * tolerance {
            return Ok(x);
        }
    }
    Err(GraphError::Limit {
        what: "eigenvector iterations (no convergence)",
        asked: limits.iterations_max + 1,
        max: limits.iterations_max,
    })
}

/// The indices of the `count` highest scores, highest first (ties by index).
pub fn top(scores: &[f64], count: usize) -> Vec<(u32, f64)> {
    let mut ranked: Vec<(u32, f64)> = scores
        .iter()
        .enumerate()
        .map(|(i, &s)| (i as u32, s))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(count);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_of_five_has_the_textbook_values() {
        // 0 - 1 - 2 - 3 - 4
        let g = SimpleGraph::from_edges(5, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
        let b = betweenness(&g, Sources::All, &Limits::default()).unwrap();
        // Pairs through 2: (0,3),(0,4),(1,3),(1,4) = 4 of (4*3)/2 = 6 normalised pairs.
        let expected = [0.0, 3.0 / 6.0, 4.0 / 6.0, 3.0 / 6.0, 0.0];
        for (got, want) in b.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{b:?}");
        }
        let d = degree(&g);
        assert_eq!(d, vec![0.25, 0.5, 0.5, 0.5, 0.25]);
        let e = eigenvector(&g, 1e-9, &Limits::default()).unwrap();
        assert_eq!(top(&e, 1)[0].0, 2);
        assert!((e[0] - e[4]).abs() < 1e-9 && (e[1] - e[3]).abs() < 1e-9);
    }

    /// Brandes as the textbook states it: a queue, predecessor lists, a stack.
    fn textbook(graph: &SimpleGraph<'_>) -> Vec<f64> {
        let n = graph.node_count();
        let mut centrality = vec![0.0; n];
        for s in 0..n as u32 {
            let mut sigma = vec![0.0f64; n];
            let mut distance = vec![-1i64; n];
            let mut predecessors: Vec<Vec<u32>> = vec![Vec::new(); n];
            let mut stack = Vec::new();
            let mut queue = std::collections::VecDeque::from([s]);
            sigma[s as usize] = 1.0;
            distance[s as usize] = 0;
            while let Some(v) = queue.pop_front() {
                stack.push(v);
                for &w in graph.neighbours(v) {
                    if distance[w as usize] < 0 {
                        distance[w as usize] = distance[v as usize] + 1;
                        queue.push_back(w);
                    }
                    if distance[w as usize] == distance[v as usize] + 1 {
                        sigma[w as usize] += sigma[v as usize];
                        predecessors[w as usize].push(v);
                    }
                }
            }
            let mut delta = vec![0.0f64; n];
            while let Some(w) = stack.pop() {
                for &v in &predecessors[w as usize] {
                    delta[v as usize] +=
                        sigma[v as usize] / sigma[w as usize] * (1.0 + delta[w as usize]);
                }
                if w != s {
                    centrality[w as usize] += delta[w as usize];
                }
            }
        }
        let scale = 1.0 / ((n - 1) as f64 * (n - 2) as f64);
        centrality.into_iter().map(|c| c * scale).collect()
    }

    #[test]
    fn the_sweeps_agree_with_the_textbook() {
        // Several components, isolated nodes, and a node count that is not a whole number of
        // 32-node code words.
        let mut rng = SplitMix64::new(11);
        let mut edges: Vec<(u32, u32)> = (0..500)
            .map(|_| (rng.below(150) as u32, rng.below(150) as u32))
            .collect();
        edges.extend((0..60).map(|_| (150 + rng.below(40) as u32, 150 + rng.below(40) as u32)));
        let g = SimpleGraph::from_edges(197, &edges);
        let ours = betweenness(&g, Sources::All, &Limits::default()).unwrap();
        for (v, (a, b)) in ours.iter().zip(textbook(&g)).enumerate() {
            assert!((a - b).abs() < 1e-12, "node {v}: {a} vs {b}");
        }
    }

    #[test]
    fn a_path_deeper_than_a_byte_counts() {
        // 0 - 1 - ... - 599: node i lies on the paths between the i nodes before it and the
        // 599 - i after it.
        let n = 600u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let g = SimpleGraph::from_edges(n as usize, &edges);
        let b = betweenness(&g, Sources::All, &Limits::default()).unwrap();
        let pairs = f64::from(n - 1) * f64::from(n - 2) / 2.0;
        for i in 0..n {
            let expected = f64::from(i) * f64::from(n - 1 - i) / pairs;
            assert!((b[i as usize] - expected).abs() < 1e-12, "node {i}");
        }
    }

    #[test]
    fn sampling_every_node_is_exact_and_fewer_is_close() {
        let mut rng = SplitMix64::new(3);
        let edges: Vec<(u32, u32)> = (0..600)
            .map(|_| (rng.below(150) as u32, rng.below(150) as u32))
            .collect();
        let g = SimpleGraph::from_edges(150, &edges);
        let exact = betweenness(&g, Sources::All, &Limits::default()).unwrap();
        let full = betweenness(
            &g,
            Sources::Sample {
                count: 150,
                seed: 1,
            },
            &Limits::default(),
        )
        .unwrap();
        for (a, b) in exact.iter().zip(&full) {
            assert!((a - b).abs() < 1e-12);
        }
        let half = betweenness(
            &g,
            Sources::Sample { count: 75, seed: 1 },
            &Limits::default(),
        )
        .unwrap();
        // Half the sources: an estimate, strongly correlated with the exact values.
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let (ma, mb) = (mean(&exact), mean(&half));
        let cov: f64 = exact
            .iter()
            .zip(&half)
            .map(|(a, b)| (a - ma) * (b - mb))
            .sum();
        let va: f64 = exact.iter().map(|a| (a - ma).powi(2)).sum();
        let vb: f64 = half.iter().map(|b| (b - mb).powi(2)).sum();
        let correlation = cov / (va * vb).sqrt();
        assert!(correlation > 0.9, "correlation {correlation}");
        assert!((mean(&half) / mean(&exact) - 1.0).abs() < 0.1);
    }
}
