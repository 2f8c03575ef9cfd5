//! Reliability of the real binary over stdio: load, faults and hostile input.
//!
//! - Load: 50 open documents, 200 incremental changes a second across them, code actions and next
//!   edits requested meanwhile, for `NEXTEDIT_LOAD_SECONDS` (default 10) after a warm-up of the
//!   same shape. The texts must match the client's, every request must get exactly one response
//!   within 100 ms (no model job runs: `model.backend = "none"`), and the resident memory after
//!   the run must be within 10% of the one after the warm-up. The figures are printed
//!   (`-- --nocapture`).
//! - Faults: a panic inside prediction (`NEXTEDIT_FAULT=panic-in-prediction`), a cancellation
//!   storm, and a client that goes away (a broken pipe on the server's output).
//! - Hostile input: a fuzz loop of random and mutated frames and edits (fixed seed), and big
//!   inputs: a file over 5 MB, a line of 200,000 characters, binary content, deep nesting.
//!
//! The tests run one at a time (they share the machine's two cores, and the load test measures
//! latency).

use std::time::{Duration, Instant};

use nextedit_tests::{ReferenceDocument, Rng, TestClient};
use serde_json::{Value, json};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn no_model() -> Value {
    json!({"model": {"backend": "none"}})
}

fn error_code(response: &Value) -> Option<i64> {
    response.pointer("/error/code").and_then(Value::as_i64)
}

/// The resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

fn code_action_params(uri: &str, line: u32) -> Value {
    json!({
        "textDocument": {"uri": uri},
        "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}},
        "context": {"diagnostics": []},
    })
}

fn inline_edit_params(uri: &str, version: i32, line: u32) -> Value {
    json!({"textDocument": {"uri": uri, "version": version}, "position": {"line": line, "character": 0}})
}

/// A plausible source file of about 60 lines.
/// Opens `count` of the [`source_file`]s, each with its version and a reference copy to check
/// the server's against.
async fn open_documents(
    client: &mut TestClient,
    count: usize,
) -> Vec<(String, i32, ReferenceDocument)> {
    let mut documents = Vec::new();
    for index in 0..count {
        let (uri, language, text) = source_file(index);
        client.open(&uri, language, &text).await.unwrap();
        documents.push((uri, 0, ReferenceDocument::new(&text)));
    }
    documents
}

fn source_file(index: usize) -> (String, &'static str, String) {
    if index.is_multiple_of(2) {
        let mut text = String::new();
        for function in 0..8 {
            text.push_str(&format!(
                "fn compute_{function}(count: usize, scale: f64) -> f64 {{\n    let total = count as f64 * scale;\n    let shifted = total + {function}.0;\n    println!(\"{{shifted}}\");\n    shifted\n}}\n\n"
            ));
        }
        (format!("file:///load/src/module{index}.rs"), "rust", text)
    } else {
        let mut text = String::new();
        for function in 0..8 {
            text.push_str(&format!(
                "def compute_{function}(count, scale):\n    total = count * scale\n    shifted = total + {function}\n    print(shifted)\n    return shifted\n\n"
            ));
        }
        (format!("file:///load/pkg/module{index}.py"), "python", text)
    }
}

/// An edit a typist might make: mostly one character typed or deleted, sometimes a new line, a
/// word replaced or two lines joined. Once the text is longer than `target_len`, half the edits
/// delete, so documents keep their size however long the run.
fn typing_edit(
    rng: &mut Rng,
    reference: &ReferenceDocument,
    target_len: usize,
) -> ((u32, u32, u32, u32), &'static str) {
    if reference.text.len() > target_len && rng.below(2) == 0 {
        let lines: Vec<&str> = reference.text.split('\n').collect();
        let line = rng.below(lines.len() as u64) as usize;
        let width = lines[line].encode_utf16().count() as u64;
        let line = line as u32;
        if width == 0 {
            return ((line, 0, line + 1, 0), "");
        }
        let column = rng.below(width) as u32;
        return ((line, column, line, column + 1 + rng.below(3) as u32), "");
    }
    let lines = reference.line_count().max(1);
    let line = rng.below(u64::from(lines)) as u32;
    let column = rng.below(40) as u32;
    match rng.below(20) {
        0..=8 => (
            (line, column, line, column),
            *rng.pick(&["a", "e", "x", "_", " ", "(", ")", ",", "1", "é"]),
        ),
        9..=14 => ((line, column, line, column + 1), ""),
        15..=16 => ((line, column, line, column), "\n    "),
        17..=18 => ((line, column, line, column + 5), *rng.pick(&["value", "count", "item"])),
        _ => ((line, 200, line + 1, 0), ""),
    }
}

struct LoadFigures {
    changes: usize,
    requests: usize,
    content_modified: usize,
    latencies: Vec<Duration>,
}

impl LoadFigures {
    fn max(&self) -> Duration {
        self.latencies.iter().copied().max().unwrap_or_default()
    }

    fn percentile(&self, percent: usize) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        sorted[(sorted.len() * percent / 100).min(sorted.len() - 1)]
    }
}

/// Sends 200 changes a second across `documents` (each kept at about its size in `sizes`) for
/// `duration`, and a request (alternately a code action and a next edit) with every tenth change;
/// then collects every response and its latency.
async fn run_load(
    client: &mut TestClient,
    documents: &mut [(String, i32, ReferenceDocument)],
    sizes: &[usize],
    duration: Duration,
    rng: &mut Rng,
) -> LoadFigures {
    let mut ticker = tokio::time::interval(Duration::from_millis(5));
    let mut sent: Vec<(i64, Instant)> = Vec::new();
    let mut changes = 0;
    let end = Instant::now() + duration;
    while Instant::now() < end {
        ticker.tick().await;
        let index = rng.below(documents.len() as u64) as usize;
        let (uri, version, reference) = &mut documents[index];
        let (range, text) = typing_edit(rng, reference, sizes[index]);
        reference.apply(range, text);
        *version += 1;
        client.change(uri, *version, range, text).await.unwrap();
        changes += 1;
        if changes % 10 == 0 {
            let index = rng.below(documents.len() as u64) as usize;
            let (uri, version, reference) = &documents[index];
            let line = rng.below(u64::from(reference.line_count())) as u32;
            let (method, params) = if changes % 20 == 0 {
                ("textDocument/codeAction", code_action_params(uri, line))
            } else {
                ("textDocument/copilotInlineEdit", inline_edit_params(uri, *version, line))
            };
            let started = Instant::now();
            let id = client.send_request(method, params).await.unwrap();
            sent.push((id, started));
        }
        if changes % 50 == 0 {
            client.drain_ready().await.unwrap();
        }
    }
    let mut figures =
        LoadFigures { changes, requests: sent.len(), content_modified: 0, latencies: Vec::new() };
    for (id, started) in sent {
        let response = client.response(id).await.unwrap();
        match error_code(&response) {
            None => {}
            Some(-32801) => figures.content_modified += 1,
            Some(code) => panic!("request {id} failed with {code}: {response}"),
        }
        let received = client.received_at(id).expect("a response time");
        figures.latencies.push(received.saturating_duration_since(started));
    }
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_fifty_documents_at_two_hundred_changes_a_second() {
    let _serial = SERIAL.lock().await;
    let seconds: u64 = std::env::var("NEXTEDIT_LOAD_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10);
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    // No model, and no debounce: a symbolic rename that may still be being typed otherwise waits
    // 75 ms on purpose before it is answered, and the bound is about the server's own latency.
    client
        .initialize(json!({"model": {"backend": "none"}, "predict": {"debounce_ms": 0}}))
        .await
        .unwrap();
    let pid = client.pid().expect("a spawned server");
    let mut documents = open_documents(&mut client, 50).await;
    let sizes: Vec<usize> =
        documents.iter().map(|(_, _, reference)| reference.text.len()).collect();
    let mut rng = Rng(0x10ad_5eed_0000_0001);
    let warm_up = run_load(
        &mut client,
        &mut documents,
        &sizes,
        Duration::from_secs(seconds.min(10)),
        &mut rng,
    )
    .await;
    let rss_after_warm_up = rss_kib(pid);
    let text_after_warm_up: usize =
        documents.iter().map(|(_, _, reference)| reference.text.len()).sum();
    let run =
        run_load(&mut client, &mut documents, &sizes, Duration::from_secs(seconds), &mut rng).await;
    let rss_after_run = rss_kib(pid);
    let text_after_run: usize =
        documents.iter().map(|(_, _, reference)| reference.text.len()).sum();
    for (uri, _, reference) in &documents {
        assert_eq!(client.document_text(uri).await.unwrap(), reference.text, "{uri}");
    }
    println!(
        "load: {seconds} s after a {} s warm-up, 50 documents\n  warm-up: {} changes, {} requests, max {:?}\n  run: {} changes ({:.0}/s), {} requests ({} ContentModified), p50 {:?}, p99 {:?}, max {:?}\n  RSS: {} KiB after the warm-up, {} KiB after the run ({:+.1}%); text {} -> {} bytes",
        seconds.min(10),
        warm_up.changes,
        warm_up.requests,
        warm_up.max(),
        run.changes,
        run.changes as f64 / seconds as f64,
        run.requests,
        run.content_modified,
        run.percentile(50),
        run.percentile(99),
        run.max(),
        rss_after_warm_up,
        rss_after_run,
        (rss_after_run as f64 / rss_after_warm_up as f64 - 1.0) * 100.0,
        text_after_warm_up,
        text_after_run,
    );
    // The bounds: no request waits more than 100 ms without a model job, and memory does
    // not grow by more than 10% over a run of the warm-up's shape.
    assert!(run.max() <= Duration::from_millis(100), "a request waited {:?}", run.max());
    assert!(
        warm_up.max() <= Duration::from_millis(100),
        "a warm-up request waited {:?}",
        warm_up.max()
    );
    let (low, high) = (rss_after_warm_up * 9 / 10, rss_after_warm_up * 11 / 10);
    assert!(
        (low..=high).contains(&rss_after_run),
        "RSS {rss_after_warm_up} KiB -> {rss_after_run} KiB"
    );
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_prediction_drops_that_job_and_the_next_one_works() {
    let _serial = SERIAL.lock().await;
    let uri = "file:///project/src/counter.rs";
    let text = "fn main() {\n    let count = 1;\n    consume(count);\n    consume(count + 1);\n}\n";

    // The first prediction is a scheduled job (after a change).
    let mut client =
        TestClient::spawn(&[], &[("NEXTEDIT_FAULT", "panic-in-prediction")]).await.unwrap();
    client.initialize(no_model()).await.unwrap();
    client.open(uri, "rust", text).await.unwrap();
    // `count` -> `tota`: that job panics.
    client.change(uri, 1, (1, 8, 1, 13), "tota").await.unwrap();
    let dropped =
        client.call("textDocument/copilotInlineEdit", inline_edit_params(uri, 1, 1)).await.unwrap();
    assert_eq!(dropped["edits"], json!([]), "{dropped}");
    // `tota` -> `total`: the next job proposes the rename of the next use.
    client.change(uri, 2, (1, 12, 1, 12), "l").await.unwrap();
    let next =
        client.call("textDocument/copilotInlineEdit", inline_edit_params(uri, 2, 1)).await.unwrap();
    assert_eq!(next["edits"][0]["source"], "rename", "{next}");
    assert_eq!(next["edits"][0]["range"]["start"], json!({"line": 2, "character": 12}), "{next}");
    assert_eq!(
        client.document_text(uri).await.unwrap(),
        text.replacen("let count", "let total", 1)
    );
    assert_eq!(client.finish().await.unwrap(), 0);

    // The first prediction is a manual one: `nextedit.predict` runs the job for the request.
    let mut client =
        TestClient::spawn(&[], &[("NEXTEDIT_FAULT", "panic-in-prediction")]).await.unwrap();
    client.initialize(no_model()).await.unwrap();
    client.open(uri, "rust", text).await.unwrap();
    let predict = json!({"command": "nextedit.predict", "arguments": [{"uri": uri, "position": {"line": 1, "character": 13}}]});
    let dropped = client.request("workspace/executeCommand", predict.clone()).await.unwrap();
    assert!(dropped["result"].is_null(), "{dropped}");
    client.change(uri, 1, (1, 8, 1, 13), "total").await.unwrap();
    let again = client.call("workspace/executeCommand", predict).await.unwrap();
    assert_eq!(again["source"], "rename", "{again}");
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// The client goes away without closing the server's input: the read end of the server's output
/// is closed, so the server's next write fails with a broken pipe. The server exits by itself, as
/// cleanly as at the end of its input (code 0), instead of reading on or panicking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_with_a_broken_pipe_is_a_clean_exit() {
    let _serial = SERIAL.lock().await;
    let uri = "file:///project/src/counter.rs";
    let text = "fn main() {\n    let count = 1;\n    consume(count);\n}\n";
    let mut client = TestClient::spawn_capturing_stderr(&[], &[]).await.unwrap();
    client.initialize(no_model()).await.unwrap();
    client.open(uri, "rust", text).await.unwrap();
    assert_eq!(client.document_text(uri).await.unwrap(), text);

    client.close_output().await;
    // An edit and a request whose answer can't be delivered. Once the server is gone, writing to
    // its input fails too, which is fine: only its exit matters.
    let _ = client.change(uri, 1, (1, 8, 1, 13), "total").await;
    let _ =
        client.send_request("textDocument/copilotInlineEdit", inline_edit_params(uri, 1, 1)).await;
    let _ = client
        .send_request(
            "workspace/executeCommand",
            json!({"command": "nextedit.debugDocument", "arguments": [{"uri": uri}]}),
        )
        .await;
    let (code, stderr) = client.wait_for_exit().await.unwrap();
    assert_eq!(code, 0, "exit code {code}; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "the server panicked:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_storm_leaves_one_response_per_request_and_the_documents_intact() {
    let _serial = SERIAL.lock().await;
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client.initialize(no_model()).await.unwrap();
    let mut documents = open_documents(&mut client, 5).await;
    let mut rng = Rng(0x00ca_9ce1_5707_0003);
    let mut requests = Vec::new();
    let mut cancels = 0;
    for step in 0..3000 {
        let index = rng.below(documents.len() as u64) as usize;
        let (uri, version, reference) = &mut documents[index];
        match rng.below(6) {
            0 => {
                let (range, text) = typing_edit(&mut rng, reference, usize::MAX);
                reference.apply(range, text);
                *version += 1;
                client.change(uri, *version, range, text).await.unwrap();
            }
            1 | 2 => {
                let line = rng.below(u64::from(reference.line_count())) as u32;
                let id = if rng.below(2) == 0 {
                    client
                        .send_request(
                            "textDocument/copilotInlineEdit",
                            inline_edit_params(uri, *version, line),
                        )
                        .await
                        .unwrap()
                } else {
                    client
                        .send_request("textDocument/codeAction", code_action_params(uri, line))
                        .await
                        .unwrap()
                };
                requests.push(id);
                if rng.below(3) != 0 {
                    client.notify("$/cancelRequest", json!({"id": id})).await.unwrap();
                    cancels += 1;
                }
            }
            _ => {
                // Cancellations for ids never sent, already answered or of the wrong shape.
                let id = match rng.below(6) {
                    0 => json!(1_000_000 + step),
                    1 => json!(requests.first().copied().unwrap_or(1)),
                    2 => json!(format!("no-such-request-{step}")),
                    3 => json!(u64::MAX),
                    4 => json!(-1),
                    _ => Value::Null,
                };
                let params = if rng.below(10) == 0 { json!([id]) } else { json!({"id": id}) };
                client.notify("$/cancelRequest", params).await.unwrap();
                cancels += 1;
            }
        }
        if step % 100 == 0 {
            client.drain_ready().await.unwrap();
        }
    }
    let mut cancelled = 0;
    for id in &requests {
        let response = client.response(*id).await.unwrap();
        match error_code(&response) {
            None | Some(-32801) => {}
            Some(-32800) => cancelled += 1,
            Some(code) => panic!("request {id} failed with {code}: {response}"),
        }
    }
    for (uri, _, reference) in &documents {
        assert_eq!(client.document_text(uri).await.unwrap(), reference.text, "{uri}");
    }
    println!(
        "cancellation storm: {cancels} cancellations, {} requests, {cancelled} answered RequestCancelled",
        requests.len()
    );
    let (uri, version, _) = &documents[0];
    let answer = client
        .call("textDocument/copilotInlineEdit", inline_edit_params(uri, *version, 0))
        .await
        .unwrap();
    assert!(answer["edits"].is_array(), "{answer}");
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// Valid messages about documents outside the tracked ones, for mutation. Ids are strings so that
/// whatever the server answers to a mutated one is not mistaken for an answer to a tracked request.
fn fuzz_templates() -> Vec<Value> {
    let uri = "file:///fuzz/target.rs";
    let position = json!({"line": 1, "character": 4});
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 3}});
    vec![
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "rust", "version": 0, "text": "fn f() {\n    let count = 1;\n}\n"}}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": 7}, "contentChanges": [{"range": range, "text": "let x"}]}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}}),
        json!({"jsonrpc": "2.0", "id": "f", "method": "textDocument/codeAction", "params": {"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}}),
        json!({"jsonrpc": "2.0", "id": "f", "method": "textDocument/copilotInlineEdit", "params": {"textDocument": {"uri": uri, "version": 7}, "position": position}}),
        json!({"jsonrpc": "2.0", "id": "f", "method": "textDocument/inlineCompletion", "params": {"textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": 1}}}),
        json!({"jsonrpc": "2.0", "id": "f", "method": "workspace/executeCommand", "params": {"command": "nextedit.predict", "arguments": [{"uri": uri, "position": position}]}}),
        json!({"jsonrpc": "2.0", "id": "f", "method": "workspace/executeCommand", "params": {"command": "nextedit.accept", "arguments": [3]}}),
        json!({"jsonrpc": "2.0", "id": "f", "method": "workspace/executeCommand", "params": {"command": "nextedit.reject", "arguments": [{"id": 3}]}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didShowInlineEdit", "params": {"item": {"command": {"arguments": [3]}}}}),
        json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "f"}}),
        json!({"jsonrpc": "2.0", "id": "f", "result": {"unexpected": true}}),
    ]
}

/// Values of the wrong type or out of range, for parameters and positions.
const WRONG_VALUES: &[&str] = &[
    "null",
    "-1",
    "1.5",
    "1e300",
    "18446744073709551615",
    "\"12\"",
    "[]",
    "{}",
    "true",
    "\"\\u0000\"",
    "[1,2,3]",
    "{\"line\":-5,\"character\":1e10}",
];

/// Random bytes, valid JSON-RPC with wrong types, mutated valid messages and random methods, with
/// random valid edits to tracked documents in between; afterwards the tracked documents match and
/// the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_frames_and_edits_leave_the_server_serving() {
    let _serial = SERIAL.lock().await;
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client.initialize(no_model()).await.unwrap();
    let mut documents = open_documents(&mut client, 4).await;
    let templates = fuzz_templates();
    let methods = [
        "textDocument/hover",
        "textDocument/completion",
        "nextedit/unknown",
        "$/setTrace",
        "$/unknown",
        "workspace/symbol",
        "textDocument/didSave",
        "",
        "\u{0}",
        "textDocument/didChange\u{0}",
    ];
    let mut rng = Rng(0xf022_5eed_0000_0004);
    let mut tracked_requests = Vec::new();
    let mut huge_ids_sent = false;
    let iterations = 4000;
    for step in 0..iterations {
        match rng.below(10) {
            0 => {
                let length = rng.below(120) as usize;
                let body: Vec<u8> = (0..length).map(|_| rng.below(256) as u8).collect();
                let mut frame = format!("Content-Length: {length}\r\n\r\n").into_bytes();
                frame.extend_from_slice(&body);
                client.send_raw(&frame).await.unwrap();
            }
            1 | 2 => {
                let mut body = rng.pick(&templates).to_string().into_bytes();
                for _ in 0..=rng.below(4) {
                    if body.is_empty() {
                        break;
                    }
                    let at = rng.below(body.len() as u64) as usize;
                    match rng.below(3) {
                        0 => body[at] = rng.below(256) as u8,
                        1 => {
                            body.remove(at);
                        }
                        _ => body.insert(at, *rng.pick(b"{}[]\",:0123456789-.eE\\ nul")),
                    }
                }
                let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
                frame.extend_from_slice(&body);
                client.send_raw(&frame).await.unwrap();
            }
            3 => {
                // Headers that are wrong without swallowing the next frame.
                #[allow(clippy::explicit_auto_deref)] // the element type needs the explicit deref
                let header: &[u8] = *rng.pick(&[
                    &b"Content-Length: -5\r\n\r\n"[..],
                    b"Content-Length: 99999999999999999999999\r\n\r\n",
                    b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
                    b"content-length:2\n\n{}",
                    b"Content-Length: 0\r\n\r\n",
                    b"Content-Length: \xff\xfe\r\n\r\n",
                    b"\r\n\r\n\r\n",
                    b"Content-Length: 13\r\nX-Weird: \x00\x01\r\n\r\n{\"jsonrpc\":1}",
                ]);
                client.send_raw(header).await.unwrap();
            }
            4 => {
                // A well-formed envelope with parameters of the wrong types.
                let template = rng.pick(&templates).to_string();
                let wrong = *rng.pick(WRONG_VALUES);
                let body = match rng.below(3) {
                    0 => template.replacen("{\"line\":1,\"character\":4}", wrong, 1),
                    1 => template.replacen("\"version\":7", &format!("\"version\":{wrong}"), 1),
                    _ => {
                        let mut value: Value = serde_json::from_str(&template).unwrap();
                        value["params"] = serde_json::from_str(wrong).unwrap();
                        value.to_string()
                    }
                };
                client
                    .send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
                    .await
                    .unwrap();
            }
            5 => {
                // Odd ids and random methods.
                let id = match rng.below(8) {
                    0 if !huge_ids_sent => {
                        huge_ids_sent = true;
                        client.expect_response_to(i64::MAX);
                        client.expect_response_to(i64::MIN);
                        for id in [i64::MAX, i64::MIN] {
                            client.send(&json!({"jsonrpc": "2.0", "id": id, "method": "nextedit/unknown"})).await.unwrap();
                        }
                        continue;
                    }
                    1 => "18446744073709551616".to_owned(),
                    2 => "1e400".to_owned(),
                    3 => "1.5".to_owned(),
                    4 => format!("\"{}\"", "i".repeat(rng.below(5000) as usize)),
                    5 => "{\"nested\":[1]}".to_owned(),
                    6 => "null".to_owned(),
                    _ => "\"m\"".to_owned(),
                };
                let method = if rng.below(2) == 0 {
                    rng.pick(&methods).to_string()
                } else {
                    format!("random/{}", rng.next_u64())
                };
                let body = format!(
                    "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":{},\"params\":{}}}",
                    json!(method),
                    rng.pick(WRONG_VALUES)
                );
                client
                    .send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
                    .await
                    .unwrap();
            }
            _ => {
                // A valid edit to a tracked document, sometimes with a valid request.
                let index = rng.below(documents.len() as u64) as usize;
                let (uri, version, reference) = &mut documents[index];
                let (range, text) = typing_edit(&mut rng, reference, usize::MAX);
                reference.apply(range, text);
                *version += 1;
                client.change(uri, *version, range, text).await.unwrap();
                if rng.below(8) == 0 {
                    let id = client
                        .send_request(
                            "textDocument/copilotInlineEdit",
                            inline_edit_params(uri, *version, range.0),
                        )
                        .await
                        .unwrap();
                    tracked_requests.push(id);
                }
            }
        }
        if step % 100 == 0 {
            client.drain_ready().await.unwrap();
        }
    }
    for id in tracked_requests.clone() {
        let response = client.response(id).await.unwrap();
        assert!(
            response.get("result").is_some() || error_code(&response) == Some(-32801),
            "{response}"
        );
    }
    for (uri, _, reference) in &documents {
        assert_eq!(client.document_text(uri).await.unwrap(), reference.text, "{uri}");
    }
    let (uri, version, _) = &documents[0];
    let answer = client
        .call("textDocument/copilotInlineEdit", inline_edit_params(uri, *version, 0))
        .await
        .unwrap();
    assert!(answer["edits"].is_array(), "{answer}");
    client.drain_ready().await.unwrap();
    let errors = client.take_read(|message| message.get("error").is_some()).len();
    println!(
        "fuzz loop: {iterations} frames, {} tracked requests, {errors} error responses",
        tracked_requests.len()
    );
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// Opens `text`, checks the one-time message, edits it twice and checks that requests answer
/// without a suggestion and the text stays exact.
async fn big_input(client: &mut TestClient, uri: &str, language: &str, text: &str, reason: &str) {
    let started = Instant::now();
    client.open(uri, language, text).await.unwrap();
    let name = uri.rsplit('/').next().unwrap();
    let message = client
        .wait_for(|m| {
            m["method"] == "window/showMessage"
                && m["params"]["message"].as_str().is_some_and(|s| s.contains(name))
        })
        .await
        .unwrap();
    let message = message["params"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains(reason), "{message}");
    let mut reference = ReferenceDocument::new(text);
    let middle = reference.line_count() / 2;
    for (version, range, new_text) in [(1, (middle, 3, middle, 3), "edit"), (2, (0, 0, 0, 1), "")] {
        reference.apply(range, new_text);
        client.change(uri, version, range, new_text).await.unwrap();
        let answer = client
            .call("textDocument/copilotInlineEdit", inline_edit_params(uri, version, middle))
            .await
            .unwrap();
        assert_eq!(answer["edits"], json!([]), "{answer}");
        let actions =
            client.call("textDocument/codeAction", code_action_params(uri, middle)).await.unwrap();
        assert!(actions.is_null(), "{actions}");
    }
    assert!(
        client.document_text(uri).await.unwrap() == reference.text,
        "{uri} differs from the client's text"
    );
    client.drain_ready().await.unwrap();
    let repeated = client.take_read(|m| {
        m["method"] == "window/showMessage"
            && m["params"]["message"].as_str().is_some_and(|s| s.contains(name))
    });
    assert!(repeated.is_empty(), "the message was repeated: {repeated:?}");
    println!(
        "{name}: {} bytes, open + 2 changes + 4 requests + text check in {:?}",
        text.len(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_long_binary_and_deeply_nested_files_sync_without_prediction() {
    let _serial = SERIAL.lock().await;
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client.initialize(no_model()).await.unwrap();

    let big = "total = compute(count, scale)  # a line of an over-large file\n"
        .repeat(6 * 1024 * 1024 / 60);
    big_input(&mut client, "file:///big/huge.py", "python", &big, "larger than 5 MB").await;
    let long_line = format!("fn main() {{\n    let s = \"{}\";\n}}\n", "a".repeat(200_000));
    big_input(
        &mut client,
        "file:///big/long.rs",
        "rust",
        &long_line,
        "line longer than 100000 bytes",
    )
    .await;
    let binary: String = (0..50_000u32).map(|i| char::from_u32(i % 0x80).unwrap()).collect();
    big_input(&mut client, "file:///big/blob.rs", "rust", &binary, "looks binary").await;
    let nested = format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
    big_input(&mut client, "file:///big/nested.py", "python", &nested, "nest deeper than 500")
        .await;
    let nested =
        format!("fn main() {{\n    let x = {}1{};\n}}\n", "(".repeat(5000), ")".repeat(5000));
    big_input(&mut client, "file:///big/nested.rs", "rust", &nested, "nest deeper than 500").await;

    // Just under the size limit the file is parsed and predicted; typing still answers.
    let uri = "file:///big/large_ok.py";
    let text =
        "total = compute(count, scale)  # a line of a large file\n".repeat(4 * 1024 * 1024 / 56);
    let started = Instant::now();
    client.open(uri, "python", &text).await.unwrap();
    let mut reference = ReferenceDocument::new(&text);
    let opened = client.call("textDocument/codeAction", code_action_params(uri, 0)).await.unwrap();
    assert!(opened.is_null(), "{opened}");
    let open_time = started.elapsed();
    let middle = reference.line_count() / 2;
    let mut change_times = Vec::new();
    for version in 1..=5 {
        let started = Instant::now();
        reference.apply((middle, 0, middle, 5), "count");
        client.change(uri, version, (middle, 0, middle, 5), "count").await.unwrap();
        let answer = client
            .call("textDocument/copilotInlineEdit", inline_edit_params(uri, version, middle))
            .await
            .unwrap();
        assert!(answer["edits"].is_array(), "{answer}");
        change_times.push(started.elapsed());
    }
    assert!(
        client.document_text(uri).await.unwrap() == reference.text,
        "{uri} differs from the client's text"
    );
    println!(
        "large_ok.py: {} bytes, open to first answer {open_time:?}, change to answer {change_times:?}",
        text.len()
    );

    // Just under the nesting limit the file is predicted; the edits and requests still answer.
    let uri = "file:///big/deep_ok.rs";
    let text = format!(
        "fn main() {{\n    let count = {}1{};\n    use_it(count);\n}}\n",
        "(".repeat(400),
        ")".repeat(400)
    );
    client.open(uri, "rust", &text).await.unwrap();
    let mut reference = ReferenceDocument::new(&text);
    reference.apply((1, 8, 1, 13), "total");
    client.change(uri, 1, (1, 8, 1, 13), "total").await.unwrap();
    let answer =
        client.call("textDocument/copilotInlineEdit", inline_edit_params(uri, 1, 1)).await.unwrap();
    assert!(answer["edits"].is_array(), "{answer}");
    assert_eq!(client.document_text(uri).await.unwrap(), reference.text);
    assert_eq!(client.finish().await.unwrap(), 0);
}
