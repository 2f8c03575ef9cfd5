//! Deterministic synthetic inputs for model measurements: the real-model tests and
//! `nextedit bench`'s model sections use the same ones, so their numbers compare.

/// Synthetic code: `count` small functions numbered from `first`, in a fixed style.
pub fn synthetic_code(first: usize, count: usize) -> String {
    let mut code = String::new();
    for index in first..first + count {
        code.push_str(&format!(
            "fn scale_{index}(values: &mut Vec<f64>, factor: f64) -> usize {{\n    let mut changed = 0;\n    for value in values.iter_mut() {{\n        *value *= factor + {index}.0;\n        changed += 1;\n    }}\n    changed\n}}\n\n"
        ));
    }
    code
}

/// A prompt whose greedy continuation is long and confident: a file of similar functions, which
/// the model continues with the next ones. The expected continuation plays the editable region.
pub fn rewrite_prompt() -> String {
    synthetic_code(1, 6)
}

/// Tokens generated in the rewrite measurement (about four functions).
pub const REWRITE_TOKENS: usize = 240;
