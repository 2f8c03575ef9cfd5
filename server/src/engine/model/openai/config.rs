//! What the remote backend is told: the endpoint, the model, the key, the limits.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::model::ModelError;
use crate::engine::prompt::PromptFormatKind;

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    #[cfg_attr(not(feature = "openai"), allow(dead_code))]
    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<hidden>)")
    }
}

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The server's base URL, with or without a trailing `/v1`.
    pub endpoint: String,
    /// The `model` field of requests; when `None`, the first model `/v1/models` lists.
    pub model: Option<String>,
    pub api_key: Option<ApiKey>,
    /// The prompt format; when `None`, guessed from the model's name.
    pub format: Option<PromptFormatKind>,
    /// Send chat requests (`/v1/chat/completions`), for formats written as a chat template; when
    /// `None`, only for the instinct format.
    pub chat: Option<bool>,
    /// The model's context window in tokens, for prompt budgets.
    pub context_size: usize,
    pub connect_timeout: Duration,
    /// The most one request may take, retries and waiting for a free slot included.
    pub timeout: Duration,
    /// Further attempts after a connection failure or an overload answer.
    pub retries: u32,
    pub max_in_flight: usize,
    /// Send the editable region as a predicted output (`prediction`) and ask the server to keep the
    /// prompt cached (`cache_prompt`). Servers that refuse these fields get requests without them.
    pub hints: bool,
    /// A PEM file of extra root certificates (a private CA); the system's and the bundled web
    /// roots are trusted as well.
    pub ca_file: Option<PathBuf>,
}

impl OpenAiConfig {
    pub fn new(endpoint: impl Into<String>) -> OpenAiConfig {
        OpenAiConfig {
            endpoint: endpoint.into(),
            model: None,
            api_key: None,
            format: None,
            chat: None,
            context_size: 4096,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            retries: 2,
            max_in_flight: 2,
            hints: true,
            ca_file: None,
        }
    }
}

/// The endpoint for display: scheme, host, port and path, without user or password.
pub fn display_endpoint(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string().trim_end_matches('/').to_owned()
        }
        Err(_) => "<invalid endpoint>".to_owned(),
    }
}

/// The API's base URL, `…/v1` without a trailing slash.
#[cfg_attr(not(feature = "openai"), allow(dead_code))]
pub(super) fn api_base(endpoint: &str) -> Result<String, ModelError> {
    let url = url::Url::parse(endpoint.trim()).map_err(|error| {
        ModelError::LoadFailed(format!("openai.endpoint is not a URL ({error})"))
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ModelError::LoadFailed(format!(
            "openai.endpoint must be http or https, not {}",
            url.scheme()
        )));
    }
    let base = url.as_str().trim_end_matches('/');
    Ok(if base.ends_with("/v1") { base.to_owned() } else { format!("{base}/v1") })
}

/// The prompt format the served model's id (`openai.model`, or the first model the server lists)
/// suggests, and why. Without a vocabulary to probe, coder models get FIM with their family's
/// tokens.
pub fn guess_format(model: &str) -> crate::engine::prompt::Detection {
    use crate::engine::prompt::{Detection, FimStyle};
    let metadata =
        crate::engine::prompt::ModelMetadata { name: Some(model.to_owned()), ..Default::default() };
    let detected = crate::engine::prompt::detect(&metadata);
    let lower = model.to_ascii_lowercase();
    let style = if lower.contains("starcoder") || lower.contains("santacoder") {
        FimStyle::StarCoder
    } else if lower.contains("codellama") || lower.contains("code-llama") {
        FimStyle::CodeLlama
    } else {
        FimStyle::Qwen
    };
    if detected.kind == PromptFormatKind::Plain
        && (lower.contains("coder") || lower.contains("codellama") || lower.contains("fim"))
    {
        return Detection {
            kind: PromptFormatKind::Fim,
            fim_style: Some(style),
            reason: format!(
                "the served model id {model:?} names a coder model ({} FIM tokens)",
                style.family()
            ),
        };
    }
    let reason = detected.reason.replace("general.name", "the served model id");
    Detection { reason, ..detected }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_secrets_print_safely() {
        assert_eq!(api_base("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080/v1");
        assert_eq!(api_base("https://host/v1/").unwrap(), "https://host/v1");
        assert!(api_base("file:///etc/passwd").is_err());
        assert_eq!(display_endpoint("https://user:secret@host:8443/v1"), "https://host:8443/v1");
        assert_eq!(format!("{:?}", ApiKey::new("sk-123".to_owned())), "ApiKey(<hidden>)");
    }

    #[test]
    fn formats_are_guessed_from_model_names() {
        use crate::engine::prompt::FimStyle;
        let kind = |name: &str| guess_format(name).kind;
        assert_eq!(kind("zed-industries/zeta"), PromptFormatKind::Zeta);
        assert_eq!(kind("zed-industries/zeta-2"), PromptFormatKind::Zeta2);
        assert_eq!(kind("sweep-next-edit-1.5b"), PromptFormatKind::Sweep);
        assert_eq!(kind("continuedev/instinct"), PromptFormatKind::Instinct);
        assert_eq!(kind("Qwen2.5-Coder-1.5B"), PromptFormatKind::Fim);
        assert_eq!(kind("gemma-3-270m"), PromptFormatKind::Plain);
        assert_eq!(guess_format("bigcode/starcoder2-3b").fim_style, Some(FimStyle::StarCoder));
        assert_eq!(guess_format("codellama-7b-code").fim_style, Some(FimStyle::CodeLlama));
        assert_eq!(
            guess_format("sweep-next-edit-1.5b").reason,
            "the served model id \"sweep-next-edit-1.5b\" contains \"sweep\" (Sweep next-edit)"
        );
    }
}
