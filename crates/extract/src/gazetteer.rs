//! Places and countries, matched case-blind in running text.
//!
//! Cities come from `data/places.tsv`, derived from GeoNames (CC BY 4.0, see
//! `data/LICENSE-GEONAMES.txt`) by `scripts/gen_gazetteer.py`; countries and their ISO codes
//! from `incident::country`, with a short table of demonyms ("Iranian" -> IR).

use std::collections::HashMap;
use std::sync::OnceLock;

const PLACES_TSV: &str = include_str!("../data/places.tsv");

/// A city from the gazetteer.
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    /// The GeoNames name ("Kandahār").
    pub name: String,
    /// ISO 3166-1 alpha-2 code of its country.
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub population: u64,
}

/// What a place mention denotes.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceKind {
    City(City),
    /// A country named outright ("Pakistan").
    Country(&'static str),
    /// A country only implied by an adjective ("Iranian", "Russian"): weaker evidence.
    Demonym(&'static str),
}

impl PlaceKind {
    /// The ISO 3166-1 alpha-2 code of the place's country.
    pub fn country(&self) -> &str {
        match self {
            PlaceKind::City(city) => &city.country,
            PlaceKind::Country(code) | PlaceKind::Demonym(code) => code,
        }
    }
}

/// Countries' adjectives and peoples, lower case, to ISO codes.
const DEMONYMS: &[(&str, &str)] = &[
    ("afghan", "AF"),
    ("american", "US"),
    ("british", "GB"),
    ("chinese", "CN"),
    ("egyptian", "EG"),
    ("french", "FR"),
    ("german", "DE"),
    ("indian", "IN"),
    ("iranian", "IR"),
    ("iraqi", "IQ"),
    ("israeli", "IL"),
    ("kazakh", "KZ"),
    ("nigerian", "NG"),
    ("pakistani", "PK"),
    ("russian", "RU"),
    ("salvadoran", "SV"),
    ("somali", "SO"),
    ("syrian", "SY"),
    ("tajik", "TJ"),
    ("turkish", "TR"),
    ("uzbek", "UZ"),
    ("yemeni", "YE"),
    ("colombian", "CO"),
    ("peruvian", "PE"),
    ("guatemalan", "GT"),
    ("honduran", "HN"),
    ("nicaraguan", "NI"),
];

/// Lower-case words that are country names or codes but usually mean something else.
const NOT_COUNTRIES: &[&str] = &["us", "in", "it", "is", "no", "to", "me", "as", "be", "am"];

/// The longest place name, in tokens.
pub const NAME_TOKENS_MAX: usize = 4;

fn cities() -> &'static HashMap<String, City> {
    static CITIES: OnceLock<HashMap<String, City>> = OnceLock::new();
    CITIES.get_or_init(|| {
        let mut out = HashMap::new();
        for line in PLACES_TSV.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let [key, country, lat, lon, population, name] = fields.as_slice() else {
                continue;
            };
            let (Ok(latitude), Ok(longitude), Ok(population)) =
                (lat.parse(), lon.parse(), population.parse())
            else {
                continue;
            };
            out.insert(
                key.to_string(),
                City {
                    name: name.to_string(),
                    country: country.to_string(),
                    latitude,
                    longitude,
                    population,
                },
            );
        }
        out
    })
}

/// The number of city names in the gazetteer.
pub fn city_count() -> usize {
    cities().len()
}

/// What a lower-case name (words joined by single spaces, possessive "'s" removed) denotes, if
/// it is a place. A country wins over a city of the same name.
pub fn lookup(name: &str) -> Option<PlaceKind> {
    if name.len() < 2 || NOT_COUNTRIES.contains(&name) {
        return None;
    }
    if let Some(code) = incident::country::iso2_from_name(name) {
        return Some(PlaceKind::Country(code));
    }
    if let Some(city) = cities().get(name) {
        return Some(PlaceKind::City(city.clone()));
    }
    let singular = name.strip_suffix('s').unwrap_or(name);
    DEMONYMS
        .iter()
        .find(|(d, _)| *d == name || *d == singular)
        .map(|(_, code)| PlaceKind::Demonym(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cities_countries_and_demonyms() {
        assert!(city_count() > 10_000);
        match lookup("kerman") {
            Some(PlaceKind::City(city)) => {
                assert_eq!(city.country, "IR");
                assert!((city.latitude - 30.28).abs() < 0.1);
            }
            other => panic!("kerman: {other:?}"),
        }
        assert_eq!(lookup("pakistan"), Some(PlaceKind::Country("PK")));
        assert_eq!(lookup("russian"), Some(PlaceKind::Demonym("RU")));
        assert_eq!(lookup("us"), None);
        assert_eq!(lookup("police"), None);
        assert_eq!(lookup("of"), None);
    }
}
