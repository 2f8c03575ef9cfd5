//! The Instinct format (Continue's Qwen2.5-Coder chat fine-tune), as its training code
//! (continuedev/instinct, `utils/datautils.py`) renders it: the trained system prompt, then a user
//! message with the trained preface and `### Context:` (`<|context_file|> {path}` and `<|snippet|>`
//! blocks), `### User Edits:` (newest first, as the system prompt says) and `### User Excerpt:`
//! (the quoted path, then the excerpt with the region and cursor markers). The editable region is
//! fixed: from the line above the cursor line to five lines below it, as in Continue's client. The
//! assistant answers with the bare rewritten region, without markers, and `<|im_end|>`.

use crate::engine::context::PredictionContext;

use super::zeta::{CURSOR, REGION_END, REGION_START};
use super::{
    BuiltPrompt, ParseError, PromptBudget, PromptError, PromptFormat, PromptFormatKind,
    check_context, check_region, context_around, defang, find_reserved, is_runaway, lines_around,
    newest_events, output_budget, render_related, strip_stop,
};

const IM_START: &str = "<|im_start|>";
const IM_END: &str = "<|im_end|>";
const END_OF_TEXT: &str = "<|endoftext|>";
const CONTEXT_FILE: &str = "<|context_file|>";
const SNIPPET: &str = "<|snippet|>";
const RESERVED: &[&str] = &[CONTEXT_FILE, SNIPPET];

/// The system prompt Instinct was trained with, verbatim (it ends with a blank line). Source:
/// continuedev/instinct, `utils/datautils.py`, `SYSTEM_PROMPT`.
const SYSTEM_PROMPT: &str = "You are Instinct, an intelligent next-edit predictor developed by Continue.dev. Your role as an AI assistant is to help developers complete their code tasks by predicting the next edit that they will make within the section of code marked by <|editable_region_start|> and <|editable_region_end|> tags.

You have access to the following information to help you make informed suggestions:

- Context: In the section marked \"### Context\", there are context items from potentially relevant files in the developer's codebase. Each context item consists of a <|context_file|> marker, the filepath, a <|snippet|> marker, and then some content from that file, in that order. Keep in mind that not all of the context information may be relevant to the task, so use your judgement to determine which parts to consider.
- User Edits: In the section marked \"### User Edits:\", there is a record of the most recent changes made to the code, helping you understand the evolution of the code and the developer's intentions. These changes are listed from most recent to least recent. It's possible that some of the edit diff history is entirely irrelevant to the developer's change. The changes are provided in a unified line-diff format, i.e. with pluses and minuses for additions and deletions to the code.
- User Excerpt: In the section marked \"### User Excerpt:\", there is a filepath to the developer's current file, and then an excerpt from that file. The <|editable_region_start|> and <|editable_region_end|> markers are within this excerpt. Your job is to rewrite only this editable region, not the whole excerpt. The excerpt provides additional context on the surroundings of the developer's edit.
- Cursor Position: Within the user excerpt's editable region, the <|user_cursor_is_here|> flag indicates where the developer's cursor is currently located, which can be crucial for understanding what part of the code they are focusing on. Do not produce this marker in your output; simply take it into account.

Your task is to predict and complete the changes the developer would have made next in the editable region. The developer may have stopped in the middle of typing. Your goal is to keep the developer on the path that you think they're following. Some examples include further implementing a class, method, or variable, or improving the quality of the code. Make sure the developer doesn't get distracted by ensuring your suggestion is relevant. Consider what changes need to be made next, if any. If you think changes should be made, ask yourself if this is truly what needs to happen. If you are confident about it, then proceed with the changes.

# Steps

1. **Review Context**: Analyze the context from the resources provided, such as recently viewed snippets, edit history, surrounding code, and cursor location.
2. **Evaluate Current Code**: Determine if the current code within the tags requires any corrections or enhancements.
3. **Suggest Edits**: If changes are required, ensure they align with the developer's patterns and improve code quality.
4. **Maintain Consistency**: Ensure indentation and formatting follow the existing code style.

# Output Format

- Provide only the revised code within the tags. Do not include the tags in your output.
- Ensure that you do not output duplicate code that exists outside of these tags.
- Avoid undoing or reverting the developer's last change unless there are obvious typos or errors.

";

/// The user message's preface Instinct was trained with, verbatim. Source: continuedev/instinct,
/// `utils/datautils.py`, `TRAIN_PROMPT_PREFACE`.
const PREFACE: &str = "Reference the user excerpt, user edits, and the snippets to understand the developer's intent. Update the editable region of the user excerpt by predicting and completing the changes they would have made next. This may be a deletion, addition, or modification of code.";

#[derive(Debug, Clone, Copy, Default)]
pub struct InstinctFormat;

/// `text` without its final line break.
fn without_newline(text: &str) -> &str {
    text.strip_suffix('\n').unwrap_or(text)
}

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
        let region_text = ctx.text[region.clone()].to_owned();
        check_region(&region_text, RESERVED)?;
        let max_tokens = output_budget(count_tokens(&region_text), budget, 0)?;
        let budget = budget.with_output(max_tokens);

        // The excerpt: lines joined by line breaks, the markers on lines of their own, no final
        // line break.
        let (before, after) = context_around(
            &ctx.text,
            &region,
            &ctx.excerpt,
            budget.max_context_tokens,
            count_tokens,
        );
        let mut excerpt = defang(&ctx.text[before], RESERVED);
        excerpt.push_str(REGION_START);
        excerpt.push('\n');
        if region.contains(&ctx.cursor) || ctx.cursor == region.end {
            let cursor = ctx.cursor - region.start;
            excerpt.push_str(&region_text[..cursor]);
            excerpt.push_str(CURSOR);
            excerpt.push_str(&region_text[cursor..]);
        } else {
            excerpt.push_str(&region_text);
        }
        if !excerpt.ends_with('\n') {
            excerpt.push('\n');
        }
        excerpt.push_str(REGION_END);
        let after = defang(&ctx.text[after], RESERVED);
        if !after.is_empty() {
            excerpt.push('\n');
            excerpt.push_str(without_newline(&after));
        }

        let head = format!(
            "{IM_START}system\n{SYSTEM_PROMPT}{IM_END}\n{IM_START}user\n{PREFACE}\n\n### Context:\n\n"
        );
        let tail = format!(
            "### User Excerpt:\n\"{}\"\n\n{excerpt}{IM_END}\n{IM_START}assistant\n",
            defang(&ctx.path, RESERVED)
        );
        let fixed_tokens = count_tokens(&head) + count_tokens(&tail);
        if fixed_tokens > budget.max_prompt_tokens {
            return Err(PromptError::RegionTooLarge {
                tokens: fixed_tokens,
                budget: budget.max_prompt_tokens,
            });
        }
        let mut remaining = budget.max_prompt_tokens - fixed_tokens;
        let history = newest_events(
            &ctx.events,
            budget.max_history_tokens.min(remaining),
            count_tokens,
            RESERVED,
            &|event| {
                format!(
                    "User edited file \"{}\"\n\n```diff\n{}\n```\n\n",
                    event.path,
                    without_newline(&event.unified_diff)
                )
            },
        )
        .concat();
        remaining = remaining.saturating_sub(count_tokens(&history));
        let related = render_related(
            &ctx.related,
            budget.max_related_tokens.min(remaining),
            count_tokens,
            RESERVED,
            &|snippet| {
                format!(
                    "{CONTEXT_FILE} {}\n{SNIPPET}\n{}\n\n\n",
                    snippet.path,
                    snippet.text.trim_end_matches('\n')
                )
            },
        );
        // Snippets are separated by two empty lines; the last one has none after it.
        let related = related.strip_suffix("\n\n\n").unwrap_or(&related);

        Ok(BuiltPrompt {
            prompt: format!("{head}{related}\n\n\n### User Edits:\n\n{history}{tail}"),
            stop: vec![IM_END.to_owned(), END_OF_TEXT.to_owned()],
            region,
            draft: answer_text(&region_text),
            region_text,
            max_tokens,
        })
    }

    /// The answer is the bare new region; markers the model should not have written are dropped.
    fn answer(&self, new_region: &str, _built: &BuiltPrompt) -> String {
        answer_text(new_region)
    }

    fn parse(&self, output: &str, built: &BuiltPrompt) -> Result<String, ParseError> {
        let (body, _) = strip_stop(output, &built.stop);
        let mut text = String::with_capacity(body.len());
        for line in body.split_inclusive('\n') {
            let bare = line.trim_end_matches('\n');
            if bare == REGION_START || bare == REGION_END {
                continue;
            }
            text.push_str(line);
        }
        let text = text.replace(CURSOR, "");
        let text = text.strip_suffix(REGION_END).unwrap_or(&text).to_owned();
        if let Some(token) = find_reserved(&text, RESERVED) {
            return Err(ParseError::ReservedToken(token));
        }
        if text.trim().is_empty() && !built.region_text.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        if is_runaway(&text, &built.region_text) {
            return Err(ParseError::Repetition);
        }
        let mut text = text;
        if built.region_text.ends_with('\n') && !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }
}

/// What the model writes to turn the region into `new_region`, stop marker included.
fn answer_text(new_region: &str) -> String {
    format!("{}{IM_END}", without_newline(new_region))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::engine::context::RelatedSnippet;
    use crate::engine::prompt::test_support::{
        context, count_tokens, event, parse_all, shapes_context,
    };

    /// The rendering of the reference's training code (`get_prompt_excerpt_and_rewrite` and
    /// `render_excerpt` in continuedev/instinct `utils/datautils.py`) inside Qwen's chat template,
    /// written out by hand.
    #[test]
    fn matches_the_reference_layout() {
        let fixture = "fn main() {\n    let x$0 = 1;\n    println!(\"{x}\");\n}\n";
        let diff = "@@ -1,3 +1,3 @@\n fn main() {\n-    let y = 1;\n+    let x = 1;\n     println!(\"{x}\");\n";
        let mut ctx = context(fixture, 0, Vec::new());
        ctx.path = "src/main.rs".to_owned();
        let mut older = event("", "", &diff.replace("let x", "let z"));
        older.path = "src/main.rs".to_owned();
        let mut newer = event("", "", diff);
        newer.path = "src/main.rs".to_owned();
        ctx.events = vec![older, newer];
        ctx.related.push(RelatedSnippet {
            path: "src/util.rs".to_owned(),
            text: "fn util() {}\n".to_owned(),
        });
        ctx.related
            .push(RelatedSnippet { path: "src/b.rs".to_owned(), text: "fn b() {}".to_owned() });
        let built = InstinctFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let edit = |diff: &str| {
            format!("User edited file \"src/main.rs\"\n\n```diff\n{}\n```\n\n", diff.trim_end())
        };
        let user = format!(
            "{PREFACE}\n\n### Context:\n\n<|context_file|> src/util.rs\n<|snippet|>\nfn util() {{}}\n\n\n<|context_file|> src/b.rs\n<|snippet|>\nfn b() {{}}\n\n\n### User Edits:\n\n{}{}### User Excerpt:\n\"src/main.rs\"\n\n<|editable_region_start|>\nfn main() {{\n    let x<|user_cursor_is_here|> = 1;\n    println!(\"{{x}}\");\n}}\n<|editable_region_end|>",
            edit(diff),
            edit(&diff.replace("let x", "let z")),
        );
        assert_eq!(
            built.prompt,
            format!(
                "<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
            )
        );
        assert!(SYSTEM_PROMPT.ends_with("obvious typos or errors.\n\n"));
        assert_eq!(built.region_text, ctx.text);
        assert_eq!(built.draft, format!("{}<|im_end|>", ctx.text.trim_end()));
    }

    #[test]
    fn parses_instinct_output() {
        let ctx = shapes_context();
        let built = InstinctFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let region = built.region_text.clone();
        let edited = region.replace("perimeter", "circumference");
        let bare = edited.trim_end_matches('\n');
        let outputs = [
            ("unchanged", built.draft.clone()),
            ("bare region", format!("{bare}{IM_END}")),
            ("bare region, end of text", format!("{bare}<|endoftext|>")),
            ("bare region without a stop", bare.to_owned()),
            ("stray markers", format!("{REGION_START}\n{CURSOR}{edited}{REGION_END}{IM_END}")),
            ("reserved token", format!("{bare}<|fim_prefix|>{IM_END}")),
            ("empty", IM_END.to_owned()),
            ("runaway", format!("{}{IM_END}", "x += 1;\n".repeat(100))),
        ];
        expect![[r#"
            unchanged: no change
            bare region: ok "    pub fn circumference(&self) -> f64 {\n        2.0 * (self.width + self.height)\n    }\n}\n"
            bare region, end of text: ok "    pub fn circumference(&self) -> f64 {\n        2.0 * (self.width + self.height)\n    }\n}\n"
            bare region without a stop: ok "    pub fn circumference(&self) -> f64 {\n        2.0 * (self.width + self.height)\n    }\n}\n"
            stray markers: ok "    pub fn circumference(&self) -> f64 {\n        2.0 * (self.width + self.height)\n    }\n}\n"
            reserved token: error: the model output contains the reserved token <|fim_prefix|>
            empty: error: the model output is empty
            runaway: error: the model output repeats itself
        "#]]
        .assert_eq(&parse_all(&InstinctFormat, &built, &outputs));
    }
}
