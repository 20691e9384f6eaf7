//! Finding and opening the bundles named on the command line.

use std::collections::HashSet;
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

/// Expands directories into the `.json` and `.json.gz` files below them, in name order. A
/// directory or file reached again through a link (a link back up the tree, two links to one
/// place) is taken once, so a loop of links ends instead of nesting to the depth limit.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<BundleFile>, String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(BundleFile::Stdin);
        } else if path.is_dir() {
            walk(path, 0, &mut seen, &mut out)?;
        } else if path.exists() {
            out.push(BundleFile::Path(path.clone()));
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(out)
}

/// Whether `path` (resolved through links) is met for the first time.
fn first_visit(path: &Path, seen: &mut HashSet<PathBuf>) -> Result<bool, String> {
    let resolved = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(seen.insert(resolved))
}

fn walk(
    dir: &Path,
    depth: usize,
    seen: &mut HashSet<PathBuf>,
    out: &mut Vec<BundleFile>,
) -> Result<(), String> {
    if depth > DIRECTORY_DEPTH_MAX {
        return Err(format!(
            "{}: directories nest deeper than {DIRECTORY_DEPTH_MAX} levels",
            dir.display()
        ));
    }
    if !first_visit(dir, seen)? {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, depth + 1, seen, out)?;
        } else {
            let name = entry
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if (name.ends_with(".json") || name.ends_with(".json.gz")) && first_visit(&entry, seen)?
            {
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
    let gzip = starts_gzipped(&mut reader)?;
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
    let gzip = starts_gzipped(&mut reader)?;
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
    // The caller names the file in front of any error; naming it here too said it twice.
    let result = match file {
        BundleFile::Stdin => {
            let reader = BufReader::with_capacity(1 << 20, std::io::stdin().lock());
            run(
                store,
                reader,
                None,
                || None,
                options,
                &bar,
                mode == ProgressMode::Lines,
            )
        }
        BundleFile::Path(path) => {
            let handle = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
            let metadata = handle.metadata().ok();
            let size = metadata.as_ref().map(|m| m.len());
            // A plain regular file within the bound is read whole, on every core; mapping
            // nothing fails, so an empty file goes the general way, which explains it.
            let whole = metadata.as_ref().is_some_and(|m| m.is_file())
                && size.is_some_and(|size| (1..=SLURP_BYTES_MAX).contains(&size))
                && !starts_with_gzip_magic(&handle);
            if let (true, Some(size)) = (whole, size) {
                let lines = mode == ProgressMode::Lines;
                let result = import_read_whole(store, &handle, size, options, &bar, lines);
                bar.finish_and_clear();
                return result;
            }
            // Read only once the file is known to be gzipped.
            let gzip_size = || size.and_then(|size| gzip_stated_size(&handle, size));
            run(
                store,
                BufReader::with_capacity(1 << 20, &handle),
                size,
                gzip_size,
                options,
                &bar,
                mode == ProgressMode::Lines,
            )
        }
    };
    bar.finish_and_clear();
    result
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Threads reading one file at most, and the bytes each reads between progress updates.
const READ_THREADS_MAX: usize = 4;
const READ_PIECE_BYTES: usize = 4 << 20;

/// Whether what `reader` is about to give starts with the gzip magic (nothing is consumed).
fn starts_gzipped(reader: &mut impl std::io::BufRead) -> Result<bool, String> {
    Ok(reader
        .fill_buf()
        .map_err(|e| e.to_string())?
        .starts_with(&GZIP_MAGIC))
}

/// Whether a file starts with the gzip magic, read in place: the file's cursor stays where the
/// reading that follows expects it.
fn starts_with_gzip_magic(file: &File) -> bool {
    use std::os::unix::fs::FileExt;
    let mut magic = [0u8; 2];
    file.read_exact_at(&mut magic, 0).is_ok() && magic == GZIP_MAGIC
}

/// Imports a plain file of `size` bytes, read whole first ([`read_in_parallel`]); the mapping
/// it was read into is gone when this returns, before the ledger records the import.
fn import_read_whole(
    store: &Store,
    file: &File,
    size: u64,
    options: &ImportOptions,
    bar: &ProgressBar,
    lines: bool,
) -> Result<ImportReport, String> {
    bar.set_message("reading");
    bar.set_length(size);
    let bytes = read_in_parallel(file, size, bar)?;
    let mut progress = Bar {
        bar: bar.clone(),
        lines,
    };
    store::import_bundle(store, BundleInput::Slice(&bytes), options, &mut progress)
        .map_err(|e| e.to_string())
}

/// Reads a regular file of `size` bytes whole, its parts on several threads at once: most of
/// the time goes to faulting in and filling the fresh buffer, which one thread did alone
/// before any judging could start (about 50 ms of enterprise ATT&CK's import).
///
/// The buffer is an anonymous mapping of its own, not an allocation: unmapped when dropped,
/// its pages go back to the system at once. The allocator kept a freed 34 MB buffer resident
/// while the ledger recorded the import, and that was the import's peak.
fn read_in_parallel(file: &File, size: u64, bar: &ProgressBar) -> Result<memmap2::MmapMut, String> {
    use std::os::unix::fs::FileExt;
    let size = usize::try_from(size).map_err(|_| "the file is too large to read".to_string())?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, READ_THREADS_MAX);
    let mut bytes = memmap2::MmapMut::map_anon(size)
        .map_err(|e| format!("cannot reserve {size} bytes to read the file into: {e}"))?;
    let part_bytes = size.div_ceil(threads).max(1);
    let read = std::thread::scope(|scope| {
        let parts: Vec<_> = bytes
            .chunks_mut(part_bytes)
            .enumerate()
            .map(|(i, part)| {
                scope.spawn(move || -> std::io::Result<()> {
                    let mut offset = (i * part_bytes) as u64;
                    for piece in part.chunks_mut(READ_PIECE_BYTES) {
                        file.read_exact_at(piece, offset)?;
                        offset += piece.len() as u64;
                        bar.inc(piece.len() as u64);
                    }
                    Ok(())
                })
            })
            .collect();
        // The scope joins any part left behind by an early error.
        parts.into_iter().try_for_each(|part| {
            part.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a reading thread panicked")))
        })
    });
    // A file that shrank or grew while it was read would be a spliced bundle: refused, not
    // judged.
    let mut beyond = [0u8; 1];
    match read {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(
            "the file shrank while it was being read; import it again once it is complete".into(),
        ),
        Err(e) => Err(e.to_string()),
        Ok(())
            if file
                .read_at(&mut beyond, size as u64)
                .map_err(|e| e.to_string())?
                > 0 =>
        {
            Err("the file grew while it was being read; import it again once it is complete".into())
        }
        Ok(()) => Ok(bytes),
    }
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
    gzip_size: impl FnOnce() -> Option<u64>,
    options: &ImportOptions,
    bar: &ProgressBar,
    lines: bool,
) -> Result<ImportReport, String> {
    let gzip = starts_gzipped(&mut reader)?;
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
    // A file known to be large is streamed at once (nothing is held in memory); anything
    // else, standard input too, whose size is unknown, is read into memory up to the bound
    // and judged on every core.
    let in_memory_max = if size.is_some() && !small {
        0
    } else {
        SLURP_BYTES_MAX
    };
    if gzip {
        // Sized once from the trailer, the buffer is not grown by doubling: a 34 MB bundle no
        // longer passes through a 32 MB buffer into a 64 MB one (20 to 30 MB less at the
        // peak). A trailer that lies costs at most the bound, and only as address space.
        let stated = gzip_size().unwrap_or(0).min(SLURP_BYTES_MAX) as usize;
        let decoder = flate2::read::MultiGzDecoder::new(counted);
        return import_from(
            store,
            decoder,
            stated,
            in_memory_max,
            options,
            &mut progress,
            |e| format!("not a readable gzip file: {e}"),
        );
    }
    let capacity = size.unwrap_or(0).min(SLURP_BYTES_MAX) as usize;
    import_from(
        store,
        counted,
        capacity,
        in_memory_max,
        options,
        &mut progress,
        |e| e.to_string(),
    )
}

/// Imports the bundle `reader` yields: in memory, judged on every core, when it holds at most
/// `in_memory_max` bytes (read into `capacity` bytes reserved at once); else streamed, with
/// what was already read put back in front. `unreadable` words an error reading the input.
fn import_from(
    store: &Store,
    mut reader: impl Read,
    capacity: usize,
    in_memory_max: u64,
    options: &ImportOptions,
    progress: &mut Bar,
    unreadable: impl Fn(std::io::Error) -> String,
) -> Result<ImportReport, String> {
    let import = |input: BundleInput<'_>, progress: &mut Bar| {
        store::import_bundle(store, input, options, progress).map_err(|e| e.to_string())
    };
    let mut read = Vec::with_capacity(capacity.min(usize::try_from(in_memory_max).unwrap_or(0)));
    (&mut reader)
        .take(in_memory_max + 1)
        .read_to_end(&mut read)
        .map_err(unreadable)?;
    if read.len() as u64 <= in_memory_max {
        return import(BundleInput::Slice(&read), progress);
    }
    // The streaming reader takes a byte at a time: buffered after the progress counter, not
    // only before it, or every byte would pass through the counter (2.08 s for enterprise
    // ATT&CK on standard input, against 0.85 s for the same bundle gzipped).
    let rest = std::io::Cursor::new(read).chain(reader);
    import(
        BundleInput::Reader(Box::new(BufReader::with_capacity(1 << 20, rest))),
        progress,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input over the in-memory bound (standard input of unknown size, here a bound of 64 KB)
    /// is streamed with the part already read put back in front: nothing is lost or repeated.
    #[test]
    fn input_over_the_bound_is_streamed_whole() {
        let bundle = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/data/stix/ics-attack-18.1.json"),
        )
        .unwrap();
        let mut seen = Vec::new();
        for in_memory_max in [64 << 10, SLURP_BYTES_MAX, 0] {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::init(dir.path()).unwrap();
            let mut progress = Bar {
                bar: ProgressBar::hidden(),
                lines: false,
            };
            let report = import_from(
                &store,
                std::io::Cursor::new(&bundle),
                0,
                in_memory_max,
                &ImportOptions::default(),
                &mut progress,
                |e| e.to_string(),
            )
            .unwrap_or_else(|e| panic!("imports with the bound at {in_memory_max}: {e}"));
            assert_eq!(
                (report.objects_read, report.written, report.rejected),
                (1826, 1826, 0)
            );
            seen.push(store.stats().unwrap().objects_by_type);
        }
        assert!(seen.windows(2).all(|pair| pair[0] == pair[1]));
    }

    /// A file is read whole in parts on several threads, byte for byte; one whose length is
    /// not the length it had when opened (it shrank or grew while being read) is refused with
    /// an error that says so, not imported spliced.
    #[test]
    fn a_file_read_in_parallel_is_whole_or_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/stix/ics-attack-18.1.json");
        let expected = std::fs::read(&path).unwrap();
        let file = File::open(&path).unwrap();
        let size = expected.len() as u64;
        let bar = ProgressBar::hidden();
        let read = read_in_parallel(&file, size, &bar).unwrap();
        assert!(
            read[..] == expected[..],
            "the bytes read differ from the file's"
        );
        assert_eq!(bar.position(), size);

        let shrank = read_in_parallel(&file, size + 100, &ProgressBar::hidden()).unwrap_err();
        assert!(shrank.contains("shrank"), "{shrank}");
        let grew = read_in_parallel(&file, size - 100, &ProgressBar::hidden()).unwrap_err();
        assert!(grew.contains("grew"), "{grew}");
    }
}
