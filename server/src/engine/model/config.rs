//! Settings -> backend configuration, and one way to get a ready backend from settings.
//!
//! [`backend_from_settings`] is what every caller that needs a model uses: the language server
//! (through [`super::manager`]), and the command-line tools. It reads the environment variable
//! named by `openai.api_key_env` (the key itself is never in a setting), and wraps the llama
//! backend in the restart supervisor.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{
    ApiKey, Backoff, LlamaConfig, LoadProgress, ModelBackend, ModelError, OpenAiConfig,
    SupervisedBackend, SupervisorEvent,
};
use crate::config::{BackendKind, Settings};
use crate::engine::prompt::PromptFormatKind;

/// Why the settings don't make a backend configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("no model.path is set and no cache directory is known (set HOME or XDG_CACHE_HOME)")]
    NoModelPath,
    #[error(
        "model.backend is \"openai\" but openai.endpoint is not set (in the user config or initializationOptions)"
    )]
    NoEndpoint,
    /// `model.path` names a catalogue model that is not in the cache.
    #[error(transparent)]
    Catalog(#[from] super::catalog::CatalogPathError),
}

/// Why [`backend_from_settings`] has no backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Load(#[from] ModelError),
}

/// The llama backend's configuration from the settings. The second value is a warning for an
/// unknown `model.format` (which falls back to detection).
///
/// `model.path` may name a catalogue model (`sweep-next-edit-1.5b`, see [`super::catalog`]): it
/// resolves to the file `nextedit model pull` put in the model cache, and with `model.format =
/// "auto"` the catalogue's format is used.
pub fn llama_config(settings: &Settings) -> Result<(LlamaConfig, Option<String>), ConfigError> {
    llama_config_in(settings, super::model_cache_dir().as_deref())
}

/// [`llama_config`] with the model cache directory given.
fn llama_config_in(
    settings: &Settings,
    models_dir: Option<&Path>,
) -> Result<(LlamaConfig, Option<String>), ConfigError> {
    let (path, catalog_entry) = match settings.model.path.as_deref() {
        Some(value) => {
            let resolved = super::catalog::resolve_model_path(value, models_dir)?;
            (resolved.path, resolved.entry)
        }
        None => {
            let models_dir = models_dir.ok_or(ConfigError::NoModelPath)?;
            (models_dir.join(super::DEFAULT_MODEL_FILE_NAME), None)
        }
    };
    let (mut format, warning) = format_setting(&settings.model.format);
    if format.is_none() {
        format = catalog_entry.and_then(|entry| entry.prompt_format());
    }
    let config = LlamaConfig {
        // 0, like unset, lets the backend choose (`LlamaConfig::threads`).
        threads: settings
            .model
            .threads
            .filter(|&threads| threads > 0)
            .map(|threads| threads as usize),
        gpu_layers: settings.model.gpu_layers,
        context_size: settings.model.context_size as usize,
        lora: settings.model.lora.iter().map(PathBuf::from).collect(),
        format,
        ..LlamaConfig::new(path)
    };
    Ok((config, warning))
}

/// The remote backend's configuration from the settings. The second value is a warning (an unknown
/// `model.format`, or an API key variable that is not set).
pub fn openai_config(settings: &Settings) -> Result<(OpenAiConfig, Option<String>), ConfigError> {
    let openai = &settings.openai;
    let endpoint = openai
        .endpoint
        .clone()
        .filter(|endpoint| !endpoint.trim().is_empty())
        .ok_or(ConfigError::NoEndpoint)?;
    let mut warnings = Vec::new();
    let (format, format_warning) = format_setting(&settings.model.format);
    warnings.extend(format_warning);
    let api_key = match openai.api_key_env.as_deref().filter(|name| !name.is_empty()) {
        None => None,
        Some(name) => match std::env::var(name) {
            Ok(key) if !key.is_empty() => Some(ApiKey::new(key)),
            _ => {
                warnings.push(format!("the environment variable {name} (openai.api_key_env) is not set; requests go without an API key"));
                None
            }
        },
    };
    let config = OpenAiConfig {
        model: openai.model.clone().filter(|model| !model.is_empty()),
        api_key,
        format,
        chat: openai.chat,
        context_size: settings.model.context_size as usize,
        connect_timeout: Duration::from_millis(openai.connect_timeout_ms.max(1)),
        timeout: Duration::from_millis(openai.timeout_ms.max(1)),
        retries: openai.retries.min(10),
        max_in_flight: openai.max_in_flight.max(1) as usize,
        hints: openai.hints,
        ca_file: openai.ca_file.clone().filter(|path| !path.is_empty()).map(PathBuf::from),
        ..OpenAiConfig::new(endpoint)
    };
    Ok((config, (!warnings.is_empty()).then(|| warnings.join("; "))))
}

/// `model.format` as a format, or `None` for detection; the warning names an unknown format.
pub fn format_setting(format: &str) -> (Option<PromptFormatKind>, Option<String>) {
    match format {
        "auto" | "" => (None, None),
        name => match name.parse::<PromptFormatKind>() {
            Ok(kind) => (Some(kind), None),
            Err(_) => (
                None,
                Some(format!("unknown model.format `{name}`, detecting it from the model instead")),
            ),
        },
    }
}

/// The configuration of the backend the settings choose.
#[derive(Debug, Clone)]
pub enum BackendConfig {
    Llama(LlamaConfig),
    OpenAi(OpenAiConfig),
}

/// A backend configuration and the warnings found while making it.
#[derive(Debug, Clone)]
pub struct ConfiguredBackend {
    pub config: BackendConfig,
    pub warnings: Vec<String>,
}

/// The backend configuration the settings choose; `Ok(None)` for `model.backend = "none"`.
pub fn backend_config(settings: &Settings) -> Result<Option<ConfiguredBackend>, ConfigError> {
    let (config, warning) = match settings.model.backend {
        BackendKind::None => return Ok(None),
        BackendKind::Llama => {
            let (config, warning) = llama_config(settings)?;
            (BackendConfig::Llama(config), warning)
        }
        BackendKind::Openai => {
            let (config, warning) = openai_config(settings)?;
            (BackendConfig::OpenAi(config), warning)
        }
    };
    Ok(Some(ConfiguredBackend { config, warnings: warning.into_iter().collect() }))
}

/// Callbacks while a backend loads and runs. The default does nothing.
#[derive(Default)]
pub struct BackendHooks {
    /// Loading progress of a local model.
    pub on_progress: Option<Box<dyn Fn(LoadProgress) + Send + Sync>>,
    /// The restart supervisor's events (the llama thread died, restarts failed or succeeded).
    /// Called from the supervisor's own thread.
    pub on_supervisor_event: Option<Box<dyn Fn(SupervisorEvent) + Send + Sync>>,
}

/// A backend ready for requests.
pub struct ReadyBackend {
    pub backend: Arc<dyn ModelBackend>,
    /// Warnings from the configuration and from connecting (shown once to the user).
    pub warnings: Vec<String>,
    /// Where the model is: the endpoint of a remote server (credentials removed), or the file.
    pub location: String,
}

/// Loads the backend `configured` names: a llama model, wrapped in the restart supervisor (its
/// thread is reloaded with backoff when it dies), or a connection to a remote server.
pub async fn load_backend(
    configured: ConfiguredBackend,
    hooks: BackendHooks,
) -> Result<ReadyBackend, ModelError> {
    let ConfiguredBackend { config, mut warnings } = configured;
    let BackendHooks { on_progress, on_supervisor_event } = hooks;
    match config {
        BackendConfig::Llama(config) => {
            let location = config.path.display().to_string();
            let reload_config = config.clone();
            let backend = super::load_llama(config, move |event| {
                if let Some(on_progress) = &on_progress {
                    on_progress(event);
                }
            })
            .await?;
            let loader = move || super::load_llama_blocking(&reload_config, |_| {});
            let listener = move |event: SupervisorEvent| {
                if let Some(on_supervisor_event) = &on_supervisor_event {
                    on_supervisor_event(event);
                }
            };
            let supervised = SupervisedBackend::new(backend, loader, Backoff::DEFAULT, listener);
            Ok(ReadyBackend { backend: Arc::new(supervised), warnings, location })
        }
        BackendConfig::OpenAi(config) => {
            let location = super::openai::display_endpoint(&config.endpoint);
            let (backend, warning) = super::load_openai(config).await?;
            warnings.extend(warning);
            Ok(ReadyBackend { backend: Arc::new(backend), warnings, location })
        }
    }
}

/// The backend the settings choose, configured and loaded: [`backend_config`] then
/// [`load_backend`]. `Ok(None)` for `model.backend = "none"`.
pub async fn backend_from_settings(
    settings: &Settings,
    hooks: BackendHooks,
) -> Result<Option<ReadyBackend>, BackendError> {
    let Some(configured) = backend_config(settings)? else { return Ok(None) };
    Ok(Some(load_backend(configured, hooks).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_make_typed_errors_and_warnings() {
        let mut settings = Settings::default();
        settings.model.backend = BackendKind::Openai;
        assert_eq!(openai_config(&settings).unwrap_err(), ConfigError::NoEndpoint);
        assert!(matches!(backend_config(&settings), Err(ConfigError::NoEndpoint)));
        settings.openai.endpoint = Some("http://127.0.0.1:1".to_owned());
        settings.model.format = "nonsense".to_owned();
        let configured = backend_config(&settings).unwrap().unwrap();
        assert!(matches!(configured.config, BackendConfig::OpenAi(_)));
        assert_eq!(configured.warnings.len(), 1, "{:?}", configured.warnings);
        settings.model.backend = BackendKind::None;
        assert!(backend_config(&settings).unwrap().is_none());
    }

    #[test]
    fn a_catalogue_name_in_model_path_resolves_to_the_cache_with_its_format() {
        let cache = tempfile::tempdir().unwrap();
        let mut settings = Settings::default();
        settings.model.path = Some("sweep-next-edit-1.5b".to_owned());
        // Not pulled yet: the error says how to get it.
        let error = llama_config_in(&settings, Some(cache.path())).unwrap_err();
        assert!(matches!(error, ConfigError::Catalog(_)), "{error:?}");
        assert!(error.to_string().contains("nextedit model pull sweep-next-edit-1.5b"), "{error}");
        // Pulled: the cached file, and the catalogue's format under `format = "auto"`.
        let entry = super::super::catalog::find("sweep-next-edit-1.5b").unwrap();
        let path = entry.cache_path(cache.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"GGUF").unwrap();
        let (config, warning) = llama_config_in(&settings, Some(cache.path())).unwrap();
        assert_eq!(
            (config.path, config.format, warning),
            (path, Some(PromptFormatKind::Sweep), None)
        );
        // An explicit format wins over the catalogue's.
        settings.model.format = "plain".to_owned();
        let (config, _) = llama_config_in(&settings, Some(cache.path())).unwrap();
        assert_eq!(config.format, Some(PromptFormatKind::Plain));
        // A path stays a path, and no model.path is the default model in the cache.
        settings.model.path = Some("/models/own.gguf".to_owned());
        assert_eq!(llama_config_in(&settings, None).unwrap().0.path, Path::new("/models/own.gguf"));
        settings.model.path = None;
        let (config, _) = llama_config_in(&settings, Some(cache.path())).unwrap();
        assert_eq!(config.path, cache.path().join(super::super::DEFAULT_MODEL_FILE_NAME));
        assert_eq!(llama_config_in(&settings, None).unwrap_err(), ConfigError::NoModelPath);
    }

    #[test]
    fn formats_parse_or_warn() {
        assert_eq!(format_setting("auto"), (None, None));
        assert_eq!(format_setting("zeta").0, Some(PromptFormatKind::Zeta));
        assert!(format_setting("bogus").1.unwrap().contains("bogus"));
    }
}
