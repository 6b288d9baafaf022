//! Measures a calibration on this machine (`hyperframes bench render --calibrate`):
//! chunks of two lengths at two resolutions, on one core and on all of
//! them, and assembles of two chunk counts; then fits the model in
//! [`super::calibration`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context, Result};

use hyperframes_producer::bench::{load_average, median, prepare_project};
use hyperframes_producer::chunk::{render_chunk, render_chunk_with, ChunkOptions};
use hyperframes_producer::plan::v2::{self, Role};
use hyperframes_producer::plan::LoadedPlan;
use hyperframes_producer::{AssetMap, Format, PlanOptions, RenderConfig};

use super::calibration::{
    AssembleModel, Calibration, ChunkModel, PerMegapixel, Platform, Provenance, VERSION,
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct MeasureOptions {
    /// The `mp4-h264-sdr` fixture directory (stretched and scaled per row).
    pub fixture: PathBuf,
    pub work: PathBuf,
    /// Two resolutions (small first).
    pub resolutions: [(u32, u32); 2],
    /// Two chunk lengths in frames (short first).
    pub frames: [u32; 2],
    /// Repetitions of each row (medians are fitted).
    pub reps: usize,
    pub asset_map: Option<AssetMap>,
    /// The command line, recorded in the provenance.
    pub command: String,
    pub notes: String,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return vec![0];
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&i| libc::CPU_ISSET(i, &set))
            .collect()
    }
}

/// Runs `f` on a thread pinned to the first `n` allowed CPUs: the browser
/// and ffmpeg it starts inherit the pinning.
fn on_cores<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    let cpus: Vec<usize> = allowed_cpus().into_iter().take(n.max(1)).collect();
    std::thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: as above; 0 is the calling thread.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                for c in &cpus {
                    libc::CPU_SET(*c, &mut set);
                }
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            }
            f()
        })
        .join()
        .expect("measurement thread")
    })
}

struct Row {
    megapixels: f64,
    cores: usize,
    frames: u32,
    wall_ms: Vec<f64>,
    bytes_per_frame: f64,
}

fn plan(project: &Path, config: &RenderConfig, dir: &Path, map: &Option<AssetMap>) -> Result<f64> {
    let _ = std::fs::remove_dir_all(dir);
    let started = Instant::now();
    hyperframes_producer::plan_with(
        project,
        config,
        dir,
        &PlanOptions {
            asset_map: map.clone(),
            ..Default::default()
        },
    )
    .map_err(|e| anyhow!("plan failed [{}]: {e}", e.name()))?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// One chunk invocation's local work, timed: what the handler does
/// between its downloads and its upload. The chunk's blobs are copied from
/// the plan's v2 store into a fresh directory (standing in for the
/// download), materialized, and the chunk rendered with every check the
/// handler runs (plan hash, ffmpeg version). A browser that fails to start
/// on a starved core is tried once more: the row measures rendering, not
/// one unlucky start.
fn render(plan_dir: &Path, index: u32, work: &Path) -> Result<(f64, u64)> {
    let mut last = None;
    for _ in 0..2 {
        let started = Instant::now();
        match invocation(plan_dir, Role::Chunk(index), work).and_then(|plan| {
            render_chunk(&plan, index, &work.join("out"))
                .map_err(|e| anyhow!("chunk failed [{}]: {e}", e.name()))
        }) {
            Ok(o) => {
                let bytes = std::fs::metadata(&o.path).map(|m| m.len()).unwrap_or(0);
                return Ok((started.elapsed().as_secs_f64() * 1000.0, bytes));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("two attempts"))
}

/// A fresh invocation directory holding the plan as `role` receives it.
fn invocation(plan_dir: &Path, role: Role, work: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(work);
    let store = plan_dir.join("transport/v2");
    let manifest = store.join("plan.json");
    let transport = work.join("plan-v2");
    std::fs::create_dir_all(&transport)?;
    std::fs::copy(&manifest, transport.join("plan.json"))?;
    for a in v2::artifacts_for(&manifest, role).map_err(|e| anyhow!("{e}"))? {
        let rel = v2::blob_path(&a.sha256);
        let dest = transport.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(store.join(&rel), &dest)
            .with_context(|| format!("blob {rel} of {}", plan_dir.display()))?;
    }
    let plan = work.join("plan");
    v2::materialize(&transport.join("plan.json"), &transport, &plan, role)
        .map_err(|e| anyhow!("materialize failed: {e}"))?;
    Ok(plan)
}

/// Measures and fits. Takes minutes with the bench's defaults.
pub fn calibrate(opts: &MeasureOptions) -> Result<Calibration> {
    let all = allowed_cpus().len().max(1);
    let core_counts: Vec<usize> = if all > 1 { vec![1, all] } else { vec![1] };
    let seconds = opts.frames[1].div_ceil(30) + 1;
    let mut rows = Vec::new();
    let mut plan_ms = Vec::new();
    let mut profile = None;
    for (w, h) in opts.resolutions {
        let project = prepare_project(
            &opts.fixture,
            &opts.work.join(format!("project-{w}x{h}")),
            w,
            h,
            seconds,
        )
        .map_err(|e| anyhow!("cannot prepare the bench project: {e}"))?;
        for frames in opts.frames {
            let mut config = RenderConfig::new(30, Format::Mp4).with_size(w, h);
            config.chunk_size = Some(frames);
            let dir = opts.work.join(format!("plan-{w}x{h}-{frames}"));
            plan_ms.push(plan(&project, &config, &dir, &opts.asset_map)?);
            if profile.is_none() {
                let loaded = LoadedPlan::load(&dir)
                    .map_err(|e| anyhow!("cannot read the calibration's plan: {e}"))?;
                profile = Some(loaded.cost_profile());
            }
            for &cores in &core_counts {
                let mut wall = Vec::new();
                let mut bytes = 0;
                for _ in 0..opts.reps.max(1) {
                    let inv = opts.work.join("invocation");
                    let (ms, b) = on_cores(cores, || render(&dir, 0, &inv))?;
                    wall.push(ms);
                    bytes = b;
                }
                rows.push(Row {
                    megapixels: f64::from(w * h) / 1e6,
                    cores,
                    frames,
                    wall_ms: wall,
                    bytes_per_frame: bytes as f64 / f64::from(frames),
                });
            }
        }
    }
    let assemble = measure_assemble(opts)?;
    let chunk = fit_chunks(&rows, &core_counts, opts)?;
    let mut c = Calibration {
        version: VERSION,
        provenance: Provenance {
            measured_at: now_rfc3339(),
            command: opts.command.clone(),
            host: format!("{}, {all} cores", cpu_model()),
            load_average: load_average(),
            producer: hyperframes_producer::plan::PRODUCER_VERSION.into(),
            notes: opts.notes.clone(),
        },
        profile: profile.context("the calibration planned nothing")?,
        measured_cores: core_counts.iter().map(|&c| c as u32).collect(),
        measured_megapixels: opts
            .resolutions
            .iter()
            .map(|&(w, h)| f64::from(w * h) / 1e6)
            .collect(),
        chunk,
        assemble,
        plan_ms: median(plan_ms),
        platform: Platform {
            cold_start_ms: 2500.0,
            s3_mb_per_second: 90.0,
            s3_request_ms: 20.0,
            lambda_core_speed: 1.0,
            source: "cold start: Chromium + ffmpeg unpack measured by the Lambda package test (2.1-2.2 s) plus runtime start; S3 throughput and latency and Lambda's per-core speed are assumptions (not measurable here): recalibrate the platform block from a real render's REPORT lines".into(),
        },
        uncertainty: 0.0,
    };
    c.uncertainty = fit_error(&c, &rows);
    Ok(c)
}

/// `(serial, parallel)` from the values at one core and at `cores`.
fn amdahl(at_one: f64, at_all: f64, cores: usize) -> (f64, f64) {
    if cores <= 1 {
        return (at_one, 0.0);
    }
    let parallel = ((at_one - at_all) / (1.0 - 1.0 / cores as f64)).clamp(0.0, at_one.max(0.0));
    ((at_one - parallel).max(0.0), parallel)
}

/// `PerMegapixel` through two points.
fn line(m: [f64; 2], v: [f64; 2]) -> PerMegapixel {
    let per = if (m[1] - m[0]).abs() > 1e-9 {
        (v[1] - v[0]) / (m[1] - m[0])
    } else {
        0.0
    };
    PerMegapixel {
        base: v[0] - per * m[0],
        per_megapixel: per,
    }
}

fn fit_chunks(rows: &[Row], cores: &[usize], opts: &MeasureOptions) -> Result<ChunkModel> {
    let find = |mp: f64, c: usize, f: u32| {
        rows.iter()
            .find(|r| (r.megapixels - mp).abs() < 1e-9 && r.cores == c && r.frames == f)
            .map(|r| median(r.wall_ms.clone()))
            .ok_or_else(|| anyhow!("missing row {mp} MP, {c} cores, {f} frames"))
    };
    let [f1, f2] = opts.frames.map(f64::from);
    let mps = opts.resolutions.map(|(w, h)| f64::from(w * h) / 1e6);
    let (one, all) = (cores[0], *cores.last().expect("at least one core count"));
    // (boot, per frame) at each resolution and core count.
    let mut boot = Vec::new();
    let mut serial = [0.0; 2];
    let mut parallel = [0.0; 2];
    for (i, &mp) in mps.iter().enumerate() {
        let fit = |c: usize| -> Result<(f64, f64)> {
            let (a, b) = (find(mp, c, opts.frames[0])?, find(mp, c, opts.frames[1])?);
            let per_frame = ((b - a) / (f2 - f1)).max(0.0);
            Ok(((a - per_frame * f1).max(0.0), per_frame))
        };
        let (boot_one, frame_one) = fit(one)?;
        let (boot_all, frame_all) = fit(all)?;
        boot.push(amdahl(boot_one, boot_all, all));
        (serial[i], parallel[i]) = amdahl(frame_one, frame_all, all);
    }
    let bytes: Vec<f64> = mps
        .iter()
        .map(|&mp| {
            rows.iter()
                .filter(|r| (r.megapixels - mp).abs() < 1e-9 && r.frames == opts.frames[1])
                .map(|r| r.bytes_per_frame)
                .fold(0.0, f64::max)
        })
        .collect();
    let n = boot.len() as f64;
    Ok(ChunkModel {
        boot_serial_ms: boot.iter().map(|b| b.0).sum::<f64>() / n,
        boot_parallel_ms: boot.iter().map(|b| b.1).sum::<f64>() / n,
        frame_serial_ms: line(mps, serial),
        frame_parallel_ms: line(mps, parallel),
        bytes_per_frame: line(mps, [bytes[0], bytes[1]]),
    })
}

/// The largest relative error of the model against the medians, or of a
/// repetition against its median: the noise the range must cover.
fn fit_error(c: &Calibration, rows: &[Row]) -> f64 {
    let mut worst: f64 = 0.0;
    for r in rows {
        let m = median(r.wall_ms.clone());
        let predicted = c.chunk_ms(u64::from(r.frames), r.megapixels, r.cores as f64);
        worst = worst.max((predicted - m).abs() / m.max(1.0));
        for w in &r.wall_ms {
            worst = worst.max((w - m).abs() / m.max(1.0));
        }
    }
    worst
}

/// Assembles of 2 and 6 chunks of the small resolution: fixed and per-chunk cost.
fn measure_assemble(opts: &MeasureOptions) -> Result<AssembleModel> {
    let (w, h) = opts.resolutions[0];
    let project = prepare_project(&opts.fixture, &opts.work.join("project-assemble"), w, h, 2)
        .map_err(|e| anyhow!("cannot prepare the bench project: {e}"))?;
    let mut points = Vec::new();
    for chunk_size in [30u32, 10] {
        let mut config = RenderConfig::new(30, Format::Mp4).with_size(w, h);
        config.chunk_size = Some(chunk_size);
        let dir = opts.work.join(format!("plan-assemble-{chunk_size}"));
        plan(&project, &config, &dir, &opts.asset_map)?;
        let count = 60 / chunk_size;
        let out_dir = opts.work.join(format!("assemble-chunks-{chunk_size}"));
        let mut chunks = Vec::new();
        for i in 0..count {
            let o = render_chunk_with(
                &dir,
                i,
                &out_dir,
                &ChunkOptions {
                    trust_plan_hash: true,
                    ..Default::default()
                },
            )
            .map_err(|e| anyhow!("chunk failed [{}]: {e}", e.name()))?;
            chunks.push(o.path);
        }
        let mut walls = Vec::new();
        for rep in 0..opts.reps.max(1) {
            let out = opts.work.join(format!("assembled-{chunk_size}-{rep}.mp4"));
            let started = Instant::now();
            let plan = invocation(&dir, Role::Assembler, &opts.work.join("invocation"))?;
            hyperframes_producer::assemble(&plan, &chunks, &out)
                .map_err(|e| anyhow!("assemble failed [{}]: {e}", e.name()))
                .with_context(|| format!("{count} chunks"))?;
            walls.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        points.push((f64::from(count), median(walls)));
    }
    let per_chunk = ((points[1].1 - points[0].1) / (points[1].0 - points[0].0)).max(0.0);
    Ok(AssembleModel {
        fixed_ms: (points[0].1 - per_chunk * points[0].0).max(0.0),
        per_chunk_ms: per_chunk,
    })
}

fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amdahl_splits_serial_and_parallel() {
        // 10 ms on one core, 6 ms on two: 2 serial + 8 parallel.
        let (s, p) = amdahl(10.0, 6.0, 2);
        assert!((s - 2.0).abs() < 1e-9 && (p - 8.0).abs() < 1e-9);
        // No speed-up at all: all serial.
        assert_eq!(amdahl(10.0, 10.0, 2), (10.0, 0.0));
        let l = line([1.0, 3.0], [5.0, 9.0]);
        assert_eq!((l.base, l.per_megapixel), (3.0, 2.0));
    }
}
