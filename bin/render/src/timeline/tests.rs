use super::*;
use serde_json::json;

use crate::progress::history_fixture::{entered, history};

fn sched(action: &str, chunk: Option<u32>) -> Value {
    let mut payload = json!({"Action": action});
    if let Some(c) = chunk {
        payload["ChunkIndex"] = json!(c);
    }
    json!({"parameters": json!({"FunctionName": "f", "Payload": payload}).to_string()})
}

fn out(p: Value) -> Value {
    json!({"output": json!({"Payload": p, "StatusCode": 200}).to_string()})
}

fn chunk_out(c: u32) -> Value {
    out(json!({"ChunkIndex": c, "FramesEncoded": 20}))
}

fn failed(error: &str) -> Value {
    json!({"error": error, "cause": "<cause>"})
}

const N: Value = Value::Null;

/// Plan; three chunks of 20 frames: chunk 0 (4 s), chunk 1 fails with
/// RENDER_FAILED after 1 s and its retry takes 6 s, chunk 2 is throttled
/// and its retry takes 5 s; assemble.
fn recorded() -> Vec<Event> {
    history(&[
        ("ExecutionStarted", 0, 0.0, N),                 // 1
        ("TaskStateEntered", 1, 0.1, entered("PlanV2")), // 2
        ("TaskScheduled", 2, 0.2, sched("plan", None)),  // 3
        ("TaskStarted", 3, 0.3, N),                      // 4
        (
            "TaskSucceeded",
            4,
            2.3,
            out(json!({"TotalFrames": 60, "ChunkCount": 3})),
        ), // 5
        ("MapStateEntered", 5, 2.4, entered("RenderChunksV2")), // 6
        ("TaskStateEntered", 6, 2.5, entered("RenderChunkV2")), // 7
        ("TaskStateEntered", 6, 2.5, entered("RenderChunkV2")), // 8
        ("TaskStateEntered", 6, 2.5, entered("RenderChunkV2")), // 9
        ("TaskScheduled", 7, 2.6, sched("renderChunk", Some(0))), // 10
        ("TaskScheduled", 8, 2.6, sched("renderChunk", Some(1))), // 11
        ("TaskScheduled", 9, 2.6, sched("renderChunk", Some(2))), // 12
        ("TaskStarted", 10, 2.7, N),                     // 13
        ("TaskStarted", 11, 2.7, N),                     // 14
        ("TaskStarted", 12, 2.7, N),                     // 15
        ("TaskFailed", 15, 2.8, failed(THROTTLE_ERROR)), // 16
        ("TaskFailed", 14, 3.7, failed("RENDER_FAILED")), // 17
        ("TaskScheduled", 16, 4.0, sched("renderChunk", Some(2))), // 18
        ("TaskStarted", 18, 4.1, N),                     // 19
        ("TaskScheduled", 17, 5.7, sched("renderChunk", Some(1))), // 20
        ("TaskStarted", 20, 5.8, N),                     // 21
        ("TaskSucceeded", 13, 6.7, chunk_out(0)),        // 22
        ("TaskSucceeded", 19, 9.1, chunk_out(2)),        // 23
        ("TaskSucceeded", 21, 11.8, chunk_out(1)),       // 24
        ("TaskStateEntered", 24, 12.0, entered("AssembleV2")), // 25
        ("TaskScheduled", 25, 12.1, sched("assemble", None)), // 26
        ("TaskStarted", 26, 12.2, N),                    // 27
        (
            "TaskSucceeded",
            27,
            13.2,
            out(json!({"OutputS3Uri": "s3://b/o.mp4", "FramesEncoded": 60, "FileSize": 1})),
        ), // 28
        ("ExecutionSucceeded", 28, 13.3, N),             // 29
    ])
}

/// The local stack's records of the same invocations (but the throttled
/// one, which never ran), and one of another render.
fn jsonl() -> String {
    let rec = |action: &str, chunk: Option<u32>, ended: i64, init: Value, billed: u64| {
        json!({"requestId": format!("r-{ended}"), "action": action, "event": {"Action": action, "ChunkIndex": chunk},
               "startedMs": 0, "endedMs": ended, "init": init, "duration": 1.0, "billedMs": billed, "memorySizeMb": 10240})
        .to_string()
    };
    [
        rec("plan", None, 2_295, json!(1200.4), 2_000),
        rec("renderChunk", Some(1), 3_699, json!(1250.0), 1_000),
        rec("renderChunk", Some(0), 6_698, json!(1300.0), 4_000),
        rec("renderChunk", Some(2), 9_098, N, 5_000),
        rec("renderChunk", Some(1), 11_799, N, 6_000),
        rec("assemble", None, 13_198, N, 1_000),
        rec("renderChunk", Some(0), 50_000, N, 9_000),
    ]
    .join("\n")
}

fn built(reports: Option<&[Report]>) -> Timeline {
    build(&recorded(), (0, Some(13_300), 99_999), reports, at_10_gb()).unwrap()
}

#[test]
fn one_bar_per_invocation_with_retries_and_throttles() {
    let t = built(None);
    let kinds: Vec<(String, Option<u32>, Outcome)> = t
        .bars
        .iter()
        .map(|b| (b.stage.action().to_string(), b.chunk, b.outcome.clone()))
        .collect();
    let ok = Outcome::Succeeded;
    let chunk = |c| ("renderChunk".to_string(), Some(c));
    let with = |(s, c): (String, Option<u32>), o: Outcome| (s, c, o);
    assert_eq!(
        kinds,
        vec![
            ("plan".into(), None, ok.clone()),
            with(chunk(0), ok.clone()),
            with(
                chunk(1),
                Outcome::Failed {
                    error: "RENDER_FAILED".into()
                }
            ),
            with(chunk(2), Outcome::Throttled),
            with(chunk(2), ok.clone()),
            with(chunk(1), ok.clone()),
            ("assemble".into(), None, ok),
        ]
    );
    let spans: Vec<(i64, i64)> = t.bars.iter().map(|b| (b.start_ms, b.end_ms)).collect();
    assert_eq!(
        spans,
        [
            (300, 2_300),
            (2_700, 6_700),
            (2_700, 3_700),
            (2_700, 2_800),
            (4_100, 9_100),
            (5_800, 11_800),
            (12_200, 13_200)
        ]
    );
    // Frames follow the chunk order, a failed attempt's too.
    let frames: Vec<Option<(u64, u64)>> = t.bars.iter().map(|b| b.frames).collect();
    assert_eq!(
        frames[1..6],
        [
            Some((0, 19)),
            Some((20, 39)),
            Some((40, 59)),
            Some((40, 59)),
            Some((20, 39))
        ]
    );
    // Slowest: chunk 1's retry (6 s), chunk 2 (5 s), chunk 0 (4 s).
    assert_eq!(t.slowest, [5, 4, 1]);
    assert_eq!(t.span_ms, 13_300);
}

#[test]
fn without_reports_the_bill_is_progress_wall_time() {
    let t = built(None);
    let p = crate::progress::compute("SUCCEEDED", 0, Some(13_300), 0, &recorded(), at_10_gb());
    // Progress counts the throttled attempt's 100 ms; Lambda bills none.
    assert_eq!(t.billed_ms() + 100, p.cost.lambda_ms);
    assert_eq!(t.billed_ms(), 19_000);
    assert_eq!(t.bars[3].billed_ms, 0);
    assert!(t.bars.iter().all(|b| b.init_ms.is_none() && !b.reported));
    // 6 s at 10 GB.
    assert_eq!(t.bars[5].cost_usd, 0.001);
    assert_eq!(t.chunk_cost(1), 0.001167, "the failed attempt's 1 s counts");
}

#[test]
fn reports_give_init_and_billed_duration() {
    let reports = reports::parse(&jsonl(), "invocations.jsonl").unwrap();
    assert_eq!(reports.len(), 7);
    let t = built(Some(&reports));
    let got: Vec<(Option<u64>, u64, bool)> = t
        .bars
        .iter()
        .map(|b| (b.init_ms, b.billed_ms, b.reported))
        .collect();
    assert_eq!(
        got,
        [
            (Some(1201), 2_000, true),
            (Some(1300), 4_000, true),
            (Some(1250), 1_000, true),
            (None, 0, false), // throttled: never ran, no REPORT
            (None, 5_000, true),
            (None, 6_000, true),
            (None, 1_000, true),
        ]
    );
    assert_eq!(t.reports_given, Some(7));
}

#[test]
fn with_reports_progress_bills_the_report_lines_and_compares_them_with_the_estimate() {
    use crate::estimate::model::Range;
    let reports = reports::parse(&jsonl(), "invocations.jsonl").unwrap();
    let t = built(Some(&reports));
    let mut p = crate::progress::compute("SUCCEEDED", 0, Some(13_300), 0, &recorded(), at_10_gb());
    let r = |low, expected, high| Range {
        low,
        expected,
        high,
    };
    p.set_estimate(Some(crate::estimate::Summary {
        total_usd: r(0.001, 0.003, 0.004),
        lambda_gb_seconds: r(150.0, 200.0, 300.0),
        state_transitions: 9,
    }));
    // From the history: 19.1 s of wall time at 10 GB.
    assert_eq!(p.billed.source, "history");
    assert_eq!(p.billed.lambda_gb_seconds, 191.0);
    assert_eq!(p.billed_vs_estimate, Some(0.955));
    p.use_reports(&t, at_10_gb());
    // REPORT: 2 + 4 + 1 + 5 + 6 + 1 s billed (init included) at 10 GB.
    assert_eq!(p.billed.source, "reports");
    assert_eq!(p.billed.lambda_gb_seconds, 190.0);
    assert_eq!(
        (p.billed.cold_starts, p.billed.init_ms),
        (Some(3), Some(3751))
    );
    assert_eq!(p.billed.within_estimate, Some(true));
    assert_eq!(p.billed_vs_estimate, Some(0.95));
    assert_eq!(p.cost.lambda_ms, 19_000);
    assert_eq!(p.cost.lambda_usd, 0.003167);
    let line = crate::progress::line(&p);
    assert!(
        line.ends_with("; billed 190.0 GB-s (REPORT, 3 cold starts) = 0.95x the estimated 200.0 GB-s (150.0-300.0))"),
        "{line}"
    );
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["billedVsEstimate"], 0.95);
    assert_eq!(json["billed"]["lambdaGbSeconds"], 190.0);
    assert_eq!(json["billed"]["withinEstimate"], true);
    // Outside the range, the line says so.
    p.set_estimate(Some(crate::estimate::Summary {
        total_usd: r(0.001, 0.002, 0.003),
        lambda_gb_seconds: r(50.0, 100.0, 150.0),
        state_transitions: 9,
    }));
    assert_eq!(p.billed.within_estimate, Some(false));
    assert!(crate::progress::line(&p).ends_with(", outside its range)"));
}

#[test]
fn cloudwatch_report_lines_are_read() {
    let text = json!({"events": [
        {"timestamp": 2_300, "message": "START RequestId: a Version: $LATEST\n"},
        {"timestamp": 2_301, "message": "REPORT RequestId: a\tDuration: 800.00 ms\tBilled Duration: 2001 ms\tMemory Size: 2048 MB\tMax Memory Used: 90 MB\tInit Duration: 1200.50 ms\t\n"},
        {"timestamp": 6_700, "message": "REPORT RequestId: b\tDuration: 3999.10 ms\tBilled Duration: 4000 ms\tMemory Size: 2048 MB\tMax Memory Used: 90 MB\t\n"},
    ]})
    .to_string();
    let r = reports::parse(&text, "logs.json").unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(
        (
            r[0].request_id.as_str(),
            r[0].init_ms,
            r[0].billed_ms,
            r[0].memory_mb
        ),
        ("a", Some(1201), 2001, 2048)
    );
    assert_eq!((r[1].ended_ms, r[1].init_ms), (6_700, None));
    let t = built(Some(&r));
    assert_eq!((t.bars[0].billed_ms, t.bars[0].init_ms), (2001, Some(1201)));
    // 2001 ms at 2 GB, whatever --memory-mb says.
    assert_eq!(t.bars[0].cost_usd, 0.000067);
}

#[test]
fn unreadable_reports_are_all_named() {
    let e = reports::parse("{\"requestId\": \"x\"}\n\nnot json\n", "f.jsonl")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1:") && e.contains("line 3:"), "{e}");
    assert!(
        e.contains("invocations.jsonl") && e.contains("filter-log-events"),
        "{e}"
    );
}

#[test]
fn a_render_that_has_not_started_is_refused() {
    let events = history(&[
        ("ExecutionStarted", 0, 0.0, N),
        ("TaskStateEntered", 1, 0.1, entered("PlanV2")),
    ]);
    let e = build(&events, (0, None, 500), None, at_10_gb()).unwrap_err();
    assert!(
        e.to_string().contains("has not started any invocation yet"),
        "{e}"
    );
}

#[test]
fn a_running_invocation_ends_at_now() {
    let events = recorded();
    let t = build(&events[..14], (0, None, 3_000), None, at_10_gb()).unwrap();
    assert_eq!(t.bars.len(), 4);
    assert!(t.bars[1..].iter().all(|b| b.outcome == Outcome::Running));
    // Chunk 2 was scheduled, not started: it counts from its scheduling.
    assert_eq!((t.bars[1].chunk, t.bars[1].start_ms), (Some(2), 2_600));
    assert_eq!(
        (t.bars[2].chunk, t.bars[2].start_ms, t.bars[2].end_ms),
        (Some(0), 2_700, 3_000)
    );
    assert!(t.slowest.is_empty(), "no chunk has succeeded");
    assert_eq!(svg::render(&t).matches("<g class=\"bar\">").count(), 4);
}

#[test]
fn the_svg_has_a_bar_per_invocation_and_marks_the_slowest_chunks() {
    let reports = reports::parse(&jsonl(), "invocations.jsonl").unwrap();
    let t = built(Some(&reports));
    let svg = svg::render(&t);
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.ends_with("</svg>\n"));
    assert_eq!(svg.matches("<g class=\"bar\">").count(), 7);
    assert_eq!(
        svg.matches("<rect class=\"init\"").count(),
        3,
        "three cold starts"
    );
    let slowest: Vec<&str> = svg
        .lines()
        .filter(|l| l.contains("class=\"slowest\""))
        .collect();
    assert_eq!(slowest.len(), 3, "{svg}");
    // In row order: chunk 0, chunk 2's retry, chunk 1's retry.
    assert!(
        slowest[0].contains("slowest #3: frames 0-19, 4.00 s, $0.000667"),
        "{}",
        slowest[0]
    );
    assert!(
        slowest[1].contains("slowest #2: frames 40-59, 5.00 s, $0.000833"),
        "{}",
        slowest[1]
    );
    assert!(
        slowest[2].contains("slowest #1: frames 20-39, 6.00 s, $0.001167"),
        "{}",
        slowest[2]
    );
    assert!(svg.contains("retry/failed: RENDER_FAILED"));
    assert!(svg.contains("throttled: Lambda.TooManyRequestsException"));
    // The axis: 13.3 s in 2 s ticks, 0 to 12 s.
    for tick in ["0 s", "2 s", "12 s"] {
        assert!(svg.contains(&format!(">{tick}</text>")), "{tick}");
    }
    assert!(!svg.contains(">14 s</text>"));
    assert!(svg.contains("from 6 of 7 REPORT records"));
}

#[test]
fn the_svg_is_deterministic_and_escapes_text() {
    let mut events = recorded();
    events[16].error = Some("Bad<&>\"'\u{1}Error".into());
    let a = build(&events, (0, Some(13_300), 1), None, at_10_gb()).unwrap();
    let b = build(&events, (0, Some(13_300), 2), None, at_10_gb()).unwrap();
    let svg = svg::render(&a);
    assert_eq!(svg, svg::render(&b), "same history, same bytes");
    assert!(
        svg.contains("retry/failed: Bad&lt;&amp;&gt;&quot;&apos;\u{fffd}Error"),
        "{svg}"
    );
    assert!(!svg.contains("Bad<"));
    // Every tag is closed: as many `<` as `>` outside the escapes.
    assert_eq!(svg.matches('<').count(), svg.matches('>').count());
}

#[test]
fn the_file_is_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.svg");
    check_writable(&path).unwrap();
    write_atomic(&path, "<svg/>").unwrap();
    write_atomic(&path, "<svg></svg>").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "<svg></svg>");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary left"
    );
    let missing = dir.path().join("no/such/dir/t.svg");
    let e = check_writable(&missing).unwrap_err().to_string();
    assert!(
        e.contains("cannot write in") && e.contains("writable directory"),
        "{e}"
    );
    assert!(write_atomic(&missing, "x").is_err());
    let e = check_writable(dir.path()).unwrap_err().to_string();
    assert!(e.contains("is a directory"), "{e}");
}

/// The fixed histories' figures are at 10 GB (10,240 MB).
fn at_10_gb() -> Prices {
    Prices {
        memory_mb: 10240,
        ..Prices::default()
    }
}
