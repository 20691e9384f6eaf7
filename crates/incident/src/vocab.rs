//! The closed vocabularies of the incident extension, and their mappings from the codes of the
//! counter-terrorism datasets.
//!
//! Attack, weapon and target types follow the Global Terrorism Database (GTD) codebook
//! categories one for one, so that GTD data maps without loss and analysts who know the GTD read
//! Tessera's values at sight. Each vocabulary is closed: an extension object with any other value
//! is invalid (a new value means a new version of the extension), which is what lets a partner's
//! node count and facet on these values safely.
//!
//! ```
//! use incident::vocab::{AttackType, WeaponType, TargetType};
//!
//! assert_eq!(AttackType::from_gtd_code(3), Some(AttackType::BombingExplosion));
//! assert_eq!(AttackType::BombingExplosion.as_str(), "bombing-explosion");
//! assert_eq!(WeaponType::parse("firearms"), Some(WeaponType::Firearms));
//! assert_eq!(TargetType::Military.gtd_code(), 4);
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Defines a closed vocabulary: an enum, its kebab-case names, and (optionally) a dataset code.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal $(, $code:literal)? ; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every value, in codebook order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in STIX.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Reads a value as written in STIX; `None` for anything outside the vocabulary.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    serde::de::Error::custom(format!(
                        "{text:?} is not a {} (one of {})",
                        stringify!($name),
                        allowed.join(", ")
                    ))
                })
            }
        }

        vocabulary!(@codes $name { $($variant $(= $code)?;)+ });
    };
    (@codes $name:ident { $($variant:ident = $code:literal;)+ }) => {
        impl $name {
            /// The GTD codebook number of this value.
            pub fn gtd_code(self) -> u8 {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The value for a GTD codebook number; `None` for a number the codebook does not
            /// define.
            pub fn from_gtd_code(code: u8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
    (@codes $name:ident { $($variant:ident;)+ }) => {};
}

vocabulary! {
    /// How the attack was carried out (GTD `attacktype1..3`).
    AttackType {
        /// To kill one or more specific, prominent individuals.
        Assassination = "assassination", 1;
        /// To cause harm with a firearm, incendiary or sharp instrument (not explosives).
        ArmedAssault = "armed-assault", 2;
        /// Its primary effects are caused by an explosive.
        BombingExplosion = "bombing-explosion", 3;
        /// To take control of a vehicle (aircraft, ship, bus, ...) for a political aim.
        Hijacking = "hijacking", 4;
        /// Hostages held at a location to make demands (a barricade incident).
        HostageTakingBarricade = "hostage-taking-barricade", 5;
        /// Hostages taken away to an undisclosed location (a kidnapping).
        HostageTakingKidnapping = "hostage-taking-kidnapping", 6;
        /// To damage a building, monument, train or pipeline without explosives (e.g. arson).
        FacilityInfrastructureAttack = "facility-infrastructure-attack", 7;
        /// To cause harm without a weapon (or with one not covered above, e.g. a vehicle).
        UnarmedAssault = "unarmed-assault", 8;
        /// The attack type cannot be determined from the information available.
        Unknown = "unknown", 9;
    }
}

vocabulary! {
    /// The general type of weapon used (GTD `weaptype1..4`).
    WeaponType {
        Biological = "biological", 1;
        Chemical = "chemical", 2;
        Radiological = "radiological", 3;
        Nuclear = "nuclear", 4;
        Firearms = "firearms", 5;
        /// Explosives, including vehicle-borne devices and projectiles.
        Explosives = "explosives", 6;
        /// A weapon that was claimed but not real.
        FakeWeapons = "fake-weapons", 7;
        Incendiary = "incendiary", 8;
        /// Blunt objects, knives, hands and feet.
        Melee = "melee", 9;
        /// A vehicle used as a weapon (not a vehicle-borne explosive).
        Vehicle = "vehicle", 10;
        SabotageEquipment = "sabotage-equipment", 11;
        Other = "other", 12;
        Unknown = "unknown", 13;
    }
}

vocabulary! {
    /// The general type of target or victim (GTD `targtype1..3`, all 22 codebook types).
    TargetType {
        Business = "business", 1;
        GovernmentGeneral = "government-general", 2;
        Police = "police", 3;
        Military = "military", 4;
        AbortionRelated = "abortion-related", 5;
        AirportsAircraft = "airports-aircraft", 6;
        GovernmentDiplomatic = "government-diplomatic", 7;
        EducationalInstitution = "educational-institution", 8;
        FoodWaterSupply = "food-water-supply", 9;
        JournalistsMedia = "journalists-media", 10;
        /// Including ports and maritime facilities.
        Maritime = "maritime", 11;
        Ngo = "ngo", 12;
        Other = "other", 13;
        PrivateCitizensProperty = "private-citizens-property", 14;
        ReligiousFiguresInstitutions = "religious-figures-institutions", 15;
        Telecommunication = "telecommunication", 16;
        TerroristsNonStateMilitia = "terrorists-non-state-militia", 17;
        Tourists = "tourists", 18;
        /// Transportation other than aviation.
        Transportation = "transportation", 19;
        Unknown = "unknown", 20;
        Utilities = "utilities", 21;
        ViolentPoliticalParty = "violent-political-party", 22;
    }
}

vocabulary! {
    /// How responsibility was claimed (GTD `claimmode`).
    ClaimMode {
        Letter = "letter", 1;
        CallPostIncident = "call-post-incident", 2;
        CallPreIncident = "call-pre-incident", 3;
        Email = "email", 4;
        NoteAtScene = "note-at-scene", 5;
        Video = "video", 6;
        /// Posted to a website, blog, messaging channel or social media.
        InternetPosting = "internet-posting", 7;
        PersonalClaim = "personal-claim", 8;
        Other = "other", 9;
        Unknown = "unknown", 10;
    }
}

vocabulary! {
    /// How precisely the date of an incident is known. The incident happened on some day within
    /// the unit that contains its `date` (or within `date`..`date_end` when the source gives a
    /// range).
    DatePrecision {
        Day = "day";
        Week = "week";
        Month = "month";
        Year = "year";
    }
}

vocabulary! {
    /// How precisely the place of an incident is known; it says how far the true place may lie
    /// from the coordinates of the linked `location`.
    LocationPrecision {
        /// The town, village or site itself.
        Exact = "exact";
        /// Within about 25 km of a known point.
        Near = "near";
        /// Only the district (second-order administrative division) is known.
        District = "district";
        /// Only the province (first-order administrative division) is known.
        Province = "province";
        /// Only a wider area within a country ("northern Afghanistan", along a road or border).
        Region = "region";
        /// Only the country is known.
        Country = "country";
        /// International waters or airspace.
        International = "international";
    }
}

vocabulary! {
    /// The UCDP category of organised violence an event belongs to.
    ViolenceType {
        /// Between a government and an organised group or another government.
        StateBased = "state-based";
        /// Between organised groups, none of them a government.
        NonState = "non-state";
        /// By a government or organised group against civilians.
        OneSided = "one-sided";
    }
}

impl DatePrecision {
    /// UCDP GED `date_prec`: 1 exact day; 2 a 2-6 day range; 3 the week; 4 a range of 8-30 days
    /// or the month; 5 a longer range or only the year.
    pub fn from_ucdp_date_prec(code: u8) -> Option<DatePrecision> {
        match code {
            1 => Some(DatePrecision::Day),
            2 | 3 => Some(DatePrecision::Week),
            4 => Some(DatePrecision::Month),
            5 => Some(DatePrecision::Year),
            _ => None,
        }
    }

    /// ACLED `time_precision`: 1 the day, 2 the week, 3 the month.
    pub fn from_acled_time_precision(code: u8) -> Option<DatePrecision> {
        match code {
            1 => Some(DatePrecision::Day),
            2 => Some(DatePrecision::Week),
            3 => Some(DatePrecision::Month),
            _ => None,
        }
    }
}

impl LocationPrecision {
    /// UCDP GED `where_prec`: 1 exact place; 2 within ~25 km of a point; 3 the second-order
    /// administrative division; 4 the first-order one; 5 a linear feature or a wider part of a
    /// country; 6 the country; 7 international waters or airspace.
    pub fn from_ucdp_where_prec(code: u8) -> Option<LocationPrecision> {
        match code {
            1 => Some(LocationPrecision::Exact),
            2 => Some(LocationPrecision::Near),
            3 => Some(LocationPrecision::District),
            4 => Some(LocationPrecision::Province),
            5 => Some(LocationPrecision::Region),
            6 => Some(LocationPrecision::Country),
            7 => Some(LocationPrecision::International),
            _ => None,
        }
    }

    /// GTD `specificity`: 1 the city's own coordinates; 2 and 3 the centroid of the smallest
    /// known subnational region; 4 the centroid of the province; 5 no province known.
    pub fn from_gtd_specificity(code: u8) -> Option<LocationPrecision> {
        match code {
            1 => Some(LocationPrecision::Exact),
            2 | 3 => Some(LocationPrecision::District),
            4 => Some(LocationPrecision::Province),
            5 => Some(LocationPrecision::Country),
            _ => None,
        }
    }

    /// ACLED `geo_precision`: 1 the town; 2 near a town or part of a region; 3 a larger region
    /// (its provincial capital's coordinates).
    pub fn from_acled_geo_precision(code: u8) -> Option<LocationPrecision> {
        match code {
            1 => Some(LocationPrecision::Exact),
            2 => Some(LocationPrecision::Near),
            3 => Some(LocationPrecision::Province),
            _ => None,
        }
    }

    /// GDELT `ActionGeo_Type`: 1 a country; 2 a US state; 3 a US city; 4 a world city; 5 a world
    /// state or province. A city is resolved to its centroid, hence `Near` rather than `Exact`.
    pub fn from_gdelt_geo_type(code: u8) -> Option<LocationPrecision> {
        match code {
            1 => Some(LocationPrecision::Country),
            2 | 5 => Some(LocationPrecision::Province),
            3 | 4 => Some(LocationPrecision::Near),
            _ => None,
        }
    }

    /// How far (km) the true place may be from the coordinates, for matching two reports of one
    /// event; `None` when only the country (or less) is known. The figures are generous on
    /// purpose: a missed corroboration costs an analyst more than a proposal they reject.
    pub fn radius_km(self) -> Option<f64> {
        match self {
            LocationPrecision::Exact => Some(10.0),
            LocationPrecision::Near => Some(25.0),
            LocationPrecision::District => Some(75.0),
            LocationPrecision::Province => Some(300.0),
            LocationPrecision::Region => Some(600.0),
            LocationPrecision::Country | LocationPrecision::International => None,
        }
    }
}

impl ViolenceType {
    /// UCDP GED `type_of_violence`: 1 state-based, 2 non-state, 3 one-sided.
    pub fn from_ucdp_code(code: u8) -> Option<ViolenceType> {
        match code {
            1 => Some(ViolenceType::StateBased),
            2 => Some(ViolenceType::NonState),
            3 => Some(ViolenceType::OneSided),
            _ => None,
        }
    }
}

/// What a CAMEO event code (GDELT's `EventCode`) says about an attack: its attack type and
/// weapon types, and whether it was a suicide attack. Only the root codes 18 (assault), 19
/// (fight) and 20 (unconventional mass violence) describe attacks; other codes give `None`.
///
/// CAMEO is coarser than the GTD: `181` ("abduct, hijack, or take hostage") maps to kidnapping,
/// the commonest of the three, and the codes that describe no attack of the GTD's kinds
/// (blockades, occupation of territory, expulsion) map to `unknown`.
pub fn cameo_attack(event_code: &str) -> Option<(AttackType, &'static [WeaponType], bool)> {
    use AttackType as A;
    use WeaponType as W;
    let mapped: (AttackType, &'static [WeaponType], bool) = match event_code {
        "180" | "184" => (A::Unknown, &[], false),
        "181" => (A::HostageTakingKidnapping, &[], false),
        "182" | "1821" | "1822" | "1823" => (A::UnarmedAssault, &[], false),
        "183" | "1833" | "1834" => (A::BombingExplosion, &[W::Explosives], false),
        "1831" => (A::BombingExplosion, &[W::Explosives], true),
        "1832" => (A::BombingExplosion, &[W::Explosives, W::Vehicle], false),
        "185" | "186" => (A::Assassination, &[], false),
        "190" => (A::ArmedAssault, &[], false),
        "191" | "192" | "196" => (A::Unknown, &[], false),
        "193" => (A::ArmedAssault, &[W::Firearms], false),
        "194" => (A::ArmedAssault, &[W::Explosives], false),
        "195" | "1951" | "1952" => (A::BombingExplosion, &[W::Explosives], false),
        "200" | "201" | "203" => (A::Unknown, &[], false),
        "202" => (A::ArmedAssault, &[], false),
        "204" => (
            A::Unknown,
            &[W::Chemical, W::Biological, W::Radiological, W::Nuclear],
            false,
        ),
        "2041" => (
            A::Unknown,
            &[W::Chemical, W::Biological, W::Radiological],
            false,
        ),
        "2042" => (A::Unknown, &[W::Nuclear], false),
        _ => return None,
    };
    Some(mapped)
}

/// The GTD target type that a CAMEO actor type code (GDELT's `Actor2Type1Code`) describes, for
/// the types that have one.
pub fn cameo_target_type(actor_type: &str) -> Option<TargetType> {
    use TargetType as T;
    Some(match actor_type {
        "BUS" | "AGR" => T::Business,
        "GOV" | "LEG" | "JUD" | "ELI" => T::GovernmentGeneral,
        "COP" => T::Police,
        "MIL" | "SPY" => T::Military,
        "EDU" => T::EducationalInstitution,
        "MED" => T::JournalistsMedia,
        "NGO" | "IGO" | "HLH" => T::Ngo,
        "CVL" | "REF" | "LAB" => T::PrivateCitizensProperty,
        "REL" => T::ReligiousFiguresInstitutions,
        "REB" | "INS" | "SEP" | "UAF" => T::TerroristsNonStateMilitia,
        "OPP" | "PTY" | "RAD" => T::ViolentPoliticalParty,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtd_codes_round_trip_and_cover_the_codebook() {
        assert_eq!(AttackType::ALL.len(), 9);
        assert_eq!(WeaponType::ALL.len(), 13);
        assert_eq!(TargetType::ALL.len(), 22);
        assert_eq!(ClaimMode::ALL.len(), 10);
        for code in 1..=9 {
            assert_eq!(
                AttackType::from_gtd_code(code).map(AttackType::gtd_code),
                Some(code)
            );
        }
        for code in 1..=13 {
            assert_eq!(
                WeaponType::from_gtd_code(code).map(WeaponType::gtd_code),
                Some(code)
            );
        }
        for code in 1..=22 {
            assert_eq!(
                TargetType::from_gtd_code(code).map(TargetType::gtd_code),
                Some(code)
            );
        }
        for code in 1..=10 {
            assert_eq!(
                ClaimMode::from_gtd_code(code).map(ClaimMode::gtd_code),
                Some(code)
            );
        }
        for bad in [0, 23, 255] {
            assert_eq!(TargetType::from_gtd_code(bad), None);
        }
        assert_eq!(AttackType::from_gtd_code(10), None);
        assert_eq!(WeaponType::from_gtd_code(14), None);
    }

    #[test]
    fn names_round_trip_and_are_kebab_case() {
        fn check(names: impl Iterator<Item = &'static str>) {
            for name in names {
                assert!(
                    name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                    "{name}"
                );
            }
        }
        check(AttackType::ALL.iter().map(|v| v.as_str()));
        check(WeaponType::ALL.iter().map(|v| v.as_str()));
        check(TargetType::ALL.iter().map(|v| v.as_str()));
        check(ClaimMode::ALL.iter().map(|v| v.as_str()));
        for v in TargetType::ALL {
            assert_eq!(TargetType::parse(v.as_str()), Some(*v));
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(serde_json::from_str::<TargetType>(&json).unwrap(), *v);
        }
        assert!(serde_json::from_str::<AttackType>("\"bombing\"").is_err());
    }

    #[test]
    fn dataset_precisions_map() {
        assert_eq!(
            DatePrecision::from_ucdp_date_prec(1),
            Some(DatePrecision::Day)
        );
        assert_eq!(
            DatePrecision::from_ucdp_date_prec(5),
            Some(DatePrecision::Year)
        );
        assert_eq!(DatePrecision::from_ucdp_date_prec(6), None);
        assert_eq!(
            LocationPrecision::from_ucdp_where_prec(6),
            Some(LocationPrecision::Country)
        );
        assert_eq!(
            LocationPrecision::from_gtd_specificity(1),
            Some(LocationPrecision::Exact)
        );
        assert_eq!(
            LocationPrecision::from_gdelt_geo_type(4),
            Some(LocationPrecision::Near)
        );
        assert_eq!(LocationPrecision::from_gdelt_geo_type(0), None);
        assert!(LocationPrecision::Exact.radius_km() < LocationPrecision::Province.radius_km());
        assert_eq!(LocationPrecision::Country.radius_km(), None);
    }

    #[test]
    fn cameo_codes_outside_attacks_map_to_nothing() {
        assert_eq!(cameo_attack("040"), None);
        assert_eq!(
            cameo_attack("1831").map(|(_, _, suicide)| suicide),
            Some(true)
        );
        assert_eq!(
            cameo_attack("193").map(|(a, _, _)| a),
            Some(AttackType::ArmedAssault)
        );
        assert_eq!(cameo_target_type("COP"), Some(TargetType::Police));
        assert_eq!(cameo_target_type("XYZ"), None);
    }
}
