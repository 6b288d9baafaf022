//! Rendering on a deployed stack: sites, starting renders, progress and
//! cost, cancelling, and the IAM policies all of that needs. Library
//! functions first; the `render`, `sites`, `progress`, `cancel`, `policies`
//! and `bench render` subcommands of `hyperframes` are in [`commands`].

/// `render-batch`: one render per row of a JSONL file, resumable (issue 25 item 4).
pub mod batch;
pub mod cli;
pub mod commands;
// How many chunks run at once on a stack (issue 26 item 3).
pub mod concurrency;
// Cost estimates before a render (issue 15).
pub mod estimate;
pub mod execution;
pub(crate) mod policies;
pub mod pricing;
pub mod progress;
pub mod render;
pub(crate) mod site;
/// Where the time and money went: `progress --timeline`.
pub mod timeline;
pub mod variables;
