//! A small catalogue of real next-edit and fill-in-the-middle models on the Hugging Face hub, and
//! where a pulled one lives in the model cache.
//!
//! `nextedit model list` shows the catalogue, `nextedit model pull NAME` downloads an entry into
//! the cache, and `model.path = "NAME"` resolves to the cached file ([`resolve_model_path`]). A
//! hub file is cached under `<model cache>/<owner>/<repo>/<file>` ([`HubFile::cache_path`]), both
//! for catalogue entries and for `nextedit model pull OWNER/REPO/FILE.gguf`.
//!
//! Repository and file names were checked against public references (model cards, the tools
//! that download these files) where the entry says `file_confirmed`; the others follow the
//! uploader's naming pattern and may be wrong, which `nextedit model pull` reports as a 404 that
//! names the file and the repository.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::engine::prompt::PromptFormatKind;

/// One model of the catalogue: a single GGUF file in a hub repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    /// What `model.path` and `nextedit model pull` accept.
    pub name: &'static str,
    /// The model family, for people.
    pub family: &'static str,
    /// `owner/repo` on the hub.
    pub repo: &'static str,
    /// The file's path inside the repository.
    pub file: &'static str,
    /// Whether a public reference confirms the file name; if not, it follows the uploader's
    /// naming pattern.
    pub file_confirmed: bool,
    /// The file's size in bytes, approximately (from the hub's file listing where known, else
    /// estimated from the parameter count and quantisation).
    pub approx_bytes: u64,
    /// Parameters, as the model card says (`1.5B`).
    pub parameters: &'static str,
    pub quantization: &'static str,
    /// The licence the model card declares (SPDX-style).
    pub licence: &'static str,
    /// The `model.format` value for this model.
    pub format: &'static str,
    pub note: &'static str,
}

/// The catalogue. Names are lower case; lookups ignore case.
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "sweep-next-edit-0.5b",
        family: "Sweep next-edit",
        repo: "sweepai/sweep-next-edit-0.5B",
        file: "sweep-next-edit-0.5b.q8_0.gguf",
        file_confirmed: true,
        approx_bytes: 531_000_000,
        parameters: "0.5B",
        quantization: "Q8_0",
        licence: "Apache-2.0",
        format: "sweep",
        note: "Sweep's smallest next-edit model (Qwen2.5-Coder base); fastest on a laptop CPU",
    },
    CatalogEntry {
        name: "sweep-next-edit-1.5b",
        family: "Sweep next-edit",
        repo: "sweepai/sweep-next-edit-1.5B",
        file: "sweep-next-edit-1.5b.q8_0.v2.gguf",
        file_confirmed: true,
        approx_bytes: 1_537_269_856,
        parameters: "1.5B",
        quantization: "Q8_0",
        licence: "Apache-2.0",
        format: "sweep",
        note: "Sweep's 1.5B next-edit model; the best quality that is still quick on a CPU",
    },
    CatalogEntry {
        name: "zeta",
        family: "Zeta",
        repo: "lmstudio-community/zeta-GGUF",
        file: "zeta-Q4_K_M.gguf",
        file_confirmed: true,
        approx_bytes: 4_680_000_000,
        parameters: "7.6B",
        quantization: "Q4_K_M",
        licence: "Apache-2.0",
        format: "zeta",
        note: "Zed's first edit-prediction model (Qwen2.5-Coder-7B fine-tune), quantised by LM Studio's community; slow on a CPU",
    },
    CatalogEntry {
        name: "zeta-2",
        family: "Zeta 2",
        repo: "bartowski/zed-industries_zeta-2-GGUF",
        // Published configurations use this repository with the Q4_K_M tag, and the uploader
        // names files `<repo>-<quant>.gguf` (the Q4_K_L file of this repository is confirmed);
        // the exact Q4_K_M file name is not confirmed.
        file: "zed-industries_zeta-2-Q4_K_M.gguf",
        file_confirmed: false,
        approx_bytes: 5_000_000_000,
        parameters: "8.2B",
        quantization: "Q4_K_M",
        licence: "Apache-2.0",
        format: "zeta2",
        note: "Zed's current model (Seed-Coder-8B fine-tune, SPM layout); slow on a CPU, best behind a GPU server",
    },
    CatalogEntry {
        name: "instinct",
        family: "Instinct",
        repo: "continuedev/instinct-GGUF",
        // Continue's model card links this repository as its Q4_K_M quantisation; the file name
        // is not confirmed by a public reference.
        file: "instinct-Q4_K_M.gguf",
        file_confirmed: false,
        approx_bytes: 4_680_000_000,
        parameters: "7.6B",
        quantization: "Q4_K_M",
        licence: "Apache-2.0",
        format: "instinct",
        note: "Continue's next-edit model (Qwen2.5-Coder-7B fine-tune, chat template); slow on a CPU",
    },
    CatalogEntry {
        name: "qwen2.5-coder-0.5b",
        family: "Qwen2.5-Coder (FIM)",
        repo: "ggml-org/Qwen2.5-Coder-0.5B-Q8_0-GGUF",
        file: "qwen2.5-coder-0.5b-q8_0.gguf",
        file_confirmed: true,
        approx_bytes: 531_000_000,
        parameters: "0.5B",
        quantization: "Q8_0",
        licence: "Apache-2.0",
        format: "fim",
        note: "base model for fill-in-the-middle at the cursor (what llama.vim and llama.vscode recommend)",
    },
    CatalogEntry {
        name: "qwen2.5-coder-1.5b",
        family: "Qwen2.5-Coder (FIM)",
        repo: "ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF",
        file: "qwen2.5-coder-1.5b-q8_0.gguf",
        file_confirmed: true,
        approx_bytes: 1_650_000_000,
        parameters: "1.5B",
        quantization: "Q8_0",
        licence: "Apache-2.0",
        format: "fim",
        note: "base model for fill-in-the-middle at the cursor; better completions, still quick",
    },
];

/// The catalogue entry named `name` (case-insensitive).
pub fn find(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|entry| entry.name.eq_ignore_ascii_case(name.trim()))
}

/// The catalogue entry whose file has this file name (a file pulled by `OWNER/REPO/FILE` that the
/// catalogue also knows).
pub fn find_by_file_name(file_name: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|entry| {
        Path::new(entry.file).file_name().is_some_and(|name| name.eq_ignore_ascii_case(file_name))
    })
}

impl CatalogEntry {
    /// The entry's file on the hub.
    pub fn hub_file(&self) -> HubFile {
        HubFile { repo: self.repo.to_owned(), file: self.file.to_owned() }
    }

    /// Where the entry lives once pulled, inside the model cache directory `models_dir`.
    pub fn cache_path(&self, models_dir: &Path) -> PathBuf {
        self.hub_file().cache_path(models_dir)
    }

    /// The entry's `format` as a prompt format; `None` if this build doesn't implement it.
    pub fn prompt_format(&self) -> Option<PromptFormatKind> {
        self.format.parse().ok()
    }
}

/// A file in a hub repository: `owner/repo` and the file's path inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubFile {
    pub repo: String,
    pub file: String,
}

/// Why `OWNER/REPO/FILE` does not name a hub file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubFileError {
    #[error(
        "`{0}` is neither a catalogue name nor OWNER/REPO/FILE.gguf (see `nextedit model list`)"
    )]
    Shape(String),
    #[error(
        "`{0}` has an empty, `.` or `..` path component, or a character a file name can't hold"
    )]
    Component(String),
}

impl HubFile {
    /// Parses `OWNER/REPO/PATH/IN/REPO.gguf`.
    pub fn parse(spec: &str) -> Result<HubFile, HubFileError> {
        let spec = spec.trim();
        let mut parts = spec.splitn(3, '/');
        let (Some(owner), Some(repo), Some(file)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(HubFileError::Shape(spec.to_owned()));
        };
        if !file.to_ascii_lowercase().ends_with(".gguf") {
            return Err(HubFileError::Shape(spec.to_owned()));
        }
        let safe = |component: &str| {
            !component.is_empty()
                && component != "."
                && component != ".."
                && !component.contains(['\\', '\0', ':'])
        };
        if !safe(owner) || !safe(repo) || !file.split('/').all(safe) {
            return Err(HubFileError::Component(spec.to_owned()));
        }
        Ok(HubFile { repo: format!("{owner}/{repo}"), file: file.to_owned() })
    }

    /// `<models_dir>/<owner>/<repo>/<file>`: one directory per repository, so equal file names
    /// of different repositories don't collide.
    pub fn cache_path(&self, models_dir: &Path) -> PathBuf {
        let mut path = models_dir.to_path_buf();
        path.extend(self.repo.split('/'));
        path.extend(self.file.split('/'));
        path
    }

    /// The file's name without its directories.
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }
}

impl fmt::Display for HubFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.repo, self.file)
    }
}

/// Why a catalogue name in `model.path` has no file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogPathError {
    #[error(
        "model.path names the catalogue model `{name}`, which is not downloaded yet (expected at {}): run `nextedit model pull {name}`",
        .path.display()
    )]
    NotPulled { name: String, path: PathBuf },
    #[error(
        "model.path names the catalogue model `{0}`, but no cache directory is known (set HOME or XDG_CACHE_HOME)"
    )]
    NoCacheDir(String),
}

/// A `model.path` value resolved: the file, and the catalogue entry when the value named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModelPath {
    pub path: PathBuf,
    pub entry: Option<&'static CatalogEntry>,
}

/// `model.path` as a file: a catalogue name becomes its file in the model cache `models_dir`
/// (which must exist there), anything else is a path as it stands.
pub fn resolve_model_path(
    value: &str,
    models_dir: Option<&Path>,
) -> Result<ResolvedModelPath, CatalogPathError> {
    let Some(entry) = find(value) else {
        return Ok(ResolvedModelPath { path: PathBuf::from(value), entry: None });
    };
    let models_dir =
        models_dir.ok_or_else(|| CatalogPathError::NoCacheDir(entry.name.to_owned()))?;
    let path = entry.cache_path(models_dir);
    if !path.is_file() {
        return Err(CatalogPathError::NotPulled { name: entry.name.to_owned(), path });
    }
    Ok(ResolvedModelPath { path, entry: Some(entry) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lower_case_and_formats_are_model_format_values() {
        for (index, entry) in CATALOG.iter().enumerate() {
            assert_eq!(entry.name, entry.name.to_ascii_lowercase());
            assert!(CATALOG[..index].iter().all(|other| other.name != entry.name));
            assert!(
                ["sweep", "zeta", "zeta2", "instinct", "fim", "plain"].contains(&entry.format),
                "{}: {}",
                entry.name,
                entry.format
            );
            assert!(entry.file.ends_with(".gguf"), "{}", entry.file);
            // Every entry parses back from its OWNER/REPO/FILE spelling.
            let hub_file = HubFile::parse(&format!("{}/{}", entry.repo, entry.file)).unwrap();
            assert_eq!(hub_file, entry.hub_file());
            assert_eq!(find_by_file_name(hub_file.file_name()), Some(entry));
        }
        assert_eq!(find("Sweep-Next-Edit-1.5B").unwrap().format, "sweep");
        assert_eq!(find("nonsense"), None);
    }

    #[test]
    fn hub_files_parse_and_land_in_one_directory_per_repository() {
        let file = HubFile::parse("org/repo/sub/model-Q4_K_M.gguf").unwrap();
        assert_eq!(file.repo, "org/repo");
        assert_eq!(file.file_name(), "model-Q4_K_M.gguf");
        assert_eq!(
            file.cache_path(Path::new("/cache/models")),
            Path::new("/cache/models/org/repo/sub/model-Q4_K_M.gguf")
        );
        for bad in ["org/repo", "org/repo/model.bin", "org/../model.gguf", "org//model.gguf"] {
            assert!(HubFile::parse(bad).is_err(), "{bad}");
        }
        assert!(HubFile::parse("org/repo/../../escape.gguf").is_err());
    }

    #[test]
    fn catalogue_names_resolve_to_the_cache_or_ask_for_a_pull() {
        let cache = tempfile::tempdir().unwrap();
        let entry = find("qwen2.5-coder-0.5b").unwrap();
        // Not pulled: the error names the command that fixes it.
        let error = resolve_model_path("qwen2.5-coder-0.5b", Some(cache.path())).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("run `nextedit model pull qwen2.5-coder-0.5b`"), "{message}");
        assert!(!message.ends_with('.'));
        assert!(matches!(
            resolve_model_path("zeta", None),
            Err(CatalogPathError::NoCacheDir(name)) if name == "zeta"
        ));
        // Pulled: the cached file, with its entry.
        let path = entry.cache_path(cache.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"GGUF").unwrap();
        let resolved = resolve_model_path("qwen2.5-coder-0.5b", Some(cache.path())).unwrap();
        assert_eq!(resolved, ResolvedModelPath { path: path.clone(), entry: Some(entry) });
        // Anything else is a path.
        let other = resolve_model_path("models/own.gguf", Some(cache.path())).unwrap();
        assert_eq!(
            other,
            ResolvedModelPath { path: PathBuf::from("models/own.gguf"), entry: None }
        );
    }
}
