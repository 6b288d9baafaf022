//! Matroska/WebM: the global tags (a `Tag` whose `Targets` name no track,
//! chapter or attachment) ffmpeg's muxer writes before the first cluster.
//!
//! The segment's top-level elements are walked over the whole file
//! (clusters skipped by their size, so a truncated file is noticed); only
//! the header, `Tracks` and `Tags` are read, each up to [`MAX_ELEMENT`]
//! bytes. Unknown sizes (live streams), tags after a cluster (ffmpeg finds
//! those through the seek head, or not) and tags with a language, a target
//! type, nested tags or binary values are left to ffmpeg.

use super::source::Source;
use super::{Read, Tag, Unsure};

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const CLUSTER: u32 = 0x1F43_B675;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const TAGS: u32 = 0x1254_C367;
const TAG: u32 = 0x7373;
const TARGETS: u32 = 0x63C0;
const TARGET_TYPE_VALUE: u32 = 0x68CA;
/// Track, chapter and attachment UIDs: a tag of one of those, not the file.
const TARGET_UIDS: [u32; 3] = [0x63C5, 0x63C4, 0x63C6];
const SIMPLE_TAG: u32 = 0x67C8;
const TAG_NAME: u32 = 0x45A3;
const TAG_STRING: u32 = 0x4487;

/// Header, `Tracks` and `Tags` of a chunk are a few hundred bytes.
const MAX_ELEMENT: u64 = 1 << 20;
/// Top-level elements of a segment (a cluster every few seconds).
const MAX_TOP_ELEMENTS: usize = 1 << 16;

/// An element ID (marker bits kept, at most 4 bytes) and its length.
fn element_id(b: &[u8]) -> Read<(u32, usize)> {
    let first = *b
        .first()
        .ok_or_else(|| Unsure::new("an element is cut off"))?;
    let len = first.leading_zeros() as usize + 1;
    if first == 0 || len > 4 || b.len() < len {
        return Err(Unsure::new("malformed element ID"));
    }
    Ok((
        b[..len].iter().fold(0u32, |v, x| v << 8 | u32::from(*x)),
        len,
    ))
}

/// An element's data size (`None` when unknown) and its length.
fn data_size(b: &[u8]) -> Read<(Option<u64>, usize)> {
    let first = *b
        .first()
        .ok_or_else(|| Unsure::new("an element is cut off"))?;
    let len = first.leading_zeros() as usize + 1;
    if first == 0 || b.len() < len {
        return Err(Unsure::new("malformed element size"));
    }
    let marker_cleared = u64::from(first) & (0xFF >> len);
    let value = b[1..len]
        .iter()
        .fold(marker_cleared, |v, x| v << 8 | u64::from(*x));
    let all_ones = (1u64 << (7 * len)) - 1;
    Ok(((value != all_ones).then_some(value), len))
}

/// ID, header length and known data size of the element starting `b`.
fn header(b: &[u8]) -> Read<(u32, usize, u64)> {
    let (id, id_len) = element_id(b)?;
    let (size, size_len) = data_size(&b[id_len..])?;
    let size = size.ok_or_else(|| Unsure::new("an element of unknown size"))?;
    Ok((id, id_len + size_len, size))
}

/// The elements that fill `data` exactly: (ID, body).
fn elements(data: &[u8]) -> Read<Vec<(u32, &[u8])>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (id, head, size) = header(rest)?;
        let body = rest[head..]
            .get(..usize::try_from(size).unwrap_or(usize::MAX))
            .ok_or_else(|| Unsure::new("an element runs past its parent"))?;
        out.push((id, body));
        rest = &rest[head + body.len()..];
    }
    Ok(out)
}

/// The element at `offset` of the file: (ID, body offset, body size),
/// checked to end by `end`.
fn file_element(src: &Source, offset: u64, end: u64) -> Read<(u32, u64, u64)> {
    let mut head = [0u8; 12];
    let avail = src.peek(offset, &mut head)?;
    let (id, len, size) = header(&head[..avail])?;
    let body = offset + len as u64;
    if body.checked_add(size).is_none_or(|e| e > end) {
        return Err(Unsure::new(
            "an element runs past the end (truncated or corrupt)",
        ));
    }
    Ok((id, body, size))
}

/// The segment's global tags, after checking the file is one EBML header
/// (of a Matroska or WebM document) and one segment ending at its end.
pub(super) fn global_tags(src: &Source) -> Read<Vec<Tag>> {
    let (id, body, size) = file_element(src, 0, src.len)?;
    let doc = src.bytes(body, size, MAX_ELEMENT)?;
    let doc_type = elements(&doc)?.into_iter().find(|(i, _)| *i == DOC_TYPE);
    if id != EBML || !matches!(doc_type, Some((_, b"webm" | b"matroska"))) {
        return Err(Unsure::new("not a Matroska or WebM document"));
    }
    let (id, mut offset, size) = file_element(src, body + size, src.len)?;
    if id != SEGMENT || offset + size != src.len {
        return Err(Unsure::new("not one segment ending at the end of the file"));
    }
    let (mut video, mut cluster_seen, mut tags) = (false, false, Vec::new());
    for _ in 0..MAX_TOP_ELEMENTS {
        if offset == src.len {
            if !video {
                return Err(Unsure::new("no video track"));
            }
            return Ok(tags);
        }
        let (id, body, size) = file_element(src, offset, src.len)?;
        match id {
            CLUSTER => cluster_seen = true,
            TRACKS => video |= has_video(&src.bytes(body, size, MAX_ELEMENT)?)?,
            TAGS if cluster_seen => return Err(Unsure::new("tags after a cluster")),
            TAGS => tags.extend(parse_tags(&src.bytes(body, size, MAX_ELEMENT)?)?),
            _ => {}
        }
        offset = body + size;
    }
    Err(Unsure::new("too many top-level elements"))
}

/// Some track entry has `TrackType` 1 (video).
fn has_video(tracks: &[u8]) -> Read<bool> {
    for (id, entry) in elements(tracks)? {
        if id != TRACK_ENTRY {
            continue;
        }
        for (id, v) in elements(entry)? {
            if id == TRACK_TYPE
                && v.len() <= 8
                && v.iter().fold(0u64, |a, x| a << 8 | u64::from(*x)) == 1
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Whether a `Tag` applies to the whole file: its `Targets` (absent or
/// with only a target type value: yes; naming a track, chapter or
/// attachment: no; anything else: [`Unsure`]).
fn is_global(tag: &[(u32, &[u8])]) -> Read<bool> {
    let mut targets = tag.iter().filter(|(id, _)| *id == TARGETS);
    let t = match (targets.next(), targets.next()) {
        (None, _) => return Ok(true),
        (Some((_, t)), None) => elements(t)?,
        _ => return Err(Unsure::new("a tag with several targets")),
    };
    let uid = t.iter().any(|(id, _)| TARGET_UIDS.contains(id));
    if t.iter()
        .all(|(id, _)| *id == TARGET_TYPE_VALUE || TARGET_UIDS.contains(id))
    {
        return Ok(!uid);
    }
    Err(Unsure::new("a tag with an unusual target"))
}

/// The simple tags of the global `Tag`s: (name, string) when a simple tag
/// holds exactly those two, name only otherwise (the reader then leaves
/// a wanted key to ffmpeg).
fn parse_tags(tags: &[u8]) -> Read<Vec<Tag>> {
    let mut out = Vec::new();
    for (id, tag) in elements(tags)? {
        let kids = elements(tag)?;
        if id != TAG || !is_global(&kids)? {
            continue;
        }
        for (id, simple) in kids {
            if id != SIMPLE_TAG {
                continue;
            }
            let parts = elements(simple)?;
            let name = parts.iter().find(|(i, _)| *i == TAG_NAME);
            let value = match parts.as_slice() {
                [(TAG_NAME, _), (TAG_STRING, v)] | [(TAG_STRING, v), (TAG_NAME, _)] => {
                    Some(v.to_vec())
                }
                _ => None,
            };
            if let Some((_, name)) = name {
                out.push(Tag {
                    key: name.to_vec(),
                    value,
                });
            }
        }
    }
    Ok(out)
}
