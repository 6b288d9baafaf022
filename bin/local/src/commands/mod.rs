//! `hyperframes local-stack` and `hyperframes bench local`.

pub mod local_bench;
pub mod local_stack;
