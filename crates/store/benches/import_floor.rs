//! What an import of one bundle cannot go below with this store's parts, phase by phase, beside
//! the whole import of the same bundle in the same run.
//!
//! Issue 2 asks for 100,000 objects/s. This measures, each on its own with nothing else
//! running, the stages the import overlaps:
//! - `scan`: every object's text read through by serde_json without keeping anything
//!   (`IgnoredAny`), on every core: what any reader built on serde_json pays before it keeps a
//!   single value;
//! - `borrowed tree`: every object's text into a tree whose strings borrow the text where they
//!   can (`serde_json_borrow::Value`, maps as lists of pairs), on every core: what a reader
//!   that keeps no owned strings would pay;
//! - `parse`: every object's text into a `serde_json::Value`, on every core;
//! - `judge`: parse, upgrade, validate and prepare (canonical JSON, content hash, index terms),
//!   on every core: the import's parallel half, without the check against the store;
//! - `writer`: the store's single writer alone, handed every prepared version (prepared before
//!   the clock starts): bodies, index inserts and the durable commit. redb takes one write
//!   transaction at a time, so this stage runs on one thread however many cores there are
//!   (`its adds`: the same, up to the commit);
//! - `redb floor`: as many entries as the writer's indexes take, inserted into one redb table in
//!   the cheapest way redb offers (ascending `u64` keys, each appended at the tree's right edge,
//!   with the `versions` table's 20-byte value), then committed durably;
//! - `durable bytes`: the bodies' bytes written to a fresh file and synced, the disk's part;
//! - `import`: `import_bundle` itself into a fresh store, all of the above overlapped.
//!
//! Run: `cargo bench -p store --bench import_floor -- [--runs N] [BUNDLE.json[.gz]]`
//! (default: enterprise ATT&CK in STIX 2.0 from `../shared/data`, the bundle `bench/import` uses).
//! The ledger's phase, which the `tessera` binary adds after the store's import, is not here.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;
use store::{BundleInput, ImportOptions, PreparedVersion, Store, import_bundle};

/// Objects per second issue 2 asks for.
const TARGET_OBJECTS_PER_S: f64 = 100_000.0;
/// Objects a worker takes at a time (`store::import`'s `JUDGE_CHUNK`).
const CHUNK_OBJECTS: usize = 256;
/// Versions the import hands its writer at a time (`store::import::SLICE_VERSIONS_MAX`).
const SLICE_VERSIONS: usize = 1024;

#[derive(serde::Deserialize)]
struct Bundle<'a> {
    spec_version: Option<&'a str>,
    #[serde(borrow)]
    objects: Vec<&'a RawValue>,
}

fn main() {
    let mut runs = 7usize;
    let mut path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--runs takes a number")
            }
            // `cargo bench` passes this to every bench target.
            "--bench" => {}
            other => path = Some(PathBuf::from(other)),
        }
    }
    let path = path.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/stix/enterprise-attack-18.1-stix20.json.gz")
    });
    let bytes = read_bundle(&path);
    let bundle: Bundle<'_> = serde_json::from_slice(&bytes).expect("a STIX bundle");
    let texts: Vec<&str> = bundle.objects.iter().map(|raw| raw.get()).collect();
    let declared_20 = bundle.spec_version == Some("2.0");
    let prepare = |text: &str| prepare(text, declared_20);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let scratch = tempfile::tempdir().expect("a scratch directory");
    println!(
        "{}: {} objects, {:.1} MB, {threads} threads, {runs} runs",
        path.display(),
        texts.len(),
        bytes.len() as f64 / 1e6
    );

    let mut phases = Phases::default();
    let mut entries = 0;
    for run in 0..runs {
        // Each run in its own directory, removed after it: eleven runs would leave 2 GB.
        let dir = scratch.path().join(format!("run-{run}"));
        std::fs::create_dir(&dir).expect("a run directory");
        phases.scan.push(timed(|| {
            on_every_core(&texts, threads, |text| {
                serde_json::from_str::<IgnoredAny>(text).expect("an object that parses")
            })
        }));
        phases.borrowed.push(timed(|| {
            on_every_core(&texts, threads, |text| {
                serde_json::from_str::<serde_json_borrow::Value<'_>>(text)
                    .expect("an object that parses")
            })
        }));
        phases.parse.push(timed(|| {
            on_every_core(&texts, threads, |text| {
                serde_json::from_str::<Value>(text).expect("an object that parses")
            })
        }));
        phases
            .judge
            .push(timed(|| on_every_core(&texts, threads, prepare)));

        let prepared = on_every_core(&texts, threads, prepare);
        {
            let store = Store::init(&dir.join("writer")).expect("a fresh store");
            let mut batch = None;
            let adds = timed(|| {
                let batch = batch.insert(store.begin_batch().expect("a batch"));
                for slice in prepared.chunks(SLICE_VERSIONS) {
                    batch.add(slice, "bench").expect("written");
                }
            });
            let commit = timed(|| batch.take().expect("a batch").commit().expect("committed"));
            phases.writer_adds.push(adds);
            phases.writer.push(Sample {
                wall_s: adds.wall_s + commit.wall_s,
                cpu_s: adds.cpu_s + commit.cpu_s,
            });
            // What the writer wrote, counted by the store itself, which checks it on the way.
            let verified = store.verify().expect("verified");
            assert!(verified.is_ok(), "{:?}", verified.problems);
            entries = verified.index_entries;
        }

        let floor_path = dir.join("floor.redb");
        phases
            .redb_floor
            .push(timed(|| redb_floor(&floor_path, entries)));

        let bodies_bytes: usize = prepared.iter().map(|p| p.canonical_json.len()).sum();
        let file = dir.join("bodies");
        phases.durable_bytes.push(timed(|| {
            let mut out = std::fs::File::create(&file).expect("a scratch file");
            for version in &prepared {
                out.write_all(&version.canonical_json).expect("written");
            }
            out.sync_data().expect("synced");
        }));
        assert_eq!(
            std::fs::metadata(&file).expect("written").len(),
            bodies_bytes as u64
        );
        drop(prepared);

        let store = Store::init(&dir.join("import")).expect("a fresh store");
        phases.import.push(timed(|| {
            let report = import_bundle(
                &store,
                BundleInput::Slice(&bytes),
                &ImportOptions::default(),
                &mut (),
            )
            .expect("imported");
            assert_eq!(report.written, texts.len(), "every object written");
        }));
        drop(store);
        std::fs::remove_dir_all(&dir).expect("the run directory removed");
    }

    let budget_s = texts.len() as f64 / TARGET_OBJECTS_PER_S;
    let import_s = median(phases.import.iter().map(|s| s.wall_s));
    println!(
        "{:<14} {:>9} {:>7} {:>12} {:>14} {:>12}",
        "phase", "median s", "CPU s", "objects/s", "of the budget", "of import"
    );
    for (name, samples) in [
        ("scan", &phases.scan),
        ("borrowed tree", &phases.borrowed),
        ("parse", &phases.parse),
        ("judge", &phases.judge),
        ("writer", &phases.writer),
        ("  its adds", &phases.writer_adds),
        ("redb floor", &phases.redb_floor),
        ("durable bytes", &phases.durable_bytes),
        ("import", &phases.import),
    ] {
        let seconds = median(samples.iter().map(|s| s.wall_s));
        let cpu_s = median(samples.iter().map(|s| s.cpu_s));
        println!(
            "{name:<14} {seconds:>9.3} {cpu_s:>7.3} {:>12.0} {:>13.0}% {:>11.0}%",
            texts.len() as f64 / seconds,
            100.0 * seconds / budget_s,
            100.0 * seconds / import_s
        );
    }
    println!("index entries the writer inserts: {entries}");
    println!(
        "budget at {TARGET_OBJECTS_PER_S:.0} objects/s: {budget_s:.3} s, {:.3} CPU s on {threads} \
         threads; import / budget: {:.2}x",
        budget_s * threads as f64,
        import_s / budget_s
    );
}

/// What each phase took, one sample per run.
#[derive(Default)]
struct Phases {
    scan: Vec<Sample>,
    borrowed: Vec<Sample>,
    parse: Vec<Sample>,
    judge: Vec<Sample>,
    writer: Vec<Sample>,
    writer_adds: Vec<Sample>,
    redb_floor: Vec<Sample>,
    durable_bytes: Vec<Sample>,
    import: Vec<Sample>,
}

/// What the import's workers do to one object, less the check against the store.
fn prepare(text: &str, declared_20: bool) -> PreparedVersion {
    let Value::Object(mut map) = stix::strict::from_str(text).expect("an object that parses")
    else {
        panic!("a bundle member that is not an object");
    };
    if stix::reads_as_20(&map, declared_20) {
        stix::upgrade_from_20(&mut map);
    }
    let errors = stix::validate(&map);
    assert!(errors.is_empty(), "an invalid object: {errors:?}");
    let object = stix::Object::from_map(map).expect("a validated object");
    PreparedVersion::from_object_sized(&object, text.len())
}

/// `entries` appends to one redb table and a durable commit.
fn redb_floor(path: &std::path::Path, entries: u64) {
    const TABLE: redb::TableDefinition<u64, (u64, u32, i64)> = redb::TableDefinition::new("floor");
    let db = redb::Database::create(path).expect("a scratch database");
    let txn = db.begin_write().expect("a write transaction");
    {
        let mut table = txn.open_table(TABLE).expect("a table");
        for key in 0..entries {
            table
                .insert(key, (key << 10, 1_400, key as i64))
                .expect("inserted");
        }
    }
    txn.commit().expect("committed");
}

/// `work` on every text, on `threads` threads taking chunks of [`CHUNK_OBJECTS`] in turn (as
/// the import's workers do, so that one thread does not idle while the other finishes a run of
/// large objects); the results in order.
fn on_every_core<'t, T: Send>(
    texts: &[&'t str],
    threads: usize,
    work: impl Fn(&'t str) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let chunks: Vec<&[&'t str]> = texts.chunks(CHUNK_OBJECTS).collect();
    let mut done: Vec<(usize, Vec<T>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(chunk) = chunks.get(i) else {
                            return mine;
                        };
                        mine.push((i, chunk.iter().map(|text| work(text)).collect()));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker panicked"))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().flat_map(|(_, results)| results).collect()
}

/// Wall and CPU seconds (every thread of the process, user and system) of `work`.
fn timed<T>(work: impl FnOnce() -> T) -> Sample {
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let result = work();
    let sample = Sample {
        wall_s: start.elapsed().as_secs_f64(),
        cpu_s: cpu_seconds() - cpu_start,
    };
    // Dropping what was built is not part of the phase.
    drop(result);
    sample
}

#[derive(Clone, Copy)]
struct Sample {
    wall_s: f64,
    cpu_s: f64,
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn median(samples: impl Iterator<Item = f64>) -> f64 {
    let mut sorted: Vec<f64> = samples.collect();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn read_bundle(path: &std::path::Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return raw;
    }
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(raw.as_slice())
        .read_to_end(&mut bytes)
        .expect("a gzip file that decompresses");
    bytes
}
