//! Renders as Step Functions executions: start one, read its progress,
//! stop it. The render id is the execution name, so a user never handles
//! an ARN.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_sfn::types::HistoryEvent;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use hyperframes_infra::contract::{field, PlanProtocol};
use hyperframes_infra::stack::ids::PARAM_MEMORY;
pub use hyperframes_infra::stack::{INTERMEDIATES_EXPIRY_DAYS, INTERMEDIATES_PREFIX};

use crate::pricing::Prices;
use crate::progress::{self, Event, Progress};

/// Our limit on an execution's input. Step Functions allows 256 KiB for
/// the input *and* for the state it grows into (the plan result, the chunk
/// list and up to 1000 chunk results are added to it), so the input keeps
/// half of that.
pub const MAX_INPUT_BYTES: usize = 131_072;

/// Where a stack's render parts are: from `deploy --outputs-file` or
/// DescribeStacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTarget {
    pub bucket: String,
    pub state_machine_arn: String,
    /// The render function (its concurrency sizes the fan-out); outputs
    /// files written before it was recorded lack it.
    pub function_arn: Option<String>,
    /// Set for a local stack (`local-stack up`): where its APIs are.
    pub local: Option<hyperframes_cli::aws::LocalEndpoints>,
    /// The function's memory (the stack's `LambdaMemoryMb`), which prices
    /// its billed seconds; `None` when the outputs do not say.
    pub memory_mb: Option<u32>,
}

impl StackTarget {
    /// Reads the flat JSON `deploy --outputs-file` writes.
    pub fn from_outputs_file(path: &Path) -> Result<StackTarget> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the outputs file {}", path.display()))?;
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let get = |k: &str| {
            v[k].as_str().map(str::to_string).ok_or_else(|| {
                anyhow!(
                    "{} has no {k}; write it with `deploy --outputs-file`",
                    path.display()
                )
            })
        };
        let local = match v["EndpointUrl"].as_str() {
            Some(endpoint) => Some(hyperframes_cli::aws::LocalEndpoints {
                endpoint_url: endpoint.to_string(),
                step_functions_endpoint_url: get("StepFunctionsEndpointUrl")?,
                lambda_endpoint_url: v["LambdaEndpointUrl"].as_str().map(str::to_string),
                region: get("Region")?,
                access_key_id: get("AccessKeyId")?,
                secret_access_key: get("SecretAccessKey")?,
            }),
            None => None,
        };
        Ok(StackTarget {
            bucket: get("RenderBucketName")?,
            state_machine_arn: get("RenderStateMachineArn")?,
            function_arn: v["RenderFunctionArn"].as_str().map(str::to_string),
            local,
            memory_mb: memory_mb(&v[PARAM_MEMORY]),
        })
    }

    /// Reads the stack's outputs from CloudFormation.
    pub async fn from_stack(
        cfn: &aws_sdk_cloudformation::Client,
        stack_name: &str,
    ) -> Result<StackTarget, StackLookupError> {
        let out = cfn.describe_stacks().stack_name(stack_name).send().await.map_err(|e| {
            let text = aws_sdk_cloudformation::error::DisplayErrorContext(&e).to_string();
            if text.contains("does not exist") {
                StackLookupError::Other(anyhow!("stack `{stack_name}` does not exist in this account and region; deploy it with `cargo run --bin deploy -- --stack-name {stack_name}` or pass --region"))
            } else {
                StackLookupError::Other(anyhow!("cannot describe stack `{stack_name}`: {text}"))
            }
        })?;
        let stack = out.stacks().first().ok_or_else(|| {
            StackLookupError::Other(anyhow!("stack `{stack_name}` does not exist"))
        })?;
        let get = |k: &str| {
            stack
                .outputs()
                .iter()
                .find(|o| o.output_key() == Some(k))
                .and_then(|o| o.output_value())
                .map(str::to_string)
                .ok_or_else(|| StackLookupError::MissingOutput {
                    stack: stack_name.to_string(),
                    output: k.to_string(),
                })
        };
        Ok(StackTarget {
            bucket: get("RenderBucketName")?,
            state_machine_arn: get("RenderStateMachineArn")?,
            function_arn: get("RenderFunctionArn").ok(),
            local: None,
            memory_mb: hyperframes_cli::outputs::stack_memory_mb(stack),
        })
    }

    /// The execution ARN of a render id.
    pub fn execution_arn(&self, render_id: &str) -> String {
        if render_id.starts_with("arn:") {
            return render_id.to_string();
        }
        format!(
            "{}:{render_id}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

/// `LambdaMemoryMb` in an outputs file: a number, or a string as
/// CloudFormation gives parameter values.
fn memory_mb(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Why a stack's outputs could not be read. A stack without its outputs
/// (an emulator's gap) is told apart, so the caller can fall back to the
/// file `deploy` wrote.
#[derive(Debug)]
pub enum StackLookupError {
    MissingOutput { stack: String, output: String },
    Other(anyhow::Error),
}

impl std::fmt::Display for StackLookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackLookupError::MissingOutput { stack, output } => write!(
                f,
                "stack `{stack}` has no output {output} (is it a HyperFrames render stack?); pass --outputs-file from deploy instead"
            ),
            StackLookupError::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for StackLookupError {}

/// A fresh render id: sortable by start time, unique per call.
pub fn new_render_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(now.as_nanos().to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    format!(
        "hf-{}-{}",
        now.as_secs(),
        &hyperframes_producer::plan::digest::hex(&h.finalize())[..8]
    )
}

/// A render id must be a valid execution name.
pub fn check_render_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 80
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("render id `{id}` must be 1-80 letters, digits, `-` or `_` (it becomes the execution name)");
    }
    Ok(())
}

/// Where the final output goes by default: under `outputs/`, not under
/// [`INTERMEDIATES_PREFIX`], which the bucket expires.
pub fn default_output_key(render_id: &str, format: &str) -> String {
    match format {
        "png-sequence" => format!("outputs/{render_id}.tar.gz"),
        f => format!("outputs/{render_id}.{f}"),
    }
}

/// The key prefix of a render's plan and chunks: under the stack's
/// intermediates prefix, which the bucket expires after
/// [`INTERMEDIATES_EXPIRY_DAYS`] days.
pub fn render_prefix(render_id: &str) -> String {
    format!("{INTERMEDIATES_PREFIX}{render_id}/")
}

/// The execution input, in the order the state machine documents it.
pub fn input(
    target: &StackTarget,
    project_s3_uri: &str,
    render_id: &str,
    output_key: &str,
    config: &hyperframes_producer::RenderConfig,
    protocol: PlanProtocol,
    concurrency: Option<u32>,
) -> Result<String> {
    let mut v = json!({
        field::PROJECT_S3_URI: project_s3_uri,
        field::PLAN_OUTPUT_S3_PREFIX: format!("s3://{}/{}", target.bucket, render_prefix(render_id)),
        field::OUTPUT_S3_URI: format!("s3://{}/{output_key}", target.bucket),
        field::CONFIG: config,
        field::PLAN_PROTOCOL: protocol.as_str(),
    });
    if let Some(n) = concurrency {
        v[field::CONCURRENCY] = json!(n);
    }
    let text = v.to_string();
    if text.len() > MAX_INPUT_BYTES {
        let vars = config
            .variables
            .as_ref()
            .map_or(0, |v| serde_json::to_string(v).map_or(0, |t| t.len()));
        bail!(
            "the execution input is {} bytes ({vars} of them variables), over the {MAX_INPUT_BYTES}-byte limit (half of Step Functions' 256 KiB input, the rest is for the render's own results); pass large values (long copy, inline data) as files in the project and refer to them by path",
            text.len()
        );
    }
    Ok(text)
}

/// Starts the execution; returns its ARN.
pub async fn start(
    sfn: &aws_sdk_sfn::Client,
    target: &StackTarget,
    render_id: &str,
    input: String,
) -> Result<String> {
    let out = sfn
        .start_execution()
        .state_machine_arn(&target.state_machine_arn)
        .name(render_id)
        .input(input)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot start the render on {}: {}",
                target.state_machine_arn,
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    Ok(out.execution_arn().to_string())
}

fn millis(t: &aws_sdk_sfn::primitives::DateTime) -> i64 {
    t.to_millis().unwrap_or(0)
}

/// Converts an SDK history event.
pub fn event(e: &HistoryEvent) -> Event {
    let mut ev = Event {
        id: e.id(),
        previous_id: e.previous_event_id(),
        timestamp_ms: millis(e.timestamp()),
        kind: e.r#type().as_str().to_string(),
        state: None,
        output: None,
        error: None,
        cause: None,
        parameters: None,
    };
    if let Some(d) = e.task_scheduled_event_details() {
        ev.parameters = Some(d.parameters().to_string());
    }
    if let Some(d) = e.state_entered_event_details() {
        ev.state = Some(d.name().to_string());
    }
    if let Some(d) = e.task_succeeded_event_details() {
        ev.output = d.output().map(str::to_string);
    }
    if let Some(d) = e.lambda_function_succeeded_event_details() {
        ev.output = d.output().map(str::to_string);
    }
    // At most one of these is set, for the event's own kind.
    let failure = [
        e.task_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        e.task_timed_out_event_details()
            .map(|d| (d.error(), d.cause())),
        e.lambda_function_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        e.execution_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        e.execution_aborted_event_details()
            .map(|d| (d.error(), d.cause())),
        e.execution_timed_out_event_details()
            .map(|d| (d.error(), d.cause())),
    ]
    .into_iter()
    .flatten()
    .next()
    .map(|(error, cause)| (error.map(str::to_string), cause.map(str::to_string)));
    if let Some((error, cause)) = failure {
        ev.error = error;
        ev.cause = cause;
    }
    ev
}

/// An execution as DescribeExecution and its whole history give it.
pub struct Recorded {
    /// DescribeExecution's status, e.g. `RUNNING`.
    pub status: String,
    pub started_ms: i64,
    pub stopped_ms: Option<i64>,
    /// The execution input (null when absent or not JSON).
    pub input: Value,
    pub events: Vec<Event>,
}

/// Reads an execution's status, input and whole history.
pub async fn read(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Result<Recorded> {
    let d = sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| {
            let text = aws_sdk_sfn::error::DisplayErrorContext(&e).to_string();
            if text.contains("ExecutionDoesNotExist") {
                anyhow!("no render {execution_arn}; check the render id and the stack")
            } else {
                anyhow!("cannot read render {execution_arn}: {text}")
            }
        })?;
    let mut events = history(sfn, execution_arn).await?;
    if events.iter().any(|e| e.kind == "MapRunStarted") {
        match map_run_children(sfn, execution_arn, false).await {
            Ok(arns) => {
                let mut children = Vec::new();
                for child in arns {
                    children.push(history(sfn, &child).await?);
                }
                events = merge_children(events, children);
            }
            // The render's own history still says how it ended; only the
            // chunks' counts and costs are missing, and the note says why.
            Err(e) => eprintln!("note: {e:#}; chunk counts and costs are left out"),
        }
    }
    Ok(Recorded {
        status: d.status().as_str().to_string(),
        started_ms: millis(d.start_date()),
        stopped_ms: d.stop_date().map(millis),
        input: d
            .input()
            .and_then(|i| serde_json::from_str(i).ok())
            .unwrap_or(Value::Null),
        events,
    })
}

/// One execution's whole history, page by page.
async fn history(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    let mut pages = sfn
        .get_execution_history()
        .execution_arn(execution_arn)
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow!(
                "cannot read the history of {execution_arn}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
        events.extend(page.events().iter().map(event));
    }
    Ok(events)
}

/// The child executions of every Map Run the execution started (the chunk
/// fan-out is a Distributed Map: each chunk's invocations are in its
/// child's history, not in the render's); `running_only` keeps those
/// still running.
pub async fn map_run_children(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    running_only: bool,
) -> Result<Vec<String>> {
    let sdk = |what: &str, e: &dyn std::fmt::Display| {
        anyhow!("cannot list the {what} of {execution_arn}: {e} (the caller needs states:ListMapRuns and states:ListExecutions; `hyperframes policies` prints them)")
    };
    let mut runs = Vec::new();
    let mut pages = sfn
        .list_map_runs()
        .execution_arn(execution_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| sdk("Map Runs", &aws_sdk_sfn::error::DisplayErrorContext(e)))?;
        runs.extend(page.map_runs().iter().map(|r| {
            (
                r.map_run_arn().to_string(),
                r.state_machine_arn().to_string(),
            )
        }));
    }
    let mut children = Vec::new();
    for (run, machine) in runs {
        let listed = match list_children(sfn, Some(&run), None, running_only).await {
            Ok(c) => c,
            // moto answers ListExecutions by mapRunArn with a 500; it
            // lists the children by the Map Run's state machine ARN.
            Err(first) => list_children(sfn, None, Some(&machine), running_only)
                .await
                .map_err(|_| sdk("Map Run's children", &first))?,
        };
        children.extend(listed);
    }
    // Oldest first, so a merged history reads in the order chunks started.
    children.reverse();
    Ok(children)
}

/// Attempts at listing a Map Run's children. The listing only adds chunk
/// counts and costs to a progress view that is polled: a failure is
/// reported as left out and the next poll tries again, so it must not hold
/// the display through the client's long backoff (8 attempts, about a
/// minute on a persistent 500).
const CHILD_LIST_ATTEMPTS: u32 = 3;

/// ListExecutions of one Map Run's children, by its ARN or by its state
/// machine's.
async fn list_children(
    sfn: &aws_sdk_sfn::Client,
    map_run: Option<&str>,
    machine: Option<&str>,
    running_only: bool,
) -> std::result::Result<Vec<String>, String> {
    let sfn = aws_sdk_sfn::Client::from_conf(
        sfn.config()
            .to_builder()
            .retry_config(
                aws_sdk_sfn::config::retry::RetryConfig::standard()
                    .with_max_attempts(CHILD_LIST_ATTEMPTS),
            )
            .build(),
    );
    let mut req = sfn
        .list_executions()
        .set_map_run_arn(map_run.map(str::to_string))
        .set_state_machine_arn(machine.map(str::to_string));
    if running_only {
        req = req.status_filter(aws_sdk_sfn::types::ExecutionStatus::Running);
    }
    let mut pages = req.into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_sdk_sfn::error::DisplayErrorContext(e).to_string())?;
        out.extend(
            page.executions()
                .iter()
                .map(|e| e.execution_arn().to_string()),
        );
    }
    Ok(out)
}

/// The render's history with its Map Run children's histories in it, as
/// one history: each child's event ids move past every id before it (so
/// the previous-event links stay within the child), and the children go
/// where the Map Run ends in the parent (or before the parent's end, or
/// at the end while it runs), ahead of the parent's own failure.
pub fn merge_children(parent: Vec<Event>, children: Vec<Vec<Event>>) -> Vec<Event> {
    let run_end = |e: &Event| {
        matches!(
            e.kind.as_str(),
            "MapRunSucceeded" | "MapRunFailed" | "MapRunAborted"
        ) || e.kind.starts_with("Execution") && e.kind != "ExecutionStarted"
    };
    let at = parent.iter().position(run_end).unwrap_or(parent.len());
    let mut offset = parent.iter().map(|e| e.id).max().unwrap_or(0);
    let mut merged: Vec<Event> = parent[..at].to_vec();
    for child in children {
        let top = child.iter().map(|e| e.id).max().unwrap_or(0);
        merged.extend(child.into_iter().map(|mut e| {
            e.id += offset;
            if e.previous_id > 0 {
                e.previous_id += offset;
            }
            e
        }));
        offset += top;
    }
    merged.extend_from_slice(&parent[at..]);
    merged
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Computes the progress of a recorded execution.
pub fn progress_of(r: &Recorded, prices: Prices) -> Progress {
    let mut p = progress::compute(
        &r.status,
        r.started_ms,
        r.stopped_ms,
        now_ms(),
        &r.events,
        prices,
    );
    p.set_estimate(crate::estimate::from_input(&r.input));
    p
}

/// Bills a recorded render's Lambda time from the function's REPORT data
/// (`progress --reports`), each matched to its invocation in the history:
/// see [`Progress::use_reports`]. A render that has not invoked anything
/// yet has nothing to bill, and keeps its history's figures.
pub fn bill_from_reports(
    p: &mut Progress,
    r: &Recorded,
    reports: &[crate::timeline::Report],
    prices: Prices,
) {
    let span = (r.started_ms, r.stopped_ms, now_ms());
    if let Ok(t) = crate::timeline::build(&r.events, span, Some(reports), prices) {
        p.use_reports(&t, prices);
    }
}

/// Reads an execution's status and whole history and computes progress.
pub async fn progress(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    prices: Prices,
) -> Result<Progress> {
    Ok(progress_of(&read(sfn, execution_arn).await?, prices))
}

/// Stops a running render, and its chunks' child executions (Step
/// Functions stops a Map Run's children with it; stopping them too makes
/// sure none is left, whatever the order the service does it in).
pub async fn cancel(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Result<ChildrenStopped> {
    stop(sfn, execution_arn).await?;
    let children = match map_run_children(sfn, execution_arn, true).await {
        Ok(c) => c,
        Err(e) => return Ok(ChildrenStopped::NotListed(format!("{e:#}"))),
    };
    let mut stopped = 0;
    for child in children {
        // A child that ended meanwhile (Step Functions stops them with
        // the render) is no error.
        if stop(sfn, &child).await.is_ok() {
            stopped += 1;
        }
    }
    Ok(ChildrenStopped::Stopped(stopped))
}

/// What `cancel` did with the render's chunk executions.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildrenStopped {
    /// This many were still running and were stopped.
    Stopped(usize),
    /// They could not be listed (a permission, an emulator without Map
    /// Runs): Step Functions stops them with the render, but this could
    /// not check.
    NotListed(String),
}

async fn stop(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Result<()> {
    sfn.stop_execution()
        .execution_arn(execution_arn)
        .error("CANCELLED")
        .cause("cancelled by the user")
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot cancel {execution_arn}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}

/// The execution's output URI, if that object exists (a stop can land
/// after Assemble uploaded it).
pub async fn output_written(
    sfn: &aws_sdk_sfn::Client,
    s3: &aws_sdk_s3::Client,
    execution_arn: &str,
) -> Result<Option<String>> {
    let d = sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot read {execution_arn}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    let input: Value = d
        .input()
        .and_then(|i| serde_json::from_str(i).ok())
        .unwrap_or(Value::Null);
    let Some(uri) = input[field::OUTPUT_S3_URI].as_str() else {
        return Ok(None);
    };
    let Some((bucket, key)) = uri.strip_prefix("s3://").and_then(|r| r.split_once('/')) else {
        return Ok(None);
    };
    Ok(s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()
        .map(|_| uri.to_string()))
}

/// The keys a render left under its prefix (for `cancel`'s report).
pub async fn leftovers(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    render_id: &str,
) -> Result<(usize, u64)> {
    let prefix = render_prefix(render_id);
    let (mut n, mut bytes) = (0usize, 0u64);
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow!(
                "cannot list s3://{bucket}/{prefix}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
        for o in page.contents() {
            n += 1;
            bytes += o.size().unwrap_or(0).max(0) as u64;
        }
    }
    Ok((n, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A render whose one chunk failed in its child execution: merged,
    /// the chunk's task is counted, linked to its own state, and its error
    /// is the one reported, not the Map Run's.
    #[test]
    fn child_histories_merge_into_the_renders() {
        use crate::progress::history_fixture::{entered, history};
        use serde_json::json;
        let parent = history(&[
            ("ExecutionStarted", 0, 1.0, Value::Null),
            ("MapStateEntered", 1, 2.0, entered("RenderChunksV2")),
            ("MapStateStarted", 2, 2.0, Value::Null),
            ("MapRunStarted", 3, 2.1, Value::Null),
            ("MapRunFailed", 4, 9.0, Value::Null),
            ("MapStateFailed", 5, 9.0, Value::Null),
            (
                "ExecutionFailed",
                6,
                9.1,
                json!({"error": "States.ExceedToleratedFailureThreshold", "cause": "x"}),
            ),
        ]);
        let child = history(&[
            ("ExecutionStarted", 0, 2.2, Value::Null),
            ("TaskStateEntered", 1, 2.3, entered("RenderChunkV2")),
            ("TaskScheduled", 2, 2.3, Value::Null),
            ("TaskStarted", 3, 2.4, Value::Null),
            (
                "TaskFailed",
                4,
                8.4,
                json!({"error": "PLAN_HASH_MISMATCH", "cause": "y"}),
            ),
            (
                "ExecutionFailed",
                5,
                8.5,
                json!({"error": "PLAN_HASH_MISMATCH", "cause": "y"}),
            ),
        ]);
        let merged = merge_children(parent, vec![child.clone(), child]);
        assert_eq!(merged.len(), 7 + 12);
        // The children sit between MapRunStarted and the Map Run's end.
        assert_eq!(merged[3].kind, "MapRunStarted");
        assert_eq!(merged[4].kind, "ExecutionStarted");
        assert_eq!(merged[16].kind, "MapRunFailed");
        let mut ids: Vec<i64> = merged.iter().map(|e| e.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), merged.len(), "ids stay unique");
        assert_eq!(
            merged[11].previous_id, merged[10].id,
            "links stay in the child"
        );
        let p = crate::progress::compute(
            "FAILED",
            1000,
            Some(9100),
            9100,
            &merged,
            Default::default(),
        );
        assert_eq!(p.lambda_invocations, 2);
        assert_eq!(p.cost.lambda_ms, 2 * 6000);
        match p.state {
            crate::progress::State::Failed { error, .. } => assert_eq!(error, "PLAN_HASH_MISMATCH"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ids_arns_and_keys() {
        let t = StackTarget {
            bucket: "b".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:hyperframes-render".into(),
            function_arn: None,
            local: None,
            memory_mb: None,
        };
        assert_eq!(
            t.execution_arn("r1"),
            "arn:aws:states:us-east-1:1:execution:hyperframes-render:r1"
        );
        assert_eq!(t.execution_arn("arn:x"), "arn:x");
        let id = new_render_id();
        check_render_id(&id).unwrap();
        assert!(check_render_id("has space").is_err());
        assert_eq!(default_output_key("r1", "mp4"), "outputs/r1.mp4");
        assert_eq!(
            default_output_key("r1", "png-sequence"),
            "outputs/r1.tar.gz"
        );
        let config = hyperframes_producer::RenderConfig::new(30, hyperframes_producer::Format::Mp4);
        let i: Value = serde_json::from_str(
            &input(
                &t,
                "s3://b/sites/x/project.tar.gz",
                "r1",
                "outputs/r1.mp4",
                &config,
                PlanProtocol::V2,
                Some(9),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(i["Concurrency"], 9);
        assert_eq!(i["PlanOutputS3Prefix"], "s3://b/renders/r1/");
        assert_eq!(i["OutputS3Uri"], "s3://b/outputs/r1.mp4");
        assert_eq!(i["PlanProtocol"], "v2");
        assert_eq!(i["Config"], json!({"fps": 30, "format": "mp4"}));
        let mut huge = config;
        huge.variables = Some(hyperframes_producer::variables::Variables::new(
            json!({"x": "y".repeat(300_000)})
                .as_object()
                .unwrap()
                .clone(),
        ));
        let e = input(&t, "s3://b/p", "r1", "o", &huge, PlanProtocol::V2, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("131072") && e.contains("300008 of them variables"),
            "{e}"
        );
    }

    #[test]
    fn config_errors_are_the_producers() {
        let parse = hyperframes_producer::RenderConfig::from_json;
        let e =
            parse(&json!({"fps": 300, "width": 640, "height": 360, "format": "mp4"})).unwrap_err();
        assert!(e.to_string().contains("fps"), "{e}");
        parse(&json!({"fps": 30, "width": 640, "height": 360, "format": "mp4"})).unwrap();
    }
}
