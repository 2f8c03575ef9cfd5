//! A deliberately naive model of LSP positions over a plain `String`, independent of the rope
//! code. The property test and the fuzz target compare the real implementation against it.
//!
//! It repeats what `position.rs` does on purpose: an oracle that shared code with the code it
//! checks would share its bugs. Keep it separate and simple.

use super::{Position, PositionEncoding};

/// The byte offset of a position, by walking the string one char at a time: lines end at `\n`,
/// `\r\n` or `\r`; columns past the line end or inside a char clamp to the line end or the char
/// start; a line past the end means the end of the text.
pub fn naive_offset(text: &str, position: Position, encoding: PositionEncoding) -> usize {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut line = 0u32;
    let mut index = 0;
    while line < position.line {
        loop {
            if index >= chars.len() {
                return text.len();
            }
            let (_, ch) = chars[index];
            index += 1;
            if ch == '\n' {
                break;
            }
            if ch == '\r' {
                if index < chars.len() && chars[index].1 == '\n' {
                    index += 1;
                }
                break;
            }
        }
        line += 1;
    }
    let mut column = 0u64;
    while index < chars.len() {
        let (offset, ch) = chars[index];
        if ch == '\n' || ch == '\r' {
            return offset;
        }
        let width = match encoding {
            PositionEncoding::Utf8 => ch.len_utf8(),
            PositionEncoding::Utf16 => ch.len_utf16(),
            PositionEncoding::Utf32 => 1,
        } as u64;
        if column + width > u64::from(position.character) {
            return offset;
        }
        column += width;
        index += 1;
    }
    text.len()
}
