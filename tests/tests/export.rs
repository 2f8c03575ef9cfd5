//! A training pair's prompt is the prompt the real server sends for its case: the case is
//! replayed over LSP into the binary, whose remote backend talks to a stand-in inference server
//! that records what it is sent.

use nextedit::config::Settings;
use nextedit::engine::prompt::PromptFormatKind;
use nextedit_tests::TestClient;
use nextedit_tests::inference::{Behaviour, FaultyServer};
use nextedit_tools::eval::cases::Case;
use nextedit_tools::eval::positions::{Encoding, offset_to_position};
use nextedit_tools::export::{CursorPlacement, EXPORT_FORMATS, export_pair, history_changes};
use serde_json::{Value, json};

/// Two calls already got `, True`; the next edit gives it to a third.
fn case() -> Case {
    let text: String = (0..30).map(|index| format!("value_{index} = compute({index})\n")).collect();
    let edited = |lines: &[usize]| {
        let mut out = text.clone();
        for line in lines {
            out = out.replace(&format!("compute({line})\n"), &format!("compute({line}, True)\n"));
        }
        out
    };
    let diff = |line: usize| {
        format!(
            "--- a/pkg/values.py\n+++ b/pkg/values.py\n@@ -{} +{} @@\n-value_{line} = compute({line})\n+value_{line} = compute({line}, True)\n",
            line + 1,
            line + 1
        )
    };
    serde_json::from_value(json!({
        "id": "export-lsp",
        "language": "python",
        "file_path": "pkg/values.py",
        "before": edited(&[4, 12]),
        "history": [diff(4), diff(12)],
        "cursor": {"line": 12, "character": 25},
        "expected_after": edited(&[4, 12, 20]),
        "provenance": {"commit": "0000000"},
    }))
    .unwrap()
}

/// The export replays cases on a runtime of its own, so it runs outside the test's.
#[test]
fn an_exported_prompt_is_the_prompt_the_server_sends() {
    let case = case();
    let pairs: Vec<_> = EXPORT_FORMATS
        .iter()
        .map(|&format| {
            let pair =
                export_pair(&case, format, &Settings::default(), CursorPlacement::CaseOrEdit)
                    .unwrap_or_else(|skip| panic!("{format}: {}", skip.as_str()));
            (format, pair)
        })
        .collect();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(replay_over_lsp(&case, pairs));
}

async fn replay_over_lsp(
    case: &Case,
    pairs: Vec<(PromptFormatKind, nextedit_tools::export::Pair)>,
) {
    for (format, pair) in pairs {
        let server = FaultyServer::start(
            "export-test",
            Behaviour::Rewrite {
                from: "compute(20)".to_owned(),
                to: "compute(20, True)".to_owned(),
            },
        )
        .await
        .unwrap();
        let workspace = nextedit_tests::scratch_dir("export-lsp");
        let root_uri = nextedit::text::uri::path_to_file_uri(workspace.path());
        let uri = nextedit::text::uri::path_to_file_uri(&workspace.path().join("pkg/values.py"));
        let mut client = TestClient::spawn(&[], &[]).await.unwrap();
        let options = json!({
            "model": {"backend": "openai", "format": format.as_str()},
            "openai": {"endpoint": server.endpoint(), "retries": 0},
            "symbolic": {"enabled": false},
            // Only the explicit request below asks the model.
            "predict": {"debounce_ms": 600000},
        });
        client
            .call(
                "initialize",
                json!({"processId": null, "rootUri": root_uri, "capabilities": {"general": {"positionEncodings": ["utf-16"]}}, "initializationOptions": options}),
            )
            .await
            .unwrap();
        client.notify("initialized", json!({})).await.unwrap();
        loop {
            let status = client.notification("nextedit/status").await.unwrap();
            if status["state"] != "loading" {
                assert_eq!(status["state"], "ready", "{status}");
                break;
            }
        }
        let (initial, notifications) = history_changes(case).unwrap();
        client.open(&uri, "python", &initial).await.unwrap();
        let mut current = initial;
        for (index, changes) in notifications.iter().enumerate() {
            let mut content_changes = Vec::new();
            for (start, end, text) in changes {
                let from = offset_to_position(&current, *start, Encoding::Utf16);
                let to = offset_to_position(&current, *end, Encoding::Utf16);
                content_changes.push(json!({"range": {"start": {"line": from.line, "character": from.character}, "end": {"line": to.line, "character": to.character}}, "text": text}));
                current.replace_range(*start..*end, text);
            }
            client
                .notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": index + 1}, "contentChanges": content_changes}),
                )
                .await
                .unwrap();
        }
        let cursor = offset_to_position(&current, pair.cursor, Encoding::Utf16);
        client
            .request(
                "workspace/executeCommand",
                json!({"command": "nextedit.predict", "arguments": [{"uri": uri, "position": {"line": cursor.line, "character": cursor.character}}]}),
            )
            .await
            .unwrap();
        server.wait_for_completions(1).await.unwrap();
        let request = server.completion_requests().pop().unwrap();
        if format == PromptFormatKind::Instinct {
            let mut messages = pair.json["messages"].as_array().unwrap().clone();
            messages.pop();
            assert_eq!(request.body["messages"], Value::Array(messages), "{format}");
        } else {
            assert_eq!(request.body["prompt"].as_str(), Some(pair.prompt.as_str()), "{format}");
        }
        assert_eq!(client.finish().await.unwrap(), 0);
    }
}
