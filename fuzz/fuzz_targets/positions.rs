//! Random edits in all three position encodings, applied to a rope document and to a plain string
//! with the naive reference model: the texts must agree, and nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nextedit::text::reference::naive_offset;
use nextedit::text::{Document, Position, PositionEncoding, PositionRange, TextChange};

const PIECES: &[&str] = &["a", "é", "😀", "漢", "\n", "\r\n", "\r", "\u{2028}", "", "\t"];

fuzz_target!(|data: &[u8]| {
    let mut document = Document::new("file:///f", "text", 0, "");
    let mut model = String::new();
    for chunk in data.chunks(6) {
        let [kind, sl, sc, el, ec, piece] = match *chunk {
            [a, b, c, d, e, f] => [a, b, c, d, e, f],
            _ => return,
        };
        let encoding = match kind % 3 {
            0 => PositionEncoding::Utf8,
            1 => PositionEncoding::Utf16,
            _ => PositionEncoding::Utf32,
        };
        let big = |v: u8| if v == 255 { u32::MAX } else { u32::from(v % 16) };
        let start = Position::new(big(sl), big(sc));
        let end = Position::new(big(el), big(ec));
        let text = PIECES[usize::from(piece) % PIECES.len()].repeat(usize::from(piece / 32));
        let a = naive_offset(&model, start, encoding);
        let b = naive_offset(&model, end, encoding);
        model.replace_range(a.min(b)..a.max(b), &text);
        document.apply_change(
            &TextChange { range: Some(PositionRange::new(start, end)), text },
            encoding,
        );
        assert_eq!(document.text(), model);
    }
});
