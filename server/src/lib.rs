//! nextedit: a language server that predicts the next edit.
//!
//! Layers, top to bottom: `lsp` (the only layer that knows LSP and JSON-RPC) -> `engine` (prediction) ->
//! `syntax` (tree-sitter) and `text` (documents, positions, edit history). See ARCHITECTURE.md.

pub mod config;
pub mod engine;
pub mod fault;
pub mod locks;
pub mod lsp;
pub mod syntax;
pub mod text;
