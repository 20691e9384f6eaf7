//! The ledger's domain errors.

use std::path::PathBuf;

use crate::merkle::ProofError;

/// Everything that can go wrong with a ledger, a key or a tree head.
///
/// Variants that describe damage on disk (`Tampered`, `TamperedHash`,
/// `Truncated`, `CorruptFile`, `HeadMismatch`, `PeerHeadMismatch`) name the
/// entry index, node, head or byte offset, so that an operator can find it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// An operating-system IO error on a ledger or key file.
    #[error("IO error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Another process (or another `Ledger` in this one) holds the directory.
    #[error(
        "ledger directory {dir} is locked by another process; only one writer may own a ledger"
    )]
    Locked {
        /// The ledger directory.
        dir: PathBuf,
    },

    /// An earlier write or sync failed, so what is on disk is unknown; the
    /// ledger refuses all further work until it is reopened, which re-runs
    /// recovery (an fsync error cannot be retried safely).
    #[error("ledger is poisoned by an earlier IO failure; reopen it to recover")]
    Poisoned,

    /// An entry field breaks a rule that keeps leaf bytes canonical or bounded.
    #[error("entry field `{field}` is invalid: {reason}")]
    InvalidEntry {
        /// The JSON field.
        field: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// Leaf bytes that are not the canonical encoding of an [`crate::Entry`].
    #[error("leaf bytes are not a canonical ledger entry: {detail}")]
    NonCanonicalEntry {
        /// What did not match.
        detail: String,
    },

    /// An entry's canonical encoding is over [`crate::MAX_ENTRY_BYTES`].
    #[error("entry is {size_bytes} bytes, over the limit of {limit_bytes} bytes (MAX_ENTRY_BYTES)")]
    EntryTooLarge {
        /// Encoded size.
        size_bytes: usize,
        /// The limit.
        limit_bytes: usize,
    },

    /// A batch is over [`crate::MAX_BATCH_ENTRIES`] or [`crate::MAX_BATCH_BYTES`].
    #[error(
        "batch of {entries} entries and {size_bytes} bytes is over the limit of {limit_entries} entries or {limit_bytes} bytes; split it"
    )]
    BatchTooLarge {
        /// Entries in the batch.
        entries: usize,
        /// Encoded size of the batch.
        size_bytes: usize,
        /// [`crate::MAX_BATCH_ENTRIES`].
        limit_entries: usize,
        /// [`crate::MAX_BATCH_BYTES`].
        limit_bytes: usize,
    },

    /// An index or tree size beyond the ledger's current size.
    #[error("entry index {index} is outside the ledger's {tree_size} entries")]
    IndexOutOfRange {
        /// The index or size asked for.
        index: u64,
        /// The ledger's size.
        tree_size: u64,
    },

    /// The entries file does not match what was recorded for entry `index`.
    #[error("ledger tampered at entry {index}: {detail}")]
    Tampered {
        /// The first entry found wrong.
        index: u64,
        /// What was found.
        detail: String,
    },

    /// A stored perfect-subtree hash does not match its recomputation.
    #[error(
        "stored hash of node (level {level}, index {node_index}) in nodes.bin is wrong: {detail}"
    )]
    TamperedHash {
        /// Height of the node.
        level: u32,
        /// Position of the node within its level.
        node_index: u64,
        /// What was found.
        detail: String,
    },

    /// A file is shorter than what the ledger had committed to it.
    #[error("{file} is truncated: {detail}")]
    Truncated {
        /// The file.
        file: PathBuf,
        /// What was expected and found.
        detail: String,
    },

    /// A file's structure is broken somewhere other than a torn tail.
    #[error("{file} is corrupt at byte {offset}: {detail}")]
    CorruptFile {
        /// The file.
        file: PathBuf,
        /// Byte offset of the problem.
        offset: u64,
        /// What was found.
        detail: String,
    },

    /// A head this node issued no longer matches the log or its signature.
    #[error("issued tree head #{head_index} (tree size {tree_size}) does not verify: {detail}")]
    HeadMismatch {
        /// Position of the head in `heads-issued.log`, from 0.
        head_index: u64,
        /// The size the head claims.
        tree_size: u64,
        /// What was found.
        detail: String,
    },

    /// A stored head received from a peer no longer verifies.
    #[error("stored head #{head_index} from peer {peer} does not verify: {detail}")]
    PeerHeadMismatch {
        /// The peer.
        peer: String,
        /// Position of the record in `heads-peers.log`, from 0.
        head_index: u64,
        /// What was found.
        detail: String,
    },

    /// A tree head's signature does not verify with the key given for it.
    #[error(
        "tree head of size {tree_size} from {peer} has an invalid signature for the pinned key"
    )]
    BadHeadSignature {
        /// Who the head claims to come from.
        peer: String,
        /// The size the head claims.
        tree_size: u64,
    },

    /// A peer's new head does not extend its earlier one: the peer rewrote or
    /// forked its history (or sent a wrong proof).
    #[error(
        "peer {peer} rewrote history: head of size {new_size} is not consistent with its earlier head of size {old_size} ({reason})"
    )]
    InconsistentHead {
        /// The peer.
        peer: String,
        /// Size of the head already held.
        old_size: u64,
        /// Size of the new head.
        new_size: u64,
        /// Why the check failed.
        reason: ProofError,
    },

    /// A peer's new head is timestamped before its earlier one.
    #[error(
        "peer {peer} sent a head timestamped {new_timestamp_unix_ms} ms, before its earlier head at {old_timestamp_unix_ms} ms"
    )]
    HeadTimestampRegressed {
        /// The peer.
        peer: String,
        /// Timestamp of the head already held.
        old_timestamp_unix_ms: u64,
        /// Timestamp of the new head.
        new_timestamp_unix_ms: u64,
    },

    /// A peer name that cannot be stored.
    #[error("peer name {peer:?} is invalid: {reason}")]
    InvalidPeer {
        /// The name given.
        peer: String,
        /// What is allowed.
        reason: String,
    },

    /// A key file or key text that cannot be used.
    #[error("key {path}: {detail}")]
    Key {
        /// The key file, or `<text>` for a key given as a string.
        path: PathBuf,
        /// What is wrong and how to fix it.
        detail: String,
    },

    /// A proof could not be produced or did not verify.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

impl LedgerError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
