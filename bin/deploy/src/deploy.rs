//! `deploy`: package the handler, stage it, and create or update the stack
//! through a change set that is shown before it runs.
//!
//! Order matters for safety: everything that can fail locally (flags, stack
//! name, credentials, package size) fails before anything is uploaded, and
//! nothing is executed that was not printed first.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use aws_sdk_cloudformation::types::ChangeSetType;
use clap::Args;
use hyperframes_infra::stack::ids;
use hyperframes_infra::{HandlerCode, HyperframesRenderStack};
use serde_json::{json, Value as Json};

use crate::changeset::{self, Computed, Request, TemplateSource};
use crate::events::{self, EventCursor};
use crate::handler_zip::{self, PayloadArgs};
use crate::outputs;
use crate::package::{human_bytes, Bootstrap, Package};
use crate::stack::{self, Plan};
use crate::staging::{self, Upload};
use hyperframes_cli::aws::{Aws, AwsArgs};
use hyperframes_cli::outputs as outputs_file;
use hyperframes_synth::StackArgs;

/// CloudFormation's limit for an inline `TemplateBody`, in bytes.
const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// Put the render stack into an AWS account (or a local emulator through
/// AWS_ENDPOINT_URL) through a change set.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// CloudFormation stack name: a letter, then letters, digits and hyphens.
    #[arg(long, value_name = "NAME")]
    pub stack_name: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    /// Override a template parameter: `Key=Value`, repeatable or space-separated.
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_pair)]
    pub parameter_overrides: Vec<(String, String)>,
    /// Stack tags (propagated to resources): `Key=Value`, repeatable or space-separated.
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_pair)]
    pub tags: Vec<(String, String)>,
    /// Extra capabilities to acknowledge; the IAM ones the template needs are added automatically.
    #[arg(long, value_name = "CAPABILITY", num_args = 1..)]
    pub capabilities: Vec<String>,
    /// Create and print the change set, then delete it without executing (a dry run).
    #[arg(long)]
    pub no_execute: bool,
    /// Delete a stack that cannot be updated (ROLLBACK_COMPLETE, REVIEW_IN_PROGRESS, DELETE_FAILED) and create it anew.
    #[arg(long)]
    pub force: bool,
    /// Allow a change set that replaces or removes the render bucket.
    #[arg(long)]
    pub allow_replace_bucket: bool,
    /// Where to write the outputs as JSON for `render` [default: .hyperframes/stack-<NAME>.json].
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,
    /// Bucket for handler packages [default: hyperframes-staging-<account>-<region>, created if missing].
    #[arg(long, value_name = "BUCKET")]
    pub staging_bucket: Option<String>,
    /// Use this prebuilt x86_64 Linux `bootstrap` instead of building the handler crate.
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
    /// Directory whose contents go into the package beside bootstrap instead of the pinned
    /// Chromium + ffmpeg payload, laid out as /var/task [default: handler/runtime in the
    /// workspace, if it exists; otherwise the pinned payload].
    #[arg(long, value_name = "DIR")]
    pub runtime_dir: Option<PathBuf>,
    #[command(flatten)]
    pub payload: PayloadArgs,
    /// Also keep the handler ZIP here (it is otherwise a temporary file).
    #[arg(long, value_name = "FILE")]
    pub package_out: Option<PathBuf>,
    /// Deploy this template (JSON, e.g. from your own infra crate or `synth --no-parameters`)
    /// instead of synthesizing one from the flags; its RenderFunction code is pointed at the package.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
}

pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

pub use hyperframes_cli::workspace_root;

/// What a successful deploy did, for callers and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Executed,
    UpToDate,
    DryRun,
}

pub async fn run(args: DeployArgs) -> Result<Done> {
    let local = check_locally(&args)?;
    let aws = Aws::connect(&args.aws).await?;
    println!(
        "deploying stack {} to {}",
        args.stack_name,
        aws.describe_target()
    );
    // Without --package-out the ZIP lives in a temp dir removed on return.
    let zip_dir = tempfile::Builder::new()
        .prefix("hyperframes-handler-")
        .tempdir()
        .context("cannot create a temporary directory for the handler package")?;
    let zip_path = args
        .package_out
        .clone()
        .unwrap_or_else(|| zip_dir.path().join("handler.zip"));
    let pkg = build_package(&args, local.runtime_dir.as_deref(), &zip_path)?;
    let (code, bucket) = stage_package(&aws, &args, &pkg).await?;
    let template = match local.user_template {
        Some(t) => point_code_at(t, &code)?,
        None => synthesize(&args.stack, code)?,
    };
    let kind = change_set_kind(&aws, &args).await?;
    let Some((cs_id, rows)) = propose(&aws, &args, &template, &bucket, &kind).await? else {
        if !args.no_execute {
            report_outputs(&aws, &args, &template).await?;
        }
        return Ok(Done::UpToDate);
    };
    if !review(&aws, &args, &cs_id, &rows, &kind).await? {
        return Ok(Done::DryRun);
    }
    execute(&aws, &args, &cs_id, &kind, &template, rows.len()).await?;
    report_outputs(&aws, &args, &template).await?;
    Ok(Done::Executed)
}

/// What deploy reads before it connects: checked first, so a typo costs
/// neither a build nor an upload.
struct LocalInputs {
    runtime_dir: Option<PathBuf>,
    user_template: Option<Json>,
}

fn check_locally(args: &DeployArgs) -> Result<LocalInputs> {
    stack::validate_stack_name(&args.stack_name)?;
    let defaults = default_stack_args();
    if args.stack.code_s3_bucket != defaults.code_s3_bucket
        || args.stack.code_s3_key != defaults.code_s3_key
    {
        bail!(
            "deploy stages the handler package itself and sets the code location; --code-s3-bucket and \
             --code-s3-key are for synth. Use --staging-bucket to choose the bucket."
        );
    }
    if args.template.is_some() && format!("{:?}", args.stack) != format!("{defaults:?}") {
        bail!("--template deploys that file as it is; the stack flags (--memory-mb, ...) only apply to a synthesized template");
    }
    let runtime_dir = match &args.runtime_dir {
        Some(d) if !d.is_dir() => bail!("--runtime-dir {} is not a directory", d.display()),
        Some(d) => Some(d.clone()),
        None => Some(workspace_root().join("handler").join("runtime")).filter(|d| d.is_dir()),
    };
    let user_template = args.template.as_deref().map(read_template).transpose()?;
    Ok(LocalInputs {
        runtime_dir,
        user_template,
    })
}

/// Step 1: the handler package (bootstrap plus the runtime payload).
fn build_package(
    args: &DeployArgs,
    runtime_dir: Option<&Path>,
    zip_path: &Path,
) -> Result<Package> {
    let bootstrap = match &args.bootstrap {
        Some(p) => Bootstrap::Prebuilt(p.clone()),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target"))
                .join("lambda");
            Bootstrap::Build {
                workspace: workspace_root(),
                target_dir: target,
            }
        }
    };
    let built = handler_zip::build(&bootstrap, runtime_dir, &args.payload, zip_path)?;
    let pkg = built.package;
    println!(
        "handler package: {} files, {} unzipped, {} zipped, sha256 {}{}",
        pkg.files,
        human_bytes(pkg.unzipped_bytes),
        human_bytes(pkg.zipped_bytes),
        pkg.sha256,
        match (runtime_dir, &built.payload) {
            (Some(d), _) => format!(" (runtime payload from {})", d.display()),
            (None, Some(s)) => format!(
                " (pinned Chromium + ffmpeg payload, {} in /tmp once unpacked)",
                human_bytes(s.unpacked_bytes())
            ),
            (None, None) => String::new(),
        }
    );
    Ok(pkg)
}

/// Step 2: the package in the staging bucket, content-addressed, so an
/// unchanged package is not uploaded again.
async fn stage_package(
    aws: &Aws,
    args: &DeployArgs,
    pkg: &Package,
) -> Result<(HandlerCode, String)> {
    let bucket = args
        .staging_bucket
        .clone()
        .unwrap_or_else(|| staging::default_bucket_name(&aws.account, &aws.region));
    staging::ensure_bucket(aws, &bucket).await?;
    let key = pkg.s3_key();
    match staging::upload_if_missing(aws, &bucket, &key, &pkg.zip_path).await? {
        Upload::Uploaded => println!("uploaded s3://{bucket}/{key}"),
        Upload::AlreadyStaged => println!("s3://{bucket}/{key} is already staged; skipping upload"),
    }
    let code = HandlerCode::s3(bucket.clone(), key);
    Ok((code, bucket))
}

/// Step 3: create or update, from the stack as it is; `--force` deletes a
/// stack that cannot be updated first.
async fn change_set_kind(aws: &Aws, args: &DeployArgs) -> Result<ChangeSetType> {
    let existing = stack::describe(aws, &args.stack_name).await?;
    Ok(
        match stack::plan(
            &args.stack_name,
            existing.as_ref().map(|s| s.status.as_str()),
            args.force,
        ) {
            Plan::Create => ChangeSetType::Create,
            Plan::Update => ChangeSetType::Update,
            Plan::Refuse(why) => bail!(why),
            Plan::DeleteThenCreate => {
                let info = existing.as_ref().expect("a plan to delete has a stack");
                println!(
                    "--force: deleting stack {} ({}) before creating it again",
                    args.stack_name, info.status
                );
                delete_and_wait(aws, &args.stack_name, &info.id).await?;
                ChangeSetType::Create
            }
        },
    )
}

fn label(kind: &ChangeSetType) -> &'static str {
    if *kind == ChangeSetType::Create {
        "CREATE"
    } else {
        "UPDATE"
    }
}

/// Step 4: the change set, computed. `None` when the stack is up to date
/// (the empty change set is deleted).
async fn propose(
    aws: &Aws,
    args: &DeployArgs,
    template: &Json,
    bucket: &str,
    kind: &ChangeSetType,
) -> Result<Option<(String, Vec<changeset::Row>)>> {
    let parameters = parameters(template, &args.parameter_overrides)?;
    let capabilities = capabilities(template, &args.capabilities);
    let body = serde_json::to_string(template).expect("JSON values serialize");
    let source = if body.len() > TEMPLATE_BODY_LIMIT {
        TemplateSource::Url(staging::upload_template(aws, bucket, &body).await?)
    } else {
        TemplateSource::Body(body)
    };
    println!(
        "creating {} change set (capabilities: {})",
        label(kind),
        if capabilities.is_empty() {
            "none".to_string()
        } else {
            capabilities.join(", ")
        }
    );
    let req = Request {
        stack_name: &args.stack_name,
        kind: kind.clone(),
        template: &source,
        parameters: &parameters,
        capabilities: &capabilities,
        tags: &args.tags,
    };
    match changeset::create(aws, &req).await? {
        Computed::NoChanges { id } => {
            let _ = changeset::delete(aws, &id, &args.stack_name).await;
            println!("stack is up to date: {} has no changes", args.stack_name);
            Ok(None)
        }
        Computed::Ready { id, rows } => Ok(Some((id, rows))),
    }
}

/// Step 5: prints the change set and its IAM changes, and refuses what must
/// not run (a replaced bucket, `--no-execute`). True when it may execute.
async fn review(
    aws: &Aws,
    args: &DeployArgs,
    cs_id: &str,
    rows: &[changeset::Row],
    kind: &ChangeSetType,
) -> Result<bool> {
    println!("{} change set for {}:", label(kind), args.stack_name);
    if rows.is_empty() {
        println!(
            "  (no resource-level changes listed: only parameters, outputs or metadata change)"
        );
    } else {
        print!("{}", changeset::table(rows));
    }
    let iam = changeset::iam_changes(rows);
    if !iam.is_empty() {
        println!("IAM changes (who may do what), review them:");
        for r in iam {
            println!("  {} {} ({})", r.action, r.logical_id, r.resource_type);
        }
    }
    let created = *kind == ChangeSetType::Create;
    if let Err(why) = changeset::bucket_guard(rows, args.allow_replace_bucket) {
        discard(aws, cs_id, &args.stack_name, created).await;
        bail!(why);
    }
    if args.no_execute {
        discard(aws, cs_id, &args.stack_name, created).await;
        println!("--no-execute: change set not executed and deleted; the stack is unchanged");
        return Ok(false);
    }
    Ok(true)
}

/// Step 6: executes the change set and follows the stack's events until
/// it settles; a failure names the first failing resource and its reason.
async fn execute(
    aws: &Aws,
    args: &DeployArgs,
    cs_id: &str,
    kind: &ChangeSetType,
    template: &Json,
    changes: usize,
) -> Result<()> {
    let stack_id = stack::describe(aws, &args.stack_name)
        .await?
        .map(|s| s.id)
        .context("the stack disappeared after its change set was created")?;
    let mut cursor = if *kind == ChangeSetType::Create {
        EventCursor::from_beginning(&stack_id)
    } else {
        EventCursor::start(aws, &stack_id).await?
    };
    println!("executing change set");
    if let Err(e) = aws
        .cfn
        .execute_change_set()
        .change_set_name(cs_id)
        .stack_name(&args.stack_name)
        .send()
        .await
    {
        let err = aws.explain("cloudformation:ExecuteChangeSet", &e);
        // AWS rejects here only before starting (e.g. a stale change set);
        // moto runs the whole deployment inside this call and reports a
        // resource's failure as this call's error.
        let after = stack::describe(aws, &stack_id).await.ok().flatten();
        let status = after.map(|s| s.status).unwrap_or_else(|| "unknown".into());
        let culprit = match culprit(template, &format!("{err:#}")) {
            Some((id, ty, prop)) => format!("failing resource: {id} ({ty}), property {prop}\n"),
            None => String::new(),
        };
        bail!("executing the change set failed: {err:#}\n{culprit}final status: {status}");
    }
    let outcome = events::wait(aws, &mut cursor, &args.stack_name, false, changes).await?;
    if !outcome.succeeded() {
        let mut msg = format!(
            "deploy of {} failed\n{}",
            args.stack_name,
            outcome.failure_report(&args.stack_name)
        );
        if outcome.status == "ROLLBACK_COMPLETE" {
            msg.push_str(&format!(
                "\nthe stack cannot be updated from ROLLBACK_COMPLETE: after fixing the cause, rerun deploy with --force \
                 (deletes and recreates it; the render bucket is retained) or run `destroy --stack-name {}`",
                args.stack_name
            ));
        }
        bail!(msg);
    }
    println!("stack {} is {}", args.stack_name, outcome.status);
    Ok(())
}

/// The resource a synchronous rejection is about, when the error quotes a
/// value (`Value 'x' at 'role' ...`) that exactly one resource property
/// holds: such errors name the value but not the logical ID.
pub fn culprit(template: &Json, error: &str) -> Option<(String, String, String)> {
    let quoted: Vec<&str> = error
        .split('\'')
        .skip(1)
        .step_by(2)
        .filter(|q| q.len() >= 3)
        .collect();
    let resources = template.get("Resources")?.as_object()?;
    for q in quoted {
        let hits: Vec<(String, String, String)> = resources
            .iter()
            .flat_map(|(id, r)| {
                let ty = r
                    .get("Type")
                    .and_then(Json::as_str)
                    .unwrap_or("?")
                    .to_string();
                let props = r
                    .get("Properties")
                    .and_then(Json::as_object)
                    .cloned()
                    .unwrap_or_default();
                props
                    .into_iter()
                    .filter(|(_, v)| contains_string(v, q))
                    .map(|(p, _)| (id.clone(), ty.clone(), p))
                    .collect::<Vec<_>>()
            })
            .collect();
        if hits.len() == 1 {
            return hits.into_iter().next();
        }
    }
    None
}

fn contains_string(v: &Json, needle: &str) -> bool {
    match v {
        Json::String(s) => s == needle,
        Json::Array(a) => a.iter().any(|x| contains_string(x, needle)),
        Json::Object(o) => o.values().any(|x| contains_string(x, needle)),
        _ => false,
    }
}

/// Removes a change set that will not run; for a CREATE change set also the
/// empty REVIEW_IN_PROGRESS stack it made, so a dry run leaves nothing.
async fn discard(aws: &Aws, cs_id: &str, stack_name: &str, created_stack: bool) {
    if let Err(e) = changeset::delete(aws, cs_id, stack_name).await {
        eprintln!("warning: could not delete change set {cs_id}: {e:#}");
    }
    if created_stack {
        if let Err(e) = aws.cfn.delete_stack().stack_name(stack_name).send().await {
            eprintln!(
                "warning: could not delete the empty stack {stack_name}: {:#}",
                aws.explain("cloudformation:DeleteStack", &e)
            );
        }
    }
}

async fn delete_and_wait(aws: &Aws, stack_name: &str, stack_id: &str) -> Result<()> {
    let mut cursor = EventCursor::start(aws, stack_id).await?;
    aws.cfn
        .delete_stack()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| aws.explain("cloudformation:DeleteStack", &e))?;
    let outcome = events::wait(aws, &mut cursor, stack_name, true, 0).await?;
    if outcome.status != "DELETE_COMPLETE" {
        bail!(
            "could not delete stack {stack_name} before recreating it\n{}",
            outcome.failure_report(stack_name)
        );
    }
    Ok(())
}

/// The function's memory as the deployed template sets it, for a stack
/// that does not report its parameters (moto) and a deploy that did not
/// override it: the parameter's default, or the literal of a template
/// baked without parameters.
fn template_memory(template: &Json) -> Option<u32> {
    let from = |v: &Json| v.as_u64().and_then(|n| u32::try_from(n).ok());
    from(&template["Parameters"][ids::PARAM_MEMORY]["Default"])
        .or_else(|| from(&template["Resources"][ids::RENDER_FUNCTION]["Properties"]["MemorySize"]))
}

async fn report_outputs(aws: &Aws, args: &DeployArgs, template: &Json) -> Result<()> {
    let info = stack::describe(aws, &args.stack_name)
        .await?
        .context("the stack disappeared after the deploy")?;
    let resources = if info.outputs.is_empty() {
        stack::resources(aws, &info.id).await?
    } else {
        Vec::new()
    };
    let outs = outputs::collect(
        template,
        &info.outputs,
        || resources,
        &aws.region,
        &aws.account,
    );
    outs.print();
    let path = args
        .outputs_file
        .clone()
        .unwrap_or_else(|| outputs_file::default_file(&args.stack_name));
    let mut file = outs.to_json(&args.stack_name, &aws.region, &aws.account);
    let given = args
        .parameter_overrides
        .iter()
        .find(|(k, _)| k == ids::PARAM_MEMORY)
        .and_then(|(_, v)| v.parse().ok());
    let memory = info
        .memory_mb
        .or(given)
        .or_else(|| template_memory(template));
    if let Some(mb) = memory {
        file[ids::PARAM_MEMORY] = mb.into();
    }
    outputs_file::write_file(&path, &file)?;
    println!("outputs written to {}", path.display());
    let missing: Vec<&str> = [
        ids::OUTPUT_BUCKET_NAME,
        ids::OUTPUT_FUNCTION_ARN,
        ids::OUTPUT_STATE_MACHINE_ARN,
    ]
    .into_iter()
    .filter(|k| outs.get(k).is_none())
    .collect();
    if !missing.is_empty() && args.template.is_none() {
        eprintln!(
            "warning: outputs not available: {}; `render` needs them",
            missing.join(", ")
        );
    }
    Ok(())
}

/// The stack flags as clap leaves them when none is given.
fn default_stack_args() -> StackArgs {
    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        stack: StackArgs,
    }
    <Only as clap::Parser>::parse_from(["deploy"]).stack
}

fn synthesize(stack_args: &StackArgs, code: HandlerCode) -> Result<Json> {
    let mut props = stack_args.props();
    props.code = code;
    let mut stack = HyperframesRenderStack::new(props);
    stack_args.notify.apply(&mut stack);
    match stack.synth() {
        Ok(t) => Ok(t.into_json()),
        Err(problems) => bail!("the template does not validate:\n{problems}"),
    }
}

fn read_template(path: &Path) -> Result<Json> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --template {}", path.display()))?;
    let t: Json = serde_json::from_str(&text).with_context(|| {
        format!(
            "--template {} is not JSON (use `synth --format json`)",
            path.display()
        )
    })?;
    if !t.get("Resources").is_some_and(Json::is_object) {
        bail!("--template {} has no Resources section", path.display());
    }
    Ok(t)
}

/// Points the user template's render function at the staged package.
fn point_code_at(mut t: Json, code: &HandlerCode) -> Result<Json> {
    let f = ids::RENDER_FUNCTION;
    let Some(props) = t["Resources"]
        .get_mut(f)
        .and_then(|r| r.get_mut("Properties"))
        .and_then(Json::as_object_mut)
    else {
        bail!("the template has no {f} resource with Properties; deploy points its Code at the handler package");
    };
    props.insert(
        "Code".into(),
        json!({"S3Bucket": code.s3_bucket, "S3Key": code.s3_key}),
    );
    Ok(t)
}

/// Every declared parameter, sent explicitly (its default unless
/// overridden) so an update never silently keeps a previous value.
pub fn parameters(
    template: &Json,
    overrides: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let declared = template
        .get("Parameters")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, _) in overrides {
        if !declared.contains_key(k) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            if known.is_empty() {
                bail!("--parameter-overrides {k}=...: the template declares no parameters (it was synthesized with --no-parameters?)");
            }
            bail!(
                "--parameter-overrides {k}=...: the template has no parameter {k}; it has {}",
                known.join(", ")
            );
        }
    }
    for (k, v) in overrides {
        // CloudFormation's parameter constraints cannot say "not 0", and 0
        // reserved concurrency silently disables the function.
        if k == hyperframes_infra::stack::ids::PARAM_RESERVED_CONCURRENCY && v.trim() == "0" {
            bail!("--parameter-overrides {k}=0 would throttle every invocation; use -1 for unreserved or a positive cap");
        }
    }
    let mut out = Vec::new();
    for (k, decl) in &declared {
        let value = match overrides.iter().rev().find(|(o, _)| o == k) {
            Some((_, v)) => v.clone(),
            None => match decl.get("Default") {
                Some(Json::String(s)) => s.clone(),
                Some(Json::Number(n)) => n.to_string(),
                Some(Json::Bool(b)) => b.to_string(),
                Some(Json::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                _ => bail!("parameter {k} has no default; pass --parameter-overrides {k}=VALUE"),
            },
        };
        out.push((k.clone(), value));
    }
    Ok(out)
}

/// The capabilities the template needs, so users never meet
/// `InsufficientCapabilities`: IAM resources need CAPABILITY_IAM, named
/// ones CAPABILITY_NAMED_IAM, macros and nested transforms AUTO_EXPAND.
pub fn capabilities(template: &Json, extra: &[String]) -> Vec<String> {
    let mut caps: Vec<String> = Vec::new();
    let resources = template.get("Resources").and_then(Json::as_object);
    const NAME_PROPS: [&str; 5] = [
        "RoleName",
        "UserName",
        "GroupName",
        "ManagedPolicyName",
        "InstanceProfileName",
    ];
    for r in resources.into_iter().flat_map(|m| m.values()) {
        let ty = r.get("Type").and_then(Json::as_str).unwrap_or("");
        if ty.starts_with("AWS::IAM::") {
            let named = NAME_PROPS.iter().any(|p| {
                r.get("Properties")
                    .and_then(|props| props.get(*p))
                    .is_some()
            });
            let cap = if named {
                "CAPABILITY_NAMED_IAM"
            } else {
                "CAPABILITY_IAM"
            };
            if !caps.iter().any(|c| c == cap) {
                caps.push(cap.to_string());
            }
        }
    }
    if template.get("Transform").is_some() {
        caps.push("CAPABILITY_AUTO_EXPAND".to_string());
    }
    for c in extra {
        if !caps.contains(c) {
            caps.push(c.clone());
        }
    }
    caps.sort();
    caps
}

/// Removes the temporary ZIP however deploy ends.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_is_sent_with_overrides_applied() {
        let t = json!({"Parameters": {
            "ProjectName": {"Type": "String", "Default": "hyperframes"},
            "LambdaMemoryMb": {"Type": "Number", "Default": 10240}
        }});
        let p = parameters(&t, &[("LambdaMemoryMb".into(), "4096".into())]).unwrap();
        assert_eq!(
            p,
            vec![
                ("ProjectName".into(), "hyperframes".into()),
                ("LambdaMemoryMb".into(), "4096".into())
            ]
        );
        let err = parameters(&t, &[("Nope".into(), "1".into())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("ProjectName, LambdaMemoryMb"), "{err}");
        let baked = parameters(&json!({}), &[("X".into(), "1".into())])
            .unwrap_err()
            .to_string();
        assert!(baked.contains("declares no parameters"), "{baked}");
    }

    #[test]
    fn capabilities_follow_the_iam_resources() {
        let t = json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {}}}});
        assert_eq!(capabilities(&t, &[]), vec!["CAPABILITY_IAM"]);
        let named = json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}});
        assert_eq!(
            capabilities(&named, &["CAPABILITY_AUTO_EXPAND".into()]),
            vec!["CAPABILITY_AUTO_EXPAND", "CAPABILITY_NAMED_IAM"]
        );
        assert!(capabilities(&json!({"Resources": {}}), &[]).is_empty());
    }

    #[test]
    fn code_is_pointed_at_the_staged_package() {
        let t = json!({"Resources": {"RenderFunction": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}}}});
        let code = HandlerCode::s3("b", "handlers/abc.zip");
        let t = point_code_at(t, &code).unwrap();
        assert_eq!(
            t["Resources"]["RenderFunction"]["Properties"]["Code"],
            json!({"S3Bucket": "b", "S3Key": "handlers/abc.zip"})
        );
        assert!(point_code_at(json!({"Resources": {}}), &code).is_err());
    }

    #[test]
    fn culprit_is_the_resource_holding_the_quoted_value() {
        let t = json!({"Resources": {
            "RenderFunction": {"Type": "AWS::Lambda::Function", "Properties": {"Role": "not-an-arn", "Runtime": "provided.al2023"}},
            "Other": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}
        }});
        let err = "ValidationException: 1 validation error detected: Value 'not-an-arn' at 'role' failed to satisfy constraint";
        assert_eq!(
            culprit(&t, err),
            Some((
                "RenderFunction".into(),
                "AWS::Lambda::Function".into(),
                "Role".into()
            ))
        );
        assert_eq!(culprit(&t, "Rate exceeded"), None);
    }

    #[test]
    fn pairs_need_a_key() {
        assert_eq!(parse_pair("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(parse_pair("=x").is_err());
        assert!(parse_pair("novalue").is_err());
    }
}
