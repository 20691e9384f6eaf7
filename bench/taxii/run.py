#!/usr/bin/env python3
"""bench/taxii: paging a million objects over TAXII 2.1, beside medallion.

Tessera: a fresh node loaded with 1,000,000 real ATT&CK objects (the ICS ATT&CK 18.1 bundle
cloned under fresh ids: every id but the marking definitions' is replaced by a uuid5 of the copy
and the id, so the relationships of each copy point into that copy, and each copy keeps its
x-mitre-collection, whose x_mitre_contents refers to all 1,824 objects of the copy: one page in
about eighteen carries one; every object also gets TLP:GREEN, one in four
TLP:AMBER, so that a partner's view is a real policy decision). `tessera serve` (release build)
is started, and once it logs that its release index is built (the index of every id's current
version and release facts that partner pages are decided with; its build time is printed) it
is walked with `GET .../objects/?limit=100` following `next` to the end, unfiltered and
filtered by type (`match[type]=attack-pattern`), as the node's analyst and as a partner cleared
for GREEN. Every page of every walk is timed (no sampling): the client's wall time from sending
the request to having the whole body, over one keep-alive connection. The server's CPU time for each page is read
from /proc/PID/task/*/schedstat around it (outside the timed part): on a shared machine it is
the figure other processes disturb least. The server's RSS (current and peak) is read from
/proc after the walks.

Peer: medallion (the OASIS TAXII 2.1 reference server, from the venv, memory backend) loaded
with the ICS bundle, walked the same way (limit=100, following `next`), unfiltered and filtered.
The ratio is medallion's page latency over Tessera's (median and mean), i.e. how many of
Tessera's pages fit in one of medallion's.

Usage (from the repository root):
    bench/taxii/run.py [--objects N] [--keep DIR] [--reuse DIR] [--skip-medallion] [--tessera BIN]
                       [--index-wait-s S]
CARGO_TARGET_DIR is honoured for the release build.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ICS = os.path.join(ROOT, "..", "shared", "data", "stix", "ics-attack-18.1.json")
PYTHON = os.environ.get("TESSERA_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
MEDALLION = os.path.join(os.path.dirname(PYTHON), "medallion")
TAXII = "application/taxii+json;version=2.1"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
ID = re.compile(r'"([a-z0-9][a-z0-9-]*)--([0-9a-f]{8})(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"')
CHUNK = 100_000
FILTER_TYPE = "attack-pattern"


def build():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "tessera"], cwd=ROOT, check=True)
    return os.path.join(target, "release", "tessera")


def templates():
    """The ICS objects as JSON text, marked GREEN (one in four AMBER); the marking definitions
    apart, since they are shared by every copy."""
    objects = json.load(open(ICS))["objects"]
    shared, cloned = [], []
    for n, obj in enumerate(objects):
        if obj["type"] == "marking-definition":
            shared.append(json.dumps(obj, separators=(",", ":")))
            continue
        obj = dict(obj)
        obj["object_marking_refs"] = obj.get("object_marking_refs", []) + [TLP_AMBER if n % 4 == 3 else TLP_GREEN]
        cloned.append(json.dumps(obj, separators=(",", ":")))
    return shared, cloned, objects


def generate(work, total):
    """Writes the objects in bundles of CHUNK; returns their paths and the count per type."""
    shared, cloned, _ = templates()
    paths, batch, written, copy = [], list(shared), len(shared), 0

    def flush():
        path = os.path.join(work, f"chunk-{len(paths):03d}.json")
        with open(path, "w") as out:
            out.write('{"type":"bundle","id":"bundle--%s","objects":[' % uuid.uuid4())
            out.write(",".join(batch))
            out.write("]}")
        paths.append(path)
        batch.clear()

    while written < total:
        # A fresh id for each original id in each copy (uuid5 of the copy number and the id),
        # so the relationships of a copy point into that copy.
        namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"tessera-bench-taxii/{copy}")
        fresh = {}

        def rename(match, namespace=namespace, fresh=fresh):
            if match.group(1) == "marking-definition":
                return match.group(0)
            old = match.group(0)
            new = fresh.get(old)
            if new is None:
                new = fresh[old] = f'"{match.group(1)}--{uuid.uuid5(namespace, old)}"'
            return new

        for text in cloned:
            if written >= total:
                break
            batch.append(ID.sub(rename, text))
            written += 1
            if len(batch) >= CHUNK:
                flush()
        copy += 1
    if batch:
        flush()
    return paths


POLICY = """version = 1
neutral_markings = {neutral}

[[partner]]
name = "bench-analyst"
identity_ref = "identity--5d6f55e7-d337-42a9-89ef-658976546091"
role = "analyst"

[[partner]]
name = "bench-partner"
identity_ref = "identity--256c665f-9234-4db4-91aa-1cdfe6c8e1a4"
role = "partner"

[[rule]]
name = "green-to-everyone"
everyone = true
tlp_max = "green"
"""


def load(tessera, data, chunks):
    subprocess.run([tessera, "--data-dir", data, "init"], check=True, stdout=subprocess.DEVNULL)
    neutral = [o["id"] for o in json.load(open(ICS))["objects"] if o["type"] == "marking-definition"]
    with open(os.path.join(data, "policy.toml"), "w") as out:
        out.write(POLICY.format(neutral=json.dumps(neutral)))
    tokens = {}
    for name, role in (("bench-analyst", "analyst"), ("bench-partner", "partner")):
        out = subprocess.run([tessera, "--data-dir", data, "--json", "partner", "add", name, "--role", role],
                             check=True, capture_output=True).stdout
        tokens[name] = json.loads(out)["token"]
    start = time.perf_counter()
    written = 0
    for path in chunks:
        out = subprocess.run([tessera, "--data-dir", data, "--json", "--progress", "none", "import", path],
                             check=True, capture_output=True).stdout
        report = json.loads(out)["imports"][0]
        assert report["rejected"] == 0, report["problems"][:3]
        written += report["written"]
    seconds = time.perf_counter() - start
    with open(os.path.join(data, "bench-tokens.json"), "w") as out:
        json.dump({"tokens": tokens, "written": written, "load_seconds": seconds}, out)
    return tokens, written, seconds


def start_tessera(tessera, data, index_wait_s):
    """Starts `tessera serve` and waits (at most `index_wait_s`) until its release index is
    built (the server logs it): the walks time the steady state, and the build is reported
    apart. Returns the process, the address and the index's build message."""
    proc = subprocess.Popen([tessera, "--data-dir", data, "serve", "--listen", "127.0.0.1:0",
                             "--requests-per-second", "1000000", "--requests-burst", "1000000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    match = re.match(r"listening on http://(.+):(\d+)/taxii2/", line)
    if not match:
        proc.kill()
        sys.exit(f"tessera serve did not start: {line!r}")
    built, index = threading.Event(), []

    def drain():
        # Reads the server's log to the end, so that it never fills the pipe and stalls.
        for logged in proc.stderr:
            if "release index" in logged and not index:
                index.append(logged.strip().split("tessera: ", 1)[-1])
                built.set()

    threading.Thread(target=drain, daemon=True).start()
    built.wait(index_wait_s)
    message = index[0] if index else None
    print(f"tessera serve: {message or 'no release index message'}", flush=True)
    return proc, match.group(1), int(match.group(2)), message


def cpu_times(pid):
    """CPU time each thread of the process has used, by thread id (nanoseconds, from
    schedstat)."""
    times = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                times[task] = int(stat.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended in between
    return times


def process_cpu_seconds(pid):
    """CPU time the whole process has used, threads that ended included (clock ticks, from
    /proc/PID/stat): for spans of seconds, where a tick's resolution does not matter."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds_between(before, after):
    """CPU seconds the process's threads used between two `cpu_times`. A thread that ended in
    between cannot be read any more and is left out (its last moments are not counted); summing
    the threads alive at each end instead made a page during which one ended negative."""
    return sum(ns - before.get(task, 0) for task, ns in after.items()) / 1e9


def walk(host, port, path, headers, limit=100, server_pid=None, cpu=None):
    """Follows `next` to the end; returns (page latencies in seconds, pages, objects). With
    `server_pid`, appends the server's CPU time per page to `cpu` (read outside the timed part):
    on this shared 2-core machine it is the figure other processes disturb least."""
    conn = http.client.HTTPConnection(host, port, timeout=600)
    latencies, objects, cursor = [], 0, None
    while True:
        url = f"{path}{'&' if '?' in path else '?'}limit={limit}"
        if cursor:
            url += "&next=" + cursor
        cpu_before = cpu_times(server_pid) if server_pid else {}
        start = time.perf_counter()
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        body = response.read()
        latencies.append(time.perf_counter() - start)
        if server_pid:
            cpu.append(cpu_seconds_between(cpu_before, cpu_times(server_pid)))
        if response.status != 200:
            sys.exit(f"GET {url}: {response.status} {body[:300]!r}")
        page = json.loads(body)
        objects += len(page.get("objects", []))
        if not page.get("more"):
            break
        cursor = page["next"]
    conn.close()
    return latencies, len(latencies), objects


def rss(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(latencies):
    return {"pages": len(latencies), "median_ms": statistics.median(latencies) * 1e3,
            "p99_ms": percentile(latencies, 99) * 1e3, "max_ms": max(latencies) * 1e3,
            "mean_ms": statistics.fmean(latencies) * 1e3, "total_s": sum(latencies)}


def start_medallion(work, port, page_size):
    """medallion, memory backend, serving the ICS bundle; waits until it answers. Returns the
    process, the collection's URL path and the objects."""
    objects = json.load(open(ICS))["objects"]
    manifest = []
    for n, obj in enumerate(objects):
        added = "2024-01-01T00:00:%02d.%06dZ" % (n // 1_000_000, n % 1_000_000)
        manifest.append({"id": obj["id"], "date_added": added,
                         "version": obj.get("modified", obj.get("created", added)),
                         "media_type": "application/stix+json;version=2.1"})
    root = f"http://127.0.0.1:{port}/api1/"
    collection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    data = {"/discovery": {"title": "medallion", "description": "", "contact": "", "default": root, "api_roots": [root]},
            "api1": {"information": {"title": "api1", "description": "", "versions": [TAXII], "max_content_length": 100_000_000},
                     "status": [], "collections": [{"id": collection, "title": "ics", "description": "", "can_read": True,
                                                    "can_write": True, "media_types": ["application/stix+json;version=2.1"],
                                                    "objects": objects, "manifest": manifest}]}}
    data_path, config_path = os.path.join(work, "medallion-data.json"), os.path.join(work, "medallion.json")
    json.dump(data, open(data_path, "w"))
    json.dump({"backend": {"module_class": "MemoryBackend", "module": "medallion.backends.memory_backend", "filename": data_path},
               "users": {"bench": "bench"}, "taxii": {"max_page_size": page_size}}, open(config_path, "w"))
    proc = subprocess.Popen([MEDALLION, "--port", str(port), config_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    headers = {"Accept": TAXII, "Authorization": "Basic YmVuY2g6YmVuY2g="}
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/taxii2/", headers=headers)
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        sys.exit("medallion did not start")
    return proc, f"/api1/collections/{collection}/", objects


def medallion(work):
    """medallion, memory backend, the ICS bundle; walked unfiltered and filtered."""
    port = 5931
    proc, path, objects = start_medallion(work, port, 100)
    headers = {"Accept": TAXII, "Authorization": "Basic YmVuY2g6YmVuY2g="}
    try:
        path += "objects/"
        unfiltered = walk("127.0.0.1", port, path, headers)
        filtered = walk("127.0.0.1", port, f"{path}?match[type]={FILTER_TYPE}", headers)
        assert unfiltered[2] == len(objects), unfiltered[2]
        return unfiltered, filtered
    finally:
        proc.terminate()
        proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--keep", help="keep the loaded node in this directory")
    parser.add_argument("--reuse", help="serve a node a previous --keep run loaded")
    parser.add_argument("--skip-medallion", action="store_true")
    parser.add_argument("--index-wait-s", type=float, default=1800,
                        help="how long to wait for the release index (0 for a build without one)")
    parser.add_argument("--tessera", help="serve with this binary instead of building one (to compare builds)")
    opts = parser.parse_args()

    tessera = opts.tessera or build()
    work = tempfile.mkdtemp(prefix="tessera-bench-taxii-")
    try:
        if opts.reuse:
            data = opts.reuse
            saved = json.load(open(os.path.join(data, "bench-tokens.json")))
            tokens, written, load_seconds = saved["tokens"], saved["written"], saved["load_seconds"]
        else:
            data = opts.keep or os.path.join(work, "node")
            start = time.perf_counter()
            chunks = generate(work, opts.objects)
            generate_seconds = time.perf_counter() - start
            print(f"generated {opts.objects:,} objects in {len(chunks)} bundles in {generate_seconds:.1f} s", flush=True)
            tokens, written, load_seconds = load(tessera, data, chunks)
            for path in chunks:
                os.remove(path)
        print(f"loaded {written:,} objects in {load_seconds:.1f} s ({written / load_seconds:,.0f} objects/s)", flush=True)

        proc, host, port, index_message = start_tessera(tessera, data, opts.index_wait_s)
        results = {}
        try:
            path = "/api/collections/shared/objects/"
            for caller in ("bench-analyst", "bench-partner"):
                headers = {"Accept": TAXII, "Authorization": "Bearer " + tokens[caller]}
                for name, query in (("unfiltered", ""), ("filtered", f"?match[type]={FILTER_TYPE}")):
                    cpu = []
                    latencies, pages, objects = walk(host, port, path + query, headers,
                                                     server_pid=proc.pid, cpu=cpu)
                    result = results[f"{caller} {name}"] = dict(summary(latencies), objects=objects,
                                                                server_cpu=summary(cpu))
                    print(f"tessera {caller:13} {name:10}: {objects:>9,} objects in {pages:>6,} pages, "
                          f"median {result['median_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                          f"max {result['max_ms']:.2f} ms; server CPU per page median "
                          f"{result['server_cpu']['median_ms']:.2f} ms, p99 {result['server_cpu']['p99_ms']:.2f} ms",
                          flush=True)
            memory = rss(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
        analyst = results["bench-analyst unfiltered"]
        assert analyst["objects"] >= written, (analyst["objects"], written)
        print(f"tessera server RSS after the walks: {memory['VmRSS'] / 1e6:.0f} MB (peak {memory['VmHWM'] / 1e6:.0f} MB)")

        peer = {}
        if not opts.skip_medallion:
            unfiltered, filtered = medallion(work)
            for name, (latencies, pages, objects) in (("unfiltered", unfiltered), ("filtered", filtered)):
                peer[name] = dict(summary(latencies), objects=objects)
                print(f"medallion (ICS, {objects:,} objects) {name:10}: {pages} pages, median {peer[name]['median_ms']:.1f} ms, "
                      f"mean {peer[name]['mean_ms']:.1f} ms, first page {latencies[0] * 1e3:.0f} ms", flush=True)
            for name in ("unfiltered", "filtered"):
                for caller in ("bench-analyst", "bench-partner"):
                    ours = results[f"{caller} {name}"]
                    print(f"ratio {name:10} {caller:13}: medallion/tessera per page = "
                          f"{peer[name]['median_ms'] / ours['median_ms']:,.0f}x (medians), "
                          f"{peer[name]['mean_ms'] / ours['mean_ms']:,.0f}x (means, i.e. page rate over the walk)")
        print(json.dumps({"objects": written, "load_seconds": load_seconds, "release_index": index_message,
                          "tessera": results,
                          "tessera_rss_bytes": memory, "medallion": peer}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
