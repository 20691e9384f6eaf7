//! The byte layout of the reference-edge indexes (`refs_out`, `refs_in`).
//!
//! Nearly every edge names a well-known property (`created_by_ref`, `object_marking_refs`,
//! `source_ref`, ...) and a target of the form `type--uuid`. Written as text, an edge took
//! 60 to 90 bytes and the two edge tables were most of the index: more pages than redb's cache
//! holds during a bulk import, so pages were written out and read back mid-transaction. Here a
//! known property is one byte, a target of a known type with a canonical UUID is 17 bytes, and
//! a target repeated within one value (the creator and the marking of a whole slice) is one.
//!
//! ```text
//! value      := COMPACT edge*                       (refs_out)
//!             | COMPACT group*                      (refs_in)
//! edge       := property target
//! group      := u32 LE seq distance, target, u16 LE property count, property*
//! property   := code (1..=PROPERTIES.len())         a known property path
//!             | 0, u32 LE length, UTF-8 bytes       any other
//! target     := code (1..=TYPES.len()), uuid[16]    a known type, canonical lower-case UUID
//!             | CUSTOM_TYPE, u8 length, type, uuid[16]   another type of up to 255 bytes
//!             | SAME_TARGET                         the previous target of this value
//!             | 0, u32 LE length, UTF-8 bytes       any other id
//! ```
//!
//! Every edge can be written: a custom `x_..._ref` property may hold any string with `--` in
//! it, of any length, and an import must not fail on it.
//!
//! ```text
//! ```
//!
//! Values written before this layout are text and stay readable: a `refs_out` value of
//! `property\0target\0` pairs (a property never starts with byte 1), and a `refs_in` value that
//! begins with its first edge's seq distance, which is always 0.
//!
//! The code tables are part of the file format: entries may be appended, never reordered.

use std::borrow::Cow;

/// The first byte of a value in this layout.
const COMPACT: u8 = 1;
const LITERAL: u8 = 0;
const CUSTOM_TYPE: u8 = 0xFE;
const SAME_TARGET: u8 = 0xFF;
const UUID_TEXT_LEN: usize = 36;

/// Property paths with a one-byte code (code = position + 1).
const PROPERTIES: &[&str] = &[
    "created_by_ref",
    "object_marking_refs",
    "source_ref",
    "target_ref",
    "object_refs",
    "sighting_of_ref",
    "observed_data_refs",
    "where_sighted_refs",
    "sample_refs",
    "sample_ref",
    "host_vm_ref",
    "operating_system_ref",
    "installed_software_refs",
    "analysis_sco_refs",
    "x_mitre_modified_by_ref",
    "resolves_to_refs",
    "belongs_to_ref",
    "belongs_to_refs",
    "from_ref",
    "sender_ref",
    "to_refs",
    "cc_refs",
    "bcc_refs",
    "raw_email_ref",
    "body_raw_ref",
    "parent_directory_ref",
    "contains_refs",
    "content_ref",
    "src_ref",
    "dst_ref",
    "src_payload_ref",
    "dst_payload_ref",
    "encapsulates_refs",
    "encapsulated_by_ref",
    "opened_connection_refs",
    "creator_user_ref",
    "image_ref",
    "parent_ref",
    "child_refs",
];

/// Object types with a one-byte code (code = position + 1): those of STIX 2.1.
const TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
    "marking-definition",
    "extension-definition",
    "language-content",
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// The code of `text` in `table` (position + 1). A scan comparing lengths first compares the
/// bytes of the few entries of the same length only; a binary search compared whole strings at
/// every step, on every edge of a bulk import.
fn code_of(table: &'static [&'static str], text: &str) -> Option<u8> {
    table
        .iter()
        .position(|name| name.len() == text.len() && *name == text)
        .map(|i| i as u8 + 1)
}

fn property_code(property: &str) -> Option<u8> {
    code_of(PROPERTIES, property)
}

fn type_code(object_type: &str) -> Option<u8> {
    code_of(TYPES, object_type)
}

/// Writes a value of this layout from properties and targets already encoded (by
/// [`EncodedEdges`]), remembering the last target for [`SAME_TARGET`].
pub(crate) struct Writer<'o, 't> {
    out: &'o mut Vec<u8>,
    last_target: Option<&'t [u8]>,
}

impl<'o, 't> Writer<'o, 't> {
    /// Starts a value in `out` (cleared).
    pub(crate) fn new(out: &'o mut Vec<u8>) -> Writer<'o, 't> {
        out.clear();
        out.push(COMPACT);
        Writer {
            out,
            last_target: None,
        }
    }

    /// An encoded target: written as [`SAME_TARGET`] when it repeats the last one. The
    /// encoding is one-to-one, so equal bytes are the same id.
    pub(crate) fn target(&mut self, encoded: &'t [u8]) {
        if self.last_target == Some(encoded) {
            self.out.push(SAME_TARGET);
            return;
        }
        self.last_target = Some(encoded);
        self.out.extend_from_slice(encoded);
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
}

/// One version's outgoing edges in this layout, encoded where the object is judged, on any
/// core, rather than on the writer's one thread, which had spent about a tenth of its time on
/// it (enterprise ATT&CK, 2026-11): the `refs_out` value, and where each edge's property and
/// whole target lie in it, so the incoming-edge index is written from the same bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedEdges {
    /// The `refs_out` value; empty when the version has no edges.
    value: Vec<u8>,
    spans: Vec<EdgeSpan>,
}

/// Edges, and bytes of their encoding, reserved at a version's first edge.
const EDGES_RESERVED: usize = 4;
const EDGES_RESERVED_BYTES: usize = 128;

/// Where one edge lies in its [`EncodedEdges`] value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EdgeSpan {
    /// The incoming-edge index's key for the target (see [`target_hash`]).
    target_hash: u64,
    property: std::ops::Range<usize>,
    /// The whole encoding, even where the value repeats it as [`SAME_TARGET`].
    target: std::ops::Range<usize>,
}

impl EncodedEdges {
    /// Adds one edge after those already held.
    pub fn push(&mut self, property: &str, target: &str) {
        if self.value.is_empty() {
            // Most versions hold a handful of edges (a relationship's two ends, its author and
            // marking); reserving for them spares the doublings.
            self.value.reserve(EDGES_RESERVED_BYTES);
            self.spans.reserve(EDGES_RESERVED);
            self.value.push(COMPACT);
        }
        let start = self.value.len();
        put_property(&mut self.value, property);
        let property = start..self.value.len();
        let start = self.value.len();
        put_target(&mut self.value, target);
        let mut target_span = start..self.value.len();
        // The last edge's span is the last target written out whole.
        if let Some(last) = self.spans.last().map(|span| span.target.clone())
            && self.value[last.clone()] == self.value[target_span.clone()]
        {
            self.value.truncate(start);
            self.value.push(SAME_TARGET);
            target_span = last;
        }
        self.spans.push(EdgeSpan {
            target_hash: target_hash(target),
            property,
            target: target_span,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `refs_out` value.
    pub(crate) fn value(&self) -> &[u8] {
        &self.value
    }

    /// Each edge as (target hash, encoded target, encoded property).
    pub(crate) fn incoming(&self) -> impl Iterator<Item = (u64, &[u8], &[u8])> {
        self.spans.iter().map(|span| {
            (
                span.target_hash,
                &self.value[span.target.clone()],
                &self.value[span.property.clone()],
            )
        })
    }

    /// The (property path, target id) pairs again.
    pub fn decode(&self) -> Vec<(String, String)> {
        if self.value.is_empty() {
            return Vec::new();
        }
        decode_list(&self.value).unwrap_or_default()
    }
}

/// The key under which the incoming-edge index files a target's edges: FNV-1a, 64 bits, a
/// stable hash (unlike std's, which may change between releases), and part of the file format.
pub(crate) fn target_hash(id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn put_property(out: &mut Vec<u8>, property: &str) {
    match property_code(property) {
        Some(code) => out.push(code),
        None => {
            out.push(LITERAL);
            put_text(out, property);
        }
    }
}

/// The whole encoding of a target (never [`SAME_TARGET`]).
fn put_target(out: &mut Vec<u8>, target: &str) {
    // `type_of` finds the first `--` as `split_once` would, with `memchr`: the general
    // string search cost more than the rest of this.
    let split = stix::id::type_of(target).and_then(|object_type| {
        let uuid = &target[object_type.len() + 2..];
        let code = match type_code(object_type) {
            Some(code) => Code::Known(code),
            None => Code::Custom(u8::try_from(object_type.len()).ok()?),
        };
        // Any text but a canonical lower-case UUID is kept as it is (a literal), so every
        // id reads back exactly as written.
        Some((object_type, code, stix::id::uuid_bytes(uuid)?))
    });
    match split {
        Some((_, Code::Known(code), uuid)) => {
            out.push(code);
            out.extend_from_slice(&uuid);
        }
        Some((object_type, Code::Custom(length), uuid)) => {
            out.push(CUSTOM_TYPE);
            out.push(length);
            out.extend_from_slice(object_type.as_bytes());
            out.extend_from_slice(&uuid);
        }
        None => {
            out.push(LITERAL);
            put_text(out, target);
        }
    }
}

/// A property's encoding alone, as [`EncodedEdges`] writes it.
#[cfg(test)]
pub(crate) fn encoded_property(property: &str) -> Vec<u8> {
    let mut out = Vec::new();
    put_property(&mut out, property);
    out
}

/// A target's whole encoding alone, as [`EncodedEdges`] writes it.
#[cfg(test)]
pub(crate) fn encoded_target(target: &str) -> Vec<u8> {
    let mut out = Vec::new();
    put_target(&mut out, target);
    out
}

/// How a target's type is written.
enum Code {
    Known(u8),
    /// The type's length in bytes.
    Custom(u8),
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    // A string in an object is far below 4 GiB: objects are bounded well before that.
    let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn uuid_text(bytes: &[u8; 16], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 15)] as char);
    }
}

/// Whether a value is in this layout (rather than the text layout before it).
pub(crate) fn is_compact(value: &[u8]) -> bool {
    value.first() == Some(&COMPACT)
}

/// Reads a value in this layout, after its first byte.
pub(crate) struct Reader<'v> {
    bytes: &'v [u8],
    last_target: Option<String>,
}

impl<'v> Reader<'v> {
    /// `None` unless `value` is in this layout.
    pub(crate) fn new(value: &'v [u8]) -> Option<Reader<'v>> {
        is_compact(value).then(|| Reader {
            bytes: &value[1..],
            last_target: None,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'v [u8]> {
        let (head, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn text(&mut self) -> Option<&'v str> {
        let length = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        std::str::from_utf8(self.take(usize::try_from(length).ok()?)?).ok()
    }

    /// Steps over one property and one target without building either: counting edges
    /// (`tessera stats`) reads every value of a large store.
    pub(crate) fn skip_edge(&mut self) -> Option<()> {
        if self.byte()? == LITERAL {
            self.skip_text()?;
        }
        match self.byte()? {
            SAME_TARGET => {}
            LITERAL => self.skip_text()?,
            CUSTOM_TYPE => {
                let length = self.byte()?;
                self.take(usize::from(length) + 16)?;
            }
            _ => {
                self.take(16)?;
            }
        }
        Some(())
    }

    fn skip_text(&mut self) -> Option<()> {
        let length = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        self.take(usize::try_from(length).ok()?).map(|_| ())
    }

    pub(crate) fn property(&mut self) -> Option<Cow<'v, str>> {
        match self.byte()? {
            LITERAL => self.text().map(Cow::Borrowed),
            code => PROPERTIES
                .get(usize::from(code) - 1)
                .map(|&p| Cow::Borrowed(p)),
        }
    }

    pub(crate) fn target(&mut self) -> Option<String> {
        let code = self.byte()?;
        let target = match code {
            SAME_TARGET => return self.last_target.clone(),
            LITERAL => self.text()?.to_string(),
            _ => {
                let object_type = if code == CUSTOM_TYPE {
                    let length = self.byte()?;
                    std::str::from_utf8(self.take(usize::from(length))?).ok()?
                } else {
                    TYPES.get(usize::from(code) - 1)?
                };
                let uuid: &[u8; 16] = self.take(16)?.try_into().ok()?;
                let mut target = String::with_capacity(object_type.len() + 2 + UUID_TEXT_LEN);
                target.push_str(object_type);
                target.push_str("--");
                uuid_text(uuid, &mut target);
                target
            }
        };
        self.last_target = Some(target.clone());
        Some(target)
    }
}

/// An outgoing-edge value (`refs_out`): the edges of one version, one after another.
#[cfg(test)]
pub(crate) fn encode_list<P: AsRef<str>, T: AsRef<str>>(edges: &[(P, T)]) -> Vec<u8> {
    let mut encoded = EncodedEdges::default();
    for (property, target) in edges {
        encoded.push(property.as_ref(), target.as_ref());
    }
    let mut value = encoded.value;
    if value.is_empty() {
        value.push(COMPACT);
    }
    value
}

/// The edges of an outgoing-edge value, in either layout; `None` if it is cut short or
/// damaged.
pub(crate) fn decode_list(value: &[u8]) -> Option<Vec<(String, String)>> {
    let Some(mut reader) = Reader::new(value) else {
        // The text layout: `property\0target\0` pairs.
        let text = String::from_utf8_lossy(value);
        let parts: Vec<&str> = text.split('\0').collect();
        return Some(
            parts
                .chunks_exact(2)
                .map(|pair| (pair[0].to_string(), pair[1].to_string()))
                .collect(),
        );
    };
    let mut out = Vec::new();
    while !reader.is_empty() {
        let property = reader.property()?.into_owned();
        out.push((property, reader.target()?));
    }
    Some(out)
}

/// How many edges an outgoing-edge value holds, in either layout, without building them;
/// `None` if it is cut short or damaged.
pub(crate) fn count_list(value: &[u8]) -> Option<u64> {
    let Some(mut reader) = Reader::new(value) else {
        return Some(value.iter().filter(|&&b| b == 0).count() as u64 / 2);
    };
    let mut count = 0;
    while !reader.is_empty() {
        reader.skip_edge()?;
        count += 1;
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(edges: &[(&str, &str)]) -> Vec<(String, String)> {
        decode_list(&encode_list(edges)).unwrap()
    }

    #[test]
    fn every_shape_of_edge_reads_back_exactly() {
        let edges = [
            (
                "created_by_ref",
                "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
            ),
            (
                "object_marking_refs",
                "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168",
            ),
            // The same target again, under another property.
            (
                "x_mitre_contents[3].object_ref",
                "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168",
            ),
            // A custom type, an upper-case UUID, a non-UUID id, non-ASCII text.
            (
                "x_acme_ref",
                "x-acme-widget--0b6e3f2a-1111-4222-8333-944445555666",
            ),
            ("target_ref", "tool--0B6E3F2A-1111-4222-8333-944445555666"),
            ("object_refs", "report--not-a-uuid"),
            ("x_é_ref", "x-é--0b6e3f2a-1111-4222-8333-944445555666"),
            (
                "source_ref",
                "relationship--0b6e3f2a-1111-4222-8333-94444555566",
            ),
        ];
        // What a custom property may hold: a type past 255 bytes, a 100 KB "id".
        let long_type = format!(
            "x-{}--0b6e3f2a-1111-4222-8333-944445555666",
            "t".repeat(300)
        );
        let long_id = format!("x-thing--{}", "u".repeat(100_000));
        let edges: Vec<(&str, &str)> = edges
            .into_iter()
            .chain([
                ("x_long_ref", long_type.as_str()),
                ("x_huge_ref", long_id.as_str()),
            ])
            .collect();
        let expected: Vec<(String, String)> = edges
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        assert_eq!(round_trip(&edges), expected);
        assert_eq!(expected.len(), 10);

        let value = encode_list(&edges);
        assert_eq!(count_list(&value), Some(10));
        // Cut short, the last edge cannot be stepped over.
        let mut cut = Reader::new(&value[..value.len() - 1]).unwrap();
        let mut stepped = 0;
        while cut.skip_edge().is_some() {
            stepped += 1;
        }
        assert_eq!(stepped, 9);
    }

    #[test]
    fn every_table_entry_has_its_own_code() {
        for (table, lookup) in [
            (PROPERTIES, property_code as fn(&str) -> Option<u8>),
            (TYPES, type_code),
        ] {
            assert!(table.len() < usize::from(CUSTOM_TYPE));
            for (i, name) in table.iter().enumerate() {
                assert_eq!(lookup(name), Some(i as u8 + 1), "{name}");
            }
            assert_eq!(lookup("x-not-in-the-table"), None);
        }
    }

    #[test]
    fn known_edges_are_small() {
        let creator = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5";
        let value = encode_list(&[
            ("created_by_ref", creator),
            ("object_marking_refs", creator),
        ]);
        assert_eq!(value.len(), 1 + (1 + 17) + (1 + 1));
    }

    #[test]
    fn text_layout_is_told_apart() {
        assert!(!is_compact(b"created_by_ref\0identity--x\0"));
        assert!(!is_compact(&[0, 0, 0, 0, 1, 0]));
        assert!(Reader::new(b"").is_none());
    }

    #[test]
    fn cut_or_damaged_values_fail() {
        let value = encode_list(&[(
            "source_ref",
            "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
        )]);
        assert!(decode_list(&value[..value.len() - 1]).is_none());
        let mut cut = Reader::new(&value[..value.len() - 1]).unwrap();
        assert!(cut.property().is_some());
        assert!(cut.target().is_none());
        // A code past the tables, and a repeat with nothing before it.
        assert!(Reader::new(&[COMPACT, 200]).unwrap().property().is_none());
        assert!(Reader::new(&[COMPACT, 200]).unwrap().target().is_none());
        assert!(
            Reader::new(&[COMPACT, SAME_TARGET])
                .unwrap()
                .target()
                .is_none()
        );
    }
}
