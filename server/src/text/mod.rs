//! Documents (ropes), positions in the three LSP encodings, and edit history. Pure: no IO, no LSP
//! types.

pub mod affixes;
pub mod document;
pub mod history;
pub mod position;
#[doc(hidden)]
pub mod reference;
pub mod sequence;
pub mod uri;
pub mod words;

pub use affixes::common_affixes;
pub use document::{AppliedChange, BytePoint, Document, TextChange, TextEdit};
pub use history::{EditEvent, History, HistoryConfig};
pub use position::{Position, PositionEncoding, PositionRange};

#[cfg(test)]
mod property_tests;
