//! The workspace root comes from a `file` URI with percent-encoding: a folder with a space or
//! non-ASCII letters in its name still has its `nextedit.toml` read.

use nextedit::text::uri::path_to_file_uri;
use nextedit_tests::TestClient;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_with_spaces_or_non_ascii_letters_finds_its_settings_file() {
    for name in ["My Project", "Projekt Ärger 日本"] {
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join(name);
        std::fs::create_dir(&root).unwrap();
        // The file turns the model off; without it, the default (llama) would start loading.
        std::fs::write(root.join("nextedit.toml"), "[model]\nbackend = \"none\"\n").unwrap();
        let root_uri = path_to_file_uri(&root);
        assert!(root_uri.contains('%'), "{root_uri}");

        let mut client = TestClient::in_process();
        client
            .call(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": root_uri,
                    "workspaceFolders": [{"uri": root_uri, "name": name}],
                    "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
                }),
            )
            .await
            .unwrap();
        client.notify("initialized", json!({})).await.unwrap();
        let status = client.notification("nextedit/status").await.unwrap();
        assert_eq!(status["state"], "off", "{name}: {status}");
        assert_eq!(client.finish().await.unwrap(), 0);
    }
}
