//! `nextedit bench`'s symbolic section: the latency of the symbolic engine (`symbolic::propose`)
//! on a generated file, right after edits it does and does not act on.

use std::time::{Duration, Instant};

use nextedit::engine::symbolic::{self, snapshot::snapshot_after_texts};

use crate::bench::report::{BenchSection, duration_percentile, millis, row};
use crate::bench::sources::similar_functions;

/// The latency of the symbolic engine in one scenario.
#[derive(Debug, Clone)]
pub struct SymbolicLatency {
    pub scenario: &'static str,
    pub lines: usize,
    pub p50: Duration,
    pub p99: Duration,
}

/// Measures `symbolic::propose` on a generated Rust file of about `lines` lines, right after a
/// rename of a local, a rename of a function used everywhere, a repeatable edit and an unrelated
/// edit: p50 and p99 over 200 runs each.
pub fn measure_symbolic(lines: usize) -> Vec<SymbolicLatency> {
    let text = similar_functions(lines);
    let lines = text.lines().count();
    let middle = text.len() / 2;
    let function_start = text[..middle].rfind("pub fn").unwrap_or(0);
    // A rename of a parameter in the middle of the file.
    let parameter = function_start + text[function_start..].find("count: usize").unwrap_or(0);
    let renamed = format!("{}limit{}", &text[..parameter], &text[parameter + "count".len()..]);
    // A rename of a function that every other function calls.
    let helper = text.find("helper(").unwrap_or(0);
    let global = format!("{}assist{}", &text[..helper], &text[helper + "helper".len()..]);
    // A repeated edit: an argument added to one call.
    let call =
        function_start + text[function_start..].find("helper(entry, \"count\")").unwrap_or(0);
    let call_end = call + "helper(entry, \"count\"".len();
    let repeated = format!("{}, 3{}", &text[..call_end], &text[call_end..]);
    // Typing in the middle of a line that nothing follows from.
    let typed = format!("{}// note\n{}", &text[..function_start], &text[function_start..]);
    let scenarios = [
        ("rename a local", snapshot_after_texts("bench.rs", &[&text, &renamed])),
        ("rename a function", snapshot_after_texts("bench.rs", &[&text, &global])),
        ("repeated edit", snapshot_after_texts("bench.rs", &[&text, &repeated])),
        ("unrelated edit", snapshot_after_texts("bench.rs", &[&text, &typed])),
    ];
    // The first call compiles the locals query of the language, once per process.
    std::hint::black_box(symbolic::propose(&scenarios[0].1));
    scenarios
        .iter()
        .map(|(scenario, snapshot)| {
            let mut samples: Vec<Duration> = (0..200)
                .map(|_| {
                    let started = Instant::now();
                    std::hint::black_box(symbolic::propose(snapshot));
                    started.elapsed()
                })
                .collect();
            samples.sort();
            SymbolicLatency {
                scenario,
                lines,
                p50: duration_percentile(&samples, 50.0),
                p99: duration_percentile(&samples, 99.0),
            }
        })
        .collect()
}

pub fn symbolic_section(lines: usize) -> BenchSection {
    let mut rows = Vec::new();
    for result in measure_symbolic(lines) {
        rows.push(row(
            format!("{} ({} lines) p50", result.scenario, result.lines),
            millis(result.p50),
            "ms",
        ));
        rows.push(row(
            format!("{} ({} lines) p99", result.scenario, result.lines),
            millis(result.p99),
            "ms",
        ));
    }
    BenchSection {
        name: "symbolic engine (rename and repeat detection per change)".to_owned(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_measured() {
        let results = measure_symbolic(300);
        assert_eq!(results.len(), 4);
        assert!(results.iter().all(|result| result.p50 <= result.p99 && result.lines >= 300));
    }
}
