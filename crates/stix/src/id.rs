//! STIX identifiers: `type--uuid`.

/// Why a string is not a STIX identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("{0:?} is not of the form type--uuid")]
    Shape(String),
    #[error("{0:?} has an invalid object type part")]
    Type(String),
    #[error(
        "{0:?} does not end in an RFC 4122 UUID (8-4-4-4-12 hex digits, version 1-5, variant 10xx)"
    )]
    Uuid(String),
}

/// Longest type name STIX allows (section 3.1).
pub const TYPE_LENGTH_MAX: usize = 250;

/// Checks a STIX type name: lower-case ASCII letters, digits and single hyphens, starting with a
/// letter, 3 to 250 characters (section 3.1).
pub fn is_valid_type_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.len() < 3 || bytes.len() > TYPE_LENGTH_MAX || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut previous_hyphen = false;
    for &b in bytes {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => previous_hyphen = false,
            b'-' if !previous_hyphen => previous_hyphen = true,
            _ => return false,
        }
    }
    true
}

/// Splits an identifier into its type and UUID, checking both.
pub fn parse_identifier(id: &str) -> Result<(&str, &str), IdentifierError> {
    // `type_of` finds the first `--` as `split_once` would, without its general string search,
    // which cost more than the rest of the check on every reference of a bulk import.
    let object_type = type_of(id).ok_or_else(|| IdentifierError::Shape(id.to_string()))?;
    let uuid = &id[object_type.len() + 2..];
    if !is_valid_type_name(object_type) || object_type.ends_with('-') {
        return Err(IdentifierError::Type(id.to_string()));
    }
    if !is_rfc4122_uuid(uuid) {
        return Err(IdentifierError::Uuid(id.to_string()));
    }
    Ok((object_type, uuid))
}

/// The type part of an identifier, without validating the rest.
pub fn type_of(id: &str) -> Option<&str> {
    // Asked of every string a release or validation walk meets, descriptions included: a
    // vectorised search for `-`, several times faster than `split_once` on long text.
    let bytes = id.as_bytes();
    let mut from = 0;
    while let Some(found) = memchr::memchr(b'-', &bytes[from..]) {
        let at = from + found;
        match bytes.get(at + 1) {
            Some(b'-') => return Some(&id[..at]),
            Some(_) => from = at + 2,
            None => return None,
        }
    }
    None
}

fn is_rfc4122_uuid(uuid: &str) -> bool {
    let Some(bytes) = decode_uuid(uuid, &ANY_CASE_HEX) else {
        return false;
    };
    // Version 1 to 5 in the third group's first digit; variant 10xx in the fourth's.
    matches!(bytes[6] >> 4, 1..=5) && bytes[8] >> 6 == 0b10
}

/// The 16 bytes of a UUID as STIX writes it (8-4-4-4-12 lower-case hex digits); `None` for any
/// other text. Version and variant are not checked.
pub fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    decode_uuid(text, &LOWER_HEX)
}

/// A byte's value as a hex digit (`0xff` for any other byte), lower case only or either case.
const LOWER_HEX: [u8; 256] = hex_table(false);
const ANY_CASE_HEX: [u8; 256] = hex_table(true);

const fn hex_table(upper_too: bool) -> [u8; 256] {
    let mut table = [0xff; 256];
    let mut digit = 0;
    while digit < 16 {
        let lower = b"0123456789abcdef"[digit];
        table[lower as usize] = digit as u8;
        if upper_too {
            table[lower.to_ascii_uppercase() as usize] = digit as u8;
        }
        digit += 1;
    }
    table
}

/// Where each byte's two digits start in the 36-character form: the dashes are stepped over.
const UUID_PAIRS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// Decodes an 8-4-4-4-12 UUID with one table lookup per digit and no branch per digit: every
/// identifier and reference of an import passes through here, some twice.
fn decode_uuid(text: &str, digits: &[u8; 256]) -> Option<[u8; 16]> {
    let text = text.as_bytes();
    if text.len() != 36 || [8, 13, 18, 23].iter().any(|&at| text[at] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut not_digits = 0u8;
    for (byte, &at) in out.iter_mut().zip(&UUID_PAIRS) {
        let (high, low) = (
            digits[usize::from(text[at])],
            digits[usize::from(text[at + 1])],
        );
        not_digits |= high | low;
        *byte = (high << 4) | low;
    }
    (not_digits & 0xf0 == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn type_of_is_the_text_before_the_first_double_dash(text in "[a-z\\-é]{0,24}") {
            proptest::prop_assert_eq!(type_of(&text), text.split_once("--").map(|(t, _)| t));
        }
    }

    /// The digits as the specification reads them, one group at a time: the oracle for the
    /// table decoding.
    fn uuid_by_groups(text: &str, upper_too: bool) -> Option<[u8; 16]> {
        let groups: Vec<&str> = text.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let digits_ok = groups.iter().all(|g| {
            g.chars().all(|c| {
                c.is_ascii_digit()
                    || ('a'..='f').contains(&c)
                    || (upper_too && ('A'..='F').contains(&c))
            })
        });
        if lengths != [8, 4, 4, 4, 12] || !digits_ok {
            return None;
        }
        let hex = groups.concat();
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(out)
    }

    proptest::proptest! {
        #[test]
        fn uuids_decode_as_their_groups_read(text in "[0-9a-fA-Fg-]{34,38}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-fA-F]{4}-[0-9a-f]{4}-[0-9a-fx]{12}") {
            proptest::prop_assert_eq!(uuid_bytes(&text), uuid_by_groups(&text, false));
            let rfc4122 = uuid_by_groups(&text, true)
                .is_some_and(|b| (1..=5).contains(&(b[6] >> 4)) && (0x8..=0xb).contains(&(b[8] >> 4)));
            proptest::prop_assert_eq!(is_rfc4122_uuid(&text), rfc4122);
        }
    }

    #[test]
    fn accepts_real_identifiers() {
        let (t, _) =
            parse_identifier("attack-pattern--0042a9f5-f053-4769-b3ef-9ad018dfa298").unwrap();
        assert_eq!(t, "attack-pattern");
        assert!(parse_identifier("x-mitre-tactic--2558fd61-8c75-4730-94c4-11926db2a263").is_ok());
    }

    #[test]
    fn rejects_malformed_identifiers() {
        for bad in [
            "indicator",
            "indicator--",
            "Indicator--0042a9f5-f053-4769-b3ef-9ad018dfa298",
            "indicator--0042a9f5-f053-0769-b3ef-9ad018dfa298",
            "indicator--0042a9f5-f053-4769-c3ef-9ad018dfa298",
            "indicator--0042a9f5f05347699ad018dfa298",
            "in--0042a9f5-f053-4769-b3ef-9ad018dfa298",
            "a--b--0042a9f5-f053-4769-b3ef-9ad018dfa298",
        ] {
            assert!(parse_identifier(bad).is_err(), "{bad} should be rejected");
        }
    }
}
