//! `hyperframes bench reference`: the reference's own regression cases (and,
//! with `--registry`, a corpus of its registry demos) rendered by ours in
//! process and by the peer CLI, offline, in the same run; each case judged
//! by its own `meta.json` thresholds with the reference harness's rule
//! ([`harness`]) applied to ours against the peer's video. One table:
//! case, verdict, PSNR (average and worst checkpoint), frames, time ratio
//! and the cause of each failure. `--record-goldens DIR` keeps the peer's
//! sampled checkpoint frames of each case (lossless) with their provenance,
//! the goldens of the suite's reference test.

pub mod cases;
pub mod goldens;
pub mod harness;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use hyperframes_producer::variables::Variables;
use hyperframes_producer::{AssetMap, Format, RenderConfig};

use cases::Repo;
use harness::Meta;
pub use table::{Row, Verdict};

#[derive(Debug, Parser)]
#[command(about = "The reference's regression cases (or registry demos) against its own renderer")]
pub struct Args {
    /// A checkout of heygen-com/hyperframes, or a bare git mirror of it.
    #[arg(long)]
    repo: PathBuf,
    /// Only these cases (names of `packages/producer/tests/*`, or with
    /// --registry of `components/*`/`blocks/*` items, with or without the
    /// folder), comma-separated.
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Render the registry corpus instead of the regression cases, with
    /// the registry targets.
    #[arg(long)]
    registry: bool,
    /// Stop after this many rendered items (skipped ones do not count).
    #[arg(long)]
    limit: Option<usize>,
    /// Print the rows as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Write each case's peer checkpoint frames and provenance under DIR/<case>/.
    #[arg(long, value_name = "DIR")]
    record_goldens: Option<PathBuf>,
    /// The peer bench script (`hf_ref_bench.sh`); needed only when the
    /// peer CLI is not installed yet under $HF_REF_WORK (~/.cache/hf-ref-bench).
    #[arg(long)]
    peer_script: Option<PathBuf>,
    /// Work directory [default: target/reference-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `hyperframes bench reference`.
pub fn run(args: Args) -> ExitCode {
    crate::exit("reference", bench(&args))
}

/// The peer install and what every item needs from it.
pub struct Peer {
    pub work: PathBuf,
    pub gsap: PathBuf,
    pub version: String,
}

impl Peer {
    /// The installed peer CLI, installing it with `script` when absent.
    pub fn ready(script: Option<&Path>) -> Result<Peer> {
        let work = std::env::var("HF_REF_WORK")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                    .join(".cache/hf-ref-bench")
            });
        let pkg = work.join("node/node_modules/hyperframes/package.json");
        if !pkg.is_file() {
            let script = script.ok_or_else(|| {
                anyhow!(
                    "the peer CLI is not installed under {}; pass --peer-script PATH (hf_ref_bench.sh installs it)",
                    work.display()
                )
            })?;
            crate::peer::install(script, &work).map_err(|e| anyhow!("{e}"))?;
        }
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&pkg)?)?;
        Ok(Peer {
            gsap: work.join("node/node_modules/gsap/dist/gsap.min.js"),
            version: format!("hyperframes@{}", v["version"].as_str().unwrap_or("?")),
            work,
        })
    }
}

fn bench(args: &Args) -> Result<bool> {
    let work = args.dir.clone().unwrap_or_else(|| {
        hyperframes_deploy::deploy::workspace_root().join("target/reference-bench")
    });
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let work = work.canonicalize()?;
    let peer = Peer::ready(args.peer_script.as_deref())?;
    let repo = cases::open_repo(&args.repo, &work)?;
    let rows = if args.registry {
        registry(args, &repo, &peer, &work)?
    } else {
        regression(args, &repo, &peer, &work)?
    };
    let ok = table::print(&rows, args.registry, args.json, &repo, &peer);
    Ok(ok)
}

/// Picks the names `--cases` selects from `all`, refusing unknown ones.
fn select(all: Vec<String>, wanted: &[String]) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(all);
    }
    let unknown: Vec<_> = wanted
        .iter()
        .filter(|w| !all.iter().any(|a| a == *w || a.ends_with(&format!("/{w}"))))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        anyhow::bail!(
            "--cases names unknown items: {} (known: {})",
            unknown.join(", "),
            all.join(", ")
        );
    }
    Ok(all
        .into_iter()
        .filter(|a| {
            wanted
                .iter()
                .any(|w| a == w || a.ends_with(&format!("/{w}")))
        })
        .collect())
}

fn regression(args: &Args, repo: &Repo, peer: &Peer, work: &Path) -> Result<Vec<Row>> {
    let names = select(cases::case_names(repo)?, &args.cases)?;
    let mut rows = Vec::new();
    let mut rendered = 0;
    for name in names {
        if args.limit.is_some_and(|l| rendered >= l) {
            break;
        }
        let row = regression_case(args, repo, peer, work, &name)?;
        rendered += usize::from(row.verdict != Verdict::Skip);
        eprintln!("bench reference: {}", row.one_line());
        rows.push(row);
    }
    Ok(rows)
}

fn regression_case(args: &Args, repo: &Repo, peer: &Peer, work: &Path, name: &str) -> Result<Row> {
    let case = repo.root.join("packages/producer/tests").join(name);
    let mut row = Row::new(name);
    let (meta_path, src) = (case.join("meta.json"), case.join("src"));
    if !meta_path.is_file() || !src.join("index.html").is_file() {
        return Ok(row.skip("not a regression case (no meta.json and src/index.html)"));
    }
    let meta = match Meta::parse(&std::fs::read_to_string(&meta_path)?, "meta.json") {
        Ok(m) => m,
        Err(e) => return Ok(row.skip(&format!("{e:#}"))),
    };
    if let Some(f) = meta.format.as_deref().filter(|f| *f != "mp4") {
        return Ok(row.skip(&format!(
            "renderConfig.format {f}: the rule compares mp4 here"
        )));
    }
    if meta.hdr {
        return Ok(row.skip("renderConfig.hdr: HDR renders are refused here"));
    }
    let dir = work.join("cases").join(name);
    if let Some(reason) = cases::offline_copy(&case, &dir, &peer.gsap, &["output"])? {
        return Ok(row.skip(&reason));
    }
    let outs = render_pair(peer, &dir.join("src"), &dir, &meta, &mut row)?;
    let Some((ours, theirs)) = outs else {
        return Ok(row);
    };
    row.judge_case(&ours, &theirs, &meta)?;
    if let Some(goldens) = &args.record_goldens {
        goldens::record(&theirs, &goldens.join(name), name, &meta, repo, peer)?;
    }
    Ok(row)
}

fn registry(args: &Args, repo: &Repo, peer: &Peer, work: &Path) -> Result<Vec<Row>> {
    let all = cases::REGISTRY_DEMOS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let names = select(all, &args.cases)?;
    let meta = Meta {
        fps: cases::REGISTRY_FPS,
        min_psnr: 30.0,
        max_frame_failures: 0,
        min_audio_correlation: 0.0,
        max_audio_lag_windows: 1,
        variables: None,
        format: None,
        hdr: false,
    };
    let mut rows: Vec<Row> = Vec::new();
    for name in names {
        let rendered = rows.iter().filter(|r| r.verdict != Verdict::Skip).count();
        if args.limit.is_some_and(|l| rendered >= l) {
            break;
        }
        let mut row = Row::new(&name);
        let dir = work.join("registry").join(&name);
        if let Some(reason) = cases::registry_project(repo, &name, &dir, &peer.gsap)? {
            rows.push(row.skip(&reason));
            continue;
        }
        if let Some((ours, theirs)) = render_pair(peer, &dir, &dir, &meta, &mut row)? {
            row.judge_registry(&ours, &theirs)?;
        }
        eprintln!("bench reference: {}", row.one_line());
        rows.push(row);
    }
    Ok(rows)
}

/// The peer's render, then ours, of `project` into `out_dir`, timed; None
/// (with the row marked) when either fails.
fn render_pair(
    peer: &Peer,
    project: &Path,
    out_dir: &Path,
    meta: &Meta,
    row: &mut Row,
) -> Result<Option<(PathBuf, PathBuf)>> {
    let (ours, theirs) = (out_dir.join("ours.mp4"), out_dir.join("peer.mp4"));
    let _ = (std::fs::remove_file(&ours), std::fs::remove_file(&theirs));
    let mut extra = vec!["--fps".to_string(), meta.fps.to_string()];
    if let Some(v) = &meta.variables {
        extra.extend(["--variables".into(), v.to_string()]);
    }
    let t = Instant::now();
    let peer_result = crate::peer::render_with_peer(&peer.work, project, &theirs, &extra);
    row.peer_s = Some(t.elapsed().as_secs_f64());
    if let Err(e) = peer_result {
        row.verdict = Verdict::PeerFailed;
        row.causes.push(short(&e.to_string()));
        return Ok(None);
    }
    let t = Instant::now();
    let ours_result = render_ours(project, &ours, meta, AssetMap::discover().ok());
    row.ours_s = Some(t.elapsed().as_secs_f64());
    if let Err(e) = ours_result {
        row.verdict = Verdict::Fail;
        row.causes
            .push(format!("ours failed: {}", short(&format!("{e:#}"))));
        return Ok(None);
    }
    Ok(Some((ours, theirs)))
}

/// Our render in process: default settings, the case's fps and variables,
/// and the offline asset map users have (the bench passes the discovered
/// one: `.tools/asset-map.json` here).
pub fn render_ours(
    project: &Path,
    out: &Path,
    meta: &Meta,
    asset_map: Option<AssetMap>,
) -> Result<()> {
    let mut config = RenderConfig::new(meta.fps, Format::Mp4);
    if let Some(v) = &meta.variables {
        config.variables =
            Some(Variables::parse(&v.to_string(), "meta.json").map_err(|e| anyhow!("{e}"))?);
    }
    hyperframes_producer::runner::run(&hyperframes_producer::runner::RunOptions {
        project_dir: project.to_path_buf(),
        out: out.to_path_buf(),
        config,
        workers: 0,
        single_pass: false,
        on_progress: None,
        asset_map,
        template_cache: None,
        keep_work: None,
    })
    .map_err(|e| anyhow!("[{}] {e}", e.name()))?;
    Ok(())
}

/// One line of an error, at most 300 characters, for a table cell.
fn short(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
        .replace('|', "/");
    if line.chars().count() > 300 {
        format!("{}...", line.chars().take(300).collect::<String>())
    } else {
        line
    }
}
