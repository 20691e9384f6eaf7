//! STIX timestamps: RFC 3339 in UTC with a literal `Z`, any number of fractional digits.

use std::fmt;

/// A parsed STIX timestamp. Ordering is chronological; the fractional precision that the
/// producer wrote is kept so that the original text can be reproduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub unix_seconds: i64,
    /// Nanoseconds within the second. Digits beyond the ninth are truncated for ordering only.
    pub nanos: u32,
    /// How many fractional digits the producer wrote (0 when there was no fraction).
    pub fraction_digits: u8,
}

/// Why a string is not a STIX timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("expected YYYY-MM-DDTHH:MM:SS[.fraction]Z, got {0:?}")]
    Shape(String),
    #[error("{0:?} names a day that does not exist")]
    NoSuchDay(String),
    #[error("{0:?} must end in 'Z': STIX timestamps are always UTC")]
    NotUtc(String),
}

impl Timestamp {
    /// Parses the STIX 2.1 timestamp grammar (section 3.2): `YYYY-MM-DDTHH:MM:SS[.s+]Z`.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let bytes = text.as_bytes();
        let shape = || TimestampError::Shape(text.to_string());
        if bytes.len() < 20 {
            return Err(shape());
        }
        if *bytes.last().unwrap_or(&0) != b'Z' {
            return Err(TimestampError::NotUtc(text.to_string()));
        }
        let digits = |range: std::ops::Range<usize>| -> Result<u32, TimestampError> {
            let mut value = 0u32;
            for &b in &bytes[range] {
                if !b.is_ascii_digit() {
                    return Err(shape());
                }
                value = value * 10 + u32::from(b - b'0');
            }
            Ok(value)
        };
        if bytes[4] != b'-'
            || bytes[7] != b'-'
            || bytes[10] != b'T'
            || bytes[13] != b':'
            || bytes[16] != b':'
        {
            return Err(shape());
        }
        let year = digits(0..4)?;
        let month = digits(5..7)?;
        let day = digits(8..10)?;
        let hour = digits(11..13)?;
        let minute = digits(14..16)?;
        let second = digits(17..19)?;
        let mut nanos = 0u32;
        let mut fraction_digits = 0usize;
        match bytes[19] {
            b'Z' if bytes.len() == 20 => {}
            b'.' => {
                let fraction = &bytes[20..bytes.len() - 1];
                if fraction.is_empty() || fraction.len() > 255 {
                    return Err(shape());
                }
                for (i, &b) in fraction.iter().enumerate() {
                    if !b.is_ascii_digit() {
                        return Err(shape());
                    }
                    if i < 9 {
                        nanos = nanos * 10 + u32::from(b - b'0');
                    }
                }
                for _ in fraction.len()..9 {
                    nanos *= 10;
                }
                fraction_digits = fraction.len();
            }
            _ => return Err(shape()),
        }
        // A leap second (60) is allowed by RFC 3339; it sorts as the last second of the minute.
        if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 60 {
            return Err(shape());
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(TimestampError::NoSuchDay(text.to_string()));
        }
        let days = days_from_civil(i64::from(year), month, day);
        let unix_seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Ok(Timestamp {
            unix_seconds,
            nanos,
            fraction_digits: fraction_digits.min(255) as u8,
        })
    }

    /// Builds a timestamp from Unix milliseconds, written with millisecond precision.
    pub fn from_unix_millis(millis: i64) -> Timestamp {
        Timestamp {
            unix_seconds: millis.div_euclid(1000),
            nanos: (millis.rem_euclid(1000) as u32) * 1_000_000,
            fraction_digits: 3,
        }
    }

    /// Nanoseconds since the Unix epoch, saturating outside about 1677..2262.
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.unix_seconds) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Whether the producer wrote at least millisecond precision, which STIX 2.1 requires of
    /// `created` and `modified`.
    pub fn has_millisecond_precision(&self) -> bool {
        self.fraction_digits >= 3
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.unix_seconds, self.nanos).cmp(&(other.unix_seconds, other.nanos))
    }
}

impl fmt::Display for Timestamp {
    /// Writes the timestamp with the precision it was read with (at most nine digits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_from_days(self.unix_seconds.div_euclid(86_400));
        let secs = self.unix_seconds.rem_euclid(86_400);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        )?;
        let digits = usize::from(self.fraction_digits.min(9));
        if digits > 0 {
            let fraction = format!("{:09}", self.nanos);
            write!(f, ".{}", &fraction[..digits])?;
        }
        f.write_str("Z")
    }
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips_precision() {
        for text in [
            "2016-04-06T20:03:48.000Z",
            "2016-04-06T20:03:48Z",
            "2024-02-29T23:59:59.123456789Z",
            "1969-12-31T23:59:59.5Z",
        ] {
            assert_eq!(Timestamp::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn orders_chronologically_whatever_the_precision() {
        let a = Timestamp::parse("2020-01-01T00:00:00.1Z").unwrap();
        let b = Timestamp::parse("2020-01-01T00:00:00.099999Z").unwrap();
        assert!(b < a);
        assert!(b.unix_nanos() < a.unix_nanos());
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:01Z")
                .unwrap()
                .unix_seconds,
            1
        );
    }

    #[test]
    fn rejects_what_is_not_a_stix_timestamp() {
        for bad in [
            "2016-04-06 20:03:48Z",
            "2016-04-06T20:03:48+00:00",
            "2016-04-06T20:03:48.Z",
            "2016-13-06T20:03:48Z",
            "2023-02-29T00:00:00Z",
            "2016-04-06T24:00:00Z",
            "2016-04-06",
            "",
            "２016-04-06T20:03:48Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn civil_conversion_round_trips() {
        for days in [-800_000i64, -1, 0, 1, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
