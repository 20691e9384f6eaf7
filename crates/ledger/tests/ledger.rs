//! The on-disk ledger: appends, reopening, proofs, recovery and tamper
//! detection.

mod common;

use std::fs;

use common::{
    append_bytes, copy_dir, entries, entry, entry_frame, entry_offset, flip_byte, naive_root,
    open_clean,
};
use ledger::merkle::{self, NodeId, stored_hash_index, verify_consistency};
use ledger::{Entry, Ledger, LedgerError, MAX_BATCH_BYTES};

#[test]
fn appends_survive_reopen_and_match_an_independent_root() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("ledger");
    let mut all = Vec::new();
    {
        let mut ledger = open_clean(&dir);
        assert_eq!(ledger.tree_size(), 0);
        assert_eq!(ledger.root_hash(), naive_root(&[]));
        for (start, end) in [(0, 1), (1, 101), (101, 138)] {
            let batch = entries(start..end);
            assert_eq!(ledger.append_batch(&batch).expect("append"), start..end);
            all.extend(batch);
        }
        assert_eq!(ledger.append(&entry(138)).expect("append"), 138);
        all.push(entry(138));
        assert_eq!(ledger.append_batch(&[]).expect("empty batch"), 139..139);
        ledger.close().expect("close");
    }
    let ledger = open_clean(&dir);
    assert_eq!(ledger.tree_size(), 139);
    let leaves: Vec<Vec<u8>> = all
        .iter()
        .map(|e| e.to_leaf_bytes().expect("valid"))
        .collect();
    assert_eq!(ledger.root_hash(), naive_root(&leaves));
    for size in [1u64, 2, 3, 64, 100, 139] {
        assert_eq!(
            ledger.root_hash_at(size).expect("size in range"),
            naive_root(&leaves[..size as usize])
        );
    }
    for (index, expected) in all.iter().enumerate() {
        assert_eq!(&ledger.entry(index as u64).expect("entry reads"), expected);
        assert_eq!(
            ledger.leaf_bytes(index as u64).expect("bytes read"),
            leaves[index]
        );
    }
    let report = ledger.verify().expect("untouched ledger verifies");
    assert_eq!(report.entries, 139);
    assert_eq!(report.commits, 4);
    assert_eq!(report.stored_hashes, merkle::stored_hash_count(139));
    assert!(matches!(
        ledger.entry(139),
        Err(LedgerError::IndexOutOfRange {
            index: 139,
            tree_size: 139
        })
    ));
    assert!(ledger.prove_consistency(1, 140).is_err());
}

#[test]
fn proofs_from_disk_verify_against_roots() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut ledger = open_clean(temp.path());
    for chunk in (0..300u64).collect::<Vec<_>>().chunks(41) {
        let batch: Vec<Entry> = chunk.iter().map(|&i| entry(i)).collect();
        ledger.append_batch(&batch).expect("append");
    }
    let size = ledger.tree_size();
    let root = ledger.root_hash();
    for index in 0..size {
        let proof = ledger.prove_inclusion(index).expect("proof");
        let leaf = ledger.leaf_bytes(index).expect("leaf");
        proof.verify(&leaf, &root).expect("inclusion verifies");
        let earlier = index + 1 + (index * 7) % (size - index);
        let proof = ledger.prove_inclusion_at(index, earlier).expect("proof");
        proof
            .verify(&leaf, &ledger.root_hash_at(earlier).expect("root"))
            .expect("inclusion in an earlier tree verifies");
        assert!(proof.verify(&leaf, &root).is_err() || earlier == size);
    }
    for old in 0..=size {
        let proof = ledger.prove_consistency(old, size).expect("proof");
        verify_consistency(
            old,
            size,
            &ledger.root_hash_at(old).expect("root"),
            &root,
            &proof,
        )
        .expect("consistency verifies");
    }
}

#[test]
fn lookup_by_object_finds_every_version_and_survives_reopen() {
    let temp = tempfile::tempdir().expect("temp dir");
    let watched = "indicator--11111111-2222-4333-8444-555555555555";
    let about = |i: u64, partner: &str| Entry::Released {
        recorded_at_unix_ms: 1_711_000_000_000 + i,
        partner: partner.to_string(),
        object_id: watched.to_string(),
        version: "2024-03-22T10:00:00.000Z".to_string(),
        content_hash: "cd".repeat(32),
    };
    let expected = {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..10)).expect("append");
        let first = ledger.append(&about(1, "nl-nctv")).expect("append");
        ledger.append_batch(&entries(10..50)).expect("append");
        let second = ledger.append(&about(2, "uk-cted")).expect("append");
        let found = ledger.entry_indexes_for_object(watched).expect("lookup");
        assert_eq!(found, vec![first, second]);
        found
    };
    let ledger = open_clean(temp.path());
    assert_eq!(
        ledger.entry_indexes_for_object(watched).expect("lookup"),
        expected
    );
    assert!(
        ledger
            .entry_indexes_for_object("indicator--none")
            .expect("lookup")
            .is_empty()
    );
    let generated = ledger
        .entry_indexes_for_object("indicator--00000000-0000-4000-8000-000000000002")
        .expect("lookup");
    assert_eq!(generated, vec![2]);
    drop(ledger);

    // chain.bin is derived from index.bin on every open: gone (a ledger from before it) or
    // damaged, it is made again, and the lookups are the same.
    let chain = temp.path().join("chain.bin");
    fs::remove_file(&chain).expect("chain.bin removed");
    let ledger = open_clean(temp.path());
    assert_eq!(
        ledger.entry_indexes_for_object(watched).expect("lookup"),
        expected
    );
    drop(ledger);
    let mut damaged = fs::read(&chain).expect("chain.bin made again");
    assert_eq!(damaged.len(), 16 + 52 * 8);
    for byte in &mut damaged[16..] {
        *byte = 0x5a;
    }
    fs::write(&chain, &damaged).expect("chain.bin damaged");
    let ledger = open_clean(temp.path());
    assert_eq!(
        ledger.entry_indexes_for_object(watched).expect("lookup"),
        expected
    );

    ledger.verify().expect("a made chain verifies");

    // Damaged while open, a link that points forward is an error, not a loop, and verify
    // names the entry.
    let second = expected[1];
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(&chain)
        .expect("open");
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(16 + second * 8)).expect("seek");
    std::io::Write::write_all(&mut file, &second.to_le_bytes()).expect("write");
    drop(file);
    assert!(matches!(
        ledger.entry_indexes_for_object(watched),
        Err(LedgerError::Tampered { .. })
    ));
    assert!(matches!(
        ledger.verify(),
        Err(LedgerError::Tampered { index, .. }) if index == second
    ));
}

#[test]
fn invalid_entries_write_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut ledger = open_clean(temp.path());
    ledger.append_batch(&entries(0..5)).expect("append");
    let before = fs::metadata(temp.path().join("entries.log"))
        .expect("file")
        .len();
    let mut batch = entries(5..8);
    batch.push(Entry::Created {
        recorded_at_unix_ms: 1,
        object_id: "no-separator".to_string(),
        version: "2024-01-01T00:00:00Z".to_string(),
        content_hash: "00".repeat(32),
    });
    assert!(matches!(
        ledger.append_batch(&batch),
        Err(LedgerError::InvalidEntry {
            field: "object_id",
            ..
        })
    ));
    assert_eq!(ledger.tree_size(), 5);
    assert_eq!(
        fs::metadata(temp.path().join("entries.log"))
            .expect("file")
            .len(),
        before
    );
    ledger.verify().expect("still verifies");
}

#[test]
fn oversized_batches_are_refused_with_the_limit_named() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut ledger = open_clean(temp.path());
    let big = |i: u64| Entry::Received {
        recorded_at_unix_ms: i,
        peer: "de-bka".to_string(),
        object_id: format!("report--{i}"),
        version: "2024-01-01T00:00:00Z".to_string(),
        content_hash: "00".repeat(32),
        page_signature: "ab".repeat(512),
    };
    let count = MAX_BATCH_BYTES / 1000;
    let batch: Vec<Entry> = (0..count as u64).map(big).collect();
    match ledger.append_batch(&batch) {
        Err(LedgerError::BatchTooLarge {
            limit_bytes,
            size_bytes,
            ..
        }) => {
            assert_eq!(limit_bytes, MAX_BATCH_BYTES);
            assert!(size_bytes > MAX_BATCH_BYTES);
        }
        other => panic!("expected BatchTooLarge, got {other:?}"),
    }
    assert_eq!(ledger.tree_size(), 0);
}

#[test]
fn a_second_writer_is_locked_out() {
    let temp = tempfile::tempdir().expect("temp dir");
    let _first = open_clean(temp.path());
    assert!(matches!(
        Ledger::open(temp.path()),
        Err(LedgerError::Locked { .. })
    ));
}

#[test]
fn torn_partial_frame_is_cut_and_reported() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..20)).expect("append");
        ledger.root_hash()
    };
    // A process killed mid-write: half an entry frame at the end.
    let frame = entry_frame(&entry(20));
    append_bytes(&temp.path().join("entries.log"), &frame[..frame.len() / 2]);

    let (mut ledger, report) = Ledger::open(temp.path()).expect("recovers");
    assert_eq!(report.truncated_entry_bytes, (frame.len() / 2) as u64);
    assert_eq!(report.discarded_entries, 0);
    assert!(!report.is_clean());
    assert_eq!(ledger.tree_size(), 20);
    assert_eq!(ledger.root_hash(), root);
    ledger.verify().expect("verifies after recovery");
    ledger
        .append_batch(&entries(20..25))
        .expect("appends after recovery");
    drop(ledger);
    let ledger = open_clean(temp.path());
    assert_eq!(ledger.tree_size(), 25);
    ledger.verify().expect("verifies");
}

#[test]
fn batch_without_its_commit_is_discarded_whole() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..7)).expect("append");
    }
    // Two complete entry frames but the commit frame never made it.
    let mut tail = entry_frame(&entry(7));
    tail.extend(entry_frame(&entry(8)));
    tail.extend_from_slice(&[2, 40, 0, 0]);
    append_bytes(&temp.path().join("entries.log"), &tail);

    let (ledger, report) = Ledger::open(temp.path()).expect("recovers");
    assert_eq!(report.discarded_entries, 2);
    assert_eq!(report.truncated_entry_bytes, tail.len() as u64);
    assert_eq!(ledger.tree_size(), 7);
    ledger.verify().expect("verifies");
}

#[test]
fn commit_with_a_wrong_root_is_not_accepted() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..3)).expect("append");
    }
    let mut tail = entry_frame(&entry(3));
    tail.extend_from_slice(&[2, 40, 0, 0, 0]);
    tail.extend_from_slice(&4u64.to_le_bytes());
    tail.extend_from_slice(&[0xee; 32]);
    append_bytes(&temp.path().join("entries.log"), &tail);

    let (ledger, report) = Ledger::open(temp.path()).expect("recovers");
    assert_eq!(report.discarded_entries, 1);
    assert_eq!(ledger.tree_size(), 3);
}

#[test]
fn crash_before_checkpoint_replays_committed_batches() {
    let temp = tempfile::tempdir().expect("temp dir");
    let original = temp.path().join("original");
    let crashed = temp.path().join("crashed");
    let mut ledger = open_clean(&original);
    ledger.append_batch(&entries(0..50)).expect("append");
    ledger.checkpoint().expect("checkpoint");
    ledger.append_batch(&entries(50..80)).expect("append");
    ledger.append_batch(&entries(80..81)).expect("append");
    // The files as a crash right now would leave them: entries synced, the
    // derived records of the last batches never written.
    copy_dir(&original, &crashed);
    let checkpointed_nodes = 16 + merkle::stored_hash_count(50) * 32;
    fs::OpenOptions::new()
        .write(true)
        .open(crashed.join("nodes.bin"))
        .and_then(|file| file.set_len(checkpointed_nodes))
        .expect("nodes.bin cut");
    fs::OpenOptions::new()
        .write(true)
        .open(crashed.join("index.bin"))
        .and_then(|file| file.set_len(16 + 50 * 16))
        .expect("index.bin cut");

    let (recovered, report) = Ledger::open(&crashed).expect("recovers");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.replayed_entries, 31);
    assert_eq!(recovered.tree_size(), 81);
    assert_eq!(recovered.root_hash(), ledger.root_hash());
    recovered.verify().expect("replayed ledger verifies");
    assert_eq!(
        recovered
            .entry_indexes_for_object("indicator--00000000-0000-4000-8000-000000000060")
            .expect("lookup"),
        vec![60]
    );
}

#[test]
fn flipped_entry_byte_is_detected_with_its_index() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..40)).expect("append");
    }
    // Inside entry 17's JSON payload, past the frame header.
    let offset = entry_offset(temp.path(), 17) + 5 + 10;
    flip_byte(&temp.path().join("entries.log"), offset);
    let ledger = open_clean(temp.path());
    match ledger.verify() {
        Err(LedgerError::Tampered { index: 17, .. }) => {}
        other => panic!("expected Tampered at 17, got {other:?}"),
    }
    assert!(matches!(
        ledger.entry(17),
        Err(LedgerError::Tampered { index: 17, .. })
    ));
    ledger.entry(16).expect("neighbours still read");
}

#[test]
fn flipped_commit_byte_is_detected() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..10)).expect("append");
        ledger.append_batch(&entries(10..20)).expect("append");
    }
    // The first batch's commit frame sits right before entry 10.
    let offset = entry_offset(temp.path(), 10) - 1;
    flip_byte(&temp.path().join("entries.log"), offset);
    let ledger = open_clean(temp.path());
    assert!(matches!(
        ledger.verify(),
        Err(LedgerError::Tampered { index: 10, .. })
    ));
}

#[test]
fn flipped_stored_hash_is_detected_with_its_node() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..64)).expect("append");
        ledger.append_batch(&entries(64..70)).expect("append");
    }
    let node = NodeId { level: 2, index: 3 };
    flip_byte(
        &temp.path().join("nodes.bin"),
        16 + stored_hash_index(node) * 32 + 5,
    );
    let ledger = open_clean(temp.path());
    match ledger.verify() {
        Err(LedgerError::TamperedHash {
            level: 2,
            node_index: 3,
            ..
        }) => {}
        other => panic!("expected TamperedHash at (2, 3), got {other:?}"),
    }
    // Proofs that use the node no longer verify, so the damage cannot mislead a third party.
    // Leaf 8's audit path runs through node (2, 3).
    let proof = ledger.prove_inclusion(8).expect("proof");
    assert!(
        proof
            .verify(&ledger.leaf_bytes(8).expect("leaf"), &ledger.root_hash())
            .is_err()
    );
}

#[test]
fn flipped_leaf_hash_is_caught_on_read_and_by_verify() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..9)).expect("append");
    }
    let node = NodeId { level: 0, index: 4 };
    flip_byte(
        &temp.path().join("nodes.bin"),
        16 + stored_hash_index(node) * 32,
    );
    let ledger = open_clean(temp.path());
    assert!(matches!(
        ledger.entry(4),
        Err(LedgerError::Tampered { index: 4, .. })
    ));
    assert!(matches!(
        ledger.verify(),
        Err(LedgerError::TamperedHash {
            level: 0,
            node_index: 4,
            ..
        })
    ));
}

#[test]
fn flipped_index_record_is_detected() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..30)).expect("append");
    }
    // The object key half of entry 12's index record.
    flip_byte(&temp.path().join("index.bin"), 16 + 12 * 16 + 8);
    let ledger = open_clean(temp.path());
    assert!(matches!(
        ledger.verify(),
        Err(LedgerError::Tampered { index: 12, .. })
    ));
}

#[test]
fn a_moved_frame_offset_gives_an_error_not_another_entry() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..30)).expect("append");
    }
    // Entry 12's offset, read from index.bin when the entry is read, one byte on: still in
    // order (so the ledger opens), but no longer the start of its frame.
    flip_byte(&temp.path().join("index.bin"), 16 + 12 * 16);
    let ledger = open_clean(temp.path());
    assert!(ledger.entry(11).is_ok());
    assert!(matches!(
        ledger.entry(12),
        Err(LedgerError::Tampered { index: 12, .. })
    ));
    assert!(matches!(
        ledger.verify(),
        Err(LedgerError::Tampered { index: 12, .. })
    ));
}

#[test]
fn truncation_in_the_middle_is_refused_on_open() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..30)).expect("append");
        ledger.append_batch(&entries(30..60)).expect("append");
    }
    let path = temp.path().join("entries.log");
    let middle = entry_offset(temp.path(), 25) + 3;
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_len(middle))
        .expect("cut");
    match Ledger::open(temp.path()) {
        Err(LedgerError::Truncated { .. }) => {}
        other => panic!(
            "expected Truncated, got {:?}",
            other.map(|(_, report)| report)
        ),
    }
}

#[test]
fn truncation_after_the_checkpoint_is_refused_too() {
    // Without a checkpoint covering the lost batch, the derived files still
    // remember it, so committed data going missing is caught all the same.
    let temp = tempfile::tempdir().expect("temp dir");
    let original = temp.path().join("original");
    let crashed = temp.path().join("crashed");
    let mut ledger = open_clean(&original);
    ledger.append_batch(&entries(0..10)).expect("append");
    ledger.checkpoint().expect("checkpoint");
    ledger.append_batch(&entries(10..20)).expect("append");
    ledger.append_batch(&entries(20..30)).expect("append");
    copy_dir(&original, &crashed);
    let cut = entry_offset(&crashed, 15);
    fs::OpenOptions::new()
        .write(true)
        .open(crashed.join("entries.log"))
        .and_then(|file| file.set_len(cut))
        .expect("cut");
    assert!(matches!(
        Ledger::open(&crashed),
        Err(LedgerError::Truncated { .. })
    ));
}

#[test]
fn damage_in_a_replayed_batch_is_not_mistaken_for_a_torn_tail() {
    let temp = tempfile::tempdir().expect("temp dir");
    let original = temp.path().join("original");
    let crashed = temp.path().join("crashed");
    let mut ledger = open_clean(&original);
    ledger.append_batch(&entries(0..10)).expect("append");
    ledger.checkpoint().expect("checkpoint");
    ledger.append_batch(&entries(10..20)).expect("append");
    ledger.append_batch(&entries(20..30)).expect("append");
    copy_dir(&original, &crashed);
    flip_byte(&crashed.join("entries.log"), entry_offset(&crashed, 12) + 9);
    assert!(Ledger::open(&crashed).is_err());
}

#[test]
fn garbage_longer_than_a_batch_is_corruption_not_a_torn_tail() {
    let temp = tempfile::tempdir().expect("temp dir");
    {
        let mut ledger = open_clean(temp.path());
        ledger.append_batch(&entries(0..3)).expect("append");
    }
    append_bytes(
        &temp.path().join("entries.log"),
        &vec![0x55; MAX_BATCH_BYTES + 100],
    );
    assert!(matches!(
        Ledger::open(temp.path()),
        Err(LedgerError::CorruptFile { .. })
    ));
}

#[test]
fn a_foreign_file_is_refused() {
    let temp = tempfile::tempdir().expect("temp dir");
    fs::write(
        temp.path().join("entries.log"),
        b"this is not a ledger at all",
    )
    .expect("write");
    assert!(matches!(
        Ledger::open(temp.path()),
        Err(LedgerError::CorruptFile { .. })
    ));
}
