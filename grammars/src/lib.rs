//! The language registry (`languages.toml`) and the tree-sitter grammars compiled into this build.
//!
//! The registry is declarative: `languages.toml` lists every language nextedit knows about, with
//! the `languageId` values clients send, file extensions, comment tokens and the node kinds the
//! symbolic engine cares about (identifiers, strings, comments, scopes). Grammars are compiled in
//! behind cargo features; a language whose feature is off stays in the registry but
//! [`LanguageInfo::language`] answers `None`.
//!
//! Query files live in `queries/<id>/` and are embedded in the binary.

use std::sync::OnceLock;

use serde::Deserialize;

/// The registry source, embedded at compile time.
pub const LANGUAGES_TOML: &str = include_str!("../languages.toml");

/// One language of the registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LanguageInfo {
    /// Our name for the language; also its query directory `queries/<id>/`.
    pub id: String,
    /// The grammar that parses this language (one of [`GRAMMAR_NAMES`]).
    pub grammar: String,
    /// The `languageId` values clients send for this language.
    pub lsp_language_ids: Vec<String>,
    /// File extensions without the leading dot.
    pub file_extensions: Vec<String>,
    /// Whole file names that select this language whatever their extension.
    #[serde(default)]
    pub file_names: Vec<String>,
    pub line_comment: Option<String>,
    pub block_comment: Option<(String, String)>,
    /// Named node kinds whose text is a name (variable, field, type...).
    pub identifier_kinds: Vec<String>,
    /// Named node kinds that are string literals (their whole extent counts as inside the string).
    pub string_kinds: Vec<String>,
    /// Named node kinds that are comments.
    pub comment_kinds: Vec<String>,
    /// Named node kinds that open a scope (module, function, class, block...).
    pub scope_kinds: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    language: Vec<LanguageInfo>,
}

/// Every grammar name `languages.toml` may use, whether compiled in or not.
pub const GRAMMAR_NAMES: &[&str] = &[
    "rust",
    "python",
    "javascript",
    "typescript",
    "tsx",
    "go",
    "c",
    "cpp",
    "java",
    "json",
    "bash",
    "lua",
    "ruby",
    "toml",
    "html",
    "css",
];

impl LanguageInfo {
    /// The tree-sitter language, or `None` when its grammar was not compiled into this build.
    pub fn language(&self) -> Option<tree_sitter::Language> {
        grammar_language(&self.grammar)
    }

    /// Whether this build can parse the language.
    pub fn has_grammar(&self) -> bool {
        self.language().is_some()
    }

    /// The locals query (`@local.scope`, `@local.definition`, `@local.reference`), when one ships.
    pub fn locals_query(&self) -> Option<&'static str> {
        bundled_query(&self.id, "locals")
    }

    pub fn is_identifier_kind(&self, kind: &str) -> bool {
        self.identifier_kinds.iter().any(|it| it == kind)
    }

    pub fn is_string_kind(&self, kind: &str) -> bool {
        self.string_kinds.iter().any(|it| it == kind)
    }

    pub fn is_comment_kind(&self, kind: &str) -> bool {
        self.comment_kinds.iter().any(|it| it == kind)
    }

    pub fn is_scope_kind(&self, kind: &str) -> bool {
        self.scope_kinds.iter().any(|it| it == kind)
    }
}

/// All languages of the registry, in file order, including those without a compiled grammar.
///
/// # Panics
///
/// Panics when the embedded `languages.toml` is malformed; the tests of this crate parse it, so a
/// build that passed them cannot panic here.
pub fn registry() -> &'static [LanguageInfo] {
    static REGISTRY: OnceLock<Vec<LanguageInfo>> = OnceLock::new();
    REGISTRY.get_or_init(|| match parse_registry(LANGUAGES_TOML) {
        Ok(languages) => languages,
        Err(error) => panic!("the embedded languages.toml is invalid: {error}"),
    })
}

/// Parses a registry file; exposed for tests and tools.
pub fn parse_registry(source: &str) -> Result<Vec<LanguageInfo>, String> {
    let file: RegistryFile = toml::from_str(source).map_err(|error| error.to_string())?;
    for language in &file.language {
        if !GRAMMAR_NAMES.contains(&language.grammar.as_str()) {
            return Err(format!(
                "language `{}` names unknown grammar `{}`",
                language.id, language.grammar
            ));
        }
    }
    Ok(file.language)
}

/// The language with this registry id (`"rust"`, `"tsx"`...).
pub fn by_id(id: &str) -> Option<&'static LanguageInfo> {
    registry().iter().find(|language| language.id == id)
}

/// The language clients call `language_id` (the `languageId` of `didOpen`).
pub fn by_lsp_language_id(language_id: &str) -> Option<&'static LanguageInfo> {
    registry().iter().find(|language| language.lsp_language_ids.iter().any(|it| it == language_id))
}

/// The language of a file, from its name or extension.
///
/// `path` may be a file system path or the path part of a URI; only the last segment is used.
/// Extensions compare without regard to ASCII case.
pub fn by_path(path: &str) -> Option<&'static LanguageInfo> {
    let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if file_name.is_empty() {
        return None;
    }
    if let Some(language) =
        registry().iter().find(|language| language.file_names.iter().any(|it| it == file_name))
    {
        return Some(language);
    }
    let (_, extension) = file_name.rsplit_once('.')?;
    if extension.is_empty() {
        return None;
    }
    registry().iter().find(|language| {
        language.file_extensions.iter().any(|it| it.eq_ignore_ascii_case(extension))
    })
}

/// The language of a document: the client's `languageId` first, then the file name.
///
/// Editors disagree on `languageId` values and some send `plaintext` for files they don't know, so
/// an unknown id falls back to [`by_path`].
pub fn for_document(language_id: &str, path: &str) -> Option<&'static LanguageInfo> {
    by_lsp_language_id(language_id).or_else(|| by_path(path))
}

/// The languages whose grammar is compiled into this build.
pub fn compiled_languages() -> impl Iterator<Item = &'static LanguageInfo> {
    registry().iter().filter(|language| language.has_grammar())
}

/// The tree-sitter language of a grammar name, `None` when the grammar is not compiled in.
pub fn grammar_language(grammar: &str) -> Option<tree_sitter::Language> {
    let language_fn: tree_sitter_language::LanguageFn = match grammar {
        #[cfg(feature = "rust")]
        "rust" => tree_sitter_rust::LANGUAGE,
        #[cfg(feature = "python")]
        "python" => tree_sitter_python::LANGUAGE,
        #[cfg(feature = "javascript")]
        "javascript" => tree_sitter_javascript::LANGUAGE,
        #[cfg(feature = "typescript")]
        "typescript" => tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
        #[cfg(feature = "typescript")]
        "tsx" => tree_sitter_typescript::LANGUAGE_TSX,
        #[cfg(feature = "go")]
        "go" => tree_sitter_go::LANGUAGE,
        #[cfg(feature = "c")]
        "c" => tree_sitter_c::LANGUAGE,
        #[cfg(feature = "cpp")]
        "cpp" => tree_sitter_cpp::LANGUAGE,
        #[cfg(feature = "java")]
        "java" => tree_sitter_java::LANGUAGE,
        #[cfg(feature = "json")]
        "json" => tree_sitter_json::LANGUAGE,
        #[cfg(feature = "bash")]
        "bash" => tree_sitter_bash::LANGUAGE,
        #[cfg(feature = "lua")]
        "lua" => tree_sitter_lua::LANGUAGE,
        #[cfg(feature = "ruby")]
        "ruby" => tree_sitter_ruby::LANGUAGE,
        #[cfg(feature = "toml")]
        "toml" => tree_sitter_toml_ng::LANGUAGE,
        #[cfg(feature = "html")]
        "html" => tree_sitter_html::LANGUAGE,
        #[cfg(feature = "css")]
        "css" => tree_sitter_css::LANGUAGE,
        _ => return None,
    };
    Some(tree_sitter::Language::new(language_fn))
}

/// The query files embedded in the binary: (language id, query name, source).
///
/// TSX shares the TypeScript queries: its grammar is a superset of TypeScript's.
pub const BUNDLED_QUERIES: &[(&str, &str, &str)] = &[
    ("rust", "locals", include_str!("../queries/rust/locals.scm")),
    ("python", "locals", include_str!("../queries/python/locals.scm")),
    ("javascript", "locals", include_str!("../queries/javascript/locals.scm")),
    ("typescript", "locals", include_str!("../queries/typescript/locals.scm")),
    ("tsx", "locals", include_str!("../queries/typescript/locals.scm")),
    ("go", "locals", include_str!("../queries/go/locals.scm")),
];

fn bundled_query(language_id: &str, query_name: &str) -> Option<&'static str> {
    BUNDLED_QUERIES
        .iter()
        .find(|(id, name, _)| *id == language_id && *name == query_name)
        .map(|(_, _, source)| *source)
}

#[cfg(test)]
mod tests;
