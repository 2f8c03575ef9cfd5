//! Server-sent events (the `text/event-stream` format of the HTML standard), as far as streamed
//! completions need them: `data` fields, comments, and every line ending the standard allows.

/// Splits a byte stream into server-sent events and returns each event's `data`.
///
/// Lines end with `\r\n`, `\n` or a lone `\r`; a blank line ends an event; one byte order mark at
/// the start of the stream is skipped; lines starting with `:` are comments; fields other than
/// `data` are ignored. An event without `data` yields nothing. The bytes may be cut anywhere,
/// inside a line ending or a UTF-8 character included.
#[derive(Debug, Default)]
pub struct EventStream {
    /// Bytes of a line whose end has not arrived yet.
    buffer: Vec<u8>,
    /// The `data` lines of the event being read.
    data: Vec<String>,
    /// Bytes held in `data`, for the size limit.
    data_bytes: usize,
    /// The last line ended with `\r`: a `\n` right after it belongs to that line ending.
    after_cr: bool,
    /// The start of the stream has been seen (and a byte order mark skipped).
    started: bool,
}

const BOM: &[u8] = "\u{feff}".as_bytes();

impl EventStream {
    /// The most bytes one event may take; a server that sends more without a blank line is broken.
    const MAX_EVENT: usize = 4 << 20;

    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(bytes);
        if !self.started {
            if self.buffer.len() < BOM.len() && BOM.starts_with(&self.buffer) {
                return Vec::new();
            }
            if self.buffer.starts_with(BOM) {
                self.buffer.drain(..BOM.len());
            }
            self.started = true;
        }
        let mut events = Vec::new();
        let mut consumed = 0;
        while consumed < self.buffer.len() {
            if self.after_cr {
                self.after_cr = false;
                if self.buffer[consumed] == b'\n' {
                    consumed += 1;
                    continue;
                }
            }
            let rest = &self.buffer[consumed..];
            let Some(end) = rest.iter().position(|&byte| byte == b'\n' || byte == b'\r') else {
                break;
            };
            self.after_cr = rest[end] == b'\r';
            let line = String::from_utf8_lossy(&rest[..end]).into_owned();
            consumed += end + 1;
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        self.buffer.drain(..consumed);
        if self.buffer.len() + self.data_bytes > Self::MAX_EVENT {
            self.buffer.clear();
            self.data.clear();
            self.data_bytes = 0;
            events.push("{\"error\":{\"message\":\"an event over 4 MiB\"}}".to_owned());
        }
        events
    }

    /// Takes one line (without its ending); returns the event a blank line completes.
    fn line(&mut self, line: &str) -> Option<String> {
        if line.is_empty() {
            self.data_bytes = 0;
            let data = std::mem::take(&mut self.data);
            return (!data.is_empty()).then(|| data.join("\n"));
        }
        if let Some(data) = line.strip_prefix("data:") {
            let data = data.strip_prefix(' ').unwrap_or(data);
            self.data_bytes += data.len() + 1;
            self.data.push(data.to_owned());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_line_endings() {
        let mut stream = EventStream::default();
        assert!(stream.push(b"data: {\"a\"").is_empty());
        assert_eq!(
            stream.push(b":1}\n\ndata: x\r\n\r\n: comment\n\n"),
            vec!["{\"a\":1}".to_owned(), "x".to_owned()]
        );
        assert_eq!(stream.push(b"data: [DONE]\n\n"), vec!["[DONE]".to_owned()]);
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        let mut stream = EventStream::default();
        assert_eq!(
            stream.push(b"data: one\rdata: two\r\rdata: [DONE]\r\r"),
            vec!["one\ntwo".to_owned(), "[DONE]".to_owned()]
        );
        // A `\r` at the end of a chunk may be the first half of `\r\n`: the `\n` that follows
        // is not a blank line.
        let mut stream = EventStream::default();
        assert!(stream.push(b"data: a\r").is_empty());
        assert!(stream.push(b"\ndata: b\r").is_empty());
        assert_eq!(stream.push(b"\r"), vec!["a\nb".to_owned()]);
        // Line endings mixed within one event.
        assert_eq!(
            EventStream::default().push(b"data: a\r\ndata: b\rdata: c\n\r\n"),
            vec!["a\nb\nc".to_owned()]
        );
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_once() {
        let mut stream = EventStream::default();
        assert!(stream.push(&BOM[..1]).is_empty());
        assert!(stream.push(&BOM[1..]).is_empty());
        assert_eq!(stream.push(b"data: x\n\n"), vec!["x".to_owned()]);
        // Only at the start of the stream: later, it is part of a line (a field no one reads).
        assert!(stream.push(&[BOM, b"data: y\n\n"].concat()).is_empty());
        assert_eq!(
            EventStream::default().push(&[BOM, b"data: [DONE]\n\n"].concat()),
            vec!["[DONE]".to_owned()]
        );
    }

    #[test]
    fn an_endless_event_is_cut_off_with_an_error() {
        let mut stream = EventStream::default();
        let line = format!("data: {}\n", "x".repeat(1 << 20));
        let mut events = Vec::new();
        for _ in 0..4 {
            events.extend(stream.push(line.as_bytes()));
        }
        assert_eq!(events, vec!["{\"error\":{\"message\":\"an event over 4 MiB\"}}".to_owned()]);
        assert_eq!(stream.push(b"\ndata: next\n\n"), vec!["next".to_owned()]);
    }

    #[test]
    fn events_do_not_depend_on_where_the_stream_is_cut() {
        let streams: [&[u8]; 3] = [
            b"data: {\"a\":\"\xc3\xa9\"}\n\n: keep-alive\r\n\r\ndata: one\ndata: two\n\ndata: [DONE]\n\n",
            b"\xef\xbb\xbfdata: {\"a\":\"\xc3\xa9\"}\r\r: keep-alive\r\rdata: one\rdata: two\r\rdata: [DONE]\r\r",
            b"data: {\"a\":\"\xc3\xa9\"}\r\n\r: keep-alive\n\r\ndata: one\r\ndata: two\r\rdata: [DONE]\n\n",
        ];
        for whole in streams {
            let expected = EventStream::default().push(whole);
            assert_eq!(
                expected,
                ["{\"a\":\"\u{e9}\"}", "one\ntwo", "[DONE]"].map(str::to_owned),
                "{}",
                String::from_utf8_lossy(whole)
            );
            for first in 0..whole.len() {
                for second in first..whole.len() {
                    let mut stream = EventStream::default();
                    let mut events = stream.push(&whole[..first]);
                    events.extend(stream.push(&whole[first..second]));
                    events.extend(stream.push(&whole[second..]));
                    assert_eq!(events, expected, "cut at {first} and {second}");
                }
            }
        }
    }
}
