//! Planning a template once: a second plan of the same project with other
//! variables takes the compiled page, media metadata and audio mix from
//! the cache, adds its own variable images, and is byte-identical to a
//! plan made without the cache; a damaged entry is refused and rebuilt.

use std::path::{Path, PathBuf};

use hyperframes_producer::plan::digest::sha256_file;
use hyperframes_producer::variables::Variables;
use hyperframes_producer::{ChunkOptions, PlanOptions, PlanOutcome, RenderConfig, TemplateCache};

use crate::common::*;

const LOGO_A: &str = "https://cdn.example/a.png";
const LOGO_B: &str = "https://cdn.example/b.png";

/// A 4x4 PNG of one colour.
fn png(path: &Path, rgb: [u8; 3]) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(f), 4, 4);
    enc.set_color(png::ColorType::Rgb);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&rgb.repeat(16)).unwrap();
}

/// A small template: a remote script (inlined by the compile), an audio
/// track (mixed by the plan), a text and an image variable.
fn project(dir: &Path) -> PathBuf {
    let p = dir.join("project");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::copy(
        fixture("variables-prod").join("silence.wav"),
        p.join("silence.wav"),
    )
    .unwrap();
    std::fs::write(
        p.join("index.html"),
        format!(
            r#"<!doctype html><html data-composition-variables='[{{"id":"title","type":"string","label":"T","default":"T"}},{{"id":"logo","type":"image","label":"L","default":""}}]'>
<head><script src="{GSAP_URL}"></script></head><body style="margin:0;background:#123">
<div id="root" data-composition-id="main" data-width="160" data-height="90" data-duration="0.1" data-no-timeline>
<audio src="silence.wav" data-start="0" data-duration="0.1"></audio>
<h1 data-var-text="title" style="color:white;font-size:20px">x</h1><img data-var-src="logo" width="40" height="40">
</div></body></html>"#
        ),
    )
    .unwrap();
    p
}

fn options(scratch: &Path, cache: Option<&TemplateCache>) -> PlanOptions {
    let mut map = asset_map(scratch);
    map.insert(LOGO_A, scratch.join("a.png"));
    map.insert(LOGO_B, scratch.join("b.png"));
    PlanOptions {
        asset_map: Some(map),
        template_cache: cache.cloned(),
        ..Default::default()
    }
}

fn row(title: &str, logo: &str) -> RenderConfig {
    let mut c = RenderConfig::new(30, hyperframes_producer::Format::PngSequence);
    c.variables = Some(
        Variables::parse(&format!(r#"{{"title":"{title}","logo":"{logo}"}}"#), "test").unwrap(),
    );
    c
}

fn plan(
    project: &Path,
    config: &RenderConfig,
    dir: &Path,
    scratch: &Path,
    cache: Option<&TemplateCache>,
) -> PlanOutcome {
    hyperframes_producer::plan_with(project, config, dir, &options(scratch, cache))
        .unwrap_or_else(|e| panic!("plan of {} failed [{}]: {e}", dir.display(), e.name()))
}

/// The plan's `compiled/_remote` file names.
fn remote_files(plan: &PlanOutcome) -> Vec<String> {
    let dir = plan.plan_dir.join("compiled/_remote");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_second_plan_of_a_template_reuses_it_and_plans_the_same_bytes_as_a_fresh_one() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    png(&w.join("a.png"), [255, 0, 0]);
    png(&w.join("b.png"), [0, 0, 255]);
    let project = project(w);
    let cache = TemplateCache::new(w.join("cache"));

    let first = plan(
        &project,
        &row("One", LOGO_A),
        &w.join("p1"),
        w,
        Some(&cache),
    );
    let t = &first.template;
    assert!(!t.compile && t.key.is_some(), "{t:?}");
    let entry = t
        .stored
        .clone()
        .expect("the first plan stores the template");
    assert!(first.has_audio, "the audio mix is part of the template");

    let second = plan(
        &project,
        &row("Two", LOGO_B),
        &w.join("p2"),
        w,
        Some(&cache),
    );
    let t = &second.template;
    assert!(
        t.compile && t.stored.is_none() && t.refused.is_none(),
        "{t:?}"
    );
    assert_eq!(t.key, first.template.key, "variables are not in the key");
    assert_eq!(t.variable_assets, 1, "{t:?}");
    assert!(t.describe().contains("reused"), "{}", t.describe());
    let phases: Vec<_> = second.phases.iter().map(|p| p.name).collect();
    assert!(
        phases.contains(&"media (cached)") && !phases.contains(&"compile"),
        "{phases:?}"
    );

    // The same row planned without the cache: the same plan, byte for byte.
    let fresh = plan(&project, &row("Two", LOGO_B), &w.join("p3"), w, None);
    assert_eq!(fresh.template.key, None);
    assert_eq!(second.plan_hash, fresh.plan_hash);
    assert_ne!(second.plan_hash, first.plan_hash);
    assert_eq!(
        sha256_file(&second.tarball).unwrap(),
        sha256_file(&fresh.tarball).unwrap()
    );
    assert_eq!(
        std::fs::read(&second.v2.manifest_path).unwrap(),
        std::fs::read(&fresh.v2.manifest_path).unwrap()
    );
    // Each row carries its own image, not the other row's.
    assert_eq!(remote_files(&first).len(), 1);
    assert_eq!(remote_files(&second).len(), 1);
    assert_ne!(remote_files(&first), remote_files(&second));
    // ... and renders the same bytes from either plan.
    let chunk = |p: &PlanOutcome, name: &str| {
        let _g = browser_lock();
        let out = w.join(name);
        let c =
            hyperframes_producer::render_chunk_with(&p.plan_dir, 0, &out, &ChunkOptions::default())
                .unwrap_or_else(|e| panic!("chunk of {name} [{}]: {e}", e.name()));
        sorted_pngs(&c.path)
            .iter()
            .map(|f| sha256_file(f).unwrap())
            .collect::<Vec<_>>()
    };
    let (reused, fresh_frames) = (chunk(&second, "c2"), chunk(&fresh, "c3"));
    assert!(!reused.is_empty());
    assert_eq!(reused, fresh_frames);

    // A damaged entry is refused, rebuilt and stored again; the plan is unchanged.
    let mut bytes = std::fs::read(&entry).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&entry, &bytes).unwrap();
    let again = plan(
        &project,
        &row("Two", LOGO_B),
        &w.join("p4"),
        w,
        Some(&cache),
    );
    let t = &again.template;
    assert!(!t.compile, "{t:?}");
    assert!(
        t.refused.as_deref().is_some_and(|r| r.contains("hash")),
        "{t:?}"
    );
    assert_eq!(t.stored.as_deref(), Some(entry.as_path()));
    assert_eq!(again.plan_hash, fresh.plan_hash);
    let after = plan(
        &project,
        &row("Three", LOGO_A),
        &w.join("p5"),
        w,
        Some(&cache),
    );
    assert!(after.template.compile, "{:?}", after.template);
    assert_eq!(after.plan_hash, {
        let f = plan(&project, &row("Three", LOGO_A), &w.join("p6"), w, None);
        f.plan_hash
    });

    // Another project (one byte changed) has another key.
    std::fs::write(
        project.join("note.txt"),
        "a file the plan copies changes the template",
    )
    .unwrap();
    let other = plan(
        &project,
        &row("One", LOGO_A),
        &w.join("p7"),
        w,
        Some(&cache),
    );
    assert!(!other.template.compile);
    assert_ne!(other.template.key, first.template.key);
}
