//! Repeated edits.

use super::Input;
use crate::engine::suggestion::Proposal;

pub(super) fn propose(_input: &Input<'_>) -> Option<Proposal> {
    None
}
