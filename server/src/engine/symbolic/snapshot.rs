//! Document snapshots built from a series of texts, as a client would send them: the fixture
//! format of the symbolic engine's tests, and the input of `nextedit bench`'s symbolic section.

use std::ops::Range;
use std::time::Instant;

use crate::engine::documents::{DocumentSnapshot, Documents};
use crate::text::position::byte_to_position;
use crate::text::{HistoryConfig, PositionEncoding, PositionRange, TextChange, common_affixes};

/// Opens `texts[0]` as `path` and turns it into each following text with one change each (the
/// differing middle of consecutive texts), as a client would send them, all at the same instant.
pub fn snapshot_after_texts(path: &str, texts: &[&str]) -> DocumentSnapshot {
    snapshot_after_events(path, texts, &[])
}

/// Like [`snapshot_after_texts`], and the history is sealed (as an accepted suggestion seals it)
/// before the change into each `texts[i]` for `i` in `sealed_before`.
pub fn snapshot_after_events(
    path: &str,
    texts: &[&str],
    sealed_before: &[usize],
) -> DocumentSnapshot {
    let uri = format!("file:///{path}");
    let mut documents = Documents::new(HistoryConfig::default());
    documents.open(&uri, "", 0, texts[0]);
    let now = Instant::now();
    for (version, pair) in texts.windows(2).enumerate() {
        let (old, new) = (pair[0], pair[1]);
        if sealed_before.contains(&(version + 1)) {
            documents.seal_history(&uri);
        }
        let (prefix, suffix) = common_affixes(old, new);
        let new_text = &new[prefix..new.len() - suffix];
        apply(&mut documents, &uri, version as i32 + 1, prefix..old.len() - suffix, new_text, now);
    }
    documents.ensure_parsed(&uri);
    documents.snapshot(&uri).expect("the document was just opened")
}

fn apply(
    documents: &mut Documents,
    uri: &str,
    version: i32,
    range: Range<usize>,
    new_text: &str,
    now: Instant,
) {
    let rope = documents.get(uri).expect("open document").document.rope().clone();
    let start = byte_to_position(&rope, range.start, PositionEncoding::Utf8);
    let end = byte_to_position(&rope, range.end, PositionEncoding::Utf8);
    let change =
        TextChange { range: Some(PositionRange::new(start, end)), text: new_text.to_owned() };
    // The version always increases here, and the document is open: this cannot fail.
    let _ = documents.apply_changes(uri, version, &[change], PositionEncoding::Utf8, now);
}
