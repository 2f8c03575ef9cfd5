//! The language server core, seen from outside: transport, lifecycle, positions and document sync.

use nextedit_tests::{ReferenceDocument, References, Rng, TestClient};
use serde_json::{Value, json};

const NO_MODEL: fn() -> Value = || json!({"model": {"backend": "none"}});

fn error_code(response: &Value) -> Option<i64> {
    response.pointer("/error/code").and_then(Value::as_i64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_errors_and_the_server_keeps_reading() {
    let mut client = TestClient::spawn(&["--stdio"], &[]).await.unwrap();
    client.initialize(NO_MODEL()).await.unwrap();

    // A body that isn't JSON.
    client.send_raw(b"Content-Length: 7\r\n\r\n{oops!}").await.unwrap();
    assert_eq!(error_code(&client.null_id_error().await.unwrap()), Some(-32700));
    let response = client
        .request(
            "workspace/executeCommand",
            json!({"command": "nextedit.reject", "arguments": [999]}),
        )
        .await
        .unwrap();
    assert_eq!(response["result"], json!(false), "{response}");

    // A bad header, then a good frame.
    client.send_raw(b"Content-Length: twelve\r\n\r\n").await.unwrap();
    assert_eq!(error_code(&client.null_id_error().await.unwrap()), Some(-32700));

    // JSON that isn't a JSON-RPC message, with and without an id.
    client.expect_response_to(7);
    client.send_raw(b"Content-Length: 21\r\n\r\n{\"id\":7,\"method\":\"x\"}").await.unwrap();
    let invalid = client.wait_for(|m| m["id"] == json!(7)).await.unwrap();
    assert_eq!(error_code(&invalid), Some(-32600));
    client.send_raw(b"Content-Length: 5\r\n\r\n[1,2]").await.unwrap();
    assert_eq!(error_code(&client.null_id_error().await.unwrap()), Some(-32600));

    // Garbage that isn't a frame at all, then a frame.
    client.send_raw(b"hello there\r\n\r\n").await.unwrap();
    assert_eq!(error_code(&client.null_id_error().await.unwrap()), Some(-32700));

    // A Content-Length over the cap is refused without reading it into memory.
    let huge = nextedit::lsp::transport::MAX_CONTENT_LENGTH + 1;
    let mut frame = format!("Content-Length: {huge}\r\n\r\n").into_bytes();
    frame.resize(frame.len() + huge, b' ');
    client.send_raw(&frame).await.unwrap();
    let error = client.null_id_error().await.unwrap();
    assert_eq!(error_code(&error), Some(-32700));
    assert!(
        error
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap()
            .contains("larger than the limit"),
        "{error}"
    );

    // Unknown methods answer -32601.
    let response = client.request("nextedit/noSuchThing", json!({})).await.unwrap();
    assert_eq!(error_code(&response), Some(-32601));

    // Still serving.
    client.open("file:///w/a.py", "python", "x = 1\n").await.unwrap();
    assert_eq!(client.document_text("file:///w/a.py").await.unwrap(), "x = 1\n");
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_and_exit_codes() {
    // A request before initialize answers -32002.
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    let response = client.request("textDocument/codeAction", json!({})).await.unwrap();
    assert_eq!(error_code(&response), Some(-32002));
    client.initialize(NO_MODEL()).await.unwrap();
    assert_eq!(client.finish().await.unwrap(), 0);

    // The end of input ends the server cleanly.
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client.initialize(NO_MODEL()).await.unwrap();
    assert_eq!(client.close_input_and_wait().await.unwrap(), 0);

    // `exit` without `shutdown` exits with 1, as the specification asks.
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client.initialize(NO_MODEL()).await.unwrap();
    client.notify("exit", Value::Null).await.unwrap();
    assert_eq!(client.close_input_and_wait().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_help() {
    let binary = nextedit_tests::server_binary();
    let output = std::process::Command::new(&binary).arg("--version").output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("nextedit "));
    let output = std::process::Command::new(&binary).arg("--help").output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("--stdio"));
    let output = std::process::Command::new(&binary).arg("--bogus").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_and_crlf_edits_in_every_encoding() {
    for (encoding, expected_column_of_b) in [("utf-8", 5u32), ("utf-16", 3), ("utf-32", 2)] {
        let mut client = TestClient::spawn(&[], &[]).await.unwrap();
        let result = client
            .initialize_with(NO_MODEL(), json!({"general": {"positionEncodings": [encoding]}}))
            .await
            .unwrap();
        assert_eq!(result["capabilities"]["positionEncoding"], json!(encoding));
        let uri = "file:///w/u.rs";
        client.open(uri, "rust", "a😀b\r\n漢字\r\n").await.unwrap();
        // Replace `b` (after the emoji) with `c`.
        client
            .change(uri, 1, (0, expected_column_of_b, 0, expected_column_of_b + 1), "c")
            .await
            .unwrap();
        // A column between \r and \n clamps to before \r.
        client.change(uri, 2, (0, 100, 0, 100), "!").await.unwrap();
        // Past the end of the file clamps to the end.
        client.change(uri, 3, (99, 0, 99, 0), "end").await.unwrap();
        assert_eq!(client.document_text(uri).await.unwrap(), "a😀c!\r\n漢字\r\nend");
        assert_eq!(client.finish().await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_versions_unknown_documents_and_close() {
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client.initialize(NO_MODEL()).await.unwrap();
    let uri = "file:///w/s.py";
    client.open(uri, "python", "def f():\n    pass\n").await.unwrap();
    client.change(uri, 1, (1, 4, 1, 8), "return 1").await.unwrap();
    // An old version answers no edits (the Copilot clients show an error answer to the user).
    let response = client
        .request("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": uri, "version": 0}, "position": {"line": 0, "character": 0}}))
        .await
        .unwrap();
    assert_eq!(response["result"], json!({"edits": []}), "{response}");
    // The current version answers (with or without a suggestion).
    let response = client
        .request("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": uri, "version": 1}, "position": {"line": 1, "character": 12}}))
        .await
        .unwrap();
    assert!(response["result"]["edits"].is_array(), "{response}");
    // A decreasing version and an unknown document are ignored.
    client.change(uri, 1, (0, 0, 0, 0), "# stale\n").await.unwrap();
    client.change("file:///w/unknown.py", 5, (0, 0, 0, 0), "x").await.unwrap();
    // A range past the end clamps.
    client.change(uri, 2, (500, 3, 900, 9), "\n# tail").await.unwrap();
    assert_eq!(client.document_text(uri).await.unwrap(), "def f():\n    return 1\n\n# tail");
    // Closed documents are forgotten.
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}})).await.unwrap();
    let response = client
        .request(
            "workspace/executeCommand",
            json!({"command": "nextedit.debugDocument", "arguments": [{"uri": uri}]}),
        )
        .await
        .unwrap();
    assert!(response.get("error").is_some(), "{response}");
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// Changes that arrive out of order (Helix sends a quick series from concurrent tasks) are
/// applied in version order; a gap the client never fills (it skips versions) is waited for
/// briefly, then the held change is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_changes_are_applied_in_version_order() {
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client.initialize(NO_MODEL()).await.unwrap();
    let uri = "file:///w/order.py";
    client.open(uri, "python", "x = 1\n").await.unwrap();
    client.change(uri, 1, (0, 0, 0, 0), "a").await.unwrap();
    client.change(uri, 4, (0, 0, 0, 0), "d").await.unwrap();
    client.change(uri, 3, (0, 0, 0, 0), "c").await.unwrap();
    client.change(uri, 2, (0, 0, 0, 0), "b").await.unwrap();
    assert_eq!(client.document_text(uri).await.unwrap(), "dcbax = 1\n");

    // Version 5 never comes: 6 is applied once it has waited.
    client.change(uri, 6, (0, 0, 0, 0), "f").await.unwrap();
    // Polled until it changes (or for at most 5 s, far beyond the wait).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut text = client.document_text(uri).await.unwrap();
    while text == "dcbax = 1\n" && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        text = client.document_text(uri).await.unwrap();
    }
    assert_eq!(text, "fdcbax = 1\n");
    // The client skips versions, so the next gap is not waited for.
    client.change(uri, 9, (0, 0, 0, 0), "g").await.unwrap();
    assert_eq!(client.document_text(uri).await.unwrap(), "gfdcbax = 1\n");
    assert_eq!(client.finish().await.unwrap(), 0);
}

const SNIPPETS: &[&str] =
    &["x", "😀", "漢", "\n", "\r\n", "fn a() {}", "  ", "é", "", "let v = 1;\n"];

/// Sends `changes` random incremental edits across `documents` documents, with jitter (random
/// yields and short pauses between bursts), and checks every final text against a reference.
async fn sync_storm(client: &mut TestClient, documents: usize, changes: usize, seed: u64) {
    let mut rng = Rng(seed);
    let mut references = References::new();
    let mut versions = vec![0i32; documents];
    for index in 0..documents {
        let uri = format!("file:///w/doc{index}.rs");
        let text = "fn main() {\n    println!(\"hi\");\n}\n";
        client.open(&uri, "rust", text).await.unwrap();
        references.insert(uri, ReferenceDocument::new(text));
    }
    for step in 0..changes {
        let index = rng.below(documents as u64) as usize;
        let uri = format!("file:///w/doc{index}.rs");
        let reference = references.get_mut(&uri).unwrap();
        let lines = reference.line_count() as u64;
        let sl = rng.below(lines + 1) as u32;
        let sc = rng.below(12) as u32;
        let (el, ec) = if rng.below(3) == 0 {
            (sl + rng.below(2) as u32, rng.below(12) as u32)
        } else {
            (sl, sc)
        };
        let text = SNIPPETS[rng.below(SNIPPETS.len() as u64) as usize];
        versions[index] += 1;
        reference.apply((sl, sc, el, ec), text);
        client.change(&uri, versions[index], (sl, sc, el, ec), text).await.unwrap();
        // Jitter: sometimes yield, sometimes pause briefly, sometimes ask something in between.
        match rng.below(50) {
            0 => tokio::task::yield_now().await,
            1 => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
            2 => {
                let _ = client
                    .request("textDocument/codeAction", json!({
                        "textDocument": {"uri": uri},
                        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                        "context": {"diagnostics": []},
                    }))
                    .await
                    .unwrap();
            }
            _ => {}
        }
        if step % 1000 == 999 {
            tokio::task::yield_now().await;
        }
    }
    for (uri, reference) in &references {
        assert_eq!(&client.document_text(uri).await.unwrap(), &reference.text, "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_jittered_changes_stay_in_order_over_stdio() {
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    // Symbolic predictions run on every change, as in real use.
    client
        .initialize(json!({"model": {"backend": "none"}, "symbolic": {"enabled": true}}))
        .await
        .unwrap();
    sync_storm(&mut client, 20, 5_000, 0x5eed_1234_abcd_0001).await;
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_jittered_changes_stay_in_order_in_process() {
    let mut client = TestClient::in_process();
    client.initialize(NO_MODEL()).await.unwrap();
    sync_storm(&mut client, 20, 5_000, 0x0dd_ba11_2024_0002).await;
    assert_eq!(client.finish().await.unwrap(), 0);
}
