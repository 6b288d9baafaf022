//! Shared pieces of the command-line programs.

pub mod stack_args;
