//! Fault injection for the reliability tests.
//!
//! `NEXTEDIT_FAULT` names faults (comma-separated) that fire once each in this process. It is read
//! once, at the first check, from the server's own environment: no client message can arm a fault.
//! Unknown names are ignored. ARCHITECTURE.md lists the hooks.
//!
//! - `panic-in-prediction`: the first prediction job panics.
//! - `model-thread-dies`: the llama model thread panics on its first generation, as if llama.cpp had
//!   crashed; the supervisor restarts it.
//! - `panic-in-request`: the first `textDocument/codeAction` handler panics.
//! - `panic-in-sync`: the first `didChange` panics while it holds the documents lock.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

pub const FAULT_ENV_VAR: &str = "NEXTEDIT_FAULT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    PanicInPrediction,
    ModelThreadDies,
    PanicInRequest,
    PanicInSync,
}

impl Fault {
    const ALL: [Fault; 4] = [
        Fault::PanicInPrediction,
        Fault::ModelThreadDies,
        Fault::PanicInRequest,
        Fault::PanicInSync,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::PanicInPrediction => "panic-in-prediction",
            Fault::ModelThreadDies => "model-thread-dies",
            Fault::PanicInRequest => "panic-in-request",
            Fault::PanicInSync => "panic-in-sync",
        }
    }

    fn index(self) -> usize {
        match self {
            Fault::PanicInPrediction => 0,
            Fault::ModelThreadDies => 1,
            Fault::PanicInRequest => 2,
            Fault::PanicInSync => 3,
        }
    }
}

/// The faults named by `value`, in any order.
pub fn parse_faults(value: &str) -> Vec<Fault> {
    value
        .split(',')
        .map(str::trim)
        .filter_map(|name| Fault::ALL.into_iter().find(|fault| fault.name() == name))
        .collect()
}

fn armed() -> &'static [Fault] {
    static ARMED: OnceLock<Vec<Fault>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var(FAULT_ENV_VAR).map(|value| parse_faults(&value)).unwrap_or_default()
    })
}

/// True exactly once per process for an armed fault: the caller then fails the way the fault says.
pub fn fire_once(fault: Fault) -> bool {
    static FIRED: [AtomicBool; Fault::ALL.len()] =
        [const { AtomicBool::new(false) }; Fault::ALL.len()];
    if !armed().contains(&fault) {
        return false;
    }
    let first = !FIRED[fault.index()].swap(true, Ordering::SeqCst);
    if first {
        tracing::warn!("{FAULT_ENV_VAR}: injecting the fault {}", fault.name());
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fault_lists() {
        assert_eq!(parse_faults("panic-in-prediction"), vec![Fault::PanicInPrediction]);
        assert_eq!(
            parse_faults(" model-thread-dies , nonsense,panic-in-prediction"),
            vec![Fault::ModelThreadDies, Fault::PanicInPrediction]
        );
        assert!(parse_faults("").is_empty());
    }

    #[test]
    fn nothing_fires_without_the_variable() {
        // The test process does not set NEXTEDIT_FAULT.
        if std::env::var_os(FAULT_ENV_VAR).is_none() {
            assert!(!fire_once(Fault::PanicInPrediction));
        }
    }
}
