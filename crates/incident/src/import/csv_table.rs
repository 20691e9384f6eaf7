//! A CSV file read from memory: its header, and its records with the line each starts on.

use std::collections::HashMap;

use csv::{ReaderBuilder, StringRecord};

use super::{ImportError, ROWS_MAX};

/// A CSV file whose columns are found by name, so that a dataset that reorders or adds columns
/// still imports.
pub(crate) struct CsvTable<'a> {
    reader: csv::Reader<&'a [u8]>,
    columns: HashMap<String, usize>,
    source_name: &'static str,
    rows: usize,
}

/// One record that could not be read at all (invalid UTF-8, say).
pub(crate) struct Unreadable {
    pub line: u64,
    pub reason: String,
}

impl<'a> CsvTable<'a> {
    /// Opens a CSV text. With `header` given, the file has no header row and these are its
    /// columns (GDELT's raw exports); otherwise the first record is the header.
    pub(crate) fn open(
        bytes: &'a [u8],
        delimiter: u8,
        header: Option<&[&str]>,
        source_name: &'static str,
    ) -> Result<CsvTable<'a>, ImportError> {
        let mut reader = ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let names: Vec<String> = match header {
            Some(names) => names.iter().map(|s| s.to_string()).collect(),
            None => {
                let mut record = StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(true) => record
                        .iter()
                        .map(|s| s.trim().trim_start_matches('\u{feff}').to_string())
                        .collect(),
                    _ => return Err(ImportError::NoHeader),
                }
            }
        };
        let mut columns = HashMap::new();
        for (i, name) in names.into_iter().enumerate() {
            columns.entry(name).or_insert(i);
        }
        Ok(CsvTable {
            reader,
            columns,
            source_name,
            rows: 0,
        })
    }

    /// The position of a column the importer cannot work without.
    pub(crate) fn require(&self, column: &str) -> Result<Column, ImportError> {
        self.columns
            .get(column)
            .map(|&index| Column {
                name: column.to_string(),
                index,
            })
            .ok_or_else(|| ImportError::MissingColumn {
                column: column.to_string(),
                source_name: self.source_name,
            })
    }

    /// The position of a column the importer uses when present.
    pub(crate) fn optional(&self, column: &str) -> Option<Column> {
        self.columns.get(column).map(|&index| Column {
            name: column.to_string(),
            index,
        })
    }

    /// Reads the next record into `record`: `None` at the end, else the line it starts on, or
    /// why it could not be read.
    pub(crate) fn next(
        &mut self,
        record: &mut StringRecord,
    ) -> Option<Result<Result<u64, Unreadable>, ImportError>> {
        if self.rows >= ROWS_MAX {
            return Some(Err(ImportError::TooManyRows { limit: ROWS_MAX }));
        }
        match self.reader.read_record(record) {
            Ok(false) => None,
            Ok(true) => {
                self.rows += 1;
                Some(Ok(Ok(record.position().map_or(0, |p| p.line()))))
            }
            Err(error) => {
                self.rows += 1;
                let line = error.position().map_or(0, |p| p.line());
                Some(Ok(Err(Unreadable {
                    line,
                    reason: error.to_string(),
                })))
            }
        }
    }
}

/// A column of the file: its name (for reports) and position.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    pub index: usize,
}

/// A field that is missing or wrong: the column and the reason.
pub(crate) struct FieldProblem {
    pub column: String,
    pub reason: String,
}

impl Column {
    /// The field of this column in a record, or the problem that the record is too short.
    pub(crate) fn get<'r>(&self, record: &'r StringRecord) -> Result<&'r str, FieldProblem> {
        record.get(self.index).ok_or_else(|| FieldProblem {
            column: self.name.clone(),
            reason: format!(
                "the row has {} fields, so column {} (field {}) is missing",
                record.len(),
                self.name,
                self.index + 1
            ),
        })
    }

    /// A problem with this column's value.
    pub(crate) fn problem(&self, reason: impl Into<String>) -> FieldProblem {
        FieldProblem {
            column: self.name.clone(),
            reason: reason.into(),
        }
    }
}
