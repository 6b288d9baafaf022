//! `local-stack up --stack-name NAME`: the render stack, offline. Builds
//! (or takes) the handler package, runs it in a bare provided.al2023 jail
//! behind a local Lambda service, runs the synthesized state machine in
//! aws-local-stepfunctions behind a local Step Functions API, with moto as
//! S3, and writes the outputs file that `sites`, `render`, `progress` and
//! `cancel` read. Stays up until Ctrl-C. As root, each instance gets a
//! cgroup with the function's memory limit and Lambda's CPU share; without
//! root, the jail runs in a user namespace and the limit is not enforced.
//! Exit codes: 0 stopped cleanly, 1 failed (the reason is printed), 2 bad flags.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cgroup::{self, CgroupBackend, CgroupChoice, Mounts};
use crate::stack::{self, LocalStack, StackOptions, Tools};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hyperframes_cli::outputs::default_file;
use hyperframes_deploy::deploy::{parse_pair, workspace_root};
use hyperframes_deploy::handler_zip::PayloadArgs;
use hyperframes_deploy::package::Bootstrap;
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_synth::StackArgs;

use crate::events::deliver::LoopbackUrl;

#[derive(Debug, Parser)]
#[command(version, about = "Rehearse a render stack deployment offline")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bring the stack up on 127.0.0.1 and keep it up until Ctrl-C.
    Up(Box<UpArgs>),
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    /// The name `render --stack-name` and friends will use.
    #[arg(long, default_value = "local")]
    stack_name: String,
    /// A template from your own infra crate (`synth --format json`) instead of the default stack.
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    #[command(flatten)]
    stack: StackArgs,
    /// Override a template parameter: `Key=Value`, repeatable.
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_pair)]
    parameter_overrides: Vec<(String, String)>,
    /// A handler ZIP from `package` (default: build one, like deploy does).
    #[arg(long, value_name = "FILE")]
    package: Option<PathBuf>,
    /// Use this prebuilt `bootstrap` when building the package.
    #[arg(long, value_name = "PATH", conflicts_with = "package")]
    bootstrap: Option<PathBuf>,
    #[command(flatten)]
    payload: PayloadArgs,
    /// Offline asset map (URL -> file) for plans: its files are given to the function as a layer at /opt.
    #[arg(long, value_name = "FILE")]
    asset_map: Option<PathBuf>,
    /// Most function instances at once [default: the number of cores].
    #[arg(long)]
    concurrency: Option<usize>,
    /// The stack's region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Where the outputs go [default: .hyperframes/stack-<NAME>.json].
    #[arg(long, value_name = "FILE")]
    outputs_file: Option<PathBuf>,
    /// Jail root, unpacked package, logs [default: .hyperframes/local/<NAME>].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Fixed ports for moto, Lambda and Step Functions (default: free ones).
    #[arg(long, value_name = "PORT", num_args = 3)]
    ports: Option<Vec<u16>>,
    /// Which cgroups limit each instance's memory and CPU: `auto` uses v2
    /// when it holds the memory controller, else v1, else none (unenforced).
    #[arg(long, value_enum, default_value_t = CgroupChoice::Auto)]
    cgroup: CgroupChoice,
}

/// `hyperframes local-stack`.
pub fn run(cli: Args) -> ExitCode {
    match cli.command {
        Command::Up(args) => {
            let problems = notify_problems(&args);
            if !problems.is_empty() {
                for p in problems {
                    eprintln!("local-stack: {p}");
                }
                return ExitCode::from(2);
            }
            // Before any thread starts: the check forks.
            let jail = Jail::detect();
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("local-stack: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(up(*args, jail)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("local-stack: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The notification flags the rehearsal cannot honour, each with what to
/// do instead (all at once, before anything is built).
fn notify_problems(args: &UpArgs) -> Vec<String> {
    let notify = &args.stack.notify;
    let mut out = Vec::new();
    if args.template.is_some() && !notify.given().is_empty() {
        out.push(format!(
            "{}: notification flags shape the template local-stack synthesizes; with --template FILE, give them to `synth` when you make FILE",
            notify.given().join(", ")
        ));
    }
    if let Some(url) = &notify.notify_webhook {
        if let Err(e) = LoopbackUrl::parse(url) {
            out.push(format!("--notify-webhook {e}"));
        }
    }
    if notify.notify_webhook_secret.is_some() {
        out.push("--notify-webhook-secret: the rehearsal cannot read Secrets Manager; leave it out and give the key with --parameter-overrides NotifyWebhookApiKey=KEY".into());
    }
    out
}

/// The template as `synth` makes it from the same flags. EventBridge calls
/// only https:// endpoints, and synth refuses any other webhook URL; a
/// rehearsal's webhook is a listener on this machine, usually without TLS.
/// So a plain-HTTP loopback URL (the only kind [`notify_problems`] lets
/// through) is validated as its https:// twin and then put back into the
/// API destination: here only, since the local bus calls nothing else.
fn synthesize(args: &StackArgs) -> Result<serde_json::Value> {
    let mut notify = args.notify.clone();
    let plain = notify
        .notify_webhook
        .clone()
        .filter(|u| u.starts_with("http://"));
    let twin = plain
        .as_ref()
        .map(|u| format!("https://{}", &u["http://".len()..]));
    if twin.is_some() {
        notify.notify_webhook = twin.clone();
    }
    let mut stack = HyperframesRenderStack::new(args.props());
    notify.apply(&mut stack);
    let mut t = match stack.synth() {
        Ok(t) => t.into_json(),
        Err(problems) => bail!("the template does not validate:\n{problems}"),
    };
    if let (Some(plain), Some(twin)) = (plain, twin) {
        let resources = t["Resources"]
            .as_object_mut()
            .into_iter()
            .flat_map(|r| r.values_mut());
        for r in resources.filter(|r| r["Type"] == "AWS::Events::ApiDestination") {
            if r["Properties"]["InvocationEndpoint"] == twin.as_str() {
                r["Properties"]["InvocationEndpoint"] = plain.clone().into();
            }
        }
    }
    Ok(t)
}

fn template(args: &UpArgs) -> Result<serde_json::Value> {
    if let Some(path) = &args.template {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --template {}", path.display()))?;
        return serde_json::from_str(&text).with_context(|| {
            format!(
                "--template {} is not JSON (use `synth --format json`)",
                path.display()
            )
        });
    }
    synthesize(&args.stack)
}

fn package(args: &UpArgs, state_dir: &std::path::Path, tools: &Tools) -> Result<PathBuf> {
    if let Some(p) = &args.package {
        return Ok(p.clone());
    }
    let bootstrap = match &args.bootstrap {
        Some(p) => Bootstrap::Prebuilt(p.clone()),
        None => Bootstrap::Build {
            workspace: workspace_root(),
            target_dir: workspace_root().join("target/lambda"),
        },
    };
    stack::handler_package(
        &bootstrap,
        &args.payload,
        tools,
        &state_dir.join("handler.zip"),
    )
}

/// How the function's jail can be built here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Jail {
    Root,
    /// Not root, but unprivileged user namespaces work.
    UserNamespace,
    Impossible,
}

impl Jail {
    fn detect() -> Jail {
        if unsafe { libc::geteuid() } == 0 {
            Jail::Root
        } else if crate::jail::user_namespaces_work() {
            Jail::UserNamespace
        } else {
            Jail::Impossible
        }
    }
}

/// The jail and the cgroups, or why not; says in one line what root would
/// add when it is missing.
fn isolation(jail: Jail, choice: CgroupChoice) -> Result<CgroupBackend> {
    if jail == Jail::Impossible {
        bail!("the function's jail needs root, or unprivileged user namespaces, for its mount and PID namespaces and chroot: run local-stack with sudo, or turn user namespaces on (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0)");
    }
    let backend = CgroupBackend::choose(choice, &Mounts::read())?;
    if jail == Jail::UserNamespace {
        eprintln!(
            "local-stack: not root, so the jail runs in a user namespace (rootless); only the memory limit and CPU quota need root (to write cgroups){}",
            if backend.enforced() { ", and this user may write them" } else { ": run with sudo to enforce them" }
        );
    }
    eprintln!("local-stack: limits: {}", backend.describe());
    Ok(backend)
}

/// Where each notification goes and how to watch it.
fn notifications_summary(bus: &crate::events::EventBus, args: &UpArgs) {
    for line in bus.summary() {
        println!("  notification    {line}");
    }
    if let Some(address) = &args.stack.notify.notify_email {
        println!("  email           {address}: not sent (moto sends no email); its topic receives each notice");
    }
    if args
        .stack
        .notify
        .notify_webhook
        .as_deref()
        .is_some_and(|u| u.starts_with("http://"))
    {
        println!("  note            plain HTTP is allowed for this rehearsal's loopback webhook only: EventBridge calls https:// endpoints, so deploy with an https URL");
    }
    println!(
        "  events log      {} (every status event and delivery, one JSON line each)",
        bus.log_path().display()
    );
}

/// Lambda's CPU share for the function's memory, against this host's cores.
fn cpu_line(memory_mb: u32, backend: &CgroupBackend) -> String {
    let share = cgroup::vcpus(memory_mb);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut s = format!(
        "{share:.2} vCPU per instance (Lambda gives 1 per {} MB)",
        cgroup::MB_PER_VCPU
    );
    if !backend.enforced() {
        s.push_str(", not enforced");
    } else if share >= cores as f64 {
        s.push_str(&format!(
            ", more than this host's {cores} cores, which bound it"
        ));
    }
    s
}

async fn up(args: UpArgs, jail: Jail) -> Result<()> {
    let cgroups = isolation(jail, args.cgroup)?;
    let tools = Tools::discover();
    // Fail on missing tools before the long package build.
    tools.moto_server()?;
    tools.interpreter()?;
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(".hyperframes/local").join(&args.stack_name));
    std::fs::create_dir_all(&state_dir)?;
    let state_dir = state_dir.canonicalize()?;
    let template = template(&args)?;
    // A parameter without a value (a webhook's key) fails here, not after
    // the package build.
    hyperframes_deploy::deploy::parameters(&template, &args.parameter_overrides)?;
    let package = package(&args, &state_dir, &tools)?;
    let (layer, extra_env) = match &args.asset_map {
        Some(map) => (
            Some(stack::asset_layer(map, &state_dir.join("layer"))?),
            vec![(
                "HF_ASSET_MAP".to_string(),
                "/opt/asset-map.json".to_string(),
            )],
        ),
        None => (None, Vec::new()),
    };
    let ports = args.ports.clone().unwrap_or_else(|| vec![0, 0, 0]);
    let local = LocalStack::start(StackOptions {
        stack_name: args.stack_name.clone(),
        template,
        parameters: args.parameter_overrides.clone(),
        package,
        state_dir: state_dir.clone(),
        tools,
        helper: std::env::current_exe().context("cannot find the local-stack executable")?,
        concurrency: args
            .concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        region: args.region.clone(),
        layer,
        extra_env,
        echo_reports: true,
        ports: (ports[0], ports[1], ports[2]),
        cgroups: cgroups.clone(),
        reuse_instances: true,
    })
    .await?;
    let outputs_file = args
        .outputs_file
        .clone()
        .unwrap_or_else(|| default_file(&args.stack_name));
    hyperframes_cli::outputs::write_file(&outputs_file, &local.outputs(&args.stack_name))?;
    let r = &local.resolved;
    println!("local stack `{}` is up (Ctrl-C stops it)", args.stack_name);
    println!("  bucket          {}", local.bucket);
    println!("  state machine   {}", r.state_machine_arn);
    println!(
        "  function        {} ({} MB, timeout {} s, /tmp {} MB)",
        r.function_name, r.memory_mb, r.timeout_s, r.ephemeral_mb
    );
    println!("  CPU             {}", cpu_line(r.memory_mb, &cgroups));
    println!(
        "  memory limit    {}",
        if cgroups.enforced() {
            "enforced"
        } else {
            "NOT enforced (REPORT marks Max Memory Used `unenforced`)"
        }
    );
    println!("  S3 (moto)       {}", local.moto_endpoint);
    println!("  Lambda          {}", local.lambda.endpoint);
    println!("  Step Functions  {}", local.sfn.endpoint);
    println!("  outputs file    {}", outputs_file.display());
    println!("  logs            {}", state_dir.join("logs").display());
    if let Some(bus) = &local.events {
        notifications_summary(bus, &args);
    }
    println!(
        "render on it:   hyperframes render PROJECT_DIR --stack-name {} --wait --download out.mp4",
        args.stack_name
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("stopping the local stack");
    let _ = std::fs::remove_file(&outputs_file);
    local.shutdown().await;
    Ok(())
}
