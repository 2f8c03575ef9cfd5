//! Random `didChange` notifications (one to three changes each, in any of the three position
//! encodings, some replacing the whole text) applied to an open document: rope, edit history and
//! syntax tree together, as the server applies them. The text must match a plain string edited
//! with the naive reference model, and nothing may panic: not the reparse, not rendering the
//! history, not building a prediction context, not the symbolic engine.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use nextedit::engine::context::{self, ContextBudget};
use nextedit::engine::documents::Documents;
use nextedit::engine::model::scripted::count_scripted_tokens;
use nextedit::engine::symbolic;
use nextedit::text::reference::naive_offset;
use nextedit::text::{HistoryConfig, Position, PositionEncoding, PositionRange, TextChange};

const PIECES: &[&str] = &[
    "a",
    "count",
    "total",
    "é",
    "😀",
    "漢",
    "\n",
    "\r\n",
    "\r",
    "\u{2028}",
    "",
    "\t",
    "(",
    ")",
    "{",
    "}",
    "fn f(x: u8) {}\n",
    "let count = 1;\n",
    "\"",
    "//",
    "\u{0}",
];

const URI: &str = "file:///fuzz/a.rs";

fuzz_target!(|data: &[u8]| {
    let start_time = Instant::now();
    let mut documents = Documents::new(HistoryConfig::default());
    let initial = "fn main() {\n    let count = 1;\n    println!(\"{count}\");\n}\n";
    documents.open(URI, "rust", 0, initial);
    let mut model = initial.to_owned();
    let mut version = 0;
    let mut clock = Duration::ZERO;
    for notification in data.chunks(13) {
        let [kind, count, rest @ ..] = notification else { return };
        let encoding = match kind % 3 {
            0 => PositionEncoding::Utf8,
            1 => PositionEncoding::Utf16,
            _ => PositionEncoding::Utf32,
        };
        let mut changes = Vec::new();
        for change in rest.chunks(5).take(usize::from(count % 3) + 1) {
            let [sl, sc, el, ec, piece] = *change else { break };
            let big = |v: u8| if v == 255 { u32::MAX } else { u32::from(v % 12) };
            let text =
                PIECES[usize::from(piece) % PIECES.len()].repeat(usize::from(piece / 64) + 1);
            if sl == 254 {
                // A whole-text replacement.
                model = text.clone();
                changes.push(TextChange { range: None, text });
                continue;
            }
            let start = Position::new(big(sl), big(sc));
            let end = Position::new(big(el), big(ec));
            let a = naive_offset(&model, start, encoding);
            let b = naive_offset(&model, end, encoding);
            model.replace_range(a.min(b)..a.max(b), &text);
            changes.push(TextChange { range: Some(PositionRange::new(start, end)), text });
        }
        version += 1;
        clock += Duration::from_millis(u64::from(*kind) * 8);
        documents.apply_changes(URI, version, &changes, encoding, start_time + clock).unwrap();
        let open = documents.get(URI).unwrap();
        assert_eq!(open.document.text(), model);
        assert_eq!(open.document.version, version);
        if kind % 4 == 0 {
            documents.ensure_parsed(URI);
            let snapshot = documents.snapshot(URI).unwrap();
            if let Some(tree) = &snapshot.tree {
                assert!(tree.root_node().end_byte() <= model.len());
            }
            for event in snapshot.history.events() {
                let _ = event.unified_diff(2, Duration::from_millis(20));
            }
            let cursor = usize::from(*count) * 7 % (model.len() + 1);
            let built = context::build(
                &snapshot,
                "a.rs",
                cursor,
                &[],
                &count_scripted_tokens,
                ContextBudget::default(),
            );
            assert!(built.editable_region.end <= built.text.len());
            assert!(built.text.is_char_boundary(built.editable_region.start));
            assert!(built.text.is_char_boundary(built.editable_region.end));
            for proposal in symbolic::propose(&snapshot) {
                for edit in &proposal.edits {
                    assert!(edit.range.start <= edit.range.end && edit.range.end <= model.len());
                }
            }
        }
    }
});
