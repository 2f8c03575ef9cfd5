//! `file` URIs and paths (RFC 8089 with RFC 3986 percent-encoding), without LSP types: the layer
//! above hands URIs over as the client spelled them.

use std::path::{Component, Path, PathBuf};

/// The path of a `file` URI, percent-decoded: `file:///tmp/My%20Project` -> `/tmp/My Project`.
/// `None` for other schemes, a host other than `localhost`, or an encoding that isn't UTF-8.
pub fn file_uri_to_path(uri: &str) -> Option<PathBuf> {
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("file") {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => {
            let slash = authority_and_path.find('/').unwrap_or(authority_and_path.len());
            let (host, path) = authority_and_path.split_at(slash);
            if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
                return None;
            }
            path
        }
        // `file:/path`, the short form.
        None => rest,
    };
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(path)?;
    Some(platform_path(&decoded))
}

#[cfg(windows)]
fn platform_path(path: &str) -> PathBuf {
    // `/C:/x` names the drive path `C:/x`.
    let bytes = path.as_bytes();
    if bytes.len() >= 3 && bytes[0] == b'/' && bytes[1].is_ascii_alphabetic() && bytes[2] == b':' {
        return PathBuf::from(&path[1..]);
    }
    PathBuf::from(path)
}

#[cfg(not(windows))]
fn platform_path(path: &str) -> PathBuf {
    PathBuf::from(path)
}

/// A `file` URI for an absolute path, percent-encoding what RFC 3986 doesn't allow in a path.
pub fn path_to_file_uri(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file://");
    if !text.starts_with('/') {
        uri.push('/');
    }
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if unreserved {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// Decodes `%XX` escapes; `None` when an escape is broken or the result isn't UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The path of a document for looking up its language by extension: the decoded file path, or
/// the URI itself for other schemes (`untitled:Untitled-1`).
pub fn lookup_path(uri: &str) -> String {
    match file_uri_to_path(uri) {
        Some(path) => path.to_string_lossy().into_owned(),
        None => uri.to_owned(),
    }
}

/// The path the model sees for a document: relative to `workspace_root` when the file is inside
/// it (`src/lib.rs`), else the file name; always percent-decoded.
pub fn display_path(uri: &str, workspace_root: Option<&Path>) -> String {
    let Some(path) = file_uri_to_path(uri) else {
        let decoded = percent_decode(uri).unwrap_or_else(|| uri.to_owned());
        return file_name(&decoded).to_owned();
    };
    if let Some(root) = workspace_root
        && let Ok(relative) = path.strip_prefix(root)
        && relative.components().all(|component| matches!(component, Component::Normal(_)))
        && relative.components().next().is_some()
    {
        return relative.to_string_lossy().replace('\\', "/");
    }
    let text = path.to_string_lossy();
    file_name(&text).to_owned()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().filter(|name| !name.is_empty()).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_decode_to_paths() {
        let path = |uri: &str| file_uri_to_path(uri).map(|path| path.display().to_string());
        assert_eq!(path("file:///tmp/My%20Project").as_deref(), Some("/tmp/My Project"));
        assert_eq!(path("file:///home/j%C3%BCrgen/%E6%97%A5").as_deref(), Some("/home/jürgen/日"));
        assert_eq!(path("file://localhost/etc/x").as_deref(), Some("/etc/x"));
        assert_eq!(path("file:/short/form").as_deref(), Some("/short/form"));
        assert_eq!(path("FILE:///upper").as_deref(), Some("/upper"));
        assert_eq!(path("file:///a%2"), None, "a broken escape");
        assert_eq!(path("file://server/share"), None, "a remote host");
        assert_eq!(path("untitled:Untitled-1"), None);
        assert_eq!(path("https://example.com/x"), None);
    }

    #[test]
    fn paths_round_trip_through_uris() {
        for text in ["/tmp/My Project/a b.rs", "/home/jürgen/日本/x%y.rs", "/plain/path.rs"] {
            let uri = path_to_file_uri(Path::new(text));
            assert!(!uri.contains(' '), "{uri}");
            assert_eq!(file_uri_to_path(&uri), Some(PathBuf::from(text)), "{uri}");
        }
    }

    #[test]
    fn display_paths_are_workspace_relative_and_decoded() {
        let root = Path::new("/tmp/My Project");
        assert_eq!(display_path("file:///tmp/My%20Project/src/a%20b.rs", Some(root)), "src/a b.rs");
        assert_eq!(display_path("file:///elsewhere/lib.rs", Some(root)), "lib.rs");
        assert_eq!(display_path("file:///tmp/My%20Projectile/x.rs", Some(root)), "x.rs");
        assert_eq!(display_path("file:///project/src/caf%C3%A9.rs", None), "café.rs");
        assert_eq!(display_path("untitled:Untitled-1", None), "untitled:Untitled-1");
    }

    #[test]
    fn lookup_paths_keep_extensions() {
        assert_eq!(lookup_path("file:///p/My%20File.rs"), "/p/My File.rs");
        assert_eq!(lookup_path("untitled:x.py"), "untitled:x.py");
    }
}
