//! The on-disk ledger: one directory, append-only files, crash recovery and
//! full verification. See the crate docs for the layout.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::entry::{Entry, MAX_ENTRY_BYTES};
use crate::error::LedgerError;
use crate::head::{
    NodeKey, NodePublicKey, STH_BYTES, SignedTreeHead, check_head_consistency, verify_peer_head,
};
use crate::merkle::{
    self, Frontier, HASH_BYTES, Hash, MAX_PROOF_HASHES, NodeId, ProofError, empty_root, leaf_hash,
    stored_hash_count, stored_hash_index,
};

/// Most entries in one [`Ledger::append_batch`].
pub const MAX_BATCH_ENTRIES: usize = 65_536;

/// Most encoded bytes in one [`Ledger::append_batch`]. Also bounds what
/// recovery will ever treat as a torn tail: anything longer after the last
/// commit cannot be one interrupted batch, so it is corruption.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// The derived files are synced and a checkpoint written after this many new
/// entries, which bounds the work recovery replays on open.
pub const CHECKPOINT_INTERVAL_ENTRIES: u64 = 65_536;

/// Longest peer name, in bytes.
pub const MAX_PEER_NAME_BYTES: usize = 128;

const ENTRIES_FILE: &str = "entries.log";
const NODES_FILE: &str = "nodes.bin";
const INDEX_FILE: &str = "index.bin";
const CHAIN_FILE: &str = "chain.bin";
const CHECKPOINT_FILE: &str = "checkpoint";
const HEADS_ISSUED_FILE: &str = "heads-issued.log";
const HEADS_PEERS_FILE: &str = "heads-peers.log";

const ENTRIES_MAGIC: &[u8; 16] = b"tessera-entries1";
const NODES_MAGIC: &[u8; 16] = b"tessera-nodes--1";
const INDEX_MAGIC: &[u8; 16] = b"tessera-index--1";
const CHAIN_MAGIC: &[u8; 16] = b"tessera-chain--1";
const HEADS_ISSUED_MAGIC: &[u8; 16] = b"tessera-heads--1";
const HEADS_PEERS_MAGIC: &[u8; 16] = b"tessera-peerhds1";
const CHECKPOINT_MAGIC: &[u8; 16] = b"tessera-ckpt---1";
const HEADER_BYTES: u64 = 16;

const FRAME_HEADER_BYTES: u64 = 5;
const FRAME_ENTRY: u8 = 1;
const FRAME_COMMIT: u8 = 2;
const COMMIT_PAYLOAD_BYTES: u64 = 8 + HASH_BYTES as u64;
const MAX_TORN_ENTRY_BYTES: u64 =
    MAX_BATCH_BYTES as u64 + FRAME_HEADER_BYTES + COMMIT_PAYLOAD_BYTES;

const INDEX_RECORD_BYTES: u64 = 16;
/// Per entry in `chain.bin`: the previous entry about the same object, or `NO_ENTRY`.
const CHAIN_RECORD_BYTES: u64 = 8;
/// Entries whose chain records open checks (and rewrites if they differ) at a time.
const CHAIN_CHUNK_ENTRIES: usize = 65_536;
/// Index records read at a time on open (1 MiB).
const INDEX_BLOCK_RECORDS: usize = 65_536;

/// Each object's latest entry, by object key. The keys come from SHA-256 of ids a partner may
/// choose, so the table hashes them again under a seed of its own (foldhash's), which is also
/// several times faster than std's SipHash over the millions of lookups an open makes.
type ObjectHeads = HashMap<u64, u64, foldhash::quality::RandomState>;

/// Entry `index` about the object `key` becomes the head of its chain in `heads`; returns the
/// entry it follows there, if any. Entries about no object (`key` 0) have no chain.
fn push_head(heads: &mut ObjectHeads, key: u64, index: u64) -> Option<u64> {
    if key == 0 {
        return None;
    }
    heads.insert(key, index)
}
const NODE_BYTES: u64 = HASH_BYTES as u64;
const NO_ENTRY: u64 = u64::MAX;

const CHECKPOINT_SLOT_BYTES: u64 = 128;
const CHECKPOINT_BODY_BYTES: usize = 16 + 8 + 8 + 8 + HASH_BYTES;

const RECORD_LENGTH_BYTES: u64 = 4;
const RECORD_CHECKSUM_BYTES: u64 = HASH_BYTES as u64;
const ISSUED_HEAD_PAYLOAD_BYTES: usize = 32 + STH_BYTES;
const PEER_HEAD_PAYLOAD_BYTES_MAX: usize =
    2 + MAX_PEER_NAME_BYTES + 32 + STH_BYTES + 2 + MAX_PROOF_HASHES * HASH_BYTES;

/// What [`Ledger::open`] found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes cut from the end of `entries.log`: a batch whose write was
    /// interrupted and so was never acknowledged.
    pub truncated_entry_bytes: u64,
    /// Complete entry records inside that cut tail (the batch lacked its
    /// commit record).
    pub discarded_entries: u64,
    /// Bytes cut from the end of the head files (an interrupted head write).
    pub truncated_head_bytes: u64,
    /// Entries after the last checkpoint whose hashes and index records were
    /// recomputed; routine after a crash, not a problem.
    pub replayed_entries: u64,
    /// Neither checkpoint slot was readable, so every entry was replayed.
    pub checkpoint_unreadable: bool,
}

impl RecoveryReport {
    /// True when nothing had to be cut or rebuilt from scratch.
    pub fn is_clean(&self) -> bool {
        self.truncated_entry_bytes == 0
            && self.discarded_entries == 0
            && self.truncated_head_bytes == 0
            && !self.checkpoint_unreadable
    }
}

/// What [`Ledger::verify`] checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries re-read, decoded and re-hashed.
    pub entries: u64,
    /// Stored hashes compared with their recomputation.
    pub stored_hashes: u64,
    /// Batch commit records checked.
    pub commits: u64,
    /// Heads this node issued, re-checked against the log and their keys.
    pub issued_heads: u64,
    /// Heads received from peers, re-checked (signatures and consistency).
    pub peer_heads: u64,
}

/// An inclusion proof of one entry in the tree of the first `tree_size`
/// entries. With the entry's leaf bytes and a signed tree head of that size,
/// anyone can check it with [`InclusionProof::verify_against_head`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index of the entry.
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// Sibling hashes, leaf to root (RFC 9162 §2.1.3).
    pub audit_path: Vec<Hash>,
}

impl InclusionProof {
    /// Checks the proof for `leaf_bytes` against a root of `tree_size`.
    pub fn verify(&self, leaf_bytes: &[u8], root: &Hash) -> Result<(), ProofError> {
        merkle::verify_inclusion(
            &leaf_hash(leaf_bytes),
            self.leaf_index,
            self.tree_size,
            &self.audit_path,
            root,
        )
    }

    /// Checks the proof against a signed tree head (whose signature the
    /// caller has checked), which must be of the same size.
    pub fn verify_against_head(
        &self,
        leaf_bytes: &[u8],
        head: &SignedTreeHead,
    ) -> Result<(), ProofError> {
        if head.tree_size != self.tree_size {
            return Err(ProofError::SizeMismatch {
                proof_size: self.tree_size,
                head_size: head.tree_size,
            });
        }
        self.verify(leaf_bytes, &head.root_hash)
    }
}

struct Paths {
    dir: PathBuf,
    entries: PathBuf,
    nodes: PathBuf,
    index: PathBuf,
    chain: PathBuf,
    checkpoint: PathBuf,
    heads_issued: PathBuf,
    heads_peers: PathBuf,
}

impl Paths {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            entries: dir.join(ENTRIES_FILE),
            nodes: dir.join(NODES_FILE),
            index: dir.join(INDEX_FILE),
            chain: dir.join(CHAIN_FILE),
            checkpoint: dir.join(CHECKPOINT_FILE),
            heads_issued: dir.join(HEADS_ISSUED_FILE),
            heads_peers: dir.join(HEADS_PEERS_FILE),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    sequence: u64,
    tree_size: u64,
    entries_end: u64,
    root: Hash,
}

impl Checkpoint {
    fn empty() -> Self {
        Self {
            sequence: 0,
            tree_size: 0,
            entries_end: HEADER_BYTES,
            root: empty_root(),
        }
    }

    fn encode(&self) -> [u8; CHECKPOINT_SLOT_BYTES as usize] {
        let mut slot = [0u8; CHECKPOINT_SLOT_BYTES as usize];
        slot[..16].copy_from_slice(CHECKPOINT_MAGIC);
        slot[16..24].copy_from_slice(&self.sequence.to_le_bytes());
        slot[24..32].copy_from_slice(&self.tree_size.to_le_bytes());
        slot[32..40].copy_from_slice(&self.entries_end.to_le_bytes());
        slot[40..72].copy_from_slice(&self.root);
        let checksum: Hash = Sha256::digest(&slot[..CHECKPOINT_BODY_BYTES]).into();
        slot[72..104].copy_from_slice(&checksum);
        slot
    }

    fn decode(slot: &[u8]) -> Option<Self> {
        let body = slot.get(..CHECKPOINT_BODY_BYTES)?;
        let checksum = slot.get(CHECKPOINT_BODY_BYTES..CHECKPOINT_BODY_BYTES + HASH_BYTES)?;
        if &body[..16] != CHECKPOINT_MAGIC || Sha256::digest(body).as_slice() != checksum {
            return None;
        }
        let word = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?))
        };
        Some(Self {
            sequence: word(16)?,
            tree_size: word(24)?,
            entries_end: word(32)?,
            root: body.get(40..72)?.try_into().ok()?,
        })
    }
}

/// One entry's position and lookup key, the same 16 bytes as its `index.bin`
/// record.
#[derive(Debug, Clone, Copy)]
struct Placed {
    offset: u64,
    object_key: u64,
}

/// The lookup key of an object id: the first 8 bytes of its SHA-256. 0 is
/// reserved for entries about no object; hits are confirmed against the entry
/// itself, so a collision costs a read, never a wrong answer.
fn object_key(object_id: Option<&str>) -> u64 {
    let Some(object_id) = object_id else {
        return 0;
    };
    let digest = Sha256::digest(object_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first).max(1)
}

struct PeerHead {
    key: NodePublicKey,
    head: SignedTreeHead,
}

/// An append-only, tamper-evident Merkle log kept in one directory.
///
/// One `Ledger` owns its directory (an exclusive lock on `entries.log`
/// enforces it). Appends are durable when they return; reads and proofs take
/// `&self`.
pub struct Ledger {
    paths: Paths,
    entries: File,
    nodes: File,
    index: File,
    /// For each entry, the previous entry about the same object: a per-object linked list,
    /// derived from `index.bin` and rewritten where it differs on every open (so it needs no
    /// recovery of its own), read from disk instead of held (8 bytes for every entry ever
    /// recorded, which grew without bound in a server's memory).
    chain: File,
    checkpoint_file: File,
    heads_issued: File,
    heads_peers: File,

    /// End of the last committed batch in `entries.log`.
    entries_end: u64,
    frontier: Frontier,
    /// The last entry about each object (by object key): the head of its chain.
    last_by_object: ObjectHeads,

    checkpoint: Checkpoint,

    heads_issued_end: u64,
    issued_head_count: u64,
    latest_issued_head: Option<SignedTreeHead>,
    heads_peers_end: u64,
    peer_heads: HashMap<String, PeerHead>,

    poisoned: bool,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("dir", &self.paths.dir)
            .field("tree_size", &self.tree_size())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

fn sync_dir(dir: &Path) -> Result<(), LedgerError> {
    // The new files' directory entries must be durable too, or a crash could
    // lose a whole file whose contents were synced.
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(LedgerError::io(dir))
}

/// Opens (creating if absent) a file that starts with a 16-byte magic header.
/// Returns whether it was created. With `lock_dir`, takes the ledger's
/// exclusive lock before touching a byte, so two openers never both repair.
fn open_with_header(
    path: &Path,
    magic: &[u8; 16],
    lock_dir: Option<&Path>,
) -> Result<(File, bool), LedgerError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(LedgerError::io(path))?;
    if let Some(dir) = lock_dir {
        file.try_lock().map_err(|error| match error {
            std::fs::TryLockError::WouldBlock => LedgerError::Locked {
                dir: dir.to_path_buf(),
            },
            std::fs::TryLockError::Error(source) => LedgerError::io(path)(source),
        })?;
    }
    let length = file.metadata().map_err(LedgerError::io(path))?.len();
    if length < HEADER_BYTES {
        let mut present = vec![0u8; length as usize];
        read_exact_at(&file, &mut present, 0, path)?;
        if !magic.starts_with(&present) {
            return Err(LedgerError::CorruptFile {
                file: path.to_path_buf(),
                offset: 0,
                detail: "not a Tessera ledger file (bad header)".to_string(),
            });
        }
        // An empty file or a torn header: the file was being created and holds no data.
        file.set_len(0)
            .and_then(|()| write_all_at(&file, magic, 0))
            .and_then(|()| file.sync_all())
            .map_err(LedgerError::io(path))?;
        return Ok((file, true));
    }
    let mut header = [0u8; HEADER_BYTES as usize];
    read_exact_at(&file, &mut header, 0, path)?;
    if &header != magic {
        return Err(LedgerError::CorruptFile {
            file: path.to_path_buf(),
            offset: 0,
            detail: format!(
                "header is {:?}, expected {:?}",
                String::from_utf8_lossy(&header),
                String::from_utf8_lossy(magic)
            ),
        });
    }
    Ok((file, false))
}

#[cfg(unix)]
fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(unix)]
fn read_exact_at_raw(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

fn read_exact_at(
    file: &File,
    buffer: &mut [u8],
    offset: u64,
    path: &Path,
) -> Result<(), LedgerError> {
    read_exact_at_raw(file, buffer, offset).map_err(LedgerError::io(path))
}

fn file_length(file: &File, path: &Path) -> Result<u64, LedgerError> {
    Ok(file.metadata().map_err(LedgerError::io(path))?.len())
}

/// A sequential reader positioned after a file's header, on its own handle so
/// that streaming never disturbs positioned reads and writes.
fn stream_from(path: &Path, offset: u64) -> Result<BufReader<File>, LedgerError> {
    let mut file = File::open(path).map_err(LedgerError::io(path))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(LedgerError::io(path))?;
    Ok(BufReader::with_capacity(1 << 20, file))
}

/// Reads into `buffer`, returning false at a clean or partial end of file.
fn read_full(reader: &mut impl Read, buffer: &mut [u8], path: &Path) -> Result<bool, LedgerError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(false),
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(LedgerError::io(path)(error)),
        }
    }
    Ok(true)
}

fn frame_header(kind: u8, length: u32) -> [u8; FRAME_HEADER_BYTES as usize] {
    let mut header = [0u8; FRAME_HEADER_BYTES as usize];
    header[0] = kind;
    header[1..].copy_from_slice(&length.to_le_bytes());
    header
}

fn parse_frame_header(header: &[u8; FRAME_HEADER_BYTES as usize]) -> (u8, u64) {
    let mut length = [0u8; 4];
    length.copy_from_slice(&header[1..]);
    (header[0], u64::from(u32::from_le_bytes(length)))
}

fn commit_payload(tree_size: u64, root: &Hash) -> [u8; COMMIT_PAYLOAD_BYTES as usize] {
    let mut payload = [0u8; COMMIT_PAYLOAD_BYTES as usize];
    payload[..8].copy_from_slice(&tree_size.to_le_bytes());
    payload[8..].copy_from_slice(root);
    payload
}

fn parse_commit(payload: &[u8]) -> Option<(u64, Hash)> {
    let (size, root) = payload.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*size), root.try_into().ok()?))
}

/// Result of scanning a file of checksummed records.
struct RecordScan {
    valid_end: u64,
    torn_bytes: u64,
}

/// Streams `[u32 LE length][payload][SHA-256(payload)]` records. A damaged
/// record is a torn tail, to be cut, only if it is the last thing in the file
/// and no longer than one record can be; anywhere else it is corruption.
fn scan_records(
    path: &Path,
    max_payload_bytes: usize,
    mut visit: impl FnMut(u64, &[u8]) -> Result<(), LedgerError>,
) -> Result<RecordScan, LedgerError> {
    let file_bytes = fs::metadata(path).map_err(LedgerError::io(path))?.len();
    let mut reader = stream_from(path, HEADER_BYTES)?;
    let record_bytes_max = RECORD_LENGTH_BYTES + max_payload_bytes as u64 + RECORD_CHECKSUM_BYTES;
    let mut position = HEADER_BYTES;
    let mut record_index = 0u64;
    let mut payload = Vec::with_capacity(max_payload_bytes);
    loop {
        let remaining = file_bytes - position;
        if remaining == 0 {
            return Ok(RecordScan {
                valid_end: position,
                torn_bytes: 0,
            });
        }
        let torn = RecordScan {
            valid_end: position,
            torn_bytes: remaining,
        };
        let corrupt = |detail: String| LedgerError::CorruptFile {
            file: path.to_path_buf(),
            offset: position,
            detail: format!("record #{record_index}: {detail}"),
        };
        let may_be_torn = remaining <= record_bytes_max;
        let mut length = [0u8; RECORD_LENGTH_BYTES as usize];
        if !read_full(&mut reader, &mut length, path)? {
            return Ok(torn);
        }
        let length = u64::from(u32::from_le_bytes(length));
        let record_bytes = RECORD_LENGTH_BYTES + length + RECORD_CHECKSUM_BYTES;
        if length > max_payload_bytes as u64 || record_bytes > remaining {
            if may_be_torn {
                return Ok(torn);
            }
            return Err(corrupt(format!(
                "length {length} is impossible here, and more than one record follows"
            )));
        }
        payload.resize(length as usize, 0);
        let mut checksum = [0u8; HASH_BYTES];
        if !read_full(&mut reader, &mut payload, path)?
            || !read_full(&mut reader, &mut checksum, path)?
        {
            return Ok(torn);
        }
        if Sha256::digest(&payload).as_slice() != checksum {
            if may_be_torn && record_bytes == remaining {
                return Ok(torn);
            }
            return Err(corrupt("checksum mismatch".to_string()));
        }
        visit(record_index, &payload)?;
        record_index += 1;
        position += record_bytes;
    }
}

fn encode_record(payload: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(payload.len() + 36);
    let length = u32::try_from(payload.len()).expect("head records are bounded far below 4 GiB");
    record.extend_from_slice(&length.to_le_bytes());
    record.extend_from_slice(payload);
    record.extend_from_slice(&Sha256::digest(payload));
    record
}

fn decode_issued_head(payload: &[u8]) -> Option<([u8; 32], SignedTreeHead)> {
    let (key, head) = payload.split_first_chunk::<32>()?;
    Some((*key, SignedTreeHead::from_bytes(head)?))
}

struct PeerHeadRecord {
    peer: String,
    key: [u8; 32],
    head: SignedTreeHead,
    proof: Vec<Hash>,
}

fn encode_peer_head(
    peer: &str,
    key: &NodePublicKey,
    head: &SignedTreeHead,
    proof: &[Hash],
) -> Vec<u8> {
    let mut payload = Vec::with_capacity(PEER_HEAD_PAYLOAD_BYTES_MAX);
    let peer_length = u16::try_from(peer.len()).expect("peer names are checked to be short");
    let proof_length = u16::try_from(proof.len()).expect("proofs are checked to be short");
    payload.extend_from_slice(&peer_length.to_be_bytes());
    payload.extend_from_slice(peer.as_bytes());
    payload.extend_from_slice(&key.to_bytes());
    payload.extend_from_slice(&head.to_bytes());
    payload.extend_from_slice(&proof_length.to_be_bytes());
    for hash in proof {
        payload.extend_from_slice(hash);
    }
    payload
}

fn decode_peer_head(payload: &[u8]) -> Option<PeerHeadRecord> {
    let (peer_length, rest) = payload.split_first_chunk::<2>()?;
    let (peer, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*peer_length)))?;
    let (key, rest) = rest.split_first_chunk::<32>()?;
    let (head, rest) = rest.split_at_checked(STH_BYTES)?;
    let (proof_length, rest) = rest.split_first_chunk::<2>()?;
    let proof_length = usize::from(u16::from_be_bytes(*proof_length));
    if rest.len() != proof_length * HASH_BYTES {
        return None;
    }
    let proof = rest
        .chunks_exact(HASH_BYTES)
        .map(|chunk| chunk.try_into().ok())
        .collect::<Option<Vec<Hash>>>()?;
    Some(PeerHeadRecord {
        peer: String::from_utf8(peer.to_vec()).ok()?,
        key: *key,
        head: SignedTreeHead::from_bytes(head)?,
        proof,
    })
}

fn check_peer_name(peer: &str) -> Result<(), LedgerError> {
    let invalid = |reason: &str| LedgerError::InvalidPeer {
        peer: peer.to_string(),
        reason: reason.to_string(),
    };
    if peer.is_empty() || peer.len() > MAX_PEER_NAME_BYTES {
        return Err(invalid("must be 1 to 128 bytes"));
    }
    if peer.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    Ok(())
}

/// Number of whole leaves whose hashes fit in `stored` stored hashes.
fn leaves_for_stored_hashes(stored: u64) -> u64 {
    // stored_hash_count is increasing and at least n, so binary search 0..=stored.
    let (mut low, mut high) = (0u64, stored);
    while low < high {
        let middle = low + (high - low).div_ceil(2);
        if stored_hash_count(middle) <= stored {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    low
}

impl Ledger {
    /// Opens the ledger in `dir`, creating the directory and an empty ledger
    /// if needed, and recovers from an interrupted write.
    ///
    /// Recovery cuts only what was never acknowledged: bytes after the last
    /// complete batch in `entries.log` (at most one batch) and a torn last
    /// head record. Damage anywhere else, or committed data gone missing,
    /// is an error, never silently repaired. The report says what was cut.
    pub fn open(dir: impl AsRef<Path>) -> Result<(Ledger, RecoveryReport), LedgerError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(LedgerError::io(dir))?;
        let paths = Paths::new(dir);

        let (entries, entries_created) =
            open_with_header(&paths.entries, ENTRIES_MAGIC, Some(dir))?;
        let (nodes, nodes_created) = open_with_header(&paths.nodes, NODES_MAGIC, None)?;
        let (index, index_created) = open_with_header(&paths.index, INDEX_MAGIC, None)?;
        let (chain, chain_created) = open_with_header(&paths.chain, CHAIN_MAGIC, None)?;
        let (heads_issued, issued_created) =
            open_with_header(&paths.heads_issued, HEADS_ISSUED_MAGIC, None)?;
        let (heads_peers, peers_created) =
            open_with_header(&paths.heads_peers, HEADS_PEERS_MAGIC, None)?;
        let checkpoint_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&paths.checkpoint)
            .map_err(LedgerError::io(&paths.checkpoint))?;
        if entries_created
            || nodes_created
            || index_created
            || chain_created
            || issued_created
            || peers_created
        {
            sync_dir(dir)?;
        }

        let mut report = RecoveryReport::default();
        let checkpoint = match read_checkpoint(&checkpoint_file, &paths.checkpoint)? {
            Some(checkpoint) => checkpoint,
            None => {
                let checkpoint_bytes = file_length(&checkpoint_file, &paths.checkpoint)?;
                report.checkpoint_unreadable = checkpoint_bytes > 0;
                Checkpoint::empty()
            }
        };

        let mut ledger = Ledger {
            paths,
            entries,
            nodes,
            index,
            chain,
            checkpoint_file,
            heads_issued,
            heads_peers,
            entries_end: checkpoint.entries_end,
            frontier: Frontier::new(),
            last_by_object: ObjectHeads::default(),
            checkpoint,
            heads_issued_end: HEADER_BYTES,
            issued_head_count: 0,
            latest_issued_head: None,
            heads_peers_end: HEADER_BYTES,
            peer_heads: HashMap::new(),
            poisoned: false,
        };
        ledger.load_checkpointed_state()?;
        ledger.replay_after_checkpoint(&mut report)?;
        ledger.load_heads(&mut report)?;
        Ok((ledger, report))
    }

    /// The directory the ledger lives in.
    pub fn dir(&self) -> &Path {
        &self.paths.dir
    }

    /// Number of entries.
    pub fn tree_size(&self) -> u64 {
        self.frontier.size()
    }

    /// Root hash of the whole log.
    pub fn root_hash(&self) -> Hash {
        self.frontier.root()
    }

    /// Root hash of the first `tree_size` entries, from O(log n) stored hashes.
    pub fn root_hash_at(&self, tree_size: u64) -> Result<Hash, LedgerError> {
        self.check_size(tree_size)?;
        merkle::root_hash(tree_size, &mut |id| self.read_node(id))
    }

    /// Appends one entry durably; see [`Ledger::append_batch`].
    pub fn append(&mut self, entry: &Entry) -> Result<u64, LedgerError> {
        let range = self.append_batch(std::slice::from_ref(entry))?;
        Ok(range.start)
    }

    /// Appends entries as one batch and returns their indexes.
    ///
    /// Either every entry is recorded or none is: the batch ends with a commit
    /// record (the new tree size and root) and `entries.log` is synced once;
    /// the call returns only after that sync, so whatever it acknowledges is
    /// on disk. The stored hashes and index records are derived data, synced
    /// at each checkpoint; a crash before then costs a bounded replay on open.
    ///
    /// An invalid entry or an oversized batch fails before anything is
    /// written. An IO error poisons the ledger (see [`LedgerError::Poisoned`]);
    /// if it came after the sync, the batch may be durable, and reopening
    /// tells which.
    pub fn append_batch(&mut self, entries: &[Entry]) -> Result<Range<u64>, LedgerError> {
        self.check_usable()?;
        let first = self.tree_size();
        if entries.is_empty() {
            return Ok(first..first);
        }

        // Everything that can fail for the caller's reasons fails here,
        // before a byte is written.
        let mut frames = Vec::with_capacity(entries.len() * 320);
        let mut placed = Vec::with_capacity(entries.len());
        let mut trial = self.frontier.clone();
        // The tree's new nodes, hashed once here for the commit frame's root and kept for
        // `nodes.bin`.
        let mut nodes_bytes = Vec::with_capacity(entries.len() * 2 * HASH_BYTES);
        for entry in entries {
            let leaf = entry.to_leaf_bytes()?;
            let length = u32::try_from(leaf.len()).expect("entries are bounded by MAX_ENTRY_BYTES");
            let hash = leaf_hash(&leaf);
            placed.push(Placed {
                offset: self.entries_end + frames.len() as u64,
                object_key: object_key(entry.object_id()),
            });
            frames.extend_from_slice(&frame_header(FRAME_ENTRY, length));
            frames.extend_from_slice(&leaf);
            trial.push(hash, |_, node| nodes_bytes.extend_from_slice(node));
        }
        if entries.len() > MAX_BATCH_ENTRIES || frames.len() > MAX_BATCH_BYTES {
            return Err(LedgerError::BatchTooLarge {
                entries: entries.len(),
                size_bytes: frames.len(),
                limit_entries: MAX_BATCH_ENTRIES,
                limit_bytes: MAX_BATCH_BYTES,
            });
        }
        frames.extend_from_slice(&frame_header(FRAME_COMMIT, COMMIT_PAYLOAD_BYTES as u32));
        frames.extend_from_slice(&commit_payload(trial.size(), &trial.root()));

        let written = write_all_at(&self.entries, &frames, self.entries_end)
            .and_then(|()| self.entries.sync_data());
        self.poison_on_error(written, ENTRIES_FILE)?;

        let new_end = self.entries_end + frames.len() as u64;
        self.record_committed(&placed, new_end, trial, nodes_bytes)?;

        if self.tree_size() - self.checkpoint.tree_size >= CHECKPOINT_INTERVAL_ENTRIES {
            self.checkpoint()?;
        }
        Ok(first..self.tree_size())
    }

    /// Reads and decodes entry `index`, checking its bytes against the
    /// stored leaf hash.
    pub fn entry(&self, index: u64) -> Result<Entry, LedgerError> {
        let bytes = self.leaf_bytes(index)?;
        Entry::from_leaf_bytes(&bytes).map_err(|error| LedgerError::Tampered {
            index,
            detail: format!("stored entry does not decode: {error}"),
        })
    }

    /// The canonical leaf bytes of entry `index` (what a third party hashes),
    /// checked against the stored leaf hash.
    pub fn leaf_bytes(&self, index: u64) -> Result<Vec<u8>, LedgerError> {
        self.check_index(index)?;
        // The frame's offset is read from `index.bin`, not kept in memory: a node records every
        // release, and 8 bytes an entry held for the process's life grew without bound. A wrong
        // offset cannot give wrong bytes: the frame's kind, length and leaf hash are checked.
        let mut record = [0u8; INDEX_RECORD_BYTES as usize];
        read_exact_at(
            &self.index,
            &mut record,
            HEADER_BYTES + index * INDEX_RECORD_BYTES,
            &self.paths.index,
        )?;
        let (offset, _) = parse_index_record(&record);
        let mut header = [0u8; FRAME_HEADER_BYTES as usize];
        read_exact_at(&self.entries, &mut header, offset, &self.paths.entries)?;
        let (kind, length) = parse_frame_header(&header);
        if kind != FRAME_ENTRY || length > MAX_ENTRY_BYTES as u64 {
            return Err(LedgerError::Tampered {
                index,
                detail: format!("frame at byte {offset} has kind {kind} and length {length}"),
            });
        }
        let mut bytes = vec![0u8; length as usize];
        read_exact_at(
            &self.entries,
            &mut bytes,
            offset + FRAME_HEADER_BYTES,
            &self.paths.entries,
        )?;
        let stored = self.read_node(NodeId { level: 0, index })?;
        if leaf_hash(&bytes) != stored {
            return Err(LedgerError::Tampered {
                index,
                detail: "entry bytes do not match the stored leaf hash".to_string(),
            });
        }
        Ok(bytes)
    }

    /// Indexes of every entry about `object_id` (created, received, released),
    /// oldest first. Costs one entry read per result.
    pub fn entry_indexes_for_object(&self, object_id: &str) -> Result<Vec<u64>, LedgerError> {
        let key = object_key(Some(object_id));
        let mut found = Vec::new();
        let mut cursor = self.last_by_object.get(&key).copied().unwrap_or(NO_ENTRY);
        while cursor != NO_ENTRY {
            if self.entry(cursor)?.object_id() == Some(object_id) {
                found.push(cursor);
            }
            let previous = self.previous_same_object(cursor)?;
            // Links only ever point back: anything else is damage, and would loop.
            if previous != NO_ENTRY && previous >= cursor {
                return Err(LedgerError::Tampered {
                    index: cursor,
                    detail: format!("chain.bin links entry {cursor} to the later entry {previous}"),
                });
            }
            cursor = previous;
        }
        found.reverse();
        Ok(found)
    }

    fn previous_same_object(&self, index: u64) -> Result<u64, LedgerError> {
        let mut record = [0u8; CHAIN_RECORD_BYTES as usize];
        read_exact_at(
            &self.chain,
            &mut record,
            HEADER_BYTES + index * CHAIN_RECORD_BYTES,
            &self.paths.chain,
        )?;
        Ok(u64::from_le_bytes(record))
    }

    /// Inclusion proof of entry `index` in the whole log.
    pub fn prove_inclusion(&self, index: u64) -> Result<InclusionProof, LedgerError> {
        self.prove_inclusion_at(index, self.tree_size())
    }

    /// Inclusion proof of entry `index` in the first `tree_size` entries, to
    /// check against a signed head of that size. O(log n) stored-hash reads.
    pub fn prove_inclusion_at(
        &self,
        index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, LedgerError> {
        self.check_size(tree_size)?;
        let audit_path = merkle::inclusion_proof(index, tree_size, &mut |id| self.read_node(id))?;
        Ok(InclusionProof {
            leaf_index: index,
            tree_size,
            audit_path,
        })
    }

    /// Consistency proof that the first `old_size` entries are a prefix of
    /// the first `new_size` (RFC 9162 §2.1.4). O(log n) stored-hash reads.
    pub fn prove_consistency(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(new_size)?;
        merkle::consistency_proof(old_size, new_size, &mut |id| self.read_node(id))
    }

    /// Signs a head for the whole log with the node's key and stores it, so
    /// that [`Ledger::verify`] can later show that the log still matches
    /// every head the node handed out. `timestamp_unix_ms` comes from the
    /// caller's clock and must not go back from the previous head.
    pub fn sign_head(
        &mut self,
        key: &NodeKey,
        timestamp_unix_ms: u64,
    ) -> Result<SignedTreeHead, LedgerError> {
        self.check_usable()?;
        if let Some(latest) = &self.latest_issued_head
            && timestamp_unix_ms < latest.timestamp_unix_ms
        {
            return Err(LedgerError::HeadTimestampRegressed {
                peer: "<this node>".to_string(),
                old_timestamp_unix_ms: latest.timestamp_unix_ms,
                new_timestamp_unix_ms: timestamp_unix_ms,
            });
        }
        let head = key.sign_head(self.tree_size(), self.root_hash(), timestamp_unix_ms);
        let mut payload = Vec::with_capacity(ISSUED_HEAD_PAYLOAD_BYTES);
        payload.extend_from_slice(&key.public_key().to_bytes());
        payload.extend_from_slice(&head.to_bytes());
        let record = encode_record(&payload);
        let written = write_all_at(&self.heads_issued, &record, self.heads_issued_end)
            .and_then(|()| self.heads_issued.sync_data());
        self.poison_on_error(written, HEADS_ISSUED_FILE)?;
        self.heads_issued_end += record.len() as u64;
        self.issued_head_count += 1;
        self.latest_issued_head = Some(head);
        Ok(head)
    }

    /// The last head this node signed.
    pub fn latest_issued_head(&self) -> Option<&SignedTreeHead> {
        self.latest_issued_head.as_ref()
    }

    /// Number of heads this node has signed.
    pub fn issued_head_count(&self) -> u64 {
        self.issued_head_count
    }

    /// Checks and stores a tree head received from `peer` during sync.
    ///
    /// The head must be signed by `key` (the peer's pinned public key) and,
    /// if a head from this peer is already held, `consistency_proof` must
    /// prove the old head's tree is a prefix of the new one. Otherwise the
    /// head is refused ([`LedgerError::BadHeadSignature`],
    /// [`LedgerError::InconsistentHead`] naming the peer and both sizes) and
    /// nothing is stored. A head identical to the one held is accepted and
    /// not stored again.
    pub fn accept_peer_head(
        &mut self,
        peer: &str,
        key: &NodePublicKey,
        head: &SignedTreeHead,
        consistency_proof: &[Hash],
    ) -> Result<(), LedgerError> {
        self.check_usable()?;
        check_peer_name(peer)?;
        verify_peer_head(peer, key, head)?;
        if consistency_proof.len() > MAX_PROOF_HASHES {
            return Err(LedgerError::Proof(ProofError::ProofTooLong {
                length_hashes: consistency_proof.len(),
                limit_hashes: MAX_PROOF_HASHES,
            }));
        }
        if let Some(held) = self.peer_heads.get(peer) {
            check_head_consistency(peer, &held.head, head, consistency_proof)?;
            if held.head == *head && held.key == *key {
                return Ok(());
            }
        }
        let record = encode_record(&encode_peer_head(peer, key, head, consistency_proof));
        let written = write_all_at(&self.heads_peers, &record, self.heads_peers_end)
            .and_then(|()| self.heads_peers.sync_data());
        self.poison_on_error(written, HEADS_PEERS_FILE)?;
        self.heads_peers_end += record.len() as u64;
        self.peer_heads.insert(
            peer.to_string(),
            PeerHead {
                key: *key,
                head: *head,
            },
        );
        Ok(())
    }

    /// The latest head accepted from `peer`.
    pub fn peer_head(&self, peer: &str) -> Option<&SignedTreeHead> {
        self.peer_heads.get(peer).map(|held| &held.head)
    }

    /// Syncs the derived files and records a checkpoint, so that the next
    /// open replays nothing before it. Runs on its own every
    /// [`CHECKPOINT_INTERVAL_ENTRIES`] entries and on close.
    pub fn checkpoint(&mut self) -> Result<(), LedgerError> {
        self.check_usable()?;
        if self.tree_size() == self.checkpoint.tree_size {
            return Ok(());
        }
        let synced = self.nodes.sync_data().and_then(|()| self.index.sync_data());
        self.poison_on_error(synced, "nodes.bin and index.bin")?;
        // The derived files must be durable before a checkpoint vouches for them.
        let checkpoint = Checkpoint {
            sequence: self.checkpoint.sequence + 1,
            tree_size: self.tree_size(),
            entries_end: self.entries_end,
            root: self.root_hash(),
        };
        let slot = checkpoint.sequence % 2;
        let written = write_all_at(
            &self.checkpoint_file,
            &checkpoint.encode(),
            slot * CHECKPOINT_SLOT_BYTES,
        )
        .and_then(|()| self.checkpoint_file.sync_data());
        self.poison_on_error(written, CHECKPOINT_FILE)?;
        self.checkpoint = checkpoint;
        Ok(())
    }

    /// Checkpoints and closes, reporting any error that dropping would hide.
    pub fn close(mut self) -> Result<(), LedgerError> {
        self.checkpoint()
    }

    /// Re-reads the whole log and checks everything: every entry decodes
    /// canonically, every stored hash equals its recomputation, every batch
    /// commit matches, `index.bin` matches, every head this node issued still
    /// matches the log and its signature, and every stored peer head still
    /// verifies and extends the previous one from that peer.
    ///
    /// Returns the first problem found, naming the entry index, node or head.
    /// Cost: one sequential pass over the files (3.7 s a million entries on
    /// the 2-core development machine).
    pub fn verify(&self) -> Result<VerifyReport, LedgerError> {
        self.verify_inner(None)
    }

    /// [`Ledger::verify`], and also requires every issued head to carry this
    /// node's public key. Without it, someone who rewrote the files could
    /// re-sign every head with a key of their own and record that key.
    pub fn verify_with_node_key(
        &self,
        node_key: &NodePublicKey,
    ) -> Result<VerifyReport, LedgerError> {
        self.verify_inner(Some(node_key))
    }

    fn verify_inner(&self, node_key: Option<&NodePublicKey>) -> Result<VerifyReport, LedgerError> {
        let mut report = VerifyReport::default();

        // Heads first, so their sizes can be checked during the single pass.
        let mut issued: Vec<([u8; 32], SignedTreeHead)> = Vec::new();
        scan_records(
            &self.paths.heads_issued,
            ISSUED_HEAD_PAYLOAD_BYTES,
            |head_index, payload| {
                let decoded =
                    decode_issued_head(payload).ok_or_else(|| LedgerError::HeadMismatch {
                        head_index,
                        tree_size: 0,
                        detail: "record does not decode".to_string(),
                    })?;
                issued.push(decoded);
                Ok(())
            },
        )?;
        let mut roots_wanted: BTreeMap<u64, Option<Hash>> = BTreeMap::new();
        for (head_index, (_, head)) in issued.iter().enumerate() {
            if head.tree_size > self.tree_size() {
                return Err(LedgerError::HeadMismatch {
                    head_index: head_index as u64,
                    tree_size: head.tree_size,
                    detail: format!(
                        "the log now holds only {} entries: committed entries are missing",
                        self.tree_size()
                    ),
                });
            }
            roots_wanted.insert(head.tree_size, None);
        }
        if let Some(root) = roots_wanted.get_mut(&0) {
            *root = Some(empty_root());
        }

        self.verify_log(&mut report, &mut roots_wanted)?;

        for (head_index, (key, head)) in issued.iter().enumerate() {
            let head_index = head_index as u64;
            let mismatch = |detail: String| LedgerError::HeadMismatch {
                head_index,
                tree_size: head.tree_size,
                detail,
            };
            let key = NodePublicKey::from_bytes(key).map_err(mismatch)?;
            if let Some(expected) = node_key
                && key != *expected
            {
                return Err(mismatch(format!(
                    "recorded signer {} is not this node's key {}",
                    key.to_hex(),
                    expected.to_hex()
                )));
            }
            if !head.is_signed_by(&key) {
                return Err(mismatch(format!(
                    "signature does not verify with the recorded key {}",
                    key.to_hex()
                )));
            }
            let root = roots_wanted
                .get(&head.tree_size)
                .copied()
                .flatten()
                .expect("every issued head's size was collected and the pass reached it");
            if root != head.root_hash {
                return Err(mismatch(
                    "root differs from the log's root at that size: history was rewritten"
                        .to_string(),
                ));
            }
            report.issued_heads += 1;
        }

        let mut latest: HashMap<String, SignedTreeHead> = HashMap::new();
        scan_records(
            &self.paths.heads_peers,
            PEER_HEAD_PAYLOAD_BYTES_MAX,
            |head_index, payload| {
                let record =
                    decode_peer_head(payload).ok_or_else(|| LedgerError::PeerHeadMismatch {
                        peer: "<undecodable>".to_string(),
                        head_index,
                        detail: "record does not decode".to_string(),
                    })?;
                let mismatch = |detail: String| LedgerError::PeerHeadMismatch {
                    peer: record.peer.clone(),
                    head_index,
                    detail,
                };
                let key = NodePublicKey::from_bytes(&record.key).map_err(mismatch)?;
                verify_peer_head(&record.peer, &key, &record.head)
                    .map_err(|error| mismatch(error.to_string()))?;
                if let Some(previous) = latest.get(&record.peer) {
                    check_head_consistency(&record.peer, previous, &record.head, &record.proof)
                        .map_err(|error| mismatch(error.to_string()))?;
                }
                latest.insert(record.peer.clone(), record.head);
                report.peer_heads += 1;
                Ok(())
            },
        )?;
        Ok(report)
    }

    /// The single pass over `entries.log`, `index.bin` and `nodes.bin`.
    fn verify_log(
        &self,
        report: &mut VerifyReport,
        roots_wanted: &mut BTreeMap<u64, Option<Hash>>,
    ) -> Result<(), LedgerError> {
        let entries_bytes = file_length(&self.entries, &self.paths.entries)?;
        if entries_bytes != self.entries_end {
            return Err(LedgerError::CorruptFile {
                file: self.paths.entries.clone(),
                offset: self.entries_end,
                detail: format!(
                    "file is {entries_bytes} bytes but the last commit ends at {}",
                    self.entries_end
                ),
            });
        }
        let mut entries_in = stream_from(&self.paths.entries, HEADER_BYTES)?;
        let mut index_in = stream_from(&self.paths.index, HEADER_BYTES)?;
        let mut nodes_in = stream_from(&self.paths.nodes, HEADER_BYTES)?;
        let mut chain_in = stream_from(&self.paths.chain, HEADER_BYTES)?;
        let mut heads = ObjectHeads::default();

        let mut frontier = Frontier::new();
        let mut position = HEADER_BYTES;
        let mut payload = Vec::with_capacity(MAX_ENTRY_BYTES);
        let mut last_frame_was_commit = true;
        while position < self.entries_end {
            let index = frontier.size();
            let tampered = |detail: String| LedgerError::Tampered { index, detail };
            let mut header = [0u8; FRAME_HEADER_BYTES as usize];
            if !read_full(&mut entries_in, &mut header, &self.paths.entries)? {
                return Err(tampered(format!(
                    "entries.log ends inside a frame at byte {position}"
                )));
            }
            let (kind, length) = parse_frame_header(&header);
            let frame_end = position + FRAME_HEADER_BYTES + length;
            if frame_end > self.entries_end {
                return Err(tampered(format!(
                    "frame at byte {position} claims {length} bytes, past the last commit"
                )));
            }
            match kind {
                FRAME_ENTRY if length <= MAX_ENTRY_BYTES as u64 => {
                    payload.resize(length as usize, 0);
                    if !read_full(&mut entries_in, &mut payload, &self.paths.entries)? {
                        return Err(tampered("entries.log ends inside an entry".to_string()));
                    }
                    let entry = Entry::from_leaf_bytes(&payload)
                        .map_err(|error| tampered(format!("not a canonical entry: {error}")))?;
                    self.verify_index_record(&mut index_in, index, position, &entry)?;
                    // chain.bin is made on open, but may be damaged since: checked too.
                    let mut link = [0u8; CHAIN_RECORD_BYTES as usize];
                    if !read_full(&mut chain_in, &mut link, &self.paths.chain)? {
                        return Err(tampered(format!("no chain.bin record for entry {index}")));
                    }
                    let expected = push_head(&mut heads, object_key(entry.object_id()), index)
                        .unwrap_or(NO_ENTRY);
                    if u64::from_le_bytes(link) != expected {
                        return Err(tampered(format!(
                            "chain.bin links it to entry {}, not {expected}",
                            u64::from_le_bytes(link)
                        )));
                    }
                    let mut mismatch: Option<LedgerError> = None;
                    let mut stored = [0u8; HASH_BYTES];
                    let mut read_error: Option<LedgerError> = None;
                    frontier.push(leaf_hash(&payload), |id, hash| {
                        if mismatch.is_some() || read_error.is_some() {
                            return;
                        }
                        match read_full(&mut nodes_in, &mut stored, &self.paths.nodes) {
                            Ok(true) if &stored == hash => report.stored_hashes += 1,
                            Ok(true) => {
                                mismatch = Some(LedgerError::TamperedHash {
                                    level: id.level,
                                    node_index: id.index,
                                    detail: format!(
                                        "differs from the hash recomputed from entries {}..{}",
                                        id.leaves().start,
                                        id.leaves().end
                                    ),
                                });
                            }
                            Ok(false) => {
                                mismatch = Some(LedgerError::Truncated {
                                    file: self.paths.nodes.clone(),
                                    detail: format!("no stored hash for node {id:?}"),
                                });
                            }
                            Err(error) => read_error = Some(error),
                        }
                    });
                    if let Some(error) = read_error.or(mismatch) {
                        return Err(error);
                    }
                    if let Some(root) = roots_wanted.get_mut(&frontier.size()) {
                        *root = Some(frontier.root());
                    }
                    report.entries += 1;
                    last_frame_was_commit = false;
                }
                FRAME_COMMIT if length == COMMIT_PAYLOAD_BYTES => {
                    payload.resize(length as usize, 0);
                    if !read_full(&mut entries_in, &mut payload, &self.paths.entries)? {
                        return Err(tampered("entries.log ends inside a commit".to_string()));
                    }
                    let (size, root) = parse_commit(&payload)
                        .expect("a commit payload of the checked length parses");
                    if size != frontier.size() || root != frontier.root() {
                        return Err(tampered(format!(
                            "commit record at byte {position} says size {size} with a root that the entries before it do not produce"
                        )));
                    }
                    report.commits += 1;
                    last_frame_was_commit = true;
                }
                _ => {
                    return Err(tampered(format!(
                        "frame at byte {position} has kind {kind} and length {length}, which no valid frame has"
                    )));
                }
            }
            position = frame_end;
        }
        if !last_frame_was_commit || frontier.size() != self.tree_size() {
            return Err(LedgerError::Tampered {
                index: frontier.size(),
                detail: format!(
                    "entries.log holds {} committed entries, the ledger expected {}",
                    frontier.size(),
                    self.tree_size()
                ),
            });
        }
        let mut extra = [0u8; 1];
        if read_full(&mut nodes_in, &mut extra, &self.paths.nodes)? {
            return Err(LedgerError::CorruptFile {
                file: self.paths.nodes.clone(),
                offset: HEADER_BYTES + stored_hash_count(self.tree_size()) * NODE_BYTES,
                detail: "bytes after the last stored hash".to_string(),
            });
        }
        if read_full(&mut index_in, &mut extra, &self.paths.index)? {
            return Err(LedgerError::CorruptFile {
                file: self.paths.index.clone(),
                offset: HEADER_BYTES + self.tree_size() * INDEX_RECORD_BYTES,
                detail: "bytes after the last index record".to_string(),
            });
        }
        Ok(())
    }

    fn verify_index_record(
        &self,
        index_in: &mut impl Read,
        index: u64,
        position: u64,
        entry: &Entry,
    ) -> Result<(), LedgerError> {
        let mut record = [0u8; INDEX_RECORD_BYTES as usize];
        if !read_full(index_in, &mut record, &self.paths.index)? {
            return Err(LedgerError::Truncated {
                file: self.paths.index.clone(),
                detail: format!("no index record for entry {index}"),
            });
        }
        let (offset, key) = parse_index_record(&record);
        let expected_key = object_key(entry.object_id());
        if offset != position || key != expected_key {
            return Err(LedgerError::Tampered {
                index,
                detail: format!(
                    "index.bin records offset {offset} and object key {key:#x}; the entry is at byte {position} with key {expected_key:#x}"
                ),
            });
        }
        Ok(())
    }

    fn check_usable(&self) -> Result<(), LedgerError> {
        if self.poisoned {
            return Err(LedgerError::Poisoned);
        }
        Ok(())
    }

    fn check_index(&self, index: u64) -> Result<(), LedgerError> {
        if index >= self.tree_size() {
            return Err(LedgerError::IndexOutOfRange {
                index,
                tree_size: self.tree_size(),
            });
        }
        Ok(())
    }

    fn check_size(&self, tree_size: u64) -> Result<(), LedgerError> {
        if tree_size > self.tree_size() {
            return Err(LedgerError::IndexOutOfRange {
                index: tree_size,
                tree_size: self.tree_size(),
            });
        }
        Ok(())
    }

    fn poison_on_error(
        &mut self,
        result: std::io::Result<()>,
        file: &str,
    ) -> Result<(), LedgerError> {
        result.map_err(|source| {
            self.poisoned = true;
            LedgerError::Io {
                path: self.paths.dir.join(file),
                source,
            }
        })
    }

    fn read_node(&self, id: NodeId) -> Result<Hash, LedgerError> {
        let position = stored_hash_index(id);
        if id.leaves().end > self.tree_size() {
            return Err(LedgerError::IndexOutOfRange {
                index: id.leaves().end,
                tree_size: self.tree_size(),
            });
        }
        let mut hash = [0u8; HASH_BYTES];
        read_exact_at(
            &self.nodes,
            &mut hash,
            HEADER_BYTES + position * NODE_BYTES,
            &self.paths.nodes,
        )?;
        Ok(hash)
    }

    /// Files the committed entries `placed` in the index, chain and node files, and advances
    /// the in-memory state. `frontier` is the tree's frontier after them and `nodes_bytes` the
    /// nodes their pushes stored: the caller hashed them already, to check or write the
    /// batch's commit frame. Positions come from the state, not the file length, so a replay
    /// overwrites exactly what a crash may have half-written.
    fn record_committed(
        &mut self,
        placed: &[Placed],
        new_entries_end: u64,
        frontier: Frontier,
        nodes_bytes: Vec<u8>,
    ) -> Result<(), LedgerError> {
        let mut index_bytes = Vec::with_capacity(placed.len() * INDEX_RECORD_BYTES as usize);
        let mut chain_bytes = Vec::with_capacity(placed.len() * CHAIN_RECORD_BYTES as usize);
        // The batch's own chain heads, applied once its records are written.
        let mut batch_last = ObjectHeads::default();
        for (i, entry) in placed.iter().enumerate() {
            index_bytes.extend_from_slice(&entry.offset.to_le_bytes());
            index_bytes.extend_from_slice(&entry.object_key.to_le_bytes());
            let index = self.tree_size() + i as u64;
            let previous = self.link(&mut batch_last, entry.object_key, index);
            chain_bytes.extend_from_slice(&previous.to_le_bytes());
        }
        let nodes_at = HEADER_BYTES + stored_hash_count(self.tree_size()) * NODE_BYTES;
        let index_at = HEADER_BYTES + self.tree_size() * INDEX_RECORD_BYTES;
        let chain_at = HEADER_BYTES + self.tree_size() * CHAIN_RECORD_BYTES;
        let written = write_all_at(&self.nodes, &nodes_bytes, nodes_at)
            .and_then(|()| write_all_at(&self.index, &index_bytes, index_at))
            .and_then(|()| write_all_at(&self.chain, &chain_bytes, chain_at));
        self.poison_on_error(written, "nodes.bin, index.bin and chain.bin")?;

        self.last_by_object.extend(batch_last);
        self.frontier = frontier;
        self.entries_end = new_entries_end;
        Ok(())
    }

    /// Entry `index` about the object `key` becomes the head of its chain in `heads` (over
    /// the ledger's own heads); returns the entry it follows.
    fn link(&self, heads: &mut ObjectHeads, key: u64, index: u64) -> u64 {
        push_head(heads, key, index)
            .or_else(|| self.last_by_object.get(&key).copied())
            .unwrap_or(NO_ENTRY)
    }

    /// Loads the state the checkpoint vouches for: the index records and the
    /// frontier, and checks that they agree with the checkpoint.
    fn load_checkpointed_state(&mut self) -> Result<(), LedgerError> {
        let checkpoint = self.checkpoint;
        // Every entry frame takes more than its 5-byte header, which bounds
        // the size a checkpoint can honestly claim and keeps the arithmetic
        // below from overflowing on a forged one.
        let plausible_entries =
            checkpoint.entries_end.saturating_sub(HEADER_BYTES) / FRAME_HEADER_BYTES;
        if checkpoint.entries_end < HEADER_BYTES || checkpoint.tree_size > plausible_entries {
            return Err(LedgerError::CorruptFile {
                file: self.paths.checkpoint.clone(),
                offset: 0,
                detail: format!(
                    "claims {} entries ending at byte {}, which cannot be",
                    checkpoint.tree_size, checkpoint.entries_end
                ),
            });
        }
        let entries_bytes = file_length(&self.entries, &self.paths.entries)?;
        if entries_bytes < checkpoint.entries_end {
            return Err(LedgerError::Truncated {
                file: self.paths.entries.clone(),
                detail: format!(
                    "{entries_bytes} bytes, but {} committed entries end at byte {}",
                    checkpoint.tree_size, checkpoint.entries_end
                ),
            });
        }
        let nodes_needed = HEADER_BYTES + stored_hash_count(checkpoint.tree_size) * NODE_BYTES;
        let index_needed = HEADER_BYTES + checkpoint.tree_size * INDEX_RECORD_BYTES;
        for (file, path, needed) in [
            (&self.nodes, &self.paths.nodes, nodes_needed),
            (&self.index, &self.paths.index, index_needed),
        ] {
            let actual = file_length(file, path)?;
            if actual < needed {
                return Err(LedgerError::Truncated {
                    file: path.clone(),
                    detail: format!(
                        "{actual} bytes, but the checkpoint of {} entries needs {needed}",
                        checkpoint.tree_size
                    ),
                });
            }
        }

        let mut chain_chunk: Vec<u8> =
            Vec::with_capacity(CHAIN_CHUNK_ENTRIES * CHAIN_RECORD_BYTES as usize);
        let mut chain_chunk_first = 0u64;
        let mut heads = ObjectHeads::default();
        let mut index_in = stream_from(&self.paths.index, HEADER_BYTES)?;
        let mut expected_min = HEADER_BYTES;
        // Records are read a block at a time: a node that records every release opens tens of
        // millions of them, and a read call per 16-byte record was most of the open.
        let mut block = vec![0u8; INDEX_BLOCK_RECORDS * INDEX_RECORD_BYTES as usize];
        let mut index = 0u64;
        while index < checkpoint.tree_size {
            let records = (checkpoint.tree_size - index).min(INDEX_BLOCK_RECORDS as u64) as usize;
            let bytes = &mut block[..records * INDEX_RECORD_BYTES as usize];
            if !read_full(&mut index_in, bytes, &self.paths.index)? {
                return Err(LedgerError::Truncated {
                    file: self.paths.index.clone(),
                    detail: format!(
                        "no index records for entries {index} to {}",
                        index + records as u64 - 1
                    ),
                });
            }
            for record in bytes.chunks_exact(INDEX_RECORD_BYTES as usize) {
                let record: &[u8; INDEX_RECORD_BYTES as usize] =
                    record.try_into().expect("chunks of the record size");
                let (offset, key) = parse_index_record(record);
                let first_must_be_at_header = index == 0 && offset != HEADER_BYTES;
                if first_must_be_at_header
                    || offset < expected_min
                    || offset >= checkpoint.entries_end
                {
                    return Err(LedgerError::CorruptFile {
                        file: self.paths.index.clone(),
                        offset: HEADER_BYTES + index * INDEX_RECORD_BYTES,
                        detail: format!("entry {index} is recorded at byte {offset}, out of order"),
                    });
                }
                expected_min = offset + FRAME_HEADER_BYTES;
                // Open builds the heads from nothing: no ledger heads to fall back on.
                let previous = push_head(&mut heads, key, index).unwrap_or(NO_ENTRY);
                chain_chunk.extend_from_slice(&previous.to_le_bytes());
                if chain_chunk.len() == CHAIN_CHUNK_ENTRIES * CHAIN_RECORD_BYTES as usize {
                    self.settle_chain(chain_chunk_first, &chain_chunk)?;
                    chain_chunk_first = index + 1;
                    chain_chunk.clear();
                }
                index += 1;
            }
        }
        self.settle_chain(chain_chunk_first, &chain_chunk)?;
        self.last_by_object = heads;

        let peak_ids = Frontier::peak_ids(checkpoint.tree_size);
        let mut peaks = Vec::with_capacity(peak_ids.len());
        for id in peak_ids {
            let mut hash = [0u8; HASH_BYTES];
            read_exact_at(
                &self.nodes,
                &mut hash,
                HEADER_BYTES + stored_hash_index(id) * NODE_BYTES,
                &self.paths.nodes,
            )?;
            peaks.push(hash);
        }
        self.frontier = Frontier::from_peaks(checkpoint.tree_size, peaks)?;
        if self.frontier.root() != checkpoint.root {
            return Err(LedgerError::CorruptFile {
                file: self.paths.nodes.clone(),
                offset: HEADER_BYTES,
                detail: format!(
                    "the stored hashes give a different root at size {} than the checkpoint recorded",
                    checkpoint.tree_size
                ),
            });
        }
        Ok(())
    }

    /// Makes `chain.bin`'s records from entry `first` on what `records` says, reading them
    /// first and writing only where they differ (a ledger from before the file, or one a crash
    /// or damage left behind).
    fn settle_chain(&mut self, first: u64, records: &[u8]) -> Result<(), LedgerError> {
        if records.is_empty() {
            return Ok(());
        }
        let at = HEADER_BYTES + first * CHAIN_RECORD_BYTES;
        let held = file_length(&self.chain, &self.paths.chain)?;
        let mut stored = vec![0u8; records.len()];
        let readable = held >= at + records.len() as u64
            && read_exact_at(&self.chain, &mut stored, at, &self.paths.chain).is_ok();
        if !readable || stored != records {
            let written = write_all_at(&self.chain, records, at);
            self.poison_on_error(written, CHAIN_FILE)?;
        }
        Ok(())
    }

    /// Re-derives the batches committed after the checkpoint and cuts an
    /// interrupted batch off the end.
    fn replay_after_checkpoint(&mut self, report: &mut RecoveryReport) -> Result<(), LedgerError> {
        let checkpointed_size = self.tree_size();
        let entries_bytes = file_length(&self.entries, &self.paths.entries)?;
        let nodes_bytes = file_length(&self.nodes, &self.paths.nodes)?;
        let index_bytes = file_length(&self.index, &self.paths.index)?;
        // Derived records are written only after their batch is synced, so
        // they can never be ahead of the committed entries; if they are,
        // committed entries have gone missing from entries.log.
        let derived_entries = leaves_for_stored_hashes((nodes_bytes - HEADER_BYTES) / NODE_BYTES)
            .min((index_bytes - HEADER_BYTES) / INDEX_RECORD_BYTES);

        let mut entries_in = stream_from(&self.paths.entries, self.entries_end)?;
        let mut position = self.entries_end;
        let mut pending: Vec<Placed> = Vec::new();
        let mut trial = self.frontier.clone();
        // The nodes the pending entries' pushes stored, for `nodes.bin` once they commit.
        let mut nodes_bytes = Vec::new();
        let mut payload = Vec::with_capacity(MAX_ENTRY_BYTES);
        let mut header = [0u8; FRAME_HEADER_BYTES as usize];
        while entries_bytes - position >= FRAME_HEADER_BYTES {
            if !read_full(&mut entries_in, &mut header, &self.paths.entries)? {
                break;
            }
            let (kind, length) = parse_frame_header(&header);
            let frame_end = position + FRAME_HEADER_BYTES + length;
            let plausible = match kind {
                FRAME_ENTRY => length <= MAX_ENTRY_BYTES as u64,
                FRAME_COMMIT => length == COMMIT_PAYLOAD_BYTES,
                _ => false,
            };
            if !plausible || frame_end > entries_bytes {
                break;
            }
            payload.resize(length as usize, 0);
            if !read_full(&mut entries_in, &mut payload, &self.paths.entries)? {
                break;
            }
            if kind == FRAME_ENTRY {
                let Ok(entry) = Entry::from_leaf_bytes(&payload) else {
                    break;
                };
                let hash = leaf_hash(&payload);
                trial.push(hash, |_, node| nodes_bytes.extend_from_slice(node));
                pending.push(Placed {
                    offset: position,
                    object_key: object_key(entry.object_id()),
                });
            } else {
                let commits = parse_commit(&payload)
                    .is_some_and(|(size, root)| size == trial.size() && root == trial.root());
                if !commits {
                    break;
                }
                let nodes = std::mem::take(&mut nodes_bytes);
                self.record_committed(&pending, frame_end, trial.clone(), nodes)?;
                pending.clear();
            }
            position = frame_end;
        }

        if derived_entries > self.tree_size() {
            return Err(LedgerError::Truncated {
                file: self.paths.entries.clone(),
                detail: format!(
                    "nodes.bin and index.bin describe {derived_entries} entries but only {} committed entries remain: acknowledged entries are missing",
                    self.tree_size()
                ),
            });
        }
        let tail_bytes = entries_bytes - self.entries_end;
        if tail_bytes > MAX_TORN_ENTRY_BYTES {
            return Err(LedgerError::CorruptFile {
                file: self.paths.entries.clone(),
                offset: self.entries_end,
                detail: format!(
                    "{tail_bytes} bytes after the last valid commit is more than one batch can be, so this is damage, not an interrupted write"
                ),
            });
        }
        report.replayed_entries = self.tree_size() - checkpointed_size;
        report.truncated_entry_bytes = tail_bytes;
        report.discarded_entries = pending.len() as u64;

        // Derived files first: if a crash interrupts this, the next open
        // still finds them no further ahead than the entries.
        let nodes_end = HEADER_BYTES + stored_hash_count(self.tree_size()) * NODE_BYTES;
        let index_end = HEADER_BYTES + self.tree_size() * INDEX_RECORD_BYTES;
        let chain_end = HEADER_BYTES + self.tree_size() * CHAIN_RECORD_BYTES;
        let repaired = self
            .nodes
            .set_len(nodes_end)
            .and_then(|()| self.index.set_len(index_end))
            .and_then(|()| self.chain.set_len(chain_end))
            .and_then(|()| self.nodes.sync_data())
            .and_then(|()| self.index.sync_data());
        self.poison_on_error(repaired, "nodes.bin and index.bin")?;
        if tail_bytes > 0 {
            let cut = self
                .entries
                .set_len(self.entries_end)
                .and_then(|()| self.entries.sync_data());
            self.poison_on_error(cut, ENTRIES_FILE)?;
        }
        if report.replayed_entries > 0 {
            self.checkpoint()?;
        }
        Ok(())
    }

    fn load_heads(&mut self, report: &mut RecoveryReport) -> Result<(), LedgerError> {
        let mut count = 0u64;
        let mut latest = None;
        let issued_path = self.paths.heads_issued.clone();
        let scan = scan_records(
            &issued_path,
            ISSUED_HEAD_PAYLOAD_BYTES,
            |head_index, payload| {
                let (_, head) =
                    decode_issued_head(payload).ok_or_else(|| LedgerError::CorruptFile {
                        file: issued_path.clone(),
                        offset: 0,
                        detail: format!("issued head #{head_index} does not decode"),
                    })?;
                count += 1;
                latest = Some(head);
                Ok(())
            },
        )?;
        self.cut_torn_records(&scan, true, report)?;
        self.heads_issued_end = scan.valid_end;
        self.issued_head_count = count;
        self.latest_issued_head = latest;

        let mut peers: HashMap<String, PeerHead> = HashMap::new();
        let peers_path = self.paths.heads_peers.clone();
        let scan = scan_records(
            &peers_path,
            PEER_HEAD_PAYLOAD_BYTES_MAX,
            |head_index, payload| {
                let record = decode_peer_head(payload).ok_or_else(|| LedgerError::CorruptFile {
                    file: peers_path.clone(),
                    offset: 0,
                    detail: format!("peer head #{head_index} does not decode"),
                })?;
                let key = NodePublicKey::from_bytes(&record.key).map_err(|detail| {
                    LedgerError::PeerHeadMismatch {
                        peer: record.peer.clone(),
                        head_index,
                        detail,
                    }
                })?;
                peers.insert(
                    record.peer,
                    PeerHead {
                        key,
                        head: record.head,
                    },
                );
                Ok(())
            },
        )?;
        self.cut_torn_records(&scan, false, report)?;
        self.heads_peers_end = scan.valid_end;
        self.peer_heads = peers;
        Ok(())
    }

    fn cut_torn_records(
        &mut self,
        scan: &RecordScan,
        issued: bool,
        report: &mut RecoveryReport,
    ) -> Result<(), LedgerError> {
        if scan.torn_bytes == 0 {
            return Ok(());
        }
        report.truncated_head_bytes += scan.torn_bytes;
        let (file, name) = if issued {
            (&self.heads_issued, HEADS_ISSUED_FILE)
        } else {
            (&self.heads_peers, HEADS_PEERS_FILE)
        };
        let cut = file.set_len(scan.valid_end).and_then(|()| file.sync_data());
        self.poison_on_error(cut, name)
    }
}

impl Drop for Ledger {
    /// Best effort: a checkpoint only shortens the next open's replay, so an
    /// error here loses nothing. Use [`Ledger::close`] to see errors.
    fn drop(&mut self) {
        if !self.poisoned {
            let _ = self.checkpoint();
        }
    }
}

fn parse_index_record(record: &[u8; INDEX_RECORD_BYTES as usize]) -> (u64, u64) {
    let mut offset = [0u8; 8];
    let mut key = [0u8; 8];
    offset.copy_from_slice(&record[..8]);
    key.copy_from_slice(&record[8..]);
    (u64::from_le_bytes(offset), u64::from_le_bytes(key))
}

fn read_checkpoint(file: &File, path: &Path) -> Result<Option<Checkpoint>, LedgerError> {
    let length = file_length(file, path)?;
    let mut best: Option<Checkpoint> = None;
    for slot in 0..2u64 {
        let start = slot * CHECKPOINT_SLOT_BYTES;
        if length < start + CHECKPOINT_SLOT_BYTES {
            continue;
        }
        let mut bytes = [0u8; CHECKPOINT_SLOT_BYTES as usize];
        read_exact_at(file, &mut bytes, start, path)?;
        if let Some(candidate) = Checkpoint::decode(&bytes)
            && best.is_none_or(|held| candidate.sequence > held.sequence)
        {
            best = Some(candidate);
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_for_stored_hashes_inverts_the_count() {
        for n in 0..2000u64 {
            assert_eq!(leaves_for_stored_hashes(stored_hash_count(n)), n);
            if n > 0 {
                assert_eq!(leaves_for_stored_hashes(stored_hash_count(n) - 1), n - 1);
            }
        }
    }

    #[test]
    fn checkpoint_slot_round_trips_and_detects_damage() {
        let checkpoint = Checkpoint {
            sequence: 3,
            tree_size: 10,
            entries_end: 999,
            root: [4; 32],
        };
        let mut slot = checkpoint.encode();
        let decoded = Checkpoint::decode(&slot).expect("fresh slot decodes");
        assert_eq!(decoded.tree_size, 10);
        assert_eq!(decoded.entries_end, 999);
        slot[30] ^= 1;
        assert!(Checkpoint::decode(&slot).is_none());
    }

    #[test]
    fn peer_head_record_round_trips() {
        let key = NodeKey::from_seed(&[1; 32]);
        let head = key.sign_head(5, [2; 32], 7);
        let payload = encode_peer_head("de-bka", &key.public_key(), &head, &[[3; 32], [4; 32]]);
        let record = decode_peer_head(&payload).expect("decodes");
        assert_eq!(record.peer, "de-bka");
        assert_eq!(record.head, head);
        assert_eq!(record.proof, vec![[3; 32], [4; 32]]);
        assert!(decode_peer_head(&payload[..payload.len() - 1]).is_none());
    }
}
