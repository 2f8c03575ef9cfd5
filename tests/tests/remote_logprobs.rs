//! The remote backend's log-probabilities through the library, against the stand-in server: the
//! request asks for them, both shapes servers send are read into tokens and the copy probability,
//! a server that sends none leaves the tokens empty, and scoring through an echoed prompt works
//! where the answer holds the prompt's log-probabilities and is switched off where it does not.

use nextedit::engine::model::{
    CancelFlag, ContinuationScore, GenerationRequest, ModelBackend, OpenAiConfig, ScoreRequest,
    load_openai,
};
use nextedit_tests::inference::{Behaviour, FaultyServer};
use serde_json::{Value, json};

async fn connect(server: &FaultyServer) -> impl ModelBackend {
    let mut config = OpenAiConfig::new(server.endpoint());
    config.model = Some(server.model.clone());
    load_openai(config).await.unwrap().0
}

fn request() -> GenerationRequest {
    let mut request = GenerationRequest::greedy("fn main() {\n", 16);
    request.draft = Some("    let x = 1;\n}".to_owned());
    request
}

/// A token's text, its log-probability and the alternatives listed with it.
type CannedToken<'a> = (&'a str, f64, &'a [(&'a str, f64)]);

/// One chunk per token in llama.cpp's server shape.
fn content_events(tokens: &[CannedToken<'_>]) -> Vec<Value> {
    let mut events: Vec<Value> = tokens
        .iter()
        .map(|(text, logprob, alternatives)| {
            let top: Vec<Value> = alternatives
                .iter()
                .map(|(token, logprob)| json!({"token": token, "logprob": logprob}))
                .collect();
            json!({"choices": [{"index": 0, "text": text, "finish_reason": null,
                "logprobs": {"content": [{"token": text, "logprob": logprob, "top_logprobs": top}]}}]})
        })
        .collect();
    events.push(json!({"choices": [{"index": 0, "text": "", "finish_reason": "length"}]}));
    events
}

#[tokio::test]
async fn streamed_logprobs_become_tokens_and_the_copy_probability() {
    let events = content_events(&[
        ("    let", -0.1, &[]),
        (" x", -0.2, &[]),
        (" +=", -0.5, &[(" +=", -0.5), (" =", -2.5)]),
        (" 1;\n", -0.1, &[]),
    ]);
    let server =
        FaultyServer::start("m", Behaviour::Canned { events, answer: Value::Null }).await.unwrap();
    let backend = connect(&server).await;
    let generation = backend.generate(request()).await.unwrap();
    let candidate = &generation.candidates[0];
    assert_eq!(candidate.text, "    let x += 1;\n");
    let ends: Vec<usize> = candidate.tokens.iter().map(|token| token.end).collect();
    assert_eq!(ends, [7, 9, 12, 16]);
    assert_eq!(candidate.tokens[2].logprob, -0.5);
    assert_eq!(candidate.copy_logprob, Some(-2.5));
    let body = &server.completion_requests()[0].body;
    assert_eq!(body["logprobs"], json!(5));
}

#[tokio::test]
async fn parallel_arrays_are_read_and_a_server_without_logprobs_gives_no_tokens() {
    let event = |text: &str, logprobs: Value| json!({"choices": [{"index": 0, "text": text, "logprobs": logprobs, "finish_reason": null}]});
    let events = vec![
        event(
            "    let",
            json!({"tokens": ["    let"], "token_logprobs": [-0.25], "top_logprobs": [{"    let": -0.25}]}),
        ),
        event(" x", json!({"tokens": [" x"], "token_logprobs": [-0.5], "top_logprobs": [null]})),
        json!({"choices": [{"index": 0, "text": "", "finish_reason": "length"}]}),
    ];
    let server =
        FaultyServer::start("m", Behaviour::Canned { events, answer: Value::Null }).await.unwrap();
    let backend = connect(&server).await;
    let candidate = backend.generate(request()).await.unwrap().candidates.remove(0);
    assert_eq!(candidate.text, "    let x");
    let tokens: Vec<(usize, f32)> =
        candidate.tokens.iter().map(|token| (token.end, token.logprob)).collect();
    assert_eq!(tokens, [(7, -0.25), (9, -0.5)]);
    assert_eq!(candidate.copy_logprob, None, "the output has not left the draft");

    server.set_behaviour(Behaviour::Canned {
        events: vec![
            event("    let x", Value::Null),
            json!({"choices": [{"index": 0, "finish_reason": "length"}]}),
        ],
        answer: Value::Null,
    });
    let candidate = backend.generate(request()).await.unwrap().candidates.remove(0);
    assert_eq!(candidate.text, "    let x");
    assert!(candidate.tokens.is_empty());
    assert_eq!(candidate.copy_logprob, None);
}

fn score_request() -> ScoreRequest {
    ScoreRequest {
        prompt: "fn main".to_owned(),
        continuations: vec!["() {}".to_owned()],
        cancel: CancelFlag::default(),
    }
}

#[tokio::test]
async fn scores_come_from_an_echoed_prompt_and_stop_where_the_server_cannot_echo() {
    let answer = json!({"choices": [{"index": 0, "text": "fn main() {}!", "logprobs": {
        "tokens": ["fn", " main", "()", " {", "}", "!"],
        "token_logprobs": [null, -1.0, -0.5, -0.25, -0.125, -2.0],
        "text_offset": [0, 2, 7, 9, 11, 12]}}]});
    let server =
        FaultyServer::start("m", Behaviour::Canned { events: Vec::new(), answer }).await.unwrap();
    let backend = connect(&server).await;
    let scores = backend.score(score_request()).await.unwrap();
    assert_eq!(scores, Some(vec![ContinuationScore { logprob_sum: -0.875, tokens: 3 }]));
    let body = &server.completion_requests()[0].body;
    assert_eq!(
        (&body["echo"], &body["stream"], &body["prompt"]),
        (&json!(true), &json!(false), &json!("fn main() {}"))
    );

    // Like llama.cpp's server: only the generated token's log-probability.
    let unechoed = json!({"choices": [{"index": 0, "text": "!", "logprobs": {"content": [
        {"token": "!", "logprob": -2.0}]}}]});
    server.set_behaviour(Behaviour::Canned { events: Vec::new(), answer: unechoed });
    let other = connect(&server).await;
    assert_eq!(other.score(score_request()).await.unwrap(), None);
    let asked = server.completion_requests().len();
    assert_eq!(other.score(score_request()).await.unwrap(), None);
    assert_eq!(server.completion_requests().len(), asked, "remembered, not asked again");
}
