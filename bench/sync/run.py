#!/usr/bin/env python3
"""bench/sync: a node's first full sync from a peer, an incremental sync, and the ledger at 1M.

Tessera: node A (release build, `tessera serve`) is loaded with N real ATT&CK objects (the ICS
ATT&CK 18.1 bundle cloned under fresh ids, as bench/taxii makes them: TLP:GREEN, one in four
TLP:AMBER) and releases them all to partner node B under its policy. Node B, a fresh node that
pinned A's key, runs `tessera peer sync` (pages of 1,000): every page is released by A's policy,
recorded in A's ledger, signed; B verifies each page's Ed25519 signature over its RFC 8785 form,
stores it, records each version in its ledger with the signature, and checks A's signed tree
head and consistency proof at the start and the end. Timed: the whole command, process start to
exit. Then 100 new objects are POSTed to A by its analyst, and B's next `peer sync` is timed end
to end (from the POST being accepted to B's command exiting with them stored).

Peer, same run: medallion (the OASIS TAXII 2.1 reference server, memory backend) serving the
ICS bundle (1,826 objects; its memory backend re-filters the whole collection for every page, so
it is not loaded with N) pulled by taxii2-client (`as_pages`, pages of 1,000) into a stix2
MemoryStore (each object parsed by stix2): the Python way to pull a collection. Its rate in
objects per second is compared with Tessera's; Tessera's includes policy, signatures, two
ledgers and a durable store, the peer's none of these.

Ledger at 1M entries: crates/ledger/examples/million.rs (appends per second, proof sizes).

Usage (from the repository root):
    bench/sync/run.py [--objects N] [--skip-medallion] [--skip-ledger] [--tessera BIN]
CARGO_TARGET_DIR is honoured for the release build.
"""
import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PYTHON = os.environ.get("TESSERA_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
TAXII = "application/taxii+json;version=2.1"

# The object generator and loader of bench/taxii, so both benchmarks serve the same data.
_spec = importlib.util.spec_from_file_location("bench_taxii", os.path.join(ROOT, "bench", "taxii", "run.py"))
taxii_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(taxii_bench)

# bench/taxii's partners, with one rule: everything up to AMBER to node B.
POLICY = taxii_bench.POLICY.split("[[rule]]")[0] + """[[rule]]
name = "amber-to-node-b"
partners = ["bench-partner"]
tlp_max = "amber"
"""


def tessera_json(tessera, data, *args):
    out = subprocess.run([tessera, "--data-dir", data, "--json", *args], check=True, capture_output=True).stdout
    return json.loads(out)


def post(host, port, token, objects):
    body = json.dumps({"objects": objects}).encode()
    request = urllib.request.Request(
        f"http://{host}:{port}/api/collections/shared/objects/", data=body, method="POST",
        headers={"Accept": TAXII, "Content-Type": TAXII, "Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=120) as response:
        status = json.loads(response.read())
    if status.get("status") != "complete" or status.get("failure_count", 0):
        sys.exit(f"the POST did not complete: {json.dumps(status)[:400]}")


def new_objects(count):
    """`count` indicators marked TLP:GREEN, new each run."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return [{
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
        "created": now, "modified": now, "name": f"bench indicator {n}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']", "pattern_type": "stix",
        "valid_from": now, "object_marking_refs": [taxii_bench.TLP_GREEN],
    } for n in range(count)]


def sync(tessera, data_b, server_pid=None, cpu=None):
    """Runs B's sync; with `server_pid`, appends (B's CPU seconds, A's CPU seconds) to `cpu`:
    on this shared 2-core machine the figures other processes disturb least."""
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = taxii_bench.process_cpu_seconds(server_pid) if server_pid else 0.0
    start = time.perf_counter()
    report = tessera_json(tessera, data_b, "peer", "sync", "--page-size", "1000")
    seconds = time.perf_counter() - start
    if server_pid:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime,
                    taxii_bench.process_cpu_seconds(server_pid) - server_before))
    collections = report["synced"][0].get("collections")
    if collections is None:
        sys.exit(f"sync failed: {report}")
    written = sum(c["written"] for c in collections)
    objects = sum(c["objects"] for c in collections)
    return seconds, written, objects


def medallion_pull(work):
    """taxii2-client pulling the ICS bundle from medallion into a stix2 MemoryStore, in a
    child process of the venv's Python; returns (seconds, objects)."""
    script = r'''
import json, sys, time
from taxii2client.v21 import Collection, as_pages
import stix2
url, = sys.argv[1:]
collection = Collection(url, user="bench", password="bench")
store = stix2.MemoryStore()
start = time.perf_counter()
count = 0
for envelope in as_pages(collection.get_objects, per_request=1000):
    for obj in envelope.get("objects", []):
        store.add(stix2.parse(obj, allow_custom=True))
        count += 1
print(json.dumps({"seconds": time.perf_counter() - start, "objects": count}))
'''
    port = 5932
    proc, path, objects = taxii_bench.start_medallion(work, port, 1000)
    try:
        out = subprocess.run([PYTHON, "-c", script, f"http://127.0.0.1:{port}{path}"],
                             check=True, capture_output=True, text=True).stdout
        result = json.loads(out)
        assert result["objects"] == len(objects), result
        return result["seconds"], result["objects"]
    finally:
        proc.terminate()
        proc.wait()


def ledger_million():
    out = subprocess.run(["cargo", "run", "--release", "--quiet", "-p", "ledger", "--example", "million"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return out.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="incremental syncs to time")
    parser.add_argument("--skip-medallion", action="store_true")
    parser.add_argument("--skip-ledger", action="store_true")
    parser.add_argument("--tessera", help="run this binary instead of building one (to compare builds)")
    opts = parser.parse_args()

    tessera = opts.tessera or taxii_bench.build()
    work = tempfile.mkdtemp(prefix="tessera-bench-sync-")
    proc = None
    try:
        data_a, data_b = os.path.join(work, "node-a"), os.path.join(work, "node-b")
        chunks = taxii_bench.generate(work, opts.objects)
        # Node A: bench/taxii's loader, then this benchmark's policy (everything to node B).
        tokens, written, load_seconds = taxii_bench.load(tessera, data_a, chunks)
        neutral = [o["id"] for o in json.load(open(taxii_bench.ICS))["objects"] if o["type"] == "marking-definition"]
        with open(os.path.join(data_a, "policy.toml"), "w") as out:
            out.write(POLICY.format(neutral=json.dumps(neutral)))
        for path in chunks:
            os.remove(path)
        print(f"node A holds {written:,} objects (loaded in {load_seconds:.1f} s)", flush=True)
        key_a = tessera_json(tessera, data_a, "ledger", "head")["public_key"]
        # As in bench/taxii: node A's release index is built (under a second at this size)
        # before B asks, so the sync times the steady state.
        proc, host, port, _ = taxii_bench.start_tessera(tessera, data_a, 60)

        subprocess.run([tessera, "--data-dir", data_b, "init", "--name", "Node B"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([tessera, "--data-dir", data_b, "peer", "add", "node-a", "--url", f"http://{host}:{port}",
                        "--token", tokens["bench-partner"], "--key", key_a], check=True, stdout=subprocess.DEVNULL)

        cpu = []
        seconds, synced, objects = sync(tessera, data_b, proc.pid, cpu)
        rate = objects / seconds
        cpu_b, cpu_a = cpu[0]
        print(f"tessera first sync: {objects:,} objects in {seconds:.1f} s = {rate:,.0f} objects/s "
              f"({synced:,} stored; signatures, policy and both ledgers included); CPU: node B {cpu_b:.1f} s, "
              f"node A {cpu_a:.1f} s; load average {os.getloadavg()[0]:.1f}", flush=True)
        if objects < written:
            sys.exit(f"the sync pulled {objects:,} of {written:,} objects")

        incremental = []
        for _ in range(opts.runs):
            start = time.perf_counter()
            post(host, port, tokens["bench-analyst"], new_objects(100))
            _, stored, _ = sync(tessera, data_b)
            incremental.append(time.perf_counter() - start)
            assert stored == 100, stored
        median = statistics.median(incremental)
        print(f"tessera incremental sync of 100 new objects, POST to stored on B: median {median * 1e3:.0f} ms "
              f"(runs: {', '.join(f'{s * 1e3:.0f}' for s in incremental)} ms)", flush=True)
        head_b = tessera_json(tessera, data_b, "ledger", "head")
        print(f"node B ledger: {head_b['tree_size']:,} entries")
        result = {"objects": objects, "first_sync_seconds": seconds, "first_sync_objects_per_s": rate,
                  "first_sync_cpu_seconds_b": cpu_b, "first_sync_cpu_seconds_a": cpu_a,
                  "incremental_100_ms": [s * 1e3 for s in incremental], "incremental_median_ms": median * 1e3}

        if not opts.skip_medallion:
            peer_seconds, peer_objects = medallion_pull(work)
            peer_rate = peer_objects / peer_seconds
            print(f"peer: taxii2-client from medallion into a stix2 MemoryStore: {peer_objects:,} objects in "
                  f"{peer_seconds:.1f} s = {peer_rate:,.0f} objects/s", flush=True)
            print(f"ratio: tessera/peer objects per second = {rate / peer_rate:,.1f}x")
            result["peer_objects_per_s"] = peer_rate
            result["ratio"] = rate / peer_rate
        if not opts.skip_ledger:
            print("ledger at 1M entries (crates/ledger/examples/million.rs):")
            print(ledger_million())
        print(json.dumps(result))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
