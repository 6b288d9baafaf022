//! One instance's Max Memory Used, and whether all of its processes
//! ended: from its cgroup when the backend has one, otherwise from the
//! processes in the jail's PID namespace, found in `/proc`.
//!
//! Without a cgroup the figure is the largest resident memory seen: every
//! 100 ms, the sum of `VmRSS` over the jail's processes (which counts pages
//! shared between processes once per process), and never less than the
//! largest `VmHWM` of one of them, which is what rusage's `ru_maxrss`
//! reports for it. A process that lives less than 100 ms can be missed.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::cgroup::Cgroup;

const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// How an instance's memory is measured.
pub enum Memory {
    Cgroup(Arc<Cgroup>),
    Unenforced(Arc<Processes>),
}

impl Memory {
    /// Starts sampling when the figure needs it; the task ends with the
    /// returned handle's abort.
    pub fn sampler(&self) -> Option<tokio::task::JoinHandle<()>> {
        let tick: Box<dyn Fn() + Send> = match self {
            Memory::Cgroup(c) if c.needs_sampling() => {
                let c = c.clone();
                Box::new(move || c.sample())
            }
            Memory::Cgroup(_) => return None,
            Memory::Unenforced(p) => {
                let p = p.clone();
                Box::new(move || p.sample())
            }
        };
        Some(tokio::spawn(async move {
            loop {
                tick();
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        }))
    }

    /// Peak so far, in MB (rounded up).
    pub fn max_mb(&self) -> u64 {
        let bytes = match self {
            Memory::Cgroup(c) => c.peak_bytes(),
            Memory::Unenforced(p) => {
                p.sample();
                p.peak.load(Ordering::Relaxed)
            }
        };
        bytes.div_ceil(1024 * 1024)
    }

    pub fn enforced(&self) -> bool {
        matches!(self, Memory::Cgroup(_))
    }

    /// After the helper was killed and reaped: whether every process of
    /// the instance ended (its cgroup could be removed, or no process is
    /// left in its PID namespace), waiting up to 5 s.
    pub async fn released(&self) -> bool {
        for _ in 0..50 {
            let gone = match self {
                Memory::Cgroup(c) => c.remove(),
                Memory::Unenforced(p) => p.pid_ns().is_none_or(|ns| members(ns).is_empty()),
            };
            if gone {
                return true;
            }
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
        false
    }
}

/// The processes of one jail: those in the PID namespace its helper made.
pub struct Processes {
    helper: u32,
    /// The jail's PID namespace (inode), once the helper has made it.
    ns: AtomicU64,
    /// Bytes.
    peak: AtomicU64,
}

impl Processes {
    pub fn new(helper: u32) -> Processes {
        Processes {
            helper,
            ns: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }
    }

    /// The helper's `pid_for_children` differs from its own namespace once
    /// it has unshared the jail's.
    fn pid_ns(&self) -> Option<u64> {
        let known = self.ns.load(Ordering::Relaxed);
        if known != 0 {
            return Some(known);
        }
        let dir = Path::new("/proc").join(self.helper.to_string()).join("ns");
        let own = ns_inode(&dir.join("pid"))?;
        let children = ns_inode(&dir.join("pid_for_children"))?;
        (own != children).then(|| {
            self.ns.store(children, Ordering::Relaxed);
            children
        })
    }

    pub fn sample(&self) {
        let Some(ns) = self.pid_ns() else { return };
        let (mut rss, mut hwm) = (0, 0);
        for pid in members(ns) {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            rss += status_kb(&status, "VmRSS:");
            hwm = hwm.max(status_kb(&status, "VmHWM:"));
        }
        self.peak.fetch_max(rss.max(hwm) * 1024, Ordering::Relaxed);
    }
}

/// The inode a `/proc/PID/ns/*` link names (`pid:[4026531836]`).
fn ns_inode(link: &Path) -> Option<u64> {
    let t = std::fs::read_link(link).ok()?;
    let t = t.to_str()?;
    t.split_once('[')?.1.strip_suffix(']')?.parse().ok()
}

/// Every process whose PID namespace is `ns`.
fn members(ns: u64) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            ns_inode(&Path::new("/proc").join(pid.to_string()).join("ns/pid")) == Some(ns)
        })
        .collect()
}

/// `VmRSS:     1234 kB` -> 1234.
fn status_kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kb() {
        let s = "Name:\tsh\nVmHWM:\t    4410 kB\nVmRSS:\t    3020 kB\n";
        assert_eq!(status_kb(s, "VmRSS:"), 3020);
        assert_eq!(status_kb(s, "VmHWM:"), 4410);
        assert_eq!(status_kb(s, "VmSwap:"), 0);
    }

    #[test]
    fn this_process_is_in_its_own_pid_namespace() {
        let me = ns_inode(Path::new("/proc/self/ns/pid")).expect("a pid namespace link");
        assert!(members(me).contains(&std::process::id()));
    }
}
