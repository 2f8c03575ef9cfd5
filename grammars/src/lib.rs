//! The language registry (`languages.toml`) and the tree-sitter grammars compiled into this build.
