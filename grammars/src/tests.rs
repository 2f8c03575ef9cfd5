use std::collections::HashSet;

use super::*;

/// A small valid program per language: the grammar must parse it without ERROR or MISSING nodes.
const SAMPLES: &[(&str, &str)] = &[
    ("rust", "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n"),
    ("python", "def main(x):\n    return x + 1\n"),
    ("javascript", "function main(x) {\n  return <div>{x}</div>;\n}\n"),
    ("typescript", "function main(x: number): number {\n  return x + 1;\n}\n"),
    ("tsx", "function Main(props: { x: number }) {\n  return <div>{props.x}</div>;\n}\n"),
    ("go", "package main\n\nfunc main() {\n\tx := 1\n\t_ = x\n}\n"),
    ("c", "int main(void) {\n  int x = 1;\n  return x;\n}\n"),
    (
        "cpp",
        "namespace n {\nint main() {\n  auto f = [](int x) { return x; };\n  return f(1);\n}\n}\n",
    ),
    ("java", "class Main {\n  int f(int x) {\n    return x + 1;\n  }\n}\n"),
    ("json", "{\"a\": [1, 2, {\"b\": null}]}\n"),
    ("bash", "f() {\n  local x=\"$1\"\n  echo \"$x\"\n}\n"),
    ("lua", "local function f(x)\n  return x + 1\nend\n"),
    ("ruby", "class Main\n  def f(x)\n    x + 1\n  end\nend\n"),
    ("toml", "[package]\nname = \"nextedit\"\nversion = \"0.1.0\"\n"),
    ("html", "<!DOCTYPE html>\n<html><body><p class=\"x\">hi</p></body></html>\n"),
    ("css", "body > p.x {\n  color: red;\n}\n"),
];

#[test]
fn registry_parses_and_ids_are_unique() {
    let languages = registry();
    assert_eq!(languages.len(), GRAMMAR_NAMES.len(), "one language per grammar");
    let mut ids = HashSet::new();
    let mut lsp_ids = HashSet::new();
    let mut extensions = HashSet::new();
    let mut file_names = HashSet::new();
    for language in languages {
        assert!(ids.insert(language.id.as_str()), "duplicate id {}", language.id);
        for lsp_id in &language.lsp_language_ids {
            assert!(lsp_ids.insert(lsp_id.as_str()), "duplicate languageId {lsp_id}");
        }
        for extension in &language.file_extensions {
            assert!(!extension.starts_with('.'), "extension {extension} has a leading dot");
            assert!(
                extensions.insert(extension.to_ascii_lowercase()),
                "duplicate extension {extension}"
            );
        }
        for file_name in &language.file_names {
            assert!(file_names.insert(file_name.as_str()), "duplicate file name {file_name}");
        }
        assert!(!language.lsp_language_ids.is_empty(), "{} has no languageId", language.id);
        assert!(!language.file_extensions.is_empty(), "{} has no extension", language.id);
    }
}

#[test]
fn registry_rejects_unknown_keys_and_grammars() {
    let unknown_key = "[[language]]\nid = \"x\"\ngrammar = \"rust\"\nlsp-language-ids = []\n\
        file-extensions = []\nidentifier-kinds = []\nstring-kinds = []\ncomment-kinds = []\n\
        scope-kinds = []\ncolour = \"red\"\n";
    assert!(parse_registry(unknown_key).unwrap_err().contains("colour"));
    let unknown_grammar =
        unknown_key.replace("colour = \"red\"\n", "").replace("\"rust\"", "\"cobol\"");
    assert_eq!(
        parse_registry(&unknown_grammar).unwrap_err(),
        "language `x` names unknown grammar `cobol`"
    );
}

#[test]
fn every_feature_has_a_grammar_and_all_enables_every_grammar() {
    let manifest = include_str!("../Cargo.toml");
    let manifest: toml::Table = toml::from_str(manifest).unwrap();
    let features = manifest["features"].as_table().unwrap();
    let all: Vec<&str> =
        features["all"].as_array().unwrap().iter().map(|it| it.as_str().unwrap()).collect();
    for grammar in GRAMMAR_NAMES {
        // TSX is compiled by the `typescript` feature.
        let feature = if *grammar == "tsx" { "typescript" } else { grammar };
        assert!(features.contains_key(feature), "no feature for grammar {grammar}");
        assert!(all.contains(&feature), "feature `all` lacks {feature}");
    }
    let default: Vec<&str> =
        features["default"].as_array().unwrap().iter().map(|it| it.as_str().unwrap()).collect();
    let default_grammars = if default == ["all"] { all.clone() } else { default };
    for default_feature in ["rust", "python", "javascript", "typescript"] {
        assert!(default_grammars.contains(&default_feature), "default lacks {default_feature}");
    }
}

#[test]
fn every_compiled_grammar_loads_and_parses_its_sample() {
    let mut parsed = Vec::new();
    for language in compiled_languages() {
        let sample = SAMPLES
            .iter()
            .find(|(id, _)| *id == language.id)
            .unwrap_or_else(|| panic!("no sample for {}", language.id))
            .1;
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&language.language().unwrap()).unwrap();
        let tree = parser.parse(sample, None).unwrap();
        assert!(
            !tree.root_node().has_error(),
            "{} sample has errors: {}",
            language.id,
            tree.root_node().to_sexp()
        );
        parsed.push(language.id.as_str());
    }
    for feature_language in ["rust", "python", "javascript", "typescript", "tsx"] {
        if cfg!(feature = "rust") && feature_language == "rust"
            || cfg!(feature = "python") && feature_language == "python"
            || cfg!(feature = "javascript") && feature_language == "javascript"
            || cfg!(feature = "typescript") && matches!(feature_language, "typescript" | "tsx")
        {
            assert!(
                parsed.contains(&feature_language),
                "{feature_language} is compiled in but did not load"
            );
        }
    }
}

#[test]
fn every_node_kind_of_the_registry_exists_in_its_grammar() {
    for language in compiled_languages() {
        let grammar = language.language().unwrap();
        let kinds = language
            .identifier_kinds
            .iter()
            .chain(&language.string_kinds)
            .chain(&language.comment_kinds)
            .chain(&language.scope_kinds);
        for kind in kinds {
            assert_ne!(
                grammar.id_for_node_kind(kind, true),
                0,
                "{}: `{kind}` is not a named node kind of grammar {}",
                language.id,
                language.grammar
            );
        }
    }
}

#[test]
fn every_bundled_query_compiles() {
    for (language_id, query_name, source) in BUNDLED_QUERIES {
        let language = by_id(language_id)
            .unwrap_or_else(|| panic!("query for unknown language {language_id}"));
        let Some(grammar) = language.language() else {
            continue;
        };
        if let Err(error) = tree_sitter::Query::new(&grammar, source) {
            panic!("{language_id}/{query_name}.scm: {error}");
        }
    }
}

#[test]
fn every_query_file_is_bundled() {
    let queries_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    for language_dir in std::fs::read_dir(&queries_dir).unwrap() {
        let language_dir = language_dir.unwrap();
        let language_id = language_dir.file_name().into_string().unwrap();
        assert!(by_id(&language_id).is_some(), "queries/{language_id} is not a registry language");
        for query_file in std::fs::read_dir(language_dir.path()).unwrap() {
            let query_file = query_file.unwrap().file_name().into_string().unwrap();
            let query_name = query_file.strip_suffix(".scm").unwrap();
            assert!(
                BUNDLED_QUERIES
                    .iter()
                    .any(|(id, name, _)| *id == language_id && *name == query_name),
                "queries/{language_id}/{query_file} is not in BUNDLED_QUERIES"
            );
        }
    }
}

#[test]
fn locals_queries_capture_scopes_definitions_and_references() {
    for (language_id, query_name, source) in BUNDLED_QUERIES {
        if *query_name != "locals" {
            continue;
        }
        let Some(grammar) = by_id(language_id).and_then(LanguageInfo::language) else {
            continue;
        };
        let query = tree_sitter::Query::new(&grammar, source).unwrap();
        for capture in ["local.scope", "local.definition", "local.reference"] {
            assert!(
                query.capture_index_for_name(capture).is_some(),
                "{language_id}: no @{capture}"
            );
        }
    }
}

#[test]
fn lookup_by_language_id_and_path() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("rust", "", Some("rust")),
        ("typescriptreact", "/a/b.js", Some("tsx")),
        ("javascriptreact", "", Some("javascript")),
        ("shellscript", "", Some("bash")),
        ("plaintext", "/home/u/src/main.rs", Some("rust")),
        ("plaintext", "/home/u/src/lib.PY", Some("python")),
        ("", "C:\\src\\app.tsx", Some("tsx")),
        ("", "/src/types.d.ts", Some("typescript")),
        ("", "/p/Cargo.lock", Some("toml")),
        ("", "/p/Gemfile", Some("ruby")),
        ("", "/home/u/.bashrc", Some("bash")),
        ("", "/p/Makefile", None),
        ("", "/p/file.", None),
        ("", "/p/dir/", None),
        ("", "", None),
        ("cobol", "/p/x.cbl", None),
    ];
    for (language_id, path, expected) in cases {
        let actual = for_document(language_id, path).map(|language| language.id.as_str());
        assert_eq!(actual, *expected, "for_document({language_id:?}, {path:?})");
    }
}

#[test]
fn node_kind_predicates() {
    let rust = by_id("rust").unwrap();
    assert!(rust.is_identifier_kind("field_identifier"));
    assert!(!rust.is_identifier_kind("string_literal"));
    assert!(rust.is_string_kind("raw_string_literal"));
    assert!(rust.is_comment_kind("line_comment"));
    assert!(rust.is_scope_kind("function_item"));
    assert_eq!(rust.line_comment.as_deref(), Some("//"));
    assert_eq!(rust.block_comment, Some(("/*".to_owned(), "*/".to_owned())));
    assert!(rust.locals_query().is_some());
    assert!(by_id("json").unwrap().locals_query().is_none());
}
