//! Arbitrary model output fed to every prompt format's parser (sweep, zeta, zeta2, instinct, fim in
//! each token spelling, plain), and whatever parses fed on through
//! the rest of the pipeline: the region diff, the edit minimizer and the checks. Nothing may panic,
//! and the edits of the diff must turn the old region into exactly the parsed one.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use nextedit::engine::context::{HistoryEvent, PredictionContext, PreviousText};
use nextedit::engine::model::scripted::count_scripted_tokens;
use nextedit::engine::prompt::{
    BuiltPrompt, ModelMetadata, PromptBudget, PromptFormatKind, format_for,
};
use nextedit::engine::{diff, suggestion, validate};

const TEXT: &str = "pub struct Rect {\n    pub width: f64,\n    pub height: f64,\n}\n\nimpl Rect {\n    pub fn area(&self) -> f64 {\n        self.width * self.height\n    }\n\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height)\n    }\n}\n";

/// One set-up per format (and FIM token spelling): the metadata, and the prompt built for it.
fn setups() -> &'static Vec<(PromptFormatKind, ModelMetadata, BuiltPrompt)> {
    static SETUPS: OnceLock<Vec<(PromptFormatKind, ModelMetadata, BuiltPrompt)>> = OnceLock::new();
    SETUPS.get_or_init(|| {
        let cursor = TEXT.find("self.height)").unwrap();
        let line_start = TEXT[..cursor].rfind('\n').map_or(0, |i| i + 1);
        let region_start = TEXT[..line_start - 1].rfind('\n').map_or(0, |i| i + 1);
        let region_end = TEXT[cursor..].find("\n    }").map_or(TEXT.len(), |i| cursor + i + 1);
        let context = PredictionContext {
            path: "src/shapes.rs".to_owned(),
            language: Some("rust".to_owned()),
            text: TEXT.to_owned(),
            cursor,
            editable_region: region_start..region_end,
            excerpt: 0..TEXT.len(),
            events: vec![HistoryEvent {
                path: "src/shapes.rs".to_owned(),
                old_text: "    pub w: f64,\n".to_owned(),
                new_text: "    pub width: f64,\n".to_owned(),
                unified_diff: "@@ -2,1 +2,1 @@\n-    pub w: f64,\n+    pub width: f64,\n"
                    .to_owned(),
            }],
            previous: Some(PreviousText {
                text: TEXT.replacen("width", "w", 1),
                before_lines: 1..2,
                after_lines: 1..2,
            }),
            related: Vec::new(),
        };
        let fim_spellings: [&[&str]; 3] = [
            &["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"],
            &["<fim_prefix>", "<fim_suffix>", "<fim_middle>"],
            &["<PRE>", "<SUF>", "<MID>"],
        ];
        let mut setups = Vec::new();
        for kind in PromptFormatKind::ALL {
            let spellings: &[&[&str]] =
                if kind == PromptFormatKind::Fim { &fim_spellings } else { &[&[]] };
            for tokens in spellings {
                let metadata = ModelMetadata {
                    special_tokens: tokens.iter().map(|token| token.to_string()).collect(),
                    ..ModelMetadata::default()
                };
                let built = format_for(kind, &metadata)
                    .build(&context, &count_scripted_tokens, &PromptBudget::default())
                    .unwrap();
                setups.push((kind, metadata, built));
            }
        }
        setups
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, output)) = data.split_first() else { return };
    let setups = setups();
    let (kind, metadata, built) = &setups[usize::from(selector) % setups.len()];
    let output = String::from_utf8_lossy(output);
    // Half the inputs start from the draft (what an unchanged answer looks like), so the fuzzer
    // reaches past the marker checks.
    let output =
        if selector >= 128 { format!("{}{output}", built.draft) } else { output.into_owned() };
    let format = format_for(*kind, metadata);
    let Ok(new_region) = format.parse(&output, built) else { return };
    let edits =
        diff::region_edits(TEXT, built.region.clone(), &new_region, Duration::from_millis(20));
    let mut expected = TEXT.to_owned();
    expected.replace_range(built.region.clone(), &new_region);
    let applied =
        validate::apply_edits(TEXT, &edits).expect("the diff's edits are sorted and in range");
    assert_eq!(applied, expected);
    let minimized = suggestion::minimize_edits(TEXT, &edits);
    assert_eq!(validate::apply_edits(TEXT, &minimized).expect("minimized edits apply"), expected);
    let _ = suggestion::summarize(TEXT, &minimized);
    let _ = suggestion::fingerprint(TEXT, &minimized);
    let language = nextedit_grammars::by_id("rust");
    let tree = language.and_then(|language| nextedit::syntax::parse_str(language, TEXT));
    let input = validate::CheckInput {
        text: TEXT,
        tree: tree.as_ref(),
        language,
        last_event: None,
        region: Some(built.region.clone()),
    };
    let _ = validate::check(&input, &minimized);
});
