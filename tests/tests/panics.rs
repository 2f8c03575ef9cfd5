//! A panic in a request handler answers -32603 and the server goes on; a panic while applying a
//! document change closes that document and the server goes on. The panics are injected with
//! `NEXTEDIT_FAULT` (see `server/src/fault.rs`).

use nextedit_tests::TestClient;
use serde_json::{Value, json};

const URI: &str = "file:///project/src/counter.rs";
const TEXT: &str =
    "fn main() {\n    let count = 1;\n    consume(count);\n    consume(count + 1);\n}\n";

fn no_model() -> Value {
    json!({"model": {"backend": "none"}})
}

fn code_action_params() -> Value {
    json!({
        "textDocument": {"uri": URI},
        "range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 0}},
        "context": {"diagnostics": []},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_request_handler_answers_an_internal_error_and_the_server_goes_on() {
    let mut client =
        TestClient::spawn(&[], &[("NEXTEDIT_FAULT", "panic-in-request")]).await.unwrap();
    client.initialize(no_model()).await.unwrap();
    client.open(URI, "rust", TEXT).await.unwrap();
    client.change(URI, 1, (1, 8, 1, 13), "total").await.unwrap();

    let panicked = client.request("textDocument/codeAction", code_action_params()).await.unwrap();
    assert_eq!(panicked["error"]["code"], -32603, "{panicked}");

    // The same request again: the fault fires once, so now it is answered for real.
    let actions = client.call("textDocument/codeAction", code_action_params()).await.unwrap();
    assert!(
        actions[0]["title"].as_str().is_some_and(|title| title.starts_with("Next edit")),
        "{actions}"
    );
    assert_eq!(client.document_text(URI).await.unwrap(), TEXT.replacen("count", "total", 1));
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_while_applying_a_change_closes_that_document_and_the_server_goes_on() {
    let other = "file:///project/src/other.rs";
    let mut client = TestClient::spawn(&[], &[("NEXTEDIT_FAULT", "panic-in-sync")]).await.unwrap();
    client.initialize(no_model()).await.unwrap();
    client.open(URI, "rust", TEXT).await.unwrap();
    client.open(other, "rust", "fn other() {}\n").await.unwrap();

    // This change panics: the document is closed, since its text may be half-changed.
    client.change(URI, 1, (1, 8, 1, 13), "total").await.unwrap();
    let gone = client
        .request(
            "workspace/executeCommand",
            json!({"command": "nextedit.debugDocument", "arguments": [{"uri": URI}]}),
        )
        .await
        .unwrap();
    assert_eq!(gone["error"]["code"], -32602, "{gone}");
    let message = client.notification("window/showMessage").await.unwrap();
    assert!(message["message"].as_str().unwrap().contains("reopen"), "{message}");

    // The other document and the server are fine; reopened, the document works again.
    assert_eq!(client.document_text(other).await.unwrap(), "fn other() {}\n");
    client.open(URI, "rust", TEXT).await.unwrap();
    client.change(URI, 1, (1, 8, 1, 13), "total").await.unwrap();
    assert_eq!(client.document_text(URI).await.unwrap(), TEXT.replacen("count", "total", 1));
    let edits = client
        .call(
            "textDocument/copilotInlineEdit",
            json!({"textDocument": {"uri": URI, "version": 1}, "position": {"line": 1, "character": 0}}),
        )
        .await
        .unwrap();
    assert_eq!(edits["edits"][0]["source"], "rename", "{edits}");
    assert_eq!(client.finish().await.unwrap(), 0);
}
