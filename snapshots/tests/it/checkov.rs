//! checkov 3 on every template variant: no failed check, and every
//! skipped one carries the reason written in the resource's Metadata.
//! A finding nobody explained fails here.

use std::collections::BTreeSet;
use std::process::Command;

use hyperframes_infra::hardening::checks;
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_snapshots::{checkov, hardened, notification_variants, variants, Scratch};
use serde_json::Value;

/// Every variant the other template tests cover, plus the hardened one and
/// the example infra crate's stack.
fn all_templates() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = variants()
        .into_iter()
        .map(|(n, p)| {
            (
                n.to_string(),
                HyperframesRenderStack::new(p)
                    .synth()
                    .unwrap()
                    .to_json_pretty(),
            )
        })
        .collect();
    for (n, s) in notification_variants() {
        out.push((n.to_string(), s.synth().unwrap().to_json_pretty()));
    }
    out.push((
        "hardened".into(),
        hardened().synth().unwrap().to_json_pretty(),
    ));
    out.push((
        "my_infra".into(),
        my_infra::build().synth().unwrap().to_json_pretty(),
    ));
    out
}

fn scan(dir: &std::path::Path) -> Value {
    let out = Command::new(checkov())
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
            "-d",
        ])
        .arg(dir)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .expect("run checkov");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn file_of(check: &Value) -> String {
    let p = check["file_path"].as_str().unwrap_or("");
    p.rsplit('/')
        .next()
        .unwrap_or(p)
        .trim_end_matches(".json")
        .to_string()
}

#[test]
fn every_finding_is_fixed_or_explained() {
    let dir = Scratch::new("checkov");
    let templates = all_templates();
    for (name, text) in &templates {
        std::fs::write(dir.path(&format!("{name}.json")), text).unwrap();
    }
    let report = scan(&dir.0);
    let results = &report["results"];
    assert_eq!(
        report["summary"]["parsing_errors"], 0,
        "checkov could not parse some templates: {}",
        results["parsing_errors"]
    );
    let failed: Vec<String> = results["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{} {} on {} ({})",
                file_of(c),
                c["check_id"],
                c["resource"],
                c["check_name"]
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "checkov findings without a fix or a reason in Metadata.checkov.skip:\n  {}",
        failed.join("\n  ")
    );
    let skipped = results["skipped_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &skipped {
        let reason = c["check_result"]["suppress_comment"].as_str().unwrap_or("");
        assert!(
            reason.len() > 40,
            "{} {} on {} is skipped without a reason a reviewer can judge: {reason:?}",
            file_of(c),
            c["check_id"],
            c["resource"]
        );
    }
    // The scan really ran: every template was checked, with passes.
    let scanned: BTreeSet<String> = results["passed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(file_of)
        .collect();
    for (name, _) in &templates {
        assert!(scanned.contains(name), "checkov checked nothing in {name}");
    }
    // The default carries the six reasons; the options remove theirs.
    let skipped_in = |file: &str| -> BTreeSet<String> {
        skipped
            .iter()
            .filter(|c| file_of(c) == file)
            .map(|c| c["check_id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let default: BTreeSet<String> = [
        checks::BUCKET_ACCESS_LOGGING,
        checks::BUCKET_VERSIONING,
        checks::LOG_GROUP_KMS,
        checks::FUNCTION_DLQ,
        checks::FUNCTION_VPC,
        checks::FUNCTION_ENV_KMS,
    ]
    .map(String::from)
    .into();
    assert_eq!(skipped_in("default"), default);
    let hardened_skips = skipped_in("hardened");
    assert_eq!(
        hardened_skips,
        [checks::BUCKET_VERSIONING, checks::FUNCTION_DLQ]
            .map(String::from)
            .into(),
        "the options must fix what they claim to"
    );
}
