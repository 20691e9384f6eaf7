//! Finding and opening the bundles named on the command line.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::ProgressMode;
use indicatif::{ProgressBar, ProgressStyle};
use store::{BundleInput, ImportOptions, ImportProgress, ImportReport, Store};

/// Deepest directory recursion when expanding import paths.
const DIRECTORY_DEPTH_MAX: usize = 16;
/// Files at most this large are read whole (the fastest parse); larger ones are streamed.
const SLURP_BYTES_MAX: u64 = 256 << 20;

/// One bundle to import.
pub enum BundleFile {
    Stdin,
    Path(PathBuf),
}

impl BundleFile {
    pub fn label(&self) -> String {
        match self {
            BundleFile::Stdin => "-".to_string(),
            BundleFile::Path(p) => p.display().to_string(),
        }
    }
}

/// Expands directories into the `.json` and `.json.gz` files below them, in name order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<BundleFile>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(BundleFile::Stdin);
        } else if path.is_dir() {
            walk(path, 0, &mut out)?;
        } else if path.exists() {
            out.push(BundleFile::Path(path.clone()));
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<BundleFile>) -> Result<(), String> {
    if depth > DIRECTORY_DEPTH_MAX {
        return Err(format!(
            "{}: directories nest deeper than {DIRECTORY_DEPTH_MAX} levels",
            dir.display()
        ));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, depth + 1, out)?;
        } else {
            let name = entry
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if name.ends_with(".json") || name.ends_with(".json.gz") {
                out.push(BundleFile::Path(entry));
            }
        }
    }
    Ok(())
}

struct Bar {
    bar: ProgressBar,
    lines: bool,
}

impl ImportProgress for Bar {
    fn objects_read(&mut self, count: usize) {
        self.bar.set_message(format!("{count} objects judged"));
    }
    fn committed(&mut self, versions_so_far: usize) {
        self.bar.set_message(format!("{versions_so_far} committed"));
        if self.lines {
            eprintln!("progress: committed {versions_so_far}");
        }
    }
}

/// The first bytes of a file (gunzipped), to recognise its format.
pub fn head(file: &BundleFile) -> Result<Vec<u8>, String> {
    const HEAD_BYTES: u64 = 64 << 10;
    let BundleFile::Path(path) = file else {
        return Ok(Vec::new());
    };
    let mut reader = BufReader::new(
        File::open(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?,
    );
    let gzip = std::io::BufRead::fill_buf(&mut reader)
        .map_err(|e| e.to_string())?
        .starts_with(&[0x1f, 0x8b]);
    let mut bytes = Vec::new();
    let result = if gzip {
        flate2::read::MultiGzDecoder::new(reader)
            .take(HEAD_BYTES)
            .read_to_end(&mut bytes)
    } else {
        reader.take(HEAD_BYTES).read_to_end(&mut bytes)
    };
    // A file too broken to sniff is read as STIX, whose reader explains what is wrong.
    if result.is_err() {
        bytes.clear();
    }
    Ok(bytes)
}

/// A whole file (or standard input), gunzipped.
pub fn read_all(file: &BundleFile) -> Result<Vec<u8>, String> {
    let mut reader: Box<dyn std::io::BufRead> = match file {
        BundleFile::Stdin => Box::new(BufReader::new(std::io::stdin().lock())),
        BundleFile::Path(path) => Box::new(BufReader::new(
            File::open(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?,
        )),
    };
    let gzip = reader
        .fill_buf()
        .map_err(|e| e.to_string())?
        .starts_with(&[0x1f, 0x8b]);
    let mut bytes = Vec::new();
    if gzip {
        flate2::read::MultiGzDecoder::new(reader)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{}: not a readable gzip file: {e}", file.label()))?;
    } else {
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{}: {e}", file.label()))?;
    }
    Ok(bytes)
}

/// Imports a bundle already in memory (one the node made, e.g. from converted event data).
pub fn import_bytes(
    store: &Store,
    bytes: &[u8],
    options: &ImportOptions,
    mode: ProgressMode,
) -> Result<ImportReport, String> {
    let bar = match mode {
        ProgressMode::Auto | ProgressMode::Bar => ProgressBar::new(0),
        ProgressMode::Lines | ProgressMode::None => ProgressBar::hidden(),
    };
    let mut progress = Bar {
        bar: bar.clone(),
        lines: mode == ProgressMode::Lines,
    };
    let result = store::import_bundle(store, BundleInput::Slice(bytes), options, &mut progress)
        .map_err(|e| e.to_string());
    bar.finish_and_clear();
    result
}

/// Imports one file (or standard input), gunzipping when it starts with the gzip magic.
pub fn import_file(
    store: &Store,
    file: &BundleFile,
    options: &ImportOptions,
    mode: ProgressMode,
) -> Result<ImportReport, String> {
    let bar = match mode {
        ProgressMode::Auto | ProgressMode::Bar => ProgressBar::new(0),
        ProgressMode::Lines | ProgressMode::None => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template("[{bar:40}] {bytes}/{total_bytes} read, {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let label = file.label();
    let result = match file {
        BundleFile::Stdin => {
            let reader = BufReader::with_capacity(1 << 20, std::io::stdin().lock());
            run(
                store,
                reader,
                None,
                None,
                options,
                &bar,
                mode == ProgressMode::Lines,
            )
        }
        BundleFile::Path(path) => {
            let handle = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
            let size = handle.metadata().map(|m| m.len()).ok();
            let gzip_size = size.and_then(|size| gzip_stated_size(&handle, size));
            run(
                store,
                BufReader::with_capacity(1 << 20, handle),
                size,
                gzip_size,
                options,
                &bar,
                mode == ProgressMode::Lines,
            )
        }
    };
    bar.finish_and_clear();
    result.map_err(|e| format!("{label}: {e}"))
}

/// The uncompressed size a gzip file states in its last four bytes (modulo 4 GiB, and of its
/// last member only): a hint for the buffer, never trusted beyond that.
fn gzip_stated_size(file: &File, size: u64) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut trailer = [0u8; 4];
    file.read_exact_at(&mut trailer, size.checked_sub(4)?)
        .ok()?;
    Some(u64::from(u32::from_le_bytes(trailer)))
}

fn run<R: Read>(
    store: &Store,
    mut reader: BufReader<R>,
    size: Option<u64>,
    gzip_size: Option<u64>,
    options: &ImportOptions,
    bar: &ProgressBar,
    lines: bool,
) -> Result<ImportReport, String> {
    use std::io::BufRead;
    let gzip = reader
        .fill_buf()
        .map_err(|e| e.to_string())?
        .starts_with(&[0x1f, 0x8b]);
    bar.set_message("reading");
    if let Some(size) = size {
        bar.set_length(size);
    }
    let counted = bar.wrap_read(reader);
    let mut progress = Bar {
        bar: bar.clone(),
        lines,
    };
    let small = size.is_some_and(|s| s <= SLURP_BYTES_MAX / if gzip { 8 } else { 1 });
    if gzip {
        let mut decoder = flate2::read::MultiGzDecoder::new(counted);
        if small {
            // Sized once from the trailer, the buffer is not grown by doubling: a 34 MB bundle
            // no longer passes through a 32 MB buffer into a 64 MB one (20 to 30 MB less at the
            // peak). A trailer that lies costs at most this bound, and only as address space.
            let stated = gzip_size.unwrap_or(0).min(SLURP_BYTES_MAX);
            let mut bytes = Vec::with_capacity(stated as usize);
            decoder
                .read_to_end(&mut bytes)
                .map_err(|e| format!("not a readable gzip file: {e}"))?;
            return store::import_bundle(store, BundleInput::Slice(&bytes), options, &mut progress)
                .map_err(|e| e.to_string());
        }
        return store::import_bundle(
            store,
            BundleInput::Reader(Box::new(BufReader::new(decoder))),
            options,
            &mut progress,
        )
        .map_err(|e| e.to_string());
    }
    if small {
        let mut bytes = Vec::with_capacity(size.unwrap_or(0) as usize);
        let mut counted = counted;
        counted.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        return store::import_bundle(store, BundleInput::Slice(&bytes), options, &mut progress)
            .map_err(|e| e.to_string());
    }
    store::import_bundle(
        store,
        BundleInput::Reader(Box::new(counted)),
        options,
        &mut progress,
    )
    .map_err(|e| e.to_string())
}
