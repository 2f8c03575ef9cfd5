//! The Zeta 2 format (Zed's Seed-Coder fine-tune), as Zed's `crates/zeta_prompt/src/zeta_prompt.rs`
//! (module `seed_coder`) lays it out: Seed-Coder's fill-in-the-middle tokens in suffix-prefix-middle
//! order. The suffix holds the code after the editable region; the prefix holds the related files
//! and the edit history, each under a `<filename>` marker, then the current file's code before the
//! region and the region itself between merge-conflict markers, with `<|user_cursor|>` at the
//! cursor:
//!
//! ```text
//! <[fim-suffix]>{code after the region}
//! <[fim-prefix]><filename>{related path}
//! {related text}
//!
//! <filename>edit_history
//! --- a/{path}
//! +++ b/{path}
//! {hunks}
//!
//! <filename>{path}
//! {code before the region}<<<<<<< CURRENT
//! {region with <|user_cursor|>}
//! =======
//! <[fim-middle]>
//! ```
//!
//! The model answers with the new region and `>>>>>>> UPDATED`, or with `NO_EDITS`.

use crate::engine::context::PredictionContext;

use super::{
    BuiltPrompt, ParseError, PromptBudget, PromptError, PromptFormat, PromptFormatKind,
    check_context, check_region, context_around, defang, ensure_trailing_newline, find_reserved,
    is_runaway, output_budget, render_events, render_related,
};

// Seed-Coder's FIM tokens and Zeta 2's markers, verbatim. Source: zed-industries/zed,
// `crates/zeta_prompt/src/zeta_prompt.rs`, module `seed_coder` (and `CURSOR_MARKER`).
const FIM_SUFFIX: &str = "<[fim-suffix]>";
const FIM_PREFIX: &str = "<[fim-prefix]>";
const FIM_MIDDLE: &str = "<[fim-middle]>";
const FILE_MARKER: &str = "<filename>";
const START_MARKER: &str = "<<<<<<< CURRENT\n";
const SEPARATOR: &str = "=======\n";
const END_MARKER: &str = ">>>>>>> UPDATED";
const CURSOR: &str = "<|user_cursor|>";
const EDIT_HISTORY: &str = "edit_history";
/// What the model answers when it proposes no change.
const NO_EDITS: &str = "NO_EDITS";
/// Seed-Coder's end of sequence.
const END_OF_SENTENCE: &str = "<[end\u{2581}of\u{2581}sentence]>";
const RESERVED: &[&str] =
    &[FIM_SUFFIX, FIM_PREFIX, FIM_MIDDLE, FILE_MARKER, CURSOR, START_MARKER, END_MARKER, SEPARATOR];

#[derive(Debug, Clone, Copy, Default)]
pub struct Zeta2Format;

impl PromptFormat for Zeta2Format {
    fn kind(&self) -> PromptFormatKind {
        PromptFormatKind::Zeta2
    }

    fn build(
        &self,
        ctx: &PredictionContext,
        count_tokens: &dyn Fn(&str) -> usize,
        budget: &PromptBudget,
    ) -> Result<BuiltPrompt, PromptError> {
        check_context(ctx)?;
        let region = ctx.editable_region.clone();
        let region_text = ctx.text[region.clone()].to_owned();
        check_region(&region_text, RESERVED)?;
        let max_tokens = output_budget(count_tokens(&region_text), budget, 0)?;
        let budget = budget.with_output(max_tokens);
        let (before, after) = context_around(
            &ctx.text,
            &region,
            &ctx.excerpt,
            budget.max_context_tokens,
            count_tokens,
        );

        // The reference's region ends before its last line break, which so opens the suffix.
        let region_newline = if region_text.ends_with('\n') { "\n" } else { "" };
        let suffix =
            section(format!("{FIM_SUFFIX}{region_newline}{}", defang(&ctx.text[after], RESERVED)));
        let mut current = format!(
            "{FILE_MARKER}{}\n{}{START_MARKER}",
            defang(&ctx.path, RESERVED),
            defang(&ctx.text[before], RESERVED)
        );
        if region.contains(&ctx.cursor) || ctx.cursor == region.end {
            let cursor = ctx.cursor - region.start;
            current.push_str(&region_text[..cursor]);
            current.push_str(CURSOR);
            current.push_str(&region_text[cursor..]);
        } else {
            current.push_str(&region_text);
        }
        let mut current = section(current);
        current.push_str(SEPARATOR);

        let fixed_tokens = count_tokens(&suffix) + count_tokens(&current) + 2;
        if fixed_tokens > budget.max_prompt_tokens {
            return Err(PromptError::RegionTooLarge {
                tokens: fixed_tokens,
                budget: budget.max_prompt_tokens,
            });
        }
        let mut remaining = budget.max_prompt_tokens - fixed_tokens;
        let events = render_events(
            &ctx.events,
            budget.max_history_tokens.min(remaining),
            count_tokens,
            RESERVED,
            &|event| {
                format!(
                    "--- a/{path}\n+++ b/{path}\n{}",
                    ensure_trailing_newline(&event.unified_diff),
                    path = event.path
                )
            },
        );
        let history = if events.is_empty() {
            String::new()
        } else {
            format!("{FILE_MARKER}{EDIT_HISTORY}\n{events}\n")
        };
        remaining = remaining.saturating_sub(count_tokens(&history));
        let related = render_related(
            &ctx.related,
            budget.max_related_tokens.min(remaining),
            count_tokens,
            RESERVED,
            &|snippet| section(format!("{FILE_MARKER}{}\n{}", snippet.path, snippet.text)),
        );
        let related = if related.is_empty() { related } else { format!("{related}\n") };

        Ok(BuiltPrompt {
            prompt: format!("{suffix}{FIM_PREFIX}{related}{history}{current}{FIM_MIDDLE}"),
            stop: vec![END_MARKER.to_owned(), END_OF_SENTENCE.to_owned()],
            region,
            draft: answer_text(&region_text),
            region_text,
            max_tokens,
        })
    }

    fn answer(&self, new_region: &str, _built: &BuiltPrompt) -> String {
        answer_text(new_region)
    }

    fn parse(&self, output: &str, built: &BuiltPrompt) -> Result<String, ParseError> {
        let body = output.strip_suffix(END_OF_SENTENCE).unwrap_or(output);
        if body.trim() == NO_EDITS {
            return Ok(built.region_text.clone());
        }
        let Some(body) =
            body.strip_suffix(END_MARKER).or_else(|| body.strip_suffix(">>>>>>> UPDATED\n"))
        else {
            // Without the end marker the answer was cut off (or is no answer at all).
            return Err(ParseError::MissingMarker(END_MARKER));
        };
        if body.contains(END_MARKER) {
            return Err(ParseError::DoubledMarker(END_MARKER));
        }
        let body = body.replace(CURSOR, "");
        if let Some(token) = find_reserved(&body, RESERVED) {
            return Err(ParseError::ReservedToken(token));
        }
        if body.trim().is_empty() && !built.region_text.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        if is_runaway(&body, &built.region_text) {
            return Err(ParseError::Repetition);
        }
        let mut text = body;
        // The region was shown with a final line break; give it back only if it had one.
        if !built.region_text.ends_with('\n') && text.ends_with('\n') {
            text.pop();
        } else if built.region_text.ends_with('\n') && !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }
}

/// A section of the prompt, ending with a line break.
fn section(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// What the model writes to turn the region into `new_region`, stop marker included.
fn answer_text(new_region: &str) -> String {
    format!("{}{END_MARKER}", ensure_trailing_newline(new_region))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::engine::context::RelatedSnippet;
    use crate::engine::prompt::test_support::{count_tokens, parse_all, shapes_context};

    #[test]
    fn builds_the_zeta2_prompt() {
        let mut ctx = shapes_context();
        ctx.related.push(RelatedSnippet {
            path: "src/main.rs".to_owned(),
            text: "fn main() {}".to_owned(),
        });
        let built = Zeta2Format.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        expect![[r#"
            <[fim-suffix]>
            <[fim-prefix]><filename>src/main.rs
            fn main() {}

            <filename>edit_history
            --- a/src/shapes.rs
            +++ b/src/shapes.rs
            @@ -1,4 +1,4 @@
             pub struct Rect {
            -    pub w: f64,
            +    pub width: f64,
                 pub height: f64,
             }

            <filename>src/shapes.rs
            pub struct Rect {
                pub width: f64,
                pub height: f64,
            }

            impl Rect {
                pub fn area(&self) -> f64 {
                    self.width * self.height
                }
            <<<<<<< CURRENT

                pub fn perimeter(&self) -> f64 {
                    2.0 * (self.width + self.height)<|user_cursor|>
                }
            }
            =======
            <[fim-middle]>"#]]
        .assert_eq(&built.prompt);
        assert_eq!(&ctx.text[built.region.clone()], built.region_text);
    }

    /// The example prompt of the reference's module documentation (`seed_coder`), byte for byte.
    #[test]
    fn matches_the_reference_example() {
        let fixture = "code before editable region\ncode that\nneeds to$0\nbe rewritten\ncode after editable region\n";
        let mut ctx = crate::engine::prompt::test_support::context(fixture, 1, Vec::new());
        ctx.path = "path/to/target_file.py".to_owned();
        ctx.events.push(crate::engine::context::HistoryEvent {
            path: "some_file.py".to_owned(),
            old_text: "old\n".to_owned(),
            new_text: "new\n".to_owned(),
            unified_diff: "-old\n+new\n".to_owned(),
        });
        ctx.related.push(RelatedSnippet {
            path: "related/file.py".to_owned(),
            text: "related file content\n".to_owned(),
        });
        let built = Zeta2Format.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        assert_eq!(built.region_text, "code that\nneeds to\nbe rewritten\n");
        assert_eq!(
            built.prompt,
            "<[fim-suffix]>\ncode after editable region\n<[fim-prefix]><filename>related/file.py\nrelated file content\n\n<filename>edit_history\n--- a/some_file.py\n+++ b/some_file.py\n-old\n+new\n\n<filename>path/to/target_file.py\ncode before editable region\n<<<<<<< CURRENT\ncode that\nneeds to<|user_cursor|>\nbe rewritten\n=======\n<[fim-middle]>"
        );
    }

    #[test]
    fn parses_zeta2_output() {
        let ctx = shapes_context();
        let built = Zeta2Format.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let region = built.region_text.clone();
        let edited = region.replace("self.height)", "self.height).abs()");
        let outputs = [
            ("unchanged", built.draft.clone()),
            ("edited", format!("{edited}{END_MARKER}")),
            ("edited with cursor", format!("{}{CURSOR}{END_MARKER}", edited)),
            ("no edits", NO_EDITS.to_owned()),
            ("no edits with stop", format!("{NO_EDITS}\n{END_OF_SENTENCE}")),
            ("truncated", edited[..edited.len() / 2].to_owned()),
            ("missing final newline", format!("{}{END_MARKER}", edited.trim_end())),
            ("doubled end", format!("{edited}{END_MARKER}\n{edited}{END_MARKER}")),
            ("reserved token", format!("<[fim-prefix]>{edited}{END_MARKER}")),
            ("empty", END_MARKER.to_owned()),
            ("runaway", format!("{}{END_MARKER}", "    }\n".repeat(30))),
        ];
        expect![[r#"
            unchanged: no change
            edited: ok "\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height).abs()\n    }\n}\n"
            edited with cursor: ok "\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height).abs()\n    }\n}\n"
            no edits: no change
            no edits with stop: no change
            truncated: error: the model output lacks the marker >>>>>>> UPDATED
            missing final newline: ok "\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height).abs()\n    }\n}\n"
            doubled end: error: the model output repeats the marker >>>>>>> UPDATED
            reserved token: error: the model output contains the reserved token <[fim-prefix]>
            empty: error: the model output is empty
            runaway: error: the model output repeats itself
        "#]].assert_eq(&parse_all(&Zeta2Format, &built, &outputs));
    }
}
