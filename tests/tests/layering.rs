//! The layering invariant of ARCHITECTURE.md, checked on the source: only `server/src/lsp/` knows
//! LSP, and `text/` and `syntax/` know nothing above them. The search must find the real uses in
//! `lsp/`, so that this test can't pass by looking at nothing.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `path` that name `needle`, comments left out.
fn uses(path: &Path, needle: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| line.contains(needle))
        .map(|(number, line)| format!("{}:{}: {}", path.display(), number + 1, line.trim()))
        .collect()
}

#[test]
fn layers_only_know_what_is_below_them() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut files = Vec::new();
    rust_files(&source, &mut files);
    let under = |dir: &str| {
        let dir = source.join(dir);
        move |path: &PathBuf| path.starts_with(&dir)
    };
    let in_lsp = under("lsp");
    let in_text = under("text");
    let in_syntax = under("syntax");

    let mut violations = Vec::new();
    let mut found_in_lsp = 0;
    for path in &files {
        for needle in ["tower_lsp_server", "ls_types", "crate::lsp"] {
            let found = uses(path, needle);
            if in_lsp(path) {
                found_in_lsp += found.len();
            } else {
                violations.extend(found.into_iter().map(|line| format!("{needle}: {line}")));
            }
        }
        if in_text(path) || in_syntax(path) {
            for needle in ["crate::engine", "crate::config", "crate::lsp"] {
                violations
                    .extend(uses(path, needle).into_iter().map(|line| format!("{needle}: {line}")));
            }
        }
    }
    assert!(violations.is_empty(), "layering violations:\n{}", violations.join("\n"));
    // The search works: it finds what lsp/ really uses.
    assert!(files.iter().any(&in_text) && files.iter().any(&in_syntax));
    assert!(found_in_lsp >= 5, "the search found only {found_in_lsp} LSP uses in lsp/");
    let engine_in_lsp: usize = files
        .iter()
        .filter(|path| in_lsp(path))
        .map(|path| uses(path, "crate::engine").len())
        .sum();
    assert!(engine_in_lsp > 0, "the search found no use of the engine in lsp/");
}
