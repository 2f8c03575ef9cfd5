//! Text offsets and LSP positions for the client side of the evaluation. Lines end at `\n`,
//! `\r\n` or `\r`, as LSP says; columns count UTF-8 bytes, UTF-16 code units or code points.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    pub fn from_lsp(name: Option<&str>) -> Encoding {
        match name {
            Some("utf-8") => Encoding::Utf8,
            Some("utf-32") => Encoding::Utf32,
            _ => Encoding::Utf16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
            Encoding::Utf32 => "utf-32",
        }
    }

    fn width(self, character: char) -> usize {
        match self {
            Encoding::Utf8 => character.len_utf8(),
            Encoding::Utf16 => character.len_utf16(),
            Encoding::Utf32 => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LspPosition {
    pub line: u32,
    pub character: u32,
}

/// Byte ranges of the lines' contents (without their line breaks).
fn lsp_lines(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => {
                lines.push((start, index));
                start = index + 1;
            }
            b'\r' => {
                lines.push((start, index));
                if bytes.get(index + 1) == Some(&b'\n') {
                    index += 1;
                }
                start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    lines.push((start, bytes.len()));
    lines
}

/// The position of a byte offset (which must be on a char boundary).
pub fn offset_to_position(text: &str, offset: usize, encoding: Encoding) -> LspPosition {
    let offset = offset.min(text.len());
    let lines = lsp_lines(text);
    let line = lines.partition_point(|&(start, _)| start <= offset).saturating_sub(1);
    let (start, end) = lines[line];
    let column_end = offset.min(end);
    let character =
        text[start..column_end].chars().map(|character| encoding.width(character)).sum::<usize>();
    LspPosition { line: line as u32, character: character as u32 }
}

/// The byte offset of a position, clamped to the line's end and to the end of the text; a column
/// inside a character moves to that character's start.
pub fn position_to_offset(text: &str, position: LspPosition, encoding: Encoding) -> usize {
    let lines = lsp_lines(text);
    let Some(&(start, end)) = lines.get(position.line as usize) else { return text.len() };
    let mut remaining = position.character as usize;
    for (index, character) in text[start..end].char_indices() {
        let width = encoding.width(character);
        if remaining < width {
            return start + index;
        }
        remaining -= width;
    }
    end
}

/// The byte offset of a case cursor: a line of `text.split('\n')` and a column in code points,
/// clamped to the line.
pub fn case_cursor_offset(text: &str, line: u32, character: u32) -> usize {
    let mut line_start = 0;
    for _ in 0..line {
        match text[line_start..].find('\n') {
            Some(index) => line_start += index + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..].find('\n').map_or(text.len(), |index| line_start + index);
    text[line_start..line_end]
        .char_indices()
        .nth(character as usize)
        .map_or(line_end, |(index, _)| line_start + index)
}

/// The smallest single replacement that turns `old` into `new`: `(start, old_end, new_text)` in
/// bytes of `old`, on char boundaries.
pub fn minimal_replacement<'a>(old: &str, new: &'a str) -> (usize, usize, &'a str) {
    let (prefix, suffix) = nextedit::text::common_affixes(old, new);
    (prefix, old.len() - suffix, &new[prefix..new.len() - suffix])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_every_encoding() {
        let text = "a😀b\r\nx\rλy\n";
        let offset_of_y = text.find('y').unwrap();
        assert_eq!(
            offset_to_position(text, offset_of_y, Encoding::Utf8),
            LspPosition { line: 2, character: 2 }
        );
        assert_eq!(
            offset_to_position(text, offset_of_y, Encoding::Utf16),
            LspPosition { line: 2, character: 1 }
        );
        let offset_of_b = text.find('b').unwrap();
        assert_eq!(
            offset_to_position(text, offset_of_b, Encoding::Utf16),
            LspPosition { line: 0, character: 3 }
        );
        assert_eq!(
            offset_to_position(text, offset_of_b, Encoding::Utf32),
            LspPosition { line: 0, character: 2 }
        );
        for encoding in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            for (offset, _) in text.char_indices() {
                let position = offset_to_position(text, offset, encoding);
                if text[offset..].starts_with('\n')
                    && offset > 0
                    && text.as_bytes()[offset - 1] == b'\r'
                {
                    continue;
                }
                assert_eq!(
                    position_to_offset(text, position, encoding),
                    offset,
                    "{encoding:?} {offset}"
                );
            }
        }
        assert_eq!(
            position_to_offset(text, LspPosition { line: 9, character: 0 }, Encoding::Utf8),
            text.len()
        );
        assert_eq!(
            position_to_offset(text, LspPosition { line: 1, character: 99 }, Encoding::Utf8),
            text.find('\r').unwrap() + 3
        );
    }

    #[test]
    fn case_cursors_count_code_points() {
        let text = "ab\n😀cd\n";
        assert_eq!(case_cursor_offset(text, 1, 1), 7);
        assert_eq!(case_cursor_offset(text, 1, 9), 9);
        assert_eq!(case_cursor_offset(text, 7, 0), text.len());
    }

    #[test]
    fn minimal_replacements() {
        assert_eq!(minimal_replacement("abcd", "abXd"), (2, 3, "X"));
        assert_eq!(minimal_replacement("aaa", "aaaa"), (3, 3, "a"));
        assert_eq!(minimal_replacement("λx", "λ"), (2, 3, ""));
    }
}
