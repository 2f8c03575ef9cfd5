//! `nextedit model`: the catalogue of real next-edit and fill-in-the-middle models (`list`) and
//! their download from the Hugging Face hub into the model cache (`pull`, in [`pull`]).
//!
//! The catalogue itself is in the server library (`nextedit::engine::model::catalog`), so that
//! `model.path = "NAME"` resolves to the pulled file there.

use std::fmt::Write as _;
use std::path::Path;

use nextedit::engine::model::catalog::{CATALOG, CatalogEntry};

use crate::cli::ToolCommand;

#[cfg(feature = "pull")]
pub mod pull;

/// Lists and downloads real next-edit models
#[derive(Debug, clap::Args)]
pub struct ModelCommand {
    #[command(subcommand)]
    pub action: ModelAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum ModelAction {
    /// Show the catalogue (size, licence, prompt format, source) and which models are downloaded
    List,
    /// Download a catalogue model, or OWNER/REPO/FILE.gguf, from Hugging Face into the model cache
    Pull(PullArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct PullArgs {
    /// A catalogue name (see `nextedit model list`), or OWNER/REPO/FILE.gguf for any GGUF file on
    /// the hub
    pub name: String,
    /// The branch, tag or commit of the repository to download from
    #[arg(long, default_value = "main")]
    pub revision: String,
    /// Download again even when the file is already in the cache
    #[arg(long)]
    pub force: bool,
}

impl ToolCommand for ModelCommand {
    const NAME: &'static str = "model";
    type Args = ModelAction;

    fn into_args(self) -> Result<ModelAction, String> {
        Ok(self.action)
    }
}

pub fn run_model(action: ModelAction) -> anyhow::Result<()> {
    match action {
        ModelAction::List => {
            let models_dir = nextedit::engine::model::model_cache_dir();
            crate::print_stdout(&render_list(models_dir.as_deref()))
        }
        #[cfg(feature = "pull")]
        ModelAction::Pull(args) => pull::run_pull(args),
        #[cfg(not(feature = "pull"))]
        ModelAction::Pull(_) => anyhow::bail!(
            "this nextedit was built without the pull feature; rebuild with default features"
        ),
    }
}

/// `bytes` in gigabytes (10^9) with two decimals.
pub(crate) fn gigabytes(bytes: u64) -> String {
    format!("{:.2} GB", bytes as f64 / 1e9)
}

/// The catalogue as `nextedit model list` prints it; `models_dir` is the model cache, where
/// pulled models are.
pub fn render_list(models_dir: Option<&Path>) -> String {
    let mut out = String::new();
    let header = ["NAME", "PARAMS", "QUANT", "SIZE", "FORMAT", "LICENCE", "PULLED"];
    let rows: Vec<[String; 7]> = CATALOG
        .iter()
        .map(|entry| {
            [
                entry.name.to_owned(),
                entry.parameters.to_owned(),
                entry.quantization.to_owned(),
                format!("~{}", gigabytes(entry.approx_bytes)),
                entry.format.to_owned(),
                entry.licence.to_owned(),
                pulled(entry, models_dir).to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let padded: Vec<String> =
            cells.iter().zip(widths).map(|(cell, width)| format!("{cell:width$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&header));
    for (entry, row) in CATALOG.iter().zip(&rows) {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}", line(&cells));
        let unconfirmed = if entry.file_confirmed { "" } else { " (file name not confirmed)" };
        let _ = writeln!(out, "    {}: {}/{}{unconfirmed}", entry.family, entry.repo, entry.file);
        let _ = writeln!(out, "    {}", entry.note);
    }
    out.push('\n');
    match models_dir {
        Some(dir) => {
            let _ = writeln!(out, "model cache: {}", dir.display());
        }
        None => out.push_str("model cache: unknown (set HOME or XDG_CACHE_HOME)\n"),
    }
    out.push_str(
        "Download one with `nextedit model pull NAME` (any GGUF file on the hub: `nextedit model pull \
         OWNER/REPO/FILE.gguf`),\nthen set model.path = \"NAME\" in ~/.config/nextedit/config.toml.\n",
    );
    out
}

fn pulled(entry: &CatalogEntry, models_dir: Option<&Path>) -> &'static str {
    match models_dir {
        Some(dir) if entry.cache_path(dir).is_file() => "yes",
        Some(_) => "no",
        None => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_shows_every_entry_and_which_are_pulled() {
        let cache = tempfile::tempdir().unwrap();
        let entry = nextedit::engine::model::catalog::find("sweep-next-edit-0.5b").unwrap();
        let path = entry.cache_path(cache.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"GGUF").unwrap();
        let text = render_list(Some(cache.path()));
        let text = text.replace(&cache.path().display().to_string(), "CACHE");
        expect_test::expect![[r#"
            NAME                  PARAMS  QUANT   SIZE      FORMAT    LICENCE     PULLED
            sweep-next-edit-0.5b  0.5B    Q8_0    ~0.53 GB  sweep     Apache-2.0  yes
                Sweep next-edit: sweepai/sweep-next-edit-0.5B/sweep-next-edit-0.5b.q8_0.gguf
                Sweep's smallest next-edit model (Qwen2.5-Coder base); fastest on a laptop CPU
            sweep-next-edit-1.5b  1.5B    Q8_0    ~1.54 GB  sweep     Apache-2.0  no
                Sweep next-edit: sweepai/sweep-next-edit-1.5B/sweep-next-edit-1.5b.q8_0.v2.gguf
                Sweep's 1.5B next-edit model; the best quality that is still quick on a CPU
            zeta                  7.6B    Q4_K_M  ~4.68 GB  zeta      Apache-2.0  no
                Zeta: lmstudio-community/zeta-GGUF/zeta-Q4_K_M.gguf
                Zed's first edit-prediction model (Qwen2.5-Coder-7B fine-tune), quantised by LM Studio's community; slow on a CPU
            zeta-2                8.2B    Q4_K_M  ~5.00 GB  zeta2     Apache-2.0  no
                Zeta 2: bartowski/zed-industries_zeta-2-GGUF/zed-industries_zeta-2-Q4_K_M.gguf (file name not confirmed)
                Zed's current model (Seed-Coder-8B fine-tune, SPM layout); slow on a CPU, best behind a GPU server
            instinct              7.6B    Q4_K_M  ~4.68 GB  instinct  Apache-2.0  no
                Instinct: continuedev/instinct-GGUF/instinct-Q4_K_M.gguf (file name not confirmed)
                Continue's next-edit model (Qwen2.5-Coder-7B fine-tune, chat template); slow on a CPU
            qwen2.5-coder-0.5b    0.5B    Q8_0    ~0.53 GB  fim       Apache-2.0  no
                Qwen2.5-Coder (FIM): ggml-org/Qwen2.5-Coder-0.5B-Q8_0-GGUF/qwen2.5-coder-0.5b-q8_0.gguf
                base model for fill-in-the-middle at the cursor (what llama.vim and llama.vscode recommend)
            qwen2.5-coder-1.5b    1.5B    Q8_0    ~1.65 GB  fim       Apache-2.0  no
                Qwen2.5-Coder (FIM): ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF/qwen2.5-coder-1.5b-q8_0.gguf
                base model for fill-in-the-middle at the cursor; better completions, still quick

            model cache: CACHE
            Download one with `nextedit model pull NAME` (any GGUF file on the hub: `nextedit model pull OWNER/REPO/FILE.gguf`),
            then set model.path = "NAME" in ~/.config/nextedit/config.toml.
        "#]]
        .assert_eq(&text);
    }
}
