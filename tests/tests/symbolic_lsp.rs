//! The symbolic engine through the real server: a rename is offered at once, with no model
//! configured, as the next occurrence and as a "rename all" code action, and accepting it chains
//! to the next occurrence.

use anyhow::Result;
use nextedit_tests::TestClient;
use serde_json::{Value, json};

const URI: &str = "file:///project/src/counter.rs";
const TEXT: &str = "fn main() {\n    let count = 1;\n    consume(count);\n    consume(count + 1);\n}\n";

async fn client() -> Result<TestClient> {
    let mut client =
        if nextedit_tests::server_binary().exists() { TestClient::spawn(&[], &[]).await? } else { TestClient::in_process() };
    client.initialize(json!({"model": {"backend": "none"}})).await?;
    Ok(client)
}

fn titles(actions: &Value) -> Vec<String> {
    actions.as_array().into_iter().flatten().filter_map(|action| action["title"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_is_offered_one_by_one_and_all_at_once() -> Result<()> {
    let mut client = client().await?;
    client.open(URI, "rust", TEXT).await?;
    // `count` -> `total` at the binding (line 1, characters 8..13).
    client.change(URI, 1, (1, 8, 1, 13), "total").await?;

    let inline = client
        .call("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": URI, "version": 1}, "position": {"line": 1, "character": 13}}))
        .await?;
    let edits = inline["edits"].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 1, "{inline}");
    assert_eq!(edits[0]["text"], "total");
    assert_eq!(edits[0]["range"], json!({"start": {"line": 2, "character": 12}, "end": {"line": 2, "character": 17}}));
    assert_eq!(edits[0]["source"], "rename");

    let actions = client
        .call(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": URI},
                "range": {"start": {"line": 1, "character": 13}, "end": {"line": 1, "character": 13}},
                "context": {"diagnostics": []},
            }),
        )
        .await?;
    let titles = titles(&actions);
    assert!(titles.iter().any(|title| title == "Next edit: rename all 2"), "{titles:?}");

    // Accepting the first occurrence (the editor applies it) chains to the next one.
    client.change(URI, 2, (2, 12, 2, 17), "total").await?;
    let chained = client
        .call("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": URI, "version": 2}, "position": {"line": 2, "character": 17}}))
        .await?;
    let edits = chained["edits"].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 1, "{chained}");
    assert_eq!(edits[0]["range"], json!({"start": {"line": 3, "character": 12}, "end": {"line": 3, "character": 17}}));
    client.finish().await?;
    Ok(())
}
