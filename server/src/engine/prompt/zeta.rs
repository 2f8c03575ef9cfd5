//! The Zeta (Zeta 1) format, as Zed's `crates/zeta_prompt/src/zeta_prompt.rs` (module `zeta1`)
//! lays it out: markdown-like sections (`### Instruction:` with the one instruction Zeta was
//! fine-tuned on, `### User Edits:`, `### User Excerpt:`, `### Response:`); the excerpt marks the
//! editable region with `<|editable_region_start|>` and `<|editable_region_end|>` and the cursor
//! with `<|user_cursor_is_here|>`. The model answers with the start marker, the rewritten region
//! and the end marker (the stop string).

use std::ops::Range;

use crate::engine::context::PredictionContext;

use super::{
    BuiltPrompt, ParseError, PromptBudget, PromptError, PromptFormat, PromptFormatKind,
    check_context, check_region, context_around, defang, ensure_trailing_newline, find_reserved,
    is_runaway, output_budget, render_events,
};

pub(super) const REGION_START: &str = "<|editable_region_start|>";
pub(super) const REGION_END: &str = "<|editable_region_end|>";
pub(super) const CURSOR: &str = "<|user_cursor_is_here|>";
pub(super) const START_OF_FILE: &str = "<|start_of_file|>";

/// The instruction Zeta was trained on, verbatim. Source: zed-industries/zed,
/// `crates/zeta_prompt/src/zeta_prompt.rs`, `zeta1::INSTRUCTION_HEADER`.
const INSTRUCTION: &str = "You are a code completion assistant and your task is to analyze user edits and then \
rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into \
account the cursor location.";

#[derive(Debug, Clone, Copy, Default)]
pub struct ZetaFormat;

impl PromptFormat for ZetaFormat {
    fn kind(&self) -> PromptFormatKind {
        PromptFormatKind::Zeta
    }

    fn build(
        &self,
        ctx: &PredictionContext,
        count_tokens: &dyn Fn(&str) -> usize,
        budget: &PromptBudget,
    ) -> Result<BuiltPrompt, PromptError> {
        check_context(ctx)?;
        let region = ctx.editable_region.clone();
        let excerpt = render_excerpt(ctx, &region, count_tokens, budget)?;
        let region_text = ctx.text[region.clone()].to_owned();
        let max_tokens = output_budget(count_tokens(&region_text), budget, 0)?;
        let budget = &budget.with_output(max_tokens);

        let head = format!("### Instruction:\n{INSTRUCTION}\n\n### User Edits:\n\n");
        let tail = format!(
            "### User Excerpt:\n\n```{}\n{excerpt}```\n\n### Response:\n",
            defang(&ctx.path, &[])
        );
        let fixed_tokens = count_tokens(&head) + count_tokens(&tail);
        if fixed_tokens > budget.max_prompt_tokens {
            return Err(PromptError::RegionTooLarge {
                tokens: fixed_tokens,
                budget: budget.max_prompt_tokens,
            });
        }
        let history = render_events(
            &ctx.events,
            budget.max_history_tokens.min(budget.max_prompt_tokens - fixed_tokens),
            count_tokens,
            &[],
            &|event| {
                // Events are joined by a blank line, and the diff keeps its own final line break
                // before the closing fence.
                format!(
                    "User edited \"{}\":\n```diff\n{}\n```\n\n",
                    event.path,
                    ensure_trailing_newline(&event.unified_diff)
                )
            },
        );
        let separator = if history.is_empty() { "\n\n" } else { "" };

        Ok(BuiltPrompt {
            prompt: format!("{head}{history}{separator}{tail}"),
            stop: vec![REGION_END.to_owned()],
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
        parse_marked_region(output, &built.region_text)
    }
}

/// The excerpt with the region markers and the cursor marker, read-only context on both sides.
pub(super) fn render_excerpt(
    ctx: &PredictionContext,
    region: &Range<usize>,
    count_tokens: &dyn Fn(&str) -> usize,
    budget: &PromptBudget,
) -> Result<String, PromptError> {
    let region_text = &ctx.text[region.clone()];
    check_region(region_text, &[])?;
    let (before, after) =
        context_around(&ctx.text, region, &ctx.excerpt, budget.max_context_tokens, count_tokens);
    let mut excerpt = String::new();
    if before.start == 0 {
        excerpt.push_str(START_OF_FILE);
        excerpt.push('\n');
    }
    excerpt.push_str(&defang(&ctx.text[before], &[]));
    excerpt.push_str(REGION_START);
    excerpt.push('\n');
    if region.contains(&ctx.cursor) || ctx.cursor == region.end {
        let cursor = ctx.cursor - region.start;
        excerpt.push_str(&region_text[..cursor]);
        excerpt.push_str(CURSOR);
        excerpt.push_str(&region_text[cursor..]);
    } else {
        excerpt.push_str(region_text);
    }
    if !region_text.ends_with('\n') {
        // The end marker goes on a line of its own, also at the end of a file without a final
        // line break.
        excerpt.push('\n');
    }
    excerpt.push_str(REGION_END);
    excerpt.push('\n');
    excerpt.push_str(&ensure_trailing_newline(&defang(&ctx.text[after], &[])));
    Ok(excerpt)
}

/// What the model writes when it keeps the region as it is.
pub(super) fn region_draft(region_text: &str) -> String {
    let newline = if region_text.ends_with('\n') { "" } else { "\n" };
    format!("{REGION_START}\n{region_text}{newline}{REGION_END}")
}

/// The text between exactly one start marker and exactly one end marker, without cursor markers.
pub(super) fn parse_marked_region(output: &str, region_text: &str) -> Result<String, ParseError> {
    match output.matches(REGION_START).count() {
        0 => return Err(ParseError::MissingMarker(REGION_START)),
        1 => {}
        _ => return Err(ParseError::DoubledMarker(REGION_START)),
    }
    match output.matches(REGION_END).count() {
        0 => return Err(ParseError::MissingMarker(REGION_END)),
        1 => {}
        _ => return Err(ParseError::DoubledMarker(REGION_END)),
    }
    let start = output.find(REGION_START).map_or(0, |index| index + REGION_START.len());
    let Some(end) = output[start..].find(REGION_END).map(|index| start + index) else {
        return Err(ParseError::MissingMarker(REGION_END));
    };
    let body = &output[start..end];
    let body = body.strip_prefix('\n').unwrap_or(body);
    // A region without a final line break was shown with one before the end marker.
    let body = match body.strip_suffix('\n') {
        Some(stripped) if !region_text.ends_with('\n') => stripped,
        _ => body,
    };
    let body = body.replace(CURSOR, "");
    if let Some(token) = find_reserved(&body, &[]) {
        return Err(ParseError::ReservedToken(token));
    }
    if body.trim().is_empty() && !region_text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    if is_runaway(&body, region_text) {
        return Err(ParseError::Repetition);
    }
    Ok(body)
}

/// What the model writes to turn the region into `new_region`, stop marker included.
fn answer_text(new_region: &str) -> String {
    region_draft(new_region)
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::engine::prompt::test_support::{count_tokens, parse_all, shapes_context};

    #[test]
    fn builds_the_zeta_prompt() {
        let ctx = shapes_context();
        let built = ZetaFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        expect![[r####"
            ### Instruction:
            You are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.

            ### User Edits:

            User edited "src/shapes.rs":
            ```diff
            @@ -1,4 +1,4 @@
             pub struct Rect {
            -    pub w: f64,
            +    pub width: f64,
                 pub height: f64,
             }

            ```

            ### User Excerpt:

            ```src/shapes.rs
            <|start_of_file|>
            pub struct Rect {
                pub width: f64,
                pub height: f64,
            }

            impl Rect {
                pub fn area(&self) -> f64 {
                    self.width * self.height
                }
            <|editable_region_start|>

                pub fn perimeter(&self) -> f64 {
                    2.0 * (self.width + self.height)<|user_cursor_is_here|>
                }
            }
            <|editable_region_end|>
            ```

            ### Response:
        "####]]
        .assert_eq(&built.prompt);
        expect![[r#"
            <|editable_region_start|>

                pub fn perimeter(&self) -> f64 {
                    2.0 * (self.width + self.height)
                }
            }
            <|editable_region_end|>"#]]
        .assert_eq(&built.draft);
    }

    /// The layout of the reference (`zeta1::format_zeta1_prompt` and its event and excerpt
    /// rendering in Zed's `crates/zeta_prompt/src/zeta_prompt.rs`), written out by hand.
    #[test]
    fn matches_the_reference_layout() {
        let fixture = "fn main() {\n    let x$0 = 1;\n    println!(\"{x}\");\n}\n";
        let diff = "@@ -1,3 +1,3 @@\n fn main() {\n-    let y = 1;\n+    let x = 1;\n     println!(\"{x}\");\n";
        let mut ctx = crate::engine::prompt::test_support::context(fixture, 0, Vec::new());
        ctx.path = "src/main.rs".to_owned();
        let mut event = crate::engine::prompt::test_support::event("", "", diff);
        event.path = "src/main.rs".to_owned();
        ctx.events = vec![event.clone(), event];
        let built = ZetaFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let instruction = "### Instruction:\nYou are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.\n\n### User Edits:\n\n";
        let event = format!("User edited \"src/main.rs\":\n```diff\n{diff}\n```");
        let excerpt = "```src/main.rs\n<|start_of_file|>\nfn main() {\n<|editable_region_start|>\n    let x<|user_cursor_is_here|> = 1;\n<|editable_region_end|>\n    println!(\"{x}\");\n}\n```";
        assert_eq!(
            built.prompt,
            format!(
                "{instruction}{event}\n\n{event}\n\n### User Excerpt:\n\n{excerpt}\n\n### Response:\n"
            )
        );
        ctx.events.clear();
        let built = ZetaFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        assert_eq!(
            built.prompt,
            format!("{instruction}\n\n### User Excerpt:\n\n{excerpt}\n\n### Response:\n")
        );
    }

    #[test]
    fn small_context_budget_keeps_the_nearest_lines() {
        let ctx = shapes_context();
        let budget = PromptBudget { max_context_tokens: 12, ..PromptBudget::default() };
        let built = ZetaFormat.build(&ctx, &count_tokens, &budget).unwrap();
        let excerpt = &built.prompt[built.prompt.find("```src").unwrap()..];
        expect![[r#"
            ```src/shapes.rs
                    self.width * self.height
                }
            <|editable_region_start|>

                pub fn perimeter(&self) -> f64 {
                    2.0 * (self.width + self.height)<|user_cursor_is_here|>
                }
            }
            <|editable_region_end|>
            ```

            ### Response:
        "#]]
        .assert_eq(excerpt);
    }

    #[test]
    fn parses_zeta_output() {
        let ctx = shapes_context();
        let built = ZetaFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let region = built.region_text.clone();
        let edited = region.replace("self.height)", "self.height).abs()");
        let outputs = [
            ("unchanged", built.draft.clone()),
            ("edited with cursor", format!("{REGION_START}\n{}{CURSOR}{REGION_END}", edited)),
            (
                "leading context",
                format!("```src/shapes.rs\n    }}\n\n{REGION_START}\n{edited}{REGION_END}"),
            ),
            ("missing start", format!("{edited}{REGION_END}")),
            ("missing end", format!("{REGION_START}\n{edited}")),
            ("doubled start", format!("{REGION_START}\n{REGION_START}\n{edited}{REGION_END}")),
            ("doubled end", format!("{REGION_START}\n{edited}{REGION_END}{REGION_END}")),
            ("end before start", format!("{REGION_END}{REGION_START}\n{edited}")),
            ("reserved token", format!("{REGION_START}\n<|im_start|>{edited}{REGION_END}")),
            ("empty", String::new()),
            ("empty region", format!("{REGION_START}\n{REGION_END}")),
            ("truncated", format!("{REGION_START}\n{}", &edited[..edited.len() / 2])),
            ("runaway", format!("{REGION_START}\n{}{REGION_END}", "    }\n".repeat(30))),
        ];
        expect![[r#"
            unchanged: no change
            edited with cursor: ok "\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height).abs()\n    }\n}\n"
            leading context: ok "\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height).abs()\n    }\n}\n"
            missing start: error: the model output lacks the marker <|editable_region_start|>
            missing end: error: the model output lacks the marker <|editable_region_end|>
            doubled start: error: the model output repeats the marker <|editable_region_start|>
            doubled end: error: the model output repeats the marker <|editable_region_end|>
            end before start: error: the model output lacks the marker <|editable_region_end|>
            reserved token: error: the model output contains the reserved token <|im_start|>
            empty: error: the model output lacks the marker <|editable_region_start|>
            empty region: error: the model output is empty
            truncated: error: the model output lacks the marker <|editable_region_end|>
            runaway: error: the model output repeats itself
        "#]]
        .assert_eq(&parse_all(&ZetaFormat, &built, &outputs));
    }
}
