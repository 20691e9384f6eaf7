//! `tessera graph neighbours|path|central|communities`, `tessera trends` and `tessera surge`:
//! build the viewer's analysis view (`server::analysis`), ask it one question, render the
//! answer. `--as PARTNER` answers as that partner would see it, under the node's policy.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use graph::trend::SurgeOptions;
use graph::{Filter, Limits};
use serde_json::{Value, json};
use server::analysis::{self, View, Viewer};
use store::Store;

/// Who asks, and what to keep.
#[derive(Args, Clone)]
pub struct Common {
    /// Answer as this partner sees the node (by its name in policy.toml); default: the node's
    /// analysts, who see everything.
    #[arg(long = "as", value_name = "PARTNER")]
    viewer: Option<String>,
    /// Only nodes of this STIX type (repeatable).
    #[arg(long = "type", value_parser = crate::stix_type)]
    types: Vec<String>,
    /// Only links of this relationship type (repeatable).
    #[arg(long = "link-type")]
    link_types: Vec<String>,
    /// Only nodes and links dated on or after this day (YYYY-MM-DD); undated ones pass.
    #[arg(long)]
    from: Option<String>,
    /// Only nodes and links dated on or before this day (YYYY-MM-DD); undated ones pass.
    #[arg(long)]
    to: Option<String>,
    /// Only nodes and links with at least this confidence; those without one pass.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    confidence_min: Option<u8>,
    /// Also write the answer as a STIX 2.1 bundle holding one `grouping` of the objects named.
    #[arg(long, value_name = "FILE")]
    grouping: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum GraphCommand {
    /// Nodes within DEPTH links of a node (id, name or alias).
    Neighbours {
        node: String,
        #[arg(long, default_value_t = 2)]
        depth: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Shortest path (or the K shortest, or a time-respecting one) between two nodes.
    Path {
        from_node: String,
        to_node: String,
        /// How many paths, shortest first (Yen).
        #[arg(long, default_value_t = 1)]
        k: usize,
        /// Each hop no earlier than the one before.
        #[arg(long)]
        time: bool,
        /// With --time: at most this many days between consecutive dated hops.
        #[arg(long)]
        gap_days: Option<i64>,
        #[command(flatten)]
        common: Common,
    },
    /// The most central nodes: degree, betweenness or eigenvector.
    Central {
        #[arg(long, default_value = "betweenness")]
        measure: String,
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Betweenness from this many sampled sources (default: exact up to 5,000 nodes, else
        /// 1,000).
        #[arg(long)]
        sample: Option<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        common: Common,
    },
    /// Communities (Louvain) or connected components, largest first.
    Communities {
        #[arg(long, default_value = "louvain")]
        method: String,
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Members listed per community (the best connected first).
        #[arg(long, default_value_t = 10)]
        members: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
pub struct TrendsArgs {
    /// group, country or attack-type.
    #[arg(long, default_value = "group")]
    by: String,
    /// month, quarter or year.
    #[arg(long, default_value = "year")]
    interval: String,
    /// Most series shown, largest first.
    #[arg(long, default_value_t = 20)]
    top: usize,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct SurgeArgs {
    /// month, quarter or year.
    #[arg(long, default_value = "quarter")]
    interval: String,
    /// Periods before each tested period that form its baseline.
    #[arg(long, default_value_t = 8)]
    baseline: usize,
    /// Fewest incidents in a period for it to be tested.
    #[arg(long, default_value_t = 3)]
    count_min: u32,
    /// False discovery rate (Benjamini-Hochberg).
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Most surges shown.
    #[arg(long, default_value_t = 20)]
    top: usize,
    #[command(flatten)]
    common: Common,
}

impl Common {
    fn filter(&self) -> Result<Filter, String> {
        Ok(Filter {
            node_kinds: self.types.clone(),
            link_kinds: self.link_types.clone(),
            days: self.days()?,
            confidence_min: self.confidence_min,
        })
    }

    fn days(&self) -> Result<Option<(i64, i64)>, String> {
        let from = self.from.as_deref().map(analysis::parse_day).transpose()?;
        let to = self.to.as_deref().map(analysis::parse_day).transpose()?;
        Ok(match (from, to) {
            (None, None) => None,
            (from, to) => Some((from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX))),
        })
    }

    fn view(&self, store: &Store, data_dir: &Path) -> Result<View, String> {
        let (viewer, policy) = match &self.viewer {
            None => (Viewer::Analyst, None),
            Some(partner) => {
                let policy = server::policy_file::load(data_dir)
                    .map_err(|e| e.to_string())?
                    .ok_or("this node has no policy.toml, so nothing is released to partners")?;
                (Viewer::Partner(partner.clone()), Some(policy))
            }
        };
        View::build(store, viewer, policy.as_ref()).map_err(|e| e.to_string())
    }
}

pub fn run_graph(
    store: &Store,
    data_dir: &Path,
    command: GraphCommand,
    json_output: bool,
) -> Result<u8, String> {
    let limits = Limits::default();
    let (answer, common, title) = match command {
        GraphCommand::Neighbours {
            node,
            depth,
            common,
        } => {
            let view = common.view(store, data_dir)?;
            let answer = view
                .neighbours(&node, depth, &common.filter()?, &limits)
                .map_err(|e| e.to_string())?;
            (answer, common, format!("Neighbourhood of {node}"))
        }
        GraphCommand::Path {
            from_node,
            to_node,
            k,
            time,
            gap_days,
            common,
        } => {
            let view = common.view(store, data_dir)?;
            let answer = view
                .paths(
                    &from_node,
                    &to_node,
                    k,
                    time,
                    gap_days,
                    &common.filter()?,
                    &limits,
                )
                .map_err(|e| e.to_string())?;
            (answer, common, format!("Paths {from_node} to {to_node}"))
        }
        GraphCommand::Central {
            measure,
            top,
            sample,
            seed,
            common,
        } => {
            let view = common.view(store, data_dir)?;
            let measure = analysis::Measure::parse(&measure)?;
            let answer = view
                .central(measure, top, sample, seed, &common.filter()?, &limits)
                .map_err(|e| e.to_string())?;
            (answer, common, format!("Most central by {measure:?}"))
        }
        GraphCommand::Communities {
            method,
            top,
            members,
            seed,
            common,
        } => {
            let view = common.view(store, data_dir)?;
            let method = analysis::Grouping::parse(&method)?;
            let answer = view
                .communities(method, top, members, seed, &common.filter()?, &limits)
                .map_err(|e| e.to_string())?;
            (answer, common, format!("Communities ({method:?})"))
        }
    };
    finish(&answer, &common, &title, json_output)
}

pub fn run_trends(
    store: &Store,
    data_dir: &Path,
    args: TrendsArgs,
    json_output: bool,
) -> Result<u8, String> {
    let view = args.common.view(store, data_dir)?;
    let answer = view
        .trends(
            analysis::parse_dimension(&args.by)?,
            analysis::parse_interval(&args.interval)?,
            args.common.days()?,
            args.top,
        )
        .map_err(|e| e.to_string())?;
    finish(&answer, &args.common, "Incident trends", json_output)
}

pub fn run_surge(
    store: &Store,
    data_dir: &Path,
    args: SurgeArgs,
    json_output: bool,
) -> Result<u8, String> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(format!("--alpha {} must lie in (0, 1)", args.alpha));
    }
    let view = args.common.view(store, data_dir)?;
    let options = SurgeOptions {
        interval: analysis::parse_interval(&args.interval)?,
        baseline_periods: args.baseline,
        count_min: args.count_min,
        alpha: args.alpha,
        days: args.common.days()?,
        surges_max: args.top,
    };
    let answer = view.surges(&options);
    finish(&answer, &args.common, "Surges", json_output)
}

/// Writes the grouping if asked, then prints the answer.
fn finish(answer: &Value, common: &Common, title: &str, json_output: bool) -> Result<u8, String> {
    let mut answer = answer.clone();
    if let Some(path) = &common.grouping {
        let now = now_text();
        let grouping = analysis::grouping(&answer, title, &now)
            .ok_or("the answer names no objects; no grouping written")?;
        let bundle = json!({
            "type": "bundle",
            "id": format!("bundle--{}", uuid::Uuid::new_v4()),
            "objects": [grouping.as_map()],
        });
        std::fs::write(path, format!("{bundle:#}\n"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        answer["grouping"] = json!({ "id": grouping.id(), "file": path.display().to_string() });
    }
    if json_output {
        println!("{answer}");
    } else {
        println!("{}", render(&answer, title));
    }
    Ok(0)
}

fn now_text() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let millis = micros / 1_000;
    stix::Timestamp::from_unix_millis(millis).to_string()
}

fn node_line(node: &Value) -> String {
    let sources = node["sources"].as_array().map_or(0, Vec::len);
    let mut line = format!(
        "{:<14} {:<50} {}",
        node["type"].as_str().unwrap_or(""),
        node["id"].as_str().unwrap_or(""),
        node["name"].as_str().unwrap_or("")
    );
    if let Some(date) = node["date"].as_str() {
        line.push_str(&format!(" [{date}]"));
    }
    if sources > 1 {
        line.push_str(&format!(" ({sources} sources)"));
    }
    line
}

fn link_line(link: &Value, name_of: &dyn Fn(&str) -> String) -> String {
    let supports = link["supports"].as_array().map_or(0, Vec::len);
    format!(
        "{} --{}--> {}{}{}",
        name_of(link["source"].as_str().unwrap_or("")),
        link["type"].as_str().unwrap_or(""),
        name_of(link["target"].as_str().unwrap_or("")),
        link["date"]
            .as_str()
            .map(|d| format!(" [{d}]"))
            .unwrap_or_default(),
        if supports > 1 {
            format!(" ({supports} supporting relationships)")
        } else {
            String::new()
        }
    )
}

/// The answer for a terminal.
fn render(answer: &Value, title: &str) -> String {
    let mut names = std::collections::HashMap::new();
    let mut collect = |nodes: &Value| {
        for n in nodes.as_array().into_iter().flatten() {
            if let (Some(id), Some(name)) = (n["id"].as_str(), n["name"].as_str()) {
                names.insert(id.to_string(), name.to_string());
            }
        }
    };
    collect(&answer["nodes"]);
    for path in answer["paths"].as_array().into_iter().flatten() {
        collect(&path["nodes"]);
    }
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let mut out = vec![title.to_string()];
    if let Some(paths) = answer["paths"].as_array() {
        if paths.is_empty() {
            out.push("  no path".into());
        }
        for (i, path) in paths.iter().enumerate() {
            out.push(format!("path {} ({} hops):", i + 1, path["hops"]));
            for node in path["nodes"].as_array().into_iter().flatten() {
                out.push(format!("  {}", node_line(node)));
            }
            for link in path["links"].as_array().into_iter().flatten() {
                out.push(format!("    {}", link_line(link, &name_of)));
            }
        }
    } else if let Some(ranking) = answer["ranking"].as_array() {
        out.push(format!("  {}", answer["method"].as_str().unwrap_or("")));
        for node in ranking {
            out.push(format!(
                "  {:.6}  {}",
                node["score"].as_f64().unwrap_or(0.0),
                node_line(node)
            ));
        }
    } else if let Some(communities) = answer["communities"].as_array() {
        out.push(format!(
            "  {} communities, modularity {:.4}",
            answer["count"],
            answer["modularity"].as_f64().unwrap_or(0.0)
        ));
        for (i, c) in communities.iter().enumerate() {
            out.push(format!("community {} ({} nodes):", i + 1, c["size"]));
            for node in c["members"].as_array().into_iter().flatten() {
                out.push(format!("  {}", node_line(node)));
            }
        }
    } else if let Some(series) = answer["series"].as_array() {
        for s in series {
            let counts: Vec<String> = s["counts"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(p, c)| format!("{p}: {c}"))
                .collect();
            out.push(format!(
                "  {} {} (total {}): {}",
                s["what"].as_str().unwrap_or(""),
                s["where"].as_str().unwrap_or(""),
                s["total"],
                counts.join(", ")
            ));
        }
    } else if let Some(surges) = answer["surges"].as_array() {
        out.push(format!("  test: {}", answer["test"].as_str().unwrap_or("")));
        if surges.is_empty() {
            out.push("  no surge".into());
        }
        for s in surges {
            out.push(format!("  * {}", s["explanation"].as_str().unwrap_or("")));
        }
    } else if let Some(nodes) = answer["nodes"].as_array() {
        for node in nodes {
            out.push(format!("  {} {}", node["depth"], node_line(node)));
        }
        for link in answer["links"].as_array().into_iter().flatten() {
            out.push(format!("    {}", link_line(link, &name_of)));
        }
        if answer["truncated"] == json!(true) {
            out.push("  (truncated at the node limit)".into());
        }
    }
    if let Some(file) = answer["grouping"]["file"].as_str() {
        out.push(format!("grouping written to {file}"));
    }
    out.join("\n")
}
