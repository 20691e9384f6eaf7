//! Ledger entries and their canonical leaf bytes.
//!
//! An entry's leaf bytes are canonical JSON: object keys sorted, no
//! whitespace, strings escaped as RFC 8785 (JCS) does, integers only and all
//! of them at most 2^53 - 1 so that every JSON implementation reads them
//! exactly. Anyone holding an entry can rebuild the same bytes and so the same
//! leaf hash, whatever their language. For example:
//!
//! ```text
//! {"content_hash":"<64 hex>","kind":"released","object_id":"indicator--…","partner":"nl-nctv","recorded_at_unix_ms":1711100000000,"version":"2024-03-22T10:00:00.000Z"}
//! ```
//!
//! Decoding refuses bytes that are not exactly the canonical encoding of what
//! they decode to, so one entry has one leaf hash.

use serde::{Deserialize, Serialize};

use crate::LedgerError;
use crate::merkle::{Hash, leaf_hash};

/// Largest canonical entry, in bytes. Entries hold identifiers and hashes,
/// never STIX content, so a real entry is a few hundred bytes; the limit keeps
/// one bad caller from bloating every proof reader's memory.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// Largest integer in an entry: 2^53 - 1, the largest that every JSON reader
/// (JavaScript included) represents exactly.
pub const MAX_JSON_INTEGER: u64 = (1 << 53) - 1;

const OBJECT_ID_BYTES_MAX: usize = 256;
const VERSION_BYTES_MAX: usize = 64;
const NODE_NAME_BYTES_MAX: usize = 128;
const CONTENT_HASH_HEX_CHARS: usize = 64;
const PAGE_SIGNATURE_HEX_CHARS_MAX: usize = 1024;

/// One auditable event. Every variant carries `recorded_at_unix_ms`: when the
/// node recorded it, in milliseconds since the Unix epoch (UTC), an integer so
/// that the leaf bytes have one spelling.
///
/// `object_id` is a STIX identifier (`type--UUID`); `version` is the object's
/// STIX `modified` timestamp exactly as it appears in the object;
/// `content_hash` is the lowercase hex SHA-256 of the object version's
/// canonical JSON (as the `stix` crate computes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Entry {
    /// This node created (authored) an object version.
    Created {
        /// When it was recorded, ms since the Unix epoch.
        recorded_at_unix_ms: u64,
        /// STIX id.
        object_id: String,
        /// STIX `modified`.
        version: String,
        /// Hex SHA-256 of the canonical object.
        content_hash: String,
    },
    /// This node received an object version from a peer, in a page the peer
    /// signed.
    Received {
        /// When it was recorded, ms since the Unix epoch.
        recorded_at_unix_ms: u64,
        /// The peer node it came from.
        peer: String,
        /// STIX id.
        object_id: String,
        /// STIX `modified`.
        version: String,
        /// Hex SHA-256 of the canonical object.
        content_hash: String,
        /// Hex Ed25519 signature of the page (or pushed envelope) that carried
        /// it, so the peer cannot later deny having sent it; empty for a push
        /// that came unsigned (from a plain TAXII client).
        page_signature: String,
    },
    /// This node released an object version to a partner.
    Released {
        /// When it was recorded, ms since the Unix epoch.
        recorded_at_unix_ms: u64,
        /// The partner it was released to.
        partner: String,
        /// STIX id.
        object_id: String,
        /// STIX `modified`.
        version: String,
        /// Hex SHA-256 of the canonical object as released (after redaction).
        content_hash: String,
    },
    /// A private-set-intersection run with a partner.
    PsiRun {
        /// When it was recorded, ms since the Unix epoch.
        recorded_at_unix_ms: u64,
        /// The partner on the other side.
        partner: String,
        /// Number of selectors this node put in.
        set_size: u64,
        /// Number that matched.
        matched: u64,
    },
}

impl Entry {
    /// When the entry was recorded, ms since the Unix epoch.
    pub fn recorded_at_unix_ms(&self) -> u64 {
        match self {
            Entry::Created {
                recorded_at_unix_ms,
                ..
            }
            | Entry::Received {
                recorded_at_unix_ms,
                ..
            }
            | Entry::Released {
                recorded_at_unix_ms,
                ..
            }
            | Entry::PsiRun {
                recorded_at_unix_ms,
                ..
            } => *recorded_at_unix_ms,
        }
    }

    /// The STIX object the entry is about, if any.
    pub fn object_id(&self) -> Option<&str> {
        match self {
            Entry::Created { object_id, .. }
            | Entry::Received { object_id, .. }
            | Entry::Released { object_id, .. } => Some(object_id),
            Entry::PsiRun { .. } => None,
        }
    }

    /// Checks every field against the rules that keep leaf bytes canonical
    /// and bounded.
    pub fn validate(&self) -> Result<(), LedgerError> {
        check_integer("recorded_at_unix_ms", self.recorded_at_unix_ms())?;
        match self {
            Entry::Created {
                object_id,
                version,
                content_hash,
                ..
            } => {
                check_object_version(object_id, version)?;
                check_content_hash(content_hash)
            }
            Entry::Received {
                peer,
                object_id,
                version,
                content_hash,
                page_signature,
                ..
            } => {
                check_node_name("peer", peer)?;
                check_object_version(object_id, version)?;
                check_content_hash(content_hash)?;
                check_page_signature(page_signature)
            }
            Entry::Released {
                partner,
                object_id,
                version,
                content_hash,
                ..
            } => {
                check_node_name("partner", partner)?;
                check_object_version(object_id, version)?;
                check_content_hash(content_hash)
            }
            Entry::PsiRun {
                partner,
                set_size,
                matched,
                ..
            } => {
                check_node_name("partner", partner)?;
                check_integer("set_size", *set_size)?;
                check_integer("matched", *matched)?;
                if matched > set_size {
                    return Err(invalid(
                        "matched",
                        format!("{matched} matches is more than the set size {set_size}"),
                    ));
                }
                Ok(())
            }
        }
    }

    /// The canonical leaf bytes (see the module docs). Fails if a field is
    /// invalid or the result is over [`MAX_ENTRY_BYTES`].
    pub fn to_leaf_bytes(&self) -> Result<Vec<u8>, LedgerError> {
        self.validate()?;
        let mut bytes = Vec::with_capacity(256);
        self.write_leaf(&mut bytes);
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(LedgerError::EntryTooLarge {
                size_bytes: bytes.len(),
                limit_bytes: MAX_ENTRY_BYTES,
            });
        }
        Ok(bytes)
    }

    /// Writes the canonical JSON of the entry, members in key order, without building a JSON
    /// value first: every page a partner receives records a hundred entries, and every
    /// import one per version. A test holds it to [`write_canonical`] of the serde value.
    fn write_leaf(&self, out: &mut Vec<u8>) {
        let mut members = Members { out, first: true };
        match self {
            Entry::Created {
                recorded_at_unix_ms,
                object_id,
                version,
                content_hash,
            } => members.about_version(
                "created",
                content_hash,
                object_id,
                &[],
                *recorded_at_unix_ms,
                version,
            ),
            Entry::Received {
                recorded_at_unix_ms,
                peer,
                object_id,
                version,
                content_hash,
                page_signature,
            } => members.about_version(
                "received",
                content_hash,
                object_id,
                &[("page_signature", page_signature), ("peer", peer)],
                *recorded_at_unix_ms,
                version,
            ),
            Entry::Released {
                recorded_at_unix_ms,
                partner,
                object_id,
                version,
                content_hash,
            } => members.about_version(
                "released",
                content_hash,
                object_id,
                &[("partner", partner)],
                *recorded_at_unix_ms,
                version,
            ),
            Entry::PsiRun {
                recorded_at_unix_ms,
                partner,
                set_size,
                matched,
            } => {
                members.text("kind", "psi_run");
                members.integer("matched", *matched);
                members.text("partner", partner);
                members.integer("recorded_at_unix_ms", *recorded_at_unix_ms);
                members.integer("set_size", *set_size);
            }
        }
        members.out.push(b'}');
    }

    /// Decodes leaf bytes, refusing anything that is not exactly the
    /// canonical encoding of a valid entry.
    pub fn from_leaf_bytes(bytes: &[u8]) -> Result<Entry, LedgerError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(LedgerError::EntryTooLarge {
                size_bytes: bytes.len(),
                limit_bytes: MAX_ENTRY_BYTES,
            });
        }
        let entry: Entry =
            serde_json::from_slice(bytes).map_err(|error| LedgerError::NonCanonicalEntry {
                detail: format!("not an entry: {error}"),
            })?;
        let canonical = entry.to_leaf_bytes()?;
        if canonical != bytes {
            return Err(LedgerError::NonCanonicalEntry {
                detail: "bytes differ from the canonical encoding (key order, whitespace, escapes or unknown fields)".to_string(),
            });
        }
        Ok(entry)
    }

    /// The RFC 9162 leaf hash of the canonical leaf bytes.
    pub fn leaf_hash(&self) -> Result<Hash, LedgerError> {
        Ok(leaf_hash(&self.to_leaf_bytes()?))
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> LedgerError {
    LedgerError::InvalidEntry {
        field,
        reason: reason.into(),
    }
}

fn check_integer(field: &'static str, value: u64) -> Result<(), LedgerError> {
    if value > MAX_JSON_INTEGER {
        return Err(invalid(
            field,
            format!("{value} is over 2^53 - 1, which JSON readers cannot all represent exactly"),
        ));
    }
    Ok(())
}

fn check_text(field: &'static str, value: &str, max_bytes: usize) -> Result<(), LedgerError> {
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.len() > max_bytes {
        return Err(invalid(
            field,
            format!("{} bytes is over the limit of {max_bytes}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_node_name(field: &'static str, value: &str) -> Result<(), LedgerError> {
    check_text(field, value, NODE_NAME_BYTES_MAX)
}

fn check_object_version(object_id: &str, version: &str) -> Result<(), LedgerError> {
    check_text("object_id", object_id, OBJECT_ID_BYTES_MAX)?;
    if !object_id.contains("--") {
        return Err(invalid(
            "object_id",
            format!("{object_id:?} is not a STIX identifier (`type--UUID`)"),
        ));
    }
    check_text("version", version, VERSION_BYTES_MAX)?;
    if !version.is_ascii() || version.contains(' ') {
        return Err(invalid(
            "version",
            "must be the object's STIX `modified` timestamp, e.g. 2024-03-22T10:00:00.000Z",
        ));
    }
    Ok(())
}

fn is_lower_hex(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_content_hash(value: &str) -> Result<(), LedgerError> {
    if value.len() != CONTENT_HASH_HEX_CHARS || !is_lower_hex(value) {
        return Err(invalid(
            "content_hash",
            "must be a SHA-256 in 64 lowercase hex characters",
        ));
    }
    Ok(())
}

fn check_page_signature(value: &str) -> Result<(), LedgerError> {
    // Empty: received unsigned (a partner's push from a plain TAXII client).
    if value.len() > PAGE_SIGNATURE_HEX_CHARS_MAX
        || !value.len().is_multiple_of(2)
        || !is_lower_hex(value)
    {
        return Err(invalid(
            "page_signature",
            format!(
                "must be lowercase hex of even length, at most {PAGE_SIGNATURE_HEX_CHARS_MAX} characters"
            ),
        ));
    }
    Ok(())
}

/// The members of one canonical JSON object, written in the order given (the caller's is
/// key order).
struct Members<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl Members<'_> {
    fn key(&mut self, key: &str) {
        self.out.push(if self.first { b'{' } else { b',' });
        self.first = false;
        write_string(key, self.out);
        self.out.push(b':');
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        write_string(value, self.out);
    }

    fn integer(&mut self, key: &str, value: u64) {
        self.key(key);
        self.out.extend_from_slice(value.to_string().as_bytes());
    }

    /// The members of an entry about one object version, in key order: `between` are the
    /// kind's own text members, whose keys sort between `object_id` and `recorded_at_unix_ms`.
    fn about_version(
        &mut self,
        kind: &str,
        content_hash: &str,
        object_id: &str,
        between: &[(&str, &str)],
        recorded_at_unix_ms: u64,
        version: &str,
    ) {
        self.text("content_hash", content_hash);
        self.text("kind", kind);
        self.text("object_id", object_id);
        for (key, value) in between {
            self.text(key, value);
        }
        self.integer("recorded_at_unix_ms", recorded_at_unix_ms);
        self.text("version", version);
    }
}

/// A JSON string as serde_json escapes it, which matches RFC 8785.
fn write_string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("writing a string into a Vec cannot fail");
}

/// Canonical JSON: keys sorted by UTF-16 code units (RFC 8785's order; the
/// same as byte order for the ASCII keys used here), no whitespace, strings
/// escaped as serde_json does (which matches RFC 8785), integers only.
/// Sorting here rather than relying on `serde_json::Map` keeps the output
/// stable even if another crate in the build turns on `preserve_order`.
/// Entries write theirs directly ([`Entry::write_leaf`]); this general form is what the tests
/// hold that to.
#[cfg(test)]
fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) -> Result<(), LedgerError> {
    use serde_json::Value;
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            if let Some(unsigned) = number.as_u64() {
                out.extend_from_slice(unsigned.to_string().as_bytes());
            } else if let Some(signed) = number.as_i64() {
                out.extend_from_slice(signed.to_string().as_bytes());
            } else {
                return Err(LedgerError::NonCanonicalEntry {
                    detail: format!("non-integer number {number} has no canonical form here"),
                });
            }
        }
        Value::String(text) => {
            serde_json::to_writer(&mut *out, text)
                .expect("writing a string into a Vec cannot fail");
        }
        Value::Array(items) => {
            out.push(b'[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                write_canonical(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (position, (key, item)) in members.into_iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)
                    .expect("writing a string into a Vec cannot fail");
                out.push(b':');
                write_canonical(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control characters, non-ASCII and astral characters: everything
        // whose escaping could differ.
        "[a-z0-9\"\\\u{0}-\u{1f}\u{7f}é€\u{1F600}-]{0,24}"
    }

    fn entry() -> impl Strategy<Value = Entry> {
        let ms = 0u64..=MAX_JSON_INTEGER;
        prop_oneof![
            (ms.clone(), text(), text(), text()).prop_map(|(ms, a, b, c)| Entry::Created {
                recorded_at_unix_ms: ms,
                object_id: a,
                version: b,
                content_hash: c,
            }),
            (ms.clone(), text(), text(), text(), text(), text()).prop_map(|(ms, a, b, c, d, e)| {
                Entry::Received {
                    recorded_at_unix_ms: ms,
                    peer: a,
                    object_id: b,
                    version: c,
                    content_hash: d,
                    page_signature: e,
                }
            }),
            (ms.clone(), text(), text(), text(), text()).prop_map(|(ms, a, b, c, d)| {
                Entry::Released {
                    recorded_at_unix_ms: ms,
                    partner: a,
                    object_id: b,
                    version: c,
                    content_hash: d,
                }
            }),
            (ms, text(), any::<u64>(), any::<u64>()).prop_map(|(ms, a, n, m)| Entry::PsiRun {
                recorded_at_unix_ms: ms,
                partner: a,
                set_size: n,
                matched: m,
            }),
        ]
    }

    proptest! {
        #[test]
        fn direct_leaf_bytes_are_the_canonical_json_of_the_serde_value(entry in entry()) {
            let mut direct = Vec::new();
            entry.write_leaf(&mut direct);
            let mut general = Vec::new();
            write_canonical(&serde_json::to_value(&entry).unwrap(), &mut general).unwrap();
            prop_assert_eq!(String::from_utf8(direct).unwrap(), String::from_utf8(general).unwrap());
        }
    }

    fn created() -> Entry {
        Entry::Created {
            recorded_at_unix_ms: 1_711_100_000_000,
            object_id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".to_string(),
            version: "2024-03-22T10:00:00.000Z".to_string(),
            content_hash: "ab".repeat(32),
        }
    }

    #[test]
    fn leaf_bytes_are_sorted_compact_json() {
        let bytes = created().to_leaf_bytes().expect("valid entry");
        let expected = format!(
            "{{\"content_hash\":\"{}\",\"kind\":\"created\",\"object_id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\",\"recorded_at_unix_ms\":1711100000000,\"version\":\"2024-03-22T10:00:00.000Z\"}}",
            "ab".repeat(32)
        );
        assert_eq!(String::from_utf8(bytes).expect("utf-8"), expected);
    }

    #[test]
    fn round_trips_and_refuses_non_canonical_spellings() {
        let entry = Entry::Released {
            recorded_at_unix_ms: 5,
            partner: "Bundeskriminalamt \"BKA\" – Wiesbaden".to_string(),
            object_id: "report--1".to_string(),
            version: "2024-01-01T00:00:00Z".to_string(),
            content_hash: "0".repeat(64),
        };
        let bytes = entry.to_leaf_bytes().expect("valid entry");
        assert_eq!(Entry::from_leaf_bytes(&bytes).expect("canonical"), entry);

        let text = String::from_utf8(bytes).expect("utf-8");
        let spaced = text.replace(',', ", ");
        assert!(Entry::from_leaf_bytes(spaced.as_bytes()).is_err());
        let extra = text.replacen('{', "{\"extra\":1,", 1);
        assert!(Entry::from_leaf_bytes(extra.as_bytes()).is_err());
    }

    #[test]
    fn refuses_invalid_fields() {
        let mut entry = created();
        if let Entry::Created { content_hash, .. } = &mut entry {
            *content_hash = "AB".repeat(32);
        }
        assert!(matches!(
            entry.to_leaf_bytes(),
            Err(LedgerError::InvalidEntry {
                field: "content_hash",
                ..
            })
        ));
        let psi = Entry::PsiRun {
            recorded_at_unix_ms: 1,
            partner: "fr-dgsi".to_string(),
            set_size: 3,
            matched: 4,
        };
        assert!(matches!(
            psi.to_leaf_bytes(),
            Err(LedgerError::InvalidEntry {
                field: "matched",
                ..
            })
        ));
        let late = Entry::PsiRun {
            recorded_at_unix_ms: MAX_JSON_INTEGER + 1,
            partner: "fr-dgsi".to_string(),
            set_size: 3,
            matched: 1,
        };
        assert!(late.to_leaf_bytes().is_err());
    }

    #[test]
    fn refuses_oversized_entries() {
        let entry = Entry::Received {
            recorded_at_unix_ms: 1,
            peer: "p".to_string(),
            object_id: "x--1".to_string(),
            version: "v".to_string(),
            content_hash: "0".repeat(64),
            page_signature: "00".repeat(512),
        };
        assert!(entry.to_leaf_bytes().is_ok());
        let huge = vec![b' '; MAX_ENTRY_BYTES + 1];
        assert!(matches!(
            Entry::from_leaf_bytes(&huge),
            Err(LedgerError::EntryTooLarge { .. })
        ));
    }
}
