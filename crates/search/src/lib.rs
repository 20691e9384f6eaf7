//! Full-text search over what a node holds: names, aliases and descriptions, with facets by
//! object type, country, group and year.
//!
//! The index is derived state. It lives in `<data-dir>/search/` and remembers the last store
//! sequence number it covers; [`SearchIndex::catch_up`] indexes whatever the store gained since,
//! so the index can be deleted at any time and rebuilt from the store.
//!
//! Groups are found under any of their names: every name and alias is also indexed in its
//! folded form ([`incident::fold`]: case, punctuation, diacritics, transliterations), and a query
//! is matched against that form as a whole, so "ISKP", "IS-K" and "Islamic State Khorasan
//! Province" find the same group.
//!
//! Architecture invariant: knows nothing of HTTP, the terminal or release policy. Results name
//! objects by id; whoever shows them to a partner passes them through `policy` first.

mod document;
pub mod resolve;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, IndexRecordOption, STORED, STRING, Schema, TEXT, Value,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use document::{Document, document_for};

/// Most hits one search returns.
pub const LIMIT_MAX: usize = 1_000;
/// Longest query accepted, in bytes.
pub const QUERY_BYTES_MAX: usize = 1_024;
/// Memory the index writer may use before it flushes a segment.
const WRITER_BYTES: usize = 50 << 20;
/// Versions read from the store per catch-up step.
const CATCH_UP_PAGE: usize = 5_000;
const WATERMARK_FILE: &str = "indexed-through";

/// Why a search or an index update failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("the query is not understood: {0}")]
    Query(#[from] tantivy::query::QueryParserError),
    #[error("the query is {0} bytes; the limit is {QUERY_BYTES_MAX}")]
    QueryTooLong(usize),
    #[error("limit {0} is above the maximum of {LIMIT_MAX}")]
    Limit(usize),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("IO error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub types: Vec<String>,
    pub countries: Vec<String>,
    pub groups: Vec<String>,
    pub years: Vec<i32>,
    pub limit: usize,
}

/// One hit. Objects from several sources that resolve to one group are one hit: the best
/// scoring object stands for the group and `also` lists the other sources' objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub object_type: String,
    pub name: String,
    pub score: f32,
    pub also: Vec<String>,
}

/// Hits and facet counts over every match (not only the returned page).
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: BTreeMap<&'static str, BTreeMap<String, u64>>,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    object_type: Field,
    name: Field,
    aliases: Field,
    description: Field,
    folded: Field,
    resolved: Field,
    facets: Field,
}

/// The curated groups plus every group (threat-actor, intrusion-set) the store holds, with
/// their aliases: what importers resolve new names against, so that a group already held under
/// another name is recognised.
fn group_aliases(store: &store::Store) -> Result<incident::AliasIndex, SearchError> {
    let mut index = incident::AliasIndex::curated();
    for object_type in ["threat-actor", "intrusion-set"] {
        let mut scan = store::Scan {
            types: vec![object_type.to_string()],
            latest_only: true,
            limit: CATCH_UP_PAGE,
            ..store::Scan::default()
        };
        loop {
            let page = store.scan(&scan)?;
            for version in &page.versions {
                if let Ok(object) = version.object() {
                    let names = object.names();
                    if let Some((name, rest)) = names.split_first() {
                        // A name that cannot enter the index (empty, too long) just stays unresolved.
                        let _ = index.resolve_or_add(name, rest.iter().copied());
                    }
                }
            }
            match page.next_after_seq {
                Some(seq) => scan.after_seq = seq,
                None => break,
            }
        }
    }
    Ok(index)
}

/// The resolution key of a group document: the folded canonical name of the group its name
/// resolves to. Other objects resolve to nothing (they stand for themselves).
fn resolve_group(index: &mut incident::AliasIndex, document: &Document) -> Option<String> {
    if !matches!(
        document.object_type.as_str(),
        "threat-actor" | "intrusion-set"
    ) {
        return None;
    }
    let group = index.resolve(&document.name)?;
    Some(format!("group:{}", index.group(group).key()))
}

/// The search index of one node.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

const FACET_KINDS: [&str; 4] = ["type", "country", "group", "year"];

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        object_type: builder.add_text_field("type", STRING | STORED),
        name: builder.add_text_field("name", TEXT | STORED),
        aliases: builder.add_text_field("aliases", TEXT),
        description: builder.add_text_field("description", TEXT),
        folded: builder.add_text_field("folded", STRING),
        resolved: builder.add_text_field("resolved", STRING | STORED),
        facets: builder.add_facet_field("facets", FacetOptions::default()),
    };
    let _ = FAST;
    (builder.build(), fields)
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when missing.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(|source| SearchError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| SearchError::Index(e.into()))?;
        let index = Index::open_or_create(directory, schema)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            fields,
        })
    }

    /// The last store sequence number the index covers.
    pub fn indexed_through(&self) -> u64 {
        std::fs::read_to_string(self.dir.join(WATERMARK_FILE))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn set_indexed_through(&self, seq: u64) -> Result<(), SearchError> {
        let path = self.dir.join(WATERMARK_FILE);
        let temporary = self.dir.join(format!("{WATERMARK_FILE}.tmp"));
        std::fs::write(&temporary, seq.to_string()).map_err(|source| SearchError::Io {
            path: temporary.clone(),
            source,
        })?;
        std::fs::rename(&temporary, &path).map_err(|source| SearchError::Io { path, source })
    }

    /// Indexes every version the store gained since the last catch-up; returns how many
    /// documents were (re)written. An object whose links changed (a relationship arrived) is
    /// re-indexed too, since its country and group facets come from those links.
    pub fn catch_up(&mut self, store: &store::Store) -> Result<usize, SearchError> {
        let mut scan = store::Scan {
            after_seq: self.indexed_through(),
            limit: CATCH_UP_PAGE,
            ..store::Scan::default()
        };
        let mut writer: Option<IndexWriter> = None;
        let mut written = 0;
        let mut last_seq = scan.after_seq;
        // Built once: the store already holds every version this catch-up will index.
        let mut aliases = group_aliases(store)?;
        loop {
            let page = store.scan(&scan)?;
            if page.versions.is_empty() {
                break;
            }
            let mut touched: Vec<String> = Vec::new();
            for version in &page.versions {
                last_seq = version.seq;
                touched.push(version.id.clone());
                if let Ok(object) = version.object()
                    && let Some(relationship) = object.as_relationship()
                {
                    touched.push(relationship.source_ref.to_string());
                    touched.push(relationship.target_ref.to_string());
                }
            }
            let mut seen = HashSet::new();
            touched.retain(|id| seen.insert(id.clone()));
            let writer = match &mut writer {
                Some(w) => w,
                None => writer.insert(self.index.writer(WRITER_BYTES)?),
            };
            for id in touched {
                let Some(latest) = store.get(&id)? else {
                    continue;
                };
                let Ok(object) = latest.object() else {
                    continue;
                };
                writer.delete_term(Term::from_field_text(self.fields.id, &id));
                if let Some(mut document) = document_for(store, &object)? {
                    document.resolved = resolve_group(&mut aliases, &document);
                    writer.add_document(self.to_tantivy(&document))?;
                    written += 1;
                }
            }
            match page.next_after_seq {
                Some(seq) => scan.after_seq = seq,
                None => break,
            }
        }
        if let Some(mut writer) = writer {
            writer.commit()?;
            self.reader.reload()?;
        }
        if last_seq > self.indexed_through() {
            self.set_indexed_through(last_seq)?;
        }
        Ok(written)
    }

    #[allow(clippy::wrong_self_convention)]
    fn to_tantivy(&self, document: &Document) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &document.id);
        doc.add_text(f.object_type, &document.object_type);
        doc.add_text(f.name, &document.name);
        for alias in &document.aliases {
            doc.add_text(f.aliases, alias);
        }
        doc.add_text(f.description, &document.description);
        doc.add_text(
            f.resolved,
            document.resolved.as_deref().unwrap_or(&document.id),
        );
        let mut folded: Vec<String> = std::iter::once(&document.name)
            .chain(&document.aliases)
            .map(|n| incident::fold(n))
            .collect();
        folded.sort();
        folded.dedup();
        for key in folded.iter().filter(|k| !k.is_empty()) {
            doc.add_text(f.folded, key);
        }
        doc.add_facet(
            f.facets,
            Facet::from_path(["type", document.object_type.as_str()]),
        );
        for country in &document.countries {
            doc.add_facet(f.facets, Facet::from_path(["country", country.as_str()]));
        }
        for group in &document.groups {
            doc.add_facet(f.facets, Facet::from_path(["group", group.as_str()]));
        }
        if let Some(year) = document.year {
            doc.add_facet(
                f.facets,
                Facet::from_path(["year", year.to_string().as_str()]),
            );
        }
        doc
    }

    /// Searches names, aliases and descriptions. An empty text matches everything (to browse
    /// by facet).
    pub fn search(&self, query: &SearchQuery) -> Result<Results, SearchError> {
        if query.text.len() > QUERY_BYTES_MAX {
            return Err(SearchError::QueryTooLong(query.text.len()));
        }
        if query.limit > LIMIT_MAX {
            return Err(SearchError::Limit(query.limit));
        }
        let f = self.fields;
        let searcher = self.reader.searcher();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let text = query.text.trim();
        if !text.is_empty() {
            let mut parser =
                QueryParser::for_index(&self.index, vec![f.name, f.aliases, f.description]);
            parser.set_field_boost(f.name, 3.0);
            parser.set_field_boost(f.aliases, 2.0);
            // Analysts type names, not query syntax: a stray quote or colon must not fail.
            let (parsed, _) = parser.parse_query_lenient(text);
            let mut either: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, parsed)];
            let folded = incident::fold(text);
            if !folded.is_empty() {
                let exact = TermQuery::new(
                    Term::from_field_text(f.folded, &folded),
                    IndexRecordOption::Basic,
                );
                either.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(exact), 10.0)),
                ));
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        }
        for (kind, values) in [
            ("type", query.types.clone()),
            ("country", query.countries.clone()),
            ("group", query.groups.clone()),
            ("year", query.years.iter().map(i32::to_string).collect()),
        ] {
            if values.is_empty() {
                continue;
            }
            let any: Vec<(Occur, Box<dyn Query>)> = values
                .iter()
                .map(|v| {
                    let term = Term::from_facet(f.facets, &Facet::from_path([kind, v.as_str()]));
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
                    )
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        let query_all: Box<dyn Query> = if clauses.is_empty() {
            Box::new(tantivy::query::AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        let mut facet_collector = FacetCollector::for_field("facets");
        for kind in FACET_KINDS {
            facet_collector.add_facet(Facet::from_path([kind]));
        }
        let limit = query.limit.max(1);
        // Fetch more than the page so that collapsing several sources of one group still fills it.
        let (top, total, facet_counts) = searcher.search(
            &query_all,
            &(
                TopDocs::with_limit(limit * 4).order_by_score(),
                Count,
                facet_collector,
            ),
        )?;
        let mut results = Results {
            total,
            ..Results::default()
        };
        let mut by_group: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text_of = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let id = text_of(f.id);
            match by_group.get(&text_of(f.resolved)) {
                Some(&at) => results.hits[at].also.push(id),
                None if results.hits.len() < limit => {
                    by_group.insert(text_of(f.resolved), results.hits.len());
                    results.hits.push(Hit {
                        id,
                        object_type: text_of(f.object_type),
                        name: text_of(f.name),
                        score,
                        also: Vec::new(),
                    });
                }
                None => {}
            }
        }
        for kind in FACET_KINDS {
            let counts = results.facets.entry(kind).or_default();
            for (facet, count) in facet_counts.get(&format!("/{kind}")) {
                if let Some(value) = facet.to_path().last() {
                    counts.insert((*value).to_string(), count);
                }
            }
        }
        Ok(results)
    }
}
