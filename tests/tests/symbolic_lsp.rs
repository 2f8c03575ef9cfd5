//! The symbolic engine through the real server: a rename is offered at once, with no model
//! configured, as the next hunk (every occurrence a few lines apart) and as a "rename all" code
//! action, and accepting the hunk chains to the next one.

use anyhow::Result;
use nextedit_tests::TestClient;
use serde_json::{Value, json};

const URI: &str = "file:///project/src/counter.rs";
/// Uses of `count` on lines 2 and 3 (one hunk), and on line 12, eight unchanged lines further
/// (the next hunk).
const TEXT: &str = "fn main() {\n    let count = 1;\n    consume(count);\n    consume(count + 1);\n    step(1);\n    step(2);\n    step(3);\n    step(4);\n    step(5);\n    step(6);\n    step(7);\n    step(8);\n    consume(count * 2);\n}\n";

async fn client() -> Result<TestClient> {
    let mut client = if nextedit_tests::server_binary().exists() {
        TestClient::spawn(&[], &[]).await?
    } else {
        TestClient::in_process()
    };
    client.initialize(json!({"model": {"backend": "none"}})).await?;
    Ok(client)
}

fn titles(actions: &Value) -> Vec<String> {
    actions
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|action| action["title"].as_str().map(str::to_owned))
        .collect()
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
    let range = |line: u32| json!({"start": {"line": line, "character": 12}, "end": {"line": line, "character": 17}});
    // The whole hunk: both occurrences below the binding.
    assert_eq!(edits.len(), 2, "{inline}");
    for (edit, line) in edits.iter().zip([2, 3]) {
        assert_eq!(edit["text"], "total");
        assert_eq!(edit["range"], range(line));
        assert_eq!(edit["source"], "rename");
    }
    // The ranker's word on the suggestion, for calibration (`nextedit eval`).
    let id = edits[0].pointer("/command/arguments/0").cloned().expect("an accept command");
    let debug = |suggestion: Value| json!({"command": "nextedit.debugDocument", "arguments": [{"uri": URI, "suggestion": suggestion}]});
    let ranked = client.call("workspace/executeCommand", debug(id.clone())).await?;
    assert_eq!(ranked["suggestion"]["source"], "rename", "{ranked}");
    let score = ranked["suggestion"]["score"].as_f64().unwrap_or_default();
    assert!(score > 0.0 && score <= 1.0, "{ranked}");
    let other =
        client.call("workspace/executeCommand", debug(json!(id.as_u64().unwrap() + 1000))).await?;
    assert!(other.get("suggestion").is_none(), "{other}");

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
    assert!(titles.iter().any(|title| title == "Next edit: rename all 3"), "{titles:?}");

    // Accepting the hunk (the editor applies it) chains to the next hunk.
    client.change(URI, 2, (3, 12, 3, 17), "total").await?;
    client.change(URI, 3, (2, 12, 2, 17), "total").await?;
    let chained = client
        .call("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": URI, "version": 3}, "position": {"line": 2, "character": 17}}))
        .await?;
    let edits = chained["edits"].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 1, "{chained}");
    assert_eq!(edits[0]["range"], range(12));
    client.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_reject_and_manual_predict() -> Result<()> {
    let mut client = TestClient::spawn(&[], &[]).await?;
    client.initialize(json!({"model": {"backend": "none"}, "diagnostics": true})).await?;
    client.open(URI, "rust", TEXT).await?;
    client.change(URI, 1, (1, 8, 1, 13), "total").await?;

    // The suggestion arrives as a Hint diagnostic for editors without an inline UI.
    let diagnostics = client
        .wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["diagnostics"].as_array().is_some_and(|d| !d.is_empty())
        })
        .await?;
    let diagnostic = &diagnostics["params"]["diagnostics"][0];
    assert_eq!(diagnostic["severity"], 4);
    assert_eq!(diagnostic["source"], "nextedit");
    assert_eq!(diagnostic["range"]["start"], json!({"line": 2, "character": 12}));
    assert!(diagnostic["message"].as_str().unwrap().contains("`count` → `total`"), "{diagnostic}");

    // The manual trigger returns the same suggestion.
    let predicted = client
        .call("workspace/executeCommand", json!({"command": "nextedit.predict", "arguments": [{"uri": URI, "position": {"line": 1, "character": 13}}]}))
        .await?;
    assert_eq!(predicted["source"], "rename", "{predicted}");
    let id = predicted["id"].clone();

    // Rejected: not offered again, and the diagnostic goes away.
    assert_eq!(
        client
            .call(
                "workspace/executeCommand",
                json!({"command": "nextedit.reject", "arguments": [id]})
            )
            .await?,
        json!(true)
    );
    client
        .wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["diagnostics"].as_array().is_some_and(|d| d.is_empty())
        })
        .await?;
    let again = client
        .call(
            "workspace/executeCommand",
            json!({"command": "nextedit.predict", "arguments": [{"uri": URI}]}),
        )
        .await?;
    assert!(
        again.is_null() || again["edits"][0]["range"]["start"]["line"] != 2,
        "rejected suggestion offered again: {again}"
    );
    client.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_completion_offers_insertions_on_the_cursor_line_only() -> Result<()> {
    let mut client = TestClient::spawn(&[], &[]).await?;
    client.initialize(json!({"model": {"backend": "none"}})).await?;
    let uri = "file:///project/src/calls.py";
    // One call is left after the two examples: a one-insertion hunk, which ghost text can show.
    let text = "def main():\n    run(1, 2)\n    run(3, 4)\n    run(5, 6)\n";
    client.open(uri, "python", text).await?;
    // The same insertion twice: `, timeout=5` after the arguments.
    client.change(uri, 1, (1, 12, 1, 12), ", timeout=5").await?;
    client.change(uri, 2, (2, 12, 2, 12), ", timeout=5").await?;
    let inline = client
        .call("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": uri, "version": 2}, "position": {"line": 2, "character": 23}}))
        .await?;
    let edits = inline["edits"].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 1, "{inline}");
    assert_eq!(edits[0]["text"], ", timeout=5");
    assert_eq!(edits[0]["range"]["start"], json!({"line": 3, "character": 12}));
    assert_eq!(edits[0]["source"], "repeat");

    let params = |line: u32| {
        json!({
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": 0},
            "context": {"triggerKind": 2},
        })
    };
    // On the suggestion's line: ghost text.
    let items = client.call("textDocument/inlineCompletion", params(3)).await?;
    assert_eq!(items["items"][0]["insertText"], ", timeout=5", "{items}");
    assert_eq!(items["items"][0]["range"]["start"], json!({"line": 3, "character": 12}));
    // Elsewhere: nothing (that is the inline-edit routes' job).
    let items = client.call("textDocument/inlineCompletion", params(0)).await?;
    assert_eq!(items["items"], json!([]), "{items}");
    client.finish().await?;
    Ok(())
}
