//! The MUC-4 benchmark's Rust half (driven by `bench/muc4/run.py`): scores the shipped model on
//! a split, times extraction on one thread, and reports peak RSS. Prints a table, then one JSON
//! line.
//!
//! ```sh
//! cargo run --release -p extract --example bench_muc4 -- ../shared/data/text/muc4/dev.jsonl [ROUNDS]
//! ```

use std::time::Instant;

use extract::muc4::{Role, Template, read_jsonl, score};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: bench_muc4 SPLIT.jsonl [ROUNDS]")?;
    let rounds: usize = args.get(2).map(|r| r.parse()).transpose()?.unwrap_or(5);
    let documents = read_jsonl(&std::fs::read_to_string(path)?)?;
    let loading = Instant::now();
    let model = extract::muc4_model().ok_or("the shipped model is unreadable")?;
    // Load the gazetteer too: the RSS figure is with everything in memory.
    let places = extract::gazetteer::city_count();
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;

    let gold: Vec<Vec<Template>> = documents
        .iter()
        .map(|d| d.templates.iter().map(|t| t.to_template()).collect())
        .collect();
    let predicted: Vec<Vec<Template>> = documents
        .iter()
        .map(|d| model.extract(&d.doctext))
        .collect();
    let s = score(
        gold.iter()
            .zip(&predicted)
            .map(|(g, p)| (g.as_slice(), p.as_slice())),
    );

    let started = Instant::now();
    let mut templates = 0usize;
    for _ in 0..rounds {
        for d in &documents {
            templates += model.extract(&d.doctext).len();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let docs_per_s = (rounds * documents.len()) as f64 / seconds;

    println!(
        "MUC-4 {} ({} documents), shipped model, {} gazetteer places",
        path,
        documents.len(),
        places
    );
    println!("{:<14} {:>6} {:>6} {:>6}", "slot", "P", "R", "F1");
    let mut per_role = serde_json::Map::new();
    let mut line = |name: &str, c: extract::muc4::Counts| {
        println!(
            "{name:<14} {:6.1} {:6.1} {:6.1}",
            c.precision(),
            c.recall(),
            c.f1()
        );
        per_role.insert(
            name.to_string(),
            serde_json::json!({"p": c.precision(), "r": c.recall(), "f1": c.f1(), "correct": c.correct, "predicted": c.predicted, "gold": c.gold}),
        );
    };
    line("incident_type", s.incident_type);
    for role in Role::ALL {
        line(role.as_str(), s.roles[role.index()]);
    }
    line("micro", s.micro());
    let rss = peak_rss_kib();
    println!(
        "throughput: {docs_per_s:.0} docs/s on one thread ({rounds} rounds, {templates} templates); model+gazetteer load {load_ms:.0} ms; peak RSS {} MiB",
        rss.map(|k| format!("{:.1}", k as f64 / 1024.0))
            .unwrap_or_else(|| "?".into())
    );
    println!(
        "{}",
        serde_json::json!({"docs": documents.len(), "docs_per_s": docs_per_s, "peak_rss_kib": rss, "scores": per_role})
    );
    Ok(())
}
