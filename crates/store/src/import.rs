//! Importing a bundle: read, upgrade, validate, check against what is held, then write in
//! durable batches.
//!
//! The whole bundle is read and judged before the first batch is written. That is what lets a
//! truncated file, an invalid object (by default) or a version conflict leave the store exactly
//! as it was, while the write itself still commits in batches: a process killed mid-write
//! leaves whole batches and nothing else, and re-running the import completes it (versions
//! already held are no-ops).

use std::collections::HashMap;
use std::io::Read;

use serde_json::Value;
use stix::bundle::{BundleHeader, BundleReader, BundleVisitor};
use stix::{BundleError, Category, Object};

use crate::{PreparedVersion, Presence, PresenceChecker, Store, StoreError, WriteOutcome};

/// How an import behaves.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Store the valid objects and report the rest, instead of rejecting the whole bundle.
    pub skip_invalid: bool,
    /// Versions per durable transaction.
    pub batch_size: usize,
    /// Recorded on every version written (e.g. `import:attack.json`).
    pub source: String,
    /// Problems kept in the report; the rest are counted.
    pub problems_max: usize,
    /// Largest canonical JSON of one object.
    pub object_bytes_max: usize,
    /// Largest total of canonical JSON held while the bundle is judged.
    pub pending_bytes_max: usize,
    pub bundle: BundleReader,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            skip_invalid: false,
            batch_size: 5_000,
            source: "local".to_string(),
            problems_max: 1_000,
            object_bytes_max: 16 << 20,
            pending_bytes_max: 2 << 30,
            bundle: BundleReader::default(),
        }
    }
}

/// Told about progress, so a terminal can draw it; the store never draws anything itself.
pub trait ImportProgress {
    fn objects_read(&mut self, _count: usize) {}
    fn writing(&mut self, _total: usize) {}
    fn batch_written(&mut self, _written_so_far: usize) {}
}

impl ImportProgress for () {}

/// One problem with one object of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectProblem {
    /// Position in the bundle's `objects`.
    pub index: usize,
    pub object_id: Option<String>,
    /// JSON path from the bundle root, e.g. `objects[12].created`.
    pub path: String,
    pub rule: String,
    pub message: String,
}

impl std::fmt::Display for ObjectProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.object_id.as_deref().unwrap_or("<no id>");
        write!(f, "{} ({id}): [{}] {}", self.path, self.rule, self.message)
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub objects_read: usize,
    pub written: usize,
    /// Versions already held with the same content (re-imports are no-ops).
    pub duplicates: usize,
    /// Objects that were invalid or conflicted with a held version.
    pub rejected: usize,
    pub conflicts: usize,
    pub upgraded_from_20: usize,
    pub batches: usize,
    /// True when nothing was written because some object was rejected (the default mode).
    pub bundle_rejected: bool,
    pub problems: Vec<ObjectProblem>,
    /// Problems beyond `problems_max`, counted but not kept.
    pub problems_omitted: usize,
}

/// Why an import could not run at all. Nothing was written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the bundle holds more than {limit_bytes} bytes of objects; split it into smaller bundles"
    )]
    TooLarge { limit_bytes: usize },
}

/// The bytes of a bundle: in memory (fastest) or from a reader.
pub enum BundleInput<'a> {
    Slice(&'a [u8]),
    Reader(Box<dyn Read + 'a>),
}

/// Imports one bundle into the store.
pub fn import_bundle(
    store: &Store,
    input: BundleInput<'_>,
    options: &ImportOptions,
    progress: &mut dyn ImportProgress,
) -> Result<ImportReport, ImportError> {
    let mut judge = Judge {
        options,
        checker: store.presence_checker()?,
        seen: HashMap::new(),
        pending: Vec::new(),
        pending_bytes: 0,
        report: ImportReport::default(),
        progress,
        fatal: None,
    };
    let summary = match input {
        BundleInput::Slice(bytes) => options.bundle.read_slice(bytes, &mut judge),
        BundleInput::Reader(reader) => options.bundle.read(reader, &mut judge),
    };
    if let Some(fatal) = judge.fatal.take() {
        return Err(fatal);
    }
    let summary = summary?;
    let Judge {
        pending,
        mut report,
        progress,
        ..
    } = judge;
    report.objects_read = summary.object_count;
    if report.rejected > 0 && !options.skip_invalid {
        report.bundle_rejected = true;
        return Ok(report);
    }
    drop(summary);
    progress.writing(pending.len());
    let mut written_so_far = 0;
    for batch in pending.chunks(options.batch_size.max(1)) {
        let outcomes = store.write_batch(batch, &options.source)?;
        for outcome in outcomes {
            match outcome {
                WriteOutcome::Written { .. } => report.written += 1,
                WriteOutcome::Duplicate { .. } => report.duplicates += 1,
                // Another writer stored a different version in between; report it like any conflict.
                WriteOutcome::Conflict { .. } => {
                    report.conflicts += 1;
                    report.rejected += 1;
                }
            }
        }
        report.batches += 1;
        written_so_far += batch.len();
        progress.batch_written(written_so_far);
    }
    Ok(report)
}

struct Judge<'a> {
    options: &'a ImportOptions,
    checker: PresenceChecker,
    /// (id, version key) -> content hash of every version accepted from this bundle.
    seen: HashMap<(String, String), [u8; 32]>,
    pending: Vec<PreparedVersion>,
    pending_bytes: usize,
    report: ImportReport,
    progress: &'a mut dyn ImportProgress,
    fatal: Option<ImportError>,
}

impl Judge<'_> {
    fn problem(
        &mut self,
        index: usize,
        object_id: Option<String>,
        path: String,
        rule: &str,
        message: String,
    ) {
        if self.report.problems.len() < self.options.problems_max {
            self.report.problems.push(ObjectProblem {
                index,
                object_id,
                path,
                rule: rule.to_string(),
                message,
            });
        } else {
            self.report.problems_omitted += 1;
        }
    }

    fn judge(
        &mut self,
        index: usize,
        value: Value,
        header: &BundleHeader,
    ) -> Result<(), ImportError> {
        let at = |path: &str| {
            if path.is_empty() {
                format!("objects[{index}]")
            } else {
                format!("objects[{index}].{path}")
            }
        };
        let mut map = match value {
            Value::Object(map) => map,
            other => {
                self.report.rejected += 1;
                let found = match other {
                    Value::Array(_) => "a list",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                self.problem(
                    index,
                    None,
                    at(""),
                    "property-type",
                    format!("a STIX object must be a JSON object, found {found}"),
                );
                return Ok(());
            }
        };
        let declared_20 = header.spec_version.as_deref() == Some("2.0");
        let object_spec = map.get("spec_version").and_then(Value::as_str);
        let is_sco = map
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| stix::spec::category_of(t) == Category::Sco);
        // STIX 2.0 objects carry no spec_version (the 2.0 bundle does); a 2.1 SDO must. An object
        // without one is therefore read as 2.0, unless it is a cyber-observable, for which 2.1
        // makes spec_version optional.
        if object_spec == Some("2.0") || (object_spec.is_none() && (declared_20 || !is_sco)) {
            stix::upgrade_from_20(&mut map);
            self.report.upgraded_from_20 += 1;
        }
        let errors = stix::validate::validate(&map);
        let id = map.get("id").and_then(Value::as_str).map(str::to_string);
        if !errors.is_empty() {
            self.report.rejected += 1;
            for e in errors {
                self.problem(index, id.clone(), at(&e.path), e.rule.name(), e.message);
            }
            return Ok(());
        }
        let object = Object::from_map(map).map_err(|e| {
            ImportError::Store(StoreError::Corrupt {
                seq: 0,
                message: e.to_string(),
            })
        })?;
        let prepared = PreparedVersion::from_object(&object);
        if prepared.canonical_json.len() > self.options.object_bytes_max {
            self.report.rejected += 1;
            self.problem(
                index,
                id,
                at(""),
                "object-size",
                format!(
                    "the object is {} bytes; the limit is {} bytes",
                    prepared.canonical_json.len(),
                    self.options.object_bytes_max
                ),
            );
            return Ok(());
        }
        let key = (prepared.id.clone(), prepared.version_key.clone());
        if let Some(hash) = self.seen.get(&key) {
            if *hash == prepared.content_hash {
                self.report.duplicates += 1;
            } else {
                self.report.rejected += 1;
                self.report.conflicts += 1;
                self.problem(
                    index,
                    id,
                    at("modified"),
                    "version-conflict",
                    format!(
                        "the bundle holds two different objects for version {} of {}",
                        prepared.version_text, prepared.id
                    ),
                );
            }
            return Ok(());
        }
        match self
            .checker
            .check(&prepared.id, &prepared.version_key, &prepared.content_hash)?
        {
            Presence::Absent => {}
            Presence::Same { .. } => {
                self.report.duplicates += 1;
                return Ok(());
            }
            Presence::Different { stored_hash, .. } => {
                self.report.rejected += 1;
                self.report.conflicts += 1;
                self.problem(
                    index,
                    id,
                    at("modified"),
                    "version-conflict",
                    format!(
                        "version {} of {} is already held with different content (sha256 {}); a new version needs a later modified",
                        prepared.version_text,
                        prepared.id,
                        hex::encode(stored_hash)
                    ),
                );
                return Ok(());
            }
        }
        self.pending_bytes += prepared.canonical_json.len();
        if self.pending_bytes > self.options.pending_bytes_max {
            return Err(ImportError::TooLarge {
                limit_bytes: self.options.pending_bytes_max,
            });
        }
        self.seen.insert(key, prepared.content_hash);
        self.pending.push(prepared);
        Ok(())
    }
}

impl BundleVisitor for Judge<'_> {
    fn object(&mut self, index: usize, value: Value, header: &BundleHeader) -> Result<(), String> {
        if let Err(e) = self.judge(index, value, header) {
            let message = e.to_string();
            self.fatal = Some(e);
            return Err(message);
        }
        if index.is_multiple_of(1024) {
            self.progress.objects_read(index + 1);
        }
        Ok(())
    }
}
