//! The Sweep next-edit format, as the model card's `run_model.py` (sweepai/sweep-next-edit-1.5B)
//! and Zed's port of it lay it out: parts joined by line breaks, each file introduced by
//! `<|file_sep|>`. Related snippets come as `<|file_sep|>{path}` files, earlier edits as
//! `<|file_sep|>{path}.diff` pseudo-files with `original:` and `updated:` blocks (with the diff's
//! context lines), then the 21-line window around the cursor as it was before the most recent edit
//! (`original/`, mapped through that edit so the lines align), as it is now (`current/`), and an
//! open `updated/` file for the model to write. There is no cursor marker.

use crate::engine::context::{HistoryEvent, PredictionContext};

use super::{
    BuiltPrompt, ParseError, PromptBudget, PromptError, PromptFormat, PromptFormatKind,
    check_context, check_region, defang, ensure_trailing_newline, find_reserved, is_runaway,
    line_index, line_range, lines_around, output_budget, render_events, render_related, strip_stop,
};

const FILE_SEPARATOR: &str = "<|file_sep|>";
const END_OF_SEQUENCE: &str = "</s>";
const END_OF_TEXT: &str = "<|endoftext|>";
/// Reserved on top of the model family's special tokens.
const RESERVED: &[&str] = &[END_OF_SEQUENCE];
/// Lines shown above and below the cursor line.
const WINDOW_LINES: usize = 10;
/// The model card generates up to 512 tokens for the 21-line window.
const MIN_OUTPUT_TOKENS: usize = 512;
/// Zed's port shows at most this many earlier edits, of at most this many lines a side.
const MAX_EVENTS: usize = 3;
const MAX_EVENT_LINES: usize = 40;

#[derive(Debug, Clone, Copy, Default)]
pub struct SweepFormat;

/// One part of the prompt: the text, then the line break that joins it to the next part (an
/// empty text is an empty line, as `"\n".join` renders it).
fn part(text: &str) -> String {
    if text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") }
}

/// The old and new lines of a unified diff's hunks, context lines in both.
fn diff_sides(unified_diff: &str) -> (String, String) {
    let (mut old, mut new) = (String::new(), String::new());
    for line in unified_diff.split_inclusive('\n') {
        let body = line.get(1..).unwrap_or("");
        match line.as_bytes().first() {
            Some(b' ') => {
                old.push_str(body);
                new.push_str(body);
            }
            Some(b'-') => old.push_str(body),
            Some(b'+') => new.push_str(body),
            _ => {}
        }
    }
    (old, new)
}

/// At most [`MAX_EVENT_LINES`] lines: the first half, `...`, and the last lines.
fn limit_lines(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.len() <= MAX_EVENT_LINES {
        return text.to_owned();
    }
    let head = MAX_EVENT_LINES / 2;
    let tail = MAX_EVENT_LINES - head - 1;
    let mut limited = lines[..head].concat();
    limited.push_str("...\n");
    limited.push_str(&lines[lines.len() - tail..].concat());
    limited
}

/// `{path}.diff` with the lines before and after the edit. An empty side of `original:` is an
/// empty line; an empty `updated:` side is nothing.
fn render_event(event: &HistoryEvent) -> String {
    let (old, new) = if event.unified_diff.trim().is_empty() {
        (event.old_text.clone(), event.new_text.clone())
    } else {
        diff_sides(&event.unified_diff)
    };
    format!(
        "{FILE_SEPARATOR}{}.diff\noriginal:\n{}updated:\n{}",
        event.path,
        part(&limit_lines(&old)),
        ensure_trailing_newline(&limit_lines(&new))
    )
}

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

        let original_window = match &ctx.previous {
            Some(previous) => {
                let first_line = line_index(&ctx.text, region.start);
                let line_count = line_index(&region_text, region_text.len())
                    + usize::from(!region_text.ends_with('\n'));
                let lines = previous.map_lines(first_line..first_line + line_count);
                defang(&previous.text[line_range(&previous.text, lines)], RESERVED)
            }
            None => region_text.clone(),
        };
        let windows = format!(
            "{FILE_SEPARATOR}original/{path}\n{}{FILE_SEPARATOR}current/{path}\n{}{FILE_SEPARATOR}updated/{path}\n",
            part(&original_window),
            part(&region_text),
        );

        let region_tokens = count_tokens(&region_text);
        let max_tokens = output_budget(region_tokens, budget, MIN_OUTPUT_TOKENS)?;
        let budget = budget.with_output(max_tokens);
        let windows_tokens = count_tokens(&windows);
        if windows_tokens > budget.max_prompt_tokens {
            return Err(PromptError::RegionTooLarge {
                tokens: windows_tokens,
                budget: budget.max_prompt_tokens,
            });
        }
        let mut remaining = budget.max_prompt_tokens - windows_tokens;

        let events = &ctx.events[ctx.events.len().saturating_sub(MAX_EVENTS)..];
        let history = render_events(
            events,
            budget.max_history_tokens.min(remaining),
            count_tokens,
            RESERVED,
            &render_event,
        );
        remaining = remaining.saturating_sub(count_tokens(&history));
        let related = render_related(
            &ctx.related,
            budget.max_related_tokens.min(remaining),
            count_tokens,
            RESERVED,
            &|snippet| format!("{FILE_SEPARATOR}{}\n{}", snippet.path, part(&snippet.text)),
        );

        Ok(BuiltPrompt {
            prompt: format!("{related}{history}{windows}"),
            stop: vec![
                FILE_SEPARATOR.to_owned(),
                END_OF_SEQUENCE.to_owned(),
                END_OF_TEXT.to_owned(),
            ],
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

/// What the model writes to turn the region into `new_region`, stop marker included.
fn answer_text(new_region: &str) -> String {
    format!("{}{FILE_SEPARATOR}", part(new_region))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::engine::context::{HistoryEvent, RelatedSnippet};
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
            <|file_sep|>src/main.rs
            fn main() {}
            <|file_sep|>src/shapes.rs.diff
            original:
            pub struct Rect {
                pub w: f64,
                pub height: f64,
            }
            updated:
            pub struct Rect {
                pub width: f64,
                pub height: f64,
            }
            <|file_sep|>original/src/shapes.rs
                pub w: f64,
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
        expect![[r#"["<|file_sep|>", "</s>", "<|endoftext|>"]"#]]
            .assert_eq(&format!("{:?}", built.stop));
    }

    /// The layout of Zed's `test_build_prompt_uses_run_model_ordering`
    /// (`crates/edit_prediction/src/sweep_prompt.rs`), which follows the model card's
    /// `run_model.py`: related files, then earlier edits, then the original, current and updated
    /// windows.
    #[test]
    fn matches_the_reference_ordering() {
        let mut ctx =
            crate::engine::prompt::test_support::context("$0current window\n", 10, vec![]);
        ctx.path = "src/main.rs".to_owned();
        ctx.related
            .push(RelatedSnippet { path: "src/context.rs".to_owned(), text: "context".to_owned() });
        ctx.events.push(HistoryEvent {
            path: "src/lib.rs".to_owned(),
            old_text: "old\n".to_owned(),
            new_text: "new\n".to_owned(),
            unified_diff: "@@ -1,1 +1,1 @@\n-old\n+new\n".to_owned(),
        });
        ctx.previous = Some(crate::engine::context::PreviousText {
            text: "old window\n".to_owned(),
            before_lines: 0..1,
            after_lines: 0..1,
        });
        let built = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        assert_eq!(
            built.prompt,
            "<|file_sep|>src/context.rs\ncontext\n<|file_sep|>src/lib.rs.diff\noriginal:\nold\nupdated:\nnew\n<|file_sep|>original/src/main.rs\nold window\n<|file_sep|>current/src/main.rs\ncurrent window\n<|file_sep|>updated/src/main.rs\n"
        );
    }

    #[test]
    fn an_insertion_shows_an_empty_original_line_and_a_deletion_an_empty_update() {
        let mut ctx = shapes_context();
        ctx.events = vec![
            HistoryEvent {
                path: "src/a.rs".to_owned(),
                old_text: String::new(),
                new_text: "x\n".to_owned(),
                unified_diff: "@@ -0,0 +1,1 @@\n+x\n".to_owned(),
            },
            HistoryEvent {
                path: "src/b.rs".to_owned(),
                old_text: "y\n".to_owned(),
                new_text: String::new(),
                unified_diff: "@@ -1,1 +0,0 @@\n-y\n".to_owned(),
            },
        ];
        let built = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        assert!(
            built.prompt.starts_with(
                "<|file_sep|>src/a.rs.diff\noriginal:\n\nupdated:\nx\n<|file_sep|>src/b.rs.diff\noriginal:\ny\nupdated:\n<|file_sep|>original/"
            ),
            "{}",
            built.prompt
        );
    }

    #[test]
    fn the_output_budget_covers_the_window_whatever_predict_max_tokens_says() {
        let ctx = shapes_context();
        let budget = PromptBudget { max_output_tokens: 256, ..PromptBudget::default() };
        let built = SweepFormat.build(&ctx, &count_tokens, &budget).unwrap();
        assert_eq!(built.max_tokens, 512);
        let long_line = format!("    let x = {};\n", "1 + ".repeat(60) + "1");
        let mut ctx = shapes_context();
        ctx.text =
            ctx.text.replace("impl Rect {\n", &format!("impl Rect {{\n{}", long_line.repeat(8)));
        ctx.cursor = ctx.text.find("2.0 *").unwrap();
        ctx.editable_region = ctx.cursor..ctx.cursor;
        ctx.excerpt = 0..ctx.text.len();
        let region_tokens = count_tokens(&ctx.text[lines_around(&ctx.text, ctx.cursor, 10, 10)]);
        assert!(region_tokens > 256, "{region_tokens}");
        let built = SweepFormat.build(&ctx, &count_tokens, &budget).unwrap();
        assert!(built.max_tokens >= region_tokens + region_tokens / 2, "{}", built.max_tokens);
    }

    #[test]
    fn rejects_reserved_tokens_in_the_window_and_drops_them_from_history() {
        let mut ctx = shapes_context();
        ctx.text = ctx.text.replace("height: f64,\n}", "height: f64, // </s>\n}");
        let error = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap_err();
        expect!["the editable region contains the reserved token </s>"]
            .assert_eq(&error.to_string());

        let mut ctx = shapes_context();
        let clean = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        assert!(clean.prompt.contains("<|file_sep|>src/shapes.rs.diff\n"), "{}", clean.prompt);
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
