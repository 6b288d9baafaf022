//! Capture: a frame's pixels from the page. The browser and its DevTools
//! connection ([`browser`], [`cdp`]), the page served from the plan
//! ([`server`]), one render session with the seek bridge and its virtual
//! clock ([`session`]), and the capture loop that hands frames to the
//! encoder ([`frames`]).

pub mod browser;
pub(crate) mod cdp;
pub(crate) mod frames;
pub(crate) mod server;
pub mod session;
