//! Conversion between editor positions (line + column in a negotiated encoding) and offsets in a
//! rope.
//!
//! The LSP specification says: "If the character value is greater than the line length it defaults
//! back to the line length", and a line past the end of the document means the end of the document.
//! We also clamp a column that falls inside a character (the middle of a surrogate pair in UTF-16,
//! the middle of a multi-byte sequence in UTF-8) back to the start of that character, and a column
//! between `\r` and `\n` to before the `\r`: a position never splits a character or a line break.

use ropey::Rope;

/// How the `character` of a position counts: the unit negotiated with the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PositionEncoding {
    Utf8,
    #[default]
    Utf16,
    Utf32,
}

/// A zero-based line and a column counted in the document's [`PositionEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

impl Position {
    pub const fn new(line: u32, character: u32) -> Position {
        Position { line, character }
    }
}

/// A half-open range of positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PositionRange {
    pub start: Position,
    pub end: Position,
}

impl PositionRange {
    pub const fn new(start: Position, end: Position) -> PositionRange {
        PositionRange { start, end }
    }
}

/// The number of characters on `line` without its line break (`\n`, `\r\n` or a lone `\r`).
fn line_len_without_break(rope: &Rope, line: usize) -> usize {
    let slice = rope.line(line);
    let mut len = slice.len_chars();
    if len > 0 && slice.char(len - 1) == '\n' {
        len -= 1;
    }
    if len > 0 && slice.char(len - 1) == '\r' {
        len -= 1;
    }
    len
}

/// Converts a position to a char index in `rope`, clamping as the module documentation describes.
/// Never panics, whatever the position.
pub fn position_to_char(rope: &Rope, position: Position, encoding: PositionEncoding) -> usize {
    let line = position.line as usize;
    if line >= rope.len_lines() {
        return rope.len_chars();
    }
    let line_start = rope.line_to_char(line);
    let line_chars = line_len_without_break(rope, line);
    let want = position.character as usize;
    let slice = rope.slice(line_start..line_start + line_chars);
    let column_chars = match encoding {
        PositionEncoding::Utf32 => want.min(line_chars),
        PositionEncoding::Utf8 => {
            if want >= slice.len_bytes() {
                line_chars
            } else {
                // `byte_to_char` gives the char that contains the byte: the start of that char.
                slice.byte_to_char(want)
            }
        }
        PositionEncoding::Utf16 => {
            if want >= slice.len_utf16_cu() {
                line_chars
            } else {
                let char_index = slice.utf16_cu_to_char(want);
                // Inside a surrogate pair ropey rounds up past the char: round down instead.
                if slice.char_to_utf16_cu(char_index) > want { char_index - 1 } else { char_index }
            }
        }
    };
    line_start + column_chars
}

/// Converts a char index to a position; an index past the end is treated as the end.
pub fn char_to_position(rope: &Rope, char_index: usize, encoding: PositionEncoding) -> Position {
    let char_index = char_index.min(rope.len_chars());
    let line = rope.char_to_line(char_index);
    let line_start = rope.line_to_char(line);
    let slice = rope.slice(line_start..char_index);
    let character = match encoding {
        PositionEncoding::Utf8 => slice.len_bytes(),
        PositionEncoding::Utf16 => slice.len_utf16_cu(),
        PositionEncoding::Utf32 => slice.len_chars(),
    };
    Position { line: saturating_u32(line), character: saturating_u32(character) }
}

/// Converts a position to a byte offset in `rope` (clamped).
pub fn position_to_byte(rope: &Rope, position: Position, encoding: PositionEncoding) -> usize {
    rope.char_to_byte(position_to_char(rope, position, encoding))
}

/// Converts a byte offset to a position. A byte inside a character counts as that character's start.
pub fn byte_to_position(rope: &Rope, byte: usize, encoding: PositionEncoding) -> Position {
    let byte = byte.min(rope.len_bytes());
    char_to_position(rope, rope.byte_to_char(byte), encoding)
}

/// Converts a position to a byte offset in a plain string, with the same clamping as for ropes.
pub fn position_to_byte_in_str(
    text: &str,
    position: Position,
    encoding: PositionEncoding,
) -> usize {
    // Small helper for engine code working on snapshots; builds no rope for the common case.
    let mut line_start = 0;
    for _ in 0..position.line {
        match next_line_start(text, line_start) {
            Some(next) => line_start = next,
            None => return text.len(),
        }
    }
    let line_end = line_content_end(text, line_start);
    let line = &text[line_start..line_end];
    let want = position.character as usize;
    let mut counted = 0;
    for (offset, ch) in line.char_indices() {
        let width = match encoding {
            PositionEncoding::Utf8 => ch.len_utf8(),
            PositionEncoding::Utf16 => ch.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
        if counted + width > want {
            return line_start + offset;
        }
        counted += width;
    }
    line_end
}

/// The byte offset where the line after the one starting at `line_start` starts, if any.
fn next_line_start(text: &str, line_start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut index = line_start;
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => return Some(index + 1),
            b'\r' => {
                return Some(if bytes.get(index + 1) == Some(&b'\n') {
                    index + 2
                } else {
                    index + 1
                });
            }
            _ => index += 1,
        }
    }
    None
}

/// The byte offset where the line starting at `line_start` ends, before its line break.
fn line_content_end(text: &str, line_start: usize) -> usize {
    text[line_start..].find(['\n', '\r']).map_or(text.len(), |offset| line_start + offset)
}

fn saturating_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::*;

    fn check_to_char(
        text: &str,
        line: u32,
        character: u32,
        encoding: PositionEncoding,
        expected: usize,
    ) {
        let rope = Rope::from_str(text);
        let got = position_to_char(&rope, Position::new(line, character), encoding);
        assert_eq!(got, expected, "{text:?} {line}:{character} {encoding:?}");
        // The string helper must agree with the rope.
        let byte = position_to_byte_in_str(text, Position::new(line, character), encoding);
        assert_eq!(
            rope.byte_to_char(byte),
            expected,
            "str helper {text:?} {line}:{character} {encoding:?}"
        );
    }

    #[test]
    fn clamps_like_the_specification() {
        // (text, line, character, encoding, expected char index)
        let table: &[(&str, u32, u32, PositionEncoding, usize)] = &[
            ("abc", 0, 0, Utf16, 0),
            ("abc", 0, 3, Utf16, 3),
            ("abc", 0, 4, Utf16, 3),
            ("abc", 0, u32::MAX, Utf8, 3),
            ("abc", 1, 0, Utf16, 3),
            ("abc", u32::MAX, u32::MAX, Utf32, 3),
            ("abc\ndef", 1, 1, Utf16, 5),
            ("abc\ndef", 0, 10, Utf16, 3),
            // Emoji: 1 char, 2 UTF-16 units, 4 UTF-8 bytes.
            ("a😀b", 0, 1, Utf16, 1),
            ("a😀b", 0, 2, Utf16, 1),
            ("a😀b", 0, 3, Utf16, 2),
            ("a😀b", 0, 2, Utf32, 2),
            ("a😀b", 0, 3, Utf8, 1),
            ("a😀b", 0, 5, Utf8, 2),
            // CJK: 1 char, 1 UTF-16 unit, 3 UTF-8 bytes.
            ("漢字x", 0, 1, Utf16, 1),
            ("漢字x", 0, 3, Utf8, 1),
            ("漢字x", 0, 4, Utf8, 1),
            ("漢字x", 0, 6, Utf8, 2),
            ("漢字x", 0, 2, Utf32, 2),
            // CRLF: a column between \r and \n clamps to before \r.
            ("ab\r\ncd", 0, 2, Utf16, 2),
            ("ab\r\ncd", 0, 3, Utf16, 2),
            ("ab\r\ncd", 1, 0, Utf16, 4),
            ("ab\r\ncd", 1, 9, Utf8, 6),
            ("ab\rcd", 1, 1, Utf32, 4),
            // Empty document and a trailing newline.
            ("", 0, 0, Utf16, 0),
            ("", 3, 3, Utf16, 0),
            ("x\n", 1, 0, Utf16, 2),
            ("x\n", 1, 5, Utf16, 2),
            ("x\n", 2, 0, Utf16, 2),
            // U+2028 is not a line break for LSP.
            ("a\u{2028}b", 0, 3, Utf32, 3),
            ("a\u{2028}b\nc", 1, 0, Utf32, 4),
        ];
        for &(text, line, character, encoding, expected) in table {
            check_to_char(text, line, character, encoding, expected);
        }
    }

    #[test]
    fn round_trips_every_char_boundary() {
        let text = "fn 😀() {\r\n    \"漢字\"\n}\r\n\u{2028}é\n";
        let rope = Rope::from_str(text);
        for encoding in [Utf8, Utf16, Utf32] {
            for char_index in 0..=rope.len_chars() {
                let position = char_to_position(&rope, char_index, encoding);
                let back = position_to_char(&rope, position, encoding);
                // Between \r and \n is not a valid position; everything else round-trips.
                let between_cr_lf = char_index > 0
                    && rope.char(char_index - 1) == '\r'
                    && char_index < rope.len_chars()
                    && rope.char(char_index) == '\n';
                if !between_cr_lf {
                    assert_eq!(back, char_index, "{encoding:?} {char_index} -> {position:?}");
                }
            }
        }
    }

    #[test]
    fn byte_positions() {
        let rope = Rope::from_str("a😀b\nc");
        assert_eq!(byte_to_position(&rope, 5, Utf16), Position::new(0, 3));
        assert_eq!(byte_to_position(&rope, 2, Utf16), Position::new(0, 1));
        assert_eq!(byte_to_position(&rope, 999, Utf16), Position::new(1, 1));
        assert_eq!(position_to_byte(&rope, Position::new(1, 1), Utf8), 8);
    }
}
