//! Words and identifiers in plain text, without a syntax tree: what the symbolic engine, the edit
//! minimiser and the case miner call a word.
//!
//! A *word* is a maximal run of word characters (letters, digits, `_`, in Unicode). Two
//! tokenizers build on it and differ on purpose:
//!
//! - [`word_tokens`] yields words and single punctuation characters and drops whitespace: a
//!   token diff then sees `a(b)` and `a( b )` alike, which is what rename and repeated-edit
//!   detection want.
//! - [`covering_tokens`] (used by the engine's region diff) also keeps runs of whitespace other
//!   than line breaks, so the tokens concatenate back to the text and a diff of them rebuilds it
//!   exactly.

/// Whether `c` belongs to a word: a letter, a digit or `_`.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text` is an identifier: a word that does not start with a digit.
pub fn is_identifier(text: &str) -> bool {
    text.chars().next().is_some_and(|first| first.is_alphabetic() || first == '_')
        && text.chars().all(is_word_char)
}

/// What a [`Token`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Word,
    Punct,
}

/// A token of some text, by byte offsets into that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub kind: TokenKind,
}

impl Token {
    pub fn text<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start..self.end]
    }
}

/// Splits text into words and single punctuation characters; whitespace separates tokens and is
/// not a token.
pub fn word_tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word_start: Option<usize> = None;
    for (index, c) in text.char_indices() {
        if is_word_char(c) {
            word_start.get_or_insert(index);
            continue;
        }
        if let Some(start) = word_start.take() {
            tokens.push(Token { start, end: index, kind: TokenKind::Word });
        }
        if !c.is_whitespace() {
            tokens.push(Token { start: index, end: index + c.len_utf8(), kind: TokenKind::Punct });
        }
    }
    if let Some(start) = word_start {
        tokens.push(Token { start, end: text.len(), kind: TokenKind::Word });
    }
    tokens
}

/// Splits text into words, runs of whitespace other than `\n`, and single other characters
/// (`\n` included). Unlike [`word_tokens`], the pieces concatenate back to `text`.
pub fn covering_tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut previous_class = None;
    for (index, ch) in text.char_indices() {
        let class = if is_word_char(ch) {
            0
        } else if ch.is_whitespace() && ch != '\n' {
            1
        } else {
            2
        };
        let joins = previous_class == Some(class) && class != 2;
        if !joins && index > start {
            out.push(&text[start..index]);
            start = index;
        }
        previous_class = Some(class);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_tokens_drop_whitespace_and_split_punctuation() {
        let text = "let é_1 = f(x,  y)::<T>;";
        let tokens: Vec<&str> = word_tokens(text).iter().map(|token| token.text(text)).collect();
        assert_eq!(
            tokens,
            ["let", "é_1", "=", "f", "(", "x", ",", "y", ")", ":", ":", "<", "T", ">", ";"]
        );
    }

    #[test]
    fn covering_tokens_rebuild_the_text() {
        let text = "a  b\n\n\tc(d)";
        let tokens = covering_tokens(text);
        assert_eq!(tokens, ["a", "  ", "b", "\n", "\n", "\t", "c", "(", "d", ")"]);
        assert_eq!(tokens.concat(), text);
    }

    #[test]
    fn identifiers_are_words_that_do_not_start_with_a_digit() {
        assert!(is_identifier("_x1"));
        assert!(is_identifier("λ"));
        assert!(!is_identifier("1x"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
    }
}
