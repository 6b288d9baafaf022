//! What a soak may leave behind on the machine, measured before and after:
//! processes (every instance process descends from this one: the helper,
//! the jail's PID 1 and what the function started), mounts of the jails,
//! `/tmp` space, and work directories inside warm instances' `/tmp`.

use std::path::Path;

/// This process's descendants: (pid, command name).
pub fn descendants() -> Vec<(i32, String)> {
    let procs: Vec<(i32, i32, String)> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| {
                let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let (head, tail) = stat.rsplit_once(')')?;
                let comm = head.split_once('(')?.1.to_string();
                let ppid = tail.split_whitespace().nth(1)?.parse().ok()?;
                Some((pid, ppid, comm))
            })
            .collect()
        })
        .unwrap_or_default();
    let mut family = vec![(std::process::id() as i32, String::new())];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i].0;
        family.extend(
            procs
                .iter()
                .filter(|(_, ppid, _)| *ppid == parent)
                .map(|(pid, _, comm)| (*pid, comm.clone())),
        );
        i += 1;
    }
    family.remove(0);
    family
}

/// Mounts in this process's namespace that name the stack's state
/// directory (a jail's root, `/var/task`, a layer).
pub fn jail_mounts(state_dir: &Path) -> Vec<String> {
    let needle = state_dir.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_string)
        .collect()
}

/// Bytes the files under the host's `/tmp` hold (not the filesystem's
/// use: `/tmp` may share it with everything else on the machine).
pub fn tmp_bytes() -> u64 {
    size_of(Path::new("/tmp"), 0)
}

/// Entries in the host's `/tmp` named for this process (the stack's
/// cgroup probes and fallbacks use `hf-*-<pid>`).
pub fn tmp_entries_of_this_process() -> Vec<String> {
    let pid = format!("-{}", std::process::id());
    std::fs::read_dir("/tmp")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(&pid) || n.contains(&format!("{pid}-")))
                .collect()
        })
        .unwrap_or_default()
}

/// `/tmp` inside the warm instances: how many, what it holds in bytes,
/// and the per-invocation work directories (`hf-plan-*`, `hf-chunk-*`,
/// `hf-assemble-*`) an ended invocation left there.
#[derive(Debug, Default)]
pub struct InstanceTmp {
    pub instances: usize,
    pub bytes: u64,
    pub work_dirs: Vec<String>,
}

pub fn instance_tmp() -> InstanceTmp {
    let mut t = InstanceTmp::default();
    for (pid, comm) in descendants() {
        if comm != "bootstrap" {
            continue;
        }
        let tmp = Path::new("/proc").join(pid.to_string()).join("root/tmp");
        let Ok(entries) = std::fs::read_dir(&tmp) else {
            continue;
        };
        t.instances += 1;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if ["hf-plan-", "hf-chunk-", "hf-assemble-"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                t.work_dirs.push(format!("{pid}:/tmp/{name}"));
            }
            t.bytes += size_of(&e.path(), 0);
        }
    }
    t
}

fn size_of(p: &Path, depth: u32) -> u64 {
    let Ok(m) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if !m.is_dir() || depth > 32 {
        return m.len();
    }
    std::fs::read_dir(p)
        .map(|d| d.flatten().map(|e| size_of(&e.path(), depth + 1)).sum())
        .unwrap_or(0)
}

/// Instances whose processes outlived their stop, as the Lambda service
/// logs it.
pub fn unreleased_instances(function_log: &str) -> usize {
    function_log
        .lines()
        .filter(|l| l.contains("every process in it ended: false"))
        .count()
}
