//! The programs' bodies, as subcommands of `hyperframes` (and `synth`'s
//! own binary, which `cargo run --bin synth` runs).

pub mod synth;
