//! Random edits in all three encodings, applied to a rope document and to a plain `String` with
//! an independent, naive position model; the texts must agree after every step.

use super::reference::naive_offset;
use super::{Document, Position, PositionEncoding, PositionRange, TextChange};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

const PIECES: &[&str] =
    &["a", "é", "😀", "漢", "\n", "\r\n", "\r", "\u{2028}", "xyz", "", "  \t", "🇫🇷"];

fn random_text(rng: &mut Rng, pieces: usize) -> String {
    (0..pieces).map(|_| PIECES[rng.below(PIECES.len() as u64) as usize]).collect()
}

fn random_position(rng: &mut Rng, lines: u32) -> Position {
    let line = match rng.below(20) {
        0 => u32::MAX,
        1 => lines + rng.below(3) as u32,
        _ => rng.below(u64::from(lines) + 1) as u32,
    };
    let character = match rng.below(20) {
        0 => u32::MAX,
        _ => rng.below(16) as u32,
    };
    Position::new(line, character)
}

#[test]
fn random_edits_match_a_string_model() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let encodings = [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32];
    let mut cases = 0;
    for _document in 0..200 {
        let initial = random_text(&mut rng, 20);
        let mut document = Document::new("file:///p", "text", 0, &initial);
        let mut model = initial.clone();
        for _ in 0..60 {
            let encoding = encodings[rng.below(3) as usize];
            let lines = model.split('\n').count() as u32 + 1;
            let start = random_position(&mut rng, lines);
            let end = if rng.below(3) == 0 { start } else { random_position(&mut rng, lines) };
            let pieces = rng.below(4) as usize;
            let new_text = random_text(&mut rng, pieces);
            let a = naive_offset(&model, start, encoding);
            let b = naive_offset(&model, end, encoding);
            let (a, b) = (a.min(b), a.max(b));
            model.replace_range(a..b, &new_text);
            let change =
                TextChange { range: Some(PositionRange::new(start, end)), text: new_text.clone() };
            let applied = document.apply_change(&change, encoding);
            assert_eq!(document.text(), model, "after {change:?} in {encoding:?}");
            assert_eq!((applied.start_byte, applied.old_end_byte), (a, b));
            cases += 1;
        }
    }
    assert!(cases >= 10_000, "{cases} cases");
}
