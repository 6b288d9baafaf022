//! One execution environment: a jailed `bootstrap`, its Runtime API, its
//! cgroup (or, without one, its processes' resident memory) and its log
//! lines.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::oneshot;

use super::memory::{Memory, Processes};
use super::runtime_api::{Delivery, Init, Outcome, RuntimeApi};
use super::{Function, Shared};
use crate::jail::JailSpec;

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

/// An injected fault that changes how a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Twist {
    None,
    /// The answer does not count; the instance times out.
    Overrun,
    /// The runtime is killed (SIGKILL) this long in, or when it answers
    /// if that is sooner.
    KillAfter(Duration),
}

/// What ended the wait for an answer.
enum Waited {
    Answer(Result<Outcome, oneshot::error::RecvError>),
    Exit(i32),
    Limit,
    Kill,
}

pub struct Instance {
    /// The CloudWatch-style log stream name.
    pub stream: String,
    pub started: Instant,
    child: Child,
    api: RuntimeApi,
    memory: Memory,
    sampler: Option<tokio::task::JoinHandle<()>>,
    /// The tasks copying the runtime's stdout and stderr into the log.
    output: Vec<tokio::task::JoinHandle<()>>,
    pub invocations: u32,
}

/// A name for an instance's cgroup, unique on the host: the process id
/// (the sweep removes the cgroups of processes that are gone) and a
/// process-wide sequence. An instance id is only unique within its
/// service, and one process may run several services (the tests do), whose
/// first instances would otherwise both be `<pid>-1`.
fn cgroup_name() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

impl Instance {
    /// Starts a jailed `bootstrap` for `f`.
    pub async fn start(shared: &Shared, f: &Function, id: u64) -> Result<Instance> {
        let api = RuntimeApi::start()
            .await
            .context("cannot open a Runtime API port on 127.0.0.1")?;
        let cgroup = shared
            .config
            .cgroups
            .create(&cgroup_name(), f.spec.memory_mb)?
            .map(Arc::new);
        let spec = JailSpec {
            root: shared.config.rootfs.clone(),
            task_dir: f.spec.task_dir.clone(),
            tmp_mb: f.spec.ephemeral_mb,
            cgroups: cgroup.iter().flat_map(|c| c.dirs().to_vec()).collect(),
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
        let spawned = cmd.spawn().with_context(|| {
            format!(
                "cannot start the jail helper {}",
                shared.config.helper.display()
            )
        });
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                if let Some(c) = &cgroup {
                    c.remove();
                }
                return Err(e);
            }
        };
        let memory = match cgroup {
            Some(c) => Memory::Cgroup(c),
            None => Memory::Unenforced(Arc::new(Processes::new(child.id().unwrap_or(0)))),
        };
        let sampler = memory.sampler();
        let prefix = format!("[{}]", short_stream(&stream));
        let mut output = Vec::new();
        if let Some(out) = child.stdout.take() {
            output.push(pipe_lines(shared, &f.spec.name, prefix.clone(), out));
        }
        if let Some(err) = child.stderr.take() {
            output.push(pipe_lines(shared, &f.spec.name, prefix, err));
        }
        Ok(Instance {
            stream,
            started: Instant::now(),
            child,
            api,
            memory,
            sampler,
            output,
            invocations: 0,
        })
    }

    /// Once the runtime has exited: waits (at most `within`, since a
    /// process it left behind may hold the pipes) until what it printed is
    /// in the log, so its last lines come before END and REPORT, as in
    /// CloudWatch, and a reader of the log after the invocation sees them.
    pub async fn drain_output(&mut self, within: Duration) {
        let copies = std::mem::take(&mut self.output);
        let _ = tokio::time::timeout(within, async {
            for c in copies {
                let _ = c.await;
            }
        })
        .await;
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
        twist: Twist,
    ) -> RunEnd {
        let started = tokio::time::Instant::now();
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
        let kill_at = match twist {
            Twist::KillAfter(d) => Some(started + d),
            _ => None,
        };
        let waited = tokio::select! {
            a = answer => Waited::Answer(a),
            status = self.child.wait() => Waited::Exit(status.ok().and_then(|s| s.code()).unwrap_or(125)),
            _ = tokio::time::sleep(limit) => Waited::Limit,
            _ = tokio::time::sleep_until(kill_at.unwrap_or(started)), if kill_at.is_some() => Waited::Kill,
        };
        match (waited, twist) {
            // An injected overrun: the answer does not count; the
            // instance is killed at its deadline as Lambda would.
            (Waited::Answer(Ok(_)), Twist::Overrun) => {
                tokio::time::sleep_until(started + limit).await;
                RunEnd::TimedOut
            }
            (Waited::Answer(Ok(_)), Twist::KillAfter(_)) | (Waited::Kill, _) => {
                self.kill_runtime().await
            }
            (Waited::Answer(Ok(o)), _) => RunEnd::Done(o),
            (Waited::Answer(Err(_)), _) => RunEnd::Exited(125),
            (Waited::Exit(code), _) => RunEnd::Exited(code),
            (Waited::Limit, _) => RunEnd::TimedOut,
        }
    }

    /// An injected crash: SIGKILL to the runtime process (found among the
    /// helper's descendants), then its exit as the jail reports it.
    async fn kill_runtime(&mut self) -> RunEnd {
        match self.child.id().and_then(runtime_pid) {
            // SAFETY: kill has no memory effects.
            Some(pid) => unsafe {
                libc::kill(pid, libc::SIGKILL);
            },
            None => {
                let _ = self.child.start_kill();
            }
        }
        let status = self.child.wait().await;
        RunEnd::Exited(status.ok().and_then(|s| s.code()).unwrap_or(125))
    }

    /// The instance's peak memory so far (MB).
    pub fn max_memory_mb(&self) -> u64 {
        self.memory.max_mb()
    }

    /// Whether the memory limit is enforced (a cgroup holds the instance).
    pub fn memory_enforced(&self) -> bool {
        self.memory.enforced()
    }

    /// Stops the environment: the helper dies, so does PID 1, and the
    /// kernel kills everything else in the PID namespace. Returns whether
    /// every process ended (its cgroup emptied and was removed, or, without
    /// one, none is left in its PID namespace).
    pub async fn kill(mut self) -> bool {
        // Without a cgroup, this also learns the jail's PID namespace, the
        // check below looks for.
        let _ = self.memory.max_mb();
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        if let Some(s) = self.sampler.take() {
            s.abort();
        }
        self.memory.released().await
    }
}

/// The sampler ends with the instance, however it goes.
impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(s) = self.sampler.take() {
            s.abort();
        }
    }
}

/// The jailed `bootstrap` among `helper`'s descendants (the helper forks
/// the jail's PID 1, which forks the program).
fn runtime_pid(helper: u32) -> Option<i32> {
    let procs: Vec<(i32, i32, String)> = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| {
            let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces.
            let (head, tail) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_string();
            let ppid = tail.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid, comm))
        })
        .collect();
    let mut family = vec![helper as i32];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        for (pid, ppid, comm) in &procs {
            if *ppid == parent {
                if comm == "bootstrap" {
                    return Some(*pid);
                }
                family.push(*pid);
            }
        }
        i += 1;
    }
    None
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
) -> tokio::task::JoinHandle<()> {
    let log = shared.log.clone();
    let function = function.to_string();
    tokio::spawn(async move {
        let mut lines = BufReader::new(from).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.function_line(&function, &format!("{prefix} {line}"));
        }
    })
}

#[cfg(test)]
mod cgroup_name_tests {
    #[test]
    fn cgroup_names_are_unique_across_the_services_of_one_process() {
        let (a, b) = (super::cgroup_name(), super::cgroup_name());
        assert_ne!(a, b);
        for n in [&a, &b] {
            assert!(n.starts_with(&format!("{}-", std::process::id())), "{n}");
        }
    }
}
