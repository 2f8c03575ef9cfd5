//! Replays cases through a language server as an editor would: open the file as it was before the
//! history, send each history hunk as a `didChange`, ask for the next edit at the cursor, apply it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::eval::cases::{Case, LoadedCase};
use crate::eval::positions::{
    Encoding, LspPosition, case_cursor_offset, minimal_replacement, offset_to_position,
    position_to_offset,
};
use crate::lsp_client::{LspClient, RequestOutcome};

/// How the next edit is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `textDocument/copilotInlineEdit`.
    Copilot,
    /// `workspace/executeCommand` `nextedit.predict`.
    Predict,
    /// `textDocument/codeAction`, taking the next-edit action.
    CodeAction,
}

impl Method {
    pub fn parse(text: &str) -> Result<Method, String> {
        match text {
            "copilot" => Ok(Method::Copilot),
            "predict" => Ok(Method::Predict),
            "code-action" => Ok(Method::CodeAction),
            _ => Err(format!("unknown method `{text}` (expected copilot, predict or code-action)")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Copilot => "copilot",
            Method::Predict => "predict",
            Method::CodeAction => "code-action",
        }
    }
}

/// Starts servers: a process, or (in tests) something in-process.
pub trait ServerLauncher {
    fn launch(&self) -> anyhow::Result<LspClient>;
    fn describe(&self) -> String;
}

pub struct ProcessLauncher {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub stderr_log: Option<PathBuf>,
}

impl ServerLauncher for ProcessLauncher {
    fn launch(&self) -> anyhow::Result<LspClient> {
        LspClient::spawn(&self.program.to_string_lossy(), &self.args, self.stderr_log.as_deref())
    }

    fn describe(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What happened to one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered (with or without a suggestion).
    Answered,
    /// The server answered ContentModified: the answer was for an older version.
    Stale,
    /// No answer within the timeout.
    TimedOut,
    /// The server answered with an error, or with something that cannot be applied.
    Error(String),
    /// The case itself cannot be replayed (its history does not apply).
    BadCase(String),
    /// The server died during the case.
    Crash(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Answered => "ok",
            Outcome::Stale => "stale",
            Outcome::TimedOut => "timeout",
            Outcome::Error(_) => "error",
            Outcome::BadCase(_) => "bad-case",
            Outcome::Crash(_) => "crash",
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self {
            Outcome::Error(message) | Outcome::BadCase(message) | Outcome::Crash(message) => {
                Some(message)
            }
            _ => None,
        }
    }

    /// Stale answers, timeouts and errors (crashes and bad cases are counted apart).
    pub fn is_error(&self) -> bool {
        matches!(self, Outcome::Stale | Outcome::TimedOut | Outcome::Error(_))
    }
}

/// The raw result of replaying one case: the suggested edits, applied.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub outcome: Outcome,
    /// The suggestion's edits as the server sent them.
    pub edits: Vec<Value>,
    /// `before` with the suggestion applied (`before` itself without one).
    pub predicted_after: String,
    /// The text before the last history diff, for the reversal metric.
    pub text_before_last_edit: String,
    pub latency: Option<Duration>,
    /// What the server's ranker said about its suggestion (`nextedit.debugDocument`).
    pub ranked: Option<Ranked>,
}

/// A delivered suggestion's source (`model`, `rename`, `repeat`) and confidence in 0..1.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub source: String,
    pub confidence: f32,
}

pub struct RunnerOptions {
    pub method: Method,
    pub timeout: Duration,
    pub settings: Value,
    /// A directory that stands for the workspace (empty, so no project settings apply).
    pub workspace: PathBuf,
    /// After each case, ask the server for its text (`nextedit.debugDocument`) and check that it
    /// equals `before`.
    pub verify_sync: bool,
    /// How long to wait for the server's model to load before the first case.
    pub model_load_timeout: Duration,
}

/// One live server plus what is needed to restart it.
pub struct Runner<'a> {
    launcher: &'a dyn ServerLauncher,
    options: RunnerOptions,
    client: Option<LspClient>,
    encoding: Encoding,
    pub crashes: usize,
    pub notes: Vec<String>,
    next_document: usize,
}

fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for character in path.to_string_lossy().chars() {
        match character {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '/' | '-' | '_' | '.' | '~' => uri.push(character),
            other => {
                let mut buffer = [0; 4];
                for byte in other.encode_utf8(&mut buffer).bytes() {
                    uri.push_str(&format!("%{byte:02X}"));
                }
            }
        }
    }
    uri
}

impl<'a> Runner<'a> {
    pub fn new(launcher: &'a dyn ServerLauncher, options: RunnerOptions) -> Runner<'a> {
        Runner {
            launcher,
            options,
            client: None,
            encoding: Encoding::Utf16,
            crashes: 0,
            notes: Vec::new(),
            next_document: 0,
        }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    fn start(&mut self) -> anyhow::Result<()> {
        let mut client = self.launcher.launch()?;
        let workspace_uri = file_uri(&self.options.workspace);
        let params = json!({
            "processId": std::process::id(),
            "clientInfo": {"name": "nextedit-eval", "version": env!("CARGO_PKG_VERSION")},
            "rootUri": workspace_uri,
            "workspaceFolders": [{"uri": workspace_uri, "name": "eval"}],
            "capabilities": {
                "general": {"positionEncodings": ["utf-8", "utf-16"]},
                "textDocument": {
                    "synchronization": {"dynamicRegistration": false, "didSave": false},
                    "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["", "quickfix", "refactor", "refactor.rewrite"]}}},
                },
                "workspace": {"workspaceEdit": {"documentChanges": true}, "configuration": false},
            },
            "initializationOptions": self.options.settings,
        });
        // Loading a model can take a while: allow more than one request's time.
        let outcome = client.request(
            "initialize",
            params,
            self.options.timeout.max(Duration::from_secs(120)),
        )?;
        let result = match outcome {
            RequestOutcome::Result(result) => result,
            RequestOutcome::Error { code, message } => bail!("initialize failed: {code} {message}"),
            RequestOutcome::TimedOut => bail!("no response to initialize"),
        };
        self.encoding = Encoding::from_lsp(
            result.pointer("/capabilities/positionEncoding").and_then(Value::as_str),
        );
        client.notify("initialized", json!({}))?;
        self.wait_for_model(&mut client)?;
        self.client = Some(client);
        Ok(())
    }

    /// Waits until the server's model is loaded (or off, or failed), so that no case runs
    /// against a model that is still loading. The server tells with `nextedit/status`
    /// notifications; a server that sends none within a few seconds is not waited for.
    fn wait_for_model(&mut self, client: &mut LspClient) -> anyhow::Result<()> {
        let is_status = |message: &Value| {
            message.get("method").and_then(Value::as_str) == Some("nextedit/status")
        };
        let state = |message: &Value| {
            message.pointer("/params/state").and_then(Value::as_str).unwrap_or("").to_owned()
        };
        let started = Instant::now();
        let Some(first) = client.wait_for_notification(is_status, Duration::from_secs(5))? else {
            return Ok(());
        };
        let mut status = first;
        if state(&status) == "loading" {
            let settled = client.wait_for_notification(
                |message| is_status(message) && state(message) != "loading",
                self.options.model_load_timeout,
            )?;
            match settled {
                Some(settled) => status = settled,
                None => {
                    self.notes.push(format!(
                        "the model was still loading after {:?}",
                        self.options.model_load_timeout
                    ));
                    return Ok(());
                }
            }
        }
        let message = status.pointer("/params/message").and_then(Value::as_str).unwrap_or("");
        let note = match state(&status).as_str() {
            "ready" => format!("model ready after {:.1} s", started.elapsed().as_secs_f64()),
            "error" => format!("model failed to load: {message}"),
            other => format!("model: {other}"),
        };
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
        Ok(())
    }

    /// Starts the server unless it runs.
    pub fn ensure_started(&mut self) -> anyhow::Result<()> {
        self.client().map(|_| ())
    }

    fn client(&mut self) -> anyhow::Result<&mut LspClient> {
        if self.client.is_none() {
            self.start().context("cannot start the server")?;
        }
        Ok(self.client.as_mut().expect("started above"))
    }

    /// Ends the server politely.
    pub fn finish(mut self) -> Vec<String> {
        if let Some(client) = self.client.take() {
            let unanswered = client.unanswered_cancelled_requests();
            if !unanswered.is_empty() {
                self.notes.push(format!("cancelled requests never answered: {unanswered:?}"));
            }
            if let Err(error) = client.shutdown(Duration::from_secs(10)) {
                self.notes.push(format!("shutdown: {error:#}"));
            }
        }
        self.notes
    }

    /// Replays one case.
    pub fn run_case(&mut self, loaded: &LoadedCase) -> Replayed {
        let case = &loaded.case;
        let replay = match case.replay() {
            Ok(replay) => replay,
            Err(error) => {
                return Replayed {
                    outcome: Outcome::BadCase(format!("{error:#}")),
                    edits: Vec::new(),
                    predicted_after: case.before.clone(),
                    text_before_last_edit: case.before.clone(),
                    latency: None,
                    ranked: None,
                };
            }
        };
        let text_before_last_edit = case.text_before_last_edit(&replay);
        let mut replayed = Replayed {
            outcome: Outcome::Answered,
            edits: Vec::new(),
            predicted_after: case.before.clone(),
            text_before_last_edit,
            latency: None,
            ranked: None,
        };
        match self.talk(case, &replay) {
            Ok(Talked { outcome, edits, latency, ranked }) => {
                replayed.latency = latency;
                replayed.ranked = ranked;
                if outcome == Outcome::Answered {
                    match apply_lsp_edits(&case.before, &edits, self.encoding) {
                        Ok(text) => replayed.predicted_after = text,
                        Err(error) => {
                            replayed.outcome =
                                Outcome::Error(format!("cannot apply the suggestion: {error:#}"))
                        }
                    }
                    if replayed.outcome == Outcome::Answered {
                        replayed.edits = edits;
                    }
                } else {
                    replayed.outcome = outcome;
                }
            }
            Err(error) => {
                // Whatever broke the conversation, the next case gets a fresh server.
                self.crashes += 1;
                if let Some(client) = self.client.take() {
                    client.kill();
                }
                replayed.outcome = Outcome::Crash(format!("{error:#}"));
            }
        }
        replayed
    }

    /// The protocol part of a case. An `Err` means the connection is broken.
    fn talk(&mut self, case: &Case, replay: &crate::eval::cases::Replay) -> anyhow::Result<Talked> {
        self.next_document += 1;
        let path = self
            .options
            .workspace
            .join(format!("case-{}", self.next_document))
            .join(relative_path(&case.file_path));
        let uri = file_uri(&path);
        let method = self.options.method;
        let timeout = self.options.timeout;
        // Start the server (if needed) before reading the encoding it chose.
        self.client()?;
        let encoding = self.encoding;
        let client = self.client.as_mut().expect("started above");
        let mut version = 0;
        client.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language_id(&case.language), "version": version, "text": replay.initial}}),
        )?;
        let mut current = replay.initial.as_str();
        for hunk_texts in &replay.steps {
            let mut changes = Vec::new();
            for next in hunk_texts {
                let (start, end, new_text) = minimal_replacement(current, next);
                let start = offset_to_position(current, start, encoding);
                let end = offset_to_position(current, end, encoding);
                changes.push(json!({"range": range_json(start, end), "text": new_text}));
                current = next;
            }
            version += 1;
            client.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
            )?;
        }
        let cursor = offset_to_position(
            &case.before,
            case_cursor_offset(&case.before, case.cursor.line, case.cursor.character),
            encoding,
        );
        let position = json!({"line": cursor.line, "character": cursor.character});
        let (request_method, params) = match method {
            Method::Copilot => (
                "textDocument/copilotInlineEdit",
                json!({"textDocument": {"uri": uri, "version": version}, "position": position}),
            ),
            Method::Predict => (
                "workspace/executeCommand",
                json!({"command": "nextedit.predict", "arguments": [{"uri": uri, "position": position}]}),
            ),
            Method::CodeAction => (
                "textDocument/codeAction",
                json!({
                    "textDocument": {"uri": uri},
                    "range": {"start": position, "end": position},
                    "context": {"diagnostics": [], "triggerKind": 2},
                }),
            ),
        };
        let started = Instant::now();
        let outcome = client.request(request_method, params, timeout)?;
        let latency = started.elapsed();
        let ranked = match &outcome {
            RequestOutcome::Result(result) => match suggestion_id(result) {
                Some(id) => ranked(client, &uri, id, timeout)?,
                None => None,
            },
            _ => None,
        };
        if self.options.verify_sync {
            let check = client.request(
                "workspace/executeCommand",
                json!({"command": "nextedit.debugDocument", "arguments": [{"uri": uri}]}),
                timeout,
            )?;
            let server_text = match &check {
                RequestOutcome::Result(result) => result.get("text").and_then(Value::as_str),
                _ => None,
            };
            if server_text != Some(case.before.as_str()) {
                client.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}}))?;
                let detail = match server_text {
                    Some(_) => "its text differs from `before`".to_owned(),
                    None => format!("nextedit.debugDocument gave no text: {check:?}"),
                };
                return Ok(Talked {
                    outcome: Outcome::Error(format!("document out of sync: {detail}")),
                    edits: Vec::new(),
                    latency: Some(latency),
                    ranked: None,
                });
            }
        }
        client.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}}))?;
        // Messages meant for the user (a missing model, say) go into the report, once each.
        for notification in client.take_notifications() {
            if notification.get("method").and_then(Value::as_str) == Some("window/showMessage")
                && let Some(message) =
                    notification.pointer("/params/message").and_then(Value::as_str)
            {
                let note = format!("server message: {message}");
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
        }
        let (outcome, edits, latency) = match outcome {
            RequestOutcome::Result(result) => match suggestion_edits(method, &result, &uri) {
                Ok(edits) => (Outcome::Answered, edits, Some(latency)),
                Err(error) => (Outcome::Error(format!("{error:#}")), Vec::new(), Some(latency)),
            },
            RequestOutcome::Error { code: -32801, .. } => {
                (Outcome::Stale, Vec::new(), Some(latency))
            }
            RequestOutcome::Error { code, message } => (
                Outcome::Error(format!("{request_method}: {code} {message}")),
                Vec::new(),
                Some(latency),
            ),
            RequestOutcome::TimedOut => (Outcome::TimedOut, Vec::new(), None),
        };
        Ok(Talked { outcome, edits, latency, ranked })
    }
}

/// What one case's conversation gave: the outcome, the suggested edits, the latency and what the
/// ranker said about the suggestion.
struct Talked {
    outcome: Outcome,
    edits: Vec<Value>,
    latency: Option<Duration>,
    ranked: Option<Ranked>,
}

/// The id of the suggestion in a result: `nextedit.predict`'s `id`, or the first argument of the
/// accept command of the first item (`copilotInlineEdit` edits, code actions).
fn suggestion_id(result: &Value) -> Option<u64> {
    if let Some(id) = result.get("id").and_then(Value::as_u64) {
        return Some(id);
    }
    let first = result.get("edits").and_then(|edits| edits.get(0)).or_else(|| result.get(0))?;
    first.pointer("/command/arguments/0").and_then(Value::as_u64)
}

/// Asks the server for the source and confidence of a delivered suggestion.
fn ranked(
    client: &mut LspClient,
    uri: &str,
    id: u64,
    timeout: Duration,
) -> anyhow::Result<Option<Ranked>> {
    let arguments = json!([{"uri": uri, "suggestion": id}]);
    let outcome = client.request(
        "workspace/executeCommand",
        json!({"command": "nextedit.debugDocument", "arguments": arguments}),
        timeout,
    )?;
    let RequestOutcome::Result(result) = outcome else { return Ok(None) };
    let Some(suggestion) = result.get("suggestion") else { return Ok(None) };
    let source = suggestion.get("source").and_then(Value::as_str);
    let score = suggestion.get("score").and_then(Value::as_f64);
    Ok(source
        .zip(score)
        .map(|(source, score)| Ranked { source: source.to_owned(), confidence: score as f32 }))
}

/// A case's file path made relative (no root, no `..`), so it stays inside the workspace.
fn relative_path(file_path: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for part in file_path.split(['/', '\\']) {
        if part.is_empty() || part == "." || part == ".." {
            continue;
        }
        path.push(part);
    }
    if path.as_os_str().is_empty() {
        path.push("file");
    }
    path
}

fn language_id(language: &str) -> String {
    match language {
        "rs" => "rust".to_owned(),
        "py" => "python".to_owned(),
        other => other.to_owned(),
    }
}

fn range_json(start: LspPosition, end: LspPosition) -> Value {
    json!({
        "start": {"line": start.line, "character": start.character},
        "end": {"line": end.line, "character": end.character},
    })
}

/// The edits of a suggestion, each `{range, text}` (text also read from `newText`), from the
/// result of any of the methods. No suggestion is an empty list.
pub fn suggestion_edits(method: Method, result: &Value, uri: &str) -> anyhow::Result<Vec<Value>> {
    match method {
        Method::Copilot | Method::Predict => {
            if result.is_null() {
                return Ok(Vec::new());
            }
            let edits = result
                .get("edits")
                .and_then(Value::as_array)
                .context("the result has no `edits` list")?;
            Ok(edits.clone())
        }
        Method::CodeAction => {
            let Some(actions) = result.as_array() else {
                if result.is_null() {
                    return Ok(Vec::new());
                }
                bail!("a code action result that is not a list");
            };
            let is_next_edit = |action: &Value| {
                action
                    .get("title")
                    .and_then(Value::as_str)
                    .is_some_and(|title| title.starts_with("Next edit"))
                    || action.get("kind").and_then(Value::as_str) == Some("refactor.rewrite")
            };
            let Some(action) = actions.iter().find(|action| is_next_edit(action)) else {
                return Ok(Vec::new());
            };
            let edit = action.get("edit").context("the next-edit action has no edit")?;
            if let Some(changes) = edit.pointer("/changes").and_then(|changes| changes.get(uri)) {
                return Ok(changes.as_array().cloned().unwrap_or_default());
            }
            let mut edits = Vec::new();
            for document_change in
                edit.get("documentChanges").and_then(Value::as_array).into_iter().flatten()
            {
                if document_change.pointer("/textDocument/uri").and_then(Value::as_str) == Some(uri)
                {
                    edits.extend(
                        document_change
                            .get("edits")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                    );
                }
            }
            Ok(edits)
        }
    }
}

fn position_from_json(value: Option<&Value>) -> anyhow::Result<LspPosition> {
    let value = value.context("a range without start or end")?;
    let line = value.get("line").and_then(Value::as_u64).context("a position without line")?;
    let character =
        value.get("character").and_then(Value::as_u64).context("a position without character")?;
    Ok(LspPosition { line: line as u32, character: character as u32 })
}

/// Applies LSP text edits (ranges all in `text`, not overlapping) to `text`.
pub fn apply_lsp_edits(text: &str, edits: &[Value], encoding: Encoding) -> anyhow::Result<String> {
    let mut replacements = Vec::with_capacity(edits.len());
    for edit in edits {
        let range = edit.get("range").context("an edit without range")?;
        let start = position_to_offset(text, position_from_json(range.get("start"))?, encoding);
        let end = position_to_offset(text, position_from_json(range.get("end"))?, encoding);
        if end < start {
            bail!("an edit whose range ends before it starts");
        }
        let new_text = edit
            .get("text")
            .or_else(|| edit.get("newText"))
            .and_then(Value::as_str)
            .context("an edit without text")?;
        replacements.push((start, end, new_text));
    }
    replacements.sort_by_key(|&(start, end, _)| (start, end));
    for pair in replacements.windows(2) {
        if pair[1].0 < pair[0].1 {
            bail!("overlapping edits");
        }
    }
    let mut out = text.to_owned();
    for &(start, end, new_text) in replacements.iter().rev() {
        out.replace_range(start..end, new_text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_edits_from_the_end() {
        let edits = vec![
            json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "text": "A"}),
            json!({"range": {"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 2}}, "newText": "!"}),
        ];
        assert_eq!(apply_lsp_edits("ab\n😀c\n", &edits, Encoding::Utf16).unwrap(), "Ab\n😀!c\n");
        let overlapping = vec![edits[0].clone(), edits[0].clone()];
        assert!(apply_lsp_edits("ab", &overlapping, Encoding::Utf8).is_err());
    }

    #[test]
    fn relative_paths_stay_inside() {
        assert_eq!(relative_path("/etc/../passwd"), PathBuf::from("etc/passwd"));
        assert_eq!(relative_path(""), PathBuf::from("file"));
    }
}
