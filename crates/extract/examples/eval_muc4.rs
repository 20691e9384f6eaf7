//! Scores a model file on a MUC-4 split (per-role P/R/F1 and the micro-average).
//!
//! ```sh
//! cargo run --release -p extract --example eval_muc4 -- ../shared/data/text/muc4/dev.jsonl [MODEL.bin]
//! ```

use extract::muc4::{Role, Template, read_jsonl, score};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mut documents = read_jsonl(&std::fs::read_to_string(&args[1])?)?;
    // ONLY=START..END scores only those documents (a held-out fold: bench/muc4/folds.sh).
    if let Ok(range) = std::env::var("ONLY") {
        let (start, end) = range.split_once("..").ok_or("ONLY is START..END")?;
        let (start, end): (usize, usize) = (start.parse()?, end.parse()?);
        documents = documents
            .into_iter()
            .skip(start)
            .take(end - start)
            .collect();
    }
    let model = match args.get(2) {
        Some(path) => extract::Muc4Model::from_bytes(&std::fs::read(path)?)?,
        None => extract::muc4_model().ok_or("no shipped model")?.clone(),
    };
    let gold: Vec<Vec<Template>> = documents
        .iter()
        .map(|d| d.templates.iter().map(|t| t.to_template()).collect())
        .collect();
    let mut options = extract::tagger::DecodeOptions::default();
    if let Ok(v) = std::env::var("OUTSIDE_PENALTY") {
        options.outside_penalty = v.parse()?;
    }
    if let Ok(v) = std::env::var("ROLE_BONUS") {
        for (slot, x) in options.role_bonus.iter_mut().zip(v.split(',')) {
            *slot = x.parse()?;
        }
    }
    if let Ok(v) = std::env::var("CONTINUE_PENALTY") {
        options.continue_penalty = v.parse()?;
    }
    if let Ok(v) = std::env::var("GAP") {
        options.event_gap_sentences = v.parse()?;
    }
    if let Ok(v) = std::env::var("NONE_PENALTY") {
        options.none_penalty = v.parse()?;
    }
    if let Ok(v) = std::env::var("RESCUE") {
        options.rescue_fillers = v.parse()?;
    }
    if let Ok(v) = std::env::var("ROLE_MAX") {
        for (slot, x) in options.role_entities_max.iter_mut().zip(v.split(',')) {
            *slot = x.parse()?;
        }
    }
    if let Ok(v) = std::env::var("SPLIT") {
        options.split_by_trigger = v == "1";
    }
    if let Ok(v) = std::env::var("MERGE") {
        options.merge_overlapping = v == "1";
    }
    if let Ok(v) = std::env::var("RANK") {
        options.rank_by_confidence = v == "1";
    }
    let predicted: Vec<Vec<Template>> = documents
        .iter()
        .map(|d| model.extract_with(&d.doctext, options))
        .collect();
    if let Ok(path) = std::env::var("DUMP") {
        let out: Vec<(&str, &Vec<Template>)> = documents
            .iter()
            .map(|d| d.docid.as_str())
            .zip(&predicted)
            .collect();
        std::fs::write(path, serde_json::to_string(&out)?)?;
    }
    let s = score(
        gold.iter()
            .zip(&predicted)
            .map(|(g, p)| (g.as_slice(), p.as_slice())),
    );
    let line = |name: &str, c: extract::muc4::Counts| {
        println!(
            "{name:<14} P {:5.1}  R {:5.1}  F1 {:5.1}   ({} correct / {} predicted / {} gold)",
            c.precision(),
            c.recall(),
            c.f1(),
            c.correct,
            c.predicted,
            c.gold
        )
    };
    line("incident_type", s.incident_type);
    for role in Role::ALL {
        line(role.as_str(), s.roles[role.index()]);
    }
    line("micro", s.micro());
    Ok(())
}
