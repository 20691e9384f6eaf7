//! The pure Merkle core: RFC 9162 §2.1 hashing, tree heads, inclusion and
//! consistency proofs.
//!
//! Architecture invariant: this module does no IO and holds no state beyond
//! what a caller hands it. Proof *generation* is split in two so that it stays
//! pure: the core says which subtrees a proof needs ([`inclusion_proof_ranges`],
//! [`consistency_proof_ranges`]) and which stored perfect subtrees make up
//! each of them ([`subtree_nodes`]); the caller fetches those hashes from
//! wherever it keeps them (memory, a file) through a closure. Proof
//! *verification* takes only hashes, sizes and proofs, so a third party can run
//! it with nothing but this module.
//!
//! Every node of a Merkle tree over `n` leaves is either a perfect subtree (a
//! power-of-two number of leaves at an aligned position) or lies on the right
//! edge, where its hash is a right fold of O(log n) perfect subtrees. A store
//! that keeps every perfect subtree can therefore answer any root or proof
//! with O(log n) hash reads.

use std::ops::Range;

use sha2::{Digest, Sha256};

/// Length of a SHA-256 hash in bytes.
pub const HASH_BYTES: usize = 32;

/// A SHA-256 hash: a leaf hash, a node hash or a tree head's root.
pub type Hash = [u8; HASH_BYTES];

/// Longest proof the verifiers accept. A tree of at most 2^64 leaves needs at
/// most 64 hashes for an inclusion proof and 65 for a consistency proof, so
/// anything longer is malformed and is refused before any hashing.
pub const MAX_PROOF_HASHES: usize = 66;

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside a tree of that size.
    #[error("leaf index {leaf_index} is outside a tree of {tree_size} leaves")]
    LeafIndexOutOfRange {
        /// The index asked for.
        leaf_index: u64,
        /// The size of the tree it was asked in.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizesOutOfOrder {
        /// The earlier tree's size.
        old_size: u64,
        /// The later tree's size.
        new_size: u64,
    },
    /// A tree larger than the hashes available was asked for.
    #[error("tree size {requested_size} is larger than the {available_size} leaves available")]
    TreeTooSmall {
        /// The size asked for.
        requested_size: u64,
        /// The number of leaves the source holds.
        available_size: u64,
    },
    /// A range is not a node of any Merkle tree (it is empty or not aligned).
    #[error("leaf range {start}..{end} is not a node of a Merkle tree")]
    NotATreeNode {
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf of the range.
        end: u64,
    },
    /// The proof is for a tree of a different size than the head it is
    /// checked against.
    #[error("proof is for a tree of {proof_size} leaves but the head is of {head_size}")]
    SizeMismatch {
        /// Tree size the proof was made for.
        proof_size: u64,
        /// Tree size of the head.
        head_size: u64,
    },
    /// The proof has more hashes than any valid proof can have.
    #[error("proof has {length_hashes} hashes, over the limit of {limit_hashes}")]
    ProofTooLong {
        /// Hashes in the proof.
        length_hashes: usize,
        /// [`MAX_PROOF_HASHES`].
        limit_hashes: usize,
    },
    /// The proof has the wrong number of hashes for the sizes given.
    #[error("proof has the wrong shape for the tree sizes given")]
    MalformedProof,
    /// The proof is well formed but leads to a different root.
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
}

/// A perfect subtree: `2^level` leaves starting at leaf `index * 2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId {
    /// Height above the leaves; 0 is a leaf.
    pub level: u32,
    /// Position among the nodes of the same level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The leaves this node covers.
    pub fn leaves(self) -> Range<u64> {
        let start = self.index << self.level;
        start..start + (1u64 << self.level)
    }
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Leaf hash: SHA-256(0x00 || leaf bytes). The prefix keeps a leaf from ever
/// being passed off as an interior node (second-preimage resistance).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// Interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two strictly less than `n` (RFC 9162's split point
/// `k`). `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2, "a tree of fewer than two leaves has no split");
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees that make up the tree node covering `range`, largest
/// first. The node's hash is their right fold ([`fold_subtrees`]).
///
/// `range` must be a node of some Merkle tree: a perfect subtree, or a
/// right-edge node `[a, n)` where `a` is aligned to the next power of two
/// at or above `n - a`. Every range in an RFC 9162 proof, and `0..n` itself,
/// is such a node.
pub fn subtree_nodes(range: Range<u64>) -> Result<Vec<NodeId>, ProofError> {
    let not_a_node = ProofError::NotATreeNode {
        start: range.start,
        end: range.end,
    };
    if range.start >= range.end {
        return Err(not_a_node);
    }
    let mut nodes = Vec::with_capacity(64);
    let mut position = range.start;
    let mut remaining = range.end - range.start;
    while remaining > 0 {
        let level = 63 - remaining.leading_zeros();
        let width = 1u64 << level;
        if !position.is_multiple_of(width) {
            return Err(not_a_node);
        }
        nodes.push(NodeId {
            level,
            index: position >> level,
        });
        position += width;
        remaining -= width;
    }
    Ok(nodes)
}

/// Combines the hashes of [`subtree_nodes`] (largest first) into the hash of
/// the node they make up. Splitting at the largest power of two below the
/// size always peels off the largest perfect subtree as the left child,
/// hence a right fold.
pub fn fold_subtrees(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else {
        return empty_root();
    };
    rest.iter()
        .rev()
        .fold(*last, |right, left| node_hash(left, &right))
}

/// Hash of the tree node covering `range`, reading perfect subtrees through
/// `node`.
pub fn subtree_hash<E>(
    range: Range<u64>,
    node: &mut impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Hash, E>
where
    E: From<ProofError>,
{
    let ids = subtree_nodes(range)?;
    let mut hashes = Vec::with_capacity(ids.len());
    for id in ids {
        hashes.push(node(id)?);
    }
    Ok(fold_subtrees(&hashes))
}

/// Merkle Tree Hash of the first `tree_size` leaves, from O(log n) perfect
/// subtrees read through `node`.
pub fn root_hash<E>(
    tree_size: u64,
    node: &mut impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Hash, E>
where
    E: From<ProofError>,
{
    if tree_size == 0 {
        return Ok(empty_root());
    }
    subtree_hash(0..tree_size, node)
}

/// The subtrees whose hashes form the inclusion proof of `leaf_index` in a
/// tree of `tree_size` leaves (RFC 9162 §2.1.3.1 `PATH`), leaf to root.
pub fn inclusion_proof_ranges(
    leaf_index: u64,
    tree_size: u64,
) -> Result<Vec<Range<u64>>, ProofError> {
    if leaf_index >= tree_size {
        return Err(ProofError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    // PATH appends each sibling after the path inside the child, so walking
    // from the root down collects them root first; reversed at the end.
    let mut ranges = Vec::with_capacity(64);
    let (mut start, mut end) = (0u64, tree_size);
    while end - start > 1 {
        let k = split_point(end - start);
        if leaf_index < start + k {
            ranges.push(start + k..end);
            end = start + k;
        } else {
            ranges.push(start..start + k);
            start += k;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// The subtrees whose hashes form the consistency proof from a tree of
/// `old_size` leaves to one of `new_size` leaves (RFC 9162 §2.1.4.1
/// `PROOF`/`SUBPROOF`), in proof order. Empty when `old_size` is 0 or equal to
/// `new_size`: the empty tree is a prefix of every tree, and a tree is a
/// prefix of itself exactly when the roots are equal.
pub fn consistency_proof_ranges(
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Range<u64>>, ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let mut ranges = Vec::with_capacity(66);
    let (mut start, mut end) = (0u64, new_size);
    // `old_root_is_known` is SUBPROOF's `b`: while true, the subtree being
    // described is a prefix whose hash the verifier already has (the old root).
    let mut old_root_is_known = true;
    loop {
        if old_size == end {
            if !old_root_is_known {
                ranges.push(start..end);
            }
            break;
        }
        let k = split_point(end - start);
        if old_size <= start + k {
            ranges.push(start + k..end);
            end = start + k;
        } else {
            ranges.push(start..start + k);
            start += k;
            old_root_is_known = false;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// Inclusion proof of `leaf_index` in a tree of `tree_size` leaves, reading
/// perfect subtrees through `node`.
pub fn inclusion_proof<E>(
    leaf_index: u64,
    tree_size: u64,
    node: &mut impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E>
where
    E: From<ProofError>,
{
    let ranges = inclusion_proof_ranges(leaf_index, tree_size)?;
    ranges
        .into_iter()
        .map(|range| subtree_hash(range, node))
        .collect()
}

/// Consistency proof from `old_size` to `new_size`, reading perfect subtrees
/// through `node`.
pub fn consistency_proof<E>(
    old_size: u64,
    new_size: u64,
    node: &mut impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E>
where
    E: From<ProofError>,
{
    let ranges = consistency_proof_ranges(old_size, new_size)?;
    ranges
        .into_iter()
        .map(|range| subtree_hash(range, node))
        .collect()
}

fn check_proof_length(proof: &[Hash]) -> Result<(), ProofError> {
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::ProofTooLong {
            length_hashes: proof.len(),
            limit_hashes: MAX_PROOF_HASHES,
        });
    }
    Ok(())
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or an error if
/// the proof's length does not fit the index and size.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    leaf_index: u64,
    tree_size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    check_proof_length(proof)?;
    if leaf_index >= tree_size {
        return Err(ProofError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    let mut fn_ = leaf_index;
    let mut sn = tree_size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::MalformedProof);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            // Skip the levels where this node is a lone right-edge child and
            // so has no sibling in the proof.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::MalformedProof);
    }
    Ok(r)
}

/// Checks that `leaf_hash` is the leaf at `leaf_index` of the tree of
/// `tree_size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    leaf_index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_hash, leaf_index, tree_size, proof)?;
    if &computed != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix
/// of the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// The edge cases RFC 9162 leaves to the caller are decided here: from the
/// empty tree the proof must be empty and `old_root` must be the empty root;
/// between equal sizes the proof must be empty and the roots equal.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_proof_length(proof)?;
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::MalformedProof);
        }
        return if old_root == &empty_root() {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::MalformedProof);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::MalformedProof);
    }
    // When the old tree is a perfect subtree of the new one, the proof omits
    // its root because the verifier already has it.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);

    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::MalformedProof);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::MalformedProof);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Number of perfect-subtree hashes stored for a tree of `tree_size` leaves:
/// every leaf plus every complete interior node, `2n - popcount(n)`.
pub fn stored_hash_count(tree_size: u64) -> u64 {
    2 * tree_size - u64::from(tree_size.count_ones())
}

/// Position of a perfect subtree in post-order storage, where appending leaf
/// `j` stores the leaf hash and then each interior node it completes, lowest
/// first. A node is stored right after its last leaf, so the storage only
/// ever grows at the end (the same layout as Go's `golang.org/x/mod/sumdb/tlog`).
pub fn stored_hash_index(node: NodeId) -> u64 {
    let last_leaf = ((node.index + 1) << node.level) - 1;
    stored_hash_count(last_leaf) + u64::from(node.level)
}

/// The right edge of a growing tree: the perfect subtrees that make up the
/// first `size` leaves, largest first. It is all an appender needs to compute
/// every new node and the root in O(log n) memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from the hashes of [`Frontier::peak_ids`]`(size)`.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self, ProofError> {
        if peaks.len() != size.count_ones() as usize {
            return Err(ProofError::MalformedProof);
        }
        Ok(Self { size, peaks })
    }

    /// The perfect subtrees a frontier of `size` leaves holds, largest first.
    pub fn peak_ids(size: u64) -> Vec<NodeId> {
        if size == 0 {
            return Vec::new();
        }
        subtree_nodes(0..size).expect("0..n is a tree node for every n > 0")
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root hash of the tree so far.
    pub fn root(&self) -> Hash {
        fold_subtrees(&self.peaks)
    }

    /// Appends a leaf hash and calls `stored` with the leaf node and then each
    /// interior node it completes, lowest first: exactly the post-order of
    /// [`stored_hash_index`].
    pub fn push(&mut self, leaf_hash: Hash, mut stored: impl FnMut(NodeId, &Hash)) {
        let mut id = NodeId {
            level: 0,
            index: self.size,
        };
        stored(id, &leaf_hash);
        let mut hash = leaf_hash;
        while id.index & 1 == 1 {
            let left = self
                .peaks
                .pop()
                .expect("an odd index at this level means a left sibling peak is waiting");
            hash = node_hash(&left, &hash);
            id = NodeId {
                level: id.level + 1,
                index: id.index >> 1,
            };
            stored(id, &hash);
        }
        self.peaks.push(hash);
        self.size += 1;
    }
}

/// Every perfect subtree of a tree held in memory, by level. For tests,
/// tools and small logs; [`crate::Ledger`] keeps the same hashes on disk.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree over these leaves (raw leaf bytes, hashed here).
    pub fn from_leaves<T: AsRef<[u8]>>(leaves: &[T]) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf_hash(leaf.as_ref()));
        }
        tree
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf_hash: Hash) {
        let levels = &mut self.levels;
        self.frontier.push(leaf_hash, |id, hash| {
            let level = id.level as usize;
            if levels.len() <= level {
                levels.push(Vec::new());
            }
            debug_assert_eq!(levels[level].len() as u64, id.index);
            levels[level].push(*hash);
        });
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Hash of a perfect subtree.
    pub fn node(&self, id: NodeId) -> Result<Hash, ProofError> {
        self.levels
            .get(id.level as usize)
            .and_then(|level| level.get(usize::try_from(id.index).ok()?))
            .copied()
            .ok_or(ProofError::TreeTooSmall {
                requested_size: id.leaves().end,
                available_size: self.size(),
            })
    }

    fn check_size(&self, tree_size: u64) -> Result<(), ProofError> {
        if tree_size > self.size() {
            return Err(ProofError::TreeTooSmall {
                requested_size: tree_size,
                available_size: self.size(),
            });
        }
        Ok(())
    }

    /// Root of the first `tree_size` leaves.
    pub fn root(&self, tree_size: u64) -> Result<Hash, ProofError> {
        self.check_size(tree_size)?;
        root_hash(tree_size, &mut |id| self.node(id))
    }

    /// Inclusion proof of `leaf_index` in the first `tree_size` leaves.
    pub fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, ProofError> {
        self.check_size(tree_size)?;
        inclusion_proof(leaf_index, tree_size, &mut |id| self.node(id))
    }

    /// Consistency proof from the first `old_size` to the first `new_size`
    /// leaves.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(new_size)?;
        consistency_proof(old_size, new_size, &mut |id| self.node(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn stored_hash_index_matches_append_order() {
        let mut frontier = Frontier::new();
        let mut position = 0u64;
        for leaf in 0..300u64 {
            frontier.push(leaf_hash(&leaf.to_be_bytes()), |id, _| {
                assert_eq!(stored_hash_index(id), position, "{id:?}");
                position += 1;
            });
            assert_eq!(stored_hash_count(leaf + 1), position);
        }
    }

    #[test]
    fn subtree_nodes_refuses_ranges_that_are_not_nodes() {
        assert!(subtree_nodes(3..3).is_err());
        assert!(subtree_nodes(1..3).is_err());
        assert!(subtree_nodes(2..6).is_err());
        assert_eq!(
            subtree_nodes(4..7).expect("4..7 is the right edge of a 7-leaf tree"),
            vec![NodeId { level: 1, index: 2 }, NodeId { level: 0, index: 6 }]
        );
    }
}
