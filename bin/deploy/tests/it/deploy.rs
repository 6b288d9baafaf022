//! `deploy` and `destroy` as a user runs them, against a moto server that
//! each test starts on 127.0.0.1 (never real AWS). The handler binary is a
//! small fixed ELF file passed with --bootstrap, so no test builds Rust for
//! Lambda, and the package hash is stable.
//!
//! What moto cannot show (see shared/spec/tooling.md §4) and how the tests
//! cope: it returns no Outputs for change-set stacks, so outputs come from
//! deploy's documented fallback; it only writes stack-level events; it runs
//! a deployment inside ExecuteChangeSet and reports a failing resource as
//! that call's error, never as CREATE_FAILED events.

use hyperframes_testkit::moto;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use hyperframes_infra::{HyperframesRenderStack, Knobs, RenderStackProps};
use moto::Moto;
use serde_json::Value as Json;

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 64-byte ELF64 x86-64 header plus a body: what deploy checks for.
fn fake_elf(path: &Path, body: &str) {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // little endian
    h[6] = 1;
    h[16] = 2; // ET_EXEC
    h[18] = 0x3e; // x86-64
    h.extend_from_slice(body.as_bytes());
    std::fs::write(path, h).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A project dir with a bootstrap and a small runtime payload.
struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(name: &str) -> Project {
        let dir = scratch(name);
        fake_elf(&dir.join("bootstrap"), "handler v1\n");
        let runtime = dir.join("runtime");
        std::fs::create_dir_all(runtime.join("bin")).unwrap();
        std::fs::create_dir_all(runtime.join("fonts")).unwrap();
        fake_elf(&runtime.join("bin").join("ffmpeg"), "ffmpeg\n");
        std::fs::write(runtime.join("fonts").join("README"), "fonts go here\n").unwrap();
        Project { dir }
    }

    fn outputs_file(&self) -> PathBuf {
        self.dir.join("outputs.json")
    }

    fn deploy(&self, moto: &Moto, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deploy"));
        cmd.args(args)
            .arg("--bootstrap")
            .arg(self.dir.join("bootstrap"))
            .arg("--runtime-dir")
            .arg(self.dir.join("runtime"))
            .arg("--outputs-file")
            .arg(self.outputs_file());
        run(moto, cmd, &self.dir)
    }

    fn destroy(&self, moto: &Moto, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_destroy"));
        cmd.args(args);
        run(moto, cmd, &self.dir)
    }
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn both(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }

    /// The `sha256 <hex>` deploy prints for the package.
    fn package_sha(&self) -> String {
        let i = self
            .stdout
            .find("sha256 ")
            .unwrap_or_else(|| panic!("no sha256 in\n{}", self.both()));
        self.stdout[i + 7..i + 7 + 64].to_string()
    }
}

fn run(moto: &Moto, mut cmd: Command, cwd: &Path) -> Run {
    moto.configure(&mut cmd);
    cmd.current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .env("CI", "true")
        .stdin(Stdio::null());
    let o: Output = cmd.output().expect("run the program");
    Run {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Test-side clients, configured explicitly (not from the environment).
struct Api {
    rt: tokio::runtime::Runtime,
    cfn: aws_sdk_cloudformation::Client,
    s3: aws_sdk_s3::Client,
}

impl Api {
    fn new(moto: &Moto) -> Api {
        let creds = Credentials::new("testing", "testing", None, None, "tests");
        let cfn = aws_sdk_cloudformation::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(hyperframes_cli::aws::https_client())
            .region(Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .credentials_provider(creds.clone())
            .build();
        let s3 = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .http_client(hyperframes_cli::aws::https_client())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .force_path_style(true)
            .build();
        Api {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            cfn: aws_sdk_cloudformation::Client::from_conf(cfn),
            s3: aws_sdk_s3::Client::from_conf(s3),
        }
    }

    /// `None` when the stack does not exist.
    fn status(&self, stack: &str) -> Option<String> {
        self.rt.block_on(async {
            match self.cfn.describe_stacks().stack_name(stack).send().await {
                Ok(o) => o
                    .stacks()
                    .first()
                    .and_then(|s| s.stack_status())
                    .map(|s| s.as_str().to_string()),
                Err(_) => None,
            }
        })
    }

    fn template(&self, stack: &str) -> Json {
        self.rt.block_on(async {
            let t = self
                .cfn
                .get_template()
                .stack_name(stack)
                .send()
                .await
                .unwrap();
            serde_json::from_str(t.template_body().unwrap()).unwrap()
        })
    }

    /// Change sets still waiting to be executed (moto also lists executed
    /// ones, and those of other stacks).
    fn pending_change_sets(&self, stack: &str) -> usize {
        use aws_sdk_cloudformation::types::ExecutionStatus;
        self.rt.block_on(async {
            let out = self
                .cfn
                .list_change_sets()
                .stack_name(stack)
                .send()
                .await
                .unwrap();
            out.summaries()
                .iter()
                .filter(|c| {
                    c.stack_name() == Some(stack)
                        && c.execution_status() == Some(&ExecutionStatus::Available)
                })
                .count()
        })
    }

    fn bucket_exists(&self, bucket: &str) -> bool {
        self.rt
            .block_on(async { self.s3.head_bucket().bucket(bucket).send().await.is_ok() })
    }

    fn object_exists(&self, bucket: &str, key: &str) -> bool {
        self.rt.block_on(async {
            self.s3
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .is_ok()
        })
    }
}

fn memory_of(template: &Json) -> &Json {
    &template["Resources"]["RenderFunction"]["Properties"]["MemorySize"]
}

/// The whole life of a stack: create with outputs, a no-op redeploy that
/// also skips the upload, a dry run that changes nothing, an update whose
/// table names the modified function, and destroy keeping the bucket.
#[test]
fn create_noop_dry_run_update_and_destroy() {
    let moto = Moto::start(&scratch("moto-life"));
    let api = Api::new(&moto);
    let p = Project::new("life");
    let base = [
        "--stack-name",
        "hf-life",
        "--project-name",
        "life",
        "--no-parameters",
    ];

    // 1. First deploy: CREATE change set, table, outputs on screen and in the file.
    let first = p.deploy(&moto, &base);
    assert!(first.ok, "{}", first.both());
    assert!(
        first.stdout.contains("CREATE change set for hf-life"),
        "{}",
        first.both()
    );
    for id in ["RenderBucket", "RenderFunction", "RenderStateMachine"] {
        assert!(
            first
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with("Add") && l.contains(id)),
            "{id}\n{}",
            first.both()
        );
    }
    assert!(first.stdout.contains("IAM changes"), "{}", first.both());
    assert!(
        first
            .stdout
            .contains("uploaded s3://hyperframes-staging-123456789012-us-east-1/handlers/"),
        "{}",
        first.both()
    );
    assert!(first.stdout.contains("CREATE_COMPLETE"), "{}", first.both());
    assert_eq!(api.status("hf-life").as_deref(), Some("CREATE_COMPLETE"));
    let outputs: Json =
        serde_json::from_str(&std::fs::read_to_string(p.outputs_file()).unwrap()).unwrap();
    let bucket = outputs["RenderBucketName"]
        .as_str()
        .expect("bucket output")
        .to_string();
    assert!(
        first.stdout.contains(&bucket),
        "outputs printed\n{}",
        first.both()
    );
    assert_eq!(
        outputs["RenderFunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:life-render"
    );
    assert_eq!(
        outputs["RenderStateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:life-render"
    );
    assert_eq!(outputs["StackName"], "hf-life");
    assert_eq!(outputs["Region"], "us-east-1");
    // The function's memory, which `render` and `progress` price with.
    assert_eq!(outputs["LambdaMemoryMb"], 3072);
    assert!(api.bucket_exists(&bucket));
    let sha = first.package_sha();
    let key = format!("handlers/{sha}.zip");
    assert!(api.object_exists("hyperframes-staging-123456789012-us-east-1", &key));
    assert_eq!(
        api.template("hf-life")["Resources"]["RenderFunction"]["Properties"]["Code"]["S3Key"],
        key.as_str()
    );
    assert_eq!(memory_of(&api.template("hf-life")), 3072);

    // 2. Same inputs: same package hash, no upload, nothing to change.
    let again = p.deploy(&moto, &base);
    assert!(again.ok, "{}", again.both());
    assert_eq!(
        again.package_sha(),
        sha,
        "the same inputs must give the same ZIP"
    );
    assert!(
        again.stdout.contains("already staged; skipping upload"),
        "{}",
        again.both()
    );
    assert!(!again.stdout.contains("uploaded s3://"), "{}", again.both());
    assert!(
        again.stdout.contains("stack is up to date"),
        "{}",
        again.both()
    );
    assert!(
        !again.stdout.contains("executing change set"),
        "{}",
        again.both()
    );

    // 3. Dry run of a memory change: the diff is shown, nothing changes.
    let changed = [&base[..], &["--memory-mb", "4096"]].concat();
    let dry = p.deploy(&moto, &[&changed[..], &["--no-execute"]].concat());
    assert!(dry.ok, "{}", dry.both());
    assert!(
        dry.stdout.contains("UPDATE change set for hf-life"),
        "{}",
        dry.both()
    );
    assert!(
        dry.stdout
            .lines()
            .any(|l| l.contains("Modify") && l.contains("RenderFunction")),
        "{}",
        dry.both()
    );
    assert!(
        !dry.stdout.contains("executing change set"),
        "{}",
        dry.both()
    );
    assert_eq!(
        memory_of(&api.template("hf-life")),
        3072,
        "--no-execute must not touch the stack"
    );
    assert_eq!(api.status("hf-life").as_deref(), Some("CREATE_COMPLETE"));
    assert_eq!(
        api.pending_change_sets("hf-life"),
        0,
        "the dry run's change set is deleted"
    );

    // 4. The real update.
    let update = p.deploy(&moto, &changed);
    assert!(update.ok, "{}", update.both());
    assert!(
        update.stdout.lines().any(|l| l.contains("Modify")
            && l.contains("RenderFunction")
            && l.contains("AWS::Lambda::Function")),
        "{}",
        update.both()
    );
    assert!(
        update.stdout.contains("UPDATE_COMPLETE"),
        "{}",
        update.both()
    );
    assert_eq!(api.status("hf-life").as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(memory_of(&api.template("hf-life")), 4096);

    // 5. Destroy: without a terminal it needs --yes; then the stack goes and the bucket stays.
    let refused = p.destroy(&moto, &["--stack-name", "hf-life"]);
    assert!(!refused.ok, "{}", refused.both());
    assert!(refused.stderr.contains("--yes"), "{}", refused.both());
    assert_eq!(api.status("hf-life").as_deref(), Some("UPDATE_COMPLETE"));
    let gone = p.destroy(&moto, &["--stack-name", "hf-life", "--yes"]);
    assert!(gone.ok, "{}", gone.both());
    assert!(gone.stdout.contains("DELETE_COMPLETE"), "{}", gone.both());
    assert!(
        gone.stdout
            .contains(&format!("render bucket {bucket} was retained")),
        "{}",
        gone.both()
    );
    assert!(
        gone.stdout
            .contains(&format!("aws s3 rb s3://{bucket} --force")),
        "{}",
        gone.both()
    );
    assert_eq!(api.status("hf-life"), None, "the stack is deleted");
    assert!(
        api.bucket_exists(&bucket),
        "the render bucket survives destroy"
    );

    // Destroying again is not an error: there is nothing to delete.
    let nothing = p.destroy(&moto, &["--stack-name", "hf-life", "--yes"]);
    assert!(nothing.ok, "{}", nothing.both());
    assert!(
        nothing.stdout.contains("nothing to delete"),
        "{}",
        nothing.both()
    );
}

/// A dry run of a stack that does not exist yet leaves no stack behind.
#[test]
fn dry_run_of_a_new_stack_leaves_nothing() {
    let moto = Moto::start(&scratch("moto-dry"));
    let api = Api::new(&moto);
    let p = Project::new("dry");
    let dry = p.deploy(
        &moto,
        &[
            "--stack-name",
            "hf-dry",
            "--project-name",
            "dry",
            "--no-execute",
        ],
    );
    assert!(dry.ok, "{}", dry.both());
    assert!(
        dry.stdout.contains("CREATE change set for hf-dry"),
        "{}",
        dry.both()
    );
    assert_eq!(
        api.status("hf-dry"),
        None,
        "no REVIEW_IN_PROGRESS stack is left"
    );
    assert!(!p.outputs_file().exists());
}

/// A template moto rejects while executing: non-zero exit, the reason, and
/// the resource it is about.
#[test]
fn a_failing_template_exits_non_zero_with_the_reason() {
    let moto = Moto::start(&scratch("moto-fail"));
    let p = Project::new("fail");
    // What `synth --project-name fail --no-parameters` prints.
    let stack = HyperframesRenderStack::new(
        RenderStackProps::default()
            .project_name("fail")
            .knobs(Knobs::Baked),
    );
    let mut t: Json = serde_json::from_str(&stack.synth().unwrap().to_json_pretty()).unwrap();
    t["Resources"]["RenderFunction"]["Properties"]["Role"] = "not-an-arn".into();
    let file = p.dir.join("bad.json");
    std::fs::write(&file, serde_json::to_string(&t).unwrap()).unwrap();

    let r = p.deploy(
        &moto,
        &[
            "--stack-name",
            "hf-fail",
            "--template",
            file.to_str().unwrap(),
        ],
    );
    assert!(!r.ok, "{}", r.both());
    assert!(
        r.stderr.contains("executing the change set failed"),
        "{}",
        r.both()
    );
    assert!(
        r.stderr
            .contains("'not-an-arn' at 'role' failed to satisfy constraint"),
        "{}",
        r.both()
    );
    assert!(
        r.stderr
            .contains("failing resource: RenderFunction (AWS::Lambda::Function), property Role"),
        "{}",
        r.both()
    );
    assert!(r.stderr.contains("final status:"), "{}", r.both());
    assert!(!r.stderr.contains("panicked"), "{}", r.both());
}

/// Mistakes caught before any AWS call, each with its own message.
#[test]
fn local_mistakes_are_refused_with_a_clear_message() {
    let p = Project::new("local");
    let deploy = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deploy"));
        cmd.args(args)
            .arg("--bootstrap")
            .arg(p.dir.join("bootstrap"))
            .current_dir(&p.dir)
            .stdin(Stdio::null());
        for k in [
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "RUST_BACKTRACE",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };

    let (code, err) = deploy(&["--stack-name", "my_stack"], &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("not a valid stack name") && err.contains("[a-zA-Z][-a-zA-Z0-9]*"),
        "{err}"
    );

    let (code, err) = deploy(&["--stack-name", "ok"], &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no AWS region"), "{err}");

    let (code, err) = deploy(&["--stack-name", "ok", "--region", "us-east"], &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("not an AWS region name"), "{err}");

    let (code, err) = deploy(&["--stack-name", "ok", "--region", "us-east-1"], &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no AWS credentials found"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let (code, err) = deploy(&["--stack-name", "ok", "--code-s3-bucket", "x"], &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--staging-bucket"), "{err}");

    let (code, err) = deploy(&["--stack-name", "ok", "--memory-mb", "1000"], &[]);
    assert_eq!(code, Some(2), "bad flag values are usage errors: {err}");
}
