//! Per-case results and their aggregates per category, per language and overall.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::eval::metrics::CaseScores;
use crate::stats::percentile;

/// One case's result, one line of `predictions.jsonl`. `id` and `predicted_after` are what the
/// reference scorer reads; the rest is for people.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub predicted_after: String,
    pub source: String,
    pub language: String,
    pub category: String,
    /// A rename-propagation case whose expected edit is the rename alone (`Case::is_pure_rename`).
    #[serde(default)]
    pub pure: bool,
    /// The server suggested something (a non-empty edit list).
    pub fired: bool,
    /// `ok`, `stale`, `timeout`, `error`, `bad-case` or `crash`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    pub exact: f64,
    pub exact_ws: f64,
    pub delta_chrf: f64,
    pub loc_hit: f64,
    /// The suggestion undoes part of the last history edit (see `metrics::is_reversal`).
    pub reversal: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<serde_json::Value>,
    /// Where the suggestion came from (`model`, `rename`, `repeat`), when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The server ranker's confidence in the suggestion (0..1), when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// delta-chrF had nothing been suggested (for calibration; not written).
    #[serde(skip)]
    pub silent_delta_chrf: f64,
}

impl CaseResult {
    pub fn scores(&self) -> CaseScores {
        CaseScores {
            exact: self.exact,
            exact_ws: self.exact_ws,
            delta_chrf: self.delta_chrf,
            loc_hit: self.loc_hit,
        }
    }
}

/// The aggregate of one group of cases. Rates are percentages; delta-chrF is a mean in [0, 100].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupSummary {
    pub group: String,
    pub cases: usize,
    pub exact: f64,
    pub exact_ws: f64,
    pub delta_chrf: f64,
    pub loc_hit: f64,
    pub fired: usize,
    pub fire_rate: f64,
    /// Exact among fired; `None` when nothing fired.
    pub precision: Option<f64>,
    /// Reversals among fired; `None` when nothing fired.
    pub reversal_ratio: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    /// Error answers, stale answers and timeouts.
    pub errors: usize,
    pub timeouts: usize,
    pub stale: usize,
    pub crashes: usize,
    pub bad_cases: usize,
}

pub fn summarize(group: &str, results: &[&CaseResult]) -> GroupSummary {
    let cases = results.len();
    let count = cases.max(1) as f64;
    // Sums in case order, then one division: the reference scorer's arithmetic.
    let sum = |value: fn(&CaseResult) -> f64| {
        results.iter().fold(0.0, |total, result| total + value(result))
    };
    let fired: Vec<&&CaseResult> = results.iter().filter(|result| result.fired).collect();
    let exact_fired = fired.iter().filter(|result| result.exact == 1.0).count();
    let reversals = fired.iter().filter(|result| result.reversal).count();
    let mut latencies: Vec<f64> = results.iter().filter_map(|result| result.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let outcome_count =
        |label: &str| results.iter().filter(|result| result.outcome == label).count();
    GroupSummary {
        group: group.to_owned(),
        cases,
        exact: 100.0 * sum(|result| result.exact) / count,
        exact_ws: 100.0 * sum(|result| result.exact_ws) / count,
        delta_chrf: sum(|result| result.delta_chrf) / count,
        loc_hit: 100.0 * sum(|result| result.loc_hit) / count,
        fired: fired.len(),
        fire_rate: 100.0 * fired.len() as f64 / count,
        precision: (!fired.is_empty()).then(|| 100.0 * exact_fired as f64 / fired.len() as f64),
        reversal_ratio: (!fired.is_empty()).then(|| 100.0 * reversals as f64 / fired.len() as f64),
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p95_ms: percentile(&latencies, 95.0),
        errors: outcome_count("error") + outcome_count("timeout") + outcome_count("stale"),
        timeouts: outcome_count("timeout"),
        stale: outcome_count("stale"),
        crashes: outcome_count("crash"),
        bad_cases: outcome_count("bad-case"),
    }
}

/// All aggregates of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub name: String,
    pub settings: serde_json::Value,
    pub method: String,
    pub position_encoding: String,
    pub server: String,
    pub server_crashes: usize,
    pub notes: Vec<String>,
    pub overall: GroupSummary,
    pub by_category: Vec<GroupSummary>,
    pub by_language: Vec<GroupSummary>,
    pub by_file: Vec<GroupSummary>,
    /// Latencies of every answered request, in case order, for the distribution chart.
    pub latencies_ms: Vec<f64>,
}

pub fn group_by(results: &[CaseResult], key: fn(&CaseResult) -> &str) -> Vec<GroupSummary> {
    let mut groups: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for result in results {
        groups.entry(key(result)).or_default().push(result);
    }
    groups.iter().map(|(name, members)| summarize(name, members)).collect()
}

#[allow(clippy::too_many_arguments)]
pub fn summarize_run(
    name: &str,
    settings: &serde_json::Value,
    method: &str,
    position_encoding: &str,
    server: &str,
    server_crashes: usize,
    notes: Vec<String>,
    results: &[CaseResult],
) -> RunSummary {
    let all: Vec<&CaseResult> = results.iter().collect();
    RunSummary {
        name: name.to_owned(),
        settings: settings.clone(),
        method: method.to_owned(),
        position_encoding: position_encoding.to_owned(),
        server: server.to_owned(),
        server_crashes,
        notes,
        overall: summarize("ALL", &all),
        by_category: with_pure_renames(group_by(results, |result| &result.category), results),
        by_language: group_by(results, |result| &result.language),
        by_file: group_by(results, |result| &result.source),
        latencies_ms: results.iter().filter_map(|result| result.latency_ms).collect(),
    }
}

/// The category rows with a `rename-propagation (pure)` row after the renames' row: the cases
/// a rename engine can hit exactly.
fn with_pure_renames(mut groups: Vec<GroupSummary>, results: &[CaseResult]) -> Vec<GroupSummary> {
    let pure: Vec<&CaseResult> = results.iter().filter(|result| result.pure).collect();
    if pure.is_empty() {
        return groups;
    }
    let at = groups
        .iter()
        .position(|group| group.group == "rename-propagation")
        .map_or(groups.len(), |index| index + 1);
    groups.insert(at, summarize(PURE_RENAMES, &pure));
    groups
}

/// The name of the pure-rename row.
pub const PURE_RENAMES: &str = "rename-propagation (pure)";

/// The reference scorer's table, line for line (`score.py --by category` or `--by language`).
pub fn reference_table(results: &[CaseResult], by_language: bool) -> String {
    let all: Vec<&CaseResult> = results.iter().collect();
    let mut groups = vec![summarize("ALL", &all)];
    groups.extend(group_by(
        results,
        if by_language { |result| &result.language } else { |result| &result.category },
    ));
    let mut out = format!(
        "{:28} {:>5} {:>7} {:>9} {:>7} {:>8}\n",
        "group", "n", "exact", "exact_ws", "dchrF", "loc_hit"
    );
    for group in groups {
        out.push_str(&format!(
            "{:28} {:5} {:7.1} {:9.1} {:7.1} {:8.1}\n",
            group.group, group.cases, group.exact, group.exact_ws, group.delta_chrf, group.loc_hit
        ));
    }
    out
}
