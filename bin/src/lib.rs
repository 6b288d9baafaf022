//! Shared pieces of the command-line programs.

pub mod stack_args;

// Cost estimates before a render (issue 15).
pub mod estimate;
pub mod notify_args;

// Rendering on a deployed stack (issue 7).
pub mod remote;

// deploy / destroy (issue 4): AWS access, packaging, change sets, events.
pub mod aws;
pub mod changeset;
pub mod cli;
pub mod deploy;
pub mod destroy;
pub mod events;
pub mod handler_zip;
pub mod outputs;
pub mod package;
pub mod payload;
pub mod stack;
pub mod staging;
