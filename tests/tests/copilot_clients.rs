//! The Copilot-style next-edit clients (sidekick.nvim, copilot-lsp) through the real server: UTF-16
//! positions for a client that identifies itself the Copilot way, one edit per suggestion on
//! `textDocument/copilotInlineEdit`, no error for a request made stale by typing, their settings
//! accepted without warnings, `didChangeStatus`, and accepts that arrive after the edit or never.

use anyhow::{Result, anyhow};
use nextedit_tests::TestClient;
use serde_json::{Value, json};

const URI: &str = "file:///project/src/counter.rs";
/// Non-ASCII text before the occurrences: `é` is 2 bytes and 1 UTF-16 unit, `😀` 4 bytes and 2.
/// The two uses are more than 6 lines apart, so each is a hunk (a suggestion) of its own.
const TEXT: &str = "fn main() {\n    let count = 1;\n    consume(\"é\", count);\n    step();\n    step();\n    step();\n    step();\n    step();\n    step();\n    step();\n    consume(\"😀\", count + 1);\n}\n";

/// What sidekick.nvim and copilot-lsp send at `initialize` (copilot-lsp's `lsp/copilot_ls.lua`).
fn copilot_options() -> Value {
    json!({
        "editorInfo": {"name": "neovim", "version": "0.11.4"},
        "editorPluginInfo": {"name": "Github Copilot LSP for Neovim", "version": "0.0.1"},
        "model": {"backend": "none"},
    })
}

/// Neovim 0.11's offer: UTF-8 first.
fn neovim_capabilities() -> Value {
    json!({"general": {"positionEncodings": ["utf-8", "utf-16", "utf-32"]}})
}

async fn spawn() -> Result<TestClient> {
    Ok(if nextedit_tests::server_binary().exists() {
        TestClient::spawn(&[], &[]).await?
    } else {
        TestClient::in_process()
    })
}

async fn copilot_client() -> Result<TestClient> {
    let mut client = spawn().await?;
    let result = client.initialize_with(copilot_options(), neovim_capabilities()).await?;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16", "{result}");
    Ok(client)
}

async fn inline_edit(client: &mut TestClient, version: i32, line: u32) -> Result<Value> {
    client
        .call(
            "textDocument/copilotInlineEdit",
            json!({"textDocument": {"uri": URI, "version": version}, "position": {"line": line, "character": 0}}),
        )
        .await
}

fn only_edit(result: &Value) -> Result<Value> {
    match result["edits"].as_array().map(Vec::as_slice) {
        Some([edit]) => Ok(edit.clone()),
        _ => Err(anyhow!("expected one edit: {result}")),
    }
}

fn range(start: (u32, u32), end: (u32, u32)) -> Value {
    json!({"start": {"line": start.0, "character": start.1}, "end": {"line": end.0, "character": end.1}})
}

async fn accepted_count(client: &mut TestClient) -> Result<u64> {
    let result = client
        .call(
            "workspace/executeCommand",
            json!({"command": "nextedit.debugDocument", "arguments": [{"uri": URI}]}),
        )
        .await?;
    result["feedback"]["accepted"].as_u64().ok_or_else(|| anyhow!("no feedback in {result}"))
}

async fn accept(client: &mut TestClient, command: &Value) -> Result<Value> {
    client
        .call(
            "workspace/executeCommand",
            json!({"command": command["command"], "arguments": command["arguments"]}),
        )
        .await
}

fn shown_messages(client: &mut TestClient) -> Vec<Value> {
    client.take_read(|message| message["method"] == "window/showMessage")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copilot_clients_get_utf16_positions_their_settings_silently_and_their_status() -> Result<()>
{
    let mut client = copilot_client().await?;
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"nextEditSuggestions": {"enabled": true}}}),
        )
        .await?;
    let status = client.notification("didChangeStatus").await?;
    assert_eq!(status["kind"], "Normal", "{status}");
    assert_eq!(status["busy"], false, "{status}");
    client.open(URI, "rust", TEXT).await?;
    client.change(URI, 1, (1, 8, 1, 13), "total").await?;
    let edit = only_edit(&inline_edit(&mut client, 1, 1).await?)?;
    // UTF-16 columns: after `    consume("é", ` (17 units; 18 bytes).
    assert_eq!(edit["range"], range((2, 17), (2, 22)), "{edit}");
    assert_eq!(edit["text"], "total");
    // The answer came after the settings were applied: any warning about them came before it.
    assert_eq!(shown_messages(&mut client), Vec::<Value>::new());
    client.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_clients_negotiate_unless_a_setting_forces_an_encoding() -> Result<()> {
    let mut client = spawn().await?;
    let result = client
        .initialize_with(json!({"model": {"backend": "none"}}), neovim_capabilities())
        .await?;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    client.open(URI, "rust", TEXT).await?;
    client.change(URI, 1, (1, 8, 1, 13), "total").await?;
    let edit = only_edit(&inline_edit(&mut client, 1, 1).await?)?;
    assert_eq!(edit["range"], range((2, 18), (2, 23)), "{edit}");
    // Without `editorInfo`, no Copilot status: `nextedit/status` alone.
    client.notification("nextedit/status").await?;
    assert!(client.take_read(|message| message["method"] == "didChangeStatus").is_empty());
    client.finish().await?;

    let mut client = spawn().await?;
    let options = json!({"model": {"backend": "none"}, "lsp": {"position_encoding": "utf-16"}});
    let result = client.initialize_with(options, neovim_capabilities()).await?;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    client.open(URI, "rust", TEXT).await?;
    client.change(URI, 1, (1, 8, 1, 13), "total").await?;
    let edit = only_edit(&inline_edit(&mut client, 1, 1).await?)?;
    assert_eq!(edit["range"], range((2, 17), (2, 22)), "{edit}");
    client.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_made_stale_by_typing_answers_no_edits() -> Result<()> {
    let mut client = copilot_client().await?;
    client.open(URI, "rust", TEXT).await?;
    client.change(URI, 1, (1, 8, 1, 13), "total").await?;
    client.change(URI, 2, (0, 0, 0, 0), " ").await?;
    // The request names version 1; the document is at 2.
    let result = inline_edit(&mut client, 1, 1).await?;
    assert_eq!(result, json!({"edits": []}));
    client.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_after_the_edit_is_recorded_and_the_chain_goes_on() -> Result<()> {
    let mut client = copilot_client().await?;
    client.open(URI, "rust", TEXT).await?;
    client.change(URI, 1, (1, 8, 1, 13), "total").await?;
    let edit = only_edit(&inline_edit(&mut client, 1, 1).await?)?;
    // As sidekick.nvim does: the edit first, the command after; here with a keystroke in the
    // same notification, so the document is never exactly the suggestion's result.
    client
        .notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": URI, "version": 2},
                "contentChanges": [
                    {"range": range((2, 17), (2, 22)), "text": "total"},
                    {"range": range((0, 0), (0, 0)), "text": " "},
                ],
            }),
        )
        .await?;
    assert_eq!(accepted_count(&mut client).await?, 0);
    assert_eq!(accept(&mut client, &edit["command"]).await?, json!(true));
    assert_eq!(accepted_count(&mut client).await?, 1);
    let next = only_edit(&inline_edit(&mut client, 2, 2).await?)?;
    assert_eq!(next["range"], range((10, 18), (10, 23)), "{next}");
    // An unknown id is still no accept.
    let unknown = json!({"command": "nextedit.accept", "arguments": [999_999]});
    assert_eq!(accept(&mut client, &unknown).await?, json!(false));
    assert_eq!(accepted_count(&mut client).await?, 1);
    client.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_into_a_delivered_suggestion_counts_as_its_accept() -> Result<()> {
    let mut client = copilot_client().await?;
    client.open(URI, "rust", TEXT).await?;
    client.change(URI, 1, (1, 8, 1, 13), "total").await?;
    let edit = only_edit(&inline_edit(&mut client, 1, 1).await?)?;
    // A change that is not the suggestion's result is no accept.
    client.change(URI, 2, (4, 1, 4, 1), "\n").await?;
    assert_eq!(accepted_count(&mut client).await?, 0);
    client.change(URI, 3, (4, 1, 5, 0), "").await?;
    // As copilot-lsp does: the edit, and no command.
    client.change(URI, 4, (2, 17, 2, 22), "total").await?;
    assert_eq!(accepted_count(&mut client).await?, 1);
    let next = only_edit(&inline_edit(&mut client, 4, 2).await?)?;
    assert_eq!(next["range"], range((10, 18), (10, 23)), "{next}");
    // The command arriving after all is not counted twice.
    assert_eq!(accept(&mut client, &edit["command"]).await?, json!(true));
    assert_eq!(accepted_count(&mut client).await?, 1);
    client.finish().await?;
    Ok(())
}

const PYTHON_URI: &str = "file:///project/calls.py";
const PYTHON: &str = "def first():\n    result = compute_total(values, strict)\n    y = 2\n    w = 4\n    report = format_summary(result, strict)\n\n\ndef second():\n    result = compute_total(values, strict)\n    y = 2\n    w = 4\n    report = format_summary(result, strict)\n";

/// The copilotInlineEdit answer is one edit that does what all the suggestion's minimal edits do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_of_two_changes_is_one_edit_on_this_route() -> Result<()> {
    let mut client = copilot_client().await?;
    client.open(PYTHON_URI, "python", PYTHON).await?;
    // `, cache` added to both calls of first(), in one change: second() gets both.
    let edited = "    result = compute_total(values, strict, cache)\n    y = 2\n    w = 4\n    report = format_summary(result, strict, cache)";
    client.change(PYTHON_URI, 1, (1, 0, 4, 43), edited).await?;
    let result = client
        .call(
            "textDocument/copilotInlineEdit",
            json!({"textDocument": {"uri": PYTHON_URI, "version": 1}, "position": {"line": 4, "character": 14}}),
        )
        .await?;
    let edit = only_edit(&result)?;
    // The same suggestion through `nextedit.predict`, which answers the minimal edits.
    let predicted = client
        .call(
            "workspace/executeCommand",
            json!({"command": "nextedit.predict", "arguments": [{"uri": PYTHON_URI}]}),
        )
        .await?;
    assert_eq!(predicted["id"], edit["command"]["arguments"][0], "{predicted}");
    let parts = predicted["edits"].as_array().cloned().unwrap_or_default();
    assert_eq!(parts.len(), 2, "a suggestion of two changes: {predicted}");
    let text = client.document_text(PYTHON_URI).await?;
    let whole = nextedit_tests::apply_ascii_edits(&text, std::slice::from_ref(&edit));
    assert_eq!(whole, nextedit_tests::apply_ascii_edits(&text, &parts));
    assert_eq!(edit["range"]["start"], parts[0]["range"]["start"], "{edit}");
    assert_eq!(edit["range"]["end"], parts[1]["range"]["end"], "{edit}");
    assert_eq!(edit["range"], range((8, 41), (11, 42)), "{edit}");
    assert_eq!(
        edit["text"],
        ", cache)\n    y = 2\n    w = 4\n    report = format_summary(result, strict, cache"
    );
    client.finish().await?;
    Ok(())
}
