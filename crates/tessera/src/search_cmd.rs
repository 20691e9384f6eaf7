//! `tessera search`: brings the search index up to date with the store, then renders a search.

use std::path::Path;

use serde_json::{Value, json};
use store::Store;

/// The search index's folder inside the data directory.
pub const SEARCH_DIR: &str = "search";

pub fn run(
    store: &Store,
    data_dir: &Path,
    query: &search::SearchQuery,
    json_output: bool,
) -> Result<u8, String> {
    let mut index =
        search::SearchIndex::open(&data_dir.join(SEARCH_DIR)).map_err(|e| e.to_string())?;
    let indexed = index.catch_up(store).map_err(|e| e.to_string())?;
    if indexed > 0 && !json_output {
        eprintln!("indexed {indexed} objects");
    }
    let results = index.search(query).map_err(|e| e.to_string())?;
    if json_output {
        let hits: Vec<Value> = results
            .hits
            .iter()
            .map(|h| json!({ "id": h.id, "type": h.object_type, "name": h.name, "score": h.score }))
            .collect();
        let facets: serde_json::Map<String, Value> = results
            .facets
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect();
        println!(
            "{}",
            json!({ "total": results.total, "hits": hits, "facets": facets })
        );
        return Ok(0);
    }
    println!("{} matches", results.total);
    for hit in &results.hits {
        println!("  {:<16} {:<44} {}", hit.object_type, hit.id, hit.name);
    }
    for (kind, counts) in &results.facets {
        if counts.is_empty() {
            continue;
        }
        let mut top: Vec<(&String, &u64)> = counts.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let shown: Vec<String> = top
            .iter()
            .take(8)
            .map(|(v, c)| format!("{v} ({c})"))
            .collect();
        println!("{kind:>8}: {}", shown.join(", "));
    }
    Ok(0)
}
