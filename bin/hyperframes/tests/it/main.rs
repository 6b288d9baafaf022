//! The package's integration tests, one module per topic, in one test
//! binary: each binary links the whole dependency tree again, so one per
//! package keeps the suite's compile and link time down.

mod batch;
mod cli;
mod estimate;
mod fonts;
mod invoke;
mod notify;
mod reference;
mod remote;
mod render_local;
mod variables;
