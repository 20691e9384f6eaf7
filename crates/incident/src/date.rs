//! Calendar dates (`YYYY-MM-DD`), the form in which the datasets give an incident's day.
//!
//! An incident's date is a day, not an instant: sources record the local calendar day, and
//! turning it into a UTC timestamp would invent a time of day and could move it to the day before.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::vocab::DatePrecision;

/// A proleptic Gregorian calendar date, years 1..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Why a text is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a date of the form YYYY-MM-DD")]
pub struct DateError {
    pub text: String,
}

impl Date {
    /// A date from its parts, or `None` when that day does not exist.
    ///
    /// ```
    /// use incident::Date;
    /// assert!(Date::new(2024, 2, 29).is_some());
    /// assert!(Date::new(2023, 2, 29).is_none());
    /// ```
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, DateError> {
        let error = || DateError {
            text: text.to_string(),
        };
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(error());
        }
        let number = |range: std::ops::Range<usize>| -> Option<u16> {
            let part = &text[range];
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())
                .flatten()
        };
        let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10))
        else {
            return Err(error());
        };
        Date::new(year, month as u8, day as u8).ok_or_else(error)
    }

    /// Parses the compact `YYYYMMDD` form (GDELT's `SQLDATE`).
    pub fn parse_compact(text: &str) -> Result<Date, DateError> {
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DateError {
                text: text.to_string(),
            });
        }
        Date::parse(&format!("{}-{}-{}", &text[0..4], &text[4..6], &text[6..8])).map_err(|_| {
            DateError {
                text: text.to_string(),
            }
        })
    }

    /// The year, 1..=9999.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        stix::timestamp::days_from_civil(
            i64::from(self.year),
            u32::from(self.month),
            u32::from(self.day),
        )
    }

    /// The date `days` days since 1970-01-01, if it lies within years 1..=9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        let (year, month, day) = stix::timestamp::civil_from_days(days);
        Date::new(
            u16::try_from(year).ok()?,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
        )
    }

    /// This date moved by `days` (negative: earlier), if the result lies within years 1..=9999.
    pub fn add_days(self, days: i64) -> Option<Date> {
        Date::from_days_since_epoch(self.days_since_epoch() + days)
    }

    /// The days (since 1970-01-01, both ends included) on which an incident dated `self` may have
    /// happened: `self..=end` when the source gave a range, else the day, the seven days from
    /// `self`, the calendar month or the calendar year, as `precision` says.
    pub fn window(self, end: Option<Date>, precision: DatePrecision) -> (i64, i64) {
        let start = self.days_since_epoch();
        if let Some(end) = end {
            return (
                start.min(end.days_since_epoch()),
                start.max(end.days_since_epoch()),
            );
        }
        match precision {
            DatePrecision::Day => (start, start),
            DatePrecision::Week => (start, start + 6),
            DatePrecision::Month => {
                let first = Date { day: 1, ..self }.days_since_epoch();
                (
                    first,
                    first + i64::from(days_in_month(self.year, self.month)) - 1,
                )
            }
            DatePrecision::Year => {
                let first = Date {
                    month: 1,
                    day: 1,
                    ..self
                }
                .days_since_epoch();
                let last = Date {
                    month: 12,
                    day: 31,
                    ..self
                }
                .days_since_epoch();
                (first, last)
            }
        }
    }

    /// Midnight UTC at the start of this day, as a STIX timestamp with millisecond precision.
    pub fn to_timestamp(self) -> stix::Timestamp {
        stix::Timestamp::from_unix_millis(self.days_since_epoch() * 86_400_000)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let date = Date::parse("2024-03-22").unwrap();
        assert_eq!(date.to_string(), "2024-03-22");
        assert_eq!(
            Date::parse_compact("20170601").unwrap().to_string(),
            "2017-06-01"
        );
        for bad in [
            "2024-3-22",
            "2024-13-01",
            "2023-02-29",
            "24-03-2024",
            "2024/03/22",
            "",
            "２024-03-22",
            "0000-01-01",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert!(Date::parse_compact("2017061").is_err());
    }

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        for text in [
            "0001-01-01",
            "1969-12-31",
            "2000-02-29",
            "2024-01-03",
            "9999-12-31",
        ] {
            let date = Date::parse(text).unwrap();
            assert_eq!(
                Date::from_days_since_epoch(date.days_since_epoch()),
                Some(date)
            );
        }
        assert_eq!(
            Date::parse("2024-02-28")
                .unwrap()
                .add_days(1)
                .unwrap()
                .to_string(),
            "2024-02-29"
        );
        assert_eq!(
            Date::parse("2024-01-03")
                .unwrap()
                .to_timestamp()
                .to_string(),
            "2024-01-03T00:00:00.000Z"
        );
    }

    #[test]
    fn windows_follow_precision() {
        let date = Date::parse("2024-02-10").unwrap();
        let day = date.days_since_epoch();
        assert_eq!(date.window(None, DatePrecision::Day), (day, day));
        assert_eq!(date.window(None, DatePrecision::Week), (day, day + 6));
        let (first, last) = date.window(None, DatePrecision::Month);
        assert_eq!((day - first, last - first), (9, 28));
        let (first, last) = date.window(None, DatePrecision::Year);
        assert_eq!(last - first, 365);
        let end = Date::parse("2024-02-12").unwrap();
        assert_eq!(date.window(Some(end), DatePrecision::Week), (day, day + 2));
    }
}
