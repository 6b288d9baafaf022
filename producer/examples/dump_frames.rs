// Scratch tool (not committed): capture a project's frames to a directory.
use hyperframes_producer::browser::{ImageFormat, ImageSpec};
use hyperframes_producer::chunk::render_chunk_with;
use hyperframes_producer::{plan_with, AssetMap, ChunkOptions, Format, PlanOptions, RenderConfig};
use std::path::PathBuf;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let project = PathBuf::from(&a[1]);
    let out = PathBuf::from(&a[2]);
    let image = match a[3].as_str() {
        "png" => ImageSpec { format: ImageFormat::Png, quality: None, optimize_for_speed: true },
        q => ImageSpec { format: ImageFormat::Jpeg, quality: Some(q.parse().unwrap()), optimize_for_speed: true },
    };
    let map = AssetMap::load(std::path::Path::new("/work/main/.tools/asset-map.json")).ok();
    let mut c = RenderConfig::new(30, 1920, 1080, Format::Mp4);
    c.max_parallel_chunks = Some(1);
    let plan_dir = out.with_extension("plan");
    let _ = std::fs::remove_dir_all(&plan_dir);
    let p = plan_with(&project, &c, &plan_dir, &PlanOptions { asset_map: map }).unwrap();
    let o = render_chunk_with(&p.plan_dir, 0, &out.with_extension("chunk"), &ChunkOptions { capture_only: true, keep_frames: Some(out.clone()), image: Some(image), reuse_unchanged: Some(false), ..Default::default() }).unwrap();
    eprintln!("{} frames in {} ms", o.frames, o.duration_ms);
}
