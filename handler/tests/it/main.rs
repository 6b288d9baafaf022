//! The package's integration tests, one module per topic, in one test
//! binary: each binary links the whole dependency tree again, so one per
//! package keeps the suite's compile and link time down. Not here:
//! `empty_path` and `broken_package`, which install a producer runtime
//! and empty `PATH`, change process-wide state and keep a process of
//! their own.

mod audio_v2;
mod support;

mod contract;
mod s3_faults;
mod s3_stages;
mod source_rules;
mod template_cache;
mod variables;
