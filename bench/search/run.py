#!/usr/bin/env python3
"""bench/search: search latency over the demo case + enterprise ATT&CK + the UCDP sample.

Tessera: its tantivy index, queried in-process (crates/search/examples/latency.rs).
Peer: SQLite FTS5 (Python's sqlite3) over the same documents (name, aliases, description of
every object Tessera indexes), queried in-process with the same queries. Medians and p99.
"""
import json, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.join(ROOT, "..", "shared", "data")
QUERIES = os.path.join(os.path.dirname(__file__), "queries.txt")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "tessera"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "search", "--example", "latency"], cwd=ROOT, check=True)
    tessera = os.path.join(ROOT, "target", "release", "tessera")
    work = tempfile.mkdtemp(prefix="tessera-bench-search-")
    try:
        node = os.path.join(work, "node")
        run = lambda *a: subprocess.run([tessera, "--data-dir", node, *a], check=True, stdout=subprocess.DEVNULL)
        run("init", "--demo")
        run("import", os.path.join(SHARED, "stix", "enterprise-attack-18.1-stix20.json.gz"))
        run("import", os.path.join(SHARED, "events", "ucdp-ged-23.1-sample.csv"))
        out = subprocess.run([os.path.join(ROOT, "target", "release", "examples", "latency"), node, QUERIES, str(rounds)],
                             check=True, capture_output=True, text=True).stdout
        ours = json.loads(out.strip().splitlines()[-1])

        export = os.path.join(work, "all.json")
        run("export", "--out", export)
        objects = json.load(open(export))["objects"]
        skipped = {"relationship", "sighting", "marking-definition", "extension-definition", "language-content"}
        db = sqlite3.connect(":memory:")
        db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, name, aliases, description)")
        rows = [(o["id"], o.get("name", ""), " ".join(o.get("aliases", []) + o.get("x_mitre_aliases", [])), o.get("description", ""))
                for o in objects if o["type"] not in skipped and (o.get("name") or o.get("description"))]
        db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", rows)
        queries = [q for q in open(QUERIES).read().splitlines() if q]
        samples = []
        for _ in range(rounds):
            for q in queries:
                match = " ".join('"' + w.replace('"', '') + '"' for w in q.split())
                start = time.perf_counter()
                db.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 20", (match,)).fetchall()
                samples.append((time.perf_counter() - start) * 1e6)
        samples.sort()
        peer = {"median_us": statistics.median(samples), "p99_us": samples[round((len(samples) - 1) * 0.99)]}
        print(f"documents: {len(rows)} searchable objects (demo case + enterprise ATT&CK + UCDP sample)")
        print(f"tessera (tantivy, alias-aware): median {ours['median_us']:.0f} us, p99 {ours['p99_us']:.0f} us over {ours['queries']} queries")
        print(f"sqlite FTS5 (python)          : median {peer['median_us']:.0f} us, p99 {peer['p99_us']:.0f} us")
        print(f"ratio (p99)                   : sqlite/tessera = {peer['p99_us'] / ours['p99_us']:.2f}x")
        print(json.dumps({"tessera": ours, "sqlite_fts5": peer, "documents": len(rows)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
