//! Who holds the network together: degree, betweenness and eigenvector centrality on a
//! [`SimpleGraph`] (undirected, distinct neighbours), normalised as networkx normalises them so
//! the two can be compared.

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
/// Cost: one breadth-first search and one reverse sweep per source, O(n + m) each.
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
    let chunk = (k / (rayon::current_num_threads() * 8)).max(1);
    let totals = chosen
        .par_chunks(chunk)
        .map(|part| {
            let mut work = Brandes::new(n);
            for &s in part {
                work.accumulate(graph, s);
            }
            work.centrality
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

/// What one Brandes sweep keeps per node, packed so that a visit touches one cache line.
#[derive(Clone, Copy)]
struct Visit {
    sigma: f64,
    delta: f64,
    distance: i32,
}

const UNSEEN: Visit = Visit {
    sigma: 0.0,
    delta: 0.0,
    distance: -1,
};

/// Reusable buffers of one thread's Brandes sweeps.
struct Brandes {
    visits: Vec<Visit>,
    order: Vec<u32>,
    centrality: Vec<f64>,
}

impl Brandes {
    fn new(n: usize) -> Brandes {
        Brandes {
            visits: vec![UNSEEN; n],
            order: Vec::with_capacity(n),
            centrality: vec![0.0; n],
        }
    }

    fn accumulate(&mut self, graph: &SimpleGraph<'_>, source: u32) {
        let Brandes {
            visits,
            order,
            centrality,
        } = self;
        order.clear();
        visits[source as usize].distance = 0;
        visits[source as usize].sigma = 1.0;
        order.push(source);
        let mut head = 0;
        while head < order.len() {
            let v = order[head];
            head += 1;
            let Visit {
                distance: dv,
                sigma: sv,
                ..
            } = visits[v as usize];
            for &w in graph.neighbours(v) {
                let visit = &mut visits[w as usize];
                if visit.distance < 0 {
                    visit.distance = dv + 1;
                    order.push(w);
                }
                if visit.distance == dv + 1 {
                    visit.sigma += sv;
                }
            }
        }
        for &w in order.iter().rev() {
            let Visit {
                distance: dw,
                sigma: sw,
                delta: deltaw,
            } = visits[w as usize];
            let coefficient = (1.0 + deltaw) / sw;
            for &v in graph.neighbours(w) {
                let visit = &mut visits[v as usize];
                if visit.distance == dw - 1 {
                    visit.delta += visit.sigma * coefficient;
                }
            }
            if w != source {
                centrality[w as usize] += deltaw;
            }
        }
        for &v in order.iter() {
            visits[v as usize] = UNSEEN;
        }
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
