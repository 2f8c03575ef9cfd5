//! What a prediction sees: a snapshot of the document around the cursor, the editable region, and
//! the user's recent edits. Prompt formats turn this into a prompt; it holds no LSP types.

use std::ops::Range;

/// One recent edit, already rendered, oldest first in [`PredictionContext::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// Path relative to the workspace root where known, else the file name.
    pub path: String,
    /// The touched lines before the edit (with line breaks).
    pub old_text: String,
    /// The touched lines after the edit (with line breaks).
    pub new_text: String,
    /// The edit as unified diff hunks (`@@ -a,b +c,d @@` lines and bodies, no file header).
    pub unified_diff: String,
}

/// A snippet of another file, shown to the model as context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedSnippet {
    pub path: String,
    pub text: String,
}

/// Everything a prompt format needs. Byte offsets index into `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictionContext {
    pub path: String,
    /// The registry id of the language (`rust`, `python`, ...), if known.
    pub language: Option<String>,
    /// The whole current text of the document.
    pub text: String,
    /// The cursor, as a byte offset into `text`.
    pub cursor: usize,
    /// The region the model may rewrite: whole lines around the cursor.
    pub editable_region: Range<usize>,
    /// A larger window around the region shown as read-only context: whole lines.
    pub excerpt: Range<usize>,
    /// Recent edits, oldest first; the current file's events are included, as are other files'.
    pub events: Vec<HistoryEvent>,
    /// The text of this document before the oldest kept event (for the Sweep format), if any edit
    /// was made.
    pub original_text: Option<String>,
    pub related: Vec<RelatedSnippet>,
}

impl PredictionContext {
    pub fn region_text(&self) -> &str {
        &self.text[self.editable_region.clone()]
    }

    pub fn excerpt_text(&self) -> &str {
        &self.text[self.excerpt.clone()]
    }
}
