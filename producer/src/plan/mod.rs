//! `plan()`: freezes a project into a hermetic, hashed plan directory that any
//! worker can render a chunk of without the network or the original project.
//!
//! Layout (v1 execution dir, as the reference):
//! `plan.json`, `compiled/` (the page + project files), `audio.m4a` (if any),
//! `meta/{composition,encoder,chunks,videos}.json`; transport copies live in
//! `transport/` (not hashed): `plan.tar.gz` (v1) and `v2/` (content-addressed
//! blobs + canonical manifest).

pub(crate) mod assets;
pub(crate) mod chunks;
pub(crate) mod compile;
pub mod digest;
pub mod fan_out;
pub(crate) mod fetch;
pub(crate) mod files;
pub mod fonts;
pub(crate) mod html;
pub(crate) mod mount;
pub mod profile;
pub(crate) mod shader;
pub mod tarball;
pub mod template;
pub mod timing;
pub mod v2;
pub(crate) mod variable_assets;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::capture::browser::CaptureMode;
use crate::config::{Codec, Format, Preset, RenderConfig};
use crate::encode::ffmpeg::{self, EncoderSettings, YuvConversion};
use crate::errors::{ProducerError, Result};
use crate::plan::assets::AssetMap;
use crate::plan::chunks::{duration_to_frames, plan_chunks, ChunkPlan, ChunkSlice};
use crate::plan::files::{BrowserGpuMode, CompositionMeta, FrameRate, MediaWindow, VideosMeta};
pub use crate::plan::files::{Dimensions, EncoderMeta, PlanFormat, PlanJson};
use crate::{encode::probe, process, staging, SEEK_BRIDGE_JS};
use compile::{Composition, MediaElement};
use digest::{canonical_json, sha256_hex, PlanHashInputs};
use files::EncoderName;
use template::{Template, TemplateCache, TemplateReuse};

pub const PRODUCER_VERSION: &str = concat!("hyperframes-producer-rs/", env!("CARGO_PKG_VERSION"));
pub const WARMUP_TICKS: u32 = 60;

/// What `plan()` reports to its caller (the handler or the local runner).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanOutcome {
    pub plan_dir: PathBuf,
    pub plan_hash: String,
    pub chunk_count: u32,
    pub chunks: Vec<ChunkSlice>,
    pub total_frames: u64,
    pub duration: f64,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub format: Format,
    pub has_audio: bool,
    pub composition_id: String,
    /// Gzipped tar of the v1 execution dir (deterministic bytes).
    pub tarball: PathBuf,
    pub v2: v2::ManifestSummary,
    /// What is wrong with the render's variables and the mounts' values
    /// (warnings: the render goes on with the values as given, as the
    /// reference's does; callers that want strictness check first).
    pub variable_problems: Vec<crate::variables::Problem>,
    /// What came from the template cache ([`TemplateReuse::describe`] is
    /// the log line).
    pub template: TemplateReuse,
    /// Wall time of each step of the plan, in order.
    pub phases: Vec<PlanPhase>,
    /// Text drawn with a host font (warnings; a plan that refuses them
    /// fails instead, see [`PlanOptions::distributed`]).
    pub host_fonts: Vec<fonts::HostFallback>,
    /// Where `duration` came from (the plan's log line).
    pub duration_from: timing::DurationFrom,
    /// What the plan renders differently from what the page may expect
    /// (a page with no timeline), as the reference warns about it.
    pub warnings: Vec<String>,
}

/// Options outside the wire `Config`: where remote assets come from, and
/// where templates are cached.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// None = [`AssetMap::discover`].
    pub asset_map: Option<AssetMap>,
    /// Plan the template once: its compiled page, media metadata and audio
    /// mix are kept here and reused by later plans of the same project
    /// (whatever their variables). None = compile every time.
    pub template_cache: Option<TemplateCache>,
    /// A distributed render's plan (the Lambda plan stage): text that would
    /// be drawn with a host font fails the plan unless the config's
    /// `rejectOnSystemFonts` is false, as in the reference. Locally it is a
    /// warning unless `rejectOnSystemFonts` is true.
    pub distributed: bool,
}

impl PlanOptions {
    /// What this plan does about host fonts, from the config's setting.
    pub fn host_fonts(&self, config: &RenderConfig) -> fonts::HostFonts {
        match config.reject_on_system_fonts.unwrap_or(self.distributed) {
            true => fonts::HostFonts::Reject,
            false => fonts::HostFonts::Warn,
        }
    }
}

/// A plan read back from disk by `render_chunk` and `assemble`.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub dir: PathBuf,
    pub plan: PlanJson,
    pub encoder: EncoderMeta,
    pub chunks: Vec<ChunkSlice>,
}

impl LoadedPlan {
    /// Reads and checks `plan.json` and the metadata chunks are rendered
    /// and assembled from (`meta/composition.json` is read where it is
    /// used, after the hash check).
    pub fn load(dir: &Path) -> Result<Self> {
        let plan: PlanJson = files::read(dir, "plan.json")?;
        if plan.protocol != PlanFormat::current() {
            return Err(ProducerError::MissingPlanArtifact(format!(
                "{}/plan.json has protocol {:?}; this producer reads {:?} execution dirs (materialize v2 manifests first)",
                dir.display(),
                plan.protocol,
                PlanFormat::current()
            )));
        }
        let encoder: EncoderMeta = files::read(dir, "meta/encoder.json")?;
        let problems = encoder.check(plan.dimensions.format);
        if !problems.is_empty() {
            return Err(ProducerError::MissingPlanArtifact(format!(
                "{}/meta/encoder.json: {}; re-plan the project",
                dir.display(),
                problems.join("; ")
            )));
        }
        let chunks: Vec<ChunkSlice> = files::read(dir, "meta/chunks.json")?;
        files::read::<VideosMeta>(dir, "meta/videos.json").map_err(|e| {
            ProducerError::InvalidVideoMetadata(format!(
                "{}/meta/videos.json must be an object with a videos array: {e}",
                dir.display()
            ))
        })?;
        Ok(LoadedPlan {
            dir: dir.to_path_buf(),
            plan,
            encoder,
            chunks,
        })
    }

    /// `meta/composition.json`.
    pub fn composition(&self) -> Result<CompositionMeta> {
        files::read(&self.dir, "meta/composition.json")
    }

    pub fn format(&self) -> Format {
        self.plan.dimensions.format
    }

    pub fn fps(&self) -> u32 {
        self.plan.dimensions.fps_num
    }

    /// The encoder settings the plan pins (checked by [`LoadedPlan::load`]).
    pub fn settings(&self) -> EncoderSettings {
        let e = &self.encoder;
        EncoderSettings {
            format: self.format(),
            codec: if e.encoder == EncoderName::Libx265 {
                Codec::H265
            } else {
                Codec::H264
            },
            quality: e.quality,
            // For mp4 the preset is what x264/x265 run with (load checked it parses).
            preset: Preset::parse(&e.preset).ok(),
            threads: e.encoder_threads,
            crf: e.crf,
            bitrate: e.bitrate.clone(),
            yuv: YuvConversion::from_encoder(e, self.format()),
        }
    }

    pub fn hash_inputs(&self) -> PlanHashInputs<'_> {
        PlanHashInputs {
            font_snapshot_sha: &self.plan.font_snapshot_sha,
            producer_version: &self.plan.producer_version,
            ffmpeg_version: &self.plan.ffmpeg_version,
            fps: self.plan.dimensions.fps_num,
            width: self.plan.dimensions.width,
            height: self.plan.dimensions.height,
            format: self.plan.dimensions.format.as_str(),
        }
    }

    /// Recomputes the hash from disk; a worker refuses a plan whose bytes changed.
    pub fn verify_hash(&self) -> Result<()> {
        let actual = digest::compute_plan_hash(&self.dir, &self.hash_inputs())?;
        if actual != self.plan.plan_hash {
            return Err(ProducerError::PlanHashMismatch(format!(
                "{}: plan.json says {} but the files hash to {actual}; the plan was modified or partially copied — re-run plan()",
                self.dir.display(),
                self.plan.plan_hash
            )));
        }
        Ok(())
    }

    /// The local ffmpeg must be the build the plan was made with, or chunk bytes differ.
    pub fn verify_ffmpeg(&self) -> Result<()> {
        let local = ffmpeg::ffmpeg_version()?;
        if local != self.plan.ffmpeg_version {
            return Err(ProducerError::FfmpegVersionMismatch(format!(
                "plan was made with {:?} but this machine has {local:?}; install the same ffmpeg build on planner and workers",
                self.plan.ffmpeg_version
            )));
        }
        Ok(())
    }
}

/// Plans with the default asset map.
pub fn plan(project_dir: &Path, config: &RenderConfig, plan_dir: &Path) -> Result<PlanOutcome> {
    plan_with(project_dir, config, plan_dir, &PlanOptions::default())
}

/// Builds the plan in a staging dir beside `plan_dir` and renames it into place,
/// so a failure never leaves a partial plan behind.
pub fn plan_with(
    project_dir: &Path,
    config: &RenderConfig,
    plan_dir: &Path,
    options: &PlanOptions,
) -> Result<PlanOutcome> {
    let mut clock = PhaseClock::start();
    let mut inputs = PlanInputs::compile(project_dir, config, options, &mut clock)?;
    check_plan_dir(project_dir, plan_dir)?;
    // Dropped (with whatever a failed build left in it) on every path.
    let staging = staging::beside(plan_dir, "staging")?;
    let built = staging.path().join("plan");
    let outcome = build_plan(&mut inputs, &built, &mut clock)?;
    if plan_dir.exists() {
        fs::remove_dir_all(plan_dir).map_err(|e| ProducerError::io(plan_dir, e))?;
    }
    fs::rename(&built, plan_dir).map_err(|e| ProducerError::io(plan_dir, e))?;
    Ok(PlanOutcome {
        plan_dir: plan_dir.to_path_buf(),
        tarball: plan_dir.join(TRANSPORT_DIR).join("plan.tar.gz"),
        v2: v2::ManifestSummary {
            manifest_path: plan_dir.join(TRANSPORT_DIR).join("v2/plan.json"),
            ..outcome.v2
        },
        template: inputs.reuse.clone(),
        phases: clock.phases,
        ..outcome
    })
}

/// One step of a plan and its wall time (in [`PlanOutcome::phases`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanPhase {
    pub name: &'static str,
    pub ms: f64,
}

/// Times the steps of one plan, each from the end of the one before.
struct PhaseClock {
    last: std::time::Instant,
    phases: Vec<PlanPhase>,
}

impl PhaseClock {
    fn start() -> Self {
        PhaseClock {
            last: std::time::Instant::now(),
            phases: Vec::new(),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.phases.push(PlanPhase {
            name,
            ms: (now - self.last).as_secs_f64() * 1000.0,
        });
        self.last = now;
    }
}

/// What a plan is built from: the project compiled into one hermetic page
/// (from the template cache or compiled now), its root composition, the
/// render's variables and the ffmpeg build chunks must be encoded with.
struct PlanInputs<'a> {
    project_dir: &'a Path,
    config: &'a RenderConfig,
    comp: Composition,
    /// The variable-independent artifacts; `media_ready` says whether
    /// `videos_json` and `audio` are filled (from the cache) or still to
    /// be computed by [`build_plan`].
    template: Template,
    /// This render's page: the template's with the font faces it uses
    /// embedded (the font variables are this render's, so the template
    /// itself is stored without them); `remote_files` holds only the
    /// stylesheets the embedding rewrote.
    page: compile::Compiled,
    media_ready: bool,
    /// Where to keep the template after a miss: the cache and the key.
    store_in: Option<(TemplateCache, String)>,
    reuse: TemplateReuse,
    total_frames: u64,
    ffmpeg_version: String,
    variable_problems: Vec<crate::variables::Problem>,
    host_fonts: Vec<fonts::HostFallback>,
    /// Remote image URLs among the values -> their copies under `compiled/`.
    variable_assets: BTreeMap<String, String>,
    duration_from: timing::DurationFrom,
    warnings: Vec<String>,
    /// Those copies (relative path under `compiled/`, bytes).
    variable_files: Vec<(String, Vec<u8>)>,
}

impl<'a> PlanInputs<'a> {
    /// Reads the entry file, takes the template from the cache or compiles
    /// it (remote assets resolved through the asset map), checks the
    /// variables and pins the ffmpeg version. Writes nothing but the
    /// cache's own files.
    fn compile(
        project_dir: &'a Path,
        config: &'a RenderConfig,
        options: &PlanOptions,
        clock: &mut PhaseClock,
    ) -> Result<Self> {
        config.validate()?;
        if let Some(uri) = &config.variables_s3_uri {
            return Err(ProducerError::config(
                "variablesS3Uri",
                format!("{uri} must be read into variables before planning (the Lambda plan stage does this); pass the values inline to a local plan"),
            ));
        }
        // ffmpeg's start (a quarter second for a dynamically linked build)
        // overlaps reading the project.
        std::thread::scope(|scope| {
            let version = scope.spawn(ffmpeg::ffmpeg_version);
            let entry = project_dir.join(config.entry_file());
            let html = fs::read_to_string(&entry).map_err(|e| {
                ProducerError::composition(
                    &entry,
                    format!(
                        "cannot read the entry file ({e}); pass a project directory containing {}",
                        config.entry_file()
                    ),
                )
            })?;
            let mounted = mount::mount(&html, project_dir, &entry)?;
            let mut comp = compile::find_root(&mounted.html, &entry)?;
            config.output_size((comp.width, comp.height))?;
            let mut warnings = Vec::new();
            if !comp.no_timeline && !timing::registers_timeline(project_dir)? {
                // Rendered as the reference renders it, with its warning.
                comp.no_timeline = true;
                warnings.push(timing::no_timeline_warning(config.entry_file(), &comp.id));
            }
            let map = match &options.asset_map {
                Some(m) => m.clone(),
                None => AssetMap::discover()?,
            };
            clock.lap("read and mount");
            let ffmpeg_version = version.join().unwrap_or_else(|_| {
                Err(ProducerError::RenderFailed(
                    "the ffmpeg version check panicked".into(),
                ))
            })?;
            clock.lap("ffmpeg version");
            let Chosen {
                template,
                media_ready,
                store_in,
                mut reuse,
            } = template_for(
                project_dir,
                config,
                options.template_cache.as_ref(),
                (&mounted.html, &entry, &map, &ffmpeg_version),
                clock,
            )?;
            // The entry's declarations, read once for the checks and the fonts.
            let schema = crate::variables::schema_for_html(&html, config.entry_file());
            let (problems, variable_assets, variable_files) =
                check_variables(config, &schema, project_dir, &map)?;
            clock.lap("variables");
            reuse.variable_assets = variable_files.len();
            let runtime = font_variables(config, &schema);
            let (page, host_fonts) =
                embed_fonts(&template, (config, &runtime), project_dir, &entry, options)?;
            clock.lap("fonts");
            let mut variable_problems = mounted.problems;
            variable_problems.extend(problems);
            Ok(PlanInputs {
                variable_problems,
                host_fonts,
                variable_assets,
                variable_files,
                duration_from: timing::DurationFrom::Attribute,
                warnings,
                project_dir,
                config,
                total_frames: duration_to_frames(comp.duration, config.fps),
                comp,
                template,
                page,
                media_ready,
                store_in,
                reuse,
                ffmpeg_version,
            })
        })
    }
}

/// This render's page from the template: the faces its families and font
/// variables use, embedded ([`fonts::embed`]); text left to a host font is
/// refused or listed as the options say.
fn embed_fonts(
    template: &Template,
    (config, runtime): (&RenderConfig, &[fonts::RuntimeFamily]),
    project_dir: &Path,
    entry: &Path,
    options: &PlanOptions,
) -> Result<(compile::Compiled, Vec<fonts::HostFallback>)> {
    let mut page = compile::Compiled {
        html: template.html.clone(),
        inline_log: assets::InlineLog {
            fonts: template.fonts.clone(),
        },
        remote_files: Vec::new(),
    };
    let host_fonts = fonts::embed(&mut page, entry, project_dir, runtime);
    check_host_fonts(&host_fonts, options.host_fonts(config), entry)?;
    let base = entry.parent().unwrap_or(project_dir);
    fonts::early::load_before_scripts(&mut page, base, project_dir);
    Ok((page, host_fonts))
}

/// The cache key [`plan_with`] looks the project's template up by, for a
/// caller that brings the entry in first (the Lambda plan stage reads it
/// from S3): see [`template::key`].
pub fn template_key(
    project_dir: &Path,
    config: &RenderConfig,
    options: &PlanOptions,
) -> Result<String> {
    let map = match &options.asset_map {
        Some(m) => m.clone(),
        None => AssetMap::discover()?,
    };
    template::key(
        project_dir,
        config.entry_file(),
        &map,
        &ffmpeg::ffmpeg_version()?,
    )
}

/// The template of this plan: from the cache when it holds a sound entry,
/// else compiled now (and to be stored once its media is known).
fn template_for(
    project_dir: &Path,
    config: &RenderConfig,
    cache: Option<&TemplateCache>,
    (html, entry, map, ffmpeg_version): (&str, &Path, &AssetMap, &str),
    clock: &mut PhaseClock,
) -> Result<Chosen> {
    let mut reuse = TemplateReuse::default();
    let mut store_in = None;
    if let Some(cache) = cache {
        let key = template::key(project_dir, config.entry_file(), map, ffmpeg_version)?;
        let found = cache.load(&key);
        clock.lap("template lookup");
        reuse.key = Some(key.clone());
        match found {
            template::Lookup::Hit(t) => {
                reuse.compile = true;
                reuse.assets = t.remote_files.len();
                return Ok(Chosen {
                    template: t,
                    media_ready: true,
                    store_in: None,
                    reuse,
                });
            }
            template::Lookup::Refused(why) => reuse.refused = Some(why),
            template::Lookup::Missing => {}
        }
        store_in = Some((cache.clone(), key));
    }
    let compiled = compile::compile(html, entry, map)?;
    clock.lap("compile");
    let template = Template {
        fonts: compiled.inline_log.fonts,
        html: compiled.html,
        remote_files: compiled.remote_files,
        videos_json: Vec::new(),
        audio: None,
    };
    Ok(Chosen {
        template,
        media_ready: false,
        store_in,
        reuse,
    })
}

/// The template a plan is built from, and what the cache did.
struct Chosen {
    template: Template,
    /// `videos_json` and `audio` are filled (a cache hit).
    media_ready: bool,
    /// Where to store the template once complete (after a miss).
    store_in: Option<(TemplateCache, String)>,
    reuse: TemplateReuse,
}

/// What [`check_variables`] gives: the problems, the URL -> plan file
/// table of the images the values name, and those files.
type CheckedVariables = (
    Vec<crate::variables::Problem>,
    BTreeMap<String, String>,
    Vec<(String, Vec<u8>)>,
);

/// The families the entry file's font variables name (the render's value,
/// else the declared default): the page's script applies them, so no
/// stylesheet names them. A value with its own `source` brings its face.
fn font_variables(
    config: &RenderConfig,
    schema: &crate::variables::Schema,
) -> Vec<fonts::RuntimeFamily> {
    use crate::variables::VarType;
    use serde_json::Value;
    let value_of = |id: &str| config.variables.as_ref().and_then(|v| v.get(id)).cloned();
    schema
        .declarations
        .iter()
        .filter(|d| d.kind == VarType::Font)
        .filter_map(|d| {
            let value = match value_of(&d.id).unwrap_or_else(|| d.default.clone()) {
                Value::String(s) => s,
                Value::Object(o) if !o.contains_key("source") => {
                    o.get("name")?.as_str()?.to_string()
                }
                _ => return None,
            };
            Some(fonts::RuntimeFamily {
                value,
                label: format!("font variable {:?}", d.id),
            })
        })
        .collect()
}

/// Text drawn with a host font fails a plan that refuses it, every place
/// named at once.
fn check_host_fonts(
    found: &[fonts::HostFallback],
    policy: fonts::HostFonts,
    entry: &Path,
) -> Result<()> {
    if found.is_empty() || policy == fonts::HostFonts::Warn {
        return Ok(());
    }
    let places: Vec<String> = found.iter().map(|f| f.to_string()).collect();
    Err(ProducerError::composition(
        entry,
        format!(
            "text would be drawn with host fonts, which differ between this machine and the render workers: {}; {}, or allow host fonts (rejectOnSystemFonts: false in the render config, `render --allow-host-fonts`)",
            places.join("; "),
            fonts::advice()
        ),
    ))
}

/// The render's values against the entry file's declarations (warnings),
/// and the remote images among them fetched for the plan (the URL -> file
/// table and the files).
fn check_variables(
    config: &RenderConfig,
    schema: &crate::variables::Schema,
    project_dir: &Path,
    map: &AssetMap,
) -> Result<CheckedVariables> {
    let Some(values) = config.variables.as_ref().filter(|v| !v.is_empty()) else {
        return Ok(Default::default());
    };
    let urls = crate::variables::UrlCheck {
        project_dir: Some(project_dir),
        assets: Some(map),
    };
    let problems = crate::variables::validate(schema, values, urls);
    let (table, files) = variable_assets::localize(schema, values, map)?;
    Ok((problems, table, files))
}

/// `plan_dir` must be new, empty or an earlier plan, and outside the
/// project (a plan inside the project would be copied into itself).
fn check_plan_dir(project_dir: &Path, plan_dir: &Path) -> Result<()> {
    if plan_dir.exists() {
        let empty = fs::read_dir(plan_dir)
            .map_err(|e| ProducerError::io(plan_dir, e))?
            .next()
            .is_none();
        if !empty && !plan_dir.join("plan.json").is_file() {
            return Err(ProducerError::config(
                "planDir",
                format!(
                    "{} exists and is not a plan directory; pass an empty or new directory",
                    plan_dir.display()
                ),
            ));
        }
    }
    let parent = match plan_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let (Ok(project), Ok(parent)) = (project_dir.canonicalize(), parent.canonicalize()) {
        if parent.starts_with(&project) {
            return Err(ProducerError::config(
                "planDir",
                format!(
                    "{} is inside the project {}; put the plan outside the project directory",
                    plan_dir.display(),
                    project_dir.display()
                ),
            ));
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| ProducerError::io(parent, e))?;
    }
    fs::write(path, bytes).map_err(|e| ProducerError::io(path, e))
}

fn write_pretty(path: &Path, v: &impl Serialize) -> Result<()> {
    write(path, (serde_json::to_string_pretty(v)? + "\n").as_bytes())
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    if dir.exists() {
        for (_, p) in digest::list_files(dir)? {
            total += fs::metadata(&p)
                .map_err(|e| ProducerError::io(&p, e))?
                .len();
        }
    }
    Ok(total)
}

fn check_size(staging: &Path, limit: u64, stage: &str) -> Result<()> {
    let compiled = dir_size(&staging.join("compiled"))?;
    let audio = fs::metadata(staging.join("audio.m4a"))
        .map(|m| m.len())
        .unwrap_or(0);
    let meta = dir_size(&staging.join("meta"))?;
    let total = compiled + audio + meta;
    if total > limit {
        return Err(ProducerError::PlanTooLarge(format!(
            "plan is {total} bytes at {stage}, over the {limit}-byte cap (compiled {compiled}, audio {audio}, metadata {meta}); shrink media in the project or raise planDirSizeLimitBytes"
        )));
    }
    Ok(())
}

/// The chunks: as the caller's chunking settings say, or, without any,
/// as many as the fan-out rule ([`fan_out::chunk_count`]) chooses for the
/// video's length and size and the caller's `concurrency`.
fn plan_chunks_for(inputs: &PlanInputs) -> chunks::ChunkPlan {
    let c = inputs.config;
    let automatic = c.chunk_size.is_none()
        && c.max_parallel_chunks.is_none()
        && c.target_chunk_frames.is_none();
    let max_parallel = if automatic {
        let (w, h) = (inputs.comp.width, inputs.comp.height);
        Some(fan_out::chunk_count(
            inputs.total_frames,
            w,
            h,
            c.concurrency,
        ))
    } else {
        c.max_parallel_chunks
    };
    plan_chunks(
        inputs.total_frames,
        c.chunk_size,
        max_parallel,
        c.target_chunk_frames,
    )
}

/// Writes the execution dir into `dir`, step by step, then its transport
/// copies (v1 tarball, v2 blobs and manifest).
fn build_plan(inputs: &mut PlanInputs, dir: &Path, clock: &mut PhaseClock) -> Result<PlanOutcome> {
    let config = inputs.config;
    let limit = config.plan_size_limit();
    write_compiled(inputs, dir)?;
    clock.lap("copy project");
    if inputs.comp.duration_from_page {
        measure_duration(inputs, dir)?;
        clock.lap("duration from the page");
    }
    check_size(dir, limit, "pre-extract")?;
    let media = compile::media_elements(&inputs.template.html);
    let has_audio = write_media(inputs, &media, dir)?;
    clock.lap(if inputs.media_ready {
        "media (cached)"
    } else {
        "media probe and audio mix"
    });
    keep_template(inputs, dir)?;
    let chunk_plan = plan_chunks_for(inputs);
    write_pretty(&dir.join("meta/chunks.json"), &chunk_plan.chunks)?;
    write_composition(inputs, &media, dir)?;
    let raster = compile::raster_content(&dir.join("compiled"))?;
    let page_composite = page_composites(dir)?;
    write_encoder(inputs, &chunk_plan, raster.as_deref(), page_composite, dir)?;
    check_size(dir, limit, "pre-freeze")?;
    clock.lap("metadata");
    let plan_json = freeze(inputs, chunk_plan.chunks.len() as u32, has_audio, dir)?;
    check_size(dir, limit, "post-freeze")?;
    clock.lap("hash");
    let tarball = dir.join(TRANSPORT_DIR).join("plan.tar.gz");
    write_plan_tarball(dir, &tarball)?;
    clock.lap("v1 tarball");
    let v2 = v2::publish(dir, &plan_json, &dir.join(TRANSPORT_DIR).join("v2"))?;
    clock.lap("v2 blobs");
    let comp = &inputs.comp;
    Ok(PlanOutcome {
        plan_dir: dir.to_path_buf(),
        plan_hash: plan_json.plan_hash,
        chunk_count: plan_json.chunk_count,
        chunks: chunk_plan.chunks,
        total_frames: inputs.total_frames,
        duration: comp.duration,
        fps: config.fps,
        width: comp.width,
        height: comp.height,
        format: config.format,
        has_audio,
        composition_id: comp.id.clone(),
        tarball,
        v2,
        variable_problems: inputs.variable_problems.clone(),
        template: TemplateReuse::default(),
        phases: Vec::new(),
        host_fonts: inputs.host_fonts.clone(),
        duration_from: inputs.duration_from.clone(),
        warnings: inputs.warnings.clone(),
    })
}

/// A root without `data-duration` runs as long as its page says
/// ([`timing::probe_duration`] on the compiled page just written). Cached
/// media were cut to some earlier render's length, which variables may
/// change, so they are computed again.
fn measure_duration(inputs: &mut PlanInputs, dir: &Path) -> Result<()> {
    let entry = inputs.project_dir.join(inputs.config.entry_file());
    let assets = (!inputs.variable_assets.is_empty()).then(|| inputs.variable_assets.clone());
    let (duration, from) = timing::probe_duration(
        &dir.join("compiled"),
        &inputs.comp,
        inputs.config,
        assets,
        &entry,
    )?;
    inputs.comp.duration = duration;
    inputs.total_frames = duration_to_frames(duration, inputs.config.fps);
    inputs.duration_from = from;
    inputs.media_ready = false;
    Ok(())
}

/// After a miss: the media the plan just computed completes the template,
/// which is stored for the next plan. A failed store is recorded, not
/// fatal: the plan is sound without it.
fn keep_template(inputs: &mut PlanInputs, dir: &Path) -> Result<()> {
    let Some((cache, key)) = inputs.store_in.take() else {
        return Ok(());
    };
    let read = |rel: &str| fs::read(dir.join(rel)).map_err(|e| ProducerError::io(dir.join(rel), e));
    inputs.template.videos_json = read("meta/videos.json")?;
    inputs.template.audio = match dir.join("audio.m4a").is_file() {
        true => Some(read("audio.m4a")?),
        false => None,
    };
    inputs.media_ready = true;
    match cache.store(&key, &inputs.template) {
        Ok(path) => inputs.reuse.stored = Some(path),
        Err(e) => inputs.reuse.store_failed = Some(e.to_string()),
    }
    Ok(())
}

/// `compiled/`: the project's files, the compiled page over its entry, the
/// remote media the compile fetched and the images the variables name.
fn write_compiled(inputs: &PlanInputs, dir: &Path) -> Result<()> {
    let compiled_dir = dir.join("compiled");
    compile::copy_project(inputs.project_dir, &compiled_dir)?;
    write(
        &compiled_dir.join("index.html"),
        inputs.page.html.as_bytes(),
    )?;
    let files = inputs.template.remote_files.iter();
    let rewritten = inputs.page.remote_files.iter();
    for (rel, bytes) in files.chain(rewritten).chain(&inputs.variable_files) {
        write(&compiled_dir.join(rel), bytes)?;
    }
    Ok(())
}

/// `meta/videos.json` (every media element checked and windowed) and
/// `audio.m4a` (their mix), or their cached bytes; returns whether there
/// is audio.
fn write_media(inputs: &PlanInputs, media: &[MediaElement], dir: &Path) -> Result<bool> {
    if inputs.media_ready {
        write(&dir.join("meta/videos.json"), &inputs.template.videos_json)?;
        if let Some(audio) = &inputs.template.audio {
            write(&dir.join("audio.m4a"), audio)?;
        }
        return Ok(inputs.template.audio.is_some());
    }
    let compiled_dir = dir.join("compiled");
    let videos = media_metadata(&compiled_dir, media, inputs.comp.duration)?;
    write_pretty(&dir.join("meta/videos.json"), &VideosMeta { videos })?;
    mix_audio(
        &compiled_dir,
        media,
        inputs.comp.duration,
        &dir.join("audio.m4a"),
    )
}

/// `meta/composition.json`: what the page is, for workers and reports.
fn write_composition(inputs: &PlanInputs, media: &[MediaElement], dir: &Path) -> Result<()> {
    let comp = &inputs.comp;
    let count = |tag: &str| media.iter().filter(|m| m.tag == tag).count();
    let image_count = crate::plan::html::scan(&inputs.template.html)
        .iter()
        .filter(|t| t.name == "img")
        .count();
    write_pretty(
        &dir.join("meta/composition.json"),
        &CompositionMeta {
            composition_id: comp.id.clone(),
            duration_seconds: comp.duration,
            width: comp.width,
            height: comp.height,
            fps: FrameRate {
                num: inputs.config.fps,
                den: 1,
            },
            no_timeline: comp.no_timeline,
            video_count: count("video"),
            audio_count: count("audio"),
            image_count,
        },
    )
}

/// `meta/encoder.json` (canonical, hashed): every setting a chunk worker
/// encodes with, so chunks of one plan are encoded alike everywhere.
///
/// `raster` names what in the page may paint photographic pixels (see
/// [`compile::raster_content`]); without any, mp4 frames are captured as
/// PNG and converted in process ([`YuvConversion::Bt709InProcess`]).
/// `page_composite`: the page's shader transitions are composited on the
/// page ([`shader`]), which needs screenshot capture.
fn write_encoder(
    inputs: &PlanInputs,
    chunk_plan: &ChunkPlan,
    raster: Option<&str>,
    page_composite: bool,
    dir: &Path,
) -> Result<()> {
    let config = inputs.config;
    let settings = EncoderSettings {
        format: config.format,
        codec: config.codec(),
        quality: config.quality(),
        preset: config.preset,
        threads: (config.format == Format::Mp4).then_some(crate::encode::ffmpeg::ENCODER_THREADS),
        crf: config.crf,
        bitrate: config.bitrate.clone(),
        yuv: if config.format == Format::Mp4 && raster.is_none() {
            YuvConversion::Bt709InProcess
        } else {
            YuvConversion::Bt709
        },
    };
    let capture = if page_composite {
        CaptureMode::Screenshot
    } else {
        CaptureMode::for_format(config.format)
    };
    let (yuv_matrix, frame_labels, frame_input) = settings.yuv.pin(config.format);
    let encoder = EncoderMeta {
        capture_mode: capture,
        force_screenshot: capture == CaptureMode::Screenshot,
        device_scale_factor: 1,
        use_layered_hdr_composite: false,
        browser_gpu_mode: BrowserGpuMode::Software,
        warmup_ticks: WARMUP_TICKS,
        encoder: settings.encoder_name(),
        quality: settings.quality,
        ffmpeg_version: inputs.ffmpeg_version.clone(),
        preset: settings.preset().to_string(),
        gop_size: chunk_plan.effective_chunk_size,
        closed_gop: true,
        force_keyframes: "n=0".into(),
        pixel_format: settings.pixel_format().to_string(),
        chunk_size: chunk_plan.effective_chunk_size,
        chunk_count: chunk_plan.chunks.len(),
        runtime_env: Default::default(),
        seek_bridge_sha256: sha256_hex(SEEK_BRIDGE_JS.as_bytes()),
        crf: settings.effective_crf(),
        bitrate: settings.bitrate.clone(),
        encoder_threads: settings.threads,
        yuv_matrix,
        frame_labels,
        frame_input,
        variables: config.variables.clone(),
        variable_assets: (!inputs.variable_assets.is_empty())
            .then(|| inputs.variable_assets.clone()),
        page_composite,
    };
    write(
        &dir.join("meta/encoder.json"),
        canonical_json(&serde_json::to_value(&encoder)?).as_bytes(),
    )
}

/// Whether the compiled page's shader transitions are composited on the
/// page, as the reference composites them ([`shader`]).
fn page_composites(dir: &Path) -> Result<bool> {
    let page = dir.join("compiled/index.html");
    let html = fs::read(&page).map_err(|e| ProducerError::io(&page, e))?;
    Ok(shader::uses_shader_transitions(&String::from_utf8_lossy(
        &html,
    )))
}

/// Hashes what is on disk and writes `plan.json`, which names the hash.
fn freeze(inputs: &PlanInputs, chunk_count: u32, has_audio: bool, dir: &Path) -> Result<PlanJson> {
    let (config, comp) = (inputs.config, &inputs.comp);
    let font_snapshot = serde_json::to_value(&inputs.page.inline_log.fonts)?;
    let font_snapshot_sha = sha256_hex(canonical_json(&font_snapshot).as_bytes());
    let hash_inputs = PlanHashInputs {
        font_snapshot_sha: &font_snapshot_sha,
        producer_version: PRODUCER_VERSION,
        ffmpeg_version: &inputs.ffmpeg_version,
        fps: config.fps,
        width: comp.width,
        height: comp.height,
        format: config.format.as_str(),
    };
    let plan_hash = digest::compute_plan_hash(dir, &hash_inputs)?;
    let plan_json = PlanJson {
        protocol: PlanFormat::current(),
        plan_hash,
        producer_version: PRODUCER_VERSION.into(),
        ffmpeg_version: inputs.ffmpeg_version.clone(),
        font_snapshot_sha,
        dimensions: Dimensions {
            fps_num: config.fps,
            fps_den: 1,
            width: comp.width,
            height: comp.height,
            format: config.format,
        },
        chunk_count,
        total_frames: inputs.total_frames,
        duration: comp.duration,
        has_audio,
        composition_id: comp.id.clone(),
        no_timeline: comp.no_timeline,
    };
    write_pretty(&dir.join("plan.json"), &plan_json)?;
    Ok(plan_json)
}

impl From<serde_json::Error> for ProducerError {
    fn from(e: serde_json::Error) -> Self {
        ProducerError::RenderFailed(format!("JSON serialization failed: {e}"))
    }
}

/// Where a plan keeps its transport copies (the v1 tarball, the v2 blobs).
/// Not hashed, and never inside the v1 tarball: that would put the tarball
/// inside itself.
pub const TRANSPORT_DIR: &str = "transport";

/// The v1 transport tarball of an execution dir: everything but
/// [`TRANSPORT_DIR`], through the shared deterministic writer, so two plans
/// of the same project have identical tarballs.
pub fn write_plan_tarball(plan_dir: &Path, out: &Path) -> Result<()> {
    tarball::write_tar_gz(plan_dir, out, &|rel| rel != Path::new(TRANSPORT_DIR))
}

/// Validates local media references and records their windows (`meta/videos.json`).
fn media_metadata(
    compiled_dir: &Path,
    media: &[MediaElement],
    duration: f64,
) -> Result<Vec<MediaWindow>> {
    let mut out = Vec::new();
    for m in media {
        let path = local_media_path(compiled_dir, &m.src)?;
        probe::probe_format(&path).map_err(|e| match e {
            ProducerError::NotMediaPayload(why) => {
                ProducerError::NotMediaPayload(format!("<{} src={:?}>: {why}", m.tag, m.src))
            }
            other => other,
        })?;
        let end = m.duration.map_or(duration, |d| (m.start + d).min(duration));
        if end <= m.start || m.start < 0.0 {
            return Err(ProducerError::InvalidVideoMetadata(format!(
                "<{} id={:?}> window [{}, {end}) is empty or negative; check data-start/data-duration",
                m.tag, m.id, m.start
            )));
        }
        out.push(MediaWindow {
            id: m.id.clone(),
            tag: m.tag.clone(),
            src: m.src.clone(),
            start: m.start,
            end,
            media_start: m.media_start,
            volume: m.volume,
            has_audio: m.has_audio,
        });
    }
    Ok(out)
}

fn local_media_path(compiled_dir: &Path, src: &str) -> Result<PathBuf> {
    let clean = src
        .split(['?', '#'])
        .next()
        .unwrap_or(src)
        .trim_start_matches("./");
    if clean.contains("..") || clean.starts_with('/') || clean.contains("://") {
        return Err(ProducerError::VideoSourceUnrenderable(format!(
            "media src {src:?} must be a relative path inside the project"
        )));
    }
    let p = compiled_dir.join(clean);
    if !p.is_file() {
        return Err(ProducerError::VideoSourceUnrenderable(format!(
            "media src {src:?} does not exist in the project"
        )));
    }
    Ok(p)
}

/// The filter that makes a source stereo. A mono source goes into both
/// channels at its own level, as the reference mixes it: ffmpeg's default
/// upmix spreads it at -3 dB per channel, so the mix came out 3 dB quieter
/// than the page plays it. Stereo passes through; more channels get
/// ffmpeg's default downmix, as in the reference.
fn to_stereo(mono: bool) -> &'static str {
    if mono {
        "pan=stereo|FL=c0|FR=c0"
    } else {
        "aformat=channel_layouts=stereo"
    }
}

/// Mixes every audible media element into one 48 kHz stereo AAC track of exactly
/// the composition's length; returns false when nothing is audible.
fn mix_audio(
    compiled_dir: &Path,
    media: &[MediaElement],
    duration: f64,
    out: &Path,
) -> Result<bool> {
    let mut cmd = ffmpeg::command(ffmpeg::Talk::Quiet);
    let mut filters = Vec::new();
    let mut n = 0;
    for m in media.iter().filter(|m| m.has_audio) {
        let path = local_media_path(compiled_dir, &m.src)?;
        let Some(audio) = probe::probe_audio(&path)? else {
            continue;
        };
        cmd.args(["-ss", &format!("{:.6}", m.media_start)]);
        if let Some(d) = m.duration {
            cmd.args(["-t", &format!("{d:.6}")]);
        }
        cmd.arg("-i").arg(&path);
        let delay = (m.start * 1000.0).round() as u64;
        filters.push(format!(
            "[{n}:a]aresample=48000,{},volume={:.4},adelay={delay}|{delay}[a{n}]",
            to_stereo(audio.mono),
            m.volume
        ));
        n += 1;
    }
    if n == 0 {
        return Ok(false);
    }
    let inputs: String = (0..n).map(|i| format!("[a{i}]")).collect();
    filters.push(format!(
        "{inputs}amix=inputs={n}:normalize=0:duration=longest,apad[mix]"
    ));
    cmd.args(["-filter_complex", &filters.join(";"), "-map", "[mix]"])
        .args(["-t", &format!("{duration:.6}")])
        .args([
            "-ar",
            "48000",
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            "-fflags",
            "+bitexact",
            "-y",
        ])
        .arg(out);
    process::run_ok(&mut cmd, Duration::from_secs(600), "audio mix", |m| {
        ProducerError::NotMediaPayload(m)
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::files::{FrameInput, YuvMatrix};

    #[test]
    fn each_generation_of_encoder_json_keeps_its_conversion() {
        let mp4 = Format::Mp4;
        let bt709 = Some(YuvMatrix::Bt709);
        let raw = Some(FrameInput::Yuv420p);
        let cases = [
            ((None, None, None), mp4, YuvConversion::Legacy),
            ((bt709, None, None), mp4, YuvConversion::Bt709Unlabelled),
            ((bt709, bt709, None), Format::Webm, YuvConversion::Bt709),
            ((bt709, bt709, raw), mp4, YuvConversion::Bt709InProcess),
            // Only mp4 reads raw frames.
            ((bt709, bt709, raw), Format::Mov, YuvConversion::Bt709),
        ];
        for (pin, format, want) in cases {
            let e = encoder_meta(pin);
            assert_eq!(
                YuvConversion::from_encoder(&e, format),
                want,
                "{pin:?} {format:?}"
            );
            // What a plan of that conversion writes reads back as it.
            let written = encoder_meta(want.pin(format));
            assert_eq!(
                YuvConversion::from_encoder(&written, format),
                want,
                "{want:?}"
            );
        }
    }

    fn encoder_meta(
        (yuv_matrix, frame_labels, frame_input): (
            Option<YuvMatrix>,
            Option<YuvMatrix>,
            Option<FrameInput>,
        ),
    ) -> EncoderMeta {
        EncoderMeta {
            capture_mode: CaptureMode::BeginFrame,
            force_screenshot: false,
            device_scale_factor: 1,
            use_layered_hdr_composite: false,
            browser_gpu_mode: BrowserGpuMode::Software,
            warmup_ticks: WARMUP_TICKS,
            encoder: EncoderName::Libx264,
            quality: crate::config::Quality::Standard,
            ffmpeg_version: "ffmpeg version test".into(),
            preset: "veryfast".into(),
            gop_size: 30,
            closed_gop: true,
            force_keyframes: "n=0".into(),
            pixel_format: "yuv420p".into(),
            chunk_size: 30,
            chunk_count: 1,
            runtime_env: Default::default(),
            seek_bridge_sha256: String::new(),
            crf: Some(19),
            bitrate: None,
            encoder_threads: Some(3),
            yuv_matrix,
            frame_labels,
            frame_input,
            variables: None,
            variable_assets: None,
            page_composite: false,
        }
    }

    #[test]
    fn encoder_json_with_a_missing_unknown_or_wrong_field_is_refused() {
        let e = encoder_meta((None, None, None));
        let good = serde_json::to_value(&e).unwrap();
        serde_json::from_value::<EncoderMeta>(good.clone()).unwrap();
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("quality");
        let err = serde_json::from_value::<EncoderMeta>(missing).unwrap_err();
        assert!(err.to_string().contains("quality"), "{err}");
        let mut unknown = good.clone();
        unknown["qualty"] = "high".into();
        let err = serde_json::from_value::<EncoderMeta>(unknown).unwrap_err();
        assert!(err.to_string().contains("qualty"), "{err}");
        let mut wrong = good;
        wrong["quality"] = "best".into();
        assert!(serde_json::from_value::<EncoderMeta>(wrong).is_err());
        // What serde cannot see is checked against the format, all at once.
        let mut both = encoder_meta((None, None, None));
        both.bitrate = Some("1M".into());
        both.preset = "turbo".into();
        let problems = both.check(Format::Mp4);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(both.check(Format::Webm).len(), 2, "encoder and crf/bitrate");
    }
}
