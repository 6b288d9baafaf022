//! Running external programs with a deadline.
//!
//! Every child is started in its own process group so a timeout or an error can
//! kill everything it forked (ffmpeg helpers, Chromium's zygote-less tree), and
//! is always waited for so no zombie or orphan outlives a stage.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::errors::{ProducerError, Result};

/// Output of a finished command.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn stderr_tail(&self) -> String {
        tail(&String::from_utf8_lossy(&self.stderr), 1500)
    }
}

/// Last `max` bytes of `s` (on a char boundary): ffmpeg puts the useful line last.
pub fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.trim().to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", s[start..].trim())
}

/// Puts the child in a fresh process group (pgid = its pid), and has the kernel
/// SIGKILL it if the spawning thread dies (a Ctrl-C'd `render` must not leave
/// browsers behind: its own group does not receive the terminal's SIGINT).
pub fn own_group(cmd: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe and touches only the child being exec'd.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            Ok(())
        });
    }
    cmd.process_group(0)
}

/// SIGKILLs the child's whole process group, then reaps the child.
pub fn kill_group(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: killpg only sends a signal; the group was created for this child.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child` until `deadline`; on timeout kills its group and returns None.
pub fn wait_deadline(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => {
                kill_group(child);
                return None;
            }
        }
        if Instant::now() >= deadline {
            kill_group(child);
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `cmd` to completion with captured stdout/stderr, killing it after `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration, what: &str) -> Result<Output> {
    own_group(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd.spawn().map_err(|e| spawn_error(&program, e))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = wait_deadline(&mut child, Instant::now() + timeout);
    // The group is dead or exited; the pipes close and the readers finish.
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => Err(ProducerError::Timeout(format!(
            "{what} ({program}) did not finish within {} s and was killed",
            timeout.as_secs()
        ))),
    }
}

/// Like [`run`] but a non-zero exit is an error built by `on_fail`.
pub fn run_ok(
    cmd: &mut Command,
    timeout: Duration,
    what: &str,
    on_fail: impl FnOnce(String) -> ProducerError,
) -> Result<Output> {
    let out = run(cmd, timeout, what)?;
    if !out.status.success() {
        return Err(on_fail(format!(
            "{what} exited with {}: {}",
            out.status,
            out.stderr_tail()
        )));
    }
    Ok(out)
}

/// A program that cannot be started. Missing, not executable or not a
/// binary for this machine is a broken installation (locally) or a broken
/// package (in the function): `TOOL_UNAVAILABLE`, which no retry fixes,
/// saying what to do. Anything else (out of memory, too many processes)
/// may pass and is `RENDER_FAILED`.
pub fn spawn_error(program: &str, e: std::io::Error) -> ProducerError {
    use std::io::ErrorKind;
    let broken = matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied)
        || e.raw_os_error() == Some(libc::ENOEXEC);
    if broken {
        ProducerError::ToolUnavailable(crate::runtime::missing_binary(
            "program",
            std::path::Path::new(program),
            &format!("cannot be started ({e})"),
        ))
    } else {
        ProducerError::RenderFailed(format!("could not start {program}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_kills_the_whole_group() {
        let started = Instant::now();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30"]);
        let err = run(&mut cmd, Duration::from_millis(300), "sleeper")
            .err()
            .expect("must time out");
        assert_eq!(err.name(), "RENDER_TIMEOUT");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_program_says_how_to_install() {
        let mut cmd = Command::new("definitely-not-a-real-tool-hf");
        let err = run(&mut cmd, Duration::from_secs(1), "x").err().unwrap();
        assert_eq!(err.name(), "TOOL_UNAVAILABLE");
        assert!(err.to_string().contains("apt-get install ffmpeg"), "{err}");
    }
}
