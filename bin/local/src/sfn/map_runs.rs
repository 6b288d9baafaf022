//! Distributed Map children and Map Runs, as Step Functions shows them:
//! each child is an execution of its own (`execution:<machine>/<map run>:
//! <key>`, its own history, listed by `ListExecutions` with `mapRunArn`),
//! the parent's history has `MapRunStarted` (with the Map Run's ARN) and
//! `MapRunSucceeded`/`Failed`/`Aborted`, and `ListMapRuns`/`DescribeMapRun`
//! answer for the parent. The driver runs each child in an interpreter of
//! its own and tags its events with the child's key (driver.mjs).

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{aws_error, finish, now_ms, ok, secs, str_field, ChildOf, Execution, History, Shared};
use crate::http::Resp;

/// One Map Run of a parent execution.
#[derive(Debug, Clone)]
pub(super) struct MapRun {
    pub arn: String,
    /// The children's state machine ARN: `stateMachine:<machine>/<label>`.
    pub state_machine_arn: String,
    /// The Map state and the driver's run id, which its events carry.
    state: String,
    id: String,
    start_ms: i64,
    stop_ms: Option<i64>,
    status: &'static str,
}

/// Whether a driver line is about a Map Run or one of its children.
pub(super) fn is_distributed(raw: &Value) -> bool {
    raw["exec"].is_string()
        || raw["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("MapRun"))
}

/// The Map Run's label in its ARNs (Step Functions uses the Map's
/// `Label` or a UUID): unique per execution, Map state and run.
fn label(parent: &Execution, state: &str, id: &str) -> String {
    format!("{}-{state}-{id}", parent.name)
}

/// Applies a Map Run or child line of `parent_arn`'s driver.
pub(super) fn apply(s: &Shared, parent_arn: &str, raw: &Value) {
    let ts = raw["timestamp"].as_i64().unwrap_or_else(now_ms);
    let kind = raw["type"].as_str().unwrap_or("");
    match (kind, raw["exec"].as_str()) {
        ("MapRunStarted", None) => run_started(s, parent_arn, raw, ts),
        (k, None) if k.starts_with("MapRun") => run_ended(s, parent_arn, raw, ts, k),
        ("ChildStarted", Some(key)) => child_started(s, parent_arn, raw, key, ts),
        (_, Some(key)) => child_event(s, parent_arn, key, raw),
        _ => {}
    }
}

fn run_started(s: &Shared, parent_arn: &str, raw: &Value, ts: i64) {
    let mut execs = s.lock();
    let Some(p) = execs.iter_mut().find(|e| e.arn == parent_arn) else {
        return;
    };
    let state = raw["name"].as_str().unwrap_or("").to_string();
    let id = raw["mapRun"].as_str().unwrap_or("").to_string();
    let l = label(p, &state, &id);
    let machine = p.state_machine_arn.clone();
    let arn = format!(
        "{}/{l}:{l}",
        machine.replacen(":stateMachine:", ":mapRun:", 1)
    );
    let last = p.history.events().len() as i64;
    p.history.push(
        "MapRunStarted",
        last,
        ts,
        Some(("mapRunStartedEventDetails", json!({"mapRunArn": arn}))),
    );
    p.map_runs.push(MapRun {
        arn,
        state_machine_arn: format!("{machine}/{l}"),
        state,
        id,
        start_ms: ts,
        stop_ms: None,
        status: "RUNNING",
    });
}

fn run_ended(s: &Shared, parent_arn: &str, raw: &Value, ts: i64, kind: &str) {
    let mut execs = s.lock();
    let Some(p) = execs.iter_mut().find(|e| e.arn == parent_arn) else {
        return;
    };
    let (state, id) = (raw["name"].as_str(), raw["mapRun"].as_str());
    let Some(run) = p
        .map_runs
        .iter_mut()
        .find(|r| Some(r.state.as_str()) == state && Some(r.id.as_str()) == id)
    else {
        return;
    };
    run.stop_ms = Some(ts);
    run.status = match kind {
        "MapRunSucceeded" => "SUCCEEDED",
        "MapRunFailed" => "FAILED",
        _ => "ABORTED",
    };
    let details = match kind {
        "MapRunFailed" => Some((
            "mapRunFailedEventDetails",
            json!({"error": "States.ExceedToleratedFailureThreshold",
                   "cause": "The specified tolerated failure threshold was exceeded"}),
        )),
        _ => None,
    };
    let last = p.history.events().len() as i64;
    p.history.push(kind, last, ts, details);
}

fn child_started(s: &Shared, parent_arn: &str, raw: &Value, key: &str, ts: i64) {
    let mut execs = s.lock();
    let Some(p) = execs.iter().find(|e| e.arn == parent_arn) else {
        return;
    };
    let (state, id) = (raw["name"].as_str(), raw["mapRun"].as_str());
    let Some(run) = p
        .map_runs
        .iter()
        .find(|r| Some(r.state.as_str()) == state && Some(r.id.as_str()) == id)
    else {
        return;
    };
    let arn = format!(
        "{}:{key}",
        run.state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1)
    );
    let input = raw["input"].as_str().unwrap_or("{}").to_string();
    let mut history = History::new(&s.config.region);
    let role = s
        .machines
        .iter()
        .find(|m| m.arn == p.state_machine_arn)
        .map(|m| m.role_arn.clone())
        .unwrap_or_default();
    history.started(&input, &role, ts);
    let child = Execution {
        arn,
        name: key.to_string(),
        state_machine_arn: run.state_machine_arn.clone(),
        input,
        start_ms: ts,
        stop_ms: None,
        status: "RUNNING",
        output: None,
        error: None,
        history,
        stdin: None,
        stop: None,
        child_of: Some(ChildOf {
            map_run_arn: run.arn.clone(),
            parent_arn: parent_arn.to_string(),
            key: key.to_string(),
        }),
        map_runs: Vec::new(),
    };
    execs.push(child);
}

/// The child execution of `parent_arn` whose driver key is `key`.
fn child_arn(s: &Shared, parent_arn: &str, key: &str) -> Option<String> {
    s.lock()
        .iter()
        .find(|e| {
            e.child_of
                .as_ref()
                .is_some_and(|c| c.parent_arn == parent_arn && c.key == key)
        })
        .map(|e| e.arn.clone())
}

fn child_event(s: &Shared, parent_arn: &str, key: &str, raw: &Value) {
    let Some(arn) = child_arn(s, parent_arn, key) else {
        return;
    };
    let terminal = {
        let mut execs = s.lock();
        let Some(e) = execs.iter_mut().find(|e| e.arn == arn) else {
            return;
        };
        // A child stopped with its parent has no stop request of its own.
        let stop = e.stop.clone().or_else(|| {
            Some((
                "States.Aborted".into(),
                "The Map Run was stopped or failed".into(),
            ))
        });
        e.history.apply(raw, stop.as_ref())
    };
    if let Some(t) = terminal {
        finish(s, &arn, t);
    }
}

/// StopExecution of a child: the parent's interpreter aborts that child,
/// which fails the Map Run as on Step Functions.
pub(super) async fn stop_child(s: &Arc<Shared>, child: &ChildOf, stopped: Option<i64>) -> Resp {
    let stdin = s
        .lock()
        .iter_mut()
        .find(|e| e.arn == child.parent_arn)
        .and_then(|p| p.stdin.take());
    if let Some(mut stdin) = stdin {
        let _ = stdin
            .write_all(format!("abort {}\n", child.key).as_bytes())
            .await;
        let _ = stdin.flush().await;
        if let Some(p) = s.lock().iter_mut().find(|e| e.arn == child.parent_arn) {
            if p.status == "RUNNING" {
                p.stdin = Some(stdin);
            }
        }
    }
    ok(json!({"stopDate": secs(stopped.unwrap_or_else(now_ms))}))
}

fn summary(parent: &Execution, r: &MapRun) -> Value {
    let mut v = json!({
        "executionArn": parent.arn,
        "mapRunArn": r.arn,
        "stateMachineArn": r.state_machine_arn,
        "startDate": secs(r.start_ms),
    });
    if let Some(t) = r.stop_ms {
        v["stopDate"] = secs(t);
    }
    v
}

/// `ListMapRuns`: the Map Runs an execution started.
pub(super) fn list(s: &Shared, req: &Value) -> Resp {
    let Some(arn) = str_field(req, "executionArn") else {
        return aws_error("ValidationException", "executionArn is required");
    };
    let execs = s.lock();
    match execs.iter().find(|e| e.arn == arn) {
        Some(p) => {
            ok(json!({"mapRuns": p.map_runs.iter().map(|r| summary(p, r)).collect::<Vec<_>>()}))
        }
        None => aws_error(
            "ExecutionDoesNotExist",
            &format!("Execution Does Not Exist: '{arn}'"),
        ),
    }
}

/// `DescribeMapRun`: status and the children's counts by status.
pub(super) fn describe(s: &Shared, req: &Value) -> Resp {
    let Some(arn) = str_field(req, "mapRunArn") else {
        return aws_error("ValidationException", "mapRunArn is required");
    };
    let execs = s.lock();
    let found = execs
        .iter()
        .find_map(|p| p.map_runs.iter().find(|r| r.arn == arn).map(|r| (p, r)));
    let Some((parent, run)) = found else {
        return aws_error(
            "ResourceNotFound",
            &format!("Map Run Does Not Exist: '{arn}'"),
        );
    };
    let kids: Vec<&Execution> = execs
        .iter()
        .filter(|e| e.child_of.as_ref().is_some_and(|c| c.map_run_arn == arn))
        .collect();
    let count = |status: &str| kids.iter().filter(|e| e.status == status).count();
    let counts = json!({
        "pending": 0, "running": count("RUNNING"), "succeeded": count("SUCCEEDED"),
        "failed": count("FAILED"), "timedOut": count("TIMED_OUT"), "aborted": count("ABORTED"),
        "total": kids.len(), "resultsWritten": 0,
    });
    let mut v = summary(parent, run);
    v["status"] = json!(run.status);
    v["maxConcurrency"] = json!(0);
    v["toleratedFailurePercentage"] = json!(0.0);
    v["toleratedFailureCount"] = json!(0);
    v["itemCounts"] = counts.clone();
    v["executionCounts"] = counts;
    ok(v)
}
