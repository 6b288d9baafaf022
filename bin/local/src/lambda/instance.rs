//! One execution environment: a jailed `bootstrap`, its Runtime API, its
//! memory cgroup and its log lines.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::oneshot;

use super::runtime_api::{Delivery, Init, Outcome, RuntimeApi};
use super::{Function, Shared};
use crate::jail::JailSpec;

/// Where the instance's cgroups go (cgroup v1 memory controller).
const CGROUP_ROOT: &str = "/sys/fs/cgroup/memory/hyperframes-local";

/// How a started instance ended its start-up.
pub enum InitEnd {
    Ready(Duration),
    /// `init/error`: (errorType, body).
    Failed(String, bytes::Bytes),
    /// The process exited before asking for an event (its exit code).
    Exited(i32),
    TimedOut,
}

/// How one invocation ended.
pub enum RunEnd {
    Done(Outcome),
    TimedOut,
    /// The runtime process exited mid-invocation (its exit code).
    Exited(i32),
}

pub struct Instance {
    /// The CloudWatch-style log stream name.
    pub stream: String,
    pub started: Instant,
    child: Child,
    api: RuntimeApi,
    cgroup: Option<PathBuf>,
    pub invocations: u32,
}

impl Instance {
    /// Starts a jailed `bootstrap` for `f`.
    pub async fn start(shared: &Shared, f: &Function, id: u64) -> Result<Instance> {
        let api = RuntimeApi::start()
            .await
            .context("cannot open a Runtime API port on 127.0.0.1")?;
        let cgroup = cgroup(id, f.spec.memory_mb);
        let spec = JailSpec {
            root: shared.config.rootfs.clone(),
            task_dir: f.spec.task_dir.clone(),
            tmp_mb: f.spec.ephemeral_mb,
            cgroup: cgroup.clone(),
            layers: f.spec.layers.clone(),
            program: "/var/task/bootstrap".into(),
        };
        let stream = log_stream(id);
        let mut cmd = spec.command(&shared.config.helper);
        cmd.env_clear()
            .envs(super::environment(shared, f, &api.addr, &stream))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| {
            format!(
                "cannot start the jail helper {}",
                shared.config.helper.display()
            )
        })?;
        let prefix = format!("[{}]", short_stream(&stream));
        if let Some(out) = child.stdout.take() {
            pipe_lines(shared, &f.spec.name, prefix.clone(), out);
        }
        if let Some(err) = child.stderr.take() {
            pipe_lines(shared, &f.spec.name, prefix, err);
        }
        Ok(Instance {
            stream,
            started: Instant::now(),
            child,
            api,
            cgroup,
            invocations: 0,
        })
    }

    /// Waits until the runtime asks for its first event.
    pub async fn wait_ready(&mut self, limit: Duration) -> InitEnd {
        let mut init = self.api.init.clone();
        let waited = tokio::time::timeout(limit, async {
            loop {
                match init.borrow_and_update().clone() {
                    Init::Ready => return InitEnd::Ready(self.started.elapsed()),
                    Init::Failed(t, b) => return InitEnd::Failed(t, b),
                    Init::Starting => {}
                }
                tokio::select! {
                    changed = init.changed() => if changed.is_err() { return InitEnd::Exited(125) },
                    status = self.child.wait() => {
                        // A runtime that posted init/error and exited may
                        // be seen exiting first: its report still wins.
                        if let Init::Failed(t, b) = init.borrow().clone() {
                            return InitEnd::Failed(t, b);
                        }
                        return InitEnd::Exited(status.ok().and_then(|s| s.code()).unwrap_or(125));
                    }
                }
            }
        })
        .await;
        waited.unwrap_or(InitEnd::TimedOut)
    }

    /// Hands `event` to the runtime and waits for its answer, at most `limit`.
    pub async fn run(
        &mut self,
        request_id: &str,
        event: bytes::Bytes,
        function_arn: &str,
        limit: Duration,
    ) -> RunEnd {
        self.invocations += 1;
        let (reply, answer) = oneshot::channel();
        let deadline_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + limit.as_millis();
        let delivery = Delivery {
            request_id: request_id.to_string(),
            event,
            deadline_ms,
            function_arn: function_arn.to_string(),
            reply,
        };
        if self.api.deliver.send(delivery).await.is_err() {
            return RunEnd::Exited(125);
        }
        tokio::select! {
            a = answer => match a {
                Ok(o) => RunEnd::Done(o),
                Err(_) => RunEnd::Exited(125),
            },
            status = self.child.wait() => RunEnd::Exited(status.ok().and_then(|s| s.code()).unwrap_or(125)),
            _ = tokio::time::sleep(limit) => RunEnd::TimedOut,
        }
    }

    /// The instance's peak memory so far (MB), from its cgroup.
    pub fn max_memory_mb(&self) -> u64 {
        self.cgroup
            .as_ref()
            .and_then(|c| std::fs::read_to_string(c.join("memory.max_usage_in_bytes")).ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map_or(0, |b| b.div_ceil(1024 * 1024))
    }

    /// Stops the environment: the helper dies, so does PID 1, and the
    /// kernel kills everything else in the PID namespace. Returns whether
    /// its cgroup emptied (every process ended) and was removed.
    pub async fn kill(mut self) -> bool {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        match self.cgroup.take() {
            Some(c) => remove_cgroup(&c).await,
            None => false,
        }
    }
}

/// The instance's cgroup with the function's memory as its limit, or
/// `None` (and no Max Memory Used) where the memory controller is absent.
fn cgroup(id: u64, memory_mb: u32) -> Option<PathBuf> {
    let dir = Path::new(CGROUP_ROOT).join(format!("{}-{id}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let limit = u64::from(memory_mb) * 1024 * 1024;
    std::fs::write(dir.join("memory.limit_in_bytes"), limit.to_string()).ok()?;
    Some(dir)
}

/// A cgroup can only be removed once no process is left in it.
async fn remove_cgroup(dir: &Path) -> bool {
    for _ in 0..50 {
        if std::fs::remove_dir(dir).is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn log_stream(id: u64) -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}/{:02}/{:02}/[$LATEST]{:016x}{:016x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        u64::from(std::process::id()),
        id
    )
}

fn short_stream(stream: &str) -> &str {
    stream
        .rsplit(']')
        .next()
        .map_or(stream, |s| &s[s.len().saturating_sub(6)..])
}

fn pipe_lines(
    shared: &Shared,
    function: &str,
    prefix: String,
    from: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) {
    let log = shared.log.clone();
    let function = function.to_string();
    tokio::spawn(async move {
        let mut lines = BufReader::new(from).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.function_line(&function, &format!("{prefix} {line}"));
        }
    });
}
