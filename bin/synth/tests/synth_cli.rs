//! The `synth` program as a user runs it.

use std::process::{Command, Output};

fn synth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synth"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run synth")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn prints_the_same_json_twice() {
    let a = synth(&[]);
    let b = synth(&[]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    let t: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(t["AWSTemplateFormatVersion"], "2010-09-09");
    assert!(t["Resources"]["RenderStateMachine"].is_object());
}

#[test]
fn flags_set_the_props() {
    let o = synth(&[
        "--project-name",
        "acme",
        "--memory-mb",
        "4096",
        "--timeout-sec",
        "300",
        "--reserved-concurrency",
        "8",
        "--chrome-source",
        "chrome-headless-shell",
        "--alarm-threshold",
        "50",
        "--no-parameters",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &t["Resources"]["RenderFunction"]["Properties"];
    assert_eq!(f["FunctionName"], "acme-render");
    assert_eq!(f["MemorySize"], 4096);
    assert_eq!(f["Timeout"], 300);
    assert_eq!(f["ReservedConcurrentExecutions"], 8);
    assert_eq!(
        f["Environment"]["Variables"]["HYPERFRAMES_LAMBDA_CHROME_SOURCE"],
        "chrome-headless-shell"
    );
    assert_eq!(
        t["Resources"]["RenderChunkInvocationAlarm"]["Properties"]["Threshold"],
        50
    );
    assert!(t.get("Parameters").is_none());
}

#[test]
fn yaml_output_reads_back_as_the_same_template() {
    let json = synth(&[]);
    let yaml = synth(&["--format", "yaml"]);
    assert!(yaml.status.success());
    let from_yaml: serde_json::Value = serde_norway::from_slice(&yaml.stdout).unwrap();
    let from_json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(from_yaml, from_json);
}

#[test]
fn out_writes_the_file() {
    let dir = scratch("synth-out");
    let path = dir.join("template.json");
    let o = synth(&["--out", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), synth(&[]).stdout);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}

#[test]
fn bad_flag_values_exit_2_with_the_rule() {
    for (args, needle) in [
        (vec!["--memory-mb", "4000"], "multiples of 1024"),
        (vec!["--memory-mb", "lots"], "not a whole number"),
        (vec!["--timeout-sec", "901"], "60..=900"),
        (
            vec!["--reserved-concurrency", "0"],
            "throttle every invocation",
        ),
        (
            vec!["--chrome-source", "firefox"],
            "sparticuz or chrome-headless-shell",
        ),
        (vec!["--alarm-threshold", "0"], "every invocation"),
        (vec!["--format", "xml"], "xml"),
        (
            vec!["--notify-queue-arn", "arn:aws:sns:us-east-1:123456789012:t"],
            "not an SQS queue ARN; expected arn:aws:sqs:REGION:ACCOUNT:NAME",
        ),
        (
            vec!["--notify-topic-arn", "ops-topic"],
            "not an SNS topic ARN",
        ),
        (vec!["--no-such-flag"], "--no-such-flag"),
    ] {
        let o = synth(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn invalid_props_exit_1_and_write_nothing() {
    let dir = scratch("synth-invalid");
    let path = dir.join("template.json");
    std::fs::write(&path, "previous good template").unwrap();
    let o = synth(&[
        "--project-name",
        "bad name!",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("project_name"), "{err}");
    assert!(err.contains("letters, digits"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "previous good template"
    );
}

#[test]
fn notify_queue_arn_sends_the_chosen_endings_to_that_queue() {
    let arn = "arn:aws:sqs:eu-west-1:111122223333:render-events";
    let o = synth(&["--notify-queue-arn", arn, "--notify-on", "succeeded,failed"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rule = &t["Resources"]["NotifyQueueRule"]["Properties"];
    assert_eq!(rule["Targets"][0]["Arn"], arn);
    assert_eq!(
        rule["EventPattern"]["detail"]["status"],
        serde_json::json!(["SUCCEEDED", "FAILED"])
    );
    assert!(rule["Targets"][0]["InputTransformer"].is_object());
    assert_eq!(
        rule["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0],
        "NotifyQueueDeadLetterQueue"
    );
    // The queue is not ours: no policy on it, only the dead-letter queue's.
    let policies: Vec<&serde_json::Value> = t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::SQS::QueuePolicy")
        .collect();
    assert_eq!(policies.len(), 1, "{policies:?}");
}
