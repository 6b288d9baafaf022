//! Chunk math: how `[0, totalFrames)` is split into contiguous slices.
//!
//! It follows the reference planner exactly, so a plan made here splits a video
//! the same way the reference would (and the state machine's fan-out width
//! matches `chunkCount`).

use serde::{Deserialize, Serialize};

use crate::config::DEFAULT_MAX_PARALLEL_CHUNKS;

/// One slice of the video; `end_frame` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkSlice {
    pub index: u32,
    pub start_frame: u64,
    pub end_frame: u64,
}

impl ChunkSlice {
    pub fn frames(&self) -> u64 {
        self.end_frame - self.start_frame
    }
}

/// The chunk list plus the effective chunk size (the GOP length of full chunks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan {
    pub effective_chunk_size: u64,
    pub chunks: Vec<ChunkSlice>,
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// Splits `total_frames` into chunks. `total_frames` must be > 0 (the planner
/// rejects empty compositions before getting here).
pub fn plan_chunks(
    total_frames: u64,
    chunk_size: Option<u32>,
    max_parallel_chunks: Option<u32>,
    target_chunk_frames: Option<u32>,
) -> ChunkPlan {
    assert!(total_frames > 0, "plan_chunks needs at least one frame");
    let m = u64::from(max_parallel_chunks.unwrap_or(DEFAULT_MAX_PARALLEL_CHUNKS)).max(1);
    let auto = match target_chunk_frames {
        Some(t) => m.min(ceil_div(total_frames, u64::from(t).max(1)).max(1)),
        None => m,
    };
    let r = match chunk_size {
        Some(c) => u64::from(c).max(1),
        None => 10u64.max(ceil_div(total_frames, auto)),
    };
    let n = m.min(ceil_div(total_frames, r).max(1));
    let e = r.max(ceil_div(total_frames, n));
    let count = n.min(ceil_div(total_frames, e));
    let chunks = (0..count)
        .map(|i| {
            let start = i * e;
            let end = if i + 1 == count {
                total_frames
            } else {
                total_frames.min((i + 1) * e)
            };
            ChunkSlice {
                index: i as u32,
                start_frame: start,
                end_frame: end,
            }
        })
        .collect();
    ChunkPlan {
        effective_chunk_size: e,
        chunks,
    }
}

/// Frame count for a duration: exact when `duration*fps` is within 1e-3 of an
/// integer (so 2.0 s at 30 fps is 60, not 61), otherwise rounded up so the last
/// partial frame is rendered.
pub fn duration_to_frames(duration_seconds: f64, fps: u32) -> u64 {
    let exact = duration_seconds * f64::from(fps);
    let rounded = exact.round();
    if (exact - rounded).abs() <= 1e-3 {
        rounded as u64
    } else {
        exact.ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(p: &ChunkPlan) -> (usize, u64, u64) {
        (
            p.chunks.len(),
            p.effective_chunk_size,
            p.chunks.last().unwrap().frames(),
        )
    }

    fn assert_covers(p: &ChunkPlan, total: u64) {
        let mut next = 0;
        for (i, c) in p.chunks.iter().enumerate() {
            assert_eq!(c.index as usize, i);
            assert_eq!(c.start_frame, next);
            assert!(c.end_frame > c.start_frame, "empty chunk {c:?}");
            next = c.end_frame;
        }
        assert_eq!(next, total);
    }

    #[test]
    fn matches_reference_vectors() {
        let cases = [
            ((600, Some(240), Some(16), None), (3, 240, 120)),
            ((660, Some(240), Some(16), None), (3, 240, 180)),
            ((660, None, Some(16), None), (16, 42, 30)),
            ((50, None, Some(16), None), (5, 10, 10)),
            ((121, Some(10), Some(12), None), (11, 11, 11)),
            ((60, Some(15), None, None), (4, 15, 15)),
            ((48, Some(12), Some(2), None), (2, 24, 24)),
        ];
        for ((t, c, m, tc), want) in cases {
            let p = plan_chunks(t, c, m, tc);
            assert_eq!(shape(&p), want, "T={t} chunk={c:?} M={m:?}");
            assert_covers(&p, t);
        }
    }

    #[test]
    fn never_produces_an_empty_last_chunk() {
        for t in 1..400u64 {
            for c in [None, Some(1), Some(7), Some(15), Some(240)] {
                for m in [1, 2, 3, 16] {
                    let p = plan_chunks(t, c, Some(m), None);
                    assert!(p.chunks.len() as u32 <= m);
                    assert_covers(&p, t);
                }
            }
        }
    }

    #[test]
    fn frame_count_rounding() {
        assert_eq!(duration_to_frames(2.0, 30), 60);
        assert_eq!(duration_to_frames(2.00001, 30), 60);
        assert_eq!(duration_to_frames(2.01, 30), 61);
        assert_eq!(duration_to_frames(1.0 / 3.0, 24), 8);
    }
}
