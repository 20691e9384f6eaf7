#!/usr/bin/env python3
"""Graph analysis benchmark: Tessera's graph crate beside networkx, on the same generated graph,
in the same run.

    python3 bench/graph/run.py [NODES EDGES]        (default 1,000,000 nodes, 5,000,000 edges)

Needs a Rust toolchain and the venv of scripts/test (networkx). The graph: NODES nodes in
communities of 100 consecutive ids, each edge inside a community with probability 0.8, else
between any two nodes (seeded; see crates/graph/examples/graph_bench.rs, which also writes the
edge list networkx reads).

The snapshot build is compared twice: with networkx building from the edge list of integers
(less than the snapshot does), and with networkx given the same records the snapshot is given,
held in memory before the clock starts in both: every node by its STIX-like id with its type,
name and source, every edge with its relationship id and type. The second is like for like.

Where networkx cannot do the full task in reasonable time, it is timed on a stated part and
scaled, and the table says so:
- betweenness: networkx from 10 sampled sources, its time per source x 1,000;
- Louvain: both libraries on the induced subgraph of the first 100,000 nodes (a direct ratio),
  beside Tessera's time on the whole graph;
- depth-2 neighbourhoods and shortest paths: networkx on 100 random queries (Tessera on 1,000).
"""
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "bench", "out")


def percentile(values, p):
    values = sorted(values)
    rank = max(1, min(len(values), int(-(-p / 100 * len(values) // 1))))
    return values[rank - 1]


def node_id(i):
    """The generated node's STIX-like id, as crates/graph/examples/graph_bench.rs makes it."""
    return f"threat-actor--{i:036d}"


def networkx_build_from_records(nx, nodes, edge_list, edges):
    """Seconds networkx takes to build a graph from the records the snapshot is given (made
    before the clock starts, as the snapshot's are)."""
    node_records = [
        (node_id(i), {"type": "threat-actor", "name": f"n{i}", "source": "bench"})
        for i in range(nodes)
    ]
    with open(edge_list) as f:
        edge_records = [
            (node_id(int(a)), node_id(int(b)), {"id": f"relationship--{k:036d}", "type": "related-to"})
            for k, (a, b) in enumerate(line.split() for line in f)
        ]
    started = time.perf_counter()
    g = nx.Graph()
    g.add_nodes_from(node_records)
    g.add_edges_from(edge_records)
    seconds = time.perf_counter() - started
    assert g.number_of_nodes() == nodes and g.number_of_edges() == edges
    return seconds


def main():
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    edges = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000_000
    os.makedirs(OUT, exist_ok=True)
    edge_list = os.path.join(OUT, f"graph-{nodes}-{edges}.txt")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(
        ["cargo", "build", "--release", "-p", "graph", "--example", "graph_bench"],
        cwd=ROOT, check=True,
    )
    binary = os.path.join(target, "release", "examples", "graph_bench")
    print(f"tessera graph crate: {nodes:,} nodes, {edges:,} edges ...", flush=True)
    ours = json.loads(subprocess.run(
        [binary, str(nodes), str(edges), edge_list], check=True, capture_output=True, text=True,
    ).stdout)
    print(json.dumps(ours), flush=True)

    import networkx as nx

    print("networkx: building ...", flush=True)
    started = time.perf_counter()
    g = nx.Graph()
    g.add_nodes_from(range(nodes))
    with open(edge_list) as f:
        g.add_edges_from((int(a), int(b)) for a, b in (line.split() for line in f))
    nx_build = time.perf_counter() - started
    assert g.number_of_edges() == edges, g.number_of_edges()

    print("networkx: building from the same records ...", flush=True)
    build_records = networkx_build_from_records(nx, nodes, edge_list, edges)

    rng = random.Random(99)
    depth2 = []
    for _ in range(100):
        s = rng.randrange(nodes)
        t = time.perf_counter()
        nx.single_source_shortest_path_length(g, s, cutoff=2)
        depth2.append((time.perf_counter() - t) * 1e3)
    shortest = []
    for _ in range(100):
        a, b = rng.randrange(nodes), rng.randrange(nodes)
        t = time.perf_counter()
        try:
            nx.shortest_path(g, a, b)
        except nx.NetworkXNoPath:
            pass
        shortest.append((time.perf_counter() - t) * 1e3)
    print("networkx: betweenness from 10 sources ...", flush=True)
    t = time.perf_counter()
    nx.betweenness_centrality(g, k=10, seed=1)
    nx_between_per_source = (time.perf_counter() - t) / 10
    print("networkx: Louvain on the subset ...", flush=True)
    sub = g.subgraph(range(ours["subset_nodes"])).copy()
    assert sub.number_of_edges() == ours["subset_edges"]
    t = time.perf_counter()
    communities = nx.community.louvain_communities(sub, seed=0)
    nx_louvain_sub = time.perf_counter() - t
    nx_sub_modularity = nx.community.modularity(sub, communities)
    nx_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rows = [
        ("snapshot build (ids, CSR)", f"{ours['build_s']:.2f} s (add {ours['load_s']:.2f} s + reindex; "
         f"making the id strings, untimed: {ours['records_s']:.1f} s)", f"{nx_build:.1f} s (nx.Graph from the edge list)",
         nx_build / ours["build_s"], "< 5 s"),
        ("snapshot build, like for like", f"{ours['build_s']:.2f} s",
         f"{build_records:.1f} s (nx.Graph from the same records: STIX ids, types, names, relationship ids)",
         build_records / ours["build_s"], "< 5 s, 20x"),
        ("depth-2 neighbourhood p99", f"{ours['depth2_ms_p99']:.3f} ms (median {ours['depth2_ms_median']:.3f})",
         f"{percentile(depth2, 99):.2f} ms (median {statistics.median(depth2):.2f}; 100 queries)",
         percentile(depth2, 99) / ours["depth2_ms_p99"], "< 20 ms"),
        ("shortest path p99", f"{ours['shortest_ms_p99']:.2f} ms (median {ours['shortest_ms_median']:.3f})",
         f"{percentile(shortest, 99):.1f} ms (median {statistics.median(shortest):.1f}; 100 queries)",
         percentile(shortest, 99) / ours["shortest_ms_p99"], "< 50 ms"),
        ("betweenness, 1,000 sampled sources", f"{ours['betweenness_s']:.1f} s",
         f"{nx_between_per_source * 1000:.0f} s (SCALED: 10 sources timed, x100)",
         nx_between_per_source * 1000 / ours['betweenness_s'], "< 30 s"),
        ("Louvain, whole graph", f"{ours['louvain_s']:.1f} s (Q = {ours['louvain_modularity']:.3f})", "not run", None, "< 30 s"),
        (f"Louvain, first {ours['subset_nodes']:,} nodes ({ours['subset_edges']:,} edges)",
         f"{ours['subset_louvain_s']:.2f} s (Q = {ours['subset_modularity']:.3f})",
         f"{nx_louvain_sub:.1f} s (Q = {nx_sub_modularity:.3f})", nx_louvain_sub / ours["subset_louvain_s"], ">= 20x"),
        ("peak RSS", f"{ours['peak_rss_mb']:.0f} MB", f"{nx_rss_mb:.0f} MB", None, "<= 2 GB"),
    ]
    print()
    print("| measure | Tessera | networkx | ratio | target |")
    print("| --- | --- | --- | --- | --- |")
    for name, mine, theirs, ratio, goal in rows:
        shown = f"{ratio:.0f}x" if ratio else ""
        print(f"| {name} | {mine} | {theirs} | {shown} | {goal} |")
    print()
    print(f"CPU seconds (Tessera): build {ours['cpu_build_s']}, betweenness {ours['cpu_betweenness_s']}, "
          f"Louvain {ours['cpu_louvain_s']}; threads {ours['threads']}; load average {os.getloadavg()}")
    print(f"networkx: betweenness {nx_between_per_source:.1f} s per source; Tessera: 1,000 more links "
          f"and a reindex {ours['append_1000_s']:.2f} s")


if __name__ == "__main__":
    main()
