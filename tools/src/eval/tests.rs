//! End-to-end tests of the evaluation: the metrics against the reference scorer, and the replay
//! path against a small in-process LSP server.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::*;
use crate::eval::cases::Case;
use crate::eval::positions::{
    Encoding, minimal_replacement, offset_to_position, position_to_offset,
};
use crate::eval::summary::reference_table;
use crate::lsp_client::{LspClient, ServerHandle, write_frame};
use crate::lsp_framing::FrameReader;

/// `shared/eval`, beside the repository.
fn shared_eval_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval");
    assert!(dir.join("score.py").exists(), "the reference scorer is missing at {}", dir.display());
    dir
}

fn case(
    id: &str,
    language: &str,
    category: &str,
    before: &str,
    history: &[&str],
    expected_after: &str,
) -> Case {
    Case {
        id: id.to_owned(),
        language: language.to_owned(),
        file_path: format!("src/{id}.txt"),
        before: before.to_owned(),
        history: history.iter().map(|diff| (*diff).to_owned()).collect(),
        cursor: Default::default(),
        expected_after: expected_after.to_owned(),
        expected_patch: String::new(),
        category: category.to_owned(),
        alternative_patches: Vec::new(),
        provenance: Value::Null,
        category_evidence: Value::Null,
    }
}

#[test]
fn pure_renames_are_renames_and_nothing_else() {
    let before = "fn f(count: u32) -> u32 {\n    count + 1\n}\n";
    let mut pure =
        case("p", "rust", "rename-propagation", before, &[], &before.replace("count", "total"));
    pure.category_evidence = serde_json::json!({"rename_pairs": ["count->total"]});
    assert!(pure.is_pure_rename());
    // Something besides the rename in the expected edit.
    let mut impure = pure.clone();
    impure.expected_after = before.replace("count", "total").replace("+ 1", "+ 2");
    assert!(!impure.is_pure_rename());
    // A rename the evidence does not name.
    let mut other = pure.clone();
    other.expected_after = before.replace("count", "amount");
    assert!(!other.is_pure_rename());
    // The miner's place for the evidence, and only rename cases.
    let mut in_provenance = pure.clone();
    in_provenance.provenance =
        serde_json::json!({"category_evidence": in_provenance.category_evidence.take()});
    assert!(in_provenance.is_pure_rename());
    in_provenance.category = "repeated-pattern".to_owned();
    assert!(!in_provenance.is_pure_rename());
}

/// Small cases that reach the corners of the metrics: Unicode, whitespace, alternatives,
/// deletions, blank lines, information separators.
fn synthetic_cases() -> Vec<Case> {
    let mut cases = vec![
        case(
            "rename",
            "rust",
            "rename-propagation",
            "fn total(items: &[u32]) -> u32 {\n    let sum = 0;\n    sum\n}\n\nfn main() {\n    let x = totl(&[1]);\n}\n",
            &[],
            "fn total(items: &[u32]) -> u32 {\n    let sum = 0;\n    sum\n}\n\nfn main() {\n    let x = total(&[1]);\n}\n",
        ),
        case(
            "unicode",
            "python",
            "other",
            "def grüße():\n    return \"😀\"\n\n\nprint(grüße())\n",
            &[],
            "def grüße():\n    return \"😀 λ\"\n\n\nprint(grüße())\n",
        ),
        case(
            "whitespace",
            "python",
            "repeated-pattern",
            "a = 1\nb = 2\n\tc = 3\n",
            &[],
            "a = 1\nb = 2\n\tc = 3\nd = 4\n",
        ),
        case("deletion", "rust", "other", "x\n\n\ny\nz\n}\n}\n", &[], "x\n\ny\n}\n}\n"),
        case("separator", "python", "other", "a\u{1f}b\nc\u{a0}d\n", &[], "a b\nc d\n"),
    ];
    cases[1].alternative_patches = vec![
        "@@ -2,1 +2,1 @@\n-    return \"😀\"\n+    return \"λ 😀\"\n".to_owned(),
        "@@ -9,1 +9,1 @@\n-nothing\n+here\n".to_owned(),
    ];
    cases
}

/// Predictions of several kinds for a case: exact, nothing, wrong place, half right, whitespace
/// only, an unrelated deletion.
fn prediction_variants(case: &Case) -> Vec<Option<String>> {
    let before = &case.before;
    let expected = &case.expected_after;
    let mut variants = vec![Some(expected.clone()), None];
    let lines: Vec<&str> = before.split('\n').collect();
    let mut wrong = lines.clone();
    wrong.insert(lines.len() / 3, "    // unrelated");
    variants.push(Some(wrong.join("\n")));
    let (start, end, new_text) = minimal_replacement(before, expected);
    let half: String = new_text.chars().take(new_text.chars().count() / 2).collect();
    let mut partial = before.clone();
    partial.replace_range(start..end, &half);
    variants.push(Some(partial));
    variants.push(Some(expected.replace("\n", " \n").replace("    ", "\t")));
    let mut deleted = lines.clone();
    if deleted.len() > 2 {
        deleted.remove(1);
    }
    variants.push(Some(deleted.join("\n")));
    variants
}

fn write_jsonl<T: serde::Serialize>(path: &Path, items: &[T]) {
    let mut text = String::new();
    for item in items {
        text.push_str(&serde_json::to_string(item).unwrap());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn run_score_py(cases: &Path, predictions: &Path, by: &str) -> String {
    let output = Command::new("python3")
        .arg(shared_eval_dir().join("score.py"))
        .arg(cases)
        .arg("--pred")
        .arg(predictions)
        .args(["--by", by])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "score.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The reference scorer's per-case numbers, as JSON floats (Python's shortest repr).
fn reference_case_scores(cases: &Path, predictions: &Path) -> HashMap<String, [f64; 4]> {
    let script = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
import score
preds = {}
for l in open(sys.argv[3], encoding="utf-8"):
    r = json.loads(l); preds[r["id"]] = r["predicted_after"]
out = {}
for l in open(sys.argv[2], encoding="utf-8"):
    r = json.loads(l)
    pred = preds.get(r["id"], r["before"])
    exps = score.expected_texts(r)
    ws = lambda t: " ".join(t.split())
    ps, hit = score.changed_span(r["before"], pred), 0.0
    for e in exps:
        es = score.changed_span(r["before"], e)
        if ps and es and es[0] <= ps[0] < max(es[1], es[0] + 1):
            hit = 1.0
    out[r["id"]] = [float(any(pred == e for e in exps)), float(any(ws(pred) == ws(e) for e in exps)),
                    max(score.delta_chrf(r["before"], e, pred) for e in exps), hit]
print(json.dumps(out))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(shared_eval_dir())
        .arg(cases)
        .arg(predictions)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the scoring script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Scores predictions with our metrics and checks every per-case number (bit for bit) and every
/// line of both reference tables.
fn check_agreement(dir: &Path, cases: &[Case], predictions: &[Option<String>]) {
    let cases_path = dir.join("cases.jsonl");
    write_jsonl(&cases_path, cases);
    let mut results = Vec::new();
    for (case, predicted) in cases.iter().zip(predictions) {
        let loaded = cases::LoadedCase { case: case.clone(), source: cases_path.clone() };
        let fired = predicted.is_some();
        let replayed = runner::Replayed {
            outcome: runner::Outcome::Answered,
            edits: if fired { vec![json!({})] } else { Vec::new() },
            predicted_after: predicted.clone().unwrap_or_else(|| case.before.clone()),
            text_before_last_edit: case.before.clone(),
            latency: None,
            ranked: None,
        };
        results.push(score_replayed(&loaded, replayed));
    }
    let predictions_path = dir.join("predictions.jsonl");
    // Cases without a suggestion are left out: the reference scorer then predicts `before`.
    let written: Vec<&summary::CaseResult> =
        results.iter().zip(predictions).filter(|(_, p)| p.is_some()).map(|(r, _)| r).collect();
    write_jsonl(&predictions_path, &written);

    let reference = reference_case_scores(&cases_path, &predictions_path);
    for result in &results {
        let expected = reference[&result.id];
        let ours = [result.exact, result.exact_ws, result.delta_chrf, result.loc_hit];
        for (name, (ours, theirs)) in
            ["exact", "exact_ws", "delta_chrf", "loc_hit"].iter().zip(ours.iter().zip(expected))
        {
            assert_eq!(
                ours.to_bits(),
                theirs.to_bits(),
                "{name} of {}: ours {ours}, reference {theirs}",
                result.id
            );
        }
    }
    assert_eq!(
        reference_table(&results, false),
        run_score_py(&cases_path, &predictions_path, "category")
    );
    assert_eq!(
        reference_table(&results, true),
        run_score_py(&cases_path, &predictions_path, "language")
    );
}

#[test]
fn metrics_agree_with_the_reference_scorer_on_synthetic_cases() {
    let tempdir = tempfile::tempdir().unwrap();
    let dir = tempdir.path();
    let mut cases = Vec::new();
    let mut predictions = Vec::new();
    for base in synthetic_cases() {
        for (index, prediction) in prediction_variants(&base).into_iter().enumerate() {
            let mut variant = base.clone();
            variant.id = format!("{}-{index}", base.id);
            cases.push(variant);
            predictions.push(prediction);
        }
    }
    check_agreement(dir, &cases, &predictions);
}

#[test]
fn metrics_agree_with_the_reference_scorer_on_shared_cases() {
    let tempdir = tempfile::tempdir().unwrap();
    let dir = tempdir.path();
    let text = std::fs::read_to_string(shared_eval_dir().join("dev.jsonl")).unwrap();
    let mut cases = Vec::new();
    let mut predictions = Vec::new();
    // Every eighth case, with a different kind of prediction each time.
    for (index, line) in text.lines().enumerate().filter(|(index, _)| index % 8 == 0) {
        let case: Case = serde_json::from_str(line).unwrap();
        let variants = prediction_variants(&case);
        predictions.push(variants[(index / 8) % variants.len()].clone());
        cases.push(case);
    }
    check_agreement(dir, &cases, &predictions);
}

#[test]
fn every_shared_case_replays_its_history_and_no_expected_edit_is_a_reversal() {
    for file in ["dev.jsonl", "dev-reverse.jsonl"] {
        let loaded = cases::load_cases(&[shared_eval_dir().join(file)]).unwrap();
        assert!(!loaded.is_empty());
        for loaded in &loaded {
            let case = &loaded.case;
            let replay = case.replay().unwrap_or_else(|error| panic!("{}: {error:#}", case.id));
            assert_eq!(replay.steps.len(), case.history.len());
            // The metric's sanity: real next edits do not undo the last edit; undoing it does.
            let previous = case.text_before_last_edit(&replay);
            assert!(
                !metrics::is_reversal(&previous, &case.before, &case.expected_after),
                "{}",
                case.id
            );
            assert!(metrics::is_reversal(&previous, &case.before, &previous), "{}", case.id);
        }
    }
}

/// A minimal next-edit server for tests: it keeps documents in sync, and answers the next-edit
/// request with the edit that turns the document into the expected text it was given (or with
/// nothing, or with a wrong edit, or it dies, depending on the document's text).
fn fake_server(
    reader: std::io::PipeReader,
    mut writer: std::io::PipeWriter,
    answers: HashMap<String, String>,
) {
    let mut reader = FrameReader::new(reader);
    let encoding = Encoding::Utf16;
    let mut documents: HashMap<String, String> = HashMap::new();
    while let Ok(Some(message)) = reader.read() {
        let method = message.get("method").and_then(Value::as_str).unwrap_or("").to_owned();
        let id = message.get("id").cloned();
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let respond = |writer: &mut std::io::PipeWriter, result: Value| {
            write_frame(writer, &json!({"jsonrpc": "2.0", "id": id, "result": result})).unwrap();
        };
        match method.as_str() {
            "initialize" => {
                assert_eq!(
                    params.pointer("/initializationOptions/model/backend"),
                    Some(&json!("none"))
                );
                respond(&mut writer, json!({"capabilities": {"positionEncoding": "utf-16"}}));
            }
            "initialized" => {
                write_frame(&mut writer, &json!({"jsonrpc": "2.0", "method": "nextedit/status", "params": {"state": "off"}})).unwrap();
            }
            "textDocument/didOpen" => {
                let uri =
                    params.pointer("/textDocument/uri").and_then(Value::as_str).unwrap().to_owned();
                let text = params
                    .pointer("/textDocument/text")
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned();
                documents.insert(uri, text);
            }
            "textDocument/didChange" => {
                let uri = params.pointer("/textDocument/uri").and_then(Value::as_str).unwrap();
                let text = documents.get_mut(uri).unwrap();
                for change in params["contentChanges"].as_array().unwrap() {
                    let position = |key: &str| positions::LspPosition {
                        line: change["range"][key]["line"].as_u64().unwrap() as u32,
                        character: change["range"][key]["character"].as_u64().unwrap() as u32,
                    };
                    let start = position_to_offset(text, position("start"), encoding);
                    let end = position_to_offset(text, position("end"), encoding);
                    text.replace_range(start..end, change["text"].as_str().unwrap());
                }
            }
            "textDocument/didClose" => {
                let uri = params.pointer("/textDocument/uri").and_then(Value::as_str).unwrap();
                documents.remove(uri);
            }
            "textDocument/copilotInlineEdit" => {
                let uri = params.pointer("/textDocument/uri").and_then(Value::as_str).unwrap();
                let text = &documents[uri];
                if text.contains("CRASH") {
                    return;
                }
                if text.contains("REFUSE") {
                    write_frame(&mut writer, &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32801, "message": "content modified"}})).unwrap();
                    continue;
                }
                let Some(target) = answers.get(text.as_str()) else {
                    // The document is not what the case says it should be: make that visible.
                    write_frame(&mut writer, &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": "unknown document text"}})).unwrap();
                    continue;
                };
                let target = if text.contains("WRONG") {
                    format!("// wrong\n{text}")
                } else {
                    target.clone()
                };
                let (start, end, new_text) = minimal_replacement(text, &target);
                let edits = if start == end && new_text.is_empty() {
                    Vec::new()
                } else {
                    let start = offset_to_position(text, start, encoding);
                    let end = offset_to_position(text, end, encoding);
                    vec![json!({
                        "text": new_text,
                        "range": {"start": {"line": start.line, "character": start.character}, "end": {"line": end.line, "character": end.character}},
                        "textDocument": {"uri": uri, "version": params["textDocument"]["version"]},
                        "command": {"title": "Accept", "command": "nextedit.accept", "arguments": [7]},
                    })]
                };
                respond(&mut writer, json!({"edits": edits}));
            }
            "workspace/executeCommand"
                if params["command"] == "nextedit.debugDocument"
                    && params.pointer("/arguments/0/suggestion") == Some(&json!(7)) =>
            {
                // The wrong suggestion comes from the model, unconfident; the others are renames.
                let uri = params.pointer("/arguments/0/uri").and_then(Value::as_str).unwrap();
                let text = &documents[uri];
                let suggestion = if text.contains("WRONG") {
                    json!({"source": "model", "score": 0.25})
                } else {
                    json!({"source": "rename", "score": 0.9})
                };
                respond(&mut writer, json!({"text": text, "suggestion": suggestion}));
            }
            "shutdown" => respond(&mut writer, Value::Null),
            "exit" => return,
            _ => {
                if id.is_some() {
                    respond(&mut writer, Value::Null);
                }
            }
        }
        writer.flush().unwrap();
    }
}

struct FakeLauncher {
    answers: HashMap<String, String>,
    launches: AtomicUsize,
}

impl ServerLauncher for FakeLauncher {
    fn launch(&self) -> anyhow::Result<LspClient> {
        self.launches.fetch_add(1, Ordering::Relaxed);
        let (client_reader, server_writer) = std::io::pipe()?;
        let (server_reader, client_writer) = std::io::pipe()?;
        let answers = self.answers.clone();
        let thread = std::thread::spawn(move || fake_server(server_reader, server_writer, answers));
        Ok(LspClient::over(
            Box::new(client_reader),
            Box::new(client_writer),
            ServerHandle::Thread(thread),
        ))
    }

    fn describe(&self) -> String {
        "fake".to_owned()
    }
}

/// Cases with a history (including a multi-hunk diff and non-ASCII text) for the replay test.
fn replay_cases() -> Vec<Case> {
    let initial = "fn main() {\n    let größe = 1;\n    println!(\"{}\", größe);\n}\n\nfn helper() {\n    let a = 1;\n}\n";
    let after_first = "fn main() {\n    let size = 1;\n    println!(\"{}\", größe);\n}\n\nfn helper() {\n    let a = 1;\n}\n";
    let history = [
        "--- a/src/main.rs\n+++ b/src/main.rs\n@@ -1,3 +1,3 @@\n fn main() {\n-    let größe = 1;\n+    let size = 1;\n     println!(\"{}\", größe);\n",
    ];
    let expected = "fn main() {\n    let size = 1;\n    println!(\"{}\", size);\n}\n\nfn helper() {\n    let a = 1;\n}\n";
    let mut rename =
        case("fake-rename", "rust", "rename-propagation", after_first, &history, expected);
    rename.cursor = cases::CaseCursor { line: 1, character: 16 };
    assert_eq!(unapply_first(&rename), initial);

    let two_hunks = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n-a = 1\n+a = 10\n b = 2\n@@ -4,2 +4,2 @@\n d = 4\n-e = 5 # 😀\n+e = 50 # 😀\n";
    let multi = case(
        "fake-multi",
        "python",
        "repeated-pattern",
        "a = 10\nb = 2\nc = 3\nd = 4\ne = 50 # 😀\nf = 6\n",
        &[two_hunks],
        "a = 10\nb = 2\nc = 3\nd = 4\ne = 50 # 😀\nf = 60\n",
    );
    let silent = case("fake-silent", "python", "other", "x = 1\n", &[], "x = 1\ny = 2\n");
    let mut silent = silent;
    silent.expected_after = "x = 1\ny = 2\n".to_owned();
    let wrong = case("fake-wrong", "python", "other", "WRONG = 1\n", &[], "WRONG = 2\n");
    let crash = case("fake-crash", "rust", "other", "CRASH\n", &[], "CRASH!\n");
    let after_crash = case("fake-after-crash", "rust", "other", "ok\n", &[], "ok!\n");
    let stale = case("fake-stale", "rust", "other", "REFUSE\n", &[], "REFUSE!\n");
    let bad = case(
        "fake-bad-history",
        "rust",
        "other",
        "abc\n",
        &["@@ -1 +1 @@\n-zzz\n+yyy\n"],
        "abcd\n",
    );
    vec![rename, multi, silent, wrong, crash, after_crash, stale, bad]
}

fn unapply_first(case: &Case) -> String {
    case.replay().unwrap().initial
}

#[test]
fn replays_cases_through_a_server_and_writes_the_report() {
    let tempdir = tempfile::tempdir().unwrap();
    let dir = tempdir.path();
    let cases = replay_cases();
    let cases_path = dir.join("cases.jsonl");
    write_jsonl(&cases_path, &cases);
    // The fake answers with the expected text, except for the silent case.
    let answers: HashMap<String, String> = cases
        .iter()
        .map(|case| {
            let target = if case.id == "fake-silent" {
                case.before.clone()
            } else {
                case.expected_after.clone()
            };
            (case.before.clone(), target)
        })
        .collect();
    let launcher = FakeLauncher { answers, launches: AtomicUsize::new(0) };
    let out = dir.join("out");
    let args = EvalArgs::parse(&[
        cases_path.to_string_lossy().into_owned(),
        "--out".into(),
        out.to_string_lossy().into_owned(),
        "--backend".into(),
        "none".into(),
        "--no-progress".into(),
    ])
    .unwrap();
    let runs = run_eval_with(&args, &launcher).unwrap();
    assert_eq!(launcher.launches.load(Ordering::Relaxed), 2, "one restart after the crash");

    let predictions = std::fs::read_to_string(out.join("predictions.jsonl")).unwrap();
    let results: Vec<summary::CaseResult> =
        predictions.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let outcomes: Vec<(&str, &str, bool, f64)> = results
        .iter()
        .map(|result| (result.id.as_str(), result.outcome.as_str(), result.fired, result.exact))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("fake-rename", "ok", true, 1.0),
            ("fake-multi", "ok", true, 1.0),
            ("fake-silent", "ok", false, 0.0),
            ("fake-wrong", "ok", true, 0.0),
            ("fake-crash", "crash", false, 0.0),
            ("fake-after-crash", "ok", true, 1.0),
            ("fake-stale", "stale", false, 0.0),
            ("fake-bad-history", "bad-case", false, 0.0),
        ]
    );
    let overall = &runs[0].overall;
    assert_eq!(
        (overall.cases, overall.fired, overall.crashes, overall.errors, overall.bad_cases),
        (8, 4, 1, 1, 1)
    );
    assert_eq!(overall.precision, Some(75.0));
    assert_eq!(runs[0].position_encoding, "utf-16");
    let ranked: Vec<(Option<&str>, Option<f32>)> =
        results.iter().map(|result| (result.origin.as_deref(), result.confidence)).collect();
    assert_eq!(ranked[0], (Some("rename"), Some(0.9)));
    assert_eq!(ranked[2], (None, None), "nothing fired, nothing ranked");
    assert_eq!(ranked[3], (Some("model"), Some(0.25)));

    // The exported predictions give the reference scorer's numbers.
    assert_eq!(
        reference_table(&results, false),
        run_score_py(&cases_path, &out.join("predictions.jsonl"), "category")
    );

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Overall"), "{report}");
    assert!(report.contains("| rename-propagation | 1 | 100.0 |"), "{report}");
    assert!(report.contains("`fake-crash`: crash"), "{report}");
    // Calibration: at 0.3 the unconfident model suggestion is gone, the renames stay.
    assert!(report.contains("### Calibration"), "{report}");
    assert!(report.contains("| 0.30 | 37.5 | 100.0 | 37.5 |"), "{report}");
    // The report carries the reference scorer's own tables, byte for byte.
    let reference = run_score_py(&cases_path, &out.join("predictions.jsonl"), "category")
        + &run_score_py(&cases_path, &out.join("predictions.jsonl"), "language");
    assert!(report.contains(&format!("```\n{reference}```")), "{report}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["overall"]["cases"], 8);
    for chart in [
        "exact",
        "exact_ws",
        "delta_chrf",
        "loc_hit",
        "fire_rate",
        "precision",
        "reversal_ratio",
        "latency",
        "calibration",
    ] {
        let svg = std::fs::read_to_string(out.join("charts").join(format!("{chart}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{chart}");
    }
}

#[test]
fn compares_configurations_in_one_report() {
    let tempdir = tempfile::tempdir().unwrap();
    let dir = tempdir.path();
    let cases = vec![case("only", "rust", "other", "a\n", &[], "b\n")];
    let cases_path = dir.join("cases.jsonl");
    write_jsonl(&cases_path, &cases);
    std::fs::write(
        dir.join("first.toml"),
        "[model]\nbackend = \"none\"\n[symbolic]\nenabled = true\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("second.toml"),
        "[model]\nbackend = \"none\"\n[predict]\ndebounce_ms = 10\n",
    )
    .unwrap();
    let answers =
        cases.iter().map(|case| (case.before.clone(), case.expected_after.clone())).collect();
    let launcher = FakeLauncher { answers, launches: AtomicUsize::new(0) };
    let out = dir.join("out");
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let args = EvalArgs::parse(&[
        path("cases.jsonl"),
        "--compare".into(),
        path("first.toml"),
        path("second.toml"),
        "--out".into(),
        out.to_string_lossy().into_owned(),
        "--no-progress".into(),
    ])
    .unwrap();
    let runs = run_eval_with(&args, &launcher).unwrap();
    assert_eq!(runs.iter().map(|run| run.name.as_str()).collect::<Vec<_>>(), ["first", "second"]);
    assert_eq!(
        runs[1].settings,
        json!({"model": {"backend": "none"}, "predict": {"debounce_ms": 10}})
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| first | 1 | 100.0 |") && report.contains("| second | 1 | 100.0 |"),
        "{report}"
    );
    assert!(out.join("first/predictions.jsonl").exists() && out.join("second/report.md").exists());
}

#[test]
fn the_progress_bar_template_is_valid() {
    // `progress_bar` falls back to indicatif's default style on an invalid template, silently.
    assert!(indicatif::ProgressStyle::with_template(PROGRESS_TEMPLATE).is_ok());
}

#[test]
fn parses_arguments() {
    let args: Vec<String> = [
        "a.jsonl",
        "b.jsonl",
        "--symbolic",
        "off",
        "--set",
        "predict.max_tokens=64",
        "--method",
        "predict",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    let parsed = EvalArgs::parse(&args).unwrap();
    assert_eq!(parsed.cases, [PathBuf::from("a.jsonl"), PathBuf::from("b.jsonl")]);
    assert_eq!(parsed.method, Method::Predict);
    let configuration = load_configuration(None, &parsed.overrides).unwrap();
    assert_eq!(
        configuration.settings,
        json!({"symbolic": {"enabled": false}, "predict": {"max_tokens": 64}})
    );
    assert!(EvalArgs::parse(&["--compare".to_owned(), "a.toml".to_owned()]).is_err());
    let strings = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect::<Vec<_>>();
    let parsed =
        EvalArgs::parse(&strings(&["--compare", "a.toml", "b.toml", "cases.jsonl"])).unwrap();
    assert_eq!((parsed.configs.len(), parsed.cases.len()), (2, 1));
    assert!(EvalArgs::parse(&["--bogus".to_owned()]).is_err());
}

/// A next-edit server as a separate process (Python), to test spawning, stderr capture and the
/// restart after the process dies: it suggests appending `!` to the last line, dies on a document
/// that contains CRASH, and never answers on one that contains HANG.
const PROCESS_SERVER: &str = r#"
import json, os, sys
sys.stderr.write("fake server started\n"); sys.stderr.flush()
docs = {}
def read():
    headers = {}
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        line = line.decode().strip()
        if not line:
            break
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return json.loads(sys.stdin.buffer.read(int(headers["content-length"])))
def send(msg):
    body = json.dumps(msg).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body); sys.stdout.buffer.flush()
while True:
    msg = read()
    if msg is None:
        break
    method, params = msg.get("method"), msg.get("params") or {}
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": msg["id"], "result": {"capabilities": {"positionEncoding": "utf-8"}}})
    elif method == "initialized":
        send({"jsonrpc": "2.0", "method": "nextedit/status", "params": {"state": "loading"}})
        send({"jsonrpc": "2.0", "id": "progress-1", "method": "window/workDoneProgress/create", "params": {"token": "t"}})
        send({"jsonrpc": "2.0", "method": "nextedit/status", "params": {"state": "ready"}})
    elif method == "textDocument/didOpen":
        docs[params["textDocument"]["uri"]] = params["textDocument"]["text"]
    elif method == "textDocument/copilotInlineEdit":
        text = docs[params["textDocument"]["uri"]]
        if "CRASH" in text:
            os._exit(3)
        if "HANG" in text:
            continue
        line = text.rstrip("\n").count("\n")
        col = len(text.rstrip("\n").split("\n")[-1].encode())
        pos = {"line": line, "character": col}
        send({"jsonrpc": "2.0", "id": msg["id"], "result": {"edits": [{"text": "!", "range": {"start": pos, "end": pos}}]}})
    elif method == "shutdown":
        send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
    elif method == "exit":
        break
    elif "id" in msg and "method" in msg:
        send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
"#;

#[test]
fn replays_through_a_server_process_and_restarts_it_after_a_crash() {
    let tempdir = tempfile::tempdir().unwrap();
    let dir = tempdir.path();
    let cases = vec![
        case("p-ok", "python", "other", "x = 'ü'\n", &[], "x = 'ü'!\n"),
        case("p-crash", "python", "other", "CRASH\n", &[], "CRASH!\n"),
        case("p-hang", "python", "other", "HANG\n", &[], "HANG!\n"),
        case("p-after", "python", "other", "y = 2\n", &[], "y = 2!\n"),
    ];
    let cases_path = dir.join("cases.jsonl");
    write_jsonl(&cases_path, &cases);
    let out = dir.join("out");
    let launcher = runner::ProcessLauncher {
        program: PathBuf::from("python3"),
        args: vec!["-c".to_owned(), PROCESS_SERVER.to_owned()],
        stderr_log: Some(dir.join("server.log")),
    };
    let args = EvalArgs::parse(&[
        cases_path.to_string_lossy().into_owned(),
        "--out".into(),
        out.to_string_lossy().into_owned(),
        "--timeout-secs".into(),
        "1".into(),
        "--no-progress".into(),
    ])
    .unwrap();
    let runs = run_eval_with(&args, &launcher).unwrap();
    let predictions = std::fs::read_to_string(out.join("predictions.jsonl")).unwrap();
    let results: Vec<summary::CaseResult> =
        predictions.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let outcomes: Vec<(&str, &str, f64)> = results
        .iter()
        .map(|result| (result.id.as_str(), result.outcome.as_str(), result.exact))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("p-ok", "ok", 1.0),
            ("p-crash", "crash", 0.0),
            ("p-hang", "timeout", 0.0),
            ("p-after", "ok", 1.0)
        ]
    );
    assert_eq!(runs[0].server_crashes, 1);
    assert_eq!(runs[0].position_encoding, "utf-8");
    // The hung request was cancelled and never answered: the report says so.
    assert!(
        runs[0].notes.iter().any(|note| note.contains("never answered")),
        "{:?}",
        runs[0].notes
    );
    // It waited for the model, which the fake reports as loading, then ready.
    assert!(
        runs[0].notes.iter().any(|note| note.starts_with("model ready after")),
        "{:?}",
        runs[0].notes
    );
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert_eq!(log.matches("fake server started").count(), 2, "{log}");
}

#[test]
fn every_nth_case_is_taken_from_each_file() {
    let loaded = |file: &str, id: &str| crate::eval::cases::LoadedCase {
        case: case(id, "rust", "other", "", &[], ""),
        source: PathBuf::from(file),
    };
    let cases = vec![
        loaded("a.jsonl", "a0"),
        loaded("a.jsonl", "a1"),
        loaded("a.jsonl", "a2"),
        loaded("b.jsonl", "b0"),
        loaded("b.jsonl", "b1"),
        loaded("b.jsonl", "b2"),
        loaded("b.jsonl", "b3"),
    ];
    let sample = crate::eval::every_nth_of_each_file(cases, 2);
    let ids: Vec<&str> = sample.iter().map(|loaded| loaded.case.id.as_str()).collect();
    assert_eq!(ids, ["a0", "a2", "b0", "b2"]);
}
