//! Turning a validated STIX object into what the store writes: its canonical bytes, content
//! hash, version key and index terms. Pure: no IO, so the import pipeline can run it anywhere.

use stix::Object;

use crate::edges::EncodedEdges;

/// The version key of an object without `modified` or `created` (cyber-observables): STIX
/// does not version them, so each id has exactly one version.
pub const UNVERSIONED: i128 = i128::MIN;

/// Room for what canonical JSON may add to the text an object was parsed from: the
/// `spec_version` a STIX 2.0 object gains on upgrade.
const CANONICAL_SLACK_BYTES: usize = 64;
/// Reserved for an object whose text length is not known; it grows by doubling from there.
const CANONICAL_MIN_BYTES: usize = 448;

/// Everything the store needs to write one object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedVersion {
    pub id: String,
    pub object_type: String,
    /// `modified` (else `created`) in nanoseconds since the Unix epoch; [`UNVERSIONED`] for
    /// objects without either.
    pub version: i128,
    /// The `modified`/`created` text as the producer wrote it (TAXII reports versions so).
    pub version_text: String,
    pub canonical_json: Vec<u8>,
    pub content_hash: [u8; 32],
    /// Every `*_ref(s)` edge (JSON path of the property, referenced id), encoded for the
    /// edge indexes.
    pub edges: EncodedEdges,
    /// Lower-cased names and aliases.
    pub names: Vec<String>,
    /// (code in [`stix::object::TIME_PROPERTIES`], nanoseconds) for every indexed time field.
    pub times: Vec<(u8, i128)>,
}

impl PreparedVersion {
    /// Prepares a (validated) object for writing.
    pub fn from_object(object: &Object) -> PreparedVersion {
        PreparedVersion::from_object_sized(object, 0)
    }

    /// Prepares a (validated) object parsed from `text_bytes` of JSON text. Its canonical form
    /// is about as long (no whitespace, perhaps an added `spec_version`), so the buffer is
    /// reserved once instead of grown by doubling and copying: on enterprise ATT&CK the
    /// copies were 4% of the import's CPU.
    pub fn from_object_sized(object: &Object, text_bytes: usize) -> PreparedVersion {
        let mut canonical_json =
            Vec::with_capacity(text_bytes.max(CANONICAL_MIN_BYTES) + CANONICAL_SLACK_BYTES);
        object.write_canonical_json(&mut canonical_json);
        // A slice of the batch keeps a thousand of these alive at once.
        canonical_json.shrink_to_fit();
        let content_hash = stix::content_hash(&canonical_json);
        let (version, version_text) = match (object.modified(), object.created()) {
            (Some(ts), _) => (
                ts.unix_nanos(),
                object.get_str("modified").unwrap_or_default().to_string(),
            ),
            (None, Some(ts)) => (
                ts.unix_nanos(),
                object.get_str("created").unwrap_or_default().to_string(),
            ),
            (None, None) => (UNVERSIONED, String::new()),
        };
        let mut edges = EncodedEdges::default();
        object.visit_references(|property, target| edges.push(property, target));
        let mut names: Vec<String> = object
            .names()
            .into_iter()
            .map(fold_name)
            .filter(|n| !n.is_empty())
            .collect();
        names.sort_unstable();
        names.dedup();
        PreparedVersion {
            id: object.id().to_string(),
            object_type: object.object_type().to_string(),
            version,
            version_text,
            canonical_json,
            content_hash,
            edges,
            names,
            times: object
                .times()
                .into_iter()
                .map(|(p, t)| (p, t.unix_nanos()))
                .collect(),
        }
    }
}

/// Folds a name for the name index: lower case, whitespace collapsed. (Alias resolution with
/// transliteration and punctuation folding belongs to the incident model, not to the store.)
pub fn fold_name(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}
