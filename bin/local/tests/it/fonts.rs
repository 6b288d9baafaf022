//! The same project renders with the same fonts locally and on Lambda: a
//! composition naming "Space Mono" and Inter (with no font files of its
//! own) and the generic sans-serif and monospace, planned and rendered
//! through the whole workflow in the jail (whose Chromium payload has other
//! host fonts than this machine) and with the host's Chromium here. The
//! plan embeds every face it draws text with, so the two agree.

use crate::support::{serial, test_stack};
use crate::workflow::{invocations, local_render, psnr, remote, target, wait};
use hyperframes_render::progress::State;
use hyperframes_render::render;

/// Below this, a face differs: with host fonts this fixture's two renders
/// were 15.3 dB apart; with the embedded faces they are identical.
const MIN_PSNR_DB: f64 = 45.0;

#[test]
fn named_and_generic_fonts_render_alike_locally_and_in_the_local_stack() {
    let s = test_stack();
    let _g = serial();
    let dir = crate::support::scratch("fonts");
    let project = dir.join("project-fonts");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(
        crate::support::workspace().join("producer/tests/fixtures/fonts/index.html"),
        project.join("index.html"),
    )
    .unwrap();
    let id = "wf-fonts";
    let out = dir.join("lambda.mp4");
    // The workflow's config (chunks of 20), as the local render uses it:
    // the same chunk boundaries, so only the pages' pixels can differ.
    let r = remote(&project, id, "mp4", Some(out.clone()));
    let ok =
        s.rt.block_on(render::run(&target(s), r))
            .unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let p = wait(s, id);
    assert!(
        ok && p.state == State::Succeeded,
        "{id}: {:?}\n{:#?}\nfunction log: {}",
        p.state,
        invocations(s, id),
        s.stack.lambda.function_log_path().display()
    );
    let local = local_render(&dir, &project, "mp4");
    let frames = psnr(&dir, &out, &local, "mp4");
    assert_eq!(frames.len(), 30, "{frames:?}");
    let worst = frames.iter().cloned().fold(f64::INFINITY, f64::min);
    eprintln!("[measure] {id}: worst PSNR {worst:.2} dB, local vs local stack");
    assert!(
        worst >= MIN_PSNR_DB,
        "{id}: worst frame {worst:.2} dB against the local render (want >= {MIN_PSNR_DB}): {frames:?}"
    );
}
