//! The only layer of the server library that knows LSP and JSON-RPC: framing, state, handlers,
//! and conversions. (The tools crate and the tests are LSP clients with their own codec.)

pub mod capabilities;
pub mod ext;
pub mod handlers;
pub mod proto;
pub mod server;
pub mod state;
pub mod sync;
pub mod transport;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::config::SettingsLayers;
use state::GlobalState;

/// How the server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit` after `shutdown`, the end of input, or an output that can't be written to any more.
    Clean,
    /// `exit` without `shutdown` (the specification asks for exit code 1).
    ExitWithoutShutdown,
}

/// Serves LSP on `input`/`output` until `exit`, the end of input, or a failed write to `output`.
pub async fn serve<I, O>(input: I, output: O, layers: SettingsLayers) -> ExitStatus
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let state = GlobalState::new(layers);
    let (service, socket) = server::build_service(state.clone());
    let (to_server, server_input) = tokio::io::duplex(1 << 20);
    let (server_output, from_server) = tokio::io::duplex(1 << 20);
    let (errors_tx, errors_rx) = mpsc::unbounded_channel();
    let reader_state: Arc<dyn transport::SyncSink> = state.clone();
    let initialized = state.initialized_watch();
    let reader =
        tokio::spawn(transport::run_reader(input, to_server, errors_tx, reader_state, initialized));
    let stop_reading = reader.abort_handle();
    let writer = tokio::spawn(async move {
        if transport::run_writer(from_server, errors_rx, output).await
            == transport::WriterEnd::OutputClosed
        {
            // Nobody reads the answers any more: stop reading too. Dropping the reader ends
            // tower-lsp-server's input, and so the server, as the end of input does.
            tracing::info!("the output is closed (the client is gone); stopping");
            stop_reading.abort();
        }
    });
    tower_lsp_server::Server::new(server_input, server_output, socket).serve(service).await;
    // The server ends only after the reader stopped (at `exit`, the end of input, or stopped by the
    // writer above).
    let reader_end = reader.await;
    let _ = writer.await;
    match reader_end {
        Ok(saw_exit_notification) => {
            if saw_exit_notification && !state.shutdown_requested() {
                ExitStatus::ExitWithoutShutdown
            } else {
                ExitStatus::Clean
            }
        }
        // Stopped by the writer: the client is gone.
        Err(error) if error.is_cancelled() => ExitStatus::Clean,
        Err(error) => {
            // Sync panics are caught per notification; one that escapes still is no clean end.
            tracing::error!("the framing reader failed: {error}");
            ExitStatus::ExitWithoutShutdown
        }
    }
}
