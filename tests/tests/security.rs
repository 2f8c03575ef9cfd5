//! Security guarantees that SECURITY.md states, checked on the real binary.

use nextedit_tests::TestClient;
use serde_json::json;

const SECRET: &str = "SECRET_d0c_t3xt_4815162342";

fn scratch(name: &str) -> std::path::PathBuf {
    let directory = std::env::temp_dir().join(format!("nextedit-security-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// Opens a document with a secret in it, edits it and asks for suggestions through every route.
async fn exercise(client: &mut TestClient) {
    let uri = "file:///w/secret.py";
    client.open(uri, "python", &format!("token = \"{SECRET}\"\ncount = 1\nprint(count)\n")).await.unwrap();
    client.change(uri, 1, (1, 0, 1, 5), "total").await.unwrap();
    let position = json!({"line": 1, "character": 5});
    client
        .call("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": uri, "version": 1}, "position": position}))
        .await
        .unwrap();
    client
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": position, "end": position}, "context": {"diagnostics": []}}),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_settings_open_no_network_socket() {
    let config = scratch("sockets");
    let mut client = TestClient::spawn(&[], &[("XDG_CONFIG_HOME", config.to_str().unwrap())]).await.unwrap();
    // Default settings: the embedded model is loaded (or fails to load) in-process.
    client.initialize(json!({"model": {"path": nextedit::engine::model::test_model_path().unwrap()}})).await.unwrap();
    loop {
        let status = client.notification("nextedit/status").await.unwrap();
        if status["state"] != "loading" {
            break;
        }
    }
    exercise(&mut client).await;
    let pid = client.pid().unwrap();
    // Local unix sockets (tokio's signal pipe) are fine; anything else would be a network socket.
    let unix: Vec<String> = std::fs::read_to_string(format!("/proc/{pid}/net/unix"))
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().nth(6).map(str::to_owned))
        .collect();
    let mut sockets = Vec::new();
    // Descriptors 0-2 are the stdio the test gives it (stderr may be the test runner's socket).
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
        if entry.file_name().to_string_lossy().parse::<u32>().is_ok_and(|fd| fd <= 2) {
            continue;
        }
        if let Ok(target) = std::fs::read_link(entry.path()) {
            let target = target.to_string_lossy().into_owned();
            if let Some(inode) = target.strip_prefix("socket:[").and_then(|rest| rest.strip_suffix(']'))
                && !unix.iter().any(|known| known == inode)
            {
                sockets.push(target);
            }
        }
    }
    assert!(sockets.is_empty(), "the server has non-unix sockets open: {sockets:?}");
    assert_eq!(client.finish().await.unwrap(), 0);
    let _ = std::fs::remove_dir_all(config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_text_stays_out_of_logs_at_info_level() {
    let config = scratch("logs");
    let log = config.join("nextedit.log");
    std::fs::create_dir_all(config.join("nextedit")).unwrap();
    std::fs::write(
        config.join("nextedit").join("config.toml"),
        format!("[log]\nlevel = \"info\"\nfile = {:?}\n", log.to_str().unwrap()),
    )
    .unwrap();
    let mut client = TestClient::spawn(&[], &[("XDG_CONFIG_HOME", config.to_str().unwrap()), ("RUST_LOG", "")]).await.unwrap();
    client.initialize(json!({"model": {"backend": "none"}, "bogus": true})).await.unwrap();
    exercise(&mut client).await;
    // Malformed input is logged too; its content must not be.
    let broken = format!("{{\"{SECRET}");
    client.send_raw(format!("Content-Length: {}\r\n\r\n{broken}", broken.len()).as_bytes()).await.unwrap();
    client.null_id_error().await.unwrap();
    assert_eq!(client.finish().await.unwrap(), 0);
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.contains("unknown setting `bogus`"), "the log file from the user config is used:\n{written}");
    assert!(!written.contains(SECRET), "document text in the log:\n{written}");
    let _ = std::fs::remove_dir_all(config);
}
