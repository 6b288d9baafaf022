//! HyperFrames producer: renders a HyperFrames project directory to video in
//! three stages that the Lambda handler (and the local `render` command) call
//! over local paths:
//!
//! 1. [`plan`] freezes the project into a hermetic, hashed plan directory
//!    (compiled page, audio, chunk list, encoder settings; v1 dir + tarball and
//!    a v2 content-addressed manifest).
//! 2. [`render_chunk`] renders one chunk with `chromium-headless-shell`
//!    (BeginFrame capture, SwiftShader GL, a seeded virtual clock) piped into
//!    ffmpeg as a closed-GOP segment, or PNG frames for png-sequence.
//! 3. [`assemble`] concatenates the chunks without re-encoding, fits and muxes
//!    the audio and applies faststart.
//!
//! Errors are [`ProducerError`]; [`ProducerError::name`] gives the stable name
//! the Step Functions state machine matches on.

pub mod assemble;
pub mod assets;
#[cfg(feature = "bench")]
pub mod bench;
pub mod browser;
pub mod capture;
pub mod cdp;
pub mod chunk;
pub mod chunks;
pub mod compare;
pub mod compile;
pub mod config;
pub mod digest;
pub mod errors;
pub mod fetch;
pub mod ffmpeg;
pub mod html;
pub mod plan;
pub mod plan_file;
pub mod probe;
pub mod process;
pub mod runner;
pub mod runtime;
pub mod server;
pub mod session;
pub mod sink;
pub mod staging;
pub mod tarball;
pub mod v2;
pub mod yuv;

/// The page-side bridge: virtual clock, seeded randomness and `window.__hf.seek`.
pub const SEEK_BRIDGE_JS: &str = include_str!("seek_bridge.js");

pub use assemble::{assemble, assemble_with_audio, AssembleOutcome};
pub use assets::AssetMap;
pub use chunk::{render_chunk, render_chunk_with, ChunkOptions, ChunkOutcome};
pub use config::{Codec, Format, Preset, Quality, RenderConfig};
pub use errors::ProducerError;
pub use plan::{plan, plan_with, PlanOptions, PlanOutcome};
