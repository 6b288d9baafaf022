#[path = "../support/mod.rs"]
mod support;

mod s3_faults;
