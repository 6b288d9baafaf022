//! The real handler package: the workspace's `bootstrap` plus the pinned Chromium
//! and ffmpeg payload, zipped deterministically, then unpacked into an empty
//! directory and run the way Lambda runs it (a local Runtime API,
//! `LAMBDA_TASK_ROOT`, a moto S3), with Debian's Chromium and ffmpeg hidden
//! by a private mount namespace, rendering the mp4-h264-sdr fixture.
//!
//! The payload archives come from `scripts/test.sh` (`.tools/payloads`,
//! fetched with npm/pip and checked against the pinned SHA-256s);
//! `bootstrap` is the dev-profile one `cargo test --workspace` builds
//! (`hyperframes_testkit::bootstrap` says why). Timings are printed (cold
//! start, fps), never asserted.

use hyperframes_testkit::moto;
use hyperframes_testkit::runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hyperframes_deploy::handler_zip::{self, Built, PayloadArgs};
use hyperframes_deploy::package::{self, Bootstrap};
use hyperframes_deploy::payload;
use runtime_api::blocking::{Outcome, RuntimeApi};
use serde_json::{json, Value};

const BUCKET: &str = "renders";
const INVOKE_TIMEOUT: Duration = Duration::from_secs(600);

fn workspace() -> PathBuf {
    hyperframes_testkit::workspace_root()
}

fn tools_dir() -> PathBuf {
    hyperframes_testkit::tools_dir()
}

/// A fixed name per test: a new run replaces the last one's few hundred
/// MB instead of adding to them.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lambda-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `.tools/payloads` with both pinned archives, or a failure saying how to get them.
fn payload_dir() -> PathBuf {
    let d = tools_dir().join("payloads");
    for pin in [payload::CHROMIUM, payload::FFMPEG] {
        assert!(
            d.join(pin.file).is_file(),
            "{} is missing from {}: run scripts/test.sh --install-only (it fetches {} with {})",
            pin.file,
            d.display(),
            pin.spec,
            if pin.client == payload::Client::Npm {
                "npm pack"
            } else {
                "pip download"
            },
        );
    }
    d
}

/// The workspace's `bootstrap` (see `hyperframes_testkit::bootstrap`).
fn bootstrap() -> &'static PathBuf {
    hyperframes_testkit::bootstrap::bootstrap(Path::new(env!("CARGO_TARGET_TMPDIR")))
}

/// The package every test here uses, built once. Its payload comes from
/// the suite's shared cache (the local-stack tests stage the same pins
/// there; compressing ffmpeg takes about a minute), while the determinism
/// test below stages from scratch in a cache of its own.
fn handler_zip() -> &'static (PathBuf, Built) {
    static ZIP: OnceLock<(PathBuf, Built)> = OnceLock::new();
    ZIP.get_or_init(|| {
        let d = scratch("zip");
        let args = PayloadArgs {
            payload_dir: Some(payload_dir()),
            payload_cache: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("payload-cache")),
        };
        let out = d.join("handler.zip");
        let built =
            handler_zip::build(&Bootstrap::Prebuilt(bootstrap().clone()), None, &args, &out)
                .unwrap_or_else(|e| panic!("package failed: {e:#}"));
        for line in handler_zip::describe(&built) {
            eprintln!("[package] {line}");
        }
        (out, built)
    })
}

#[test]
fn bootstrap_needs_no_glibc_newer_than_al2023() {
    let versions = package::needed_versions(bootstrap()).unwrap();
    assert!(
        versions.iter().any(|v| v.starts_with("GLIBC_2.")),
        "bootstrap should be dynamically linked against glibc: {versions:?}"
    );
    let newest = package::max_glibc_minor(bootstrap()).unwrap().unwrap();
    assert!(
        newest <= package::AL2023_GLIBC_MINOR,
        "bootstrap needs GLIBC_2.{newest} ({versions:?}); provided.al2023 has 2.{}",
        package::AL2023_GLIBC_MINOR
    );
}

#[test]
fn the_package_is_deterministic_and_within_lambda_limits() {
    let (zip_path, built) = handler_zip();
    assert!(built.package.unzipped_bytes <= package::LAMBDA_UNZIPPED_LIMIT);

    // The same inputs through the `package` program, staged from scratch in
    // another cache, give the same bytes.
    let d = scratch("determinism");
    let out = d.join("again.zip");
    let run = Command::new(env!("CARGO_BIN_EXE_package"))
        .arg("--out")
        .arg(&out)
        .arg("--bootstrap")
        .arg(bootstrap())
        .arg("--payload-dir")
        .arg(payload_dir())
        .arg("--payload-cache")
        .arg(d.join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains(&format!("sha256    {}", built.package.sha256)),
        "a second build differs from {}:\n{stdout}",
        built.package.sha256
    );
    assert!(
        stdout.contains("unpacked  ") && stdout.contains("/tmp      "),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(zip_path).unwrap()
    );

    // Layout: bootstrap, the compressed payload with its manifest, licences.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    for want in [
        "bootstrap",
        "payload/manifest.json",
        "payload/chromium.br",
        "payload/al2023.tar.br",
        "payload/swiftshader.tar.br",
        "payload/fonts.tar.br",
        "payload/ffmpeg.br",
        "licenses/README.txt",
        "licenses/sparticuz-chromium.LICENSE",
        "licenses/imageio-ffmpeg.LICENSE",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    assert_eq!(
        zip.by_name("bootstrap").unwrap().unix_mode().unwrap() & 0o777,
        0o755
    );
    let manifest: Value =
        serde_json::from_reader(zip.by_name("payload/manifest.json").unwrap()).unwrap();
    assert_eq!(manifest["components"][0]["name"], "chromium");
    assert_eq!(manifest["components"][1]["name"], "ffmpeg");
    let _ = std::fs::remove_dir_all(&d);
}

/// Unzips like Lambda does into `/var/task`: files with their modes.
fn unzip(zip_path: &Path, into: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let path = into.join(f.enclosed_name().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut out = std::fs::File::create(&path).unwrap();
        std::io::copy(&mut f, &mut out).unwrap();
        let mode = f.unix_mode().unwrap_or(0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o777)).unwrap();
    }
}

/// A running `bootstrap`, killed on drop.
struct Lambda {
    child: Child,
    started: Instant,
    stderr: PathBuf,
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Lambda {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

/// Starts `task/bootstrap` in a private mount namespace where Debian's
/// Chromium directory is empty and ffmpeg/ffprobe are /dev/null.
fn start_lambda(
    task: &Path,
    tmp: &Path,
    api: &RuntimeApi,
    moto: &moto::Moto,
    log: PathBuf,
) -> Lambda {
    let unshare = Path::new("/usr/bin/unshare");
    assert!(
        unshare.is_file(),
        "unshare is missing: apt-get install util-linux (the test hides Debian's binaries with it)"
    );
    let empty = tmp.parent().unwrap().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let hide = format!(
        "set -e; mount --bind {empty} /usr/lib/chromium; \
         for b in /usr/bin/ffmpeg /usr/bin/ffprobe /usr/bin/chromium-headless-shell; do \
           [ -e $b ] && mount --bind /dev/null $b; done; \
         if [ -x /usr/lib/chromium/chromium-headless-shell ] || /usr/bin/ffmpeg -version >/dev/null 2>&1; then \
           echo 'Debian binaries still visible' >&2; exit 97; fi; \
         exec \"$0\"",
        empty = empty.display()
    );
    let mut cmd = Command::new(unshare);
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &hide])
        .arg(task.join("bootstrap"))
        .current_dir(task)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LAMBDA_TASK_ROOT", task)
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "hf-render")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/hf-render")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("TMPDIR", tmp)
        .env("HYPERFRAMES_RENDER_BUCKET", BUCKET)
        .env("HYPERFRAMES_LAMBDA_CHROME_SOURCE", "sparticuz")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        // The fixture loads gsap and a font from CDNs; the plan resolves them
        // through the same offline map the local tests use.
        .env("HF_ASSET_MAP", tools_dir().join("asset-map.json"))
        .env("HF_ALLOW_NETWORK", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::from(
            std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
        ));
    let started = Instant::now();
    let child = cmd.spawn().expect("spawn unshare");
    Lambda {
        child,
        started,
        stderr: log,
    }
}

fn invoke(api: &RuntimeApi, lambda: &Lambda, event: Value) -> Value {
    match api.invoke(event.clone(), INVOKE_TIMEOUT) {
        Outcome::Response(v) => v,
        other => panic!(
            "{event} failed: {other:?}\n--- bootstrap log ---\n{}",
            lambda.log()
        ),
    }
}

const CONFIG: &str =
    r#"{"fps": 30, "width": 640, "height": 360, "format": "mp4", "chunkSize": 20}"#;

fn fixture_project(d: &Path) -> PathBuf {
    let project = d.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(
        workspace().join("producer/tests/fixtures/mp4-h264-sdr/compiled.html"),
        project.join("index.html"),
    )
    .unwrap();
    project
}

/// The reference: the same render in process with Debian's binaries.
/// Returns the video and the seconds spent rendering chunks.
fn local_render(d: &Path, project: &Path) -> (PathBuf, f64, u64) {
    // The producer's settings from this run's environment, as a program's
    // edge installs them (the library reads no variable itself).
    hyperframes_testkit::install_producer_settings();
    let config =
        hyperframes_producer::RenderConfig::from_json(&serde_json::from_str(CONFIG).unwrap())
            .unwrap();
    let plan_dir = d.join("local-plan");
    let p = hyperframes_producer::plan(project, &config, &plan_dir).unwrap();
    let _ = p;
    let loaded = hyperframes_producer::plan::LoadedPlan::load(&plan_dir).unwrap();
    let mut chunks = Vec::new();
    let t = Instant::now();
    for i in 0..loaded.plan.chunk_count {
        let c =
            hyperframes_producer::render_chunk(&plan_dir, i, &d.join(format!("local-chunk-{i}")))
                .unwrap();
        chunks.push(c.path);
    }
    let secs = t.elapsed().as_secs_f64();
    let out = d.join("local.mp4");
    hyperframes_producer::assemble(&plan_dir, &chunks, &out).unwrap();
    (out, secs, loaded.plan.total_frames)
}

#[test]
fn the_package_renders_the_fixture_like_lambda_without_debian_binaries() {
    let (zip_path, built) = handler_zip();
    let d = scratch("e2e");
    let task = d.join("task");
    std::fs::create_dir_all(&task).unwrap();
    unzip(zip_path, &task);
    let moto = moto::Moto::start(&d.join("moto"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s3 = moto.s3_client();
    let project = fixture_project(&d);
    let archive = d.join("project.tar.gz");
    hyperframes_handler::archive::create_tar_gz(&project, &archive).unwrap();
    rt.block_on(async {
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        s3.put_object()
            .bucket(BUCKET)
            .key("sites/fixture/project.tar.gz")
            .body(std::fs::read(&archive).unwrap().into())
            .send()
            .await
            .unwrap();
    });

    // Cold: an empty /tmp, so the first event waits for the unpack.
    let tmp = d.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let api = RuntimeApi::start();
    let lambda = start_lambda(&task, &tmp, &api, &moto, d.join("bootstrap-cold.log"));
    let prefix = format!("s3://{BUCKET}/renders/r1/");
    let plan_event = |prefix: &str| {
        json!({"Payload": {"Action": "plan", "ProjectS3Uri": format!("s3://{BUCKET}/sites/fixture/project.tar.gz"),
               "PlanOutputS3Prefix": prefix, "Config": serde_json::from_str::<Value>(CONFIG).unwrap()}})
    };
    let plan = invoke(&api, &lambda, plan_event(&prefix));
    let cold_first_event = lambda.started.elapsed();
    let cold_init = api.first_poll().map(|t| t - lambda.started);
    assert_eq!(plan["TotalFrames"], 60, "{plan}");
    let chunk_count = plan["ChunkCount"].as_u64().unwrap();
    assert_eq!(chunk_count, 3, "{plan}");
    let manifest = plan["PlanV2ManifestS3Uri"].as_str().unwrap().to_string();
    let artifacts = plan["PlanV2ArtifactS3Prefix"].as_str().unwrap().to_string();
    let hash = plan["PlanHash"].as_str().unwrap().to_string();
    let t = Instant::now();
    let mut chunks = Vec::new();
    for i in 0..chunk_count {
        let r = invoke(
            &api,
            &lambda,
            json!({"Action": "renderChunk", "PlanProtocol": "v2", "ChunkIndex": i,
                   "PlanV2ManifestS3Uri": manifest, "PlanV2ArtifactS3Prefix": artifacts,
                   "PlanHash": hash, "ChunkOutputS3Prefix": prefix, "Format": "mp4"}),
        );
        chunks.push(r["ChunkS3Uri"].as_str().unwrap().to_string());
    }
    let lambda_render_secs = t.elapsed().as_secs_f64();
    let output = format!("s3://{BUCKET}/outputs/r1.mp4");
    let done = invoke(
        &api,
        &lambda,
        json!({"Action": "assemble", "PlanProtocol": "v2", "PlanV2ManifestS3Uri": manifest,
               "PlanV2ArtifactS3Prefix": artifacts, "PlanHash": hash, "ChunkS3Uris": chunks,
               "AudioS3Uri": null, "OutputS3Uri": output, "Format": "mp4"}),
    );
    assert_eq!(done["FramesEncoded"], 60, "{done}");
    let log = lambda.log();
    assert!(
        log.contains(r#""event":"runtime-ready""#) && log.contains(r#""source":"sparticuz""#),
        "the bundled runtime was not used:\n{log}"
    );
    assert!(
        log.contains(r#""unpacked":true"#),
        "a fresh /tmp must be unpacked:\n{log}"
    );
    // One JSON stage line per invocation, carrying the request id and the
    // duration of each phase.
    let stages: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.contains(r#""event":"stage""#))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(stages.len() as u64, chunk_count + 2, "{log}");
    for s in &stages {
        let request_id = s["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find_map(|sp| sp["requestId"].as_str()));
        assert!(request_id.is_some_and(|id| !id.is_empty()), "{s}");
        for phase in ["downloadMs", "renderMs", "uploadMs", "durationMs"] {
            assert!(s[phase].is_u64(), "{phase} missing: {s}");
        }
        assert_eq!(s["outcome"], "ok", "{s}");
    }
    drop(lambda);

    // Warm /tmp (a restarted runtime in the same environment): reused, not unpacked.
    let api2 = RuntimeApi::start();
    let again = start_lambda(&task, &tmp, &api2, &moto, d.join("bootstrap-reuse.log"));
    let plan2 = invoke(
        &api2,
        &again,
        plan_event(&format!("s3://{BUCKET}/renders/r2/")),
    );
    let reuse_first_event = again.started.elapsed();
    let reuse_init = api2.first_poll().map(|t| t - again.started);
    assert_eq!(
        plan2["PlanHash"], plan["PlanHash"],
        "same inputs, same plan"
    );
    let log2 = again.log();
    assert!(
        log2.contains(r#""unpacked":false"#),
        "the unpacked runtime is reused:\n{log2}"
    );
    drop(again);

    // The video: right frame count, and frames that match a local render.
    let video = d.join("lambda.mp4");
    let bytes = rt.block_on(async {
        let o = s3
            .get_object()
            .bucket(BUCKET)
            .key("outputs/r1.mp4")
            .send()
            .await
            .unwrap();
        o.body.collect().await.unwrap().into_bytes().to_vec()
    });
    std::fs::write(&video, bytes).unwrap();
    let probe = hyperframes_producer::encode::probe::probe_video(&video).unwrap();
    assert_eq!(probe.frames, 60);
    assert_eq!(probe.codec, "h264");
    // The bundled ffmpeg 9 let unset frame labels override `-color_*`:
    // its mp4s declared BT.709 samples but `unknown` primaries and transfer.
    let tags = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args([
            "stream=color_space,color_primaries,color_transfer",
            "-of",
            "csv=p=0",
        ])
        .arg(&video)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&tags.stdout).trim(),
        "bt709,bt709,bt709",
        "the Lambda render's colour tags (space, primaries, transfer)"
    );
    let (local, local_secs, frames) = local_render(&d, &project);
    let psnr = hyperframes_producer::compare::psnr_per_frame(&video, &local).unwrap();
    assert_eq!(psnr.len(), 60, "{psnr:?}");
    let worst = psnr.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(
        worst >= 40.0,
        "the Lambda render differs from the local one: worst frame {worst:.2} dB, {psnr:?}"
    );

    let unpack_ms: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("payload-unpack"))
        .collect();
    eprintln!(
        "[measure] zip {} bytes, unzipped {} bytes, /tmp {} bytes",
        built.package.zipped_bytes,
        built.package.unzipped_bytes,
        built.payload.as_ref().map_or(0, |p| p.unpacked_bytes())
    );
    eprintln!(
        "[measure] cold start, empty /tmp: init {:?}, process start -> plan answered {:.2} s",
        cold_init,
        cold_first_event.as_secs_f64()
    );
    eprintln!(
        "[measure] cold start, /tmp already unpacked: init {:?}, process start -> plan answered {:.2} s",
        reuse_init,
        reuse_first_event.as_secs_f64()
    );
    for l in unpack_ms {
        eprintln!("[measure] {l}");
    }
    eprintln!(
        "[measure] renderChunk x{chunk_count} (640x360, {frames} frames): bundled {:.2} s = {:.1} fps (incl. S3); \
         Debian binaries in process {:.2} s = {:.1} fps; worst PSNR {worst:.2} dB",
        lambda_render_secs,
        frames as f64 / lambda_render_secs,
        local_secs,
        frames as f64 / local_secs
    );
    let _ = std::fs::remove_dir_all(&d);
}
