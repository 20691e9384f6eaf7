//! MISP galaxy clusters (threat actors, terrorist groups) to STIX `threat-actor` objects.
//!
//! A galaxy file lists clusters: a name (`value`), a UUID, a description, and `meta` with
//! `synonyms`, `country`, `refs`; the Canadian listed-entities galaxy gives aliases in
//! `meta.summary` instead, and its names carry acronyms in parentheses ("Kurdistan Workers Party
//! (PKK)"). Clusters link to each other through `related`.
//!
//! One group may appear in several files, or twice under different names. Clusters are merged
//! into one group, and so one `threat-actor`, when
//! - they have the same UUID (the same cluster in two files), or
//! - their names fold to the same key ("Al Qaida" and "al-Qaeda"), or
//! - their names resolve, in the caller's [`AliasIndex`] (e.g. [`AliasIndex::curated`]), to the
//!   same group, or
//! - each lists the other's name among its synonyms.
//!
//! One-way synonym matches are not merged: MISP lists, say, "GRIZZLY STEPPE" as a synonym of both
//! APT28 and APT29, which are distinct groups, and chaining such matches would fuse unrelated
//! actors. Those shared names are reported as notes and left ambiguous in the index.
//!
//! Each group becomes a `threat-actor` with its aliases, description, `terrorist` type (for a
//! galaxy of terrorist groups), and the cluster UUIDs as external ids; `meta.country` becomes a
//! country `location` and `located-at`; `related` links between imported clusters become
//! relationships of the MISP type (`similar`, `part-of`, ...), with their estimative tags.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use stix::Object;

use super::{Import, ImportError, ImportReport, Provenance, ROWS_MAX, Sink, build_problem};
use crate::alias::{AliasIndex, GroupId, fold, is_acronym_like, split_parenthetical};
use crate::country;
use crate::ids::deterministic_id;
use crate::relationship::{RelationshipType, is_valid_relationship_type};
use crate::sdo::{ExternalReference, Location, Relationship, ThreatActor};

/// The source as cited on every object.
pub const SOURCE_NAME: &str = "MISP galaxy";
const KEY: &str = "misp-galaxy";
const LICENCE: &str =
    "MISP galaxy (github.com/MISP/misp-galaxy), dual-licensed CC0 1.0 or BSD-2-Clause";
const URL: &str = "https://github.com/MISP/misp-galaxy";
/// Most `meta.refs` URLs kept per cluster: the references beyond are rarely read and would bloat
/// every object.
pub const REFS_PER_CLUSTER_MAX: usize = 16;

/// One galaxy file handed to [`import`]: a label for reports (e.g. its file name) and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct GalaxyFile<'a> {
    /// How reports name the file.
    pub label: &'a str,
    /// The galaxy's JSON.
    pub contents: &'a [u8],
}

#[derive(Deserialize)]
struct GalaxyHeader<'a> {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    version: Option<Value>,
    #[serde(borrow)]
    values: Vec<&'a RawValue>,
}

/// A valid cluster, as read.
struct Cluster {
    file: usize,
    uuid: String,
    /// The name without its parentheses.
    name: String,
    /// Other names: synonyms, summary aliases, parenthesised acronyms and translations.
    aliases: Vec<String>,
    description: Option<String>,
    country: Option<String>,
    refs: Vec<String>,
    related: Vec<(String, String, Vec<String>)>,
    listing: Option<String>,
}

/// What one file contributes besides its clusters.
struct Galaxy {
    name: String,
    url: String,
    version: String,
    terrorist: bool,
}

/// Converts MISP galaxy cluster files to STIX. Groups are resolved through, and added to,
/// `index`; pass [`AliasIndex::curated`] (or an index that earlier imports grew) so that a group
/// already known under another name is recognised.
///
/// ```
/// use incident::{AliasIndex, Provenance};
/// use incident::import::misp::{self, GalaxyFile};
/// use stix::Timestamp;
///
/// let a = br#"{"name": "Terrorist groups", "type": "terrorist-groups", "values": [
///     {"value": "Tehrik-e-Taliban Pakistan (TTP)", "uuid": "0b1c8d36-0f3b-4bd1-9ba5-8ef1b1a2f7a1"}]}"#;
/// let b = br#"{"name": "Threat actors", "type": "threat-actor", "values": [
///     {"value": "Pakistani Taliban", "uuid": "5c2a3f6e-4d2b-4a4e-8d8e-2f0a6f1f0b7c"}]}"#;
/// let provenance = Provenance::new(Timestamp::parse("2024-01-01T00:00:00Z").unwrap(), incident::ids::TESSERA_IDENTITY_ID);
/// let files = [GalaxyFile { label: "a.json", contents: a }, GalaxyFile { label: "b.json", contents: b }];
/// let import = misp::import(&files, &provenance, &mut AliasIndex::curated()).unwrap();
/// assert_eq!(import.report.count("threat-actor"), 1);
/// assert_eq!(import.report.merged, 1);
/// ```
pub fn import(
    files: &[GalaxyFile<'_>],
    provenance: &Provenance,
    index: &mut AliasIndex,
) -> Result<Import, ImportError> {
    super::collect(|emit| import_each(files, provenance, index, emit))
}

/// The streaming form of [`import`]: hands each object to `emit` as soon as it is built and
/// returns the report.
pub fn import_each(
    files: &[GalaxyFile<'_>],
    provenance: &Provenance,
    index: &mut AliasIndex,
    emit: &mut dyn FnMut(Object),
) -> Result<ImportReport, ImportError> {
    let mut sink = Sink::new(SOURCE_NAME, emit);
    let mut galaxies = Vec::new();
    let mut clusters: Vec<Cluster> = Vec::new();
    for (file_index, file) in files.iter().enumerate() {
        // A galaxy saved by an editor on Windows starts with a byte order mark.
        let contents = stix::bundle::without_bom(file.contents);
        let header: GalaxyHeader<'_> =
            serde_json::from_slice(contents).map_err(|e| ImportError::Json {
                line: e.line(),
                column: e.column(),
                reason: format!("{}: {e}", file.label),
            })?;
        let name = header
            .name
            .clone()
            .unwrap_or_else(|| file.label.to_string());
        let kind = header.kind.clone().unwrap_or_default();
        galaxies.push(Galaxy {
            terrorist: name.to_lowercase().contains("terrorist")
                || kind.to_lowercase().contains("terrorist"),
            url: header
                .source
                .clone()
                .filter(|s| s.starts_with("https://") || s.starts_with("http://"))
                .unwrap_or_else(|| URL.to_string()),
            version: header
                .version
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            name,
        });
        let mut lines = LineCounter::new(file.contents);
        for raw in header.values {
            sink.report.rows += 1;
            if sink.report.rows > ROWS_MAX {
                return Err(ImportError::TooManyRows { limit: ROWS_MAX });
            }
            let offset =
                (raw.get().as_ptr() as usize).saturating_sub(file.contents.as_ptr() as usize);
            let line = lines.line_at(offset);
            match read_cluster(raw, file_index) {
                Ok(cluster) => clusters.push(cluster),
                Err((column, reason)) => {
                    sink.report
                        .problem_in(Some(file.label), line, Some(column), reason)
                }
            }
        }
    }
    sink.report.imported = clusters.len();

    let components = merge(&clusters, index);
    sink.report.merged = clusters.len() - components.len();
    let mut group_of_uuid: HashMap<&str, usize> = HashMap::new();
    for (g, members) in components.iter().enumerate() {
        for &c in members {
            group_of_uuid.insert(clusters[c].uuid.as_str(), g);
        }
    }

    // Groups the index knew before this import, and which of them a cluster claims by its own
    // name: an unclaimed one may be recognised by a cluster's alias (below).
    let preexisting = index.len();
    let mut claimed: BTreeSet<GroupId> = components
        .iter()
        .flatten()
        .filter_map(|&c| index.resolve_exact(&clusters[c].name))
        .collect();
    let mut actor_ids = Vec::with_capacity(components.len());
    let mut group_ids: Vec<Option<GroupId>> = Vec::with_capacity(components.len());
    let mut adopted = 0usize;
    for members in &components {
        let smallest_uuid = members
            .iter()
            .map(|&c| clusters[c].uuid.as_str())
            .min()
            .expect("a component has at least one cluster");
        actor_ids.push(deterministic_id(
            "threat-actor",
            &format!("{KEY}|threat-actor|{smallest_uuid}"),
        ));
        let recognised = recognise_by_alias(members, &clusters, index, preexisting, &claimed);
        if let Some(group) = recognised {
            claimed.insert(group);
            adopted += 1;
        }
        group_ids.push(register(members, &clusters, recognised, index, &mut sink));
    }
    if adopted > 0 {
        sink.report.note(format!("{adopted} galaxy groups were recognised, by one of their aliases, as groups that the index already knew under that name"));
    }
    for (g, members) in components.iter().enumerate() {
        if let Err(error) = emit_group(
            members,
            &clusters,
            &galaxies,
            &actor_ids[g],
            provenance,
            &mut sink,
        ) {
            sink.report.note(build_problem(&error));
        }
    }
    report_ambiguous_aliases(&components, &clusters, &group_ids, index, &mut sink);
    emit_related(
        &components,
        &clusters,
        &group_of_uuid,
        &actor_ids,
        provenance,
        &mut sink,
    );
    Ok(sink.finish())
}

/// Counts lines up to increasing byte offsets in one pass over the file.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> LineCounter<'a> {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, offset: usize) -> u64 {
        let end = offset.min(self.bytes.len());
        if end >= self.offset {
            self.line += self.bytes[self.offset..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.offset = end;
        }
        self.line
    }
}

fn read_cluster(raw: &RawValue, file: usize) -> Result<Cluster, (&'static str, String)> {
    let value: Value = serde_json::from_str(raw.get()).map_err(|e| ("", e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(("", "a cluster must be a JSON object".into()));
    };
    let text = |key: &'static str| -> Result<String, (&'static str, String)> {
        match map.get(key) {
            Some(Value::String(s)) if s.chars().any(char::is_alphanumeric) => {
                Ok(s.trim().to_string())
            }
            Some(Value::String(_)) => Err((key, format!("{key} is empty"))),
            Some(_) => Err((key, format!("{key} must be a string"))),
            None => Err((key, format!("the cluster has no {key}"))),
        }
    };
    let value = text("value")?;
    let uuid = text("uuid")?;
    if uuid::Uuid::parse_str(&uuid).is_err() {
        return Err(("uuid", format!("{uuid:?} is not a UUID")));
    }
    let empty = Map::new();
    let meta = match map.get("meta") {
        Some(Value::Object(meta)) => meta,
        Some(_) => return Err(("meta", "meta must be an object".into())),
        None => &empty,
    };
    let (name, inner) = split_parenthetical(&value);
    let name = if name.chars().any(char::is_alphanumeric) {
        name
    } else {
        value.clone()
    };
    let mut aliases: Vec<String> = inner.into_iter().filter(|s| is_name_like(s)).collect();
    aliases.extend(strings(meta.get("synonyms")));
    if let Some(Value::String(summary)) = meta.get("summary") {
        aliases.extend(summary_aliases(summary));
    }
    let description = ["content", "description"]
        .iter()
        .find_map(|key| {
            if *key == "content" {
                meta.get(*key)
            } else {
                map.get(*key)
            }
        })
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "N/A")
        .map(str::to_string);
    let country = meta
        .get("country")
        .and_then(Value::as_str)
        .map(|c| c.trim().to_uppercase())
        .filter(|c| country::is_iso2(c));
    let refs: Vec<String> = strings(meta.get("refs"))
        .into_iter()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .take(REFS_PER_CLUSTER_MAX)
        .collect();
    let related = map
        .get("related")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let dest = r.get("dest-uuid")?.as_str()?.to_string();
            let kind = r.get("type")?.as_str()?.to_string();
            Some((dest, kind, strings(r.get("tags"))))
        })
        .collect();
    let listing = match (
        meta.get("id").and_then(Value::as_str),
        meta.get("published").and_then(Value::as_str),
    ) {
        (Some(id), Some(published)) => Some(format!("listing {id}, published {published}")),
        (Some(id), None) => Some(format!("listing {id}")),
        _ => None,
    };
    Ok(Cluster {
        file,
        uuid,
        name,
        aliases,
        description,
        country,
        refs,
        related,
        listing,
    })
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .map(str::to_string)
        .collect()
}

/// Whether the text of a parenthesis is another name: an acronym ("PKK"), or a name of two or
/// more words ("Islamic Resistance Movement"), but not a list of spellings ("Mohammad,
/// Muhammad") or a lone word ("Muhammed").
fn is_name_like(text: &str) -> bool {
    is_acronym_like(text) || (!text.contains(',') && text.split_whitespace().count() >= 2)
}

/// The aliases in a Canadian listing summary: a comma-separated list whose last two items may
/// be joined by "and", each item possibly followed by a parenthesised acronym or translation.
fn summary_aliases(summary: &str) -> Vec<String> {
    let summary = summary.trim().trim_end_matches('.');
    if summary.is_empty() || summary.eq_ignore_ascii_case("n/a") {
        return Vec::new();
    }
    let mut items = split_top_level(summary, ",");
    if let Some(last) = items.pop() {
        items.extend(split_final_and(&last));
    }
    let mut out = Vec::new();
    for item in items {
        let item = item.trim().trim_end_matches('.').trim();
        let (base, inner) = split_parenthetical(item);
        if base.chars().any(char::is_alphanumeric) {
            out.push(base);
        }
        out.extend(inner.into_iter().filter(|s| is_name_like(s)));
    }
    out
}

/// Splits at a separator outside parentheses.
fn split_top_level(text: &str, separator: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut skip_until = 0;
    for (i, c) in text.char_indices() {
        if i < skip_until {
            continue;
        }
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 && text[i..].starts_with(separator) => {
                parts.push(text[start..i].to_string());
                start = i + separator.len();
                skip_until = start;
            }
            _ => {}
        }
    }
    parts.push(text[start..].to_string());
    parts
}

/// "A B and C D" is two names when both sides have two or more words and the right side starts
/// with a capital (or "the" and a capital); "Islamic State of Iraq and Syria" stays one.
fn split_final_and(item: &str) -> Vec<String> {
    let parts = split_top_level(item, " and ");
    if parts.len() == 2 {
        let (left, right) = (parts[0].trim(), parts[1].trim());
        let right_name = right.strip_prefix("the ").unwrap_or(right);
        let capital = right_name.chars().next().is_some_and(char::is_uppercase);
        if capital && left.split_whitespace().count() >= 2 && right.split_whitespace().count() >= 2
        {
            return vec![left.to_string(), right.to_string()];
        }
    }
    vec![item.to_string()]
}

/// Groups clusters that describe one group (see the module documentation for the rules).
fn merge(clusters: &[Cluster], index: &AliasIndex) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..clusters.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    fn union(parent: &mut [usize], a: usize, b: usize) {
        let (a, b) = (root(parent, a), root(parent, b));
        if a != b {
            // The earlier cluster stays the root, so the first file's name is the group's name.
            let (low, high) = if a < b { (a, b) } else { (b, a) };
            parent[high] = low;
        }
    }
    let mut first_by_uuid: HashMap<&str, usize> = HashMap::new();
    let mut first_by_key: HashMap<String, usize> = HashMap::new();
    let mut first_by_anchor: HashMap<GroupId, usize> = HashMap::new();
    for (i, cluster) in clusters.iter().enumerate() {
        if let Some(&j) = first_by_uuid.get(cluster.uuid.as_str()) {
            union(&mut parent, i, j);
        } else {
            first_by_uuid.insert(&cluster.uuid, i);
        }
        let key = fold(&cluster.name);
        match first_by_key.get(&key) {
            Some(&j) => union(&mut parent, i, j),
            None => {
                first_by_key.insert(key, i);
            }
        }
        if let Some(anchor) = index.resolve_exact(&cluster.name) {
            match first_by_anchor.get(&anchor) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    first_by_anchor.insert(anchor, i);
                }
            }
        }
    }
    let alias_keys: Vec<BTreeSet<String>> = clusters
        .iter()
        .map(|c| c.aliases.iter().map(|a| fold(a)).collect())
        .collect();
    for (i, cluster) in clusters.iter().enumerate() {
        for alias_key in &alias_keys[i] {
            if let Some(&j) = first_by_key.get(alias_key)
                && j != i
                && alias_keys[j].contains(&fold(&cluster.name))
            {
                union(&mut parent, i, j);
            }
        }
    }
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..clusters.len() {
        let r = root(&mut parent, i);
        components.entry(r).or_default().push(i);
    }
    components.into_values().collect()
}

/// The canonical name and the other names of a merged group, each once (by folded key).
fn names_of(members: &[usize], clusters: &[Cluster]) -> (String, Vec<String>) {
    let name = clusters[members[0]].name.clone();
    let mut seen: BTreeSet<String> = BTreeSet::from([fold(&name)]);
    let mut aliases = Vec::new();
    let mut exact: BTreeSet<String> = BTreeSet::from([name.clone()]);
    for &c in members {
        for candidate in std::iter::once(&clusters[c].name).chain(clusters[c].aliases.iter()) {
            // Keep distinct spellings that fold alike only when they differ in more than case:
            // "Da'ish" beside "Daesh" helps a reader; "ISIS" beside "Isis" does not.
            let key = fold(candidate);
            let lower = candidate.to_lowercase();
            if exact.iter().any(|e| e.to_lowercase() == lower) {
                continue;
            }
            if seen.insert(key) || is_acronym_like(candidate) {
                exact.insert(candidate.clone());
                aliases.push(candidate.clone());
            }
        }
    }
    (name, aliases)
}

/// A group the index knew before this import that one of the cluster's aliases names, when no
/// cluster claims that group by its own name and exactly one such group exists.
///
/// An earlier import (UCDP, say) may know a group only as "Jalisco Cartel New Generation"; the
/// galaxy's cluster "Cártel de Jalisco Nueva Generación" lists that name as an alias, and is the
/// same group. The claim rule keeps a cluster from taking over a group that another cluster
/// names: "Islamic State-Mozambique" lists "Al-Shabaab", but the cluster "Al Shabaab" (Somalia)
/// claims that group.
fn recognise_by_alias(
    members: &[usize],
    clusters: &[Cluster],
    index: &AliasIndex,
    preexisting: usize,
    claimed: &BTreeSet<GroupId>,
) -> Option<GroupId> {
    if members
        .iter()
        .any(|&c| index.resolve_exact(&clusters[c].name).is_some())
    {
        return None;
    }
    let candidates: BTreeSet<GroupId> = members
        .iter()
        .flat_map(|&c| clusters[c].aliases.iter())
        .filter_map(|alias| index.resolve_exact(alias))
        .filter(|group| group.index() < preexisting && !claimed.contains(group))
        .collect();
    if candidates.len() == 1 {
        candidates.into_iter().next()
    } else {
        None
    }
}

/// Adds a merged group to the index, or files its names under the group the index already has.
/// `None` when the index refuses the group (a limit), which the report notes.
fn register(
    members: &[usize],
    clusters: &[Cluster],
    recognised: Option<GroupId>,
    index: &mut AliasIndex,
    sink: &mut Sink,
) -> Option<GroupId> {
    let (name, aliases) = names_of(members, clusters);
    let known = members
        .iter()
        .find_map(|&c| index.resolve_exact(&clusters[c].name))
        .or(recognised);
    let group = match known {
        Some(group) => group,
        None => match index.add_group(&name, []) {
            Ok(group) => group,
            Err(error) => {
                sink.report.note(format!("group {name:?}: {error}"));
                return None;
            }
        },
    };
    for alias in std::iter::once(name.as_str()).chain(aliases.iter().map(String::as_str)) {
        if let Err(error) = index.add_alias(group, alias) {
            sink.report
                .note(format!("group {name:?}: alias {alias:?}: {error}"));
        }
    }
    Some(group)
}

fn emit_group(
    members: &[usize],
    clusters: &[Cluster],
    galaxies: &[Galaxy],
    actor_id: &str,
    provenance: &Provenance,
    sink: &mut Sink,
) -> Result<(), crate::sdo::BuildError> {
    let (name, aliases) = names_of(members, clusters);
    let mut references = Vec::new();
    for &c in members {
        let cluster = &clusters[c];
        let galaxy = &galaxies[cluster.file];
        let mut description = format!("{LICENCE}; galaxy {}", galaxy.name);
        if !galaxy.version.is_empty() {
            description.push_str(&format!(" version {}", galaxy.version));
        }
        if let Some(listing) = &cluster.listing {
            description.push_str(&format!("; {listing}"));
        }
        references.push(
            ExternalReference::new(format!("MISP galaxy: {}", galaxy.name))
                .with_description(description)
                .with_url(galaxy.url.clone())
                .with_external_id(cluster.uuid.clone()),
        );
    }
    for &c in members {
        for url in &clusters[c].refs {
            if !references.iter().any(|r| r.url.as_deref() == Some(url)) {
                references
                    .push(ExternalReference::new("misp-galaxy reference").with_url(url.clone()));
            }
        }
    }
    let terrorist = members
        .iter()
        .any(|&c| galaxies[clusters[c].file].terrorist);
    let actor = ThreatActor {
        id: actor_id.to_string(),
        name,
        aliases,
        description: members
            .iter()
            .find_map(|&c| clusters[c].description.clone()),
        threat_actor_types: if terrorist {
            vec!["terrorist".to_string()]
        } else {
            Vec::new()
        },
        confidence: None,
        external_references: references,
    };
    sink.push(actor.build(provenance)?);

    let countries: BTreeSet<&str> = members
        .iter()
        .filter_map(|&c| clusters[c].country.as_deref())
        .collect();
    for code in countries {
        let location_id = deterministic_id("location", &format!("{KEY}|location|country|{code}"));
        if !sink.has(&location_id) {
            let location = Location {
                id: location_id.clone(),
                name: country::name(code).map(str::to_string),
                country: Some(code.to_string()),
                external_references: vec![
                    ExternalReference::new(SOURCE_NAME)
                        .with_description(LICENCE)
                        .with_url(URL),
                ],
                ..Location::default()
            };
            sink.push(location.build(provenance)?);
        }
        let link = Relationship::between(
            KEY,
            RelationshipType::LocatedAt.as_str(),
            actor_id,
            &location_id,
        )
        .with_description(
            "the country the MISP galaxy names for this actor (often its suspected origin)",
        )
        .with_reference(
            ExternalReference::new(SOURCE_NAME)
                .with_description(LICENCE)
                .with_url(URL),
        );
        sink.push(link.build(provenance)?);
    }
    Ok(())
}

/// Notes the names of a group that the index resolves elsewhere or not at all (shared synonyms).
fn report_ambiguous_aliases(
    components: &[Vec<usize>],
    clusters: &[Cluster],
    group_ids: &[Option<GroupId>],
    index: &AliasIndex,
    sink: &mut Sink,
) {
    let mut ambiguous = 0usize;
    for (g, members) in components.iter().enumerate() {
        let (name, aliases) = names_of(members, clusters);
        for alias in aliases {
            if group_ids[g].is_some() && index.resolve(&alias) != group_ids[g] {
                ambiguous += 1;
                let others: Vec<String> = index
                    .resolve_all(&alias)
                    .into_iter()
                    .map(|id| index.group(id).name.clone())
                    .collect();
                sink.report.note(format!(
                    "alias {alias:?} of {name:?} is ambiguous: also {}",
                    others.join(", ")
                ));
            }
        }
    }
    if ambiguous > 0 {
        sink.report.note(format!("{ambiguous} aliases name more than one group and resolve to none until an analyst decides"));
    }
}

fn emit_related(
    components: &[Vec<usize>],
    clusters: &[Cluster],
    group_of_uuid: &HashMap<&str, usize>,
    actor_ids: &[String],
    provenance: &Provenance,
    sink: &mut Sink,
) {
    let mut outside = 0usize;
    for (g, members) in components.iter().enumerate() {
        for &c in members {
            for (dest, kind, tags) in &clusters[c].related {
                let Some(&target) = group_of_uuid.get(dest.as_str()) else {
                    outside += 1;
                    continue;
                };
                if target == g {
                    continue;
                }
                let relationship_type = if is_valid_relationship_type(kind) {
                    kind.as_str()
                } else {
                    "related-to"
                };
                let mut description = format!("MISP galaxy relation \"{kind}\"");
                if !tags.is_empty() {
                    description.push_str(&format!(" ({})", tags.join(", ")));
                }
                let link = Relationship::between(
                    KEY,
                    relationship_type,
                    &actor_ids[g],
                    &actor_ids[target],
                )
                .with_description(description)
                .with_reference(
                    ExternalReference::new(SOURCE_NAME)
                        .with_description(LICENCE)
                        .with_url(URL)
                        .with_external_id(clusters[c].uuid.clone()),
                );
                match link.build(provenance) {
                    Ok(object) => sink.push(object),
                    Err(error) => sink.report.note(build_problem(&error)),
                }
            }
        }
    }
    if outside > 0 {
        sink.report.note(format!("{outside} related links point to clusters outside the imported galaxies (tools, malware, other galaxies) and were not imported"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_split_into_names() {
        let aliases = summary_aliases(
            "Tehrik-e-Taliban Pakistan, Tehrik-I-Taliban Pakistan, Pakistani Taliban, Tehrik-i-Taliban Pakistan and Tehreek-e-Taliban Pakistan",
        );
        assert_eq!(
            aliases,
            vec![
                "Tehrik-e-Taliban Pakistan",
                "Tehrik-I-Taliban Pakistan",
                "Pakistani Taliban",
                "Tehrik-i-Taliban Pakistan",
                "Tehreek-e-Taliban Pakistan"
            ]
        );
        let aliases = summary_aliases(
            "Jaish-i-Mohammed (Mohammad, Muhammad, Muhammed), Jaish-e-Mohammad (Muhammed), Army of Mohammed and Army of the Prophet.",
        );
        assert_eq!(
            aliases,
            vec![
                "Jaish-i-Mohammed",
                "Jaish-e-Mohammad",
                "Army of Mohammed",
                "Army of the Prophet"
            ]
        );
        let aliases = summary_aliases("Daesh, Islamic State of Iraq and Syria");
        assert_eq!(aliases, vec!["Daesh", "Islamic State of Iraq and Syria"]);
        let aliases = summary_aliases(
            "Lashkar-i-Toiba (LiT), Lashkar-e-Tayyiba (LT) (Army of the Righteous)",
        );
        assert_eq!(
            aliases,
            vec![
                "Lashkar-i-Toiba",
                "LiT",
                "Lashkar-e-Tayyiba",
                "LT",
                "Army of the Righteous"
            ]
        );
        assert!(summary_aliases("N/A").is_empty());
    }
}
