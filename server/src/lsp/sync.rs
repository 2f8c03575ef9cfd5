//! Document sync, applied by the framing reader in arrival order (see `transport.rs`).
//!
//! A panic while applying one notification is caught here: it is logged, the document it was
//! about is closed (its text may be half-changed, so the client must open it again to get
//! suggestions), and the reader goes on with the next frame.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

use serde_json::Value;
use tower_lsp_server::ls_types as lsp;

use crate::locks::lock;
use crate::lsp::proto;
use crate::lsp::state::GlobalState;
use crate::lsp::transport::SyncSink;
use crate::text::TextChange;

impl SyncSink for GlobalState {
    fn sync_notification(&self, method: &str, params: Value) {
        if !self.initialized.load(Ordering::SeqCst) {
            tracing::warn!("{method} before initialize, ignored");
            return;
        }
        let uri = params.pointer("/textDocument/uri").and_then(Value::as_str).map(str::to_owned);
        let applied = catch_unwind(AssertUnwindSafe(|| self.apply_sync(method, params)));
        if let Err(panic) = applied {
            tracing::error!("{method} panicked: {}", panic_message(panic.as_ref()));
            if let Some(uri) = uri {
                self.drop_broken_document(&uri);
            }
        }
    }
}

impl GlobalState {
    fn apply_sync(&self, method: &str, params: Value) {
        match method {
            "textDocument/didOpen" => match serde_json::from_value::<proto::SyncDidOpen>(params) {
                Ok(params) => {
                    let item = params.text_document;
                    self.engine.open(&item.uri, &item.language_id, item.version, &item.text);
                    self.tell_unpredictable(&item.uri);
                }
                Err(error) => tracing::warn!("bad didOpen params: {error}"),
            },
            "textDocument/didChange" => {
                match serde_json::from_value::<proto::SyncDidChange>(params) {
                    Ok(params) => {
                        let changes: Vec<TextChange> = params
                            .content_changes
                            .into_iter()
                            .map(|change| TextChange {
                                range: change.range.map(proto::range_from_lsp),
                                text: change.text,
                            })
                            .collect();
                        let uri = params.text_document.uri;
                        let changed = self.engine.change(
                            &uri,
                            params.text_document.version,
                            &changes,
                            self.encoding(),
                        );
                        match changed {
                            Ok(()) => self.tell_unpredictable(&uri),
                            Err(error) => tracing::warn!("{error}; ignored"),
                        }
                    }
                    Err(error) => tracing::warn!("bad didChange params: {error}"),
                }
            }
            "textDocument/didClose" => {
                match serde_json::from_value::<proto::SyncDidClose>(params) {
                    Ok(params) => {
                        self.engine.close(&params.text_document.uri);
                        lock(&self.told_unpredictable).remove(&params.text_document.uri);
                    }
                    Err(error) => tracing::warn!("bad didClose params: {error}"),
                }
            }
            _ => {}
        }
    }

    /// Closes a document whose sync panicked; the client is told once to open it again.
    fn drop_broken_document(&self, uri: &str) {
        let closed = catch_unwind(AssertUnwindSafe(|| self.engine.close(uri)));
        if closed.is_err() {
            tracing::error!("closing {uri} after a panic panicked too");
        }
        lock(&self.told_unpredictable).remove(uri);
        self.show_once(
            lsp::MessageType::ERROR,
            format!(
                "nextedit: internal error while applying a change to {}; close and reopen the file to get suggestions again",
                self.engine.display_path(uri)
            ),
        );
    }
}

/// The message of a panic payload, when it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}
