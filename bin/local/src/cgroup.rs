//! Where an instance's memory limit, CPU quota and Max Memory Used come
//! from. [`CgroupBackend`] is the one place that chooses between the
//! cgroup v1 controllers, the v2 unified hierarchy and none at all; the
//! Lambda service only asks it for an instance's [`Cgroup`].
//!
//! CPU follows Lambda: 1,769 MB of memory buys one vCPU, up to 6. The
//! quota is Lambda's share, not capped at the host's cores: above them the
//! kernel cannot give more anyway, so a cap would change nothing, while
//! below them (2048 MB is 1.16 vCPU) it makes an instance as slow as on
//! Lambda.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context, Result};

/// Lambda gives one vCPU per this many MB of memory.
pub const MB_PER_VCPU: u32 = 1769;
/// The most vCPUs a Lambda function gets (at 10,240 MB it is 5.79).
pub const MAX_VCPUS: f64 = 6.0;
/// The parent's CPU weight against the host's other work, v1
/// (`cpu.shares`, the kernel's maximum) and v2 (`cpu.weight`, its
/// maximum). On Lambda an environment's vCPUs are its own; on a shared
/// host the instances' group would otherwise weigh as much as *one* other
/// process (v1 puts the host's processes in the root group, each weighted
/// like a whole child group), so a busy host (other builds) gave every
/// instance a sliver of a core, and a cold start's unpack took 28-60 s
/// instead of ~2 s. With the most weight the instances get the host's
/// cores when they want them, up to each one's quota.
const PARENT_SHARES_V1: &str = "262144";
/// See [`PARENT_SHARES_V1`].
const PARENT_WEIGHT_V2: &str = "10000";
/// The CFS period the quota is expressed in (the kernel's default).
const PERIOD_US: u64 = 100_000;
/// The directory every instance's cgroup goes under, per hierarchy.
const PARENT: &str = "hyperframes-local";

/// Lambda's CPU share for `memory_mb`, in vCPUs.
pub fn vcpus(memory_mb: u32) -> f64 {
    (f64::from(memory_mb) / f64::from(MB_PER_VCPU)).min(MAX_VCPUS)
}

/// That share as a CFS quota per [`PERIOD_US`] (the kernel's minimum is
/// 1 ms).
pub fn quota_us(memory_mb: u32) -> u64 {
    ((vcpus(memory_mb) * PERIOD_US as f64).round() as u64).max(1000)
}

/// Which backend to use: `auto` detects, the others force one (a test, or
/// a user who wants to see the unenforced path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CgroupChoice {
    #[default]
    Auto,
    V1,
    V2,
    None,
}

/// The cgroup mounts of this process, from `/proc/self/mountinfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mounts {
    /// The v1 hierarchy holding the memory controller.
    pub v1_memory: Option<PathBuf>,
    /// The v1 hierarchy holding the cpu controller.
    pub v1_cpu: Option<PathBuf>,
    /// The cgroup2 (unified) mount.
    pub v2: Option<PathBuf>,
}

impl Mounts {
    /// Reads `/proc/self/mountinfo`.
    pub fn read() -> Mounts {
        Mounts::parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
    }

    /// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS`;
    /// a v1 mount names its controllers in SUPEROPTS.
    pub fn parse(mountinfo: &str) -> Mounts {
        let mut m = Mounts::default();
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let (Some(point), mut tail) = (left.split(' ').nth(4), right.split(' ')) else {
                continue;
            };
            let point = PathBuf::from(point.replace("\\040", " "));
            let fstype = tail.next().unwrap_or_default();
            let opts: Vec<&str> = tail.nth(1).unwrap_or_default().split(',').collect();
            match fstype {
                "cgroup2" if m.v2.is_none() => m.v2 = Some(point),
                "cgroup" if opts.contains(&"memory") && m.v1_memory.is_none() => {
                    m.v1_memory = Some(point)
                }
                "cgroup" if opts.contains(&"cpu") && m.v1_cpu.is_none() => m.v1_cpu = Some(point),
                _ => {}
            }
        }
        m
    }
}

/// How instances are limited and measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupBackend {
    /// cgroup v1: `memory.limit_in_bytes`, `memory.max_usage_in_bytes`,
    /// and `cpu.cfs_quota_us` when the cpu controller could be used.
    V1 {
        memory: PathBuf,
        cpu: Option<PathBuf>,
    },
    /// cgroup v2: `memory.max`, `memory.peak` (or sampled
    /// `memory.current`), and `cpu.max` when `cpu` is enabled.
    V2 { parent: PathBuf, cpu: bool },
    /// No writable memory controller: the limit is not enforced, and Max
    /// Memory Used comes from the instance's processes (`reason` says why).
    None { reason: String },
}

impl CgroupBackend {
    /// The backend for `choice` on this machine. `auto` prefers v2 when the
    /// unified hierarchy holds the memory controller, then v1, and falls
    /// back to none (with the reasons) rather than failing; a forced v1 or
    /// v2 that cannot be used is an error.
    pub fn choose(choice: CgroupChoice, mounts: &Mounts) -> Result<CgroupBackend> {
        let v2 = || match &mounts.v2 {
            Some(root) => CgroupBackend::v2(root),
            None => bail!("no cgroup2 hierarchy is mounted"),
        };
        let v1 = || match &mounts.v1_memory {
            Some(mem) => CgroupBackend::v1(mem, mounts.v1_cpu.as_deref()),
            None => bail!("no cgroup v1 memory controller is mounted"),
        };
        match choice {
            CgroupChoice::V2 => v2().context("cannot use cgroup v2 (forced)"),
            CgroupChoice::V1 => v1().context("cannot use cgroup v1 (forced)"),
            CgroupChoice::None => Ok(CgroupBackend::None {
                reason: "--cgroup none was asked for".into(),
            }),
            CgroupChoice::Auto => {
                let e2 = match v2() {
                    Ok(b) => return Ok(b),
                    Err(e) => e,
                };
                let e1 = match v1() {
                    Ok(b) => return Ok(b),
                    Err(e) => e,
                };
                Ok(CgroupBackend::None {
                    reason: format!("v2: {e2:#}; v1: {e1:#}"),
                })
            }
        }
    }

    /// v1 under the memory hierarchy at `memory` (and the cpu one at `cpu`
    /// when it is writable too; without it, no CPU quota).
    pub fn v1(memory: &Path, cpu: Option<&Path>) -> Result<CgroupBackend> {
        let dir = memory.join(PARENT);
        std::fs::create_dir_all(&dir).with_context(|| writable(&dir))?;
        if !dir.join("memory.limit_in_bytes").exists() {
            bail!("{} is not a cgroup v1 memory directory", dir.display());
        }
        can_make_children(&dir)?;
        let cpu = cpu.map(|c| c.join(PARENT)).filter(|c| {
            std::fs::create_dir_all(c).is_ok()
                && c.join("cpu.cfs_quota_us").exists()
                && can_make_children(c).is_ok()
        });
        sweep(&dir);
        if let Some(c) = &cpu {
            sweep(c);
            write(&c.join("cpu.shares"), PARENT_SHARES_V1)?;
        }
        Ok(CgroupBackend::V1 { memory: dir, cpu })
    }

    /// v2 under the unified hierarchy at `root`: the memory (and cpu, when
    /// available) controllers are enabled for `root/hyperframes-local`'s
    /// children, where the instances go.
    pub fn v2(root: &Path) -> Result<CgroupBackend> {
        let available = std::fs::read_to_string(root.join("cgroup.controllers"))
            .with_context(|| format!("cannot read {}/cgroup.controllers", root.display()))?;
        let has = |c: &str| available.split_whitespace().any(|a| a == c);
        if !has("memory") {
            bail!(
                "the cgroup2 hierarchy at {} has no memory controller (it offers: {}); \
                 on a hybrid host memory is bound to v1",
                root.display(),
                available.trim()
            );
        }
        let enable = if has("cpu") {
            "+memory +cpu"
        } else {
            "+memory"
        };
        let parent = root.join(PARENT);
        let control = |dir: &Path| {
            let f = dir.join("cgroup.subtree_control");
            std::fs::write(&f, enable)
                .with_context(|| format!("cannot write `{enable}` to {}", f.display()))
        };
        control(root)?;
        std::fs::create_dir_all(&parent).with_context(|| writable(&parent))?;
        control(&parent)?;
        can_make_children(&parent)?;
        sweep(&parent);
        if has("cpu") {
            write(&parent.join("cpu.weight"), PARENT_WEIGHT_V2)?;
        }
        Ok(CgroupBackend::V2 {
            parent,
            cpu: has("cpu"),
        })
    }

    pub fn enforced(&self) -> bool {
        !matches!(self, CgroupBackend::None { .. })
    }

    /// One line for `local-stack up`: what is enforced and how.
    pub fn describe(&self) -> String {
        match self {
            CgroupBackend::V1 { memory, cpu } => format!(
                "cgroup v1 ({}: memory.limit_in_bytes, memory.max_usage_in_bytes; {})",
                memory.display(),
                match cpu {
                    Some(c) => format!("CPU quota in {}", c.display()),
                    None => "no writable cpu controller, so no CPU quota".into(),
                }
            ),
            CgroupBackend::V2 { parent, cpu } => format!(
                "cgroup v2 ({}: memory.max, memory.peak; {})",
                parent.display(),
                if *cpu {
                    "cpu.max"
                } else {
                    "no cpu controller, so no CPU quota"
                }
            ),
            CgroupBackend::None { reason } => format!(
                "NOT ENFORCED: no writable cgroup memory controller ({reason}); functions run \
                 without a memory limit or CPU quota, and REPORT marks Max Memory Used as \
                 `unenforced`, measured from the instance's resident memory"
            ),
        }
    }

    /// A new cgroup for one instance (`name` unique per service), holding
    /// the function's memory as its limit and Lambda's CPU share as its
    /// quota; `None` for the none backend.
    pub fn create(&self, name: &str, memory_mb: u32) -> Result<Option<Cgroup>> {
        let mut cg = match self {
            CgroupBackend::None { .. } => return Ok(None),
            CgroupBackend::V1 { .. } => Cgroup::new(Version::V1),
            CgroupBackend::V2 { .. } => Cgroup::new(Version::V2),
        };
        match self.fill(&mut cg, name, memory_mb) {
            Ok(()) => Ok(Some(cg)),
            Err(e) => {
                cg.remove();
                Err(e)
            }
        }
    }

    /// Makes the directories (recorded in `cg` as they are made, so a
    /// failure removes them) and writes the limits.
    fn fill(&self, cg: &mut Cgroup, name: &str, memory_mb: u32) -> Result<()> {
        let limit = (u64::from(memory_mb) * 1024 * 1024).to_string();
        let quota = quota_us(memory_mb);
        let mut made = |d: PathBuf| -> Result<PathBuf> {
            std::fs::create_dir(&d).with_context(|| writable(&d))?;
            cg.dirs.push(d.clone());
            Ok(d)
        };
        match self {
            CgroupBackend::None { .. } => {}
            CgroupBackend::V1 { memory, cpu } => {
                let mem = made(memory.join(name))?;
                write(&mem.join("memory.limit_in_bytes"), &limit)?;
                if let Some(cpu) = cpu {
                    let c = made(cpu.join(name))?;
                    write(&c.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
                    write(&c.join("cpu.cfs_quota_us"), &quota.to_string())?;
                }
            }
            CgroupBackend::V2 { parent, cpu } => {
                let dir = made(parent.join(name))?;
                write(&dir.join("memory.max"), &limit)?;
                // Lambda has no swap: past the limit is out of memory.
                if dir.join("memory.swap.max").exists() {
                    write(&dir.join("memory.swap.max"), "0")?;
                }
                if *cpu {
                    write(&dir.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?;
                }
            }
        }
        Ok(())
    }
}

/// The parent may exist already (made by root before): only making a
/// child shows that instances can have cgroups.
fn can_make_children(parent: &Path) -> Result<()> {
    // Unique per call: several threads of one process (tests) may probe
    // at once, and a shared name made the second one's mkdir fail with
    // EEXIST, which read as "not writable".
    static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = parent.join(format!("probe-{}-{n}", std::process::id()));
    std::fs::create_dir(&probe).with_context(|| writable(&probe))?;
    let _ = std::fs::remove_dir(&probe);
    Ok(())
}

/// Removes the empty instance cgroups (`<pid>-<n>`) of services that are
/// gone: a process that exits without stopping its instances (a test
/// binary, whose stack lives in a static) leaves them behind.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.split_once('-'))
            .map(|(p, _)| p);
        let dead =
            pid.is_some_and(|p| p.parse::<u32>().is_ok() && !Path::new("/proc").join(p).exists());
        if dead {
            // Fails, harmlessly, while a process is still in it.
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

fn writable(d: &Path) -> String {
    format!(
        "cannot create the cgroup {} (writing cgroups needs root, or a cgroup delegated to this user)",
        d.display()
    )
}

fn write(f: &Path, value: &str) -> Result<()> {
    std::fs::write(f, value).with_context(|| format!("cannot write {value} to {}", f.display()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// One instance's cgroup (one directory per v1 hierarchy, one for v2).
#[derive(Debug)]
pub struct Cgroup {
    version: Version,
    dirs: Vec<PathBuf>,
    sampled: AtomicU64,
}

impl Cgroup {
    fn new(version: Version) -> Cgroup {
        Cgroup {
            version,
            dirs: Vec::new(),
            sampled: AtomicU64::new(0),
        }
    }

    /// The directories whose `cgroup.procs` the instance joins.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Whether the peak has to be sampled: kernels before 5.19 have no
    /// `memory.peak`, and the largest `memory.current` seen by
    /// [`Cgroup::sample`] stands in for it.
    pub fn needs_sampling(&self) -> bool {
        self.version == Version::V2 && !self.dirs[0].join("memory.peak").exists()
    }

    /// Records `memory.current` when it is the largest seen.
    pub fn sample(&self) {
        if let Some(now) = read_u64(&self.dirs[0].join("memory.current")) {
            self.sampled.fetch_max(now, Ordering::Relaxed);
        }
    }

    /// The instance's peak memory so far, in bytes.
    pub fn peak_bytes(&self) -> u64 {
        let d = &self.dirs[0];
        match self.version {
            Version::V1 => read_u64(&d.join("memory.max_usage_in_bytes")).unwrap_or(0),
            Version::V2 => match read_u64(&d.join("memory.peak")) {
                Some(peak) => peak,
                None => {
                    self.sample();
                    self.sampled.load(Ordering::Relaxed)
                }
            },
        }
    }

    /// Removes the directories; only possible once every process in them
    /// ended, so `true` means the whole instance is gone.
    pub fn remove(&self) -> bool {
        // Every directory is tried, whatever the others do.
        let left = self
            .dirs
            .iter()
            .filter(|d| std::fs::remove_dir(d).is_err() && d.exists())
            .count();
        left == 0
    }
}

fn read_u64(f: &Path) -> Option<u64> {
    std::fs::read_to_string(f).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_from_many_threads_at_once_do_not_collide() {
        let parent = std::env::temp_dir().join(format!("hf-probe-{}", std::process::id()));
        std::fs::create_dir_all(&parent).unwrap();
        let failures: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..200)
                            .filter(|_| can_make_children(&parent).is_err())
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        let _ = std::fs::remove_dir_all(&parent);
        assert_eq!(failures, 0, "a probe collided with another thread's");
    }

    /// This machine's hybrid layout (v1 controllers plus a unified mount).
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    /// A current distribution: the unified hierarchy only.
    const UNIFIED: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    /// An older layout with cpu and cpuacct co-mounted.
    const V1_COMOUNTED: &str = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
";

    #[test]
    fn mountinfo_names_each_hierarchy() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            Mounts::parse(HYBRID),
            Mounts {
                v1_memory: p("/sys/fs/cgroup/memory"),
                v1_cpu: p("/sys/fs/cgroup/cpu"),
                v2: p("/sys/fs/cgroup/unified"),
            }
        );
        assert_eq!(
            Mounts::parse(UNIFIED),
            Mounts {
                v2: p("/sys/fs/cgroup"),
                ..Mounts::default()
            }
        );
        let m = Mounts::parse(V1_COMOUNTED);
        assert_eq!(m.v1_cpu, p("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(m.v2, None);
    }

    #[test]
    fn cpu_follows_lambda_at_1769_mb_per_vcpu_up_to_6() {
        assert_eq!(quota_us(1769), 100_000);
        assert_eq!(quota_us(2048), 115_772);
        assert_eq!(quota_us(10240), 578_858);
        assert_eq!(quota_us(1769 * 8), 600_000);
        assert_eq!(quota_us(128), 7_236);
    }

    #[test]
    fn no_controller_anywhere_is_the_none_backend_with_its_reasons_and_a_forced_one_fails() {
        let b = CgroupBackend::choose(CgroupChoice::Auto, &Mounts::default()).unwrap();
        let CgroupBackend::None { reason } = &b else {
            panic!("{b:?}")
        };
        assert!(
            reason.contains("no cgroup2") && reason.contains("no cgroup v1 memory"),
            "{reason}"
        );
        assert!(b.describe().contains("NOT ENFORCED"), "{}", b.describe());
        assert!(b.create("x", 2048).unwrap().is_none());
        let e = CgroupBackend::choose(CgroupChoice::V2, &Mounts::default()).unwrap_err();
        assert!(format!("{e:#}").contains("cgroup v2 (forced)"), "{e:#}");
    }

    /// A directory laid out like a cgroup2 mount, for the file-level logic
    /// (this machine's unified hierarchy has no memory or cpu controller).
    fn fake_v2(name: &str, controllers: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hf-cgroup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cgroup.controllers"), controllers).unwrap();
        std::fs::write(d.join("cgroup.subtree_control"), "").unwrap();
        d
    }

    #[test]
    fn v2_enables_memory_and_cpu_and_writes_the_limits_lambda_sets() {
        let root = fake_v2("v2", "cpuset cpu io memory pids\n");
        // An instance of a service that is gone, and one of a live one.
        let (gone, live) = (
            root.join("hyperframes-local/999999999-1"),
            root.join(format!("hyperframes-local/{}-1", std::process::id())),
        );
        std::fs::create_dir_all(&gone).unwrap();
        std::fs::create_dir_all(&live).unwrap();
        let mounts = Mounts {
            v2: Some(root.clone()),
            ..Mounts::default()
        };
        let b = CgroupBackend::choose(CgroupChoice::Auto, &mounts).unwrap();
        let parent = root.join("hyperframes-local");
        assert_eq!(
            b,
            CgroupBackend::V2 {
                parent: parent.clone(),
                cpu: true
            }
        );
        let read = |f: PathBuf| std::fs::read_to_string(f).unwrap();
        assert_eq!(read(root.join("cgroup.subtree_control")), "+memory +cpu");
        assert_eq!(read(parent.join("cgroup.subtree_control")), "+memory +cpu");
        assert!(
            !gone.exists() && live.exists(),
            "only the dead service's cgroup is swept"
        );
        let cg = b.create("i1", 2048).unwrap().unwrap();
        let dir = parent.join("i1");
        assert_eq!(cg.dirs(), std::slice::from_ref(&dir));
        assert_eq!(read(dir.join("memory.max")), "2147483648");
        assert_eq!(read(dir.join("cpu.max")), "115772 100000");
        assert!(cg.needs_sampling(), "this directory has no memory.peak");
        // Without memory.peak: the largest memory.current sampled.
        for (now, peak) in [
            (300 << 20, 300 << 20),
            (500 << 20, 500 << 20),
            (100 << 20, 500 << 20),
        ] {
            std::fs::write(dir.join("memory.current"), format!("{now}\n")).unwrap();
            cg.sample();
            assert_eq!(cg.peak_bytes(), peak);
        }
        // A kernel with memory.peak: it is the figure.
        let big = b.create("i2", 10240).unwrap().unwrap();
        std::fs::write(parent.join("i2/memory.peak"), "734003200\n").unwrap();
        assert!(!big.needs_sampling());
        assert_eq!(big.peak_bytes(), 734_003_200);
        assert_eq!(read(parent.join("i2/cpu.max")), "578858 100000");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn v2_without_a_memory_controller_is_refused_with_what_it_offers() {
        // This machine's /sys/fs/cgroup/unified offers only hugetlb.
        let root = fake_v2("hugetlb", "hugetlb\n");
        let e = CgroupBackend::v2(&root).unwrap_err();
        assert!(
            format!("{e:#}").contains("no memory controller (it offers: hugetlb)"),
            "{e:#}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
