//! The plain format, our own, for base models without special tokens (the Gemma 3 270M test
//! model). A fixed few-shot header teaches the pattern with bracketed plain-text markers: the
//! programmer's recent change as `-`/`+` lines, a few read-only lines of context, a short region
//! starting at the cursor line, and the same region after the next edit. The real case follows the
//! same pattern and the model writes the region after the next edit, closed by the end marker.
//!
//! Small base models copy a region reliably only when it starts where the change starts, so this
//! format picks its own region: the cursor line and the two lines after it. The lines above go in
//! the context section.
//!
//! The header is fixed and comes first, so the KV cache always keeps it; the history comes next,
//! then the context and the region.

use crate::engine::context::{HistoryEvent, PredictionContext};

use super::{
    BuiltPrompt, ParseError, PromptBudget, PromptError, PromptFormat, PromptFormatKind,
    check_context, check_region, context_around, defang, find_reserved, is_runaway, lines_around,
    output_budget, render_events, strip_stop,
};

const CHANGE: &str = "[[CHANGE]]";
const CONTEXT: &str = "[[CONTEXT]]";
const REGION: &str = "[[REGION]]";
const NEXT: &str = "[[NEXT]]";
const END: &str = "[[END]]";
const RESERVED: &[&str] = &[CHANGE, CONTEXT, REGION, NEXT, END];
/// Lines of the region after the cursor line.
const REGION_LINES_BELOW: usize = 2;
/// Most lines of context above the region.
const CONTEXT_LINES: usize = 6;

const HEADER: &str = "\
A programmer edits code. Each example shows their last change, the code above the cursor, the \
region at the cursor, and the region after their next edit, which continues the change.

[[CHANGE]]
-    let w = rect.w;
+    let width = rect.w;
[[CONTEXT]]
fn describe(rect: &Rect) -> f64 {
    let width = rect.w;
[[REGION]]
    let area = w * rect.h;
    println!(\"{}\", area);
    area
[[NEXT]]
    let area = width * rect.h;
    println!(\"{}\", area);
    area
[[END]]

[[CHANGE]]
-    name: String,
+    name: String,
+    age: u32,
[[CONTEXT]]
    fn new(name: String, age: u32) -> Person {
        Person {
[[REGION]]
            name,
        }
    }
[[NEXT]]
            name,
            age,
        }
    }
[[END]]

";

#[derive(Debug, Clone, Copy, Default)]
pub struct PlainFormat;

impl PromptFormat for PlainFormat {
    fn kind(&self) -> PromptFormatKind {
        PromptFormatKind::Plain
    }

    fn build(
        &self,
        ctx: &PredictionContext,
        count_tokens: &dyn Fn(&str) -> usize,
        budget: &PromptBudget,
    ) -> Result<BuiltPrompt, PromptError> {
        check_context(ctx)?;
        let region = lines_around(&ctx.text, ctx.cursor, 0, REGION_LINES_BELOW);
        let region_text = ctx.text[region.clone()].to_owned();
        check_region(&region_text, RESERVED)?;
        let max_tokens = output_budget(count_tokens(&region_text), budget, 0)?;
        let budget = &budget.with_output(max_tokens);

        let above = lines_around(&ctx.text, region.start, CONTEXT_LINES, 0);
        let limit = above.start.max(ctx.excerpt.start)..region.end;
        let (before, _) =
            context_around(&ctx.text, &region, &limit, budget.max_context_tokens, count_tokens);
        let context = defang(&ctx.text[before], RESERVED);
        let tail = format!(
            "{CONTEXT}\n{}{REGION}\n{}{NEXT}\n",
            with_newline(&context),
            with_newline(&region_text)
        );
        let fixed_tokens = count_tokens(HEADER) + count_tokens(&tail) + count_tokens(CHANGE) + 1;
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
            RESERVED,
            &render_event,
        );

        Ok(BuiltPrompt {
            prompt: format!("{HEADER}{CHANGE}\n{history}{tail}"),
            stop: vec![END.to_owned()],
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
        let (body, stopped) = strip_stop(output, &built.stop);
        if !stopped {
            return Err(ParseError::MissingMarker(END));
        }
        for marker in RESERVED {
            if body.contains(marker) {
                return Err(ParseError::DoubledMarker(marker));
            }
        }
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
        if !built.region_text.ends_with('\n') && text.ends_with('\n') {
            text.pop();
        }
        Ok(text)
    }
}

/// An event as `-`/`+` lines of the touched lines; the history of other files is marked with
/// their path.
fn render_event(event: &HistoryEvent) -> String {
    let mut rendered = String::new();
    for line in event.old_text.lines() {
        rendered.push('-');
        rendered.push_str(line);
        rendered.push('\n');
    }
    for line in event.new_text.lines() {
        rendered.push('+');
        rendered.push_str(line);
        rendered.push('\n');
    }
    defang(&rendered, &[])
}

fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") }
}

/// What the model writes to turn the region into `new_region`, stop marker included.
fn answer_text(new_region: &str) -> String {
    format!("{}{END}", with_newline(new_region))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::engine::prompt::test_support::{count_tokens, parse_all, shapes_context};

    #[test]
    fn builds_the_plain_prompt() {
        let ctx = shapes_context();
        let built = PlainFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let case = &built.prompt[HEADER.len()..];
        expect![[r#"
            [[CHANGE]]
            -    pub w: f64,
            +    pub width: f64,
            [[CONTEXT]]
            impl Rect {
                pub fn area(&self) -> f64 {
                    self.width * self.height
                }

                pub fn perimeter(&self) -> f64 {
            [[REGION]]
                    2.0 * (self.width + self.height)
                }
            }
            [[NEXT]]
        "#]]
        .assert_eq(case);
        assert!(built.prompt.starts_with(HEADER));
        expect![[r#"
                    2.0 * (self.width + self.height)
                }
            }
            [[END]]"#]]
        .assert_eq(&built.draft);
    }

    #[test]
    fn reserved_markers_in_the_region_fail_and_in_history_are_dropped() {
        let mut ctx = shapes_context();
        ctx.text = ctx.text.replace("self.height)\n", "self.height) // [[END]]\n");
        ctx.editable_region.end += " // [[END]]".len();
        let error = PlainFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap_err();
        expect!["the editable region contains the reserved token [[END]]"]
            .assert_eq(&error.to_string());

        let mut ctx = shapes_context();
        ctx.events[0].new_text = "    pub width: f64, // [[NEXT]]\n".to_owned();
        let built = PlainFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        assert!(
            built.prompt[HEADER.len()..].starts_with("[[CHANGE]]\n[[CONTEXT]]\n"),
            "{}",
            built.prompt
        );
    }

    #[test]
    fn history_is_trimmed_to_its_token_budget_keeping_the_newest() {
        let mut ctx = shapes_context();
        let older = ctx.events[0].clone();
        let mut newer = older.clone();
        newer.old_text = "    pub height: f64,\n".to_owned();
        newer.new_text = "    pub height: f32,\n".to_owned();
        ctx.events = vec![older, newer];
        let budget = PromptBudget { max_history_tokens: 16, ..PromptBudget::default() };
        let built = PlainFormat.build(&ctx, &count_tokens, &budget).unwrap();
        let case = &built.prompt[HEADER.len()..];
        assert!(
            case.starts_with(
                "[[CHANGE]]\n-    pub height: f64,\n+    pub height: f32,\n[[CONTEXT]]\n"
            ),
            "{case}"
        );
    }

    #[test]
    fn parses_plain_output() {
        let ctx = shapes_context();
        let built = PlainFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let region = built.region_text.clone();
        let edited = region.replace("2.0 *", "2.0_f64 *");
        let outputs = [
            ("unchanged", built.draft.clone()),
            ("edited", format!("{edited}{END}")),
            ("missing end", edited.clone()),
            ("doubled markers", format!("{edited}{NEXT}\n{edited}{END}")),
            ("reserved token", format!("{edited}<start_of_turn>{END}")),
            ("unused token", format!("<unused42>{edited}{END}")),
            ("empty", String::new()),
            ("only the end", END.to_owned()),
            ("runaway", format!("{}{END}", "        2.0 * self.width\n".repeat(30))),
        ];
        expect![[r#"
            unchanged: no change
            edited: ok "        2.0_f64 * (self.width + self.height)\n    }\n}\n"
            missing end: error: the model output lacks the marker [[END]]
            doubled markers: error: the model output repeats the marker [[NEXT]]
            reserved token: error: the model output contains the reserved token <start_of_turn>
            unused token: error: the model output contains the reserved token <unusedN>
            empty: error: the model output lacks the marker [[END]]
            only the end: error: the model output is empty
            runaway: error: the model output repeats itself
        "#]]
        .assert_eq(&parse_all(&PlainFormat, &built, &outputs));
    }
}
