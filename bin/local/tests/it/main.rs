//! The package's integration tests, one module per topic, in one test
//! binary: each binary links the whole dependency tree again, so one per
//! package keeps the suite's compile and link time down.

mod support;

mod bill;
mod fonts;
mod instances;
mod jail;
mod moto;
mod workflow;
