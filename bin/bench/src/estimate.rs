//! `hyperframes bench estimate`: the cost estimate against what the same
//! renders bill. A calibration is measured on this machine (what
//! `bench render --calibrate` runs, with fewer and shorter rows), then two
//! sizes of one project are rendered stage by stage through the real
//! handler (`Handler::handle`, moto S3 on 127.0.0.1), each invocation billed
//! as Lambda's REPORT line would (its duration rounded up to the
//! millisecond). The table sets the billed GB-seconds beside the estimate's
//! range, and the S3 requests moto served beside the estimate's count.
//!
//! This is a bench and not a test: its figures are timings on a shared
//! host, which drift between a calibration and the render beside it. The
//! suite checks what does not drift (the request count, the estimate's
//! shape); the range is read here, run after run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use clap::Parser;
use hyperframes_handler::archive::create_tar_gz;
use hyperframes_handler::{Handler, LocalProducer, S3Transport};
use hyperframes_infra::contract::PlanProtocol;
use hyperframes_producer::{AssetMap, RenderConfig};
use hyperframes_render::estimate::calibration::Calibration;
use hyperframes_render::estimate::facts::{plan_locally, PlanFacts};
use hyperframes_render::estimate::measure::{calibrate, MeasureOptions};
use hyperframes_render::estimate::model::{estimate, Estimate, Inputs, Range, Target};
use hyperframes_render::pricing::Prices;
use hyperframes_testkit::moto::Moto;
use serde_json::{json, Value};

/// The bucket the rig's handler renders into.
pub const BUCKET: &str = "renders";

#[derive(Debug, Parser)]
#[command(about = "The cost estimate against the GB-seconds the same renders bill")]
pub struct Args {
    /// The project [default: the producer's mp4-h264-sdr test fixture].
    #[arg(long)]
    project: Option<PathBuf>,
    /// The function's memory, which sets the price of a billed second.
    #[arg(long, default_value_t = 10240)]
    memory_mb: u32,
    /// Calibration repetitions (their spread is part of the range).
    #[arg(long, default_value_t = 2)]
    reps: usize,
    /// Work directory [default: target/estimate-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `hyperframes bench estimate`.
pub fn run(args: Args) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench estimate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(bench(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench estimate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What one render billed.
pub struct Billed {
    pub gb_seconds: f64,
    /// S3 requests the stages made (moto's access log).
    pub requests: u64,
}

/// A handler on moto: the stages of a render, invoked one by one as the
/// state machine would, each one timed as Lambda bills it.
pub struct Rig {
    moto: Moto,
    handler: Handler,
    work: PathBuf,
}

impl Rig {
    /// moto on loopback with the render bucket, and a handler on it that
    /// renders with this machine's Chromium and ffmpeg.
    pub async fn start(work: &Path) -> Result<Rig> {
        let moto = Moto::start(&work.join("moto"));
        moto.s3_client()
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .context("creating the render bucket in moto")?;
        let work_root = work.join("tmp");
        std::fs::create_dir_all(&work_root)?;
        let handler = Handler {
            render_bucket: BUCKET.into(),
            work_root,
            transport: S3Transport::new(moto.s3_client()),
            producer: Arc::new(LocalProducer),
        };
        Ok(Rig {
            moto,
            handler,
            work: work.to_path_buf(),
        })
    }

    /// moto's own request latency on this machine (ms), for the host target.
    pub async fn request_ms(&self) -> f64 {
        let started = Instant::now();
        for _ in 0..5 {
            let _ = self
                .moto
                .s3_client()
                .head_object()
                .bucket(BUCKET)
                .key("none")
                .send()
                .await;
        }
        started.elapsed().as_secs_f64() * 1000.0 / 5.0
    }

    /// S3 requests moto has answered so far (one access-log line each).
    fn requests_logged(&self) -> u64 {
        let text = self.moto.log_text();
        let answered = |l: &&str| ["\" 20", "\" 30", "\" 40"].iter().any(|s| l.contains(s));
        text.lines().filter(answered).count() as u64
    }

    /// Uploads `project` as a site (as the client does, not counted), then
    /// renders it stage by stage (v2 plan, one call per chunk, assemble),
    /// billed at `memory_mb`.
    pub async fn render(
        &self,
        project: &Path,
        config: &RenderConfig,
        id: &str,
        memory_mb: u32,
    ) -> Result<Billed> {
        let archive = self.work.join(format!("{id}.tar.gz"));
        create_tar_gz(project, &archive)?;
        let key = format!("sites/{id}/project.tar.gz");
        self.moto
            .s3_client()
            .put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(ByteStream::from(std::fs::read(&archive)?))
            .send()
            .await
            .context("uploading the site to moto")?;
        let before = self.requests_logged();
        let prefix = format!("s3://{BUCKET}/renders/{id}/");
        let (plan, mut billed_ms) = self
            .call(json!({"Action": "plan", "PlanProtocol": "v2",
                "ProjectS3Uri": format!("s3://{BUCKET}/{key}"), "PlanOutputS3Prefix": prefix,
                "Config": config}))
            .await?;
        let stage = |action: &str| {
            json!({"Action": action, "PlanProtocol": "v2",
                "PlanV2ManifestS3Uri": plan["PlanV2ManifestS3Uri"],
                "PlanV2ArtifactS3Prefix": plan["PlanV2ArtifactS3Prefix"],
                "PlanHash": plan["PlanHash"], "Format": config.format.extension()})
        };
        let mut chunks = Vec::new();
        for i in 0..plan["ChunkCount"].as_u64().unwrap_or(0) {
            let mut event = stage("renderChunk");
            event["ChunkIndex"] = json!(i);
            event["ChunkOutputS3Prefix"] = json!(prefix);
            let (r, ms) = self.call(event).await?;
            billed_ms += ms;
            chunks.push(r["ChunkS3Uri"].clone());
        }
        let mut event = stage("assemble");
        event["ChunkS3Uris"] = json!(chunks);
        event["AudioS3Uri"] = Value::Null;
        event["OutputS3Uri"] = json!(format!(
            "s3://{BUCKET}/outputs/{id}.{}",
            config.format.extension()
        ));
        billed_ms += self.call(event).await?.1;
        Ok(Billed {
            gb_seconds: billed_ms as f64 / 1000.0 * f64::from(memory_mb) / 1024.0,
            requests: self.requests_logged() - before,
        })
    }

    /// One invocation: its result and its billed milliseconds (the
    /// duration rounded up to 1 ms).
    async fn call(&self, event: Value) -> Result<(Value, u128)> {
        let started = Instant::now();
        let out = self
            .handler
            .handle(event)
            .await
            .map_err(|e| anyhow!("{}: {}", e.name, e.message))?;
        let billed = started.elapsed().as_micros().div_ceil(1000);
        Ok((serde_json::to_value(out)?, billed))
    }
}

/// The estimate for `facts` on this host, with calibration `cal`.
pub fn estimate_here(
    cal: &Calibration,
    facts: &PlanFacts,
    request_ms: f64,
    memory_mb: u32,
) -> Result<Estimate> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    estimate(
        facts,
        &Inputs {
            calibration: cal,
            calibration_source: "measured by this bench",
            target: Target {
                cores,
                cold_start_ms: 0.0,
                s3_mb_per_second: 200.0,
                s3_request_ms: request_ms,
                core_speed: 1.0,
            },
            prices: Prices {
                memory_mb,
                ..Prices::default()
            },
            concurrency: None,
            protocol: PlanProtocol::V2,
        },
    )
}

/// One row of the table.
struct Row {
    id: &'static str,
    size: (u32, u32),
    frames: u64,
    chunks: u32,
    billed: Billed,
    range: Range,
    requests_estimated: u64,
}

async fn bench(args: Args) -> Result<()> {
    let root = hyperframes_testkit::workspace_root();
    let fixture = root.join("producer/tests/fixtures/mp4-h264-sdr");
    let project = args.project.clone().unwrap_or(fixture);
    let work = args
        .dir
        .clone()
        .unwrap_or_else(|| root.join("target/estimate-bench"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let map = Some(AssetMap::discover()?);
    let rig = Rig::start(&work).await?;
    let request_ms = rig.request_ms().await;

    let sizes = [("small", (640, 360)), ("big", (1280, 720))];
    let calibrate_now = |name: &str| quick_calibration(&project, &work.join(name), &map, args.reps);
    let mut cal_before = calibrate_now("calibrate-0")?;
    let mut rows = Vec::new();
    for (n, (id, (w, h))) in sizes.into_iter().enumerate() {
        let sized = hyperframes_producer::bench::prepare_project(
            &project,
            &work.join(format!("project-{w}x{h}")),
            w,
            h,
            4,
        )?;
        let config =
            RenderConfig::from_json(&json!({"fps": 30, "format": "mp4", "runtimeCap": "lambda"}))?;
        let facts_dir = work.join(format!("facts-{id}"));
        std::fs::create_dir_all(&facts_dir)?;
        let facts = plan_locally(&sized, &config, map.clone(), &facts_dir)?;
        let before = estimate_here(&cal_before, &facts, request_ms, args.memory_mb)?;
        let billed = rig.render(&sized, &config, id, args.memory_mb).await?;
        // The host's speed drifts: the range is the union of the estimates
        // from a calibration just before the render and one just after it.
        let cal_after = calibrate_now(&format!("calibrate-{}", n + 1))?;
        let after = estimate_here(&cal_after, &facts, request_ms, args.memory_mb)?;
        cal_before = cal_after;
        let mut range = before.lambda_gb_seconds;
        range.low = range.low.min(after.lambda_gb_seconds.low);
        range.high = range.high.max(after.lambda_gb_seconds.high);
        rows.push(Row {
            id,
            size: (w, h),
            frames: before.frames,
            chunks: before.chunks,
            billed,
            range,
            // The site upload (HEAD + PUT) is the client's.
            requests_estimated: before.s3_gets + before.s3_puts - 2,
        });
    }
    print_table(&rows, args.memory_mb);
    Ok(())
}

fn quick_calibration(
    project: &Path,
    work: &Path,
    map: &Option<AssetMap>,
    reps: usize,
) -> Result<Calibration> {
    calibrate(&MeasureOptions {
        fixture: project.to_path_buf(),
        work: work.to_path_buf(),
        resolutions: [(640, 360), (1280, 720)],
        frames: [10, 40],
        reps,
        asset_map: map.clone(),
        command: format!("hyperframes bench estimate ({reps} repetitions, short chunks)"),
        notes: "bench estimate".into(),
    })
}

fn print_table(rows: &[Row], memory_mb: u32) {
    println!("| render | frames | chunks | billed GB-s @ {memory_mb} MB | estimate (low-high) | billed/expected | in range | S3 requests served / estimated |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let inside = r.range.low <= r.billed.gb_seconds && r.billed.gb_seconds <= r.range.high;
        println!(
            "| {} {}x{} | {} | {} | {:.1} | {:.1} ({:.1}-{:.1}) | {:.2} | {} | {} / {} |",
            r.id,
            r.size.0,
            r.size.1,
            r.frames,
            r.chunks,
            r.billed.gb_seconds,
            r.range.expected,
            r.range.low,
            r.range.high,
            r.billed.gb_seconds / r.range.expected,
            if inside { "yes" } else { "no" },
            r.billed.requests,
            r.requests_estimated
        );
    }
}
