//! The `tessera` command: the terminal face of a node.
//!
//! Architecture invariant: this is the only crate that knows the terminal (arguments, progress
//! bars, exit codes, human-readable output). It holds no domain logic: every command parses
//! its arguments, calls one library function, and renders the result.

mod extract_cmd;
mod formats;
mod graph_cmd;
mod input;
mod ledger_cmd;
mod node;
mod partner;
mod peer;
mod search_cmd;
mod serve;
mod show_cmd;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use store::{ImportOptions, ImportReport, Scan, Store, StoredVersion};

// mimalloc: TAXII paging allocates many small strings and maps; it made partner pages about 40%
// faster (bench/taxii). Imports gained about 15% when it came in; since the import pipeline was
// reworked they are as fast with the system allocator (0.593 against 0.587 s for enterprise
// ATT&CK), which holds about 25 MB less at their peak: mimalloc keeps freed pages for a second.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code: every object was accepted.
const EXIT_OK: u8 = 0;
/// Exit code: some objects were rejected (or a check found problems).
const EXIT_REJECTED: u8 = 1;
/// Exit code: a usage or IO error; nothing was done.
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "A Tessera node: STIX 2.1 intelligence, shared under policy."
)]
struct Cli {
    /// The node's data directory (store, indexes, ledger).
    #[arg(
        long,
        global = true,
        env = "TESSERA_DATA_DIR",
        default_value = "tessera-data"
    )]
    data_dir: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// How long jobs report progress: a bar on a terminal, plain lines on standard error (for
    /// logs and scripts), or nothing.
    #[arg(long, global = true, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar when standard error is a terminal and --json is off; otherwise nothing.
    Auto,
    Bar,
    Lines,
    None,
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// The drafts waiting for review.
    List,
    /// Import a draft into the store.
    Accept { id: String },
    /// Discard a draft; nothing is imported.
    Reject { id: String },
}

#[derive(Subcommand)]
enum Command {
    /// Create a node in the data directory: its store and its STIX identity.
    Init {
        /// The node's (agency's) name, for its STIX identity.
        #[arg(long, default_value = "Tessera node")]
        name: String,
        /// Also load the demo case (the 2024 ISKP attacks, groups and links).
        #[arg(long)]
        demo: bool,
    },
    /// Import STIX 2.0 or 2.1 bundles: files, directories, `-` for standard input, `.gz` too.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Store the valid objects and report the invalid ones, instead of rejecting the bundle.
        #[arg(long)]
        skip_invalid: bool,
        /// What the files hold; by default recognised from their first bytes (STIX bundles,
        /// UCDP GED CSV, GDELT 2.0 events CSV, MISP galaxy clusters).
        #[arg(long, value_enum, default_value_t = formats::Format::Auto)]
        format: formats::Format,
        /// Versions per durable commit.
        #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch_size: u64,
        /// File the bundles (drafts from `tessera extract`) into the review queue instead of
        /// the store; `tessera review accept` imports them.
        #[arg(long)]
        review: bool,
    },
    /// Draft incidents from news text: a STIX 2.1 bundle for review (`import --review`).
    Extract {
        /// Text files (UTF-8), or with --muc4 one MUC-4 JSON-lines file.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The publication date (YYYY-MM-DD) that relative dates resolve against; default today.
        #[arg(long)]
        published: Option<String>,
        /// Read MUC-4 JSON lines and print `{docid: [template, ...]}`.
        #[arg(long)]
        muc4: bool,
    },
    /// The queue of drafts waiting for an analyst.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Export held objects as one STIX 2.1 bundle.
    Export {
        /// Only objects of this type (repeatable).
        #[arg(long = "type", value_parser = stix_type)]
        types: Vec<String>,
        /// Only versions added to this node after this STIX timestamp.
        #[arg(long)]
        added_after: Option<String>,
        /// Every version of each object, not only the latest.
        #[arg(long)]
        all_versions: bool,
        /// Only objects whose time property PROPERTY (`modified`, `created`, `valid_from`,
        /// `first_seen` ...) lies between --from and --to, found through the time index and
        /// written in that property's order.
        #[arg(long, value_name = "PROPERTY")]
        time: Option<String>,
        /// With --time: the window's first instant (a STIX timestamp), included.
        #[arg(long, requires = "time")]
        from: Option<String>,
        /// With --time: the window's last instant, included.
        #[arg(long, requires = "time")]
        to: Option<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show one object (its latest version, or every version).
    Get {
        #[arg(value_parser = stix_identifier)]
        id: String,
        #[arg(long)]
        versions: bool,
    },
    /// Counts of what the node holds.
    Stats,
    /// Re-check every stored version against its hash and indexes.
    Verify,
    /// Serve the node over TAXII 2.1 to its partners and analysts, under its release policy.
    Serve(serve::ServeArgs),
    /// Register partners and analysts, issue and revoke their tokens.
    Partner {
        #[command(subcommand)]
        command: partner::PartnerCommand,
    },
    /// Pin the nodes this node pulls from, and pull (sync) from them.
    Peer {
        #[command(subcommand)]
        command: peer::PeerCommand,
    },
    /// The tamper-evident ledger: its signed head, inclusion proofs, a full check.
    Ledger {
        #[command(subcommand)]
        command: ledger_cmd::LedgerCommand,
    },
    /// Show one object with its links and, for an incident, every source that reports it.
    Show {
        #[arg(value_parser = stix_identifier)]
        id: String,
    },
    /// Search names, aliases and descriptions, with facets by type, country, group and year.
    Search {
        /// Words, a name or an alias ("ISKP", "Islamic State Khorasan Province"); empty to
        /// browse by facet.
        #[arg(default_value = "")]
        query: String,
        /// Only objects of this type (repeatable).
        #[arg(long = "type", value_parser = stix_type)]
        types: Vec<String>,
        /// Only objects in this country (ISO code as stored; repeatable).
        #[arg(long = "country")]
        countries: Vec<String>,
        /// Only objects linked to this group (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Only objects about this year (repeatable).
        #[arg(long = "year")]
        years: Vec<i32>,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
        limit: u64,
    },
    /// Link analysis: neighbourhoods, paths, centrality and communities.
    Graph {
        #[command(subcommand)]
        command: graph_cmd::GraphCommand,
    },
    /// Incident counts per group, country or attack type and period.
    Trends(graph_cmd::TrendsArgs),
    /// Where incident counts rose beyond their baseline, each surge explained.
    Surge(graph_cmd::SurgeArgs),
}

/// An object id as the command line gives it: a mistyped one is a usage error that says what
/// is wrong with it, not an object "not held".
fn stix_identifier(id: &str) -> Result<String, String> {
    stix::parse_identifier(id)
        .map(|_| id.to_string())
        .map_err(|e| e.to_string())
}

/// A STIX type name as the command line gives it: `Campaign` or `attack pattern` would match
/// nothing, silently.
fn stix_type(name: &str) -> Result<String, String> {
    if stix::id::is_valid_type_name(name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "{name:?} is not a STIX type name (lower-case letters, digits and single hyphens, \
             3 to 250 characters, e.g. attack-pattern)"
        ))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            if json {
                println!("{}", json!({ "error": message }));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8, String> {
    let dir = cli.data_dir.as_path();
    match cli.command {
        Command::Init { name, demo } => {
            let store = Store::init(dir).map_err(|e| e.to_string())?;
            let identity = node::create(&store, dir, &name)?;
            let mut loaded = 0;
            if demo {
                loaded = node::load_demo(&store)?;
            }
            let public_key = server::node::create_key(dir)
                .map_err(|e| e.to_string())?
                .to_hex();
            node::record_created(dir, &store)?;
            let text = if demo {
                format!(
                    "initialised node {name:?} ({identity}) in {} with the demo case ({loaded} objects)",
                    dir.display()
                )
            } else {
                format!(
                    "initialised node {name:?} ({identity}) in {}",
                    dir.display()
                )
            };
            emit(
                cli.json,
                &json!({ "initialised": dir, "identity": identity, "demo_objects": loaded, "public_key": public_key }),
                &format!(
                    "{text}\npublic key (give it to partners who pin this node): {public_key}"
                ),
            );
            Ok(EXIT_OK)
        }
        Command::Import {
            paths,
            review: true,
            ..
        } => {
            let filed = extract_cmd::file_for_review(dir, &paths)?;
            let ids: Vec<String> = filed["filed"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "filed {} for review as {}",
                        f["file"].as_str().unwrap_or(""),
                        f["id"].as_str().unwrap_or("")
                    )
                })
                .collect();
            emit(cli.json, &filed, &ids.join("\n"));
            Ok(EXIT_OK)
        }
        Command::Extract {
            files,
            published,
            muc4,
        } => {
            let value = if muc4 {
                let [file] = files.as_slice() else {
                    return Err("--muc4 reads exactly one JSON-lines file".into());
                };
                extract_cmd::extract_muc4(file)?
            } else {
                extract_cmd::extract_files(dir, &files, published.as_deref())?
            };
            println!("{value}");
            Ok(EXIT_OK)
        }
        Command::Review { command } => {
            let (value, text) = match command {
                ReviewCommand::List => {
                    let value = extract_cmd::review_list(dir)?;
                    let lines: Vec<String> = value["pending"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|d| {
                            format!(
                                "{}  {} incident(s), {} object(s)  {}",
                                d["id"].as_str().unwrap_or(""),
                                d["incidents"],
                                d["objects"],
                                d["name"].as_str().unwrap_or("")
                            )
                        })
                        .collect();
                    let text = if lines.is_empty() {
                        "no drafts waiting for review".to_string()
                    } else {
                        lines.join("\n")
                    };
                    (value, text)
                }
                ReviewCommand::Accept { id } => {
                    let value = extract_cmd::review_accept(dir, &id)?;
                    let text = format!("accepted {id}: {} version(s) written", value["written"]);
                    (value, text)
                }
                ReviewCommand::Reject { id } => {
                    let value = extract_cmd::review_reject(dir, &id)?;
                    (value, format!("rejected {id}"))
                }
            };
            emit(cli.json, &value, &text);
            Ok(EXIT_OK)
        }
        Command::Import {
            paths,
            skip_invalid,
            format,
            batch_size,
            review: false,
        } => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            let progress = match cli.progress {
                ProgressMode::Auto if cli.json => ProgressMode::None,
                other => other,
            };
            import(
                &store,
                dir,
                format,
                &paths,
                skip_invalid,
                batch_size as usize,
                cli.json,
                progress,
            )
        }
        Command::Export {
            types,
            added_after,
            all_versions,
            time,
            from,
            to,
            out,
        } => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            let added_after_micros = match added_after {
                Some(text) => {
                    let ts =
                        stix::Timestamp::parse(&text).map_err(|e| format!("--added-after: {e}"))?;
                    Some((ts.unix_nanos() / 1_000) as i64)
                }
                None => None,
            };
            let instant = |flag: &str, text: Option<String>, open: i128| match text {
                Some(text) => stix::Timestamp::parse(&text)
                    .map(|ts| ts.unix_nanos())
                    .map_err(|e| format!("{flag}: {e}")),
                None => Ok(open),
            };
            let time = match time {
                Some(property) => Some(
                    store::TimeWindow::new(
                        &property,
                        instant("--from", from, i128::MIN)?,
                        instant("--to", to, i128::MAX)?,
                    )
                    .map_err(|e| format!("--time: {e}"))?,
                ),
                None => None,
            };
            let scan = Scan {
                types,
                added_after_micros,
                latest_only: !all_versions,
                time,
                ..Scan::default()
            };
            let count = match &out {
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    let mut writer = std::io::BufWriter::new(file);
                    let count = export(&store, scan, &mut writer)?;
                    writer
                        .flush()
                        .and_then(|()| writer.get_ref().sync_all())
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    count
                }
                None => export(
                    &store,
                    scan,
                    &mut std::io::BufWriter::new(std::io::stdout().lock()),
                )?,
            };
            if let Some(path) = out {
                emit(
                    cli.json,
                    &json!({ "exported": count, "out": path }),
                    &format!("exported {count} objects to {}", path.display()),
                );
            }
            Ok(EXIT_OK)
        }
        Command::Get { id, versions } => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            let found = if versions {
                store.versions(&id)
            } else {
                store.get(&id).map(|v| v.into_iter().collect())
            }
            .map_err(|e| e.to_string())?;
            if found.is_empty() {
                return Err(format!("{id} is not held by this node"));
            }
            for version in &found {
                let object: Value =
                    serde_json::from_slice(&version.canonical_json).map_err(|e| e.to_string())?;
                if cli.json {
                    println!("{}", version_json(version, object));
                } else {
                    if versions {
                        println!(
                            "# version {} added {} from {}",
                            version.seq,
                            micros_text(version.date_added_micros),
                            version.source
                        );
                    }
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&object).map_err(|e| e.to_string())?
                    );
                }
            }
            Ok(EXIT_OK)
        }
        Command::Stats => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            let stats = store.stats().map_err(|e| e.to_string())?;
            let by_type: serde_json::Map<String, Value> = stats
                .objects_by_type
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            let value = json!({
                "objects": stats.objects,
                "versions": stats.versions,
                "batches": stats.batches,
                "reference_edges": stats.reference_edges,
                "store_bytes": stats.file_bytes,
                "last_date_added": stats.last_date_added_micros.map(micros_text),
                "objects_by_type": by_type,
            });
            let mut text = format!(
                "{} objects in {} versions, {} reference edges, {} committed batches, {} bytes on disk\n",
                stats.objects,
                stats.versions,
                stats.reference_edges,
                stats.batches,
                stats.file_bytes
            );
            for (object_type, count) in &stats.objects_by_type {
                text.push_str(&format!("  {object_type:<28} {count}\n"));
            }
            emit(cli.json, &value, text.trim_end());
            Ok(EXIT_OK)
        }
        Command::Show { id } => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            show_cmd::run(&store, &id, cli.json)
        }
        Command::Search {
            query,
            types,
            countries,
            groups,
            years,
            limit,
        } => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            let query = search::SearchQuery {
                text: query,
                types,
                countries,
                groups,
                years,
                limit: limit as usize,
            };
            search_cmd::run(&store, dir, &query, cli.json)
        }
        Command::Graph { command } => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            graph_cmd::run_graph(&store, dir, command, cli.json)
        }
        Command::Trends(args) => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            graph_cmd::run_trends(&store, dir, args, cli.json)
        }
        Command::Surge(args) => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            graph_cmd::run_surge(&store, dir, args, cli.json)
        }
        Command::Serve(args) => serve::run(dir, args, cli.json),
        Command::Partner { command } => partner::run(dir, command, cli.json),
        Command::Peer { command } => peer::run(dir, command, cli.json),
        Command::Ledger { command } => ledger_cmd::run(dir, command, cli.json),
        Command::Verify => {
            let store = Store::open(dir).map_err(|e| e.to_string())?;
            let report = store.verify().map_err(|e| e.to_string())?;
            let value = json!({
                "ok": report.is_ok(),
                "versions_checked": report.versions_checked,
                "batches": report.batches,
                "problems": report.problems,
            });
            let mut text = format!(
                "checked {} versions in {} batches: ",
                report.versions_checked, report.batches
            );
            text.push_str(if report.is_ok() { "ok" } else { "PROBLEMS" });
            for problem in &report.problems {
                text.push_str(&format!("\n  {problem}"));
            }
            emit(cli.json, &value, &text);
            Ok(if report.is_ok() {
                EXIT_OK
            } else {
                EXIT_REJECTED
            })
        }
    }
}

fn emit(json: bool, value: &Value, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

fn micros_text(micros: i64) -> String {
    let ts = stix::Timestamp {
        unix_seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) as u32) * 1_000,
        fraction_digits: 6,
    };
    ts.to_string()
}

fn version_json(version: &StoredVersion, object: Value) -> Value {
    json!({
        "seq": version.seq,
        "date_added": micros_text(version.date_added_micros),
        "source": version.source,
        "content_hash": version.content_hash_hex(),
        "object": object,
    })
}

#[allow(clippy::too_many_arguments)]
fn import(
    store: &Store,
    dir: &std::path::Path,
    format: formats::Format,
    paths: &[PathBuf],
    skip_invalid: bool,
    batch_size: usize,
    json_output: bool,
    progress: ProgressMode,
) -> Result<u8, String> {
    let files = input::expand(paths)?;
    let mut any_rejected = false;
    let mut results = Vec::new();
    // Files that are not STIX are converted first; MISP galaxies of one call are converted
    // together, so a group listed in two of them is one group.
    let mut stix_files = Vec::new();
    let mut misp = Vec::new();
    let mut events = Vec::new();
    for file in files {
        let chosen = match format {
            formats::Format::Auto => formats::sniff(&input::head(&file)?),
            other => other,
        };
        match chosen {
            formats::Format::Stix | formats::Format::Auto => stix_files.push(file),
            formats::Format::Misp => misp.push(file),
            other => events.push((other, file)),
        }
    }
    let mut conversions: Vec<(formats::Format, Vec<input::BundleFile>)> = events
        .into_iter()
        .map(|(f, file)| (f, vec![file]))
        .collect();
    if !misp.is_empty() {
        conversions.push((formats::Format::Misp, misp));
    }
    for (chosen, group) in conversions {
        let label = group
            .iter()
            .map(input::BundleFile::label)
            .collect::<Vec<_>>()
            .join(" + ");
        let converted = convert_and_import(
            store,
            dir,
            chosen,
            &group,
            skip_invalid,
            batch_size,
            progress,
        );
        match converted {
            Ok((conversion, report)) => {
                any_rejected |= report.rejected > 0 || conversion.skipped_invalid > 0;
                if !json_output {
                    formats::print_report(&label, &conversion);
                    print_report(&label, &report);
                }
                let mut value = report_json(&label, &report);
                value["conversion"] = formats::report_json(&conversion, &label);
                results.push(value);
            }
            Err(message) => {
                any_rejected = true;
                if !json_output {
                    eprintln!("{label}: {message}");
                }
                results.push(json!({ "file": label, "error": message, "written": 0 }));
            }
        }
    }
    for file in &stix_files {
        let options = ImportOptions {
            skip_invalid,
            batch_size,
            source: format!("import:{}", file.label()),
            ..ImportOptions::default()
        };
        let outcome = input::import_file(store, file, &options, progress);
        match outcome {
            Ok(report) => {
                any_rejected |= report.rejected > 0;
                if !json_output {
                    print_report(&file.label(), &report);
                }
                results.push(report_json(&file.label(), &report));
            }
            Err(message) => {
                any_rejected = true;
                if !json_output {
                    eprintln!("{}: {message}", file.label());
                }
                results.push(json!({ "file": file.label(), "error": message, "written": 0 }));
            }
        }
    }
    // Whatever was stored is recorded in the ledger before the command reports success.
    node::record_created(dir, store)?;
    if json_output {
        println!("{}", json!({ "imports": results }));
    }
    Ok(if any_rejected { EXIT_REJECTED } else { EXIT_OK })
}

/// Converts event data or group catalogues to STIX and imports the result like any bundle.
fn convert_and_import(
    store: &Store,
    dir: &std::path::Path,
    format: formats::Format,
    files: &[input::BundleFile],
    skip_invalid: bool,
    batch_size: usize,
    progress: ProgressMode,
) -> Result<(incident::import::ImportReport, ImportReport), String> {
    let mut contents = Vec::with_capacity(files.len());
    let mut released = None;
    for file in files {
        contents.push((file.label(), input::read_all(file)?));
        if let input::BundleFile::Path(path) = file {
            released = released.max(formats::released_at(path));
        }
    }
    let released = released.unwrap_or_else(|| stix::Timestamp::from_unix_millis(0));
    let identity = node::identity(dir)?;
    // Converters resolve against the curated groups only, so that a file converts to the same
    // objects whatever the store holds (re-importing it is a no-op). Groups held from other
    // sources are linked at read time by the resolution in `search` (one group, several
    // sources), never by rewriting what a source said.
    let mut aliases = incident::AliasIndex::curated();
    let converted = formats::convert(format, &contents, released, &identity, &mut aliases)?;
    let label = contents
        .iter()
        .map(|(l, _)| l.as_str())
        .collect::<Vec<_>>()
        .join(" + ");
    let options = ImportOptions {
        skip_invalid,
        batch_size,
        source: format!("import:{label}"),
        ..ImportOptions::default()
    };
    let report = input::import_bytes(store, &converted.bundle, &options, progress)?;
    Ok((converted.report, report))
}

fn print_report(label: &str, report: &ImportReport) {
    let verdict = if report.bundle_rejected {
        " — bundle REJECTED, nothing written (use --skip-invalid to store the valid objects)"
    } else {
        ""
    };
    println!(
        "{label}: {} objects read, {} written, {} already held, {} rejected ({} conflicts), {} upgraded from STIX 2.0, {} batches{verdict}",
        report.objects_read,
        report.written,
        report.duplicates,
        report.rejected,
        report.conflicts,
        report.upgraded_from_20,
        report.batches
    );
    for problem in &report.problems {
        println!("  {label}: {problem}");
    }
    if report.problems_omitted > 0 {
        println!("  … and {} more problems", report.problems_omitted);
    }
}

fn report_json(label: &str, report: &ImportReport) -> Value {
    json!({
        "file": label,
        "objects_read": report.objects_read,
        "written": report.written,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "conflicts": report.conflicts,
        "upgraded_from_20": report.upgraded_from_20,
        "batches": report.batches,
        "bundle_rejected": report.bundle_rejected,
        "problems": report.problems.iter().map(|p| json!({
            "index": p.index, "id": p.object_id, "path": p.path, "rule": p.rule, "message": p.message,
        })).collect::<Vec<_>>(),
        "problems_omitted": report.problems_omitted,
    })
}

/// Streams a bundle of the scanned versions; returns how many objects it wrote.
fn export(store: &Store, mut scan: Scan, out: &mut dyn Write) -> Result<usize, String> {
    let io = |e: std::io::Error| format!("writing the bundle: {e}");
    write!(
        out,
        "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
        uuid::Uuid::new_v4()
    )
    .map_err(io)?;
    scan.limit = store::PAGE_LIMIT_MAX;
    let mut count = 0;
    loop {
        let page = store.scan(&scan).map_err(|e| e.to_string())?;
        for version in &page.versions {
            if count > 0 {
                out.write_all(b",").map_err(io)?;
            }
            out.write_all(&version.canonical_json).map_err(io)?;
            count += 1;
        }
        match (page.next_after_seq, page.next_after_time) {
            (Some(seq), _) => scan.after_seq = seq,
            (None, Some(point)) => scan.after_time = Some(point),
            (None, None) => break,
        }
    }
    out.write_all(b"]}\n").map_err(io)?;
    out.flush().map_err(io)?;
    Ok(count)
}
