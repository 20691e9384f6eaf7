//! Partners and their bearer tokens.
//!
//! Who a partner is (name, organisation identity, role) lives in the policy file, because the
//! policy decides what each one sees. Their tokens live in `<data-dir>/partners.json` (mode
//! 0600), as SHA-256 digests only: the token itself is shown once, when it is issued, and a
//! leaked copy of the file lets nobody in. A request's token is hashed and compared with every
//! active digest in constant time.
//!
//! A partner may also be bound to its machine's client certificate (the SHA-256 of its DER,
//! [`bind`]): the server then takes that partner's token only on a mutual-TLS connection that
//! presented exactly that certificate, so a leaked token is no use from another machine, not
//! even from one holding another certificate of the federation's CA.
//!
//! [`add`], [`revoke`], [`bind`] and [`list`] are what `tessera partner` calls; each takes the edit lock,
//! so two edits at once cannot lose each other's change, and writes the policy before the
//! tokens, so a running server never accepts a token for a partner its policy does not know.

use std::path::{Path, PathBuf};

use policy::{Partner, Policy, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::files::{micros_text, now_micros, write_atomically};
use crate::policy_file::{self, PolicyFileError};

/// The token table's name inside the data directory.
pub const PARTNERS_FILE: &str = "partners.json";
/// What every token starts with, so that secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "tsr_";
/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Most partners the table holds, revoked ones included.
pub const PARTNERS_MAX: usize = 10_000;

/// Why a partner command failed.
#[derive(Debug, thiserror::Error)]
pub enum PartnersError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a token table: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error(transparent)]
    PolicyFile(#[from] PolicyFileError),
    #[error("the policy refuses the change: {0}")]
    Policy(#[from] policy::PolicyError),
    #[error(
        "partner {name:?} already has an active token; revoke it first (`tessera partner revoke {name}`)"
    )]
    AlreadyActive { name: String },
    #[error("partner {name:?} is in the policy as {found}; edit {file} to change it")]
    Differs {
        name: String,
        found: String,
        file: String,
    },
    #[error("no partner named {name:?} has a token")]
    NoToken { name: String },
    #[error("no partner named {name:?} has (or had) a token; `tessera partner add {name}` first")]
    NoRecord { name: String },
    #[error(transparent)]
    Certificate(#[from] crate::tls::TlsError),
    #[error("the token table is full ({PARTNERS_MAX} partners)")]
    Full,
    #[error("the system's random number generator failed: {0}")]
    Random(String),
}

/// A freshly issued bearer token. Shown once; only its digest is kept.
pub struct Token(String);

impl Token {
    /// The secret, to hand to the partner.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<secret>)")
    }
}

/// One partner's entry in the token table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub name: String,
    /// SHA-256 of the active token; `None` once revoked.
    pub token_sha256: Option<[u8; 32]>,
    pub issued_micros: i64,
    pub revoked_micros: Option<i64>,
    /// SHA-256 of the DER of the only client certificate this partner's token is taken with;
    /// `None`: any connection (any certificate the client CA issued, when the server asks
    /// for one).
    pub certificate_sha256: Option<[u8; 32]>,
}

/// The token table of a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerBook {
    records: Vec<TokenRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    version: u32,
    partners: Vec<FileRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRecord {
    name: String,
    token_sha256: Option<String>,
    issued: String,
    issued_micros: i64,
    revoked: Option<String>,
    revoked_micros: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate_sha256: Option<String>,
}

const FORMAT_VERSION: u32 = 1;

impl PartnerBook {
    /// Reads the token table of a data directory; an empty table when there is none.
    pub fn load(data_dir: &Path) -> Result<PartnerBook, PartnersError> {
        let path = data_dir.join(PARTNERS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(PartnerBook::default());
            }
            Err(source) => return Err(PartnersError::Io { path, source }),
        };
        let corrupt = |message: String| PartnersError::Corrupt {
            path: path.clone(),
            message,
        };
        let file: FileFormat =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if file.version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                file.version
            )));
        }
        if file.partners.len() > PARTNERS_MAX {
            return Err(corrupt(format!(
                "{} partners; the limit is {PARTNERS_MAX}",
                file.partners.len()
            )));
        }
        let mut records = Vec::with_capacity(file.partners.len());
        for record in file.partners {
            let digest_of = |text: &Option<String>, what: &str| -> Result<_, PartnersError> {
                match text {
                    Some(text) => {
                        let mut digest = [0u8; 32];
                        hex::decode_to_slice(text, &mut digest).map_err(|e| {
                            corrupt(format!("the {what} digest of {:?}: {e}", record.name))
                        })?;
                        Ok(Some(digest))
                    }
                    None => Ok(None),
                }
            };
            let token_sha256 = digest_of(&record.token_sha256, "token")?;
            let certificate_sha256 = digest_of(&record.certificate_sha256, "certificate")?;
            records.push(TokenRecord {
                name: record.name,
                token_sha256,
                issued_micros: record.issued_micros,
                revoked_micros: record.revoked_micros,
                certificate_sha256,
            });
        }
        Ok(PartnerBook { records })
    }

    /// Writes the table atomically, readable by the owner only.
    pub fn save(&self, data_dir: &Path) -> Result<(), PartnersError> {
        let path = data_dir.join(PARTNERS_FILE);
        let file = FileFormat {
            version: FORMAT_VERSION,
            partners: self
                .records
                .iter()
                .map(|r| FileRecord {
                    name: r.name.clone(),
                    token_sha256: r.token_sha256.map(hex::encode),
                    issued: micros_text(r.issued_micros),
                    issued_micros: r.issued_micros,
                    revoked: r.revoked_micros.map(micros_text),
                    revoked_micros: r.revoked_micros,
                    certificate_sha256: r.certificate_sha256.map(hex::encode),
                })
                .collect(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| PartnersError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        write_atomically(&path, &bytes, 0o600).map_err(|source| PartnersError::Io { path, source })
    }

    /// Every partner that has (or had) a token.
    pub fn records(&self) -> &[TokenRecord] {
        &self.records
    }

    /// The record of this partner.
    pub fn record(&self, name: &str) -> Option<&TokenRecord> {
        self.records.iter().find(|r| r.name == name)
    }

    /// Issues a new token for `name`, replacing a revoked one.
    pub fn issue(&mut self, name: &str) -> Result<Token, PartnersError> {
        if self.record(name).is_some_and(|r| r.token_sha256.is_some()) {
            return Err(PartnersError::AlreadyActive {
                name: name.to_string(),
            });
        }
        let mut random = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut random).map_err(|e| PartnersError::Random(e.to_string()))?;
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(random));
        let mut record = TokenRecord {
            name: name.to_string(),
            token_sha256: Some(digest(&secret)),
            issued_micros: now_micros(),
            revoked_micros: None,
            certificate_sha256: None,
        };
        match self.records.iter_mut().find(|r| r.name == name) {
            // A new token for the same partner stays bound to the partner's machine.
            Some(existing) => {
                record.certificate_sha256 = existing.certificate_sha256;
                *existing = record;
            }
            None => {
                if self.records.len() >= PARTNERS_MAX {
                    return Err(PartnersError::Full);
                }
                self.records.push(record);
            }
        }
        Ok(Token(secret))
    }

    /// Revokes the active token of `name`.
    pub fn revoke(&mut self, name: &str) -> Result<(), PartnersError> {
        match self
            .records
            .iter_mut()
            .find(|r| r.name == name && r.token_sha256.is_some())
        {
            Some(record) => {
                record.token_sha256 = None;
                record.revoked_micros = Some(now_micros());
                Ok(())
            }
            None => Err(PartnersError::NoToken {
                name: name.to_string(),
            }),
        }
    }

    /// Binds `name`'s token to one client certificate (by the SHA-256 of its DER), or unbinds
    /// it with `None`.
    pub fn bind(
        &mut self,
        name: &str,
        certificate_sha256: Option<[u8; 32]>,
    ) -> Result<(), PartnersError> {
        match self.records.iter_mut().find(|r| r.name == name) {
            Some(record) => {
                record.certificate_sha256 = certificate_sha256;
                Ok(())
            }
            None => Err(PartnersError::NoRecord {
                name: name.to_string(),
            }),
        }
    }

    /// The record of the partner whose active token this is. Every active digest is compared,
    /// in constant time, whatever matches first, so the time taken says nothing about the token.
    pub fn authenticate(&self, presented: &str) -> Option<&TokenRecord> {
        use subtle::ConstantTimeEq;
        let presented = digest(presented);
        let mut found: Option<&TokenRecord> = None;
        for record in &self.records {
            if let Some(stored) = &record.token_sha256 {
                let same: bool = stored.ct_eq(&presented).into();
                if same && found.is_none() {
                    found = Some(record);
                }
            }
        }
        found
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What [`add`] did.
#[derive(Debug)]
pub struct Added {
    pub partner: Partner,
    pub token: Token,
    /// Whether the partner was new to the policy (false: it was already there, e.g. written
    /// by hand, and only a token was issued).
    pub added_to_policy: bool,
}

/// Registers a partner in the policy (unless it is already there) and issues its token.
///
/// `identity_ref` names the partner's organisation (a STIX `identity` id); without one, a new
/// identity id is made up for a new partner.
pub fn add(
    data_dir: &Path,
    name: &str,
    role: Option<Role>,
    identity_ref: Option<&str>,
    certificate_sha256: Option<[u8; 32]>,
) -> Result<Added, PartnersError> {
    std::fs::create_dir_all(data_dir).map_err(|source| PartnersError::Io {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let _lock = lock(data_dir)?;
    let mut policy = policy_file::load(data_dir)?.unwrap_or_else(Policy::new);
    let file = policy_file::path(data_dir).display().to_string();
    let mut book = PartnerBook::load(data_dir)?;
    if book.record(name).is_some_and(|r| r.token_sha256.is_some()) {
        return Err(PartnersError::AlreadyActive {
            name: name.to_string(),
        });
    }
    let (partner, added_to_policy) = match policy.partner(name) {
        Some(existing) => {
            if let Some(role) = role
                && role != existing.role
            {
                return Err(PartnersError::Differs {
                    name: name.to_string(),
                    found: format!("role {}", existing.role.name()),
                    file,
                });
            }
            if let Some(identity) = identity_ref
                && identity != existing.identity_ref
            {
                return Err(PartnersError::Differs {
                    name: name.to_string(),
                    found: format!("identity {}", existing.identity_ref),
                    file,
                });
            }
            (existing.clone(), false)
        }
        None => {
            let identity = match identity_ref {
                Some(identity) => identity.to_string(),
                None => format!("identity--{}", uuid::Uuid::new_v4()),
            };
            let partner = Partner::new(name, identity, role.unwrap_or(Role::Partner));
            policy.add_partner(partner.clone())?;
            (partner, true)
        }
    };
    let token = book.issue(name)?;
    if certificate_sha256.is_some() {
        book.bind(name, certificate_sha256)?;
    }
    // The policy first: a server that sees the new token must already know the partner.
    if added_to_policy {
        policy_file::save(data_dir, &policy)?;
    }
    book.save(data_dir)?;
    Ok(Added {
        partner,
        token,
        added_to_policy,
    })
}

/// Revokes a partner's token. The partner stays in the policy (rules and groups may name it);
/// a new `add` issues a fresh token.
pub fn revoke(data_dir: &Path, name: &str) -> Result<TokenRecord, PartnersError> {
    let _lock = lock(data_dir)?;
    let mut book = PartnerBook::load(data_dir)?;
    book.revoke(name)?;
    book.save(data_dir)?;
    Ok(book
        .record(name)
        .cloned()
        .expect("revoke succeeded, so the record exists"))
}

/// Binds a partner's token to the client certificate with this digest
/// ([`certificate_digest`]), or unbinds it with `None`.
pub fn bind(
    data_dir: &Path,
    name: &str,
    digest: Option<[u8; 32]>,
) -> Result<TokenRecord, PartnersError> {
    let _lock = lock(data_dir)?;
    let mut book = PartnerBook::load(data_dir)?;
    book.bind(name, digest)?;
    book.save(data_dir)?;
    Ok(book
        .record(name)
        .cloned()
        .expect("bind succeeded, so the record exists"))
}

/// The SHA-256 of the DER of the first certificate in a PEM file: what a server compares with
/// the certificate a client presents in its handshake.
pub fn certificate_digest(path: &Path) -> Result<[u8; 32], PartnersError> {
    let chain = crate::tls::certificates(path)?;
    // `certificates` refuses a file without a certificate, so the first is there.
    Ok(crate::tls::certificate_sha256(chain[0].as_ref()))
}

/// One line of `tessera partner list`: a partner of the policy, a token holder, or both.
#[derive(Debug, Clone)]
pub struct Listing {
    pub name: String,
    /// `None` when the token table names a partner the policy no longer knows.
    pub partner: Option<Partner>,
    pub token: Option<TokenRecord>,
}

/// Every partner of the policy and every token holder, in policy order then table order.
pub fn list(data_dir: &Path) -> Result<Vec<Listing>, PartnersError> {
    let policy = policy_file::load(data_dir)?.unwrap_or_else(Policy::new);
    let book = PartnerBook::load(data_dir)?;
    let mut out: Vec<Listing> = policy
        .partners()
        .iter()
        .map(|p| Listing {
            name: p.name.clone(),
            partner: Some(p.clone()),
            token: book.record(&p.name).cloned(),
        })
        .collect();
    for record in book.records() {
        if policy.partner(&record.name).is_none() {
            out.push(Listing {
                name: record.name.clone(),
                partner: None,
                token: Some(record.clone()),
            });
        }
    }
    Ok(out)
}

fn lock(data_dir: &Path) -> Result<crate::files::EditLock, PartnersError> {
    crate::files::lock(data_dir).map_err(|source| PartnersError::Io {
        path: data_dir.join(crate::files::LOCK_FILE),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name of the partner a token authenticates as.
    fn holder<'b>(book: &'b PartnerBook, token: &str) -> Option<&'b str> {
        book.authenticate(token).map(|r| r.name.as_str())
    }

    #[test]
    fn tokens_authenticate_until_revoked_and_only_digests_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let added = add(dir.path(), "bfv", None, None, None).unwrap();
        assert!(added.added_to_policy);
        assert!(added.token.secret().starts_with(TOKEN_PREFIX));
        let text = std::fs::read_to_string(dir.path().join(PARTNERS_FILE)).unwrap();
        assert!(!text.contains(added.token.secret()));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(PARTNERS_FILE))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);

        let book = PartnerBook::load(dir.path()).unwrap();
        assert_eq!(holder(&book, added.token.secret()), Some("bfv"));
        assert_eq!(holder(&book, "tsr_wrong"), None);
        assert!(matches!(
            add(dir.path(), "bfv", None, None, None),
            Err(PartnersError::AlreadyActive { .. })
        ));

        revoke(dir.path(), "bfv").unwrap();
        let book = PartnerBook::load(dir.path()).unwrap();
        assert_eq!(holder(&book, added.token.secret()), None);
        let again = add(dir.path(), "bfv", Some(Role::Partner), None, None).unwrap();
        assert!(!again.added_to_policy);
        assert_ne!(again.token.secret(), added.token.secret());
        assert!(matches!(
            add(dir.path(), "bfv", Some(Role::Analyst), None, None),
            Err(PartnersError::AlreadyActive { .. })
        ));

        let policy = policy_file::load(dir.path()).unwrap().unwrap();
        assert_eq!(policy.partner("bfv").unwrap().role, Role::Partner);
        let listing = list(dir.path()).unwrap();
        assert_eq!(listing.len(), 1);
    }

    /// The binding is kept in the file, survives a new token for the same partner, and goes
    /// with `None`; a table written before bindings existed still reads.
    #[test]
    fn a_certificate_binding_is_kept_across_tokens_until_taken_away() {
        let dir = tempfile::tempdir().unwrap();
        let added = add(dir.path(), "bfv", None, None, None).unwrap();
        let before = std::fs::read_to_string(dir.path().join(PARTNERS_FILE)).unwrap();
        assert!(!before.contains("certificate_sha256"), "{before}");
        assert!(matches!(
            PartnerBook::load(dir.path())
                .unwrap()
                .bind("nobody", Some([1; 32])),
            Err(PartnersError::NoRecord { .. })
        ));

        let mut book = PartnerBook::load(dir.path()).unwrap();
        book.bind("bfv", Some([7; 32])).unwrap();
        book.save(dir.path()).unwrap();
        let book = PartnerBook::load(dir.path()).unwrap();
        assert_eq!(
            book.record("bfv").unwrap().certificate_sha256,
            Some([7; 32])
        );
        assert_eq!(holder(&book, added.token.secret()), Some("bfv"));

        revoke(dir.path(), "bfv").unwrap();
        let again = add(dir.path(), "bfv", None, None, None).unwrap();
        let book = PartnerBook::load(dir.path()).unwrap();
        assert_eq!(holder(&book, again.token.secret()), Some("bfv"));
        assert_eq!(
            book.record("bfv").unwrap().certificate_sha256,
            Some([7; 32])
        );

        let mut book = book;
        book.bind("bfv", None).unwrap();
        book.save(dir.path()).unwrap();
        let book = PartnerBook::load(dir.path()).unwrap();
        assert_eq!(book.record("bfv").unwrap().certificate_sha256, None);

        // A damaged digest is refused with the partner's name, not read as no binding.
        let text = std::fs::read_to_string(dir.path().join(PARTNERS_FILE)).unwrap();
        let damaged = text.replacen(
            "\"revoked_micros\": null",
            "\"revoked_micros\": null,\n      \"certificate_sha256\": \"zz\"",
            1,
        );
        assert_ne!(damaged, text);
        std::fs::write(dir.path().join(PARTNERS_FILE), damaged).unwrap();
        let error = PartnerBook::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("certificate digest of \"bfv\""), "{error}");
    }

    #[test]
    fn a_name_the_policy_refuses_issues_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            add(dir.path(), "", None, None, None),
            Err(PartnersError::Policy(_))
        ));
        assert!(!dir.path().join(PARTNERS_FILE).exists());
    }
}
