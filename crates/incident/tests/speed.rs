//! The UCDP converter's throughput, measured on the real sample repeated to 50,000 rows with
//! distinct event ids, streaming (objects handed on as built) and collected. Run it in release:
//! `cargo test --release -p incident --test speed -- --ignored --nocapture`.

mod common;

use std::time::Instant;

use incident::AliasIndex;
use incident::import::ucdp;

#[test]
#[ignore = "a measurement; run in release"]
fn ucdp_rows_per_second() {
    let sample = String::from_utf8(common::read_data("events/ucdp-ged-23.1-sample.csv")).unwrap();
    let (header, body) = sample.split_once('\n').unwrap();
    // Records may span lines inside quotes: repeat whole records, re-serialised by the csv crate.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header.split(',')).unwrap();
    let copies = 50;
    for copy in 0..copies {
        for record in &records {
            let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
            fields[0] = format!("{}{copy:03}", fields[0]);
            writer.write_record(&fields).unwrap();
        }
    }
    let csv = writer.into_inner().unwrap();
    let rows = records.len() * copies;
    // Streaming, as a node imports: each object goes to the consumer (here, dropped) as soon as
    // it is built, so memory stays flat.
    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    for _ in 0..3 {
        let mut index = AliasIndex::curated();
        let mut objects = 0usize;
        let cpu_start = cpu_seconds();
        let start = Instant::now();
        let report = ucdp::import_each(&csv, &common::provenance(), &mut index, &mut |object| {
            objects += 1;
            drop(object);
        })
        .unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        best_cpu = best_cpu.min(cpu_seconds() - cpu_start);
        assert_eq!(report.imported, rows);
        assert!(objects > rows);
    }
    println!(
        "UCDP GED, streaming: {rows} rows in {best:.3} s = {:.0} rows/s wall clock; {best_cpu:.2} s of CPU = {:.0} rows per CPU second",
        rows as f64 / best,
        rows as f64 / best_cpu
    );
    // Collecting every object of the file in memory first.
    let mut index = AliasIndex::curated();
    let start = Instant::now();
    let import = ucdp::import(&csv, &common::provenance(), &mut index).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(import.report.imported, rows);
    println!(
        "UCDP GED, collected: {rows} rows in {seconds:.3} s = {:.0} rows/s ({} objects held)",
        rows as f64 / seconds,
        import.objects.len()
    );
}

/// CPU time of this process so far (user and system), from /proc: on a shared 2-core machine the
/// wall clock also counts time spent waiting for a core.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|t| t.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}
