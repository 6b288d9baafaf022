//! `deploy`, `destroy` and `package`: the handler package (bootstrap plus
//! the pinned Chromium and ffmpeg payload), the staging bucket, change
//! sets, stack events and outputs.

pub(crate) mod changeset;
pub mod commands;
pub mod deploy;
pub mod destroy;
pub(crate) mod events;
pub mod handler_zip;
pub mod outputs;
pub mod package;
pub mod payload;
pub mod stack;
pub(crate) mod staging;
