//! The Sweep next-edit format: files separated by `<|file_sep|>`, history as `.diff` pseudo-files
//! with `original:` and `updated:` blocks, then a 21-line window around the cursor as it was before
//! the edits (`original/`) and as it is now (`current/`), and an open `updated/` file for the model
//! to write. There is no cursor marker.

use crate::engine::context::PredictionContext;

use super::{
    BuiltPrompt, ParseError, PromptBudget, PromptError, PromptFormat, PromptFormatKind,
    check_context, check_region, defang, ensure_trailing_newline, find_reserved, is_runaway,
    line_index, line_range, lines_around, output_budget, render_events, render_related, strip_stop,
};

const FILE_SEPARATOR: &str = "<|file_sep|>";
const END_OF_SEQUENCE: &str = "</s>";
/// Reserved on top of the model family's special tokens.
const RESERVED: &[&str] = &[END_OF_SEQUENCE];
/// Lines shown above and below the cursor line.
const WINDOW_LINES: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
pub struct SweepFormat;

impl PromptFormat for SweepFormat {
    fn kind(&self) -> PromptFormatKind {
        PromptFormatKind::Sweep
    }

    fn build(
        &self,
        ctx: &PredictionContext,
        count_tokens: &dyn Fn(&str) -> usize,
        budget: &PromptBudget,
    ) -> Result<BuiltPrompt, PromptError> {
        check_context(ctx)?;
        let region = lines_around(&ctx.text, ctx.cursor, WINDOW_LINES, WINDOW_LINES);
        let region_text = ctx.text[region.clone()].to_owned();
        check_region(&region_text, RESERVED)?;
        let path = defang(&ctx.path, RESERVED);

        let original_window = match &ctx.original_text {
            Some(original) => {
                let first_line = line_index(&ctx.text, region.start);
                let line_count = region_text.lines().count().max(1);
                defang(
                    &original[line_range(original, first_line..first_line + line_count)],
                    RESERVED,
                )
            }
            None => region_text.clone(),
        };
        let windows = format!(
            "{FILE_SEPARATOR}original/{path}\n{}{FILE_SEPARATOR}current/{path}\n{}{FILE_SEPARATOR}updated/{path}\n",
            ensure_trailing_newline(&original_window),
            ensure_trailing_newline(&region_text),
        );

        let region_tokens = count_tokens(&region_text);
        let max_tokens = output_budget(region_tokens, budget)?;
        let windows_tokens = count_tokens(&windows);
        if windows_tokens > budget.max_prompt_tokens {
            return Err(PromptError::RegionTooLarge {
                tokens: windows_tokens,
                budget: budget.max_prompt_tokens,
            });
        }
        let mut remaining = budget.max_prompt_tokens - windows_tokens;

        let history = render_events(
            &ctx.events,
            budget.max_history_tokens.min(remaining),
            count_tokens,
            RESERVED,
            &|event| {
                format!(
                    "{FILE_SEPARATOR}{}.diff\noriginal:\n{}updated:\n{}",
                    event.path,
                    ensure_trailing_newline(&event.old_text),
                    ensure_trailing_newline(&event.new_text),
                )
            },
        );
        remaining = remaining.saturating_sub(count_tokens(&history));
        let related = render_related(
            &ctx.related,
            budget.max_related_tokens.min(remaining),
            count_tokens,
            RESERVED,
            &|snippet| {
                format!(
                    "{FILE_SEPARATOR}{}\n{}",
                    snippet.path,
                    ensure_trailing_newline(&snippet.text)
                )
            },
        );

        Ok(BuiltPrompt {
            prompt: format!("{related}{history}{windows}"),
            stop: vec![FILE_SEPARATOR.to_owned(), END_OF_SEQUENCE.to_owned()],
            region,
            draft: format!("{}{FILE_SEPARATOR}", ensure_trailing_newline(&region_text)),
            region_text,
            max_tokens,
        })
    }

    fn parse(&self, output: &str, built: &BuiltPrompt) -> Result<String, ParseError> {
        let (body, _) = strip_stop(output, &built.stop);
        if let Some(token) = find_reserved(body, RESERVED) {
            return Err(ParseError::ReservedToken(token));
        }
        if body.trim().is_empty() && !built.region_text.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        if is_runaway(body, &built.region_text) {
            return Err(ParseError::Repetition);
        }
        let mut text = body.to_owned();
        if built.region_text.ends_with('\n') && !text.ends_with('\n') {
            text.push('\n');
        }
        if !built.region_text.ends_with('\n')
            && text.ends_with('\n')
            && !built.region_text.is_empty()
        {
            text.pop();
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::engine::context::RelatedSnippet;
    use crate::engine::prompt::test_support::{count_tokens, parse_all, shapes_context};

    #[test]
    fn builds_the_sweep_prompt() {
        let mut ctx = shapes_context();
        ctx.related.push(RelatedSnippet {
            path: "src/main.rs".to_owned(),
            text: "fn main() {}".to_owned(),
        });
        let built = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        expect![[r#"
            <|file_sep|>original/src/shapes.rs
                pub w: f64,
                pub height: f64,
            }

            impl Rect {
                pub fn area(&self) -> f64 {
                    self.w * self.height
                }

                pub fn perimeter(&self) -> f64 {
                    2.0 * (self.w + self.height)
                }
            }
            <|file_sep|>current/src/shapes.rs
                pub width: f64,
                pub height: f64,
            }

            impl Rect {
                pub fn area(&self) -> f64 {
                    self.width * self.height
                }

                pub fn perimeter(&self) -> f64 {
                    2.0 * (self.width + self.height)
                }
            }
            <|file_sep|>updated/src/shapes.rs
        "#]]
        .assert_eq(&built.prompt);
        // Ten lines above the cursor line leave out the first line.
        assert_eq!(built.region, ctx.text.find('\n').unwrap() + 1..ctx.text.len());
        assert_eq!(built.draft, format!("{}<|file_sep|>", built.region_text));
        expect![[r#"["<|file_sep|>", "</s>"]"#]].assert_eq(&format!("{:?}", built.stop));
    }

    #[test]
    fn rejects_reserved_tokens_in_the_window_and_drops_them_from_history() {
        let mut ctx = shapes_context();
        ctx.text = ctx.text.replace("height: f64,\n}", "height: f64, // </s>\n}");
        let error = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap_err();
        expect!["the editable region contains the reserved token </s>"]
            .assert_eq(&error.to_string());

        let mut ctx = shapes_context();
        ctx.events[0].new_text = "    pub width: f64, // <|im_end|>\n".to_owned();
        let built = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        assert!(!built.prompt.contains(".diff"), "{}", built.prompt);
    }

    #[test]
    fn parses_sweep_output() {
        let ctx = shapes_context();
        let built = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let region = built.region_text.clone();
        let edited = region.replace("2.0 * (self.width", "2.0 * (self.width.abs()");
        let outputs = [
            ("unchanged", format!("{region}<|file_sep|>")),
            ("edited", format!("{edited}</s>")),
            ("ended by the model", edited.clone()),
            ("missing final newline", format!("{}<|file_sep|>", region.trim_end())),
            ("empty", String::new()),
            ("only the stop", "<|file_sep|>".to_owned()),
            ("reserved token", format!("{region}<|im_start|>")),
            ("doubled separator", format!("{region}<|file_sep|>{region}<|file_sep|>")),
            ("runaway", format!("{region}{}", "        self.width\n".repeat(40))),
        ];
        expect![[r#"
            unchanged: no change
            edited: ok "    pub width: f64,\n    pub height: f64,\n}\n\nimpl Rect {\n    pub fn area(&self) -> f64 {\n        self.width * self.height\n    }\n\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width.abs() + self.height)\n    }\n}\n"
            ended by the model: ok "    pub width: f64,\n    pub height: f64,\n}\n\nimpl Rect {\n    pub fn area(&self) -> f64 {\n        self.width * self.height\n    }\n\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width.abs() + self.height)\n    }\n}\n"
            missing final newline: no change
            empty: error: the model output is empty
            only the stop: error: the model output is empty
            reserved token: error: the model output contains the reserved token <|im_start|>
            doubled separator: error: the model output contains the reserved token <|file_sep|>
            runaway: error: the model output repeats itself
        "#]]
        .assert_eq(&parse_all(&SweepFormat, &built, &outputs));
    }
}
