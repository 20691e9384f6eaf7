//! Search latency over a node's index: each query of a file (one per line) run repeatedly;
//! prints the median and p99 in microseconds as JSON.
//! `cargo run --release -p search --example latency -- DATA_DIR QUERIES_FILE [rounds]`
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(&args[1]);
    let queries: Vec<String> = std::fs::read_to_string(&args[2])
        .expect("queries file")
        .lines()
        .map(str::to_string)
        .collect();
    let rounds: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(50);
    let store = store::Store::open(&data).expect("store");
    let mut index = search::SearchIndex::open(&data.join("search")).expect("index");
    index.catch_up(&store).expect("catch up");
    let mut samples = Vec::with_capacity(queries.len() * rounds);
    let mut hits = 0usize;
    for _ in 0..rounds {
        for text in &queries {
            let query = search::SearchQuery {
                text: text.clone(),
                limit: 20,
                ..Default::default()
            };
            let start = Instant::now();
            let results = index.search(&query).expect("search");
            samples.push(start.elapsed().as_secs_f64() * 1e6);
            hits += results.hits.len();
        }
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{{\"queries\": {}, \"median_us\": {:.1}, \"p99_us\": {:.1}, \"hits\": {hits}}}",
        samples.len(),
        at(0.5),
        at(0.99)
    );
}
