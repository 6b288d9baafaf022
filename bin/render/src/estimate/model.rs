//! The estimate: a plan's facts, the calibrated time model, the workflow's
//! shape and the prices, turned into GB-seconds, transitions, S3 requests,
//! storage, a total with a low/high range, and wall time at a concurrency.

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use hyperframes_infra::contract::PlanProtocol;
use hyperframes_infra::stack::INTERMEDIATES_EXPIRY_DAYS;

use super::calibration::Calibration;
use super::facts::{PlanFacts, Traffic};
use crate::pricing::Prices;

/// Lambda gives one vCPU per 1769 MB, up to 6 at 10240 MB.
pub const MB_PER_VCPU: f64 = 1769.0;
/// S3 Standard, us-east-1: USD per 1000 PUT requests.
pub const S3_PUT_PER_1000: f64 = 0.005;
/// S3 Standard, us-east-1: USD per 1000 GET/HEAD requests.
pub const S3_GET_PER_1000: f64 = 0.0004;
/// S3 Standard, us-east-1: USD per GB-month of storage.
pub const S3_GB_MONTH: f64 = 0.023;
/// Transfers one invocation runs at once (the handler's limit).
const TRANSFER_CONCURRENCY: f64 = 16.0;
/// Step Functions' own latency per state on the critical path.
const STATE_LATENCY_MS: f64 = 60.0;
/// The Distributed Map's start and end of its Map Run, and per child
/// execution it starts. Not measured here (the local service runs the Map
/// inline); one user reported 7 s between MapRunStarted and
/// MapRunSucceeded for 100 no-op children, which this reproduces
/// (2 s + 100 x 50 ms).
pub const MAP_RUN_FIXED_MS: f64 = 2_000.0;
/// See [`MAP_RUN_FIXED_MS`].
pub const MAP_RUN_PER_CHILD_MS: f64 = 50.0;

/// The Map Run's own overhead for `children` child executions, ms.
pub fn map_run_overhead_ms(children: u32) -> f64 {
    MAP_RUN_FIXED_MS + MAP_RUN_PER_CHILD_MS * f64::from(children)
}

/// The worker the model predicts for.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Cores one invocation gets.
    pub cores: f64,
    /// Billed init of a cold environment.
    pub cold_start_ms: f64,
    pub s3_mb_per_second: f64,
    pub s3_request_ms: f64,
    /// Core speed relative to the calibrating machine.
    pub core_speed: f64,
}

impl Target {
    /// A Lambda function with `memory_mb`, the platform numbers from the calibration.
    pub fn lambda(memory_mb: u32, c: &Calibration) -> Target {
        Target {
            cores: vcpus(memory_mb),
            cold_start_ms: c.platform.cold_start_ms,
            s3_mb_per_second: c.platform.s3_mb_per_second,
            s3_request_ms: c.platform.s3_request_ms,
            core_speed: c.platform.lambda_core_speed,
        }
    }
}

/// A prediction with its range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Range {
    pub low: f64,
    pub expected: f64,
    pub high: f64,
}

impl Range {
    fn scale(self, k: f64) -> Range {
        Range {
            low: self.low * k,
            expected: self.expected * k,
            high: self.high * k,
        }
    }
    fn plus(self, x: f64) -> Range {
        Range {
            low: self.low + x,
            expected: self.expected + x,
            high: self.high + x,
        }
    }
}

/// The estimate, as printed and as attached to the execution input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub frames: u64,
    pub chunks: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub memory_mb: u32,
    pub invocations: u32,
    /// Billed Lambda time, seconds (init of cold environments included).
    pub lambda_seconds: Range,
    pub lambda_gb_seconds: Range,
    pub lambda_usd: Range,
    /// States entered, exact for this chunk count (without retries).
    pub state_transitions: u64,
    pub step_functions_usd: f64,
    pub s3_gets: u64,
    pub s3_puts: u64,
    pub s3_requests_usd: f64,
    /// Intermediates (plan and chunks) kept until the lifecycle rule expires them.
    pub intermediate_bytes: u64,
    pub storage_usd: f64,
    /// The output's size, and what keeping it costs per month.
    pub output_bytes: u64,
    pub output_usd_per_month: f64,
    pub total_usd: Range,
    /// Concurrency the wall time assumes (chunks at once).
    pub concurrency: u32,
    pub wall_seconds: Range,
    pub warnings: Vec<String>,
    pub calibration: String,
    pub excludes: String,
    /// The same render at other memory sizes ([`MEMORY_SIZES`]), so the
    /// user sees the trade: fewer vCPUs make each chunk slower, while a
    /// vCPU-second costs about the same at every size.
    #[serde(default)]
    pub at_memory: Vec<AtMemory>,
}

/// Memory sizes an estimate is also shown at: sizes the stack takes
/// (`LambdaMemory`: 2,048 to 10,240 MB in 1,024 MB steps), the default
/// (3,072) among them.
pub const MEMORY_SIZES: [u32; 6] = [2048, 3072, 4096, 6144, 8192, 10240];

/// One row of the memory comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AtMemory {
    pub memory_mb: u32,
    pub vcpus: f64,
    pub lambda_gb_seconds: Range,
    pub total_usd: Range,
    pub wall_seconds: Range,
}

fn transfer_ms(t: &Traffic, target: &Target) -> f64 {
    let bytes = (t.bytes_down + t.bytes_up) as f64;
    bytes / (target.s3_mb_per_second * 1e6) * 1000.0
        + ((t.gets + t.puts) as f64 / TRANSFER_CONCURRENCY).ceil() * target.s3_request_ms
}

/// Warm duration of each invocation (ms): plan, the chunks, assemble.
pub fn invocation_ms(f: &PlanFacts, c: &Calibration, target: &Target) -> (f64, Vec<f64>, f64) {
    let speed = target.core_speed.max(0.01);
    let plan = f.plan_ms / speed + transfer_ms(&f.plan_traffic, target);
    let mp = f.megapixels();
    let chunks = f
        .chunk_frames
        .iter()
        .zip(&f.chunk_plan_traffic)
        .map(|(&frames, t)| {
            let mut t = *t;
            t.puts += 1;
            t.bytes_up += c.encoded_bytes(frames, mp) as u64;
            c.chunk_ms(frames, mp, target.cores) / speed + transfer_ms(&t, target)
        })
        .collect();
    let mut t = f.assemble_plan_traffic;
    t.gets += u64::from(f.chunks());
    t.puts += 1;
    let video = c.encoded_bytes(f.frames, mp) as u64;
    t.bytes_down += video;
    t.bytes_up += video;
    let assemble = c.assemble_ms(f.chunks()) / speed + transfer_ms(&t, target);
    (plan, chunks, assemble)
}

/// How many of a render's invocations start a cold environment, each
/// billed its init as Lambda bills `provided.al2023`: the REPORT's Billed
/// Duration is Duration + Init Duration (for this function, the runtime's
/// start; the payload unpack it begins runs on into the first invocation's
/// Duration, which is billed too, so the calibration's cold start is the
/// two together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdStarts {
    /// A stack that rendered as wide a moment ago: every environment warm.
    pub low: u32,
    /// The first render on an idle stack: one environment per chunk
    /// running at once (the plan's environment takes a chunk, and the
    /// assembler reuses one), so `slots` of them.
    pub expected: u32,
    /// Every invocation in a new environment (plan, each chunk, assemble):
    /// Lambda may scale out rather than reuse an environment that has
    /// just become free.
    pub high: u32,
}

/// The cold starts of a render of `chunks` chunks run `slots` at a time.
pub fn cold_starts(chunks: u32, slots: u32) -> ColdStarts {
    ColdStarts {
        low: 0,
        expected: slots.clamp(1, chunks.max(1)),
        high: chunks + 2,
    }
}

/// Wall time of `durations` run `slots` at a time, longest first.
fn schedule(durations: &[f64], slots: u32) -> f64 {
    let mut sorted = durations.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut lanes = vec![0.0f64; slots.max(1) as usize];
    for d in sorted {
        let lane = lanes
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one lane");
        *lane += d;
    }
    lanes.into_iter().fold(0.0, f64::max)
}

/// What the estimate needs besides the plan.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub calibration: &'a Calibration,
    pub calibration_source: &'a str,
    pub target: Target,
    pub prices: Prices,
    /// Chunks that may run at once (the execution input's `Concurrency`);
    /// `None` means all of them.
    pub concurrency: Option<u32>,
    pub protocol: PlanProtocol,
}

/// Estimates a render from its plan, and the same render at each of
/// [`MEMORY_SIZES`] (the model only: the plan is the same at every size).
pub fn estimate_with_sizes(f: &PlanFacts, i: &Inputs) -> Result<Estimate> {
    let mut e = estimate(f, i)?;
    for memory_mb in MEMORY_SIZES {
        let at = Inputs {
            target: Target {
                cores: vcpus(memory_mb),
                ..i.target.clone()
            },
            prices: Prices {
                memory_mb,
                ..i.prices
            },
            ..i.clone()
        };
        let x = estimate(f, &at)?;
        e.at_memory.push(AtMemory {
            memory_mb,
            vcpus: at.target.cores,
            lambda_gb_seconds: x.lambda_gb_seconds,
            total_usd: x.total_usd,
            wall_seconds: x.wall_seconds,
        });
    }
    Ok(e)
}

/// Lambda's vCPUs at `memory_mb`.
pub fn vcpus(memory_mb: u32) -> f64 {
    (f64::from(memory_mb) / MB_PER_VCPU).min(6.0)
}

/// Estimates a render from its plan.
pub fn estimate(f: &PlanFacts, i: &Inputs) -> Result<Estimate> {
    let c = i.calibration;
    let n = f.chunks();
    let (plan, chunks, assemble) = invocation_ms(f, c, &i.target);
    let warm: f64 = plan + chunks.iter().sum::<f64>() + assemble;
    let u = c.uncertainty_at(i.target.cores, f.megapixels());
    let slots = i.concurrency.unwrap_or(n).min(n).max(1);
    let cold = cold_starts(n, slots);
    let cold_ms = i.target.cold_start_ms;
    // The cold start is a platform figure, not fitted: it carries the
    // calibration's own error at these cores (not the frame-size part).
    let u_cold = c.uncertainty_for(i.target.cores);
    let seconds = Range {
        low: warm * (1.0 - u).max(0.0) + f64::from(cold.low) * cold_ms * (1.0 - u_cold).max(0.0),
        expected: warm + f64::from(cold.expected) * cold_ms,
        high: warm * (1.0 + u) + f64::from(cold.high) * cold_ms * (1.0 + u_cold),
    }
    .scale(0.001);
    let gb = f64::from(i.prices.memory_mb) / 1024.0;
    let gb_seconds = seconds.scale(gb);
    let lambda_usd = gb_seconds.scale(i.prices.lambda_gb_second);
    let transitions = hyperframes_infra::transitions::for_render(n, i.protocol)
        .map_err(|e| anyhow!("cannot count the workflow's transitions: {e}"))?;
    let sfn_usd = transitions as f64 * i.prices.state_transition;

    let s3 = s3_traffic(f);
    let s3_usd =
        s3.puts as f64 / 1000.0 * S3_PUT_PER_1000 + s3.gets as f64 / 1000.0 * S3_GET_PER_1000;
    let output_bytes = c.encoded_bytes(f.frames, f.megapixels()) as u64;
    let intermediate_bytes = f.plan_bytes + output_bytes;
    let months = f64::from(INTERMEDIATES_EXPIRY_DAYS) / 30.0;
    let storage_usd = intermediate_bytes as f64 / 1e9 * S3_GB_MONTH * months;
    let total = lambda_usd.plus(sfn_usd + s3_usd + storage_usd);

    let critical = f64::from(8) * STATE_LATENCY_MS + map_run_overhead_ms(n);
    let wall_ms = plan + schedule(&chunks, slots) + assemble + critical;
    let wall = Range {
        low: wall_ms * (1.0 - u).max(0.0),
        expected: wall_ms + cold_ms,
        high: wall_ms * (1.0 + u) + 2.0 * cold_ms,
    }
    .scale(0.001);

    let warnings = warnings(f, i);
    Ok(Estimate {
        frames: f.frames,
        chunks: n,
        width: f.width,
        height: f.height,
        fps: f.fps,
        memory_mb: i.prices.memory_mb,
        invocations: n + 2,
        lambda_seconds: seconds,
        lambda_gb_seconds: gb_seconds,
        lambda_usd,
        state_transitions: transitions,
        step_functions_usd: sfn_usd,
        s3_gets: s3.gets,
        s3_puts: s3.puts,
        s3_requests_usd: s3_usd,
        intermediate_bytes,
        storage_usd,
        output_bytes,
        output_usd_per_month: output_bytes as f64 / 1e9 * S3_GB_MONTH,
        total_usd: total,
        concurrency: slots,
        wall_seconds: wall,
        warnings,
        calibration: format!(
            "{} (measured {} on {} by `{}`)",
            i.calibration_source, c.provenance.measured_at, c.provenance.host, c.provenance.command
        ),
        excludes: "data transfer out of AWS, CloudWatch, KMS, retries after errors".into(),
        at_memory: Vec::new(),
    })
}

/// What the user should know before trusting the numbers: too few
/// concurrent slots for the plan, or a calibration unlike this render.
fn warnings(f: &PlanFacts, i: &Inputs) -> Vec<String> {
    let (c, n) = (i.calibration, f.chunks());
    let mut warnings = Vec::new();
    if let Some(k) = i.concurrency {
        if n > k {
            warnings.push(format!(
                "the plan has {n} chunks but only {k} can run at once: the render runs them {k} at a time (the wall time above counts the waves), and a chunk Lambda throttles anyway is retried until there is room. For fewer waves, ask AWS to raise the account's Lambda concurrency quota, or render with --max-parallel-chunks {k} (or a larger --chunk-size)"
            ));
        }
    }
    let differences = f.profile.differences(&c.profile);
    if !differences.is_empty() {
        warnings.push(format!(
            "the calibration measured {}; this render is {} ({}): frame costs may differ a lot. Recalibrate for these settings with `hyperframes bench render --calibrate --out FILE` and pass `--calibration FILE`",
            c.profile,
            f.profile,
            differences.join(", ")
        ));
    }
    if c.extrapolates_size(f.megapixels()) {
        warnings.push(format!(
            "{}x{} ({:.2} megapixels) is outside the frame sizes the calibration measured ({} megapixels): its per-frame cost is extrapolated from them, so the range is wider",
            f.width,
            f.height,
            f.megapixels(),
            c.measured_megapixels
                .iter()
                .map(|m| format!("{m:.2}"))
                .collect::<Vec<_>>()
                .join(" and ")
        ));
    }
    let measured = c.measured_cores.iter().copied().max().unwrap_or(1);
    if i.target.cores > f64::from(measured) {
        warnings.push(format!(
            "{:.1} vCPUs per invocation is more than the {measured} cores the calibration measured: the parallel share is extrapolated, so the range is wider",
            i.target.cores
        ));
    }
    warnings
}

/// The plan's own S3 traffic plus the render's: chunk uploads, the
/// assembler's chunk downloads, the output, and the site upload `render`
/// does first (HEAD, then PUT when it is new).
fn s3_traffic(f: &PlanFacts) -> Traffic {
    let n = u64::from(f.chunks());
    let mut s3 = f.plan_traffic;
    for t in &f.chunk_plan_traffic {
        s3 += *t;
    }
    s3 += f.assemble_plan_traffic;
    s3.puts += n + 1 + 1;
    s3.gets += n + 1;
    s3
}

fn usd(x: f64) -> String {
    if x < 0.01 {
        format!("${x:.5}")
    } else {
        format!("${x:.4}")
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The human report.
pub fn render_text(e: &Estimate) -> String {
    let r = |x: Range, f: &dyn Fn(f64) -> String| {
        format!("{} ({} - {})", f(x.expected), f(x.low), f(x.high))
    };
    let chunk_sizes = if e.chunks > 0 {
        let per = e.frames as f64 / f64::from(e.chunks);
        format!("{} chunks of ~{per:.0} frames", e.chunks)
    } else {
        "no chunks".into()
    };
    let mut s = format!(
        "estimate: {} frames ({:.1} s at {} fps, {}x{}), {chunk_sizes}\n",
        e.frames,
        e.frames as f64 / f64::from(e.fps.max(1)),
        e.fps,
        e.width,
        e.height
    );
    s += &format!(
        "  Lambda          {} invocations, {} GB-s at {} MB     {}\n",
        e.invocations,
        r(e.lambda_gb_seconds, &|x| format!("{x:.0}")),
        e.memory_mb,
        r(e.lambda_usd, &|x| usd(x))
    );
    s += &format!(
        "  Step Functions  {} state transitions (exact for {} chunks)   {}\n",
        e.state_transitions,
        e.chunks,
        usd(e.step_functions_usd)
    );
    s += &format!(
        "  S3 requests     {} GET/HEAD, {} PUT                      {}\n",
        e.s3_gets,
        e.s3_puts,
        usd(e.s3_requests_usd)
    );
    s += &format!(
        "  S3 storage      {} of intermediates for {} days          {}\n",
        mb(e.intermediate_bytes),
        INTERMEDIATES_EXPIRY_DAYS,
        usd(e.storage_usd)
    );
    s += &format!("  total           {}\n", r(e.total_usd, &|x| usd(x)));
    s += &format!(
        "  wall time       {} at concurrency {} (with {:.1} s for the Distributed Map's start, a reported figure)\n",
        r(e.wall_seconds, &|x| format!("{x:.0} s")),
        e.concurrency,
        map_run_overhead_ms(e.chunks) / 1000.0
    );
    s += &format!(
        "  output          ~{}, {} per month while kept\n",
        mb(e.output_bytes),
        usd(e.output_usd_per_month)
    );
    s += &memory_table(e);
    for w in &e.warnings {
        s += &format!("warning: {w}\n");
    }
    s += &format!("calibration: {}\nexcludes: {}\n", e.calibration, e.excludes);
    s
}

/// The memory comparison, one row per size, the render's own marked.
fn memory_table(e: &Estimate) -> String {
    if e.at_memory.is_empty() {
        return String::new();
    }
    let mut s = String::from("  at other memory sizes (same plan):\n");
    s += "      memory  vCPUs      GB-s    total      wall time\n";
    for m in &e.at_memory {
        let mark = if m.memory_mb == e.memory_mb {
            " <- this render"
        } else {
            ""
        };
        s += &format!(
            "    {:>6} MB  {:>5.2}  {:>8.0}  {:>9}  {:>6.0} s{mark}\n",
            m.memory_mb,
            m.vcpus,
            m.lambda_gb_seconds.expected,
            usd(m.total_usd.expected),
            m.wall_seconds.expected
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_starts_are_one_per_environment_the_render_needs() {
        // 6 chunks all at once: 6 environments (the plan's takes a chunk,
        // the assembler reuses one); at worst all 8 invocations are cold.
        assert_eq!(
            cold_starts(6, 6),
            ColdStarts {
                low: 0,
                expected: 6,
                high: 8
            }
        );
        // 6 chunks 2 at a time: 2 environments, reused by the waves.
        assert_eq!(cold_starts(6, 2).expected, 2);
        assert_eq!(cold_starts(1, 1).expected, 1);
    }

    #[test]
    fn schedule_packs_longest_first() {
        assert_eq!(schedule(&[4.0, 3.0, 3.0, 2.0], 2), 6.0);
        assert_eq!(schedule(&[4.0, 3.0], 8), 4.0);
        assert_eq!(schedule(&[1.0; 10], 1), 10.0);
    }
}
