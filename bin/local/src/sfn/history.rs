//! Turns what the interpreter reports (driver.mjs's JSON lines) into an
//! execution history shaped like GetExecutionHistory's: typed events with
//! ids, previous-event links, timestamps and per-type details.
//!
//! Links follow AWS's: a task's events chain TaskStateEntered ->
//! TaskScheduled -> TaskStarted -> TaskSucceeded/TaskFailed, a retry's
//! TaskScheduled follows the attempt that failed, and a Map iteration's
//! events follow MapIterationStarted. Where several iterations of one
//! state run at once, the interpreter does not say which StateEntered a
//! task call belongs to; they are paired in arrival order, which keeps
//! every chain within its own state.

use std::collections::{HashMap, VecDeque};

use serde_json::{json, Map, Value};

/// One line from the driver.
pub type Raw = Value;

#[derive(Debug, Default)]
pub struct History {
    events: Vec<Value>,
    last: i64,
    /// Task state name -> its StateEntered ids not yet claimed by a call.
    entered: HashMap<String, VecDeque<i64>>,
    /// Task state name -> TaskFailed ids of attempts not yet retried.
    failed: HashMap<String, VecDeque<i64>>,
    /// Task state name -> TaskFailed ids whose retry comes next.
    retrying: HashMap<String, VecDeque<i64>>,
    /// Driver call number -> (last event id, state name, resource).
    calls: HashMap<u64, (i64, String, String)>,
    /// Map state name -> its MapStateStarted id.
    maps: HashMap<String, i64>,
    region: String,
}

/// How a raw line ended the execution, if it did.
#[derive(Debug, Clone, PartialEq)]
pub enum Terminal {
    Succeeded(String),
    Failed(String, String),
    Aborted,
    TimedOut(String, String),
}

fn json_text(v: &Value) -> String {
    if v.is_null() {
        "null".into()
    } else {
        v.to_string()
    }
}

impl History {
    pub fn new(region: &str) -> History {
        History {
            region: region.to_string(),
            ..History::default()
        }
    }

    pub fn events(&self) -> &[Value] {
        &self.events
    }

    /// Appends one event; returns its id.
    pub fn push(
        &mut self,
        kind: &str,
        previous: i64,
        timestamp_ms: i64,
        details: Option<(&str, Value)>,
    ) -> i64 {
        let id = self.events.len() as i64 + 1;
        let mut e = Map::new();
        e.insert("timestamp".into(), json!(timestamp_ms as f64 / 1000.0));
        e.insert("type".into(), json!(kind));
        e.insert("id".into(), json!(id));
        e.insert("previousEventId".into(), json!(previous));
        if let Some((key, d)) = details {
            e.insert(key.into(), d);
        }
        self.events.push(Value::Object(e));
        self.last = id;
        id
    }

    pub fn started(&mut self, input: &str, role_arn: &str, timestamp_ms: i64) {
        self.push(
            "ExecutionStarted",
            0,
            timestamp_ms,
            Some((
                "executionStartedEventDetails",
                json!({"input": input, "inputDetails": {"truncated": false}, "roleArn": role_arn}),
            )),
        );
    }

    fn task_details(&self, resource: &str, extra: Value) -> Value {
        let (ty, res) = task_resource(resource);
        let mut d = json!({"resourceType": ty, "resource": res});
        if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                d.insert(k.clone(), v.clone());
            }
        }
        d
    }

    /// Applies one driver line; returns the terminal state it reached.
    /// `stop` is the error and cause StopExecution asked for.
    pub fn apply(&mut self, raw: &Raw, stop: Option<&(String, String)>) -> Option<Terminal> {
        let ts = raw["timestamp"].as_i64().unwrap_or(0);
        let kind = raw["type"].as_str().unwrap_or("");
        let name = raw["name"].as_str().unwrap_or("").to_string();
        let state_type = raw["stateType"].as_str().unwrap_or("");
        let last = self.last;
        match kind {
            "StateEntered" => self.state_entered(raw, ts, name, state_type),
            "StateExited" => {
                let mut prev = last;
                if state_type == "Map" {
                    prev = self.push("MapStateSucceeded", last, ts, None);
                }
                self.push(
                    &format!("{state_type}StateExited"),
                    prev,
                    ts,
                    Some((
                        "stateExitedEventDetails",
                        json!({"name": name, "output": json_text(&raw["output"])}),
                    )),
                );
            }
            "StateFailed" if state_type == "Map" => {
                self.push("MapStateFailed", last, ts, None);
            }
            "StateRetried" => {
                if let Some(id) = self.failed.get_mut(&name).and_then(VecDeque::pop_front) {
                    self.retrying.entry(name).or_default().push_back(id);
                }
            }
            "MapIterationStarted" | "MapIterationSucceeded" | "MapIterationFailed" => {
                self.map_iteration(raw, ts, kind, name)
            }
            "TaskScheduled" => self.task_scheduled(raw, ts),
            "TaskStarted" | "TaskSucceeded" | "TaskFailed" => self.task_progress(raw, ts, kind)?,
            _ => return self.execution_end(raw, ts, kind, stop),
        }
        None
    }

    /// `<Type>StateEntered`; a Task waits for its scheduling, a Map starts.
    fn state_entered(&mut self, raw: &Raw, ts: i64, name: String, state_type: &str) {
        let id = self.push(
            &format!("{state_type}StateEntered"),
            self.last,
            ts,
            Some((
                "stateEnteredEventDetails",
                json!({"name": name, "input": json_text(&raw["input"])}),
            )),
        );
        match state_type {
            "Task" => self.entered.entry(name).or_default().push_back(id),
            "Map" => {
                let started = self.push("MapStateStarted", id, ts, None);
                self.maps.insert(name, started);
            }
            _ => {}
        }
    }

    fn map_iteration(&mut self, raw: &Raw, ts: i64, kind: &str, name: String) {
        let prev = if kind == "MapIterationStarted" {
            self.maps.get(&name).copied().unwrap_or(self.last)
        } else {
            self.last
        };
        let key = format!(
            "mapIteration{}EventDetails",
            kind.trim_start_matches("MapIteration")
        );
        self.push(
            kind,
            prev,
            ts,
            Some((&key, json!({"name": name, "index": raw["index"]}))),
        );
    }

    /// A task follows its state's entry, or the failure being retried.
    fn task_scheduled(&mut self, raw: &Raw, ts: i64) {
        let state = raw["state"].as_str().unwrap_or("").to_string();
        let resource = raw["resource"].as_str().unwrap_or("").to_string();
        let prev = self
            .retrying
            .get_mut(&state)
            .and_then(VecDeque::pop_front)
            .or_else(|| self.entered.get_mut(&state).and_then(VecDeque::pop_front))
            .unwrap_or(self.last);
        let d = self.task_details(
            &resource,
            json!({"region": self.region, "parameters": json_text(&raw["parameters"])}),
        );
        let id = self.push(
            "TaskScheduled",
            prev,
            ts,
            Some(("taskScheduledEventDetails", d)),
        );
        if let Some(inv) = raw["inv"].as_u64() {
            self.calls.insert(inv, (id, state, resource));
        }
    }

    /// TaskStarted / TaskSucceeded / TaskFailed of a scheduled invocation;
    /// `None` for an invocation never scheduled.
    fn task_progress(&mut self, raw: &Raw, ts: i64, kind: &str) -> Option<()> {
        let (prev, state, resource) = raw["inv"]
            .as_u64()
            .and_then(|i| self.calls.get(&i).cloned())?;
        let (key, extra) = match kind {
            "TaskStarted" => ("taskStartedEventDetails", json!({})),
            "TaskSucceeded" => (
                "taskSucceededEventDetails",
                json!({"output": raw["output"].as_str().unwrap_or("null")}),
            ),
            _ => (
                "taskFailedEventDetails",
                json!({"error": raw["error"], "cause": raw["cause"]}),
            ),
        };
        let d = self.task_details(&resource, extra);
        let id = self.push(kind, prev, ts, Some((key, d)));
        if kind == "TaskFailed" {
            self.failed.entry(state.clone()).or_default().push_back(id);
        }
        if let Some(i) = raw["inv"].as_u64() {
            self.calls.insert(i, (id, state, resource));
        }
        Some(())
    }

    /// The execution's last event, if `kind` is one.
    fn execution_end(
        &mut self,
        raw: &Raw,
        ts: i64,
        kind: &str,
        stop: Option<&(String, String)>,
    ) -> Option<Terminal> {
        let last = self.last;
        let (event, key, details, terminal) = match kind {
            "ExecutionSucceeded" => {
                let output = json_text(&raw["output"]);
                (
                    kind,
                    "executionSucceededEventDetails",
                    json!({"output": output, "outputDetails": {"truncated": false}}),
                    Terminal::Succeeded(output),
                )
            }
            "ExecutionFailed" => {
                let error = raw["error"]
                    .as_str()
                    .unwrap_or("States.Runtime")
                    .to_string();
                let cause = raw["cause"].as_str().unwrap_or("").to_string();
                (
                    kind,
                    "executionFailedEventDetails",
                    json!({"error": error, "cause": cause}),
                    Terminal::Failed(error, cause),
                )
            }
            "ExecutionAborted" => {
                let (error, cause) = stop.cloned().unwrap_or_default();
                (
                    kind,
                    "executionAbortedEventDetails",
                    json!({"error": error, "cause": cause}),
                    Terminal::Aborted,
                )
            }
            "ExecutionTimeout" => {
                let (error, cause) = (
                    "States.Timeout".to_string(),
                    "The execution ran longer than the state machine's TimeoutSeconds.".to_string(),
                );
                (
                    "ExecutionTimedOut",
                    "executionTimedOutEventDetails",
                    json!({"error": error, "cause": cause}),
                    Terminal::TimedOut(error, cause),
                )
            }
            _ => return None,
        };
        self.push(event, last, ts, Some((key, details)));
        Some(terminal)
    }
}

/// `arn:aws:states:::lambda:invoke` -> (`lambda`, `invoke`); a plain
/// function ARN -> (`lambda`, the ARN).
fn task_resource(resource: &str) -> (String, String) {
    match resource.strip_prefix("arn:aws:states:::") {
        Some(rest) => {
            let mut p = rest.splitn(2, ':');
            (
                p.next().unwrap_or("").to_string(),
                p.next().unwrap_or("").to_string(),
            )
        }
        None => ("lambda".into(), resource.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(v: Value) -> Raw {
        v
    }

    #[test]
    fn a_retried_task_in_a_map_chains_like_aws() {
        let mut h = History::default();
        h.started("{}", "role", 0);
        let raws = [
            json!({"type": "StateEntered", "timestamp": 1, "name": "Map", "stateType": "Map", "input": {}}),
            json!({"type": "MapIterationStarted", "timestamp": 2, "name": "Map", "index": 0}),
            json!({"type": "StateEntered", "timestamp": 3, "name": "Work", "stateType": "Task", "input": {}}),
            json!({"type": "TaskScheduled", "timestamp": 4, "inv": 1, "state": "Work", "resource": "arn:aws:states:::lambda:invoke", "parameters": {"Payload": {}}}),
            json!({"type": "TaskStarted", "timestamp": 5, "inv": 1}),
            json!({"type": "TaskFailed", "timestamp": 6, "inv": 1, "error": "E", "cause": "c"}),
            json!({"type": "StateFailed", "timestamp": 6, "name": "Work", "stateType": "Task"}),
            json!({"type": "StateRetried", "timestamp": 7, "name": "Work", "stateType": "Task"}),
            json!({"type": "TaskScheduled", "timestamp": 8, "inv": 2, "state": "Work", "resource": "arn:aws:states:::lambda:invoke", "parameters": {}}),
            json!({"type": "TaskStarted", "timestamp": 9, "inv": 2}),
            json!({"type": "TaskSucceeded", "timestamp": 10, "inv": 2, "output": "{\"Payload\":1}"}),
            json!({"type": "StateExited", "timestamp": 11, "name": "Work", "stateType": "Task", "output": 1}),
            json!({"type": "MapIterationSucceeded", "timestamp": 12, "name": "Map", "index": 0}),
            json!({"type": "StateExited", "timestamp": 13, "name": "Map", "stateType": "Map", "output": [1]}),
            json!({"type": "ExecutionSucceeded", "timestamp": 14, "output": [1]}),
        ];
        let mut end = None;
        for r in &raws {
            end = h.apply(&line(r.clone()), None).or(end);
        }
        assert_eq!(end, Some(Terminal::Succeeded("[1]".into())));
        let e = h.events();
        let kinds: Vec<&str> = e.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "ExecutionStarted",
                "MapStateEntered",
                "MapStateStarted",
                "MapIterationStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskFailed",
                "TaskScheduled",
                "TaskStarted",
                "TaskSucceeded",
                "TaskStateExited",
                "MapIterationSucceeded",
                "MapStateSucceeded",
                "MapStateExited",
                "ExecutionSucceeded"
            ]
        );
        let by_id = |id: i64| &e[(id - 1) as usize];
        // The retry's TaskScheduled follows the failed attempt, which
        // follows its own TaskStarted, back to the TaskStateEntered.
        assert_eq!(e[8]["previousEventId"], 8);
        assert_eq!(e[7]["previousEventId"], 7);
        assert_eq!(by_id(6)["previousEventId"], 5);
        assert_eq!(e[4]["type"], "TaskStateEntered");
        assert_eq!(e[10]["taskSucceededEventDetails"]["resourceType"], "lambda");
        assert_eq!(e[10]["taskSucceededEventDetails"]["resource"], "invoke");
        assert_eq!(e[3]["mapIterationStartedEventDetails"]["index"], 0);
        assert_eq!(e[3]["previousEventId"], 3);
        assert_eq!(e[10]["timestamp"], 0.01);
    }
}
