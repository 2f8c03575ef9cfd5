//! What the user did with suggestions: accepted, rejected, shown.
//!
//! A rejected suggestion is not offered again for the same document text. The memory is kept per
//! document (the same change may be right in another file), is forgotten when the document
//! closes, and holds at most [`MAX_REJECTIONS_PER_DOCUMENT`] entries, the oldest going first.
//!
//! Delivered suggestions are remembered too (at most [`MAX_DELIVERED`], the oldest going first),
//! with the text their document has once they are applied. Clients apply an edit before they run
//! its accept command (or never run it), and by then the change has replaced the suggestion: an
//! accept that names a delivered suggestion still counts, and a change that turns the document
//! into exactly a delivered suggestion's result counts as its accept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ropey::Rope;

use super::suggestion::{Suggestion, fingerprint};
use super::{Engine, EngineEvent};
use crate::locks::lock;
use crate::text::TextEdit;

/// The most rejections remembered for one document.
pub const MAX_REJECTIONS_PER_DOCUMENT: usize = 64;

/// The most delivered suggestions remembered, over all documents.
pub const MAX_DELIVERED: usize = 32;

/// A suggestion a client received.
struct Delivered {
    id: u64,
    uri: String,
    /// The document's text with the suggestion applied: its edits, and for a rename also its
    /// group (every occurrence).
    results: Vec<Rope>,
    accepted: bool,
}

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
    /// Delivered suggestions, oldest first.
    delivered: Mutex<VecDeque<Delivered>>,
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
        lock(&self.delivered).retain(|delivered| delivered.uri != uri);
    }

    fn remember_delivery(&self, suggestion: &Suggestion, rope: &Rope) {
        let mut delivered = lock(&self.delivered);
        if delivered.iter().any(|entry| entry.id == suggestion.id) {
            return;
        }
        let proposal = &suggestion.proposal;
        let results = [&proposal.edits, &proposal.group]
            .into_iter()
            .filter(|edits| !edits.is_empty())
            .filter_map(|edits| apply_edits(rope, edits))
            .collect();
        if delivered.len() >= MAX_DELIVERED {
            delivered.pop_front();
        }
        delivered.push_back(Delivered {
            id: suggestion.id,
            uri: suggestion.uri.clone(),
            results,
            accepted: false,
        });
    }

    fn is_delivered(&self, id: u64) -> bool {
        lock(&self.delivered).iter().any(|entry| entry.id == id)
    }

    /// Marks the delivered suggestion `id` accepted. Returns its document and whether this is the
    /// first accept; `None` when it was not delivered (or is forgotten).
    fn mark_accepted(&self, id: u64) -> Option<(String, bool)> {
        let mut delivered = lock(&self.delivered);
        let entry = delivered.iter_mut().find(|entry| entry.id == id)?;
        Some((entry.uri.clone(), !std::mem::replace(&mut entry.accepted, true)))
    }

    /// The delivered, not yet accepted suggestion of `uri` whose result `text` is, marked accepted.
    fn accept_implied_by(&self, uri: &str, text: &Rope) -> Option<u64> {
        let mut delivered = lock(&self.delivered);
        let entry = delivered.iter_mut().rev().find(|entry| {
            !entry.accepted
                && entry.uri == uri
                && entry
                    .results
                    .iter()
                    .any(|result| result.len_bytes() == text.len_bytes() && result == text)
        })?;
        entry.accepted = true;
        Some(entry.id)
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

/// `rope` with `edits` (sorted, non-overlapping byte ranges) applied; `None` if one does not fit.
fn apply_edits(rope: &Rope, edits: &[TextEdit]) -> Option<Rope> {
    let mut result = rope.clone();
    for edit in edits.iter().rev() {
        let start = result.try_byte_to_char(edit.range.start).ok()?;
        let end = result.try_byte_to_char(edit.range.end).ok()?;
        if start > end || result.try_char_to_byte(start).ok()? != edit.range.start {
            return None;
        }
        result.try_remove(start..end).ok()?;
        result.try_insert(start, &edit.new_text).ok()?;
    }
    Some(result)
}

impl Engine {
    /// A client received `suggestion`, made for `rope` (its document at its version): its accept
    /// is recognised from now on even after the suggestion was applied.
    pub fn delivered(&self, suggestion: &Suggestion, rope: &Rope) {
        self.shared.feedback.remember_delivery(suggestion, rope);
    }

    /// The user accepted a suggestion: a current one, or a delivered one (the client applied the
    /// edit first, and the change replaced the suggestion). The edit itself arrives as a
    /// `didChange`, which chains the next prediction. An accept of a suggestion that is neither,
    /// or that was already counted, is not counted (the answer is true for the latter).
    pub fn accept(&self, id: u64) -> bool {
        let uri = match self.shared.feedback.mark_accepted(id) {
            // Counted already: the change into its result came first.
            Some((_, false)) => return true,
            Some((uri, true)) => Some(uri),
            None => self.suggestion_by_id(id).map(|suggestion| suggestion.uri),
        };
        let Some(uri) = uri else { return false };
        self.record_accept(id, &uri, "the accept command");
        true
    }

    /// Counts an accept and seals the history: the user's next edit starts a new history event
    /// instead of joining the accepted one.
    fn record_accept(&self, id: u64, uri: &str, how: &str) {
        self.shared.feedback.accepted.fetch_add(1, Ordering::Relaxed);
        lock(&self.shared.documents).seal_history(uri);
        tracing::info!(id, uri, "suggestion accepted ({how})");
    }

    /// After a change of `uri`: if the document is now exactly a delivered suggestion applied,
    /// the user accepted it (through a client that does not run the accept command, or before it).
    pub(super) fn notice_implied_accept(&self, uri: &str) {
        let Some(rope) = self.with_documents(|documents| {
            documents.get(uri).map(|open| open.document.rope().clone())
        }) else {
            return;
        };
        if let Some(id) = self.shared.feedback.accept_implied_by(uri, &rope) {
            self.record_accept(id, uri, "the document became its result");
        }
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
        if self.shared.feedback.is_delivered(id) || self.suggestion_by_id(id).is_some() {
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
