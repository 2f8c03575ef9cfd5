//! Runs the embedded model by hand: `cargo run --release -p nextedit-tools --example model_probe -- ARGS`.
//!
//! - `bench`: prints the model measurements (KV reuse, speculation, resync, prefill rate).
//! - `prompt FILE [MAX_TOKENS] [STOP]`: greedy generation from the prompt in FILE.
//! - `plain FIXTURE`: builds a plain-format prompt from a fixture file (`$0` marks the cursor, the
//!   editable region is two lines around it, an optional `----` line separates a history event
//!   written as `old => new` from the text), generates, and prints the parse result.
//!
//! The model is `$NEXTEDIT_MODEL`, else the default model in the cache.

use std::time::Instant;

use nextedit::engine::context::{HistoryEvent, PredictionContext};
use nextedit::engine::model::{GenerationRequest, LlamaConfig, load_llama, test_model_path};
use nextedit::engine::prompt::{PlainFormat, PromptBudget, PromptFormat};
use nextedit_tools::bench::model::{ModelBenchOptions, measure_model};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = test_model_path().unwrap_or_else(|message| panic!("{message}"));
    let mut config = LlamaConfig::new(path);
    config.threads =
        std::env::var("NEXTEDIT_THREADS").ok().and_then(|threads| threads.parse().ok());
    let backend = load_llama(config, |_| {}).await.unwrap_or_else(|error| panic!("{error}"));
    match args.first().map(String::as_str) {
        Some("bench") => {
            let report =
                measure_model(backend.as_ref(), &ModelBenchOptions::default()).await.unwrap();
            print!("{report}");
        }
        Some("prompt") => {
            let prompt = std::fs::read_to_string(&args[1]).unwrap();
            let max_tokens = args.get(2).map_or(64, |max| max.parse().unwrap());
            let mut request = GenerationRequest::greedy(prompt, max_tokens);
            request.stop = args.get(3).cloned().into_iter().collect();
            let started = Instant::now();
            let generation = backend.generate(request).await.unwrap();
            println!("{:?}", generation.candidates[0]);
            println!("{:?} in {:?}", generation.stats, started.elapsed());
        }
        Some("plain") => {
            let fixture = std::fs::read_to_string(&args[1]).unwrap();
            let (history, text) = fixture.split_once("----\n").unwrap_or(("", &fixture));
            let events = history
                .lines()
                .filter_map(|line| line.split_once(" => "))
                .map(|(old, new)| HistoryEvent {
                    path: "src/main.rs".to_owned(),
                    old_text: format!("{old}\n"),
                    new_text: format!("{new}\n"),
                    unified_diff: String::new(),
                })
                .collect();
            let cursor = text.find("$0").expect("fixture without $0");
            let text = text.replacen("$0", "", 1);
            let line_start =
                |offset: usize| text[..offset].rfind('\n').map_or(0, |index| index + 1);
            let line_end = |offset: usize| {
                text[offset..].find('\n').map_or(text.len(), |index| offset + index + 1)
            };
            let mut start = line_start(cursor);
            for _ in 0..2 {
                if start > 0 {
                    start = line_start(start - 1);
                }
            }
            let mut end = line_end(cursor);
            for _ in 0..2 {
                if end < text.len() {
                    end = line_end(end);
                }
            }
            let ctx = PredictionContext {
                path: "src/main.rs".to_owned(),
                language: None,
                excerpt: 0..text.len(),
                cursor,
                editable_region: start..end,
                events,
                previous: None,
                related: Vec::new(),
                text: text.clone(),
            };
            let count = |text: &str| backend.count_tokens(text);
            let built = PlainFormat.build(&ctx, &count, &PromptBudget::default()).unwrap();
            let mut request = GenerationRequest::greedy(built.prompt.clone(), built.max_tokens);
            request.stop = built.stop.clone();
            request.draft = Some(built.draft.clone());
            request.resync_tokens = Some(8);
            let started = Instant::now();
            let generation = backend.generate(request).await.unwrap();
            let output = &generation.candidates[0].text;
            println!("prompt tokens: {}", generation.stats.prompt_tokens);
            println!("--- region\n{}--- output\n{output}\n---", built.region_text);
            match PlainFormat.parse(output, &built) {
                Ok(text) if text == built.region_text => println!("parsed: no change"),
                Ok(text) => println!("parsed: edit\n{text}"),
                Err(error) => println!("parse error: {error}"),
            }
            println!("{:?} in {:?}", generation.stats, started.elapsed());
        }
        _ => {
            eprintln!("usage: model_probe bench | prompt FILE [MAX_TOKENS] [STOP] | plain FIXTURE")
        }
    }
}
