//! Framing in front of tower-lsp-server.
//!
//! tower-lsp-server stops reading after a frame it can't decode, so every frame is checked here
//! first: a bad header or body gets a JSON-RPC error (-32700 for what doesn't parse, -32600 for JSON
//! that isn't a message) and the reader goes on with the next frame. A Content-Length over the cap
//! is refused without allocating it.
//!
//! Document sync (`didOpen`, `didChange`, `didClose`) is applied right here, in arrival order,
//! before the next frame is read: tower-lsp-server runs handlers concurrently and would reorder
//! them. Every other message goes on to tower-lsp-server unchanged.
//!
//! Output: tower-lsp-server's frames and our own error frames are written whole, one at a time, by
//! a single writer task.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc;

/// Frames larger than this are refused.
pub const MAX_CONTENT_LENGTH: usize = 64 * 1024 * 1024;
/// A header line longer than this is garbage.
const MAX_HEADER_LINE: usize = 8 * 1024;

/// One frame as read, or why it couldn't be.
#[derive(Debug)]
pub(crate) enum Frame {
    Body(Vec<u8>),
    /// A frame was broken; the reader has skipped past it.
    Malformed(String),
}

/// Reads the next frame. `Ok(None)` is a clean end of input.
pub(crate) async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Frame>> {
    let mut content_length: Option<usize> = None;
    let mut problem: Option<String> = None;
    let mut saw_header = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = read_header_line(reader, &mut line).await?;
        if read == 0 {
            return Ok(if saw_header {
                Some(Frame::Malformed("unexpected end of input in header".into()))
            } else {
                None
            });
        }
        if line.len() > MAX_HEADER_LINE {
            problem.get_or_insert_with(|| "header line too long".into());
            saw_header = true;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_header {
                // Stray blank lines between frames are harmless.
                continue;
            }
            break;
        }
        // Resynchronise on the next Content-Length, even if garbage precedes it on the line.
        let header = match text.to_ascii_lowercase().find("content-length:") {
            Some(0) => text,
            Some(offset) => {
                problem.get_or_insert_with(|| "garbage before a header".into());
                content_length = None;
                &text[offset..]
            }
            None => text,
        };
        saw_header = true;
        let Some((name, value)) = header.split_once(':') else {
            problem.get_or_insert_with(|| format!("bad header line `{}`", truncate(header, 80)));
            continue;
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            match value.trim().parse::<usize>() {
                Ok(length) => content_length = Some(length),
                Err(_) => {
                    problem.get_or_insert_with(|| "Content-Length is not a number".into());
                }
            }
        } else if !name.trim().eq_ignore_ascii_case("content-type") {
            // Unknown headers are allowed by the base protocol; ignore them.
        }
    }
    let Some(length) = content_length else {
        return Ok(Some(Frame::Malformed(
            problem.unwrap_or_else(|| "missing Content-Length header".into()),
        )));
    };
    if length > MAX_CONTENT_LENGTH {
        skip_bytes(reader, length).await?;
        return Ok(Some(Frame::Malformed(format!(
            "message of {length} bytes is larger than the limit of {MAX_CONTENT_LENGTH} bytes"
        ))));
    }
    let mut body = vec![0; length];
    if let Err(error) = reader.read_exact(&mut body).await {
        if error.kind() == std::io::ErrorKind::UnexpectedEof {
            return Ok(Some(Frame::Malformed("unexpected end of input in body".into())));
        }
        return Err(error);
    }
    match problem {
        Some(problem) => Ok(Some(Frame::Malformed(problem))),
        None => Ok(Some(Frame::Body(body))),
    }
}

/// Reads up to and including `\n`, but stores at most `MAX_HEADER_LINE + 1` bytes of it.
async fn read_header_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match memchr_newline(available) {
            Some(index) => (&available[..=index], true),
            None => (available, false),
        };
        let room = (MAX_HEADER_LINE + 1).saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        reader.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&byte| byte == b'\n')
}

async fn skip_bytes<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    mut remaining: usize,
) -> std::io::Result<()> {
    while remaining > 0 {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(());
        }
        let take = available.len().min(remaining);
        reader.consume(take);
        remaining -= take;
    }
    Ok(())
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Serialises a message as a frame.
pub(crate) fn encode_frame(body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    frame
}

/// What to do with a frame whose body is valid JSON.
#[derive(Debug)]
pub(crate) enum Classified {
    /// A message tower-lsp-server can decode.
    Forward,
    /// Document sync, applied by the reader itself.
    Sync { method: String, params: Value },
    /// Not a JSON-RPC message: answer with this error.
    Invalid(Value),
}

/// Checks a body the way tower-lsp-server's decoder would, so that nothing it chokes on reaches it.
pub(crate) fn classify(body: &[u8]) -> Classified {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            return Classified::Invalid(error_response(
                Value::Null,
                -32700,
                &format!("parse error: {error}"),
            ));
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let id = if id.is_string() || id.is_number() { id } else { Value::Null };
    if serde_json::from_value::<jsonrpc::Request>(value.clone()).is_ok() {
        let method = value.get("method").and_then(Value::as_str).unwrap_or_default();
        let is_notification = value.get("id").is_none();
        if is_notification
            && matches!(
                method,
                "textDocument/didOpen" | "textDocument/didChange" | "textDocument/didClose"
            )
        {
            let params = value.get("params").cloned().unwrap_or(Value::Null);
            return Classified::Sync { method: method.to_owned(), params };
        }
        return Classified::Forward;
    }
    if value.get("method").is_none()
        && serde_json::from_value::<jsonrpc::Response>(value.clone()).is_ok()
    {
        return Classified::Forward;
    }
    Classified::Invalid(error_response(id, -32600, "invalid request: not a JSON-RPC 2.0 message"))
}

pub(crate) fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Applies document sync notifications in arrival order.
pub(crate) trait SyncSink: Send + Sync {
    fn sync_notification(&self, method: &str, params: Value);
}

/// Runs the framing reader: reads `input`, answers broken frames on `errors`, applies sync
/// notifications through `sink`, and forwards everything else to `forward`.
pub(crate) async fn run_reader<I, F>(
    input: I,
    mut forward: F,
    errors: mpsc::UnboundedSender<Vec<u8>>,
    sink: Arc<dyn SyncSink>,
    mut initialized: tokio::sync::watch::Receiver<bool>,
) -> bool
where
    I: AsyncRead + Unpin,
    F: AsyncWrite + Unpin,
{
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut saw_exit = false;
    loop {
        let frame = match read_frame(&mut reader).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                tracing::info!("input closed: {error}");
                break;
            }
        };
        match frame {
            Frame::Malformed(problem) => {
                tracing::warn!("malformed frame: {problem}");
                let response =
                    error_response(Value::Null, -32700, &format!("parse error: {problem}"));
                let _ = errors.send(encode_frame(response.to_string().as_bytes()));
            }
            Frame::Body(body) => match classify(&body) {
                Classified::Forward => {
                    let is_exit = is_method(&body, "exit");
                    let is_initialize = !*initialized.borrow() && is_method(&body, "initialize");
                    if forward.write_all(&encode_frame(&body)).await.is_err()
                        || forward.flush().await.is_err()
                    {
                        break;
                    }
                    if is_exit {
                        saw_exit = true;
                        break;
                    }
                    if is_initialize {
                        // Clients send nothing else until `initialize` is answered; waiting for the
                        // handler keeps document sync behind the negotiated position encoding.
                        let _ = tokio::time::timeout(
                            std::time::Duration::from_secs(10),
                            initialized.wait_for(|done| *done),
                        )
                        .await;
                    }
                }
                Classified::Sync { method, params } => {
                    // The sink catches its own panics; this is the last line of defence, so that
                    // the reader goes on with the next frame whatever happens.
                    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        sink.sync_notification(&method, params)
                    }));
                    if applied.is_err() {
                        tracing::error!("{method} panicked; ignored");
                    }
                }
                Classified::Invalid(response) => {
                    tracing::warn!("invalid message: {}", response["error"]["message"]);
                    let _ = errors.send(encode_frame(response.to_string().as_bytes()));
                }
            },
        }
    }
    // Dropping `forward` ends tower-lsp-server's input, which ends the server.
    let _ = forward.shutdown().await;
    saw_exit
}

/// Whether the message's method is `method`.
fn is_method(body: &[u8], method: &str) -> bool {
    let quoted = format!("\"{method}\"");
    // Cheap check first; most frames are neither `exit` nor `initialize`.
    body.windows(quoted.len()).any(|window| window == quoted.as_bytes())
        && serde_json::from_slice::<Value>(body)
            .is_ok_and(|value| value.get("method").and_then(Value::as_str) == Some(method))
}

/// Why the writer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriterEnd {
    /// Everything that was written to it went out, and both sources ended.
    Drained,
    /// A write to the output failed (a broken pipe: the client is gone).
    OutputClosed,
}

/// Copies whole frames from tower-lsp-server's output and from `errors` to `output`.
pub(crate) async fn run_writer<S, O>(
    server_output: S,
    mut errors: mpsc::UnboundedReceiver<Vec<u8>>,
    mut output: O,
) -> WriterEnd
where
    S: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let mut server_output = BufReader::new(server_output);
    let mut server_open = true;
    let mut errors_open = true;
    while server_open || errors_open {
        tokio::select! {
            frame = read_frame(&mut server_output), if server_open => match frame {
                Ok(Some(Frame::Body(body))) => {
                    if output.write_all(&encode_frame(&body)).await.is_err() || output.flush().await.is_err() {
                        return WriterEnd::OutputClosed;
                    }
                }
                Ok(Some(Frame::Malformed(problem))) => tracing::error!("server wrote a malformed frame: {problem}"),
                Ok(None) | Err(_) => server_open = false,
            },
            frame = errors.recv(), if errors_open => match frame {
                Some(frame) => {
                    if output.write_all(&frame).await.is_err() || output.flush().await.is_err() {
                        return WriterEnd::OutputClosed;
                    }
                }
                None => errors_open = false,
            },
        }
    }
    WriterEnd::Drained
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8]) -> Vec<String> {
        let mut reader = BufReader::new(input);
        let mut out = Vec::new();
        while let Some(frame) = read_frame(&mut reader).await.unwrap() {
            out.push(match frame {
                Frame::Body(body) => format!("body {}", String::from_utf8_lossy(&body)),
                Frame::Malformed(problem) => format!("malformed {problem}"),
            });
        }
        out
    }

    #[tokio::test]
    async fn recovers_after_broken_frames() {
        let input = b"Content-Length: 2\r\n\r\n{}\
            Content-Length: abc\r\n\r\n\
            Content-Length: 3\r\n\r\n[1]\
            garbage line\r\nContent-Length: 2\r\n\r\nxx\
            Content-Length: 99999999999\r\n\r\n";
        expect_test::expect![[r#"
            [
                "body {}",
                "malformed Content-Length is not a number",
                "body [1]",
                "malformed bad header line `garbage line`",
                "malformed message of 99999999999 bytes is larger than the limit of 67108864 bytes",
            ]
        "#]]
        .assert_debug_eq(&frames(input).await);
    }

    #[tokio::test]
    async fn refuses_huge_frames_without_allocating() {
        let mut input = b"Content-Length: 70000000\r\n\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 70_000_000));
        input.extend_from_slice(b"Content-Length: 2\r\n\r\n{}");
        let got = frames(&input).await;
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("malformed message of 70000000 bytes"), "{got:?}");
        assert_eq!(got[1], "body {}");
    }

    #[test]
    fn classifies_bodies() {
        let kind = |text: &str| match classify(text.as_bytes()) {
            Classified::Forward => "forward".to_owned(),
            Classified::Sync { method, .. } => format!("sync {method}"),
            Classified::Invalid(response) => format!("invalid {}", response["error"]["code"]),
        };
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#),
            "forward"
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{}}"#),
            "sync textDocument/didChange"
        );
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":3,"result":null}"#), "forward");
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/didChange"}"#),
            "forward"
        );
        assert_eq!(kind(r#"{"id":1,"method":"x"}"#), "invalid -32600");
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1,"method":5}"#), "invalid -32600");
        assert_eq!(kind(r#"[1,2]"#), "invalid -32600");
        assert_eq!(kind(r#"{"jsonrpc":"2.0","#), "invalid -32700");
        assert_eq!(kind("\u{0}\u{1}"), "invalid -32700");
    }
}
