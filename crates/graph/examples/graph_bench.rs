//! The graph crate's side of `bench/graph/run.py`: generates the benchmark graph, times the
//! snapshot build and the queries, writes the edge list for networkx, prints JSON.
//!
//! cargo run --release -p graph --example graph_bench -- NODES EDGES EDGE_LIST_OUT|- [quick|SOURCES]
//!
//! `quick` samples one betweenness source instead of 1,000; a number samples that many (for
//! iterating: the README's figure is from 1,000).
//!
//! The graph: NODES nodes in communities of 100 consecutive ids; each edge joins two nodes of
//! one community with probability 0.8, else two nodes anywhere (seeded, SplitMix64); distinct
//! pairs, no self-loops. Every node and link carries a STIX-like id, as a store's objects do.

use std::collections::HashSet;
use std::io::Write;
use std::time::Instant;

use graph::centrality::{self, Sources};
use graph::community::{self, LouvainOptions};
use graph::rng::SplitMix64;
use graph::traverse::{self, Filter};
use graph::{Batch, Limits, LinkRecord, ObjectRecord, Snapshot};

const BLOCK: u64 = 100;
const QUERIES: usize = 1_000;
/// Records per batch handed to the snapshot: the batch's strings are in memory at once.
const RECORDS_PER_BATCH: usize = 500_000;
/// Nodes of the induced subgraph networkx's Louvain is timed on.
const SUBSET: u64 = 100_000;

fn generate(nodes: u64, edges: usize) -> Vec<(u32, u32)> {
    let mut rng = SplitMix64::new(42);
    let mut seen: HashSet<u64> = HashSet::with_capacity(edges);
    let mut out = Vec::with_capacity(edges);
    while out.len() < edges {
        let a = rng.below_u64(nodes);
        let b = if rng.below_u64(10) < 8 {
            let base = a / BLOCK * BLOCK;
            base + rng.below_u64(BLOCK.min(nodes - base))
        } else {
            rng.below_u64(nodes)
        };
        if a == b {
            continue;
        }
        if seen.insert(a.min(b) << 32 | a.max(b)) {
            out.push((a as u32, b as u32));
        }
    }
    out
}

/// The STIX-like id of generated node `i`.
fn node_id(i: u64) -> String {
    format!("threat-actor--{i:036}")
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU seconds this process used so far (user + system), from /proc/self/stat.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let nodes: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let edge_count: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let out_path = args.get(3).cloned().filter(|p| p != "-");
    // A fourth argument `quick` samples one betweenness source instead of 1,000 (the slow
    // part), a number samples that many.
    let sources: usize = match args.get(4).map(String::as_str) {
        None => 1_000,
        Some("quick") => 1,
        Some(count) => count
            .parse()
            .expect("quick, or a number of betweenness sources"),
    };

    let edges = generate(nodes, edge_count);
    if let Some(path) = &out_path {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("edge list"));
        for (a, b) in &edges {
            writeln!(file, "{a} {b}").expect("write the edge list");
        }
    }

    // Build: every object and relationship by id, then the CSR. The id strings are made
    // outside the timed region, in parts of RECORDS_PER_BATCH, and handed over as records
    // borrowing them, as a store hands over its objects (it holds their ids as strings
    // already, and keeps them); the timed region is what the graph crate does with them:
    // `Snapshot::add` per batch (hashing, looking up and copying every id once), and one
    // reindex. `records_s` is the time spent making the strings.
    let mut records_s = 0.0;
    let mut build = 0.0;
    let mut cpu_build = 0.0;
    let mut snapshot = Snapshot::new();
    let cpu = cpu_s();
    let started = Instant::now();
    // The store knows how many objects and relationships it holds: room for them first.
    snapshot.reserve(nodes as usize, edge_count);
    build += started.elapsed().as_secs_f64();
    cpu_build += cpu_s() - cpu;
    let mut timed_add = |snapshot: &mut Snapshot, batch: Batch<&str>| {
        let cpu = cpu_s();
        let started = Instant::now();
        snapshot.add(batch).expect("fits");
        build += started.elapsed().as_secs_f64();
        cpu_build += cpu_s() - cpu;
    };
    for from in (0..nodes).step_by(RECORDS_PER_BATCH) {
        let started = Instant::now();
        let part = from..(from + RECORDS_PER_BATCH as u64).min(nodes);
        let ids: Vec<String> = part.clone().map(node_id).collect();
        let names: Vec<String> = part.map(|i| format!("n{i}")).collect();
        let objects = ids
            .iter()
            .zip(&names)
            .map(|(id, name)| ObjectRecord {
                id: id.as_str(),
                kind: "threat-actor",
                name: name.as_str(),
                day: None,
                confidence: None,
                source: "bench",
            })
            .collect();
        records_s += started.elapsed().as_secs_f64();
        timed_add(
            &mut snapshot,
            Batch {
                objects,
                ..Batch::default()
            },
        );
    }
    for (chunk, part) in edges.chunks(RECORDS_PER_BATCH).enumerate() {
        let started = Instant::now();
        let ids: Vec<[String; 3]> = part
            .iter()
            .enumerate()
            .map(|(k, &(a, b))| {
                [
                    format!("relationship--{:036}", chunk * RECORDS_PER_BATCH + k),
                    node_id(u64::from(a)),
                    node_id(u64::from(b)),
                ]
            })
            .collect();
        let links = ids
            .iter()
            .map(|[id, a, b]| LinkRecord {
                id: id.as_str(),
                kind: "related-to",
                source_ref: a.as_str(),
                target_ref: b.as_str(),
                day: None,
                confidence: None,
            })
            .collect();
        records_s += started.elapsed().as_secs_f64();
        timed_add(
            &mut snapshot,
            Batch {
                links,
                ..Batch::default()
            },
        );
    }
    let loaded = build;
    let cpu = cpu_s();
    let started = Instant::now();
    snapshot.reindex();
    let build = build + started.elapsed().as_secs_f64();
    let cpu_build = cpu_build + cpu_s() - cpu;
    assert_eq!(snapshot.node_count() as u64, nodes);
    assert_eq!(snapshot.link_count(), edge_count);

    // Incremental: 1,000 more relationships, then a reindex.
    let started = Instant::now();
    let mut rng = SplitMix64::new(7);
    for k in 0..1_000u64 {
        let (a, b) = (rng.below_u64(nodes), rng.below_u64(nodes));
        snapshot
            .add_link(LinkRecord {
                id: format!("relationship--extra-{k}"),
                kind: "sighting-of".into(),
                source_ref: node_id(a),
                target_ref: node_id(b),
                day: None,
                confidence: None,
            })
            .expect("fits");
    }
    snapshot.reindex();
    let append = started.elapsed().as_secs_f64();

    let limits = Limits::default();
    let filter = Filter::default();
    let mut rng = SplitMix64::new(99);
    let starts: Vec<u32> = (0..QUERIES).map(|_| rng.below_u64(nodes) as u32).collect();
    let pairs: Vec<(u32, u32)> = (0..QUERIES)
        .map(|_| (rng.below_u64(nodes) as u32, rng.below_u64(nodes) as u32))
        .collect();

    let mut depth2 = Vec::with_capacity(QUERIES);
    let mut depth2_nodes = 0usize;
    for &s in &starts {
        let t = Instant::now();
        let found = traverse::neighbourhood(&snapshot, s, 2, &filter, &limits).expect("depth 2");
        depth2.push(t.elapsed().as_secs_f64() * 1e3);
        depth2_nodes += found.nodes.len();
    }
    let mut shortest = Vec::with_capacity(QUERIES);
    let mut hops = 0usize;
    for &(a, b) in &pairs {
        let t = Instant::now();
        let path = traverse::shortest_path(&snapshot, a, b, &filter, &limits).expect("a path");
        shortest.push(t.elapsed().as_secs_f64() * 1e3);
        hops += path.map_or(0, |p| p.hops());
    }

    let simple = snapshot.simple();
    let cpu_between = cpu_s();
    let started = Instant::now();
    let between = centrality::betweenness(
        &simple,
        Sources::Sample {
            count: sources,
            seed: 1,
        },
        &Limits::default(),
    )
    .expect("betweenness");
    let betweenness = started.elapsed().as_secs_f64();
    let cpu_between = cpu_s() - cpu_between;
    let top = centrality::top(&between, 1)[0];

    let cpu_louvain = cpu_s();
    let started = Instant::now();
    let louvain =
        community::louvain(&simple, &LouvainOptions::default(), &limits).expect("louvain");
    let louvain_s = started.elapsed().as_secs_f64();
    let cpu_louvain = cpu_s() - cpu_louvain;
    let modularity = community::modularity(&simple, &louvain);

    // Louvain on the induced subgraph of the first SUBSET nodes: what networkx is timed on.
    let subset = SUBSET.min(nodes) as u32;
    let inside: Vec<(u32, u32)> = edges
        .iter()
        .copied()
        .filter(|&(a, b)| a < subset && b < subset)
        .collect();
    let sub = graph::SimpleGraph::from_edges(subset as usize, &inside);
    let started = Instant::now();
    let sub_louvain =
        community::louvain(&sub, &LouvainOptions::default(), &limits).expect("louvain");
    let sub_louvain_s = started.elapsed().as_secs_f64();
    let sub_modularity = community::modularity(&sub, &sub_louvain);

    let result = format!(
        concat!(
            "{{\"nodes\":{},\"edges\":{},\"threads\":{},",
            "\"records_s\":{:.3},\"load_s\":{:.3},\"build_s\":{:.3},\"append_1000_s\":{:.3},",
            "\"depth2_ms_median\":{:.4},\"depth2_ms_p99\":{:.4},\"depth2_nodes_mean\":{:.1},",
            "\"shortest_ms_median\":{:.4},\"shortest_ms_p99\":{:.4},\"shortest_hops_mean\":{:.2},",
            "\"betweenness_sources\":{},\"betweenness_s\":{:.3},\"betweenness_top\":[{},{}],",
            "\"louvain_s\":{:.3},\"louvain_communities\":{},\"louvain_modularity\":{:.4},",
            "\"subset_nodes\":{},\"subset_edges\":{},\"subset_louvain_s\":{:.3},\"subset_modularity\":{:.4},",
            "\"cpu_build_s\":{:.2},\"cpu_betweenness_s\":{:.2},\"cpu_louvain_s\":{:.2},",
            "\"peak_rss_mb\":{:.0}}}"
        ),
        nodes,
        edge_count,
        rayon::current_num_threads(),
        records_s,
        loaded,
        build,
        append,
        percentile(&mut depth2.clone(), 50.0),
        percentile(&mut depth2, 99.0),
        depth2_nodes as f64 / QUERIES as f64,
        percentile(&mut shortest.clone(), 50.0),
        percentile(&mut shortest, 99.0),
        hops as f64 / QUERIES as f64,
        sources,
        betweenness,
        top.0,
        top.1,
        louvain_s,
        louvain.count,
        modularity,
        subset,
        inside.len(),
        sub_louvain_s,
        sub_modularity,
        cpu_build,
        cpu_between,
        cpu_louvain,
        peak_rss_mb(),
    );
    println!("{result}");
}
