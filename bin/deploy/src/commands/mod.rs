//! The bodies of the deploy programs that are more than a call into the
//! library, shared by their own binaries and `hyperframes`.

pub mod package;
