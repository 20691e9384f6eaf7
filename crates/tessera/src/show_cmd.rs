//! `tessera show`: one object with its links and, for an incident, the other sources that
//! report the same event.

use serde_json::{Value, json};
use store::Store;

/// Links listed at most, in each direction.
const LINKS_MAX: usize = 200;

pub fn run(store: &Store, id: &str, json_output: bool) -> Result<u8, String> {
    let version = store
        .get(id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{id} is not held by this node"))?;
    let object = version.object().map_err(|e| e.to_string())?;
    let name_of = |other: &str| -> String {
        store
            .get(other)
            .ok()
            .flatten()
            .and_then(|v| v.object().ok())
            .and_then(|o| o.get_str("name").map(str::to_string))
            .unwrap_or_default()
    };
    let mut links = Vec::new();
    for (properties, referrer) in store.referrers(id, LINKS_MAX).map_err(|e| e.to_string())? {
        let Ok(relationship) = referrer.object() else {
            continue;
        };
        let Some(link) = relationship.as_relationship() else {
            continue;
        };
        if store
            .get(relationship.id())
            .ok()
            .flatten()
            .is_none_or(|latest| latest.seq != referrer.seq)
        {
            continue;
        }
        let outgoing = properties.iter().any(|p| p == "source_ref");
        let other = if outgoing {
            link.target_ref
        } else {
            link.source_ref
        };
        links.push(json!({
            "relationship": relationship.id(), "type": link.relationship_type,
            "direction": if outgoing { "out" } else { "in" }, "other": other, "other_name": name_of(other),
            "source": referrer.source,
        }));
    }
    let sources: Vec<Value> = if object.object_type() == "incident" {
        search::resolve::corroborating(store, id)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|m| {
                let other = if m.a == id { m.b } else { m.a };
                json!({ "incident": other, "name": name_of(&other), "score": m.score, "reason": m.reason })
            })
            .collect()
    } else {
        Vec::new()
    };
    let object_json: Value =
        serde_json::from_slice(&version.canonical_json).map_err(|e| e.to_string())?;
    if json_output {
        println!(
            "{}",
            json!({ "object": object_json, "source": version.source, "links": links, "corroborated_by": sources })
        );
        return Ok(0);
    }
    println!(
        "{} {}  ({}; from {})",
        object.object_type(),
        object.id(),
        object.get_str("name").unwrap_or(""),
        version.source
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&object_json).map_err(|e| e.to_string())?
    );
    if !links.is_empty() {
        println!("links:");
        for link in &links {
            let arrow = if link["direction"] == "out" {
                "->"
            } else {
                "<-"
            };
            println!(
                "  {arrow} {:<16} {} {}",
                link["type"].as_str().unwrap_or(""),
                link["other"].as_str().unwrap_or(""),
                link["other_name"].as_str().unwrap_or("")
            );
        }
    }
    if object.object_type() == "incident" {
        if sources.is_empty() {
            println!("no other source reports this incident");
        } else {
            println!("also reported as:");
            for source in &sources {
                println!(
                    "  {:.2} {} {} — {}",
                    source["score"].as_f64().unwrap_or(0.0),
                    source["incident"].as_str().unwrap_or(""),
                    source["name"].as_str().unwrap_or(""),
                    source["reason"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(0)
}
