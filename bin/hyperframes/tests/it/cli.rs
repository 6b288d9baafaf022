//! The `hyperframes` command as a user runs it: settings it refuses, and
//! `local-stack up` without root or with notification flags it cannot honour.

use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn require_root() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test switches to the user nobody, which needs root; CI runs as root, run it with sudo"
    );
}

#[test]
fn without_root_up_says_what_root_would_add_and_goes_on() {
    use std::os::unix::process::CommandExt;
    require_root();
    let empty = scratch("up-rootless");
    // As `nobody`, with no tools: up gets past the jail and cgroup checks
    // (they come first) and stops at the missing moto.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .args(["local-stack", "up", "--stack-name", "rootless"])
        .env("HF_TOOLS_DIR", &empty)
        .current_dir(&empty)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.iter().any(|l| l
            .starts_with("local-stack: not root, so the jail runs in a user namespace")
            && l.contains("only the memory limit and CPU quota need root")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("local-stack: limits: NOT ENFORCED")),
        "{err}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("moto_server is not at")),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn notification_flags_the_rehearsal_cannot_honour_are_refused_with_what_to_do() {
    // Notifications are rehearsed (it/notify.rs); what cannot be is refused
    // before anything is built, every problem at once.
    let up = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hyperframes"))
            .args(["local-stack", "up"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = up(&[
        "--notify-webhook",
        "https://hooks.example.com/renders",
        "--notify-webhook-secret",
        "hooks/key",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--notify-webhook `https://hooks.example.com/renders` is not a plain-HTTP URL on this machine; the rehearsal calls only http://127.0.0.1"),
        "{err}"
    );
    assert!(
        err.contains("--notify-webhook-secret: the rehearsal cannot read Secrets Manager; leave it out and give the key with --parameter-overrides NotifyWebhookApiKey=KEY"),
        "{err}"
    );
    let out = up(&["--template", "t.json", "--notify-email", "ops@example.com"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--notify-email: notification flags shape the template local-stack synthesizes; with --template FILE, give them to `synth`"),
        "{err}"
    );
}

#[test]
fn a_webhook_without_its_key_is_refused_before_the_package_is_built() {
    require_root();
    let dir = scratch("up-no-key");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .args(["local-stack", "up", "--stack-name", "nokey"])
        .args(["--notify-webhook", "http://127.0.0.1:9/hooks/render"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.lines().last().is_some_and(|l| l.contains(
            "parameter NotifyWebhookApiKey has no default; pass --parameter-overrides NotifyWebhookApiKey=VALUE"
        )),
        "{err}"
    );
    assert!(!dir.join(".hyperframes/local/nokey/handler.zip").exists());
}

#[test]
fn bad_settings_in_the_environment_are_named_before_anything_runs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .args(["render", "/nonexistent", "--out", "/nonexistent/out.mp4"])
        .env("HF_CAPTURE_PAGES", "two")
        .env("HF_ENCODER_NICE", "99")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HF_CAPTURE_PAGES") && err.contains("HF_ENCODER_NICE"),
        "{err}"
    );
}
