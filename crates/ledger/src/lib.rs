//! Tessera's ledger: an append-only, tamper-evident Merkle log in the shape
//! of RFC 9162 (Certificate Transparency v2).
//!
//! A node records here every STIX object version it created, received from
//! a peer (with the peer's page signature) or released to a partner, and other
//! auditable events such as a private-set-intersection run. Nodes exchange
//! [`SignedTreeHead`]s during sync and check consistency proofs, so no node can
//! later deny or rewrite what it sent; and a node can show a third party an
//! inclusion proof that it released a given warning to a given partner at a
//! given time.
//!
//! # Must never
//! - **Rewrite or delete an entry.** There is no API for it. Recovery cuts only
//!   a batch that was never acknowledged (a torn tail); damage anywhere else is
//!   reported, not repaired.
//! - **Do IO in the Merkle core.** [`merkle`] is pure: it hashes, plans which
//!   stored hashes a proof needs and verifies proofs from hashes alone, so a
//!   third party can check everything with that module and nothing else.
//!
//! # Example
//! ```
//! use ledger::{Entry, Ledger, NodeKey, merkle};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let (mut ledger, _recovery) = Ledger::open(dir.path().join("ledger")).unwrap();
//! let released = Entry::Released {
//!     recorded_at_unix_ms: 1_711_100_000_000,
//!     partner: "nl-nctv".to_string(),
//!     object_id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".to_string(),
//!     version: "2024-03-22T10:00:00.000Z".to_string(),
//!     content_hash: "ab".repeat(32),
//! };
//! let index = ledger.append(&released).unwrap();
//! let key = NodeKey::from_seed(&[7; 32]);
//! let head = ledger.sign_head(&key, 1_711_100_000_500).unwrap();
//!
//! // What a third party receives, and how it checks it.
//! let proof = ledger.prove_inclusion_at(index, head.tree_size).unwrap();
//! let leaf = released.to_leaf_bytes().unwrap();
//! assert!(head.is_signed_by(&key.public_key()));
//! proof.verify_against_head(&leaf, &head).unwrap();
//! assert_eq!(merkle::leaf_hash(&leaf), released.leaf_hash().unwrap());
//! ```
//!
//! # On disk
//! A ledger owns one directory (e.g. `<data-dir>/ledger/`). Every file but
//! `checkpoint` starts with a 16-byte magic header and only grows; all
//! integers are little-endian unless said otherwise.
//!
//! | file | holds | role |
//! | --- | --- | --- |
//! | `entries.log` | frames `[u8 kind][u32 length][payload]`: kind 1 is an entry (its canonical leaf bytes), kind 2 ends a batch with a commit `[u64 tree size][32-byte root]` | ground truth; synced once per batch |
//! | `nodes.bin` | the 32-byte hash of every perfect subtree, in post-order ([`merkle::stored_hash_index`]): `2n - popcount(n)` hashes for `n` entries | derived; makes roots and proofs O(log n) reads |
//! | `index.bin` | per entry `[u64 frame offset][u64 object key]` | derived; positions and the object lookup |
//! | `checkpoint` | two alternating 128-byte slots `[magic][u64 sequence][u64 tree size][u64 entries.log length][root][SHA-256 of the above]` | says how far the derived files were synced |
//! | `heads-issued.log` | records `[u32 length][public key, head][SHA-256]` | every head this node signed |
//! | `heads-peers.log` | records `[u32 length][peer, public key, head, consistency proof][SHA-256]` | every head accepted from a peer |
//!
//! # Crash semantics
//! [`Ledger::append_batch`] writes the batch's entry frames and its commit
//! frame, syncs `entries.log` once, then writes the derived records without
//! syncing them and returns. A batch is committed exactly when its commit
//! frame is on disk and matches the root of everything before it. Every
//! [`CHECKPOINT_INTERVAL_ENTRIES`] entries (and on close) the derived files
//! are synced and a checkpoint slot is written. [`Ledger::open`] trusts what
//! the checkpoint vouches for, replays committed batches after it, and cuts
//! at most one uncommitted batch from the end, saying so in its
//! [`RecoveryReport`]. It refuses to open when committed data is missing or a
//! damaged region is longer than one batch.
//!
//! # Memory
//! Only the head of each object's chain is held: a hash map entry per distinct
//! object, rebuilt on open from `index.bin` (16 bytes an entry, read
//! sequentially). The rest is read from disk when asked for: an entry's frame
//! offset from `index.bin`, and the per-object chain from `chain.bin` (8 bytes
//! an entry, derived from `index.bin` and checked on the same open, rewritten
//! where it differs, so it needs no recovery of its own). Both were held in
//! memory before, 16 bytes for every entry ever recorded: a node records every
//! release, so a server whose partners read a million objects a day grew by
//! 16 MB a day. Opening costs one read of `index.bin` and of `chain.bin`.
//!
//! Unix only: positioned reads and writes use `std::os::unix::fs::FileExt`.

#![warn(missing_docs)]

pub mod entry;
pub mod error;
pub mod head;
pub mod merkle;
mod store;

pub use entry::{Entry, MAX_ENTRY_BYTES, MAX_JSON_INTEGER};
pub use error::LedgerError;
pub use head::{
    NodeKey, NodePublicKey, PAGE_DOMAIN, STH_DOMAIN, SignedTreeHead, check_head_consistency,
    page_signed_bytes, verify_peer_head,
};
pub use merkle::{Hash, ProofError};
pub use store::{
    CHECKPOINT_INTERVAL_ENTRIES, InclusionProof, Ledger, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES,
    MAX_PEER_NAME_BYTES, RecoveryReport, VerifyReport,
};
