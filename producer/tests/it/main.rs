//! The package's integration tests, one module per topic, in one test
//! binary: each binary links the whole dependency tree again, so one per
//! package keeps the suite's compile and link time down. Not here:
//! `browser_start`, which points the producer's settings at other
//! browsers, changes process-wide state and keeps a process of its own.

mod common;

mod fonts;
mod map_cases;
mod plan;
mod probe;
mod render;
mod reuse;
mod runtime_contract;
mod shader_composite;
mod template_cache;
mod variables;
