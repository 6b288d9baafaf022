//! A typed Amazon States Language model: the states the render workflow
//! uses (Task, Map, Choice, Pass, Fail, Succeed), with Retry and Catch.
//!
//! Types rule out what the ASL schema forbids: a state has either `Next` or
//! `End` ([`Transition`]), a Map has `MaxConcurrency` or
//! `MaxConcurrencyPath` but not both ([`MaxConcurrency`]). What types cannot
//! rule out (a `Next` that names no state, an unreachable state) is checked
//! by [`Definition::problems`], which synth runs.

pub(crate) mod graph;

use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value as Json;

use crate::value::Number;

/// A whole state machine definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Definition {
    /// `Comment`: free text; Step Functions ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `StartAt` and `States`, inlined at the top level.
    #[serde(flatten)]
    pub graph: Graph,
    /// `TimeoutSeconds`: the execution fails with `States.Timeout` after this.
    /// Unset, a standard execution may run for up to a year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
}

impl Definition {
    /// The definition as ASL JSON, ready for
    /// [`crate::resources::stepfunctions::StateMachine::definition`].
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).expect("ASL definitions serialize")
    }

    /// Graph problems in the definition and every nested Map processor,
    /// each as `(state path, message)`: the same check synth runs.
    pub fn problems(&self) -> Vec<(String, String)> {
        graph::problems(&self.to_json())
    }
}

/// A set of states with its entry point: the top level of a definition,
/// or a Map's item processor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Graph {
    /// `StartAt`: the name of the first state; must be a key of `states`.
    pub start_at: String,
    /// `States` by name, in insertion order. Names are unique, up to 80 characters.
    pub states: IndexMap<String, State>,
}

impl Graph {
    /// An empty graph entered at `start_at`; add that state with [`Graph::state`].
    pub fn new(start_at: impl Into<String>) -> Self {
        Graph {
            start_at: start_at.into(),
            states: IndexMap::new(),
        }
    }

    /// Adds (or replaces) the state called `name`.
    pub fn state(mut self, name: impl Into<String>, state: impl Into<State>) -> Self {
        self.states.insert(name.into(), state.into());
        self
    }
}

/// Where a state goes next.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// `Next`: the name of the following state in the same graph.
    Next(String),
    /// `End: true`: the graph (execution or Map iteration) finishes here.
    End,
}

impl Transition {
    /// `Next` to the state called `name`.
    pub fn next(name: impl Into<String>) -> Self {
        Transition::Next(name.into())
    }
}

impl Serialize for Transition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Transition::Next(n) => m.serialize_entry("Next", n)?,
            Transition::End => m.serialize_entry("End", &true)?,
        }
        m.end()
    }
}

/// A state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Type")]
pub enum State {
    /// Does the work: calls a service integration such as Lambda invoke.
    Task(Task),
    /// Runs an item processor once per element of an array.
    Map(Map),
    /// Branches on the input.
    Choice(Choice),
    /// Passes (and reshapes) its input without doing work.
    Pass(Pass),
    /// Stops the execution as failed with a named error.
    Fail(Fail),
    /// Stops the execution (or Map iteration) successfully.
    Succeed(Succeed),
}

/// A payload or parameters template: keys ending in `.$` take their value
/// from a JSONPath or an intrinsic function, the others are literal.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Payload(IndexMap<String, Json>);

impl Payload {
    /// An empty payload (`{}`).
    pub fn new() -> Self {
        Payload::default()
    }

    /// A literal value.
    pub fn value(mut self, key: &str, v: impl Into<Json>) -> Self {
        self.0.insert(key.to_string(), v.into());
        self
    }

    /// A value taken from a path (`$.x`, `$$.Map.Item.Value`) or computed by
    /// an intrinsic (`States.ArrayRange(...)`).
    pub fn path(mut self, key: &str, path: &str) -> Self {
        self.0
            .insert(format!("{key}.$"), Json::String(path.to_string()));
        self
    }

    /// A nested object.
    pub fn nested(mut self, key: &str, inner: Payload) -> Self {
        self.0.insert(
            key.to_string(),
            serde_json::to_value(inner).expect("payloads serialize"),
        );
        self
    }

    /// The keys as written, `.$` suffixes included.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The value at `key` exactly as written (a path key includes its `.$`).
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.0.get(key)
    }
}

/// Retry policy for errors matching `error_equals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Retrier {
    /// `ErrorEquals`: error names this retrier handles; `States.ALL` matches any
    /// error and must come alone in the last retrier.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` before the first retry; Step Functions' default is 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u32>,
    /// `MaxAttempts`: retries after the first try; 0 means never, unset means 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// `BackoffRate`: the interval's multiplier per retry, at least 1.0; unset means 2.0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_rate: Option<Number>,
    /// `MaxDelaySeconds`: a cap on the interval however far backoff grows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u32>,
    /// `JitterStrategy`: unset means `NONE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<JitterStrategy>,
}

/// `JitterStrategy` of a Retrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JitterStrategy {
    /// Each wait is the backoff interval exactly.
    None,
    /// Each wait is drawn uniformly from 0 to the backoff interval, so
    /// iterations throttled together do not retry together.
    Full,
}

impl Retrier {
    /// Never retry these errors (MaxAttempts 0): retrying a deterministic
    /// failure only multiplies its cost.
    pub fn never(errors: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Retrier {
            error_equals: errors.into_iter().map(Into::into).collect(),
            interval_seconds: None,
            max_attempts: Some(0),
            backoff_rate: None,
            max_delay_seconds: None,
            jitter_strategy: None,
        }
    }

    /// Exponential backoff.
    pub fn backoff(
        errors: impl IntoIterator<Item = impl Into<String>>,
        interval_seconds: u32,
        max_attempts: u32,
        backoff_rate: f64,
        max_delay_seconds: u32,
    ) -> Self {
        Retrier {
            error_equals: errors.into_iter().map(Into::into).collect(),
            interval_seconds: Some(interval_seconds),
            max_attempts: Some(max_attempts),
            backoff_rate: Some(Number(backoff_rate)),
            max_delay_seconds: Some(max_delay_seconds),
            jitter_strategy: None,
        }
    }

    /// The same retrier with this `JitterStrategy`.
    pub fn jitter(mut self, strategy: JitterStrategy) -> Self {
        self.jitter_strategy = Some(strategy);
        self
    }
}

/// Routes matching errors to a state instead of failing the execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Catcher {
    /// `ErrorEquals`: error names routed; `States.ALL` matches any.
    pub error_equals: Vec<String>,
    /// `Next`: the state that handles the error.
    pub next: String,
    /// `ResultPath`: where the error object goes in the input passed to `next`;
    /// unset replaces the input with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_path: Option<String>,
}

/// A Task state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    /// `Comment`: free text; Step Functions ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `Resource`: the integration's ARN, e.g. `arn:aws:states:::lambda:invoke`.
    pub resource: String,
    /// `Parameters`: the request to the integration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Payload>,
    /// `ResultSelector`: picks fields from the raw result before `result_path` places it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Payload>,
    /// `ResultPath`: where the result goes in the state's input; unset replaces
    /// the input with the result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_path: Option<String>,
    /// `TimeoutSeconds`: the task fails with `States.Timeout` after this. Unset
    /// means no limit but the execution's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    /// `Retry`: tried in order, the first whose `ErrorEquals` matches applies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// `Catch`: applied once retries are exhausted; unmatched errors fail the execution.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// `Next` or `End`.
    #[serde(flatten)]
    pub transition: Transition,
}

impl Task {
    /// `arn:aws:states:::lambda:invoke` with `FunctionName` and `Payload`.
    pub fn lambda_invoke(function_arn: &str, payload: Payload, transition: Transition) -> Task {
        Task {
            comment: None,
            resource: "arn:aws:states:::lambda:invoke".into(),
            parameters: Some(
                Payload::new()
                    .value("FunctionName", function_arn)
                    .nested("Payload", payload),
            ),
            result_selector: None,
            result_path: None,
            timeout_seconds: None,
            retry: Vec::new(),
            catch: Vec::new(),
            transition,
        }
    }
}

/// How many Map iterations run at once: a fixed number or a path read from
/// the state input, never both.
#[derive(Debug, Clone, PartialEq)]
pub enum MaxConcurrency {
    /// `MaxConcurrency`: at most this many at once; 0 means no limit.
    Fixed(u32),
    /// `MaxConcurrencyPath`: a reference path to the limit in the state input.
    Path(String),
}

impl Serialize for MaxConcurrency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            MaxConcurrency::Fixed(n) => m.serialize_entry("MaxConcurrency", n)?,
            MaxConcurrency::Path(p) => m.serialize_entry("MaxConcurrencyPath", p)?,
        }
        m.end()
    }
}

/// How a Map runs its iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProcessorMode {
    /// Iterations run inside this execution and share its history (25,000 events),
    /// at most 40 at a time.
    Inline,
    /// Each iteration is a child execution: up to 10,000 in parallel, but it
    /// needs extra IAM permissions and is billed per child.
    Distributed,
}

/// What a Distributed Map's child workflows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExecutionType {
    /// Exactly-once, no duration cap, billed per state transition; its
    /// history can be read with GetExecutionHistory.
    Standard,
    /// At-least-once, at most 5 minutes, billed per request and duration;
    /// its history is only in CloudWatch Logs.
    Express,
}

/// `ProcessorConfig`: `Mode`, and for a distributed Map the child
/// workflows' `ExecutionType`, which Step Functions requires there and
/// refuses on an inline Map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProcessorConfig {
    /// `{"Mode": "INLINE"}`.
    Inline,
    /// `{"Mode": "DISTRIBUTED", "ExecutionType": ...}`.
    Distributed(ExecutionType),
}

impl ProcessorConfig {
    /// The `Mode` this config serializes.
    pub fn mode(self) -> ProcessorMode {
        match self {
            ProcessorConfig::Inline => ProcessorMode::Inline,
            ProcessorConfig::Distributed(_) => ProcessorMode::Distributed,
        }
    }
}

impl Serialize for ProcessorConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("Mode", &self.mode())?;
        if let ProcessorConfig::Distributed(t) = self {
            m.serialize_entry("ExecutionType", t)?;
        }
        m.end()
    }
}

/// A Map's `ItemProcessor`: the states run for each item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemProcessor {
    /// `ProcessorConfig`: inline or distributed.
    pub processor_config: ProcessorConfig,
    /// `StartAt` and `States` of the per-item graph.
    #[serde(flatten)]
    pub graph: Graph,
}

/// A Map state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Map {
    /// `Comment`: free text; Step Functions ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `ItemsPath`: a path to the array in the state input; unset means the input itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    /// `ItemSelector`: each iteration's input; `$$.Map.Item.Value` is the item and
    /// `$$.Map.Item.Index` its index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_selector: Option<Payload>,
    /// `ItemProcessor`: the graph run per item.
    pub item_processor: ItemProcessor,
    /// `MaxConcurrency` or `MaxConcurrencyPath`; unset means no limit.
    #[serde(flatten)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<MaxConcurrency>,
    /// `ResultSelector`: reshapes the array of iteration results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Payload>,
    /// `ResultPath`: where that array goes in the state's input; unset replaces
    /// the input with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_path: Option<String>,
    /// `Retry` for the Map as a whole, tried in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// `Catch` for the Map as a whole, after retries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// `Next` or `End`.
    #[serde(flatten)]
    pub transition: Transition,
}

/// A Choice rule's condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// The string at the path equals the value.
    StringEquals(String, String),
    /// The number at the path equals the value.
    NumericEquals(String, Number),
    /// The number at the path is greater than the value.
    NumericGreaterThan(String, Number),
    /// The number at the path is less than the value.
    NumericLessThan(String, Number),
    /// The boolean at the path equals the value.
    BooleanEquals(String, bool),
    /// Whether the path exists in the input. Comparing a path that does not
    /// exist is a `States.Runtime` error on Step Functions, so optional
    /// fields must be guarded with this first.
    IsPresent(String, bool),
    /// Whether the value at the path is (`true`) or is not (`false`) JSON `null`.
    IsNull(String, bool),
    /// Every rule holds.
    And(Vec<Rule>),
    /// At least one rule holds.
    Or(Vec<Rule>),
    /// The rule does not hold.
    Not(Box<Rule>),
}

impl Rule {
    fn write<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        match self {
            Rule::StringEquals(p, v) => {
                m.serialize_entry("Variable", p)?;
                m.serialize_entry("StringEquals", v)
            }
            Rule::NumericEquals(p, v) => {
                m.serialize_entry("Variable", p)?;
                m.serialize_entry("NumericEquals", v)
            }
            Rule::NumericGreaterThan(p, v) => {
                m.serialize_entry("Variable", p)?;
                m.serialize_entry("NumericGreaterThan", v)
            }
            Rule::NumericLessThan(p, v) => {
                m.serialize_entry("Variable", p)?;
                m.serialize_entry("NumericLessThan", v)
            }
            Rule::BooleanEquals(p, v) => {
                m.serialize_entry("Variable", p)?;
                m.serialize_entry("BooleanEquals", v)
            }
            Rule::IsPresent(p, v) => {
                m.serialize_entry("Variable", p)?;
                m.serialize_entry("IsPresent", v)
            }
            Rule::IsNull(p, v) => {
                m.serialize_entry("Variable", p)?;
                m.serialize_entry("IsNull", v)
            }
            Rule::And(rs) => m.serialize_entry("And", rs),
            Rule::Or(rs) => m.serialize_entry("Or", rs),
            Rule::Not(r) => m.serialize_entry("Not", r),
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.write(&mut m)?;
        m.end()
    }
}

/// A top-level Choice rule: a condition and where it leads.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    /// The condition.
    pub rule: Rule,
    /// `Next`: the state to go to when `rule` holds.
    pub next: String,
}

impl Serialize for ChoiceRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.rule.write(&mut m)?;
        m.serialize_entry("Next", &self.next)?;
        m.end()
    }
}

/// A Choice state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Choice {
    /// `Comment`: free text; Step Functions ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `Choices`: evaluated in order; the first rule that holds wins.
    pub choices: Vec<ChoiceRule>,
    /// `Default`: where to go when no rule holds. Unset, the execution fails
    /// with `States.NoChoiceMatched`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl Choice {
    /// A Choice with no rules and no default; add them with [`Choice::when`]
    /// and [`Choice::otherwise`].
    pub fn new() -> Self {
        Choice {
            comment: None,
            choices: Vec::new(),
            default: None,
        }
    }

    /// Adds a rule, after those already added (rules are evaluated in order).
    pub fn when(mut self, rule: Rule, next: impl Into<String>) -> Self {
        self.choices.push(ChoiceRule {
            rule,
            next: next.into(),
        });
        self
    }

    /// Sets `Default`: where to go when no rule holds.
    pub fn otherwise(mut self, next: impl Into<String>) -> Self {
        self.default = Some(next.into());
        self
    }
}

impl Default for Choice {
    fn default() -> Self {
        Choice::new()
    }
}

/// A Pass state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pass {
    /// `Comment`: free text; Step Functions ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `Parameters`: the output to build from the input (paths and intrinsics allowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Payload>,
    /// `ResultPath`: where that output goes in the input; unset replaces the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_path: Option<String>,
    /// `Next` or `End`.
    #[serde(flatten)]
    pub transition: Transition,
}

/// A Fail state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Fail {
    /// `Error`: the error name the execution fails with, as alarms and callers
    /// see it (ours come from [`crate::contract::ErrorName`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `Cause`: a human-readable explanation shown in the execution's failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// A Succeed state.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Succeed {
    /// `Comment`: free text; Step Functions ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

macro_rules! into_state {
    ($($t:ident),*) => {$(
        impl From<$t> for State {
            fn from(s: $t) -> State {
                State::$t(s)
            }
        }
    )*};
}
into_state!(Task, Map, Choice, Pass, Fail, Succeed);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn choice_rules_serialize_with_variable_and_next() {
        let c = Choice::new()
            .when(Rule::IsPresent("$.P".into(), false), "A")
            .when(
                Rule::And(vec![Rule::Not(Box::new(Rule::StringEquals(
                    "$.P".into(),
                    "v1".into(),
                )))]),
                "B",
            )
            .otherwise("C");
        assert_eq!(
            serde_json::to_value(State::Choice(c)).unwrap(),
            json!({"Type": "Choice", "Choices": [
                {"Variable": "$.P", "IsPresent": false, "Next": "A"},
                {"And": [{"Not": {"Variable": "$.P", "StringEquals": "v1"}}], "Next": "B"}
            ], "Default": "C"})
        );
    }

    #[test]
    fn map_has_one_concurrency_key() {
        let m = Map {
            comment: None,
            items_path: Some("$.xs".into()),
            item_selector: None,
            item_processor: ItemProcessor {
                processor_config: ProcessorConfig::Inline,
                graph: Graph::new("S").state("S", Succeed::default()),
            },
            max_concurrency: Some(MaxConcurrency::Path("$.n".into())),
            result_selector: None,
            result_path: None,
            retry: vec![],
            catch: vec![],
            transition: Transition::End,
        };
        let j = serde_json::to_value(State::Map(m)).unwrap();
        assert_eq!(j["MaxConcurrencyPath"], "$.n");
        assert!(j.get("MaxConcurrency").is_none());
        assert_eq!(j["End"], true);
        assert_eq!(j["ItemProcessor"]["StartAt"], "S");
    }

    /// `ExecutionType` is written for a distributed Map (where Step
    /// Functions requires it) and never for an inline one.
    #[test]
    fn processor_config_carries_execution_type_only_when_distributed() {
        let j = |c| serde_json::to_value(c).unwrap();
        assert_eq!(j(ProcessorConfig::Inline), json!({"Mode": "INLINE"}));
        assert_eq!(
            j(ProcessorConfig::Distributed(ExecutionType::Standard)),
            json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
        );
        assert_eq!(
            j(ProcessorConfig::Distributed(ExecutionType::Express))["ExecutionType"],
            "EXPRESS"
        );
    }

    #[test]
    fn graph_problems_find_dangling_and_unreachable_states() {
        let g = Graph::new("A")
            .state(
                "A",
                Pass {
                    comment: None,
                    parameters: None,
                    result_path: None,
                    transition: Transition::next("Nowhere"),
                },
            )
            .state("Orphan", Succeed::default());
        let d = Definition {
            comment: None,
            graph: g,
            timeout_seconds: None,
        };
        let p = d.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].1.contains("`Nowhere`"));
        assert_eq!(p[1].0, "Orphan");
    }
}
