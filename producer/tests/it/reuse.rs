//! Frame reuse: a frame whose seek changed nothing that can alter the picture
//! repeats the previous frame's bytes instead of being captured. Real
//! Chromium and ffmpeg: outputs must be byte-identical with reuse on and off,
//! and every source of change must prevent reuse.

use std::path::Path;

use crate::common::*;
use hyperframes_producer::capture::session::{with_session, Change};
use hyperframes_producer::chunk::render_chunk_with;
use hyperframes_producer::plan::digest::sha256_file;
use hyperframes_producer::{assemble, ChunkOptions, PlanOutcome};

/// plan -> chunks with reuse on or off -> assemble; (reused frames, chunk sha256s, output sha256).
fn render_reuse(plan: &PlanOutcome, work: &Path, reuse: bool) -> (u64, Vec<String>, String) {
    let name = if reuse { "on" } else { "off" };
    let opts = ChunkOptions {
        reuse_unchanged: Some(reuse),
        ..Default::default()
    };
    let chunks: Vec<_> = (0..plan.chunk_count)
        .map(|i| {
            render_chunk_with(
                &plan.plan_dir,
                i,
                &work.join(format!("{name}-chunks")),
                &opts,
            )
            .unwrap_or_else(|e| panic!("chunk {i} with reuse {name} [{}]: {e}", e.name()))
        })
        .collect();
    let out = work.join(format!("{name}.mp4"));
    let paths: Vec<_> = chunks.iter().map(|c| c.path.clone()).collect();
    assemble(&plan.plan_dir, &paths, &out).unwrap();
    (
        chunks.iter().map(|c| c.reused_frames).sum(),
        chunks.iter().map(|c| c.sha256.clone()).collect(),
        sha256_file(&out).unwrap(),
    )
}

#[test]
fn hold_frames_are_reused_and_the_output_bytes_do_not_change() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = fixture("hold-title");
    // 120 frames: in 0-0.7 s, a 2 s hold, out 2.7-3.2 s, then still again.
    // About 80 frames cannot change; a chunk's first frame is always captured.
    for (name, config, min_reused) in [
        ("single", single_pass(config("mp4", None)), 70),
        ("chunked", config("mp4", Some(30)), 65),
    ] {
        let dir = work.path().join(name);
        let p = plan(&project, &config, &dir.join("plan"), work.path());
        assert_eq!(p.total_frames, 120);
        let (reused_on, chunks_on, out_on) = render_reuse(&p, &dir, true);
        let (reused_off, chunks_off, out_off) = render_reuse(&p, &dir, false);
        assert!(
            (min_reused..=90).contains(&reused_on),
            "{name}: {reused_on} frames reused, expected the holds' (about 80)"
        );
        assert_eq!(reused_off, 0, "{name}: reuse off still reused frames");
        assert_eq!(
            chunks_on, chunks_off,
            "{name}: chunk bytes differ with reuse on and off"
        );
        assert_eq!(
            out_on, out_off,
            "{name}: output differs with reuse on and off"
        );
    }
}

#[test]
fn continuous_animation_reuses_nothing() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    // The icon rotates through the whole composition.
    let p = plan(
        &fixture("mp4-h264-sdr"),
        &config("mp4", Some(30)),
        &work.path().join("plan"),
        work.path(),
    );
    let (reused, _, _) = render_reuse(&p, work.path(), true);
    assert_eq!(reused, 0);
}

/// A 64x64 page (`head` and `body` markup added) that only `script`
/// changes; the reasons the bridge gives for frames 0..n (None = unchanged).
fn reasons(
    work: &Path,
    name: &str,
    (head, body): (&str, &str),
    script: &str,
    n: u64,
) -> Vec<Option<String>> {
    let attrs = r#"data-composition-id="c" data-width="64" data-height="64" data-duration="2""#;
    let project = write_project(&work.join(name), attrs, script);
    let html = std::fs::read_to_string(project.join("index.html")).unwrap();
    let html = html.replace("</head>", &format!("{head}</head>")).replacen(
        "<body>",
        &format!("<body>{body}"),
        1,
    );
    std::fs::write(project.join("index.html"), html).unwrap();
    let p = plan(
        &project,
        &config("mp4", None),
        &work.join(format!("{name}-plan")),
        work,
    );
    let spec = session_spec(&p, "c", 64, 64);
    with_session(&spec, |cap, _| {
        (0..n)
            .map(|f| {
                cap.seek(f).map(|c| match c {
                    Change::None => None,
                    Change::Possible(r) => Some(r),
                })
            })
            .collect()
    })
    .unwrap_or_else(|e| panic!("{name}: [{}] {e}", e.name()))
}

const TIMELINE: &str = "const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl};";

#[test]
fn every_source_of_change_prevents_reuse() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // The last style sheet in the head: a rule whose style a script changes
    // moves pixels without any DOM mutation.
    let rule = ("<style>#box{opacity:1}</style>", "");
    let rule_style =
        "const s = document.styleSheets[document.styleSheets.length - 1].cssRules[0].style;";
    let still = format!("{TIMELINE} tl.to('#box', {{x: 20, duration: 0.1}}, 1.5);");
    let r = reasons(w, "still", ("", ""), &still, 6);
    assert_eq!(r[0].as_deref(), Some("first"));
    assert!(
        r[1..].iter().all(Option::is_none),
        "a page waiting for its only tween: {r:?}"
    );

    let none = ("", "");
    let cases: [(&str, (&str, &str), String, &str); 7] = [
        ("gsap-dom", none, format!("{TIMELINE} tl.to('#box', {{x: 40, duration: 2}}, 0);"), "dom"),
        ("gsap-object", rule, format!("{TIMELINE} {rule_style} const o = {{v: 1}}; tl.to(o, {{v: 0, duration: 2, onUpdate: () => {{ s.opacity = String(o.v); }}}}, 0);"), "gsap"),
        ("css", ("<style>@keyframes k{to{opacity:0}} #box{animation:k 2s linear}</style>", ""), TIMELINE.to_string(), "animation"),
        ("waapi", none, format!("{TIMELINE} document.getElementById('box').animate([{{opacity: 1}}, {{opacity: 0}}], {{duration: 2000}});"), "animation"),
        ("raf", rule, format!("{TIMELINE} {rule_style} (function f(t) {{ s.opacity = String(1 - t / 2000); requestAnimationFrame(f); }})(0);"), "raf"),
        ("timer", none, format!("{TIMELINE} setInterval(() => {{}}, 1000);"), "timer"),
        ("canvas", ("", "<canvas width=8 height=8></canvas>"), TIMELINE.to_string(), "opaque"),
    ];
    for (name, body, script, want) in cases {
        let r = reasons(w, name, body, &script, 5);
        assert!(
            r[1..].iter().all(|x| x.as_deref() == Some(want)),
            "{name}: frames 1-4 should all change because of {want}: {r:?}"
        );
    }
}
