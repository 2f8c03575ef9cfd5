//! The open documents: text, syntax tree and edit history, updated together on every change.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ropey::Rope;

use crate::syntax::SyntaxTree;
use crate::text::{
    AppliedChange, Document, History, HistoryConfig, PositionEncoding, TextChange, uri,
};

/// Files larger than this are synced but get no syntax tree and no predictions.
pub const MAX_PREDICTED_FILE_BYTES: usize = 5 * 1024 * 1024;
/// Files with a line longer than this are synced but get no predictions.
pub const MAX_PREDICTED_LINE_BYTES: usize = 100_000;
/// Files whose brackets nest deeper than this (generated or hostile code) are synced but get no
/// predictions.
pub const MAX_PREDICTED_NESTING: usize = 500;

/// How long a change that arrived ahead of its turn waits for the versions before it.
pub const HOLD_OUT_OF_ORDER: Duration = Duration::from_millis(50);
/// At most this many changes wait for an earlier version; one more releases them all.
const MAX_HELD_CHANGES: usize = 32;

#[derive(Debug)]
pub struct OpenDocument {
    pub document: Document,
    pub syntax: Option<SyntaxTree>,
    pub history: History,
    /// Why this document gets no predictions, if it doesn't.
    pub unpredictable: Option<String>,
    /// Changes that arrived before the version preceding them, by version. Some clients (Helix)
    /// send a quick series of changes from concurrent tasks, so version 6 can arrive before 4;
    /// applied as they come, 4 would be stale and the text would differ from the client's.
    held: BTreeMap<i32, HeldChange>,
    /// Whether every change so far was numbered one above the last. Only such a client's gap is
    /// waited for; a client that skips versions (Neovim numbers changes by its change tick) gets
    /// its changes applied as they come, once a held change was released without its gap filled.
    consecutive_versions: bool,
}

#[derive(Debug)]
struct HeldChange {
    changes: Vec<TextChange>,
    encoding: PositionEncoding,
    received: Instant,
}

/// What [`Documents::apply_changes`] did with a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The change, and any held ones it made next in line, were applied; the document is now at
    /// this version.
    Applied { version: i32 },
    /// The change waits for an earlier version (at most [`HOLD_OUT_OF_ORDER`], see
    /// [`Documents::release_held`]).
    Held,
}

/// A cheap copy of a document's state for a prediction job (ropes and trees share structure).
#[derive(Debug, Clone)]
pub struct DocumentSnapshot {
    pub uri: String,
    pub language_id: String,
    pub version: i32,
    pub rope: Rope,
    pub tree: Option<tree_sitter::Tree>,
    pub language: Option<&'static nextedit_grammars::LanguageInfo>,
    pub history: History,
    /// The cursor, when the caller knows it (a byte offset); otherwise the end of the last edit.
    pub cursor: Option<usize>,
}

/// Why a sync notification was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    #[error("change for a document that is not open: {0}")]
    UnknownDocument(String),
    #[error("change for {uri} has version {received}, not newer than {current}")]
    StaleVersion { uri: String, current: i32, received: i32 },
}

#[derive(Debug, Default)]
pub struct Documents {
    documents: HashMap<String, OpenDocument>,
    history_config: HistoryConfig,
    sequence: u64,
}

impl Documents {
    pub fn new(history_config: HistoryConfig) -> Documents {
        Documents { documents: HashMap::new(), history_config, sequence: 0 }
    }

    pub fn open(&mut self, uri: &str, language_id: &str, version: i32, text: &str) {
        let path = uri::lookup_path(uri);
        let language = nextedit_grammars::for_document(language_id, &path);
        let unpredictable = unpredictable_reason(text);
        let syntax = match (language, &unpredictable) {
            (Some(language), None) => SyntaxTree::new(language, &Rope::from_str(text)),
            _ => None,
        };
        let document = Document::new(uri, language_id, version, text);
        let history = History::new(self.history_config);
        self.documents.insert(
            uri.to_owned(),
            OpenDocument {
                document,
                syntax,
                history,
                unpredictable,
                held: BTreeMap::new(),
                consecutive_versions: true,
            },
        );
    }

    pub fn close(&mut self, uri: &str) -> bool {
        self.documents.remove(uri).is_some()
    }

    pub fn get(&self, uri: &str) -> Option<&OpenDocument> {
        self.documents.get(uri)
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    pub fn uris(&self) -> impl Iterator<Item = &str> {
        self.documents.keys().map(String::as_str)
    }

    /// Applies the changes of one `didChange` in order: rope, history, and the syntax tree's edit
    /// (the reparse happens in the next prediction job, see [`Documents::detach_reparse`]).
    ///
    /// A change that skips versions, from a client that so far numbered its changes one by one,
    /// is held until the versions before it arrive; then all are applied in version order.
    pub fn apply_changes(
        &mut self,
        uri: &str,
        version: i32,
        changes: &[TextChange],
        encoding: PositionEncoding,
        now: Instant,
    ) -> Result<ChangeOutcome, SyncError> {
        let Some(open) = self.documents.get_mut(uri) else {
            return Err(SyncError::UnknownDocument(uri.to_owned()));
        };
        let current = open.document.version;
        if version <= current || open.held.contains_key(&version) {
            return Err(SyncError::StaleVersion {
                uri: uri.to_owned(),
                current,
                received: version,
            });
        }
        let skips = version > current.saturating_add(1);
        if skips && open.consecutive_versions && open.held.len() < MAX_HELD_CHANGES {
            open.held
                .insert(version, HeldChange { changes: changes.to_vec(), encoding, received: now });
            return Ok(ChangeOutcome::Held);
        }
        let (older, newer) = if skips {
            // Too many are waiting, or the client skips versions: everything goes, in order.
            open.consecutive_versions = false;
            let mut older = std::mem::take(&mut open.held);
            let newer = older.split_off(&version);
            (older, newer)
        } else {
            // This change may be the one the held ones were waiting for.
            let mut next_in_line = BTreeMap::new();
            let mut expected = version;
            while let Some(entry) = open.held.first_entry() {
                if *entry.key() != expected.saturating_add(1) {
                    break;
                }
                expected = *entry.key();
                let (held_version, held) = entry.remove_entry();
                next_in_line.insert(held_version, held);
            }
            (BTreeMap::new(), next_in_line)
        };
        for (held_version, held) in older {
            self.apply_now(uri, held_version, &held.changes, held.encoding, held.received);
        }
        self.apply_now(uri, version, changes, encoding, now);
        for (held_version, held) in newer {
            self.apply_now(uri, held_version, &held.changes, held.encoding, held.received);
        }
        Ok(ChangeOutcome::Applied { version: self.documents[uri].document.version })
    }

    /// Applies the changes that have waited for an earlier version since before `deadline`, in
    /// version order, as if the missing versions were never sent (the client skips versions; it
    /// is not waited for again). Returns the version the document is at when anything was applied.
    pub fn release_held(&mut self, uri: &str, deadline: Instant) -> Option<i32> {
        let open = self.documents.get_mut(uri)?;
        if !open.held.values().any(|held| held.received <= deadline) {
            return None;
        }
        open.consecutive_versions = false;
        let held = std::mem::take(&mut open.held);
        for (version, held) in held {
            self.apply_now(uri, version, &held.changes, held.encoding, held.received);
        }
        Some(self.documents[uri].document.version)
    }

    /// Applies one change whose version is known to be newer than the document's.
    fn apply_now(
        &mut self,
        uri: &str,
        version: i32,
        changes: &[TextChange],
        encoding: PositionEncoding,
        now: Instant,
    ) {
        let Some(open) = self.documents.get_mut(uri) else { return };
        for change in changes {
            let before = open.document.rope().clone();
            let applied = open.document.apply_change(change, encoding);
            self.sequence += 1;
            open.history.record(&before, open.document.rope(), &applied, now, self.sequence);
            if let Some(syntax) = &mut open.syntax {
                syntax.edit(&input_edit(&applied));
            }
        }
        open.document.version = version;
        if changes.iter().any(|change| change.range.is_none() || change.text.len() > 4096) {
            // A big change may have made the document too large or too long-lined to predict.
            let text = open.document.text();
            open.unpredictable = unpredictable_reason(&text);
            if open.unpredictable.is_some() {
                open.syntax = None;
            } else if open.syntax.is_none() {
                open.syntax = nextedit_grammars::for_document(
                    &open.document.language_id,
                    &uri::lookup_path(uri),
                )
                .and_then(|language| SyntaxTree::new(language, open.document.rope()));
            }
        }
        // The tree was shifted by each change (`edit` is cheap); the reparse itself waits for the
        // next prediction job (`detach_reparse`), so typing never waits on the parser.
    }

    /// Brings the syntax tree of `uri` up to date with its text (an incremental reparse under the
    /// parse budget), in place: the same parse a prediction job runs outside the lock, for callers
    /// that hold the store anyway (benchmarks, tools).
    pub fn ensure_parsed(&mut self, uri: &str) {
        if let Some((version, text, parse)) = self.detach_reparse(uri)
            && let Some(tree) = parse.run(&text)
        {
            self.install_tree(uri, version, tree);
        }
    }

    /// What a reparse of `uri` outside this store's lock needs: the version and text it is for and
    /// the parse. `None` when the tree is fresh (or the document has none).
    pub fn detach_reparse(&self, uri: &str) -> Option<(i32, Rope, crate::syntax::DetachedParse)> {
        let open = self.documents.get(uri)?;
        let parse = open.syntax.as_ref()?.detach_reparse()?;
        Some((open.document.version, open.document.rope().clone(), parse))
    }

    /// Installs a tree from [`Documents::detach_reparse`] if `uri` is still at `version`; a newer
    /// edit made it stale again, and the next reparse starts over.
    pub fn install_tree(&mut self, uri: &str, version: i32, tree: tree_sitter::Tree) -> bool {
        let Some(open) = self.documents.get_mut(uri) else { return false };
        match &mut open.syntax {
            Some(syntax) if open.document.version == version => {
                syntax.install(tree);
                true
            }
            _ => false,
        }
    }

    /// Makes the next edit of `uri` start a new history event.
    pub fn seal_history(&mut self, uri: &str) {
        if let Some(open) = self.documents.get_mut(uri) {
            open.history.seal();
        }
    }

    pub fn snapshot(&self, uri: &str) -> Option<DocumentSnapshot> {
        let open = self.documents.get(uri)?;
        Some(DocumentSnapshot {
            uri: uri.to_owned(),
            language_id: open.document.language_id.clone(),
            version: open.document.version,
            rope: open.document.rope().clone(),
            tree: open.syntax.as_ref().and_then(|syntax| syntax.tree().cloned()),
            language: open.syntax.as_ref().map(|syntax| syntax.language()),
            history: open.history.clone(),
            cursor: None,
        })
    }

    /// Recent events of all documents, newest last, for cross-file context.
    pub fn recent_events(&self, limit: usize) -> Vec<(&str, &crate::text::EditEvent)> {
        let mut events: Vec<(&str, &crate::text::EditEvent)> = self
            .documents
            .iter()
            .flat_map(|(uri, open)| open.history.events().map(move |event| (uri.as_str(), event)))
            .collect();
        events.sort_by_key(|(_, event)| event.sequence);
        let skip = events.len().saturating_sub(limit);
        events.split_off(skip)
    }
}

fn unpredictable_reason(text: &str) -> Option<String> {
    if text.len() > MAX_PREDICTED_FILE_BYTES {
        return Some(format!(
            "the file is larger than {} MB",
            MAX_PREDICTED_FILE_BYTES / (1024 * 1024)
        ));
    }
    if text.as_bytes().contains(&0) {
        return Some("the file looks binary".to_owned());
    }
    if text.split('\n').any(|line| line.len() > MAX_PREDICTED_LINE_BYTES) {
        return Some(format!("the file has a line longer than {MAX_PREDICTED_LINE_BYTES} bytes"));
    }
    if bracket_depth_exceeds(text, MAX_PREDICTED_NESTING) {
        return Some(format!("brackets nest deeper than {MAX_PREDICTED_NESTING} levels"));
    }
    None
}

/// Whether `(`, `[` and `{` nest deeper than `limit` (counted without regard to strings or
/// comments: a cheap, language-independent upper bound of the syntax tree's depth).
fn bracket_depth_exceeds(text: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    for byte in text.bytes() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn input_edit(applied: &AppliedChange) -> tree_sitter::InputEdit {
    let point = |p: crate::text::BytePoint| tree_sitter::Point { row: p.row, column: p.column };
    tree_sitter::InputEdit {
        start_byte: applied.start_byte,
        old_end_byte: applied.old_end_byte,
        new_end_byte: applied.new_end_byte,
        start_position: point(applied.start_point),
        old_end_position: point(applied.old_end_point),
        new_end_position: point(applied.new_end_point),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_reparse_is_installed_only_on_the_text_it_parsed() {
        let uri = "file:///w/a.rs";
        let mut documents = Documents::new(HistoryConfig::default());
        documents.open(uri, "rust", 0, "fn a() {}\n");
        assert!(documents.detach_reparse(uri).is_none(), "a fresh tree needs no reparse");
        let insert = |text: &str| TextChange {
            range: Some(crate::text::PositionRange::new(
                crate::text::Position::new(0, 9),
                crate::text::Position::new(0, 9),
            )),
            text: text.to_owned(),
        };
        let now = Instant::now();
        documents.apply_changes(uri, 1, &[insert(" ")], PositionEncoding::Utf8, now).unwrap();
        let (version, text, parse) = documents.detach_reparse(uri).unwrap();
        // An edit lands while the parse runs: its tree is for an older text and is dropped.
        documents.apply_changes(uri, 2, &[insert("x")], PositionEncoding::Utf8, now).unwrap();
        let tree = parse.run(&text).unwrap();
        assert!(!documents.install_tree(uri, version, tree));
        assert!(documents.get(uri).unwrap().syntax.as_ref().unwrap().is_stale());
        // The next one matches and is installed.
        let (version, text, parse) = documents.detach_reparse(uri).unwrap();
        assert!(documents.install_tree(uri, version, parse.run(&text).unwrap()));
        let syntax = documents.get(uri).unwrap().syntax.as_ref().unwrap();
        assert!(!syntax.is_stale());
        assert_eq!(syntax.tree().unwrap().root_node().end_byte(), "fn a() {}x \n".len());
    }

    /// An insertion of `text` at the start of the document.
    fn at_start(text: &str) -> TextChange {
        let start = crate::text::Position::new(0, 0);
        TextChange {
            range: Some(crate::text::PositionRange::new(start, start)),
            text: text.to_owned(),
        }
    }

    fn text_and_version(documents: &Documents, uri: &str) -> (String, i32) {
        let open = documents.get(uri).unwrap();
        (open.document.text(), open.document.version)
    }

    #[test]
    fn changes_that_arrive_out_of_order_are_applied_in_version_order() {
        let uri = "file:///w/a.py";
        let mut documents = Documents::new(HistoryConfig::default());
        documents.open(uri, "python", 1, "x\n");
        let now = Instant::now();
        let change = |documents: &mut Documents, version: i32, text: &str| {
            documents.apply_changes(uri, version, &[at_start(text)], PositionEncoding::Utf8, now)
        };
        assert_eq!(change(&mut documents, 2, "a"), Ok(ChangeOutcome::Applied { version: 2 }));
        // 5 and 4 come before 3 (Helix sends a quick series of changes from concurrent tasks).
        assert_eq!(change(&mut documents, 5, "d"), Ok(ChangeOutcome::Held));
        assert_eq!(change(&mut documents, 4, "c"), Ok(ChangeOutcome::Held));
        assert_eq!(text_and_version(&documents, uri), ("ax\n".to_owned(), 2));
        assert!(
            matches!(change(&mut documents, 5, "d"), Err(SyncError::StaleVersion { .. })),
            "a held version is not taken twice"
        );
        assert_eq!(change(&mut documents, 3, "b"), Ok(ChangeOutcome::Applied { version: 5 }));
        assert_eq!(text_and_version(&documents, uri), ("dcbax\n".to_owned(), 5));
        assert!(matches!(change(&mut documents, 4, "late"), Err(SyncError::StaleVersion { .. })));
        // Each change is its own edit in the history, in version order.
        let history = &documents.get(uri).unwrap().history;
        assert_eq!(history.events().last().unwrap().after.to_string(), "dcbax\n");
        assert_eq!(documents.release_held(uri, now), None, "nothing waits any more");
    }

    #[test]
    fn a_client_that_skips_versions_is_waited_for_once() {
        let uri = "file:///w/a.py";
        let mut documents = Documents::new(HistoryConfig::default());
        documents.open(uri, "python", 1, "x\n");
        let start = Instant::now();
        let change = |documents: &mut Documents, version: i32, text: &str, at: Instant| {
            documents.apply_changes(uri, version, &[at_start(text)], PositionEncoding::Utf8, at)
        };
        // Neovim numbers changes by its change tick: 1, then 3, and 2 never comes.
        assert_eq!(change(&mut documents, 3, "a", start), Ok(ChangeOutcome::Held));
        let later = start + Duration::from_millis(10);
        assert_eq!(change(&mut documents, 5, "b", later), Ok(ChangeOutcome::Held));
        assert_eq!(
            documents.release_held(uri, start - Duration::from_millis(1)),
            None,
            "nothing waited that long yet"
        );
        // The release applies every held change, in order.
        assert_eq!(documents.release_held(uri, start), Some(5));
        assert_eq!(text_and_version(&documents, uri), ("bax\n".to_owned(), 5));
        // From then on gaps are not waited for.
        assert_eq!(
            change(&mut documents, 8, "c", later),
            Ok(ChangeOutcome::Applied { version: 8 })
        );
        assert_eq!(text_and_version(&documents, uri), ("cbax\n".to_owned(), 8));
    }

    #[test]
    fn too_many_held_changes_are_applied_in_order() {
        let uri = "file:///w/a.py";
        let mut documents = Documents::new(HistoryConfig::default());
        documents.open(uri, "python", 1, "");
        let now = Instant::now();
        // Version 2 never comes; 3..=34 wait for it, and one more releases them all.
        for version in 3..3 + MAX_HELD_CHANGES as i32 {
            let outcome = documents.apply_changes(
                uri,
                version,
                &[at_start(&format!("{version} "))],
                PositionEncoding::Utf8,
                now,
            );
            assert_eq!(outcome, Ok(ChangeOutcome::Held));
        }
        let last = 3 + MAX_HELD_CHANGES as i32;
        let outcome = documents.apply_changes(
            uri,
            last,
            &[at_start(&format!("{last} "))],
            PositionEncoding::Utf8,
            now,
        );
        assert_eq!(outcome, Ok(ChangeOutcome::Applied { version: last }));
        let (text, version) = text_and_version(&documents, uri);
        assert_eq!(version, last);
        let expected: Vec<String> = (3..=last).rev().map(|version| version.to_string()).collect();
        assert_eq!(text.split_whitespace().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn big_long_lined_binary_and_deeply_nested_files_are_not_predicted() {
        let nested = |depth: usize| format!("x = {}1{}\n", "[".repeat(depth), "]".repeat(depth));
        let cases = [
            ("fn main() {}\n".to_owned(), None),
            ("a".repeat(MAX_PREDICTED_FILE_BYTES + 1), Some("the file is larger than 5 MB")),
            ("x\u{0}y".to_owned(), Some("the file looks binary")),
            (
                format!("a\n{}\n", "b".repeat(MAX_PREDICTED_LINE_BYTES + 1)),
                Some("the file has a line longer than 100000 bytes"),
            ),
            (nested(MAX_PREDICTED_NESTING), None),
            (nested(MAX_PREDICTED_NESTING + 1), Some("brackets nest deeper than 500 levels")),
            // Closing brackets never go below zero, so stray ones don't hide deep nesting.
            (
                format!("{}{}", ")".repeat(1000), "(".repeat(MAX_PREDICTED_NESTING + 1)),
                Some("brackets nest deeper than 500 levels"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                unpredictable_reason(&text).as_deref(),
                expected,
                "{}",
                &text[..text.len().min(40)]
            );
        }
    }

    #[test]
    fn a_big_change_makes_a_document_unpredictable_and_back() {
        let mut documents = Documents::new(HistoryConfig::default());
        documents.open("file:///w/a.py", "python", 0, "x = 1\n");
        assert!(documents.get("file:///w/a.py").unwrap().syntax.is_some());
        let deep = TextChange { range: None, text: format!("x = {}\n", "(".repeat(600)) };
        documents
            .apply_changes("file:///w/a.py", 1, &[deep], PositionEncoding::Utf16, Instant::now())
            .unwrap();
        let open = documents.get("file:///w/a.py").unwrap();
        assert!(open.unpredictable.is_some() && open.syntax.is_none());
        let small = TextChange { range: None, text: "y = 2\n".to_owned() };
        documents
            .apply_changes("file:///w/a.py", 2, &[small], PositionEncoding::Utf16, Instant::now())
            .unwrap();
        let open = documents.get("file:///w/a.py").unwrap();
        assert!(open.unpredictable.is_none() && open.syntax.is_some());
    }
}
