#!/usr/bin/env python3
"""bench/import: Tessera's import of enterprise ATT&CK beside the Python stix2 library.

Tessera: a fresh store per run, `tessera import` of the whole bundle with full validation and
durable commits (wall clock of the whole process, peak RSS from the kernel's rusage).
Peer: `stix2.parse(bundle, allow_custom=True)` and `MemoryStore.add` of the same bundle, the
library most STIX users reach for. Medians over several runs; the machine is noisy.

Usage: bench/import/run.py [--runs N] [--peer-runs N] [--baseline BINARY]   (from the repository root)
CARGO_TARGET_DIR is honoured for the release build. With --baseline, another build of tessera
(e.g. the commit before a change) is run alternately with this one on the same machine state,
and both are reported. CPU seconds (user + system) and the load average are reported too: the
machine is shared, and wall clock alone says more about the neighbours than about the code.
"""
import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUNDLE_GZ = os.path.join(ROOT, "..", "shared", "data", "stix", "enterprise-attack-18.1-stix20.json.gz")
PYTHON = os.environ.get("TESSERA_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))

PEER = r"""
import json, sys, time, resource
import stix2
start = time.perf_counter()
with open(sys.argv[1]) as f:
    bundle = json.load(f)
parsed = stix2.parse(bundle, allow_custom=True)
store = stix2.MemoryStore(allow_custom=True)
store.add(parsed.objects)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "objects": len(parsed.objects),
                  "rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def run_measured(args):
    """Runs a command; returns (seconds, peak RSS bytes, stdout, CPU seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{args[0]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024, out, usage.ru_utime + usage.ru_stime


def alternate(import_once, tessera, baseline, runs):
    """Runs `import_once(binary, i)` for this build, and for `baseline` just before it when given,
    `runs` times; returns both lists of results and the 1-minute load averages around them."""
    tessera_runs, baseline_runs = [], []
    loads = [os.getloadavg()[0]]
    for i in range(runs):
        if baseline:
            baseline_runs.append(import_once(baseline, i))
        tessera_runs.append(import_once(tessera, i))
        loads.append(os.getloadavg()[0])
    return tessera_runs, baseline_runs, loads


def peer(bundle, objects, runs):
    """The stix2 peer on `bundle`, `runs` times: (seconds, peak RSS bytes) each."""
    peer_runs = []
    for _ in range(runs):
        _, _, out, _ = run_measured([PYTHON, "-c", PEER, bundle])
        result = json.loads(out)
        assert result["objects"] == objects, result
        peer_runs.append((result["seconds"], result["rss_bytes"]))
    return peer_runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--peer-runs", type=int, default=3)
    parser.add_argument("--baseline", help="another tessera binary, run alternately with this build")
    opts = parser.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "tessera"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    tessera = os.path.join(target, "release", "tessera")
    work = tempfile.mkdtemp(prefix="tessera-bench-import-")
    try:
        bundle = os.path.join(work, "enterprise-attack.json")
        with gzip.open(BUNDLE_GZ, "rb") as src, open(bundle, "wb") as dst:
            shutil.copyfileobj(src, dst)
        bundle_bytes = os.path.getsize(bundle)
        # Counted in a child process: a child's peak RSS as the kernel reports it includes what
        # it inherited at fork, so this process must not hold the parsed bundle itself.
        objects = int(subprocess.run(
            [sys.executable, "-c", "import json, sys; print(len(json.load(open(sys.argv[1]))['objects']))",
             bundle], check=True, capture_output=True, text=True).stdout)

        def import_once(binary, i):
            data = os.path.join(work, f"node-{i}")
            subprocess.run([binary, "--data-dir", data, "init"], check=True, stdout=subprocess.DEVNULL)
            seconds, rss, out, cpu = run_measured([binary, "--data-dir", data, "--json", "import", bundle])
            report = json.loads(out)["imports"][0]
            assert report["written"] == objects and report["rejected"] == 0, report
            shutil.rmtree(data)
            return seconds, rss, cpu

        tessera_runs, baseline_runs, loads = alternate(import_once, tessera, opts.baseline, opts.runs)
        peer_runs = peer(bundle, objects, opts.peer_runs)

        t_sec = statistics.median(s for s, _, _ in tessera_runs)
        t_cpu = statistics.median(c for _, _, c in tessera_runs)
        t_rss = max(r for _, r, _ in tessera_runs)
        p_sec = statistics.median(s for s, _ in peer_runs)
        p_rss = max(r for _, r in peer_runs)
        print(f"bundle: enterprise ATT&CK 18.1 (STIX 2.0), {objects} objects, {bundle_bytes / 1e6:.1f} MB")
        print(f"tessera import  : median {t_sec:.3f} s over {opts.runs} runs = {objects / t_sec:,.0f} objects/s, "
              f"{t_cpu:.2f} CPU s, peak RSS {t_rss / 1e6:.1f} MB ({t_rss / bundle_bytes:.2f}x the bundle)")
        if baseline_runs:
            b_sec = statistics.median(s for s, _, _ in baseline_runs)
            b_cpu = statistics.median(c for _, _, c in baseline_runs)
            b_rss = max(r for _, r, _ in baseline_runs)
            print(f"baseline import : median {b_sec:.3f} s = {objects / b_sec:,.0f} objects/s, {b_cpu:.2f} CPU s, "
                  f"peak RSS {b_rss / 1e6:.1f} MB ({b_rss / bundle_bytes:.2f}x), alternating with the build above")
        print(f"load average    : {min(loads):.1f} to {max(loads):.1f} (1 minute) during the tessera runs")
        print(f"stix2 (python)  : median {p_sec:.3f} s over {opts.peer_runs} runs = {objects / p_sec:,.0f} objects/s, "
              f"peak RSS {p_rss / 1e6:.1f} MB")
        print(f"ratio           : tessera is {p_sec / t_sec:.1f}x the stix2 library")
        print(json.dumps({"objects": objects, "bundle_bytes": bundle_bytes,
                          "tessera_seconds_median": t_sec, "tessera_objects_per_s": objects / t_sec,
                          "tessera_cpu_seconds_median": t_cpu,
                          "tessera_peak_rss_bytes": t_rss, "peer_seconds_median": p_sec,
                          "peer_objects_per_s": objects / p_sec, "ratio": p_sec / t_sec,
                          "tessera_runs": tessera_runs, "baseline_runs": baseline_runs,
                          "load_averages": loads, "peer_runs": peer_runs}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
