//! Pure converters from counter-terrorism datasets to STIX 2.1.
//!
//! Each importer takes the contents of a file (never a path), the [`Provenance`] to stamp on
//! what it creates, and the caller's [`AliasIndex`](crate::AliasIndex), and returns an
//! [`Import`]: the STIX objects and an [`ImportReport`] with exact counts and one
//! [`RowProblem`] (line, column, reason) per row it skipped. A bad row never stops an import;
//! only a file that cannot be read at all (no header, a required column absent, not JSON) does.
//!
//! - [`ucdp`]: UCDP Georeferenced Event Dataset (GED) CSV.
//! - [`gdelt`]: GDELT 2.0 event CSV (CAMEO root codes 18, 19 and 20).
//! - [`misp`]: MISP galaxy clusters (threat actors, terrorist groups).
//!
//! Each importer also has a streaming form (`import_each`) that hands every object to a function
//! as soon as it is built, so that a caller writing to a store holds one row's objects at a time
//! rather than the whole file's; `import` collects them into an [`Import`].
//!
//! Identifiers are deterministic (UUIDv5 of the source, the type and a natural key), so
//! importing the same file twice with the same provenance yields identical objects.

pub mod gdelt;
pub mod misp;
pub mod ucdp;

mod csv_table;

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use stix::Object;

use crate::sdo::BuildError;

pub use crate::sdo::Provenance;

/// Most rows (or clusters) one import reads. A larger file is refused with
/// [`ImportError::TooManyRows`] rather than read without bound; split it.
pub const ROWS_MAX: usize = 10_000_000;
/// Most problems a report lists one by one; the rest are counted in
/// [`ImportReport::problems_unlisted`].
pub const PROBLEMS_MAX: usize = 10_000;
/// Most notes a report lists one by one.
pub const NOTES_MAX: usize = 1_000;

/// Why a file could not be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file has no header row")]
    NoHeader,
    #[error(
        "the header has no column {column:?}, which this importer needs; is this a {source_name} file?"
    )]
    MissingColumn {
        column: String,
        source_name: &'static str,
    },
    #[error("the file is not valid JSON at line {line}, column {column}: {reason}")]
    Json {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("the file holds more than {limit} rows; split it")]
    TooManyRows { limit: usize },
}

/// Why one row (or cluster) was skipped: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The file, when an import reads several (MISP galaxies); `None` for a single-file import.
    pub file: Option<String>,
    /// Line in the file where the row starts (1-based; the header is line 1 of a CSV file).
    pub line: u64,
    /// The column (CSV) or property (JSON) at fault, when one is.
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        match &self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// What an import did, with exact counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// The source as it is cited on every object, e.g. "UCDP GED 23.1".
    pub source_name: String,
    /// Data rows (or clusters) read, the header excluded.
    pub rows: usize,
    /// Rows that became the importer's primary object (an incident, a group).
    pub imported: usize,
    /// Rows skipped because something in them is wrong; each has a [`RowProblem`].
    pub skipped_invalid: usize,
    /// Well-formed rows outside what the importer converts (GDELT events that are not attacks).
    pub skipped_out_of_scope: usize,
    /// Rows folded into another row's object because they describe the same thing (a MISP group
    /// listed in two galaxies, or under another of its names).
    pub merged: usize,
    /// Objects emitted, by STIX type.
    pub objects: BTreeMap<String, usize>,
    /// One entry per skipped row, in file order (at most [`PROBLEMS_MAX`]).
    pub problems: Vec<RowProblem>,
    /// Problems beyond [`PROBLEMS_MAX`], counted only.
    pub problems_unlisted: usize,
    /// Remarks that did not stop a row: a country name not recognised, an ambiguous alias, a
    /// link to a cluster outside the import (at most [`NOTES_MAX`]).
    pub notes: Vec<String>,
    /// Notes beyond [`NOTES_MAX`], counted only.
    pub notes_unlisted: usize,
}

impl ImportReport {
    fn new(source_name: &str) -> ImportReport {
        ImportReport {
            source_name: source_name.to_string(),
            ..ImportReport::default()
        }
    }

    /// The number of objects of one type emitted.
    pub fn count(&self, object_type: &str) -> usize {
        self.objects.get(object_type).copied().unwrap_or(0)
    }

    pub(crate) fn problem(&mut self, line: u64, column: Option<&str>, reason: impl Into<String>) {
        self.problem_in(None, line, column, reason);
    }

    pub(crate) fn problem_in(
        &mut self,
        file: Option<&str>,
        line: u64,
        column: Option<&str>,
        reason: impl Into<String>,
    ) {
        self.skipped_invalid += 1;
        if self.problems.len() < PROBLEMS_MAX {
            self.problems.push(RowProblem {
                file: file.map(str::to_string),
                line,
                column: column.map(str::to_string),
                reason: reason.into(),
            });
        } else {
            self.problems_unlisted += 1;
        }
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        if self.notes.len() < NOTES_MAX {
            self.notes.push(note.into());
        } else {
            self.notes_unlisted += 1;
        }
    }
}

/// The result of an import: the objects, and what happened.
#[derive(Debug, Clone)]
pub struct Import {
    pub objects: Vec<Object>,
    pub report: ImportReport,
}

/// Receives the objects of one import: each id once, counted by type, handed to the caller's
/// function as soon as it is built.
pub(crate) struct Sink<'a> {
    emit: &'a mut dyn FnMut(Object),
    ids: HashSet<String>,
    pub(crate) report: ImportReport,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(source_name: &str, emit: &'a mut dyn FnMut(Object)) -> Sink<'a> {
        Sink {
            emit,
            ids: HashSet::new(),
            report: ImportReport::new(source_name),
        }
    }

    /// Whether an object with this id was already emitted.
    pub(crate) fn has(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Emits an object unless one with its id was already emitted.
    pub(crate) fn push(&mut self, object: Object) {
        if self.ids.insert(object.id().to_string()) {
            self.push_unique(object);
        }
    }

    /// Emits an object whose id is new by construction (a relationship derived from an incident
    /// emitted once), without recording its id: the set of ids is the largest cost of a sink.
    pub(crate) fn push_unique(&mut self, object: Object) {
        match self.report.objects.get_mut(object.object_type()) {
            Some(count) => *count += 1,
            None => {
                self.report
                    .objects
                    .insert(object.object_type().to_string(), 1);
            }
        }
        (self.emit)(object);
    }

    pub(crate) fn finish(self) -> ImportReport {
        self.report
    }
}

/// Runs a streaming import and collects its objects.
pub(crate) fn collect(
    run: impl FnOnce(&mut dyn FnMut(Object)) -> Result<ImportReport, ImportError>,
) -> Result<Import, ImportError> {
    let mut objects = Vec::new();
    let report = run(&mut |object| objects.push(object))?;
    Ok(Import { objects, report })
}

/// A builder failure inside a row is a bug in the importer's own checks (it validated the row
/// first); it is reported against the row rather than aborting the import.
pub(crate) fn build_problem(error: &BuildError) -> String {
    format!("the row would produce invalid STIX ({error}); please report this as an importer bug")
}

/// Parses a non-negative integer field.
pub(crate) fn parse_count(text: &str) -> Option<u32> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u32>() {
        return Some(n);
    }
    // Some exports write counts as "12.0".
    text.parse::<f64>()
        .ok()
        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
        .map(|f| f as u32)
}

/// Parses a small code field ("1", "1.0").
pub(crate) fn parse_code(text: &str) -> Option<u16> {
    parse_count(text).and_then(|n| u16::try_from(n).ok())
}

/// Parses a latitude or longitude and checks its range.
pub(crate) fn parse_coordinate(text: &str, limit: f64) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value.abs() <= limit => Ok(value),
        Ok(value) => Err(format!("{value} is outside -{limit}..={limit}")),
        Err(_) => Err(format!("{text:?} is not a number")),
    }
}
