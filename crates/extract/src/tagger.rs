//! The MUC-4 role tagger and incident classifier: two averaged perceptrons over hashed
//! features, trained by [`train`] on the MUC-4 training split (see `examples/train_muc4.rs`),
//! shipped as `data/muc4-model.bin`.
//!
//! The tagger labels each token `O`, or `B-`/`I-` of one of the five roles, left to right,
//! with the previous labels as features. The classifier reads the whole document and says
//! whether it reports an incident, and of which type.

use crate::linear::{FeatureHash, Linear, ModelError, Perceptron, combine, feature};
use crate::muc4::{Document, INCIDENT_TYPES, Role, Template, normalise};
use crate::text::{Token, TokenKind, sentences, tokenize};

/// Whether training marks every occurrence of a gold mention's words, not only the one the
/// corpus points at.
const ALL_OCCURRENCES: bool = true;
/// Whether the tagger trains on documents that report no incident (all `O`): it then learns
/// that most text holds no filler, and its fillers become evidence of relevance (see
/// [`DecodeOptions::rescue_fillers`]).
const TAG_IRRELEVANT: bool = true;
/// Whether tokens see the nearest trigger of their sentence as a feature.
const TRIGGER_FEATURES: bool = true;

/// Tag labels: 0 is `O`; `1 + 2r` is `B-role r`, `2 + 2r` is `I-role r`.
const TAGS: usize = 11;
/// Classifier labels: 0 is "no incident"; `1 + t` is [`INCIDENT_TYPES`]`[t]`.
const CLASSES: usize = 1 + INCIDENT_TYPES.len();
const MAGIC: &[u8; 5] = b"TSXM1";

/// Decision settings applied on top of the trained scores (they are settings, not weights),
/// chosen on two held-out folds of the training split (300 documents each, tagged by a model
/// of the other 1,000), the dev split breaking near-ties and choosing `event_gap_sentences`
/// (0 scores a little higher on the folds, clearly lower on dev).
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Subtracted from the `O` tag's score: a higher value finds more fillers.
    pub outside_penalty: f32,
    /// Added to each role's `B-` and `I-` scores ([`Role::ALL`] order): a per-role bar for
    /// finding fillers, on top of `outside_penalty`.
    pub role_bonus: [f32; 5],
    /// Subtracted from the `O` tag's score inside a span instead of `outside_penalty`: a
    /// lower value ends spans sooner, so a low bar for starting a filler does not also make
    /// fillers run on into the next clause.
    pub continue_penalty: f32,
    /// Subtracted from the "no incident" class's score: a higher value reports more documents.
    pub none_penalty: f32,
    /// Whether to split the fillers into one template per incident type, by the trigger words
    /// near each filler ([`triggers`]).
    pub split_by_trigger: bool,
    /// When the classifier finds no incident but the tagger finds at least this many fillers,
    /// report one anyway, of the type of the document's commonest trigger (0: never).
    pub rescue_fillers: usize,
    /// At most this many entities per role in a template ([`Role::ALL`] order; 0: no limit),
    /// the surest ones when `rank_by_confidence`, else the first ones in the text.
    pub role_entities_max: [usize; 5],
    /// Whether a filler whose words hold, or are held by, an earlier filler's words in the
    /// same role ("guerrillas", "fmln guerrillas") is taken for the same entity and dropped.
    pub merge_overlapping: bool,
    /// Whether the entities of a role are ranked by the tagger's surest finding of them (its
    /// margin of the `B-` tag over `O`) before the first `role_entities_max` are kept.
    pub rank_by_confidence: bool,
    /// A filler more than this many sentences after the last filler of the template of its
    /// type starts a new template of that type (a second event of the same kind).
    pub event_gap_sentences: usize,
}

impl Default for DecodeOptions {
    fn default() -> DecodeOptions {
        DecodeOptions {
            outside_penalty: 15.0,
            role_bonus: [0.0; 5],
            continue_penalty: 10.0,
            none_penalty: 30.0,
            split_by_trigger: true,
            rescue_fillers: 2,
            role_entities_max: [1, 1, 2, 2, 2],
            merge_overlapping: true,
            rank_by_confidence: true,
            event_gap_sentences: 1,
        }
    }
}

/// The trained MUC-4 models.
#[derive(Debug, Clone)]
pub struct Muc4Model {
    tagger: Linear,
    classifier: Linear,
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub epochs: usize,
    /// Averaged weights below this magnitude are dropped from the shipped model.
    pub floor: f32,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            epochs: 8,
            floor: 0.02,
            seed: 0x5eed,
        }
    }
}

impl Muc4Model {
    /// Reads the models from their binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Muc4Model, ModelError> {
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(ModelError::Magic);
        }
        let mut at = MAGIC.len();
        let tagger = Linear::read(bytes, &mut at)?;
        let classifier = Linear::read(bytes, &mut at)?;
        if tagger.labels() != TAGS {
            return Err(ModelError::Labels(tagger.labels()));
        }
        if classifier.labels() != CLASSES {
            return Err(ModelError::Labels(classifier.labels()));
        }
        Ok(Muc4Model { tagger, classifier })
    }

    /// The models in their binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        self.tagger.write(&mut out);
        self.classifier.write(&mut out);
        out
    }

    /// The number of weighted features (tagger, classifier).
    pub fn sizes(&self) -> (usize, usize) {
        (self.tagger.features(), self.classifier.features())
    }

    /// The templates for one document: none when the classifier finds no incident, else one
    /// template of the predicted type holding every role filler the tagger found.
    pub fn extract(&self, text: &str) -> Vec<Template> {
        self.extract_with(text, DecodeOptions::default())
    }

    /// [`Muc4Model::extract`] with explicit decision settings.
    pub fn extract_with(&self, text: &str, options: DecodeOptions) -> Vec<Template> {
        let tokens = tokenize(text);
        let words = lowered(text, &tokens);
        let mut class_scores = [0f32; CLASSES];
        self.classifier
            .accumulate(&document_features(&words), &mut class_scores);
        class_scores[0] -= options.none_penalty;
        let class = argmax(&class_scores);
        if class == 0 && options.rescue_fillers == 0 {
            return Vec::new();
        }
        let spans = self.tag(text, &tokens, &words, &options);
        let found_triggers = if options.split_by_trigger || class == 0 {
            triggers(&words)
        } else {
            Vec::new()
        };
        let document_type = if class == 0 {
            if spans.len() < options.rescue_fillers {
                return Vec::new();
            }
            let mut counts = [0usize; INCIDENT_TYPES.len()];
            for (_, kind) in &found_triggers {
                if let Some(t) = INCIDENT_TYPES.iter().position(|k| k == kind) {
                    counts[t] += 1;
                }
            }
            match argmax_count(&counts) {
                Some(t) => INCIDENT_TYPES[t],
                None => return Vec::new(),
            }
        } else {
            INCIDENT_TYPES[class - 1]
        };
        let found_triggers = if options.split_by_trigger {
            found_triggers
        } else {
            Vec::new()
        };
        // Perpetrators go to every template; the other fillers to the template of the trigger
        // nearest to them in their sentence, or of the document's type.
        let mut templates: Vec<Template> = Vec::new();
        let mut last_sentence: Vec<usize> = Vec::new();
        let mut perpetrators: Vec<(Role, String)> = Vec::new();
        let sentence_of = sentence_index(text, &tokens);
        let mut surest: std::collections::HashMap<(usize, String), f32> =
            std::collections::HashMap::new();
        if options.rank_by_confidence {
            for &(role, start, end, margin) in &spans {
                let key = normalise(&text[tokens[start].start..tokens[end - 1].end]);
                let best = surest.entry((role.index(), key)).or_insert(f32::MIN);
                *best = best.max(margin);
            }
        }
        for (role, start, end, _) in spans {
            let mention = text[tokens[start].start..tokens[end - 1].end].to_string();
            if normalise(&mention).is_empty() {
                continue;
            }
            if matches!(role, Role::PerpInd | Role::PerpOrg) {
                perpetrators.push((role, mention));
                continue;
            }
            let trigger = found_triggers
                .iter()
                .filter(|(at, _)| sentence_of[*at] == sentence_of[start])
                .min_by_key(|(at, _)| at.abs_diff(start))
                .map(|(_, kind)| *kind);
            let kind = trigger.unwrap_or(document_type);
            // Only a filler next to a trigger of its own can start a second event of a
            // type; one in a sentence without a trigger belongs to the last event told.
            let gap = if trigger.is_some() {
                options.event_gap_sentences
            } else {
                usize::MAX
            };
            let here = sentence_of[start];
            let open = templates
                .iter()
                .zip(&last_sentence)
                .rposition(|(t, &last)| t.incident_type == kind && here.saturating_sub(last) <= gap)
                .or_else(|| {
                    // A filler met again is the same event's, however late.
                    let key = normalise(&mention);
                    templates.iter().rposition(|t| {
                        t.incident_type == kind
                            && t.role(role).iter().flatten().any(|m| normalise(m) == key)
                    })
                });
            let template = match open {
                Some(i) => {
                    last_sentence[i] = here;
                    &mut templates[i]
                }
                None => {
                    templates.push(Template::new(kind));
                    last_sentence.push(here);
                    templates.last_mut().expect("just pushed")
                }
            };
            add_filler(template, role, mention, options.merge_overlapping);
        }
        if !templates.iter().any(|t| t.incident_type == document_type) {
            templates.insert(0, Template::new(document_type));
        }
        for template in &mut templates {
            for (role, mention) in &perpetrators {
                add_filler(template, *role, mention.clone(), options.merge_overlapping);
            }
            if options.rank_by_confidence {
                for role in Role::ALL {
                    let sure = |e: &Vec<String>| {
                        e.first()
                            .and_then(|m| surest.get(&(role.index(), normalise(m))))
                            .copied()
                            .unwrap_or(f32::MIN)
                    };
                    // Stable: equally sure entities keep their order in the text.
                    template
                        .role_mut(role)
                        .sort_by(|a, b| sure(b).total_cmp(&sure(a)));
                }
            }
            for role in Role::ALL {
                let most = options.role_entities_max[role.index()];
                if most > 0 {
                    template.role_mut(role).truncate(most);
                }
            }
        }
        templates
    }

    /// The role spans in a document: (role, first token, end token).
    fn tag(
        &self,
        text: &str,
        tokens: &[Token],
        words: &[String],
        options: &DecodeOptions,
    ) -> Vec<(Role, usize, usize, f32)> {
        let mut tags = vec![0usize; tokens.len()];
        let mut margins = vec![0f32; tokens.len()];
        let mut feats = Vec::with_capacity(48);
        let all_triggers = triggers(words);
        for (index, sentence) in sentences(text, tokens).into_iter().enumerate() {
            let here: Vec<(usize, &'static str)> = all_triggers
                .iter()
                .filter(|(t, _)| sentence.contains(t))
                .copied()
                .collect();
            for i in sentence.clone() {
                feats.clear();
                token_features(words, tokens, sentence.clone(), index, i, &here, &mut feats);
                let prev = if i > sentence.start { tags[i - 1] } else { 0 };
                let prev2 = if i > sentence.start + 1 {
                    tags[i - 2]
                } else {
                    0
                };
                add_history(&mut feats, words, i, prev, prev2);
                let mut scores = [0f32; TAGS];
                self.tagger.accumulate(&feats, &mut scores);
                scores[0] -= if prev == 0 {
                    options.outside_penalty
                } else {
                    options.continue_penalty
                };
                for (r, bonus) in options.role_bonus.iter().enumerate() {
                    scores[1 + 2 * r] += bonus;
                    scores[2 + 2 * r] += bonus;
                }
                tags[i] = best_allowed(&scores, prev);
                margins[i] = scores[tags[i]] - scores[0];
            }
        }
        spans(&tags)
            .into_iter()
            .map(|(role, start, end)| (role, start, end, margins[start]))
            .collect()
    }
}

/// Adds a filler to a template unless a filler with the same normalised text is there.
fn add_filler(template: &mut Template, role: Role, mention: String, merge_overlapping: bool) {
    let key = normalise(&mention);
    let entities = template.role_mut(role);
    let same = |m: &String| {
        let other = normalise(m);
        other == key
            || (merge_overlapping && (holds_words(&other, &key) || holds_words(&key, &other)))
    };
    if !entities.iter().any(|e| e.iter().any(same)) {
        entities.push(vec![mention]);
    }
}

/// Whether the words of `inner` occur as a run in `outer` (both normalised).
fn holds_words(outer: &str, inner: &str) -> bool {
    !inner.is_empty() && format!(" {outer} ").contains(&format!(" {inner} "))
}

/// For each token, the index of its sentence.
fn sentence_index(text: &str, tokens: &[Token]) -> Vec<usize> {
    let mut out = vec![0; tokens.len()];
    for (index, sentence) in sentences(text, tokens).into_iter().enumerate() {
        for i in sentence {
            out[i] = index;
        }
    }
    out
}

/// Word beginnings that signal an incident type, most specific first.
const TRIGGERS: &[(&str, &str)] = &[
    ("bomb", "bombing"),
    ("dynamit", "bombing"),
    ("explo", "bombing"),
    ("blast", "bombing"),
    ("detonat", "bombing"),
    ("grenade", "bombing"),
    ("kidnap", "kidnapping"),
    ("abduct", "kidnapping"),
    ("hostage", "kidnapping"),
    ("captor", "kidnapping"),
    ("burn", "arson"),
    ("arson", "arson"),
    ("torch", "arson"),
    ("robbe", "robbery"),
    ("robbed", "robbery"),
    ("stole", "robbery"),
    ("steal", "robbery"),
    ("loot", "robbery"),
    ("attack", "attack"),
    ("kill", "attack"),
    ("murder", "attack"),
    ("assassin", "attack"),
    ("shot", "attack"),
    ("shoot", "attack"),
    ("massacre", "attack"),
    ("ambush", "attack"),
    ("wound", "attack"),
    ("machinegun", "attack"),
];

/// The trigger words of a document: (token index, incident type).
pub fn triggers(words: &[String]) -> Vec<(usize, &'static str)> {
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if let Some((_, kind)) = TRIGGERS.iter().find(|(p, _)| w.starts_with(p)) {
            out.push((i, *kind));
        }
    }
    out
}

/// Lower-cased token texts.
fn lowered(text: &str, tokens: &[Token]) -> Vec<String> {
    tokens.iter().map(|t| t.text(text).to_lowercase()).collect()
}

fn argmax_count(counts: &[usize]) -> Option<usize> {
    let best = (0..counts.len()).max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))?;
    (counts[best] > 0).then_some(best)
}

fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}

/// The best tag that may follow `prev` (an `I-` tag only continues its own role).
fn best_allowed(scores: &[f32; TAGS], prev: usize) -> usize {
    let mut best = 0;
    for tag in 1..TAGS {
        let inside = tag % 2 == 0;
        if inside && !(prev == tag || prev == tag - 1) {
            continue;
        }
        if scores[tag] > scores[best] {
            best = tag;
        }
    }
    best
}

/// The spans a tag sequence marks.
fn spans(tags: &[usize]) -> Vec<(Role, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tags.len() {
        let tag = tags[i];
        if tag != 0 && tag % 2 == 1 {
            let role = Role::ALL[(tag - 1) / 2];
            let mut end = i + 1;
            while end < tags.len() && tags[end] == tag + 1 {
                end += 1;
            }
            out.push((role, i, end));
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

fn shape(word: &str, kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Number => "num",
        TokenKind::Punct => "punct",
        TokenKind::Word if word.contains('-') => "hyphen",
        TokenKind::Word if word.len() <= 3 => "short",
        TokenKind::Word => "word",
    }
}

fn suffix(word: &str, n: usize) -> &str {
    let mut start = word.len().saturating_sub(n);
    while !word.is_char_boundary(start) {
        start -= 1;
    }
    &word[start..]
}

/// The features of token `i` that do not depend on the tags before it.
fn token_features(
    words: &[String],
    tokens: &[Token],
    sentence: std::ops::Range<usize>,
    sentence_index: usize,
    i: usize,
    sentence_triggers: &[(usize, &'static str)],
    out: &mut Vec<FeatureHash>,
) {
    let at = |k: isize| -> &str {
        let j = i as isize + k;
        if j < sentence.start as isize {
            "<s>"
        } else if j >= sentence.end as isize {
            "</s>"
        } else {
            &words[j as usize]
        }
    };
    let w = at(0);
    out.push(feature(0, &[]));
    out.push(feature(1, &[w]));
    out.push(feature(2, &[at(-1)]));
    out.push(feature(3, &[at(1)]));
    out.push(feature(4, &[at(-2)]));
    out.push(feature(5, &[at(2)]));
    out.push(feature(6, &[at(-1), w]));
    out.push(feature(7, &[w, at(1)]));
    out.push(feature(8, &[suffix(w, 3)]));
    out.push(feature(9, &[suffix(w, 2)]));
    out.push(feature(10, &[shape(w, tokens[i].kind)]));
    out.push(feature(11, &[at(-2), at(-1)]));
    out.push(feature(12, &[at(1), at(2)]));
    let position = match sentence_index {
        0 => "s0",
        1 => "s1",
        2..=3 => "s2",
        _ => "s4",
    };
    out.push(feature(13, &[position]));
    out.push(feature(14, &[position, w]));
    // A wider bag of words on each side: the verb of the clause is often further away.
    for k in 3..=6 {
        out.push(feature(15, &[at(-k)]));
        out.push(feature(16, &[at(k)]));
    }
    // The nearest event trigger in the sentence: which side, how far, what kind. Perpetrators
    // come before "attacked", victims after "killed".
    if TRIGGER_FEATURES
        && let Some(&(at_trigger, kind)) =
            sentence_triggers.iter().min_by_key(|(t, _)| t.abs_diff(i))
    {
        let side = match at_trigger.cmp(&i) {
            std::cmp::Ordering::Less => "L",
            std::cmp::Ordering::Equal => "=",
            std::cmp::Ordering::Greater => "R",
        };
        let far = match at_trigger.abs_diff(i) {
            0 => "0",
            1 => "1",
            2..=3 => "2",
            4..=8 => "4",
            _ => "9",
        };
        out.push(feature(40, &[side, far, kind]));
        out.push(feature(41, &[side, kind, w]));
        out.push(feature(42, &[side, far, &words[at_trigger]]));
    }
}

/// The features that depend on the previous two tags.
fn add_history(out: &mut Vec<FeatureHash>, words: &[String], i: usize, prev: usize, prev2: usize) {
    let p = feature(20, &[]);
    out.push(combine(p, prev as u32));
    out.push(combine(combine(p, prev as u32), 100 + prev2 as u32));
    out.push(combine(feature(21, &[&words[i]]), prev as u32));
}

/// A trigger among the first this many tokens is in the article's lead.
const LEAD_TOKENS: usize = 40;

/// The classifier's features: the document's distinct words and word pairs, and its triggers.
fn document_features(words: &[String]) -> Vec<FeatureHash> {
    let mut out: Vec<FeatureHash> = Vec::with_capacity(words.len() * 2 + 1);
    out.push(feature(0, &[]));
    for (i, w) in words.iter().enumerate() {
        out.push(feature(30, &[w]));
        if let Some(next) = words.get(i + 1) {
            out.push(feature(31, &[w, next]));
        }
    }
    // Trigger counts by type, the type of the first trigger and whether it is in the lead, and
    // the words of the first sentence on their own: the lead says what happened.
    let found = triggers(words);
    for kind in INCIDENT_TYPES {
        let times = match found.iter().filter(|(_, k)| *k == kind).count() {
            0 => "0",
            1 => "1",
            2..=3 => "2",
            _ => "4",
        };
        out.push(feature(32, &[kind, times]));
    }
    if let Some(&(at, kind)) = found.first() {
        let lead = if at < LEAD_TOKENS { "lead" } else { "late" };
        out.push(feature(33, &[kind]));
        out.push(feature(34, &[kind, lead]));
    }
    for w in words.iter().take_while(|w| w.as_str() != ".") {
        out.push(feature(35, &[w]));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The gold tags of a training document: every mention of every role filler, longest first
/// where mentions overlap.
fn gold_tags(document: &Document, tokens: &[Token]) -> Vec<usize> {
    let text = &document.doctext;
    let mut mentions: Vec<(usize, usize, Role)> = Vec::new();
    for template in &document.templates {
        for role in Role::ALL {
            for entity in template.role(role) {
                for mention in entity {
                    mentions.push((mention.1, mention.1 + mention.0.len(), role));
                    // The corpus marks one occurrence; the others of the same words in the
                    // document are the same filler, and leaving them `O` would teach the
                    // tagger to miss them.
                    if ALL_OCCURRENCES && !mention.0.is_empty() {
                        for (at, _) in text.match_indices(mention.0.as_str()) {
                            let end = at + mention.0.len();
                            let bounded = tokens.iter().any(|t| t.start == at)
                                && tokens.iter().any(|t| t.end == end);
                            if bounded && at != mention.1 {
                                mentions.push((at, end, role));
                            }
                        }
                    }
                }
            }
        }
    }
    mentions.sort_by_key(|&(s, e, r)| (std::cmp::Reverse(e - s), s, r));
    let mut tags = vec![0usize; tokens.len()];
    for (start, end, role) in mentions {
        let inside: Vec<usize> = (0..tokens.len())
            .filter(|&i| tokens[i].start >= start && tokens[i].end <= end)
            .collect();
        if inside.is_empty() || inside.iter().any(|&i| tags[i] != 0) {
            continue;
        }
        for (k, &i) in inside.iter().enumerate() {
            tags[i] = if k == 0 {
                1 + 2 * role.index()
            } else {
                2 + 2 * role.index()
            };
        }
    }
    tags
}

/// The classifier's gold label: the most frequent incident type among the templates (the
/// first one on a tie), or "no incident".
fn gold_class(document: &Document) -> usize {
    let mut counts = [0usize; CLASSES];
    for template in &document.templates {
        let kind = template
            .incident_type
            .split('/')
            .next()
            .unwrap_or("")
            .trim();
        if let Some(t) = INCIDENT_TYPES.iter().position(|k| *k == kind) {
            counts[1 + t] += 1;
        }
    }
    let mut best = 0;
    for (i, c) in counts.iter().enumerate() {
        if *c > counts[best] {
            best = i;
        }
    }
    best
}

/// A small deterministic generator for shuffling.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Trains both models on annotated documents.
pub fn train(documents: &[Document], options: TrainOptions) -> Muc4Model {
    struct Prepared {
        words: Vec<String>,
        static_features: Vec<Vec<FeatureHash>>,
        sentence_start: Vec<bool>,
        gold: Vec<usize>,
        doc_features: Vec<FeatureHash>,
        class: usize,
    }
    let prepared: Vec<Prepared> = documents
        .iter()
        .map(|d| {
            let tokens = tokenize(&d.doctext);
            let words = lowered(&d.doctext, &tokens);
            let mut static_features = vec![Vec::new(); tokens.len()];
            let mut sentence_start = vec![false; tokens.len()];
            let all_triggers = triggers(&words);
            for (index, sentence) in sentences(&d.doctext, &tokens).into_iter().enumerate() {
                if let Some(first) = sentence_start.get_mut(sentence.start) {
                    *first = true;
                }
                let here: Vec<(usize, &'static str)> = all_triggers
                    .iter()
                    .filter(|(t, _)| sentence.contains(t))
                    .copied()
                    .collect();
                for i in sentence.clone() {
                    token_features(
                        &words,
                        &tokens,
                        sentence.clone(),
                        index,
                        i,
                        &here,
                        &mut static_features[i],
                    );
                }
            }
            Prepared {
                gold: gold_tags(d, &tokens),
                doc_features: document_features(&words),
                class: gold_class(d),
                words,
                static_features,
                sentence_start,
            }
        })
        .collect();
    let mut tagger = Perceptron::new(TAGS);
    let mut classifier = Perceptron::new(CLASSES);
    let mut order: Vec<usize> = (0..prepared.len()).collect();
    let mut rng = XorShift(options.seed | 1);
    let mut feats = Vec::with_capacity(64);
    for _ in 0..options.epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &d in &order {
            let doc = &prepared[d];
            classifier.tick();
            let mut scores = [0f32; CLASSES];
            classifier.scores(&doc.doc_features, &mut scores);
            classifier.update(&doc.doc_features, doc.class, argmax(&scores));
            if doc.class == 0 && !TAG_IRRELEVANT {
                continue;
            }
            let mut tags = vec![0usize; doc.words.len()];
            for i in 0..doc.words.len() {
                let prev = if doc.sentence_start[i] {
                    0
                } else {
                    tags[i - 1]
                };
                let prev2 = if doc.sentence_start[i] || i < 2 || doc.sentence_start[i - 1] {
                    0
                } else {
                    tags[i - 2]
                };
                feats.clear();
                feats.extend_from_slice(&doc.static_features[i]);
                add_history(&mut feats, &doc.words, i, prev, prev2);
                tagger.tick();
                let mut scores = [0f32; TAGS];
                tagger.scores(&feats, &mut scores);
                let guess = best_allowed(&scores, prev);
                tagger.update(&feats, doc.gold[i], guess);
                // Continue with the gold tag: the history features then see clean context.
                tags[i] = doc.gold[i];
            }
        }
    }
    Muc4Model {
        tagger: tagger.finish(options.floor),
        classifier: classifier.finish(options.floor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two bombings, four sentences apart, each at a trigger of its own.
    const TWO_BOMBINGS: &str = "a car bomb exploded today in front of the bank of colombia in \
        bogota, killing three people.  the police said the bomb was placed by drug traffickers.  \
        president barco condemned the attack.  the cabinet met to discuss the economy.  in \
        medellin, a second bomb exploded at a police station last night, destroying the building.";

    fn of_type<'a>(templates: &'a [Template], kind: &str) -> Vec<&'a Template> {
        templates
            .iter()
            .filter(|t| t.incident_type == kind)
            .collect()
    }

    #[test]
    fn a_later_event_of_the_same_type_gets_a_template_of_its_own() {
        let model = crate::muc4_model().expect("the shipped model reads");
        let split = model.extract(TWO_BOMBINGS);
        let bombings = of_type(&split, "bombing");
        assert_eq!(bombings.len(), 2, "{split:?}");
        // Each bombing keeps its own target; the perpetrator goes to both.
        assert!(bombings.iter().all(|t| t.target.len() == 1), "{split:?}");
        assert_ne!(bombings[0].target, bombings[1].target);
        assert!(bombings.iter().all(|t| !t.perp_ind.is_empty()), "{split:?}");
        let joined = model.extract_with(
            TWO_BOMBINGS,
            DecodeOptions {
                event_gap_sentences: usize::MAX,
                ..DecodeOptions::default()
            },
        );
        let bombings = of_type(&joined, "bombing");
        assert_eq!(bombings.len(), 1, "{joined:?}");
        assert_eq!(bombings[0].target.len(), 2, "{joined:?}");
    }

    #[test]
    fn a_filler_met_again_late_stays_with_its_event() {
        // The last sentence is four sentences on, at a trigger of its own, but it names the
        // same bomb: no second bombing.
        let text = "a bomb exploded at the bank of colombia in bogota today.  police blamed drug \
            traffickers.  president barco condemned the attack.  the cabinet met to discuss the \
            economy.  the bomb that exploded at the bank of colombia weighed 50 kg.";
        let model = crate::muc4_model().expect("the shipped model reads");
        let templates = model.extract(text);
        assert_eq!(of_type(&templates, "bombing").len(), 1, "{templates:?}");
    }

    #[test]
    fn role_caps_keep_the_surest_entities() {
        let model = crate::muc4_model().expect("the shipped model reads");
        let uncapped = DecodeOptions {
            role_entities_max: [0; 5],
            event_gap_sentences: usize::MAX,
            ..DecodeOptions::default()
        };
        let all = model.extract_with(TWO_BOMBINGS, uncapped);
        let capped = model.extract_with(
            TWO_BOMBINGS,
            DecodeOptions {
                role_entities_max: [1; 5],
                ..uncapped
            },
        );
        let (all, capped) = (
            &of_type(&all, "bombing")[0].target,
            &of_type(&capped, "bombing")[0].target,
        );
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(capped.len(), 1);
        assert!(all.contains(&capped[0]));
    }
}
