//! A chunk's identity: the plan hash and index it carries (container tags,
//! or `chunk.json` in a frame dir), checked before the assemble uses it,
//! so a chunk from another plan or in the wrong slot is refused.

use std::path::{Path, PathBuf};

use crate::chunk::{CHUNK_INDEX_TAG, PLAN_HASH_TAG};
use crate::config::Format;
use crate::encode::{probe, tags};
use crate::errors::{ProducerError, Result};
use crate::plan::LoadedPlan;

/// Verifies every chunk's identity, several at a time: a chunk's tags are
/// read in process in well under a millisecond, but one the reader cannot
/// vouch for costs an ffmpeg probe (about 70 ms of CPU for a 1080p chunk),
/// and a render may have hundreds of chunks. The error reported is the one
/// of the lowest chunk index, as a sequential check would report it.
pub(super) fn verify_all_chunks(plan: &LoadedPlan, chunks: &[PathBuf]) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, chunks.len().max(1));
    let mut failures: Vec<(usize, ProducerError)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut failed = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(c) = chunks.get(i) else { break };
                        if let Err(e) = verify_chunk_identity(plan, i as u32, c) {
                            failed.push((i, e));
                        }
                    }
                    failed
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    failures.sort_by_key(|(i, _)| *i);
    match failures.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// A chunk carries its plan hash and index (container tags, or `chunk.json` in
/// a frame dir): a chunk from another plan or in the wrong slot is refused.
fn verify_chunk_identity(plan: &LoadedPlan, expected: u32, path: &Path) -> Result<()> {
    let (hash, index) = if plan.format() == Format::PngSequence {
        frame_dir_identity(path)?
    } else {
        video_identity(path)?
    };
    if hash != plan.plan.plan_hash {
        return Err(ProducerError::ArtifactDigestMismatch(format!(
            "{} was rendered from plan {:?}, not this plan {}; render the chunks of this plan",
            path.display(),
            hash,
            plan.plan.plan_hash
        )));
    }
    match index {
        Some(i) if i == expected => Ok(()),
        Some(i) => Err(ProducerError::ChunkOutOfOrder(format!(
            "position {expected} holds chunk {i} ({}); pass chunks sorted by index",
            path.display()
        ))),
        None => Err(ProducerError::ChunkMissing(format!(
            "{} carries no chunk index",
            path.display()
        ))),
    }
}

/// The plan hash and index in a frame dir's `chunk.json`.
fn frame_dir_identity(path: &Path) -> Result<(String, Option<u32>)> {
    let marker = path.join("chunk.json");
    let v: serde_json::Value = std::fs::read(&marker)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            ProducerError::ChunkMissing(format!(
                "{} has no readable chunk.json; it is not a chunk written by render_chunk",
                path.display()
            ))
        })?;
    Ok((
        v["planHash"].as_str().unwrap_or("").to_string(),
        v["index"].as_u64().map(|i| i as u32),
    ))
}

/// The plan hash and index in a video chunk's container tags: read in
/// process when the reader can vouch for the file ([`tags`]), otherwise
/// from ffmpeg's probe, which reads every packet, so that an unreadable,
/// truncated or unusual file gets the probe's verdict and message.
fn video_identity(path: &Path) -> Result<(String, Option<u32>)> {
    match tags::container_tags(path, &[PLAN_HASH_TAG, CHUNK_INDEX_TAG]) {
        Ok(mut t) => Ok(parsed(t.remove(PLAN_HASH_TAG), t.remove(CHUNK_INDEX_TAG))),
        Err(_) => probe_identity(path),
    }
}

/// The identity as ffmpeg's probe reports it.
fn probe_identity(path: &Path) -> Result<(String, Option<u32>)> {
    let probe = probe::probe_video(path).map_err(|e| {
        ProducerError::ChunkMissing(format!("{} is not a readable video: {e}", path.display()))
    })?;
    let tag = |k: &str| probe.tags.get(k).and_then(|v| v.as_str()).map(String::from);
    Ok(parsed(tag(PLAN_HASH_TAG), tag(CHUNK_INDEX_TAG)))
}

/// A missing hash is the empty one; an index that is no number is none.
fn parsed(hash: Option<String>, index: Option<String>) -> (String, Option<u32>) {
    (hash.unwrap_or_default(), index.and_then(|s| s.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Codec;
    use crate::encode::tags::tests::{encode_chunk, CHUNK_KINDS};

    /// The identity, or the error's name and message without the
    /// addresses ffmpeg logs (`[mov,mp4,... @ 0x55b39f744900]`), which
    /// differ between runs.
    fn outcome(
        r: Result<(String, Option<u32>)>,
    ) -> std::result::Result<(String, Option<u32>), String> {
        r.map_err(|e| {
            let text = format!("{} {e}", e.name());
            text.split(" @ 0x")
                .enumerate()
                .map(|(i, part)| match i {
                    0 => part,
                    _ => part.trim_start_matches(|c: char| c.is_ascii_hexdigit()),
                })
                .collect()
        })
    }

    /// On the producer's chunks of every kind (tagged or not), truncated
    /// copies of them, and files that are no media, the identity read is
    /// the ffmpeg probe's: the same values, or the same error and message.
    #[test]
    fn the_identity_is_what_the_ffmpeg_probe_reports() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (format, codec) in CHUNK_KINDS {
            let whole = encode_chunk(format, codec, true, dir.path());
            // A copy cut short (an mp4 without its moov, a webm without
            // its last clusters: ffmpeg reads the latter's tags).
            if codec == Codec::H264 && format != Format::Mov {
                let bytes = std::fs::read(&whole).unwrap();
                let cut = dir.path().join(format!("cut.{}", format.extension()));
                std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
                files.push(cut);
            }
            files.push(whole);
        }
        files.push(encode_chunk(Format::Mp4, Codec::H264, false, dir.path()));
        let garbage = dir.path().join("garbage.mp4");
        std::fs::write(&garbage, b"\0\0\0\x10ftypisom but no more").unwrap();
        files.push(garbage);
        let mut read_here = 0;
        for path in &files {
            let fast = outcome(video_identity(path));
            assert_eq!(fast, outcome(probe_identity(path)), "{}", path.display());
            read_here +=
                usize::from(tags::container_tags(path, &[PLAN_HASH_TAG, CHUNK_INDEX_TAG]).is_ok());
        }
        assert_eq!(
            read_here,
            CHUNK_KINDS.len(),
            "the whole tagged chunks are read in process"
        );
    }
}
