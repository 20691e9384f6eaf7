//! The peers a node pulls from (`tessera peer add|list|remove`): each peer's TAXII address,
//! the bearer token the peer issued to this node, and the peer's pinned public key.
//!
//! `peers.json` holds tokens, so it is written with mode 0600, and edits take the same lock
//! as the token table's.

use std::path::{Path, PathBuf};

use ledger::NodePublicKey;
use serde::{Deserialize, Serialize};

use crate::files::{micros_text, now_micros, write_atomically};

pub const PEERS_FILE: &str = "peers.json";
/// Peers one node pulls from; more is a configuration mistake, not a federation.
pub const PEERS_MAX: usize = 256;
const NAME_BYTES_MAX: usize = 64;
const URL_BYTES_MAX: usize = 2_048;
const TOKEN_BYTES_MAX: usize = 512;
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PeersError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("no peer named {0:?} (see `tessera peer list`)")]
    Unknown(String),
    #[error("a peer named {0:?} exists already; remove it first to change it")]
    Exists(String),
}

/// One peer, as pinned.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// This node's name for the peer (also its name in the ledger and in source labels).
    pub name: String,
    /// The peer's base URL (`http://host:port`); discovery is at `/taxii2/`.
    pub url: String,
    /// The token the peer issued to this node.
    pub token: String,
    /// The peer's Ed25519 public key (hex): every page and tree head must verify against it.
    pub public_key: String,
    pub added: String,
    /// How to reach an `https://` peer whose certificate no public CA signed, or that asks
    /// for this node's certificate (mutual TLS). Kept as PEM text in this 0600 file, so the
    /// pin does not depend on files elsewhere staying in place.
    #[serde(default, skip_serializing_if = "PeerTls::is_empty")]
    pub tls: PeerTls,
}

/// A peer's TLS trust and this node's client identity towards it, as PEM text.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerTls {
    /// Trust only these CA certificates for the peer (else the public web PKI roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// This node's certificate chain and key, for a peer that requires client certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_pem: Option<String>,
}

/// Largest PEM text kept per field.
const PEM_BYTES_MAX: usize = 256 << 10;

impl PeerTls {
    pub fn is_empty(&self) -> bool {
        self.ca_pem.is_none()
            && self.client_certificate_pem.is_none()
            && self.client_key_pem.is_none()
    }

    /// Checks that the PEM texts parse and that a client certificate comes with its key.
    pub fn check(&self) -> Result<(), PeersError> {
        let invalid = |what: &str, detail: String| PeersError::Invalid(format!("{what}: {detail}"));
        for (what, pem) in [
            ("--ca", &self.ca_pem),
            ("--client-certificate", &self.client_certificate_pem),
            ("--client-key", &self.client_key_pem),
        ] {
            if pem.as_ref().is_some_and(|p| p.len() > PEM_BYTES_MAX) {
                return Err(invalid(what, format!("larger than {PEM_BYTES_MAX} bytes")));
            }
        }
        if let Some(pem) = &self.ca_pem {
            certificates(pem).map_err(|e| invalid("--ca", e))?;
        }
        match (&self.client_certificate_pem, &self.client_key_pem) {
            (None, None) => {}
            (Some(chain), Some(key)) => {
                certificates(chain).map_err(|e| invalid("--client-certificate", e))?;
                ureq::tls::PrivateKey::from_pem(key.as_bytes())
                    .map_err(|e| invalid("--client-key", e.to_string()))?;
            }
            _ => {
                return Err(PeersError::Invalid(
                    "--client-certificate and --client-key go together".into(),
                ));
            }
        }
        Ok(())
    }

    /// The sync client's TLS settings (checked by [`PeerTls::check`] when the peer was added).
    pub fn client_config(&self) -> Result<ureq::tls::TlsConfig, String> {
        let mut builder = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
        if let Some(pem) = &self.ca_pem {
            builder = builder.root_certs(ureq::tls::RootCerts::new_with_certs(&certificates(pem)?));
        }
        if let (Some(chain), Some(key)) = (&self.client_certificate_pem, &self.client_key_pem) {
            let key = ureq::tls::PrivateKey::from_pem(key.as_bytes()).map_err(|e| e.to_string())?;
            builder = builder.client_cert(Some(ureq::tls::ClientCert::new_with_certs(
                &certificates(chain)?,
                key,
            )));
        }
        Ok(builder.build())
    }
}

/// Every certificate of a PEM text, as the sync client takes them.
fn certificates(pem: &str) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    Ok(crate::tls::pem_certificates(pem.as_bytes())?
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
        .collect())
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// Checks a peer given on the command line, normalising its URL to the base.
    pub fn new(name: &str, url: &str, token: &str, public_key: &str) -> Result<Peer, PeersError> {
        check_name(name)?;
        let url = base_url(url)?;
        if token.is_empty() || token.len() > TOKEN_BYTES_MAX || !token.is_ascii() {
            return Err(PeersError::Invalid(format!(
                "the token must be 1 to {TOKEN_BYTES_MAX} ASCII characters"
            )));
        }
        let key = NodePublicKey::from_hex(public_key)
            .map_err(|e| PeersError::Invalid(format!("--key: {e}")))?;
        Ok(Peer {
            name: name.to_string(),
            url,
            token: token.to_string(),
            public_key: key.to_hex(),
            added: micros_text(now_micros()),
            tls: PeerTls::default(),
        })
    }

    /// The same peer reached with these TLS settings, once they check out.
    pub fn with_tls(self, tls: PeerTls) -> Result<Peer, PeersError> {
        tls.check()?;
        if !tls.is_empty() && !self.url.starts_with("https://") {
            return Err(PeersError::Invalid(format!(
                "TLS settings were given for {}, which is not an https:// address",
                self.url
            )));
        }
        Ok(Peer { tls, ..self })
    }

    pub fn key(&self) -> Result<NodePublicKey, PeersError> {
        NodePublicKey::from_hex(&self.public_key).map_err(|e| {
            PeersError::Invalid(format!("the pinned key of peer {:?}: {e}", self.name))
        })
    }
}

/// A peer's name: it becomes a file name, a source label and a ledger field.
pub fn check_name(name: &str) -> Result<(), PeersError> {
    if name.is_empty()
        || name.len() > NAME_BYTES_MAX
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        || name.starts_with('.')
    {
        return Err(PeersError::Invalid(format!(
            "peer name {name:?}: use 1 to {NAME_BYTES_MAX} letters, digits, '-', '_' or '.', not starting with '.'"
        )));
    }
    Ok(())
}

/// `http://host:port` from that or from the discovery URL (`.../taxii2/`).
pub fn base_url(url: &str) -> Result<String, PeersError> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/taxii2").unwrap_or(trimmed);
    if trimmed.len() > URL_BYTES_MAX
        || !(trimmed.starts_with("http://") || trimmed.starts_with("https://"))
        || trimmed.contains(char::is_whitespace)
    {
        return Err(PeersError::Invalid(format!(
            "--url {url:?}: give the peer's http:// or https:// address, e.g. http://10.0.0.7:8421"
        )));
    }
    Ok(trimmed.to_string())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    version: u32,
    peers: Vec<Peer>,
}

/// Every peer of a node; none when the file does not exist.
pub fn load(data_dir: &Path) -> Result<Vec<Peer>, PeersError> {
    let path = data_dir.join(PEERS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(PeersError::Io { path, source }),
    };
    let corrupt = |message: String| PeersError::Corrupt {
        path: path.clone(),
        message,
    };
    let file: FileFormat = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if file.version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "format version {} (this build reads {FORMAT_VERSION})",
            file.version
        )));
    }
    if file.peers.len() > PEERS_MAX {
        return Err(corrupt(format!(
            "{} peers; the limit is {PEERS_MAX}",
            file.peers.len()
        )));
    }
    for peer in &file.peers {
        check_name(&peer.name).map_err(|e| corrupt(e.to_string()))?;
        peer.key().map_err(|e| corrupt(e.to_string()))?;
    }
    Ok(file.peers)
}

fn save(data_dir: &Path, peers: Vec<Peer>) -> Result<(), PeersError> {
    let path = data_dir.join(PEERS_FILE);
    let mut bytes = serde_json::to_vec_pretty(&FileFormat {
        version: FORMAT_VERSION,
        peers,
    })
    .map_err(|e| PeersError::Corrupt {
        path: path.clone(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    write_atomically(&path, &bytes, 0o600).map_err(|source| PeersError::Io { path, source })
}

fn lock(data_dir: &Path) -> Result<crate::files::EditLock, PeersError> {
    crate::files::lock(data_dir).map_err(|source| PeersError::Io {
        path: data_dir.join(crate::files::LOCK_FILE),
        source,
    })
}

pub fn add(data_dir: &Path, peer: Peer) -> Result<(), PeersError> {
    let _lock = lock(data_dir)?;
    let mut peers = load(data_dir)?;
    if peers.iter().any(|p| p.name == peer.name) {
        return Err(PeersError::Exists(peer.name));
    }
    if peers.len() >= PEERS_MAX {
        return Err(PeersError::Invalid(format!(
            "this node has {PEERS_MAX} peers, the limit"
        )));
    }
    peers.push(peer);
    save(data_dir, peers)
}

pub fn remove(data_dir: &Path, name: &str) -> Result<Peer, PeersError> {
    let _lock = lock(data_dir)?;
    let mut peers = load(data_dir)?;
    let at = peers
        .iter()
        .position(|p| p.name == name)
        .ok_or_else(|| PeersError::Unknown(name.to_string()))?;
    let removed = peers.remove(at);
    save(data_dir, peers)?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_reduced_to_the_base_and_names_checked() {
        assert_eq!(
            base_url("http://127.0.0.1:8421/taxii2/").unwrap(),
            "http://127.0.0.1:8421"
        );
        assert_eq!(
            base_url("https://node.example/").unwrap(),
            "https://node.example"
        );
        assert!(base_url("ftp://x").is_err());
        assert!(check_name("bka-de").is_ok());
        assert!(check_name("../etc").is_err());
        assert!(check_name("").is_err());
    }

    #[test]
    fn peers_are_added_once_listed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let key = ledger::NodeKey::from_seed(&[3; 32]).public_key().to_hex();
        let peer = Peer::new("a", "http://127.0.0.1:1/taxii2/", "t0k", &key).unwrap();
        add(dir.path(), peer.clone()).unwrap();
        assert!(matches!(
            add(dir.path(), peer.clone()),
            Err(PeersError::Exists(_))
        ));
        assert_eq!(load(dir.path()).unwrap(), vec![peer]);
        remove(dir.path(), "a").unwrap();
        assert!(load(dir.path()).unwrap().is_empty());
        assert!(matches!(
            remove(dir.path(), "a"),
            Err(PeersError::Unknown(_))
        ));
        assert!(Peer::new("b", "http://x", "t", "zz").is_err());
    }
}
