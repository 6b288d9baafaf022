//! A local Lambda service on loopback: the Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`) backed by jailed
//! `bootstrap` processes, each on its own Runtime API port.
//!
//! As on Lambda: a warm instance is reused; a new one starts (cold, with
//! its init timed) when none is free, up to the account's concurrency (and
//! the function's reserved concurrency, when set), beyond which a
//! synchronous invocation is throttled with a 429 `TooManyRequestsException`
//! as on Lambda ([`concurrency`]); the workflow's Retry waits it out. The
//! function's Timeout
//! is enforced by killing the instance; function errors come back as
//! `200` + `X-Amz-Function-Error: Unhandled`; every invocation gets START,
//! END and REPORT lines in the function's log and one JSON record in
//! `invocations.jsonl`.

mod concurrency;
mod instance;
mod log;
mod memory;
pub use hyperframes_testkit::runtime_api;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::cgroup::CgroupBackend;
use crate::http::{self, Req, Resp};
pub use concurrency::Throttle;
use instance::{InitEnd, Instance, RunEnd};
pub use log::{Log, Record};

/// Lambda's limit on a synchronous request payload (6 MB).
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

/// One function, as the template declares it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// EphemeralStorage, the size of `/tmp`.
    pub ephemeral_mb: u32,
    /// The function's own Environment.Variables.
    pub environment: Vec<(String, String)>,
    /// The unzipped package (`/var/task`).
    pub task_dir: PathBuf,
    /// Read-only directories bound into the jail, e.g. `/opt/...`.
    pub layers: Vec<(PathBuf, String)>,
}

/// The service's settings.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    pub rootfs: PathBuf,
    /// The executable whose `jail-init` subcommand starts an instance.
    pub helper: PathBuf,
    pub region: String,
    pub account: String,
    /// Credentials handed to the function (moto accepts any).
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Where the function's AWS SDK calls go (moto), as `AWS_ENDPOINT_URL`.
    pub aws_endpoint: Option<String>,
    /// Most instances running at once: the account's concurrency, as
    /// `GetAccountSettings` reports it; more synchronous invocations at
    /// once are throttled.
    pub concurrency: usize,
    pub log_dir: PathBuf,
    /// Also print START/END/REPORT lines on stderr.
    pub echo_reports: bool,
    /// Where each instance's memory limit, CPU quota and Max Memory Used
    /// come from.
    pub cgroups: CgroupBackend,
    /// Keep an instance for the next invocation (Lambda's warm start).
    /// Off, every invocation starts a fresh one and pays its cold start,
    /// as each chunk of a wide render does on Lambda when all of them
    /// start at once, even where this machine runs them one at a time.
    pub reuse_instances: bool,
}

/// A test-only fault: the next `times` invocations whose event has
/// `Action == action` and contains `matching` are changed.
#[derive(Debug, Clone)]
pub struct Fault {
    pub action: String,
    pub matching: String,
    pub times: u32,
    pub kind: FaultKind,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// The service answers with this function error instead of running it.
    FunctionError { error_type: String, message: String },
    /// The invocation runs past this timeout: it is killed when the time is
    /// up, and an answer that comes earlier is held back until then, so the
    /// fault fires however fast the invocation would have been.
    Timeout(Duration),
    /// The runtime process is killed with SIGKILL this long into the
    /// invocation, as a crash or an out-of-memory kill would end it; an
    /// answer that comes earlier is dropped and the kill happens then, so
    /// the fault fires however fast the invocation is.
    Kill(Duration),
}

pub(crate) struct Function {
    pub spec: FunctionSpec,
    pub arn: String,
    idle: Mutex<Vec<Instance>>,
}

pub(crate) struct Shared {
    pub config: LambdaConfig,
    /// Replaced whole by [`LambdaService::update_function`].
    functions: RwLock<HashMap<String, Arc<Function>>>,
    permits: Arc<Semaphore>,
    /// Reserved concurrency by function name (`PutFunctionConcurrency`).
    reserved: Mutex<concurrency::Reserved>,
    /// Invocations holding a slot, by function name.
    busy: Mutex<HashMap<String, usize>>,
    next_instance: AtomicU64,
    next_request: AtomicU64,
    faults: Mutex<Vec<Fault>>,
    /// Request id -> event of each invocation an instance is running.
    running: Mutex<HashMap<String, Value>>,
    pub log: Arc<Log>,
}

/// The running service.
pub struct LambdaService {
    shared: Arc<Shared>,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    server: JoinHandle<()>,
}

/// What the Invoke API answers.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub request_id: String,
    /// `Some("Unhandled")` for a function error.
    pub function_error: Option<&'static str>,
    pub payload: Bytes,
}

impl LambdaService {
    /// Starts the Invoke API on 127.0.0.1:`port` (0 = any free port).
    pub async fn start(
        config: LambdaConfig,
        functions: Vec<FunctionSpec>,
        port: u16,
    ) -> Result<LambdaService> {
        std::fs::create_dir_all(&config.log_dir)?;
        let log = Arc::new(Log::open(&config.log_dir, config.echo_reports)?);
        let functions = functions
            .into_iter()
            .map(|spec| {
                let arn = format!(
                    "arn:aws:lambda:{}:{}:function:{}",
                    config.region, config.account, spec.name
                );
                (
                    spec.name.clone(),
                    Arc::new(Function {
                        spec,
                        arn,
                        idle: Mutex::new(Vec::new()),
                    }),
                )
            })
            .collect();
        let shared = Arc::new(Shared {
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            reserved: Mutex::new(HashMap::new()),
            busy: Mutex::new(HashMap::new()),
            config,
            functions: RwLock::new(functions),
            next_instance: AtomicU64::new(1),
            next_request: AtomicU64::new(1),
            faults: Mutex::new(Vec::new()),
            running: Mutex::new(HashMap::new()),
            log,
        });
        let s = shared.clone();
        let (addr, server) = http::serve(port, move |req| invoke_api(s.clone(), req)).await?;
        Ok(LambdaService {
            shared,
            endpoint: format!("http://{addr}"),
            server,
        })
    }

    /// The ARN of a function this service runs.
    pub fn function_arn(&self, name: &str) -> Option<String> {
        self.shared.lookup(name).map(|f| f.arn.clone())
    }

    /// Invokes in process (what the HTTP API does for a synchronous
    /// invocation), throttled the same way when there is no room.
    pub async fn invoke(&self, function: &str, event: Bytes) -> Result<Invoked, String> {
        let f = self
            .shared
            .lookup(function)
            .ok_or_else(|| format!("Function not found: {function}"))?;
        let slot = concurrency::try_enter(&self.shared, &f.spec.name)
            .map_err(|t| format!("TooManyRequestsException: Rate Exceeded. ({})", t.reason()))?;
        Ok(invoke(&self.shared, &f, event, slot).await)
    }

    /// Sets (or, with `None`, removes) a function's reserved concurrency,
    /// as PutFunctionConcurrency / DeleteFunctionConcurrency do: at most
    /// that many of its invocations run at once, the rest are throttled.
    pub fn set_reserved_concurrency(&self, function: &str, n: Option<u32>) -> Result<(), String> {
        let f = self
            .shared
            .lookup(function)
            .ok_or_else(|| format!("Function not found: {function}"))?;
        self.shared.set_reserved_concurrency(&f.spec.name, n);
        Ok(())
    }

    /// The log file of the (first) function: its own lines and
    /// START/END/REPORT.
    pub fn function_log_path(&self) -> PathBuf {
        let name = self
            .shared
            .functions()
            .into_iter()
            .map(|f| f.spec.name.clone())
            .min()
            .unwrap_or_default();
        self.shared.log.function_log(&name)
    }

    /// Every invocation so far, in completion order.
    pub fn records(&self) -> Vec<Record> {
        self.shared.log.records()
    }

    /// The events of the invocations running in an instance now, so a
    /// caller can act while a given chunk is mid-render (cancel it, kill
    /// it).
    pub fn in_flight(&self) -> Vec<Value> {
        self.shared
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Fault injection for tests and `bench soak`; no command or HTTP
    /// path reaches it.
    #[doc(hidden)]
    pub fn inject(&self, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
    }

    /// Stops every instance and the API.
    pub async fn shutdown(&self) {
        self.server.abort();
        for f in self.shared.functions() {
            stop_idle(&self.shared, &f).await;
        }
    }

    /// Changes a function the way UpdateFunctionConfiguration or
    /// UpdateFunctionCode does on Lambda: later invocations run in new
    /// instances with the new spec (its environment, its package); idle
    /// instances stop; a running invocation ends in its old instance,
    /// which then stops with its function. Returns the spec it replaced.
    pub async fn update_function(
        &self,
        name: &str,
        change: impl FnOnce(&mut FunctionSpec),
    ) -> Result<FunctionSpec, String> {
        let old = self
            .shared
            .lookup(name)
            .ok_or_else(|| format!("Function not found: {name}"))?;
        let mut spec = old.spec.clone();
        change(&mut spec);
        let new = Arc::new(Function {
            spec,
            arn: old.arn.clone(),
            idle: Mutex::new(Vec::new()),
        });
        self.shared
            .functions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(old.spec.name.clone(), new);
        stop_idle(&self.shared, &old).await;
        Ok(old.spec.clone())
    }
}

/// A service dropped without [`LambdaService::shutdown`] (an error path,
/// a panic) stops listening too; its instances go with the last reference
/// to them, which the aborted server task held.
impl Drop for LambdaService {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Shared {
    /// A function by name, partial ARN or ARN (with or without `:$LATEST`).
    fn lookup(&self, name_or_arn: &str) -> Option<Arc<Function>> {
        let name = match name_or_arn.strip_prefix("arn:") {
            Some(_) => name_or_arn.split(':').nth(6)?,
            None => name_or_arn.split(':').next()?,
        };
        self.functions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    fn lock_reserved(&self) -> std::sync::MutexGuard<'_, concurrency::Reserved> {
        self.reserved.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_busy(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_reserved_concurrency(&self, function: &str, n: Option<u32>) {
        let mut r = self.lock_reserved();
        match n {
            Some(n) => r.insert(function.to_string(), n),
            None => r.remove(function),
        };
    }

    fn functions(&self) -> Vec<Arc<Function>> {
        self.functions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn take_fault(&self, event: &[u8]) -> Option<FaultKind> {
        let v: Value = serde_json::from_slice(event).ok()?;
        let action = v["Action"].as_str()?;
        let text = String::from_utf8_lossy(event);
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        let i = faults
            .iter()
            .position(|f| f.times > 0 && f.action == action && text.contains(&f.matching))?;
        faults[i].times -= 1;
        Some(faults[i].kind.clone())
    }

    fn set_running(&self, request_id: &str, event: Option<&Value>) {
        let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Some(e) => r.insert(request_id.to_string(), e.clone()),
            None => r.remove(request_id),
        };
    }

    fn request_id(&self) -> String {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            nanos as u32,
            (nanos >> 32) as u16,
            std::process::id() & 0xfff,
            n & 0xfff,
            n
        )
    }
}

/// The environment Lambda and the provided.al2023 image give `bootstrap`,
/// plus the function's own variables and the local credentials.
pub(crate) fn environment(
    shared: &Shared,
    f: &Function,
    runtime_api: &str,
    stream: &str,
) -> Vec<(String, String)> {
    let c = &shared.config;
    let s = &f.spec;
    let mut env: Vec<(String, String)> = [
        // The image's Dockerfile.
        ("LANG", "en_US.UTF-8"),
        ("PATH", "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        (
            "LD_LIBRARY_PATH",
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        ),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        // Lambda's reserved variables (AWS_EXECUTION_ENV is not set for
        // OS-only runtimes).
        ("TZ", ":UTC"),
        ("_HANDLER", "bootstrap"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend([
        ("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), s.name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            s.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{}", s.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), stream.to_string()),
        ("AWS_REGION".into(), c.region.clone()),
        ("AWS_DEFAULT_REGION".into(), c.region.clone()),
        ("AWS_ACCESS_KEY_ID".into(), c.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), c.secret_access_key.clone()),
        ("AWS_SESSION_TOKEN".into(), "local-session-token".into()),
    ]);
    if let Some(e) = &c.aws_endpoint {
        env.push(("AWS_ENDPOINT_URL".into(), e.clone()));
    }
    for (k, v) in &s.environment {
        env.retain(|(e, _)| e != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

fn function_error(error_type: &str, message: &str) -> Bytes {
    Bytes::from(json!({"errorType": error_type, "errorMessage": message}).to_string())
}

fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// How long an exited runtime's last output may take to reach the log.
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// One invocation, start to REPORT, in the room `_slot` holds until it ends.
async fn invoke(
    shared: &Arc<Shared>,
    f: &Arc<Function>,
    event: Bytes,
    _slot: concurrency::Slot,
) -> Invoked {
    let request_id = shared.request_id();
    let parsed = serde_json::from_slice::<Value>(&event).unwrap_or(Value::Null);
    let fault = shared.take_fault(&event);
    let mut rec = Record::new(&request_id, &f.spec, parsed);
    rec.memory_enforced = shared.config.cgroups.enforced();
    if let Some(FaultKind::FunctionError {
        error_type,
        message,
    }) = &fault
    {
        rec.injected = true;
        rec.finish_error(error_type);
        shared.log.report(&f.spec.name, &rec);
        return unhandled(request_id, function_error(error_type, message));
    }
    let limit = time_limit(fault.as_ref(), f, &mut rec);
    let mut inst = match warm_or_cold(shared, f, &mut rec).await {
        Ok(i) => i,
        Err(payload) => {
            shared.log.report(&f.spec.name, &rec);
            return unhandled(request_id, payload);
        }
    };
    rec.instance = inst.stream.clone();
    rec.delivered();
    shared.log.start(&f.spec.name, &rec);
    let t = Instant::now();
    let twist = match fault {
        Some(FaultKind::Timeout(_)) => instance::Twist::Overrun,
        Some(FaultKind::Kill(after)) => {
            rec.injected = true;
            instance::Twist::KillAfter(after)
        }
        _ => instance::Twist::None,
    };
    shared.set_running(&request_id, Some(&rec.event));
    let end = inst.run(&request_id, event, &f.arn, limit, twist).await;
    if matches!(end, RunEnd::Exited(_)) {
        inst.drain_output(OUTPUT_DRAIN).await;
    }
    shared.set_running(&request_id, None);
    rec.duration = t.elapsed();
    rec.max_memory_mb = inst.max_memory_mb();
    rec.memory_enforced = inst.memory_enforced();
    let (keep, function_error, payload) = run_outcome(end, &mut rec, &request_id, f, limit);
    shared.log.report(&f.spec.name, &rec);
    // An instance of a function updated meanwhile is not reused.
    let current = shared
        .lookup(&f.spec.name)
        .is_some_and(|c| Arc::ptr_eq(&c, f));
    if keep && current && shared.config.reuse_instances {
        f.idle.lock().unwrap_or_else(|p| p.into_inner()).push(inst);
    } else {
        stop(shared, f, inst).await;
    }
    Invoked {
        request_id,
        function_error,
        payload,
    }
}

/// Failures the service answers for itself (an injected error, a failed
/// init, a stopping service) go back as function errors, `Unhandled` with
/// the error type in the payload: that is where a Task state takes the
/// error name its Retry and Catch match.
fn unhandled(request_id: String, payload: Bytes) -> Invoked {
    Invoked {
        request_id,
        function_error: Some("Unhandled"),
        payload,
    }
}

/// The function's Timeout, unless a test fault shortens it; the record is
/// marked so the invocation log tells an injected timeout from a real one.
fn time_limit(fault: Option<&FaultKind>, f: &Function, rec: &mut Record) -> Duration {
    match fault {
        Some(FaultKind::Timeout(d)) => {
            rec.injected = true;
            *d
        }
        _ => f.spec.timeout,
    }
}

/// A warm instance when one is idle, as Lambda reuses them; only when none
/// is does a cold one start, its init timed on the record.
async fn warm_or_cold(
    shared: &Arc<Shared>,
    f: &Arc<Function>,
    rec: &mut Record,
) -> Result<Instance, Bytes> {
    let warm = f.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
    match warm {
        Some(i) => Ok(i),
        None => cold_start(shared, f, rec).await,
    }
}

/// How a run ended, in Lambda's terms: whether the instance may serve
/// again (not after a timeout or a crash: Lambda discards that sandbox),
/// the function-error header, and the payload.
fn run_outcome(
    end: RunEnd,
    rec: &mut Record,
    request_id: &str,
    f: &Function,
    limit: Duration,
) -> (bool, Option<&'static str>, Bytes) {
    match end {
        RunEnd::Done(runtime_api::Outcome::Response(body)) => {
            rec.finish_ok();
            (true, None, body)
        }
        RunEnd::Done(runtime_api::Outcome::Error { error_type, body }) => {
            rec.finish_error(&error_type);
            (true, Some("Unhandled"), body)
        }
        RunEnd::TimedOut => {
            rec.finish_timeout();
            let msg = format!(
                "{} {request_id} Task timed out after {:.2} seconds",
                timestamp(),
                limit.as_secs_f64()
            );
            (
                false,
                Some("Unhandled"),
                function_error("Sandbox.Timedout", &msg),
            )
        }
        RunEnd::Exited(code) => {
            let (ty, msg) = exit_error(request_id, code, rec.max_memory_mb, f.spec.memory_mb);
            rec.finish_error(ty);
            (false, Some("Unhandled"), function_error(ty, &msg))
        }
    }
}

/// Starts an instance and waits for its init; on failure, the error
/// body Lambda returns for it.
async fn cold_start(
    shared: &Arc<Shared>,
    f: &Arc<Function>,
    rec: &mut Record,
) -> Result<Instance, Bytes> {
    let id = shared.next_instance.fetch_add(1, Ordering::Relaxed);
    let mut inst = match Instance::start(shared, f, id).await {
        Ok(i) => i,
        Err(e) => {
            rec.finish_error("Lambda.ServiceException");
            return Err(function_error("Lambda.ServiceException", &format!("{e:#}")));
        }
    };
    rec.instance = inst.stream.clone();
    let end = inst.wait_ready(f.spec.timeout).await;
    if matches!(end, InitEnd::Exited(_)) {
        inst.drain_output(OUTPUT_DRAIN).await;
    }
    rec.init = Some(inst.started.elapsed());
    rec.max_memory_mb = inst.max_memory_mb();
    rec.memory_enforced = inst.memory_enforced();
    let failure = match end {
        InitEnd::Ready(d) => {
            rec.init = Some(d);
            return Ok(inst);
        }
        InitEnd::Failed(ty, body) => {
            rec.finish_error(&ty);
            body
        }
        InitEnd::Exited(127) => {
            rec.finish_error("Runtime.InvalidEntrypoint");
            function_error(
                "Runtime.InvalidEntrypoint",
                &format!(
                    "RequestId: {} Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
                    rec.request_id
                ),
            )
        }
        InitEnd::Exited(code) => {
            let (ty, msg) = exit_error(
                &rec.request_id,
                code,
                inst.max_memory_mb(),
                f.spec.memory_mb,
            );
            rec.finish_error(ty);
            function_error(ty, &msg)
        }
        InitEnd::TimedOut => {
            rec.finish_timeout();
            function_error(
                "Sandbox.Timedout",
                &format!(
                    "{} {} Task timed out after {:.2} seconds",
                    timestamp(),
                    rec.request_id,
                    f.spec.timeout.as_secs_f64()
                ),
            )
        }
    };
    stop(shared, f, inst).await;
    Err(failure)
}

/// Stops the idle instances of `f`.
async fn stop_idle(shared: &Shared, f: &Function) {
    let idle: Vec<Instance> =
        std::mem::take(&mut *f.idle.lock().unwrap_or_else(|p| p.into_inner()));
    for i in idle {
        stop(shared, f, i).await;
    }
}

/// Kills an instance that cannot be reused and logs whether all of its
/// processes ended.
async fn stop(shared: &Shared, f: &Function, inst: Instance) {
    let stream = inst.stream.clone();
    let released = inst.kill().await;
    shared.log.function_line(
        &f.spec.name,
        &format!("[{stream}] instance stopped; every process in it ended: {released}"),
    );
}

/// Lambda's words for a runtime that exited (`Runtime.ExitError`), or ran
/// out of memory (`Runtime.OutOfMemory`).
fn exit_error(request_id: &str, code: i32, max_mb: u64, limit_mb: u32) -> (&'static str, String) {
    let how = if code > 128 {
        format!("signal: {}", signal_name(code - 128))
    } else {
        format!("exit status {code}")
    };
    // Lambda reports a kill at the memory limit as its own error type,
    // with the same message.
    let ty = if code == 128 + libc::SIGKILL && max_mb >= u64::from(limit_mb) {
        "Runtime.OutOfMemory"
    } else {
        "Runtime.ExitError"
    };
    (
        ty,
        format!("RequestId: {request_id} Error: Runtime exited with error: {how}"),
    )
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "killed",
        libc::SIGSEGV => "segmentation fault",
        libc::SIGABRT => "aborted",
        libc::SIGTERM => "terminated",
        _ => "signal",
    }
}

fn aws_error(status: StatusCode, ty: &str, message: &str) -> Resp {
    http::response(
        status,
        &[
            ("content-type", "application/json"),
            ("x-amzn-errortype", ty),
        ],
        json!({"Type": "User", "message": message}).to_string(),
    )
}

/// `POST /2015-03-31/functions/{name}/invocations`.
async fn invoke_api(shared: Arc<Shared>, req: Req) -> Resp {
    let req = match concurrency::api(&shared, req).await {
        Ok(resp) => return resp,
        Err(req) => req,
    };
    let path = req.uri().path().to_string();
    let name = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|r| r.strip_suffix("/invocations"));
    let (Method::POST, Some(name)) = (req.method().clone(), name) else {
        return aws_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "this local service implements Invoke, GetAccountSettings and the function concurrency APIs",
        );
    };
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .into_owned();
    let Some(f) = shared.lookup(&name) else {
        return aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}"),
        );
    };
    let invocation_type = req
        .headers()
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_string();
    let Some(event) = http::body(req, MAX_EVENT_BYTES).await else {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            &format!("Request must be smaller than {MAX_EVENT_BYTES} bytes for the InvokeFunction operation"),
        );
    };
    let event = if event.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        event
    };
    if serde_json::from_slice::<Value>(&event).is_err() {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            "Could not parse request body into json",
        );
    }
    match invocation_type.as_str() {
        "DryRun" => return http::response(StatusCode::NO_CONTENT, &[], Bytes::new()),
        "Event" => {
            let s = shared.clone();
            tokio::spawn(async move {
                let slot = concurrency::enter_when_free(&s, &f.spec.name).await;
                invoke(&s, &f, event, slot).await
            });
            return http::response(StatusCode::ACCEPTED, &[], Bytes::new());
        }
        _ => {}
    }
    let slot = match concurrency::try_enter(&shared, &f.spec.name) {
        Ok(slot) => slot,
        Err(t) => return concurrency::throttled(t),
    };
    // In its own task: a caller that goes away (a stopped execution) does
    // not stop the invocation, as on Lambda.
    let s = shared.clone();
    let Ok(r) = tokio::spawn(async move { invoke(&s, &f, event, slot).await }).await else {
        return aws_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "the invocation task failed",
        );
    };
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-amz-executed-version", "$LATEST"),
        ("x-amzn-requestid", r.request_id.as_str()),
    ];
    if let Some(e) = r.function_error {
        headers.push(("x-amz-function-error", e));
    }
    http::response(StatusCode::OK, &headers, r.payload)
}

#[cfg(test)]
mod tests {
    use super::exit_error;

    #[test]
    fn a_kill_at_the_memory_limit_is_out_of_memory_and_other_exits_are_exit_errors() {
        let kill = 128 + libc::SIGKILL;
        let (ty, msg) = exit_error("r1", kill, 1024, 1024);
        assert_eq!(ty, "Runtime.OutOfMemory");
        assert_eq!(
            msg,
            "RequestId: r1 Error: Runtime exited with error: signal: killed"
        );
        assert_eq!(exit_error("r1", kill, 300, 1024).0, "Runtime.ExitError");
        let (ty, msg) = exit_error("r2", 3, 2000, 1024);
        assert_eq!(ty, "Runtime.ExitError");
        assert!(msg.ends_with("exit status 3"), "{msg}");
    }
}
