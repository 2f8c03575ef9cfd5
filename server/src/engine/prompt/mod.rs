//! Prompt formats: each turns a [`PredictionContext`] into a prompt for one family of models and
//! parses that family's output back into the new text of a region of the document.
//!
//! Every format follows the same rules:
//!
//! - Sections are ordered from stable to volatile (fixed instructions, related files, history,
//!   then the region around the cursor), so consecutive prompts share a long prefix and the model
//!   backend can reuse its KV cache.
//! - Budgets are counted in model tokens, through the `count_tokens` callback.
//! - Reserved tokens (the format's markers and the special tokens of the model family) never reach
//!   the model from user text: in the editable region they make [`PromptFormat::build`] fail, in
//!   read-only context they are defanged, and history events or related snippets that contain them
//!   are left out.
//! - Parsing never panics. Output that cannot be trusted (missing or doubled markers, reserved
//!   tokens, runaway repetition, empty output where text was expected) is a [`ParseError`]; output
//!   equal to the current region is returned as is, and the caller drops it as a no-op.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::engine::context::{HistoryEvent, PredictionContext, RelatedSnippet};

mod fim;
#[cfg(test)]
mod golden;
mod instinct;
mod plain;
mod sweep;
mod zeta;
mod zeta2;

pub use fim::{FimFormat, FimStyle};
pub use instinct::InstinctFormat;
pub use plain::PlainFormat;
pub use sweep::SweepFormat;
pub use zeta::ZetaFormat;
pub use zeta2::Zeta2Format;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromptFormatKind {
    Sweep,
    Zeta,
    Zeta2,
    Instinct,
    Fim,
    Plain,
}

impl PromptFormatKind {
    pub const ALL: [PromptFormatKind; 6] = [
        PromptFormatKind::Sweep,
        PromptFormatKind::Zeta,
        PromptFormatKind::Zeta2,
        PromptFormatKind::Instinct,
        PromptFormatKind::Fim,
        PromptFormatKind::Plain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PromptFormatKind::Sweep => "sweep",
            PromptFormatKind::Zeta => "zeta",
            PromptFormatKind::Zeta2 => "zeta2",
            PromptFormatKind::Instinct => "instinct",
            PromptFormatKind::Fim => "fim",
            PromptFormatKind::Plain => "plain",
        }
    }
}

impl fmt::Display for PromptFormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `model.format` name that is no prompt format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown prompt format '{0}', expected one of sweep, zeta, zeta2, instinct, fim, plain")]
pub struct UnknownFormat(pub String);

impl FromStr for PromptFormatKind {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<PromptFormatKind, UnknownFormat> {
        PromptFormatKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownFormat(name.to_owned()))
    }
}

/// What the model file says about itself, as far as format detection cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelMetadata {
    /// `general.name` from the GGUF metadata (or the served model id of a remote server).
    pub name: Option<String>,
    /// `general.architecture` from the GGUF metadata.
    pub architecture: Option<String>,
    /// Which of [`PROBED_SPECIAL_TOKENS`] the vocabulary has as single tokens.
    pub special_tokens: Vec<String>,
    /// The model file's name without its directory (`sweep-next-edit-1.5b.q8_0.v2.gguf`).
    pub file_name: Option<String>,
    /// Further naming metadata: `general.basename`, `general.finetune`,
    /// `general.source.huggingface.repository`, `general.base_model.0.name`.
    pub other_names: Vec<(String, String)>,
}

impl ModelMetadata {
    pub fn has_token(&self, token: &str) -> bool {
        self.special_tokens.iter().any(|known| known == token)
    }

    /// Every name the model carries, with where it comes from, the most telling first.
    fn names(&self) -> Vec<(&str, &str)> {
        let mut names = Vec::new();
        if let Some(name) = &self.name {
            names.push(("general.name", name.as_str()));
        }
        for (key, value) in &self.other_names {
            names.push((key.as_str(), value.as_str()));
        }
        if let Some(file) = &self.file_name {
            names.push(("the file name", file.as_str()));
        }
        names
    }
}

/// Special tokens whose presence in a vocabulary tells the prompt format apart.
pub const PROBED_SPECIAL_TOKENS: &[&str] = &[
    "<|file_sep|>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<fim_prefix>",
    "<fim_suffix>",
    "<fim_middle>",
    "<PRE>",
    "<SUF>",
    "<MID>",
    "<|editable_region_start|>",
    "<|editable_region_end|>",
    "<|user_cursor_is_here|>",
    "<|im_start|>",
    "<[fim-prefix]>",
    "<[fim-suffix]>",
    "<[fim-middle]>",
];

/// The prompt format chosen for a model, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub kind: PromptFormatKind,
    /// The FIM token spelling of the vocabulary, when it has one.
    pub fim_style: Option<FimStyle>,
    /// One line for logs and `nextedit doctor`: `general.name "Zeta" names Zeta`.
    pub reason: String,
}

/// Name fragments of the next-edit models, lower case, checked in this order (Zeta 2 before Zeta).
const NAME_RULES: &[(&[&str], PromptFormatKind, &str)] = &[
    (&["sweep", "next-edit", "next_edit", "nextedit"], PromptFormatKind::Sweep, "Sweep next-edit"),
    (&["instinct"], PromptFormatKind::Instinct, "Instinct"),
    (&["zeta-2", "zeta2", "zeta 2", "zeta_2", "zeta-v2"], PromptFormatKind::Zeta2, "Zeta 2"),
    (&["zeta"], PromptFormatKind::Zeta, "Zeta"),
];

/// Picks the prompt format for a model: its names first (next-edit models are fine-tunes of coder
/// models and share their vocabulary): `general.name`, the other naming metadata, then the file
/// name; then its special tokens, and `plain` for anything else.
pub fn detect(metadata: &ModelMetadata) -> Detection {
    let fim_style = FimStyle::detect(metadata);
    for (source, name) in metadata.names() {
        let lower = name.to_lowercase();
        for (fragments, kind, family) in NAME_RULES {
            if let Some(fragment) = fragments.iter().find(|fragment| lower.contains(*fragment)) {
                return Detection {
                    kind: *kind,
                    fim_style,
                    reason: format!("{source} {name:?} contains {fragment:?} ({family})"),
                };
            }
        }
    }
    if metadata.has_token("<[fim-prefix]>") {
        return Detection {
            kind: PromptFormatKind::Zeta2,
            fim_style,
            reason: "the vocabulary has Seed-Coder's <[fim-prefix]> token (Zeta 2)".to_owned(),
        };
    }
    if metadata.has_token("<|editable_region_start|>") {
        return Detection {
            kind: PromptFormatKind::Zeta,
            fim_style,
            reason: "the vocabulary has the <|editable_region_start|> token (Zeta)".to_owned(),
        };
    }
    if let Some(style) = fim_style {
        return Detection {
            kind: PromptFormatKind::Fim,
            fim_style,
            reason: format!("the vocabulary has {} fill-in-the-middle tokens", style.family()),
        };
    }
    Detection {
        kind: PromptFormatKind::Plain,
        fim_style,
        reason: "no next-edit model name and no fill-in-the-middle tokens".to_owned(),
    }
}

/// Picks the prompt format for a model; see [`detect`].
pub fn detect_format(metadata: &ModelMetadata) -> PromptFormatKind {
    detect(metadata).kind
}

/// The format implementation for `kind`. `metadata` picks details such as the FIM token spelling.
pub fn format_for(
    kind: PromptFormatKind,
    metadata: &ModelMetadata,
) -> Box<dyn PromptFormat + Send + Sync> {
    format_with_style(kind, FimStyle::detect(metadata))
}

/// The format implementation for `kind`, with the model's FIM token spelling (Qwen's when unknown).
pub fn format_with_style(
    kind: PromptFormatKind,
    fim_style: Option<FimStyle>,
) -> Box<dyn PromptFormat + Send + Sync> {
    match kind {
        PromptFormatKind::Sweep => Box::new(SweepFormat),
        PromptFormatKind::Zeta => Box::new(ZetaFormat),
        PromptFormatKind::Zeta2 => Box::new(Zeta2Format),
        PromptFormatKind::Instinct => Box::new(InstinctFormat),
        PromptFormatKind::Fim => Box::new(FimFormat { style: fim_style.unwrap_or(FimStyle::Qwen) }),
        PromptFormatKind::Plain => Box::new(PlainFormat),
    }
}

/// Token budgets for one prompt, in model tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptBudget {
    /// The whole prompt, output excluded.
    pub max_prompt_tokens: usize,
    /// The rendered history events.
    pub max_history_tokens: usize,
    /// The related snippets of other files.
    pub max_related_tokens: usize,
    /// The read-only context around the region, both sides together.
    pub max_context_tokens: usize,
    /// The output tokens the prompt budget leaves room for (`predict.max_tokens`). A format whose
    /// answer needs more (a whole window to rewrite) takes it from the prompt budget.
    pub max_output_tokens: usize,
}

impl PromptBudget {
    /// The budget once the format knows it asks for `max_tokens` output tokens: prompt and
    /// output share the context window.
    fn with_output(&self, max_tokens: usize) -> PromptBudget {
        PromptBudget {
            max_prompt_tokens: self
                .max_prompt_tokens
                .saturating_add(self.max_output_tokens)
                .saturating_sub(max_tokens),
            max_output_tokens: max_tokens,
            ..*self
        }
    }
}

impl Default for PromptBudget {
    fn default() -> PromptBudget {
        PromptBudget {
            max_prompt_tokens: 2048,
            max_history_tokens: 500,
            max_related_tokens: 300,
            max_context_tokens: 300,
            max_output_tokens: 512,
        }
    }
}

/// A prompt ready for the model, and what its parser needs to read the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltPrompt {
    pub prompt: String,
    /// Generation ends after the first of these; the model backends keep the stop string at the end
    /// of the returned text, and parsers expect it there.
    pub stop: Vec<String>,
    /// Byte range of `ctx.text` that the parsed output replaces. Formats with a fixed window
    /// (sweep, instinct, fim) choose their own.
    pub region: Range<usize>,
    /// The current text of `region`.
    pub region_text: String,
    /// What the model outputs when it proposes no change: the source of draft tokens for
    /// speculative decoding and of the tail spliced back in after resynchronisation.
    pub draft: String,
    /// How many tokens the model may generate.
    pub max_tokens: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    /// The editable region contains a token the format reserves.
    #[error("the editable region contains the reserved token {token}")]
    ReservedTokenInRegion { token: String },
    /// The region alone does not fit the prompt or output budget.
    #[error("the editable region takes {tokens} tokens, over the budget of {budget}")]
    RegionTooLarge { tokens: usize, budget: usize },
    /// The region is empty where the format needs text to rewrite.
    #[error("the editable region is empty")]
    EmptyRegion,
    /// The context's offsets do not fit its text.
    #[error("invalid prediction context: {0}")]
    InvalidContext(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The output is empty (or only markers) where the region had text.
    #[error("the model output is empty")]
    Empty,
    /// A marker the format needs is missing, for example because generation hit its token limit.
    #[error("the model output lacks the marker {0}")]
    MissingMarker(&'static str),
    /// A marker appears more often than the format allows.
    #[error("the model output repeats the marker {0}")]
    DoubledMarker(&'static str),
    /// The output contains a reserved or special token.
    #[error("the model output contains the reserved token {0}")]
    ReservedToken(String),
    /// The output repeats itself (a runaway generation).
    #[error("the model output repeats itself")]
    Repetition,
}

pub trait PromptFormat {
    fn kind(&self) -> PromptFormatKind;

    fn build(
        &self,
        ctx: &PredictionContext,
        count_tokens: &dyn Fn(&str) -> usize,
        budget: &PromptBudget,
    ) -> Result<BuiltPrompt, PromptError>;

    /// Turns the model's output (ending with a stop string when generation stopped on one) into the
    /// new text of `built.region`.
    fn parse(&self, output: &str, built: &BuiltPrompt) -> Result<String, ParseError>;

    /// The answer that turns `built.region` into `new_region`, in this format's output shape and
    /// with its stop marker: the completion of a training pair, and what the ranker scores. The
    /// answer for `built.region_text` itself is `built.draft` (except FIM, which has no draft).
    /// `parse` reads it back as `new_region`.
    fn answer(&self, new_region: &str, built: &BuiltPrompt) -> String;
}

/// Special tokens of the model families we support, spelled as their tokenizers parse them. They
/// are reserved in every format: user text must never turn into one of them.
pub const MODEL_SPECIAL_TOKENS: &[&str] = &[
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|file_sep|>",
    "<|repo_name|>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|fim_pad|>",
    "<fim_prefix>",
    "<fim_suffix>",
    "<fim_middle>",
    "<fim_pad>",
    "<file_sep>",
    "<|editable_region_start|>",
    "<|editable_region_end|>",
    "<|user_cursor_is_here|>",
    "<|start_of_file|>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<end_of_image>",
    "<bos>",
    "<eos>",
    "<pad>",
    "<mask>",
    "<unk>",
];

/// The first reserved token found in `text`, from `MODEL_SPECIAL_TOKENS` and `extra`.
fn find_reserved(text: &str, extra: &[&str]) -> Option<String> {
    MODEL_SPECIAL_TOKENS
        .iter()
        .chain(extra.iter())
        .find(|token| !token.is_empty() && text.contains(*token))
        .map(|token| token.to_string())
        .or_else(|| unused_token_in(text).then(|| "<unusedN>".to_owned()))
}

/// Gemma reserves `<unused0>` ... `<unused6241>`.
fn unused_token_in(text: &str) -> bool {
    let mut rest = text;
    while let Some(start) = rest.find("<unused") {
        let after = &rest[start + "<unused".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with('>') {
            return true;
        }
        rest = after;
    }
    false
}

/// Breaks every reserved token in read-only text, so the tokenizer no longer sees it: a space
/// goes after the first character (`<|im_end|>` becomes `< |im_end|>`).
fn defang(text: &str, extra: &[&str]) -> String {
    let mut result = text.to_owned();
    for token in MODEL_SPECIAL_TOKENS.iter().copied().chain(extra.iter().copied()) {
        if token.is_empty() || !result.contains(token) {
            continue;
        }
        let first_len = token.chars().next().map_or(0, char::len_utf8);
        let broken = format!("{} {}", &token[..first_len], &token[first_len..]);
        result = result.replace(token, &broken);
    }
    if unused_token_in(&result) {
        result = result.replace("<unused", "< unused");
    }
    result
}

/// Fails when the region contains a reserved token.
fn check_region(region_text: &str, extra: &[&str]) -> Result<(), PromptError> {
    match find_reserved(region_text, extra) {
        Some(token) => Err(PromptError::ReservedTokenInRegion { token }),
        None => Ok(()),
    }
}

fn check_context(ctx: &PredictionContext) -> Result<(), PromptError> {
    let text = &ctx.text;
    let valid = |range: &Range<usize>| {
        range.start <= range.end
            && range.end <= text.len()
            && text.is_char_boundary(range.start)
            && text.is_char_boundary(range.end)
    };
    if !valid(&ctx.editable_region) {
        return Err(PromptError::InvalidContext(format!(
            "editable region {:?}",
            ctx.editable_region
        )));
    }
    if !valid(&ctx.excerpt) {
        return Err(PromptError::InvalidContext(format!("excerpt {:?}", ctx.excerpt)));
    }
    if ctx.cursor > text.len() || !text.is_char_boundary(ctx.cursor) {
        return Err(PromptError::InvalidContext(format!("cursor {}", ctx.cursor)));
    }
    Ok(())
}

/// The byte offset of the start of the line holding `offset`.
fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |newline| newline + 1)
}

/// The byte offset just after the line break ending the line holding `offset` (or the end of the
/// text).
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..].find('\n').map_or(text.len(), |newline| offset + newline + 1)
}

/// Whole lines around the line holding `offset`: `above` lines before it and `below` after it.
fn lines_around(text: &str, offset: usize, above: usize, below: usize) -> Range<usize> {
    let mut start = line_start(text, offset);
    for _ in 0..above {
        if start == 0 {
            break;
        }
        start = line_start(text, start - 1);
    }
    let mut end = line_end(text, offset);
    for _ in 0..below {
        if end >= text.len() {
            break;
        }
        end = line_end(text, end);
    }
    start..end
}

/// 0-based line number of `offset`.
fn line_index(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|&byte| byte == b'\n').count()
}

/// Byte range of lines `lines` (end exclusive) of `text`, clamped to the text.
fn line_range(text: &str, lines: Range<usize>) -> Range<usize> {
    let mut offsets =
        std::iter::once(0).chain(text.match_indices('\n').map(|(index, _)| index + 1));
    let start = offsets.clone().nth(lines.start).unwrap_or(text.len());
    let end = offsets.nth(lines.end).unwrap_or(text.len()).max(start);
    start..end
}

fn ensure_trailing_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") }
}

/// Keeps the newest events whose rendering fits `budget` tokens and renders them oldest first.
/// Events whose own text (path, old and new text, diff) holds a reserved token are left out; the
/// format's framing around them may hold its own tokens.
fn render_events(
    events: &[HistoryEvent],
    budget: usize,
    count_tokens: &dyn Fn(&str) -> usize,
    reserved: &[&str],
    render: &dyn Fn(&HistoryEvent) -> String,
) -> String {
    let mut kept = newest_events(events, budget, count_tokens, reserved, render);
    kept.reverse();
    kept.concat()
}

/// The renderings of the newest events that fit `budget` tokens, newest first; see
/// [`render_events`].
fn newest_events(
    events: &[HistoryEvent],
    budget: usize,
    count_tokens: &dyn Fn(&str) -> usize,
    reserved: &[&str],
    render: &dyn Fn(&HistoryEvent) -> String,
) -> Vec<String> {
    let mut kept = Vec::new();
    let mut used = 0;
    for event in events.iter().rev() {
        let own_text = [&event.path, &event.old_text, &event.new_text, &event.unified_diff];
        if own_text.iter().any(|text| find_reserved(text, reserved).is_some()) {
            continue;
        }
        let rendered = render(event);
        let tokens = count_tokens(&rendered);
        if used + tokens > budget {
            break;
        }
        used += tokens;
        kept.push(rendered);
    }
    kept
}

/// Like [`render_events`], for related snippets (kept in their given order).
fn render_related(
    related: &[RelatedSnippet],
    budget: usize,
    count_tokens: &dyn Fn(&str) -> usize,
    reserved: &[&str],
    render: &dyn Fn(&RelatedSnippet) -> String,
) -> String {
    let mut result = String::new();
    let mut used = 0;
    for snippet in related {
        if [&snippet.path, &snippet.text].iter().any(|text| find_reserved(text, reserved).is_some())
        {
            continue;
        }
        let rendered = render(snippet);
        let tokens = count_tokens(&rendered);
        if used + tokens > budget {
            continue;
        }
        used += tokens;
        result.push_str(&rendered);
    }
    result
}

/// Read-only context lines before and after `region`, inside `excerpt`, at most `budget` tokens
/// in all (nearest lines first, alternating sides).
fn context_around(
    text: &str,
    region: &Range<usize>,
    excerpt: &Range<usize>,
    budget: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> (Range<usize>, Range<usize>) {
    let excerpt_start = excerpt.start.min(region.start);
    let excerpt_end = excerpt.end.max(region.end);
    let mut before_start = region.start;
    let mut after_end = region.end;
    let mut used = 0;
    loop {
        let mut grew = false;
        if before_start > excerpt_start {
            let start = line_start(text, before_start - 1).max(excerpt_start);
            let tokens = count_tokens(&text[start..before_start]);
            if used + tokens <= budget {
                used += tokens;
                before_start = start;
                grew = true;
            }
        }
        if after_end < excerpt_end {
            let end = line_end(text, after_end).min(excerpt_end);
            let tokens = count_tokens(&text[after_end..end]);
            if used + tokens <= budget {
                used += tokens;
                after_end = end;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    (before_start..region.start, region.end..after_end)
}

/// The output budget for rewriting a region of `region_tokens` tokens: room for the region, an edit
/// that grows it, and the markers, and at least `floor` (the format's own minimum); never less than the region needs, whatever `predict.max_tokens` says. The answer of a rewrite format must hold the whole region, so the budget
/// follows the region; it fails only when the region leaves no room for a prompt.
fn output_budget(
    region_tokens: usize,
    budget: &PromptBudget,
    floor: usize,
) -> Result<usize, PromptError> {
    let wanted = (region_tokens + region_tokens / 2 + 32).max(floor);
    let window = budget.max_prompt_tokens.saturating_add(budget.max_output_tokens);
    if wanted.saturating_add(region_tokens) > window {
        return Err(PromptError::RegionTooLarge { tokens: region_tokens, budget: window / 2 });
    }
    Ok(wanted)
}

/// Whether a model answer that ended for `finish` is whole. An answer cut off by the token limit
/// or the context window is not: its missing tail would read as a deletion, so it gives no
/// suggestion.
pub fn is_complete(finish: &crate::engine::model::FinishReason) -> bool {
    use crate::engine::model::FinishReason;
    !matches!(finish, FinishReason::Length | FinishReason::ContextFull)
}

/// Detects runaway generation: the output is much longer than the region, or one non-blank line
/// repeats back to back far more often than anywhere in the region.
fn is_runaway(output: &str, region_text: &str) -> bool {
    if output.len() > region_text.len() * 3 + 400 {
        return true;
    }
    longest_line_run(output) >= longest_line_run(region_text) + 4
}

fn longest_line_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    let mut previous: Option<&str> = None;
    for line in text.lines() {
        let line = line.trim();
        if !line.is_empty() && previous == Some(line) {
            run += 1;
        } else {
            run = 1;
        }
        longest = longest.max(run);
        previous = Some(line);
    }
    longest
}

/// Strips the first stop string found at the end of `output`.
fn strip_stop<'a>(output: &'a str, stop: &[String]) -> (&'a str, bool) {
    for stop in stop {
        if let Some(stripped) = output.strip_suffix(stop.as_str()) {
            return (stripped, true);
        }
    }
    (output, false)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::engine::context::PreviousText;

    /// A rough stand-in for a tokenizer: the scripted backend's count.
    pub(crate) fn count_tokens(text: &str) -> usize {
        crate::engine::model::scripted::count_scripted_tokens(text)
    }

    /// A context from a fixture: `$0` marks the cursor, the editable region is `region_lines`
    /// lines above and below the cursor line, and the excerpt is the whole text.
    pub(crate) fn context(
        fixture: &str,
        region_lines: usize,
        events: Vec<HistoryEvent>,
    ) -> PredictionContext {
        let cursor = fixture.find("$0").expect("fixture without $0");
        let text = fixture.replacen("$0", "", 1);
        let editable_region = lines_around(&text, cursor, region_lines, region_lines);
        PredictionContext {
            path: "src/shapes.rs".to_owned(),
            language: Some("rust".to_owned()),
            excerpt: 0..text.len(),
            cursor,
            editable_region,
            events,
            previous: None,
            related: Vec::new(),
            text,
        }
    }

    pub(crate) fn event(old_text: &str, new_text: &str, unified_diff: &str) -> HistoryEvent {
        HistoryEvent {
            path: "src/shapes.rs".to_owned(),
            old_text: old_text.to_owned(),
            new_text: new_text.to_owned(),
            unified_diff: unified_diff.to_owned(),
        }
    }

    pub(crate) const SHAPES: &str = "\
pub struct Rect {
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn area(&self) -> f64 {
        self.width * self.height
    }

    pub fn perimeter(&self) -> f64 {
        2.0 * (self.width + self.height)$0
    }
}
";

    pub(crate) fn shapes_context() -> PredictionContext {
        let diff = "@@ -1,4 +1,4 @@\n pub struct Rect {\n-    pub w: f64,\n+    pub width: f64,\n     pub height: f64,\n }\n";
        let mut context =
            context(SHAPES, 2, vec![event("    pub w: f64,\n", "    pub width: f64,\n", diff)]);
        context.previous = Some(PreviousText {
            text: context.text.replacen("width", "w", 1),
            before_lines: 1..2,
            after_lines: 1..2,
        });
        context
    }

    /// Parses each output and renders the results one a line, for snapshots.
    pub(crate) fn parse_all(
        format: &dyn PromptFormat,
        built: &BuiltPrompt,
        outputs: &[(&str, String)],
    ) -> String {
        let mut result = String::new();
        for (name, output) in outputs {
            let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                format.parse(output, built)
            }));
            let line = match parsed {
                Ok(Ok(text)) if text == built.region_text => "no change".to_owned(),
                Ok(Ok(text)) => format!("ok {text:?}"),
                Ok(Err(error)) => format!("error: {error}"),
                Err(_) => "PANIC".to_owned(),
            };
            result.push_str(&format!("{name}: {line}\n"));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(name: &str, tokens: &[&str]) -> ModelMetadata {
        ModelMetadata {
            name: Some(name.to_owned()),
            special_tokens: tokens.iter().map(|token| token.to_string()).collect(),
            ..ModelMetadata::default()
        }
    }

    #[test]
    fn detects_formats_from_metadata() {
        let cases = [
            (metadata("Gemma 3 270m", &[]), PromptFormatKind::Plain),
            (
                metadata("sweep-next-edit-1.5B", &["<|file_sep|>", "<|fim_prefix|>"]),
                PromptFormatKind::Sweep,
            ),
            (metadata("zeta", &["<|fim_prefix|>"]), PromptFormatKind::Zeta),
            (metadata("model", &["<|editable_region_start|>"]), PromptFormatKind::Zeta),
            (metadata("Instinct", &["<|im_start|>", "<|fim_prefix|>"]), PromptFormatKind::Instinct),
            (
                metadata(
                    "Qwen2.5 Coder 1.5B",
                    &["<|file_sep|>", "<|fim_prefix|>", "<|fim_middle|>"],
                ),
                PromptFormatKind::Fim,
            ),
            (metadata("starcoder2", &["<fim_prefix>"]), PromptFormatKind::Fim),
            (metadata("codellama", &["<PRE>", "<SUF>", "<MID>"]), PromptFormatKind::Fim),
            (ModelMetadata::default(), PromptFormatKind::Plain),
            (metadata("Zeta 2", &["<[fim-prefix]>"]), PromptFormatKind::Zeta2),
            (metadata("zed-industries/zeta-2", &[]), PromptFormatKind::Zeta2),
            (
                metadata("Seed Coder 8B", &["<[fim-prefix]>", "<[fim-middle]>"]),
                PromptFormatKind::Zeta2,
            ),
        ];
        for (metadata, expected) in cases {
            assert_eq!(detect_format(&metadata), expected, "{metadata:?}");
        }
    }

    #[test]
    fn detection_reads_the_file_name_and_other_naming_metadata_and_says_why() {
        let qwen = ["<|file_sep|>", "<|fim_prefix|>", "<|fim_middle|>"];
        // A Sweep GGUF converted from a checkpoint directory carries the base model's name.
        let mut sweep = metadata("Qwen2.5 Coder 1.5B", &qwen);
        sweep.file_name = Some("sweep-next-edit-1.5b.q8_0.v2.gguf".to_owned());
        let detection = detect(&sweep);
        assert_eq!(detection.kind, PromptFormatKind::Sweep);
        assert_eq!(detection.fim_style, Some(FimStyle::Qwen));
        assert_eq!(
            detection.reason,
            "the file name \"sweep-next-edit-1.5b.q8_0.v2.gguf\" contains \"sweep\" (Sweep next-edit)"
        );

        let mut zeta = metadata("Merged", &qwen);
        zeta.other_names.push((
            "general.source.huggingface.repository".to_owned(),
            "zed-industries/zeta".to_owned(),
        ));
        let detection = detect(&zeta);
        assert_eq!(detection.kind, PromptFormatKind::Zeta);
        assert!(
            detection.reason.starts_with("general.source.huggingface.repository"),
            "{detection:?}"
        );

        let zeta2 = ModelMetadata {
            file_name: Some("Zeta2-Q4_K_M.gguf".to_owned()),
            ..ModelMetadata::default()
        };
        assert_eq!(detect(&zeta2).kind, PromptFormatKind::Zeta2);

        let starcoder =
            metadata("StarCoder2 3B", &["<fim_prefix>", "<fim_suffix>", "<fim_middle>"]);
        let detection = detect(&starcoder);
        assert_eq!(
            (detection.kind, detection.fim_style),
            (PromptFormatKind::Fim, Some(FimStyle::StarCoder))
        );
        assert_eq!(detection.reason, "the vocabulary has StarCoder fill-in-the-middle tokens");
        assert_eq!(
            detect(&ModelMetadata::default()).reason,
            "no next-edit model name and no fill-in-the-middle tokens"
        );
    }

    #[test]
    fn the_detected_fim_style_picks_the_tokens() {
        let ctx = test_support::shapes_context();
        for (style, prefix) in [
            (FimStyle::Qwen, "<|fim_prefix|>"),
            (FimStyle::StarCoder, "<fim_prefix>"),
            (FimStyle::CodeLlama, "<PRE> "),
        ] {
            let built = format_with_style(PromptFormatKind::Fim, Some(style))
                .build(&ctx, &test_support::count_tokens, &PromptBudget::default())
                .unwrap();
            assert!(built.prompt.starts_with(prefix), "{style:?}: {}", built.prompt);
        }
    }

    #[test]
    fn only_answers_that_ended_by_themselves_are_complete() {
        use crate::engine::model::FinishReason;
        assert!(is_complete(&FinishReason::Stop("<|file_sep|>".to_owned())));
        assert!(is_complete(&FinishReason::EndOfText));
        assert!(is_complete(&FinishReason::Resync));
        assert!(!is_complete(&FinishReason::Length));
        assert!(!is_complete(&FinishReason::ContextFull));
    }

    #[test]
    fn format_kind_round_trips_through_its_name() {
        for kind in PromptFormatKind::ALL {
            assert_eq!(kind.as_str().parse::<PromptFormatKind>(), Ok(kind));
        }
        assert_eq!("SWEEP".parse::<PromptFormatKind>(), Ok(PromptFormatKind::Sweep));
        assert!("auto".parse::<PromptFormatKind>().is_err());
    }

    #[test]
    fn defangs_reserved_tokens() {
        let text = "a <|im_end|> b <unused12> c <start_of_turn>";
        let defanged = defang(text, &["@@@"]);
        assert_eq!(defanged, "a < |im_end|> b < unused12> c < start_of_turn>");
        assert_eq!(find_reserved(&defanged, &[]), None);
        assert_eq!(find_reserved("x <unused7> y", &[]).as_deref(), Some("<unusedN>"));
        assert_eq!(find_reserved("x <unused> y", &[]), None);
    }

    #[test]
    fn line_helpers_clamp_at_the_edges() {
        let text = "a\nb\nc\nd";
        assert_eq!(lines_around(text, 4, 1, 1), 2..7);
        assert_eq!(lines_around(text, 0, 5, 0), 0..2);
        assert_eq!(lines_around(text, 7, 0, 5), 6..7);
        assert_eq!(line_range(text, 1..3), 2..6);
        assert_eq!(line_range(text, 3..10), 6..7);
        assert_eq!(line_range(text, 10..12), 7..7);
        assert_eq!(line_index(text, 4), 2);
    }

    #[test]
    fn runaway_detection() {
        let region = "a\nb\n";
        assert!(!is_runaway("a\nb\nc\n", region));
        assert!(is_runaway(&"x = 1;\n".repeat(6), region));
        assert!(is_runaway(&"y".repeat(2000), region));
    }
}
