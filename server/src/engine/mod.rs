//! Prediction: context -> prompt -> model -> parse -> diff -> validate -> rank, plus the symbolic
//! engine. Pure with respect to LSP: it takes plain structs and byte offsets.

pub mod context;
pub mod model;
pub mod prompt;
