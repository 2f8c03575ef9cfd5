//! The protocol beyond LSP: custom methods, their typed params and results, and the command
//! names. DESIGN.md §3 describes them; editors/ speak them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::ls_types as lsp;

/// `nextedit.accept [id]`: the user accepted a suggestion (chains the next prediction).
pub const COMMAND_ACCEPT: &str = "nextedit.accept";
/// `nextedit.reject [id]`: the user rejected a suggestion (it is not offered again).
pub const COMMAND_REJECT: &str = "nextedit.reject";
/// `nextedit.predict [{uri, position}]`: predicts now and returns [`PredictResult`] or null.
pub const COMMAND_PREDICT: &str = "nextedit.predict";
/// Returns the server's copy of a document and the feedback counters (`{uri}` ->
/// `{text, version, feedback: {shown, accepted, rejected}}`), for tests and bug reports.
pub const COMMAND_DEBUG_DOCUMENT: &str = "nextedit.debugDocument";

/// Every command, as advertised in the capabilities.
pub const COMMANDS: [&str; 4] =
    [COMMAND_ACCEPT, COMMAND_REJECT, COMMAND_PREDICT, COMMAND_DEBUG_DOCUMENT];

pub const COPILOT_INLINE_EDIT: &str = "textDocument/copilotInlineEdit";
pub const DID_SHOW_INLINE_EDIT: &str = "textDocument/didShowInlineEdit";
pub const INLINE_COMPLETION: &str = "textDocument/inlineCompletion";

/// `textDocument/copilotInlineEdit` params (the Copilot language server's shape).
#[derive(Debug, Deserialize)]
pub struct InlineEditParams {
    #[serde(rename = "textDocument")]
    pub text_document: InlineEditDocument,
    pub position: lsp::Position,
}

/// A document as the client spelled its URI, at an optional version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InlineEditDocument {
    pub uri: String,
    pub version: Option<i32>,
}

/// `textDocument/copilotInlineEdit` result.
#[derive(Debug, Serialize)]
pub struct InlineEditResult {
    pub edits: Vec<InlineEdit>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineEdit {
    pub text: String,
    pub range: lsp::Range,
    pub text_document: InlineEditDocument,
    pub command: lsp::Command,
    /// `model`, `rename` or `repeat`.
    pub source: &'static str,
}

/// `textDocument/didShowInlineEdit` params: `{item: {command: {arguments: [id]}}}`.
#[derive(Debug, Deserialize)]
pub struct DidShowInlineEditParams {
    pub item: ShownItem,
}

#[derive(Debug, Deserialize)]
pub struct ShownItem {
    pub command: Option<ShownCommand>,
}

#[derive(Debug, Deserialize)]
pub struct ShownCommand {
    #[serde(default)]
    pub arguments: Vec<Value>,
}

impl DidShowInlineEditParams {
    /// The suggestion id the item's command names.
    pub fn suggestion_id(&self) -> Option<u64> {
        self.item.command.as_ref()?.arguments.first()?.as_u64()
    }
}

/// `nextedit/status`: model loading, ready, error or off, for status bars.
pub enum StatusNotification {}

impl lsp::notification::Notification for StatusNotification {
    type Params = StatusParams;
    const METHOD: &'static str = "nextedit/status";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusParams {
    pub state: StatusState,
    /// Why (an error), or what serves (ready); `null` when there is nothing to say.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    Off,
    Loading,
    Ready,
    Error,
}

/// `didChangeStatus`: the Copilot language server's status notification, which sidekick.nvim
/// shows in its status line and copilot-lsp reads. Sent to clients that identify themselves the
/// Copilot way, next to `nextedit/status`.
pub enum CopilotStatusNotification {}

impl lsp::notification::Notification for CopilotStatusNotification {
    type Params = CopilotStatusParams;
    const METHOD: &'static str = "didChangeStatus";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopilotStatusParams {
    /// Work in progress (the model loading).
    pub busy: bool,
    pub kind: CopilotStatusKind,
    /// Left out when there is nothing to say (the clients test for its presence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The kinds the Copilot clients know; nextedit uses `Normal` and `Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CopilotStatusKind {
    Normal,
    Error,
}

/// `nextedit.predict` argument: `{uri, position?}` or `{textDocument: {uri}, position?}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PredictArguments {
    pub uri: Option<String>,
    pub text_document: Option<DocumentUri>,
    pub position: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct DocumentUri {
    pub uri: String,
}

/// `nextedit.predict` result.
#[derive(Debug, Serialize)]
pub struct PredictResult {
    pub id: u64,
    pub uri: String,
    pub version: i32,
    pub edits: Vec<lsp::TextEdit>,
    pub source: &'static str,
    pub score: f32,
    pub title: String,
}

/// `nextedit.debugDocument` argument.
#[derive(Debug, Deserialize)]
pub struct DebugDocumentArguments {
    pub uri: String,
    /// A delivered suggestion's id: the result then says its source and confidence.
    #[serde(default)]
    pub suggestion: Option<u64>,
}

/// `nextedit.debugDocument` result.
#[derive(Debug, Serialize)]
pub struct DebugDocumentResult {
    pub text: String,
    pub version: i32,
    /// The server's feedback counters (all documents), so tests can see an accept recorded.
    pub feedback: FeedbackCounts,
    /// The suggestion asked for, while it is the document's current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<SuggestionInfo>,
}

/// What the ranker said about a delivered suggestion, for calibration (`nextedit eval`).
#[derive(Debug, Serialize)]
pub struct SuggestionInfo {
    pub source: &'static str,
    /// The ranker's confidence (0..1), the number `predict.min_confidence` gates on.
    pub score: f32,
}

#[derive(Debug, Serialize)]
pub struct FeedbackCounts {
    pub shown: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// `experimental` server capabilities.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentalCapabilities {
    pub copilot_inline_edit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_spelled_as_the_editors_expect() {
        let params = StatusParams { state: StatusState::Loading, message: None };
        assert_eq!(
            serde_json::to_value(params).unwrap(),
            serde_json::json!({"state": "loading", "message": null})
        );
        let params = StatusParams { state: StatusState::Error, message: Some("x".into()) };
        assert_eq!(
            serde_json::to_value(params).unwrap(),
            serde_json::json!({"state": "error", "message": "x"})
        );
    }

    #[test]
    fn copilot_status_is_spelled_as_its_clients_parse_it() {
        let params =
            CopilotStatusParams { busy: true, kind: CopilotStatusKind::Normal, message: None };
        assert_eq!(
            serde_json::to_value(params).unwrap(),
            serde_json::json!({"busy": true, "kind": "Normal"})
        );
        let params = CopilotStatusParams {
            busy: false,
            kind: CopilotStatusKind::Error,
            message: Some("x".into()),
        };
        assert_eq!(
            serde_json::to_value(params).unwrap(),
            serde_json::json!({"busy": false, "kind": "Error", "message": "x"})
        );
    }

    #[test]
    fn shown_items_name_their_suggestion() {
        let params: DidShowInlineEditParams = serde_json::from_value(
            serde_json::json!({"item": {"command": {"command": "nextedit.accept", "arguments": [7]}}}),
        )
        .unwrap();
        assert_eq!(params.suggestion_id(), Some(7));
    }
}
