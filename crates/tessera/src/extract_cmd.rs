//! `tessera extract`, `tessera import --review` and `tessera review`: drafts from news text, and
//! the queue in which an analyst accepts or rejects them. The extraction itself is the
//! `extract` crate's; this file reads files, the clock and the store, and renders.

use std::path::{Path, PathBuf};

use extract::draft::{GroupDirectory, Source, text_key};
use serde_json::{Map, Value, json};
use store::{ImportOptions, Scan, Store};

use crate::ProgressMode;

/// Largest text file read for extraction. Texts beyond the extractor's own limit are cut there;
/// this bound only stops reading absurd files into memory.
const TEXT_FILE_BYTES_MAX: u64 = 64 << 20;
/// Largest MUC-4 JSON-lines file.
const MUC4_FILE_BYTES_MAX: u64 = 256 << 20;

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if size > max {
        return Err(format!(
            "{}: {size} bytes, above the limit of {max} bytes",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The groups the node holds (threat actors and intrusion sets), if it has a store.
fn group_objects(dir: &Path) -> Vec<stix::Object> {
    let Ok(store) = Store::open(dir) else {
        return Vec::new();
    };
    let mut scan = Scan {
        types: vec!["threat-actor".into(), "intrusion-set".into()],
        latest_only: true,
        limit: 5_000,
        ..Scan::default()
    };
    let mut out = Vec::new();
    while let Ok(page) = store.scan(&scan) {
        out.extend(page.versions.iter().filter_map(|v| v.object().ok()));
        match page.next_after_seq {
            Some(seq) => scan.after_seq = seq,
            None => break,
        }
    }
    out
}

fn now() -> stix::Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    stix::Timestamp::from_unix_millis(millis)
}

/// `tessera extract FILE... [--published DATE]`: one draft bundle for all the files.
pub fn extract_files(
    dir: &Path,
    files: &[PathBuf],
    published: Option<&str>,
) -> Result<Value, String> {
    let created = now();
    let published = match published {
        Some(text) => incident::Date::parse(text)
            .map_err(|e| format!("--published {text:?}: {e} (expected YYYY-MM-DD)"))?,
        None => {
            let day = created.unix_nanos().div_euclid(86_400_000_000_000) as i64;
            incident::Date::from_days_since_epoch(day).ok_or("the clock is out of range")?
        }
    };
    let directory = GroupDirectory::new(&group_objects(dir));
    let mut objects: Vec<Value> = Vec::new();
    let mut bundle_id = None;
    for file in files {
        let bytes = read_bounded(file, TEXT_FILE_BYTES_MAX)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            format!(
                "{}: not UTF-8 text ({e}); extract reads plain text",
                file.display()
            )
        })?;
        if text.contains('\0') {
            return Err(format!("{}: binary data, not text", file.display()));
        }
        let draft = extract::news::extract(text, published, &directory.index);
        let source = Source {
            name: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.display().to_string()),
            published,
            created,
            text_key: text_key(text),
        };
        let bundle =
            extract::draft::to_bundle(&draft, &source, &directory).map_err(|e| e.to_string())?;
        bundle_id.get_or_insert_with(|| bundle["id"].clone());
        if let Some(list) = bundle["objects"].as_array() {
            for object in list {
                if !objects.iter().any(|o| o["id"] == object["id"]) {
                    objects.push(object.clone());
                }
            }
        }
    }
    Ok(json!({"type": "bundle", "id": bundle_id.unwrap_or(Value::Null), "objects": objects}))
}

/// `tessera extract --muc4 FILE.jsonl`: `{docid: [template, ...]}`.
pub fn extract_muc4(file: &Path) -> Result<Value, String> {
    let bytes = read_bounded(file, MUC4_FILE_BYTES_MAX)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let documents =
        extract::muc4::read_jsonl(text).map_err(|e| format!("{}: {e}", file.display()))?;
    let model = extract::muc4_model().ok_or("the shipped MUC-4 model is unreadable")?;
    let mut out = Map::new();
    for document in &documents {
        let templates = model.extract(&document.doctext);
        out.insert(
            document.docid.clone(),
            serde_json::to_value(templates).map_err(|e| e.to_string())?,
        );
    }
    Ok(Value::Object(out))
}

fn review_dir(dir: &Path) -> PathBuf {
    dir.join("review")
}

/// A draft's queue id: from its content, so filing the same draft twice is one entry.
fn draft_id(bytes: &[u8]) -> String {
    let key = text_key(&String::from_utf8_lossy(bytes));
    format!("draft-{}", &key[..12])
}

/// `tessera import --review FILE...`: files drafts into the review queue.
pub fn file_for_review(dir: &Path, paths: &[PathBuf]) -> Result<Value, String> {
    let queue = review_dir(dir);
    std::fs::create_dir_all(&queue).map_err(|e| format!("{}: {e}", queue.display()))?;
    let mut filed = Vec::new();
    for path in paths {
        let bytes = read_bounded(path, TEXT_FILE_BYTES_MAX)?;
        let bundle: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a JSON bundle: {e}", path.display()))?;
        let objects = bundle["objects"]
            .as_array()
            .filter(|_| bundle["type"] == "bundle")
            .ok_or_else(|| format!("{}: not a STIX bundle", path.display()))?;
        for object in objects {
            let object = stix::Object::from_value(object.clone())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let problems = object.validate();
            if let Some(problem) = problems.first() {
                return Err(format!("{}: {}: {problem}", path.display(), object.id()));
            }
        }
        let id = draft_id(&bytes);
        let target = queue.join(format!("{id}.json"));
        std::fs::write(&target, &bytes).map_err(|e| format!("{}: {e}", target.display()))?;
        filed.push(json!({"id": id, "file": path, "objects": objects.len()}));
    }
    Ok(json!({"filed": filed}))
}

fn summary(path: &Path) -> Option<Value> {
    let bytes = std::fs::read(path).ok()?;
    let bundle: Value = serde_json::from_slice(&bytes).ok()?;
    let objects = bundle["objects"].as_array()?;
    let count = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
    let report = objects.iter().find(|o| o["type"] == "report");
    Some(json!({
        "id": path.file_stem()?.to_string_lossy(),
        "name": report.and_then(|r| r["name"].as_str()).unwrap_or(""),
        "incidents": count("incident"),
        "threat_actors": count("threat-actor"),
        "objects": objects.len(),
    }))
}

/// `tessera review list`: the drafts waiting for review.
pub fn review_list(dir: &Path) -> Result<Value, String> {
    let queue = review_dir(dir);
    let mut drafts = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&queue) {
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        drafts.extend(paths.iter().filter_map(|p| summary(p)));
    }
    Ok(json!({"pending": drafts}))
}

fn pending(dir: &Path, id: &str) -> Result<PathBuf, String> {
    let valid = id.starts_with("draft-")
        && id.len() <= 40
        && id[6..].chars().all(|c| c.is_ascii_hexdigit());
    let path = review_dir(dir).join(format!("{id}.json"));
    if !valid || !path.is_file() {
        return Err(format!(
            "no pending draft {id:?} (see `tessera review list`)"
        ));
    }
    Ok(path)
}

fn file_away(dir: &Path, path: &Path, id: &str, outcome: &str) -> Result<(), String> {
    let target_dir = review_dir(dir).join(outcome);
    std::fs::create_dir_all(&target_dir).map_err(|e| format!("{}: {e}", target_dir.display()))?;
    let target = target_dir.join(format!("{id}.json"));
    std::fs::rename(path, &target).map_err(|e| format!("{}: {e}", target.display()))
}

/// `tessera review accept ID`: imports the draft into the store, then files it as accepted.
pub fn review_accept(dir: &Path, id: &str) -> Result<Value, String> {
    let path = pending(dir, id)?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    let options = ImportOptions {
        source: format!("review:{id}"),
        ..ImportOptions::default()
    };
    let report = crate::input::import_bytes(&store, &bytes, &options, ProgressMode::None)?;
    if report.bundle_rejected || report.rejected > 0 {
        return Err(format!(
            "draft {id} was not imported: {} object(s) rejected; it stays in the queue",
            report.rejected
        ));
    }
    file_away(dir, &path, id, "accepted")?;
    Ok(json!({"accepted": id, "written": report.written, "duplicates": report.duplicates}))
}

/// `tessera review reject ID`: files the draft as rejected; nothing is imported.
pub fn review_reject(dir: &Path, id: &str) -> Result<Value, String> {
    let path = pending(dir, id)?;
    file_away(dir, &path, id, "rejected")?;
    Ok(json!({"rejected": id}))
}
