//! Conversions between LSP's shapes and the engine's plain types (from_proto/to_proto in one
//! place).

use ropey::Rope;
use serde::Deserialize;
use tower_lsp_server::ls_types as lsp;

use crate::config::EncodingSetting;
use crate::text::{Position, PositionEncoding, PositionRange, TextEdit, position};

pub fn position_from_lsp(position: lsp::Position) -> Position {
    Position::new(position.line, position.character)
}

pub fn position_to_lsp(position: Position) -> lsp::Position {
    lsp::Position::new(position.line, position.character)
}

pub fn range_from_lsp(range: lsp::Range) -> PositionRange {
    PositionRange::new(position_from_lsp(range.start), position_from_lsp(range.end))
}

/// A byte range of `rope` as an LSP range.
pub fn range_to_lsp(
    rope: &Rope,
    range: &std::ops::Range<usize>,
    encoding: PositionEncoding,
) -> lsp::Range {
    lsp::Range::new(
        position_to_lsp(position::byte_to_position(rope, range.start, encoding)),
        position_to_lsp(position::byte_to_position(rope, range.end, encoding)),
    )
}

pub fn text_edit_to_lsp(rope: &Rope, edit: &TextEdit, encoding: PositionEncoding) -> lsp::TextEdit {
    lsp::TextEdit {
        range: range_to_lsp(rope, &edit.range, encoding),
        new_text: edit.new_text.clone(),
    }
}

pub fn encoding_to_lsp(encoding: PositionEncoding) -> lsp::PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => lsp::PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => lsp::PositionEncodingKind::UTF32,
    }
}

pub fn encoding_from_setting(setting: EncodingSetting) -> PositionEncoding {
    match setting {
        EncodingSetting::Utf8 => PositionEncoding::Utf8,
        EncodingSetting::Utf16 => PositionEncoding::Utf16,
        EncodingSetting::Utf32 => PositionEncoding::Utf32,
    }
}

/// Picks utf-8 if the client offers it, then utf-32, else the mandatory utf-16.
pub fn negotiate_encoding(offered: Option<&[lsp::PositionEncodingKind]>) -> PositionEncoding {
    let offered = offered.unwrap_or_default();
    let has = |kind: &lsp::PositionEncodingKind| offered.iter().any(|o| o == kind);
    if has(&lsp::PositionEncodingKind::UTF8) {
        PositionEncoding::Utf8
    } else if has(&lsp::PositionEncodingKind::UTF32) {
        PositionEncoding::Utf32
    } else {
        PositionEncoding::Utf16
    }
}

// Lenient shapes for document sync: a URI is kept as the client spelled it.

#[derive(Debug, Deserialize)]
pub struct SyncTextDocumentItem {
    pub uri: String,
    #[serde(rename = "languageId", default)]
    pub language_id: String,
    pub version: i32,
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct SyncDidOpen {
    #[serde(rename = "textDocument")]
    pub text_document: SyncTextDocumentItem,
}

#[derive(Debug, Deserialize)]
pub struct SyncVersionedDocument {
    pub uri: String,
    pub version: i32,
}

#[derive(Debug, Deserialize)]
pub struct SyncContentChange {
    pub range: Option<lsp::Range>,
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct SyncDidChange {
    #[serde(rename = "textDocument")]
    pub text_document: SyncVersionedDocument,
    #[serde(rename = "contentChanges")]
    pub content_changes: Vec<SyncContentChange>,
}

#[derive(Debug, Deserialize)]
pub struct SyncDocumentId {
    pub uri: String,
}

#[derive(Debug, Deserialize)]
pub struct SyncDidClose {
    #[serde(rename = "textDocument")]
    pub text_document: SyncDocumentId,
}

/// The lenient shape of `textDocument/inlineCompletion` params: the URI as the client spelled it,
/// `context` optional.
#[derive(Debug, Deserialize)]
pub struct DocumentPositionParams {
    #[serde(rename = "textDocument")]
    pub text_document: SyncDocumentId,
    pub position: lsp::Position,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_utf8_then_utf32() {
        use lsp::PositionEncodingKind as K;
        assert_eq!(negotiate_encoding(None), PositionEncoding::Utf16);
        assert_eq!(negotiate_encoding(Some(&[K::UTF16, K::UTF32])), PositionEncoding::Utf32);
        assert_eq!(
            negotiate_encoding(Some(&[K::UTF16, K::UTF32, K::UTF8])),
            PositionEncoding::Utf8
        );
        assert_eq!(
            negotiate_encoding(Some(&[K::from("latin1".to_owned())])),
            PositionEncoding::Utf16
        );
    }
}
