//! `hyperframes bench plan-reuse`: what planning a template once saves.
//!
//! A 5-s 1920x1080 template (the variables-prod fixture made 5 s long;
//! its gsap from the offline asset map, its audio track mixed by the plan)
//! is planned with a new template cache every time (cold: the template is
//! compiled, probed and mixed) and with a primed one (reused), each row
//! with other variable values; medians of `--runs`, with each phase's
//! median. The bench target: a reused plan costs at most 10 % of a cold
//! one. A reused plan is checked byte for byte (plan hash, tarball)
//! against a plan of the same row made without the cache.
//!
//! `--handler` times the same plans through the Lambda handler's plan
//! action against moto (project download, the cache entry read from and
//! written to `sites/<id>/templates/`, the v2 publish). `--peer` renders
//! the variables-prod fixture with its meta.json values with ours and the
//! peer CLI (`--variables`), and reports the time ratio and the PSNR of
//! our frames against the peer's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use hyperframes_producer::plan::digest::sha256_file;
use hyperframes_producer::variables::Variables;
use hyperframes_producer::{
    AssetMap, Format, PlanOptions, PlanOutcome, RenderConfig, TemplateCache,
};

/// The fixture's gsap, and the URL the offline asset map serves gsap at.
const FIXTURE_GSAP: &str = "https://cdn.jsdelivr.net/npm/gsap@3.14.2/dist/gsap.min.js";
const MAPPED_GSAP: &str = "https://cdnjs.cloudflare.com/ajax/libs/gsap/3.12.2/gsap.min.js";

#[derive(Debug, Parser)]
#[command(about = "Plan time with the template planned once against compiling it every time")]
pub struct Args {
    /// The test fixtures directory (variables-prod).
    #[arg(long, default_value = "producer/tests/fixtures")]
    fixtures: PathBuf,
    /// Plans per column (medians are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also plan through the Lambda handler's plan action against moto.
    #[arg(long)]
    handler: bool,
    /// Also render variables-prod with its values against the peer CLI;
    /// needs --peer-script.
    #[arg(long)]
    peer: bool,
    /// The peer bench script (`hf_ref_bench.sh`, which installs HyperFrames' own CLI).
    #[arg(long)]
    peer_script: Option<PathBuf>,
    /// Renders of each side in the peer comparison.
    #[arg(long, default_value_t = 2)]
    peer_runs: usize,
    /// Work directory [default: target/plan-reuse-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `hyperframes bench plan-reuse`.
pub fn run(args: Args) -> ExitCode {
    crate::exit("plan-reuse", bench(&args))
}

fn bench(args: &Args) -> Result<bool> {
    let script = match (args.peer, &args.peer_script) {
        (true, Some(s)) if s.is_file() => Some(s.clone()),
        (true, Some(s)) => bail!("--peer-script {} does not exist", s.display()),
        (true, None) => bail!("--peer needs --peer-script PATH, a copy of the bench script that installs HyperFrames' own CLI (hf_ref_bench.sh)"),
        (false, _) => None,
    };
    let work = args.dir.clone().unwrap_or_else(|| {
        hyperframes_deploy::deploy::workspace_root().join("target/plan-reuse-bench")
    });
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let work = work.canonicalize()?;
    let fixture = args.fixtures.join("variables-prod");
    let project = template_project(&fixture, &work)?;
    let map = AssetMap::discover().map_err(|e| anyhow!("{e}"))?;
    let runs = args.runs.max(1);
    let mut ok = true;
    let local = local_plans(&project, &map, &work, runs)?;
    println!(
        "## Plan the template once ({}, 1920x1080, 5 s, 30 fps, mp4; medians of {runs})\n",
        project.display()
    );
    println!("{}", local.table("in process (`plan_with`)"));
    ok &= local.verdict();
    if args.handler {
        let h = crate::plan_reuse_handler::plans(&project, &work, runs)?;
        println!(
            "{}",
            h.table("the Lambda plan action against moto (download, S3 cache, v2 publish)")
        );
        ok &= h.verdict();
    }
    if let Some(script) = script {
        ok &= crate::plan_reuse_peer::compare(&fixture, &script, &work, args.peer_runs.max(1))?;
    }
    Ok(ok)
}

/// A copy of variables-prod 5 s long, with its gsap at the URL the
/// offline asset map serves.
fn template_project(fixture: &Path, work: &Path) -> Result<PathBuf> {
    let dir = work.join("template");
    std::fs::create_dir_all(&dir)?;
    let html = std::fs::read_to_string(fixture.join("index.html")).with_context(|| {
        format!(
            "cannot read {}/index.html; pass --fixtures DIR",
            fixture.display()
        )
    })?;
    if !html.contains(FIXTURE_GSAP) {
        bail!(
            "{}/index.html no longer loads {FIXTURE_GSAP}",
            fixture.display()
        );
    }
    let html = html
        .replace(FIXTURE_GSAP, MAPPED_GSAP)
        .replace("data-duration=\"3\"", "data-duration=\"5\"")
        .replace("{ duration: 3 }", "{ duration: 5 }");
    std::fs::write(dir.join("index.html"), html)?;
    std::fs::copy(fixture.join("silence.wav"), dir.join("silence.wav"))?;
    Ok(dir)
}

/// Row `i`'s variable values: other text and colour per row.
pub fn row_values(i: usize) -> serde_json::Value {
    let colours = ["#0a3d62", "#6d214f", "#218c74", "#b33939", "#474787"];
    serde_json::json!({
        "title": format!("Customer {i}"),
        "subtitle": format!("Your offer number {i}"),
        "bgColor": colours[i % colours.len()],
    })
}

/// Row `i`'s render settings.
pub fn row(i: usize) -> RenderConfig {
    let mut c = RenderConfig::new(30, Format::Mp4);
    let values = row_values(i).to_string();
    c.variables = Some(Variables::parse(&values, "bench row").expect("valid JSON"));
    c
}

/// Cold and reused plan times (ms) and each phase's times.
pub struct Timings {
    pub cold: Vec<f64>,
    pub reused: Vec<f64>,
    pub cold_phases: Vec<Vec<(&'static str, f64)>>,
    pub reused_phases: Vec<Vec<(&'static str, f64)>>,
    /// A reused plan and a fresh plan of the same row: same hash and bytes.
    pub identical: Option<bool>,
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Each phase's median over the runs, in the order of the first run.
fn phase_medians(runs: &[Vec<(&'static str, f64)>]) -> String {
    let Some(first) = runs.first() else {
        return "-".into();
    };
    first
        .iter()
        .map(|(name, _)| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.iter().find(|(n, _)| n == name).map(|p| p.1))
                .collect();
            format!("{name} {:.0}", median(&v))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Timings {
    pub fn ratio(&self) -> f64 {
        median(&self.reused) / median(&self.cold)
    }

    pub fn table(&self, what: &str) -> String {
        let mut s = format!("Plans through {what}:\n\n| plan | median ms | runs ms | phases (median ms) |\n| --- | --- | --- | --- |\n");
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        s.push_str(&format!(
            "| cold (template compiled, probed, mixed) | {:.0} | {} | {} |\n",
            median(&self.cold),
            list(&self.cold),
            phase_medians(&self.cold_phases)
        ));
        s.push_str(&format!(
            "| reused (other variables) | {:.0} | {} | {} |\n",
            median(&self.reused),
            list(&self.reused),
            phase_medians(&self.reused_phases)
        ));
        s.push_str(&format!(
            "\nreused / cold = {:.1} % (target <= 10 %)",
            self.ratio() * 100.0
        ));
        if let Some(same) = self.identical {
            s.push_str(&format!(
                "; reused plan byte-identical to a fresh plan of the same row: {}",
                if same { "yes" } else { "NO" }
            ));
        }
        s.push('\n');
        s
    }

    pub fn verdict(&self) -> bool {
        self.identical != Some(false)
    }
}

fn plan(
    project: &Path,
    config: &RenderConfig,
    dir: &Path,
    map: &AssetMap,
    cache: Option<&TemplateCache>,
) -> Result<(PlanOutcome, f64)> {
    let _ = std::fs::remove_dir_all(dir);
    let options = PlanOptions {
        asset_map: Some(map.clone()),
        template_cache: cache.cloned(),
        ..Default::default()
    };
    let t = Instant::now();
    let out = hyperframes_producer::plan_with(project, config, dir, &options)
        .map_err(|e| anyhow!("plan failed [{}]: {e}", e.name()))?;
    Ok((out, t.elapsed().as_secs_f64() * 1000.0))
}

fn phases(p: &PlanOutcome) -> Vec<(&'static str, f64)> {
    p.phases.iter().map(|p| (p.name, p.ms)).collect()
}

/// `runs` cold plans (an empty cache each) and `runs` reused ones.
fn local_plans(project: &Path, map: &AssetMap, work: &Path, runs: usize) -> Result<Timings> {
    let mut t = Timings {
        cold: vec![],
        reused: vec![],
        cold_phases: vec![],
        reused_phases: vec![],
        identical: None,
    };
    let plan_dir = work.join("plan");
    // Warm the process (ffmpeg's version is asked once per process).
    plan(project, &row(0), &plan_dir, map, None)?;
    let shared = TemplateCache::new(work.join("cache"));
    for i in 0..runs {
        let cold = TemplateCache::new(work.join(format!("cold-cache-{i}")));
        let (p, ms) = plan(project, &row(i), &plan_dir, map, Some(&cold))?;
        t.cold.push(ms);
        t.cold_phases.push(phases(&p));
        if i == 0 {
            // Prime the shared cache.
            plan(project, &row(0), &plan_dir, map, Some(&shared))?;
        }
    }
    let mut last = None;
    for i in 1..=runs {
        let (p, ms) = plan(project, &row(i), &plan_dir, map, Some(&shared))?;
        if !p.template.compile {
            bail!(
                "the plan of row {i} did not reuse the template: {}",
                p.template.describe()
            );
        }
        t.reused.push(ms);
        t.reused_phases.push(phases(&p));
        last = Some((
            p.plan_hash.clone(),
            sha256_file(&p.tarball).map_err(|e| anyhow!("{e}"))?,
        ));
    }
    let (fresh, _) = plan(project, &row(runs), &work.join("fresh"), map, None)?;
    let fresh_sum = (
        fresh.plan_hash.clone(),
        sha256_file(&fresh.tarball).map_err(|e| anyhow!("{e}"))?,
    );
    t.identical = Some(last == Some(fresh_sum));
    Ok(t)
}
