//! The Merkle core against independent references: the Certificate
//! Transparency project's published test vectors, and a naive recursive
//! transcription of RFC 9162 §2.1 written here with its own hashing.

use ledger::merkle::{
    self, Hash, MemoryTree, ProofError, consistency_proof_ranges, empty_root,
    inclusion_proof_ranges, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// RFC 9162 §2.1.1 MTH, recursively, straight from the definition.
fn naive_mth(leaves: &[Vec<u8>]) -> Hash {
    match leaves.len() {
        0 => sha256(&[]),
        1 => sha256(&[&[0x00], &leaves[0]]),
        n => {
            let k = naive_split(n);
            sha256(&[&[0x01], &naive_mth(&leaves[..k]), &naive_mth(&leaves[k..])])
        }
    }
}

fn naive_split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 §2.1.3.1 PATH.
fn naive_path(m: usize, leaves: &[Vec<u8>]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = naive_split(n);
    if m < k {
        let mut path = naive_path(m, &leaves[..k]);
        path.push(naive_mth(&leaves[k..]));
        path
    } else {
        let mut path = naive_path(m - k, &leaves[k..]);
        path.push(naive_mth(&leaves[..k]));
        path
    }
}

/// RFC 9162 §2.1.4.1 SUBPROOF.
fn naive_subproof(m: usize, leaves: &[Vec<u8>], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b {
            Vec::new()
        } else {
            vec![naive_mth(leaves)]
        };
    }
    let k = naive_split(n);
    if m <= k {
        let mut proof = naive_subproof(m, &leaves[..k], b);
        proof.push(naive_mth(&leaves[k..]));
        proof
    } else {
        let mut proof = naive_subproof(m - k, &leaves[k..], false);
        proof.push(naive_mth(&leaves[..k]));
        proof
    }
}

fn hex_hash(text: &str) -> Hash {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text, &mut hash).expect("test vector is 64 hex characters");
    hash
}

/// The leaves of the CT reference test suite (certificate-transparency's
/// merkle tree tests, also used by Trillian and transparency-dev/merkle).
fn ct_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|leaf| hex::decode(leaf).expect("hex leaf"))
    .collect()
}

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn roots_match_ct_test_vectors() {
    let leaves = ct_leaves();
    let tree = MemoryTree::from_leaves(&leaves);
    assert_eq!(empty_root(), hex_hash(CT_ROOTS[0]));
    for (size, expected) in CT_ROOTS.iter().enumerate() {
        let size_u64 = size as u64;
        assert_eq!(
            tree.root(size_u64).expect("size in range"),
            hex_hash(expected),
            "size {size}"
        );
        assert_eq!(
            naive_mth(&leaves[..size]),
            hex_hash(expected),
            "naive, size {size}"
        );
    }
}

#[test]
fn inclusion_proofs_match_ct_test_vectors() {
    let tree = MemoryTree::from_leaves(&ct_leaves());
    let cases: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (0, 1, &[]),
    ];
    for (index, size, expected) in cases {
        let expected: Vec<Hash> = expected.iter().map(|hash| hex_hash(hash)).collect();
        let proof = tree.inclusion_proof(index, size).expect("in range");
        assert_eq!(proof, expected, "leaf {index} of {size}");
        let leaf = merkle::leaf_hash(&ct_leaves()[index as usize]);
        verify_inclusion(
            &leaf,
            index,
            size,
            &proof,
            &hex_hash(CT_ROOTS[size as usize]),
        )
        .expect("CT vector verifies");
    }
}

#[test]
fn consistency_proofs_match_ct_test_vectors() {
    let tree = MemoryTree::from_leaves(&ct_leaves());
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, expected) in cases {
        let expected: Vec<Hash> = expected.iter().map(|hash| hex_hash(hash)).collect();
        let proof = tree.consistency_proof(old, new).expect("in range");
        assert_eq!(proof, expected, "{old} -> {new}");
        verify_consistency(
            old,
            new,
            &hex_hash(CT_ROOTS[old as usize]),
            &hex_hash(CT_ROOTS[new as usize]),
            &proof,
        )
        .expect("CT vector verifies");
    }
}

#[test]
fn edge_cases_are_decided() {
    let tree = MemoryTree::from_leaves(&ct_leaves());
    let root = tree.root(8).expect("in range");
    assert_eq!(verify_consistency(0, 8, &empty_root(), &root, &[]), Ok(()));
    assert_eq!(
        verify_consistency(0, 8, &root, &root, &[]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(verify_consistency(8, 8, &root, &root, &[]), Ok(()));
    assert!(verify_consistency(8, 8, &root, &[0; 32], &[]).is_err());
    assert!(verify_consistency(8, 7, &root, &root, &[]).is_err());
    assert!(verify_consistency(3, 8, &root, &root, &[]).is_err());
    assert!(verify_inclusion(&root, 8, 8, &[], &root).is_err());
    assert!(inclusion_proof_ranges(8, 8).is_err());
    assert!(consistency_proof_ranges(9, 8).is_err());
    assert!(tree.inclusion_proof(0, 9).is_err());
    let too_long = vec![[0u8; 32]; merkle::MAX_PROOF_HASHES + 1];
    assert!(matches!(
        verify_inclusion(&root, 0, 8, &too_long, &root),
        Err(ProofError::ProofTooLong { .. })
    ));
}

#[test]
fn every_small_tree_matches_the_naive_reference() {
    let leaves: Vec<Vec<u8>> = (0..70u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let tree = MemoryTree::from_leaves(&leaves);
    for n in 1..=leaves.len() {
        let prefix = &leaves[..n];
        let n_u64 = n as u64;
        let root = tree.root(n_u64).expect("in range");
        assert_eq!(root, naive_mth(prefix), "root of {n}");
        for m in 0..n {
            let proof = tree.inclusion_proof(m as u64, n_u64).expect("in range");
            assert_eq!(proof, naive_path(m, prefix), "path {m} of {n}");
        }
        for m in 1..=n {
            let proof = tree.consistency_proof(m as u64, n_u64).expect("in range");
            assert_eq!(proof, naive_subproof(m, prefix, true), "proof {m} -> {n}");
        }
    }
}

fn flipped(hash: &Hash, byte: usize, bit: u8) -> Hash {
    let mut copy = *hash;
    copy[byte % 32] ^= 1 << (bit % 8);
    copy
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_inclusion_proof_verifies_and_any_flip_fails(
        n in 1usize..300,
        seed in any::<u64>(),
        byte in 0usize..32,
        bit in 0u8..8,
    ) {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| format!("{seed}:{i}").into_bytes()).collect();
        let tree = MemoryTree::from_leaves(&leaves);
        let n_u64 = n as u64;
        let root = naive_mth(&leaves);
        prop_assert_eq!(tree.root(n_u64).expect("in range"), root);
        for (m, leaf_bytes) in leaves.iter().enumerate() {
            let m_u64 = m as u64;
            let leaf = merkle::leaf_hash(leaf_bytes);
            let proof = tree.inclusion_proof(m_u64, n_u64).expect("in range");
            prop_assert_eq!(verify_inclusion(&leaf, m_u64, n_u64, &proof, &root), Ok(()));
            prop_assert!(verify_inclusion(&flipped(&leaf, byte, bit), m_u64, n_u64, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, m_u64, n_u64, &proof, &flipped(&root, byte, bit)).is_err());
            for position in 0..proof.len() {
                let mut bad = proof.clone();
                bad[position] = flipped(&bad[position], byte, bit);
                prop_assert!(verify_inclusion(&leaf, m_u64, n_u64, &bad, &root).is_err());
            }
            // A proof for one index or size never passes for another.
            if n > 1 {
                let other = (m + 1) % n;
                prop_assert!(verify_inclusion(&leaf, other as u64, n_u64, &proof, &root).is_err());
            }
            let mut short = proof.clone();
            if short.pop().is_some() {
                prop_assert!(verify_inclusion(&leaf, m_u64, n_u64, &short, &root).is_err());
            }
            let mut long = proof.clone();
            long.push(root);
            prop_assert!(verify_inclusion(&leaf, m_u64, n_u64, &long, &root).is_err());
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_any_flip_fails(
        n in 1usize..300,
        seed in any::<u64>(),
        byte in 0usize..32,
        bit in 0u8..8,
    ) {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| format!("{seed}/{i}").into_bytes()).collect();
        let tree = MemoryTree::from_leaves(&leaves);
        let n_u64 = n as u64;
        let new_root = naive_mth(&leaves);
        for m in 1..=n {
            let m_u64 = m as u64;
            let old_root = naive_mth(&leaves[..m]);
            let proof = tree.consistency_proof(m_u64, n_u64).expect("in range");
            prop_assert_eq!(verify_consistency(m_u64, n_u64, &old_root, &new_root, &proof), Ok(()));
            prop_assert!(verify_consistency(m_u64, n_u64, &flipped(&old_root, byte, bit), &new_root, &proof).is_err());
            prop_assert!(verify_consistency(m_u64, n_u64, &old_root, &flipped(&new_root, byte, bit), &proof).is_err());
            for position in 0..proof.len() {
                let mut bad = proof.clone();
                bad[position] = flipped(&bad[position], byte, bit);
                prop_assert!(verify_consistency(m_u64, n_u64, &old_root, &new_root, &bad).is_err());
            }
            if m < n {
                let mut short = proof.clone();
                short.pop();
                prop_assert!(verify_consistency(m_u64, n_u64, &old_root, &new_root, &short).is_err());
            }
            let mut long = proof.clone();
            long.push(new_root);
            prop_assert!(verify_consistency(m_u64, n_u64, &old_root, &new_root, &long).is_err());
        }
    }

    #[test]
    fn a_different_history_is_never_consistent(
        n in 2usize..120,
        split in 0usize..120,
        seed in any::<u64>(),
    ) {
        // Same first k leaves, then a different leaf k and more: no proof the
        // honest tree can produce links the old head to the forked tree.
        let k = split % (n - 1);
        let honest: Vec<Vec<u8>> = (0..n).map(|i| format!("{seed}-{i}").into_bytes()).collect();
        let mut forked = honest.clone();
        forked[k] = b"rewritten".to_vec();
        let honest_tree = MemoryTree::from_leaves(&honest);
        let forked_tree = MemoryTree::from_leaves(&forked);
        let old_size = (k + 1) as u64;
        let old_root = honest_tree.root(old_size).expect("in range");
        let forked_root = forked_tree.root(n as u64).expect("in range");
        let forked_proof = forked_tree.consistency_proof(old_size, n as u64).expect("in range");
        prop_assert!(verify_consistency(old_size, n as u64, &old_root, &forked_root, &forked_proof).is_err());
        let honest_proof = honest_tree.consistency_proof(old_size, n as u64).expect("in range");
        prop_assert!(verify_consistency(old_size, n as u64, &old_root, &forked_root, &honest_proof).is_err());
    }
}
