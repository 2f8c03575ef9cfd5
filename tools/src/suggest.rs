//! `nextedit suggest FILE --line L --column C [--history PATCH...] [--json]`: the prediction
//! pipeline without an editor. The history patches are the edits that led to FILE, oldest first;
//! they are replayed as the editor would send them, then the next edit is predicted at the cursor.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;

use crate::patch::{Direction, apply_patch_steps, unapply_patch};
use nextedit::config::{self, BackendKind, Settings, SettingsLayers, Source};
use nextedit::engine::model::config::{BackendConfig, BackendHooks, backend_config, load_backend};
use nextedit::engine::{Engine, ModelSlot};
use nextedit::text::{Position, PositionEncoding, PositionRange, TextChange, position};

/// `nextedit suggest FILE [--line L --column C] [--history PATCH]... [--json] [--config FILE]
/// [--no-model]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SuggestArgs {
    /// The file whose next edit is predicted, as it is after the history
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Zero-based line of the cursor
    #[arg(long, short = 'l', value_name = "L")]
    pub line: Option<u32>,
    /// Zero-based column of the cursor, in characters (default 0)
    #[arg(long, short = 'c', value_name = "C", requires = "line")]
    pub column: Option<u32>,
    /// A unified diff of one of the edits that led to FILE, oldest first (repeatable)
    #[arg(long, value_name = "PATCH")]
    pub history: Vec<PathBuf>,
    /// Print the suggestion as JSON
    #[arg(long)]
    pub json: bool,
    /// A TOML settings file, on top of the user's
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Symbolic engine only: no model
    #[arg(long)]
    pub no_model: bool,
}

impl crate::cli::ToolCommand for SuggestArgs {
    const NAME: &'static str = "suggest";
    type Args = SuggestArgs;

    fn into_args(self) -> Result<SuggestArgs, String> {
        Ok(self)
    }
}

/// The settings the command line uses: the user's file, then `--config`.
pub fn cli_settings(config_file: Option<&std::path::Path>) -> Result<Settings> {
    let mut layers = SettingsLayers::default();
    if let Some(path) = config::user_config_path().filter(|path| path.is_file()) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        layers.set(
            Source::UserFile,
            config::parse_toml(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?,
        );
    }
    if let Some(path) = config_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        // Given on the command line by the user, so it is trusted like initializationOptions.
        layers.set(
            Source::InitializationOptions,
            config::parse_toml(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?,
        );
    }
    let (settings, warnings) = layers.resolve();
    for warning in warnings {
        eprintln!("nextedit: {warning}");
    }
    Ok(settings)
}

pub fn run_suggest(args: SuggestArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let mut patches = Vec::new();
    for path in &args.history {
        patches.push(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        );
    }
    let mut settings = cli_settings(args.config.as_deref())?;
    if args.no_model {
        settings.model.backend = BackendKind::None;
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(suggest(&args, &text, &patches, settings))
}

async fn suggest(
    args: &SuggestArgs,
    text: &str,
    patches: &[String],
    settings: Settings,
) -> Result<()> {
    // The text before the history: undo the patches, newest first.
    let mut original = text.to_owned();
    for (index, patch) in patches.iter().enumerate().rev() {
        original = unapply_patch(&original, patch)
            .map_err(|error| anyhow!("history patch {}: {error}", index + 1))?;
    }
    let engine = Engine::new(settings.clone());
    // The same configuration and loading as the server (llama inside the restart supervisor).
    if let Some(configured) = backend_config(&settings).map_err(|error| anyhow!("{error}"))? {
        let remote = matches!(configured.config, BackendConfig::OpenAi(_));
        match load_backend(configured, BackendHooks::default()).await {
            Ok(ready) => {
                for warning in &ready.warnings {
                    eprintln!("nextedit: {warning}");
                }
                engine.set_model(ModelSlot::Ready(ready.backend));
            }
            Err(error) if remote => return Err(anyhow!("{error}")),
            Err(error) => eprintln!("nextedit: {error}; continuing without the model"),
        }
    }
    let absolute = std::fs::canonicalize(&args.file).unwrap_or_else(|_| args.file.clone());
    let uri = nextedit::text::uri::path_to_file_uri(&absolute);
    let language_id = nextedit_grammars::by_path(&absolute.to_string_lossy())
        .map(|l| l.id.clone())
        .unwrap_or_default();
    engine.open(&uri, &language_id, 0, &original);
    let mut version = 0;
    let mut current = original.clone();
    for (index, patch) in patches.iter().enumerate() {
        let steps = apply_patch_steps(&current, patch, Direction::Forward)
            .map_err(|error| anyhow!("history patch {}: {error}", index + 1))?;
        for step in steps {
            let change = minimal_change(&current, &step);
            version += 1;
            engine
                .change(&uri, version, &[change], PositionEncoding::Utf8)
                .map_err(|error| anyhow!("replaying history: {error}"))?;
            current = step;
        }
    }
    let cursor = match (args.line, args.column) {
        (Some(line), column) => Some(position::position_to_byte_in_str(
            &current,
            Position::new(line, column.unwrap_or(0)),
            PositionEncoding::Utf32,
        )),
        (None, Some(_)) => bail!("--column needs --line"),
        (None, None) => None,
    };
    let suggestion =
        tokio::time::timeout(Duration::from_secs(120), engine.predict_now(&uri, cursor))
            .await
            .map_err(|_| anyhow!("the prediction took longer than 120 s"))?
            .map_err(|error| anyhow!("prediction failed: {error:?}"))?;
    let Some(suggestion) = suggestion else {
        if args.json {
            println!("{}", json!({"suggestion": null}));
        } else {
            eprintln!("nextedit: no suggestion");
        }
        return Ok(());
    };
    let after = nextedit::engine::validate::apply_edits(&current, suggestion.edits())
        .context("applying the suggestion")?;
    if args.json {
        let rope = ropey::Rope::from_str(&current);
        let edits: Vec<_> = suggestion
            .edits()
            .iter()
            .map(|edit| {
                let start = position::byte_to_position(&rope, edit.range.start, PositionEncoding::Utf32);
                let end = position::byte_to_position(&rope, edit.range.end, PositionEncoding::Utf32);
                json!({
                    "range": {"start": {"line": start.line, "character": start.character}, "end": {"line": end.line, "character": end.character}},
                    "newText": edit.new_text,
                })
            })
            .collect();
        println!(
            "{}",
            json!({"suggestion": {"source": suggestion.proposal.source.as_str(), "score": suggestion.proposal.score, "edits": edits, "after": after}})
        );
    } else {
        let name = args.file.display().to_string();
        print!("--- a/{name}\n+++ b/{name}\n");
        print!(
            "{}",
            nextedit::text::history::render_unified_diff(
                &current,
                &after,
                0,
                0,
                3,
                Duration::from_millis(200)
            )
        );
    }
    Ok(())
}

/// The single change (common prefix and suffix removed, words kept whole) that turns `old` into
/// `new`, with UTF-8 positions.
pub fn minimal_change(old: &str, new: &str) -> TextChange {
    let whole = nextedit::text::TextEdit::new(0..old.len(), new);
    let edit = nextedit::engine::suggestion::minimize_edits(old, &[whole])
        .pop()
        .unwrap_or_else(|| nextedit::text::TextEdit::new(0..0, ""));
    let rope = ropey::Rope::from_str(old);
    let start = position::byte_to_position(&rope, edit.range.start, PositionEncoding::Utf8);
    let end = position::byte_to_position(&rope, edit.range.end, PositionEncoding::Utf8);
    TextChange { range: Some(PositionRange::new(start, end)), text: edit.new_text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nextedit::text::Document;

    #[test]
    fn minimal_changes_reproduce_the_new_text() {
        for (old, new) in [
            ("abc", "abXc"),
            ("a😀b", "a😁b"),
            ("x\r\ny\n", "x\r\nz\n"),
            ("", "new"),
            ("gone", ""),
            ("aaa", "aa"),
        ] {
            let mut document = Document::new("file:///t", "text", 0, old);
            document.apply_change(&minimal_change(old, new), PositionEncoding::Utf8);
            assert_eq!(document.text(), new);
        }
    }
}
