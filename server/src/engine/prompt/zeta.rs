//! The Zeta format: markdown-like sections (`### Instruction:`, `### User Edits:`,
//! `### User Excerpt:`, `### Response:`); the excerpt marks the editable region with
//! `<|editable_region_start|>` and `<|editable_region_end|>` and the cursor with
//! `<|user_cursor_is_here|>`. The model answers with the rewritten region between the same two
//! markers.

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

/// Our own wording of the task, in the shape the Zeta model was trained on.
const INSTRUCTION: &str = "You help a programmer by predicting their next edit. Study the edits they made so far, \
then rewrite the editable region of the excerpt the way they are about to change it, paying attention to where \
their cursor is.";

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
        let max_tokens = output_budget(count_tokens(&region_text), budget)?;

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
                format!(
                    "User edited \"{}\":\n```diff\n{}```\n\n",
                    event.path,
                    ensure_trailing_newline(&event.unified_diff)
                )
            },
        );

        Ok(BuiltPrompt {
            prompt: format!("{head}{history}{tail}"),
            stop: vec![REGION_END.to_owned()],
            region,
            draft: region_draft(&region_text),
            region_text,
            max_tokens,
        })
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
    excerpt.push_str(REGION_END);
    excerpt.push('\n');
    excerpt.push_str(&ensure_trailing_newline(&defang(&ctx.text[after], &[])));
    Ok(excerpt)
}

/// What the model writes when it keeps the region as it is.
pub(super) fn region_draft(region_text: &str) -> String {
    format!("{REGION_START}\n{region_text}{REGION_END}")
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
            You help a programmer by predicting their next edit. Study the edits they made so far, then rewrite the editable region of the excerpt the way they are about to change it, paying attention to where their cursor is.

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
            runaway: error: the model output repeats itself
        "#]]
        .assert_eq(&parse_all(&ZetaFormat, &built, &outputs));
    }
}
