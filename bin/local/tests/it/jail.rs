//! The jail holds what provided.al2023 holds and nothing else, and a
//! function runs in it the way Lambda runs one: read-only root, tmpfs
//! /tmp, a non-root user, its own PID namespace, Lambda's environment.
//!
//! The probe is a `bootstrap` written in sh (the jail's only program
//! besides the package's): it reports what it sees on stdout, which the
//! service writes to the function's log, and exits, which Lambda reports
//! as Runtime.ExitError.

use std::path::Path;
use std::time::Duration;

use hyperframes_local::cgroup::{self, CgroupBackend, CgroupChoice, Mounts};
use hyperframes_local::jail::JailSpec;
use hyperframes_local::lambda::{FunctionSpec, LambdaConfig, LambdaService, Record};
use hyperframes_local::rootfs;

/// Everything the root holds, as built from a Debian host.
const EXPECTED_ROOT: &[&str] = &[
    ".hyperframes-rootfs",
    "bin",
    "dev",
    "dev/full",
    "dev/null",
    "dev/random",
    "dev/urandom",
    "dev/zero",
    "etc",
    "etc/group",
    "etc/hosts",
    "etc/passwd",
    "etc/pki",
    "etc/pki/tls",
    "etc/pki/tls/cert.pem",
    "etc/pki/tls/certs",
    "etc/pki/tls/certs/ca-bundle.crt",
    "etc/ssl",
    "lib",
    "lib64",
    "opt",
    "proc",
    "tmp",
    "usr",
    "usr/bin",
    "usr/bin/sh",
    "usr/lib",
    "usr/lib/x86_64-linux-gnu",
    "usr/lib64",
    "var",
    "var/lang",
    "var/runtime",
    "var/task",
];

const PROBE: &str = r#"#!/bin/sh
echo "probe: pid=$$"
while read k v rest; do [ "$k" = Uid: ] && echo "probe: uid=$v"; done < /proc/self/status
for tool in tar gzip curl ffmpeg ffprobe chromium chromium-headless-shell python3 node; do
  command -v $tool >/dev/null 2>&1 && echo "probe: found $tool"
done
( echo x > /etc/probe ) 2>/dev/null && echo "probe: root writable" || echo "probe: root read-only"
( echo x > /var/task/probe ) 2>/dev/null && echo "probe: task writable" || echo "probe: task read-only"
echo x > /tmp/probe && echo "probe: tmp writable"
while read dev mnt fs opts rest; do [ "$mnt" = /tmp ] && echo "probe: tmp $fs $opts"; done < /proc/mounts
[ -e /usr/share/fonts ] && echo "probe: fonts"
[ -r /etc/ssl/certs/ca-bundle.crt ] && echo "probe: ca via /etc/ssl/certs"
echo "probe: HOME=${HOME-unset}"
for v in LAMBDA_TASK_ROOT LAMBDA_RUNTIME_DIR AWS_LAMBDA_RUNTIME_API AWS_LAMBDA_FUNCTION_NAME AWS_LAMBDA_FUNCTION_MEMORY_SIZE AWS_LAMBDA_FUNCTION_VERSION AWS_LAMBDA_LOG_GROUP_NAME AWS_REGION AWS_DEFAULT_REGION _HANDLER TZ LANG PATH LD_LIBRARY_PATH AWS_EXECUTION_ENV MY_VAR; do
  eval "echo \"probe: $v=\${$v-unset}\""
done
while read l; do echo "probe: cgroup $l"; done < /proc/self/cgroup
# A child left running: the PID namespace ends it with the runtime.
( while :; do :; done ) &
exit 3
"#;

#[test]
fn the_root_holds_only_what_provided_al2023_holds() {
    let d = crate::support::scratch("rootfs");
    let root = rootfs::build(&d.join("rootfs")).unwrap();
    let mut expected: Vec<String> = EXPECTED_ROOT.iter().map(|s| s.to_string()).collect();
    for (lib, required) in rootfs::LIBRARIES {
        let present = root.dir.join("usr/lib64").join(lib).is_file();
        assert!(present || !required, "{lib} is missing");
        if present {
            expected.push(format!("usr/lib64/{lib}"));
        }
    }
    expected.sort();
    assert_eq!(rootfs::list(&root.dir).unwrap(), expected);
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib64", "usr/lib64"),
        ("etc/ssl", "pki/tls"),
    ] {
        assert_eq!(
            std::fs::read_link(root.dir.join(link)).unwrap(),
            Path::new(target)
        );
    }
    // Rebuilding is a no-op (the stamp matches).
    let again = rootfs::build(&d.join("rootfs")).unwrap();
    assert_eq!(rootfs::list(&again.dir).unwrap(), expected);
}

/// A task directory holding `bootstrap` (a shell script).
fn task_with(d: &Path, bootstrap: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let task = d.join("task");
    std::fs::create_dir_all(&task).unwrap();
    std::fs::write(task.join("bootstrap"), bootstrap).unwrap();
    std::fs::set_permissions(
        task.join("bootstrap"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    task
}

/// Runs `bootstrap` once as the function `probe` (2048 MB) and returns
/// the answer, the function's log and the invocation's record.
fn invoke_probe(
    d: &Path,
    bootstrap: &str,
    cgroups: CgroupBackend,
) -> (hyperframes_local::lambda::Invoked, String, Record) {
    let root = rootfs::build(&d.join("rootfs")).unwrap();
    let task = task_with(d, bootstrap);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let svc = rt
        .block_on(LambdaService::start(
            LambdaConfig {
                rootfs: root.dir,
                helper: env!("CARGO_BIN_EXE_jail-helper").into(),
                region: "eu-west-1".into(),
                account: "123456789012".into(),
                access_key_id: "k".into(),
                secret_access_key: "s".into(),
                aws_endpoint: None,
                concurrency: 1,
                log_dir: d.join("logs"),
                echo_reports: false,
                cgroups,
                reuse_instances: true,
            },
            vec![FunctionSpec {
                name: "probe".into(),
                memory_mb: 2048,
                timeout: Duration::from_secs(30),
                ephemeral_mb: 700,
                environment: vec![("MY_VAR".into(), "from-the-template".into())],
                task_dir: task,
                layers: Vec::new(),
            }],
            0,
        ))
        .unwrap();
    let r = rt
        .block_on(svc.invoke("probe", bytes::Bytes::from_static(b"{}")))
        .unwrap();
    rt.block_on(svc.shutdown());
    let log = std::fs::read_to_string(svc.function_log_path()).unwrap();
    let rec = svc.records().pop().unwrap();
    (r, log, rec)
}

/// What the probe printed (`probe: ...` lines, without the prefix).
fn probed(log: &str) -> Vec<&str> {
    log.lines()
        .filter_map(|l| l.split_once("probe: ").map(|(_, v)| v))
        .collect()
}

#[test]
fn a_function_sees_what_lambda_gives_it_and_its_children_die_with_it() {
    crate::support::require_root();
    let d = crate::support::scratch("jail");
    let backend = crate::support::enforcing_cgroups();
    let (r, log, _) = invoke_probe(&d, PROBE, backend.clone());
    assert_eq!(r.function_error, Some("Unhandled"));
    let body: serde_json::Value = serde_json::from_slice(&r.payload).unwrap();
    assert_eq!(body["errorType"], "Runtime.ExitError", "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Runtime exited with error: exit status 3"),
        "{body}"
    );
    let seen = probed(&log);
    let has = |want: &str| seen.contains(&want);
    for want in [
        "pid=2",
        "uid=993",
        "root read-only",
        "task read-only",
        "tmp writable",
        "ca via /etc/ssl/certs",
        "HOME=unset",
        "LAMBDA_TASK_ROOT=/var/task",
        "LAMBDA_RUNTIME_DIR=/var/runtime",
        "AWS_LAMBDA_FUNCTION_NAME=probe",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=2048",
        "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/probe",
        "AWS_REGION=eu-west-1",
        "AWS_DEFAULT_REGION=eu-west-1",
        "_HANDLER=bootstrap",
        "TZ=:UTC",
        "LANG=en_US.UTF-8",
        "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        "AWS_EXECUTION_ENV=unset",
        "MY_VAR=from-the-template",
    ] {
        assert!(has(want), "the probe did not report `{want}`; it saw {seen:#?}");
    }
    assert!(
        seen.iter()
            .any(|l| l.starts_with("AWS_LAMBDA_RUNTIME_API=127.0.0.1:")),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("tmp tmpfs") && l.contains("size=716800k")),
        "/tmp is not a 700 MB tmpfs: {seen:#?}"
    );
    for l in &seen {
        assert!(!l.starts_with("found "), "the jail has a host tool: {l}");
        assert_ne!(*l, "fonts", "the jail has fonts");
    }
    assert!(
        log.lines()
            .any(|l| l.ends_with("every process in it ended: true")),
        "the busy child outlived the runtime:\n{log}"
    );
    let report = log
        .lines()
        .find(|l| l.starts_with("REPORT RequestId: "))
        .unwrap();
    assert!(
        report.contains("Memory Size: 2048 MB")
            && report.contains("Init Duration: ")
            && !report.contains("unenforced"),
        "{report}"
    );
    // The program ran in the instance's cgroups: memory, and cpu where
    // the backend has it.
    let joined = |controller: &str| {
        seen.iter().any(|l| {
            l.starts_with("cgroup ")
                && l.contains("/hyperframes-local/")
                && l.split(':')
                    .nth(1)
                    .is_some_and(|c| c.split(',').any(|c| c == controller))
        })
    };
    match &backend {
        CgroupBackend::V1 { cpu, .. } => {
            assert!(joined("memory"), "{seen:#?}");
            assert_eq!(joined("cpu"), cpu.is_some(), "{seen:#?}");
        }
        _ => assert!(
            seen.iter()
                .any(|l| l.starts_with("cgroup 0::/") && l.contains("/hyperframes-local/")),
            "{seen:#?}"
        ),
    }
}

/// Holds a 16 MB string for about a second, then exits.
const MEMORY_PROBE: &str = r#"#!/bin/sh
s=0123456789abcdef; i=0
while [ $i -lt 20 ]; do s=$s$s; i=$((i+1)); done
j=0; while [ $j -lt 500000 ]; do j=$((j+1)); done
echo "probe: held ${#s} bytes"
exit 3
"#;

#[test]
fn without_a_memory_controller_the_limit_is_unenforced_and_report_says_so() {
    crate::support::require_root();
    let d = crate::support::scratch("jail-none");
    let none = CgroupBackend::choose(CgroupChoice::None, &Mounts::read()).unwrap();
    let (r, log, rec) = invoke_probe(&d, MEMORY_PROBE, none);
    let body: serde_json::Value = serde_json::from_slice(&r.payload).unwrap();
    assert_eq!(body["errorType"], "Runtime.ExitError", "{body}\n{log}");
    assert!(log.contains("probe: held 16777216 bytes"), "{log}");
    assert!(!rec.memory_enforced);
    assert!(
        (16..2048).contains(&rec.max_memory_used_mb),
        "the 16 MB string was not seen: {rec:?}"
    );
    let report = log.lines().find(|l| l.starts_with("REPORT ")).unwrap();
    assert!(
        report.contains(&format!(
            "Max Memory Used: {} MB (unenforced: rss)",
            rec.max_memory_used_mb
        )),
        "{report}"
    );
    assert!(
        log.lines()
            .any(|l| l.ends_with("every process in it ended: true")),
        "{log}"
    );
}

#[test]
fn an_instance_cgroup_holds_the_memory_limit_and_lambdas_cpu_share() {
    crate::support::require_root();
    let backend = crate::support::enforcing_cgroups();
    let cg = backend
        .create(&format!("test-{}", std::process::id()), 2048)
        .unwrap()
        .unwrap();
    let read = |dir: &Path, f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap()
            .trim()
            .to_string()
    };
    let quota = cgroup::quota_us(2048);
    assert_eq!(quota, 115_772, "2048 MB is 1.16 vCPU");
    match &backend {
        CgroupBackend::V1 { cpu, .. } => {
            assert_eq!(read(&cg.dirs()[0], "memory.limit_in_bytes"), "2147483648");
            if cpu.is_some() {
                assert_eq!(read(&cg.dirs()[1], "cpu.cfs_quota_us"), quota.to_string());
                assert_eq!(read(&cg.dirs()[1], "cpu.cfs_period_us"), "100000");
            }
        }
        CgroupBackend::V2 { cpu, .. } => {
            assert_eq!(read(&cg.dirs()[0], "memory.max"), "2147483648");
            if *cpu {
                assert_eq!(read(&cg.dirs()[0], "cpu.max"), format!("{quota} 100000"));
            }
        }
        CgroupBackend::None { .. } => unreachable!(),
    }
    assert!(cg.remove(), "an empty instance cgroup is removed");
    assert!(cg.dirs().iter().all(|d| !d.exists()));
}

#[test]
fn without_root_the_jail_runs_in_a_user_namespace() {
    use std::os::unix::process::CommandExt;
    crate::support::require_root();
    assert!(
        hyperframes_local::jail::user_namespaces_work(),
        "unprivileged user namespaces are off on this machine"
    );
    let d = crate::support::scratch("jail-rootless");
    let root = rootfs::build(&d.join("rootfs")).unwrap();
    let spec = JailSpec {
        root: root.dir,
        task_dir: task_with(&d, PROBE),
        tmp_mb: 64,
        cgroups: Vec::new(),
        layers: Vec::new(),
        program: "/var/task/bootstrap".into(),
    };
    // As `nobody`: the helper finds it is not root and enters a user
    // namespace first.
    let out = spec
        .command(Path::new(env!("CARGO_BIN_EXE_jail-helper")))
        .env_clear()
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = probed(&stdout);
    for want in [
        "pid=2",
        "uid=993",
        "root read-only",
        "task read-only",
        "tmp writable",
    ] {
        assert!(seen.contains(&want), "rootless: no `{want}` in {seen:#?}");
    }
}
