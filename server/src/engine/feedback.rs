//! What the user did with suggestions: accepted, rejected, shown.
//!
//! A rejected suggestion is not offered again for the same document text. The memory is kept per
//! document (the same change may be right in another file), is forgotten when the document
//! closes, and holds at most [`MAX_REJECTIONS_PER_DOCUMENT`] entries, the oldest going first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::suggestion::fingerprint;
use super::{Engine, EngineEvent};
use crate::locks::lock;
use crate::text::TextEdit;

/// The most rejections remembered for one document.
pub const MAX_REJECTIONS_PER_DOCUMENT: usize = 64;

/// Counters for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedbackStats {
    pub shown: u64,
    pub accepted: u64,
    pub rejected: u64,
}

#[derive(Default)]
pub(super) struct Feedback {
    /// Per document URI, the fingerprints of rejected suggestions, oldest first.
    rejected: Mutex<HashMap<String, VecDeque<String>>>,
    shown: AtomicU64,
    accepted: AtomicU64,
    rejected_count: AtomicU64,
}

impl Feedback {
    pub(super) fn is_rejected(&self, uri: &str, text: &str, edits: &[TextEdit]) -> bool {
        let rejected = lock(&self.rejected);
        let Some(fingerprints) = rejected.get(uri) else { return false };
        let fingerprint = fingerprint(text, edits);
        fingerprints.contains(&fingerprint)
    }

    fn remember_rejection(&self, uri: &str, fingerprint: String) {
        let mut rejected = lock(&self.rejected);
        let fingerprints = rejected.entry(uri.to_owned()).or_default();
        if fingerprints.contains(&fingerprint) {
            return;
        }
        if fingerprints.len() >= MAX_REJECTIONS_PER_DOCUMENT {
            fingerprints.pop_front();
        }
        fingerprints.push_back(fingerprint);
    }

    pub(super) fn forget_document(&self, uri: &str) {
        lock(&self.rejected).remove(uri);
    }

    #[cfg(test)]
    pub(super) fn remembered(&self, uri: &str) -> usize {
        lock(&self.rejected).get(uri).map_or(0, VecDeque::len)
    }

    #[cfg(test)]
    pub(super) fn remember_rejection_for_test(&self, uri: &str, suggestion: &super::Suggestion) {
        self.remember_rejection(uri, fingerprint("", suggestion.edits()));
    }
}

impl Engine {
    /// The user accepted a suggestion. The edit itself arrives as a `didChange`, which chains the
    /// next prediction. An id that is not a current suggestion is not counted.
    pub fn accept(&self, id: u64) -> bool {
        let Some(suggestion) = self.suggestion_by_id(id) else { return false };
        self.shared.feedback.accepted.fetch_add(1, Ordering::Relaxed);
        // The user's next edit starts a new history event instead of joining the accepted one.
        lock(&self.shared.documents).seal_history(&suggestion.uri);
        true
    }

    /// The user rejected a suggestion: it is not offered again for this text of its document.
    pub fn reject(&self, id: u64) -> bool {
        let Some(suggestion) = self.suggestion_by_id(id) else { return false };
        // The rope is cloned under the lock (cheap: shared structure), the text made outside it.
        let rope = self.with_documents(|documents| {
            documents.get(&suggestion.uri).map(|open| open.document.rope().clone())
        });
        if let Some(rope) = rope {
            let fingerprint = fingerprint(&rope.to_string(), suggestion.edits());
            self.shared.feedback.remember_rejection(&suggestion.uri, fingerprint);
            self.shared.feedback.rejected_count.fetch_add(1, Ordering::Relaxed);
        }
        lock(&self.shared.jobs).clear_suggestion(&suggestion.uri);
        self.notify(EngineEvent::SuggestionChanged { uri: suggestion.uri, suggestion: None });
        true
    }

    /// A client showed a suggestion. An id that is not a current suggestion is not counted.
    pub fn shown(&self, id: u64) {
        if self.suggestion_by_id(id).is_some() {
            self.shared.feedback.shown.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn feedback_stats(&self) -> FeedbackStats {
        let feedback = &self.shared.feedback;
        FeedbackStats {
            shown: feedback.shown.load(Ordering::Relaxed),
            accepted: feedback.accepted.load(Ordering::Relaxed),
            rejected: feedback.rejected_count.load(Ordering::Relaxed),
        }
    }
}
