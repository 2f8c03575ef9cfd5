//! Plain fill-in-the-middle with the model's own FIM tokens: text before the cursor, text after it,
//! and the model writes what goes in between. It can only insert at the cursor, so the region is
//! the empty range at the cursor and the parsed output is the inserted text.

use crate::engine::context::PredictionContext;

use super::{
    BuiltPrompt, ModelMetadata, ParseError, PromptBudget, PromptError, PromptFormat,
    PromptFormatKind, check_context, context_around, defang, find_reserved, is_runaway, strip_stop,
};

/// Which spelling of the FIM tokens the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FimStyle {
    /// `<|fim_prefix|>`, `<|fim_suffix|>`, `<|fim_middle|>` (Qwen coder models, CodeGemma).
    Qwen,
    /// `<fim_prefix>`, `<fim_suffix>`, `<fim_middle>` (StarCoder, SantaCoder).
    StarCoder,
    /// `<PRE> `, ` <SUF>`, ` <MID>` (Code Llama).
    CodeLlama,
}

impl FimStyle {
    pub fn detect(metadata: &ModelMetadata) -> Option<FimStyle> {
        if metadata.has_token("<|fim_prefix|>") && metadata.has_token("<|fim_middle|>") {
            Some(FimStyle::Qwen)
        } else if metadata.has_token("<fim_prefix>") {
            Some(FimStyle::StarCoder)
        } else if metadata.has_token("<PRE>") && metadata.has_token("<MID>") {
            Some(FimStyle::CodeLlama)
        } else {
            None
        }
    }

    /// The model family, for messages.
    pub fn family(self) -> &'static str {
        match self {
            FimStyle::Qwen => "Qwen",
            FimStyle::StarCoder => "StarCoder",
            FimStyle::CodeLlama => "Code Llama",
        }
    }

    fn prompt(self, prefix: &str, suffix: &str) -> String {
        match self {
            FimStyle::Qwen => format!("<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"),
            FimStyle::StarCoder => format!("<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>"),
            FimStyle::CodeLlama => format!("<PRE> {prefix} <SUF>{suffix} <MID>"),
        }
    }

    fn stop(self) -> &'static [&'static str] {
        match self {
            // Qwen2.5-Coder's README stops FIM generation on every FIM control token, the file
            // and repository separators, `<|im_end|>` and `<|endoftext|>`.
            FimStyle::Qwen => &[
                "<|endoftext|>",
                "<|fim_pad|>",
                "<|file_sep|>",
                "<|im_end|>",
                "<|fim_prefix|>",
                "<|fim_middle|>",
                "<|fim_suffix|>",
                "<|repo_name|>",
            ],
            FimStyle::StarCoder => &[
                "<|endoftext|>",
                "<file_sep>",
                "<fim_prefix>",
                "<fim_pad>",
                "<fim_middle>",
                "<fim_suffix>",
                "<repo_name>",
            ],
            FimStyle::CodeLlama => &["<EOT>", "<PRE>", "<SUF>", "<MID>"],
        }
    }

    fn reserved(self) -> &'static [&'static str] {
        match self {
            FimStyle::Qwen | FimStyle::StarCoder => &[],
            FimStyle::CodeLlama => &["<EOT>", "<PRE>", "<SUF>", "<MID>"],
        }
    }
}

/// Inserted text is short: a line or a small block.
const MAX_INSERTION_TOKENS: usize = 128;

#[derive(Debug, Clone, Copy)]
pub struct FimFormat {
    pub style: FimStyle,
}

impl PromptFormat for FimFormat {
    fn kind(&self) -> PromptFormatKind {
        PromptFormatKind::Fim
    }

    fn build(
        &self,
        ctx: &PredictionContext,
        count_tokens: &dyn Fn(&str) -> usize,
        budget: &PromptBudget,
    ) -> Result<BuiltPrompt, PromptError> {
        check_context(ctx)?;
        let reserved = self.style.reserved();
        let cursor = ctx.cursor;
        let context_budget = budget
            .max_context_tokens
            .max(budget.max_prompt_tokens / 2)
            .min(budget.max_prompt_tokens);
        let (before, after) = context_around(
            &ctx.text,
            &(cursor..cursor),
            &ctx.excerpt,
            context_budget,
            count_tokens,
        );
        let prefix = defang(&ctx.text[before.start..cursor], reserved);
        let suffix = defang(&ctx.text[cursor..after.end], reserved);
        Ok(BuiltPrompt {
            prompt: self.style.prompt(&prefix, &suffix),
            stop: self.style.stop().iter().map(|stop| stop.to_string()).collect(),
            region: cursor..cursor,
            region_text: String::new(),
            draft: String::new(),
            max_tokens: MAX_INSERTION_TOKENS.min(budget.max_output_tokens),
        })
    }

    fn answer(&self, new_region: &str, built: &BuiltPrompt) -> String {
        let stop = built.stop.first().map_or("", String::as_str);
        format!("{new_region}{stop}")
    }

    fn parse(&self, output: &str, built: &BuiltPrompt) -> Result<String, ParseError> {
        let (body, _) = strip_stop(output, &built.stop);
        if let Some(token) = find_reserved(body, self.style.reserved()) {
            return Err(ParseError::ReservedToken(token));
        }
        if is_runaway(body, "") {
            return Err(ParseError::Repetition);
        }
        Ok(body.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::engine::prompt::test_support::{count_tokens, parse_all, shapes_context};

    #[test]
    fn builds_fim_prompts_in_each_style() {
        let ctx = shapes_context();
        let budget = PromptBudget {
            max_context_tokens: 30,
            max_prompt_tokens: 60,
            ..PromptBudget::default()
        };
        let mut rendered = String::new();
        for style in [FimStyle::Qwen, FimStyle::StarCoder, FimStyle::CodeLlama] {
            let built = FimFormat { style }.build(&ctx, &count_tokens, &budget).unwrap();
            assert_eq!(built.region, ctx.cursor..ctx.cursor);
            rendered.push_str(&format!("{style:?}: {:?}\n", built.prompt));
        }
        expect![[r#"
            Qwen: "<|fim_prefix|>\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height)<|fim_suffix|>\n    }\n<|fim_middle|>"
            StarCoder: "<fim_prefix>\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height)<fim_suffix>\n    }\n<fim_middle>"
            CodeLlama: "<PRE> \n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height) <SUF>\n    }\n <MID>"
        "#]]
        .assert_eq(&rendered);
    }

    #[test]
    fn defangs_fim_tokens_in_the_context() {
        let mut ctx = shapes_context();
        ctx.text = ctx.text.replace("pub height", "pub height /* <|fim_middle|> */");
        let built = FimFormat { style: FimStyle::Qwen }
            .build(&ctx, &count_tokens, &PromptBudget::default())
            .unwrap();
        assert!(built.prompt.contains("/* < |fim_middle|> */"), "{}", built.prompt);
        assert_eq!(built.prompt.matches("<|fim_middle|>").count(), 1);
    }

    #[test]
    fn parses_fim_output() {
        let ctx = shapes_context();
        let format = FimFormat { style: FimStyle::Qwen };
        let built = format.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
        let outputs = [
            ("insertion", " * 1.0<|endoftext|>".to_owned()),
            ("ended by the model", " * 1.0".to_owned()),
            ("empty", String::new()),
            ("only the stop", "<|fim_pad|>".to_owned()),
            ("stops on another FIM token", " * 1.0<|fim_suffix|>".to_owned()),
            ("reserved token", " * 1.0<|im_start|>".to_owned()),
            ("runaway", "    x += 1;\n".repeat(60)),
        ];
        expect![[r#"
            insertion: ok " * 1.0"
            ended by the model: ok " * 1.0"
            empty: no change
            only the stop: no change
            stops on another FIM token: ok " * 1.0"
            reserved token: error: the model output contains the reserved token <|im_start|>
            runaway: error: the model output repeats itself
        "#]]
        .assert_eq(&parse_all(&format, &built, &outputs));
    }
}
