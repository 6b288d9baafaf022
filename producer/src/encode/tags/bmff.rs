//! ISO-BMFF (mp4, mov): the `mdta` tags ffmpeg writes with
//! `-movflags use_metadata_tags` into `moov/udta/meta` (`hdlr` of type
//! `mdta`, `keys` naming the tags, `ilst` items numbered by key holding a
//! `data` box each).
//!
//! The top level is walked box by box over the whole file (the media data
//! is skipped, not read), so a truncated file is noticed; only `moov` is
//! read, up to [`MAX_MOOV`] bytes. Layouts ffmpeg might read other tags
//! from (a `meta` outside `udta`, a second `udta` or `meta`, iTunes-style
//! items, compressed or fragmented movies) are left to ffmpeg.

use super::source::Source;
use super::{Read, Tag, Unsure};

/// A 10-minute chunk's `moov` is well under 1 MiB.
const MAX_MOOV: u64 = 16 << 20;
/// Top-level boxes of a file ffmpeg wrote: a handful.
const MAX_TOP_BOXES: usize = 1024;

/// One box inside a buffer: its type and body.
#[derive(Clone, Copy)]
struct Bx<'a> {
    kind: [u8; 4],
    body: &'a [u8],
}

/// Size and header length of the box whose header starts `head` (`avail`
/// bytes of it readable); `rest` is what is left of its parent.
fn box_size(head: &[u8], avail: usize, rest: u64) -> Read<(u64, u64)> {
    if avail < 8 {
        return Err(Unsure::new("a box header is cut off"));
    }
    let (size, header) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
        0 => (rest, 8),
        1 if avail >= 16 => (
            u64::from_be_bytes(head[8..16].try_into().unwrap_or([0; 8])),
            16,
        ),
        1 => return Err(Unsure::new("a box header is cut off")),
        n => (u64::from(n), 8),
    };
    if size < header || size > rest {
        return Err(Unsure::new(format!(
            "a box of {size} bytes does not fit the {rest} bytes left (truncated or corrupt)"
        )));
    }
    Ok((size, header))
}

/// The boxes that fill `data` exactly.
fn children(data: &[u8]) -> Read<Vec<Bx<'_>>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (size, header) = box_size(rest, rest.len(), rest.len() as u64)?;
        let (this, tail) = rest.split_at(size as usize);
        out.push(Bx {
            kind: [this[4], this[5], this[6], this[7]],
            body: &this[header as usize..],
        });
        rest = tail;
    }
    Ok(out)
}

/// The one child of type `kind` (none or several: [`Unsure`]).
fn only<'a>(boxes: &[Bx<'a>], kind: &[u8; 4]) -> Read<Bx<'a>> {
    let mut it = boxes.iter().filter(|b| &b.kind == kind);
    match (it.next(), it.next()) {
        (Some(b), None) => Ok(*b),
        (None, _) => Err(Unsure::new(format!("no {}", String::from_utf8_lossy(kind)))),
        _ => Err(Unsure::new(format!(
            "several {}",
            String::from_utf8_lossy(kind)
        ))),
    }
}

/// `moov`'s body, after checking that the top-level boxes tile the file
/// and are ones ffmpeg's muxers write.
fn read_moov(src: &Source) -> Read<Vec<u8>> {
    let (mut offset, mut moov) = (0u64, None);
    for _ in 0..MAX_TOP_BOXES {
        if offset == src.len {
            return moov.ok_or_else(|| Unsure::new("no moov"));
        }
        let mut head = [0u8; 16];
        let avail = src.peek(offset, &mut head)?;
        let (size, header) = box_size(&head, avail, src.len - offset)?;
        match &head[4..8] {
            b"moov" if moov.is_none() => {
                moov = Some(src.bytes(offset + header, size - header, MAX_MOOV)?);
            }
            b"ftyp" | b"wide" | b"free" | b"skip" | b"mdat" => {}
            other => {
                return Err(Unsure::new(format!(
                    "top-level box {:?} is not one a chunk has",
                    String::from_utf8_lossy(other)
                )))
            }
        }
        offset += size;
    }
    Err(Unsure::new("too many top-level boxes"))
}

/// A full box's handler type (`hdlr`: version and flags, pre-defined or
/// QuickTime component type, then the handler type).
fn handler(b: Bx<'_>) -> Option<&[u8]> {
    b.body.get(8..12)
}

/// Some track's media handler is `vide`: ffmpeg sees a video stream.
fn has_video_track(moov: &[Bx<'_>]) -> Read<bool> {
    for trak in moov.iter().filter(|b| &b.kind == b"trak") {
        let Ok(mdia) = only(&children(trak.body)?, b"mdia") else {
            continue;
        };
        if let Ok(h) = only(&children(mdia.body)?, b"hdlr") {
            if handler(h) == Some(b"vide") {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The movie's container-level `mdta` tags.
pub(super) fn global_tags(src: &Source) -> Read<Vec<Tag>> {
    let moov = read_moov(src)?;
    let boxes = children(&moov)?;
    if !has_video_track(&boxes)? {
        return Err(Unsure::new("no video track"));
    }
    if boxes.iter().any(|b| matches!(&b.kind, b"meta" | b"cmov")) {
        return Err(Unsure::new("moov holds a meta or cmov box"));
    }
    let udta = only(&boxes, b"udta")?;
    let meta = only(&children(udta.body)?, b"meta")?;
    // ffmpeg writes `meta` as a full box; QuickTime's has no version field.
    let body = match meta.body.get(4..8) {
        Some(b"hdlr") => meta.body,
        _ => meta.body.get(4..).unwrap_or_default(),
    };
    let items = children(body)?;
    if handler(only(&items, b"hdlr")?) != Some(b"mdta") {
        return Err(Unsure::new("meta is not of the mdta kind"));
    }
    let keys = parse_keys(only(&items, b"keys")?.body)?;
    parse_ilst(only(&items, b"ilst")?.body, &keys)
}

/// `keys`: version and flags, a count, then (size, namespace, name)
/// entries. Index `i` (1-based) names `ilst` items of type `i`; names of
/// other namespaces are `None` (ffmpeg ignores their items).
fn parse_keys(body: &[u8]) -> Read<Vec<Option<Vec<u8>>>> {
    let bad = || Unsure::new("malformed keys box");
    let count = body.get(4..8).ok_or_else(bad)?;
    let count = u32::from_be_bytes(count.try_into().map_err(|_| bad())?) as usize;
    let mut rest = body.get(8..).ok_or_else(bad)?;
    if count > rest.len() / 8 {
        return Err(bad());
    }
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let size = rest.get(..4).ok_or_else(bad)?;
        let size = u32::from_be_bytes(size.try_into().map_err(|_| bad())?) as usize;
        if size < 8 || size > rest.len() {
            return Err(bad());
        }
        let (entry, tail) = rest.split_at(size);
        keys.push((&entry[4..8] == b"mdta").then(|| entry[8..].to_vec()));
        rest = tail;
    }
    Ok(keys)
}

/// `ilst`: one item per tag, typed by its key's index, holding one `data`
/// box: type (1 = UTF-8), locale, then the value. Values are copied, so
/// a value's memory is bounded by `moov`'s.
fn parse_ilst(body: &[u8], keys: &[Option<Vec<u8>>]) -> Read<Vec<Tag>> {
    let mut pairs = Vec::new();
    for item in children(body)? {
        let index = u32::from_be_bytes(item.kind) as usize;
        let key = index
            .checked_sub(1)
            .and_then(|i| keys.get(i))
            .ok_or_else(|| Unsure::new(format!("ilst item {index} has no key")))?;
        let Some(key) = key else { continue };
        // ffmpeg reads an item's first box as its value.
        let value = match children(item.body)?.as_slice() {
            [data] if &data.kind == b"data" => match (data.body.get(..4), data.body.get(8..)) {
                (Some([0, 0, 0, 1]), Some(v)) => v,
                _ => return Err(Unsure::new("an ilst value is not UTF-8 text")),
            },
            _ => return Err(Unsure::new("an ilst item is not one data box")),
        };
        pairs.push(Tag {
            key: key.clone(),
            value: Some(value.to_vec()),
        });
    }
    Ok(pairs)
}
