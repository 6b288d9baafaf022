//! The two ways a batch runs: on a stack ([`on_stack`]) and on this
//! machine ([`locally`]); both keep the same board and manifest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tokio::sync::Semaphore;

use super::board::Board;
use super::manifest::{self, Entry, Status};
use super::rows::BatchRow;
use super::stack::{self, Ctx, Plan, Update};
use crate::commands::render_batch::{finish, previous, Args};
use crate::concurrency;

/// The batch on the stack. Returns whether every row succeeded.
pub async fn on_stack(args: &Args, site_id: &str, rows: Vec<BatchRow>) -> Result<bool> {
    let (aws, target) = args.target.connect().await?;
    let est = super::estimates(
        &args.project,
        &rows,
        args.prices.prices_on(&target),
        args.plan_protocol,
        &args.estimate_args(),
    );
    for p in &est.problems {
        eprintln!("warning: no estimate for these settings: {p}");
    }
    let decided = concurrency::decide(&aws, target.function_arn.as_deref(), args.concurrency).await;
    let project_uri = format!("s3://{}/{}", target.bucket, crate::site::site_key(site_id));
    let problems: Vec<String> = rows
        .iter()
        .zip(&est.per_row)
        .filter_map(|(r, e)| {
            stack::input(
                &target,
                &project_uri,
                &stack::attempt_name(&r.base_name(), 99),
                r,
                args.plan_protocol,
                decided.concurrency,
                e.as_ref(),
            )
            .err()
            .map(|err| format!("line {}: {err:#}", r.line))
        })
        .collect();
    if !problems.is_empty() {
        bail!(
            "{} row(s) cannot start; nothing was uploaded or started:\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    let (max, note) = match args.max_concurrent {
        Some(n) => (
            n as usize,
            format!("at most {n} render(s) in flight (--max-concurrent)"),
        ),
        None => super::default_max_concurrent(decided.concurrency, est.chunks),
    };
    let ctx = Arc::new(Ctx {
        sfn: aws.sfn.clone(),
        s3: aws.s3.clone(),
        stack: target.clone(),
        project_uri,
        protocol: args.plan_protocol,
        concurrency: decided.concurrency,
        prices: args.prices.prices_on(&target),
    });
    let plans = resolve_all(&ctx, args, &rows).await?;
    if !args.json {
        eprintln!("{}\n{note}", decided.note);
        eprintln!("{}", plan_line(&plans, est.total_usd));
    }
    if args.dry_run {
        return dry_run(args, &est);
    }
    let site = crate::site::create(&aws.s3, &target.bucket, &args.project).await?;
    if !args.json {
        eprintln!(
            "site {} {}",
            site.site_id,
            if site.uploaded {
                "uploaded"
            } else {
                "already in the bucket"
            }
        );
    }
    run_rows(args, ctx, rows, plans, est, max).await
}

/// Each row's plan, from the manifest and the executions (read only).
async fn resolve_all(ctx: &Ctx, args: &Args, rows: &[BatchRow]) -> Result<Vec<Plan>> {
    let prev = previous(&args.manifest_path())?;
    let mut plans = Vec::with_capacity(rows.len());
    for r in rows {
        plans.push(stack::resolve(ctx, r, prev.get(&r.output_key)).await?);
    }
    Ok(plans)
}

fn plan_line(plans: &[Plan], total: Option<f64>) -> String {
    let count = |f: fn(&Plan) -> bool| plans.iter().filter(|p| f(p)).count();
    format!(
        "{} row(s): {} to start, {} running or ended (followed), {} done by an earlier run; estimate {}",
        plans.len(),
        count(|p| matches!(p, Plan::Start(_))),
        count(|p| matches!(p, Plan::Follow(_))),
        count(|p| matches!(p, Plan::Skip(_))),
        total.map_or("unavailable".to_string(), |t| format!("${t:.4} for the batch")),
    )
}

/// `--dry-run`'s end: the estimate of the batch, in full.
fn dry_run(args: &Args, est: &super::Estimates) -> Result<bool> {
    if !est.problems.is_empty() {
        bail!(
            "--dry-run: the batch cannot be estimated:\n  {}",
            est.problems.join("\n  ")
        );
    }
    let first = est.per_row.iter().flatten().next();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"event": "dryRun", "rows": est.per_row.len(), "estimateUsd": est.total_usd, "perRender": first})
        );
    } else if let Some(e) = first {
        println!(
            "per render (first row's settings):\n{}",
            crate::estimate::model::render_text(e)
        );
        println!(
            "batch: {} row(s), ${:.4} expected",
            est.per_row.len(),
            est.total_usd.unwrap_or(0.0)
        );
    }
    Ok(true)
}

/// Starts and follows the rows, `max` in flight, rewriting the manifest
/// as they change.
async fn run_rows(
    args: &Args,
    ctx: Arc<Ctx>,
    rows: Vec<BatchRow>,
    plans: Vec<Plan>,
    est: super::Estimates,
    max: usize,
) -> Result<bool> {
    let t = Instant::now();
    let entries: Vec<Entry> = plans
        .iter()
        .map(|p| match p {
            Plan::Skip(e) | Plan::Follow(e) | Plan::Start(e) => e.clone(),
        })
        .collect();
    let skipped = plans.iter().filter(|p| matches!(p, Plan::Skip(_))).count();
    let mut board = Board::new(entries, skipped, est.total_usd, args.json);
    let path = args.manifest_path();
    manifest::write_atomic(&path, &board.entries)?;
    let slots = Arc::new(Semaphore::new(max));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // Rows already running take their slots first.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| !matches!(plans[i], Plan::Follow(_)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in order {
        tasks.spawn(stack::drive(
            ctx.clone(),
            i,
            rows[i].clone(),
            plans[i].clone(),
            est.per_row[i].clone(),
            slots.clone(),
            tx.clone(),
        ));
    }
    drop(tx);
    let key = stack::manifest_key(
        &rows,
        &path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            u = rx.recv() => match u {
                None => break,
                Some(Update::Frames(i, d, n)) => board.frames(i, d, n),
                Some(Update::Row(i, e)) => {
                    let ended = e.status != board.entries[i].status && matches!(e.status, Status::Succeeded | Status::Failed);
                    if board.set(i, *e) {
                        manifest::write_atomic(&path, &board.entries)?;
                    }
                    if ended {
                        upload_manifest(&ctx, &key, &board.entries).await;
                    }
                }
            },
            _ = tick.tick() => board.draw(),
        }
    }
    while tasks.join_next().await.is_some() {}
    board.draw();
    let uri = upload_manifest(&ctx, &key, &board.entries).await;
    Ok(finish(args, &board, t.elapsed().as_millis() as u64, uri))
}

/// Puts the manifest next to the outputs; a failure is a warning (the
/// local file is the one a re-run reads).
async fn upload_manifest(ctx: &Ctx, key: &str, entries: &[Entry]) -> Option<String> {
    let put = ctx
        .s3
        .put_object()
        .bucket(&ctx.stack.bucket)
        .key(key)
        .content_type("application/x-ndjson")
        .body(manifest::to_jsonl(entries).into_bytes().into())
        .send()
        .await;
    match put {
        Ok(_) => Some(format!("s3://{}/{key}", ctx.stack.bucket)),
        Err(e) => {
            eprintln!(
                "warning: cannot upload the manifest to s3://{}/{key}: {}",
                ctx.stack.bucket,
                aws_sdk_s3::error::DisplayErrorContext(e)
            );
            None
        }
    }
}

/// The batch on this machine. Returns whether every row succeeded.
pub fn locally(args: &Args, rows: Vec<BatchRow>) -> Result<bool> {
    let out_dir = args
        .out_dir
        .clone()
        .expect("checked: a local batch has --out-dir");
    let prev = previous(&args.manifest_path())?;
    let entries: Vec<Entry> = rows
        .iter()
        .map(|r| {
            super::local::done_before(&out_dir, r, prev.get(&r.output_key))
                .unwrap_or_else(|| Entry::pending(r, r.base_name()))
        })
        .collect();
    let todo: Vec<usize> = (0..rows.len())
        .filter(|&i| entries[i].status != Status::Succeeded)
        .collect();
    let skipped = rows.len() - todo.len();
    if args.dry_run {
        let est = super::estimates(
            &args.project,
            &rows,
            args.prices.prices(),
            args.plan_protocol,
            &args.estimate_args(),
        );
        eprintln!(
            "{} row(s): {} to render into {}, {skipped} done by an earlier run",
            rows.len(),
            todo.len(),
            out_dir.display()
        );
        return dry_run(args, &est);
    }
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
    let t = Instant::now();
    let mut board = Board::new(entries.clone(), skipped, None, args.json);
    let path = args.manifest_path();
    manifest::write_atomic(&path, &board.entries)?;
    let l = super::local::Local {
        project: &args.project,
        out_dir: &out_dir,
        asset_map: args.asset_map.as_deref(),
        workers: args.workers.unwrap_or(0),
    };
    let slots = args.max_concurrent.unwrap_or(1) as usize;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| -> Result<()> {
        s.spawn(|| super::local::render_all(&l, &rows, &entries, todo, slots, tx));
        for u in rx {
            match u {
                Update::Frames(i, d, n) => board.frames(i, d, n),
                Update::Row(i, e) => {
                    if board.set(i, *e) {
                        manifest::write_atomic(&path, &board.entries)?;
                    }
                }
            }
            board.draw();
        }
        Ok(())
    })?;
    Ok(finish(args, &board, t.elapsed().as_millis() as u64, None))
}
