//! The cost estimate's counts against a real render, and `render
//! --estimate` without AWS. A fixture is rendered stage by stage through
//! the real handler (`Handler::handle`, moto S3 on 127.0.0.1): the S3
//! requests moto served must equal the estimate's count for the same plan.
//! The billed GB-seconds against the estimate's range are timings on a
//! shared host, so they are read in `hyperframes bench estimate`, not
//! asserted here.

use std::path::PathBuf;
use std::process::Command;

use hyperframes_bench::estimate::{estimate_here, Rig};
use hyperframes_producer::{AssetMap, RenderConfig};
use hyperframes_render::estimate::calibration::Calibration;
use hyperframes_render::estimate::facts::plan_locally;
use serde_json::{json, Value};

fn root() -> PathBuf {
    hyperframes_testkit::workspace_root()
}

fn tools() -> PathBuf {
    hyperframes_testkit::tools_dir()
}

fn asset_map() -> AssetMap {
    let p = tools().join("asset-map.json");
    assert!(
        p.is_file(),
        "{} is missing; run scripts/test.sh --install-only",
        p.display()
    );
    AssetMap::load(&p).expect("asset map loads")
}

fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fixture() -> PathBuf {
    root().join("producer/tests/fixtures/mp4-h264-sdr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_estimated_s3_requests_are_the_requests_a_render_makes() {
    // The producer's settings from this run's environment, as a program's
    // edge installs them (the library reads no variable itself).
    hyperframes_testkit::install_producer_settings();
    let work = scratch("estimate-requests");
    let project = work.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(fixture().join("index.html"), project.join("index.html")).unwrap();
    let rig = Rig::start(&work).await.unwrap();
    // Small chunks, so the count covers several chunk invocations.
    let config = RenderConfig::from_json(
        &json!({"fps": 30, "format": "mp4", "runtimeCap": "lambda", "chunkSize": 20}),
    )
    .unwrap();
    let facts_dir = work.join("facts");
    std::fs::create_dir_all(&facts_dir).unwrap();
    let facts = plan_locally(&project, &config, Some(asset_map()), &facts_dir).unwrap();
    let e = estimate_here(&Calibration::shipped(), &facts, 5.0, 10240).unwrap();
    assert!(e.chunks >= 2, "{} chunks: the test wants several", e.chunks);
    let billed = rig
        .render(&project, &config, "requests", 10240)
        .await
        .unwrap();
    // The site upload (HEAD + PUT) is the client's, done by the rig.
    assert_eq!(
        billed.requests,
        e.s3_gets + e.s3_puts - 2,
        "S3 requests served vs estimated"
    );
    assert!(billed.gb_seconds > 0.0);
}

/// `render PROJECT --estimate --json ARGS` with no AWS configuration at
/// all; it must succeed, and its JSON is returned.
fn estimate_json(project: &std::path::Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .arg("render")
        .arg(project)
        .args(["--estimate", "--json"])
        .args(args)
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HF_ASSET_MAP", tools().join("asset-map.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn render_estimate_prints_a_price_without_aws() {
    let _ = asset_map();
    let project = scratch("estimate-cli");
    std::fs::copy(fixture().join("index.html"), project.join("index.html")).unwrap();
    let e = estimate_json(&project, &["--chunk-size", "15", "--concurrency", "2"]);
    assert_eq!(e["frames"], 60);
    assert_eq!(e["chunks"], 4);
    // 8 fixed states (SelectConcurrency among them) + one per chunk.
    assert_eq!(e["stateTransitions"], 12);
    let total = &e["totalUsd"];
    assert!(total["low"].as_f64().unwrap() < total["expected"].as_f64().unwrap());
    assert!(total["expected"].as_f64().unwrap() < total["high"].as_f64().unwrap());
    assert!(total["expected"].as_f64().unwrap() > 0.0);
    let warnings = e["warnings"].to_string();
    assert!(
        warnings.contains("4 chunks but only 2 can run at once"),
        "{warnings}"
    );
    assert!(e["calibration"]
        .as_str()
        .unwrap()
        .starts_with("shipped default"));
    // The same plan at other memory sizes: fewer vCPUs, slower chunks.
    let sizes = e["atMemory"].as_array().unwrap();
    let mb: Vec<u64> = sizes
        .iter()
        .map(|m| m["memoryMb"].as_u64().unwrap())
        .collect();
    assert_eq!(mb, [2048, 3072, 4096, 6144, 8192, 10240]);
    let wall = |i: usize| sizes[i]["wallSeconds"]["expected"].as_f64().unwrap();
    assert!(
        wall(0) > wall(5),
        "1.2 vCPUs {} s vs 5.8 vCPUs {} s",
        wall(0),
        wall(5)
    );
    assert_eq!(
        sizes[1]["totalUsd"], e["totalUsd"],
        "the 3072 MB row (the stack's default) is this render"
    );
    // The shipped calibration measured the producer's defaults, so a
    // default render is not warned about its settings.
    assert!(
        !warnings.contains("the calibration measured mp4"),
        "{warnings}"
    );

    // Other settings than the calibration measured are named, both values.
    let e = estimate_json(&project, &["--quality", "draft"]);
    let warnings = e["warnings"].to_string();
    for needle in [
        "the calibration measured mp4 libx264-software veryfast CRF 19",
        "preset ultrafast vs veryfast",
        "crf 28 vs 19",
        "--calibrate --out FILE",
    ] {
        assert!(
            warnings.contains(needle),
            "missing {needle:?} in {warnings}"
        );
    }

    // The human form, without --json.
    let out = Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .arg("render")
        .arg(&project)
        .arg("--estimate")
        .env("HF_ASSET_MAP", tools().join("asset-map.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "GB-s at 3072 MB",
        "state transitions (exact",
        "GET/HEAD",
        "total",
        "wall time",
        "calibration: shipped default",
        "at other memory sizes",
        "3072 MB   1.74",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&project);
}

#[test]
fn reference_features_not_rendered_here_are_warned_about_or_refused_with_strict() {
    let project = scratch("compat-cli");
    let html = std::fs::read_to_string(fixture().join("index.html")).unwrap();
    let marked = html.replacen("</body>", "<p data-hidden>gone</p></body>", 1);
    assert_ne!(marked, html, "the fixture has a </body>");
    std::fs::write(project.join("index.html"), marked).unwrap();
    std::fs::create_dir_all(project.join("js")).unwrap();
    std::fs::write(
        project.join("js/d3-setup.js"),
        "// transitions\nwindow.__hfD3 = window.__hfD3 || [];\n",
    )
    .unwrap();
    let html_line = std::fs::read_to_string(project.join("index.html"))
        .unwrap()
        .lines()
        .position(|l| l.contains("data-hidden"))
        .unwrap()
        + 1;
    let out_file = project.join("out.mp4");
    let out = Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .arg("render")
        .arg(&project)
        .arg("--out")
        .arg(&out_file)
        .arg("--strict")
        .env("HF_ASSET_MAP", tools().join("asset-map.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!out_file.exists(), "nothing is rendered under --strict");
    for needle in [
        "2 feature(s)",
        &format!("index.html:{html_line}: the attribute data-hidden is not implemented"),
        "js/d3-setup.js:2: the runtime hook __hfD3 is not implemented",
        "render without --strict",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }

    // Without --strict the same findings are warnings and the command goes on.
    let out = Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .arg("render")
        .arg(&project)
        .args(["--estimate", "--json"])
        .env("HF_ASSET_MAP", tools().join("asset-map.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("render: warning: ").count(), 2, "{stderr}");
    let _ = std::fs::remove_dir_all(&project);
}
