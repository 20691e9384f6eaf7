//! Who holds the network together: degree, betweenness and eigenvector centrality on a
//! [`SimpleGraph`] (undirected, distinct neighbours), normalised as networkx normalises them so
//! the two can be compared.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use rayon::prelude::*;

use crate::pages::{self, HUGE_PAGE};
use crate::prefetch;
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
/// networkx's `betweenness_centrality(normalized=True)` is. Sources are swept [`BATCH`] at a
/// time, each batch on every thread (see [`Sweeps`]).
///
/// Cost: per batch, one breadth-first search and one reverse sweep for all its sources
/// together, O(n + m) per distinct level a node has among the batch's sources (at most
/// [`BATCH`]); buffers of 8 bytes per node and source of a batch (512 per node) for path
/// counts, 16 bytes per node and level a node has in the batch for the levels' lists (about 70
/// per node on the benchmark graph), and 32 per node. On a million nodes and five million
/// edges, about 0.045 CPU-seconds per source (measured in `bench/graph`; 0.055 with 32 sources
/// per batch, 0.13 to 0.18 when sources were swept one at a time).
pub fn betweenness(
    graph: &SimpleGraph<'_>,
    sources: Sources,
    limits: &Limits,
) -> Result<Vec<f64>, GraphError> {
    let n = graph.node_count();
    let chosen = chosen_sources(n, sources, limits)?;
    let k = chosen.len();
    // f64 bits, so that a level's tasks can add to the sums of its nodes.
    let centrality: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    if k > 0 {
        let mut sweeps = Sweeps::new(n);
        for batch in chosen.chunks(BATCH) {
            sweeps.accumulate(graph, batch, &centrality);
        }
    }
    let mut scale = if n > 2 {
        1.0 / ((n - 1) as f64 * (n - 2) as f64)
    } else {
        1.0
    };
    if k > 0 && k < n {
        scale *= n as f64 / k as f64;
    }
    Ok(centrality
        .into_iter()
        .map(|b| f64::from_bits(b.into_inner()) * scale)
        .collect())
}

/// The sources `sources` names on a graph of `n` nodes, in the order they are swept.
fn chosen_sources(n: usize, sources: Sources, limits: &Limits) -> Result<Vec<u32>, GraphError> {
    Ok(match sources {
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
    })
}

/// One bit per source of a batch.
type Mask = u64;
type AtomicMask = AtomicU64;
/// Sources swept together.
const BATCH: usize = Mask::BITS as usize;
/// Nodes one task of a level takes when every node is checked (pull).
const PULL_CHUNK: usize = 2048;
/// Entries of a level's list one task takes (push, and the reverse sweep).
const LIST_CHUNK: usize = 256;
/// A level pushes from its nodes (instead of every node not yet reached by every source
/// pulling from its neighbours) when its adjacency entries, times this, are fewer than those of
/// the nodes still to reach.
const PUSH_FACTOR: usize = 4;

/// Buffers of the sweeps of one batch of sources: a multi-source breadth-first search (Then et
/// al. 2014, "The More the Merrier") carrying Brandes' path counts forward and his dependencies
/// back.
///
/// On a million nodes the sweeps are bound by the memory system. Swept one at a time (with two
/// bits of level per node and predecessors recorded), each source read all ten million
/// adjacency entries and made about a million reads at random places in 8 MB arrays: 0.13 to
/// 0.18 CPU-seconds per source. So:
///
/// - a batch of [`BATCH`] sources shares its walks: a node's adjacency is read once per level
///   at which some source of the batch reaches it (about 4.7 levels per node on the benchmark
///   graph with 32 sources, instead of 32 walks), and the checks are bit operations on one
///   word per node;
/// - the values of one node for every source of the batch sit together (node-major), so the
///   sources for which a neighbour counts are read from the same few cache lines;
/// - a level with few adjacency entries pushes to its neighbours and a large one has every
///   node not yet reached pull from its neighbours (Beamer et al. 2012), so deep graphs (a
///   path) cost O(n + m) per batch and not a scan of every node per level;
/// - the reverse sweep pulls too: each node sums (1 + delta) / sigma over its successors and
///   then holds its own in place of its path count, all its predecessors need of it, so one
///   value per node and source serves both sweeps;
/// - checks and sums go by groups of nodes whose values are fetched ahead (see [`Gather`]), and
///   the buffers sit on 2 MB pages (see [`Huge`]);
/// - the bookkeeping between levels (marking a level's nodes, adding to the sums) runs on every
///   thread too: done on one, it left the other idle (33.8 s wall for 62 CPU-seconds on 1,000
///   sources, two threads, before).
///
/// Measured on the benchmark graph, one thread, CPU-seconds per 64 sources on a loaded
/// machine, with 32 sources per batch and the bookkeeping on one thread: 4.5 to 5.3; 6.0 to
/// 6.7 without fetching values ahead; 5.6 to 7.2 with 64 sources per batch (and twice the
/// memory); with 16 (half the memory), about the same on one thread but 10 to 25% more on two,
/// which share the memory system; 7.8 to 8.4 with each level's values packed (one per source
/// at the level), which saves cache lines but reads every value of a neighbour at the level
/// instead of those that count. About 30% of the time still waited for the first line of a
/// neighbour's values. On 1,000 sources: 68.5 CPU-seconds (178.5 swept one at a time, in the
/// same conditions).
///
/// With the bookkeeping on every thread, 64 sources per batch pays: on 128 sources, two
/// one-thread runs side by side (one per core, then swapped, twelve each), 6.8 CPU-seconds
/// against 7.6 with 32; on 1,000 sources (16 batches instead of 32, the last of 8 sources
/// costing nearly a whole one), two threads, load average about 2, 22.2 and 25.5 s wall, 42.9
/// and 49.3 CPU-seconds, against 30.5 and 29.7 s, 56.3 and 55.2 before. Path counts as
/// f32s in the forward sweep (exact up to 2^24, with the batch swept again in f64 beyond) cost
/// about 3% more on 64 sources: the pull levels were a tenth faster with half the cache lines
/// per row, but the reverse sweep then had to widen every row to f64.
struct Sweeps {
    levels: Levels,
    /// Per node and source, node-major ([`BATCH`] per node): the number of shortest paths from
    /// the source (sigma), then, once the reverse sweep has passed the node, (1 + delta) / sigma,
    /// which is all its predecessors need of it.
    paths: Huge<AtomicU64>,
}

/// Which nodes are at which level for which sources of a batch.
struct Levels {
    /// Per node: the sources that reached it, at this level or before.
    seen: Huge<AtomicMask>,
    /// Per node: the sources a pushing level reached it from (cleared when the level ends).
    found: Huge<AtomicMask>,
    /// Per node: the sources for which it is at the current level (of the forward sweep), or at
    /// the level after the current one (of the reverse sweep).
    level: Huge<AtomicMask>,
    /// Every level's nodes, each with the sources for which it is at that level: level after
    /// level, each level in node order.
    entries: Vec<(u32, Mask)>,
    /// Where each level starts in `entries`, and where the last ends.
    starts: Vec<usize>,
}

impl Sweeps {
    fn new(n: usize) -> Sweeps {
        Sweeps {
            levels: Levels {
                seen: Huge::new(n, || AtomicMask::new(0)),
                found: Huge::new(n, || AtomicMask::new(0)),
                level: Huge::new(n, || AtomicMask::new(0)),
                entries: Vec::new(),
                starts: Vec::new(),
            },
            paths: Huge::new(n * BATCH, || AtomicU64::new(0)),
        }
    }

    /// Adds the dependencies of every node on each of `sources` (at most [`BATCH`], distinct)
    /// to `centrality`.
    fn accumulate(&mut self, graph: &SimpleGraph<'_>, sources: &[u32], centrality: &[AtomicU64]) {
        let Sweeps { levels, paths } = self;
        levels.forward(graph, sources, paths);
        levels.reverse(graph, paths, centrality);
    }
}

impl Levels {
    /// The forward sweep: finds the levels of every node for each of `sources` and stores its
    /// path counts in `sigma`.
    fn forward(&mut self, graph: &SimpleGraph<'_>, sources: &[u32], sigma: &[AtomicU64]) {
        debug_assert!(!sources.is_empty() && sources.len() <= BATCH);
        let all: Mask = Mask::MAX >> (BATCH - sources.len());
        let Levels {
            seen,
            found,
            level,
            entries,
            starts,
        } = self;
        seen.par_chunks(PULL_CHUNK).for_each(|cells| {
            for cell in cells {
                cell.store(0, Relaxed);
            }
        });
        entries.clear();
        starts.clear();
        starts.push(0);
        let mut first: Vec<(u32, Mask)> = sources
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, 1 << i))
            .collect();
        first.sort_unstable();
        for &(s, bit) in &first {
            seen[s as usize].fetch_or(bit, Relaxed);
            level[s as usize].fetch_or(bit, Relaxed);
            set(sigma, s, bit.trailing_zeros(), 1.0);
        }
        first.dedup_by(|b, a| {
            a.0 == b.0 && {
                a.1 |= b.1;
                true
            }
        });
        entries.extend(first);
        starts.push(entries.len());
        let degree = |v: u32| graph.neighbours(v).len();
        // Adjacency entries of the nodes that some source has not reached yet.
        let mut remaining = graph.targets.len();
        // Each level finds the next and sums the path counts of its nodes' predecessors.
        loop {
            let (from, to) = (starts[starts.len() - 2], starts[starts.len() - 1]);
            if from == to {
                return;
            }
            let current = &entries[from..to];
            let pushed: usize = current
                .par_chunks(LIST_CHUNK)
                .map(|chunk| chunk.iter().map(|&(v, _)| degree(v)).sum::<usize>())
                .sum();
            let level_ro: &[AtomicMask] = level;
            let push = pushed * PUSH_FACTOR < remaining;
            let next: Vec<(u32, Mask)> = if push {
                // Few entries: each node of the level marks its neighbours' new sources...
                let mut reached: Vec<u32> = current
                    .par_chunks(LIST_CHUNK)
                    .flat_map_iter(|chunk| {
                        let mut out = Vec::new();
                        for &(v, sources) in chunk {
                            for &w in graph.neighbours(v) {
                                let new = sources & !seen[w as usize].load(Relaxed);
                                let cell = &found[w as usize];
                                if new != 0
                                    && cell.load(Relaxed) & new != new
                                    && cell.fetch_or(new, Relaxed) == 0
                                {
                                    out.push(w);
                                }
                            }
                        }
                        out
                    })
                    .collect();
                reached.par_sort_unstable();
                let targets: Vec<(u32, Mask)> = reached
                    .par_iter()
                    .map(|&w| {
                        let new = found[w as usize].swap(0, Relaxed);
                        seen[w as usize].fetch_or(new, Relaxed);
                        (w, new)
                    })
                    .collect();
                // ... then each reached node sums its predecessors' path counts.
                targets
                    .par_chunks(LIST_CHUNK)
                    .for_each_init(Gather::new, |gather, chunk| {
                        gather.run(graph, level_ro, sigma, chunk, |w, _, new, sums| {
                            store_rows(sigma, w, new, sums);
                        });
                    });
                let done: usize = targets
                    .par_iter()
                    .filter(|&&(w, _)| seen[w as usize].load(Relaxed) == all)
                    .map(|&(w, _)| degree(w))
                    .sum();
                remaining -= done;
                targets
            } else {
                // Many: every node some source has not reached checks its neighbours.
                let parts: Vec<(Vec<(u32, Mask)>, usize)> = seen
                    .par_chunks(PULL_CHUNK)
                    .enumerate()
                    .map_init(
                        || (Gather::new(), Vec::new()),
                        |(gather, targets), (chunk, cells)| {
                            let first = chunk * PULL_CHUNK;
                            targets.clear();
                            for (i, cell) in cells.iter().enumerate() {
                                let unseen = all & !cell.load(Relaxed);
                                if unseen != 0 {
                                    targets.push(((first + i) as u32, unseen));
                                }
                            }
                            let mut out = Vec::new();
                            let mut left = 0;
                            gather.run(graph, level_ro, sigma, targets, |w, unseen, new, sums| {
                                if new != 0 {
                                    store_rows(sigma, w, new, sums);
                                    cells[w as usize - first].store(all & !unseen | new, Relaxed);
                                    out.push((w, new));
                                }
                                if unseen != new {
                                    left += degree(w);
                                }
                            });
                            (out, left)
                        },
                    )
                    .collect();
                remaining = parts.iter().map(|p| p.1).sum();
                let mut next = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
                for (part, _) in parts {
                    next.extend(part);
                }
                next
            };
            mark(level, &entries[from..to], false);
            mark(level, &next, true);
            entries.extend(next);
            starts.push(entries.len());
        }
    }

    /// The reverse sweep, after a forward one that stored its path counts in `values`: level by
    /// level, deepest first, each node sums what its successors (at the next level for the same
    /// source) hold, (1 + delta) / sigma, and holds its own instead of its path count. Adds the
    /// dependencies to `centrality`.
    fn reverse(&mut self, graph: &SimpleGraph<'_>, values: &[AtomicU64], centrality: &[AtomicU64]) {
        let Levels {
            level,
            entries,
            starts,
            ..
        } = self;
        // `level` holds the level after the current one; it is empty now.
        let depths = starts.len() - 2;
        for depth in (1..depths).rev() {
            let current = &entries[starts[depth]..starts[depth + 1]];
            let level_ro: &[AtomicMask] = level;
            current
                .par_chunks(LIST_CHUNK)
                .for_each_init(Gather::new, |gather, chunk| {
                    gather.run(graph, level_ro, values, chunk, |v, sources, _, sums| {
                        let mut gain = 0.0;
                        let mut bits = sources;
                        while bits != 0 {
                            let s = bits.trailing_zeros();
                            let sigma = get(values, v, s);
                            let after = std::mem::take(&mut sums[s as usize]);
                            // delta = sigma * the sum over successors of (1 + delta) / sigma.
                            gain += sigma * after;
                            set(values, v, s, 1.0 / sigma + after);
                            bits &= bits - 1;
                        }
                        // A node is once in a level: no other thread adds to its sum.
                        let total = &centrality[v as usize];
                        total.store(
                            (f64::from_bits(total.load(Relaxed)) + gain).to_bits(),
                            Relaxed,
                        );
                    });
                });
            mark(level, &entries[starts[depth + 1]..starts[depth + 2]], false);
            mark(level, current, true);
        }
        mark(level, &entries[starts[1]..starts[2]], false);
        debug_assert!(level.iter().all(|m| m.load(Relaxed) == 0));
    }
}

/// Entries of a level's list one task marks in `level`.
const MARK_CHUNK: usize = 8192;

/// Stores in `level` the sources of each of `entries` (`set`), or zero (a level's nodes are
/// distinct, so the tasks write different cells).
fn mark(level: &[AtomicMask], entries: &[(u32, Mask)], set: bool) {
    entries.par_chunks(MARK_CHUNK).for_each(|chunk| {
        for &(v, sources) in chunk {
            level[v as usize].store(if set { sources } else { 0 }, Relaxed);
        }
    });
}

/// Targets a [`Gather`] takes together.
const GROUP: usize = 16;

/// One task's scratch for summing, for each of a list of (node, sources), the values of the
/// neighbours that are at the level in `level` for some of those sources.
struct Gather {
    /// A group's neighbours that count, each with the sources it counts for.
    hits: Vec<(u32, Mask)>,
    /// Where each target's hits end.
    ends: Vec<usize>,
    sums: [f64; BATCH],
}

impl Gather {
    fn new() -> Gather {
        Gather {
            hits: Vec::new(),
            ends: Vec::with_capacity(GROUP),
            sums: [0.0; BATCH],
        }
    }

    /// Calls `finish(node, sources, reached, sums)` for each target in order, where `reached`
    /// holds the sources some neighbour counts for and `sums` their sums; `finish` zeroes what
    /// it reads of `sums` (the rest is zero).
    ///
    /// A group's neighbours are checked first, without a branch per entry, and the values of
    /// those that count are fetched ahead, so that the memory system serves the group's reads
    /// together instead of one after the other.
    fn run(
        &mut self,
        graph: &SimpleGraph<'_>,
        level: &[AtomicMask],
        paths: &[AtomicU64],
        targets: &[(u32, Mask)],
        mut finish: impl FnMut(u32, Mask, Mask, &mut [f64; BATCH]),
    ) {
        let mut groups = targets.chunks(GROUP).peekable();
        if let Some(first) = groups.peek() {
            prefetch_levels(graph, level, first);
        }
        while let Some(group) = groups.next() {
            // The next group's checks read `level` at random: ask for those lines now, so that
            // they arrive while this group's values are summed.
            if let Some(after) = groups.peek() {
                prefetch_levels(graph, level, after);
            }
            self.hits.clear();
            self.ends.clear();
            for &(w, sources) in group {
                let neighbours = graph.neighbours(w);
                let mut end = self.hits.len();
                self.hits.resize(end + neighbours.len(), (0, 0));
                for &u in neighbours {
                    let m = level[u as usize].load(Relaxed) & sources;
                    self.hits[end] = (u, m);
                    end += usize::from(m != 0);
                    prefetch_row(paths, u, m);
                }
                self.hits.truncate(end);
                self.ends.push(end);
            }
            let mut start = 0;
            for (&(w, sources), &end) in group.iter().zip(&self.ends) {
                let mut reached = 0;
                for &(u, m) in &self.hits[start..end] {
                    reached |= m;
                    add_rows(&mut self.sums, paths, u, m);
                }
                finish(w, sources, reached, &mut self.sums);
                start = end;
            }
        }
    }
}

/// Asks for the cache lines of the `level` entries of the neighbours of `group`'s nodes.
#[inline(always)]
fn prefetch_levels(graph: &SimpleGraph<'_>, level: &[AtomicMask], group: &[(u32, Mask)]) {
    for &(w, _) in group {
        for &u in graph.neighbours(w) {
            prefetch(level.as_ptr().wrapping_add(u as usize));
        }
    }
}

/// Asks for the cache lines of `node`'s values for the sources of `mask`.
#[inline(always)]
fn prefetch_row(paths: &[AtomicU64], node: u32, mask: Mask) {
    const PER_LINE: usize = 8;
    let row = node as usize * BATCH;
    for line in 0..BATCH / PER_LINE {
        let wanted = (mask >> (line * PER_LINE)) & 0xff != 0;
        // Not wanted: the first line of the buffer, which stays in the cache.
        prefetch(
            paths
                .as_ptr()
                .wrapping_add(if wanted { row + line * PER_LINE } else { 0 }),
        );
    }
}

/// A buffer aligned to and sized in whole 2 MB pages, which the kernel is asked to back with
/// 2 MB pages: the sweeps read their buffers at random, and with 4 kB pages nearly every such
/// read also misses the address translation cache (in a virtual machine, a walk of two page
/// tables). Measured on the benchmark graph, one thread, 64 sources, on a loaded machine: 4.4
/// to 5.4 CPU-seconds, 5.0 to 7.1 with the buffers on 4 kB pages.
struct Huge<T> {
    start: std::ptr::NonNull<T>,
    len: usize,
    layout: std::alloc::Layout,
}

// SAFETY: a `Huge<T>` owns its values as a `Vec<T>` does.
unsafe impl<T: Send> Send for Huge<T> {}
// SAFETY: as above; shared access gives out only `&T`.
unsafe impl<T: Sync> Sync for Huge<T> {}

impl<T: Send> Huge<T> {
    fn new(len: usize, value: impl Fn() -> T + Sync) -> Huge<T> {
        assert!(std::mem::align_of::<T>() <= HUGE_PAGE && std::mem::size_of::<T>() > 0);
        let bytes = (len * std::mem::size_of::<T>())
            .max(1)
            .next_multiple_of(HUGE_PAGE);
        let layout = std::alloc::Layout::from_size_align(bytes, HUGE_PAGE)
            .expect("invariant: a buffer's size fits the address space");
        // SAFETY: the layout's size is not zero.
        let raw = unsafe { std::alloc::alloc(layout) };
        let Some(start) = std::ptr::NonNull::new(raw.cast::<T>()) else {
            std::alloc::handle_alloc_error(layout);
        };
        // Nothing has written the allocation yet, so the hint takes.
        pages::advise(raw, bytes);
        // SAFETY: `len` values fit the allocation, which nothing else refers to.
        let slots = unsafe {
            std::slice::from_raw_parts_mut(start.as_ptr().cast::<std::mem::MaybeUninit<T>>(), len)
        };
        // The first write to each page has the kernel find and clear it (on a virtual machine,
        // the host too): a large share of a small betweenness run's time when done on one
        // thread.
        let per_page = (HUGE_PAGE / std::mem::size_of::<T>()).max(1);
        slots.par_chunks_mut(per_page).for_each(|chunk| {
            for slot in chunk {
                slot.write(value());
            }
        });
        Huge { start, len, layout }
    }
}

impl<T> std::ops::Deref for Huge<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` values were written at `start` and live until `drop`.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

impl<T> std::ops::DerefMut for Huge<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` is the only access.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) }
    }
}

impl<T> Drop for Huge<T> {
    fn drop(&mut self) {
        // SAFETY: the values are initialised and dropped once; the allocation is `layout`'s.
        unsafe {
            std::ptr::drop_in_place(&mut **self as *mut [T]);
            std::alloc::dealloc(self.start.as_ptr().cast(), self.layout);
        }
    }
}

#[inline(always)]
fn get(paths: &[AtomicU64], node: u32, source: u32) -> f64 {
    f64::from_bits(paths[node as usize * BATCH + source as usize].load(Relaxed))
}

#[inline(always)]
fn set(paths: &[AtomicU64], node: u32, source: u32, value: f64) {
    paths[node as usize * BATCH + source as usize].store(value.to_bits(), Relaxed);
}

/// Adds node `from`'s values for the sources of `mask` to `sums`.
#[inline(always)]
fn add_rows(sums: &mut [f64; BATCH], paths: &[AtomicU64], from: u32, mask: Mask) {
    let mut bits = mask;
    while bits != 0 {
        let s = bits.trailing_zeros();
        sums[s as usize] += get(paths, from, s);
        bits &= bits - 1;
    }
}

/// Stores `sums` as node `to`'s values for the sources of `mask`, and zeroes them.
#[inline(always)]
fn store_rows(paths: &[AtomicU64], to: u32, mask: Mask, sums: &mut [f64; BATCH]) {
    let mut bits = mask;
    while bits != 0 {
        let s = bits.trailing_zeros();
        set(paths, to, s, std::mem::take(&mut sums[s as usize]));
        bits &= bits - 1;
    }
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

    /// Brandes as the textbook states it (a queue, predecessor lists, a stack), from `sources`,
    /// unnormalised.
    fn textbook_from(graph: &SimpleGraph<'_>, sources: &[u32]) -> Vec<f64> {
        let n = graph.node_count();
        let mut centrality = vec![0.0; n];
        for &s in sources {
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
        centrality
    }

    /// The textbook's exact betweenness, normalised as networkx normalises it.
    fn textbook(graph: &SimpleGraph<'_>) -> Vec<f64> {
        let n = graph.node_count();
        let all: Vec<u32> = (0..n as u32).collect();
        let scale = if n > 2 {
            1.0 / ((n - 1) as f64 * (n - 2) as f64)
        } else {
            1.0
        };
        textbook_from(graph, &all)
            .into_iter()
            .map(|c| c * scale)
            .collect()
    }

    fn assert_agree(what: &str, ours: &[f64], theirs: &[f64]) {
        assert_eq!(ours.len(), theirs.len(), "{what}");
        for (v, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!((a - b).abs() < 1e-12, "{what}, node {v}: {a} vs {b}");
        }
    }

    /// A random graph of `n` nodes and about `m` edges.
    fn random_graph(n: usize, m: usize, seed: u64) -> SimpleGraph<'static> {
        let mut rng = SplitMix64::new(seed);
        let edges: Vec<(u32, u32)> = (0..m)
            .map(|_| (rng.below(n) as u32, rng.below(n) as u32))
            .collect();
        SimpleGraph::from_edges(n, &edges)
    }

    #[test]
    fn batches_agree_with_the_textbook_on_many_shapes() {
        let mut graphs: Vec<(&str, SimpleGraph<'static>)> = vec![
            ("one node", SimpleGraph::from_edges(1, &[])),
            ("two nodes", SimpleGraph::from_edges(2, &[(0, 1)])),
            ("three nodes, no edges", SimpleGraph::from_edges(3, &[])),
        ];
        // A star: one node on every path, 100 sources at depth 1 of each other's.
        let star: Vec<(u32, u32)> = (1..=100).map(|i| (0, i)).collect();
        graphs.push(("star", SimpleGraph::from_edges(101, &star)));
        // A chain of 300 diamonds: 2^300 shortest paths end to end, beyond an f32's range,
        // and 601 levels, beyond a byte.
        let mut diamonds = Vec::new();
        for i in 0..300u32 {
            let (top, left, right, bottom) = (3 * i, 3 * i + 1, 3 * i + 2, 3 * i + 3);
            diamonds.extend([(top, left), (top, right), (left, bottom), (right, bottom)]);
        }
        graphs.push(("diamonds", SimpleGraph::from_edges(901, &diamonds)));
        // A grid: many shortest paths between most pairs.
        let mut grid = Vec::new();
        for r in 0..15u32 {
            for c in 0..15u32 {
                if c + 1 < 15 {
                    grid.push((r * 15 + c, r * 15 + c + 1));
                }
                if r + 1 < 15 {
                    grid.push((r * 15 + c, (r + 1) * 15 + c));
                }
            }
        }
        graphs.push(("grid", SimpleGraph::from_edges(225, &grid)));
        // Node counts on both sides of whole batches, sparse (disconnected) and dense.
        for (n, m, seed) in [
            (31, 40, 1),
            (32, 60, 2),
            (33, 30, 3),
            (63, 90, 6),
            (64, 110, 7),
            (65, 400, 4),
            (100, 120, 5),
            (129, 300, 9),
        ] {
            graphs.push(("random", random_graph(n, m, seed)));
        }
        for (what, g) in &graphs {
            let ours = betweenness(g, Sources::All, &Limits::default()).unwrap();
            assert_agree(what, &ours, &textbook(g));
        }
        let empty = SimpleGraph::from_edges(0, &[]);
        assert!(
            betweenness(&empty, Sources::All, &Limits::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn sampled_batches_agree_with_the_textbook_from_the_same_sources() {
        // Part of a batch; one whole batch and part of another.
        let g = random_graph(300, 700, 8);
        let n = g.node_count();
        for count in [45, BATCH + 26] {
            let sources = Sources::Sample { count, seed: 5 };
            let chosen = chosen_sources(n, sources, &Limits::default()).unwrap();
            assert_eq!(chosen.len(), count);
            let scale = n as f64 / count as f64 / ((n - 1) as f64 * (n - 2) as f64);
            let theirs: Vec<f64> = textbook_from(&g, &chosen)
                .into_iter()
                .map(|c| c * scale)
                .collect();
            let ours = betweenness(&g, sources, &Limits::default()).unwrap();
            assert_agree(&format!("{count} sampled sources"), &ours, &theirs);
        }
    }

    #[test]
    fn the_sweeps_agree_with_the_textbook() {
        // Several components, isolated nodes, and a node count that is not a whole number of
        // batches.
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
