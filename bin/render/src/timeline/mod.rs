//! Where a render's time and money went: one [`Bar`] per Lambda invocation
//! in its execution history, on a time axis (`progress --timeline`).
//!
//! The data comes first ([`Timeline`], built here from the history and,
//! when given, the function's REPORT data), the drawing second
//! ([`svg::render`]), so each is tested on its own and the same history
//! always gives the same bytes.

pub mod reports;
pub mod svg;

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::pricing::Prices;
use crate::progress::{payload, round6, Event, History};
use hyperframes_infra::contract::field;
pub use reports::Report;

/// How many of the slowest chunks are marked.
pub const SLOWEST: usize = 3;

/// The error name of a Lambda throttle as Step Functions reports it.
pub const THROTTLE_ERROR: &str = "Lambda.TooManyRequestsException";

/// Which stage an invocation ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Plan,
    RenderChunk,
    Assemble,
    /// A task this tool does not know (its state name).
    Other(String),
}

impl Stage {
    /// The event's `Action`, as the function and its REPORT records name it.
    pub fn action(&self) -> &str {
        match self {
            Stage::Plan => "plan",
            Stage::RenderChunk => "renderChunk",
            Stage::Assemble => "assemble",
            Stage::Other(s) => s,
        }
    }

    fn of(action: Option<&str>, state: &str) -> Stage {
        match action {
            Some("plan") => Stage::Plan,
            Some("renderChunk") => Stage::RenderChunk,
            Some("assemble") => Stage::Assemble,
            _ if state.starts_with("Plan") => Stage::Plan,
            _ if state.starts_with("RenderChunk") => Stage::RenderChunk,
            _ if state.starts_with("Assemble") => Stage::Assemble,
            _ => Stage::Other(state.to_string()),
        }
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// A failed attempt (retried, or the one that failed the render).
    Failed {
        error: String,
    },
    /// Refused by Lambda for want of concurrency ([`THROTTLE_ERROR`]).
    Throttled,
    /// Not ended when the history was read.
    Running,
}

/// One invocation. Times are ms from the execution's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// TaskStarted (TaskScheduled if it never started).
    pub start_ms: i64,
    /// Its end event (the time the history was read, if running).
    pub end_ms: i64,
    /// The cold start's init, from the REPORT data (`None`: warm, or not known).
    pub init_ms: Option<u64>,
    pub stage: Stage,
    pub chunk: Option<u32>,
    /// First and last frame (inclusive), once every earlier chunk reported its frames.
    pub frames: Option<(u64, u64)>,
    /// Billed ms: the REPORT's Billed Duration (init included), else the wall time.
    pub billed_ms: u64,
    /// `billed_ms` at the REPORT's Memory Size (else the price's memory).
    pub gb_seconds: f64,
    /// Whether `billed_ms` and `init_ms` come from a REPORT.
    pub reported: bool,
    pub cost_usd: f64,
    pub outcome: Outcome,
}

/// A render's invocations, in start order.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The execution's start, ms since the epoch.
    pub started_ms: i64,
    /// The axis' end: the last bar's end or the execution's stop.
    pub span_ms: i64,
    pub bars: Vec<Bar>,
    /// Indexes into `bars` of the slowest succeeded chunks, slowest first.
    pub slowest: Vec<usize>,
    /// REPORT records given (`None`: no `--reports`).
    pub reports_given: Option<usize>,
    pub memory_mb: u32,
}

impl Timeline {
    pub fn billed_ms(&self) -> u64 {
        self.bars.iter().map(|b| b.billed_ms).sum()
    }

    pub fn cost_usd(&self) -> f64 {
        round6(self.bars.iter().map(|b| b.cost_usd).sum())
    }

    /// All attempts' cost for one chunk (retries are part of its price).
    pub fn chunk_cost(&self, chunk: u32) -> f64 {
        let bars = self.bars.iter().filter(|b| b.stage == Stage::RenderChunk);
        round6(
            bars.filter(|b| b.chunk == Some(chunk))
                .map(|b| b.cost_usd)
                .sum(),
        )
    }
}

/// An invocation being put together from its events.
struct Draft {
    scheduled_id: i64,
    scheduled_ms: i64,
    started_ms: Option<i64>,
    end: Option<(i64, Outcome)>,
    stage: Stage,
    chunk: Option<u32>,
    frames_encoded: Option<u64>,
}

/// Builds the timeline of an execution that started at `started_ms`
/// (epoch ms). `now_ms` ends the bars still running; `stopped_ms` the axis.
pub fn build(
    events: &[Event],
    (started_ms, stopped_ms, now_ms): (i64, Option<i64>, i64),
    reports: Option<&[Report]>,
    prices: Prices,
) -> Result<Timeline> {
    let mut drafts = drafts(events);
    if drafts.is_empty() {
        bail!("the render has not started any invocation yet (its history has no scheduled task); draw its timeline once `progress` shows it running");
    }
    drafts.sort_by_key(|d| (d.started_ms.unwrap_or(d.scheduled_ms), d.scheduled_id));
    let end_of_running = stopped_ms.unwrap_or(now_ms);
    let spans: Vec<(i64, i64)> = drafts
        .iter()
        .map(|d| {
            let start = d.started_ms.unwrap_or(d.scheduled_ms);
            (
                start,
                d.end.as_ref().map_or(end_of_running, |e| e.0).max(start),
            )
        })
        .collect();
    let matched = reports.map_or_else(Vec::new, |r| reports::attach(&drafts, &spans, r));
    let frames = frame_ranges(&drafts);
    let mut bars = Vec::with_capacity(drafts.len());
    for (i, (d, (start, end))) in drafts.into_iter().zip(spans).enumerate() {
        let report = matched.get(i).copied().flatten();
        let outcome = d.end.map_or(Outcome::Running, |e| e.1);
        let (billed_ms, init_ms, memory_mb) = match report {
            Some(r) => (r.billed_ms, r.init_ms, r.memory_mb),
            // Lambda bills nothing for a request it throttled.
            None if outcome == Outcome::Throttled => (0, None, prices.memory_mb),
            None => ((end - start) as u64, None, prices.memory_mb),
        };
        let gb_s = memory_mb as f64 / 1024.0 * billed_ms as f64 / 1000.0;
        bars.push(Bar {
            start_ms: start - started_ms,
            end_ms: end - started_ms,
            init_ms,
            frames: d.chunk.and_then(|c| frames.get(&c).copied()),
            stage: d.stage,
            chunk: d.chunk,
            billed_ms,
            gb_seconds: gb_s,
            reported: report.is_some(),
            cost_usd: round6(gb_s * prices.lambda_gb_second),
            outcome,
        });
    }
    let last_end = bars.iter().map(|b| b.end_ms).max().unwrap_or(0);
    let span_ms = stopped_ms.map_or(last_end, |s| (s - started_ms).max(last_end));
    Ok(Timeline {
        started_ms,
        span_ms: span_ms.max(1),
        slowest: slowest(&bars),
        bars,
        reports_given: reports.map(<[Report]>::len),
        memory_mb: prices.memory_mb,
    })
}

/// One draft per scheduled task, following each through its events: a
/// TaskStarted points back at its TaskScheduled, an end at its TaskStarted.
fn drafts(events: &[Event]) -> Vec<Draft> {
    let history = History::new(events);
    let mut drafts: Vec<Draft> = Vec::new();
    // The last event of each open invocation -> its draft.
    let mut open: HashMap<i64, usize> = HashMap::new();
    for e in events {
        let k = e.kind.as_str();
        if k == "TaskScheduled" || k == "LambdaFunctionScheduled" {
            open.insert(e.id, drafts.len());
            drafts.push(scheduled(&history, e));
        } else if k == "TaskStarted" || k == "LambdaFunctionStarted" {
            if let Some(i) = open.remove(&e.previous_id) {
                drafts[i].started_ms = Some(e.timestamp_ms);
                open.insert(e.id, i);
            }
        } else if let Some(outcome) = end_of(e) {
            if let Some(i) = open.remove(&e.previous_id) {
                let d = &mut drafts[i];
                if outcome == Outcome::Succeeded {
                    let p = payload(e.output.as_deref().unwrap_or("null"));
                    d.chunk = d.chunk.or(p[field::CHUNK_INDEX].as_u64().map(|c| c as u32));
                    d.frames_encoded = p[field::FRAMES_ENCODED].as_u64();
                }
                d.end = Some((e.timestamp_ms, outcome));
            }
        }
    }
    drafts
}

/// A TaskScheduled: its stage and chunk from the payload it sends.
fn scheduled(history: &History, e: &Event) -> Draft {
    let params: Value = e
        .parameters
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(Value::Null);
    let sent = &params["Payload"];
    let state = history.state_of(e).unwrap_or_default();
    Draft {
        scheduled_id: e.id,
        scheduled_ms: e.timestamp_ms,
        started_ms: None,
        end: None,
        stage: Stage::of(sent[field::ACTION].as_str(), &state),
        chunk: sent[field::CHUNK_INDEX].as_u64().map(|c| c as u32),
        frames_encoded: None,
    }
}

/// The outcome an event ends an invocation with, if it ends one.
fn end_of(e: &Event) -> Option<Outcome> {
    let k = e.kind.as_str();
    let failed = [
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
    ];
    if k == "TaskSucceeded" || k == "LambdaFunctionSucceeded" {
        return Some(Outcome::Succeeded);
    }
    if !failed.contains(&k) {
        return None;
    }
    let error = e.error.clone().unwrap_or_else(|| k.to_string());
    Some(if error == THROTTLE_ERROR {
        Outcome::Throttled
    } else {
        Outcome::Failed { error }
    })
}

/// Chunk index -> (first, last) frame: chunks are consecutive, so a
/// chunk's range is known once it and every earlier one reported frames.
fn frame_ranges(drafts: &[Draft]) -> HashMap<u32, (u64, u64)> {
    let mut frames: Vec<(u32, u64)> = drafts
        .iter()
        .filter(|d| d.stage == Stage::RenderChunk)
        .filter_map(|d| Some((d.chunk?, d.frames_encoded?)))
        .collect();
    frames.sort();
    frames.dedup_by_key(|f| f.0);
    let mut ranges = HashMap::new();
    let mut next = 0u64;
    for (expected, (chunk, n)) in frames.into_iter().enumerate() {
        if chunk as usize != expected || n == 0 {
            break;
        }
        ranges.insert(chunk, (next, next + n - 1));
        next += n;
    }
    ranges
}

/// The succeeded chunks with the longest wall time, slowest first (ties:
/// earlier bar first).
fn slowest(bars: &[Bar]) -> Vec<usize> {
    let mut chunks: Vec<usize> = (0..bars.len())
        .filter(|&i| bars[i].stage == Stage::RenderChunk && bars[i].outcome == Outcome::Succeeded)
        .collect();
    chunks.sort_by_key(|&i| (std::cmp::Reverse(bars[i].end_ms - bars[i].start_ms), i));
    chunks.truncate(SLOWEST);
    chunks
}

/// Checks before any work that `path` can be written: its directory
/// exists and takes a new file.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "--timeline {} is a directory; name a file, e.g. {}/timeline.svg",
            path.display(),
            path.display()
        );
    }
    let dir = parent(path);
    tempfile::NamedTempFile::new_in(dir).map(drop).map_err(|e| {
        anyhow!(
            "--timeline {}: cannot write in {} ({e}); pick a path in a writable directory",
            path.display(),
            dir.display()
        )
    })
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `text` to `path` whole or not at all: a temporary file in the
/// same directory, renamed over `path`.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let dir = parent(path);
    let context = || format!("cannot write the timeline {}", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(context)?;
    tmp.write_all(text.as_bytes()).with_context(context)?;
    // A temporary file is private (0600); the drawing is not.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(tmp.path(), mode).with_context(context)?;
    }
    tmp.as_file().sync_all().with_context(context)?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(context)?;
    Ok(())
}

#[cfg(test)]
mod tests;
