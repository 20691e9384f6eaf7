//! JSON Canonicalization Scheme (RFC 8785): the byte string that signatures and content hashes
//! are computed over.
//!
//! Object members are sorted by their UTF-16 code units, strings use the minimal escaping of
//! ECMAScript's `JSON.stringify`, and numbers use ECMAScript's shortest round-trip form. Integers
//! beyond 2^53 are written exactly rather than rounded through a double: RFC 8785 would lose
//! them, and an exact integer is what the producer meant.

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

/// Appends the canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

/// The canonical form of a JSON object.
pub fn canonical_object(map: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_object(map, &mut out);
    out
}

/// Appends the canonical form of a JSON object to `out`.
pub fn write_canonical_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    write_object(map, out);
}

/// The canonical form of any JSON value.
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_canonical(value, &mut out);
    out
}

/// SHA-256 of the canonical bytes.
pub fn content_hash(canonical_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(canonical_bytes).into()
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    // serde_json's map iterates in UTF-8 byte order, which equals UTF-16 order unless a key
    // holds characters above U+FFFF next to ones in U+E000..U+FFFF; only then re-sort. Those
    // characters, and only they, begin with a UTF-8 byte of 0xEE or above.
    if map.keys().any(|k| k.bytes().any(|b| b >= 0xEE)) {
        let mut entries: Vec<(&String, &Value)> = map.iter().collect();
        entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        write_members(entries.into_iter(), out);
    } else {
        write_members(map.iter(), out);
    }
}

fn write_members<'m>(members: impl Iterator<Item = (&'m String, &'m Value)>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, value)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write_canonical(value, out);
    }
    out.push(b'}');
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        if f == 0.0 {
            // ECMAScript writes -0 as 0.
            out.push(b'0');
        } else {
            let mut buffer = ryu_js::Buffer::new();
            out.extend_from_slice(buffer.format(f).as_bytes());
        }
    }
}

/// Whether any of the eight bytes of `word` must be escaped: a control character (below
/// 0x20), a quotation mark or a backslash. Word-at-a-time, because descriptions make most of a
/// STIX object's bytes and almost none of them need escaping.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    // A byte below n (n <= 0x80) sets its high bit in (word - n) while clear in word.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH_BITS;
    let equal = |byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    (below(word, 0x20) | equal(b'"') | equal(b'\\')) != 0
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("a slice of eight bytes"));
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f => None,
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, 2, {"z": true, "a": null}], "a": "x" }"#).unwrap();
        assert_eq!(canonical(&v), br#"{"a":"x","b":[1,2,{"a":null,"z":true}]}"#);
    }

    #[test]
    fn numbers_follow_ecmascript() {
        let v = json!([1.0, -0.0, 1e21, 1e-7, 0.1, 123456789012345678u64, -5, 4.5]);
        assert_eq!(
            String::from_utf8(canonical(&v)).unwrap(),
            "[1,0,1e+21,1e-7,0.1,123456789012345678,-5,4.5]"
        );
    }

    #[test]
    fn strings_escape_minimally() {
        let v = json!("a\"b\\c\u{0001}\u{001f}\n\u{007f}é€😀/");
        assert_eq!(
            String::from_utf8(canonical(&v)).unwrap(),
            "\"a\\\"b\\\\c\\u0001\\u001f\\n\u{007f}é€😀/\""
        );
    }

    #[test]
    fn escapes_wherever_they_fall_in_a_word() {
        for special in ['"', '\\', '\u{0}', '\u{1f}', '\n'] {
            for position in 0..20 {
                let mut text: String = "abcdefghijklmnopqrs".into();
                text.insert(position, special);
                let expected = serde_json::to_string(&text).unwrap();
                assert_eq!(
                    String::from_utf8(canonical(&Value::String(text))).unwrap(),
                    expected
                );
            }
        }
        assert!(!needs_escape(u64::from_le_bytes(*b" !#[]~\x7f\xee")));
        for byte in (0u8..0x20).chain([b'"', b'\\']) {
            let mut word = *b"abcdefgh";
            word[5] = byte;
            assert!(needs_escape(u64::from_le_bytes(word)), "{byte:#x}");
        }
    }

    #[test]
    fn rfc8785_sorting_example() {
        // The key-sorting example of RFC 8785 section 3.2.3, in UTF-16 order.
        let text = "{\"\u{20ac}\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{0080}\":\"Control\",\"\u{00f6}\":\"Latin Small Letter O With Diaeresis\"}";
        let v: Value = serde_json::from_str(text).unwrap();
        let out = String::from_utf8(canonical(&v)).unwrap();
        let values: Vec<&str> = out
            .split("\":\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap())
            .collect();
        assert_eq!(
            values,
            [
                "Carriage Return",
                "One",
                "Control",
                "Latin Small Letter O With Diaeresis",
                "Euro Sign",
                "Emoji: Grinning Face",
                "Hebrew Letter Dalet With Dagesh"
            ]
        );
    }
}
