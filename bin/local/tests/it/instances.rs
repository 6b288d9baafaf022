//! Instances: a warm one is reused, as Lambda reuses them; told not to
//! (`reuse_instances: false`, what `bench long` asks for), the service
//! starts every invocation in a fresh instance that pays its cold start,
//! as every chunk of a wide render does on Lambda.

use std::time::Duration;

use hyperframes_local::lambda::{FunctionSpec, LambdaConfig, LambdaService};
use hyperframes_local::rootfs;
use hyperframes_local::stack;

#[test]
fn instances_are_reused_unless_every_invocation_is_to_start_cold() {
    crate::support::require_root();
    let d = crate::support::scratch("instances");
    let root = rootfs::build(&d.join("rootfs")).unwrap();
    let task = d.join("task");
    stack::unzip_package(crate::support::handler_zip(), &task).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for reuse in [true, false] {
        let svc = rt
            .block_on(LambdaService::start(
                LambdaConfig {
                    rootfs: root.dir.clone(),
                    helper: env!("CARGO_BIN_EXE_jail-helper").into(),
                    region: "us-east-1".into(),
                    account: "123456789012".into(),
                    access_key_id: "k".into(),
                    secret_access_key: "s".into(),
                    aws_endpoint: None,
                    concurrency: 1,
                    log_dir: d.join(format!("logs-{reuse}")),
                    echo_reports: false,
                    cgroups: crate::support::enforcing_cgroups(),
                    reuse_instances: reuse,
                },
                vec![FunctionSpec {
                    name: "render".into(),
                    memory_mb: 2048,
                    timeout: Duration::from_secs(60),
                    ephemeral_mb: 2048,
                    environment: vec![("HYPERFRAMES_RENDER_BUCKET".into(), "renders".into())],
                    task_dir: task.clone(),
                    layers: Vec::new(),
                }],
                0,
            ))
            .unwrap();
        // An event the handler refuses: answered at once, by a live instance.
        for _ in 0..2 {
            let r = rt
                .block_on(svc.invoke("render", bytes::Bytes::from_static(b"{}")))
                .unwrap();
            assert_eq!(r.function_error, Some("Unhandled"), "reuse {reuse}");
        }
        rt.block_on(svc.shutdown());
        let mut recs = svc.records();
        recs.sort_by_key(|r| r.started_ms);
        let cold: Vec<bool> = recs.iter().map(|r| r.init.is_some()).collect();
        let same_instance = recs[0].instance == recs[1].instance;
        if reuse {
            assert_eq!(
                cold,
                [true, false],
                "the second invocation should be warm: {recs:#?}"
            );
            assert!(same_instance, "{recs:#?}");
        } else {
            assert_eq!(
                cold,
                [true, true],
                "both invocations should start cold: {recs:#?}"
            );
            assert!(!same_instance, "{recs:#?}");
        }
    }
}
