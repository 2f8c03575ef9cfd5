//! Security guarantees that SECURITY.md states, checked on the real binary.

use nextedit_tests::TestClient;
use serde_json::json;

const SECRET: &str = "SECRET_d0c_t3xt_4815162342";

/// Opens a document with a secret in it, edits it and asks for suggestions through every route.
async fn exercise(client: &mut TestClient) {
    let uri = "file:///w/secret.py";
    client
        .open(uri, "python", &format!("token = \"{SECRET}\"\ncount = 1\nprint(count)\n"))
        .await
        .unwrap();
    client.change(uri, 1, (1, 0, 1, 5), "total").await.unwrap();
    ask_for_suggestions(client, uri, 1, json!({"line": 1, "character": 5})).await;
}

/// Asks for the suggestion at `position` as an inline edit and as a code action.
async fn ask_for_suggestions(
    client: &mut TestClient,
    uri: &str,
    version: i32,
    position: serde_json::Value,
) {
    client
        .call(
            "textDocument/copilotInlineEdit",
            json!({"textDocument": {"uri": uri, "version": version}, "position": position}),
        )
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

/// What [`ProcessWatch`] saw of a process.
#[derive(Debug, Default)]
struct Watched {
    /// How many times the process was looked at.
    scans: usize,
    /// Sockets that are not local unix sockets, with the descriptor that held them.
    network_sockets: Vec<String>,
    /// Rows in the process's own TCP, UDP and raw socket tables (only counted when the process
    /// runs in a network namespace of its own, where every row is its).
    inet_table_rows: Vec<String>,
    /// Child processes, by process id.
    children: Vec<u32>,
}

/// Looks at a process again and again, on a thread of its own, until it is stopped: its socket
/// descriptors (against the unix and inet socket tables of its network namespace) and its child
/// processes. Sampling does not see a socket that lives between two looks, so the network test
/// also runs the server where no network exists.
struct ProcessWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Watched>,
}

impl ProcessWatch {
    fn start(pid: u32, own_network_namespace: bool) -> ProcessWatch {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut watched = Watched::default();
                // One last look after the stop, so the end of the exercise is seen too.
                loop {
                    let stopping = stop.load(std::sync::atomic::Ordering::SeqCst);
                    scan_process(pid, own_network_namespace, &mut watched);
                    if stopping {
                        return watched;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            })
        };
        ProcessWatch { stop, thread }
    }

    fn stop(self) -> Watched {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().expect("the watch thread")
    }
}

/// The inodes of the sockets in one of `/proc/<pid>/net/`'s tables (`unix`, `tcp`, ...).
fn socket_table(pid: u32, table: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
    let inode_column = if table == "unix" { 6 } else { 9 };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            line.split_whitespace()
                .nth(inode_column)
                .map(|inode| (inode.to_owned(), line.trim().to_owned()))
        })
        .collect()
}

const INET_TABLES: [&str; 6] = ["tcp", "tcp6", "udp", "udp6", "raw", "raw6"];

/// The socket inodes held by the process's descriptors above 2 (0-2 are the stdio the test gives
/// it; stderr may be the test runner's socket), with the descriptor number.
fn socket_descriptors(pid: u32) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok_and(|fd| fd > 2))
        .filter_map(|entry| {
            let target = std::fs::read_link(entry.path()).ok()?.to_string_lossy().into_owned();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned();
            Some((entry.file_name().to_string_lossy().into_owned(), inode))
        })
        .collect()
}

fn scan_process(pid: u32, own_network_namespace: bool, watched: &mut Watched) {
    // Only the server itself is watched, not a launcher before it executes the server (`unshare`
    // still in the first network namespace), nor a process that has exited.
    let server = std::fs::canonicalize(nextedit_tests::server_binary()).unwrap_or_default();
    if std::fs::read_link(format!("/proc/{pid}/exe")).ok() != Some(server) {
        return;
    }
    watched.scans += 1;
    // Descriptors first: a unix socket opened after this listing is not in it, and one opened
    // before is in the table read next.
    let descriptors = socket_descriptors(pid);
    if !descriptors.is_empty() {
        let unix: Vec<String> =
            socket_table(pid, "unix").into_iter().map(|(inode, _)| inode).collect();
        let inet: Vec<String> = INET_TABLES
            .iter()
            .flat_map(|table| socket_table(pid, table))
            .map(|(inode, _)| inode)
            .collect();
        for (fd, inode) in descriptors {
            let is_inet = inet.contains(&inode);
            // A socket that is in no table may have been closed, or replaced under the same
            // descriptor, between the two reads: look at that descriptor once more.
            let still_unknown = || {
                std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                    .is_ok_and(|target| target.to_string_lossy() == format!("socket:[{inode}]"))
                    && !socket_table(pid, "unix").iter().any(|(known, _)| *known == inode)
            };
            let seen = format!("fd {fd}: socket:[{inode}]");
            if !watched.network_sockets.contains(&seen)
                && (is_inet || (!unix.contains(&inode) && still_unknown()))
            {
                watched.network_sockets.push(seen);
            }
        }
    }
    if own_network_namespace {
        for table in INET_TABLES {
            for (_, row) in socket_table(pid, table) {
                let seen = format!("{table}: {row}");
                if !watched.inet_table_rows.contains(&seen) {
                    watched.inet_table_rows.push(seen);
                }
            }
        }
    }
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return };
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|child| child.parse::<u32>().ok()) {
            if !watched.children.contains(&child) {
                watched.children.push(child);
            }
        }
    }
}

/// Whether this test can make a network namespace (it takes root, which CI has).
fn can_unshare_the_network() -> bool {
    std::process::Command::new("unshare")
        .args(["--net", "--", "true"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Waits for the first `nextedit/status` that is not `loading`.
async fn settled_status(client: &mut TestClient) -> serde_json::Value {
    loop {
        let status = client.notification("nextedit/status").await.unwrap();
        if status["state"] != "loading" {
            return status;
        }
    }
}

/// With the default settings (the embedded model), the server works without any network: it runs
/// in a network namespace of its own, where nothing but an unconfigured loopback exists, and is
/// watched during the whole exercise for any socket that is not a local unix socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_settings_open_no_network_socket() {
    let config = nextedit_tests::scratch_dir("sockets");
    let isolated = can_unshare_the_network();
    if !isolated {
        eprintln!(
            "note: `unshare --net` is not available (it needs root); watching the sockets only"
        );
    }
    let launcher: &[&str] = if isolated { &["unshare", "--net", "--"] } else { &[] };
    let mut client = TestClient::spawn_through(
        launcher,
        &[],
        &[("XDG_CONFIG_HOME", config.path().to_str().unwrap())],
    )
    .await
    .unwrap();
    let watch = ProcessWatch::start(client.pid().unwrap(), isolated);
    // Default settings: the embedded model is loaded in-process.
    client
        .initialize(json!({"model": {"path": nextedit::engine::model::test_model_path().unwrap()}}))
        .await
        .unwrap();
    let status = settled_status(&mut client).await;
    assert_eq!(status["state"], "ready", "the model loads without a network: {status}");
    exercise(&mut client).await;
    // The model ran: a prediction on demand answers (with or without a suggestion) and the
    // document is intact.
    let predict = json!({"command": "nextedit.predict", "arguments": [{"uri": "file:///w/secret.py", "position": {"line": 1, "character": 5}}]});
    let predicted = client.request("workspace/executeCommand", predict).await.unwrap();
    assert!(predicted.get("error").is_none(), "{predicted}");
    assert!(client.document_text("file:///w/secret.py").await.unwrap().starts_with("token = "));
    let watched = watch.stop();
    assert!(watched.scans >= 2, "the process was looked at {} times", watched.scans);
    assert!(
        watched.network_sockets.is_empty(),
        "the server had non-unix sockets open: {:?}",
        watched.network_sockets
    );
    assert!(
        watched.inet_table_rows.is_empty(),
        "the server's network namespace has inet sockets: {:?}",
        watched.inet_table_rows
    );
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// Shell-like text in documents, file names and command arguments: the server starts no process.
/// It is watched for child processes during the whole exercise, and the commands in the text,
/// had any shell run them, would have left a file behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_text_never_starts_a_process() {
    let config = nextedit_tests::scratch_dir("children");
    let marker = config.path().join("ran");
    let marker = marker.to_str().unwrap();
    let mut client =
        TestClient::spawn(&[], &[("XDG_CONFIG_HOME", config.path().to_str().unwrap())])
            .await
            .unwrap();
    let watch = ProcessWatch::start(client.pid().unwrap(), false);
    client
        .initialize(json!({"model": {"path": nextedit::engine::model::test_model_path().unwrap()}}))
        .await
        .unwrap();
    assert_eq!(settled_status(&mut client).await["state"], "ready");

    let documents = [
        (
            "file:///w/run.sh",
            "shellscript",
            format!(
                "#!/bin/sh\ntouch {marker}\n$(touch {marker})\n`touch {marker}`\necho ok; touch {marker} | sh\n"
            ),
        ),
        (
            "file:///w/run.py",
            "python",
            format!(
                "import os\nos.system(\"touch {marker}\")\nsubprocess.run([\"sh\", \"-c\", \"touch {marker}\"])\n"
            ),
        ),
        (
            "file:///w/run.rs",
            "rust",
            format!(
                "fn main() {{\n    std::process::Command::new(\"sh\").arg(\"-c\").arg(\"touch {marker}\");\n}}\n"
            ),
        ),
        (
            "file:///w/$(touch%20x);touch%20x.sh",
            "shellscript",
            format!("touch {marker} && sh -c 'touch {marker}'\n"),
        ),
    ];
    for (uri, language, text) in &documents {
        client.open(uri, language, text).await.unwrap();
        // An edit that the symbolic engine and the model both look at.
        client.change(uri, 1, (1, 0, 1, 0), &format!("$(touch {marker}); ")).await.unwrap();
        let position = json!({"line": 1, "character": 3});
        ask_for_suggestions(&mut client, uri, 1, position.clone()).await;
        let predict = json!({"command": "nextedit.predict", "arguments": [{"uri": uri, "position": position}]});
        client.request("workspace/executeCommand", predict).await.unwrap();
    }
    // Commands that are not the server's are refused, whatever their arguments.
    let shell = json!({"command": "sh", "arguments": ["-c", format!("touch {marker}")]});
    let refused = client.request("workspace/executeCommand", shell).await.unwrap();
    assert!(refused.get("error").is_some() || refused["result"].is_null(), "{refused}");

    let watched = watch.stop();
    assert!(watched.scans >= 2, "the process was looked at {} times", watched.scans);
    assert!(watched.children.is_empty(), "the server started processes: {:?}", watched.children);
    assert!(!std::path::Path::new(marker).exists(), "a command from a document ran");
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_text_stays_out_of_logs_at_info_level() {
    let config = nextedit_tests::scratch_dir("logs");
    let log = config.path().join("nextedit.log");
    std::fs::create_dir_all(config.path().join("nextedit")).unwrap();
    std::fs::write(
        config.path().join("nextedit").join("config.toml"),
        format!("[log]\nlevel = \"info\"\nfile = {:?}\n", log.to_str().unwrap()),
    )
    .unwrap();
    let mut client = TestClient::spawn(
        &[],
        &[("XDG_CONFIG_HOME", config.path().to_str().unwrap()), ("RUST_LOG", "")],
    )
    .await
    .unwrap();
    client.initialize(json!({"model": {"backend": "none"}, "bogus": true})).await.unwrap();
    exercise(&mut client).await;
    // Malformed input is logged too; its content must not be.
    let broken = format!("{{\"{SECRET}");
    client
        .send_raw(format!("Content-Length: {}\r\n\r\n{broken}", broken.len()).as_bytes())
        .await
        .unwrap();
    client.null_id_error().await.unwrap();
    assert_eq!(client.finish().await.unwrap(), 0);
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("unknown setting `bogus`"),
        "the log file from the user config is used:\n{written}"
    );
    assert!(!written.contains(SECRET), "document text in the log:\n{written}");
}
