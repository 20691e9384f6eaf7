//! Sentences and tokens. Case-blind: MUC-4 text is lower-cased, so no rule here looks at
//! capital letters.

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Letters (and inner hyphens, apostrophes or dots between letters or digits).
    Word,
    /// Digits, possibly with inner separators ("1,200", "2.5").
    Number,
    /// One punctuation or symbol character.
    Punct,
}

/// A token: a byte range of the text it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub kind: TokenKind,
}

impl Token {
    /// The token's text in `text` (the text it was cut from).
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }
}

/// Splits `text` into tokens. Runs of letters and digits are one token, joined across an inner
/// `-`, `'`, `.` or `,` that has a letter or digit on both sides ("isis-k", "u.s", "1,200");
/// every other non-space character is a token of its own.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(text.len() / 5);
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if !c.is_alphanumeric() {
            tokens.push(Token {
                start,
                end: start + c.len_utf8(),
                kind: TokenKind::Punct,
            });
            continue;
        }
        let mut end = start + c.len_utf8();
        let mut letters = c.is_alphabetic();
        loop {
            match chars.peek() {
                Some(&(i, n)) if n.is_alphanumeric() => {
                    letters |= n.is_alphabetic();
                    end = i + n.len_utf8();
                    chars.next();
                }
                Some(&(i, n)) if matches!(n, '-' | '\'' | '.' | ',') => {
                    // Join only when an alphanumeric follows the separator; a comma only
                    // inside a number ("1,200"), never between words.
                    let after = text[i + 1..].chars().next();
                    let joins = match after {
                        Some(a) if a.is_alphanumeric() => {
                            n != ',' || (!letters && a.is_ascii_digit())
                        }
                        _ => false,
                    };
                    if !joins {
                        break;
                    }
                    chars.next();
                    end = i + 1;
                }
                _ => break,
            }
        }
        tokens.push(Token {
            start,
            end,
            kind: if letters {
                TokenKind::Word
            } else {
                TokenKind::Number
            },
        });
    }
    tokens
}

/// Abbreviations after which a full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "col", "gen", "lt", "sgt", "capt", "maj", "cpl", "st", "no", "jan",
    "feb", "aug", "sept", "sep", "oct", "nov", "dec", "gov", "sen", "rep", "rev", "prof", "vs",
    "jr", "sr", "cmdr", "adm", "brig", "corp", "inc", "co", "ltd", "pvt", "msgr", "fr",
];

/// Splits tokens into sentences: ranges of token indices. A sentence ends at `.`, `!` or `?`
/// (not after a known abbreviation or a single letter), or at a blank line.
pub fn sentences(text: &str, tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut begin = 0;
    for (i, token) in tokens.iter().enumerate() {
        let mut ends = false;
        if token.kind == TokenKind::Punct {
            let t = token.text(text);
            if t == "!" || t == "?" {
                ends = true;
            } else if t == "." {
                ends = match i.checked_sub(1).map(|p| tokens[p]) {
                    Some(prev) if prev.end == token.start && prev.kind == TokenKind::Word => {
                        let word = prev.text(text).to_ascii_lowercase();
                        !(ABBREVIATIONS.contains(&word.as_str()) || word.chars().count() == 1)
                    }
                    _ => true,
                };
            }
        }
        if !ends
            && let Some(next) = tokens.get(i + 1)
            && text[token.end..next.start].contains("\n\n")
        {
            ends = true;
        }
        if ends {
            out.push(begin..i + 1);
            begin = i + 1;
        }
    }
    if begin < tokens.len() {
        out.push(begin..tokens.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        tokenize(text).iter().map(|t| t.text(text)).collect()
    }

    #[test]
    fn tokens_keep_inner_joins() {
        assert_eq!(
            words("isis-k killed 1,200 in the u.s. (\"cerigua\"), 2.5 km"),
            vec![
                "isis-k", "killed", "1,200", "in", "the", "u.s", ".", "(", "\"", "cerigua", "\"",
                ")", ",", "2.5", "km"
            ]
        );
        assert_eq!(words("farm,he"), vec!["farm", ",", "he"]);
        assert!(tokenize("").is_empty());
        assert!(tokenize("   \n").is_empty());
    }

    #[test]
    fn sentences_skip_abbreviations() {
        let text = "col. isaacs said it. the farm burned! was it? yes";
        let tokens = tokenize(text);
        let s = sentences(text, &tokens);
        let firsts: Vec<&str> = s.iter().map(|r| tokens[r.start].text(text)).collect();
        assert_eq!(firsts, vec!["col", "the", "was", "yes"]);
    }
}
