//! Progress and cost of a render, read off its Step Functions execution
//! history. A pure function of (execution status, history, prices), so a
//! fixed history gives a fixed answer and tests can pin the arithmetic.
//!
//! Cost is what the render accrued so far: every Lambda invocation's wall
//! time (TaskStarted to its completion, successes *and* failures, since
//! both are billed; a cold start's init happens inside that span) at the
//! function's memory, plus state transitions. With the function's REPORT
//! data ([`Progress::use_reports`]) the Lambda part is the REPORT lines'
//! Billed Duration instead, which on `provided.al2023` includes the Init
//! Duration of a cold start. It leaves out S3 and CloudWatch, and says so.

use crate::pricing::Prices;
use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use hyperframes_infra::contract::field;

/// The error a Distributed Map fails with when its children failed.
pub const MAP_RUN_FAILED: &str = "States.ExceedToleratedFailureThreshold";

/// One history event, reduced to what progress needs. Built from the SDK's
/// `HistoryEvent` or from JSON (tests).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub previous_id: i64,
    pub timestamp_ms: i64,
    /// The event type, e.g. `TaskSucceeded`.
    pub kind: String,
    /// State name, for `*StateEntered` / `*StateExited`.
    pub state: Option<String>,
    /// Task output (`TaskSucceeded`) or state output (`*StateExited`).
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// A `TaskScheduled`'s parameters (JSON text): the Lambda payload the
    /// invocation got, which names its chunk even when the attempt fails.
    pub parameters: Option<String>,
}

impl Event {
    /// Reads the history JSON shape (`aws stepfunctions get-execution-history
    /// --cli-binary-format` with epoch-second timestamps).
    pub fn from_json(v: &Value) -> Option<Event> {
        let kind = v["type"].as_str()?.to_string();
        let ts = match &v["timestamp"] {
            Value::Number(n) => (n.as_f64()? * 1000.0).round() as i64,
            _ => return None,
        };
        let details = v
            .as_object()?
            .iter()
            .find(|(k, _)| k.ends_with("EventDetails"))
            .map(|(_, d)| d.clone())
            .unwrap_or(Value::Null);
        let s = |k: &str| details[k].as_str().map(str::to_string);
        Some(Event {
            id: v["id"].as_i64()?,
            previous_id: v["previousEventId"].as_i64().unwrap_or(0),
            timestamp_ms: ts,
            kind,
            state: s("name"),
            output: s("output"),
            error: s("error"),
            cause: s("cause"),
            parameters: s("parameters"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub lambda_usd: f64,
    pub step_functions_usd: f64,
    pub total_usd: f64,
    /// Billed Lambda time counted (ms), all invocations.
    pub lambda_ms: u64,
    pub lambda_gb_seconds: f64,
    pub state_transitions: u64,
    /// What the estimate leaves out.
    pub excludes: &'static str,
}

/// Task attempts that failed (a crashed or timed-out instance, an S3
/// error the function gave up on): the workflow retries each, except the
/// one that ends a failed render. Their Lambda time is part of
/// [`Cost`]; this says how much of it went on attempts that did not count.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retries {
    pub failed_attempts: u32,
    /// Billed Lambda time of those attempts (ms).
    pub lambda_ms: u64,
    pub lambda_usd: f64,
    /// Error name -> attempts, in name order.
    pub errors: std::collections::BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum State {
    Running,
    Succeeded,
    Failed { error: String, cause: String },
    TimedOut,
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    #[serde(flatten)]
    pub state: State,
    /// 0 before the plan, 0.1 + 0.8 x frames done / total while rendering, 1 when done.
    pub fraction: f64,
    pub chunks_done: u32,
    pub chunks_total: Option<u32>,
    pub frames_done: u64,
    pub frames_total: Option<u64>,
    pub lambda_invocations: u32,
    /// Invocations scheduled that have not ended. After a stop these
    /// still run to their end (Lambda does not stop them) and may write
    /// under the render's prefix.
    pub invocations_running: u32,
    pub elapsed_ms: u64,
    pub cost: Cost,
    pub retries: Retries,
    pub output_s3_uri: Option<String>,
    pub output_bytes: Option<u64>,
    /// The estimate `render` made before it started, when it made one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<crate::estimate::Summary>,
    /// Accrued cost over the expected estimate (1.0 = as estimated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_vs_estimate: Option<f64>,
    /// The billed Lambda GB-seconds, and whether the estimate's range holds them.
    pub billed: Billed,
    /// Billed GB-seconds over the estimate's expected GB-seconds (1.0 = as estimated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billed_vs_estimate: Option<f64>,
}

/// What Lambda billed for the render so far, in GB-seconds: the figure the
/// estimate's `lambdaGbSeconds` range predicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Billed {
    pub lambda_gb_seconds: f64,
    /// `reports`: each invocation's REPORT Billed Duration (Init Duration
    /// included, as Lambda bills `provided.al2023`) at its Memory Size;
    /// `history`: each invocation's span in the execution history, which
    /// holds a cold start's init too, at `--memory-mb`.
    pub source: &'static str,
    /// Invocations whose REPORT has an Init Duration (cold starts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_starts: Option<u32>,
    /// Their Init Duration, summed (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_ms: Option<u64>,
    /// Whether the billed GB-seconds lie within the estimate's range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_estimate: Option<bool>,
}

impl Progress {
    /// Records the estimate and the ratio of the accrued cost to it.
    pub fn set_estimate(&mut self, estimate: Option<crate::estimate::Summary>) {
        self.cost_vs_estimate = estimate
            .filter(|e| e.total_usd.expected > 0.0)
            .map(|e| round6(self.cost.total_usd / e.total_usd.expected));
        let gb_s = estimate.map(|e| e.lambda_gb_seconds);
        let billed = self.billed.lambda_gb_seconds;
        self.billed_vs_estimate = gb_s
            .filter(|r| r.expected > 0.0)
            .map(|r| round6(billed / r.expected));
        // Compared at the printed precision, so a bill shown equal to an
        // end of the range is inside it.
        self.billed.within_estimate =
            gb_s.map(|r| round6(r.low) <= billed && billed <= round6(r.high));
        self.estimate = estimate;
    }

    /// Bills Lambda from the function's REPORT data, matched to the
    /// history's invocations in `t` (`progress --reports`): the Lambda cost
    /// and the billed GB-seconds become the REPORT lines' Billed Duration,
    /// cold starts' init included; the ratios to the estimate follow.
    pub fn use_reports(&mut self, t: &crate::timeline::Timeline, prices: Prices) {
        let gb_seconds: f64 = t.bars.iter().map(|b| b.gb_seconds).sum();
        let inits: Vec<u64> = t.bars.iter().filter_map(|b| b.init_ms).collect();
        let lambda_usd = gb_seconds * prices.lambda_gb_second;
        self.cost.lambda_ms = t.billed_ms();
        self.cost.lambda_gb_seconds = round6(gb_seconds);
        self.cost.lambda_usd = round6(lambda_usd);
        self.cost.total_usd = round6(lambda_usd + self.cost.step_functions_usd);
        self.billed = Billed {
            lambda_gb_seconds: round6(gb_seconds),
            source: "reports",
            cold_starts: Some(inits.len() as u32),
            init_ms: Some(inits.iter().sum()),
            within_estimate: None,
        };
        self.set_estimate(self.estimate);
    }
}

/// The Lambda payload inside a `lambda:invoke` task output.
pub(crate) fn payload(output: &str) -> Value {
    let v: Value = serde_json::from_str(output).unwrap_or(Value::Null);
    match v.get("Payload") {
        Some(p @ Value::Object(_)) => p.clone(),
        _ => v,
    }
}

pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// What the history says, accumulated event by event.
#[derive(Default)]
struct Tally {
    transitions: u64,
    invocations: u32,
    ended: u32,
    lambda_ms: u64,
    frames_done: u64,
    chunks_done: u32,
    frames_total: Option<u64>,
    chunks_total: Option<u32>,
    output_s3_uri: Option<String>,
    output_bytes: Option<u64>,
    failure: Option<(String, String)>,
    retries: Retries,
}

/// An execution history, indexed by event id.
pub(crate) struct History<'a> {
    by_id: HashMap<i64, &'a Event>,
}

impl<'a> History<'a> {
    pub(crate) fn new(events: &'a [Event]) -> Self {
        History {
            by_id: events.iter().map(|e| (e.id, e)).collect(),
        }
    }

    /// The state a task event belongs to: walk back to its *StateEntered.
    /// Event ids strictly decrease along previous ids, so the walk ends.
    pub(crate) fn state_of(&self, e: &Event) -> Option<String> {
        let mut cur = e;
        loop {
            if cur.kind.ends_with("StateEntered") {
                return cur.state.clone();
            }
            let prev = self.by_id.get(&cur.previous_id)?;
            if prev.id >= cur.id {
                return None;
            }
            cur = prev;
        }
    }

    fn tally(&self, events: &[Event]) -> Tally {
        let mut t = Tally::default();
        for e in events {
            let k = e.kind.as_str();
            if k.ends_with("StateEntered") {
                t.transitions += 1;
            }
            match k {
                "TaskScheduled" | "LambdaFunctionScheduled" => t.invocations += 1,
                "TaskSucceeded"
                | "TaskFailed"
                | "TaskTimedOut"
                | "LambdaFunctionSucceeded"
                | "LambdaFunctionFailed"
                | "LambdaFunctionTimedOut" => self.task_ended(e, &mut t),
                // A Distributed Map fails the render with this name when a
                // chunk's child execution failed; that chunk's error, merged
                // in from the child's history, is the one to report.
                "ExecutionFailed"
                    if e.error.as_deref() == Some(MAP_RUN_FAILED) && t.failure.is_some() => {}
                "ExecutionFailed" => t.failure = Some(error_and_cause(e)),
                _ => {}
            }
        }
        t
    }

    /// A task's end: its duration, and what its stage reports on success
    /// (or the first failure).
    fn task_ended(&self, e: &Event, t: &mut Tally) {
        let ms = self
            .by_id
            .get(&e.previous_id)
            .filter(|s| s.kind.ends_with("Started"))
            .map_or(0, |started| {
                (e.timestamp_ms - started.timestamp_ms).max(0) as u64
            });
        t.lambda_ms += ms;
        t.ended += 1;
        if !e.kind.ends_with("Succeeded") {
            t.retries.failed_attempts += 1;
            t.retries.lambda_ms += ms;
            let name = e.error.clone().unwrap_or_else(|| e.kind.clone());
            *t.retries.errors.entry(name).or_default() += 1;
            if t.failure.is_none() {
                t.failure = Some(error_and_cause(e));
            }
            return;
        }
        let p = payload(e.output.as_deref().unwrap_or("null"));
        let state = self.state_of(e).unwrap_or_default();
        if state.starts_with("RenderChunk") {
            t.chunks_done += 1;
            t.frames_done += p[field::FRAMES_ENCODED].as_u64().unwrap_or(0);
        } else if state.starts_with("Plan") {
            t.frames_total = p["TotalFrames"].as_u64().or(t.frames_total);
            t.chunks_total = p[field::CHUNK_COUNT]
                .as_u64()
                .map(|n| n as u32)
                .or(t.chunks_total);
        } else if state.starts_with("Assemble") {
            t.output_s3_uri = p[field::OUTPUT_S3_URI].as_str().map(str::to_string);
            t.output_bytes = p[field::FILE_SIZE].as_u64();
        }
    }
}

fn error_and_cause(e: &Event) -> (String, String) {
    (
        e.error.clone().unwrap_or_else(|| "UNKNOWN".into()),
        e.cause.clone().unwrap_or_default(),
    )
}

fn state_of_execution(status: &str, failure: Option<(String, String)>) -> State {
    match status {
        "SUCCEEDED" => State::Succeeded,
        "FAILED" => {
            let (error, cause) = failure.unwrap_or_else(|| ("UNKNOWN".into(), String::new()));
            State::Failed { error, cause }
        }
        "TIMED_OUT" => State::TimedOut,
        "ABORTED" => State::Aborted,
        _ => State::Running,
    }
}

/// Plan is the first tenth, chunks the next eight, assemble the last.
fn fraction(state: &State, frames_done: u64, frames_total: Option<u64>) -> f64 {
    match (state, frames_total) {
        (State::Succeeded, _) => 1.0,
        (_, Some(total)) if total > 0 => 0.1 + 0.8 * (frames_done as f64 / total as f64).min(1.0),
        _ => 0.0,
    }
}

fn cost(t: &Tally, prices: Prices) -> Cost {
    let gb_seconds = prices.memory_mb as f64 / 1024.0 * t.lambda_ms as f64 / 1000.0;
    let lambda_usd = gb_seconds * prices.lambda_gb_second;
    let sfn_usd = t.transitions as f64 * prices.state_transition;
    Cost {
        lambda_usd: round6(lambda_usd),
        step_functions_usd: round6(sfn_usd),
        total_usd: round6(lambda_usd + sfn_usd),
        lambda_ms: t.lambda_ms,
        lambda_gb_seconds: round6(gb_seconds),
        state_transitions: t.transitions,
        excludes: "S3 storage and requests, data transfer, CloudWatch",
    }
}

/// Computes progress. `status` is DescribeExecution's status; `now_ms` is
/// used for the elapsed time of a running execution.
pub fn compute(
    status: &str,
    started_ms: i64,
    stopped_ms: Option<i64>,
    now_ms: i64,
    events: &[Event],
    prices: Prices,
) -> Progress {
    let mut t = History::new(events).tally(events);
    let cost = cost(&t, prices);
    t.retries.lambda_usd = round6(
        prices.memory_mb as f64 / 1024.0 * t.retries.lambda_ms as f64 / 1000.0
            * prices.lambda_gb_second,
    );
    let state = state_of_execution(status, t.failure);
    let billed = Billed {
        lambda_gb_seconds: cost.lambda_gb_seconds,
        source: "history",
        cold_starts: None,
        init_ms: None,
        within_estimate: None,
    };
    Progress {
        fraction: fraction(&state, t.frames_done, t.frames_total),
        state,
        chunks_done: t.chunks_done,
        chunks_total: t.chunks_total,
        frames_done: t.frames_done,
        frames_total: t.frames_total,
        lambda_invocations: t.invocations,
        invocations_running: t.invocations.saturating_sub(t.ended),
        elapsed_ms: (stopped_ms.unwrap_or(now_ms) - started_ms).max(0) as u64,
        cost,
        retries: t.retries,
        output_s3_uri: t.output_s3_uri,
        output_bytes: t.output_bytes,
        estimate: None,
        cost_vs_estimate: None,
        billed,
        billed_vs_estimate: None,
    }
}

/// One human line: `[RUNNING] 45% 2/4 chunks 30/60 frames 12.3s $0.0123`.
pub fn line(p: &Progress) -> String {
    let state = match &p.state {
        State::Running => "RUNNING".to_string(),
        State::Succeeded => "SUCCEEDED".to_string(),
        State::Failed { error, .. } => format!("FAILED {error}"),
        State::TimedOut => "TIMED_OUT".to_string(),
        State::Aborted => "ABORTED".to_string(),
    };
    let chunks = p.chunks_total.map_or("?".to_string(), |t| t.to_string());
    let frames = p.frames_total.map_or("?".to_string(), |t| t.to_string());
    let estimate = match (&p.estimate, p.cost_vs_estimate) {
        (Some(e), Some(ratio)) => format!(
            " (estimate ${:.4}, ${:.4}-${:.4}; {ratio:.2}x{})",
            e.total_usd.expected,
            e.total_usd.low,
            e.total_usd.high,
            billed_vs_estimate(p, e)
        ),
        _ => String::new(),
    };
    let retries = match p.retries.failed_attempts {
        0 => String::new(),
        n => format!(
            ", {n} failed attempt{} ${:.4}",
            if n == 1 { "" } else { "s" },
            p.retries.lambda_usd
        ),
    };
    format!(
        "[{state}] {:>3.0}% {}/{chunks} chunks {}/{frames} frames {:.1}s ${:.4}{retries}{estimate}",
        p.fraction * 100.0,
        p.chunks_done,
        p.frames_done,
        p.elapsed_ms as f64 / 1000.0,
        p.cost.total_usd
    )
}

/// `; billed 130.0 GB-s = 0.87x the estimated 150.0 GB-s (100.0-200.0)`,
/// with where the billed figure comes from and whether the range holds it.
fn billed_vs_estimate(p: &Progress, e: &crate::estimate::Summary) -> String {
    let Some(ratio) = p.billed_vs_estimate else {
        return String::new();
    };
    let r = e.lambda_gb_seconds;
    let b = &p.billed;
    let source = match (b.source, b.cold_starts) {
        ("reports", Some(n)) => {
            format!(" (REPORT, {n} cold start{})", if n == 1 { "" } else { "s" })
        }
        _ => String::new(),
    };
    let outside = match b.within_estimate {
        Some(false) => ", outside its range",
        _ => "",
    };
    format!(
        "; billed {:.1} GB-s{source} = {ratio:.2}x the estimated {:.1} GB-s ({:.1}-{:.1}){outside}",
        b.lambda_gb_seconds, r.expected, r.low, r.high
    )
}

/// Execution histories built in tests (progress's and the timeline's).
#[cfg(test)]
pub(crate) mod history_fixture {
    use super::Event;
    use serde_json::{json, Value};

    /// A history in `aws stepfunctions get-execution-history` shape: each
    /// entry is (type, previous id, time in s, details); ids count from 1.
    pub(crate) fn history(rows: &[(&str, i64, f64, Value)]) -> Vec<Event> {
        rows.iter()
            .enumerate()
            .map(|(i, (kind, prev, t, details))| {
                let mut v =
                    json!({"id": i as i64 + 1, "previousEventId": prev, "timestamp": t, "type": kind});
                if !details.is_null() {
                    v["detailsEventDetails"] = details.clone();
                }
                Event::from_json(&v).unwrap()
            })
            .collect()
    }

    pub(crate) fn entered(name: &str) -> Value {
        json!({"name": name})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed histories' figures are at 10 GB (10,240 MB).
    fn at_10_gb() -> Prices {
        Prices {
            memory_mb: 10240,
            ..Prices::default()
        }
    }
    use serde_json::json;

    use crate::progress::history_fixture::{entered, history};

    fn out(p: Value) -> Value {
        json!({"output": json!({"Payload": p, "StatusCode": 200}).to_string()})
    }

    /// Plan (2 s), two chunks (4 s and 6 s, 30 frames each), assemble (1 s).
    fn succeeded() -> Vec<Event> {
        history(&[
            ("ExecutionStarted", 0, 0.0, Value::Null), // 1
            ("ChoiceStateEntered", 1, 0.1, entered("SelectPlanProtocol")), // 2
            ("TaskStateEntered", 2, 0.2, entered("PlanV2")), // 3
            ("TaskScheduled", 3, 0.3, Value::Null),    // 4
            ("TaskStarted", 4, 1.0, Value::Null),      // 5
            (
                "TaskSucceeded",
                5,
                3.0,
                out(json!({"TotalFrames": 60, "ChunkCount": 2})),
            ), // 6
            ("ChoiceStateEntered", 6, 3.1, entered("AssertChunkCount")), // 7
            ("PassStateEntered", 7, 3.2, entered("BuildChunkList")), // 8
            (
                "ChoiceStateEntered",
                8,
                3.3,
                entered("SelectWorkerProtocol"),
            ), // 9
            ("MapStateEntered", 9, 3.4, entered("RenderChunksV2")), // 10
            ("TaskStateEntered", 10, 3.5, entered("RenderChunkV2")), // 11
            ("TaskStateEntered", 10, 3.5, entered("RenderChunkV2")), // 12
            ("TaskScheduled", 11, 3.6, Value::Null),   // 13
            ("TaskScheduled", 12, 3.6, Value::Null),   // 14
            ("TaskStarted", 13, 4.0, Value::Null),     // 15
            ("TaskStarted", 14, 4.0, Value::Null),     // 16
            (
                "TaskSucceeded",
                15,
                8.0,
                out(json!({"ChunkIndex": 0, "FramesEncoded": 30})),
            ), // 17
            (
                "TaskSucceeded",
                16,
                10.0,
                out(json!({"ChunkIndex": 1, "FramesEncoded": 30})),
            ), // 18
            ("TaskStateEntered", 18, 10.5, entered("AssembleV2")), // 19
            ("TaskScheduled", 19, 10.6, Value::Null),  // 20
            ("TaskStarted", 20, 11.0, Value::Null),    // 21
            (
                "TaskSucceeded",
                21,
                12.0,
                out(
                    json!({"OutputS3Uri": "s3://b/outputs/r.mp4", "FramesEncoded": 60, "FileSize": 4321}),
                ),
            ), // 22
            ("ExecutionSucceeded", 22, 12.1, Value::Null), // 23
        ])
    }

    #[test]
    fn cost_of_a_fixed_history_is_exact() {
        let p = compute(
            "SUCCEEDED",
            0,
            Some(12_100),
            99_999,
            &succeeded(),
            at_10_gb(),
        );
        assert_eq!(p.state, State::Succeeded);
        assert_eq!(p.fraction, 1.0);
        assert_eq!((p.chunks_done, p.chunks_total), (2, Some(2)));
        assert_eq!((p.frames_done, p.frames_total), (60, Some(60)));
        assert_eq!(p.lambda_invocations, 4);
        assert_eq!(p.invocations_running, 0);
        assert_eq!(p.elapsed_ms, 12_100);
        // 2 + 4 + 6 + 1 s at 10 GB = 130 GB-s.
        assert_eq!(p.cost.lambda_ms, 13_000);
        assert_eq!(p.cost.lambda_gb_seconds, 130.0);
        assert_eq!(p.cost.lambda_usd, 0.002167); // 130 x 0.0000166667
        assert_eq!(p.cost.state_transitions, 9);
        assert_eq!(p.cost.step_functions_usd, 0.000225); // 9 x 0.000025
        assert_eq!(p.cost.total_usd, 0.002392);
        assert_eq!(p.output_s3_uri.as_deref(), Some("s3://b/outputs/r.mp4"));
        assert_eq!(p.output_bytes, Some(4321));
        assert_eq!(p.retries, Retries::default());
        assert_eq!(
            line(&p),
            "[SUCCEEDED] 100% 2/2 chunks 60/60 frames 12.1s $0.0024"
        );
    }

    #[test]
    fn the_estimate_stands_beside_the_accrued_cost() {
        use crate::estimate::model::Range;
        let mut p = compute(
            "SUCCEEDED",
            0,
            Some(12_100),
            99_999,
            &succeeded(),
            at_10_gb(),
        );
        let r = |low, expected, high| Range {
            low,
            expected,
            high,
        };
        p.set_estimate(Some(crate::estimate::Summary {
            total_usd: r(0.002, 0.003, 0.004),
            lambda_gb_seconds: r(100.0, 150.0, 200.0),
            state_transitions: 9,
        }));
        // $0.002392 accrued against $0.003 expected.
        assert_eq!(p.cost_vs_estimate, Some(0.797333));
        assert_eq!(
            line(&p),
            "[SUCCEEDED] 100% 2/2 chunks 60/60 frames 12.1s $0.0024 (estimate $0.0030, $0.0020-$0.0040; 0.80x; billed 130.0 GB-s = 0.87x the estimated 150.0 GB-s (100.0-200.0))"
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["estimate"]["stateTransitions"], 9);
        assert_eq!(json["costVsEstimate"], 0.797333);
        assert_eq!(json["billedVsEstimate"], 0.866667);
        assert_eq!(json["billed"]["source"], "history");
        assert_eq!(json["billed"]["withinEstimate"], true);
        // Without an estimate nothing changes.
        p.set_estimate(None);
        assert!(!line(&p).contains("estimate"));
    }

    #[test]
    fn prices_and_memory_are_inputs() {
        let prices = Prices {
            lambda_gb_second: 0.00001,
            state_transition: 0.0,
            memory_mb: 2048,
        };
        let p = compute("SUCCEEDED", 0, Some(1), 1, &succeeded(), prices);
        // 13 s at 2 GB = 26 GB-s.
        assert_eq!(p.cost.lambda_usd, 0.00026);
        assert_eq!(p.cost.total_usd, 0.00026);
    }

    #[test]
    fn fraction_while_running() {
        let events = succeeded();
        // Before the plan returns: 0.
        let p = compute("RUNNING", 0, None, 2_000, &events[..5], at_10_gb());
        assert_eq!(p.fraction, 0.0);
        assert_eq!(p.frames_total, None);
        // One of two chunks done: 0.1 + 0.8 x 30/60.
        let p = compute("RUNNING", 0, None, 9_000, &events[..17], at_10_gb());
        assert!((p.fraction - 0.5).abs() < 1e-9, "{}", p.fraction);
        assert_eq!(p.chunks_done, 1);
        assert_eq!(p.invocations_running, 1, "the second chunk");
        assert_eq!(p.elapsed_ms, 9_000);
    }

    #[test]
    fn failures_are_named_and_billed() {
        let events = history(&[
            ("ExecutionStarted", 0, 0.0, Value::Null),
            ("TaskStateEntered", 1, 0.1, entered("PlanV2")),
            ("TaskScheduled", 2, 0.2, Value::Null),
            ("TaskStarted", 3, 1.0, Value::Null),
            (
                "TaskFailed",
                4,
                4.0,
                json!({"error": "FONT_FETCH_FAILED", "cause": "{\"errorMessage\":\"no font\"}"}),
            ),
            (
                "ExecutionFailed",
                5,
                4.1,
                json!({"error": "FONT_FETCH_FAILED", "cause": "no font"}),
            ),
        ]);
        let p = compute("FAILED", 0, Some(4_100), 0, &events, at_10_gb());
        assert_eq!(
            p.state,
            State::Failed {
                error: "FONT_FETCH_FAILED".into(),
                cause: "no font".into()
            }
        );
        assert_eq!(p.cost.lambda_ms, 3_000, "failed invocations are billed too");
        assert_eq!(p.retries.failed_attempts, 1);
        assert_eq!(p.retries.lambda_ms, 3_000);
        assert_eq!(p.retries.errors["FONT_FETCH_FAILED"], 1);
        assert!(line(&p).starts_with("[FAILED FONT_FETCH_FAILED]"));
        assert!(line(&p).contains(", 1 failed attempt $"), "{}", line(&p));
    }
}
