//! CPU time of the bench and everything it starts, from a cgroup v1 `cpuacct`
//! group.
//!
//! Why a cgroup: capture runs in Chromium's renderer and GPU processes, which
//! are grandchildren that get killed rather than reaped, so
//! `getrusage(RUSAGE_CHILDREN)` misses them; and the machine-wide
//! `/proc/stat` figure counts whatever else runs on the machine. A process
//! moved into a cgroup takes every later child with it, and the group's
//! `cpuacct.usage` keeps counting what they used after they are gone.

use std::path::{Path, PathBuf};
use std::time::Duration;

const ROOT: &str = "/sys/fs/cgroup/cpuacct";

/// Where the CPU figure comes from, printed under every table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// A cgroup holding this process and its children only.
    Cgroup,
    /// Busy time of the whole machine (`/proc/stat`): polluted by other work.
    MachineWide,
}

impl CpuSource {
    pub fn describe(self) -> &'static str {
        match self {
            CpuSource::Cgroup => {
                "CPU is cgroup cpuacct time of this process and every process it started (browsers and ffmpeg included, killed or not)"
            }
            CpuSource::MachineWide => {
                "CPU is machine-wide busy time from /proc/stat (no writable cgroup v1 cpuacct here): other work on the machine inflates it"
            }
        }
    }
}

/// CPU meter for this process and its descendants.
pub struct CpuMeter {
    group: Option<PathBuf>,
}

impl CpuMeter {
    /// Moves this process into a fresh `cpuacct` group named after it; falls
    /// back to the machine-wide figure when cgroup v1 is not writable.
    pub fn start() -> Self {
        let dir = Path::new(ROOT).join(format!("hf-render-bench-{}", std::process::id()));
        let entered = std::fs::create_dir_all(&dir).is_ok()
            && std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string()).is_ok();
        if !entered {
            let _ = std::fs::remove_dir(&dir);
        }
        CpuMeter {
            group: entered.then_some(dir),
        }
    }

    pub fn source(&self) -> CpuSource {
        if self.group.is_some() {
            CpuSource::Cgroup
        } else {
            CpuSource::MachineWide
        }
    }

    /// CPU used so far (monotonic; take differences).
    pub fn used(&self) -> Duration {
        match &self.group {
            Some(dir) => std::fs::read_to_string(dir.join("cpuacct.usage"))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_nanos)
                .unwrap_or_default(),
            None => machine_busy(),
        }
    }
}

impl Drop for CpuMeter {
    fn drop(&mut self) {
        if let Some(dir) = self.group.take() {
            // Back to the root group; the directory can go once it is empty.
            let _ = std::fs::write(
                Path::new(ROOT).join("cgroup.procs"),
                std::process::id().to_string(),
            );
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

/// Busy time of the whole machine: every state of `/proc/stat`'s `cpu` line
/// but idle and iowait.
fn machine_busy() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Duration::ZERO;
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return Duration::ZERO;
    };
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: u64 = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse::<u64>().ok())
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64(busy as f64 / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_counts_a_child_that_burns_cpu() {
        let meter = CpuMeter::start();
        let before = meter.used();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let used = meter.used() - before;
        assert!(
            used >= Duration::from_millis(20),
            "{:?} counted {used:?} for a busy child",
            meter.source()
        );
    }
}
