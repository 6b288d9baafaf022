//! The reader on chunks the producer's own encoder writes (every format a
//! chunk can have), and on truncated, corrupt and oversized versions of
//! them: a wrong or partial file is never vouched for, and nothing panics.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::chunk::{chunk_tags, CHUNK_INDEX_TAG, PLAN_HASH_TAG};
use crate::config::{Codec, Format, Quality};
use crate::encode::ffmpeg::{EncoderSettings, YuvConversion};
use crate::encode::sink::{EncoderInput, FfmpegSink, FrameSink};
use crate::encode::{probe, yuv};

const WANTED: [&str; 2] = [PLAN_HASH_TAG, CHUNK_INDEX_TAG];

/// Every format and codec a video chunk can have.
pub(crate) const CHUNK_KINDS: [(Format, Codec); 4] = [
    (Format::Mp4, Codec::H264),
    (Format::Mp4, Codec::H265),
    (Format::Mov, Codec::H264),
    (Format::Webm, Codec::H264),
];

/// A 3-frame 64x64 chunk written by the producer's encoder (its output
/// arguments and chunk tags) into `dir`: plan hash `abc123`, index 7, or
/// no tags at all when `tagged` is false.
pub(crate) fn encode_chunk(format: Format, codec: Codec, tagged: bool, dir: &Path) -> PathBuf {
    let settings = EncoderSettings {
        format,
        codec,
        quality: Quality::Draft,
        preset: None,
        threads: Some(1),
        crf: None,
        bitrate: None,
        yuv: YuvConversion::Legacy,
    };
    let tags = if tagged {
        chunk_tags("abc123", 7, 21)
    } else {
        Vec::new()
    };
    let mut args = settings.output_args(30, 3, &tags);
    args.extend(["-f".into(), format.muxer().into(), "-y".into()]);
    let out = dir.join(format!("{codec:?}-{tagged}.{}", format.extension()));
    let size = yuv::Size {
        width: 64,
        height: 64,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sink: Box<dyn FrameSink> =
        Box::new(FfmpegSink::spawn(30, EncoderInput::Yuv420(size), &args, &out, deadline).unwrap());
    for shade in [0u8, 120, 240] {
        let pixels = vec![shade; 64 * 64 * 3];
        let frame = yuv::test_png(&pixels, size, png::ColorType::Rgb, png::BitDepth::Eight);
        sink.push(Arc::new(frame)).unwrap();
    }
    sink.finish().unwrap();
    out
}

fn read(bytes: &[u8]) -> Read<BTreeMap<String, String>> {
    tags_of(&Source::bytes_source(bytes.to_vec()), &WANTED)
}

fn identity() -> BTreeMap<String, String> {
    [(PLAN_HASH_TAG, "abc123"), (CHUNK_INDEX_TAG, "7")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into()
}

fn chunks(tagged: bool) -> (tempfile::TempDir, Vec<(Format, PathBuf)>) {
    let dir = tempfile::tempdir().unwrap();
    let files = CHUNK_KINDS
        .iter()
        .map(|(f, c)| (*f, encode_chunk(*f, *c, tagged, dir.path())))
        .collect();
    (dir, files)
}

#[test]
fn every_chunk_format_gives_the_identity_ffmpeg_reports() {
    let (_dir, files) = chunks(true);
    for (format, path) in &files {
        let got = container_tags(path, &WANTED);
        assert_eq!(got, Ok(identity()), "{format:?} {}", path.display());
        let probe = probe::probe_video(path).unwrap();
        for (k, v) in identity() {
            assert_eq!(
                probe.tags.get(&k).and_then(|t| t.as_str()),
                Some(v.as_str())
            );
        }
    }
}

#[test]
fn chunks_without_identity_tags_are_left_to_ffmpeg() {
    let (_dir, files) = chunks(false);
    for (format, path) in &files {
        let e = container_tags(path, &WANTED).unwrap_err();
        assert!(e.0.contains("no "), "{format:?}: {e:?}");
    }
}

#[test]
fn every_truncation_and_a_missing_file_are_left_to_ffmpeg() {
    let (dir, files) = chunks(true);
    for (format, path) in &files {
        let bytes = std::fs::read(path).unwrap();
        for cut in (0..bytes.len()).step_by(5).chain([bytes.len() - 1]) {
            assert!(read(&bytes[..cut]).is_err(), "{format:?} cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 9]);
        assert!(read(&longer).is_err(), "{format:?} with trailing bytes");
    }
    assert!(container_tags(&dir.path().join("nope.mp4"), &WANTED).is_err());
    assert!(container_tags(dir.path(), &WANTED).is_err());
}

/// Every byte of the container structure (the start and end of each file,
/// where the headers, `moov`, tracks and tags are) set to 0x00, 0xFF and
/// its high bit flipped: an answer or [`Unsure`], never a panic.
#[test]
fn corrupt_bytes_never_panic() {
    let (_dir, files) = chunks(true);
    for (format, path) in &files {
        let bytes = std::fs::read(path).unwrap();
        let len = bytes.len();
        let positions = (0..len.min(1024)).chain(len.saturating_sub(2048).max(1024)..len);
        let mut answered = 0;
        for i in positions {
            for v in [0x00, 0xFF, bytes[i] ^ 0x80] {
                let mut b = bytes.clone();
                b[i] = v;
                if let Ok(tags) = read(&b) {
                    answered += 1;
                    assert_eq!(tags.len(), 2, "{format:?} byte {i} = {v}");
                }
            }
        }
        assert!(
            answered > 0,
            "{format:?}: some bytes (the media's) do not matter"
        );
    }
}

/// Finds `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

#[test]
fn a_duplicated_identity_tag_is_left_to_ffmpeg() {
    let (_dir, files) = chunks(true);
    for (format, path) in &files {
        let mut bytes = std::fs::read(path).unwrap();
        // Same length: the start-frame tag becomes a second chunk index.
        let (from, to): (&[u8], &[u8]) = match format {
            Format::Webm => (b"HYPERFRAMES_START_FRAME", b"HYPERFRAMES_CHUNK_INDEX"),
            _ => (b"hyperframes_start_frame", b"hyperframes_chunk_index"),
        };
        let at = find(&bytes, from);
        bytes[at..at + to.len()].copy_from_slice(to);
        let e = read(&bytes).unwrap_err();
        assert!(e.0.contains("appears twice"), "{format:?}: {e:?}");
    }
}

#[test]
fn hostile_counts_and_indexes_in_mp4_tags_are_refused() {
    let (_dir, files) = chunks(true);
    let bytes = std::fs::read(&files[0].1).unwrap();
    let keys = find(&bytes, b"keys");
    let mut huge_count = bytes.clone();
    huge_count[keys + 8..keys + 12].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(read(&huge_count).is_err());
    let mut short_key = bytes.clone();
    short_key[keys + 12..keys + 16].copy_from_slice(&3u32.to_be_bytes());
    assert!(read(&short_key).is_err());
    // The first ilst item (index 1) numbered 99: no such key.
    let ilst = find(&bytes, b"ilst");
    let mut bad_index = bytes.clone();
    bad_index[ilst + 8..ilst + 12].copy_from_slice(&99u32.to_be_bytes());
    let e = read(&bad_index).unwrap_err();
    assert!(e.0.contains("no key"), "{e:?}");
}

#[test]
fn oversized_boxes_and_elements_are_refused_without_reading_them() {
    let mut ftyp = 16u32.to_be_bytes().to_vec();
    ftyp.extend_from_slice(b"ftypisom\0\0\0\0");
    for header in [
        [u32::MAX.to_be_bytes().as_slice(), b"moov"].concat(),
        [
            1u32.to_be_bytes().as_slice(),
            b"moov",
            &u64::MAX.to_be_bytes(),
        ]
        .concat(),
        [4u32.to_be_bytes().as_slice(), b"moov"].concat(),
    ] {
        let e = read(&[ftyp.clone(), header].concat()).unwrap_err();
        assert!(e.0.contains("does not fit"), "{e:?}");
    }
    // A whole file, sparse, whose moov is over the bound.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.mp4");
    let moov_len = 17u64 << 20;
    let head = [ftyp.as_slice(), &(moov_len as u32).to_be_bytes(), b"moov"].concat();
    std::fs::write(&big, &head).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&big).unwrap();
    file.set_len(16 + moov_len).unwrap();
    let e = container_tags(&big, &WANTED).unwrap_err();
    assert!(e.0.contains("bound"), "{e:?}");

    // Matroska: an EBML header, then a segment with an unknown size, one
    // past the end, and (sparse) one holding Tags over the bound.
    let ebml = [
        &[0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84][..],
        b"webm",
    ]
    .concat();
    let unknown = [
        &ebml[..],
        &[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ],
    ]
    .concat();
    assert!(read(&unknown).unwrap_err().0.contains("unknown size"));
    let past = [
        &ebml[..],
        &[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
        ],
    ]
    .concat();
    assert!(read(&past).unwrap_err().0.contains("past the end"));
    let tags_len = 2u64 << 20;
    let seg_len = 12 + tags_len;
    let mut mkv = ebml.clone();
    mkv.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01]);
    mkv.extend_from_slice(&seg_len.to_be_bytes()[1..]);
    mkv.extend_from_slice(&[0x12, 0x54, 0xC3, 0x67, 0x01]);
    mkv.extend_from_slice(&tags_len.to_be_bytes()[1..]);
    let big = dir.path().join("big.webm");
    std::fs::write(&big, &mkv).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&big).unwrap();
    file.set_len(mkv.len() as u64 + tags_len).unwrap();
    let e = container_tags(&big, &WANTED).unwrap_err();
    assert!(e.0.contains("bound"), "{e:?}");
}

#[test]
fn short_and_foreign_files_are_left_to_ffmpeg() {
    for bytes in [&b""[..], b"\x1a\x45", b"RIFF\0\0\0\0WAVEfmt ", &[0u8; 64]] {
        assert!(read(bytes).is_err(), "{bytes:?}");
    }
}
