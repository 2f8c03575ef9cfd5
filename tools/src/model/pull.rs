//! `nextedit model pull`: one GGUF file from the Hugging Face hub into the model cache.
//!
//! The protocol is the one `huggingface_hub` speaks:
//!
//! 1. `HEAD {endpoint}/{owner}/{repo}/resolve/{revision}/{file}` without following redirects
//!    (relative ones are followed, as the hub uses them for renamed repositories). The answer
//!    carries the file's sha256 in `X-Linked-Etag` (the LFS object id; a file outside LFS has
//!    only an `ETag` with its git blob id, which is refused since it can't be checked as a
//!    sha256), its size in `X-Linked-Size`, and for large files a redirect (`Location`) to a CDN
//!    host. Errors carry `X-Error-Code` (`RepoNotFound`, `EntryNotFound`,
//!    `RevisionNotFound`, `GatedRepo`).
//! 2. `GET` the file from where the redirect points. The `HF_TOKEN` bearer token goes to the
//!    endpoint's host only, never to the CDN.
//!
//! The bytes go to a `.part` file next to the destination, named after the expected sha256, so
//! a broken connection (in this run: retried with backoff; or in an earlier run) resumes with an
//! HTTP `Range` request. The finished file's sha256 must match the hub's; then it is synced and
//! renamed into place, so the cache never holds a partial or unchecked file under the final name.
//! A mismatch deletes the download.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use nextedit::engine::model::catalog::{self, CatalogEntry, HubFile};
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, Url};

use super::PullArgs;

/// The hub's public endpoint, as in `huggingface_hub`.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Consecutive failed attempts (without any progress in between) before giving up.
const MAX_RETRIES: u32 = 5;

/// Redirects followed by hand while asking for the metadata (relative ones only).
const MAX_METADATA_REDIRECTS: usize = 5;

pub fn run_pull(args: PullArgs) -> Result<()> {
    let entry = catalog::find(&args.name);
    let hub_file = match entry {
        Some(entry) => entry.hub_file(),
        None => HubFile::parse(&args.name)?,
    };
    let models_dir = nextedit::engine::model::model_cache_dir()
        .context("no model cache directory is known (set HOME or XDG_CACHE_HOME)")?;
    let destination = hub_file.cache_path(&models_dir);
    let hub = Hub::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome =
        runtime.block_on(pull(&hub, &hub_file, &args.revision, &destination, args.force))?;
    match &outcome {
        Outcome::AlreadyThere { bytes } => eprintln!(
            "{} ({}) is already in the cache: {} (--force downloads it again)",
            hub_file,
            super::gigabytes(*bytes),
            destination.display()
        ),
        Outcome::Downloaded { bytes, sha256 } => eprintln!(
            "downloaded {} ({}), sha256 {sha256} checked: {}",
            hub_file,
            super::gigabytes(*bytes),
            destination.display()
        ),
    }
    crate::print_stdout(&config_lines(entry, &hub_file, &destination))
}

/// What to put in the config to use the pulled file: `model.path` and `model.format` as dotted
/// TOML keys (valid at the top of `config.toml`).
fn config_lines(entry: Option<&CatalogEntry>, hub_file: &HubFile, destination: &Path) -> String {
    let path = match entry {
        Some(entry) => entry.name.to_owned(),
        None => destination.display().to_string(),
    };
    let known = entry.or_else(|| catalog::find_by_file_name(hub_file.file_name()));
    let format = known.map_or("auto", |entry| entry.format);
    let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
    let mut lines = format!(
        "# in ~/.config/nextedit/config.toml (or your editor's settings):\nmodel.path = {}\nmodel.format = {}\n",
        quoted(&path),
        quoted(format)
    );
    if known.is_none() {
        lines.push_str(
            "# \"auto\" detects the prompt format from the GGUF metadata; set it if you know it\n",
        );
    }
    lines
}

/// How a pull ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file was in the cache with the hub's size (or the hub could not be asked); nothing
    /// was downloaded.
    AlreadyThere {
        bytes: u64,
    },
    Downloaded {
        bytes: u64,
        sha256: String,
    },
}

/// Where the hub is and how to talk to it.
pub struct Hub {
    endpoint: Url,
    token: Option<String>,
    /// For metadata: follows no redirects.
    metadata_client: reqwest::Client,
    /// For the file: follows redirects (dropping the token on a change of host).
    download_client: reqwest::Client,
    /// The wait before the first retry; it doubles with each failure in a row, up to 16 times.
    retry_delay: Duration,
}

impl Hub {
    /// `HF_ENDPOINT` (default [`DEFAULT_ENDPOINT`]) and `HF_TOKEN`, as `huggingface_hub` reads
    /// them.
    pub fn from_env() -> Result<Hub> {
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        let token = std::env::var("HF_TOKEN")
            .ok()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty());
        Hub::new(&endpoint, token)
    }

    pub fn new(endpoint: &str, token: Option<String>) -> Result<Hub> {
        let endpoint = Url::parse(endpoint.trim_end_matches('/'))
            .map_err(|error| anyhow!("HF_ENDPOINT `{endpoint}` is not a URL: {error}"))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            bail!("HF_ENDPOINT `{}` is not an http(s) URL", shown(&endpoint));
        }
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("nextedit/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(15))
                .read_timeout(Duration::from_secs(60))
        };
        let metadata_client = builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot create the HTTP client")?;
        let download_client = builder().build().context("cannot create the HTTP client")?;
        let retry_delay = Duration::from_millis(250);
        Ok(Hub { endpoint, token, metadata_client, download_client, retry_delay })
    }

    /// `{endpoint}/{owner}/{repo}/resolve/{revision}/{file}`, each part escaped.
    fn resolve_url(&self, file: &HubFile, revision: &str) -> Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(file.repo.split('/'))
                .push("resolve")
                .push(revision)
                .extend(file.file.split('/'));
        }
        url
    }

    /// Whether `url` is on the endpoint's host and port (not a CDN's).
    fn is_endpoint_host(&self, url: &Url) -> bool {
        url.host_str() == self.endpoint.host_str()
            && url.port_or_known_default() == self.endpoint.port_or_known_default()
    }

    /// The bearer token for requests to the endpoint's own host; none for other hosts.
    fn authorization(&self, url: &Url) -> Option<String> {
        self.token
            .as_ref()
            .filter(|_| self.is_endpoint_host(url))
            .map(|token| format!("Bearer {token}"))
    }

    /// The file's sha256, size and download location.
    async fn metadata(&self, file: &HubFile, revision: &str) -> Result<FileMetadata> {
        let mut url = self.resolve_url(file, revision);
        for _ in 0..=MAX_METADATA_REDIRECTS {
            let mut request =
                self.metadata_client.head(url.clone()).header(header::ACCEPT_ENCODING, "identity");
            if let Some(authorization) = self.authorization(&url) {
                request = request.header(header::AUTHORIZATION, authorization);
            }
            let response = request.send().await.map_err(|error| self.unreachable(error))?;
            let status = response.status();
            let headers = response.headers();
            let download_url = if status.is_redirection() {
                let location = headers
                    .get(header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| anyhow!("the hub redirected without a Location header"))?;
                if Url::parse(location).is_err() {
                    // Relative: the hub's own redirect (a renamed repository); ask again there.
                    url = url.join(location).context("the hub sent a bad redirect")?;
                    continue;
                }
                Url::parse(location)?
            } else if status.is_success() {
                url.clone()
            } else {
                return Err(self.status_error(status, headers, file, revision));
            };
            let etag =
                header_text(headers, "x-linked-etag").or_else(|| header_text(headers, "etag"));
            let sha256 = etag.as_deref().and_then(sha256_from_etag).ok_or_else(|| {
                anyhow!(
                    "the hub reported no sha256 for {file} (ETag {}); refusing to install a file that cannot be checked",
                    etag.as_deref().unwrap_or("missing")
                )
            })?;
            let size = header_text(headers, "x-linked-size")
                .or_else(|| {
                    status.is_success().then(|| header_text(headers, "content-length")).flatten()
                })
                .and_then(|size| size.parse().ok());
            return Ok(FileMetadata { sha256, size, download_url });
        }
        bail!("the hub redirected {file} more than {MAX_METADATA_REDIRECTS} times")
    }

    fn unreachable(&self, error: reqwest::Error) -> anyhow::Error {
        anyhow!(
            "cannot reach {}: {}; check the network connection (or set HF_ENDPOINT to a reachable mirror)",
            shown(&self.endpoint),
            error_chain(&error)
        )
    }

    /// A clear message for an error status of the hub, from the status and `X-Error-Code`.
    fn status_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        file: &HubFile,
        revision: &str,
    ) -> anyhow::Error {
        let endpoint = shown(&self.endpoint);
        let repo = &file.repo;
        let code = header_text(headers, "x-error-code").unwrap_or_default();
        let detail = header_text(headers, "x-error-message")
            .map(|message| format!(" ({message})"))
            .unwrap_or_default();
        let token_hint = if self.token.is_some() {
            "the token in HF_TOKEN was sent; accept the repository's terms on the hub with the account it belongs to"
        } else {
            "if it is private or gated, set HF_TOKEN to an access token of an account that may read it"
        };
        match (status.as_u16(), code.as_str()) {
            (_, "RepoNotFound") => {
                anyhow!("repository {repo} not found on {endpoint}{detail}; {token_hint}")
            }
            (_, "RevisionNotFound") => {
                anyhow!("revision `{revision}` not found in {repo} on {endpoint}{detail}")
            }
            (_, "EntryNotFound") | (404, _) => anyhow!(
                "file {} not found in repository {repo} (revision {revision}) on {endpoint}{detail}; check the file name in the repository's file list",
                file.file
            ),
            (_, "GatedRepo") | (401 | 403, _) => anyhow!(
                "{endpoint} refused access to {repo} (HTTP {status}){detail}: the repository is gated or private; {token_hint}"
            ),
            _ => anyhow!("{endpoint} answered HTTP {status} for {file}{detail}"),
        }
    }
}

struct FileMetadata {
    sha256: String,
    size: Option<u64>,
    download_url: Url,
}

/// Downloads `file` at `revision` to `destination` unless the cache has it with the hub's size.
pub async fn pull(
    hub: &Hub,
    file: &HubFile,
    revision: &str,
    destination: &Path,
    force: bool,
) -> Result<Outcome> {
    let cached = std::fs::metadata(destination).ok().filter(|_| !force);
    let mut metadata = match (hub.metadata(file, revision).await, &cached) {
        (Ok(metadata), _) => metadata,
        // Offline (or the hub refuses now): the file checked when it was pulled will do.
        (Err(error), Some(existing)) => {
            eprintln!("{error:#}; the cached file was not compared with the hub's");
            return Ok(Outcome::AlreadyThere { bytes: existing.len() });
        }
        (Err(error), None) => return Err(error),
    };
    if let Some(existing) = cached {
        if metadata.size.is_none_or(|size| size == existing.len()) {
            return Ok(Outcome::AlreadyThere { bytes: existing.len() });
        }
        eprintln!("the cached {} differs in size from the hub's; downloading it again", file);
    }
    let directory = destination.parent().context("the destination has no directory")?;
    std::fs::create_dir_all(directory)
        .map_err(|error| disk_error(error, "cannot create", directory))?;
    let expected = metadata.sha256.clone();
    let part_path = part_path(destination, &expected);
    remove_stale_parts(destination, &part_path);
    let mut part = PartFile::open(&part_path)?;
    if part.len > 0 {
        eprintln!("resuming {} at {}", file, super::gigabytes(part.len));
    } else {
        let size = metadata.size.map(super::gigabytes).unwrap_or_else(|| "size unknown".to_owned());
        eprintln!("downloading {} ({size}) from {}", file, shown(&hub.endpoint));
    }
    let bar = progress_bar(metadata.size, part.len);
    let mut failures = 0;
    loop {
        if metadata.size.is_some_and(|size| part.len > size) {
            part.truncate()?;
        }
        if metadata.size == Some(part.len) && part.len > 0 {
            break;
        }
        let before = part.len;
        let error = match fetch(hub, &metadata.download_url, &mut part, &bar).await {
            Ok(()) if metadata.size.is_none_or(|size| size == part.len) => break,
            Ok(()) => anyhow!(
                "the transfer ended after {} of {}",
                super::gigabytes(part.len),
                super::gigabytes(metadata.size.unwrap_or_default())
            ),
            Err(Fetch::Fatal(error)) => {
                bar.abandon();
                return Err(error);
            }
            Err(Fetch::Retry(error)) => error,
        };
        failures = if part.len > before { 1 } else { failures + 1 };
        if failures > MAX_RETRIES {
            bar.abandon();
            return Err(error.context(format!(
                "the download failed {MAX_RETRIES} times in a row; run the command again to resume from {}",
                part_path.display()
            )));
        }
        bar.suspend(|| eprintln!("{error:#}; retrying"));
        tokio::time::sleep(hub.retry_delay * (1 << failures.min(4))).await;
        // A fresh location (the CDN's signed links expire); on failure the old one is tried.
        match hub.metadata(file, revision).await {
            Ok(fresh) if fresh.sha256 != expected => {
                bar.abandon();
                bail!("{file} changed on the hub during the download; run the command again");
            }
            Ok(fresh) => metadata = fresh,
            Err(error) => bar.suspend(|| eprintln!("{error:#}")),
        }
    }
    bar.finish_and_clear();
    let (bytes, actual) = part.finish()?;
    if actual != expected {
        let _ = std::fs::remove_file(&part_path);
        bail!(
            "sha256 mismatch for {file}: the hub reports {expected}, the download has {actual}; the download was deleted (run the command again; if it happens again, the file on the hub or a proxy on the way is broken)"
        );
    }
    std::fs::rename(&part_path, destination)
        .map_err(|error| disk_error(error, "cannot move the download to", destination))?;
    // Make the rename durable; a failure here loses nothing that a new pull can't redo.
    let _ = File::open(directory).and_then(|directory| directory.sync_all());
    Ok(Outcome::Downloaded { bytes, sha256: actual })
}

/// Why one GET ended early.
enum Fetch {
    /// Worth another attempt: the network, a 5xx, a 429, an expired CDN link.
    Retry(anyhow::Error),
    Fatal(anyhow::Error),
}

/// One GET of the rest of the file (from `part.len`), appended to `part`.
async fn fetch(
    hub: &Hub,
    url: &Url,
    part: &mut PartFile,
    bar: &indicatif::ProgressBar,
) -> Result<(), Fetch> {
    let mut request = hub.download_client.get(url.clone());
    if let Some(authorization) = hub.authorization(url) {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    if part.len > 0 {
        request = request.header(header::RANGE, format!("bytes={}-", part.len));
    }
    let mut response = request
        .send()
        .await
        .map_err(|error| Fetch::Retry(anyhow!("the download failed: {}", error_chain(&error))))?;
    let status = response.status();
    match status {
        StatusCode::PARTIAL_CONTENT => {
            let start = header_text(response.headers(), "content-range")
                .and_then(|range| range_start(&range));
            if start != Some(part.len) {
                part.truncate().map_err(Fetch::Fatal)?;
                return Err(Fetch::Retry(anyhow!("the server sent another range than asked for")));
            }
        }
        StatusCode::OK => {
            // A server that ignores the Range header sends the whole file again.
            if part.len > 0 {
                part.truncate().map_err(Fetch::Fatal)?;
            }
        }
        // The part already holds the whole file.
        StatusCode::RANGE_NOT_SATISFIABLE => return Ok(()),
        status if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 => {
            return Err(Fetch::Retry(anyhow!("the download server answered HTTP {status}")));
        }
        status if !hub.is_endpoint_host(url) => {
            // A CDN refusal: its signed link may have expired; a fresh one comes with the retry.
            return Err(Fetch::Retry(anyhow!("the download server answered HTTP {status}")));
        }
        status => {
            return Err(Fetch::Fatal(anyhow!(
                "{} answered HTTP {status} for the download",
                shown(url)
            )));
        }
    }
    bar.set_position(part.len);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                part.write(&chunk).map_err(Fetch::Fatal)?;
                bar.set_position(part.len);
            }
            Ok(None) => return Ok(()),
            Err(error) => {
                return Err(Fetch::Retry(anyhow!(
                    "the connection broke after {}: {}",
                    super::gigabytes(part.len),
                    error_chain(&error)
                )));
            }
        }
    }
}

/// The download in progress: a file opened for appending, its length, and the sha256 of its
/// bytes so far.
struct PartFile {
    path: PathBuf,
    file: File,
    len: u64,
    hasher: ring::digest::Context,
}

impl PartFile {
    /// Opens (or creates) the part file; an existing one is read once to hash what it holds.
    fn open(path: &Path) -> Result<PartFile> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| disk_error(error, "cannot create", path))?;
        let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
        let mut len = 0;
        let mut reader =
            File::open(path).map_err(|error| disk_error(error, "cannot read", path))?;
        let mut buffer = vec![0; 1 << 20];
        loop {
            let read =
                reader.read(&mut buffer).map_err(|error| disk_error(error, "cannot read", path))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            len += read as u64;
        }
        Ok(PartFile { path: path.to_owned(), file, len, hasher })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .map_err(|error| disk_error(error, "cannot write", &self.path))?;
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Starts over.
    fn truncate(&mut self) -> Result<()> {
        self.file.set_len(0).map_err(|error| disk_error(error, "cannot truncate", &self.path))?;
        self.hasher = ring::digest::Context::new(&ring::digest::SHA256);
        self.len = 0;
        Ok(())
    }

    /// Syncs the file to disk; its length and sha256 (lower-case hex).
    fn finish(self) -> Result<(u64, String)> {
        self.file.sync_all().map_err(|error| disk_error(error, "cannot write", &self.path))?;
        let digest = self.hasher.finish();
        Ok((self.len, digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect()))
    }
}

/// `<destination>.<first 16 hex digits of the sha256>.part`, next to the destination (the same
/// file system, so the final rename is atomic).
fn part_path(destination: &Path, sha256: &str) -> PathBuf {
    let mut name = destination.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.part", &sha256[..16]));
    destination.with_file_name(name)
}

/// Deletes part files of other versions of the same file (their sha256 is no longer the hub's).
fn remove_stale_parts(destination: &Path, current: &Path) {
    let (Some(directory), Some(name)) = (destination.parent(), destination.file_name()) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if entry_name.starts_with(&prefix)
            && entry_name.ends_with(".part")
            && entry.path() != current
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// An I/O error with the path, and a plain word when the disk is full.
fn disk_error(error: std::io::Error, doing: &str, path: &Path) -> anyhow::Error {
    if error.kind() == ErrorKind::StorageFull {
        anyhow!(
            "{doing} {}: the disk is full; free some space and run the command again (the download resumes)",
            path.display()
        )
    } else {
        anyhow!("{doing} {}: {error}", path.display())
    }
}

/// The sha256 in an ETag (`"abc..."`, `W/"abc..."`), if it is one: 64 hex digits, lower-cased.
fn sha256_from_etag(etag: &str) -> Option<String> {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag).trim_matches('"');
    (etag.len() == 64 && etag.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then(|| etag.to_ascii_lowercase())
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL` header.
fn range_start(content_range: &str) -> Option<u64> {
    let range = content_range.trim().strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
}

/// A URL as it may be shown: without user name, password or query (signed CDN links).
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.to_string().trim_end_matches('/').to_owned()
}

/// An error and its causes, joined (reqwest's own message alone says little).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A byte progress bar on stderr (hidden when stderr is not a terminal).
fn progress_bar(total: Option<u64>, position: u64) -> indicatif::ProgressBar {
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let template = "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_position(position);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_give_a_sha256_only_when_they_hold_one() {
        let sha = "1321ea5e5d7529e60f9770c6a0b3a965f89542d16cf4ae51bab267f6a88150da";
        assert_eq!(sha256_from_etag(&format!("\"{sha}\"")).as_deref(), Some(sha));
        assert_eq!(
            sha256_from_etag(&format!("W/\"{}\"", sha.to_uppercase())).as_deref(),
            Some(sha)
        );
        // A git blob id (files outside LFS) is no sha256.
        assert_eq!(sha256_from_etag("\"a5fd3b62230aa5ec60212297dc9d20eaa70578ac\""), None);
    }

    #[test]
    fn urls_are_escaped_and_tokens_stay_on_the_endpoint() {
        let hub =
            Hub::new("http://user:secret@127.0.0.1:9/mirror/", Some("token".to_owned())).unwrap();
        let file = HubFile::parse("org/repo/dir/a b.gguf").unwrap();
        assert_eq!(
            hub.resolve_url(&file, "refs/pr/1").as_str(),
            "http://user:secret@127.0.0.1:9/mirror/org/repo/resolve/refs%2Fpr%2F1/dir/a%20b.gguf"
        );
        assert_eq!(
            shown(&hub.resolve_url(&file, "main")),
            "http://127.0.0.1:9/mirror/org/repo/resolve/main/dir/a%20b.gguf"
        );
        assert!(hub.authorization(&Url::parse("http://127.0.0.1:9/x").unwrap()).is_some());
        assert!(hub.authorization(&Url::parse("http://127.0.0.1:10/x").unwrap()).is_none());
        assert!(hub.authorization(&Url::parse("http://localhost:9/x").unwrap()).is_none());
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("items 1-2/3"), None);
    }

    #[test]
    fn a_download_that_keeps_failing_gives_up_and_keeps_the_part_file() {
        // A hub whose CDN link points at a closed port: every GET fails to connect.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut head = [0; 4096];
                let _ = stream.read(&mut head);
                let sha = "ab".repeat(32);
                let reply = format!(
                    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/blob\r\nX-Linked-Etag: \"{sha}\"\r\nX-Linked-Size: 10\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        let mut hub = Hub::new(&endpoint, None).unwrap();
        hub.retry_delay = Duration::from_millis(1);
        let cache = tempfile::tempdir().unwrap();
        let destination = cache.path().join("org/repo/model.gguf");
        let file = HubFile::parse("org/repo/model.gguf").unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let error = runtime.block_on(pull(&hub, &file, "main", &destination, false)).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("failed 5 times in a row") && message.contains(".part"),
            "{message}"
        );
        assert!(!destination.exists());
        assert!(part_path(&destination, &"ab".repeat(32)).exists(), "kept for the next run");
    }

    #[test]
    fn config_lines_name_the_catalogue_model_or_the_file() {
        let entry = catalog::find("sweep-next-edit-1.5b").unwrap();
        let lines = config_lines(Some(entry), &entry.hub_file(), Path::new("/c/m.gguf"));
        assert!(
            lines.contains("model.path = \"sweep-next-edit-1.5b\"\nmodel.format = \"sweep\"\n"),
            "{lines}"
        );
        let other = HubFile::parse("org/repo/some \"model\".gguf").unwrap();
        let lines = config_lines(None, &other, Path::new("/c/some \"model\".gguf"));
        // The lines are TOML that the settings accept, quotes in the path included.
        let table: toml::Table = toml::from_str(&lines).unwrap();
        assert_eq!(table["model"]["path"].as_str(), Some("/c/some \"model\".gguf"));
        assert_eq!(table["model"]["format"].as_str(), Some("auto"));
    }
}
