//! The moto server that stands in for S3 and STS in the local stack.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// A running `moto_server`, owned by a thread that does nothing but wait for it.
///
/// moto must end with the process that started it, even when the stack is
/// held in a static and never dropped (the tests'). The kernel's
/// parent-death signal does that, but it fires when the *thread* that
/// forked the child ends, not the process: spawned from a test's thread or a
/// runtime worker, moto died with that thread and the next test found
/// nothing on the port. A keeper thread that lives exactly as long as moto
/// makes the signal mean "this process ended".
pub struct Moto {
    pub endpoint: String,
    pid: libc::pid_t,
    exited: Arc<OnceLock<ExitStatus>>,
    keeper: Option<JoinHandle<()>>,
}

impl Moto {
    /// Starts moto on `port` (0 = any free one) and waits until it answers.
    pub async fn start(exe: &Path, log_dir: &Path, port: u16) -> Result<Moto> {
        let port = if port == 0 {
            std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port()
        } else {
            port
        };
        std::fs::create_dir_all(log_dir)?;
        let log_path = log_dir.join("moto.log");
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = Command::new(exe);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Self::spawn_kept(cmd, endpoint)
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = moto.exited.get() {
                bail!(
                    "moto_server exited ({status}) before answering; see {}",
                    log_path.display()
                );
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(moto);
            }
            if Instant::now() > deadline {
                bail!(
                    "moto_server on port {port} did not answer in 90 s; see {}",
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn spawn_kept(mut cmd: Command, endpoint: String) -> Result<Moto> {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                Ok(())
            });
        }
        let exited = Arc::new(OnceLock::new());
        let (tx, rx) = mpsc::channel();
        let keeper = {
            let exited = exited.clone();
            std::thread::Builder::new()
                .name("moto-keeper".into())
                .spawn(move || {
                    let mut child = match cmd.spawn() {
                        Ok(child) => child,
                        Err(e) => return drop(tx.send(Err(e))),
                    };
                    let _ = tx.send(Ok(child.id()));
                    if let Ok(status) = child.wait() {
                        let _ = exited.set(status);
                    }
                })?
        };
        let pid = rx
            .recv()
            .map_err(|_| anyhow!("the moto keeper thread ended before spawning"))??;
        Ok(Moto {
            endpoint,
            pid: pid as libc::pid_t,
            exited,
            keeper: Some(keeper),
        })
    }

    /// Kills moto and waits until it is reaped.
    pub fn stop(&mut self) {
        let Some(keeper) = self.keeper.take() else {
            return;
        };
        // A child already reaped is not signalled: its pid may be another's now.
        if self.exited.get().is_none() {
            // SAFETY: kill has no memory effects.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
        let _ = keeper.join();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
