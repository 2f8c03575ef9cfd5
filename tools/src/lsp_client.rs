//! A small blocking LSP client over any byte pipe pair: Content-Length framing, a reader thread,
//! one outstanding request at a time. It answers the server's own requests with empty results,
//! keeps its notifications for the caller, and fails loudly on a response it did not expect (a
//! duplicate, or an id it never sent).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use crate::lsp_framing::FrameReader;

/// What reading from the server produced.
enum Incoming {
    Message(Value),
    /// The stream ended or broke; the text says why.
    Closed(String),
}

/// How a request ended.
#[derive(Debug)]
pub enum RequestOutcome {
    Result(Value),
    Error {
        code: i64,
        message: String,
    },
    /// No response within the timeout; the request was cancelled.
    TimedOut,
}

/// The server side of a connection: a process, or anything else that owns the other ends of the
/// pipes (tests use an in-process server).
pub enum ServerHandle {
    Process(Child),
    Thread(JoinHandle<()>),
}

pub struct LspClient {
    writer: Box<dyn Write + Send>,
    incoming: Receiver<Incoming>,
    reader_thread: Option<JoinHandle<()>>,
    server: Option<ServerHandle>,
    next_id: i64,
    /// Requests that timed out and were cancelled: their (late) response is still expected once.
    cancelled: HashSet<i64>,
    answered: HashSet<i64>,
    notifications: Vec<Value>,
    closed: Option<String>,
}

impl LspClient {
    /// Spawns `program args..` and speaks LSP over its stdin and stdout. Its stderr goes to
    /// `stderr_log`, or is dropped.
    pub fn spawn(
        program: &str,
        args: &[String],
        stderr_log: Option<&std::path::Path>,
    ) -> anyhow::Result<LspClient> {
        let stderr = match stderr_log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                Stdio::from(file)
            }
            None => Stdio::null(),
        };
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start the server `{program}`"))?;
        let stdin = child.stdin.take().context("the server has no stdin")?;
        let stdout = child.stdout.take().context("the server has no stdout")?;
        Ok(LspClient::over(Box::new(stdout), Box::new(stdin), ServerHandle::Process(child)))
    }

    /// Speaks LSP over the given pipes.
    pub fn over(
        reader: Box<dyn Read + Send>,
        writer: Box<dyn Write + Send>,
        server: ServerHandle,
    ) -> LspClient {
        let (sender, incoming) = channel();
        let reader_thread = std::thread::spawn(move || {
            let mut reader = FrameReader::new(reader);
            loop {
                match reader.read() {
                    Ok(Some(message)) => {
                        if sender.send(Incoming::Message(message)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        let _ = sender
                            .send(Incoming::Closed("the server closed its output".to_owned()));
                        return;
                    }
                    Err(error) => {
                        let _ = sender.send(Incoming::Closed(format!(
                            "cannot read from the server: {error:#}"
                        )));
                        return;
                    }
                }
            }
        });
        LspClient {
            writer,
            incoming,
            reader_thread: Some(reader_thread),
            server: Some(server),
            next_id: 1,
            cancelled: HashSet::new(),
            answered: HashSet::new(),
            notifications: Vec::new(),
            closed: None,
        }
    }

    /// Why the connection is gone, if it is.
    pub fn closed_reason(&self) -> Option<&str> {
        self.closed.as_deref()
    }

    /// Notifications received so far (and forgets them).
    pub fn take_notifications(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.notifications)
    }

    fn write(&mut self, message: &Value) -> anyhow::Result<()> {
        if let Some(reason) = &self.closed {
            bail!("the server is gone: {reason}");
        }
        let body = serde_json::to_string(message)?;
        let written = write!(self.writer, "Content-Length: {}\r\n\r\n{}", body.len(), body)
            .and_then(|()| self.writer.flush());
        if let Err(error) = written {
            let reason = format!("cannot write to the server: {error}");
            self.closed = Some(reason.clone());
            bail!(reason);
        }
        Ok(())
    }

    pub fn notify(&mut self, method: &str, params: Value) -> anyhow::Result<()> {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    /// Sends a request and waits for its response. On timeout it sends `$/cancelRequest` and
    /// returns [`RequestOutcome::TimedOut`].
    pub fn request(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> anyhow::Result<RequestOutcome> {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let incoming = match self.incoming.recv_timeout(remaining) {
                Ok(incoming) => incoming,
                Err(RecvTimeoutError::Timeout) => {
                    self.cancelled.insert(id);
                    self.notify("$/cancelRequest", json!({"id": id}))?;
                    return Ok(RequestOutcome::TimedOut);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let reason = "the server's reader stopped".to_owned();
                    self.closed = Some(reason.clone());
                    bail!(reason);
                }
            };
            let message = match incoming {
                Incoming::Message(message) => message,
                Incoming::Closed(reason) => {
                    self.closed = Some(reason.clone());
                    bail!("no response to `{method}`: {reason}");
                }
            };
            if let Some(outcome) = self.dispatch(message, id)? {
                return Ok(outcome);
            }
        }
    }

    /// Waits for a notification that `wanted` accepts (notifications already received count
    /// too), answering the server's requests meanwhile. `None` when the time runs out.
    pub fn wait_for_notification(
        &mut self,
        wanted: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<Option<Value>> {
        if let Some(index) = self.notifications.iter().position(&wanted) {
            return Ok(Some(self.notifications.remove(index)));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let message = match self.incoming.recv_timeout(remaining) {
                Ok(Incoming::Message(message)) => message,
                Ok(Incoming::Closed(reason)) => {
                    self.closed = Some(reason.clone());
                    bail!(reason);
                }
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => {
                    let reason = "the server's reader stopped".to_owned();
                    self.closed = Some(reason.clone());
                    bail!(reason);
                }
            };
            // No request is pending: any response other than a late one is unexpected.
            self.dispatch(message, -1)?;
            if let Some(index) = self.notifications.iter().position(&wanted) {
                return Ok(Some(self.notifications.remove(index)));
            }
        }
    }

    /// Handles one incoming message while waiting for `waiting_for`; returns its outcome when it
    /// is the awaited response.
    fn dispatch(
        &mut self,
        message: Value,
        waiting_for: i64,
    ) -> anyhow::Result<Option<RequestOutcome>> {
        let method = message.get("method").and_then(Value::as_str).map(str::to_owned);
        let id = message.get("id").cloned();
        match (method, id) {
            (Some(method), Some(id)) => {
                // A request from the server: answer it so that it never waits on us.
                let result = match method.as_str() {
                    "workspace/configuration" => {
                        let items = message
                            .pointer("/params/items")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len);
                        Value::Array(vec![Value::Null; items])
                    }
                    _ => Value::Null,
                };
                self.write(&json!({"jsonrpc": "2.0", "id": id, "result": result}))?;
                Ok(None)
            }
            (Some(_), None) => {
                self.notifications.push(message);
                Ok(None)
            }
            (None, Some(id)) => {
                let Some(id) = id.as_i64() else {
                    bail!("a response with an id we never sent: {id}")
                };
                if !self.answered.insert(id) {
                    bail!("a duplicate response to request {id}");
                }
                if self.cancelled.remove(&id) {
                    return Ok(None);
                }
                if id != waiting_for {
                    bail!("a response to request {id}, which was never sent");
                }
                if let Some(error) = message.get("error") {
                    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
                    let text =
                        error.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
                    return Ok(Some(RequestOutcome::Error { code, message: text }));
                }
                let Some(result) = message.get("result") else {
                    bail!("response {id} has neither a result nor an error");
                };
                Ok(Some(RequestOutcome::Result(result.clone())))
            }
            (None, None) => bail!(
                "a message that is neither a request, a notification nor a response: {message}"
            ),
        }
    }

    /// Requests that timed out and still have had no answer.
    pub fn unanswered_cancelled_requests(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.cancelled.iter().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// `shutdown` then `exit`, waiting for the server to end (it is killed if it does not end
    /// within `timeout`).
    pub fn shutdown(mut self, timeout: Duration) -> anyhow::Result<()> {
        let outcome = if self.closed.is_none() {
            Some(self.request("shutdown", Value::Null, timeout))
        } else {
            None
        };
        if self.closed.is_none() {
            let _ = self.notify("exit", Value::Null);
        }
        let result = match outcome {
            Some(Ok(RequestOutcome::Result(_))) => Ok(()),
            Some(Ok(RequestOutcome::Error { code, message })) => {
                Err(anyhow!("shutdown failed: {code} {message}"))
            }
            Some(Ok(RequestOutcome::TimedOut)) => Err(anyhow!("no response to shutdown")),
            Some(Err(error)) => Err(error),
            None => Ok(()),
        };
        self.finish(timeout);
        result
    }

    /// Ends the server without the protocol's goodbye (after a crash, say).
    pub fn kill(mut self) {
        if let Some(ServerHandle::Process(child)) = &mut self.server {
            let _ = child.kill();
        }
        self.finish(Duration::from_secs(5));
    }

    fn finish(&mut self, timeout: Duration) {
        // Closing our end of stdin tells the server to stop reading.
        self.writer = Box::new(std::io::sink());
        match self.server.take() {
            Some(ServerHandle::Process(mut child)) => {
                let deadline = Instant::now() + timeout;
                loop {
                    match child.try_wait() {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) if Instant::now() >= deadline => {
                            let _ = child.kill();
                            let _ = child.wait();
                            break;
                        }
                        // Polling a child's exit: std has no waiting with a timeout.
                        Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            }
            Some(ServerHandle::Thread(thread)) => {
                let _ = thread.join();
            }
            None => {}
        }
        if let Some(reader) = self.reader_thread.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        if let Some(ServerHandle::Process(child)) = &mut self.server {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Writes one framed message.
pub fn write_frame(writer: &mut impl Write, message: &Value) -> std::io::Result<()> {
    writer.write_all(&crate::lsp_framing::encode(message))?;
    writer.flush()
}
