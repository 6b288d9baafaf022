//! A batch on a stack: one execution per row, at most `--max-concurrent`
//! renders in flight (a slot is held from the start call until the
//! execution is seen to end), rows resumed from the manifest and the
//! executions' deterministic names.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Semaphore;

use hyperframes_infra::contract::PlanProtocol;
use hyperframes_producer::RenderConfig;

use super::manifest::{Entry, Status};
use super::rows::BatchRow;
use crate::estimate::model::Estimate;
use crate::execution::{self, StackTarget};
use crate::pricing::Prices;
use crate::progress::State;

/// How often a running row's execution is read.
const POLL: Duration = Duration::from_secs(1);
/// Retries of one row's name before giving up on finding a free one.
const MAX_ATTEMPTS: u32 = 50;

/// What every row's task needs.
pub struct Ctx {
    pub sfn: aws_sdk_sfn::Client,
    pub s3: aws_sdk_s3::Client,
    pub stack: StackTarget,
    pub project_uri: String,
    pub protocol: PlanProtocol,
    pub concurrency: Option<u32>,
    pub prices: Prices,
}

/// A row's execution input: inline, or with the variables as an S3 object
/// next to the plan when they would make it too large.
pub struct Input {
    pub text: String,
    /// The key and body of the variables object, when offloaded.
    pub offload: Option<(String, String)>,
}

/// The execution input of `row` started as `name` (the 131,072-byte limit
/// is checked here, before any start).
pub fn input(
    ctx_stack: &StackTarget,
    project_uri: &str,
    name: &str,
    row: &BatchRow,
    protocol: PlanProtocol,
    concurrency: Option<u32>,
    estimate: Option<&Estimate>,
) -> Result<Input> {
    let build = |c: &RenderConfig| -> Result<String> {
        let text = execution::input(
            ctx_stack,
            project_uri,
            name,
            &row.output_key,
            c,
            protocol,
            concurrency,
        )?;
        match estimate {
            Some(e) => crate::estimate::attach(text, e, execution::MAX_INPUT_BYTES),
            None => Ok(text),
        }
    };
    let inline = build(&row.config);
    let Some(values) = row.config.variables.as_ref().filter(|v| !v.is_empty()) else {
        return inline.map(|text| Input {
            text,
            offload: None,
        });
    };
    if let Ok(text) = inline {
        return Ok(Input {
            text,
            offload: None,
        });
    }
    let key = format!("{}variables.json", execution::render_prefix(name));
    let mut by_reference = row.config.clone();
    by_reference.variables = None;
    by_reference.variables_s3_uri = Some(format!("s3://{}/{key}", ctx_stack.bucket));
    Ok(Input {
        text: build(&by_reference)?,
        offload: Some((key, values.canonical_json())),
    })
}

/// What to do with a row.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Its output exists and matches the manifest: nothing to do.
    Skip(Entry),
    /// An earlier run's execution is still running: follow it.
    Follow(Entry),
    /// Start an execution named `render_id`.
    Start(Entry),
}

/// The output's size and ETag, if it exists.
pub async fn head(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(u64, String)>> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(h) => Ok(Some((
            h.content_length().unwrap_or(0).max(0) as u64,
            h.e_tag().unwrap_or_default().to_string(),
        ))),
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(None)
        }
        Err(e) => bail!(
            "cannot check s3://{bucket}/{key}: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        ),
    }
}

/// An execution's status by name; `None` when there is none.
async fn status(ctx: &Ctx, name: &str) -> Result<Option<String>> {
    let arn = ctx.stack.execution_arn(name);
    match ctx
        .sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
    {
        Ok(d) => Ok(Some(d.status().as_str().to_string())),
        Err(e) => {
            let text = aws_sdk_sfn::error::DisplayErrorContext(&e).to_string();
            if text.contains("ExecutionDoesNotExist") {
                Ok(None)
            } else {
                Err(anyhow!("cannot read render {arn}: {text}"))
            }
        }
    }
}

/// The name of attempt `k` of a row (`base`, `base-r1`, `base-r2`, ...):
/// Step Functions keeps an execution's name for 90 days, so a retry of a
/// failed row needs a new one.
pub fn attempt_name(base: &str, k: u32) -> String {
    match k {
        0 => base.to_string(),
        k => format!("{base}-r{k}"),
    }
}

/// Decides a row's fate: skipped when the manifest's output is still
/// there unchanged; else the first of its attempts that is running
/// (followed) or succeeded with its output present (recorded); else a
/// start under the first unused attempt name. Failed attempts are passed over.
pub async fn resolve(ctx: &Ctx, row: &BatchRow, prev: Option<&Entry>) -> Result<Plan> {
    let bucket = &ctx.stack.bucket;
    if let Some(p) = prev.filter(|p| p.status == Status::Succeeded && p.row_hash == row.hash) {
        if let Some((bytes, etag)) = head(&ctx.s3, bucket, &row.output_key).await? {
            if Some(bytes) == p.output_bytes && Some(&etag) == p.output_etag.as_ref() {
                return Ok(Plan::Skip(Entry {
                    line: row.line,
                    ..p.clone()
                }));
            }
        }
    }
    let base = row.base_name();
    for k in 0..MAX_ATTEMPTS {
        let name = attempt_name(&base, k);
        let mut e = Entry::pending(row, name.clone());
        let Some(s) = status(ctx, &name).await? else {
            return Ok(Plan::Start(e));
        };
        e.execution_arn = Some(ctx.stack.execution_arn(&name));
        match s.as_str() {
            "RUNNING" => {
                e.status = Status::Running;
                return Ok(Plan::Follow(e));
            }
            // Ended well: recorded from its history (the follow reads it
            // once and finds it over), if its output is still there.
            "SUCCEEDED" if head(&ctx.s3, bucket, &row.output_key).await?.is_some() => {
                e.status = Status::Running;
                return Ok(Plan::Follow(e));
            }
            _ => {}
        }
    }
    bail!(
        "line {}: {MAX_ATTEMPTS} attempts named {base}[-rN] exist already; give the row a new renderId",
        row.line
    )
}

/// A row's news for the board and the manifest.
pub enum Update {
    Row(usize, Box<Entry>),
    Frames(usize, u64, u64),
}

/// Runs one row in a slot of `slots`: starts it (unless it is being
/// followed), then reads its execution until it ends.
pub async fn drive(
    ctx: Arc<Ctx>,
    i: usize,
    row: BatchRow,
    plan: Plan,
    estimate: Option<Estimate>,
    slots: Arc<Semaphore>,
    tx: UnboundedSender<Update>,
) {
    let (mut e, start) = match plan {
        Plan::Skip(_) => return,
        Plan::Follow(e) => (e, false),
        Plan::Start(e) => (e, true),
    };
    let _slot = slots
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    if start {
        match start_row(&ctx, &row, &e.render_id, estimate.as_ref()).await {
            Ok(arn) => e.execution_arn = Some(arn),
            Err(err) => {
                e.fail("START_FAILED", format!("{err:#}"));
                let _ = tx.send(Update::Row(i, Box::new(e)));
                return;
            }
        }
    }
    e.status = Status::Running;
    let _ = tx.send(Update::Row(i, Box::new(e.clone())));
    let arn = e.execution_arn.clone().expect("set above");
    follow(&ctx, i, &row, e, &arn, &tx).await;
}

/// Puts the offloaded variables (if any) and starts the execution.
async fn start_row(
    ctx: &Ctx,
    row: &BatchRow,
    name: &str,
    estimate: Option<&Estimate>,
) -> Result<String> {
    let input = input(
        &ctx.stack,
        &ctx.project_uri,
        name,
        row,
        ctx.protocol,
        ctx.concurrency,
        estimate,
    )?;
    if let Some((key, body)) = input.offload {
        ctx.s3
            .put_object()
            .bucket(&ctx.stack.bucket)
            .key(&key)
            .content_type("application/json")
            .body(body.into_bytes().into())
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot upload the variables to s3://{}/{key}: {}",
                    ctx.stack.bucket,
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
    }
    execution::start(&ctx.sfn, &ctx.stack, name, input.text).await
}

/// Reads the execution every [`POLL`] until it ends; a few failed reads
/// in a row end the follow (the render itself goes on; a re-run follows it again).
async fn follow(
    ctx: &Ctx,
    i: usize,
    row: &BatchRow,
    mut e: Entry,
    arn: &str,
    tx: &UnboundedSender<Update>,
) {
    let mut errors = 0;
    loop {
        let p = match execution::progress(&ctx.sfn, arn, ctx.prices).await {
            Ok(p) => p,
            Err(err) => {
                errors += 1;
                if errors >= 5 {
                    e.fail("FOLLOW_FAILED", format!("cannot read the execution ({err:#}); re-run the batch to follow it again"));
                    let _ = tx.send(Update::Row(i, Box::new(e)));
                    return;
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        errors = 0;
        let _ = tx.send(Update::Frames(
            i,
            p.frames_done,
            p.frames_total.unwrap_or(0),
        ));
        e.duration_ms = Some(p.elapsed_ms);
        e.cost_usd = Some(p.cost.total_usd);
        match p.state {
            State::Running => {
                let _ = tx.send(Update::Row(i, Box::new(e.clone())));
                tokio::time::sleep(POLL).await;
                continue;
            }
            State::Succeeded => match head(&ctx.s3, &ctx.stack.bucket, &row.output_key).await {
                Ok(Some((bytes, etag))) => {
                    e.status = Status::Succeeded;
                    e.output_bytes = Some(bytes);
                    e.output_etag = Some(etag);
                }
                Ok(None) => e.fail(
                    "OUTPUT_MISSING",
                    format!(
                        "the render succeeded but s3://{}/{} is not there",
                        ctx.stack.bucket, row.output_key
                    ),
                ),
                Err(err) => e.fail("OUTPUT_UNREADABLE", format!("{err:#}")),
            },
            State::Failed { error, cause } => e.fail(&error, cause),
            State::TimedOut => e.fail("TIMED_OUT", "the execution timed out".into()),
            State::Aborted => e.fail("ABORTED", "the execution was stopped".into()),
        }
        let _ = tx.send(Update::Row(i, Box::new(e)));
        return;
    }
}

/// Where the manifest goes in the bucket: next to the outputs (their
/// common directory), named after the rows file.
pub fn manifest_key(rows: &[BatchRow], file_name: &str) -> String {
    let dirs: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| {
            let mut parts: Vec<&str> = r.output_key.split('/').collect();
            parts.pop();
            parts
        })
        .collect();
    let mut common: Vec<&str> = dirs.first().cloned().unwrap_or_default();
    for d in &dirs[1.min(dirs.len())..] {
        let n = common.iter().zip(d).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    common.push(file_name);
    common.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str) -> BatchRow {
        BatchRow {
            line: 1,
            output_key: key.into(),
            given_name: None,
            config: RenderConfig::new(30, hyperframes_producer::Format::Mp4),
            hash: "0".repeat(64),
        }
    }

    #[test]
    fn values_too_large_for_the_input_are_offloaded_next_to_the_plan() {
        let stack = StackTarget {
            bucket: "b".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:sm".into(),
            function_arn: None,
            local: None,
            memory_mb: None,
        };
        let mut r = row("v/a.mp4");
        r.config.variables = Some(hyperframes_producer::variables::Variables::new(
            serde_json::json!({"t": "small"})
                .as_object()
                .unwrap()
                .clone(),
        ));
        let small = input(&stack, "s3://b/p", "n", &r, PlanProtocol::V2, Some(2), None).unwrap();
        assert!(small.offload.is_none() && small.text.contains("\"small\""));
        r.config.variables = Some(hyperframes_producer::variables::Variables::new(
            serde_json::json!({"t": "y".repeat(200_000)})
                .as_object()
                .unwrap()
                .clone(),
        ));
        let big = input(&stack, "s3://b/p", "n", &r, PlanProtocol::V2, Some(2), None).unwrap();
        let (key, body) = big.offload.expect("offloaded");
        assert_eq!(key, "renders/n/variables.json");
        assert_eq!(body.len(), 200_008);
        assert!(big.text.len() < execution::MAX_INPUT_BYTES);
        assert!(
            big.text.contains("s3://b/renders/n/variables.json"),
            "{}",
            big.text
        );
    }

    #[test]
    fn the_manifest_goes_to_the_outputs_common_directory() {
        let m = "rows.manifest.jsonl";
        assert_eq!(
            manifest_key(&[row("a/b/x.mp4"), row("a/b/y.mp4")], m),
            "a/b/rows.manifest.jsonl"
        );
        assert_eq!(
            manifest_key(&[row("a/b/x.mp4"), row("a/c/y.mp4")], m),
            "a/rows.manifest.jsonl"
        );
        assert_eq!(manifest_key(&[row("x.mp4")], m), "rows.manifest.jsonl");
        assert_eq!(attempt_name("hfb-x", 0), "hfb-x");
        assert_eq!(attempt_name("hfb-x", 2), "hfb-x-r2");
    }
}
