//! The remote backend end to end: the real binary, LSP over stdio, and an inference server over
//! HTTP. Most tests use [`FaultyServer`], which fails on purpose; the last ones run llama-cpp-python's
//! real server with the Gemma test model.

use nextedit_tests::TestClient;
use nextedit_tests::inference::{
    Behaviour, CuttingProxy, FaultyServer, InferenceServer, ProxyMode,
};
use serde_json::{Value, json};

const KEY_VARIABLE: &str = "NEXTEDIT_TEST_API_KEY";
const KEY: &str = "sk-test-7f3a9c1e5d2b8f40";
/// The part of the key that no other text has, to find it in any quoting.
const KEY_SECRET_PART: &str = "7f3a9c1e5d2b8f40";

const URI: &str = "file:///w/calls.rs";
const BEFORE: &str = "fn main() {\n    let a = compute(1, 2);\n    let b = compute(3, 4);\n    let c = compute(5, 6);\n}\n";

/// Remote settings for `endpoint`, model only (the symbolic engine off).
fn remote_options(endpoint: &str, openai: Value) -> Value {
    let mut settings = json!({"endpoint": endpoint, "api_key_env": KEY_VARIABLE, "retries": 1});
    settings.as_object_mut().unwrap().extend(openai.as_object().cloned().unwrap_or_default());
    json!({
        "model": {"backend": "openai"},
        "openai": settings,
        "symbolic": {"enabled": false},
        // The route to a suggestion is under test, not the confidence gate.
        "predict": {"request_timeout_ms": 60000, "debounce_ms": 0, "min_confidence": 0.0},
    })
}

async fn start_client(options: Value, env: &[(&str, &str)]) -> TestClient {
    let mut env = env.to_vec();
    env.push((KEY_VARIABLE, KEY));
    let mut client = TestClient::spawn(&[], &env).await.unwrap();
    client
        .initialize_with(
            options,
            json!({"general": {"positionEncodings": ["utf-16"]}, "workspace": {"workspaceEdit": {"documentChanges": true}}}),
        )
        .await
        .unwrap();
    client
}

/// Waits for the first `nextedit/status` that is not `loading`.
async fn settled_status(client: &mut TestClient) -> Value {
    loop {
        let status = client.notification("nextedit/status").await.unwrap();
        if status["state"] != "loading" {
            return status;
        }
    }
}

/// Types `, true` into the first call and asks for the next edit.
async fn edit_and_ask(client: &mut TestClient, version: i32) -> Value {
    let line = (version as u32 - 1) % 3 + 1;
    let column = if version <= 3 { 24 } else { 30 };
    client
        .change(
            URI,
            version,
            (line, column, line, column),
            if version <= 3 { ", true" } else { " " },
        )
        .await
        .unwrap();
    client
        .call(
            "textDocument/copilotInlineEdit",
            json!({"textDocument": {"uri": URI, "version": version}, "position": {"line": line, "character": column + 6}}),
        )
        .await
        .unwrap()
}

fn rewrite() -> Behaviour {
    Behaviour::Rewrite { from: "compute(3, 4)".to_owned(), to: "compute(3, 4, true)".to_owned() }
}

/// A user config in a fresh directory that sends the log to a file, and the environment that runs
/// the server with `RUST_LOG=trace`. `RUST_LOG` wins over `log.level`, and a bare level in it
/// applies to every crate, so the HTTP client (hyper, reqwest) logs at trace level too; a
/// `log.level` of `trace` would only mean `nextedit=trace`. Returns the directory and the log.
fn trace_logging(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let config = nextedit_tests::scratch_dir(name);
    let log = config.path().join("trace.log");
    std::fs::create_dir_all(config.path().join("nextedit")).unwrap();
    std::fs::write(
        config.path().join("nextedit/config.toml"),
        format!("[log]\nfile = {:?}\n", log.to_str().unwrap()),
    )
    .unwrap();
    (config, log)
}

/// Reads the log written with [`trace_logging`], checks that it holds trace lines from the HTTP
/// client (so it really is at trace level for every crate) and that the key is nowhere in it.
fn trace_log_without_key(log: &std::path::Path) -> String {
    let written = std::fs::read_to_string(log).unwrap();
    let http_trace_lines = written
        .lines()
        .filter(|line| {
            line.contains(" TRACE ") && (line.contains(" hyper") || line.contains(" reqwest"))
        })
        .count();
    assert!(
        http_trace_lines > 0,
        "no TRACE line from the HTTP client: the log is not at trace level for it:\n{written}"
    );
    assert!(!written.contains(KEY_SECRET_PART), "the API key is in the log:\n{written}");
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_server_gives_a_suggestion_and_never_sees_the_key_in_logs() {
    let server = FaultyServer::start("zeta-test", rewrite()).await.unwrap();
    let (config, log) = trace_logging("trace");
    let mut client = start_client(
        remote_options(&server.endpoint(), json!({})),
        &[("XDG_CONFIG_HOME", config.path().to_str().unwrap()), ("RUST_LOG", "trace")],
    )
    .await;
    let status = settled_status(&mut client).await;
    assert_eq!(status["state"], "ready", "{status}");
    assert!(status["message"].as_str().unwrap().contains("zeta-test"), "{status}");

    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    let edits = result["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{result}");
    assert_eq!(edits[0]["range"]["start"], json!({"line": 2, "character": 24}), "{result}");
    assert_eq!(edits[0]["text"], ", true", "{result}");

    // What the server was sent.
    let request = server.completion_requests().pop().unwrap();
    assert_eq!(request.path, "/v1/completions");
    assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    let body = &request.body;
    assert_eq!(body["model"], "zeta-test");
    assert_eq!(body["stream"], true);
    assert_eq!(body["temperature"], 0.0);
    assert!(
        body.get("n").is_none() && body.get("seed").is_none(),
        "greedy decoding asks for one answer: {body}"
    );
    assert!(body["max_tokens"].as_u64().unwrap() > 0, "{body}");
    assert_eq!(body["stop"], json!(["<|editable_region_end|>"]));
    assert_eq!(body["cache_prompt"], true);
    let draft = body["prediction"]["content"].as_str().unwrap();
    assert!(
        draft.starts_with("<|editable_region_start|>") && draft.contains("compute(3, 4)"),
        "{draft}"
    );
    assert!(body["prompt"].as_str().unwrap().contains("compute(1, 2, true)"), "{body}");

    assert_eq!(client.finish().await.unwrap(), 0);
    trace_log_without_key(&log);
}

/// A server that refuses the key and quotes it back in its error: the message, the status and the
/// log all say what happened, with the key replaced by `<hidden>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_echoes_the_key_in_a_401_never_gets_it_into_messages_or_logs() {
    let server = FaultyServer::start("zeta-test", Behaviour::EchoAuthorization).await.unwrap();
    let (config, log) = trace_logging("echo");
    let options = remote_options(&server.endpoint(), json!({"retries": 0}));
    let mut client = start_client(
        options,
        &[("XDG_CONFIG_HOME", config.path().to_str().unwrap()), ("RUST_LOG", "trace")],
    )
    .await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"], json!([]), "{result}");

    // The server did get the key, and did send it back.
    let request = server.completion_requests().pop().unwrap();
    assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()));

    let status = client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "error")
        .await
        .unwrap();
    let status_message = status["params"]["message"].as_str().unwrap();
    assert!(
        status_message.contains("401") && status_message.contains("Bearer <hidden>"),
        "{status}"
    );
    let shown = client
        .wait_for(|m| {
            m["method"] == "window/showMessage"
                && m["params"]["message"].as_str().is_some_and(|text| text.contains("401"))
        })
        .await
        .unwrap();
    let shown_message = shown["params"]["message"].as_str().unwrap();
    assert!(shown_message.contains("Bearer <hidden>"), "{shown}");
    for seen in [&result, &status, &shown] {
        assert!(
            !seen.to_string().contains(KEY_SECRET_PART),
            "the API key reached the client: {seen}"
        );
    }
    assert_eq!(client.finish().await.unwrap(), 0);
    let written = trace_log_without_key(&log);
    assert!(
        written.contains("401") && written.contains("Bearer <hidden>"),
        "the refusal is logged, redacted:\n{written}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_server_is_trusted_only_with_its_ca() {
    let (server, ca_pem) = FaultyServer::start_tls("zeta-test", rewrite()).await.unwrap();
    let endpoint = format!("https://localhost:{}", server.port);
    let directory = nextedit_tests::scratch_dir("tls");
    let ca_file = directory.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();

    // Without the CA the certificate is refused: no suggestion, and the message says why.
    let mut client = start_client(remote_options(&endpoint, json!({"retries": 0})), &[]).await;
    settled_status(&mut client).await;
    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"], json!([]), "{result}");
    let status = client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "error")
        .await
        .unwrap();
    assert!(
        status["params"]["message"].as_str().unwrap().to_lowercase().contains("certificate"),
        "{status}"
    );
    assert!(server.completion_requests().is_empty());
    assert_eq!(client.finish().await.unwrap(), 0);

    // With it, the request goes through TLS.
    let options = remote_options(&endpoint, json!({"ca_file": ca_file.to_str().unwrap()}));
    let mut client = start_client(options, &[]).await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"][0]["text"], ", true", "{result}");
    assert_eq!(server.completion_requests().len(), 1);
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_the_hints_gets_requests_without_them() {
    let server = FaultyServer::start("zeta-test", rewrite()).await.unwrap();
    server.refuse_hints(true);
    let mut client = start_client(remote_options(&server.endpoint(), json!({})), &[]).await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"].as_array().unwrap().len(), 1, "{result}");
    let requests = server.completion_requests();
    assert_eq!(requests.len(), 2, "one refused, one without hints");
    assert!(requests[0].body.get("prediction").is_some());
    assert!(
        requests[1].body.get("prediction").is_none()
            && requests[1].body.get("cache_prompt").is_none()
    );
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_format_goes_to_chat_completions_as_messages() {
    let server = FaultyServer::start("instinct-test", rewrite()).await.unwrap();
    let mut client = start_client(remote_options(&server.endpoint(), json!({})), &[]).await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"][0]["text"], ", true", "{result}");
    let request = server.completion_requests().pop().unwrap();
    assert_eq!(request.path, "/v1/chat/completions");
    let messages = request.body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages.last().unwrap()["role"], "user");
    assert!(request.body.get("prompt").is_none());
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// Each failure ends in no suggestion, one status change to `error`, a message naming the server,
/// the documents intact, and a working suggestion once the server behaves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_resetting_failing_and_garbage_servers_degrade_and_recover() {
    let server = FaultyServer::start("zeta-test", rewrite()).await.unwrap();
    let options =
        remote_options(&server.endpoint(), json!({"timeout_ms": 1500, "connect_timeout_ms": 500}));
    let mut client = start_client(options, &[]).await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    client.open(URI, "rust", BEFORE).await.unwrap();

    let faults = [
        (Behaviour::Hang, "within 1500 ms"),
        (Behaviour::Reset, "failed"),
        (Behaviour::Garbage, "not JSON"),
        (Behaviour::Status(503), "503"),
        (Behaviour::Status(401), "401"),
    ];
    let mut version = 0;
    let mut expected = BEFORE.to_owned();
    for (fault, words) in faults {
        server.set_behaviour(fault.clone());
        version += 1;
        let result = edit_and_ask(&mut client, version).await;
        assert_eq!(result["edits"], json!([]), "{fault:?}: {result}");
        let status = client
            .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "error")
            .await
            .unwrap();
        let message = status["params"]["message"].as_str().unwrap();
        assert!(
            message.contains(&server.endpoint()) && message.contains(words),
            "{fault:?}: {message}"
        );
        assert!(!message.contains(KEY));

        // Back to normal: the next edit gets its suggestion and the status says so.
        server
            .set_behaviour(Behaviour::Rewrite { from: "let".to_owned(), to: "let mut".to_owned() });
        version += 1;
        let result = edit_and_ask(&mut client, version).await;
        assert!(
            !result["edits"].as_array().unwrap().is_empty(),
            "{fault:?}: no recovery: {result}"
        );
        client
            .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "ready")
            .await
            .unwrap();
        // The documents are intact: replay the same edits on the expected text.
        for edit_version in [version - 1, version] {
            let line = ((edit_version as u32 - 1) % 3 + 1) as usize;
            let column = if edit_version <= 3 { 24 } else { 30 };
            let text = if edit_version <= 3 { ", true" } else { " " };
            let start: usize =
                expected.split_inclusive('\n').take(line).map(str::len).sum::<usize>() + column;
            expected.insert_str(start, text);
        }
        assert_eq!(client.document_text(URI).await.unwrap(), expected);
    }
    // One message per distinct problem, not one per request.
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_reported_and_requests_stay_bounded() {
    // A port with nothing behind it.
    let port =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut options = remote_options(&endpoint, json!({"connect_timeout_ms": 500}));
    options["model"]["format"] = json!("zeta");
    let mut client = start_client(options, &[]).await;
    let status = settled_status(&mut client).await;
    assert_eq!(status["state"], "ready", "suggestions start once the server answers: {status}");
    let warning = client.notification("window/showMessage").await.unwrap();
    assert!(warning["message"].as_str().unwrap().contains("did not answer"), "{warning}");
    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"], json!([]));
    let status = client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "error")
        .await
        .unwrap();
    assert!(status["params"]["message"].as_str().unwrap().contains("cannot reach"), "{status}");

    // The server starts later: the next edit asks it which model it serves, then gets a suggestion.
    let server = FaultyServer::start_on(port, "zeta-late", rewrite()).await.unwrap();
    client.change(URI, 2, (3, 24, 3, 24), ", true").await.unwrap();
    let result = client
        .call("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": URI, "version": 2}, "position": {"line": 3, "character": 30}}))
        .await
        .unwrap();
    assert_eq!(result["edits"][0]["text"], ", true", "{result}");
    client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "ready")
        .await
        .unwrap();
    assert_eq!(server.completion_requests().pop().unwrap().body["model"], "zeta-late");
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_in_flight_requests_are_open() {
    let server = FaultyServer::start("zeta-test", Behaviour::Hang).await.unwrap();
    let options = remote_options(
        &server.endpoint(),
        json!({"timeout_ms": 4000, "max_in_flight": 2, "retries": 0}),
    );
    let mut client = start_client(options, &[]).await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    // Four documents edited at once: four prediction jobs.
    for index in 0..4 {
        let uri = format!("file:///w/doc{index}.rs");
        client.open(&uri, "rust", BEFORE).await.unwrap();
        client.change(&uri, 1, (1, 24, 1, 24), ", true").await.unwrap();
    }
    server.wait_for_completions(2).await.unwrap();
    // Every job ends by its time limit; the two without a slot never reach the server.
    for index in 0..4 {
        let uri = format!("file:///w/doc{index}.rs");
        let result = client
            .call("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": uri, "version": 1}, "position": {"line": 1, "character": 30}}))
            .await
            .unwrap();
        assert_eq!(result["edits"], json!([]));
    }
    assert_eq!(server.most_open_completions(), 2);
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// The user types again while the server is still working on the previous version: nextedit
/// closes that request (so the server can stop decoding) and asks about the new text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_again_closes_the_request_in_flight() {
    let server = FaultyServer::start("zeta-test", Behaviour::Hang).await.unwrap();
    // Long limits, so that only the cancellation can close the hanging request in time.
    let options = remote_options(&server.endpoint(), json!({"timeout_ms": 600000, "retries": 0}));
    let mut client = start_client(options, &[]).await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    client.open(URI, "rust", BEFORE).await.unwrap();
    client.change(URI, 1, (1, 24, 1, 24), ", true").await.unwrap();
    server.wait_for_completions(1).await.unwrap();
    assert_eq!(server.open_completions(), 1, "the request for version 1 hangs");

    // The next request is answered at once; the hanging one stays open unless nextedit closes it.
    server.set_behaviour(Behaviour::Rewrite {
        from: "compute(5, 6)".to_owned(),
        to: "compute(5, 6, true)".to_owned(),
    });
    client.change(URI, 2, (2, 24, 2, 24), ", true").await.unwrap();
    server.wait_for_open_completions_at_most(0, std::time::Duration::from_secs(5)).await.unwrap();
    let result = client
        .call("textDocument/copilotInlineEdit", json!({"textDocument": {"uri": URI, "version": 2}, "position": {"line": 2, "character": 30}}))
        .await
        .unwrap();
    assert_eq!(result["edits"][0]["text"], ", true", "{result}");
    assert_eq!(
        result["edits"][0]["range"]["start"],
        json!({"line": 3, "character": 24}),
        "{result}"
    );
    assert_eq!(server.completion_requests().len(), 2, "one request per version");
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// An overload answer (503) is tried `openai.retries` more times, and no more; a refusal (401) is
/// not tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_are_retried_exactly_retries_times() {
    let server = FaultyServer::start("zeta-test", Behaviour::Status(503)).await.unwrap();
    let retries = 3;
    let options = remote_options(&server.endpoint(), json!({"retries": retries}));
    let mut client = start_client(options, &[]).await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    client.open(URI, "rust", BEFORE).await.unwrap();
    // The answer comes once the job has given up, after its last attempt.
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"], json!([]), "{result}");
    let status = client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "error")
        .await
        .unwrap();
    assert!(status["params"]["message"].as_str().unwrap().contains("503"), "{status}");
    assert_eq!(
        server.completion_requests().len(),
        retries + 1,
        "the first attempt and {retries} retries"
    );

    server.set_behaviour(Behaviour::Status(401));
    let result = edit_and_ask(&mut client, 2).await;
    assert_eq!(result["edits"], json!([]), "{result}");
    assert_eq!(server.completion_requests().len(), retries + 2, "a 401 is not retried");
    assert_eq!(client.finish().await.unwrap(), 0);
}

/// With sampling on and several candidates, one request asks for all of them with `n`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_sampled_candidates_are_asked_for_with_n() {
    let server = FaultyServer::start("zeta-test", rewrite()).await.unwrap();
    let mut options = remote_options(&server.endpoint(), json!({}));
    options["predict"]["candidates"] = json!(3);
    options["predict"]["temperature"] = json!(0.5);
    options["predict"]["top_p"] = json!(0.75);
    let mut client = start_client(options, &[]).await;
    assert_eq!(settled_status(&mut client).await["state"], "ready");
    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"][0]["text"], ", true", "{result}");
    let requests = server.completion_requests();
    assert_eq!(requests.len(), 1, "one request for every candidate");
    let body = &requests[0].body;
    assert_eq!(body["n"], 3, "{body}");
    assert_eq!(body["temperature"], 0.5, "{body}");
    assert_eq!(body["top_p"], 0.75, "{body}");
    assert!(body["seed"].is_u64(), "sampling is reproducible: {body}");
    assert_eq!(client.finish().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_file_cannot_point_the_server_at_a_host() {
    let server = FaultyServer::start("zeta-test", rewrite()).await.unwrap();
    let workspace = nextedit_tests::scratch_dir("trust");
    std::fs::write(
        workspace.path().join("nextedit.toml"),
        format!(
            "[model]\nbackend = \"openai\"\n\n[openai]\nendpoint = \"{}\"\n",
            server.endpoint()
        ),
    )
    .unwrap();
    let config = nextedit_tests::scratch_dir("trust-config");
    let mut client =
        TestClient::spawn(&[], &[("XDG_CONFIG_HOME", config.path().to_str().unwrap())])
            .await
            .unwrap();
    let root = format!("file://{}", workspace.path().display());
    client
        .call(
            "initialize",
            json!({
                "processId": null,
                "rootUri": root,
                "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
                "initializationOptions": {"symbolic": {"enabled": false}, "model": {"path": "/nonexistent/model.gguf"}},
            }),
        )
        .await
        .unwrap();
    client.notify("initialized", json!({})).await.unwrap();
    let warning = client
        .wait_for(|m| {
            m["method"] == "window/showMessage"
                && m["params"]["message"]
                    .as_str()
                    .is_some_and(|text| text.contains("only honoured from user settings"))
        })
        .await
        .unwrap();
    assert!(warning["params"]["message"].as_str().unwrap().contains("nextedit.toml"), "{warning}");
    // The workspace's backend and endpoint are dropped: the embedded backend is used (and fails on
    // the missing file), and nothing reaches the host.
    let status = settled_status(&mut client).await;
    assert_eq!(status["state"], "error", "{status}");
    assert!(status["message"].as_str().unwrap().contains("/nonexistent/model.gguf"), "{status}");
    client.open(URI, "rust", BEFORE).await.unwrap();
    let result = edit_and_ask(&mut client, 1).await;
    assert_eq!(result["edits"], json!([]));
    assert_eq!(client.finish().await.unwrap(), 0);
    assert!(
        server.requests().is_empty(),
        "the workspace's endpoint was contacted: {:?}",
        server.requests()
    );
}

/// llama-cpp-python's server with the Gemma test model: a real suggestion through the remote
/// backend; the server killed mid-stream gives a clean error; once it is back, predictions work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_inference_server_suggests_survives_a_kill_mid_stream_and_recovers() {
    let model = nextedit_tests::model_path();
    let inference = InferenceServer::start(&model, 0).await.unwrap();
    let port = inference.port;
    let proxy = CuttingProxy::start(port).await.unwrap();
    let options = json!({
        "model": {"backend": "openai"},
        "openai": {"endpoint": proxy.endpoint(), "timeout_ms": 120000, "retries": 1},
        "symbolic": {"enabled": false},
        "predict": {"request_timeout_ms": 120000},
    });
    let mut client = start_client(options, &[]).await;
    let status = settled_status(&mut client).await;
    assert_eq!(status["state"], "ready", "{status}");

    // The same fixture the embedded model suggests on (see model_e2e.rs).
    let uri = "file:///w/geo.py";
    let before = "def area(rect):\n    width = rect.width\n    height = rect.height\n    return width * height\n";
    client.open(uri, "python", before).await.unwrap();
    client.change(uri, 1, (1, 4, 1, 9), "w").await.unwrap();
    let current = client.document_text(uri).await.unwrap();
    let ask = |version: i32, line: u32, character: u32| json!({"textDocument": {"uri": uri, "version": version}, "position": {"line": line, "character": character}});
    let result = client.call("textDocument/copilotInlineEdit", ask(1, 1, 5)).await.unwrap();
    let edits = result["edits"].as_array().unwrap();
    assert!(!edits.is_empty(), "no suggestion from the inference server: {result}");
    let first_suggestion = ranges_and_texts(edits);
    let after = nextedit_tests::apply_ascii_edits(&current, edits);
    let tree =
        nextedit::syntax::parse_str(nextedit_grammars::by_id("python").unwrap(), &after).unwrap();
    assert_eq!(nextedit::syntax::count_errors_in_range(&tree, 0..after.len()), 0, "{after}");

    // Kill the server once its answer has started streaming.
    proxy.set_mode(ProxyMode::HoldAfterFirstEvent);
    let held = proxy.held();
    client.change(uri, 2, (2, 4, 2, 10), "h").await.unwrap();
    let id = client.send_request("textDocument/copilotInlineEdit", ask(2, 2, 5)).await.unwrap();
    tokio::time::timeout(nextedit_tests::WAIT, held)
        .await
        .expect("the answer never started streaming");
    inference.kill().await.unwrap();
    let response = client.response(id).await.unwrap();
    assert_eq!(response["result"]["edits"], json!([]), "{response}");
    let status = client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "error")
        .await
        .unwrap();
    assert!(status["params"]["message"].as_str().unwrap().contains("broke off"), "{status}");

    // Back on the same port, the server predicts again. Statuses sent so far are dropped, so that
    // the `ready` below can only be one sent after the restart.
    client.drain_ready().await.unwrap();
    client.take_read(|m| m["method"] == "nextedit/status");
    proxy.set_mode(ProxyMode::Forward);
    let inference = InferenceServer::start(&model, port).await.unwrap();
    let forwarded_before_restart = proxy.completion_requests();
    // The document starts over and gets the first edit again: the same prompt goes to a server as
    // fresh as the first one was, so greedy decoding gives the same suggestion.
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}})).await.unwrap();
    client.open(uri, "python", before).await.unwrap();
    client.change(uri, 1, (1, 4, 1, 9), "w").await.unwrap();
    let result = client.call("textDocument/copilotInlineEdit", ask(1, 1, 5)).await.unwrap();
    assert!(
        proxy.completion_requests() > forwarded_before_restart,
        "no request reached the restarted server"
    );
    // `ready` follows the first complete answer after the failure, so the new server answered.
    client
        .wait_for(|m| m["method"] == "nextedit/status" && m["params"]["state"] == "ready")
        .await
        .unwrap();
    let edits = result["edits"].as_array().unwrap();
    assert_eq!(
        ranges_and_texts(edits),
        first_suggestion,
        "the restarted server's suggestion: {result}"
    );
    assert_eq!(client.finish().await.unwrap(), 0);
    inference.kill().await.unwrap();
}

/// The range and text of each edit, without the suggestion's id.
fn ranges_and_texts(edits: &[Value]) -> Vec<(Value, Value)> {
    edits.iter().map(|edit| (edit["range"].clone(), edit["text"].clone())).collect()
}

/// A Python file of 30 assignments, `value_N = compute(N)`.
fn values_file() -> String {
    (0..30).map(|index| format!("value_{index} = compute({index})\n")).collect()
}

/// The column just before the `)` of line `line` of [`values_file`].
fn close_paren(line: u32) -> u32 {
    format!("value_{line} = compute({line}").len() as u32
}

/// What a next-edit model is asked after three edits in `pkg/shapes.py` of a workspace whose
/// folder name has a space and a non-ASCII letter, and what it suggests: `, True` added to
/// `compute(2)` and `compute(13)` (earlier edits, far apart so each is its own event), then to
/// `compute(24)` (the latest); the model answers in its own shape with the same edit on line 25.
async fn ask_a_next_edit_model(model: &str, truncated: bool) -> (Value, Value) {
    let behaviour = Behaviour::NextEditModel {
        from: "compute(25)".to_owned(),
        to: "compute(25, True)".to_owned(),
        truncated,
    };
    let server = FaultyServer::start(model, behaviour).await.unwrap();
    let scratch = nextedit_tests::scratch_dir("formats");
    let root = scratch.path().join("My Wörk");
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    let root_uri = nextedit::text::uri::path_to_file_uri(&root);
    let uri = nextedit::text::uri::path_to_file_uri(&root.join("pkg/shapes.py"));
    assert!(root_uri.contains("My%20W%C3%B6rk"), "{root_uri}");

    let mut env = vec![(KEY_VARIABLE, KEY)];
    let config_home = scratch.path().join("config");
    let config_home = config_home.to_str().unwrap();
    env.push(("XDG_CONFIG_HOME", config_home));
    let mut client = TestClient::spawn(&[], &env).await.unwrap();
    client
        .call(
            "initialize",
            json!({
                "processId": null,
                "rootUri": root_uri,
                "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
                "initializationOptions": remote_options(&server.endpoint(), json!({})),
            }),
        )
        .await
        .unwrap();
    client.notify("initialized", json!({})).await.unwrap();
    let status = settled_status(&mut client).await;
    assert_eq!(status["state"], "ready", "{status}");

    client.open(&uri, "python", &values_file()).await.unwrap();
    for (version, line) in [(1, 2), (2, 13), (3, 24)] {
        let column = close_paren(line);
        client.change(&uri, version, (line, column, line, column), ", True").await.unwrap();
    }
    let result = client
        .call(
            "textDocument/copilotInlineEdit",
            json!({"textDocument": {"uri": uri, "version": 3}, "position": {"line": 24, "character": close_paren(24) + 6}}),
        )
        .await
        .unwrap();
    // The request for the latest version: an earlier job's request, cancelled when the next
    // change came, may reach the server's record later than it.
    let request = server
        .completion_requests()
        .into_iter()
        .rev()
        .find(|request| request.body.to_string().contains("compute(24, True)"))
        .expect("the model was asked about the latest version");
    assert_eq!(client.finish().await.unwrap(), 0);
    (result, request.body)
}

/// The suggestion a model-shaped answer becomes: `, True` on line 25.
fn assert_suggests_line_25(result: &Value) {
    let edits = result["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{result}");
    let column = close_paren(25);
    assert_eq!(
        edits[0]["range"],
        json!({"start": {"line": 25, "character": column}, "end": {"line": 25, "character": column}}),
        "{result}"
    );
    assert_eq!(edits[0]["text"], ", True", "{result}");
}

/// The earlier edits' diffs as every format shows them (3 context lines).
fn assert_holds_the_history(prompt: &str) {
    for line in [2, 13] {
        assert!(prompt.contains(&format!("-value_{line} = compute({line})\n")), "{prompt}");
        assert!(prompt.contains(&format!("+value_{line} = compute({line}, True)\n")), "{prompt}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_gets_its_trained_layout_and_its_window_becomes_the_suggestion() {
    let (result, body) = ask_a_next_edit_model("sweep-next-edit-1.5b", false).await;
    assert_suggests_line_25(&result);
    let prompt = body["prompt"].as_str().unwrap();
    assert!(body["max_tokens"].as_u64().unwrap() >= 512, "{body}");
    assert_eq!(body["stop"][0], "<|file_sep|>");
    // The earlier edits as `.diff` files with their context lines.
    assert!(
        prompt.contains("<|file_sep|>pkg/shapes.py.diff\noriginal:\nvalue_10 = compute(10)\nvalue_11 = compute(11)\nvalue_12 = compute(12)\nvalue_13 = compute(13)\n"),
        "{prompt}"
    );
    let window = |name: &str| {
        let header = format!("<|file_sep|>{name}/pkg/shapes.py\n");
        let start =
            prompt.find(&header).unwrap_or_else(|| panic!("no {header}: {prompt}")) + header.len();
        prompt[start..start + prompt[start..].find("<|file_sep|>").unwrap()].to_owned()
    };
    let current = window("current");
    assert!(current.starts_with("value_14 = compute(14)\n"), "{current}");
    assert!(current.contains("value_24 = compute(24, True)\n"), "{current}");
    // Before the latest edit, mapped through it: the two windows differ by exactly that edit.
    assert_eq!(window("original"), current.replace("compute(24, True)", "compute(24)"));
    assert!(prompt.ends_with("<|file_sep|>updated/pkg/shapes.py\n"), "{prompt}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeta_gets_its_trained_instruction_and_its_marked_region_becomes_the_suggestion() {
    let (result, body) = ask_a_next_edit_model("zed-industries/zeta", false).await;
    assert_suggests_line_25(&result);
    let prompt = body["prompt"].as_str().unwrap();
    assert!(prompt.starts_with("### Instruction:\nYou are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.\n\n### User Edits:\n\nUser edited \"pkg/shapes.py\":\n```diff\n"), "{prompt}");
    assert_eq!(prompt.matches("User edited \"pkg/shapes.py\":").count(), 3, "{prompt}");
    assert_holds_the_history(prompt);
    assert!(prompt.contains("### User Excerpt:\n\n```pkg/shapes.py\n"), "{prompt}");
    assert!(prompt.ends_with("\n```\n\n### Response:\n"), "{prompt}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeta2_gets_its_seed_coder_layout_and_its_merge_answer_becomes_the_suggestion() {
    let (result, body) = ask_a_next_edit_model("zed-industries/zeta-2", false).await;
    assert_suggests_line_25(&result);
    let prompt = body["prompt"].as_str().unwrap();
    assert!(prompt.starts_with("<[fim-suffix]>"), "{prompt}");
    assert!(
        prompt.contains(
            "<[fim-prefix]><filename>edit_history\n--- a/pkg/shapes.py\n+++ b/pkg/shapes.py\n@@ "
        ),
        "{prompt}"
    );
    assert_holds_the_history(prompt);
    assert!(prompt.contains("\n<filename>pkg/shapes.py\n"), "{prompt}");
    assert!(prompt.contains("<<<<<<< CURRENT\n") && prompt.contains("<|user_cursor|>"), "{prompt}");
    assert!(prompt.ends_with("=======\n<[fim-middle]>"), "{prompt}");
    assert_eq!(body["stop"][0], ">>>>>>> UPDATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instinct_gets_its_trained_prompts_and_its_bare_region_becomes_the_suggestion() {
    let (result, body) = ask_a_next_edit_model("continuedev/instinct", false).await;
    assert_suggests_line_25(&result);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{body}");
    let system = messages[0]["content"].as_str().unwrap();
    assert!(system.starts_with("You are Instinct, an intelligent next-edit predictor developed by Continue.dev. Your role as an AI assistant is to help developers"), "{system}");
    assert!(system.ends_with("- Avoid undoing or reverting the developer's last change unless there are obvious typos or errors.\n\n"), "{system}");
    let user = messages[1]["content"].as_str().unwrap();
    assert!(user.starts_with("Reference the user excerpt, user edits, and the snippets to understand the developer's intent. Update the editable region of the user excerpt by predicting and completing the changes they would have made next. This may be a deletion, addition, or modification of code.\n\n### Context:\n\n"), "{user}");
    assert_eq!(
        user.matches("User edited file \"pkg/shapes.py\"\n\n```diff\n").count(),
        3,
        "{user}"
    );
    assert_holds_the_history(user);
    // Newest first, as the trained system prompt says.
    assert!(
        user.find("compute(24, True)").unwrap() < user.find("compute(2, True)").unwrap(),
        "{user}"
    );
    assert!(user.contains("### User Excerpt:\n\"pkg/shapes.py\"\n\n"), "{user}");
    // The region reaches the end of the file: the excerpt ends with the end marker, no line break.
    assert!(
        user.ends_with("value_24 = compute(24, True<|user_cursor_is_here|>)\nvalue_25 = compute(25)\nvalue_26 = compute(26)\nvalue_27 = compute(27)\nvalue_28 = compute(28)\nvalue_29 = compute(29)\n<|editable_region_end|>"),
        "{user}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_answer_gives_no_suggestion_in_any_format() {
    for model in [
        "sweep-next-edit-1.5b",
        "zed-industries/zeta",
        "zed-industries/zeta-2",
        "continuedev/instinct",
    ] {
        let (result, _) = ask_a_next_edit_model(model, true).await;
        assert_eq!(result["edits"], json!([]), "{model}: {result}");
    }
}
