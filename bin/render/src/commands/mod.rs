//! The rendering programs' bodies, as subcommands of `hyperframes`: each
//! module has its flags (`Args`) and a `run` that returns the exit code.

pub mod cancel;
pub mod policies;
pub mod progress;
pub mod render;
pub mod render_batch;
pub mod sites;
