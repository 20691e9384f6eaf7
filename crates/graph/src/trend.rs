//! Trends and surges: incident counts per group, country and attack type per interval, and a
//! test that says where a count rose beyond what its own past explains.
//!
//! # The surge test
//!
//! For a series (say, incidents attributed to one group outside its home country) and a target
//! period with `x` incidents, the baseline is the `baseline_periods` periods before it, of
//! which only *covered* periods (the node holds at least one incident of any kind in them)
//! count as exposure `E`: a period with no data at all says nothing about a group's rate. With
//! `b` incidents of the series in the covered baseline periods, the null hypothesis is that
//! the series has one Poisson rate throughout; conditional on `n = x + b`, then
//! `x ~ Binomial(n, 1 / (1 + E))`, and the one-sided p-value is `P(X >= x)` (the exact
//! conditional test for a ratio of Poisson rates, Przyborowski and Wilenski 1940). Every
//! (series, period) with at least `count_min` incidents and `E > 0` is a test; the
//! Benjamini–Hochberg procedure over all of them controls the false discovery rate, and a
//! surge is reported when its q-value is at most `alpha`.
//!
//! Incidents are counted once per node: corroborated reports of one event are one incident.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::civil_from_days;

/// A group incidents are attributed to, after alias resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRef {
    /// A stable key (the resolved group's node id).
    pub key: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 code of the country it is based in, when known.
    pub home: Option<String>,
}

/// One incident, as trends see it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFact {
    pub id: String,
    pub name: String,
    /// Days since 1970-01-01.
    pub day: i64,
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    /// Indices into [`Facts::groups`].
    pub groups: Vec<usize>,
    pub attack_types: Vec<String>,
}

/// Everything trends and surges are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub groups: Vec<GroupRef>,
    pub incidents: Vec<IncidentFact>,
    /// Display names of country codes.
    pub country_names: HashMap<String, String>,
}

/// The length of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Month,
    Quarter,
    Year,
}

impl Interval {
    /// The period a day falls in, numbered from year 0.
    pub fn period(self, day: i64) -> i64 {
        let (year, month, _) = civil_from_days(day);
        match self {
            Interval::Month => year * 12 + i64::from(month - 1),
            Interval::Quarter => year * 4 + i64::from((month - 1) / 3),
            Interval::Year => year,
        }
    }

    /// "2024-03", "2024-Q1", "2024".
    pub fn label(self, period: i64) -> String {
        match self {
            Interval::Month => {
                format!("{}-{:02}", period.div_euclid(12), period.rem_euclid(12) + 1)
            }
            Interval::Quarter => format!("{}-Q{}", period.div_euclid(4), period.rem_euclid(4) + 1),
            Interval::Year => format!("{period}"),
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Interval::Month => "month",
            Interval::Quarter => "quarter",
            Interval::Year => "year",
        }
    }
}

/// What a series counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Incidents attributed to a group (index into [`Facts::groups`]).
    Group(usize),
    /// ... in one country.
    GroupIn(usize, String),
    /// ... outside its home country.
    GroupOutsideHome(usize, String),
    /// Incidents in a country.
    Country(String),
    /// Incidents of an attack type.
    AttackType(String),
}

/// How trends group incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Group,
    Country,
    AttackType,
}

/// Counts of one series per period.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub scope: Scope,
    /// What it counts, in words.
    pub what: String,
    /// Where, in words ("" when anywhere).
    pub place: String,
    pub counts: BTreeMap<i64, u32>,
    pub total: u32,
}

fn country_label(facts: &Facts, code: &str) -> String {
    match facts.country_names.get(code) {
        Some(name) => format!("{name} ({code})"),
        None => code.to_string(),
    }
}

fn describe(facts: &Facts, scope: &Scope) -> (String, String) {
    let group = |g: usize| format!("{}-attributed incidents", facts.groups[g].name);
    match scope {
        Scope::Group(g) => (group(*g), String::new()),
        Scope::GroupIn(g, c) => (group(*g), format!("in {}", country_label(facts, c))),
        Scope::GroupOutsideHome(g, c) => {
            (group(*g), format!("outside {}", country_label(facts, c)))
        }
        Scope::Country(c) => (
            "incidents".into(),
            format!("in {}", country_label(facts, c)),
        ),
        Scope::AttackType(t) => (format!("{t} incidents"), String::new()),
    }
}

/// The scopes one incident counts in.
fn scopes_of(facts: &Facts, incident: &IncidentFact) -> Vec<Scope> {
    let mut scopes = BTreeSet::new();
    for &g in &incident.groups {
        scopes.insert(Scope::Group(g));
        if let Some(country) = &incident.country {
            scopes.insert(Scope::GroupIn(g, country.clone()));
            if let Some(home) = &facts.groups[g].home
                && home != country
            {
                scopes.insert(Scope::GroupOutsideHome(g, home.clone()));
            }
        }
    }
    if let Some(country) = &incident.country {
        scopes.insert(Scope::Country(country.clone()));
    }
    for t in &incident.attack_types {
        scopes.insert(Scope::AttackType(t.clone()));
    }
    scopes.into_iter().collect()
}

fn all_series(facts: &Facts, interval: Interval) -> BTreeMap<Scope, BTreeMap<i64, Vec<usize>>> {
    let mut series: BTreeMap<Scope, BTreeMap<i64, Vec<usize>>> = BTreeMap::new();
    for (i, incident) in facts.incidents.iter().enumerate() {
        let period = interval.period(incident.day);
        for scope in scopes_of(facts, incident) {
            series
                .entry(scope)
                .or_default()
                .entry(period)
                .or_default()
                .push(i);
        }
    }
    series
}

/// Incident counts per period along one dimension, largest total first, at most `series_max`
/// series; only incidents whose day falls in `days` (both ends included) when given.
pub fn counts(
    facts: &Facts,
    dimension: Dimension,
    interval: Interval,
    days: Option<(i64, i64)>,
    series_max: usize,
) -> Vec<Series> {
    let mut out: BTreeMap<Scope, BTreeMap<i64, u32>> = BTreeMap::new();
    for incident in &facts.incidents {
        if days.is_some_and(|(from, to)| incident.day < from || incident.day > to) {
            continue;
        }
        let period = interval.period(incident.day);
        let scopes: Vec<Scope> = match dimension {
            Dimension::Group => incident.groups.iter().map(|&g| Scope::Group(g)).collect(),
            Dimension::Country => incident
                .country
                .iter()
                .cloned()
                .map(Scope::Country)
                .collect(),
            Dimension::AttackType => incident
                .attack_types
                .iter()
                .cloned()
                .map(Scope::AttackType)
                .collect(),
        };
        for scope in scopes {
            *out.entry(scope).or_default().entry(period).or_default() += 1;
        }
    }
    let mut series: Vec<Series> = out
        .into_iter()
        .map(|(scope, counts)| {
            let (what, place) = describe(facts, &scope);
            Series {
                total: counts.values().sum(),
                scope,
                what,
                place,
                counts,
            }
        })
        .collect();
    series.sort_by(|a, b| b.total.cmp(&a.total).then(a.scope.cmp(&b.scope)));
    series.truncate(series_max);
    series
}

/// Options of [`surges`].
#[derive(Debug, Clone, PartialEq)]
pub struct SurgeOptions {
    pub interval: Interval,
    /// Periods before the target that form its baseline.
    pub baseline_periods: usize,
    /// Fewest incidents in a target period for it to be tested.
    pub count_min: u32,
    /// False discovery rate.
    pub alpha: f64,
    /// Only test target periods that overlap these days.
    pub days: Option<(i64, i64)>,
    /// Most surges reported.
    pub surges_max: usize,
}

impl Default for SurgeOptions {
    fn default() -> SurgeOptions {
        SurgeOptions {
            interval: Interval::Quarter,
            baseline_periods: 8,
            count_min: 3,
            alpha: 0.05,
            days: None,
            surges_max: 100,
        }
    }
}

/// A count that rose beyond its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Surge {
    pub scope: Scope,
    /// What surged ("Islamic State Khorasan Province-attributed incidents").
    pub what: String,
    /// Where ("outside Afghanistan (AF)"; "" when anywhere).
    pub place: String,
    pub period: String,
    pub count: u32,
    /// Incidents of the series in the covered baseline periods.
    pub baseline_count: u32,
    /// Covered periods in the baseline window (the exposure).
    pub baseline_periods: usize,
    /// The baseline window, first and last period.
    pub baseline_window: (String, String),
    /// Incidents per period in the baseline.
    pub baseline_rate: f64,
    /// count / baseline rate (0.5 added to a zero baseline count).
    pub rate_ratio: f64,
    pub p_value: f64,
    /// Benjamini–Hochberg adjusted p-value over all tests.
    pub q_value: f64,
    pub tests: usize,
    /// The incidents of the target period (ids).
    pub incidents: Vec<String>,
    /// Their countries, each once.
    pub countries: Vec<String>,
    pub explanation: String,
}

/// Surges over every series and every tested period, most certain first.
pub fn surges(facts: &Facts, options: &SurgeOptions) -> Vec<Surge> {
    let interval = options.interval;
    let covered: BTreeSet<i64> = facts
        .incidents
        .iter()
        .map(|i| interval.period(i.day))
        .collect();
    let window = options
        .days
        .map(|(from, to)| (interval.period(from), interval.period(to)));
    struct Test {
        scope: Scope,
        period: i64,
        count: u32,
        baseline: u32,
        exposure: usize,
        p: f64,
        members: Vec<usize>,
    }
    let mut tests = Vec::new();
    for (scope, periods) in all_series(facts, interval) {
        for (&period, members) in &periods {
            let count = members.len() as u32;
            if count < options.count_min
                || window.is_some_and(|(from, to)| period < from || period > to)
            {
                continue;
            }
            let first = period - options.baseline_periods as i64;
            let exposure = covered.range(first..period).count();
            if exposure == 0 {
                continue;
            }
            let baseline: u32 = periods
                .range(first..period)
                .map(|(_, m)| m.len() as u32)
                .sum();
            let p = binomial_upper_tail(count + baseline, count, 1.0 / (1.0 + exposure as f64));
            tests.push(Test {
                scope: scope.clone(),
                period,
                count,
                baseline,
                exposure,
                p,
                members: members.clone(),
            });
        }
    }
    let m = tests.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| tests[a].p.total_cmp(&tests[b].p));
    let mut q = vec![1.0f64; m];
    let mut running = 1.0f64;
    for (rank, &t) in order.iter().enumerate().rev() {
        running = running.min(tests[t].p * m as f64 / (rank + 1) as f64);
        q[t] = running.min(1.0);
    }
    let mut out: Vec<Surge> = order
        .into_iter()
        .filter(|&t| q[t] <= options.alpha)
        .map(|t| {
            let test = &tests[t];
            let (what, place) = describe(facts, &test.scope);
            let rate = f64::from(test.baseline) / test.exposure as f64;
            let ratio_base = if test.baseline == 0 {
                0.5 / test.exposure as f64
            } else {
                rate
            };
            let rate_ratio = f64::from(test.count) / ratio_base;
            let mut countries: Vec<String> = test
                .members
                .iter()
                .filter_map(|&i| facts.incidents[i].country.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            countries.sort();
            let mut incidents: Vec<&IncidentFact> =
                test.members.iter().map(|&i| &facts.incidents[i]).collect();
            incidents.sort_by(|a, b| a.day.cmp(&b.day).then(a.id.cmp(&b.id)));
            let window = (
                interval.label(test.period - options.baseline_periods as i64),
                interval.label(test.period - 1),
            );
            let noun = interval.noun();
            let listed: Vec<String> = incidents
                .iter()
                .take(10)
                .map(|i| {
                    let (y, mo, d) = civil_from_days(i.day);
                    let country = i.country.as_deref().unwrap_or("?");
                    format!("{} ({country}, {y:04}-{mo:02}-{d:02})", i.name)
                })
                .collect();
            let more = incidents.len().saturating_sub(10);
            let explanation = format!(
                "{what}{sep}{place}: {count} in {period} against a baseline of {rate:.2} a {noun} \
                 ({baseline} in the {exposure} {noun}s with data among {w0}..{w1}); rate ratio \
                 {rate_ratio:.1}{zero}; one-sided Poisson rate test p = {p:.2e}, \
                 Benjamini-Hochberg q = {q:.2e} over {m} tests. Incidents: {listed}{more_text}.",
                sep = if place.is_empty() { "" } else { " " },
                count = test.count,
                period = interval.label(test.period),
                baseline = test.baseline,
                exposure = test.exposure,
                w0 = window.0,
                w1 = window.1,
                zero = if test.baseline == 0 {
                    " (0.5 added to the zero baseline)"
                } else {
                    ""
                },
                p = test.p,
                q = q[t],
                listed = listed.join("; "),
                more_text = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                },
            );
            Surge {
                scope: test.scope.clone(),
                what,
                place,
                period: interval.label(test.period),
                count: test.count,
                baseline_count: test.baseline,
                baseline_periods: test.exposure,
                baseline_window: window,
                baseline_rate: rate,
                rate_ratio,
                p_value: test.p,
                q_value: q[t],
                tests: m,
                incidents: incidents.iter().map(|i| i.id.clone()).collect(),
                countries,
                explanation,
            }
        })
        .collect();
    out.truncate(options.surges_max);
    out
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`, summed in log space.
pub fn binomial_upper_tail(n: u32, k: u32, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    let ln_n1 = ln_gamma(f64::from(n) + 1.0);
    let mut total = 0.0;
    for j in k..=n {
        let j = f64::from(j);
        let ln_pmf = ln_n1 - ln_gamma(j + 1.0) - ln_gamma(f64::from(n) - j + 1.0)
            + j * ln_p
            + (f64::from(n) - j) * ln_q;
        total += ln_pmf.exp();
    }
    total.min(1.0)
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days_from_civil;

    #[test]
    fn binomial_tail_matches_closed_forms() {
        // P(X >= 3 | n = 3, p = 1/5) = (1/5)^3
        assert!((binomial_upper_tail(3, 3, 0.2) - 0.008).abs() < 1e-12);
        // P(X >= 1 | n = 4, p = 1/2) = 1 - 1/16
        assert!((binomial_upper_tail(4, 1, 0.5) - 0.9375).abs() < 1e-12);
        assert_eq!(binomial_upper_tail(4, 5, 0.5), 0.0);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-10);
    }

    fn fact(id: &str, y: i64, m: u32, country: &str, groups: Vec<usize>) -> IncidentFact {
        IncidentFact {
            id: id.into(),
            name: id.into(),
            day: days_from_civil(y, m, 15),
            country: Some(country.into()),
            groups,
            attack_types: vec!["bombing".into()],
        }
    }

    #[test]
    fn a_group_abroad_surges_and_a_steady_one_does_not() {
        let mut incidents = Vec::new();
        // Background: one incident of group 1 at home every month of 2022 and 2023.
        for y in [2022, 2023] {
            for m in 1..=12 {
                incidents.push(fact(&format!("b{y}{m}"), y, m, "PK", vec![1]));
            }
        }
        incidents.push(fact("k", 2024, 1, "IR", vec![0]));
        incidents.push(fact("i", 2024, 1, "TR", vec![0]));
        incidents.push(fact("c", 2024, 3, "RU", vec![0]));
        incidents.push(fact("steady", 2024, 2, "PK", vec![1]));
        let facts = Facts {
            groups: vec![
                GroupRef {
                    key: "g0".into(),
                    name: "ISKP".into(),
                    home: Some("AF".into()),
                },
                GroupRef {
                    key: "g1".into(),
                    name: "TTP".into(),
                    home: Some("PK".into()),
                },
            ],
            incidents,
            country_names: HashMap::from([("AF".into(), "Afghanistan".into())]),
        };
        let found = surges(&facts, &SurgeOptions::default());
        let abroad = found
            .iter()
            .find(|s| s.scope == Scope::GroupOutsideHome(0, "AF".into()))
            .expect("ISKP outside Afghanistan surges");
        assert_eq!(abroad.period, "2024-Q1");
        assert_eq!((abroad.count, abroad.baseline_count), (3, 0));
        assert_eq!(abroad.baseline_periods, 8);
        assert!((abroad.p_value - (1.0f64 / 9.0).powi(3)).abs() < 1e-12);
        assert_eq!(abroad.countries, vec!["IR", "RU", "TR"]);
        assert!(abroad.explanation.starts_with(
            "ISKP-attributed incidents outside Afghanistan (AF): 3 in 2024-Q1 against a baseline of 0.00 a quarter"
        ), "{}", abroad.explanation);
        assert!(
            !found
                .iter()
                .any(|s| matches!(s.scope, Scope::Group(1) | Scope::Country(_)))
        );
        let by_group = counts(&facts, Dimension::Group, Interval::Year, None, 10);
        assert_eq!(by_group[0].what, "TTP-attributed incidents");
        assert_eq!(by_group[0].total, 25);
        assert_eq!(by_group[1].counts, BTreeMap::from([(2024, 3)]));
    }
}
