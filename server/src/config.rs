//! Settings: one schema, filled from layers of increasing precedence: defaults, the user config
//! file (`~/.config/nextedit/config.toml`), the workspace file (`<root>/nextedit.toml`),
//! `initializationOptions` and `workspace/didChangeConfiguration`.
//!
//! Workspace trust: a repository you clone must not be able to send your code anywhere or load
//! files from outside it. Keys that open network connections or name files outside the workspace
//! are dropped from the workspace layer, with a warning.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
pub struct Settings {
    pub model: ModelSettings,
    pub openai: OpenAiSettings,
    pub predict: PredictSettings,
    pub symbolic: SymbolicSettings,
    /// Publish the suggestion as a Hint diagnostic, for editors without an inline UI.
    pub diagnostics: bool,
    pub log: LogSettings,
    pub lsp: LspSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Llama,
    Openai,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    pub backend: BackendKind,
    /// A GGUF file; when unset, the default model in the cache directory.
    pub path: Option<String>,
    /// `auto`, `sweep`, `zeta`, `instinct`, `fim` or `plain`.
    pub format: String,
    /// Decode threads; unset or 0: half the available cores, from 1 to 4.
    pub threads: Option<u32>,
    pub gpu_layers: u32,
    pub context_size: u32,
    /// LoRA adapter GGUF files.
    pub lora: Vec<String>,
}

impl Default for ModelSettings {
    fn default() -> ModelSettings {
        ModelSettings {
            backend: BackendKind::Llama,
            path: None,
            format: "auto".to_owned(),
            threads: None,
            gpu_layers: 0,
            context_size: 4096,
            lora: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiSettings {
    /// Base URL of an OpenAI-compatible server, e.g. `http://127.0.0.1:8080`.
    pub endpoint: Option<String>,
    /// The `model` of requests; when unset, the first model the server lists.
    pub model: Option<String>,
    /// The name of the environment variable that holds the API key (never the key itself).
    pub api_key_env: Option<String>,
    /// Use `/v1/chat/completions`; when unset, only for chat-template formats (instinct).
    pub chat: Option<bool>,
    pub connect_timeout_ms: u64,
    /// The most one suggestion may take, retries included.
    pub timeout_ms: u64,
    /// Further attempts after a connection failure or an overload answer, with backoff.
    pub retries: u32,
    /// The most requests open at once.
    pub max_in_flight: u32,
    /// Send the editable region as a predicted output and ask the server to cache the prompt.
    pub hints: bool,
    /// A PEM file of extra root certificates, for a server with a private CA.
    pub ca_file: Option<String>,
}

impl Default for OpenAiSettings {
    fn default() -> OpenAiSettings {
        OpenAiSettings {
            endpoint: None,
            model: None,
            api_key_env: None,
            chat: None,
            connect_timeout_ms: 2_000,
            timeout_ms: 10_000,
            retries: 2,
            max_in_flight: 2,
            hints: true,
            ca_file: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PredictSettings {
    pub debounce_ms: u64,
    pub max_tokens: u32,
    pub candidates: u32,
    pub temperature: f32,
    pub top_k: u32,
    pub top_p: f32,
    /// Registry language ids to predict in; empty means all.
    pub languages: Vec<String>,
    /// Stop once the output has matched the original text again for this many tokens (0 = off).
    pub resync_tokens: u32,
    /// How long a next-edit request waits for a pending prediction.
    pub request_timeout_ms: u64,
    /// The model's own suggestions are shown only when the ranker's confidence in them (0..1)
    /// reaches this; symbolic ones pass on `symbolic.min_score`, and a model backend without
    /// log-probabilities is not gated. The default comes from `nextedit eval`'s calibration table
    /// for the default model (README).
    pub min_confidence: f32,
}

impl Default for PredictSettings {
    fn default() -> PredictSettings {
        PredictSettings {
            debounce_ms: 75,
            max_tokens: 256,
            candidates: 1,
            temperature: 0.0,
            top_k: 40,
            top_p: 0.95,
            languages: Vec::new(),
            resync_tokens: 8,
            request_timeout_ms: 10_000,
            min_confidence: 0.9,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SymbolicSettings {
    pub enabled: bool,
    /// Proposals scoring below this are not shown.
    pub min_score: f32,
    /// A symbolic proposal at or above this score wins over the model's.
    pub prefer_over_model: f32,
}

impl Default for SymbolicSettings {
    fn default() -> SymbolicSettings {
        SymbolicSettings { enabled: true, min_score: 0.6, prefer_over_model: 0.8 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `nextedit=debug`; `RUST_LOG` wins over it.
    pub level: String,
    /// Write logs to this file instead of stderr.
    pub file: Option<String>,
}

impl Default for LogSettings {
    fn default() -> LogSettings {
        LogSettings { level: "info".to_owned(), file: None }
    }
}

/// A position encoding a setting can force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncodingSetting {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "utf-16")]
    Utf16,
    #[serde(rename = "utf-32")]
    Utf32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LspSettings {
    /// Positions in this encoding whatever the client offers, for clients that assume one (read
    /// at `initialize`). Unset: negotiated, and UTF-16 for clients that identify themselves the
    /// Copilot way.
    pub position_encoding: Option<EncodingSetting>,
}

/// What Copilot's clients (sidekick.nvim, copilot-lsp, nvim-lspconfig's Copilot configuration)
/// send in `initializationOptions` and settings for the Copilot language server. They are not
/// nextedit's settings and are accepted without a warning.
pub const COPILOT_CLIENT_KEYS: [&str; 8] = [
    "editorInfo",
    "editorPluginInfo",
    "editorConfiguration",
    "nextEditSuggestions",
    "networkProxy",
    "http",
    "telemetry",
    "github-enterprise",
];

/// Whether `initializationOptions` identify a Copilot client (`editorInfo` or `editorPluginInfo`).
pub fn identifies_as_copilot_client(initialization_options: &Value) -> bool {
    ["editorInfo", "editorPluginInfo"].iter().any(|key| initialization_options.get(key).is_some())
}

/// Where a layer of settings comes from. The workspace file is not one of them: it is trusted less
/// and needs its root, see [`SettingsLayers::set_workspace`] and [`SettingsLayers::load_workspace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    UserFile,
    InitializationOptions,
    DidChangeConfiguration,
}

/// Why a settings file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Toml(String),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: Box<ConfigError>,
    },
}

/// The layers as they were given, kept so that a later layer can be replaced and the whole
/// recomputed.
#[derive(Debug, Clone, Default)]
pub struct SettingsLayers {
    user_file: Option<Value>,
    workspace: Option<(PathBuf, Value)>,
    initialization_options: Option<Value>,
    did_change_configuration: Option<Value>,
}

impl SettingsLayers {
    pub fn set(&mut self, source: Source, value: Value) {
        match source {
            Source::UserFile => self.user_file = Some(value),
            Source::InitializationOptions => self.initialization_options = Some(value),
            Source::DidChangeConfiguration => self.did_change_configuration = Some(value),
        }
    }

    pub fn set_workspace(&mut self, root: &Path, value: Value) {
        self.workspace = Some((root.to_path_buf(), value));
    }

    /// Reads `<root>/nextedit.toml` into the workspace layer. Without the file the layer stays
    /// empty; a file that doesn't parse is an error (and the layer stays empty too).
    pub fn load_workspace(&mut self, root: &Path) -> Result<(), ConfigError> {
        let path = root.join(WORKSPACE_FILE_NAME);
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(()) };
        let value = parse_toml(&text)
            .map_err(|error| ConfigError::File { path, source: Box::new(error) })?;
        self.set_workspace(root, value);
        Ok(())
    }

    /// Merges the layers into settings. Problems (unknown keys, bad values, untrusted keys) are
    /// returned as warnings; a bad value keeps the default.
    pub fn resolve(&self) -> (Settings, Vec<String>) {
        let mut warnings = Vec::new();
        let mut merged = serde_json::to_value(Settings::default()).unwrap_or(Value::Null);
        let known = merged.clone();
        let mut layers: Vec<(&str, Value)> = Vec::new();
        if let Some(value) = &self.user_file {
            layers.push(("user config", value.clone()));
        }
        if let Some((root, value)) = &self.workspace {
            let mut value = value.clone();
            drop_untrusted_workspace_keys(&mut value, root, &mut warnings);
            layers.push(("nextedit.toml", value));
        }
        if let Some(value) = &self.initialization_options {
            layers.push(("initializationOptions", without_copilot_client_keys(value.clone())));
        }
        if let Some(value) = &self.did_change_configuration {
            let value = without_copilot_client_keys(unwrap_section(value.clone()));
            layers.push(("workspace/didChangeConfiguration", value));
        }
        for (name, mut value) in layers {
            if value.is_null() {
                continue;
            }
            if !value.is_object() {
                warnings.push(format!("{name}: settings must be an object, ignored"));
                continue;
            }
            remove_unknown_keys(&mut value, &known, "", name, &mut warnings);
            // Apply the layer only if the result still deserialises, so one bad value can't
            // discard the other layers.
            let mut candidate = merged.clone();
            merge(&mut candidate, value.clone());
            match serde_json::from_value::<Settings>(candidate.clone()) {
                Ok(_) => merged = candidate,
                Err(error) => {
                    warnings.push(format!(
                        "{name}: {error}; the values of this layer that fit are used"
                    ));
                    merge_valid_leaves(&mut merged, value, &mut warnings, name);
                }
            }
        }
        let settings = serde_json::from_value(merged).unwrap_or_default();
        (settings, warnings)
    }
}

/// `didChangeConfiguration` often nests the settings under the server's name.
fn unwrap_section(value: Value) -> Value {
    match value {
        Value::Object(mut map) if map.len() == 1 && map.contains_key("nextedit") => {
            map.remove("nextedit").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// A client layer without the keys of [`COPILOT_CLIENT_KEYS`].
fn without_copilot_client_keys(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        for key in COPILOT_CLIENT_KEYS {
            map.remove(key);
        }
    }
    value
}

fn merge(target: &mut Value, layer: Value) {
    match (target, layer) {
        (Value::Object(target), Value::Object(layer)) => {
            for (key, value) in layer {
                match target.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (target, layer) => *target = layer,
    }
}

/// Applies the leaves of `layer` one at a time, skipping those that make the settings invalid.
fn merge_valid_leaves(merged: &mut Value, layer: Value, warnings: &mut Vec<String>, name: &str) {
    let mut leaves = Vec::new();
    collect_leaves(&layer, &mut Vec::new(), &mut leaves);
    for (path, value) in leaves {
        let mut single = Value::Object(Map::new());
        let mut cursor = &mut single;
        for key in &path {
            cursor = cursor
                .as_object_mut()
                .expect("built as objects")
                .entry(key.clone())
                .or_insert(Value::Object(Map::new()));
        }
        *cursor = value;
        let mut candidate = merged.clone();
        merge(&mut candidate, single);
        if serde_json::from_value::<Settings>(candidate.clone()).is_ok() {
            *merged = candidate;
        } else {
            warnings.push(format!(
                "{name}: invalid value for `{}`, using the previous one",
                path.join(".")
            ));
        }
    }
}

fn collect_leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(key.clone());
                collect_leaves(child, path, out);
                path.pop();
            }
        }
        leaf => out.push((path.clone(), leaf.clone())),
    }
}

/// Removes keys that the schema doesn't know, warning about each.
fn remove_unknown_keys(
    value: &mut Value,
    known: &Value,
    prefix: &str,
    layer: &str,
    warnings: &mut Vec<String>,
) {
    let (Value::Object(map), Value::Object(known_map)) = (value, known) else { return };
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match known_map.get(&key) {
            None => {
                map.remove(&key);
                warnings.push(format!("{layer}: unknown setting `{path}` ignored"));
            }
            Some(known_child @ Value::Object(_)) => {
                if let Some(child) = map.get_mut(&key) {
                    remove_unknown_keys(child, known_child, &path, layer, warnings);
                }
            }
            Some(_) => {}
        }
    }
}

/// Drops what a workspace file may not set: anything that makes network connections, and paths
/// outside the workspace.
fn drop_untrusted_workspace_keys(value: &mut Value, root: &Path, warnings: &mut Vec<String>) {
    let Value::Object(map) = value else { return };
    if map.remove("openai").is_some() {
        warnings.push(
            "nextedit.toml: `openai` settings are only honoured from user settings".to_owned(),
        );
    }
    if let Some(Value::Object(model)) = map.get_mut("model") {
        if model.get("backend").and_then(Value::as_str) == Some("openai") {
            model.remove("backend");
            warnings.push(
                "nextedit.toml: `model.backend = \"openai\"` is only honoured from user settings"
                    .to_owned(),
            );
        }
        if model.remove("lora").is_some() {
            warnings
                .push("nextedit.toml: `model.lora` is only honoured from user settings".to_owned());
        }
        if let Some(path) = model.get("path").and_then(Value::as_str)
            && !is_inside(root, path)
        {
            model.remove("path");
            warnings
                .push("nextedit.toml: `model.path` outside the workspace is ignored".to_owned());
        }
    }
    if let Some(Value::Object(log)) = map.get_mut("log")
        && log.remove("file").is_some()
    {
        warnings.push("nextedit.toml: `log.file` is only honoured from user settings".to_owned());
    }
}

/// Whether `path` (relative to `root` or absolute) stays inside `root`. `..` components that climb
/// out make it outside; and where the paths exist, they are compared after resolving symbolic
/// links, so a link inside the workspace that points out of it is outside.
fn is_inside(root: &Path, path: &str) -> bool {
    let candidate = Path::new(path);
    let joined =
        if candidate.is_absolute() { candidate.to_path_buf() } else { root.join(candidate) };
    let Some(normal) = normalize_lexically(&joined) else { return false };
    let Some(root) = normalize_lexically(root) else { return false };
    if !normal.starts_with(&root) {
        return false;
    }
    match (resolve_existing(&root), resolve_existing(&normal)) {
        (Some(root), Some(normal)) => normal.starts_with(root),
        _ => true,
    }
}

/// `path` without `.` and `..` components; `None` when `..` climbs above the start.
fn normalize_lexically(path: &Path) -> Option<PathBuf> {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                if !normal.pop() {
                    return None;
                }
            }
            std::path::Component::CurDir => {}
            other => normal.push(other),
        }
    }
    Some(normal)
}

/// `path` with symbolic links resolved: its longest existing ancestor canonicalised, the rest
/// appended. `None` when not even the first component exists.
fn resolve_existing(path: &Path) -> Option<PathBuf> {
    let mut rest = Vec::new();
    let mut existing = path;
    loop {
        if let Ok(canonical) = std::fs::canonicalize(existing) {
            let mut resolved = canonical;
            for component in rest.iter().rev() {
                resolved.push(component);
            }
            return Some(resolved);
        }
        rest.push(existing.file_name()?.to_owned());
        existing = existing.parent()?;
    }
}

/// The workspace settings file, at the workspace root.
pub const WORKSPACE_FILE_NAME: &str = "nextedit.toml";

/// Parses a TOML settings file into a JSON value.
pub fn parse_toml(text: &str) -> Result<Value, ConfigError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|error| ConfigError::Toml(error.message().to_owned()))?;
    Ok(serde_json::to_value(table)?)
}

/// `$XDG_CONFIG_HOME/nextedit/config.toml`, else `~/.config/nextedit/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(dir).join("nextedit").join("config.toml"));
    }
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".config").join("nextedit").join("config.toml"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn layers_merge_in_order_and_unknown_keys_warn() {
        let mut layers = SettingsLayers::default();
        layers.set(
            Source::UserFile,
            json!({"predict": {"debounce_ms": 100}, "model": {"threads": 1}}),
        );
        layers.set_workspace(
            Path::new("/repo"),
            json!({"predict": {"debounce_ms": 120, "bogus": 1}}),
        );
        layers.set(Source::InitializationOptions, json!({"diagnostics": true, "nope": {}}));
        let (settings, warnings) = layers.resolve();
        assert_eq!(settings.predict.debounce_ms, 120);
        assert_eq!(settings.model.threads, Some(1));
        assert!(settings.diagnostics);
        assert_eq!(
            warnings,
            vec![
                "nextedit.toml: unknown setting `predict.bogus` ignored".to_owned(),
                "initializationOptions: unknown setting `nope` ignored".to_owned(),
            ]
        );
    }

    #[test]
    fn copilot_client_settings_are_accepted_silently() {
        let mut layers = SettingsLayers::default();
        layers.set(
            Source::InitializationOptions,
            json!({
                "editorInfo": {"name": "neovim", "version": "0.11.4"},
                "editorPluginInfo": {"name": "Github Copilot LSP for Neovim", "version": "0.0.1"},
                "model": {"backend": "none"},
                "lsp": {"position_encoding": "utf-16"},
            }),
        );
        layers.set(
            Source::DidChangeConfiguration,
            json!({"nextEditSuggestions": {"enabled": true}, "telemetry": {"telemetryLevel": "all"}}),
        );
        let (settings, warnings) = layers.resolve();
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(settings.model.backend, BackendKind::None);
        assert_eq!(settings.lsp.position_encoding, Some(EncodingSetting::Utf16));
        // Only the clients' layers: in a settings file the keys are still unknown.
        layers.set(Source::UserFile, json!({"editorInfo": {}}));
        let (_, warnings) = layers.resolve();
        assert_eq!(warnings, vec!["user config: unknown setting `editorInfo` ignored".to_owned()]);
    }

    #[test]
    fn a_bad_value_keeps_the_rest_of_the_layer() {
        let mut layers = SettingsLayers::default();
        layers.set(
            Source::InitializationOptions,
            json!({"predict": {"debounce_ms": "soon", "max_tokens": 99}}),
        );
        let (settings, warnings) = layers.resolve();
        assert_eq!(settings.predict.debounce_ms, 75);
        assert_eq!(settings.predict.max_tokens, 99);
        assert!(warnings.iter().any(|w| w.contains("predict.debounce_ms")), "{warnings:?}");
    }

    #[test]
    fn workspace_file_cannot_reach_the_network_or_outside_files() {
        let mut layers = SettingsLayers::default();
        layers.set_workspace(
            Path::new("/repo"),
            json!({
                "openai": {"endpoint": "http://evil.example", "api_key_env": "HOME"},
                "model": {"backend": "openai", "path": "../../etc/model.gguf", "lora": ["/x.gguf"]},
                "log": {"file": "/tmp/leak.log"},
            }),
        );
        let (settings, warnings) = layers.resolve();
        assert_eq!(settings.openai, OpenAiSettings::default());
        assert_eq!(settings.model.backend, BackendKind::Llama);
        assert_eq!(settings.model.path, None);
        assert!(settings.model.lora.is_empty());
        assert_eq!(settings.log.file, None);
        assert_eq!(warnings.len(), 5, "{warnings:?}");

        layers.set_workspace(Path::new("/repo"), json!({"model": {"path": "models/m.gguf"}}));
        assert_eq!(layers.resolve().0.model.path.as_deref(), Some("models/m.gguf"));

        // The same keys are honoured from the user's own settings.
        layers.set(
            Source::InitializationOptions,
            json!({"openai": {"endpoint": "http://127.0.0.1:8080"}}),
        );
        assert_eq!(layers.resolve().0.openai.endpoint.as_deref(), Some("http://127.0.0.1:8080"));
    }

    #[test]
    fn toml_and_section_wrapping() {
        let value = parse_toml("[model]\nbackend = \"none\"\n").unwrap();
        let mut layers = SettingsLayers::default();
        layers.set(Source::UserFile, value);
        layers.set(Source::DidChangeConfiguration, json!({"nextedit": {"diagnostics": true}}));
        let (settings, warnings) = layers.resolve();
        assert_eq!(settings.model.backend, BackendKind::None);
        assert!(settings.diagnostics);
        assert!(warnings.is_empty());
        assert!(parse_toml("model = [").is_err());
    }

    #[test]
    fn a_symlink_inside_the_workspace_cannot_point_out_of_it() {
        let workspace = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("model.gguf"), b"GGUF").unwrap();
        std::fs::create_dir(workspace.path().join("models")).unwrap();
        std::fs::write(workspace.path().join("models").join("own.gguf"), b"GGUF").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), workspace.path().join("escape")).unwrap();
            std::os::unix::fs::symlink(
                outside.path().join("model.gguf"),
                workspace.path().join("linked.gguf"),
            )
            .unwrap();
            assert!(!is_inside(workspace.path(), "escape/model.gguf"));
            assert!(!is_inside(workspace.path(), "escape/not-yet-there.gguf"));
            assert!(!is_inside(workspace.path(), "linked.gguf"));
        }
        assert!(is_inside(workspace.path(), "models/own.gguf"));
        assert!(is_inside(workspace.path(), "models/not-yet-there.gguf"));
        assert!(!is_inside(workspace.path(), "../model.gguf"));
        let absolute = outside.path().join("model.gguf");
        assert!(!is_inside(workspace.path(), &absolute.to_string_lossy()));

        // The trust check drops such a path from nextedit.toml.
        let mut layers = SettingsLayers::default();
        std::fs::write(
            workspace.path().join(WORKSPACE_FILE_NAME),
            "[model]\npath = \"escape/model.gguf\"\n",
        )
        .unwrap();
        layers.load_workspace(workspace.path()).unwrap();
        let (settings, warnings) = layers.resolve();
        #[cfg(unix)]
        assert_eq!(settings.model.path, None, "{warnings:?}");
        let _ = (settings, warnings);
    }

    #[test]
    fn a_workspace_file_that_does_not_parse_is_an_error_with_its_path() {
        let workspace = tempfile::tempdir().unwrap();
        let mut layers = SettingsLayers::default();
        assert!(layers.load_workspace(workspace.path()).is_ok(), "no file is no error");
        std::fs::write(workspace.path().join(WORKSPACE_FILE_NAME), "model = [").unwrap();
        let error = layers.load_workspace(workspace.path()).unwrap_err().to_string();
        assert!(error.contains(WORKSPACE_FILE_NAME), "{error}");
    }
}
