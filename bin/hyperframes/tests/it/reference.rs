//! Three of the reference's own regression cases (heygen-com/hyperframes
//! `packages/producer/tests`, copied under producer/tests/fixtures/reference
//! with their meta.json), rendered by ours and judged by each case's own
//! thresholds against the PEER's frames: the goldens are the peer CLI's
//! checkpoint frames, recorded by `hyperframes bench reference
//! --record-goldens` (provenance.json beside each says which peer, which
//! commit, which frames). One case mounts sub-compositions three deep.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use hyperframes_bench::reference::goldens;
use hyperframes_bench::reference::harness::Meta;
use hyperframes_producer::AssetMap;

const INSTALL_HINT: &str = "run scripts/test.sh --install-only (installs chromium-headless-shell, ffmpeg and the npm gsap package)";

/// One render at a time: each already uses every core.
static RENDERS: Mutex<()> = Mutex::new(());

fn fixture(case: &str) -> PathBuf {
    hyperframes_testkit::workspace_root()
        .join("producer/tests/fixtures/reference")
        .join(case)
}

/// The fixtures load gsap from cdnjs; the test tools' map serves it.
fn asset_map() -> AssetMap {
    let map = hyperframes_testkit::tools_dir().join("asset-map.json");
    assert!(
        map.is_file(),
        "{} is missing; {INSTALL_HINT}",
        map.display()
    );
    let mut m = AssetMap::load(&map).unwrap_or_else(|e| panic!("{e}"));
    m.allow_network = false;
    m
}

fn meta(case: &str) -> Meta {
    let path = fixture(case).join("meta.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Meta::parse(&text, &path.display().to_string()).unwrap()
}

/// Renders `case` with ours and checks it against the peer's goldens.
fn render_and_check(case: &str, out_dir: &Path) -> goldens::Checked {
    hyperframes_testkit::install_producer_settings();
    if let Err(e) = hyperframes_producer::capture::browser::chrome_path() {
        panic!("{e}; {INSTALL_HINT}");
    }
    let meta = meta(case);
    let out = out_dir.join(format!("{case}.mp4"));
    {
        let _one = RENDERS.lock().unwrap_or_else(|e| e.into_inner());
        hyperframes_bench::reference::render_ours(
            &fixture(case).join("src"),
            &out,
            &meta,
            Some(asset_map()),
        )
        .unwrap_or_else(|e| panic!("{case}: our render failed: {e:#}"));
    }
    goldens::check(&out, &fixture(case).join("golden"), &meta).unwrap()
}

fn assert_passes(case: &str) {
    let dir = tempfile::tempdir().unwrap();
    let c = render_and_check(case, dir.path());
    let m = meta(case);
    assert!(
        c.passed(),
        "{case} misses its thresholds against the peer's frames: frames ours/peer {:?}; {} of {} sampled checkpoints below minPsnr {} dB (allowed {}); PSNR at frames {:?}: {:?}",
        c.frames,
        c.failed,
        c.sampled.len(),
        m.min_psnr,
        c.allowed,
        c.sampled,
        c.psnr
    );
}

/// Sub-compositions mounted three deep (`data-composition-src` in a
/// mounted file), at 24 fps: minPsnr 20, maxFrameFailures 10.
#[test]
fn reference_case_nested_subcomp_depth_3_meets_its_thresholds_against_the_peer() {
    assert_passes("nested-subcomp-depth-3");
}

/// A band inside the first scene outlives its parent and must be hidden
/// once the parent scene ends, at 640x360 and 30 fps: minPsnr 45,
/// maxFrameFailures 0.
#[test]
fn reference_case_timed_descendant_visibility_meets_its_thresholds_against_the_peer() {
    assert_passes("timed-descendant-visibility");
}

/// A project asset directory that is a symlink to a sibling folder, at
/// 320x180 and 24 fps: minPsnr 30, maxFrameFailures 0.
#[test]
fn reference_case_render_symlinked_assets_meets_its_thresholds_against_the_peer() {
    assert_passes("render-symlinked-assets");
}

/// The check can fail: a flat grey video of the peer's size and length
/// misses the thresholds at every sampled checkpoint.
#[test]
fn reference_goldens_reject_a_wrong_render() {
    let case = "nested-subcomp-depth-3";
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("grey.mp4");
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=gray:s=1920x1080:r=24:d=2",
        ])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&wrong)
        .status()
        .unwrap_or_else(|e| panic!("ffmpeg: {e}; {INSTALL_HINT}"));
    assert!(st.success());
    let c = goldens::check(&wrong, &fixture(case).join("golden"), &meta(case)).unwrap();
    assert_eq!(c.frames, (48, 48));
    assert!(!c.passed(), "{c:?}");
    assert_eq!(c.failed, c.sampled.len(), "{c:?}");
}
