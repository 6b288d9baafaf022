//! What the AWS command-line programs (`deploy`, `destroy`, `render`,
//! `sites`, `progress`, `cancel`) share: one way to load credentials and
//! explain SDK errors, one `main` wrapper, and the stack outputs file that
//! `deploy` writes and the render tools read.

pub mod aws;
pub mod bars;
pub mod cli;
pub mod outputs;
