//! What the server offers the client.

use tower_lsp_server::ls_types as lsp;

use crate::lsp::ext::{COMMANDS, ExperimentalCapabilities};
use crate::lsp::proto;
use crate::text::PositionEncoding;

pub fn server_capabilities(encoding: PositionEncoding) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(proto::encoding_to_lsp(encoding)),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                ..lsp::TextDocumentSyncOptions::default()
            },
        )),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![lsp::CodeActionKind::REFACTOR_REWRITE]),
                ..lsp::CodeActionOptions::default()
            },
        )),
        execute_command_provider: Some(lsp::ExecuteCommandOptions {
            commands: COMMANDS.iter().map(|&command| command.to_owned()).collect(),
            ..lsp::ExecuteCommandOptions::default()
        }),
        inline_completion_provider: Some(lsp::OneOf::Left(true)),
        experimental: serde_json::to_value(ExperimentalCapabilities { copilot_inline_edit: true })
            .ok(),
        ..lsp::ServerCapabilities::default()
    }
}

pub fn server_info() -> lsp::ServerInfo {
    lsp::ServerInfo { name: "nextedit".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }
}
