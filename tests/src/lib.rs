//! A test client that speaks LSP to the real `nextedit` binary over stdio, or to the server
//! in-process over `tokio::io::duplex`.
//!
//! It is strict: a response for an id it never sent, a second response for one id, or a request
//! left without a response at [`TestClient::finish`] fails the test.

pub mod inference;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nextedit_tools::lsp_framing::FrameBuffer;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// How long any single wait may take before the test fails (a bound, not a timing assertion).
pub const WAIT: Duration = Duration::from_secs(60);

/// The `nextedit` binary built next to the test executable (`target/<profile>/nextedit`).
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NEXTEDIT_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    profile_dir.join(format!("nextedit{}", std::env::consts::EXE_SUFFIX))
}

pub struct TestClient {
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    /// Messages with the time the reader task read them.
    incoming: mpsc::UnboundedReceiver<(Instant, Result<Value, String>)>,
    next_id: i64,
    /// Ids sent and not answered yet.
    outstanding: HashSet<i64>,
    answered: HashSet<i64>,
    /// When the response to each answered id was read.
    received_at: HashMap<i64, Instant>,
    /// Messages read while waiting for something else.
    backlog: VecDeque<Value>,
    child: Option<tokio::process::Child>,
    server_task: Option<tokio::task::JoinHandle<nextedit::lsp::ExitStatus>>,
    /// The task that reads the server's output; it owns the read end of that pipe.
    reader_task: tokio::task::JoinHandle<()>,
    /// The task that reads a spawned server's stderr, when it is captured; it returns the bytes.
    stderr_task: Option<tokio::task::JoinHandle<Vec<u8>>>,
    /// Server-to-client requests are answered automatically with this.
    pub auto_reply: Value,
}

impl TestClient {
    /// Starts the real binary with `args` and extra environment.
    pub async fn spawn(args: &[&str], env: &[(&str, &str)]) -> Result<TestClient> {
        TestClient::spawn_with(&[], args, env, false).await
    }

    /// Like [`TestClient::spawn`], keeping what the server writes to stderr (see
    /// [`TestClient::wait_for_exit`]).
    pub async fn spawn_capturing_stderr(args: &[&str], env: &[(&str, &str)]) -> Result<TestClient> {
        TestClient::spawn_with(&[], args, env, true).await
    }

    /// Starts the real binary through a program that executes it in its own place, such as
    /// `unshare --net --`: `launcher` comes first on the command line, then the binary and `args`.
    /// The process id is then the server's.
    pub async fn spawn_through(
        launcher: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<TestClient> {
        TestClient::spawn_with(launcher, args, env, false).await
    }

    async fn spawn_with(
        launcher: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
        capture_stderr: bool,
    ) -> Result<TestClient> {
        let binary = server_binary();
        let mut command = match launcher.split_first() {
            Some((program, launcher_args)) => {
                let mut command = tokio::process::Command::new(program);
                command.args(launcher_args).arg(&binary);
                command
            }
            None => tokio::process::Command::new(&binary),
        };
        let stderr = if capture_stderr { Stdio::piped() } else { Stdio::inherit() };
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child =
            command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = child.stdout.take().context("stdout")?;
        let stderr_task = child.stderr.take().map(|mut stderr| {
            tokio::spawn(async move {
                let mut captured = Vec::new();
                let _ = stderr.read_to_end(&mut captured).await;
                captured
            })
        });
        let mut client = TestClient::from_streams(Box::new(stdin), stdout);
        client.child = Some(child);
        client.stderr_task = stderr_task;
        Ok(client)
    }

    /// Runs the server in this process over in-memory pipes.
    pub fn in_process() -> TestClient {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let (client_read, client_write) = tokio::io::split(client_side);
        let task =
            tokio::spawn(nextedit::lsp::serve(server_read, server_write, Default::default()));
        let mut client = TestClient::from_streams(Box::new(client_write), client_read);
        client.server_task = Some(task);
        client
    }

    fn from_streams<R: AsyncRead + Unpin + Send + 'static>(
        writer: Box<dyn AsyncWrite + Unpin + Send>,
        reader: R,
    ) -> TestClient {
        let (sender, incoming) = mpsc::unbounded_channel();
        let reader_task = tokio::spawn(async move {
            let mut reader = reader;
            let mut frames = FrameBuffer::default();
            loop {
                match read_message(&mut reader, &mut frames).await {
                    Ok(Some(message)) => {
                        if sender.send((Instant::now(), Ok(message))).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        let _ = sender.send((Instant::now(), Err(error)));
                        break;
                    }
                }
            }
        });
        TestClient {
            writer,
            incoming,
            next_id: 0,
            outstanding: HashSet::new(),
            answered: HashSet::new(),
            received_at: HashMap::new(),
            backlog: VecDeque::new(),
            child: None,
            server_task: None,
            reader_task,
            stderr_task: None,
            auto_reply: Value::Null,
        }
    }

    /// Writes raw bytes, for malformed-input tests.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.write_all(bytes).await?;
        self.writer.flush().await?;
        Ok(())
    }

    pub async fn send(&mut self, message: &Value) -> Result<()> {
        self.send_raw(&nextedit_tools::lsp_framing::encode(message)).await
    }

    pub async fn notify(&mut self, method: &str, params: Value) -> Result<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params})).await
    }

    /// Sends a request and returns its id without waiting.
    pub async fn send_request(&mut self, method: &str, params: Value) -> Result<i64> {
        self.next_id += 1;
        let id = self.next_id;
        self.outstanding.insert(id);
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await?;
        Ok(id)
    }

    /// Sends a request and waits for its response (the whole message, with `result` or `error`).
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.send_request(method, params).await?;
        self.response(id).await
    }

    /// Sends a request and returns its `result`, failing on an error response.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let response = self.request(method, params).await?;
        if let Some(error) = response.get("error") {
            bail!("{method} failed: {error}");
        }
        Ok(response.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Waits for the response to `id`.
    pub async fn response(&mut self, id: i64) -> Result<Value> {
        if let Some(index) =
            self.backlog.iter().position(|m| is_response(m) && m["id"] == json!(id))
        {
            return Ok(self.backlog.remove(index).expect("index is valid"));
        }
        loop {
            let message = self.next_message().await?;
            if is_response(&message) && message["id"] == json!(id) {
                return Ok(message);
            }
            self.backlog.push_back(message);
        }
    }

    /// Waits for a response whose id is null (the answer to a frame that didn't parse).
    pub async fn null_id_error(&mut self) -> Result<Value> {
        self.wait_for(|m| is_response(m) && m["id"].is_null()).await
    }

    /// Waits for a notification with this method.
    pub async fn notification(&mut self, method: &str) -> Result<Value> {
        let message = self.wait_for(|m| m.get("id").is_none() && m["method"] == method).await?;
        Ok(message["params"].clone())
    }

    /// Waits for the first message matching `predicate`, keeping others for later.
    pub async fn wait_for(&mut self, predicate: impl Fn(&Value) -> bool) -> Result<Value> {
        if let Some(index) = self.backlog.iter().position(&predicate) {
            return Ok(self.backlog.remove(index).expect("index is valid"));
        }
        loop {
            let message = self.next_message().await?;
            if predicate(&message) {
                return Ok(message);
            }
            self.backlog.push_back(message);
        }
    }

    /// Reads one message, checking response bookkeeping and answering server requests.
    async fn next_message(&mut self) -> Result<Value> {
        let item = tokio::time::timeout(WAIT, self.incoming.recv())
            .await
            .map_err(|_| anyhow!("no message from the server within {WAIT:?}"))?
            .ok_or_else(|| anyhow!("the server closed its output"))?;
        self.process(item).await
    }

    async fn process(
        &mut self,
        (read_at, message): (Instant, Result<Value, String>),
    ) -> Result<Value> {
        let message = message.map_err(|error| anyhow!("bad frame from the server: {error}"))?;
        if is_response(&message) {
            if let Some(id) = message["id"].as_i64() {
                if !self.outstanding.remove(&id) {
                    if self.answered.contains(&id) {
                        bail!("duplicate response for id {id}: {message}");
                    }
                    bail!("response for an id that was never sent: {message}");
                }
                self.answered.insert(id);
                self.received_at.insert(id, read_at);
            }
        } else if message.get("id").is_some() && message.get("method").is_some() {
            // A request from the server (progress token creation, configuration...).
            let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": self.auto_reply});
            self.send(&reply).await?;
        }
        Ok(message)
    }

    /// Reads every message the server has sent so far without waiting, checking the bookkeeping,
    /// and keeps them for later.
    pub async fn drain_ready(&mut self) -> Result<()> {
        while let Ok(item) = self.incoming.try_recv() {
            let message = self.process(item).await?;
            self.backlog.push_back(message);
        }
        Ok(())
    }

    /// Removes and returns the messages read so far (see [`TestClient::drain_ready`]) that match
    /// `predicate`.
    pub fn take_read(&mut self, predicate: impl Fn(&Value) -> bool) -> Vec<Value> {
        let (taken, kept): (Vec<Value>, Vec<Value>) =
            self.backlog.drain(..).partition(|message| predicate(message));
        self.backlog = kept.into();
        taken
    }

    /// When the response to `id` was read from the server's output (by the reader task, so the
    /// time does not depend on when the test looked at it).
    pub fn received_at(&self, id: i64) -> Option<Instant> {
        self.received_at.get(&id).copied()
    }

    pub async fn initialize(&mut self, options: Value) -> Result<Value> {
        self.initialize_with(options, json!({"general": {"positionEncodings": ["utf-16"]}})).await
    }

    pub async fn initialize_with(&mut self, options: Value, capabilities: Value) -> Result<Value> {
        let result = self
            .call(
                "initialize",
                json!({"processId": null, "rootUri": null, "capabilities": capabilities, "initializationOptions": options}),
            )
            .await?;
        self.notify("initialized", json!({})).await?;
        Ok(result)
    }

    pub async fn open(&mut self, uri: &str, language_id: &str, text: &str) -> Result<()> {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language_id, "version": 0, "text": text}}),
        )
        .await
    }

    /// Sends one incremental change `(start line, start character, end line, end character, text)`.
    pub async fn change(
        &mut self,
        uri: &str,
        version: i32,
        range: (u32, u32, u32, u32),
        text: &str,
    ) -> Result<()> {
        let (sl, sc, el, ec) = range;
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}, "text": text}],
            }),
        )
        .await
    }

    /// Asks the server for a document's text through the debug command, to compare with a model.
    pub async fn document_text(&mut self, uri: &str) -> Result<String> {
        let result = self
            .call(
                "workspace/executeCommand",
                json!({"command": "nextedit.debugDocument", "arguments": [{"uri": uri}]}),
            )
            .await?;
        result["text"].as_str().map(str::to_owned).ok_or_else(|| anyhow!("no text in {result}"))
    }

    /// Shuts down cleanly and checks that every request got its response. Returns the exit code
    /// of a spawned server (0 for in-process).
    pub async fn finish(mut self) -> Result<i32> {
        let id = self.send_request("shutdown", Value::Null).await?;
        let response = self.response(id).await?;
        if response.get("error").is_some() {
            bail!("shutdown failed: {response}");
        }
        self.notify("exit", Value::Null).await?;
        if !self.outstanding.is_empty() {
            bail!("requests without a response: {:?}", self.outstanding);
        }
        // Any late message must not be a response to a request of ours. (Errors for raw frames that
        // weren't requests, with a null or foreign id, may come late: the filter writes them.)
        while let Ok(Some((_, Ok(message)))) =
            tokio::time::timeout(Duration::from_millis(0), self.incoming.recv()).await
        {
            if is_response(&message) && message["id"].as_i64().is_some() {
                bail!("unexpected response after shutdown: {message}");
            }
        }
        if let Some(mut child) = self.child.take() {
            let status =
                tokio::time::timeout(WAIT, child.wait()).await.context("server did not exit")??;
            return Ok(status.code().unwrap_or(-1));
        }
        if let Some(task) = self.server_task.take() {
            let status =
                tokio::time::timeout(WAIT, task).await.context("server did not exit")??;
            return Ok(if status == nextedit::lsp::ExitStatus::Clean { 0 } else { 1 });
        }
        Ok(0)
    }

    /// The process id of a spawned server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|child| child.id())
    }

    /// Registers an id sent in a raw frame, so that its response is expected.
    pub fn expect_response_to(&mut self, id: i64) {
        self.outstanding.insert(id);
    }

    /// Requests that were sent and not answered yet.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Closes the read end of the server's output, as a client that went away does: the server's
    /// next write fails with a broken pipe. Messages not read yet are lost.
    pub async fn close_output(&mut self) {
        self.reader_task.abort();
        // The aborted task drops the reader, and with it the pipe.
        let _ = (&mut self.reader_task).await;
    }

    /// Waits for a spawned server to exit by itself, at most [`WAIT`]; returns its exit code and,
    /// if it was started with [`TestClient::spawn_capturing_stderr`], all it wrote to stderr.
    pub async fn wait_for_exit(mut self) -> Result<(i32, String)> {
        let mut child = self.child.take().context("not a spawned server")?;
        let status =
            tokio::time::timeout(WAIT, child.wait()).await.context("server did not exit")??;
        let stderr = match self.stderr_task.take() {
            Some(task) => {
                tokio::time::timeout(WAIT, task).await.context("stderr was not closed")??
            }
            None => Vec::new(),
        };
        Ok((status.code().unwrap_or(-1), String::from_utf8_lossy(&stderr).into_owned()))
    }

    /// Closes the server's input and waits for a spawned server to exit; returns its exit code.
    pub async fn close_input_and_wait(mut self) -> Result<i32> {
        self.writer.shutdown().await?;
        drop(self.writer);
        if let Some(mut child) = self.child.take() {
            let status =
                tokio::time::timeout(WAIT, child.wait()).await.context("server did not exit")??;
            return Ok(status.code().unwrap_or(-1));
        }
        if let Some(task) = self.server_task.take() {
            tokio::time::timeout(WAIT, task).await.context("server did not exit")??;
        }
        Ok(0)
    }
}

fn is_response(message: &Value) -> bool {
    message.get("method").is_none() && message.get("id").is_some()
}

/// The next message from the server; `None` at the end of its output.
async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
    frames: &mut FrameBuffer,
) -> Result<Option<Value>, String> {
    let mut chunk = [0; 8192];
    loop {
        if let Some(message) = frames.next_message().map_err(|error| error.to_string())? {
            return Ok(Some(message));
        }
        let read = reader.read(&mut chunk).await.map_err(|error| error.to_string())?;
        if read == 0 {
            return Ok(None);
        }
        frames.extend(&chunk[..read]);
    }
}

/// A fresh temporary directory named after the test, removed when dropped (also when the test
/// fails).
pub fn scratch_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("nextedit-{name}-"))
        .tempdir()
        .expect("cannot create a temporary directory")
}

/// The test model (`$NEXTEDIT_MODEL`, else the model cache); panics saying how to fetch it.
pub fn model_path() -> String {
    match nextedit::engine::model::test_model_path() {
        Ok(path) => path.display().to_string(),
        Err(message) => panic!("{message}"),
    }
}

/// Applies LSP edits to ASCII text (so a character column is a byte column). Each edit has a
/// `range` and its new text in `text` (copilotInlineEdit) or `newText` (a `TextEdit`).
pub fn apply_ascii_edits(text: &str, edits: &[Value]) -> String {
    let offset = |position: &Value| {
        let line = position["line"].as_u64().unwrap() as usize;
        let line_start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        line_start + position["character"].as_u64().unwrap() as usize
    };
    let mut sorted: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|edit| {
            let new_text = edit.get("text").or_else(|| edit.get("newText"));
            (
                offset(&edit["range"]["start"]),
                offset(&edit["range"]["end"]),
                new_text.and_then(Value::as_str).expect("an edit without text"),
            )
        })
        .collect();
    sorted.sort_by_key(|edit| std::cmp::Reverse(edit.0));
    let mut out = text.to_owned();
    for (start, end, new_text) in sorted {
        out.replace_range(start..end, new_text);
    }
    out
}

/// A reference model of a document: a plain string edited with the same clamping rules, in
/// UTF-16 columns. It is an independent oracle on purpose: the sync tests compare the server's
/// rope-backed documents (and its in-order change application) against it, so it must not be
/// replaced by the server's `Document`. It shares only the position conversion, which
/// `server/src/text/reference.rs` checks on its own.
#[derive(Debug, Clone, Default)]
pub struct ReferenceDocument {
    pub text: String,
}

impl ReferenceDocument {
    pub fn new(text: &str) -> ReferenceDocument {
        ReferenceDocument { text: text.to_owned() }
    }

    pub fn offset(&self, line: u32, character: u32) -> usize {
        nextedit::text::position::position_to_byte_in_str(
            &self.text,
            nextedit::text::Position::new(line, character),
            nextedit::text::PositionEncoding::Utf16,
        )
    }

    pub fn apply(&mut self, range: (u32, u32, u32, u32), new_text: &str) {
        let start = self.offset(range.0, range.1);
        let end = self.offset(range.2, range.3);
        let (start, end) = (start.min(end), end.max(start));
        self.text.replace_range(start..end, new_text);
    }

    pub fn line_count(&self) -> u32 {
        self.text.split('\n').count() as u32
    }
}

/// A tiny deterministic generator (xorshift), so that randomized tests are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Builds a `HashMap` of uri -> reference document, for the sync tests.
pub type References = HashMap<String, ReferenceDocument>;
