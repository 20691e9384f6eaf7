//! Node keys and signed tree heads.
//!
//! A signed tree head commits a node to the first `tree_size` entries of its
//! log. The signature covers exactly these 62 bytes:
//!
//! ```text
//! b"tessera-sth-v1"        14 bytes, domain separation: a signature made for
//!                                    anything else (a TAXII page, a PSI
//!                                    message) can never pass for a tree head
//! tree_size                8 bytes, unsigned big-endian
//! timestamp_unix_ms        8 bytes, unsigned big-endian, ms since the Unix epoch
//! root_hash               32 bytes
//! ```
//!
//! Signatures are Ed25519 and checked with `verify_strict`, which refuses
//! small-order keys and non-canonical signatures, so a head has one valid
//! signature encoding per key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::LedgerError;
use crate::merkle::{HASH_BYTES, Hash, ProofError, verify_consistency};

/// Domain-separation prefix of the signed bytes.
pub const STH_DOMAIN: &[u8; 14] = b"tessera-sth-v1";

/// Length of [`SignedTreeHead::signed_bytes`].
pub const STH_SIGNED_BYTES: usize = STH_DOMAIN.len() + 8 + 8 + HASH_BYTES;

/// Domain separation for page signatures: what a node signs for a page is this, then the
/// SHA-256 of the page's canonical JSON ([`page_signed_bytes`]).
pub const PAGE_DOMAIN: &[u8; 15] = b"tessera-page-v1";

/// The bytes a page signature signs: [`PAGE_DOMAIN`] then SHA-256 of the page. Hashing first
/// makes a page's signature one SHA-256 pass over it (Ed25519 over the page itself hashes it
/// twice with SHA-512, two milliseconds for a 300 KB page), and the domain keeps a page
/// signature from being taken for a tree head's or any other signature of the key. Anyone
/// holding the page, the signature and the node's public key checks it with plain Ed25519
/// over these bytes.
pub fn page_signed_bytes(page: &[u8]) -> [u8; PAGE_DOMAIN.len() + HASH_BYTES] {
    use sha2::{Digest, Sha256};
    let mut bytes = [0u8; PAGE_DOMAIN.len() + HASH_BYTES];
    let (domain, digest) = bytes.split_at_mut(PAGE_DOMAIN.len());
    domain.copy_from_slice(PAGE_DOMAIN);
    digest.copy_from_slice(&Sha256::digest(page));
    bytes
}

/// Length of [`SignedTreeHead::to_bytes`].
pub const STH_BYTES: usize = 8 + 8 + HASH_BYTES + 64;

/// Longest key file accepted; a key file is 65 bytes, so anything much longer
/// is the wrong file.
const KEY_FILE_BYTES_MAX: u64 = 1024;

/// A node's commitment to the first `tree_size` entries of its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedTreeHead {
    /// Number of entries covered.
    pub tree_size: u64,
    /// Merkle Tree Hash of those entries.
    pub root_hash: Hash,
    /// When the node signed it, ms since the Unix epoch.
    pub timestamp_unix_ms: u64,
    /// Ed25519 signature over [`SignedTreeHead::signed_bytes`].
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    /// The exact bytes a tree head signature covers (module docs).
    pub fn signed_bytes(
        tree_size: u64,
        root_hash: &Hash,
        timestamp_unix_ms: u64,
    ) -> [u8; STH_SIGNED_BYTES] {
        let mut bytes = [0u8; STH_SIGNED_BYTES];
        let (domain, rest) = bytes.split_at_mut(STH_DOMAIN.len());
        domain.copy_from_slice(STH_DOMAIN);
        rest[..8].copy_from_slice(&tree_size.to_be_bytes());
        rest[8..16].copy_from_slice(&timestamp_unix_ms.to_be_bytes());
        rest[16..].copy_from_slice(root_hash);
        bytes
    }

    /// Whether the signature is valid for `key`.
    pub fn is_signed_by(&self, key: &NodePublicKey) -> bool {
        let message = Self::signed_bytes(self.tree_size, &self.root_hash, self.timestamp_unix_ms);
        let signature = Signature::from_bytes(&self.signature);
        key.0.verify_strict(&message, &signature).is_ok()
    }

    /// A fixed 112-byte encoding for storage and the wire: tree size and
    /// timestamp (big-endian), root hash, signature.
    pub fn to_bytes(&self) -> [u8; STH_BYTES] {
        let mut bytes = [0u8; STH_BYTES];
        bytes[..8].copy_from_slice(&self.tree_size.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.timestamp_unix_ms.to_be_bytes());
        bytes[16..48].copy_from_slice(&self.root_hash);
        bytes[48..].copy_from_slice(&self.signature);
        bytes
    }

    /// Reads [`SignedTreeHead::to_bytes`]; `None` if the length is wrong.
    /// Says nothing about the signature: check it with
    /// [`verify_peer_head`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; STH_BYTES] = bytes.try_into().ok()?;
        let (size, rest) = bytes.split_first_chunk::<8>()?;
        let (timestamp, rest) = rest.split_first_chunk::<8>()?;
        let (root, signature) = rest.split_first_chunk::<HASH_BYTES>()?;
        Some(Self {
            tree_size: u64::from_be_bytes(*size),
            timestamp_unix_ms: u64::from_be_bytes(*timestamp),
            root_hash: *root,
            signature: signature.try_into().ok()?,
        })
    }
}

/// Checks a peer's tree head against the peer's pinned public key.
pub fn verify_peer_head(
    peer: &str,
    key: &NodePublicKey,
    head: &SignedTreeHead,
) -> Result<(), LedgerError> {
    if head.is_signed_by(key) {
        Ok(())
    } else {
        Err(LedgerError::BadHeadSignature {
            peer: peer.to_string(),
            tree_size: head.tree_size,
        })
    }
}

/// Checks that `new` extends `old`, two heads from the same peer, with the
/// consistency proof the peer supplied. Signatures are not checked here (see
/// [`verify_peer_head`]). Fails with [`LedgerError::InconsistentHead`] naming
/// the peer and both sizes if the peer's log shrank, forked or was rewritten.
pub fn check_head_consistency(
    peer: &str,
    old: &SignedTreeHead,
    new: &SignedTreeHead,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    let inconsistent = |reason: ProofError| LedgerError::InconsistentHead {
        peer: peer.to_string(),
        old_size: old.tree_size,
        new_size: new.tree_size,
        reason,
    };
    verify_consistency(
        old.tree_size,
        new.tree_size,
        &old.root_hash,
        &new.root_hash,
        proof,
    )
    .map_err(inconsistent)?;
    if new.timestamp_unix_ms < old.timestamp_unix_ms {
        return Err(LedgerError::HeadTimestampRegressed {
            peer: peer.to_string(),
            old_timestamp_unix_ms: old.timestamp_unix_ms,
            new_timestamp_unix_ms: new.timestamp_unix_ms,
        });
    }
    Ok(())
}

/// A node's public key, as pinned in partners' configuration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NodePublicKey(VerifyingKey);

impl NodePublicKey {
    /// Parses 64 hex characters (the form [`NodePublicKey::to_hex`] prints).
    pub fn from_hex(text: &str) -> Result<Self, LedgerError> {
        let key_error = |detail: String| LedgerError::Key {
            path: PathBuf::from("<text>"),
            detail,
        };
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|error| {
            key_error(format!(
                "public key must be 64 hex characters (32 bytes): {error}"
            ))
        })?;
        Self::from_bytes(&bytes).map_err(key_error)
    }

    /// Reads a 32-byte Ed25519 public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, String> {
        VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|error| format!("not an Ed25519 public key: {error}"))
    }

    /// The 32 key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Lowercase hex, for configuration files.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Whether `signature` is this key's page signature over `message` (a page's canonical
    /// JSON, signed as [`page_signed_bytes`] says), checked strictly as tree heads are.
    pub fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0
            .verify_strict(
                &page_signed_bytes(message),
                &Signature::from_bytes(signature),
            )
            .is_ok()
    }
}

impl std::fmt::Debug for NodePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodePublicKey({})", self.to_hex())
    }
}

/// A node's Ed25519 signing key. Its `Debug` shows only the public half.
pub struct NodeKey {
    signing: SigningKey,
}

impl NodeKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, LedgerError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|error| LedgerError::Key {
            path: PathBuf::from("<generate>"),
            detail: format!("the OS random source failed: {error}"),
        })?;
        Ok(Self::from_seed(&seed))
    }

    /// A key from a 32-byte seed (the Ed25519 secret key). For tests and for
    /// keys held in an external secret store.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The public half.
    pub fn public_key(&self) -> NodePublicKey {
        NodePublicKey(self.signing.verifying_key())
    }

    /// A detached page signature over `message`: the RFC 8785 canonical JSON of a page the
    /// node serves, signed as [`page_signed_bytes`] says, so a receiver can prove later what
    /// the node sent it.
    pub fn sign_message(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(&page_signed_bytes(message)).to_bytes()
    }

    /// Signs a tree head.
    pub fn sign_head(
        &self,
        tree_size: u64,
        root_hash: Hash,
        timestamp_unix_ms: u64,
    ) -> SignedTreeHead {
        let message = SignedTreeHead::signed_bytes(tree_size, &root_hash, timestamp_unix_ms);
        SignedTreeHead {
            tree_size,
            root_hash,
            timestamp_unix_ms,
            signature: self.signing.sign(&message).to_bytes(),
        }
    }

    /// Writes the seed as hex to a new file readable only by its owner
    /// (0600). Refuses to overwrite an existing file, because losing a node
    /// key makes every head it signed unverifiable against a new one.
    pub fn save(&self, path: &Path) -> Result<(), LedgerError> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                LedgerError::Key {
                    path: path.to_path_buf(),
                    detail: "a key file already exists there; refusing to overwrite it".to_string(),
                }
            } else {
                LedgerError::io(path)(error)
            }
        })?;
        let text = format!("{}\n", hex::encode(self.signing.as_bytes()));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(LedgerError::io(path))
    }

    /// Reads a key written by [`NodeKey::save`]. Refuses a file that group or
    /// others can read or write, as ssh does.
    pub fn load(path: &Path) -> Result<Self, LedgerError> {
        let key_error = |detail: String| LedgerError::Key {
            path: path.to_path_buf(),
            detail,
        };
        let metadata = fs::metadata(path).map_err(LedgerError::io(path))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(key_error(format!(
                    "permissions {mode:o} let others read it; run `chmod 600 {}`",
                    path.display()
                )));
            }
        }
        if metadata.len() > KEY_FILE_BYTES_MAX {
            return Err(key_error(format!(
                "{} bytes is too long for a key file (64 hex characters expected)",
                metadata.len()
            )));
        }
        let text = fs::read_to_string(path).map_err(LedgerError::io(path))?;
        let mut seed = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut seed).map_err(|error| {
            key_error(format!(
                "must hold 64 hex characters (a 32-byte Ed25519 seed): {error}"
            ))
        })?;
        Ok(Self::from_seed(&seed))
    }
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKey(public {})", self.public_key().to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page signature is plain Ed25519 over the domain and the page's SHA-256, which a
    /// third party can check with any Ed25519 library; not over the page itself.
    #[test]
    fn page_signatures_sign_the_domain_and_the_digest() {
        use sha2::{Digest, Sha256};
        let key = NodeKey::from_seed(&[9; 32]);
        let page = br#"{"more":false,"objects":[]}"#;
        let signature = key.sign_message(page);
        let mut expected = b"tessera-page-v1".to_vec();
        expected.extend_from_slice(&Sha256::digest(page));
        assert_eq!(page_signed_bytes(page).to_vec(), expected);
        let verifying = VerifyingKey::from_bytes(&key.public_key().to_bytes()).unwrap();
        let signature_bytes = Signature::from_bytes(&signature);
        assert!(verifying.verify_strict(&expected, &signature_bytes).is_ok());
        assert!(verifying.verify_strict(page, &signature_bytes).is_err());
        assert!(key.public_key().verifies(page, &signature));
        assert!(!key.public_key().verifies(br#"{"more":true}"#, &signature));
        assert!(
            !NodeKey::from_seed(&[8; 32])
                .public_key()
                .verifies(page, &signature)
        );
    }

    #[test]
    fn signed_bytes_layout_is_stable() {
        let bytes = SignedTreeHead::signed_bytes(0x0102, &[0xaa; 32], 0x0304);
        assert_eq!(&bytes[..14], b"tessera-sth-v1");
        assert_eq!(&bytes[14..22], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(&bytes[22..30], &[0, 0, 0, 0, 0, 0, 3, 4]);
        assert_eq!(&bytes[30..], &[0xaa; 32]);
    }

    #[test]
    fn head_round_trips_and_refuses_other_keys_and_edits() {
        let key = NodeKey::from_seed(&[7; 32]);
        let other = NodeKey::from_seed(&[8; 32]);
        let head = key.sign_head(10, [3; 32], 1_700_000_000_000);
        assert!(head.is_signed_by(&key.public_key()));
        assert!(!head.is_signed_by(&other.public_key()));
        assert_eq!(SignedTreeHead::from_bytes(&head.to_bytes()), Some(head));
        for field in 0..3 {
            let mut edited = head;
            match field {
                0 => edited.tree_size += 1,
                1 => edited.timestamp_unix_ms += 1,
                _ => edited.root_hash[0] ^= 1,
            }
            assert!(!edited.is_signed_by(&key.public_key()));
        }
    }

    #[test]
    fn public_key_hex_round_trips() {
        let key = NodeKey::from_seed(&[9; 32]).public_key();
        assert_eq!(NodePublicKey::from_hex(&key.to_hex()).expect("valid"), key);
        assert!(NodePublicKey::from_hex("zz").is_err());
    }
}
