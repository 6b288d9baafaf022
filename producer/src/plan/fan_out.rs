//! How many chunks a render fans out to when the caller does not say
//! (no `chunkSize`, `maxParallelChunks` or `targetChunkFrames`): the rule
//! for renders on Lambda, in one place.
//!
//! A chunk's wall time is its fixed cost (a cold start, then Chromium's and
//! the encoder's start) plus its frames. The rule gives each chunk about
//! [`TARGET_CHUNK_MS`] of wall time, so a long video fans out wide and a
//! short one stays in a few chunks; it never makes a chunk so short that
//! the fixed cost is more than half of it ([`min_chunk_frames`]); and it
//! never plans more chunks than [`MAX_FAN_OUT`] or than can run at once
//! (the `concurrency` the caller passes), because a second wave pays the
//! fixed cost again for no gain in wall time.
//!
//! The figures are measured ones, for 1080p and scaled by pixels:
//! - fixed cost [`CHUNK_FIXED_MS`]: the cold start the calibration
//!   records (2.5 s: Chromium and ffmpeg unpacked, measured 2.1-2.2 s by
//!   the Lambda package test, plus the runtime's start) and a chunk's boot
//!   (1.09 s: 0.67 s serial + 0.42 s parallel, `bin/render/calibration`);
//! - frame cost [`FRAME_CPU_MS_PER_MEGAPIXEL`]: 91.7 CPU-ms per 1080p
//!   frame for the whole render (issue 26's run), per megapixel;
//! - [`CHUNK_BUSY_CORES`]: the cores one chunk keeps busy; 2 until the
//!   per-memory measurements say otherwise (a 2-core calibration is all
//!   that has been measured), which errs towards more, shorter chunks.

/// The most chunks one render fans out to: past this, a chunk's fixed
/// cost and the assemble's per-chunk cost (about 80 ms each) outweigh the
/// wall time gained (Remotion stops at 200 for the same reason).
pub const MAX_FAN_OUT: u32 = 200;

/// Wall time aimed at for one chunk, fixed cost included: with the plan,
/// the Distributed Map's start (about 7 s for 100 items, reported) and the
/// assemble, a render stays within 45 s.
pub const TARGET_CHUNK_MS: f64 = 20_000.0;

/// A chunk's fixed cost on Lambda: cold start (2.5 s) and boot (1.09 s).
pub const CHUNK_FIXED_MS: f64 = 3_600.0;

/// CPU time per frame per megapixel (91.7 CPU-ms per 1080p frame).
pub const FRAME_CPU_MS_PER_MEGAPIXEL: f64 = 91.7 / (1920.0 * 1080.0 / 1e6);

/// Cores one chunk keeps busy.
pub const CHUNK_BUSY_CORES: f64 = 2.0;

/// Wall time of one frame in a chunk, ms.
fn frame_ms(megapixels: f64) -> f64 {
    (FRAME_CPU_MS_PER_MEGAPIXEL * megapixels / CHUNK_BUSY_CORES).max(1e-3)
}

/// The fewest frames a chunk gets: its frames take at least as long as its
/// fixed cost (boot is at most half the chunk).
pub fn min_chunk_frames(megapixels: f64) -> u64 {
    (CHUNK_FIXED_MS / frame_ms(megapixels)).ceil().max(1.0) as u64
}

/// The frames that fill [`TARGET_CHUNK_MS`] after the fixed cost.
pub fn target_chunk_frames(megapixels: f64) -> u64 {
    let frames = ((TARGET_CHUNK_MS - CHUNK_FIXED_MS) / frame_ms(megapixels)).floor() as u64;
    frames.max(min_chunk_frames(megapixels))
}

/// The chunk count for `total_frames` at `width` x `height`, at most
/// `concurrency` (chunks that can run at once, when known) and
/// [`MAX_FAN_OUT`]; at least 1.
pub fn chunk_count(total_frames: u64, width: u32, height: u32, concurrency: Option<u32>) -> u32 {
    let mp = f64::from(width) * f64::from(height) / 1e6;
    let wanted = total_frames.div_ceil(target_chunk_frames(mp));
    let most_without_short_chunks = (total_frames / min_chunk_frames(mp)).max(1);
    let cap = u64::from(concurrency.unwrap_or(MAX_FAN_OUT).clamp(1, MAX_FAN_OUT));
    wanted.min(most_without_short_chunks).min(cap).max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::chunks::plan_chunks;

    /// frames (1080p30) -> chunks, the table the README shows.
    #[test]
    fn chunk_counts_for_1080p() {
        let cases = [
            (30, 1),      // 1 s: shorter than two minimum chunks
            (300, 1),     // 10 s
            (900, 3),     // 30 s
            (1_800, 6),   // 1 min
            (9_000, 26),  // 5 min
            (18_000, 51), // 10 min
            (36_000, 101),
            (108_000, 200), // 1 h: the fan-out cap
        ];
        for (frames, want) in cases {
            assert_eq!(chunk_count(frames, 1920, 1080, None), want, "{frames}");
        }
        assert_eq!(min_chunk_frames(1920.0 * 1080.0 / 1e6), 79);
        assert_eq!(target_chunk_frames(1920.0 * 1080.0 / 1e6), 357);
    }

    /// Fewer concurrent slots than the work wants: one wave of longer
    /// chunks rather than several waves that each pay the fixed cost.
    #[test]
    fn concurrency_caps_the_count() {
        assert_eq!(chunk_count(18_000, 1920, 1080, Some(10)), 10);
        assert_eq!(chunk_count(18_000, 1920, 1080, Some(1000)), 51);
        assert_eq!(chunk_count(108_000, 1920, 1080, Some(1000)), MAX_FAN_OUT);
        assert_eq!(chunk_count(18_000, 1920, 1080, Some(0)), 1);
    }

    /// Heavier frames make shorter chunks worth it, lighter ones longer.
    #[test]
    fn resolution_moves_the_size() {
        let k4 = chunk_count(18_000, 3840, 2160, None);
        let hd = chunk_count(18_000, 1920, 1080, None);
        let sd = chunk_count(18_000, 640, 360, None);
        assert!(k4 > hd && hd > sd, "{k4} {hd} {sd}");
        assert_eq!(k4, 200);
    }

    /// Whatever the length, resolution and limit: no chunk but the last
    /// (the remainder of the slicing) is below the minimum unless the
    /// whole video is, and the plan never passes the caps.
    #[test]
    fn never_short_chunks_never_past_the_caps() {
        for (w, h) in [(320, 180), (1280, 720), (1920, 1080), (3840, 2160)] {
            let min = min_chunk_frames(f64::from(w) * f64::from(h) / 1e6);
            for total in [1u64, 10, 79, 80, 500, 4_001, 18_000, 200_000] {
                for limit in [None, Some(1), Some(8), Some(300)] {
                    let n = chunk_count(total, w, h, limit);
                    assert!((1..=MAX_FAN_OUT).contains(&n) && n <= limit.unwrap_or(n));
                    let p = plan_chunks(total, None, Some(n), None);
                    assert!(p.chunks.len() as u32 <= n, "{w}x{h} {total} {limit:?}");
                    let full = &p.chunks[..p.chunks.len() - 1];
                    for c in full {
                        assert!(
                            c.frames() >= min,
                            "{w}x{h} {total} {limit:?}: {c:?} < {min}"
                        );
                    }
                }
            }
        }
    }
}
