//! The prompt a prediction would send for a document now, for tools that write training pairs:
//! the same `model_request` step the pipeline runs, so training and serving can't drift.

use super::pipeline::ModelRequest;
use super::{CancelFlag, Engine, model};
use crate::locks::lock;

impl Engine {
    /// The model request the pipeline would build for `uri` as it is now, with the cursor at the
    /// byte offset `cursor` (else the end of the last edit), for a model behind `backend` (its
    /// format, token counter and context size). `None` before the first edit, for an unknown
    /// document, or when the format builds no prompt. Nothing is generated.
    pub fn model_request_now(
        &self,
        uri: &str,
        cursor: Option<usize>,
        backend: &dyn model::ModelBackend,
    ) -> Option<ModelRequest> {
        let mut snapshot = {
            let mut documents = lock(&self.shared.documents);
            documents.ensure_parsed(uri);
            documents.snapshot(uri)
        }?;
        snapshot.cursor = cursor;
        // As the pipeline: nothing to go on before the user's first edit.
        snapshot.history.last()?;
        let settings = self.settings();
        self.model_request(&snapshot, &settings, backend, &CancelFlag::new())
    }
}
