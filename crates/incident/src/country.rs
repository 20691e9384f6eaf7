//! Country codes: the datasets name countries in different schemes (UCDP by Gleditsch-Ward number
//! and English name, GDELT by FIPS 10-4, MISP by ISO 3166-1), and STIX `location.country` should
//! hold ISO 3166-1 alpha-2. These tables turn each into that.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::country_table::COUNTRIES;

/// The English name of an ISO 3166-1 alpha-2 code.
///
/// ```
/// assert_eq!(incident::country::name("PK"), Some("Pakistan"));
/// ```
pub fn name(iso2: &str) -> Option<&'static str> {
    COUNTRIES
        .binary_search_by(|c| c.0.cmp(iso2))
        .ok()
        .map(|i| COUNTRIES[i].3)
}

/// Whether a code is an ISO 3166-1 alpha-2 code known to GeoNames.
pub fn is_iso2(code: &str) -> bool {
    name(code).is_some()
}

/// ISO 3166-1 alpha-2 for a FIPS 10-4 country code (GDELT's `ActionGeo_CountryCode`).
///
/// ```
/// assert_eq!(incident::country::iso2_from_fips("AF"), Some("AF"));
/// assert_eq!(incident::country::iso2_from_fips("CH"), Some("CN"));
/// assert_eq!(incident::country::iso2_from_fips("SZ"), Some("CH"));
/// ```
pub fn iso2_from_fips(fips: &str) -> Option<&'static str> {
    static BY_FIPS: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    BY_FIPS
        .get_or_init(|| {
            COUNTRIES
                .iter()
                .filter(|c| !c.2.is_empty())
                .map(|c| (c.2, c.0))
                .collect()
        })
        .get(fips)
        .copied()
}

/// ISO 3166-1 alpha-2 for a Gleditsch-Ward state number (UCDP's `country_id`, `gwnoa`).
/// Historical states map to the country that holds their territory today (the German Federal
/// Republic to DE, the Soviet Union to RU, North and South Yemen to YE).
pub fn iso2_from_gleditsch_ward(code: u16) -> Option<&'static str> {
    GLEDITSCH_WARD
        .binary_search_by_key(&code, |(c, _)| *c)
        .ok()
        .map(|i| GLEDITSCH_WARD[i].1)
}

/// ISO 3166-1 alpha-2 for an English country name, as UCDP writes them ("DR Congo (Zaire)",
/// "Russia (Soviet Union)", "Kingdom of eSwatini (Swaziland)") or as GeoNames does.
///
/// ```
/// assert_eq!(incident::country::iso2_from_name("DR Congo (Zaire)"), Some("CD"));
/// assert_eq!(incident::country::iso2_from_name("Myanmar (Burma)"), Some("MM"));
/// assert_eq!(incident::country::iso2_from_name("Atlantis"), None);
/// ```
pub fn iso2_from_name(name: &str) -> Option<&'static str> {
    static BY_NAME: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    let table = BY_NAME.get_or_init(|| {
        let mut table: HashMap<String, &'static str> =
            COUNTRIES.iter().map(|c| (name_key(c.3), c.0)).collect();
        for (alias, code) in NAME_ALIASES {
            table.insert(name_key(alias), code);
        }
        table
    });
    if let Some(code) = table.get(&name_key(name)) {
        return Some(code);
    }
    // UCDP puts the former name in parentheses: try the name without it, then the one inside.
    let (outside, inside) = match name.split_once('(') {
        Some((outside, rest)) => (outside, rest.trim_end_matches(')')),
        None => return None,
    };
    table
        .get(&name_key(outside))
        .or_else(|| table.get(&name_key(inside)))
        .copied()
}

fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Names the datasets use that GeoNames spells otherwise.
const NAME_ALIASES: &[(&str, &str)] = &[
    ("DR Congo", "CD"),
    ("Congo", "CG"),
    ("Ivory Coast", "CI"),
    ("Bosnia-Herzegovina", "BA"),
    ("Macedonia, FYR", "MK"),
    ("Macedonia", "MK"),
    ("Kingdom of eSwatini", "SZ"),
    ("Swaziland", "SZ"),
    ("Cambodia (Kampuchea)", "KH"),
    ("Yemen (North Yemen)", "YE"),
    ("South Yemen", "YE"),
    ("Russia", "RU"),
    ("Soviet Union", "RU"),
    ("Serbia (Yugoslavia)", "RS"),
    ("Yugoslavia", "RS"),
    ("Burma", "MM"),
    ("Zaire", "CD"),
    ("Turkey", "TR"),
    ("Syria", "SY"),
    ("Iran", "IR"),
    ("Laos", "LA"),
    ("Vietnam", "VN"),
    ("North Korea", "KP"),
    ("South Korea", "KR"),
    ("East Timor", "TL"),
    ("United States of America", "US"),
    ("USA", "US"),
    ("UK", "GB"),
    ("Czech Republic", "CZ"),
    ("Palestine", "PS"),
    ("Gambia", "GM"),
    ("Bahamas", "BS"),
    ("Cape Verde", "CV"),
    ("Madagascar (Malagasy)", "MG"),
    ("Zimbabwe (Rhodesia)", "ZW"),
    ("Tanzania", "TZ"),
];

/// Gleditsch-Ward state numbers to ISO 3166-1 alpha-2, sorted by number.
const GLEDITSCH_WARD: &[(u16, &str)] = &[
    (2, "US"),
    (20, "CA"),
    (31, "BS"),
    (40, "CU"),
    (41, "HT"),
    (42, "DO"),
    (51, "JM"),
    (52, "TT"),
    (53, "BB"),
    (54, "DM"),
    (55, "GD"),
    (56, "LC"),
    (57, "VC"),
    (58, "AG"),
    (60, "KN"),
    (70, "MX"),
    (80, "BZ"),
    (90, "GT"),
    (91, "HN"),
    (92, "SV"),
    (93, "NI"),
    (94, "CR"),
    (95, "PA"),
    (100, "CO"),
    (101, "VE"),
    (110, "GY"),
    (115, "SR"),
    (130, "EC"),
    (135, "PE"),
    (140, "BR"),
    (145, "BO"),
    (150, "PY"),
    (155, "CL"),
    (160, "AR"),
    (165, "UY"),
    (200, "GB"),
    (205, "IE"),
    (210, "NL"),
    (211, "BE"),
    (212, "LU"),
    (220, "FR"),
    (221, "MC"),
    (223, "LI"),
    (225, "CH"),
    (230, "ES"),
    (232, "AD"),
    (235, "PT"),
    (255, "DE"),
    (260, "DE"),
    (265, "DE"),
    (290, "PL"),
    (305, "AT"),
    (310, "HU"),
    (315, "CZ"),
    (316, "CZ"),
    (317, "SK"),
    (325, "IT"),
    (331, "SM"),
    (338, "MT"),
    (339, "AL"),
    (341, "ME"),
    (343, "MK"),
    (344, "HR"),
    (345, "RS"),
    (346, "BA"),
    (347, "XK"),
    (349, "SI"),
    (350, "GR"),
    (352, "CY"),
    (355, "BG"),
    (359, "MD"),
    (360, "RO"),
    (365, "RU"),
    (366, "EE"),
    (367, "LV"),
    (368, "LT"),
    (369, "UA"),
    (370, "BY"),
    (371, "AM"),
    (372, "GE"),
    (373, "AZ"),
    (375, "FI"),
    (380, "SE"),
    (385, "NO"),
    (390, "DK"),
    (395, "IS"),
    (402, "CV"),
    (403, "ST"),
    (404, "GW"),
    (411, "GQ"),
    (420, "GM"),
    (432, "ML"),
    (433, "SN"),
    (434, "BJ"),
    (435, "MR"),
    (436, "NE"),
    (437, "CI"),
    (438, "GN"),
    (439, "BF"),
    (450, "LR"),
    (451, "SL"),
    (452, "GH"),
    (461, "TG"),
    (471, "CM"),
    (475, "NG"),
    (481, "GA"),
    (482, "CF"),
    (483, "TD"),
    (484, "CG"),
    (490, "CD"),
    (500, "UG"),
    (501, "KE"),
    (510, "TZ"),
    (516, "BI"),
    (517, "RW"),
    (520, "SO"),
    (522, "DJ"),
    (530, "ET"),
    (531, "ER"),
    (540, "AO"),
    (541, "MZ"),
    (551, "ZM"),
    (552, "ZW"),
    (553, "MW"),
    (560, "ZA"),
    (565, "NA"),
    (570, "LS"),
    (571, "BW"),
    (572, "SZ"),
    (580, "MG"),
    (581, "KM"),
    (590, "MU"),
    (591, "SC"),
    (600, "MA"),
    (615, "DZ"),
    (616, "TN"),
    (620, "LY"),
    (625, "SD"),
    (626, "SS"),
    (630, "IR"),
    (640, "TR"),
    (645, "IQ"),
    (651, "EG"),
    (652, "SY"),
    (660, "LB"),
    (663, "JO"),
    (666, "IL"),
    (670, "SA"),
    (678, "YE"),
    (679, "YE"),
    (680, "YE"),
    (690, "KW"),
    (692, "BH"),
    (694, "QA"),
    (696, "AE"),
    (698, "OM"),
    (700, "AF"),
    (701, "TM"),
    (702, "TJ"),
    (703, "KG"),
    (704, "UZ"),
    (705, "KZ"),
    (710, "CN"),
    (712, "MN"),
    (713, "TW"),
    (730, "KR"),
    (731, "KP"),
    (732, "KR"),
    (740, "JP"),
    (750, "IN"),
    (760, "BT"),
    (770, "PK"),
    (771, "BD"),
    (775, "MM"),
    (780, "LK"),
    (781, "MV"),
    (790, "NP"),
    (800, "TH"),
    (811, "KH"),
    (812, "LA"),
    (816, "VN"),
    (817, "VN"),
    (820, "MY"),
    (830, "SG"),
    (835, "BN"),
    (840, "PH"),
    (850, "ID"),
    (860, "TL"),
    (900, "AU"),
    (910, "PG"),
    (920, "NZ"),
    (935, "VU"),
    (940, "SB"),
    (946, "KI"),
    (947, "TV"),
    (950, "FJ"),
    (955, "TO"),
    (970, "NR"),
    (983, "MH"),
    (986, "PW"),
    (987, "FM"),
    (990, "WS"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_consistent() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(GLEDITSCH_WARD.windows(2).all(|w| w[0].0 < w[1].0));
        for (_, iso2) in GLEDITSCH_WARD {
            assert!(is_iso2(iso2), "{iso2}");
        }
        for (alias, iso2) in NAME_ALIASES {
            assert!(is_iso2(iso2), "{alias} -> {iso2}");
        }
    }

    #[test]
    fn codes_map() {
        assert_eq!(iso2_from_gleditsch_ward(770), Some("PK"));
        assert_eq!(iso2_from_gleditsch_ward(365), Some("RU"));
        assert_eq!(iso2_from_gleditsch_ward(1), None);
        assert_eq!(iso2_from_fips("IR"), Some("IR"));
        assert_eq!(iso2_from_fips("TU"), Some("TR"));
        assert_eq!(iso2_from_fips("RS"), Some("RU"));
        assert_eq!(iso2_from_fips("ZZ"), None);
        assert_eq!(
            iso2_from_name("Kingdom of eSwatini (Swaziland)"),
            Some("SZ")
        );
        assert_eq!(iso2_from_name("Russia (Soviet Union)"), Some("RU"));
        assert_eq!(iso2_from_name("pakistan"), Some("PK"));
        assert_eq!(name("IR"), Some("Iran"));
    }
}
