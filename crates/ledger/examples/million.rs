//! Measures the ledger at scale: appends a million entries in batches, then
//! reopens, proves and verifies, printing throughput, proof sizes and memory.
//!
//! ```text
//! cargo run --release -p ledger --example million -- [entries] [batch] [dir]
//! ```
//! Defaults: 1,000,000 entries, batches of 1,000, a temporary directory.

use std::path::PathBuf;
use std::time::Instant;

use ledger::merkle::{HASH_BYTES, verify_consistency};
use ledger::{Entry, Ledger, NodeKey};

fn entry(i: u64) -> Entry {
    let object_id = format!(
        "indicator--{:08x}-0000-4000-8000-{:012x}",
        i / 3,
        i % 1_000_003
    );
    let content_hash = format!("{:064x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15);
    match i % 3 {
        0 => Entry::Created {
            recorded_at_unix_ms: 1_711_000_000_000 + i,
            object_id,
            version: "2024-03-22T10:00:00.000Z".to_string(),
            content_hash,
        },
        1 => Entry::Received {
            recorded_at_unix_ms: 1_711_000_000_000 + i,
            peer: "de-bka".to_string(),
            object_id,
            version: "2024-03-22T10:00:00.000Z".to_string(),
            content_hash,
            page_signature: "ab".repeat(64),
        },
        _ => Entry::Released {
            recorded_at_unix_ms: 1_711_000_000_000 + i,
            partner: "nl-nctv".to_string(),
            object_id,
            version: "2024-03-22T10:00:00.000Z".to_string(),
            content_hash,
        },
    }
}

fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().map_or(Ok(1_000_000), |text| text.parse())?;
    let batch_size: u64 = args.next().map_or(Ok(1_000), |text| text.parse())?;
    let temp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or_else(|| temp.path().join("ledger"), PathBuf::from);

    let (mut ledger, _) = Ledger::open(&dir)?;
    let started = Instant::now();
    let mut next = 0u64;
    let mut batch = Vec::with_capacity(batch_size as usize);
    while next < count {
        batch.clear();
        let end = (next + batch_size).min(count);
        batch.extend((next..end).map(entry));
        ledger.append_batch(&batch)?;
        next = end;
    }
    let append_seconds = started.elapsed().as_secs_f64();
    println!(
        "appended {count} entries in batches of {batch_size}: {append_seconds:.2} s, {:.0} entries/s, {:.0} batches/s",
        count as f64 / append_seconds,
        (count / batch_size) as f64 / append_seconds
    );
    let key = NodeKey::from_seed(&[42; 32]);
    let head = ledger.sign_head(&key, 1_711_000_000_000)?;
    ledger.close()?;
    for file in ["entries.log", "nodes.bin", "index.bin"] {
        let bytes = std::fs::metadata(dir.join(file))?.len();
        println!("{file}: {:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
    }

    let rss_before = rss_mib("VmRSS:");
    let started = Instant::now();
    let (ledger, report) = Ledger::open(&dir)?;
    println!(
        "reopen: {:.3} s, clean = {}, RSS grew {:.1} MiB (process RSS {:.1} MiB)",
        started.elapsed().as_secs_f64(),
        report.is_clean(),
        rss_mib("VmRSS:") - rss_before,
        rss_mib("VmRSS:")
    );

    let size = ledger.tree_size();
    let started = Instant::now();
    let samples = 10_000u64;
    let mut longest = 0usize;
    for sample in 0..samples {
        let index = (sample * 7_919_993) % size;
        let proof = ledger.prove_inclusion_at(index, head.tree_size)?;
        longest = longest.max(proof.audit_path.len());
    }
    let per_proof_us = started.elapsed().as_secs_f64() * 1e6 / samples as f64;
    for index in [0, size / 2, size - 1] {
        let proof = ledger.prove_inclusion_at(index, head.tree_size)?;
        proof.verify_against_head(&ledger.leaf_bytes(index)?, &head)?;
        println!(
            "inclusion proof of entry {index} in {size}: {} hashes, {} bytes",
            proof.audit_path.len(),
            proof.audit_path.len() * HASH_BYTES
        );
    }
    println!("inclusion proofs: {per_proof_us:.1} µs each (longest {longest} hashes)");

    let started = Instant::now();
    for old in [1, size / 3, size / 2, size - 1] {
        let proof = ledger.prove_consistency(old, size)?;
        verify_consistency(
            old,
            size,
            &ledger.root_hash_at(old)?,
            &head.root_hash,
            &proof,
        )?;
        println!(
            "consistency proof {old} -> {size}: {} hashes, {} bytes",
            proof.len(),
            proof.len() * HASH_BYTES
        );
    }
    println!(
        "consistency proofs + checks: {:.1} µs each",
        started.elapsed().as_secs_f64() * 1e6 / 4.0
    );

    let started = Instant::now();
    let probe = entry(size / 2);
    let found = ledger.entry_indexes_for_object(probe.object_id().unwrap_or_default())?;
    println!(
        "lookup by object id: {} entries in {:.1} µs",
        found.len(),
        started.elapsed().as_secs_f64() * 1e6
    );

    let started = Instant::now();
    let verified = ledger.verify()?;
    println!(
        "verify: {:.2} s for {} entries, {} stored hashes, {} commits, {} issued heads",
        started.elapsed().as_secs_f64(),
        verified.entries,
        verified.stored_hashes,
        verified.commits,
        verified.issued_heads
    );
    println!("peak RSS {:.1} MiB", rss_mib("VmHWM:"));
    Ok(())
}
