//! One open document: its text as a rope, its version and the edits applied to it.

use std::ops::Range;

use ropey::Rope;

use crate::text::position::{PositionEncoding, PositionRange, position_to_char};

/// One content change as the client sends it: a range in the client's encoding, or `None` to
/// replace the whole text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextChange {
    pub range: Option<PositionRange>,
    pub text: String,
}

/// A replacement of a byte range of a text, the unit that engines produce and consume.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TextEdit {
    pub range: Range<usize>,
    pub new_text: String,
}

impl TextEdit {
    pub fn new(range: Range<usize>, new_text: impl Into<String>) -> TextEdit {
        TextEdit { range, new_text: new_text.into() }
    }
}

/// A row (zero-based line) and a column in bytes, as tree-sitter counts points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BytePoint {
    pub row: usize,
    pub column: usize,
}

/// What one applied change did, in bytes and byte points: enough to build a tree-sitter
/// `InputEdit` and an edit history event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedChange {
    pub start_byte: usize,
    pub old_end_byte: usize,
    pub new_end_byte: usize,
    pub start_point: BytePoint,
    pub old_end_point: BytePoint,
    pub new_end_point: BytePoint,
    /// Lines of the text before the change that the change touched (end exclusive).
    pub old_lines: Range<usize>,
    /// Lines of the text after the change that hold the inserted text (end exclusive).
    pub new_lines: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub uri: String,
    pub language_id: String,
    pub version: i32,
    rope: Rope,
}

impl Document {
    pub fn new(
        uri: impl Into<String>,
        language_id: impl Into<String>,
        version: i32,
        text: &str,
    ) -> Document {
        Document {
            uri: uri.into(),
            language_id: language_id.into(),
            version,
            rope: Rope::from_str(text),
        }
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    /// Applies one change, clamping its range to the document (see [`position_to_char`]).
    pub fn apply_change(
        &mut self,
        change: &TextChange,
        encoding: PositionEncoding,
    ) -> AppliedChange {
        let (start_char, end_char) = match change.range {
            Some(range) => {
                let start = position_to_char(&self.rope, range.start, encoding);
                let end = position_to_char(&self.rope, range.end, encoding);
                // A reversed range is treated as the empty range at its smaller end.
                (start.min(end), end.max(start))
            }
            None => (0, self.rope.len_chars()),
        };
        self.replace_chars(start_char..end_char, &change.text)
    }

    /// Replaces a byte range (clamped to char boundaries and to the text) with `new_text`.
    pub fn apply_edit(&mut self, edit: &TextEdit) -> AppliedChange {
        let len = self.rope.len_bytes();
        let start = self.rope.byte_to_char(edit.range.start.min(len));
        let end = self.rope.byte_to_char(edit.range.end.min(len)).max(start);
        self.replace_chars(start..end, &edit.new_text)
    }

    fn replace_chars(&mut self, chars: Range<usize>, new_text: &str) -> AppliedChange {
        let start_byte = self.rope.char_to_byte(chars.start);
        let old_end_byte = self.rope.char_to_byte(chars.end);
        let start_point = byte_point(&self.rope, start_byte);
        let old_end_point = byte_point(&self.rope, old_end_byte);
        if chars.end > chars.start {
            self.rope.remove(chars.clone());
        }
        if !new_text.is_empty() {
            self.rope.insert(chars.start, new_text);
        }
        let new_end_byte = start_byte + new_text.len();
        let new_end_point = byte_point(&self.rope, new_end_byte);
        AppliedChange {
            start_byte,
            old_end_byte,
            new_end_byte,
            start_point,
            old_end_point,
            new_end_point,
            old_lines: start_point.row..old_end_point.row + 1,
            new_lines: start_point.row..new_end_point.row + 1,
        }
    }
}

fn byte_point(rope: &Rope, byte: usize) -> BytePoint {
    let row = rope.byte_to_line(byte);
    BytePoint { row, column: byte - rope.line_to_byte(row) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::position::Position;

    fn change(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextChange {
        TextChange {
            range: Some(PositionRange::new(Position::new(sl, sc), Position::new(el, ec))),
            text: text.to_owned(),
        }
    }

    #[test]
    fn applies_incremental_and_full_changes() {
        let mut document =
            Document::new("file:///a.rs", "rust", 1, "fn main() {\r\n    let 😀 = 1;\r\n}\r\n");
        let applied = document.apply_change(&change(1, 8, 1, 10, "x"), PositionEncoding::Utf16);
        assert_eq!(document.text(), "fn main() {\r\n    let x = 1;\r\n}\r\n");
        assert_eq!(applied.start_point, BytePoint { row: 1, column: 8 });
        assert_eq!(applied.old_end_byte - applied.start_byte, 4);
        assert_eq!(applied.new_end_byte - applied.start_byte, 1);

        document.apply_change(&change(9, 0, 9, 0, "// end"), PositionEncoding::Utf8);
        assert_eq!(document.text(), "fn main() {\r\n    let x = 1;\r\n}\r\n// end");

        document
            .apply_change(&TextChange { range: None, text: "new".into() }, PositionEncoding::Utf16);
        assert_eq!(document.text(), "new");
    }

    #[test]
    fn reversed_and_out_of_range_changes_are_clamped() {
        let mut document = Document::new("file:///a.py", "python", 1, "abc\ndef");
        document.apply_change(&change(1, 2, 0, 1, "-"), PositionEncoding::Utf16);
        assert_eq!(document.text(), "a-f");
        document.apply_change(
            &change(u32::MAX, u32::MAX, u32::MAX, u32::MAX, "!"),
            PositionEncoding::Utf32,
        );
        assert_eq!(document.text(), "a-f!");
    }
}
