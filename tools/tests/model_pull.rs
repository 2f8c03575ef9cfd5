//! `nextedit model pull` and `model list` through the real binary, against a stand-in hub on
//! 127.0.0.1 (this machine can't reach the real one): the hub answers the metadata request the
//! way Hugging Face does (sha256 in `X-Linked-Etag`, size in `X-Linked-Size`, a redirect to a
//! CDN on another port), and the CDN serves the file, with `Range` requests. Then `model.path =
//! "NAME"` finds the pulled file (checked through `nextedit doctor`).
#![cfg(feature = "pull")]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "hf_secret_test_token";

/// One request as the stand-in server saw it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// What the server sends back: status line, headers and body; `cut_after` closes the connection
/// after that many body bytes (with the full Content-Length announced).
struct Reply {
    status: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    cut_after: Option<usize>,
}

impl Reply {
    fn new(status: &'static str) -> Reply {
        Reply { status, headers: Vec::new(), body: Vec::new(), cut_after: None }
    }

    fn header(mut self, name: &str, value: impl ToString) -> Reply {
        self.headers.push((name.to_owned(), value.to_string()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A one-request-per-connection HTTP/1.1 server on 127.0.0.1 that records every request.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn start(handler: Box<Handler>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                serve(stream, handler.as_ref(), &recorded);
            }
        });
        Server { port, requests }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn gets(&self) -> Vec<Request> {
        self.requests().into_iter().filter(|request| request.method == "GET").collect()
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, recorded: &Mutex<Vec<Request>>) {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let request = Request { method, path, headers };
    recorded.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    let mut out = format!("HTTP/1.1 {}\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !reply.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-length")) {
        out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    if request.method != "HEAD" {
        let end = reply.cut_after.unwrap_or(reply.body.len()).min(reply.body.len());
        let _ = stream.write_all(&reply.body[..end]);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The file the tests download: 300 kB of varied bytes (not a GGUF file).
fn model_bytes() -> Vec<u8> {
    (0..300_000u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

/// A stand-in hub and its CDN serving `content` as `/{repo}/resolve/main/{file}`. The hub
/// reports `reported_sha256`; the CDN cuts its first answer after `cut_first_after` bytes.
struct Hub {
    hub: Server,
    cdn: Server,
}

impl Hub {
    fn start(
        repo: &str,
        file: &str,
        content: Vec<u8>,
        reported_sha256: String,
        cut_first_after: Option<usize>,
    ) -> Hub {
        let content = Arc::new(content);
        let served = Arc::clone(&content);
        let cut_once = AtomicBool::new(cut_first_after.is_some());
        let cdn = Server::start(Box::new(move |request: &Request| {
            if request.path != "/blobs/model" {
                return Reply::new("404 Not Found");
            }
            let start = request
                .header("range")
                .and_then(|range| range.strip_prefix("bytes="))
                .and_then(|range| range.trim_end_matches('-').parse::<usize>().ok());
            let mut reply = match start {
                Some(start) if start >= served.len() => Reply::new("416 Range Not Satisfiable")
                    .header("Content-Range", format!("bytes */{}", served.len())),
                Some(start) => {
                    let mut reply = Reply::new("206 Partial Content").header(
                        "Content-Range",
                        format!("bytes {start}-{}/{}", served.len() - 1, served.len()),
                    );
                    reply.body = served[start..].to_vec();
                    reply
                }
                None => {
                    let mut reply = Reply::new("200 OK");
                    reply.body = served.to_vec();
                    reply
                }
            };
            if cut_once.swap(false, Ordering::SeqCst) {
                reply.cut_after = cut_first_after;
            }
            reply
        }));
        let resolve_path = format!("/{repo}/resolve/main/{file}");
        let location = format!("{}/blobs/model", cdn.url());
        let size = content.len();
        let hub = Server::start(Box::new(move |request: &Request| {
            if request.path != resolve_path {
                return Reply::new("404 Not Found")
                    .header("X-Error-Code", "EntryNotFound")
                    .header("X-Error-Message", "Entry not found");
            }
            Reply::new("302 Found")
                .header("Location", &location)
                .header("X-Linked-Etag", format!("\"{reported_sha256}\""))
                .header("X-Linked-Size", size)
                .header("ETag", "W/\"0123456789abcdef0123456789abcdef01234567\"")
                .header("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567")
        }));
        Hub { hub, cdn }
    }
}

/// A scratch home: cache, config and home directories for one run of the binary.
struct Home {
    root: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home { root: tempfile::tempdir().unwrap() }
    }

    fn models(&self) -> PathBuf {
        self.root.path().join("cache").join("nextedit").join("models")
    }

    fn write_config(&self, text: &str) {
        let path = self.root.path().join("config").join("nextedit").join("config.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn nextedit(&self, args: &[&str], endpoint: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_nextedit"))
            .args(args)
            .env("HOME", self.root.path().join("home"))
            .env("XDG_CACHE_HOME", self.root.path().join("cache"))
            .env("XDG_CONFIG_HOME", self.root.path().join("config"))
            .env("HF_ENDPOINT", endpoint)
            .env("HF_TOKEN", TOKEN)
            .env_remove("NEXTEDIT_MODEL")
            .env_remove("RUST_LOG")
            .output()
            .expect("cannot run nextedit")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else { continue };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn pulls_a_catalogue_model_through_the_cdn_redirect_and_model_path_finds_it() {
    let repo = "ggml-org/Qwen2.5-Coder-0.5B-Q8_0-GGUF";
    let file = "qwen2.5-coder-0.5b-q8_0.gguf";
    let content = model_bytes();
    let stand_in = Hub::start(repo, file, content.clone(), sha256_hex(&content), None);
    let home = Home::new();

    let output = home.nextedit(&["model", "pull", "qwen2.5-coder-0.5b"], &stand_in.hub.url());
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let pulled = home.models().join(repo).join(file);
    assert_eq!(std::fs::read(&pulled).unwrap(), content);
    assert_eq!(files_under(&home.models()), [format!("{repo}/{file}")], "no part file is left");
    assert!(
        stdout.contains("model.path = \"qwen2.5-coder-0.5b\"\nmodel.format = \"fim\"\n"),
        "{stdout}"
    );
    assert!(stderr.contains("sha256") && stderr.contains("checked"), "{stderr}");
    // The token goes to the hub, never to the CDN, and is never printed.
    let hub_requests = stand_in.hub.requests();
    assert!(!hub_requests.is_empty());
    for request in &hub_requests {
        assert_eq!(request.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    }
    let cdn_requests = stand_in.cdn.gets();
    assert_eq!(cdn_requests.len(), 1, "{cdn_requests:?}");
    assert_eq!(cdn_requests[0].header("authorization"), None);
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));

    // A second pull finds it in the cache and downloads nothing.
    let again = home.nextedit(&["model", "pull", "qwen2.5-coder-0.5b"], &stand_in.hub.url());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("already in the cache"), "{}", text(&again.stderr));
    assert_eq!(stand_in.cdn.gets().len(), 1);
    // Also when the hub can't be reached.
    let offline = home.nextedit(&["model", "pull", "qwen2.5-coder-0.5b"], "http://127.0.0.1:1");
    let offline_stderr = text(&offline.stderr);
    assert_eq!(offline.status.code(), Some(0), "{offline_stderr}");
    assert!(offline_stderr.contains("cannot reach"), "{offline_stderr}");
    assert!(offline_stderr.contains("already in the cache"), "{offline_stderr}");
    assert!(text(&offline.stdout).contains("model.path = \"qwen2.5-coder-0.5b\""));

    // The list marks it pulled.
    let list = home.nextedit(&["model", "list"], &stand_in.hub.url());
    let listed = text(&list.stdout);
    let line = listed.lines().find(|line| line.starts_with("qwen2.5-coder-0.5b ")).unwrap();
    assert!(line.ends_with(" yes"), "{listed}");
    let line = listed.lines().find(|line| line.starts_with("sweep-next-edit-1.5b ")).unwrap();
    assert!(line.ends_with(" no"), "{listed}");

    // `model.path = "NAME"` resolves to the pulled file (which is no real model, so loading
    // it fails after the path is shown).
    home.write_config("[model]\npath = \"qwen2.5-coder-0.5b\"\n");
    let doctor = home.nextedit(&["doctor"], &stand_in.hub.url());
    let report = text(&doctor.stdout);
    assert!(report.contains(&format!("model file: {}\n", pulled.display())), "{report}");
    assert!(report.contains("not a GGUF model file"), "{report}");
}

#[test]
fn a_catalogue_name_that_is_not_pulled_gives_the_pull_command() {
    let home = Home::new();
    home.write_config("[model]\npath = \"sweep-next-edit-1.5b\"\n");
    let output = home.nextedit(&["doctor"], "http://127.0.0.1:1");
    let report = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(report.contains("run `nextedit model pull sweep-next-edit-1.5b`"), "{report}");
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let content = model_bytes();
    let half = content.len() / 2;
    let stand_in =
        Hub::start("org/repo", "model.gguf", content.clone(), sha256_hex(&content), Some(half));
    let home = Home::new();
    let output = home.nextedit(&["model", "pull", "org/repo/model.gguf"], &stand_in.hub.url());
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let pulled = home.models().join("org/repo/model.gguf");
    assert_eq!(std::fs::read(&pulled).unwrap(), content);
    let ranges: Vec<Option<String>> = stand_in
        .cdn
        .gets()
        .iter()
        .map(|request| request.header("range").map(str::to_owned))
        .collect();
    assert_eq!(ranges, [None, Some(format!("bytes={half}-"))]);
    assert!(stderr.contains("retrying"), "{stderr}");
    // A file outside the catalogue: its path, and format detection.
    let quoted = toml::Value::String(pulled.display().to_string()).to_string();
    assert!(
        stdout.contains(&format!("model.path = {quoted}\nmodel.format = \"auto\"\n")),
        "{stdout}"
    );
}

#[test]
fn a_part_file_from_an_earlier_run_is_resumed() {
    let content = model_bytes();
    let sha256 = sha256_hex(&content);
    let stand_in = Hub::start("org/repo", "model.gguf", content.clone(), sha256.clone(), None);
    let home = Home::new();
    let directory = home.models().join("org/repo");
    std::fs::create_dir_all(&directory).unwrap();
    let part = directory.join(format!("model.gguf.{}.part", &sha256[..16]));
    std::fs::write(&part, &content[..1000]).unwrap();
    let output = home.nextedit(&["model", "pull", "org/repo/model.gguf"], &stand_in.hub.url());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(std::fs::read(directory.join("model.gguf")).unwrap(), content);
    assert!(!part.exists());
    let gets = stand_in.cdn.gets();
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert_eq!(gets[0].header("range"), Some("bytes=1000-"));
}

#[test]
fn a_wrong_hash_is_refused_and_nothing_is_left_in_the_cache() {
    let content = model_bytes();
    let wrong = sha256_hex(b"another file");
    let stand_in = Hub::start("org/repo", "model.gguf", content, wrong, None);
    let home = Home::new();
    let output = home.nextedit(&["model", "pull", "org/repo/model.gguf"], &stand_in.hub.url());
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sha256 mismatch") && stderr.contains("deleted"), "{stderr}");
    assert_eq!(files_under(&home.models()), Vec::<String>::new());
    assert_eq!(text(&output.stdout), "", "no config lines for a refused file");
}

#[test]
fn a_missing_file_names_the_file_and_the_repository() {
    let content = model_bytes();
    let stand_in =
        Hub::start("org/repo", "model.gguf", content.clone(), sha256_hex(&content), None);
    let home = Home::new();
    let output = home.nextedit(&["model", "pull", "org/repo/nope.gguf"], &stand_in.hub.url());
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("file nope.gguf not found in repository org/repo"), "{stderr}");
    assert!(stand_in.cdn.requests().is_empty());
}

#[test]
fn a_refused_repository_mentions_hf_token_and_an_unreachable_hub_says_so() {
    let gated = Server::start(Box::new(|_: &Request| {
        Reply::new("401 Unauthorized")
            .header("X-Error-Code", "GatedRepo")
            .header("X-Error-Message", "Access to model org/gated is restricted")
    }));
    let home = Home::new();
    let output = home.nextedit(&["model", "pull", "org/gated/model.gguf"], &gated.url());
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused access to org/gated") && stderr.contains("HF_TOKEN"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN));

    // Nothing listens on port 1.
    let output = home.nextedit(&["model", "pull", "org/repo/model.gguf"], "http://127.0.0.1:1");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach http://127.0.0.1:1"), "{stderr}");

    // Not a catalogue name, not OWNER/REPO/FILE.gguf.
    let output = home.nextedit(&["model", "pull", "no-such-model"], "http://127.0.0.1:1");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("nextedit model list"), "{}", text(&output.stderr));
}
