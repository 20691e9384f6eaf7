"""networkx's answers on a graph the Rust test generated: the peer the graph crate is
cross-checked against. Reads a JSON file (nodes, edges with days, queries), prints JSON."""
import json
import sys

import networkx as nx


def main(path):
    with open(path) as f:
        spec = json.load(f)
    g = nx.Graph()
    g.add_nodes_from(range(spec["nodes"]))
    for a, b, _day in spec["edges"]:
        if a != b:
            g.add_edge(a, b)
    q = spec["queries"]
    out = {"nodes": g.number_of_nodes(), "edges": g.number_of_edges()}
    out["neighbourhood"] = [
        len(nx.single_source_shortest_path_length(g, s, cutoff=d)) for s, d in q["neighbourhood"]
    ]
    lengths = []
    for s, t in q["pairs"]:
        try:
            lengths.append(nx.shortest_path_length(g, s, t))
        except nx.NetworkXNoPath:
            lengths.append(None)
    out["shortest"] = lengths
    k_lengths = []
    for s, t, k in q["k_shortest"]:
        found = []
        try:
            for p in nx.shortest_simple_paths(g, s, t):
                found.append(len(p) - 1)
                if len(found) == k:
                    break
        except nx.NetworkXNoPath:
            pass
        k_lengths.append(found)
    out["k_shortest"] = k_lengths
    out["time_respecting"] = time_respecting(spec, q["time_pairs"], q["gap"])
    out["degree"] = [v for _, v in sorted(nx.degree_centrality(g).items())]
    out["betweenness"] = [v for _, v in sorted(nx.betweenness_centrality(g).items())]
    out["eigenvector"] = [
        v for _, v in sorted(nx.eigenvector_centrality(g, max_iter=1000, tol=1e-9).items())
    ]
    out["components"] = sorted(sorted(c) for c in nx.connected_components(g))
    louvain = nx.community.louvain_communities(g, seed=0)
    out["louvain_modularity"] = nx.community.modularity(g, louvain)
    out["louvain_count"] = len(louvain)
    blocks = {}
    for v, b in enumerate(q["partition"]):
        blocks.setdefault(b, set()).add(v)
    out["modularity_of_given"] = nx.community.modularity(g, list(blocks.values()))
    json.dump(out, sys.stdout)


def time_respecting(spec, pairs, gap):
    """Fewest hops of a time-respecting path, on the time-expanded graph: a state is (node,
    day of the last link crossed, or None at the start); a link of day d may follow day t when
    t <= d <= t + gap."""
    days_at = {v: {None} for v in range(spec["nodes"])}
    for a, b, d in spec["edges"]:
        days_at[a].add(d)
        days_at[b].add(d)
    expanded = nx.DiGraph()
    for a, b, d in spec["edges"]:
        for u, v in ((a, b), (b, a)):
            for t in days_at[u]:
                if t is None or (t <= d and d - t <= gap):
                    expanded.add_edge((u, t), (v, d))
    out = []
    for s, t in pairs:
        if (s, None) not in expanded:
            out.append(None)
            continue
        reach = nx.single_source_shortest_path_length(expanded, (s, None))
        best = [h for (v, _), h in reach.items() if v == t]
        out.append(min(best) if best else None)
    return out


if __name__ == "__main__":
    main(sys.argv[1])
