#!/usr/bin/env python3
"""bench/ucdp: the UCDP GED importer, in rows per second.

Tessera: (1) the converter alone, streaming (crates/incident/tests/speed.rs, release), and
(2) `tessera import` of the same rows end to end (conversion, validation, durable store).
Peer: the Python stix2 library building the same objects per row (incident, location,
located-at relationship), the way a Python pipeline into MISP/OpenCTI would.
The sample's 1,000 rows are repeated to 50,000 with distinct event ids.
"""
import csv, io, json, os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "..", "shared", "data", "events", "ucdp-ged-23.1-sample.csv")
PYTHON = os.environ.get("TESSERA_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
COPIES = 50

PEER = r"""
import csv, sys, time, stix2
rows = list(csv.DictReader(open(sys.argv[1], newline="")))[: int(sys.argv[2])]
start = time.perf_counter()
objects = 0
for r in rows:
    loc = stix2.Location(latitude=float(r["latitude"]), longitude=float(r["longitude"]), country=r["country"])
    inc = stix2.Incident(name=f'{r["dyad_name"]}: {r["where_coordinates"]}, {r["date_start"][:10]}',
                         description=f'UCDP GED event {r["id"]}', allow_custom=True,
                         x_killed={"low": int(float(r["low"])), "best": int(float(r["best"])), "high": int(float(r["high"]))})
    rel = stix2.Relationship(inc, "located-at", loc)
    objects += 3
print(len(rows) / (time.perf_counter() - start), objects)
"""


def main():
    work = tempfile.mkdtemp(prefix="tessera-bench-ucdp-")
    try:
        with open(SAMPLE, newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            records = list(reader)
        big = os.path.join(work, "ucdp-50k.csv")
        with open(big, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for copy in range(COPIES):
                for record in records:
                    writer.writerow([record[0] + f"{copy:03}"] + record[1:])
        rows = len(records) * COPIES

        out = subprocess.run(["cargo", "test", "--release", "--quiet", "-p", "incident", "--test", "speed", "--", "--ignored", "--nocapture"],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout
        streaming = float(re.search(r"streaming: \d+ rows in [\d.]+ s = (\d+) rows/s", out).group(1))

        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "tessera"], cwd=ROOT, check=True)
        tessera = os.path.join(ROOT, "target", "release", "tessera")
        node = os.path.join(work, "node")
        subprocess.run([tessera, "--data-dir", node, "init"], check=True, stdout=subprocess.DEVNULL)
        start = time.perf_counter()
        report = json.loads(subprocess.run([tessera, "--data-dir", node, "--json", "import", big], check=True, capture_output=True, text=True).stdout)
        end_to_end = rows / (time.perf_counter() - start)
        assert report["imports"][0]["conversion"]["imported"] == rows, report

        peer_rows = 5000
        peer_out = subprocess.run([PYTHON, "-c", PEER, big, str(peer_rows)], check=True, capture_output=True, text=True).stdout.split()
        peer = float(peer_out[0])
        print(f"rows: {rows} (the 1,000-row UCDP GED 23.1 sample x {COPIES}, distinct event ids)")
        print(f"tessera converter (streaming)   : {streaming:,.0f} rows/s")
        print(f"tessera import, end to end      : {end_to_end:,.0f} rows/s (conversion + validation + durable store)")
        print(f"python stix2 (3 objects per row): {peer:,.0f} rows/s over {peer_rows} rows")
        print(f"ratio: converter {streaming / peer:.1f}x, end to end {end_to_end / peer:.1f}x the stix2 library")
        print(json.dumps({"rows": rows, "converter_rows_per_s": streaming, "end_to_end_rows_per_s": end_to_end, "peer_rows_per_s": peer}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
