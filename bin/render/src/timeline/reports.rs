//! The function's REPORT data (Init Duration, Billed Duration, Memory
//! Size), matched to the history's invocations by when they ended.
//!
//! The history does not carry Lambda request ids (a failed attempt's never,
//! and the offline Step Functions not at all), so an invocation is paired
//! with the REPORT of the same stage and chunk that ended closest to it,
//! within [`TOLERANCE_MS`].
//!
//! Two sources are read, both with the time each invocation ended:
//! - the local stack's `invocations.jsonl` (one JSON record per line);
//! - `aws logs filter-log-events ... --filter-pattern '"REPORT RequestId"'`
//!   output (JSON with `events`, each a `timestamp` and a REPORT `message`).

use anyhow::{bail, Result};
use serde_json::Value;

use super::{Draft, Outcome};

/// How far apart an invocation's end in the history and its REPORT may be.
pub const TOLERANCE_MS: i64 = 2_000;

/// One invocation as its REPORT describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub request_id: String,
    /// When it ended (ms since the epoch; CloudWatch: when REPORT was logged).
    pub ended_ms: i64,
    pub init_ms: Option<u64>,
    pub billed_ms: u64,
    pub memory_mb: u32,
    /// The event's `Action` and `ChunkIndex`, when the source records them.
    pub action: Option<String>,
    pub chunk: Option<u32>,
}

/// Parses REPORT data; every unreadable record is named at once.
pub fn parse(text: &str, source: &str) -> Result<Vec<Report>> {
    let whole: Option<Value> = serde_json::from_str(text).ok();
    if let Some(events) = whole.as_ref().and_then(|v| v["events"].as_array()) {
        return cloudwatch(events, source);
    }
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<Value>(line).ok().and_then(|v| record(&v)) {
            Some(r) => reports.push(r),
            None => problems.push(format!(
                "line {}: not a record of the local stack's invocations.jsonl (requestId, endedMs, billedMs, memorySizeMb)",
                n + 1
            )),
        }
    }
    if !problems.is_empty() {
        bail!(
            "--reports {source}: {}; pass the local stack's logs/invocations.jsonl or the JSON of `aws logs filter-log-events --filter-pattern '\"REPORT RequestId\"'`",
            problems.join("; ")
        );
    }
    Ok(reports)
}

/// A local stack record (`hyperframes_local::lambda::Record`).
fn record(v: &Value) -> Option<Report> {
    Some(Report {
        request_id: v["requestId"].as_str()?.to_string(),
        ended_ms: v["endedMs"].as_f64()? as i64,
        init_ms: v["init"].as_f64().map(|ms| ms.ceil() as u64),
        billed_ms: v["billedMs"].as_u64()?,
        memory_mb: v["memorySizeMb"].as_u64()? as u32,
        action: v["action"].as_str().map(str::to_string),
        chunk: v["event"]["ChunkIndex"].as_u64().map(|c| c as u32),
    })
}

/// CloudWatch Logs events; lines other than REPORT are skipped.
fn cloudwatch(events: &[Value], source: &str) -> Result<Vec<Report>> {
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    for (n, e) in events.iter().enumerate() {
        let Some(message) = e["message"].as_str() else {
            continue;
        };
        if !message.starts_with("REPORT ") {
            continue;
        }
        match (e["timestamp"].as_i64(), report_line(message)) {
            (Some(ts), Some(mut r)) => {
                r.ended_ms = ts;
                reports.push(r);
            }
            _ => problems.push(format!(
                "event {}: not a REPORT line with a timestamp",
                n + 1
            )),
        }
    }
    if !problems.is_empty() {
        bail!("--reports {source}: {}", problems.join("; "));
    }
    Ok(reports)
}

/// `REPORT RequestId: ID\tDuration: D ms\tBilled Duration: B ms\tMemory
/// Size: M MB\tMax Memory Used: U MB[\tInit Duration: I ms]`.
pub fn report_line(line: &str) -> Option<Report> {
    let field = |name: &str| {
        line.split('\t')
            .map(str::trim)
            .find_map(|f| f.strip_prefix(name))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    };
    let id = line
        .strip_prefix("REPORT RequestId: ")?
        .split_whitespace()
        .next()?;
    Some(Report {
        request_id: id.to_string(),
        ended_ms: 0,
        init_ms: field("Init Duration: ")
            .and_then(|v| v.parse::<f64>().ok())
            .map(|ms| ms.ceil() as u64),
        billed_ms: field("Billed Duration: ")?.parse().ok()?,
        memory_mb: field("Memory Size: ")?.parse().ok()?,
        action: None,
        chunk: None,
    })
}

/// Pairs each invocation (in `drafts` order, with its absolute span) with
/// at most one REPORT, closest ends first. Throttled attempts never ran,
/// so they have none.
pub(super) fn attach<'r>(
    drafts: &[Draft],
    spans: &[(i64, i64)],
    reports: &'r [Report],
) -> Vec<Option<&'r Report>> {
    let mut pairs = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        let Some((end, outcome)) = &d.end else {
            continue;
        };
        if *outcome == Outcome::Throttled {
            continue;
        }
        for (j, r) in reports.iter().enumerate() {
            let same_stage = r.action.as_deref().is_none_or(|a| a == d.stage.action());
            let same_chunk = match (r.chunk, d.chunk) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            let gap = (r.ended_ms - end).abs();
            if same_stage && same_chunk && gap <= TOLERANCE_MS {
                pairs.push((gap, i, j));
            }
        }
    }
    pairs.sort();
    let mut out = vec![None; spans.len()];
    let mut used = vec![false; reports.len()];
    for (_, i, j) in pairs {
        if out[i].is_none() && !used[j] {
            out[i] = Some(&reports[j]);
            used[j] = true;
        }
    }
    out
}
