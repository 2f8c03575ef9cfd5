//! The command line of the real `nextedit` binary: every help exits 0 and names its flags, and
//! a bad flag is a usage error (exit 2) that says what is wrong.

use std::process::{Command, Output};

fn nextedit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nextedit")).args(args).output().expect("cannot run nextedit")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Each subcommand (empty: the top level) and the flags its help must name.
const FLAGS: &[(&str, &[&str])] = &[
    (
        "",
        &["--stdio", "--version", "--help", "suggest", "doctor", "eval", "mine", "bench", "model"],
    ),
    ("suggest", &["FILE", "--line", "--column", "--history", "--json", "--config", "--no-model"]),
    ("doctor", &["--help"]),
    ("model", &["list", "pull"]),
    ("model list", &["--help"]),
    ("model pull", &["NAME", "OWNER/REPO/FILE.gguf", "--revision", "--force"]),
    (
        "eval",
        &[
            "CASES.jsonl",
            "--out",
            "--config",
            "--compare",
            "--backend",
            "--model",
            "--format",
            "--symbolic",
            "--debounce-ms",
            "--set",
            "--method",
            "--timeout-secs",
            "--server",
            "--server-arg",
            "--limit",
            "--filter",
            "--no-progress",
            "--verify-sync",
        ],
    ),
    (
        "mine",
        &[
            "REPO_DIR",
            "--out",
            "--rev",
            "--max-commits",
            "--ext",
            "--min-hunks",
            "--max-hunks",
            "--no-reverse",
            "--max-file-bytes",
        ],
    ),
    (
        "bench",
        &[
            "--smoke",
            "--sizes",
            "--keystrokes",
            "--languages",
            "--no-model",
            "--remote",
            "--json",
            "--svg",
        ],
    ),
];

#[test]
fn every_help_exits_0_and_names_its_flags() {
    for (subcommand, flags) in FLAGS {
        let args: Vec<&str> = subcommand.split_whitespace().chain(["--help"]).collect();
        let output = nextedit(&args);
        let help = text(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "nextedit {args:?}: {}", text(&output.stderr));
        for flag in *flags {
            assert!(help.contains(flag), "`nextedit {args:?}` does not mention {flag}:\n{help}");
        }
    }
    let output = nextedit(&["help", "eval"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("--compare"));
}

#[test]
fn the_version_is_the_package_version() {
    let output = nextedit(&["--version"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout).trim(), format!("nextedit {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_bad_flag_is_a_usage_error_that_names_it() {
    for subcommand in ["", "suggest", "doctor", "eval", "mine", "bench", "model list", "model pull"]
    {
        let args: Vec<&str> = subcommand.split_whitespace().chain(["--bogus"]).collect();
        let output = nextedit(&args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "nextedit {args:?}: {stderr}");
        assert!(stderr.contains("unexpected argument '--bogus'"), "nextedit {args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "nextedit {args:?}");
    }
}

#[test]
fn bad_values_and_missing_arguments_are_usage_errors() {
    for (args, message) in [
        (&["suggest"][..], "<FILE>"),
        (&["suggest", "f.rs", "--line", "x"], "invalid value 'x' for '--line <L>'"),
        (&["suggest", "f.rs", "--column", "3"], "--line"),
        (&["eval"], "no case file given"),
        (&["eval", "c.jsonl", "--compare", "a.toml"], "--compare needs at least two"),
        (&["eval", "c.jsonl", "--symbolic", "maybe"], "takes on or off"),
        (&["eval", "c.jsonl", "--timeout-secs", "0"], "out of range"),
        (&["eval", "c.jsonl", "--method", "telepathy"], "unknown method"),
        (&["mine"], "<REPO_DIR>"),
        (&["mine", "repo", "--min-hunks", "1"], "need 2 <= --min-hunks <= --max-hunks"),
        (&["bench", "--sizes", "10,0"], "must be positive"),
        (&["bench", "--languages", "cobol"], "invalid value 'cobol'"),
        (&["model"], "Usage: nextedit model <COMMAND>"),
        (&["model", "pull"], "<NAME>"),
        (&["unknown-subcommand"], "unrecognized subcommand"),
    ] {
        let output = nextedit(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "nextedit {args:?}: {stderr}");
        assert!(stderr.contains(message), "nextedit {args:?}: {stderr}");
    }
}
