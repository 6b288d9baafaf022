//! The render workflow: Plan -> Map(N) RenderChunk -> Assemble, in both plan
//! protocols, built from the contract so that field names, actions and
//! Retry lists come from one place.

use crate::asl::{
    Choice, Definition, ExecutionType, Fail, Graph, ItemProcessor, JitterStrategy, Map,
    MaxConcurrency, Pass, Payload, ProcessorConfig, Retrier, Rule, Task, Transition,
};
use crate::contract::{
    field, plan_location_fields, state_path, Action, ErrorName, PlanProtocol, RETRY_BACKOFF_RATE,
    RETRY_INTERVAL_SECONDS, RETRY_MAX_ATTEMPTS, RETRY_MAX_DELAY_SECONDS, THROTTLE_BACKOFF_RATE,
    THROTTLE_ERRORS, THROTTLE_INTERVAL_SECONDS, THROTTLE_MAX_ATTEMPTS, THROTTLE_MAX_DELAY_SECONDS,
};
use crate::value::Number;

/// Names of the workflow's states, for tests and for users who add Catch
/// routes or alarms on specific states.
pub mod states {
    /// Choice: routes on the input's `PlanProtocol` (absent means v2).
    pub const SELECT_PLAN_PROTOCOL: &str = "SelectPlanProtocol";
    /// Fail with `PLAN_PROTOCOL_UNSUPPORTED`: `PlanProtocol` is neither v1 nor v2.
    pub const UNSUPPORTED_PLAN_PROTOCOL: &str = "UnsupportedPlanProtocol";
    /// Task: the v1 plan stage (one plan tarball).
    pub const PLAN_V1: &str = "Plan";
    /// Task: the v2 plan stage (manifest and content-addressed blobs).
    pub const PLAN_V2: &str = "PlanV2";
    /// Choice: checks `ChunkCount` is 1..=1000 before the fan-out.
    pub const ASSERT_CHUNK_COUNT: &str = "AssertChunkCount";
    /// Fail with `PLAN_TOO_LARGE`: the plan produced no chunks.
    pub const PLAN_PRODUCED_ZERO_CHUNKS: &str = "PlanProducedZeroChunks";
    /// Fail with `PLAN_TOO_LARGE`: more than 1000 chunks, the most one Map can list.
    pub const PLAN_EXCEEDS_CHUNK_LIMIT: &str = "PlanExceedsChunkLimit";
    /// Choice: whether the execution input sets `Concurrency`.
    pub const SELECT_CONCURRENCY: &str = "SelectConcurrency";
    /// Pass: builds the `0..ChunkCount` index list the Map iterates, with
    /// every chunk at once (the input sets no `Concurrency`).
    pub const BUILD_CHUNK_LIST: &str = "BuildChunkList";
    /// Pass: the same list, with the input's `Concurrency` as the Map's limit.
    pub const BUILD_CHUNK_LIST_WITH_CONCURRENCY: &str = "BuildChunkListWithConcurrency";
    /// Choice: picks the v1 or v2 fan-out from the plan result's protocol.
    pub const SELECT_WORKER_PROTOCOL: &str = "SelectWorkerProtocol";
    /// Map: the v1 fan-out, one iteration per chunk.
    pub const RENDER_CHUNKS_V1: &str = "RenderChunks";
    /// Map: the v2 fan-out, one iteration per chunk.
    pub const RENDER_CHUNKS_V2: &str = "RenderChunksV2";
    /// Task inside [`RENDER_CHUNKS_V1`]: renders one chunk.
    pub const RENDER_CHUNK_V1: &str = "RenderChunk";
    /// Task inside [`RENDER_CHUNKS_V2`]: renders one chunk.
    pub const RENDER_CHUNK_V2: &str = "RenderChunkV2";
    /// Task: the v1 assemble stage; ends the execution.
    pub const ASSEMBLE_V1: &str = "Assemble";
    /// Task: the v2 assemble stage; ends the execution.
    pub const ASSEMBLE_V2: &str = "AssembleV2";
}

/// `States.ArrayRange` returns at most 1000 items; a plan with more chunks
/// must fail with a named error instead of a `States.Runtime` one.
pub const MAX_CHUNKS: u32 = 1000;

/// The chunk fan-out is a Distributed Map: each chunk is a child
/// workflow execution, so more than inline Map's 40 run at once (up to
/// the execution input's `Concurrency`). Its children are STANDARD:
/// exactly-once (a chunk is never rendered twice at once by the service),
/// no 5-minute cap (a long chunk at a small memory size may take longer),
/// billed per transition like the parent (3 per chunk), and their
/// histories are readable with GetExecutionHistory, which `progress`,
/// `cancel` and the cost accounting use. EXPRESS children would cost a
/// duration charge for the whole chunk and leave no history to read.
pub const CHILD_EXECUTION_TYPE: ExecutionType = ExecutionType::Standard;

/// Execution timeout of the whole render.
pub const TIMEOUT_SECONDS: u32 = 3600;

/// The substitution variable that stands for the render function's ARN.
pub const FUNCTION_ARN_VAR: &str = "RenderFunctionArn";

fn input(f: &str) -> String {
    format!("$.{f}")
}

fn plan_result(f: &str) -> String {
    format!("{}.{f}", state_path::PLAN)
}

fn payload_result(f: &str) -> String {
    format!("$.Payload.{f}")
}

/// The stage's Retry list: first what it must never retry, then Lambda's
/// throttles (long backoff with full jitter, its own attempt count), then
/// backoff for everything else (the 4 retries of a real failure).
pub fn retry_for(stage: Action) -> Vec<Retrier> {
    vec![
        Retrier::never(
            ErrorName::non_retryable(stage)
                .into_iter()
                .map(ErrorName::as_str),
        ),
        Retrier::backoff(
            THROTTLE_ERRORS,
            THROTTLE_INTERVAL_SECONDS,
            THROTTLE_MAX_ATTEMPTS,
            THROTTLE_BACKOFF_RATE,
            THROTTLE_MAX_DELAY_SECONDS,
        )
        .jitter(JitterStrategy::Full),
        Retrier::backoff(
            ["States.ALL"],
            RETRY_INTERVAL_SECONDS,
            RETRY_MAX_ATTEMPTS,
            RETRY_BACKOFF_RATE,
            RETRY_MAX_DELAY_SECONDS,
        ),
    ]
}

fn invoke(stage: Action, payload: Payload, transition: Transition) -> Task {
    let function = format!("${{{FUNCTION_ARN_VAR}}}");
    let mut t = Task::lambda_invoke(&function, payload, transition);
    t.retry = retry_for(stage);
    t
}

fn plan_state(p: PlanProtocol) -> Task {
    let payload = Payload::new()
        .value(field::ACTION, Action::Plan.as_str())
        .value(field::PLAN_PROTOCOL, p.as_str())
        .path(field::PROJECT_S3_URI, &input(field::PROJECT_S3_URI))
        .path(
            field::PLAN_OUTPUT_S3_PREFIX,
            &input(field::PLAN_OUTPUT_S3_PREFIX),
        )
        .path(field::CONFIG, &input(field::CONFIG));
    let mut keep: Vec<&str> = plan_location_fields(p).to_vec();
    keep.extend([
        field::PLAN_HASH,
        field::CHUNK_COUNT,
        field::FORMAT,
        field::HAS_AUDIO,
    ]);
    if p == PlanProtocol::V1 {
        keep.push(field::AUDIO_S3_URI);
    }
    let mut selector = Payload::new();
    for f in keep {
        selector = selector.path(f, &payload_result(f));
    }
    let mut t = invoke(
        Action::Plan,
        payload,
        Transition::next(states::ASSERT_CHUNK_COUNT),
    );
    t.result_selector = Some(selector.value(field::PLAN_PROTOCOL, p.as_str()));
    t.result_path = Some(state_path::PLAN.into());
    t
}

fn render_chunks_state(p: PlanProtocol) -> Map {
    let (chunk_state, next) = match p {
        PlanProtocol::V1 => (states::RENDER_CHUNK_V1, states::ASSEMBLE_V1),
        PlanProtocol::V2 => (states::RENDER_CHUNK_V2, states::ASSEMBLE_V2),
    };
    let mut selector = Payload::new().path(field::CHUNK_INDEX, "$$.Map.Item.Value");
    let mut payload = Payload::new()
        .value(field::ACTION, Action::RenderChunk.as_str())
        .value(field::PLAN_PROTOCOL, p.as_str())
        .path(field::CHUNK_INDEX, &input(field::CHUNK_INDEX));
    for f in plan_location_fields(p) {
        selector = selector.path(f, &plan_result(f));
        payload = payload.path(f, &input(f));
    }
    let selector = selector
        .path(field::PLAN_HASH, &plan_result(field::PLAN_HASH))
        .path(
            field::CHUNK_OUTPUT_S3_PREFIX,
            &input(field::PLAN_OUTPUT_S3_PREFIX),
        )
        .path(field::FORMAT, &plan_result(field::FORMAT));
    let payload = payload
        .path(field::PLAN_HASH, &input(field::PLAN_HASH))
        .path(
            field::CHUNK_OUTPUT_S3_PREFIX,
            &input(field::CHUNK_OUTPUT_S3_PREFIX),
        )
        .path(field::FORMAT, &input(field::FORMAT));
    let mut task = invoke(Action::RenderChunk, payload, Transition::End);
    // Only what assemble needs stays in the execution state: every Map
    // result is kept until the end, and the state is capped at 256 KiB
    // (1000 chunks x a 64-hex Sha256 alone would be 70 KB). The full chunk
    // result, Sha256 included, remains in the execution history.
    let mut keep = Payload::new();
    for f in [field::CHUNK_S3_URI, field::CHUNK_INDEX] {
        keep = keep.path(f, &payload_result(f));
    }
    task.result_selector = Some(keep);
    Map {
        comment: None,
        items_path: Some(format!(
            "{}.{}",
            state_path::ITERATOR,
            state_path::CHUNK_INDEXES
        )),
        item_selector: Some(selector),
        item_processor: ItemProcessor {
            processor_config: ProcessorConfig::Distributed(CHILD_EXECUTION_TYPE),
            graph: Graph::new(chunk_state).state(chunk_state, task),
        },
        max_concurrency: Some(MaxConcurrency::Path(format!(
            "{}.{}",
            state_path::ITERATOR,
            state_path::MAX_CONCURRENCY
        ))),
        result_selector: None,
        result_path: Some(state_path::CHUNKS.into()),
        retry: Vec::new(),
        catch: Vec::new(),
        transition: Transition::next(next),
    }
}

fn assemble_state(p: PlanProtocol) -> Task {
    let mut payload = Payload::new()
        .value(field::ACTION, Action::Assemble.as_str())
        .value(field::PLAN_PROTOCOL, p.as_str());
    for f in plan_location_fields(p) {
        payload = payload.path(f, &plan_result(f));
    }
    let payload = payload
        .path(field::PLAN_HASH, &plan_result(field::PLAN_HASH))
        .path(
            field::CHUNK_S3_URIS,
            &format!("{}[*].{}", state_path::CHUNKS, field::CHUNK_S3_URI),
        );
    // v2 plans carry audio inside the manifest; v1 hands its URI over.
    let payload = match p {
        PlanProtocol::V1 => payload.path(field::AUDIO_S3_URI, &plan_result(field::AUDIO_S3_URI)),
        PlanProtocol::V2 => payload.value(field::AUDIO_S3_URI, serde_json::Value::Null),
    }
    .path(field::OUTPUT_S3_URI, &input(field::OUTPUT_S3_URI))
    .path(field::FORMAT, &plan_result(field::FORMAT));
    let mut t = invoke(Action::Assemble, payload, Transition::End);
    let mut keep = Payload::new();
    for f in [
        field::OUTPUT_S3_URI,
        field::FRAMES_ENCODED,
        field::FILE_SIZE,
    ] {
        keep = keep.path(f, &payload_result(f));
    }
    t.result_selector = Some(keep);
    t.result_path = Some(state_path::OUTPUT.into());
    t
}

fn fail(error: ErrorName, cause: &str) -> Fail {
    Fail {
        error: Some(error.as_str().into()),
        cause: Some(cause.into()),
    }
}

/// The render workflow's definition. The function ARN appears as
/// `${RenderFunctionArn}`, filled in by `DefinitionSubstitutions`.
pub fn render_workflow() -> Definition {
    let graph = Graph::new(states::SELECT_PLAN_PROTOCOL)
        .state(states::SELECT_PLAN_PROTOCOL, select_plan_protocol())
        .state(
            states::UNSUPPORTED_PLAN_PROTOCOL,
            fail(
                ErrorName::PlanProtocolUnsupported,
                "PlanProtocol must be \"v1\", \"v2\", or absent (defaults to v2).",
            ),
        )
        .state(states::PLAN_V1, plan_state(PlanProtocol::V1))
        .state(states::PLAN_V2, plan_state(PlanProtocol::V2))
        .state(states::ASSERT_CHUNK_COUNT, assert_chunk_count())
        .state(
            states::PLAN_PRODUCED_ZERO_CHUNKS,
            fail(
                ErrorName::PlanTooLarge,
                "Plan returned ChunkCount=0: a non-retryable producer-side invariant violation.",
            ),
        )
        .state(
            states::PLAN_EXCEEDS_CHUNK_LIMIT,
            fail(
                ErrorName::PlanTooLarge,
                "Plan returned more than 1000 chunks, the most one Map fan-out can list; raise chunkSize.",
            ),
        )
        .state(states::SELECT_CONCURRENCY, select_concurrency())
        .state(
            states::BUILD_CHUNK_LIST,
            build_chunk_list(&plan_result(field::CHUNK_COUNT)),
        )
        .state(
            states::BUILD_CHUNK_LIST_WITH_CONCURRENCY,
            build_chunk_list(&input(field::CONCURRENCY)),
        )
        .state(states::SELECT_WORKER_PROTOCOL, select_worker_protocol())
        .state(states::RENDER_CHUNKS_V1, render_chunks_state(PlanProtocol::V1))
        .state(states::RENDER_CHUNKS_V2, render_chunks_state(PlanProtocol::V2))
        .state(states::ASSEMBLE_V1, assemble_state(PlanProtocol::V1))
        .state(states::ASSEMBLE_V2, assemble_state(PlanProtocol::V2));

    Definition {
        comment: Some(
            "HyperFrames distributed render: Plan -> Map(N) RenderChunk -> Assemble.".into(),
        ),
        graph,
        timeout_seconds: Some(TIMEOUT_SECONDS),
    }
}

/// Routes on the input's `PlanProtocol`; absent means the default.
fn select_plan_protocol() -> Choice {
    let protocol = input(field::PLAN_PROTOCOL);
    // Comparing an absent path is a States.Runtime error on Step Functions,
    // so absence is tested first and routed to the default protocol. It is
    // written `Not(IsPresent: true)` rather than `IsPresent: false`: the two
    // mean the same on Step Functions, but aws-local-stepfunctions 3.0
    // evaluates `IsPresent: false` as never matching.
    let default_plan = match PlanProtocol::DEFAULT {
        PlanProtocol::V1 => states::PLAN_V1,
        PlanProtocol::V2 => states::PLAN_V2,
    };
    Choice::new()
        .when(
            Rule::Not(Box::new(Rule::IsPresent(protocol.clone(), true))),
            default_plan,
        )
        .when(
            Rule::StringEquals(protocol.clone(), PlanProtocol::V2.as_str().into()),
            states::PLAN_V2,
        )
        .when(
            Rule::StringEquals(protocol, PlanProtocol::V1.as_str().into()),
            states::PLAN_V1,
        )
        .otherwise(states::UNSUPPORTED_PLAN_PROTOCOL)
}

/// `ChunkCount` must be 1..=1000. Checked before BuildChunkList:
/// States.ArrayRange(0, -1, 1) and ranges over 1000 items are runtime
/// errors, not a named failure.
fn assert_chunk_count() -> Choice {
    let chunk_count = plan_result(field::CHUNK_COUNT);
    Choice::new()
        .when(
            Rule::NumericGreaterThan(chunk_count.clone(), Number(MAX_CHUNKS.into())),
            states::PLAN_EXCEEDS_CHUNK_LIMIT,
        )
        .when(
            Rule::NumericGreaterThan(chunk_count, Number(0.0)),
            states::SELECT_CONCURRENCY,
        )
        .otherwise(states::PLAN_PRODUCED_ZERO_CHUNKS)
}

/// The execution input's `Concurrency` limits the fan-out when it is set
/// (`render` always sets it); a direct StartExecution without it runs
/// every chunk at once, as before the field existed. Absence is tested
/// with `Not(IsPresent: true)`, see [`select_plan_protocol`].
fn select_concurrency() -> Choice {
    Choice::new()
        .when(
            Rule::Not(Box::new(Rule::IsPresent(input(field::CONCURRENCY), true))),
            states::BUILD_CHUNK_LIST,
        )
        .otherwise(states::BUILD_CHUNK_LIST_WITH_CONCURRENCY)
}

/// The `0..ChunkCount` index list the Map iterates, and the Map's
/// MaxConcurrency, read from `concurrency` (a path).
fn build_chunk_list(concurrency: &str) -> Pass {
    Pass {
        comment: None,
        parameters: Some(
            Payload::new()
                .path(
                    state_path::CHUNK_INDEXES,
                    &format!(
                        "States.ArrayRange(0, States.MathAdd({}, -1), 1)",
                        plan_result(field::CHUNK_COUNT)
                    ),
                )
                .path(state_path::MAX_CONCURRENCY, concurrency),
        ),
        result_path: Some(state_path::ITERATOR.into()),
        transition: Transition::next(states::SELECT_WORKER_PROTOCOL),
    }
}

/// The v1 or v2 fan-out, by the protocol the plan result reports.
fn select_worker_protocol() -> Choice {
    Choice::new()
        .when(
            Rule::StringEquals(
                plan_result(field::PLAN_PROTOCOL),
                PlanProtocol::V2.as_str().into(),
            ),
            states::RENDER_CHUNKS_V2,
        )
        .otherwise(states::RENDER_CHUNKS_V1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_graph_is_closed() {
        assert_eq!(render_workflow().problems(), vec![]);
    }

    #[test]
    fn every_task_retries_from_the_contract() {
        let d = render_workflow().to_json();
        let plan = &d["States"]["PlanV2"]["Retry"];
        assert_eq!(plan[0]["MaxAttempts"], 0);
        assert_eq!(plan[1]["ErrorEquals"], serde_json::json!(THROTTLE_ERRORS));
        assert_eq!(plan[2]["ErrorEquals"][0], "States.ALL");
        let names: Vec<&str> = plan[0]["ErrorEquals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let expected: Vec<&str> = ErrorName::non_retryable(Action::Plan)
            .into_iter()
            .map(ErrorName::as_str)
            .collect();
        assert_eq!(names, expected);
    }

    /// Every Task, the ones inside the Maps included, waits out throttles
    /// with its own long, jittered Retrier before the 4 retries of a real
    /// failure, and no Task retries a throttle with those.
    #[test]
    fn every_task_waits_out_throttles_before_counting_failures() {
        let d = render_workflow().to_json();
        let mut tasks = Vec::new();
        for (name, s) in d["States"].as_object().unwrap() {
            if s["Type"] == "Task" {
                tasks.push((name.clone(), s.clone()));
            }
            if let Some(inner) = s["ItemProcessor"]["States"].as_object() {
                tasks.extend(inner.iter().map(|(n, s)| (n.clone(), s.clone())));
            }
        }
        assert_eq!(tasks.len(), 6, "{tasks:?}");
        for (name, t) in tasks {
            let r = &t["Retry"];
            assert_eq!(r.as_array().unwrap().len(), 3, "{name}");
            assert_eq!(
                r[1]["ErrorEquals"],
                serde_json::json!(["Lambda.TooManyRequestsException"]),
                "{name}"
            );
            assert_eq!(r[1]["JitterStrategy"], "FULL", "{name}");
            assert_eq!(r[1]["MaxAttempts"], THROTTLE_MAX_ATTEMPTS, "{name}");
            assert_eq!(
                r[1]["MaxDelaySeconds"], THROTTLE_MAX_DELAY_SECONDS,
                "{name}"
            );
            assert_eq!(r[2]["MaxAttempts"], RETRY_MAX_ATTEMPTS, "{name}");
            assert!(r[2].get("JitterStrategy").is_none(), "{name}");
        }
    }

    /// The Maps' limit comes from the Iterator, which takes the input's
    /// Concurrency when it is there and the chunk count otherwise.
    #[test]
    fn the_fan_out_is_limited_by_the_input_concurrency_when_given() {
        let d = render_workflow().to_json();
        let s = &d["States"];
        for map in [states::RENDER_CHUNKS_V1, states::RENDER_CHUNKS_V2] {
            assert_eq!(s[map]["MaxConcurrencyPath"], "$.Iterator.MaxConcurrency");
        }
        assert_eq!(
            s[states::ASSERT_CHUNK_COUNT]["Choices"][1]["Next"],
            states::SELECT_CONCURRENCY
        );
        let with = &s[states::BUILD_CHUNK_LIST_WITH_CONCURRENCY]["Parameters"];
        assert_eq!(with["MaxConcurrency.$"], "$.Concurrency");
        let without = &s[states::BUILD_CHUNK_LIST]["Parameters"];
        assert_eq!(without["MaxConcurrency.$"], "$.Plan.ChunkCount");
        let choice = &s[states::SELECT_CONCURRENCY];
        assert_eq!(choice["Choices"][0]["Next"], states::BUILD_CHUNK_LIST);
        assert_eq!(choice["Default"], states::BUILD_CHUNK_LIST_WITH_CONCURRENCY);
    }
}
