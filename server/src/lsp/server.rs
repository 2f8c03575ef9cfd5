//! The `LanguageServer` implementation: each method hands its work to [`handlers`] under a panic
//! boundary, and the custom methods are registered next to the standard ones.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types as lsp;
use tower_lsp_server::{Client, LanguageServer};

use crate::lsp::ext;
use crate::lsp::handlers::{self, catch_panic, catch_panic_notification};
use crate::lsp::state::GlobalState;

pub use crate::lsp::ext::{
    COMMAND_ACCEPT, COMMAND_DEBUG_DOCUMENT, COMMAND_PREDICT, COMMAND_REJECT, StatusNotification,
};

pub struct Server {
    state: Arc<GlobalState>,
}

impl Server {
    pub fn new(client: Client, state: Arc<GlobalState>) -> Server {
        state.attach_client(client);
        Server { state }
    }

    async fn copilot_inline_edit(&self, params: Value) -> Result<ext::InlineEditResult> {
        catch_panic(ext::COPILOT_INLINE_EDIT, handlers::copilot_inline_edit(&self.state, params))
            .await
    }

    async fn inline_completion(&self, params: Value) -> Result<lsp::InlineCompletionResponse> {
        catch_panic(ext::INLINE_COMPLETION, handlers::inline_completion(&self.state, params)).await
    }

    async fn did_show_inline_edit(&self, params: Value) {
        catch_panic_notification(ext::DID_SHOW_INLINE_EDIT, async {
            handlers::did_show_inline_edit(&self.state, params)
        })
        .await
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        catch_panic("initialize", handlers::initialize(&self.state, params)).await
    }

    async fn initialized(&self, _: lsp::InitializedParams) {
        let state = self.state.clone();
        tokio::spawn(catch_panic_notification("model loading", state.load_model()));
    }

    async fn shutdown(&self) -> Result<()> {
        self.state.shutdown_requested.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn did_change_configuration(&self, params: lsp::DidChangeConfigurationParams) {
        catch_panic_notification("workspace/didChangeConfiguration", async {
            handlers::did_change_configuration(&self.state, params)
        })
        .await
    }

    async fn code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<lsp::CodeActionResponse>> {
        catch_panic("textDocument/codeAction", handlers::code_action(&self.state, params)).await
    }

    async fn execute_command(
        &self,
        params: lsp::ExecuteCommandParams,
    ) -> Result<Option<lsp::LSPAny>> {
        catch_panic("workspace/executeCommand", handlers::execute_command(&self.state, params))
            .await
    }
}

/// Registers the custom methods next to the standard ones.
pub fn build_service(
    state: Arc<GlobalState>,
) -> (tower_lsp_server::LspService<Server>, tower_lsp_server::ClientSocket) {
    tower_lsp_server::LspService::build(move |client| Server::new(client, state.clone()))
        .custom_method(ext::COPILOT_INLINE_EDIT, Server::copilot_inline_edit)
        .custom_method(ext::INLINE_COMPLETION, Server::inline_completion)
        .custom_method(ext::DID_SHOW_INLINE_EDIT, Server::did_show_inline_edit)
        .finish()
}
