//! The estimate against the bill: three projects (short, long, 4K)
//! rendered through the local stack with the estimate `render` makes
//! before it starts (the same computation as `render --estimate --json`
//! with these settings, carried in the execution input); the GB-seconds
//! the function's REPORT lines billed (Init Duration of cold starts
//! included, as Lambda bills `provided.al2023`) must lie in the estimate's
//! range, and `progress --reports` sets the bill beside the estimate with
//! their ratio. Each project is tiny in pixels or frames, so the three
//! cost seconds.
//!
//! The renders run one chunk at a time (`--concurrency 1`, estimated with
//! the same): on Lambda every environment has its own vCPUs, while on this
//! 2-core host chunks at once would share two cores, and a cold start's
//! unpack with them. One at a time, an instance gets the host's cores (up
//! to its quota), which the calibration measured.

use std::path::{Path, PathBuf};

use crate::support::{serial, test_stack, TestStack};
use crate::workflow::{invocations, remote, target, wait};
use hyperframes_render::estimate::EstimateArgs;
use hyperframes_render::execution;
use hyperframes_render::pricing::Prices;
use hyperframes_render::progress::{self, Progress, State};
use hyperframes_render::render;

/// One project of the comparison.
struct Project {
    name: &'static str,
    width: u32,
    height: u32,
    /// Seconds of video at 30 fps.
    seconds: f64,
    chunk_size: u32,
}

/// The small sizes are 320x180, two doublings below the smallest size the
/// shipped calibration measured (640x360): smaller ones (64x64) are
/// extrapolated so far that the range's low end reaches zero.
const PROJECTS: [Project; 3] = [
    // Half a second: one chunk, where the fixed costs are the whole bill.
    Project {
        name: "short",
        width: 320,
        height: 180,
        seconds: 0.5,
        chunk_size: 15,
    },
    // Many frames at a small size: the per-frame cost, over two chunks.
    Project {
        name: "long",
        width: 320,
        height: 180,
        seconds: 6.5,
        chunk_size: 100,
    },
    // A few 4K frames: the per-megapixel cost.
    Project {
        name: "4k",
        width: 3840,
        height: 2160,
        seconds: 0.1,
        chunk_size: 2,
    },
];

/// A composition of `p`'s size and length whose every frame differs (a box
/// moved by a paused Web Animation the runtime seeks, over a gradient).
fn write_project(dir: &Path, p: &Project) -> PathBuf {
    let project = dir.join(format!("project-{}", p.name));
    std::fs::create_dir_all(&project).unwrap();
    let (w, h, s) = (p.width, p.height, p.seconds);
    let ms = (s * 1000.0).round();
    std::fs::write(
        project.join("index.html"),
        format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><style>
html,body{{margin:0;width:{w}px;height:{h}px;overflow:hidden}}
#root{{position:relative;width:{w}px;height:{h}px;background:linear-gradient(135deg,#123,#c63)}}
#box{{position:absolute;left:0;top:25%;width:25%;height:50%;background:#fc0;border-radius:12%}}
</style></head><body>
<div id="root" data-composition-id="bill" data-start="0" data-duration="{s}" data-width="{w}" data-height="{h}" data-no-timeline><div id="box"></div></div>
<script>
document.getElementById("box").animate(
  [{{transform:"translateX(0) rotate(0deg)"}},{{transform:"translateX(300%) rotate(360deg)"}}],
  {{duration:{ms},fill:"forwards",easing:"linear"}}).pause();
</script></body></html>"#
        ),
    )
    .unwrap();
    project
}

/// Renders `p` with an estimate; returns the final progress, billed from
/// the local stack's REPORT records as `progress --reports` bills it.
fn render_with_estimate(s: &TestStack, p: &Project) -> Progress {
    let id = format!("bill-{}", p.name);
    let dir = crate::support::scratch(&id);
    let project = write_project(&dir, p);
    let mut r = remote(&project, &id, "mp4", None);
    r.config.chunk_size = Some(p.chunk_size);
    r.concurrency = Some(1);
    r.estimate = Some(EstimateArgs {
        estimate: true,
        concurrency: Some(1),
        calibration: None,
    });
    s.rt.block_on(render::run(&target(s), r))
        .unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let done = wait(s, &id);
    assert_eq!(done.state, State::Succeeded, "{id}: {done:?}");
    let jsonl = s
        .stack
        .lambda
        .function_log_path()
        .with_file_name("invocations.jsonl");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let reports = hyperframes_render::timeline::reports::parse(&text, "invocations.jsonl").unwrap();
    let (_, stack) = s.rt.block_on(target(s).connect()).unwrap();
    let recorded =
        s.rt.block_on(execution::read(&s.sfn(), &stack.execution_arn(&id)))
            .unwrap();
    let mut billed = execution::progress_of(&recorded, Prices::default());
    execution::bill_from_reports(&mut billed, &recorded, &reports, Prices::default());
    billed
}

#[test]
fn the_estimate_range_holds_the_billed_gb_seconds_of_short_long_and_4k_renders() {
    let s = test_stack();
    let _g = serial();
    let mut outside = Vec::new();
    for p in &PROJECTS {
        let id = format!("bill-{}", p.name);
        let got = render_with_estimate(s, p);
        let recs = invocations(s, &id);
        // The REPORT lines themselves: Billed Duration (init included) x Memory Size.
        let from_lines: f64 = recs
            .iter()
            .map(|r| f64::from(r.memory_size_mb) / 1024.0 * r.billed_ms as f64 / 1000.0)
            .sum();
        let cold = recs.iter().filter(|r| r.init.is_some()).count() as u32;
        let e = got
            .estimate
            .unwrap_or_else(|| panic!("{id}: no estimate in the input"));
        let frames = (p.seconds * 30.0).round() as u64;
        assert_eq!(got.frames_total, Some(frames), "{id}");
        assert_eq!(got.billed.source, "reports", "{id}");
        assert!(
            (got.billed.lambda_gb_seconds - from_lines).abs() < 1e-3,
            "{id}: progress billed {} GB-s, the REPORT lines {from_lines}: every invocation must be matched\n{recs:#?}",
            got.billed.lambda_gb_seconds
        );
        assert_eq!(got.billed.cold_starts, Some(cold), "{id}: {recs:#?}");
        let ratio = got.billed_vs_estimate.expect("a ratio");
        assert!(
            (ratio - from_lines / e.lambda_gb_seconds.expected).abs() < 1e-3,
            "{id}: {ratio}"
        );
        let line = progress::line(&got);
        assert!(
            line.contains(&format!("= {ratio:.2}x the estimated")),
            "{id}: {line}"
        );
        let r = e.lambda_gb_seconds;
        eprintln!(
            "[measure] {id}: {} invocations, {cold} cold; billed {from_lines:.2} GB-s, estimate {:.2} ({:.2}-{:.2}), {ratio:.2}x\n  {line}",
            recs.len(),
            r.expected,
            r.low,
            r.high
        );
        if got.billed.within_estimate != Some(true) {
            outside.push(format!(
                "{id}: billed {from_lines:.2} GB-s is outside the estimate's {:.2}-{:.2} ({ratio:.2}x of {:.2})",
                r.low, r.high, r.expected
            ));
        }
    }
    assert!(outside.is_empty(), "{}", outside.join("\n"));
}
