//! The real model end to end: the real binary, the real Gemma 3 270M GGUF (fetched by
//! `scripts/fetch-model`), LSP over stdio. These tests check that a validated suggestion arrives
//! through each route and that applying it leaves code that parses; the 270M model is too weak for
//! its suggestions to be *right*, so they don't assert on content.

use nextedit_tests::{TestClient, apply_ascii_edits, model_path};
use serde_json::{Value, json};

/// Model only (the symbolic engine off, so the model must produce the suggestion), with a generous
/// request timeout for a loaded CI machine.
fn model_options() -> Value {
    json!({
        "model": {"backend": "llama", "path": model_path()},
        "symbolic": {"enabled": false},
        // The route to a suggestion is under test, not the confidence gate (which silences most
        // of the small test model's suggestions by default).
        "predict": {"request_timeout_ms": 120000, "min_confidence": 0.0},
    })
}

fn parses(language: &str, text: &str) -> bool {
    let info = nextedit_grammars::by_id(language).unwrap();
    let tree = nextedit::syntax::parse_str(info, text).unwrap();
    nextedit::syntax::count_errors_in_range(&tree, 0..text.len()) == 0
}

struct Fixture {
    uri: &'static str,
    language: &'static str,
    before: &'static str,
    /// One typed edit: (line, start column, end column, new text) on one line.
    edit: (u32, u32, u32, &'static str),
}

const PYTHON: Fixture = Fixture {
    uri: "file:///w/geo.py",
    language: "python",
    before: "def area(rect):\n    width = rect.width\n    height = rect.height\n    return width * height\n",
    edit: (1, 4, 9, "w"),
};

const RUST: Fixture = Fixture {
    uri: "file:///w/calls.rs",
    language: "rust",
    before: "fn main() {\n    let a = compute(1, 2);\n    let b = compute(3, 4);\n    let c = compute(5, 6);\n}\n",
    edit: (1, 24, 24, ", true"),
};

async fn suggestion_through_every_route(client: &mut TestClient, fixture: &Fixture) {
    client.open(fixture.uri, fixture.language, fixture.before).await.unwrap();
    let (line, start, end, text) = fixture.edit;
    client.change(fixture.uri, 1, (line, start, line, end), text).await.unwrap();
    let current = client.document_text(fixture.uri).await.unwrap();

    // copilotInlineEdit waits for the prediction of version 1.
    let cursor = json!({"line": line, "character": start + text.len() as u32});
    let result = client
        .call(
            "textDocument/copilotInlineEdit",
            json!({"textDocument": {"uri": fixture.uri, "version": 1}, "position": cursor}),
        )
        .await
        .unwrap();
    let edits = result["edits"].as_array().unwrap();
    assert!(!edits.is_empty(), "no suggestion for {}: {result}", fixture.uri);
    for edit in edits {
        assert_eq!(edit["command"]["command"], "nextedit.accept");
        assert_eq!(edit["textDocument"]["version"], 1);
    }
    let after = apply_ascii_edits(&current, edits);
    assert_ne!(after, current);
    assert!(parses(fixture.language, &after), "suggestion leaves a syntax error:\n{after}");

    // The same suggestion as a code action with a versioned workspace edit.
    let actions = client
        .call(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": fixture.uri},
                "range": {"start": cursor, "end": cursor},
                "context": {"diagnostics": []},
            }),
        )
        .await
        .unwrap();
    let action = &actions[0];
    assert!(action["title"].as_str().unwrap().starts_with("Next edit: "), "{actions}");
    assert_eq!(action["kind"], "refactor.rewrite");
    let document_edit = &action["edit"]["documentChanges"][0];
    assert_eq!(document_edit["textDocument"]["version"], 1);
    let action_edits = document_edit["edits"].as_array().unwrap();
    assert_eq!(apply_ascii_edits(&current, action_edits), after);

    // Accepting: the client applies the edit and tells the server.
    let id = edits[0]["command"]["arguments"][0].clone();
    assert_eq!(
        client
            .call(
                "workspace/executeCommand",
                json!({"command": "nextedit.accept", "arguments": [id]})
            )
            .await
            .unwrap(),
        json!(true)
    );
}

/// A fresh server per fixture, so that one file's edits don't become the other's context.
async fn check_fixture(fixture: &Fixture) {
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client
        .initialize_with(
            model_options(),
            json!({
                "general": {"positionEncodings": ["utf-16"]},
                "workspace": {"workspaceEdit": {"documentChanges": true}},
                "window": {"workDoneProgress": true},
            }),
        )
        .await
        .unwrap();
    // Model loading reports progress: the token is created, then begin ... end.
    client.wait_for(|m| m["method"] == "window/workDoneProgress/create").await.unwrap();
    let begin = client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin")
        .await
        .unwrap();
    assert!(
        begin["params"]["value"]["title"].as_str().unwrap().contains("loading model"),
        "{begin}"
    );
    client
        .wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .await
        .unwrap();
    // Wait until the model is loaded before typing.
    loop {
        let status = client.notification("nextedit/status").await.unwrap();
        match status["state"].as_str() {
            Some("ready") => break,
            Some("loading") => continue,
            other => panic!("model did not load: {other:?} {status}"),
        }
    }
    suggestion_through_every_route(&mut client, fixture).await;
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_model_suggests_in_python() {
    check_fixture(&PYTHON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_model_suggests_in_rust() {
    check_fixture(&RUST).await;
}

/// A bad model file (`path`, or none there) is reported once, with `expected` in the message and
/// an `error` status, and the server keeps syncing documents and answering requests.
async fn check_bad_model_file(path: &std::path::Path, expected: &str) {
    let mut client = TestClient::spawn(&[], &[]).await.unwrap();
    client
        .initialize(json!({"model": {"backend": "llama", "path": path.display().to_string()}}))
        .await
        .unwrap();
    let message = client.notification("window/showMessage").await.unwrap();
    assert_eq!(message["type"], 1, "{message}");
    assert!(message["message"].as_str().unwrap().contains(expected), "{message}");
    let status = client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "error")
        .await
        .unwrap();
    assert!(status["params"]["message"].as_str().is_some());

    // Sync and the symbolic engine still work.
    let uri = "file:///w/still.py";
    client.open(uri, "python", "x = 1\n").await.unwrap();
    client.change(uri, 1, (0, 0, 0, 1), "y").await.unwrap();
    client.change(uri, 2, (0, 5, 0, 5), "\n").await.unwrap();
    assert_eq!(client.document_text(uri).await.unwrap(), "y = 1\n\n");
    let response = client
        .request("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": uri, "version": 2}, "position": {"line": 1, "character": 0}}))
        .await
        .unwrap();
    assert!(response["result"]["edits"].is_array(), "{response}");
    // One message for the bad file, not one per edit.
    client.drain_ready().await.unwrap();
    let messages = client.take_read(|m| m["method"] == "window/showMessage");
    assert!(messages.is_empty(), "more messages: {messages:?}");
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_truncated_and_foreign_model_files_are_reported_once_and_the_server_keeps_serving()
{
    let directory =
        std::env::temp_dir().join(format!("nextedit-bad-models-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let truncated = directory.join("truncated.gguf");
    let bytes = std::fs::read(model_path()).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let foreign = directory.join("foreign.gguf");
    std::fs::write(&foreign, "<html>a download page, not a model</html>\n").unwrap();

    check_bad_model_file(&truncated, "truncated").await;
    check_bad_model_file(&directory.join("missing.gguf"), "model file not found").await;
    check_bad_model_file(&foreign, "not a GGUF model file").await;
    let _ = std::fs::remove_dir_all(&directory);
}

/// The model thread dies on its first generation (`NEXTEDIT_FAULT=model-thread-dies`, a test hook
/// that no client message can reach): the job is dropped, the status says the model is being
/// restarted, the supervisor loads the model again after its first backoff, and the edited
/// document gets a suggestion from the new model thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_model_thread_is_restarted_and_predicts_again() {
    let mut client =
        TestClient::spawn(&[], &[("NEXTEDIT_FAULT", "model-thread-dies")]).await.unwrap();
    client.initialize(model_options()).await.unwrap();
    client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "ready")
        .await
        .unwrap();

    let fixture = &PYTHON;
    client.open(fixture.uri, fixture.language, fixture.before).await.unwrap();
    let (line, start, end, text) = fixture.edit;
    client.change(fixture.uri, 1, (line, start, line, end), text).await.unwrap();
    let died = client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "error")
        .await
        .unwrap();
    assert!(died["params"]["message"].as_str().unwrap().contains("restarted"), "{died}");
    let warning = client.notification("window/showMessage").await.unwrap();
    assert!(warning["message"].as_str().unwrap().contains("restarted"), "{warning}");

    client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "ready")
        .await
        .unwrap();
    let cursor = json!({"line": line, "character": start + text.len() as u32});
    let result = client
        .call(
            "textDocument/copilotInlineEdit",
            json!({"textDocument": {"uri": fixture.uri, "version": 1}, "position": cursor}),
        )
        .await
        .unwrap();
    assert!(
        !result["edits"].as_array().unwrap().is_empty(),
        "no suggestion after the restart: {result}"
    );
    let mut expected = fixture.before.to_owned();
    let line_start: usize = expected.split_inclusive('\n').take(line as usize).map(str::len).sum();
    expected.replace_range(line_start + start as usize..line_start + end as usize, text);
    assert_eq!(client.document_text(fixture.uri).await.unwrap(), expected);
    assert_eq!(client.finish().await.unwrap(), 0);
}
