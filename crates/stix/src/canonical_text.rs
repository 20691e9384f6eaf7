//! Reading an object's canonical text (RFC 8785, as the store keeps every version) without
//! building values: the strings, members and nested values of a text walked in place.
//!
//! A partner's page at a million objects reads each version's text several times (its candidate
//! references, the release filter, its version string); parsing it into values each time was
//! most of the page. The reader accepts canonical text only (no whitespace, members in order)
//! and answers `None` to anything else, so a caller falls back to parsing the text. Strings it
//! steps over are not unescaped, so a malformed escape inside one goes unnoticed: the text read
//! is the store's own canonical output, and only the strings asked for are decoded.

use std::borrow::Cow;

/// A cursor in canonical JSON text.
#[derive(Debug, Clone)]
pub struct Reader<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Reader<'t> {
    /// A reader at the start of `json`; `None` if it is not UTF-8.
    pub fn new(json: &'t [u8]) -> Option<Reader<'t>> {
        Some(Reader::from_text(std::str::from_utf8(json).ok()?))
    }

    /// A reader at the start of text already known to be UTF-8.
    pub fn from_text(text: &'t str) -> Reader<'t> {
        Reader { text, at: 0 }
    }

    /// The byte offset of the cursor.
    pub fn at(&self) -> usize {
        self.at
    }

    /// Moves the cursor back to an offset it was at.
    pub fn rewind(&mut self, at: usize) {
        self.at = at.min(self.text.len());
    }

    /// The whole text.
    pub fn text(&self) -> &'t str {
        self.text
    }

    /// Whether the cursor is at the end.
    pub fn is_done(&self) -> bool {
        self.at == self.text.len()
    }

    /// The byte at the cursor.
    pub fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Steps over `byte`, or fails if another is at the cursor.
    pub fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Steps to the next member or item of the object or list being read (its `{` or `[`
    /// stepped over, `first` until one was read): `true` when one follows (its `,` stepped
    /// over), `false` at `close` (stepped over).
    pub fn next(&mut self, close: u8, first: bool) -> Option<bool> {
        if self.peek()? == close {
            self.at += 1;
            return Some(false);
        }
        if !first {
            self.expect(b',')?;
        }
        Some(true)
    }

    /// The string at the cursor: its text with its quotes, and its value (borrowed unless it
    /// holds escapes).
    pub fn string(&mut self) -> Option<(&'t str, Cow<'t, str>)> {
        let (raw, escaped) = self.raw_string()?;
        if escaped {
            let value: String = serde_json::from_str(raw).ok()?;
            Some((raw, Cow::Owned(value)))
        } else {
            Some((raw, Cow::Borrowed(&raw[1..raw.len() - 1])))
        }
    }

    /// Steps over the string at the cursor: its text with its quotes, and whether it holds
    /// escapes (left undecoded: a description skipped on the way to `modified` need not be
    /// unescaped into a new string).
    fn raw_string(&mut self) -> Option<(&'t str, bool)> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let mut end = self.at + 1;
        let mut escaped = false;
        loop {
            end += memchr::memchr2(b'"', b'\\', bytes.get(end..)?)?;
            if bytes[end] == b'"' {
                break;
            }
            escaped = true;
            end += 2;
        }
        let raw = self.text.get(self.at..=end)?;
        self.at = end + 1;
        Some((raw, escaped))
    }

    /// A member name at the cursor and the `:` after it: plain ASCII without escapes (every
    /// STIX property name is), else `None`.
    pub fn name(&mut self) -> Option<&'t str> {
        let (raw, value) = self.string()?;
        self.expect(b':')?;
        (raw.len() == value.len() + 2 && value.is_ascii()).then(|| &raw[1..raw.len() - 1])
    }

    /// Steps over a number, `true`, `false` or `null`, and returns its text.
    pub fn scalar(&mut self) -> Option<&'t str> {
        let rest = &self.text.as_bytes()[self.at..];
        let length = rest
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'a'..=b'z'))
            .unwrap_or(rest.len());
        let token = &self.text[self.at..self.at + length];
        let number = token.starts_with(|c: char| c == '-' || c.is_ascii_digit())
            && token.parse::<f64>().is_ok();
        if !(number || matches!(token, "true" | "false" | "null")) {
            return None;
        }
        self.at += length;
        Some(token)
    }

    /// Steps over the value at the cursor, nested at most `depth_max` deep, and returns its
    /// text.
    pub fn skip(&mut self, depth_max: usize) -> Option<&'t str> {
        let start = self.at;
        self.skip_nested(depth_max)?;
        Some(&self.text[start..self.at])
    }

    fn skip_nested(&mut self, depth_left: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.raw_string().map(drop),
            open @ (b'[' | b'{') => {
                let close = if open == b'[' { b']' } else { b'}' };
                let inner_left = depth_left.checked_sub(1)?;
                self.at += 1;
                let mut first = true;
                while self.next(close, first)? {
                    first = false;
                    if close == b'}' {
                        self.raw_string()?;
                        self.expect(b':')?;
                    }
                    self.skip_nested(inner_left)?;
                }
                Some(())
            }
            _ => self.scalar().map(drop),
        }
    }

    /// Walks the members of the object at the cursor: `member` gets each name with the reader
    /// at its value, and must step over the value (or fail).
    pub fn members(
        &mut self,
        mut member: impl FnMut(&mut Reader<'t>, &'t str) -> Option<()>,
    ) -> Option<()> {
        self.expect(b'{')?;
        let mut first = true;
        while self.next(b'}', first)? {
            first = false;
            let name = self.name()?;
            member(self, name)?;
        }
        Some(())
    }
}

/// The string values of some top-level members of an object's canonical text, in the order of
/// `names`, read only as far as the last of them in the text's order (canonical text sorts
/// members, so a version's `modified` comes before ATT&CK's long `x_mitre_contents`). `None`
/// for text that is not canonical JSON; a member that is absent or not a string is `None`.
pub fn top_level_strings<'t, const N: usize>(
    json: &'t [u8],
    names: [&str; N],
    depth_max: usize,
) -> Option<[Option<Cow<'t, str>>; N]> {
    let mut reader = Reader::new(json)?;
    let last = names.iter().copied().max().unwrap_or_default();
    let mut found: [Option<Cow<'t, str>>; N] = std::array::from_fn(|_| None);
    reader.expect(b'{')?;
    let mut first = true;
    while reader.next(b'}', first)? {
        first = false;
        let name = reader.name()?;
        // Canonical order is UTF-16 order, which is byte order for ASCII names: every name
        // sought is behind.
        if name > last {
            return Some(found);
        }
        match names.iter().position(|sought| *sought == name) {
            Some(i) if reader.peek()? == b'"' => found[i] = Some(reader.string()?.1),
            _ => {
                reader.skip(depth_max)?;
            }
        }
    }
    reader.is_done().then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_canonical_text_and_refuses_anything_else() {
        let value = json!({
            "a": [1, -2.5e-7, true, null, {"b": "c\"d\\e\u{e9}"}],
            "created": "2024-01-01T00:00:00.000Z",
            "id": "x--1",
            "modified": "2024-02-01T00:00:00.000Z",
            "x_long": vec!["y"; 100],
        });
        let text = crate::canonical::canonical_object(value.as_object().unwrap());
        let mut reader = Reader::new(&text).unwrap();
        let skipped = reader.skip(8).unwrap();
        assert_eq!(skipped.as_bytes(), &text[..]);
        assert!(reader.is_done());
        // Too deep for the bound.
        assert!(Reader::new(&text).unwrap().skip(2).is_none());

        let [modified, created, missing, not_string] =
            top_level_strings(&text, ["modified", "created", "absent", "a"], 8).unwrap();
        assert_eq!(modified.as_deref(), Some("2024-02-01T00:00:00.000Z"));
        assert_eq!(created.as_deref(), Some("2024-01-01T00:00:00.000Z"));
        assert_eq!((missing, not_string), (None, None));

        let mut names = Vec::new();
        let mut reader = Reader::new(&text).unwrap();
        reader
            .members(|reader, name| {
                names.push(name);
                reader.skip(8).map(drop)
            })
            .unwrap();
        assert_eq!(names, ["a", "created", "id", "modified", "x_long"]);

        let mut escaped = Reader::new(br#""c\"d\\e""#).unwrap();
        assert_eq!(escaped.string().unwrap().1, "c\"d\\e");

        for bad in [
            &b"{\"a\": 1}"[..],
            b"{\"a\":1",
            b"{\"a\":tru}",
            b"{\"a\":\"open}",
            b"\xff",
            b"{\"a\":1}x",
        ] {
            assert!(
                top_level_strings(bad, ["a", "b"], 8).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
