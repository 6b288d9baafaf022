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
#[cfg(feature = "bench")]
pub mod bench;
pub mod capture;
pub mod chunk;
pub mod compare;
pub mod compat;
pub(crate) mod config;
pub mod encode;
pub mod errors;
pub mod plan;
pub mod process;
pub mod runner;
pub mod runtime;
pub mod settings;
pub(crate) mod staging;
pub mod variables;

/// The page-side bridge: virtual clock, seeded randomness and `window.__hf.seek`.
pub const SEEK_BRIDGE_JS: &str = include_str!("capture/seek_bridge.js");

pub use assemble::{assemble, assemble_with_audio, AssembleOutcome};
pub use chunk::{render_chunk, render_chunk_with, ChunkOptions, ChunkOutcome};
pub use config::{Codec, Format, Preset, Quality, RenderConfig};
pub use errors::ProducerError;
pub use plan::assets::AssetMap;
pub use plan::template::{TemplateCache, TemplateReuse};
pub use plan::{plan, plan_with, PlanOptions, PlanOutcome};
