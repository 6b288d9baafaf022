//! One local stack per test binary: the real handler package (the
//! workspace's `bootstrap` + the pinned Chromium and ffmpeg payload) in the
//! jail, the synthesized state machine in aws-local-stepfunctions, moto S3.
//!
//! `bootstrap` is the one `cargo test --workspace` builds
//! (`hyperframes_testkit::bootstrap`); the payload archives and the offline
//! asset map come from `scripts/test.sh` (`.tools`). Needs root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use hyperframes_deploy::handler_zip::PayloadArgs;
use hyperframes_deploy::package::Bootstrap;
use hyperframes_deploy::payload;
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_local::cgroup::{CgroupBackend, CgroupChoice, Mounts};
use hyperframes_local::stack::{self, LocalStack, StackOptions, Tools};

pub fn workspace() -> PathBuf {
    hyperframes_testkit::workspace_root()
}

pub fn tools() -> Tools {
    Tools::discover()
}

/// A fixed directory per name under the target's tmp dir, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("local-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn require_root() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the jail and workflow tests need root (namespaces, chroot, cgroups); CI runs as root, run them with sudo"
    );
}

/// The cgroups this machine enforces limits with (v2, else v1); the
/// tests of the enforced path fail rather than fall back to none.
pub fn enforcing_cgroups() -> CgroupBackend {
    let b = CgroupBackend::choose(CgroupChoice::Auto, &Mounts::read()).unwrap();
    assert!(
        b.enforced(),
        "the jail and workflow tests enforce the function's memory limit with a cgroup (v1 or v2), and need a writable memory controller: {}",
        b.describe()
    );
    b
}

/// The handler ZIP, built once per test binary.
pub fn handler_zip() -> &'static PathBuf {
    static Z: OnceLock<PathBuf> = OnceLock::new();
    Z.get_or_init(|| {
        let payloads = tools().dir.join("payloads");
        for pin in [payload::CHROMIUM, payload::FFMPEG] {
            assert!(
                payloads.join(pin.file).is_file(),
                "{} is missing from {}: run scripts/test.sh --install-only",
                pin.file,
                payloads.display()
            );
        }
        let d = scratch("zip");
        let args = PayloadArgs {
            payload_dir: None,
            // Shared with the hyperframes package's tests: the pins key it.
            payload_cache: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("payload-cache")),
        };
        stack::handler_package(
            &Bootstrap::Prebuilt(
                hyperframes_testkit::bootstrap::bootstrap(Path::new(env!("CARGO_TARGET_TMPDIR")))
                    .clone(),
            ),
            &args,
            &tools(),
            &d.join("handler.zip"),
        )
        .unwrap_or_else(|e| panic!("package failed: {e:#}"))
    })
}

pub struct TestStack {
    pub rt: tokio::runtime::Runtime,
    pub stack: LocalStack,
    pub outputs_file: PathBuf,
    pub dir: PathBuf,
}

impl TestStack {
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let _g = self.rt.enter();
        stack::s3_client(&self.stack.moto_endpoint, &self.stack.region)
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
        aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .http_client(hyperframes_cli::aws::https_client())
                .endpoint_url(&self.stack.sfn.endpoint)
                .region(Region::new(self.stack.region.clone()))
                .credentials_provider(Credentials::new(
                    stack::ACCESS_KEY_ID,
                    stack::SECRET_ACCESS_KEY,
                    None,
                    None,
                    "test",
                ))
                .build(),
        )
    }
}

/// The asset layer for the fixtures (they load GSAP and a font from CDNs).
fn layer(dir: &Path) -> PathBuf {
    let map = tools().dir.join("asset-map.json");
    assert!(
        map.is_file(),
        "{} is missing: run scripts/test.sh --install-only (it writes the offline asset map)",
        map.display()
    );
    stack::asset_layer(&map, &dir.join("layer")).unwrap()
}

/// The stack every workflow test uses: 3 instances at most, so a Map of 3
/// chunks runs all at once.
pub fn test_stack() -> &'static TestStack {
    static S: OnceLock<TestStack> = OnceLock::new();
    S.get_or_init(|| {
        require_root();
        start_test_stack("stack", enforcing_cgroups())
    })
}

/// A stack like [`test_stack`]'s under `scratch(name)`, with `cgroups`.
pub fn start_test_stack(name: &str, cgroups: CgroupBackend) -> TestStack {
    let zip = handler_zip().clone();
    let dir = scratch(name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let template = HyperframesRenderStack::default()
        .synth()
        .unwrap()
        .into_json();
    let layer = layer(&dir);
    let stack = rt
        .block_on(LocalStack::start(StackOptions {
            stack_name: "test".into(),
            template,
            parameters: Vec::new(),
            package: zip,
            state_dir: dir.join("state"),
            tools: tools(),
            helper: PathBuf::from(env!("CARGO_BIN_EXE_jail-helper")),
            concurrency: 3,
            region: "us-east-1".into(),
            layer: Some(layer),
            extra_env: vec![("HF_ASSET_MAP".into(), "/opt/asset-map.json".into())],
            echo_reports: false,
            ports: (0, 0, 0),
            cgroups,
            reuse_instances: true,
        }))
        .unwrap_or_else(|e| panic!("the local stack did not start: {e:#}"));
    let outputs_file = dir.join("outputs.json");
    hyperframes_cli::outputs::write_file(&outputs_file, &stack.outputs("test")).unwrap();
    TestStack {
        rt,
        stack,
        outputs_file,
        dir,
    }
}

/// Workflow tests run one at a time, so each render's concurrency and
/// invocation counts are its own.
pub fn serial() -> MutexGuard<'static, ()> {
    static M: Mutex<()> = Mutex::new(());
    M.lock().unwrap_or_else(|p| p.into_inner())
}

pub const EXECUTION_LIMIT: Duration = Duration::from_secs(900);
