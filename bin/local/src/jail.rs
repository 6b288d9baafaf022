//! Runs a program the way Lambda runs `bootstrap`: inside the bare root
//! (read-only), with the package bound at `/var/task`, a tmpfs `/tmp`, a
//! fresh `/proc`, as the non-root function user, in its own mount, IPC and
//! PID namespaces.
//!
//! [`JailSpec::command`] builds the command for the `local-stack jail-init`
//! helper, a fresh single-threaded process that does the privileged steps
//! ([`init`]): it joins the instance's cgroups, unshares the namespaces and
//! forks PID 1 of the new PID namespace. As root it needs nothing more;
//! otherwise it first enters a new user namespace where the function user
//! is the caller's own uid (rootless), which the kernel allows when
//! unprivileged user namespaces are on ([`user_namespaces_work`]). PID 1 mounts,
//! chroots, starts the program as the function user and reaps every
//! orphan; when the program exits, PID 1 exits and the kernel kills
//! whatever the function left running. Killing the helper kills PID 1
//! (parent-death signal), so the service stops an instance with one kill.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::rootfs::{self, FUNCTION_GID, FUNCTION_UID};

/// One jailed program.
#[derive(Debug, Clone)]
pub struct JailSpec {
    /// The root built by [`rootfs::build`].
    pub root: PathBuf,
    /// The unzipped package, bound read-only at `/var/task`.
    pub task_dir: PathBuf,
    /// Size of the `/tmp` tmpfs (the function's EphemeralStorage).
    pub tmp_mb: u32,
    /// The instance's cgroup directories (one per v1 hierarchy, one for
    /// v2), joined before anything runs.
    pub cgroups: Vec<PathBuf>,
    /// Extra read-only binds (host dir, absolute path in the jail), like a
    /// layer under `/opt`.
    pub layers: Vec<(PathBuf, String)>,
    /// The program, as a path inside the jail.
    pub program: String,
}

impl JailSpec {
    /// The helper's command line: `<helper> jail-init <flags> -- <program>`.
    /// The caller sets the program's environment on the command (it is
    /// passed through unchanged).
    pub fn command(&self, helper: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(helper);
        cmd.arg("jail-init")
            .arg("--root")
            .arg(&self.root)
            .arg("--task")
            .arg(&self.task_dir)
            .arg("--tmp-mb")
            .arg(self.tmp_mb.to_string());
        for c in &self.cgroups {
            cmd.arg("--cgroup").arg(c);
        }
        for (host, at) in &self.layers {
            let mut v = OsString::from(host.as_os_str());
            v.push(":");
            v.push(at);
            cmd.arg("--layer").arg(v);
        }
        cmd.arg("--").arg(&self.program);
        cmd
    }
}

/// The `jail-init` subcommand: the arguments after it, the exit code of
/// the jailed program (126 when the jail could not be set up).
pub fn main(args: &[OsString]) -> std::process::ExitCode {
    match parse_args(args).and_then(|spec| init(&spec)) {
        Ok(c) => std::process::ExitCode::from(c.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("jail-init: {e:#}");
            std::process::ExitCode::from(126)
        }
    }
}

/// Parses the helper's arguments (after `jail-init`).
pub fn parse_args(args: &[OsString]) -> Result<JailSpec> {
    let mut spec = JailSpec {
        root: PathBuf::new(),
        task_dir: PathBuf::new(),
        tmp_mb: 512,
        cgroups: Vec::new(),
        layers: Vec::new(),
        program: String::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .context("a jail-init flag lacks its value")
        };
        match a.to_str() {
            Some("--root") => spec.root = value()?.into(),
            Some("--task") => spec.task_dir = value()?.into(),
            Some("--tmp-mb") => {
                spec.tmp_mb = value()?
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .context("--tmp-mb takes a number")?
            }
            Some("--cgroup") => spec.cgroups.push(value()?.into()),
            Some("--layer") => {
                let v = value()?;
                let s = v.to_str().context("--layer must be UTF-8")?;
                let (host, at) = s.rsplit_once(':').context("--layer takes HOST:PATH")?;
                spec.layers.push((host.into(), at.into()));
            }
            Some("--") => {
                spec.program = it
                    .next()
                    .and_then(|p| p.to_str())
                    .context("jail-init needs a program after --")?
                    .into();
                break;
            }
            _ => bail!("unknown jail-init argument {a:?}"),
        }
    }
    if spec.root.as_os_str().is_empty() || spec.task_dir.as_os_str().is_empty() {
        bail!("jail-init needs --root and --task");
    }
    Ok(spec)
}

fn cstr(p: impl AsRef<std::ffi::OsStr>) -> Result<CString> {
    CString::new(p.as_ref().as_bytes()).context("a path contains a NUL byte")
}

fn check(what: &str, rc: libc::c_int) -> Result<()> {
    if rc == -1 {
        bail!("{what}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Everything PID 1 needs, as C strings prepared before any fork.
struct Prepared {
    mounts: Vec<Mount>,
    root: CString,
    program: CString,
    argv: [*const libc::c_char; 2],
    /// In a user namespace, `setgroups` is denied (and there is no
    /// supplementary group to drop).
    rootless: bool,
}

struct Mount {
    source: CString,
    target: CString,
    fstype: Option<CString>,
    flags: libc::c_ulong,
    data: Option<CString>,
}

impl Mount {
    fn apply(&self) -> Result<()> {
        let rc = unsafe {
            libc::mount(
                self.source.as_ptr(),
                self.target.as_ptr(),
                self.fstype
                    .as_ref()
                    .map_or(std::ptr::null(), |f| f.as_ptr()),
                self.flags,
                self.data
                    .as_ref()
                    .map_or(std::ptr::null(), |d| d.as_ptr().cast()),
            )
        };
        check(&format!("mount {:?} on {:?}", self.source, self.target), rc)
    }
}

fn prepare(spec: &JailSpec) -> Result<Prepared> {
    let r = &spec.root;
    let bind = |src: &Path, at: &Path| -> Result<Mount> {
        Ok(Mount {
            source: cstr(src)?,
            target: cstr(at)?,
            fstype: None,
            flags: libc::MS_BIND | libc::MS_REC,
            data: None,
        })
    };
    let remount_ro = |at: &Path| -> Result<Mount> {
        Ok(Mount {
            source: cstr("none")?,
            target: cstr(at)?,
            fstype: None,
            flags: libc::MS_REMOUNT
                | libc::MS_BIND
                | libc::MS_RDONLY
                | libc::MS_NOSUID
                | libc::MS_NODEV,
            data: None,
        })
    };
    let mut mounts = vec![
        // Nothing mounted here leaks to the host, and nothing from the
        // host propagates in.
        Mount {
            source: cstr("none")?,
            target: cstr("/")?,
            fstype: None,
            flags: libc::MS_REC | libc::MS_PRIVATE,
            data: None,
        },
        bind(r, r)?,
        bind(&spec.task_dir, &r.join("var/task"))?,
        remount_ro(&r.join("var/task"))?,
        Mount {
            source: cstr("tmpfs")?,
            target: cstr(r.join("tmp"))?,
            fstype: Some(cstr("tmpfs")?),
            flags: libc::MS_NOSUID | libc::MS_NODEV,
            data: Some(cstr(format!("size={}m,mode=1777", spec.tmp_mb))?),
        },
        Mount {
            source: cstr("proc")?,
            target: cstr(r.join("proc"))?,
            fstype: Some(cstr("proc")?),
            flags: libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            data: None,
        },
    ];
    for d in rootfs::DEVICES {
        mounts.push(bind(&Path::new("/dev").join(d), &r.join("dev").join(d))?);
    }
    for (host, at) in &spec.layers {
        let target = r.join(at.trim_start_matches('/'));
        mounts.push(bind(host, &target)?);
        mounts.push(remount_ro(&target)?);
    }
    mounts.push(remount_ro(r)?);
    let program = cstr(&spec.program)?;
    let mut p = Prepared {
        mounts,
        root: cstr(r)?,
        program,
        argv: [std::ptr::null(), std::ptr::null()],
        rootless: unsafe { libc::geteuid() } != 0,
    };
    p.argv[0] = p.program.as_ptr();
    Ok(p)
}

/// The helper's body. Returns the exit code to leave with.
pub fn init(spec: &JailSpec) -> Result<i32> {
    for (host, at) in &spec.layers {
        let target = spec.root.join(at.trim_start_matches('/'));
        if !target.is_dir() {
            bail!(
                "layer {} needs the empty directory {} in the jail root",
                host.display(),
                target.display()
            );
        }
    }
    for cg in &spec.cgroups {
        std::fs::write(cg.join("cgroup.procs"), std::process::id().to_string())
            .with_context(|| format!("cannot join the cgroup {}", cg.display()))?;
    }
    let prepared = prepare(spec)?;
    if prepared.rootless {
        UserNamespace::new().enter().map_err(|(what, e)| {
            anyhow::anyhow!("{what}: {}", std::io::Error::from_raw_os_error(e))
        })?;
    }
    let flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWIPC;
    check("unshare the mount, PID and IPC namespaces", unsafe {
        libc::unshare(flags)
    })?;
    let pid = unsafe { libc::fork() };
    check("fork", pid)?;
    if pid == 0 {
        // PID 1 of the new namespace.
        let code = match pid1(&prepared) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("jail: {e:#}");
                126
            }
        };
        unsafe { libc::_exit(code) };
    }
    Ok(wait_exit(pid))
}

/// Without root: a new user namespace in which the caller's uid and gid
/// are the function user's, and which gives this process the capabilities
/// the jail needs (mount, chroot) over the namespaces it creates next, and
/// nothing outside them. The function user is the only uid mapped, so the
/// program cannot become anyone else.
struct UserNamespace {
    /// (file under /proc/self, what to write), prepared before any fork:
    /// [`UserNamespace::enter`] only makes system calls.
    writes: [(CString, CString); 3],
}

impl UserNamespace {
    fn new() -> UserNamespace {
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let c = |s: String| CString::new(s).unwrap_or_default();
        UserNamespace {
            writes: [
                (c("/proc/self/setgroups".into()), c("deny".into())),
                (
                    c("/proc/self/uid_map".into()),
                    c(format!("{FUNCTION_UID} {uid} 1")),
                ),
                (
                    c("/proc/self/gid_map".into()),
                    c(format!("{FUNCTION_GID} {gid} 1")),
                ),
            ],
        }
    }

    /// Safe after a fork in a threaded process: no allocation. The error
    /// is what failed and its errno.
    fn enter(&self) -> Result<(), (&'static str, i32)> {
        let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
            return Err((
                "unshare a user namespace (without root, the jail needs unprivileged user namespaces)",
                errno(),
            ));
        }
        for (file, text) in &self.writes {
            let fd = unsafe { libc::open(file.as_ptr(), libc::O_WRONLY) };
            let n = text.as_bytes().len();
            let wrote =
                fd >= 0 && unsafe { libc::write(fd, text.as_ptr().cast(), n) } == n as isize;
            let e = errno();
            if fd >= 0 {
                unsafe { libc::close(fd) };
            }
            if !wrote {
                return Err(("write the user namespace's uid and gid maps", e));
            }
        }
        Ok(())
    }
}

/// Whether this process could build the jail without root: a forked child
/// tries to enter a user namespace and, in it, new mount and PID
/// namespaces.
pub fn user_namespaces_work() -> bool {
    let userns = UserNamespace::new();
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = userns.enter().is_ok()
            && unsafe { libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWPID) } == 0;
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    pid > 0 && wait_exit(pid) == 0
}

/// The exit code of `pid` as a shell reports it (128 + signal).
fn wait_exit(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    loop {
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        if rc == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 125;
        }
    }
    code_of(status)
}

fn code_of(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

fn pid1(p: &Prepared) -> Result<i32> {
    // Die with the helper, so one kill from the service ends the instance.
    // (getppid() is 0 here: the parent is outside the namespace.)
    check("prctl", unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong)
    })?;
    for m in &p.mounts {
        m.apply()?;
    }
    check("chroot", unsafe { libc::chroot(p.root.as_ptr()) })?;
    let task = cstr("/var/task")?;
    check("chdir /var/task", unsafe { libc::chdir(task.as_ptr()) })?;
    let child = unsafe { libc::fork() };
    check("fork", child)?;
    if child == 0 {
        unsafe {
            if (!p.rootless && libc::setgroups(0, std::ptr::null()) != 0)
                || libc::setgid(FUNCTION_GID) != 0
                || libc::setuid(FUNCTION_UID) != 0
            {
                libc::_exit(126);
            }
            extern "C" {
                static environ: *const *const libc::c_char;
            }
            libc::execve(p.program.as_ptr(), p.argv.as_ptr(), environ);
            // Lambda reports a missing or unrunnable bootstrap as
            // Runtime.InvalidEntrypoint; 127 tells the service so.
            libc::_exit(127);
        }
    }
    // Reap everything until the program itself exits.
    loop {
        let mut status = 0;
        let rc = unsafe { libc::waitpid(-1, &mut status, 0) };
        if rc == child {
            return Ok(code_of(status));
        }
        if rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
            return Ok(125);
        }
    }
}
