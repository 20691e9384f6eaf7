#!/usr/bin/env python3
"""bench/import/at_scale.py: a 100,000-object bundle imported into a store that already holds
many objects, beside the Python stix2 library.

`run.py` times enterprise ATT&CK into a fresh store. A node lives longer than that: every
bundle lands in a store that grows, and its indexes outgrow any cache. Here a node is loaded
with --store-objects generated ATT&CK objects (bench/taxii's generator: ICS ATT&CK cloned with
fresh ids, relationships pointing into their own copy) in bundles of 100,000, untimed but
reported; then, per run, a copy of that node imports one more such bundle (wall clock of the
whole `tessera import`, CPU seconds, peak RSS). With --baseline, another build imports into
its own copy of the same node, alternately. The peer is `stix2.parse` + `MemoryStore.add` of
the same bundle (it keeps no store that grows, so it is timed on the bundle alone).

Usage: bench/import/at_scale.py [--store-objects N] [--runs N] [--peer-runs N] [--baseline BINARY]
"""
import argparse
import importlib.util
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The ATT&CK bench's measuring, alternating and stix2 peer; the TAXII bench's generator.
fresh_store = load_module("bench_import_run", os.path.join(HERE, "run.py"))
taxii = load_module("bench_taxii_run", os.path.join(ROOT, "bench", "taxii", "run.py"))


def generate_apart(work, total):
    """The TAXII bench's generator run in a forked child, its bundle paths sent back: a child's
    peak RSS as the kernel reports it includes what it inherited at fork, so this process must
    not hold the generator's objects when it starts `tessera`."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=lambda: sender.send(taxii.generate(work, total)))
    child.start()
    sender.close()  # so that a child that dies makes recv fail instead of wait
    try:
        chunks = receiver.recv()
    except EOFError:
        child.join()
        sys.exit(f"generating the bundles failed (exit code {child.exitcode})")
    child.join()
    return chunks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--store-objects", type=int, default=400_000,
                        help="objects in the store before the timed bundle (a multiple of 100,000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-runs", type=int, default=1)
    parser.add_argument("--baseline", help="another tessera binary, run alternately with this build")
    opts = parser.parse_args()
    if opts.store_objects % taxii.CHUNK:
        sys.exit(f"--store-objects must be a multiple of {taxii.CHUNK}")

    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "tessera"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    tessera = os.path.join(target, "release", "tessera")
    work = tempfile.mkdtemp(prefix="tessera-bench-import-at-scale-")
    try:
        chunks = generate_apart(work, opts.store_objects + taxii.CHUNK)
        preload, bundle = chunks[:-1], chunks[-1]
        bundle_bytes = os.path.getsize(bundle)
        objects = taxii.CHUNK

        node = os.path.join(work, "node")
        subprocess.run([tessera, "--data-dir", node, "init"], check=True, stdout=subprocess.DEVNULL)
        for n, path in enumerate(preload):
            seconds, rss, out, cpu = fresh_store.run_measured(
                [tessera, "--data-dir", node, "--json", "--progress", "none", "import", path])
            report = json.loads(out)["imports"][0]
            assert report["written"] == objects and report["rejected"] == 0, report
            print(f"preload bundle {n + 1}: {seconds:.2f} s, {cpu:.2f} CPU s, peak RSS {rss / 1e6:.0f} MB")
        index_bytes = os.path.getsize(os.path.join(node, "store.redb"))

        def import_once(binary, i):
            copy = os.path.join(work, f"node-{i}")
            shutil.copytree(node, copy)
            subprocess.run(["sync"], check=True)
            seconds, rss, out, cpu = fresh_store.run_measured(
                [binary, "--data-dir", copy, "--json", "--progress", "none", "import", bundle])
            report = json.loads(out)["imports"][0]
            assert report["written"] == objects and report["rejected"] == 0, report
            shutil.rmtree(copy)
            return seconds, rss, cpu

        tessera_runs, baseline_runs, loads = fresh_store.alternate(
            import_once, tessera, opts.baseline, opts.runs)
        peer_runs = fresh_store.peer(bundle, objects, opts.peer_runs)

        def summary(runs):
            return (statistics.median(s for s, _, _ in runs), statistics.median(c for _, _, c in runs),
                    max(r for _, r, _ in runs))

        t_sec, t_cpu, t_rss = summary(tessera_runs)
        p_sec = statistics.median(s for s, _ in peer_runs)
        p_rss = max(r for _, r in peer_runs)
        print(f"store before    : {opts.store_objects:,} objects, index file {index_bytes / 1e6:.0f} MB")
        print(f"bundle          : {objects:,} generated ATT&CK objects, {bundle_bytes / 1e6:.1f} MB")
        print(f"tessera import  : median {t_sec:.2f} s over {opts.runs} runs = {objects / t_sec:,.0f} objects/s, "
              f"{t_cpu:.2f} CPU s, peak RSS {t_rss / 1e6:.0f} MB ({t_rss / bundle_bytes:.2f}x the bundle)")
        if baseline_runs:
            b_sec, b_cpu, b_rss = summary(baseline_runs)
            print(f"baseline import : median {b_sec:.2f} s = {objects / b_sec:,.0f} objects/s, {b_cpu:.2f} CPU s, "
                  f"peak RSS {b_rss / 1e6:.0f} MB ({b_rss / bundle_bytes:.2f}x), alternating with the build above; "
                  f"this build takes {t_sec / b_sec:.2f}x its time")
        print(f"load average    : {min(loads):.1f} to {max(loads):.1f} (1 minute) during the tessera runs")
        print(f"stix2 (python)  : median {p_sec:.2f} s over {opts.peer_runs} runs = {objects / p_sec:,.0f} objects/s, "
              f"peak RSS {p_rss / 1e6:.0f} MB")
        print(f"ratio           : tessera is {p_sec / t_sec:.1f}x the stix2 library")
        print(json.dumps({"store_objects": opts.store_objects, "index_bytes": index_bytes, "objects": objects,
                          "bundle_bytes": bundle_bytes, "tessera_runs": tessera_runs,
                          "baseline_runs": baseline_runs, "peer_runs": peer_runs, "load_averages": loads}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
