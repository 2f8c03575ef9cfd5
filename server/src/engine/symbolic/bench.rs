//! A self-contained measurement of the symbolic engine, and the snapshot builder tests share.

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::engine::documents::{DocumentSnapshot, Documents};
use crate::text::position::byte_to_position;
use crate::text::{HistoryConfig, PositionEncoding, PositionRange, TextChange};

/// Opens `texts[0]` as `path` and turns it into each following text with one change each (the
/// differing middle of consecutive texts), as a client would send them, all at the same instant.
pub(crate) fn snapshot_after_texts(path: &str, texts: &[&str]) -> DocumentSnapshot {
    let uri = format!("file:///{path}");
    let mut documents = Documents::new(HistoryConfig::default());
    documents.open(&uri, "", 0, texts[0]);
    let now = Instant::now();
    for (version, pair) in texts.windows(2).enumerate() {
        let (range, new_text) = differing_middle(pair[0], pair[1]);
        apply(&mut documents, &uri, version as i32 + 1, range, new_text, now);
    }
    documents.ensure_parsed(&uri);
    documents.snapshot(&uri).expect("the document was just opened")
}

/// The byte range of `old` and the text of `new` that differ, after common prefix and suffix.
pub(crate) fn differing_middle<'n>(old: &str, new: &'n str) -> (Range<usize>, &'n str) {
    let mut prefix = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    (prefix..old.len() - suffix, &new[prefix..new.len() - suffix])
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

/// A Rust file of about `lines` lines made of similar functions.
fn generated_file(lines: usize) -> String {
    let mut text = String::from("use std::collections::HashMap;\n\n");
    let mut index = 0;
    while text.lines().count() < lines {
        text.push_str(&format!(
            "/// Sums the first `count` values: {index}.\n\
             pub fn function_{index}(input: &[u32], count: usize, map: &HashMap<u32, u32>) -> usize {{\n\
             \x20   let mut total = 0;\n\
             \x20   for value in input.iter().take(count) {{\n\
             \x20       total += *value as usize + count;\n\
             \x20       let entry = map.get(value).copied().unwrap_or(0);\n\
             \x20       total += helper(entry, \"count\");\n\
             \x20   }}\n\
             \x20   total\n\
             }}\n\n"
        ));
        index += 1;
    }
    text
}

/// The latency of the symbolic engine in one scenario.
#[derive(Debug, Clone)]
pub struct BenchResult {
    pub scenario: &'static str,
    pub lines: usize,
    pub p50: Duration,
    pub p99: Duration,
}

pub(super) fn run(lines: usize) -> Vec<BenchResult> {
    let text = generated_file(lines);
    let lines = text.lines().count();
    let middle = text.len() / 2;
    let function_start = text[..middle].rfind("pub fn").unwrap_or(0);
    // A rename of a parameter in the middle of the file.
    let parameter = function_start + text[function_start..].find("count: usize").unwrap_or(0);
    let renamed = format!("{}limit{}", &text[..parameter], &text[parameter + "count".len()..]);
    // A rename of a function that every other function calls.
    let helper = text.find("helper(").unwrap_or(0);
    let global = format!("{}assist{}", &text[..helper], &text[helper + "helper".len()..]);
    // A repeated edit: an argument added to one call.
    let call =
        function_start + text[function_start..].find("helper(entry, \"count\")").unwrap_or(0);
    let call_end = call + "helper(entry, \"count\"".len();
    let repeated = format!("{}, 3{}", &text[..call_end], &text[call_end..]);
    // Typing in the middle of a line that nothing follows from.
    let typed = format!("{}// note\n{}", &text[..function_start], &text[function_start..]);
    let scenarios = [
        ("rename a local", snapshot_after_texts("bench.rs", &[&text, &renamed])),
        ("rename a function", snapshot_after_texts("bench.rs", &[&text, &global])),
        ("repeated edit", snapshot_after_texts("bench.rs", &[&text, &repeated])),
        ("unrelated edit", snapshot_after_texts("bench.rs", &[&text, &typed])),
    ];
    // The first call compiles the locals query of the language, once per process.
    std::hint::black_box(super::propose(&scenarios[0].1));
    scenarios
        .iter()
        .map(|(scenario, snapshot)| {
            let mut samples: Vec<Duration> = (0..200)
                .map(|_| {
                    let started = Instant::now();
                    std::hint::black_box(super::propose(snapshot));
                    started.elapsed()
                })
                .collect();
            samples.sort();
            let percentile = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
            BenchResult { scenario, lines, p50: percentile(50), p99: percentile(99) }
        })
        .collect()
}
