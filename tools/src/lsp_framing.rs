//! The LSP base protocol's framing (`Content-Length: N\r\n\r\n` then N bytes of JSON), as one
//! codec for the two clients that talk to a server: the blocking client of the tools
//! (`lsp_client`) and the async test client (`nextedit_tests::TestClient`).
//!
//! It trusts the server it reads from: no size cap, and a broken frame ends the stream. The
//! server's own reader, `server/src/lsp/transport.rs`, is a separate implementation on purpose:
//! it reads from untrusted clients, refuses oversized frames without allocating them, answers
//! broken frames and keeps reading.

use std::fmt;
use std::io::Read;

use serde_json::Value;

/// One message, framed.
pub fn encode(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body.as_bytes());
    frame
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    NotAHeader(String),
    BadLength(String),
    MissingLength,
    NotJson(serde_json::Error),
    /// The stream ended after part of a frame.
    Truncated,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NotAHeader(line) => write!(f, "not a header line: `{line}`"),
            FrameError::BadLength(value) => write!(f, "bad Content-Length `{value}`"),
            FrameError::MissingLength => write!(f, "a frame without Content-Length"),
            FrameError::NotJson(error) => write!(f, "a frame that is not JSON: {error}"),
            FrameError::Truncated => write!(f, "the stream ended inside a frame"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Decodes the first message of `buffer`: the message and the number of bytes it took, or
/// `None` when the buffer does not hold a whole frame yet. Header lines end in `\r\n` (a lone
/// `\n` is accepted); header names are case-insensitive; headers other than `Content-Length` are
/// ignored.
pub fn decode(buffer: &[u8]) -> Result<Option<(Value, usize)>, FrameError> {
    let mut content_length = None;
    let mut position = 0;
    let body_start = loop {
        let Some(line_length) = buffer[position..].iter().position(|byte| *byte == b'\n') else {
            return Ok(None);
        };
        let line = &buffer[position..position + line_length];
        position += line_length + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break position;
        }
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(':') else {
            return Err(FrameError::NotAHeader(text.into_owned()));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let length = value.trim().parse::<usize>();
            content_length = Some(length.map_err(|_| FrameError::BadLength(value.to_owned()))?);
        }
    };
    let length = content_length.ok_or(FrameError::MissingLength)?;
    let Some(body) = buffer.get(body_start..body_start + length) else {
        return Ok(None);
    };
    let message = serde_json::from_slice(body).map_err(FrameError::NotJson)?;
    Ok(Some((message, body_start + length)))
}

/// Bytes received and not decoded yet.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    bytes: Vec<u8>,
}

impl FrameBuffer {
    pub fn extend(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// The next whole message, removed from the buffer; `None` until one has arrived.
    pub fn next_message(&mut self) -> Result<Option<Value>, FrameError> {
        let Some((message, used)) = decode(&self.bytes)? else {
            return Ok(None);
        };
        self.bytes.drain(..used);
        Ok(Some(message))
    }

    /// Whether part of a frame is waiting for more bytes.
    pub fn has_partial_frame(&self) -> bool {
        !self.bytes.is_empty()
    }
}

/// Reads framed messages from a blocking reader.
pub struct FrameReader<R> {
    reader: R,
    buffer: FrameBuffer,
}

impl<R: Read> FrameReader<R> {
    pub fn new(reader: R) -> FrameReader<R> {
        FrameReader { reader, buffer: FrameBuffer::default() }
    }

    /// The next message; `None` at a clean end of the stream (not inside a frame).
    pub fn read(&mut self) -> anyhow::Result<Option<Value>> {
        let mut chunk = [0; 8192];
        loop {
            if let Some(message) = self.buffer.next_message()? {
                return Ok(Some(message));
            }
            let read = match self.reader.read(&mut chunk) {
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            };
            if read == 0 {
                if self.buffer.has_partial_frame() {
                    return Err(FrameError::Truncated.into());
                }
                return Ok(None);
            }
            self.buffer.extend(&chunk[..read]);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn frames_split_anywhere_decode_the_same() {
        let messages = [json!({"id": 1, "result": "é"}), json!({"method": "x", "params": []})];
        let stream: Vec<u8> = messages.iter().flat_map(encode).collect();
        for cut in 0..=stream.len() {
            let mut buffer = FrameBuffer::default();
            let mut decoded = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                buffer.extend(part);
                while let Some(message) = buffer.next_message().unwrap() {
                    decoded.push(message);
                }
            }
            assert_eq!(decoded, messages, "cut at {cut}");
            assert!(!buffer.has_partial_frame());
        }
    }

    #[test]
    fn lenient_headers_and_errors() {
        let frame = b"content-length: 2\nX-Other: 1\n\n{}";
        assert_eq!(decode(frame).unwrap(), Some((json!({}), frame.len())));
        let error = |bytes: &[u8]| decode(bytes).unwrap_err().to_string();
        assert_eq!(error(b"Content-Length: x\r\n\r\n"), "bad Content-Length ` x`");
        assert_eq!(error(b"nonsense\r\n\r\n"), "not a header line: `nonsense`");
        assert_eq!(error(b"X: 1\r\n\r\n{}"), "a frame without Content-Length");
        assert!(error(b"Content-Length: 2\r\n\r\n{]").starts_with("a frame that is not JSON"));
    }

    #[test]
    fn the_blocking_reader_ends_cleanly_or_reports_a_cut_frame() {
        let frame = encode(&json!(1));
        let mut whole = FrameReader::new(&frame[..]);
        assert_eq!(whole.read().unwrap(), Some(json!(1)));
        assert_eq!(whole.read().unwrap(), None);
        let mut cut = FrameReader::new(&b"Content-Length: 5\r\n\r\n[1"[..]);
        assert_eq!(cut.read().unwrap_err().to_string(), "the stream ended inside a frame");
    }
}
