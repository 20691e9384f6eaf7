//! Incidents from news prose: dates resolved against the publication date, places, casualty
//! phrases, event triggers and perpetrators, grouped into one incident per distinct event.
//!
//! The rules work sentence by sentence. A sentence yields an event when it holds a trigger
//! ("attack", "suicide bombings", "killing") and either a date resolved to the day or a number
//! of dead. The event takes the fields nearest to its anchor (the casualty phrase, else the
//! trigger nearest a date). Events of one document that agree on the day and do not disagree on
//! the place (or agree on the place, or on the number of dead, when one has no date) are one
//! incident.

use incident::alias::{AliasIndex, GroupId};
use incident::vocab::{AttackType, DatePrecision};
use incident::{CasualtyRange, Date};

use crate::gazetteer::{self, PlaceKind};
use crate::text::{Token, TokenKind, sentences, tokenize};

/// Texts longer than this are cut here (at a character boundary) before extraction: it bounds
/// the work per report. 10 MB is far beyond any news article.
pub const TEXT_BYTES_MAX: usize = 4 << 20;
/// At most this many incidents per document.
pub const INCIDENTS_MAX: usize = 200;
/// A group name is at most this many tokens long.
const GROUP_TOKENS_MAX: usize = 8;

/// A span of the source text, in characters (not bytes) from its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Which field the span supports: `trigger`, `date`, `place`, `killed`, `wounded`,
    /// `perpetrator`.
    pub field: &'static str,
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// A group named in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMention {
    /// The name as written.
    pub written: String,
    /// The group it resolved to in the alias index.
    pub group: GroupId,
    /// The group's own name in the index.
    pub name: String,
    pub start: usize,
    pub end: usize,
}

/// A place named in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceMention {
    pub written: String,
    pub place: PlaceKind,
    pub start: usize,
    pub end: usize,
}

/// One incident found in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftIncident {
    pub date: Date,
    pub date_precision: DatePrecision,
    pub place: Option<PlaceKind>,
    pub attack_type: Option<AttackType>,
    pub suicide: bool,
    pub killed: Option<CasualtyRange>,
    pub wounded: Option<CasualtyRange>,
    /// Groups the text holds responsible, by their index name.
    pub perpetrators: Vec<(GroupId, String)>,
    pub evidence: Vec<Evidence>,
}

impl DraftIncident {
    /// A short human name: "Bombing in Kerman, IR on 2024-01-03".
    pub fn title(&self) -> String {
        let kind = match self.attack_type {
            Some(AttackType::BombingExplosion) => "Bombing",
            Some(AttackType::HostageTakingKidnapping) => "Kidnapping",
            Some(AttackType::Assassination) => "Assassination",
            Some(AttackType::ArmedAssault) => "Armed assault",
            _ => "Attack",
        };
        let place = match &self.place {
            Some(PlaceKind::City(city)) => format!(" in {}, {}", city.name, city.country),
            Some(p) => format!(
                " in {}",
                incident::country::name(p.country()).unwrap_or(p.country())
            ),
            None => String::new(),
        };
        format!("{kind}{place} on {}", self.date)
    }
}

/// What the extractor found in one text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    pub incidents: Vec<DraftIncident>,
    /// Every group mention resolved through the alias index.
    pub groups: Vec<GroupMention>,
    /// Every place mention (cities and countries; demonyms left out).
    pub places: Vec<PlaceMention>,
    /// Whether the text was cut at [`TEXT_BYTES_MAX`].
    pub truncated: bool,
}

/// Extracts the incidents in `text`, published on `published`, resolving groups through
/// `groups`. Never fails: text with no incident gives an empty draft.
pub fn extract(text: &str, published: Date, groups: &AliasIndex) -> Draft {
    let mut cut = text.len().min(TEXT_BYTES_MAX);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let truncated = cut < text.len();
    let text = &text[..cut];
    let tokens = tokenize(text);
    let words: Vec<String> = tokens
        .iter()
        .map(|t| {
            let w = t.text(text).to_lowercase().replace('’', "'");
            match w.strip_suffix("'s") {
                Some(base) if !base.is_empty() => base.to_string(),
                _ => w,
            }
        })
        .collect();
    let chars = CharIndex::new(text);
    let group_hits = find_groups(&words, groups);
    let place_hits = find_places(&words);
    let mut events: Vec<Event> = Vec::new();
    for sentence in sentences(text, &tokens) {
        if let Some(event) = sentence_event(
            &words,
            &tokens,
            sentence.clone(),
            published,
            &group_hits,
            &place_hits,
        ) {
            events.push(event);
        }
    }
    let incidents = merge(events)
        .into_iter()
        .filter_map(|e| e.finish(text, &tokens, &chars, &words))
        .take(INCIDENTS_MAX)
        .collect();
    let span =
        |start: usize, end: usize| (chars.at(tokens[start].start), chars.at(tokens[end - 1].end));
    Draft {
        incidents,
        groups: group_hits
            .iter()
            .map(|h| {
                let (start, end) = span(h.start, h.end);
                GroupMention {
                    written: text[tokens[h.start].start..tokens[h.end - 1].end].to_string(),
                    group: h.group,
                    name: groups.group(h.group).name.clone(),
                    start,
                    end,
                }
            })
            .collect(),
        places: place_hits
            .iter()
            .filter(|h| !matches!(h.place, PlaceKind::Demonym(_)))
            .map(|h| {
                let (start, end) = span(h.start, h.end);
                PlaceMention {
                    written: text[tokens[h.start].start..tokens[h.end - 1].end].to_string(),
                    place: h.place.clone(),
                    start,
                    end,
                }
            })
            .collect(),
        truncated,
    }
}

/// Byte offsets to character offsets.
struct CharIndex {
    /// Byte offset of every character boundary, in order.
    boundaries: Vec<usize>,
}

impl CharIndex {
    fn new(text: &str) -> CharIndex {
        let mut boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        boundaries.push(text.len());
        CharIndex { boundaries }
    }

    fn at(&self, byte: usize) -> usize {
        self.boundaries.partition_point(|&b| b < byte)
    }
}

#[derive(Debug, Clone)]
struct GroupHit {
    start: usize,
    end: usize,
    group: GroupId,
}

#[derive(Debug, Clone)]
struct PlaceHit {
    start: usize,
    end: usize,
    place: PlaceKind,
}

/// Single words that name a group in the index but are ordinary words in lower-case text.
const GROUP_STOPWORDS: &[&str] = &["is", "it", "tip", "aq", "isk", "the", "base"];

/// Group mentions: the longest run of tokens the alias index knows, left to right.
fn find_groups(words: &[String], groups: &AliasIndex) -> Vec<GroupHit> {
    longest_matches(words, GROUP_TOKENS_MAX, |slice| {
        if slice.iter().any(|w| !w.chars().any(char::is_alphanumeric)) {
            return None;
        }
        if slice.len() == 1 && (slice[0].len() < 3 || GROUP_STOPWORDS.contains(&slice[0].as_str()))
        {
            return None;
        }
        groups.resolve_exact(&slice.join(" "))
    })
    .into_iter()
    .map(|(start, end, group)| GroupHit { start, end, group })
    .collect()
}

/// Place mentions: the longest run of tokens that names a place, left to right.
fn find_places(words: &[String]) -> Vec<PlaceHit> {
    longest_matches(words, gazetteer::NAME_TOKENS_MAX, |slice| {
        if !slice
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_alphabetic))
        {
            return None;
        }
        gazetteer::lookup(&slice.join(" "))
    })
    .into_iter()
    .map(|(start, end, place)| PlaceHit { start, end, place })
    .collect()
}

/// Left to right, the longest run of at most `tokens_max` words that `name` recognises, as
/// (start, end, what it names); a run found is skipped over.
fn longest_matches<T>(
    words: &[String],
    tokens_max: usize,
    name: impl Fn(&[String]) -> Option<T>,
) -> Vec<(usize, usize, T)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let found = (1..=tokens_max.min(words.len() - i))
            .rev()
            .find_map(|n| name(&words[i..i + n]).map(|named| (n, named)));
        match found {
            Some((n, named)) => {
                out.push((i, i + n, named));
                i += n;
            }
            None => i += 1,
        }
    }
    out
}

/// A trigger word's incident kind.
fn trigger(word: &str) -> Option<Option<AttackType>> {
    let kind = if word.starts_with("bomb")
        || word.starts_with("explosi")
        || word == "blast"
        || word == "blasts"
    {
        Some(AttackType::BombingExplosion)
    } else if word.starts_with("kidnap") || word.starts_with("abduct") {
        Some(AttackType::HostageTakingKidnapping)
    } else if word.starts_with("assassinat") {
        Some(AttackType::Assassination)
    } else if word.starts_with("shooting") || word == "gunmen" || word.starts_with("massacre") {
        Some(AttackType::ArmedAssault)
    } else if word.starts_with("attack")
        || word == "killing"
        || word == "killed"
        || word == "suicide"
        || word == "ambush"
    {
        None
    } else {
        return None;
    };
    Some(kind)
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month(word: &str) -> Option<u8> {
    if let Some(i) = MONTHS.iter().position(|m| *m == word) {
        return Some(i as u8 + 1);
    }
    let short = match word.trim_end_matches('.') {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" | "sept" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    Some(short)
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Small numbers written as words.
fn number(word: &str) -> Option<u32> {
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    if let Some(n) = WORDS.iter().position(|w| *w == word) {
        return Some(n as u32);
    }
    let tens = match word {
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        "hundred" | "a hundred" => 100,
        "dozen" | "dozens" => 12,
        _ => 0,
    };
    if tens > 0 {
        return Some(tens);
    }
    let digits: String = word.chars().filter(|c| *c != ',').collect();
    if digits.is_empty() || digits.len() > 7 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A date expression: its tokens and what it resolves to.
#[derive(Debug, Clone, Copy)]
struct DateHit {
    start: usize,
    end: usize,
    date: Date,
    precision: DatePrecision,
}

/// The year in which a month (and day) most recently fell on or before `published`.
fn year_before(published: Date, month: u8, day: u8) -> u16 {
    if (month, day) > (published.month(), published.day()) {
        published.year().saturating_sub(1)
    } else {
        published.year()
    }
}

/// The date expressions of one sentence, in order. Relative ones ("two days previously")
/// resolve against the closest absolute date before them in the sentence, else against the
/// publication date.
fn find_dates(words: &[String], range: std::ops::Range<usize>, published: Date) -> Vec<DateHit> {
    let mut out: Vec<DateHit> = Vec::new();
    let word = |i: usize| -> &str { if range.contains(&i) { &words[i] } else { "" } };
    let mut i = range.start;
    while i < range.end {
        let w = word(i);
        // "march 22", "march 22, 2024", "22 march 2024", "mar 29 2024"
        if let Some(m) = month(w) {
            let day = number(word(i + 1)).filter(|d| (1..=31).contains(d));
            if let Some(day) = day {
                let mut end = i + 2;
                let mut year = None;
                let mut k = end;
                if word(k) == "," {
                    k += 1;
                }
                if let Some(y) = number(word(k)).filter(|y| (1900..=2100).contains(y)) {
                    year = Some(y as u16);
                    end = k + 1;
                }
                let year = year.unwrap_or_else(|| year_before(published, m, day as u8));
                if let Some(date) = Date::new(year, m, day as u8) {
                    out.push(DateHit {
                        start: i,
                        end,
                        date,
                        precision: DatePrecision::Day,
                    });
                }
                i = end;
                continue;
            }
            // "in january", "in january 2024"
            if matches!(
                word(i.wrapping_sub(1)),
                "in" | "since" | "during" | "early" | "late" | "mid"
            ) && m != 5
                || (m == 5 && word(i.wrapping_sub(1)) == "in")
            {
                let (year, end) = match number(word(i + 1)).filter(|y| (1900..=2100).contains(y)) {
                    Some(y) => (y as u16, i + 2),
                    None => (year_before(published, m, 1), i + 1),
                };
                if let Some(date) = Date::new(year, m, 1) {
                    out.push(DateHit {
                        start: i,
                        end,
                        date,
                        precision: DatePrecision::Month,
                    });
                }
                i = end;
                continue;
            }
        }
        if let Some(day) = number(w).filter(|d| (1..=31).contains(d))
            && let Some(m) = month(word(i + 1))
        {
            let (year, end) = match number(word(i + 2)).filter(|y| (1900..=2100).contains(y)) {
                Some(y) => (y as u16, i + 3),
                None => (year_before(published, m, day as u8), i + 2),
            };
            if let Some(date) = Date::new(year, m, day as u8) {
                out.push(DateHit {
                    start: i,
                    end,
                    date,
                    precision: DatePrecision::Day,
                });
            }
            i = end;
            continue;
        }
        if let Some(weekday) = WEEKDAYS.iter().position(|d| *d == w) {
            // Resolved backwards: news reports what happened, on the last such day.
            let published_weekday = (published.days_since_epoch() + 3).rem_euclid(7) as usize;
            let back = (published_weekday + 7 - weekday) % 7;
            if let Some(date) = published.add_days(-(back as i64)) {
                out.push(DateHit {
                    start: i,
                    end: i + 1,
                    date,
                    precision: DatePrecision::Day,
                });
            }
        }
        let relative_day = match w {
            "yesterday" => Some(-1),
            "today" => Some(0),
            _ => None,
        };
        if let Some(days) = relative_day
            && let Some(date) = published.add_days(days)
        {
            out.push(DateHit {
                start: i,
                end: i + 1,
                date,
                precision: DatePrecision::Day,
            });
        }
        // "two days previously", "three days earlier", "5 days ago"
        if let Some(n) = number(w).filter(|n| *n <= 366)
            && matches!(word(i + 1), "day" | "days")
            && matches!(
                word(i + 2),
                "previously" | "earlier" | "before" | "ago" | "later"
            )
        {
            let anchor = if word(i + 2) == "ago" {
                Some((published, DatePrecision::Day))
            } else {
                out.iter()
                    .rev()
                    .find(|d| d.precision == DatePrecision::Day)
                    .map(|d| (d.date, d.precision))
                    .or(Some((published, DatePrecision::Day)))
            };
            let sign = if word(i + 2) == "later" { 1 } else { -1 };
            if let Some((base, precision)) = anchor
                && let Some(date) = base.add_days(sign * i64::from(n))
            {
                out.push(DateHit {
                    start: i,
                    end: i + 3,
                    date,
                    precision,
                });
                i += 3;
                continue;
            }
        }
        // "in 2020"
        if w.len() == 4
            && word(i.wrapping_sub(1)) == "in"
            && let Some(y) = number(w).filter(|y| (1900..=2100).contains(y))
            && let Some(date) = Date::new(y as u16, 1, 1)
        {
            out.push(DateHit {
                start: i,
                end: i + 1,
                date,
                precision: DatePrecision::Year,
            });
        }
        i += 1;
    }
    out.retain(|d| d.date <= published);
    out
}

/// A casualty phrase: the number, its bounds and its tokens.
#[derive(Debug, Clone, Copy)]
struct CountHit {
    start: usize,
    end: usize,
    range: CasualtyRange,
    killed: bool,
}

const KILL_CUES: &[&str] = &[
    "killed", "killing", "kill", "kills", "dead", "died", "deaths", "lives", "death",
];
const WOUND_CUES: &[&str] = &["wounded", "wounding", "injured", "injuring", "injuries"];
const QUALIFIERS: &[&str] = &[
    "more", "than", "at", "least", "over", "nearly", "about", "some", "the", "of", "almost",
    "around", "up", "to", "another",
];

/// A number with its qualifier ("more than 90", "at least 5") from token `i` forwards: the
/// range and the index after it.
fn quantity(words: &[String], i: usize, end: usize) -> Option<(CasualtyRange, usize, usize)> {
    let mut k = i;
    let mut qualifier = Vec::new();
    while k < end && QUALIFIERS.contains(&words[k].as_str()) && qualifier.len() < 3 {
        qualifier.push(words[k].as_str());
        k += 1;
    }
    let n = number(words.get(k)?)?;
    let range = match qualifier.as_slice() {
        [.., "more", "than"] | [.., "over"] => CasualtyRange {
            low: Some(n + 1),
            best: None,
            high: None,
        },
        [.., "at", "least"] => CasualtyRange {
            low: Some(n),
            best: None,
            high: None,
        },
        [.., "nearly"] | [.., "almost"] | [.., "up", "to"] => CasualtyRange {
            low: None,
            best: None,
            high: Some(n),
        },
        [.., "about"] | [.., "some"] | [.., "around"] => CasualtyRange {
            low: None,
            best: Some(n),
            high: None,
        },
        _ => CasualtyRange::exact(n),
    };
    Some((range, k, k + 1))
}

/// The casualty phrases of a sentence.
fn find_counts(words: &[String], range: std::ops::Range<usize>) -> Vec<CountHit> {
    let mut out = Vec::new();
    for i in range.clone() {
        let w = words[i].as_str();
        let killed = KILL_CUES.contains(&w);
        if !killed && !WOUND_CUES.contains(&w) {
            continue;
        }
        // Forwards: "killed 137 people", "killing of more than 90", "claimed the lives of five".
        let mut found = None;
        for start in i + 1..(i + 3).min(range.end) {
            if let Some((r, number_at, _)) = quantity(words, start, range.end) {
                if number_at <= i + 5 {
                    found = Some((r, start.min(number_at), number_at + 1));
                }
                break;
            }
        }
        // Backwards: "seven soldiers were killed", "two soldiers being killed", "90 dead".
        if found.is_none() {
            let from = i.saturating_sub(6).max(range.start);
            for start in (from..i).rev() {
                if let Some((r, number_at, _)) = quantity(words, start, i)
                    && (start == number_at
                        || !QUALIFIERS.contains(&words[start.saturating_sub(1)].as_str()))
                {
                    found = Some((r, start, i + 1));
                    break;
                }
            }
        }
        if let Some((r, start, end)) = found {
            out.push(CountHit {
                start: start.min(i),
                end: end.max(i + 1),
                range: r,
                killed,
            });
        }
    }
    out
}

/// One sentence's event, before merging.
#[derive(Debug, Clone)]
struct Event {
    date: Option<DateHit>,
    place: Option<PlaceHit>,
    killed: Option<CountHit>,
    wounded: Option<CountHit>,
    attack_type: Option<AttackType>,
    suicide: bool,
    trigger: (usize, usize),
    perpetrators: Vec<GroupHit>,
}

fn distance(a: (usize, usize), b: (usize, usize)) -> usize {
    if a.1 <= b.0 {
        b.0 - a.1
    } else {
        a.0.saturating_sub(b.1)
    }
}

fn sentence_event(
    words: &[String],
    tokens: &[Token],
    sentence: std::ops::Range<usize>,
    published: Date,
    group_hits: &[GroupHit],
    place_hits: &[PlaceHit],
) -> Option<Event> {
    let triggers: Vec<(usize, Option<AttackType>)> = sentence
        .clone()
        .filter(|&i| tokens[i].kind == TokenKind::Word)
        .filter_map(|i| trigger(&words[i]).map(|k| (i, k)))
        .collect();
    if triggers.is_empty() {
        return None;
    }
    let dates = find_dates(words, sentence.clone(), published);
    let counts = find_counts(words, sentence.clone());
    let killed = counts.iter().find(|c| c.killed).copied();
    let day_dates: Vec<&DateHit> = dates
        .iter()
        .filter(|d| d.precision == DatePrecision::Day)
        .collect();
    if killed.is_none() && day_dates.is_empty() {
        return None;
    }
    // The anchor: the casualty phrase, else the trigger nearest a day-resolved date.
    let anchor = match killed {
        Some(k) => (k.start, k.end),
        None => {
            let date = day_dates[0];
            let (i, _) = triggers
                .iter()
                .min_by_key(|(i, _)| distance((*i, i + 1), (date.start, date.end)))
                .expect("triggers is not empty");
            (*i, i + 1)
        }
    };
    let trigger_at = triggers
        .iter()
        .min_by_key(|(i, _)| distance((*i, i + 1), anchor))
        .map(|(i, _)| *i)
        .expect("triggers is not empty");
    let date = dates
        .iter()
        .min_by_key(|d| {
            (
                d.precision != DatePrecision::Day,
                distance((d.start, d.end), anchor),
            )
        })
        .copied();
    let in_sentence = |s: usize| sentence.contains(&s);
    let places: Vec<&PlaceHit> = place_hits.iter().filter(|p| in_sentence(p.start)).collect();
    let rank = |p: &PlaceKind| match p {
        PlaceKind::City(_) => 0,
        PlaceKind::Country(_) => 1,
        PlaceKind::Demonym(_) => 2,
    };
    let place = places
        .iter()
        .filter(|p| {
            // Nothing inside the casualty phrase is the place ("more than 90"), and a demonym
            // just after it describes the dead ("five Chinese nationals"): the dead may be
            // abroad. Only a country's own forces ("seven Pakistani soldiers") are weak
            // evidence of where they died.
            !killed.is_some_and(|k| {
                (p.start >= k.start && p.start < k.end)
                    || (matches!(p.place, PlaceKind::Demonym(_))
                        && p.start < k.end + 3
                        && p.start >= k.start
                        && !words.get(p.end).is_some_and(|w| is_force(w)))
            })
        })
        .min_by_key(|p| {
            (
                in_other_clause(words, (p.start, p.end), anchor),
                rank(&p.place),
                distance((p.start, p.end), anchor),
            )
        })
        .map(|p| (*p).clone());
    let perpetrators = group_hits
        .iter()
        .filter(|g| in_sentence(g.start))
        .filter(|g| is_perpetrator(words, g, &triggers, sentence.clone()))
        .cloned()
        .collect();
    let attack_type = triggers
        .iter()
        .filter(|(_, k)| k.is_some())
        .min_by_key(|(i, _)| distance((*i, i + 1), anchor))
        .and_then(|(_, k)| *k);
    let suicide = triggers.iter().any(|(i, _)| words[*i] == "suicide");
    Some(Event {
        date,
        place,
        killed,
        wounded: counts.iter().find(|c| !c.killed).copied(),
        attack_type,
        suicide,
        trigger: (trigger_at, trigger_at + 1),
        perpetrators,
    })
}

/// Words that open a clause of their own: a place before one of them, with the event after
/// it, belongs to another event or to a group ("hit camps in Afghanistan targeting the
/// affiliate that had claimed the killing of seven soldiers"; "Afghanistan's regime following
/// a bombing that killed five").
const CLAUSE_OPENERS: &[&str] = &[
    "that",
    "which",
    "who",
    "whose",
    "following",
    "after",
    "targeting",
];

/// Whether a place lies before the anchor with a clause opener between them.
fn in_other_clause(words: &[String], place: (usize, usize), anchor: (usize, usize)) -> bool {
    place.1 <= anchor.0
        && words[place.1..anchor.0]
            .iter()
            .any(|w| CLAUSE_OPENERS.contains(&w.as_str()))
}

/// A country's own forces: where they die is usually their country.
fn is_force(word: &str) -> bool {
    matches!(
        word,
        "soldier"
            | "soldiers"
            | "troops"
            | "troop"
            | "policeman"
            | "policemen"
            | "police"
            | "officers"
            | "guards"
            | "border"
            | "army"
            | "security"
            | "paramilitary"
            | "paramilitaries"
    )
}

/// Whether a group mention in a sentence is named as the one that did it: next to a trigger
/// ("twin Isis suicide bombings"), after "by" ("claimed by Isis", "carried out by the same Isis
/// cell"), or before "claimed" ("the TTP affiliate that had claimed responsibility").
fn is_perpetrator(
    words: &[String],
    group: &GroupHit,
    triggers: &[(usize, Option<AttackType>)],
    sentence: std::ops::Range<usize>,
) -> bool {
    let near_trigger = triggers.iter().any(|(i, _)| {
        distance((*i, i + 1), (group.start, group.end)) <= 3
            && !matches!(
                words[group.start.saturating_sub(1)].as_str(),
                "against" | "on"
            )
    });
    let after_by =
        (group.start.saturating_sub(3).max(sentence.start)..group.start).any(|i| words[i] == "by");
    let before_claim =
        (group.end..(group.end + 6).min(sentence.end)).any(|i| words[i].starts_with("claim"));
    near_trigger || after_by || before_claim
}

/// Whether two places can be the same: one is missing, or they are the same city, or one is
/// a country holding the other.
fn places_agree(a: &Option<PlaceHit>, b: &Option<PlaceHit>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (&a.place, &b.place) {
            // A demonym is weak evidence of place ("Chinese nationals" abroad).
            (PlaceKind::Demonym(_), _) | (_, PlaceKind::Demonym(_)) => true,
            (PlaceKind::City(x), PlaceKind::City(y)) => x == y,
            (x, y) => x.country() == y.country(),
        },
        _ => true,
    }
}

fn same_city(a: &Option<PlaceHit>, b: &Option<PlaceHit>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if matches!((&a.place, &b.place), (PlaceKind::City(x), PlaceKind::City(y)) if x == y))
}

/// Groups the sentence events into incidents.
fn merge(events: Vec<Event>) -> Vec<Vec<Event>> {
    let mut incidents: Vec<Vec<Event>> = Vec::new();
    // Dated events first, so that undated ones find their incident.
    let (dated, undated): (Vec<Event>, Vec<Event>) = events
        .into_iter()
        .partition(|e| e.date.is_some_and(|d| d.precision == DatePrecision::Day));
    for event in dated {
        let day = event.date.map(|d| d.date);
        let home = incidents.iter_mut().find(|members| {
            members.iter().all(|m| places_agree(&m.place, &event.place))
                && members.iter().any(|m| m.date.map(|d| d.date) == day)
        });
        match home {
            Some(members) => members.push(event),
            None => incidents.push(vec![event]),
        }
    }
    for event in undated {
        let home = incidents.iter_mut().find(|members| {
            members.iter().any(|m| {
                same_city(&m.place, &event.place)
                    || (m.killed.is_some()
                        && m.killed.map(|k| k.range) == event.killed.map(|k| k.range)
                        && places_agree(&m.place, &event.place))
            })
        });
        if let Some(members) = home {
            members.push(event);
        }
        // An undated event with no dated partner is left out: an incident needs a date.
    }
    incidents
}

impl Event {
    fn evidence(
        field: &'static str,
        span: (usize, usize),
        text: &str,
        tokens: &[Token],
        chars: &CharIndex,
    ) -> Evidence {
        let (start, end) = (tokens[span.0].start, tokens[span.1 - 1].end);
        Evidence {
            field,
            start: chars.at(start),
            end: chars.at(end),
            text: text[start..end].to_string(),
        }
    }
}

trait Finish {
    fn finish(
        self,
        text: &str,
        tokens: &[Token],
        chars: &CharIndex,
        words: &[String],
    ) -> Option<DraftIncident>;
}

impl Finish for Vec<Event> {
    /// One incident from its events: the first day-resolved date, the most specific place,
    /// the first stated counts, every perpetrator.
    fn finish(
        self,
        text: &str,
        tokens: &[Token],
        chars: &CharIndex,
        _words: &[String],
    ) -> Option<DraftIncident> {
        let date = self
            .iter()
            .filter_map(|e| e.date)
            .find(|d| d.precision == DatePrecision::Day)?;
        let mut evidence = vec![Event::evidence(
            "date",
            (date.start, date.end),
            text,
            tokens,
            chars,
        )];
        let place = self
            .iter()
            .filter_map(|e| e.place.clone())
            .min_by_key(|p| match p.place {
                PlaceKind::City(_) => 0,
                PlaceKind::Country(_) => 1,
                PlaceKind::Demonym(_) => 2,
            });
        if let Some(p) = &place {
            evidence.push(Event::evidence(
                "place",
                (p.start, p.end),
                text,
                tokens,
                chars,
            ));
        }
        let killed = self.iter().find_map(|e| e.killed);
        if let Some(k) = killed {
            evidence.push(Event::evidence(
                "killed",
                (k.start, k.end),
                text,
                tokens,
                chars,
            ));
        }
        let wounded = self.iter().find_map(|e| e.wounded);
        if let Some(w) = wounded {
            evidence.push(Event::evidence(
                "wounded",
                (w.start, w.end),
                text,
                tokens,
                chars,
            ));
        }
        for e in &self {
            evidence.push(Event::evidence("trigger", e.trigger, text, tokens, chars));
        }
        let mut perpetrators: Vec<GroupHit> = Vec::new();
        for e in &self {
            for g in &e.perpetrators {
                evidence.push(Event::evidence(
                    "perpetrator",
                    (g.start, g.end),
                    text,
                    tokens,
                    chars,
                ));
                if !perpetrators.iter().any(|p| p.group == g.group) {
                    perpetrators.push(g.clone());
                }
            }
        }
        Some(DraftIncident {
            date: date.date,
            date_precision: date.precision,
            place: place.map(|p| p.place),
            attack_type: self.iter().find_map(|e| e.attack_type),
            suicide: self.iter().any(|e| e.suicide),
            killed: killed.map(|k| k.range),
            wounded: wounded.map(|w| w.range),
            perpetrators: perpetrators
                .into_iter()
                .map(|g| (g.group, String::new()))
                .collect(),
            evidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).expect("test dates are valid")
    }

    #[test]
    fn dates_resolve_backwards_from_publication() {
        let published = date("2024-03-30"); // a Saturday
        let text = "on tuesday a bomb exploded. on march 18 jets struck, two days previously. in january it rained. on 29 mar 2024 and in 2020.";
        let tokens = tokenize(text);
        let words: Vec<String> = tokens.iter().map(|t| t.text(text).to_string()).collect();
        let got: Vec<(String, DatePrecision)> = find_dates(&words, 0..words.len(), published)
            .iter()
            .map(|d| (d.date.to_string(), d.precision))
            .collect();
        assert_eq!(
            got,
            vec![
                ("2024-03-26".to_string(), DatePrecision::Day),
                ("2024-03-18".to_string(), DatePrecision::Day),
                ("2024-03-16".to_string(), DatePrecision::Day),
                ("2024-01-01".to_string(), DatePrecision::Month),
                ("2024-03-29".to_string(), DatePrecision::Day),
                ("2020-01-01".to_string(), DatePrecision::Year),
            ]
        );
        // A month after the publication month is last year's.
        let words: Vec<String> = ["on", "december", "5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            find_dates(&words, 0..3, published)[0].date,
            date("2023-12-05")
        );
        // Invalid days are no dates.
        let words: Vec<String> = ["on", "february", "30"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(find_dates(&words, 0..3, published).is_empty());
    }

    #[test]
    fn casualty_phrases() {
        let cases = [
            (
                "a concert hall attack that killed 137 people",
                CasualtyRange::exact(137),
            ),
            (
                "the killing of more than 90 people",
                CasualtyRange {
                    low: Some(91),
                    best: None,
                    high: None,
                },
            ),
            (
                "the killing of seven pakistani soldiers, including a colonel",
                CasualtyRange::exact(7),
            ),
            (
                "claimed the lives of five chinese nationals",
                CasualtyRange::exact(5),
            ),
            ("with two soldiers being killed", CasualtyRange::exact(2)),
        ];
        for (text, expected) in cases {
            let tokens = tokenize(text);
            let words: Vec<String> = tokens.iter().map(|t| t.text(text).to_string()).collect();
            let counts = find_counts(&words, 0..words.len());
            assert_eq!(counts.first().map(|c| c.range), Some(expected), "{text}");
        }
    }

    #[test]
    fn one_incident_per_event() {
        let groups = AliasIndex::curated();
        let text = "twin isis suicide bombings killed 95 people in kerman on january 3. \
                    the kerman bombing on january 3 was claimed by isis. \
                    a separate attack in istanbul on january 28 wounded one.";
        let draft = extract(text, date("2024-03-30"), &groups);
        assert_eq!(draft.incidents.len(), 2, "{:#?}", draft.incidents);
        let kerman = &draft.incidents[0];
        assert_eq!(kerman.date, date("2024-01-03"));
        assert_eq!(kerman.killed, Some(CasualtyRange::exact(95)));
        assert!(kerman.suicide);
        assert_eq!(kerman.attack_type, Some(AttackType::BombingExplosion));
        assert!(matches!(&kerman.place, Some(PlaceKind::City(c)) if c.name == "Kerman"));
        assert_eq!(kerman.perpetrators.len(), 1);
        assert_eq!(groups.group(kerman.perpetrators[0].0).name, "Islamic State");
        assert_eq!(draft.incidents[1].date, date("2024-01-28"));
        for e in &kerman.evidence {
            assert_eq!(
                text.chars()
                    .skip(e.start)
                    .take(e.end - e.start)
                    .collect::<String>(),
                e.text
            );
        }
    }

    #[test]
    fn the_place_is_the_events_own() {
        let groups = AliasIndex::curated();
        let published = date("2024-03-30");
        // The air strikes' target is not where the soldiers died; their own country is the
        // weak evidence left.
        let text = "on march 18 warplanes hit camps in southeast afghanistan targeting the \
                    affiliate that had claimed the killing of seven pakistani soldiers two \
                    days previously.";
        let draft = extract(text, published, &groups);
        assert_eq!(draft.incidents.len(), 1, "{:#?}", draft.incidents);
        assert_eq!(draft.incidents[0].date, date("2024-03-16"));
        assert_eq!(
            draft.incidents[0].place.as_ref().map(PlaceKind::country),
            Some("PK")
        );
        // A country named as the owner of a regime blamed after the event is not its place.
        let text = "he blamed afghanistan's regime following a suicide bombing that claimed \
                    the lives of five chinese nationals in northern pakistan on tuesday.";
        let draft = extract(text, published, &groups);
        assert_eq!(draft.incidents.len(), 1, "{:#?}", draft.incidents);
        assert_eq!(draft.incidents[0].date, date("2024-03-26"));
        assert_eq!(
            draft.incidents[0].place.as_ref().map(PlaceKind::country),
            Some("PK")
        );
        // Foreign dead say nothing of the place.
        let text = "a bomb killed five chinese nationals on tuesday.";
        let draft = extract(text, published, &groups);
        assert_eq!(draft.incidents.len(), 1, "{:#?}", draft.incidents);
        assert_eq!(draft.incidents[0].place, None);
    }

    #[test]
    fn no_incident_no_panic() {
        let groups = AliasIndex::curated();
        let published = date("2024-03-30");
        for text in [
            "",
            " ",
            "the weather was fine on tuesday.",
            "\u{0}\u{1}\u{fffd}",
            "взрыв в москве 22 марта",
            "killed killed killed 1 2 3 march",
        ] {
            let draft = extract(text, published, &groups);
            assert!(draft.incidents.len() <= 1, "{text}");
        }
        assert!(extract("", published, &groups).incidents.is_empty());
    }
}
