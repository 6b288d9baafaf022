//! Bytes this process read and wrote, with its reaped children's: Linux
//! adds a waited-for child's I/O counters to its parent's, so ffmpeg's
//! reads and writes count once it has exited.

use anyhow::{Context, Result};

/// `/proc/self/io`'s `rchar` and `wchar`: bytes through read and write
/// calls (page cache hits included, which is what a Lambda's /tmp gives).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IoCounters {
    pub(crate) read_bytes: u64,
    pub(crate) written_bytes: u64,
}

impl IoCounters {
    pub(crate) fn read() -> Result<Self> {
        let text = std::fs::read_to_string("/proc/self/io").context("reading /proc/self/io")?;
        parse(&text).context("/proc/self/io has no rchar or wchar line")
    }

    /// The counts since `earlier`.
    pub(crate) fn since(&self, earlier: &IoCounters) -> IoCounters {
        IoCounters {
            read_bytes: self.read_bytes.saturating_sub(earlier.read_bytes),
            written_bytes: self.written_bytes.saturating_sub(earlier.written_bytes),
        }
    }
}

fn parse(text: &str) -> Option<IoCounters> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(IoCounters {
        read_bytes: field("rchar")?,
        written_bytes: field("wchar")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rchar_and_wchar_are_read_and_differences_do_not_underflow() {
        let text = "rchar: 50027269\nwchar: 50000021\nsyscr: 10\nsyscw: 2\nread_bytes: 0\nwrite_bytes: 4096\n";
        let c = parse(text).unwrap();
        assert_eq!(c.read_bytes, 50_027_269);
        assert_eq!(c.written_bytes, 50_000_021);
        let later = IoCounters {
            read_bytes: 50_027_300,
            written_bytes: 1,
        };
        assert_eq!(
            later.since(&c),
            IoCounters {
                read_bytes: 31,
                written_bytes: 0
            }
        );
        assert_eq!(parse("syscr: 1\n"), None);
    }

    #[test]
    fn a_reaped_childs_writes_count_in_this_process() {
        let before = IoCounters::read().unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", "head -c 1000000 /dev/zero > /dev/null"])
            .status()
            .unwrap();
        assert!(status.success());
        let d = IoCounters::read().unwrap().since(&before);
        assert!(d.written_bytes >= 1_000_000, "{d:?}");
    }
}
