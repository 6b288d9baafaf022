//! Variables too large for the execution input travel as an S3 object
//! (`Config.variablesS3Uri`): the plan stage reads them back and plans
//! exactly what inline values would plan (same plan hash), against moto.

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_from_s3_plan_as_inline_values_do() {
    let e = env("vars-s3").await;
    let project = e.upload_project("mp4-h264-sdr").await;
    let values = json!({"title": "Hello", "long": "x".repeat(200_000)});
    e.put(
        "renders/r-ref/variables.json",
        values.to_string().into_bytes(),
    )
    .await;
    let plan = |prefix: &str, config: serde_json::Value| json!({"Action": "plan", "ProjectS3Uri": project, "PlanOutputS3Prefix": format!("s3://{BUCKET}/renders/{prefix}/"), "Config": config});
    let base = json!({"fps": 30, "format": "mp4", "chunkSize": 30});
    let with = |k: &str, v: serde_json::Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let by_ref = e
        .call(plan(
            "r-ref",
            with(
                "variablesS3Uri",
                json!(format!("s3://{BUCKET}/renders/r-ref/variables.json")),
            ),
        ))
        .await
        .unwrap();
    let inline = e
        .call(plan("r-inline", with("variables", values.clone())))
        .await
        .unwrap();
    let none = e.call(plan("r-none", base.clone())).await.unwrap();
    assert_eq!(
        by_ref["PlanHash"], inline["PlanHash"],
        "{by_ref} vs {inline}"
    );
    assert_ne!(by_ref["PlanHash"], none["PlanHash"]);

    // A missing object fails the plan and names it; both fields at once are refused.
    let missing = e
        .call(plan(
            "r-missing",
            with(
                "variablesS3Uri",
                json!(format!("s3://{BUCKET}/renders/nope/variables.json")),
            ),
        ))
        .await
        .unwrap_err();
    assert!(
        missing.to_string().contains("renders/nope/variables.json"),
        "{missing}"
    );
    let mut both = with("variables", json!({"a": 1}));
    both["variablesS3Uri"] = json!("s3://renders/k");
    let err = e.call(plan("r-both", both)).await.unwrap_err();
    assert!(err.to_string().contains("mutually exclusive"), "{err}");
    assert_eq!(e.work_dirs_left(), 0);
}
