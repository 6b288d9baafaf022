//! The package's integration tests, one module per topic, in one test
//! binary: each binary links the whole dependency tree again, so one per
//! package keeps the suite's compile and link time down.

mod cfn_lint;
mod checkov;
mod notifications;
mod parity;
mod templates;
mod topology;
mod workflow;
