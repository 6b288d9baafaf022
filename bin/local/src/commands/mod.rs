//! `hyperframes local-stack` and `hyperframes bench local`.

pub mod local_stack;
