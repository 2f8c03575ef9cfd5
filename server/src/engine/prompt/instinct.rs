//! The Instinct format (a Qwen chat fine-tune): a system message, then a user message with
//! `### Context:`, `### User Edits:` and `### User Excerpt:` sections that use the Zeta markers.
//! The editable region is fixed: from the line above the cursor to five lines below it. The
//! assistant answers with the rewritten region between the Zeta markers.

use crate::engine::context::PredictionContext;

use super::zeta::{REGION_END, parse_marked_region, region_draft, render_excerpt};
use super::{
    BuiltPrompt, ParseError, PromptBudget, PromptError, PromptFormat, PromptFormatKind,
    check_context, defang, ensure_trailing_newline, lines_around, output_budget, render_events,
    render_related,
};

const IM_START: &str = "<|im_start|>";
const IM_END: &str = "<|im_end|>";

/// Our own wording of the task.
const SYSTEM_PROMPT: &str = "You are a coding assistant that predicts a programmer's next edit. You are shown related \
code, the edits the programmer made recently and an excerpt of the current file with an editable region and the \
cursor position. Answer with the editable region rewritten as the programmer will most likely change it next, \
between the same region markers. If no change is needed, repeat the region unchanged.";

#[derive(Debug, Clone, Copy, Default)]
pub struct InstinctFormat;

impl PromptFormat for InstinctFormat {
    fn kind(&self) -> PromptFormatKind {
        PromptFormatKind::Instinct
    }

    fn build(
        &self,
        ctx: &PredictionContext,
        count_tokens: &dyn Fn(&str) -> usize,
        budget: &PromptBudget,
    ) -> Result<BuiltPrompt, PromptError> {
        check_context(ctx)?;
        let region = lines_around(&ctx.text, ctx.cursor, 1, 5);
        let excerpt = render_excerpt(ctx, &region, count_tokens, budget)?;
        let region_text = ctx.text[region.clone()].to_owned();
        let max_tokens = output_budget(count_tokens(&region_text), budget)?;

        let head =
            format!("{IM_START}system\n{SYSTEM_PROMPT}{IM_END}\n{IM_START}user\n### Context:\n");
        let tail = format!(
            "### User Excerpt:\n{}\n\n{excerpt}{IM_END}\n{IM_START}assistant\n",
            defang(&ctx.path, &[])
        );
        let fixed_tokens = count_tokens(&head) + count_tokens(&tail);
        if fixed_tokens > budget.max_prompt_tokens {
            return Err(PromptError::RegionTooLarge {
                tokens: fixed_tokens,
                budget: budget.max_prompt_tokens,
            });
        }
        let mut remaining = budget.max_prompt_tokens - fixed_tokens;
        let history = render_events(
            &ctx.events,
            budget.max_history_tokens.min(remaining),
            count_tokens,
            &[],
            &|event| {
                format!(
                    "User edited file \"{}\"\n\n```diff\n{}```\n\n",
                    event.path,
                    ensure_trailing_newline(&event.unified_diff)
                )
            },
        );
        remaining = remaining.saturating_sub(count_tokens(&history));
        let related = render_related(
            &ctx.related,
            budget.max_related_tokens.min(remaining),
            count_tokens,
            &[],
            &|snippet| {
                format!("```{}\n{}```\n\n", snippet.path, ensure_trailing_newline(&snippet.text))
            },
        );

        Ok(BuiltPrompt {
            prompt: format!("{head}{related}\n### User Edits:\n\n{history}{tail}"),
            stop: vec![REGION_END.to_owned(), IM_END.to_owned()],
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

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::engine::context::RelatedSnippet;
    use crate::engine::prompt::test_support::{count_tokens, parse_all, shapes_context};
    use crate::engine::prompt::zeta::{CURSOR, REGION_START};

    #[test]
    fn builds_the_instinct_prompt() {
        let mut ctx = shapes_context();
        ctx.related.push(RelatedSnippet {
            path: "src/main.rs".to_owned(),
            text: "fn main() {}".to_owned(),
        });
        let built = InstinctFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        expect![[r#"
            <|im_start|>system
            You are a coding assistant that predicts a programmer's next edit. You are shown related code, the edits the programmer made recently and an excerpt of the current file with an editable region and the cursor position. Answer with the editable region rewritten as the programmer will most likely change it next, between the same region markers. If no change is needed, repeat the region unchanged.<|im_end|>
            <|im_start|>user
            ### Context:
            ```src/main.rs
            fn main() {}
            ```


            ### User Edits:

            User edited file "src/shapes.rs"

            ```diff
            @@ -1,4 +1,4 @@
             pub struct Rect {
            -    pub w: f64,
            +    pub width: f64,
                 pub height: f64,
             }
            ```

            ### User Excerpt:
            src/shapes.rs

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
            <|im_end|>
            <|im_start|>assistant
        "#]]
        .assert_eq(&built.prompt);
        assert_eq!(&ctx.text[built.region.clone()], built.region_text);
    }

    #[test]
    fn parses_instinct_output() {
        let ctx = shapes_context();
        let built = InstinctFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let region = built.region_text.clone();
        let edited = region.replace("perimeter", "circumference");
        let outputs = [
            ("unchanged", built.draft.clone()),
            ("edited", format!("{REGION_START}\n{CURSOR}{edited}{REGION_END}")),
            ("chat end without marker", format!("{REGION_START}\n{edited}{IM_END}")),
            ("doubled start", format!("{REGION_START}\n{edited}{REGION_START}\n{REGION_END}")),
            ("reserved token", format!("{REGION_START}\n{edited}<|endoftext|>{REGION_END}")),
            ("empty", String::new()),
            ("runaway", format!("{REGION_START}\n{}{REGION_END}", "x += 1;\n".repeat(100))),
        ];
        expect![[r#"
            unchanged: no change
            edited: ok "    pub fn circumference(&self) -> f64 {\n        2.0 * (self.width + self.height)\n    }\n}\n"
            chat end without marker: error: the model output lacks the marker <|editable_region_end|>
            doubled start: error: the model output repeats the marker <|editable_region_start|>
            reserved token: error: the model output contains the reserved token <|endoftext|>
            empty: error: the model output lacks the marker <|editable_region_start|>
            runaway: error: the model output repeats itself
        "#]]
        .assert_eq(&parse_all(&InstinctFormat, &built, &outputs));
    }
}
