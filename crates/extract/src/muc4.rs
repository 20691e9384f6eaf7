//! The MUC-4 template format and its score.
//!
//! A document's answer is a list of [`Template`]s; a template has an incident type and, for each
//! of five [`Role`]s, a list of entities, each given as the strings that mention it. The score
//! follows `../shared/data/README.md`: templates are matched one to one (only when the incident
//! types agree) by the mapping that scores best; within a matched pair a predicted entity is
//! correct when every one of its normalised mentions is among the mentions of one gold entity of
//! that role, each gold entity counting once. Each matched template also counts as one correct
//! incident type. The headline is the micro-average over the incident type and the five roles.

use serde::{Deserialize, Serialize};

/// The five role slots of a MUC-4 template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    PerpInd,
    PerpOrg,
    Target,
    Victim,
    Weapon,
}

impl Role {
    /// Every role, in template order.
    pub const ALL: [Role; 5] = [
        Role::PerpInd,
        Role::PerpOrg,
        Role::Target,
        Role::Victim,
        Role::Weapon,
    ];

    /// The role's name in the MUC-4 JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PerpInd => "PerpInd",
            Role::PerpOrg => "PerpOrg",
            Role::Target => "Target",
            Role::Victim => "Victim",
            Role::Weapon => "Weapon",
        }
    }

    /// The role's position in [`Role::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The MUC-4 incident types.
pub const INCIDENT_TYPES: [&str; 6] = [
    "attack",
    "bombing",
    "kidnapping",
    "arson",
    "robbery",
    "forced work stoppage",
];

/// One entity: the strings that mention it.
pub type Entity = Vec<String>;

/// One event's template.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Template {
    pub incident_type: String,
    #[serde(rename = "PerpInd", default)]
    pub perp_ind: Vec<Entity>,
    #[serde(rename = "PerpOrg", default)]
    pub perp_org: Vec<Entity>,
    #[serde(rename = "Target", default)]
    pub target: Vec<Entity>,
    #[serde(rename = "Victim", default)]
    pub victim: Vec<Entity>,
    #[serde(rename = "Weapon", default)]
    pub weapon: Vec<Entity>,
}

impl Template {
    /// An empty template of the given type.
    pub fn new(incident_type: &str) -> Template {
        Template {
            incident_type: incident_type.to_string(),
            ..Template::default()
        }
    }

    /// The entities filling `role`.
    pub fn role(&self, role: Role) -> &Vec<Entity> {
        match role {
            Role::PerpInd => &self.perp_ind,
            Role::PerpOrg => &self.perp_org,
            Role::Target => &self.target,
            Role::Victim => &self.victim,
            Role::Weapon => &self.weapon,
        }
    }

    /// The entities filling `role`, to change.
    pub fn role_mut(&mut self, role: Role) -> &mut Vec<Entity> {
        match role {
            Role::PerpInd => &mut self.perp_ind,
            Role::PerpOrg => &mut self.perp_org,
            Role::Target => &mut self.target,
            Role::Victim => &mut self.victim,
            Role::Weapon => &mut self.weapon,
        }
    }
}

/// A gold mention: its text and its character offset in the document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GoldMention(pub String, pub usize);

/// A gold template as the corpus gives it, with mention offsets.
#[derive(Debug, Clone, Deserialize)]
pub struct GoldTemplate {
    pub incident_type: String,
    #[serde(rename = "PerpInd", default)]
    pub perp_ind: Vec<Vec<GoldMention>>,
    #[serde(rename = "PerpOrg", default)]
    pub perp_org: Vec<Vec<GoldMention>>,
    #[serde(rename = "Target", default)]
    pub target: Vec<Vec<GoldMention>>,
    #[serde(rename = "Victim", default)]
    pub victim: Vec<Vec<GoldMention>>,
    #[serde(rename = "Weapon", default)]
    pub weapon: Vec<Vec<GoldMention>>,
}

impl GoldTemplate {
    /// The gold entities of `role`, with offsets.
    pub fn role(&self, role: Role) -> &Vec<Vec<GoldMention>> {
        match role {
            Role::PerpInd => &self.perp_ind,
            Role::PerpOrg => &self.perp_org,
            Role::Target => &self.target,
            Role::Victim => &self.victim,
            Role::Weapon => &self.weapon,
        }
    }

    /// The template without offsets, as the scorer takes it.
    pub fn to_template(&self) -> Template {
        let mut out = Template::new(&self.incident_type);
        for role in Role::ALL {
            *out.role_mut(role) = self
                .role(role)
                .iter()
                .map(|entity| entity.iter().map(|m| m.0.clone()).collect())
                .collect();
        }
        out
    }
}

/// One MUC-4 document: its id, its (lower-cased) text and, in the annotated splits, its gold
/// templates.
#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    pub docid: String,
    pub doctext: String,
    #[serde(default)]
    pub templates: Vec<GoldTemplate>,
}

/// A line of a MUC-4 JSON-lines file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {source}")]
pub struct ReadError {
    pub line: usize,
    #[source]
    pub source: serde_json::Error,
}

/// Reads MUC-4 JSON lines (blank lines skipped).
pub fn read_jsonl(text: &str) -> Result<Vec<Document>, ReadError> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let document = serde_json::from_str(line).map_err(|source| ReadError {
            line: number + 1,
            source,
        })?;
        out.push(document);
    }
    Ok(out)
}

/// Normalises a mention for comparison: lower case, no punctuation, no articles ("a", "an",
/// "the"), single spaces.
pub fn normalise(text: &str) -> String {
    let lower = text.to_lowercase();
    let stripped: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    let mut out = String::with_capacity(stripped.len());
    for word in stripped.split_whitespace() {
        if matches!(word, "a" | "an" | "the") {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether a predicted incident type agrees with a gold one. A gold type may list
/// alternatives ("bombing / attack"); any of them agrees.
pub fn types_agree(predicted: &str, gold: &str) -> bool {
    let predicted = predicted.trim();
    gold.split('/').any(|g| g.trim() == predicted)
}

/// Counts for one slot: how many were predicted, how many were in the gold answer, how many
/// predicted ones were correct.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub predicted: usize,
    pub gold: usize,
    pub correct: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.predicted += other.predicted;
        self.gold += other.gold;
        self.correct += other.correct;
    }

    /// Precision in percent (0 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        percent(self.correct, self.predicted)
    }

    /// Recall in percent (0 when there was nothing to find).
    pub fn recall(&self) -> f64 {
        percent(self.correct, self.gold)
    }

    /// F1 in percent.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The score of a set of documents: the incident type and each role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    pub incident_type: Counts,
    pub roles: [Counts; 5],
}

impl Score {
    /// The micro-average over the incident type and the five roles.
    pub fn micro(&self) -> Counts {
        let mut total = self.incident_type;
        for role in self.roles {
            total.add(role);
        }
        total
    }

    /// Adds another score's counts to this one.
    pub fn add(&mut self, other: &Score) {
        self.incident_type.add(other.incident_type);
        for (mine, theirs) in self.roles.iter_mut().zip(other.roles) {
            mine.add(theirs);
        }
    }
}

/// Beyond this many templates on both sides, the matching is greedy rather than optimal (the
/// exact search is exponential in the smaller side).
const EXACT_MATCHING_TEMPLATES_MAX: usize = 16;

/// Scores one document's predicted templates against its gold ones.
pub fn score_document(gold: &[Template], predicted: &[Template]) -> Score {
    let gold_norm: Vec<Normalised> = gold.iter().map(Normalised::new).collect();
    let pred_norm: Vec<Normalised> = predicted.iter().map(Normalised::new).collect();
    // pair[i][j]: the correct fillers if predicted i is matched to gold j (None: types differ).
    let pair: Vec<Vec<Option<[usize; 5]>>> = pred_norm
        .iter()
        .map(|p| {
            gold_norm
                .iter()
                .map(|g| types_agree(&p.incident_type, &g.incident_type).then(|| p.correct(g)))
                .collect()
        })
        .collect();
    let value = |i: usize, j: usize| pair[i][j].map(|c| 1 + c.iter().sum::<usize>());
    let assignment = if gold.len().min(predicted.len()) <= EXACT_MATCHING_TEMPLATES_MAX {
        best_assignment(predicted.len(), gold.len(), &value)
    } else {
        greedy_assignment(predicted.len(), gold.len(), &value)
    };
    let mut score = Score::default();
    score.incident_type.predicted = predicted.len();
    score.incident_type.gold = gold.len();
    for role in Role::ALL {
        let r = role.index();
        score.roles[r].predicted = pred_norm.iter().map(|p| p.roles[r].len()).sum();
        score.roles[r].gold = gold_norm.iter().map(|g| g.roles[r].len()).sum();
    }
    for (i, j) in assignment {
        if let Some(correct) = pair[i][j] {
            score.incident_type.correct += 1;
            for (slot, c) in score.roles.iter_mut().zip(correct) {
                slot.correct += c;
            }
        }
    }
    score
}

/// A template with every mention normalised (empty mentions dropped).
struct Normalised {
    incident_type: String,
    roles: [Vec<Vec<String>>; 5],
}

impl Normalised {
    fn new(template: &Template) -> Normalised {
        let roles = Role::ALL.map(|role| {
            template
                .role(role)
                .iter()
                .map(|entity| {
                    let mut mentions: Vec<String> = entity.iter().map(|m| normalise(m)).collect();
                    mentions.retain(|m| !m.is_empty());
                    mentions
                })
                .filter(|entity| !entity.is_empty())
                .collect()
        });
        Normalised {
            incident_type: template.incident_type.clone(),
            roles,
        }
    }

    /// For each role, how many of this (predicted) template's entities match distinct gold
    /// entities: a maximum bipartite matching where a predicted entity fits a gold entity when
    /// all its mentions are among the gold entity's mentions.
    fn correct(&self, gold: &Normalised) -> [usize; 5] {
        let mut out = [0; 5];
        for (r, slot) in out.iter_mut().enumerate() {
            let fits: Vec<Vec<usize>> = self.roles[r]
                .iter()
                .map(|p| {
                    gold.roles[r]
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| p.iter().all(|m| g.contains(m)))
                        .map(|(j, _)| j)
                        .collect()
                })
                .collect();
            *slot = max_matching(&fits, gold.roles[r].len());
        }
        out
    }
}

/// The size of a maximum bipartite matching (Kuhn's augmenting paths).
fn max_matching(fits: &[Vec<usize>], right: usize) -> usize {
    fn augment(
        i: usize,
        fits: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &j in &fits[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            if owner[j].is_none_or(|k| augment(k, fits, seen, owner)) {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    let mut owner = vec![None; right];
    let mut size = 0;
    for i in 0..fits.len() {
        let mut seen = vec![false; right];
        if augment(i, fits, &mut seen, &mut owner) {
            size += 1;
        }
    }
    size
}

/// The one-to-one assignment of predicted to gold templates with the highest total value, by
/// dynamic programming over the subsets of the smaller side.
fn best_assignment(
    predicted: usize,
    gold: usize,
    value: &dyn Fn(usize, usize) -> Option<usize>,
) -> Vec<(usize, usize)> {
    // Iterate over the larger side, keep subsets of the smaller side.
    let swap = gold > predicted;
    let (outer, inner) = if swap {
        (gold, predicted)
    } else {
        (predicted, gold)
    };
    let v = |o: usize, i: usize| if swap { value(i, o) } else { value(o, i) };
    let states = 1usize << inner;
    // best[k][mask]: best value using the first k outer items and the inner set `mask`.
    let mut best = vec![vec![None::<usize>; states]; outer + 1];
    best[0][0] = Some(0);
    for o in 0..outer {
        for mask in 0..states {
            let Some(here) = best[o][mask] else { continue };
            if best[o + 1][mask].is_none_or(|b| b < here) {
                best[o + 1][mask] = Some(here);
            }
            for i in 0..inner {
                if mask & (1 << i) != 0 {
                    continue;
                }
                if let Some(gain) = v(o, i) {
                    let next = mask | (1 << i);
                    if best[o + 1][next].is_none_or(|b| b < here + gain) {
                        best[o + 1][next] = Some(here + gain);
                    }
                }
            }
        }
    }
    // Walk back from the best final state.
    let (mut mask, _) = best[outer]
        .iter()
        .enumerate()
        .filter_map(|(m, b)| b.map(|b| (m, b)))
        .max_by_key(|&(m, b)| (b, std::cmp::Reverse(m)))
        .expect("the empty assignment is always reachable");
    let mut pairs = Vec::new();
    for o in (0..outer).rev() {
        let here = best[o + 1][mask].expect("the walk back only visits reachable states");
        if best[o][mask] == Some(here) {
            continue;
        }
        let i = (0..inner)
            .find(|&i| {
                mask & (1 << i) != 0
                    && v(o, i).is_some_and(|gain| best[o][mask & !(1 << i)] == Some(here - gain))
            })
            .expect("a reachable state has a predecessor");
        mask &= !(1 << i);
        pairs.push(if swap { (i, o) } else { (o, i) });
    }
    pairs
}

/// A greedy assignment: the best-valued pairs first.
fn greedy_assignment(
    predicted: usize,
    gold: usize,
    value: &dyn Fn(usize, usize) -> Option<usize>,
) -> Vec<(usize, usize)> {
    let mut candidates: Vec<(usize, usize, usize)> = (0..predicted)
        .flat_map(|i| (0..gold).filter_map(move |j| value(i, j).map(|v| (v, i, j))))
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let (mut used_p, mut used_g) = (vec![false; predicted], vec![false; gold]);
    let mut pairs = Vec::new();
    for (_, i, j) in candidates {
        if !used_p[i] && !used_g[j] {
            used_p[i] = true;
            used_g[j] = true;
            pairs.push((i, j));
        }
    }
    pairs
}

/// Scores a whole split: `(gold, predicted)` per document.
pub fn score<'a>(documents: impl IntoIterator<Item = (&'a [Template], &'a [Template])>) -> Score {
    let mut total = Score::default();
    for (gold, predicted) in documents {
        total.add(&score_document(gold, predicted));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(kind: &str, roles: &[(Role, &[&[&str]])]) -> Template {
        let mut out = Template::new(kind);
        for (role, entities) in roles {
            *out.role_mut(*role) = entities
                .iter()
                .map(|e| e.iter().map(|m| m.to_string()).collect())
                .collect();
        }
        out
    }

    #[test]
    fn normalisation_drops_case_punctuation_and_articles() {
        assert_eq!(normalise("The \"Santo Tomas\"  farm."), "santo tomas farm");
        assert_eq!(normalise("an M-16 rifle"), "m16 rifle");
        assert_eq!(normalise(" the "), "");
    }

    #[test]
    fn perfect_answer_scores_100() {
        let gold = vec![t(
            "attack",
            &[
                (Role::PerpInd, &[&["guerrillas", "guerrilla column"]]),
                (Role::Target, &[&["the farm"]]),
            ],
        )];
        let s = score_document(&gold, &gold);
        assert_eq!(
            s.incident_type,
            Counts {
                predicted: 1,
                gold: 1,
                correct: 1
            }
        );
        assert_eq!(
            s.roles[0],
            Counts {
                predicted: 1,
                gold: 1,
                correct: 1
            }
        );
        assert_eq!(s.micro().f1(), 100.0);
    }

    #[test]
    fn a_filler_is_correct_only_if_all_its_mentions_are_in_one_gold_entity() {
        let gold = vec![t(
            "attack",
            &[(
                Role::PerpInd,
                &[&["guerrillas", "guerrilla column"], &["soldiers"]],
            )],
        )];
        let predicted = vec![t(
            "attack",
            &[(
                Role::PerpInd,
                &[&["Guerrillas", "soldiers"], &["the guerrilla column"]],
            )],
        )];
        let s = score_document(&gold, &predicted);
        assert_eq!(
            s.roles[0],
            Counts {
                predicted: 2,
                gold: 2,
                correct: 1
            }
        );
    }

    #[test]
    fn one_gold_entity_is_credited_once() {
        let gold = vec![t("bombing", &[(Role::Weapon, &[&["bomb", "car bomb"]])])];
        let predicted = vec![t("bombing", &[(Role::Weapon, &[&["bomb"], &["car bomb"]])])];
        let s = score_document(&gold, &predicted);
        assert_eq!(
            s.roles[4],
            Counts {
                predicted: 2,
                gold: 1,
                correct: 1
            }
        );
    }

    #[test]
    fn types_must_agree_for_a_match() {
        let gold = vec![t("bombing", &[(Role::Target, &[&["embassy"]])])];
        let predicted = vec![t("attack", &[(Role::Target, &[&["embassy"]])])];
        let s = score_document(&gold, &predicted);
        assert_eq!(
            s.incident_type,
            Counts {
                predicted: 1,
                gold: 1,
                correct: 0
            }
        );
        assert_eq!(
            s.roles[2],
            Counts {
                predicted: 1,
                gold: 1,
                correct: 0
            }
        );
        assert!(types_agree("attack", "bombing / attack"));
        assert!(!types_agree("arson", "bombing / attack"));
    }

    #[test]
    fn matching_is_optimal_not_greedy() {
        // Predicted 0 fits both golds, predicted 1 fits only gold 0 but better: the best
        // mapping pairs p0-g1 and p1-g0.
        let gold = vec![
            t("attack", &[(Role::Victim, &[&["mayor"], &["judge"]])]),
            t("attack", &[(Role::Victim, &[&["priest"]])]),
        ];
        let predicted = vec![
            t("attack", &[(Role::Victim, &[&["priest"]])]),
            t("attack", &[(Role::Victim, &[&["mayor"], &["judge"]])]),
        ];
        let s = score_document(&gold, &predicted);
        assert_eq!(
            s.roles[3],
            Counts {
                predicted: 3,
                gold: 3,
                correct: 3
            }
        );
        assert_eq!(s.incident_type.correct, 2);
    }

    #[test]
    fn unmatched_templates_count_against_precision_and_recall() {
        let gold = vec![t("kidnapping", &[(Role::Victim, &[&["priest"]])])];
        let predicted = vec![
            t("kidnapping", &[(Role::Victim, &[&["priest"]])]),
            t("arson", &[(Role::Target, &[&["house"]])]),
        ];
        let s = score_document(&gold, &predicted);
        assert_eq!(
            s.incident_type,
            Counts {
                predicted: 2,
                gold: 1,
                correct: 1
            }
        );
        assert_eq!(
            s.roles[2],
            Counts {
                predicted: 1,
                gold: 0,
                correct: 0
            }
        );
        let empty = score_document(&gold, &[]);
        assert_eq!(
            empty.micro(),
            Counts {
                predicted: 0,
                gold: 2,
                correct: 0
            }
        );
        assert_eq!(empty.micro().f1(), 0.0);
        assert_eq!(score_document(&[], &[]).micro().f1(), 0.0);
    }

    #[test]
    fn greedy_and_exact_agree_on_simple_cases() {
        let v = |i: usize, j: usize| (i == j).then_some(2);
        assert_eq!(best_assignment(3, 3, &v).len(), 3);
        assert_eq!(greedy_assignment(3, 3, &v).len(), 3);
    }
}
