//! The handler's integration tests, one module per topic.

#[path = "../support/mod.rs"]
mod support;

mod variables;
