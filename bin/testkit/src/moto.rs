//! The one moto launcher: the server that stands in for S3, STS and
//! CloudFormation in the local stack ([`Moto::launch`]) and in the tests
//! ([`Moto::start`], one per test on a free port, with a failure that says
//! how to install moto when it is missing).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
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
    pub port: u16,
    /// moto's own output.
    pub log: PathBuf,
    pid: libc::pid_t,
    exited: Arc<OnceLock<ExitStatus>>,
    keeper: Option<JoinHandle<()>>,
}

impl Moto {
    /// Starts moto on `port` (0 = any free one) and waits until it answers
    /// (blocking: an async caller runs it on a blocking thread).
    pub fn launch(exe: &Path, log_dir: &Path, port: u16) -> Result<Moto> {
        let port = if port == 0 {
            std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port()
        } else {
            port
        };
        std::fs::create_dir_all(log_dir)?;
        let log_path = log_dir.join(format!("moto-{port}.log"));
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = Command::new(exe);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let moto = Self::spawn_kept(cmd, port, log_path.clone())
            .with_context(|| format!("cannot start {}", exe.display()))?;
        // A generous bound for a cold Python import on a loaded 2-core
        // machine; it only matters when the server cannot start at all.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = moto.exited.get() {
                bail!(
                    "moto_server exited ({status}) before answering; log:\n{}",
                    moto.log_text()
                );
            }
            if moto.get("/moto-api/").is_some() {
                return Ok(moto);
            }
            if Instant::now() > deadline {
                bail!(
                    "moto_server on port {port} did not answer in 90 s; log:\n{}",
                    moto.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A fresh server for one test, on a free port; a missing or broken
    /// moto fails the test and says how to install it.
    pub fn start(log_dir: &Path) -> Moto {
        let exe = moto_server();
        Moto::launch(&exe, log_dir, 0).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// A plain HTTP GET; `None` while the server is not listening yet.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        Some(body)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn spawn_kept(mut cmd: Command, port: u16, log: PathBuf) -> Result<Moto> {
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
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            log,
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

impl Moto {
    /// Environment for a program that talks to this server with the AWS
    /// SDK's standard chain: fixed credentials, one region, no profile
    /// files and no instance metadata, so nothing reaches real AWS.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials".into(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Applies [`Moto::aws_env`] to a command and removes variables that
    /// would redirect it (a developer's own profile or session token).
    pub fn configure(&self, cmd: &mut Command) {
        for k in [
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in self.aws_env() {
            cmd.env(k, v);
        }
    }
}

impl Moto {
    /// An S3 client for this server: fixed test credentials, path-style
    /// addressing (one host serves every bucket).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        self.s3_client_via(&self.endpoint)
    }

    /// The same client sent through `endpoint` instead, a proxy in front
    /// of this server (e.g. a [`crate::fault_proxy::FaultProxy`]).
    pub fn s3_client_via(&self, endpoint: &str) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .http_client(hyperframes_cli::aws::https_client())
                .endpoint_url(endpoint)
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
                .force_path_style(true)
                .build(),
        )
    }
}

/// The moto_server executable, or a failure that says how to get it.
pub fn moto_server() -> PathBuf {
    let tools = crate::tools_dir();
    let exe = tools.join("venv").join("bin").join("moto_server");
    if !exe.is_file() {
        panic!(
            "moto_server not found at {}.\nInstall it with `scripts/test.sh --install-only` \
             (creates .tools/venv with moto[server]), or: python3 -m venv .tools/venv && \
             .tools/venv/bin/pip install 'moto[server]==5.2.5'",
            exe.display()
        );
    }
    exe
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
