//! Importing a bundle: read, upgrade, validate, check against what is held, and write in
//! durable batches.
//!
//! Judging and writing overlap: while one batch is being committed, the next is judged (on
//! every core when the bundle is in memory). By default the first rejected object stops the
//! writing, every remaining object is still judged so the report lists every problem, and the
//! store is rolled back to the mark taken before the first batch, so a truncated file, an
//! invalid object or a version conflict leaves it exactly as it was. A process killed
//! mid-import leaves whole batches and nothing else; re-running the import completes it
//! (versions already held are no-ops).

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde_json::Value;
use serde_json::value::RawValue;
use stix::bundle::{BundleHeader, BundleReader, BundleVisitor};
use stix::{BundleError, Object};

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
    /// Judged versions are handed to the writer in slices of at most this many bytes of
    /// canonical JSON (or [`SLICE_VERSIONS_MAX`] versions), so memory stays bounded whatever
    /// the objects' sizes and however large a batch is: the writer sends each slice's bodies to
    /// disk at once and keeps only index entries until the batch commits.
    pub slice_bytes_max: usize,
    pub bundle: BundleReader,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            skip_invalid: false,
            batch_size: 50_000,
            source: "local".to_string(),
            problems_max: 1_000,
            object_bytes_max: 16 << 20,
            slice_bytes_max: 2 << 20,
            bundle: BundleReader::default(),
        }
    }
}

/// Told about progress, so a terminal can draw it; the store never draws anything itself.
pub trait ImportProgress {
    /// Objects judged so far.
    fn objects_read(&mut self, _count: usize) {}
    /// Versions durably committed so far (called only after the commit returned).
    fn committed(&mut self, _versions_so_far: usize) {}
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
    #[error("an import worker thread panicked; nothing was written")]
    Worker,
}

/// Why one reading of a bundle ended without a report: an error, or a bundle in memory that
/// did not split into objects, which [`import_bundle`] then reads again in order.
enum Stop {
    Failed(ImportError),
    Unsplit,
}

impl<E: Into<ImportError>> From<E> for Stop {
    fn from(error: E) -> Self {
        Stop::Failed(error.into())
    }
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
    let in_memory = match input {
        BundleInput::Slice(bytes) => Some(bytes),
        BundleInput::Reader(_) => None,
    };
    let mark = if options.skip_invalid {
        None
    } else {
        Some(store.mark()?)
    };
    let mut outcome = std::thread::scope(|scope| {
        run_import(scope, store, input, Split::WhileJudging, options, progress)
    });
    if let (Err(Stop::Unsplit), Some(bytes)) = (&outcome, in_memory) {
        // A bundle in memory is judged while it is still being split. What was written before
        // the split failed, the reader in order meets as versions already held, and it ends
        // in the error the split could not name; by default the mark undoes both readings.
        outcome = std::thread::scope(|scope| {
            run_import(
                scope,
                store,
                BundleInput::Slice(bytes),
                Split::Never,
                options,
                progress,
            )
        });
    }
    let outcome = outcome.map_err(|stop| match stop {
        Stop::Failed(error) => error,
        // Only a bundle in memory is split, and the reading in order that follows never ends
        // so; worded truthfully all the same.
        Stop::Unsplit => ImportError::Bundle(BundleError::NotABundle(
            "it did not split into objects".to_string(),
        )),
    });
    let rejected = match &outcome {
        Ok(report) => report.bundle_rejected,
        Err(_) => true,
    };
    if rejected && let Some(mark) = mark {
        store.roll_back(mark)?;
    }
    outcome
}

/// Whether a bundle in memory is split into objects judged on every core, or read in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    WhileJudging,
    /// The bundle did not split (it is malformed, or one bare object): the reader that reads
    /// a lone object or explains the problem reads it.
    Never,
}

/// What the writer thread tells the judging side after each commit.
struct Committed {
    written: usize,
    duplicates: usize,
    conflicts: usize,
    versions: usize,
}

/// What the judging side hands the writer thread.
enum ToWriter {
    /// Versions to add to the open batch (opening one if none is).
    Slice(Vec<PreparedVersion>),
    /// Commit the open batch. A batch still open when the channel closes is abandoned.
    Commit,
}

/// Versions handed to the writer at a time: enough that sorting a slice's index entries
/// groups its B-tree inserts, few enough that little waits in memory.
pub const SLICE_VERSIONS_MAX: usize = 1024;

fn run_import<'s, 'e: 's>(
    scope: &'s std::thread::Scope<'s, 'e>,
    store: &'e Store,
    input: BundleInput<'_>,
    split: Split,
    options: &'e ImportOptions,
    progress: &mut dyn ImportProgress,
) -> Result<ImportReport, Stop> {
    // A slice is handed over when the writer is ready for it: judging runs at most one slice
    // ahead (the one it is filling), so at most two slices of bodies are in memory at once.
    let (batch_sender, batch_receiver) = mpsc::sync_channel::<ToWriter>(0);
    let (commit_sender, commit_receiver) = mpsc::channel::<Committed>();
    let writer = scope.spawn(move || -> Result<(), ImportError> {
        let mut open = None;
        let mut committed = Committed {
            written: 0,
            duplicates: 0,
            conflicts: 0,
            versions: 0,
        };
        for message in batch_receiver {
            match message {
                ToWriter::Slice(slice) => {
                    let batch = match &mut open {
                        Some(batch) => batch,
                        None => open.insert(store.begin_batch()?),
                    };
                    for outcome in batch.add(&slice, &options.source)? {
                        match outcome {
                            WriteOutcome::Written { .. } => committed.written += 1,
                            WriteOutcome::Duplicate { .. } => committed.duplicates += 1,
                            WriteOutcome::Conflict { .. } => committed.conflicts += 1,
                        }
                    }
                    committed.versions += slice.len();
                }
                ToWriter::Commit => {
                    if let Some(batch) = open.take() {
                        batch.commit()?;
                    }
                    let done = std::mem::replace(
                        &mut committed,
                        Committed {
                            written: 0,
                            duplicates: 0,
                            conflicts: 0,
                            versions: 0,
                        },
                    );
                    if commit_sender.send(done).is_err() {
                        break;
                    }
                }
            }
        }
        Ok(())
    });

    let mut merge = Merge {
        options,
        seen: HashMap::new(),
        pending: Vec::with_capacity(SLICE_VERSIONS_MAX),
        pending_bytes: 0,
        batch_versions: 0,
        report: ImportReport::default(),
        sink: Some(batch_sender),
        commits: commit_receiver,
        committed_versions: 0,
    };
    let judged = judge_all(store, input, split, options, &mut merge, progress);
    let flushed = judged.and_then(|()| merge.flush(true, progress).map_err(Stop::from));
    // Closing the channel ends the writer once it has written what it holds.
    merge.sink = None;
    let written = writer.join().unwrap_or(Err(ImportError::Worker));
    flushed?;
    written?;
    while let Ok(committed) = merge.commits.recv() {
        merge.count(committed, progress);
    }
    let mut report = merge.report;
    if report.rejected > 0 && !options.skip_invalid {
        report.bundle_rejected = true;
        report.written = 0;
        report.batches = 0;
    }
    Ok(report)
}

fn judge_all(
    store: &Store,
    input: BundleInput<'_>,
    split: Split,
    options: &ImportOptions,
    merge: &mut Merge<'_>,
    progress: &mut dyn ImportProgress,
) -> Result<(), Stop> {
    if let (BundleInput::Slice(bytes), Split::WhileJudging) = (&input, split) {
        // The fast path: a bundle in memory is split on one thread while the objects already
        // split off are judged on every core, and the merge hands the verdicts, in bundle
        // order, to the writer.
        return judge_in_parallel(store, bytes, options, merge, progress);
    }
    let mut visitor = Streaming {
        checker: store.presence_checker()?,
        merge,
        progress,
        fatal: None,
    };
    let summary = match input {
        BundleInput::Slice(bytes) => options.bundle.read_slice(bytes, &mut visitor),
        BundleInput::Reader(reader) => options.bundle.read(reader, &mut visitor),
    };
    if let Some(fatal) = visitor.fatal.take() {
        return Err(fatal.into());
    }
    visitor.merge.report.objects_read = summary?.object_count;
    Ok(())
}

/// The verdict on one object, reached without looking at the rest of the bundle.
enum Verdict {
    Accepted {
        prepared: Box<PreparedVersion>,
        presence: Presence,
        upgraded: bool,
    },
    Rejected {
        object_id: Option<String>,
        problems: Vec<(String, &'static str, String)>,
        upgraded: bool,
    },
}

/// Upgrades, validates and prepares one object, and checks it against the store. Pure apart
/// from the read-only presence check, so it runs on any thread.
fn judge(
    value: Value,
    text_bytes: usize,
    declared_20: bool,
    object_bytes_max: usize,
    checker: &PresenceChecker,
) -> Result<Verdict, StoreError> {
    let mut map = match value {
        Value::Object(map) => map,
        other => {
            let found = match other {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            let problem = (
                String::new(),
                "property-type",
                format!("a STIX object must be a JSON object, found {found}"),
            );
            return Ok(Verdict::Rejected {
                object_id: None,
                problems: vec![problem],
                upgraded: false,
            });
        }
    };
    let upgraded = stix::reads_as_20(&map, declared_20);
    if upgraded {
        stix::upgrade_from_20(&mut map);
    }
    let errors = stix::validate::validate(&map);
    let object_id = map.get("id").and_then(Value::as_str).map(str::to_string);
    if !errors.is_empty() {
        let problems = errors
            .into_iter()
            .map(|e| (e.path, e.rule.name(), e.message))
            .collect();
        return Ok(Verdict::Rejected {
            object_id,
            problems,
            upgraded,
        });
    }
    let object = Object::from_map(map).map_err(|e| StoreError::Corrupt {
        seq: 0,
        message: format!("a validated object lost its type or id: {e}"),
    })?;
    let prepared = PreparedVersion::from_object_sized(&object, text_bytes);
    if prepared.canonical_json.len() > object_bytes_max {
        let problem = (
            String::new(),
            "object-size",
            format!(
                "the object is {} bytes; the limit is {} bytes",
                prepared.canonical_json.len(),
                object_bytes_max
            ),
        );
        return Ok(Verdict::Rejected {
            object_id,
            problems: vec![problem],
            upgraded,
        });
    }
    let presence = checker.check(&prepared.id, prepared.version, &prepared.content_hash)?;
    Ok(Verdict::Accepted {
        prepared: Box::new(prepared),
        presence,
        upgraded,
    })
}

/// Objects handed to a worker at a time: small enough to balance two cores on bundles whose
/// object sizes vary, large enough that the hand-off costs nothing.
const JUDGE_CHUNK: usize = 256;
/// Chunks the workers may judge ahead of the merge. Bounds the prepared versions waiting in
/// memory beside the slices being written.
const JUDGE_AHEAD_CHUNKS: usize = 4;
/// Workers at most, whatever the machine.
const JUDGE_THREADS_MAX: usize = 8;

/// A worker's verdicts on one chunk, by the chunk's index.
type Judged = (usize, Result<Vec<Verdict>, StoreError>);

/// The merge's progress, which the workers wait on so as not to run too far ahead of it.
struct MergedChunks {
    state: std::sync::Mutex<MergeState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct MergeState {
    /// Chunks merged so far (the next one the merge waits for).
    merged: usize,
    /// The import is over, or failed: workers take no more chunks.
    stopped: bool,
}

impl MergedChunks {
    fn set(&self, merged: Option<usize>, stop: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(merged) = merged {
            state.merged = merged;
        }
        state.stopped |= stop;
        self.changed.notify_all();
    }

    fn stopped(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stopped
    }

    /// Waits until `chunk` is within reach of the merge; false once the import stopped.
    fn wait_for_room(&self, chunk: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.stopped && chunk >= state.merged + JUDGE_AHEAD_CHUNKS {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        !state.stopped
    }
}

/// Stops the other workers if this one panics: the merge would otherwise wait for its chunk
/// while they wait for the merge.
struct StopOnPanic<'a>(&'a MergedChunks);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.set(None, true);
        }
    }
}

/// The objects split off an in-memory bundle so far, shared by the thread splitting it and
/// the workers judging them.
#[derive(Default)]
struct SplitObjects<'a> {
    state: std::sync::Mutex<SplitState<'a>>,
    grown: std::sync::Condvar,
}

#[derive(Default)]
struct SplitState<'a> {
    objects: Vec<&'a RawValue>,
    /// How many objects had been split when the bundle said `"spec_version": "2.0"`. A
    /// bundle's members come before or after its objects, and an object is judged by what was
    /// read before it, as the reader in order does.
    declared_20_after: Option<usize>,
    /// `None` while splitting; whether the whole bundle split, once it ended.
    ended: Option<bool>,
}

impl<'a> SplitObjects<'a> {
    fn publish(&self, objects: &mut Vec<&'a RawValue>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.objects.append(objects);
        self.grown.notify_all();
    }

    fn end(&self, split: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.ended.get_or_insert(split);
        self.grown.notify_all();
    }

    /// The texts of `chunk` and whether they were declared 2.0, once split; `None` when the
    /// bundle ended before it, or did not split.
    fn take(&self, chunk: usize) -> Option<(Vec<&'a RawValue>, bool)> {
        let (start, end) = (chunk * JUDGE_CHUNK, (chunk + 1) * JUDGE_CHUNK);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.ended.is_none() && state.objects.len() < end {
            state = self.grown.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.ended == Some(false) || start >= state.objects.len() {
            return None;
        }
        let end = end.min(state.objects.len());
        let declared_20 = state.declared_20_after.is_some_and(|after| after <= start);
        Some((state.objects[start..end].to_vec(), declared_20))
    }
}

/// Hands the objects split off to the workers a chunk at a time.
struct ChunkSink<'s, 'a> {
    split: &'s SplitObjects<'a>,
    merged: &'s MergedChunks,
    pending: Vec<&'a RawValue>,
}

impl<'a> stix::bundle::SplitSink<'a> for ChunkSink<'_, 'a> {
    fn spec_version(&mut self, spec_version: &str) {
        self.split.publish(&mut self.pending);
        let mut state = self.split.state.lock().unwrap_or_else(|e| e.into_inner());
        if spec_version == "2.0" {
            state.declared_20_after = Some(state.objects.len());
        }
    }

    fn object(&mut self, raw: &'a RawValue) -> bool {
        self.pending.push(raw);
        if self.pending.len() < JUDGE_CHUNK {
            return true;
        }
        self.split.publish(&mut self.pending);
        // A failed merge stops the split too, or workers would wait for chunks to come.
        !self.merged.stopped()
    }
}

/// Ends the split however the splitting thread leaves, a panic included: workers waiting for
/// a chunk must not wait for ever.
struct EndSplit<'s, 'a>(&'s SplitObjects<'a>);

impl Drop for EndSplit<'_, '_> {
    fn drop(&mut self) {
        self.0.end(false);
    }
}

/// Splits `bytes` on one thread while workers on every core judge the objects split off (a
/// few chunks ahead of the merge at most), and merges the verdicts in bundle order on this
/// thread as they arrive. [`Stop::Unsplit`] when the bundle did not split.
fn judge_in_parallel(
    store: &Store,
    bytes: &[u8],
    options: &ImportOptions,
    merge: &mut Merge<'_>,
    progress: &mut dyn ImportProgress,
) -> Result<(), Stop> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, JUDGE_THREADS_MAX);
    let next_chunk = AtomicUsize::new(0);
    let merged = MergedChunks {
        state: std::sync::Mutex::new(MergeState::default()),
        changed: std::sync::Condvar::new(),
    };
    let split = SplitObjects::default();
    let (sender, receiver) = mpsc::channel::<Judged>();
    std::thread::scope(|scope| {
        let (split, merged) = (&split, &merged);
        let splitter = scope.spawn(move || {
            let ended = EndSplit(split);
            let mut sink = ChunkSink {
                split,
                merged,
                pending: Vec::with_capacity(JUDGE_CHUNK),
            };
            let whole = options.bundle.split_slice_into(bytes, &mut sink).is_some();
            sink.split.publish(&mut sink.pending);
            split.end(whole);
            drop(ended);
        });
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let sender = sender.clone();
                let next_chunk = &next_chunk;
                scope.spawn(move || {
                    let _guard = StopOnPanic(merged);
                    let checker = match store.presence_checker() {
                        Ok(checker) => checker,
                        Err(e) => {
                            let _ = sender.send((0, Err(e)));
                            return;
                        }
                    };
                    loop {
                        let chunk = next_chunk.fetch_add(1, Ordering::Relaxed);
                        // The chunk is taken before waiting for room: one past the end is
                        // known as soon as the split ends, not once the merge is near it.
                        let Some((texts, declared_20)) = split.take(chunk) else {
                            return;
                        };
                        if !merged.wait_for_room(chunk) {
                            return;
                        }
                        let verdicts = texts
                            .iter()
                            .map(|text| judge_text(text.get(), declared_20, options, &checker))
                            .collect();
                        if sender.send((chunk, verdicts)).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        drop(sender);
        let merged_all = merge_in_order(&receiver, merged, merge, progress);
        // Whatever happened, the workers and the split stop: a failed merge must not leave
        // them waiting.
        merged.set(None, true);
        drop(receiver);
        let mut panicked = splitter.join().is_err();
        for worker in workers {
            panicked |= worker.join().is_err();
        }
        let merged_chunks = merged_all?;
        // A panic stops the split too; it is not the bundle's fault.
        if panicked {
            return Err(ImportError::Worker.into());
        }
        let state = split.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.ended != Some(true) {
            return Err(Stop::Unsplit);
        }
        if merged_chunks != state.objects.len().div_ceil(JUDGE_CHUNK) {
            return Err(ImportError::Worker.into());
        }
        merge.report.objects_read = state.objects.len();
        Ok(())
    })
}

/// Takes the workers' chunks as they come and merges them in bundle order, until every
/// worker is done; returns how many chunks it merged.
fn merge_in_order(
    receiver: &mpsc::Receiver<Judged>,
    merged: &MergedChunks,
    merge: &mut Merge<'_>,
    progress: &mut dyn ImportProgress,
) -> Result<usize, ImportError> {
    let mut early: HashMap<usize, Vec<Verdict>> = HashMap::new();
    let mut next = 0;
    loop {
        let verdicts = match early.remove(&next) {
            Some(verdicts) => verdicts,
            None => {
                let Ok((chunk, verdicts)) = receiver.recv() else {
                    return Ok(next);
                };
                let verdicts = verdicts?;
                if chunk != next {
                    early.insert(chunk, verdicts);
                    continue;
                }
                verdicts
            }
        };
        let first = next * JUDGE_CHUNK;
        let count = verdicts.len();
        for (i, verdict) in verdicts.into_iter().enumerate() {
            merge.accept(first + i, verdict, progress)?;
        }
        next += 1;
        merged.set(Some(next), false);
        progress.objects_read(first + count);
    }
}

/// Parses and judges one object's text. The splitter already checked the JSON; parsing fails
/// only at the recursion limit, which is reported like any other bad object.
fn judge_text(
    text: &str,
    declared_20: bool,
    options: &ImportOptions,
    checker: &PresenceChecker,
) -> Result<Verdict, StoreError> {
    match stix::strict::from_str(text) {
        Ok(value) => judge(
            value,
            text.len(),
            declared_20,
            options.object_bytes_max,
            checker,
        ),
        Err(e) => Ok(Verdict::Rejected {
            object_id: None,
            problems: vec![(String::new(), "json", e.to_string())],
            upgraded: false,
        }),
    }
}

/// The sequential half of judging: what depends on the rest of the bundle (the same version
/// twice, conflicts between objects of one bundle) and the memory bound.
struct Merge<'a> {
    options: &'a ImportOptions,
    /// (id, version) -> content hash of every version accepted from this bundle.
    seen: HashMap<(String, i128), [u8; 32]>,
    /// The slice being filled.
    pending: Vec<PreparedVersion>,
    pending_bytes: usize,
    /// Versions handed to the writer in the batch it has open.
    batch_versions: usize,
    report: ImportReport,
    /// Where slices go to be written; `None` once writing is over.
    sink: Option<mpsc::SyncSender<ToWriter>>,
    commits: mpsc::Receiver<Committed>,
    committed_versions: usize,
}

impl Merge<'_> {
    fn problem(
        &mut self,
        index: usize,
        object_id: Option<String>,
        path: &str,
        rule: &str,
        message: String,
    ) {
        if self.report.problems.len() < self.options.problems_max {
            let path = if path.is_empty() {
                format!("objects[{index}]")
            } else {
                format!("objects[{index}].{path}")
            };
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

    /// A version the bundle or the store already holds with other content: rejected, never
    /// written.
    fn conflict(&mut self, index: usize, id: &str, message: String) {
        self.report.rejected += 1;
        self.report.conflicts += 1;
        self.problem(
            index,
            Some(id.to_string()),
            "modified",
            "version-conflict",
            message,
        );
    }

    /// Hands the pending versions to the writer, and commits the open batch when it is full or
    /// `end` is set, unless a rejection has stopped the writing (the open batch is then
    /// abandoned when the channel closes).
    fn flush(&mut self, end: bool, progress: &mut dyn ImportProgress) -> Result<(), ImportError> {
        while let Ok(committed) = self.commits.try_recv() {
            self.count(committed, progress);
        }
        let slice = std::mem::replace(&mut self.pending, Vec::with_capacity(SLICE_VERSIONS_MAX));
        self.pending_bytes = 0;
        let stopped = self.report.rejected > 0 && !self.options.skip_invalid;
        if stopped {
            return Ok(());
        }
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        // The writer only hangs up after failing; its error is what the caller reports.
        if !slice.is_empty() {
            self.batch_versions += slice.len();
            let _ = sink.send(ToWriter::Slice(slice));
        }
        if self.batch_versions > 0 && (end || self.batch_versions >= self.options.batch_size.max(1))
        {
            self.batch_versions = 0;
            self.report.batches += 1;
            let _ = sink.send(ToWriter::Commit);
        }
        Ok(())
    }

    fn count(&mut self, committed: Committed, progress: &mut dyn ImportProgress) {
        self.report.written += committed.written;
        self.report.duplicates += committed.duplicates;
        // Another writer stored a different version in between; report it like any conflict.
        self.report.conflicts += committed.conflicts;
        self.report.rejected += committed.conflicts;
        self.committed_versions += committed.versions;
        progress.committed(self.committed_versions);
    }

    fn accept(
        &mut self,
        index: usize,
        verdict: Verdict,
        progress: &mut dyn ImportProgress,
    ) -> Result<(), ImportError> {
        let (prepared, presence) = match verdict {
            Verdict::Rejected {
                object_id,
                problems,
                upgraded,
            } => {
                self.report.upgraded_from_20 += usize::from(upgraded);
                self.report.rejected += 1;
                for (path, rule, message) in problems {
                    self.problem(index, object_id.clone(), &path, rule, message);
                }
                return Ok(());
            }
            Verdict::Accepted {
                prepared,
                presence,
                upgraded,
            } => {
                self.report.upgraded_from_20 += usize::from(upgraded);
                (*prepared, presence)
            }
        };
        let key = (prepared.id.clone(), prepared.version);
        if let Some(hash) = self.seen.get(&key) {
            if *hash == prepared.content_hash {
                self.report.duplicates += 1;
            } else {
                let message = format!(
                    "the bundle holds two different objects for version {} of {}",
                    prepared.version_text, prepared.id
                );
                self.conflict(index, &prepared.id, message);
            }
            return Ok(());
        }
        match presence {
            Presence::Absent => {}
            Presence::Same { .. } => {
                self.report.duplicates += 1;
                return Ok(());
            }
            Presence::Different { stored_hash, .. } => {
                let message = format!(
                    "version {} of {} is already held with different content (sha256 {}); a new version needs a later modified",
                    prepared.version_text,
                    prepared.id,
                    hex::encode(stored_hash)
                );
                self.conflict(index, &prepared.id, message);
                return Ok(());
            }
        }
        self.pending_bytes += prepared.canonical_json.len();
        self.seen.insert(key, prepared.content_hash);
        self.pending.push(prepared);
        if self.pending.len() >= SLICE_VERSIONS_MAX
            || self.pending_bytes >= self.options.slice_bytes_max
            || self.batch_versions + self.pending.len() >= self.options.batch_size.max(1)
        {
            self.flush(false, progress)?;
        }
        Ok(())
    }
}

/// Judges objects one by one as a reader yields them (bundles too large to hold in memory, or
/// read from standard input).
struct Streaming<'a, 'm> {
    checker: PresenceChecker,
    merge: &'a mut Merge<'m>,
    progress: &'a mut dyn ImportProgress,
    fatal: Option<ImportError>,
}

impl BundleVisitor for Streaming<'_, '_> {
    fn object(&mut self, index: usize, value: Value, header: &BundleHeader) -> Result<(), String> {
        let declared_20 = header.spec_version.as_deref() == Some("2.0");
        // The reader does not say how long the object's text was.
        let outcome = judge(
            value,
            0,
            declared_20,
            self.merge.options.object_bytes_max,
            &self.checker,
        )
        .map_err(ImportError::from)
        .and_then(|verdict| self.merge.accept(index, verdict, &mut *self.progress));
        if let Err(e) = outcome {
            let message = e.to_string();
            self.fatal = Some(e);
            return Err(message);
        }
        if index.is_multiple_of(4096) {
            self.progress.objects_read(index + 1);
        }
        Ok(())
    }
}
