//! The producer's integration tests, one module per topic.

#[path = "../common/mod.rs"]
mod common;

mod variables;
