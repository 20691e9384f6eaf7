//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use ledger::{Entry, Hash, Ledger};
use sha2::{Digest, Sha256};

/// A deterministic entry of a kind that varies with `i`.
pub fn entry(i: u64) -> Entry {
    let object_id = format!("indicator--00000000-0000-4000-8000-{:012}", i % 97);
    let version = format!("2024-03-{:02}T10:00:00.000Z", 1 + i % 28);
    let content_hash = hex::encode(Sha256::digest(i.to_be_bytes()));
    match i % 4 {
        0 => Entry::Created {
            recorded_at_unix_ms: 1_711_000_000_000 + i,
            object_id,
            version,
            content_hash,
        },
        1 => Entry::Received {
            recorded_at_unix_ms: 1_711_000_000_000 + i,
            peer: "de-bka".to_string(),
            object_id,
            version,
            content_hash,
            page_signature: "ab".repeat(64),
        },
        2 => Entry::Released {
            recorded_at_unix_ms: 1_711_000_000_000 + i,
            partner: format!("partner-{}", i % 5),
            object_id,
            version,
            content_hash,
        },
        _ => Entry::PsiRun {
            recorded_at_unix_ms: 1_711_000_000_000 + i,
            partner: "fr-dgsi".to_string(),
            set_size: 1000 + i,
            matched: i % 10,
        },
    }
}

pub fn entries(range: std::ops::Range<u64>) -> Vec<Entry> {
    range.map(entry).collect()
}

/// Opens a ledger that must need no repair.
pub fn open_clean(dir: &Path) -> Ledger {
    let (ledger, report) = Ledger::open(dir).expect("ledger opens");
    assert!(report.is_clean(), "unexpected recovery: {report:?}");
    ledger
}

/// RFC 9162 MTH written out naively, independent of the crate.
pub fn naive_root(leaves: &[Vec<u8>]) -> Hash {
    fn hash(parts: &[&[u8]]) -> Hash {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }
    match leaves.len() {
        0 => hash(&[]),
        1 => hash(&[&[0], &leaves[0]]),
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            hash(&[&[1], &naive_root(&leaves[..k]), &naive_root(&leaves[k..])])
        }
    }
}

pub fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).expect("file to tamper with exists");
    bytes[offset as usize] ^= 0x01;
    fs::write(path, bytes).expect("tampered file written");
}

pub fn append_bytes(path: &Path, extra: &[u8]) {
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .expect("file to extend exists");
    file.write_all(extra).expect("bytes appended");
}

/// Start of entry `index`'s frame, read from index.bin's documented layout.
pub fn entry_offset(dir: &Path, index: u64) -> u64 {
    let bytes = fs::read(dir.join("index.bin")).expect("index.bin exists");
    let at = 16 + index as usize * 16;
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// An entry frame as entries.log stores it: `[1][u32 LE length][leaf bytes]`.
pub fn entry_frame(entry: &Entry) -> Vec<u8> {
    let leaf = entry.to_leaf_bytes().expect("valid entry");
    let mut frame = vec![1u8];
    frame.extend_from_slice(&(leaf.len() as u32).to_le_bytes());
    frame.extend_from_slice(&leaf);
    frame
}

/// Copies every file of a ledger directory, as a crash would leave them.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("target directory");
    for item in fs::read_dir(from).expect("source directory") {
        let item = item.expect("directory entry");
        fs::copy(item.path(), to.join(item.file_name())).expect("file copied");
    }
}
