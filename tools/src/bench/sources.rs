//! Generated source files for `nextedit bench`: deterministic, so that runs compare. A leaf.

/// A plausible source file of `lines` lines (Rust, or Python for `"python"`), made of small
/// items: what the keystroke path and the memory measurement type into.
pub fn generate_source(language: &str, lines: usize) -> String {
    let mut out = String::new();
    let mut line_count = 0;
    let mut index = 0;
    while line_count < lines {
        let block = match language {
            "python" => format!(
                "class Item{index}:\n    \"\"\"An item with a value.\"\"\"\n\n    def __init__(self, value):\n        self.value = value  # keep it\n\n    def total(self, other):\n        if other is None:\n            return self.value\n        return self.value + other.value * {index}\n\n\n"
            ),
            _ => format!(
                "/// An item with a value.\n#[derive(Debug, Clone)]\npub struct Item{index} {{\n    value: u64,\n    name: String,\n}}\n\nimpl Item{index} {{\n    pub fn total(&self, other: &Item{index}) -> u64 {{\n        let scaled = other.value * {index};\n        self.value + scaled // keep it\n    }}\n}}\n\n"
            ),
        };
        line_count += block.lines().count();
        out.push_str(&block);
        index += 1;
    }
    out
}

/// A Rust file of about `lines` lines made of similar functions that share a parameter name and
/// call one helper: what the symbolic engine's renames and repeated edits act on.
pub fn similar_functions(lines: usize) -> String {
    let mut text = String::from("use std::collections::HashMap;\n\n");
    let mut index = 0;
    while text.lines().count() < lines {
        text.push_str(&format!(
            "/// Sums the first `count` values: {index}.\n\
             pub fn function_{index}(input: &[u32], count: usize, map: &HashMap<u32, u32>) -> usize {{\n\
             \x20   let mut total = 0;\n\
             \x20   for value in input.iter().take(count) {{\n\
             \x20       total += *value as usize + count;\n\
             \x20       let entry = map.get(value).copied().unwrap_or(0);\n\
             \x20       total += helper(entry, \"count\");\n\
             \x20   }}\n\
             \x20   total\n\
             }}\n\n"
        ));
        index += 1;
    }
    text
}
