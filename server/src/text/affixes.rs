//! The common prefix and suffix of two texts: what an edit that turns one into the other can
//! leave out. Every "smallest change" in the workspace (the engine's edit minimising and region
//! diff fallback, the tools' replayed changes, the symbolic tests' snapshots) starts here.

/// The lengths in bytes of the longest common prefix of `old` and `new`, and of the longest
/// common suffix of what follows that prefix, both on char boundaries of both texts. The two
/// never overlap: `prefix + suffix <= min(old.len(), new.len())`, so `old[prefix..old.len() -
/// suffix]` is what changes into `new[prefix..new.len() - suffix]`.
pub fn common_affixes(old: &str, new: &str) -> (usize, usize) {
    let mut prefix = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let room = old.len().min(new.len()) - prefix;
    let mut suffix =
        old.bytes().rev().zip(new.bytes().rev()).take(room).take_while(|(a, b)| a == b).count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    (prefix, suffix)
}

#[cfg(test)]
mod tests {
    use super::common_affixes;

    #[test]
    fn affixes_stay_on_char_boundaries_and_never_overlap() {
        for (old, new, expected) in [
            ("abcd", "abXd", (2, 1)),
            ("aaa", "aaaa", (3, 0)),
            ("λx", "λ", (2, 0)),
            ("a😀b", "a😁b", (1, 1)),
            ("é", "è", (0, 0)),
            ("", "new", (0, 0)),
            ("same", "same", (4, 0)),
            ("xay", "xby", (1, 1)),
        ] {
            let (prefix, suffix) = common_affixes(old, new);
            assert_eq!((prefix, suffix), expected, "{old:?} -> {new:?}");
            let rebuilt = format!(
                "{}{}{}",
                &old[..prefix],
                &new[prefix..new.len() - suffix],
                &old[old.len() - suffix..]
            );
            assert_eq!(rebuilt, new);
        }
    }
}
