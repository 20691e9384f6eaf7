//! Node keys, signed tree heads, and consistency between a peer's heads.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::{copy_dir, entries, entry, open_clean};
use ledger::{
    Entry, Ledger, LedgerError, NodeKey, NodePublicKey, SignedTreeHead, check_head_consistency,
    verify_peer_head,
};

#[test]
fn node_key_saves_with_0600_and_loads_back() {
    let temp = tempfile::tempdir().expect("temp dir");
    let path = temp.path().join("node.key");
    let key = NodeKey::generate().expect("OS randomness");
    key.save(&path).expect("saved");
    let mode = fs::metadata(&path).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = NodeKey::load(&path).expect("loads");
    assert_eq!(loaded.public_key(), key.public_key());
    assert!(
        matches!(key.save(&path), Err(LedgerError::Key { .. })),
        "never overwrites"
    );

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    match NodeKey::load(&path) {
        Err(LedgerError::Key { detail, .. }) => assert!(detail.contains("chmod 600"), "{detail}"),
        other => panic!("expected a permissions error, got {other:?}"),
    }
    let public = key.public_key().to_hex();
    assert_eq!(public.len(), 64);
    assert_eq!(
        NodePublicKey::from_hex(&public).expect("parses"),
        key.public_key()
    );
    let secret = fs::read_to_string(&path).expect("key file");
    let shown = format!("{key:?}");
    assert!(
        shown.contains(&public) && !shown.contains(secret.trim()),
        "Debug must not leak the seed"
    );
}

#[test]
fn heads_verify_with_the_signer_and_are_refused_with_another_key() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut ledger = open_clean(temp.path());
    ledger.append_batch(&entries(0..12)).expect("append");
    let key = NodeKey::from_seed(&[1; 32]);
    let impostor = NodeKey::from_seed(&[2; 32]);
    let head = ledger.sign_head(&key, 1_711_000_000_000).expect("signed");
    assert_eq!(head.tree_size, 12);
    assert_eq!(head.root_hash, ledger.root_hash());
    verify_peer_head("de-bka", &key.public_key(), &head).expect("right key verifies");
    match verify_peer_head("de-bka", &impostor.public_key(), &head) {
        Err(LedgerError::BadHeadSignature {
            peer,
            tree_size: 12,
        }) => assert_eq!(peer, "de-bka"),
        other => panic!("expected BadHeadSignature, got {other:?}"),
    }
    let wire = head.to_bytes();
    assert_eq!(SignedTreeHead::from_bytes(&wire), Some(head));

    let mut receiver = open_clean(&temp.path().join("receiver"));
    assert!(matches!(
        receiver.accept_peer_head("de-bka", &impostor.public_key(), &head, &[]),
        Err(LedgerError::BadHeadSignature { .. })
    ));
    assert!(receiver.peer_head("de-bka").is_none());

    assert!(matches!(
        ledger.sign_head(&key, 1_710_000_000_000),
        Err(LedgerError::HeadTimestampRegressed { .. })
    ));
    assert_eq!(ledger.issued_head_count(), 1);
}

#[test]
fn a_peer_growing_honestly_is_accepted_and_remembered() {
    let temp = tempfile::tempdir().expect("temp dir");
    let key = NodeKey::from_seed(&[3; 32]);
    let mut sender = open_clean(&temp.path().join("sender"));
    let mut receiver = open_clean(&temp.path().join("receiver"));

    sender.append_batch(&entries(0..10)).expect("append");
    let old = sender.sign_head(&key, 1_000).expect("signed");
    receiver
        .accept_peer_head("de-bka", &key.public_key(), &old, &[])
        .expect("first head needs no proof");

    sender.append_batch(&entries(10..25)).expect("append");
    let new = sender.sign_head(&key, 2_000).expect("signed");
    let proof = sender
        .prove_consistency(old.tree_size, new.tree_size)
        .expect("proof");
    check_head_consistency("de-bka", &old, &new, &proof).expect("consistent");
    receiver
        .accept_peer_head("de-bka", &key.public_key(), &new, &proof)
        .expect("consistent head accepted");
    assert_eq!(receiver.peer_head("de-bka"), Some(&new));
    // Sending the same head again is harmless and stores nothing new.
    receiver
        .accept_peer_head("de-bka", &key.public_key(), &new, &[])
        .expect("same head again");
    drop(receiver);

    let receiver = open_clean(&temp.path().join("receiver"));
    assert_eq!(receiver.peer_head("de-bka"), Some(&new));
    let report = receiver.verify().expect("stored peer heads verify");
    assert_eq!(report.peer_heads, 2);
    let report = sender.verify().expect("issued heads verify");
    assert_eq!(report.issued_heads, 2);
}

#[test]
fn a_rewritten_history_is_caught_by_the_consistency_check() {
    let temp = tempfile::tempdir().expect("temp dir");
    let key = NodeKey::from_seed(&[4; 32]);
    let k = 17u64;

    // The history the peer showed us first: k entries, then entry k.
    let mut honest = open_clean(&temp.path().join("honest"));
    honest.append_batch(&entries(0..k + 1)).expect("append");
    let old = honest.sign_head(&key, 1_000).expect("signed");

    // Later the same node presents a log with the same first k entries but a
    // different entry k (say, it now claims it never released a warning), then more.
    let mut rewritten = open_clean(&temp.path().join("rewritten"));
    rewritten.append_batch(&entries(0..k)).expect("append");
    rewritten
        .append(&Entry::PsiRun {
            recorded_at_unix_ms: 1,
            partner: "nobody".to_string(),
            set_size: 0,
            matched: 0,
        })
        .expect("append");
    rewritten.append_batch(&entries(k + 1..40)).expect("append");
    let new = rewritten.sign_head(&key, 2_000).expect("signed");
    let proof = rewritten
        .prove_consistency(old.tree_size, new.tree_size)
        .expect("proof");

    let mut receiver = open_clean(&temp.path().join("receiver"));
    receiver
        .accept_peer_head("uk-cted", &key.public_key(), &old, &[])
        .expect("first head");
    match receiver.accept_peer_head("uk-cted", &key.public_key(), &new, &proof) {
        Err(LedgerError::InconsistentHead {
            peer,
            old_size,
            new_size,
            ..
        }) => {
            assert_eq!(peer, "uk-cted");
            assert_eq!(old_size, k + 1);
            assert_eq!(new_size, 40);
        }
        other => panic!("expected InconsistentHead, got {other:?}"),
    }
    assert_eq!(
        receiver.peer_head("uk-cted"),
        Some(&old),
        "the old head is kept"
    );
    assert!(check_head_consistency("uk-cted", &old, &new, &proof).is_err());

    // A log that shrank is refused too.
    let shorter = key.sign_head(5, rewritten.root_hash_at(5).expect("root"), 3_000);
    assert!(matches!(
        receiver.accept_peer_head("uk-cted", &key.public_key(), &shorter, &[]),
        Err(LedgerError::InconsistentHead {
            old_size: 18,
            new_size: 5,
            ..
        })
    ));
}

#[test]
fn verify_catches_a_log_rewritten_behind_an_issued_head() {
    // Someone with disk access replaces the whole log with a self-consistent
    // rewrite. Only the heads the node signed can expose it, so verify must.
    let temp = tempfile::tempdir().expect("temp dir");
    let node = temp.path().join("node");
    let forged = temp.path().join("forged");
    let key = NodeKey::from_seed(&[5; 32]);
    {
        let mut ledger = open_clean(&node);
        ledger.append_batch(&entries(0..20)).expect("append");
        ledger.sign_head(&key, 1_000).expect("signed");
        ledger.append_batch(&entries(20..30)).expect("append");
        ledger.sign_head(&key, 2_000).expect("signed");
    }
    {
        let mut ledger = open_clean(&forged);
        let mut history = entries(0..30);
        history[25] = entry(1_000);
        ledger.append_batch(&history).expect("append");
    }
    for file in ["entries.log", "nodes.bin", "index.bin", "checkpoint"] {
        fs::copy(forged.join(file), node.join(file)).expect("overwrite");
    }
    let ledger = open_clean(&node);
    match ledger.verify() {
        Err(LedgerError::HeadMismatch {
            head_index: 1,
            tree_size: 30,
            ..
        }) => {}
        other => panic!("expected HeadMismatch on head #1, got {other:?}"),
    }
}

#[test]
fn torn_head_record_is_cut_and_reported() {
    let temp = tempfile::tempdir().expect("temp dir");
    let key = NodeKey::from_seed(&[6; 32]);
    let copy = temp.path().join("copy");
    {
        let mut ledger = open_clean(&temp.path().join("node"));
        ledger.append_batch(&entries(0..4)).expect("append");
        ledger.sign_head(&key, 1).expect("signed");
        ledger.sign_head(&key, 2).expect("signed");
        copy_dir(&temp.path().join("node"), &copy);
    }
    let path = copy.join("heads-issued.log");
    let length = fs::metadata(&path).expect("exists").len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_len(length - 50))
        .expect("cut");
    let (ledger, report) = Ledger::open(&copy).expect("recovers");
    assert_eq!(report.truncated_head_bytes, 180 - 50);
    assert_eq!(ledger.issued_head_count(), 1);
    assert_eq!(
        ledger
            .latest_issued_head()
            .map(|head| head.timestamp_unix_ms),
        Some(1)
    );
    ledger.verify().expect("verifies");
}

#[test]
fn verify_with_node_key_refuses_heads_recorded_under_another_key() {
    let temp = tempfile::tempdir().expect("temp dir");
    let node_key = NodeKey::from_seed(&[7; 32]);
    let other_key = NodeKey::from_seed(&[8; 32]);
    let mut ledger = open_clean(temp.path());
    ledger.append_batch(&entries(0..5)).expect("append");
    ledger.sign_head(&other_key, 1).expect("signed");
    ledger.verify().expect("self-consistent");
    assert!(matches!(
        ledger.verify_with_node_key(&node_key.public_key()),
        Err(LedgerError::HeadMismatch { head_index: 0, .. })
    ));
    ledger
        .verify_with_node_key(&other_key.public_key())
        .expect("the recorded signer");
    let proof = ledger.prove_inclusion(2).expect("proof");
    let head = ledger.sign_head(&other_key, 2).expect("signed");
    proof
        .verify_against_head(&entry(2).to_leaf_bytes().expect("leaf"), &head)
        .expect("same size");
    ledger.append(&entry(5)).expect("append");
    let bigger = ledger.sign_head(&other_key, 3).expect("signed");
    assert!(matches!(
        proof.verify_against_head(&entry(2).to_leaf_bytes().expect("leaf"), &bigger),
        Err(ledger::ProofError::SizeMismatch {
            proof_size: 5,
            head_size: 6
        })
    ));
}
