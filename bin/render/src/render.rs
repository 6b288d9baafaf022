//! `render`'s Lambda mode: the same command that renders locally, pointed
//! at a stack (`--stack-name` / `--outputs-file`) or a site (`--site-id`),
//! like `remotion render` vs `remotion lambda render`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use hyperframes_producer::RenderConfig;
use serde_json::json;

use hyperframes_cli::aws::Aws;
use hyperframes_cli::bars;
use hyperframes_infra::contract::PlanProtocol;
use indicatif::ProgressBar;

use crate::cli::{PriceArgs, TargetArgs};
use crate::concurrency;
use crate::execution;
use crate::pricing::Prices;
use crate::progress::{self, Progress, State};
use crate::site;

/// What to render on the stack, and what to do while it runs.
#[derive(Debug, Clone)]
pub struct RemoteRender {
    pub project: Option<PathBuf>,
    pub site_id: Option<String>,
    /// The render's settings: the execution input's `Config`, as typed as
    /// the flags that built it.
    pub config: RenderConfig,
    pub protocol: PlanProtocol,
    pub render_id: Option<String>,
    pub output_key: Option<String>,
    pub wait: bool,
    pub download: Option<PathBuf>,
    pub json: bool,
    /// The price flags; the memory is the stack's unless `--memory-mb`.
    pub prices: PriceArgs,
    /// `--concurrency`: the most chunks at once, instead of the figure read
    /// from the account's and the function's Lambda concurrency.
    pub concurrency: Option<u32>,
    /// Estimate flags: with a local project, the estimate is computed
    /// before the upload, printed, and attached to the execution input.
    pub estimate: Option<crate::estimate::EstimateArgs>,
}

/// The render config as the stack gets it (`runtimeCap` lambda unless
/// set), validated with the producer's rules before any AWS call.
pub fn config(r: &RemoteRender) -> Result<RenderConfig> {
    let mut c = r.config.clone();
    c.runtime_cap.get_or_insert_with(|| "lambda".into());
    c.validate().map_err(|e| anyhow!("{e}"))?;
    Ok(c)
}

/// The config with `concurrency` as the cap of the automatic chunk count
/// ([`hyperframes_producer::plan::fan_out`]), unless the chunking flags
/// decide the chunks: then the plan has the chunks they say, and the
/// Map runs them `concurrency` at a time.
pub fn cap_fan_out(mut config: RenderConfig, concurrency: Option<u32>) -> RenderConfig {
    let automatic = config.chunk_size.is_none()
        && config.max_parallel_chunks.is_none()
        && config.target_chunk_frames.is_none();
    if automatic {
        config.concurrency = concurrency;
    }
    config
}

/// Starts the render; with `wait`, follows it to the end (and downloads
/// the output). Returns whether the render succeeded (or was started).
pub async fn run(target: &TargetArgs, r: RemoteRender) -> Result<bool> {
    let config = config(&r)?;
    let render_id = r.render_id.clone().unwrap_or_else(execution::new_render_id);
    execution::check_render_id(&render_id)?;
    if let Some(p) = &r.project {
        site::site_id(p)?;
    }
    let (aws, stack) = target.connect().await?;
    let prices = r.prices.prices_on(&stack);
    let concurrency = fan_out(&aws, &stack, &r).await;
    let config = cap_fan_out(config, concurrency);
    let estimate = estimate_first(&r, &config, prices)?;
    let project_uri = project_uri(&aws, &stack.bucket, &r).await?;
    let output_key = r
        .output_key
        .clone()
        .unwrap_or_else(|| execution::default_output_key(&render_id, config.format.as_str()));
    let input = input_with_variables(&aws, &stack.bucket, &render_id, &config, |c| {
        execution::input(
            &stack,
            &project_uri,
            &render_id,
            &output_key,
            c,
            r.protocol,
            concurrency,
        )
    })
    .await?;
    let input = match &estimate {
        Some(e) => crate::estimate::attach(input, e, execution::MAX_INPUT_BYTES)?,
        None => input,
    };
    let arn = execution::start(&aws.sfn, &stack, &render_id, input).await?;
    let output_uri = format!("s3://{}/{output_key}", stack.bucket);
    if r.json && !r.wait {
        println!(
            "{}",
            json!({"renderId": render_id, "executionArn": arn, "projectS3Uri": project_uri, "outputS3Uri": output_uri})
        );
    } else if !r.json {
        println!("render started: {render_id}");
        println!("  output   {output_uri}");
        println!("  follow   hyperframes progress {render_id} --stack-name <stack>");
    }
    if !r.wait {
        return Ok(true);
    }
    let p = follow(&aws.sfn, &arn, prices, r.json).await?;
    finish(&aws, &stack.bucket, &r, &output_key, &p).await
}

/// The execution input. Values that would make it too large travel as an
/// S3 object next to the plan (`renders/<id>/variables.json`), referenced by
/// `Config.variablesS3Uri`, which the plan stage reads back. `input`
/// builds the execution input for a config.
async fn input_with_variables(
    aws: &Aws,
    bucket: &str,
    render_id: &str,
    config: &RenderConfig,
    input: impl Fn(&RenderConfig) -> Result<String>,
) -> Result<String> {
    let inline = input(config);
    let Some(values) = config.variables.as_ref().filter(|v| !v.is_empty()) else {
        return inline;
    };
    if inline.is_ok() {
        return inline;
    }
    let key = format!("{}variables.json", execution::render_prefix(render_id));
    let body = values.canonical_json();
    let size = body.len();
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/json")
        .body(body.into_bytes().into())
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot upload the variables ({size} bytes) to s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let mut by_reference = config.clone();
    by_reference.variables = None;
    by_reference.variables_s3_uri = Some(format!("s3://{bucket}/{key}"));
    eprintln!("the variables ({size} bytes) are too large for the execution input; they travel as s3://{bucket}/{key}");
    input(&by_reference)
}

/// The execution input's `Concurrency` ([`crate::concurrency`]), said on
/// stderr with how it was chosen, and a warning when other renders of the
/// stack are running and share it.
async fn fan_out(aws: &Aws, stack: &execution::StackTarget, r: &RemoteRender) -> Option<u32> {
    let d = concurrency::decide(aws, stack.function_arn.as_deref(), r.concurrency).await;
    if !r.json {
        eprintln!("{}", d.note);
    }
    match concurrency::others_running(&aws.sfn, &stack.state_machine_arn).await {
        Ok(0) => {}
        Ok(n) => eprintln!(
            "warning: {}",
            concurrency::shared_budget_warning(n, d.concurrency)
        ),
        Err(e) => eprintln!("note: cannot tell whether other renders are running ({e:#})"),
    }
    d.concurrency
}

/// `--estimate` with a project: the price, printed before anything is
/// uploaded, and carried in the execution input.
fn estimate_first(
    r: &RemoteRender,
    config: &RenderConfig,
    prices: Prices,
) -> Result<Option<crate::estimate::model::Estimate>> {
    Ok(match (&r.project, &r.estimate) {
        (Some(p), Some(args)) => {
            let e = crate::estimate::for_project(p, config, prices, r.protocol, args)?;
            if !r.json {
                println!(
                    "estimate: ${:.4} (${:.4} - ${:.4}), ~{:.0} s",
                    e.total_usd.expected,
                    e.total_usd.low,
                    e.total_usd.high,
                    e.wall_seconds.expected
                );
                for w in &e.warnings {
                    eprintln!("warning: {w}");
                }
            }
            Some(e)
        }
        _ => None,
    })
}

/// The end of a followed render: its summary, and the download.
async fn finish(
    aws: &Aws,
    bucket: &str,
    r: &RemoteRender,
    output_key: &str,
    p: &Progress,
) -> Result<bool> {
    let output_uri = format!("s3://{bucket}/{output_key}");
    if r.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    }
    match &p.state {
        State::Succeeded => {
            if let Some(dest) = &r.download {
                let n = download(&aws.s3, bucket, output_key, dest).await?;
                if !r.json {
                    println!("downloaded {output_uri} to {} ({n} bytes)", dest.display());
                }
            }
            Ok(true)
        }
        State::Failed { error, cause } => {
            eprintln!("render failed: {error}: {cause}");
            Ok(false)
        }
        other => {
            eprintln!("render ended: {other:?}");
            Ok(false)
        }
    }
}

/// Fetches an object to `dest` through a temporary file, so a broken
/// transfer never leaves a truncated video under the final name.
pub async fn download(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    dest: &Path,
) -> Result<u64> {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot download s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let tmp = dest.with_extension("part");
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let copied = tokio::io::copy(&mut o.body.into_async_read(), &mut file).await;
    let n = match copied {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(anyhow!("download of s3://{bucket}/{key} interrupted: {e}"));
        }
    };
    drop(file);
    std::fs::rename(&tmp, dest).with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(n)
}

/// The project's S3 URI: a local directory is uploaded as a site (unless an
/// identical one is there), a site id must already be in the bucket.
async fn project_uri(aws: &Aws, bucket: &str, r: &RemoteRender) -> Result<String> {
    Ok(match (&r.project, &r.site_id) {
        (Some(p), _) => site::create(&aws.s3, bucket, p).await?.project_s3_uri,
        (None, Some(id)) => {
            let key = site::site_key(id);
            if let Err(e) = aws.s3.head_object().bucket(bucket).key(&key).send().await {
                if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) {
                    bail!("site `{id}` is not in s3://{bucket}/{key}; upload it with `hyperframes sites create DIR`");
                }
                bail!(
                    "cannot check site s3://{}/{key}: {}",
                    bucket,
                    aws_sdk_s3::error::DisplayErrorContext(e)
                );
            }
            format!("s3://{}/{key}", bucket)
        }
        (None, None) => bail!("what to render? pass a project directory or --site-id ID"),
    })
}

/// Polls the render until it ends: a bar on a terminal, a line per change
/// otherwise, nothing with `--json` (the caller prints the final state).
pub async fn follow(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
    prices: Prices,
    json: bool,
) -> Result<progress::Progress> {
    let bar = if json {
        ProgressBar::hidden()
    } else {
        bars::fraction()
    };
    let mut last = String::new();
    loop {
        let p = execution::progress(sfn, arn, prices).await?;
        let line = progress::line(&p);
        bar.set_position((p.fraction * 1000.0).round() as u64);
        bar.set_message(line.clone());
        if bar.is_hidden() && !json && line != last {
            println!("{line}");
        }
        last = line;
        if p.state != State::Running {
            bar.finish_and_clear();
            return Ok(p);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
