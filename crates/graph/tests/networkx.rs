//! Every algorithm of the graph crate against networkx (the Python reference library) on
//! seeded generated graphs: counts, neighbourhood sizes, shortest and k-shortest path lengths,
//! time-respecting path lengths, degree, betweenness and eigenvector centrality (with a
//! tolerance, and their rankings), connected components exactly, and Louvain by modularity.
//!
//! networkx runs from the venv `scripts/test` builds (`TESSERA_PYTHON`, else `.venv`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use graph::centrality::{self, Sources};
use graph::community::{self, LouvainOptions};
use graph::traverse::{self, Filter};
use graph::{Batch, Limits, LinkRecord, ObjectRecord, Snapshot};
use serde_json::{Value, json};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TESSERA_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        venv.exists(),
        "no Python venv: run scripts/test, which creates .venv with networkx"
    );
    venv
}

/// SplitMix64, so every graph is reproducible from its seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A graph with communities: `n` nodes in blocks of `block`, each edge inside a block with
/// probability `inside` of the draws, else anywhere; distinct pairs, each with a day in
/// 0..100; a few isolated nodes at the end.
fn generate(seed: u64, n: usize, edges: usize, block: usize, inside: f64) -> Vec<(u32, u32, i64)> {
    let mut rng = Random(seed);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let connected = n - 5;
    while out.len() < edges {
        let a = rng.below(connected);
        let b = if (rng.next() % 1_000) as f64 / 1_000.0 < inside {
            (a / block) * block + rng.below(block.min(connected - (a / block) * block))
        } else {
            rng.below(connected)
        };
        if a == b {
            continue;
        }
        let key = (a.min(b), a.max(b));
        if seen.insert(key) {
            out.push((a as u32, b as u32, rng.below(100) as i64));
        }
    }
    out
}

fn snapshot(n: usize, edges: &[(u32, u32, i64)]) -> Snapshot {
    Snapshot::from_batch(Batch {
        objects: (0..n)
            .map(|i| ObjectRecord {
                id: format!("node--{i}"),
                kind: "x".into(),
                name: format!("n{i}"),
                day: None,
                confidence: None,
                source: "generated".into(),
            })
            .collect(),
        links: edges
            .iter()
            .enumerate()
            .map(|(k, &(a, b, day))| LinkRecord {
                id: format!("relationship--{k}"),
                kind: "related-to".into(),
                source_ref: format!("node--{a}"),
                target_ref: format!("node--{b}"),
                day: Some(day),
                confidence: None,
            })
            .collect(),
        ..Batch::default()
    })
    .expect("a generated graph fits")
}

/// The snapshot index of generated node `i` (nodes enter in order, so they coincide).
fn ix(s: &Snapshot, i: u32) -> u32 {
    let node = s.lookup(&format!("node--{i}")).expect("every node is held");
    assert_eq!(node, i);
    node
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    fn ranks(x: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
        let mut r = vec![0.0; x.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && (x[order[j + 1]] - x[order[i]]).abs() < 1e-12 {
                j += 1;
            }
            for k in i..=j {
                r[order[k]] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn check(seed: u64, n: usize, m: usize, block: usize, inside: f64) {
    let edges = generate(seed, n, m, block, inside);
    let s = snapshot(n, &edges);
    let limits = Limits::default();
    let filter = Filter::default();
    let simple = s.simple();
    let mut rng = Random(seed ^ 0xabcdef);
    let neighbourhood: Vec<(u32, usize)> = (0..20)
        .map(|_| (rng.below(n) as u32, 1 + rng.below(3)))
        .collect();
    let pairs: Vec<(u32, u32)> = (0..40)
        .map(|_| (rng.below(n) as u32, rng.below(n) as u32))
        .collect();
    let k_shortest: Vec<(u32, u32, usize)> = (0..6)
        .map(|_| (rng.below(n - 5) as u32, rng.below(n - 5) as u32, 6))
        .filter(|(a, b, _)| a != b)
        .collect();
    let time_pairs: Vec<(u32, u32)> = (0..30)
        .map(|_| (rng.below(n) as u32, rng.below(n) as u32))
        .filter(|(a, b)| a != b)
        .collect();
    let gap = 20;
    let louvain = community::louvain(&simple, &LouvainOptions::default(), &limits).unwrap();

    let spec = json!({
        "nodes": n,
        "edges": edges,
        "queries": {
            "neighbourhood": neighbourhood,
            "pairs": pairs,
            "k_shortest": k_shortest,
            "time_pairs": time_pairs,
            "gap": gap,
            "partition": louvain.of,
        },
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("graph.json");
    std::fs::write(&input, spec.to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/networkx_check.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(&input)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "networkx failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let nx: Value = serde_json::from_slice(&output.stdout).expect("networkx prints JSON");

    // Counts.
    assert_eq!(s.node_count(), nx["nodes"].as_u64().unwrap() as usize);
    assert_eq!(s.link_count(), nx["edges"].as_u64().unwrap() as usize);
    assert_eq!(simple.edge_count(), s.link_count());

    // Neighbourhood sizes.
    for (i, &(start, depth)) in neighbourhood.iter().enumerate() {
        let found = traverse::neighbourhood(&s, ix(&s, start), depth, &filter, &limits).unwrap();
        assert_eq!(
            found.nodes.len() as u64,
            nx["neighbourhood"][i].as_u64().unwrap(),
            "neighbourhood of {start} at depth {depth}"
        );
        assert!(!found.truncated);
    }

    // Shortest path lengths, and each path is a real path.
    for (i, &(a, b)) in pairs.iter().enumerate() {
        let path = traverse::shortest_path(&s, ix(&s, a), ix(&s, b), &filter, &limits).unwrap();
        let expected = nx["shortest"][i].as_u64();
        assert_eq!(
            path.as_ref().map(|p| p.hops() as u64),
            expected,
            "shortest {a} -> {b}"
        );
        if let Some(p) = path {
            assert_eq!(p.nodes.first(), Some(&a));
            assert_eq!(p.nodes.last(), Some(&b));
            for (w, &l) in p.nodes.windows(2).zip(&p.links) {
                let link = s.link(l);
                let ends = [link.source(), link.target()];
                assert!(ends.contains(&w[0]) && ends.contains(&w[1]));
            }
        }
    }

    // k shortest: the same lengths in the same order (ties may differ in which path).
    for (i, &(a, b, k)) in k_shortest.iter().enumerate() {
        let paths = traverse::k_shortest_paths(&s, a, b, k, &filter, &limits).unwrap();
        let ours: Vec<u64> = paths.iter().map(|p| p.hops() as u64).collect();
        let theirs: Vec<u64> = nx["k_shortest"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ours, theirs, "k shortest {a} -> {b}");
        let distinct: std::collections::HashSet<&Vec<u32>> =
            paths.iter().map(|p| &p.nodes).collect();
        assert_eq!(distinct.len(), paths.len(), "paths are distinct");
    }

    // Time-respecting path lengths.
    for (i, &(a, b)) in time_pairs.iter().enumerate() {
        let path = traverse::time_respecting_path(&s, a, b, Some(gap), &filter, &limits).unwrap();
        assert_eq!(
            path.as_ref().map(|p| p.path.hops() as u64),
            nx["time_respecting"][i].as_u64(),
            "time-respecting {a} -> {b}"
        );
        if let Some(p) = path {
            let days: Vec<i64> = p.days.iter().map(|d| d.unwrap()).collect();
            assert!(days.windows(2).all(|w| w[0] <= w[1] && w[1] - w[0] <= gap));
        }
    }

    // The queries were not vacuous.
    let reached = |key: &str| {
        nx[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| !v.is_null())
            .count()
    };
    assert!(reached("shortest") > 0 && reached("time_respecting") > 0);
    let timed_hops: Vec<u64> = nx["time_respecting"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let plain_hops: u64 = nx["shortest"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .sum();
    eprintln!(
        "seed {seed}: {} of {} pairs connected, {} time-respecting (hops {timed_hops:?}), {} of {} k-shortest queries found paths, plain hops total {plain_hops}",
        reached("shortest"),
        pairs.len(),
        timed_hops.len(),
        nx["k_shortest"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| !v.as_array().unwrap().is_empty())
            .count(),
        k_shortest.len()
    );

    // Degree: exactly.
    let degree = centrality::degree(&simple);
    for (ours, theirs) in degree.iter().zip(floats(&nx["degree"])) {
        assert!((ours - theirs).abs() < 1e-12);
    }

    // Betweenness, exact: the same values to rounding, so the same ranking.
    let between = centrality::betweenness(&simple, Sources::All, &limits).unwrap();
    let nx_between = floats(&nx["betweenness"]);
    for (v, (ours, theirs)) in between.iter().zip(&nx_between).enumerate() {
        assert!(
            (ours - theirs).abs() < 1e-9,
            "betweenness of {v}: {ours} vs {theirs}"
        );
    }
    let top_ours: Vec<u32> = centrality::top(&between, 10).iter().map(|t| t.0).collect();
    let top_theirs: Vec<u32> = centrality::top(&nx_between, 10)
        .iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(top_ours, top_theirs);
    // Sampled from half the sources: an estimate that ranks nodes much as the exact values do.
    let sampled = centrality::betweenness(
        &simple,
        Sources::Sample {
            count: n / 2,
            seed: 7,
        },
        &limits,
    )
    .unwrap();
    let rho = spearman(&sampled, &nx_between);
    assert!(rho > 0.9, "sampled betweenness rank correlation {rho}");

    // Eigenvector: within tolerance, rankings agree.
    let eigen = centrality::eigenvector(&simple, 1e-9, &limits).unwrap();
    let nx_eigen = floats(&nx["eigenvector"]);
    for (ours, theirs) in eigen.iter().zip(&nx_eigen) {
        assert!((ours - theirs).abs() < 1e-5, "{ours} vs {theirs}");
    }
    let rho = spearman(&eigen, &nx_eigen);
    assert!(rho > 0.999, "eigenvector rank correlation {rho}");

    // Components: the same partition.
    let components = community::components(&simple);
    let mut ours: Vec<Vec<u32>> = components.blocks();
    ours.sort();
    let theirs: Vec<Vec<u32>> = serde_json::from_value(nx["components"].clone()).unwrap();
    assert_eq!(ours, theirs);

    // Louvain: our modularity as networkx computes it, and as good as networkx's own Louvain.
    let q = community::modularity(&simple, &louvain);
    let nx_q_of_ours = nx["modularity_of_given"].as_f64().unwrap();
    assert!((q - nx_q_of_ours).abs() < 1e-9, "{q} vs {nx_q_of_ours}");
    let nx_q = nx["louvain_modularity"].as_f64().unwrap();
    assert!(q > nx_q - 0.02, "modularity {q} vs networkx {nx_q}");
    let nx_count = nx["louvain_count"].as_u64().unwrap() as f64;
    assert!(
        (louvain.count as f64) < nx_count * 2.0 && (louvain.count as f64) > nx_count / 2.0,
        "{} communities vs networkx {nx_count}",
        louvain.count
    );
    let sizes: HashMap<u32, usize> = louvain.of.iter().fold(HashMap::new(), |mut m, &c| {
        *m.entry(c).or_default() += 1;
        m
    });
    assert_eq!(sizes.values().sum::<usize>(), n);
}

#[test]
fn a_sparse_random_graph_agrees_with_networkx() {
    check(1, 300, 450, 300, 0.0);
}

#[test]
fn a_graph_with_communities_agrees_with_networkx() {
    check(2, 400, 1_600, 40, 0.9);
}

#[test]
fn a_dense_small_graph_agrees_with_networkx() {
    check(3, 120, 1_200, 30, 0.5);
}
