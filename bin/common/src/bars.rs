//! The programs' progress bars and spinners, drawn by indicatif. On a
//! terminal they redraw in place; in CI or when redirected they are hidden
//! and the programs print plain lines instead, so logs stay readable.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// True when a bar can redraw in place: standard error is a terminal and
/// `CI` is not set (CI log viewers show every redraw as a new line).
pub fn interactive() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

fn target() -> ProgressDrawTarget {
    if interactive() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// Frames captured out of `total`, with rate and time left.
pub fn frames(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target());
    bar.set_style(
        ProgressStyle::with_template(
            "[{bar:30}] {pos}/{len} frames  {per_sec:.1}  ETA {eta}  {msg}",
        )
        .expect("the template is valid")
        .progress_chars("#>-"),
    );
    bar
}

/// A render on a stack: the bar is the fraction done (out of 1000), the
/// message the progress line (chunks, frames, cost).
pub fn fraction() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(1000), target());
    bar.set_style(
        ProgressStyle::with_template("[{bar:30}] {msg}")
            .expect("the template is valid")
            .progress_chars("#>-"),
    );
    bar
}

/// A spinner for a wait of unknown length (a stack update), ticking by itself.
pub fn spinner() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}  {elapsed}").expect("the template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Prints a line to standard output above a bar (the bar is lifted while
/// the line is written), or plainly when bars are hidden.
pub fn println(bar: &ProgressBar, line: &str) {
    bar.suspend(|| println!("{line}"));
}
