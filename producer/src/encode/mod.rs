//! Encode: frames to a chunk file. The one place ffmpeg's arguments are
//! built ([`ffmpeg`]), the sinks frames are written to ([`sink`]), the
//! in-process PNG to yuv420p conversion ([`yuv`]) and media probing
//! ([`probe`]).

pub mod ffmpeg;
pub mod probe;
pub(crate) mod sink;
pub mod tags;
pub(crate) mod yuv;
