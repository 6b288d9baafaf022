//! The file under inspection: positioned reads within its length, and
//! reads into memory only up to a bound.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::{Magic, Read, Unsure};

pub(super) struct Source {
    backing: Backing,
    pub len: u64,
}

/// A file, or (tests) its bytes in memory.
enum Backing {
    File(File),
    #[cfg(test)]
    Bytes(Vec<u8>),
}

impl Source {
    pub fn open(path: &Path) -> Read<Source> {
        let file = File::open(path).map_err(|e| Unsure::new(format!("cannot open: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| Unsure::new(format!("cannot stat: {e}")))?;
        if !meta.is_file() {
            return Err(Unsure::new("not a regular file"));
        }
        Ok(Source {
            backing: Backing::File(file),
            len: meta.len(),
        })
    }

    #[cfg(test)]
    pub fn bytes_source(bytes: Vec<u8>) -> Source {
        Source {
            len: bytes.len() as u64,
            backing: Backing::Bytes(bytes),
        }
    }

    /// Up to `buf.len()` bytes at `offset` (fewer at the end of the file).
    pub fn peek(&self, offset: u64, buf: &mut [u8]) -> Read<usize> {
        let avail = self.len.saturating_sub(offset).min(buf.len() as u64) as usize;
        match &self.backing {
            Backing::File(f) => f
                .read_exact_at(&mut buf[..avail], offset)
                .map_err(|e| Unsure::new(format!("read failed at {offset}: {e}")))?,
            #[cfg(test)]
            Backing::Bytes(b) => {
                let from = offset as usize;
                buf[..avail].copy_from_slice(&b[from..from + avail]);
            }
        }
        Ok(avail)
    }

    /// The `len` bytes at `offset`, which must lie within the file and be
    /// at most `limit` (no allocation beyond it).
    pub fn bytes(&self, offset: u64, len: u64, limit: u64) -> Read<Vec<u8>> {
        if len > limit {
            return Err(Unsure::new(format!(
                "an element of {len} bytes at {offset} is over the {limit}-byte bound"
            )));
        }
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(Unsure::new(format!(
                "{len} bytes at {offset} run past the end"
            )));
        }
        let mut buf = vec![0u8; len as usize];
        self.peek(offset, &mut buf)?;
        Ok(buf)
    }

    /// Matroska (EBML magic) or ISO-BMFF (a box type ffmpeg's muxers start
    /// a file with); anything else is not for this reader.
    pub fn magic(&self) -> Read<Magic> {
        let mut head = [0u8; 8];
        if self.peek(0, &mut head)? < 8 {
            return Err(Unsure::new("shorter than a container header"));
        }
        if head[..4] == [0x1A, 0x45, 0xDF, 0xA3] {
            return Ok(Magic::Matroska);
        }
        match &head[4..8] {
            b"ftyp" | b"wide" | b"free" | b"skip" | b"mdat" | b"moov" => Ok(Magic::Bmff),
            _ => Err(Unsure::new("neither Matroska nor ISO-BMFF")),
        }
    }
}
