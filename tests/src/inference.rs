//! Peers for the remote backend's tests.
//!
//! - [`FaultyServer`]: a small HTTP server on 127.0.0.1 that answers like an OpenAI-compatible
//!   inference server, or fails on purpose (hangs, resets, garbage, error statuses). It records
//!   every request. The model behind it is a rule: in the editable region of a Zeta prompt, replace
//!   one string by another.
//! - [`CuttingProxy`]: a TCP proxy in front of a real inference server that can hold a response
//!   after its first streamed event, so a test can kill the server mid-stream.
//! - [`InferenceServer`]: llama-cpp-python's OpenAI-compatible server, run with the test model.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::WAIT;

/// How the fake server answers completion requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Stream the region with `from` replaced by `to`, a few characters per event.
    Rewrite { from: String, to: String },
    /// Read the request and never answer.
    Hang,
    /// Read the request and reset the connection.
    Reset,
    /// Answer 200 with bytes that are not server-sent events.
    Garbage,
    /// Answer with this status and an OpenAI-style error body.
    Status(u16),
    /// Answer 401 with an OpenAI-style error body that quotes the `Authorization` header it got,
    /// like a server that tells which key it refused.
    EchoAuthorization,
    /// Answer like the real next-edit model whose prompt format the request has (Sweep, Zeta,
    /// Zeta 2, Instinct), making the edit `from` -> `to` in its region. With `truncated`, stream
    /// that answer without its last eight characters and end with `finish_reason: "length"`, like a server
    /// that hit `max_tokens`.
    NextEditModel { from: String, to: String, truncated: bool },
    /// Stream these events (then `[DONE]`) to a streamed request, and answer `answer` as JSON to
    /// one that is not streamed.
    Canned { events: Vec<Value>, answer: Value },
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

struct FaultyState {
    behaviour: Behaviour,
    /// Refuse requests that carry `prediction` or `cache_prompt` with a 400, like a strict server.
    refuse_hints: bool,
    requests: Vec<RecordedRequest>,
    open_completions: usize,
    most_open_completions: usize,
}

/// See the module documentation.
pub struct FaultyServer {
    pub port: u16,
    pub model: String,
    state: Arc<Mutex<FaultyState>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultyServer {
    pub async fn start(model: &str, behaviour: Behaviour) -> Result<FaultyServer> {
        FaultyServer::start_on(0, model, behaviour).await
    }

    /// Like [`FaultyServer::start`] on a given port (0 picks one).
    pub async fn start_on(port: u16, model: &str, behaviour: Behaviour) -> Result<FaultyServer> {
        FaultyServer::start_with(port, model, behaviour, None).await
    }

    /// Like [`FaultyServer::start`], over TLS with a fresh self-signed certificate for
    /// `localhost`; the second value is that certificate in PEM, to trust as a CA.
    pub async fn start_tls(model: &str, behaviour: Behaviour) -> Result<(FaultyServer, String)> {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
        let pem = certified.cert.pem();
        let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(
            certified.signing_key.serialize_der(),
        )
        .map_err(|error| anyhow::anyhow!("{error}"))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let server = FaultyServer::start_with(0, model, behaviour, Some(acceptor)).await?;
        Ok((server, pem))
    }

    async fn start_with(
        port: u16,
        model: &str,
        behaviour: Behaviour,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Result<FaultyServer> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(FaultyState {
            behaviour,
            refuse_hints: false,
            requests: Vec::new(),
            open_completions: 0,
            most_open_completions: 0,
        }));
        let changed = Arc::new(Notify::new());
        let model_name = model.to_owned();
        let task = {
            let state = state.clone();
            let changed = changed.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let state = state.clone();
                    let changed = changed.clone();
                    let model = model_name.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        match tls {
                            None => {
                                let _ = serve_connection(stream, &model, &state, &changed).await;
                            }
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    let _ =
                                        serve_connection(stream, &model, &state, &changed).await;
                                }
                            }
                        }
                    });
                }
            })
        };
        Ok(FaultyServer { port, model: model.to_owned(), state, changed, task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.state.lock().unwrap().behaviour = behaviour;
    }

    pub fn refuse_hints(&self, refuse: bool) {
        self.state.lock().unwrap().refuse_hints = refuse;
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn completion_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.path.ends_with("completions"))
            .collect()
    }

    /// The most completion requests that were open at the same time.
    pub fn most_open_completions(&self) -> usize {
        self.state.lock().unwrap().most_open_completions
    }

    /// The completion requests open now: read, and neither answered in full nor closed by the
    /// client.
    pub fn open_completions(&self) -> usize {
        self.state.lock().unwrap().open_completions
    }

    /// Waits until at most `count` completion requests are open; fails after `within`.
    pub async fn wait_for_open_completions_at_most(
        &self,
        count: usize,
        within: Duration,
    ) -> Result<()> {
        tokio::time::timeout(within, async {
            loop {
                let notified = self.changed.notified();
                if self.open_completions() <= count {
                    return;
                }
                notified.await;
            }
        })
        .await
        .with_context(|| {
            format!(
                "{} completion requests are still open after {within:?}",
                self.open_completions()
            )
        })
    }

    /// Waits until at least `count` completion requests have arrived.
    pub async fn wait_for_completions(&self, count: usize) -> Result<()> {
        tokio::time::timeout(WAIT, async {
            loop {
                let notified = self.changed.notified();
                if self.completion_requests().len() >= count {
                    return;
                }
                notified.await;
            }
        })
        .await
        .with_context(|| format!("fewer than {count} completion requests arrived"))
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A connection the fake server can reset.
pub trait Connection: AsyncRead + AsyncWrite + Unpin + Send {
    /// Makes the next close a reset (a linger of zero).
    fn reset_on_close(&self) -> std::io::Result<()>;
}

impl Connection for TcpStream {
    fn reset_on_close(&self) -> std::io::Result<()> {
        // Blocking on drop is what a linger of zero means, and what this test wants.
        #[allow(deprecated)]
        self.set_linger(Some(Duration::ZERO))
    }
}

impl Connection for tokio_rustls::server::TlsStream<TcpStream> {
    fn reset_on_close(&self) -> std::io::Result<()> {
        self.get_ref().0.reset_on_close()
    }
}

async fn read_request<S: Connection>(stream: &mut BufReader<S>) -> Result<Option<RecordedRequest>> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        stream.read_line(&mut header).await?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(Some(RecordedRequest { method, path, headers, body }))
}

async fn serve_connection<S: Connection>(
    stream: S,
    model: &str,
    state: &Mutex<FaultyState>,
    changed: &Notify,
) -> Result<()> {
    let mut stream = BufReader::new(stream);
    while let Some(request) = read_request(&mut stream).await? {
        let is_completion = request.path.ends_with("completions");
        let (behaviour, refuse) = {
            let mut state = state.lock().unwrap();
            state.requests.push(request.clone());
            (state.behaviour.clone(), state.refuse_hints)
        };
        let has_hints =
            request.body.get("prediction").is_some() || request.body.get("cache_prompt").is_some();
        // Counted as open before the waiters hear of the request, so that a test that saw it
        // arrive also sees it open.
        let _open =
            (is_completion && !(refuse && has_hints)).then(|| OpenCompletion::new(state, changed));
        changed.notify_waiters();
        if !is_completion {
            let body =
                json!({"object": "list", "data": [{"id": model, "object": "model"}]}).to_string();
            write_response(&mut stream, 200, "application/json", &body, true).await?;
            continue;
        }
        if refuse && has_hints {
            let body =
                json!({"error": {"message": "unrecognized request argument supplied: prediction"}})
                    .to_string();
            write_response(&mut stream, 400, "application/json", &body, true).await?;
            continue;
        }
        match behaviour {
            Behaviour::Rewrite { from, to } => {
                let chat = request.path.ends_with("chat/completions");
                let prompt = if chat {
                    request.body["messages"]
                        .as_array()
                        .and_then(|messages| messages.last())
                        .map(|message| &message["content"])
                } else {
                    Some(&request.body["prompt"])
                };
                let answer =
                    rewrite_region(prompt.and_then(Value::as_str).unwrap_or_default(), &from, &to);
                stream_answer(&mut stream, &answer, chat).await?;
                return Ok(());
            }
            Behaviour::NextEditModel { from, to, truncated } => {
                let chat = request.path.ends_with("chat/completions");
                let prompt = if chat {
                    chat_template(&request.body["messages"])
                } else {
                    request.body["prompt"].as_str().unwrap_or_default().to_owned()
                };
                let answer =
                    nextedit::engine::model::scripted::next_edit_answer(&prompt, &from, &to)
                        .unwrap_or_else(|| "no next-edit prompt".to_owned());
                if truncated {
                    // Cut off in its last line, like a token limit does.
                    let cut = answer.char_indices().rev().nth(7).map_or(0, |(index, _)| index);
                    stream_answer_ending(&mut stream, &answer[..cut], chat, "length").await?;
                } else {
                    stream_answer(&mut stream, &answer, chat).await?;
                }
                return Ok(());
            }
            Behaviour::Canned { events, answer } => {
                if request.body["stream"] == Value::Bool(false) {
                    let body = answer.to_string();
                    write_response(&mut stream, 200, "application/json", &body, true).await?;
                    continue;
                }
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
                    .await?;
                for event in events {
                    stream.write_all(format!("data: {event}\n\n").as_bytes()).await?;
                }
                stream.write_all(b"data: [DONE]\n\n").await?;
                stream.flush().await?;
                return Ok(());
            }
            Behaviour::Hang => {
                // Hold the connection until the client gives up.
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
                return Ok(());
            }
            Behaviour::Reset => {
                stream.get_ref().reset_on_close()?;
                return Ok(());
            }
            Behaviour::Garbage => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\x00\xff junk\ndata: {{{not json\n\n")
                    .await?;
                return Ok(());
            }
            Behaviour::Status(status) => {
                let body = json!({"error": {"message": format!("status {status} on purpose")}})
                    .to_string();
                write_response(&mut stream, status, "application/json", &body, true).await?;
            }
            Behaviour::EchoAuthorization => {
                let authorization = request.header("authorization").unwrap_or("none");
                let message =
                    format!("invalid API key in the header `Authorization: {authorization}`");
                let body = json!({"error": {"message": message, "type": "invalid_request_error"}})
                    .to_string();
                write_response(&mut stream, 401, "application/json", &body, true).await?;
            }
        }
    }
    Ok(())
}

/// Counts a completion request as open while it lives, that is until it is answered or its
/// connection closes.
struct OpenCompletion<'a> {
    state: &'a Mutex<FaultyState>,
    changed: &'a Notify,
}

impl<'a> OpenCompletion<'a> {
    fn new(state: &'a Mutex<FaultyState>, changed: &'a Notify) -> OpenCompletion<'a> {
        {
            let mut locked = state.lock().unwrap();
            locked.open_completions += 1;
            locked.most_open_completions =
                locked.most_open_completions.max(locked.open_completions);
        }
        changed.notify_waiters();
        OpenCompletion { state, changed }
    }
}

impl Drop for OpenCompletion<'_> {
    fn drop(&mut self) {
        self.state.lock().unwrap().open_completions -= 1;
        self.changed.notify_waiters();
    }
}

async fn write_response<S: Connection>(
    stream: &mut BufReader<S>,
    status: u16,
    content_type: &str,
    body: &str,
    keep_alive: bool,
) -> Result<()> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;
    Ok(())
}

/// Streams `answer` as completion events, a few characters each, ending like a real server: the
/// stop string is not sent, the last event says `stop`, then `[DONE]`.
async fn stream_answer<S: Connection>(
    stream: &mut BufReader<S>,
    answer: &str,
    chat: bool,
) -> Result<()> {
    stream_answer_ending(stream, answer, chat, "stop").await
}

/// Like [`stream_answer`], with the last event's `finish_reason`.
async fn stream_answer_ending<S: Connection>(
    stream: &mut BufReader<S>,
    answer: &str,
    chat: bool,
    finish_reason: &str,
) -> Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
        )
        .await?;
    let characters: Vec<char> = answer.chars().collect();
    for piece in characters.chunks(7) {
        let text: String = piece.iter().collect();
        let event = if chat {
            json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
        } else {
            json!({"choices": [{"index": 0, "text": text, "finish_reason": null}]})
        };
        stream.write_all(format!("data: {event}\n\n").as_bytes()).await?;
        stream.flush().await?;
    }
    let last = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]});
    stream.write_all(format!("data: {last}\n\ndata: [DONE]\n\n").as_bytes()).await?;
    stream.flush().await?;
    Ok(())
}

/// Chat messages in Qwen's chat template, ending with an open assistant turn: the prompt the
/// server's model reads.
fn chat_template(messages: &Value) -> String {
    let mut prompt = String::new();
    for message in messages.as_array().into_iter().flatten() {
        let role = message["role"].as_str().unwrap_or_default();
        let content = message["content"].as_str().unwrap_or_default();
        prompt.push_str(&format!("<|im_start|>{role}\n{content}<|im_end|>\n"));
    }
    prompt.push_str("<|im_start|>assistant\n");
    prompt
}

const REGION_START: &str = "<|editable_region_start|>";
const REGION_END: &str = "<|editable_region_end|>";
const CURSOR: &str = "<|user_cursor_is_here|>";

/// The answer of a Zeta model that replaces `from` by `to` in the editable region (without the end
/// marker, which is the stop string).
pub fn rewrite_region(prompt: &str, from: &str, to: &str) -> String {
    let Some(start) = prompt.rfind(REGION_START) else { return "no region".to_owned() };
    let body_start = start + REGION_START.len();
    let Some(end) = prompt[body_start..].find(REGION_END) else { return "no region".to_owned() };
    let region = prompt[body_start..body_start + end].replace(CURSOR, "");
    format!("{REGION_START}{}", region.replacen(from, to, 1))
}

/// What the proxy does with the next response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    Forward,
    /// Forward the response up to its first event, then hold the rest and tell the test.
    HoldAfterFirstEvent,
}

/// See the module documentation.
pub struct CuttingProxy {
    pub port: u16,
    mode: watch::Sender<ProxyMode>,
    held: Arc<Notify>,
    /// Completion requests (`POST …/completions`) forwarded to the server so far.
    completions: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    pub async fn start(upstream_port: u16) -> Result<CuttingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (mode, mode_receiver) = watch::channel(ProxyMode::Forward);
        let held = Arc::new(Notify::new());
        let completions = Arc::new(AtomicUsize::new(0));
        let task = {
            let held = held.clone();
            let completions = completions.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let mode = *mode_receiver.borrow();
                    let held = held.clone();
                    let completions = completions.clone();
                    tokio::spawn(async move {
                        let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await
                        else {
                            return;
                        };
                        let _ = relay(client, upstream, mode, &held, completions).await;
                    });
                }
            })
        };
        Ok(CuttingProxy { port, mode, held, completions, task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }

    /// A future that completes when a response has been held after its first event. Create it
    /// before causing the request.
    pub fn held(&self) -> impl std::future::Future<Output = ()> + '_ {
        self.held.notified()
    }

    /// How many completion requests the proxy has forwarded to the server, counted from the
    /// request lines it relayed.
    pub fn completion_requests(&self) -> usize {
        self.completions.load(Ordering::SeqCst)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    client: TcpStream,
    upstream: TcpStream,
    mode: ProxyMode,
    held: &Notify,
    completions: Arc<AtomicUsize>,
) -> Result<()> {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let to_upstream = tokio::spawn(async move {
        let mut counter = PatternCounter::new(b"/completions HTTP/1.");
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = client_read.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                break;
            }
            completions.fetch_add(counter.count_in(&buffer[..read]), Ordering::SeqCst);
            if upstream_write.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
    });
    let mut buffer = vec![0u8; 16 * 1024];
    let mut first_event = PatternCounter::new(b"data:");
    let mut holding = false;
    loop {
        let read = upstream_read.read(&mut buffer).await.unwrap_or(0);
        if read == 0 {
            break;
        }
        if holding {
            continue;
        }
        client_write.write_all(&buffer[..read]).await?;
        if mode == ProxyMode::HoldAfterFirstEvent && first_event.count_in(&buffer[..read]) > 0 {
            holding = true;
            held.notify_one();
        }
    }
    // The upstream side closed (or died): so does the client side.
    to_upstream.abort();
    Ok(())
}

/// Counts the occurrences of a pattern in a byte stream that arrives in pieces, including those
/// split between two pieces.
struct PatternCounter {
    pattern: &'static [u8],
    /// The end of what was seen, shorter than the pattern.
    tail: Vec<u8>,
}

impl PatternCounter {
    fn new(pattern: &'static [u8]) -> PatternCounter {
        PatternCounter { pattern, tail: Vec::new() }
    }

    fn count_in(&mut self, piece: &[u8]) -> usize {
        let mut seen = std::mem::take(&mut self.tail);
        seen.extend_from_slice(piece);
        // The tail is shorter than the pattern, so every match found here includes new bytes.
        let count =
            seen.windows(self.pattern.len()).filter(|window| *window == self.pattern).count();
        let keep = (self.pattern.len() - 1).min(seen.len());
        self.tail = seen[seen.len() - keep..].to_vec();
        count
    }
}

/// llama-cpp-python's OpenAI-compatible server with the test model, on a port of 127.0.0.1. The
/// interpreter comes from `NEXTEDIT_INFERENCE_PYTHON` (`scripts/inference-server install` prints it).
pub struct InferenceServer {
    pub port: u16,
    child: tokio::process::Child,
}

impl InferenceServer {
    pub fn python() -> Result<String> {
        std::env::var("NEXTEDIT_INFERENCE_PYTHON").context(
            "NEXTEDIT_INFERENCE_PYTHON is not set: run `scripts/inference-server install` and set it to the path it prints",
        )
    }

    /// Starts the server and waits until it listens. `port` 0 picks a free one.
    pub async fn start(model: &str, port: u16) -> Result<InferenceServer> {
        let port = if port == 0 {
            TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port()
        } else {
            port
        };
        let mut child = tokio::process::Command::new(InferenceServer::python()?)
            .args(["-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1"])
            .args([
                "--port",
                &port.to_string(),
                "--n_ctx",
                "4096",
                "--logits_all",
                "False",
                "--verbose",
                "False",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting llama_cpp.server")?;
        let stderr = child.stderr.take().context("stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let started = tokio::time::timeout(WAIT * 3, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Uvicorn running on") {
                    return true;
                }
            }
            false
        })
        .await;
        if started != Ok(true) {
            bail!("llama_cpp.server did not start on port {port}");
        }
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(InferenceServer { port, child })
    }

    /// Kills the server at once (SIGKILL) and waits for it to be gone.
    pub async fn kill(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}
