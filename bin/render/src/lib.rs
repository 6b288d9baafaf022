//! Rendering on a deployed stack: sites, starting renders, progress and
//! cost, cancelling, and the IAM policies all of that needs. Library
//! functions first; the `sites`, `progress`, `cancel`, `policies` and
//! `render` programs are thin wrappers.

pub mod cli;
// Cost estimates before a render (issue 15).
pub mod estimate;
pub mod execution;
pub mod peer;
pub mod policies;
pub mod pricing;
pub mod progress;
pub mod render;
pub mod site;
