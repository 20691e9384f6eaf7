//! The byte layout of a stored version. Hand-written rather than serde so that it is stable,
//! compact and checked field by field when read back (TigerBeetle: assert after reading).
//!
//! ```text
//! u8      format (1)
//! i64 LE  date_added, microseconds since the Unix epoch
//! [u8;32] SHA-256 of the canonical JSON
//! u16 LE  length of the source label
//! u16 LE  length of the object id
//! ...     the source label, then the id (UTF-8)
//! ...     the canonical JSON (RFC 8785) of the object
//! ```

use crate::StoreError;

const FORMAT: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 32 + 2 + 2;

/// One stored version, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    /// Position in the node's log of versions: strictly increasing with `date_added`.
    pub seq: u64,
    pub date_added_micros: i64,
    pub content_hash: [u8; 32],
    /// Where the version came from: `local`, `import:<file>`, `peer:<name>`.
    pub source: String,
    pub id: String,
    pub canonical_json: Vec<u8>,
}

impl StoredVersion {
    /// The object, parsed from its canonical JSON.
    pub fn object(&self) -> Result<stix::Object, StoreError> {
        stix::Object::from_slice(&self.canonical_json).map_err(|message| StoreError::Corrupt {
            seq: self.seq,
            message,
        })
    }

    pub fn content_hash_hex(&self) -> String {
        // `hex::encode` collects a char at a time; a ledger records one of these per version.
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.content_hash, &mut text).expect("64 hex digits for 32 bytes");
        String::from_utf8(text.to_vec()).expect("hex digits are ASCII")
    }
}

/// Longest source label kept; longer ones are cut (they are labels, not data).
pub const SOURCE_LEN_MAX: usize = 1024;

#[cfg(test)]
fn encode(
    date_added_micros: i64,
    content_hash: &[u8; 32],
    source: &str,
    id: &str,
    canonical_json: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(
        &mut out,
        date_added_micros,
        content_hash,
        source,
        id,
        canonical_json,
    );
    out
}

/// Appends one record to `out` (a batch's records go out in one write).
pub(crate) fn encode_into(
    out: &mut Vec<u8>,
    date_added_micros: i64,
    content_hash: &[u8; 32],
    source: &str,
    id: &str,
    canonical_json: &[u8],
) {
    let mut cut = source.len().min(SOURCE_LEN_MAX);
    while !source.is_char_boundary(cut) {
        cut -= 1;
    }
    let source = &source.as_bytes()[..cut];
    debug_assert!(
        id.len() <= 512,
        "identifiers are bounded by the type name (250) and a UUID"
    );
    out.reserve(HEADER_LEN + source.len() + id.len() + canonical_json.len());
    out.push(FORMAT);
    out.extend_from_slice(&date_added_micros.to_le_bytes());
    out.extend_from_slice(content_hash);
    out.extend_from_slice(&(source.len() as u16).to_le_bytes());
    out.extend_from_slice(&(id.len() as u16).to_le_bytes());
    out.extend_from_slice(source);
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(canonical_json);
}

pub(crate) fn decode(seq: u64, bytes: &[u8]) -> Result<StoredVersion, StoreError> {
    let corrupt = |message: &str| StoreError::Corrupt {
        seq,
        message: message.to_string(),
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt("record shorter than its header"));
    }
    if bytes[0] != FORMAT {
        return Err(corrupt("unknown record format"));
    }
    let date_added_micros = i64::from_le_bytes(bytes[1..9].try_into().expect("slice of 8 bytes"));
    let content_hash: [u8; 32] = bytes[9..41].try_into().expect("slice of 32 bytes");
    let source_len = usize::from(u16::from_le_bytes([bytes[41], bytes[42]]));
    let id_len = usize::from(u16::from_le_bytes([bytes[43], bytes[44]]));
    let id_start = HEADER_LEN + source_len;
    let json_start = id_start + id_len;
    if bytes.len() < json_start {
        return Err(corrupt("record shorter than its source label and id"));
    }
    let source = std::str::from_utf8(&bytes[HEADER_LEN..id_start])
        .map_err(|_| corrupt("source label is not UTF-8"))?
        .to_string();
    let id = std::str::from_utf8(&bytes[id_start..json_start])
        .map_err(|_| corrupt("id is not UTF-8"))?
        .to_string();
    Ok(StoredVersion {
        seq,
        date_added_micros,
        content_hash,
        source,
        id,
        canonical_json: bytes[json_start..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let bytes = encode(
            1_700_000_000_000_000,
            &[7; 32],
            "import:x.json",
            "x--1",
            b"{\"a\":1}",
        );
        let v = decode(3, &bytes).unwrap();
        assert_eq!(
            (
                v.seq,
                v.date_added_micros,
                v.content_hash,
                v.source.as_str()
            ),
            (3, 1_700_000_000_000_000, [7; 32], "import:x.json")
        );
        assert_eq!(v.canonical_json, b"{\"a\":1}");
        assert_eq!(v.id, "x--1");
        assert!(decode(3, &bytes[..10]).is_err());
        let mut bad = bytes.clone();
        bad[0] = 9;
        assert!(decode(3, &bad).is_err());
    }
}
