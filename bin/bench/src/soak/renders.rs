//! The soak's renders, through the render tools' library code as a user's
//! `render`, `progress` and `cancel` would run them: started without
//! waiting (so several run at once), followed until they end, their
//! outputs downloaded and hashed.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use hyperframes_infra::contract::PlanProtocol;
use hyperframes_local::stack::LocalStack;
use hyperframes_render::cli::TargetArgs;
use hyperframes_render::execution::{self, StackTarget};
use hyperframes_render::pricing::Prices;
use hyperframes_render::progress::{Progress, State};
use hyperframes_render::render::{self, RemoteRender};

/// What the soak asks of each render.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub fps: u32,
    pub chunk_size: u32,
}

/// One render's end.
pub struct Finished {
    pub id: String,
    pub progress: Progress,
    /// SHA-256 of the downloaded output, when it succeeded.
    pub sha256: Option<String>,
}

/// Every render's config: mp4 at the soak's frame rate and chunk size.
pub fn config(shape: Shape) -> hyperframes_producer::RenderConfig {
    let mut c =
        hyperframes_producer::RenderConfig::new(shape.fps, hyperframes_producer::Format::Mp4);
    c.chunk_size = Some(shape.chunk_size);
    c
}

/// Starts `id` on `project` and returns at once (`render` without `--wait`).
pub async fn start(target: &TargetArgs, project: &Path, id: &str, shape: Shape) -> Result<()> {
    let r = RemoteRender {
        project: Some(project.to_path_buf()),
        site_id: None,
        config: config(shape),
        protocol: PlanProtocol::V2,
        render_id: Some(id.to_string()),
        output_key: None,
        wait: false,
        download: None,
        json: true,
        prices: Default::default(),
        concurrency: None,
        estimate: None,
    };
    if !render::run(target, r).await? {
        bail!("render {id} did not start");
    }
    Ok(())
}

/// Follows each render to its end and downloads the outputs of those that
/// succeeded into `dir`.
pub async fn finish_all(target: &TargetArgs, ids: &[&str], dir: &Path) -> Result<Vec<Finished>> {
    let (aws, st) = target.connect().await?;
    let mut out = Vec::new();
    for id in ids {
        let progress = wait_for_end(&aws.sfn, &st, id).await?;
        let sha256 = match (&progress.state, &progress.output_s3_uri) {
            (State::Succeeded, Some(uri)) => {
                Some(download(&aws.s3, uri, &dir.join(format!("{id}.mp4"))).await?)
            }
            _ => None,
        };
        out.push(Finished {
            id: id.to_string(),
            progress,
            sha256,
        });
    }
    Ok(out)
}

/// Polls `progress` until the execution is no longer running (15 minutes
/// at most: a render that does not recover must not hang the bench).
async fn wait_for_end(sfn: &aws_sdk_sfn::Client, st: &StackTarget, id: &str) -> Result<Progress> {
    let arn = st.execution_arn(id);
    let t = Instant::now();
    loop {
        let p = execution::progress(sfn, &arn, Prices::default()).await?;
        if p.state != State::Running {
            return Ok(p);
        }
        if t.elapsed() > Duration::from_secs(900) {
            bail!(
                "render {id} still running after 15 minutes: {}",
                hyperframes_render::progress::line(&p)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Downloads `uri` (render's own download: whole or not at all) and
/// returns its SHA-256.
async fn download(s3: &aws_sdk_s3::Client, uri: &str, dest: &Path) -> Result<String> {
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|r| r.split_once('/'))
        .with_context(|| format!("{uri} is not an S3 URI"))?;
    hyperframes_render::render::download(s3, bucket, key, dest).await?;
    Ok(hyperframes_producer::plan::digest::sha256_file(dest)?)
}

/// What cancelling a render mid-chunk did.
pub struct Cancelled {
    pub id: String,
    /// The chunk that was running when the cancel went out.
    pub chunk_running: u64,
    /// From the cancel to the execution's ABORTED status.
    pub stopped_in: Duration,
    pub state: State,
    /// What `cancel` reports: objects and bytes under the render's prefix,
    /// and the invocations still running at the stop.
    pub reported: (usize, u64),
    pub reported_running: u32,
    /// The same once its last invocation ended (a chunk that was running
    /// may still write after the stop, as on Lambda).
    pub after_strays: (usize, u64),
    /// From the cancel to the end of its last invocation.
    pub strays_ended_in: Option<Duration>,
    pub output_written: Option<String>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// The render-chunk invocation of `id` an instance is running now.
fn running_chunk(local: &LocalStack, id: &str) -> Option<u64> {
    let needle = format!("/{id}/");
    local
        .lambda
        .in_flight()
        .into_iter()
        .find(|e| e["Action"] == "renderChunk" && e.to_string().contains(&needle))
        .and_then(|e| e["ChunkIndex"].as_u64())
}

/// Waits until a chunk of `id` is mid-render, then cancels the render as
/// `hyperframes cancel` does, and times the stop.
pub async fn cancel_mid_chunk(
    local: &LocalStack,
    target: &TargetArgs,
    id: &str,
) -> Result<Cancelled> {
    let (aws, st) = target.connect().await?;
    let t = Instant::now();
    let chunk_running = loop {
        if let Some(c) = running_chunk(local, id) {
            break c;
        }
        if t.elapsed() > Duration::from_secs(600) {
            bail!("no chunk of {id} ever ran, so it could not be cancelled mid-chunk");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Half a second into the chunk: mid-render, not at its hand-over.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let arn = st.execution_arn(id);
    let (cancelled_at, t) = (now_ms(), Instant::now());
    execution::cancel(&aws.sfn, &arn).await?;
    let progress = wait_for_end(&aws.sfn, &st, id).await?;
    let stopped_in = t.elapsed();
    let render_id = arn.rsplit(':').next().unwrap_or(id);
    let reported = execution::leftovers(&aws.s3, &st.bucket, render_id).await?;
    let strays_ended_in = wait_for_strays(local, id, cancelled_at).await;
    let after_strays = execution::leftovers(&aws.s3, &st.bucket, render_id).await?;
    let output_written = execution::output_written(&aws.sfn, &aws.s3, &arn).await?;
    Ok(Cancelled {
        id: id.to_string(),
        chunk_running,
        stopped_in,
        state: progress.state,
        reported,
        reported_running: progress.invocations_running,
        after_strays,
        strays_ended_in,
        output_written,
    })
}

/// Waits (2 minutes at most) until no invocation of `id` runs; returns
/// when the last one ended, after `since_ms`.
async fn wait_for_strays(local: &LocalStack, id: &str, since_ms: u128) -> Option<Duration> {
    let needle = format!("/{id}/");
    for _ in 0..1200 {
        let running = local
            .lambda
            .in_flight()
            .iter()
            .any(|e| e.to_string().contains(&needle));
        if !running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    local
        .lambda
        .records()
        .iter()
        .filter(|r| r.event.to_string().contains(&needle))
        .map(|r| r.ended_ms)
        .max()
        .map(|end| Duration::from_millis(end.saturating_sub(since_ms) as u64))
}

/// Every key in the render bucket, by its first path segment (`sites`,
/// `outputs`, `renders`, ...).
pub async fn bucket_keys(
    target: &TargetArgs,
) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    let (aws, st) = target.connect().await?;
    let mut by_top = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut pages = aws
        .s3
        .list_objects_v2()
        .bucket(&st.bucket)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::anyhow!(
                "cannot list s3://{}: {}",
                st.bucket,
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
        for key in page.contents().iter().filter_map(|o| o.key()) {
            let top = key.split('/').next().unwrap_or_default().to_string();
            by_top.entry(top).or_default().push(key.to_string());
        }
    }
    Ok(by_top)
}
