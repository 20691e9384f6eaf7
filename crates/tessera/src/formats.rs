//! Event data and group catalogues that are not STIX: which format a file is, and the call
//! that turns it into STIX before it is imported like any bundle.

use std::path::Path;

use incident::import::{self as converters, ImportReport as ConversionReport};
use serde_json::json;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decide from the file's first bytes.
    Auto,
    Stix,
    /// UCDP Georeferenced Event Dataset CSV.
    Ucdp,
    /// GDELT 2.0 events CSV (with a header row).
    Gdelt,
    /// MISP galaxy clusters JSON.
    Misp,
}

/// Bytes looked at to recognise a format.
const SNIFF_BYTES: usize = 64 << 10;

/// Recognises a format from the start of a file (already gunzipped).
pub fn sniff(head: &[u8]) -> Format {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    let head = stix::bundle::without_bom(head);
    let text = String::from_utf8_lossy(head);
    let first_line = text.lines().next().unwrap_or("").to_lowercase();
    if first_line.contains("side_a") && first_line.contains("best") {
        return Format::Ucdp;
    }
    if first_line.contains("globaleventid") || first_line.contains("eventrootcode") {
        return Format::Gdelt;
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') && text.contains("\"values\"") && !text.contains("\"objects\"") {
        return Format::Misp;
    }
    Format::Stix
}

/// The result of converting one or more files of one format.
pub struct Converted {
    pub bundle: Vec<u8>,
    pub report: ConversionReport,
}

/// Converts files of one non-STIX format to one STIX bundle. Groups resolve against `aliases`
/// (the curated groups and those the store holds), so a group known under another name is
/// recognised rather than created again.
pub fn convert(
    format: Format,
    files: &[(String, Vec<u8>)],
    released: stix::Timestamp,
    node_identity: &str,
    aliases: &mut incident::AliasIndex,
) -> Result<Converted, String> {
    let provenance = incident::Provenance::new(released, node_identity);
    let result = match format {
        Format::Ucdp | Format::Gdelt => {
            let [(label, contents)] = files else {
                return Err("convert one CSV file at a time".into());
            };
            let converted = if format == Format::Ucdp {
                converters::ucdp::import(contents, &provenance, aliases)
            } else {
                converters::gdelt::import(contents, &provenance, aliases)
            };
            converted.map_err(|e| format!("{label}: {e}"))?
        }
        Format::Misp => {
            let galaxy: Vec<converters::misp::GalaxyFile<'_>> = files
                .iter()
                .map(|(label, contents)| converters::misp::GalaxyFile { label, contents })
                .collect();
            converters::misp::import(&galaxy, &provenance, aliases).map_err(|e| e.to_string())?
        }
        Format::Auto | Format::Stix => return Err("STIX needs no conversion".into()),
    };
    let objects: Vec<serde_json::Value> = result
        .objects
        .into_iter()
        .map(stix::Object::into_value)
        .collect();
    let bundle = json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": objects});
    let bundle = serde_json::to_vec(&bundle).map_err(|e| e.to_string())?;
    Ok(Converted {
        bundle,
        report: result.report,
    })
}

/// The release time to stamp on converted objects: the file's modification time, so that
/// importing the same file again yields the same versions (a no-op).
pub fn released_at(path: &Path) -> Option<stix::Timestamp> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let millis = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis();
    Some(stix::Timestamp::from_unix_millis(
        i64::try_from(millis).ok()?,
    ))
}

/// The conversion report as JSON; problems without a file (single-file formats) name `label`.
pub fn report_json(report: &ConversionReport, label: &str) -> serde_json::Value {
    json!({
        "source": report.source_name,
        "rows": report.rows,
        "imported": report.imported,
        "skipped_invalid": report.skipped_invalid,
        "skipped_out_of_scope": report.skipped_out_of_scope,
        "merged": report.merged,
        "objects": report.objects,
        "problems": report.problems.iter().map(|p| json!({"file": p.file.as_deref().unwrap_or(label), "line": p.line, "column": p.column, "reason": p.reason})).collect::<Vec<_>>(),
        "problems_unlisted": report.problems_unlisted,
        "notes": report.notes,
    })
}

pub fn print_report(label: &str, report: &ConversionReport) {
    let objects: Vec<String> = report
        .objects
        .iter()
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    println!(
        "{label}: {} rows ({}), {} imported, {} skipped as invalid, {} out of scope, {} merged with known groups; made {}",
        report.rows,
        report.source_name,
        report.imported,
        report.skipped_invalid,
        report.skipped_out_of_scope,
        report.merged,
        objects.join(", ")
    );
    for problem in &report.problems {
        if problem.file.is_some() {
            println!("  {problem}");
        } else {
            println!("  {label}: {problem}");
        }
    }
    if report.problems_unlisted > 0 {
        println!("  … and {} more rows skipped", report.problems_unlisted);
    }
}
