//! The store's side of `tessera import` alone (no ledger, no terminal), for profiling:
//! `cargo run --release -p store --example import -- BUNDLE.json`
use std::time::Instant;

use store::{BundleInput, ImportOptions, Store};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::init(dir.path()).expect("store");
    let start = Instant::now();
    let bytes = std::fs::read(&args[1]).expect("bundle");
    let read = start.elapsed();
    let report = store::import_bundle(
        &store,
        BundleInput::Slice(&bytes),
        &ImportOptions::default(),
        &mut (),
    )
    .expect("import");
    println!(
        "{} written in {} batches, {} rejected: read {read:?}, total {:?}",
        report.written,
        report.batches,
        report.rejected,
        start.elapsed()
    );
}
