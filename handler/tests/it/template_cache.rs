//! The plan stage plans a template once: the first plan of a site stores
//! the template's entry beside the site (`sites/<id>/templates/<key>.hft`),
//! a later plan of the same site with other variables reads it instead of
//! compiling (the result says so) and publishes the plan a fresh one would;
//! a damaged entry in the bucket is refused, rebuilt and replaced. Against
//! moto, through the real producer.

use serde_json::{json, Value};

use crate::support::*;

/// The tools' offline map serves this URL (the compile inlines it).
const GSAP: &str = "https://cdnjs.cloudflare.com/ajax/libs/gsap/3.12.2/gsap.min.js";

async fn upload_site(e: &Env) -> String {
    let project = e.scratch.join("site");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        format!(
            r#"<!doctype html><html data-composition-variables='[{{"id":"title","type":"string","label":"T","default":"T"}}]'>
<head><script src="{GSAP}"></script></head><body>
<div id="root" data-composition-id="main" data-width="160" data-height="90" data-duration="0.2" data-no-timeline>
<h1 data-var-text="title">x</h1></div></body></html>"#
        ),
    )
    .unwrap();
    let archive = e.scratch.join("site.tar.gz");
    hyperframes_handler::archive::create_tar_gz(&project, &archive).unwrap();
    e.put("sites/tpl/project.tar.gz", std::fs::read(&archive).unwrap())
        .await;
    format!("s3://{BUCKET}/sites/tpl/project.tar.gz")
}

fn plan(project: &str, render: &str, title: &str) -> Value {
    json!({"Action": "plan", "ProjectS3Uri": project,
        "PlanOutputS3Prefix": format!("s3://{BUCKET}/renders/{render}/"),
        "Config": {"fps": 30, "format": "mp4", "variables": {"title": title}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_plan_of_a_site_reuses_its_template_from_the_bucket() {
    let e = env("template-cache").await;
    let project = upload_site(&e).await;

    let first = e.call(plan(&project, "r1", "One")).await.unwrap();
    assert_eq!(first["Template"]["Compile"], false, "{first}");
    let entries = e.keys("sites/tpl/templates/").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].ends_with(".hft"), "{entries:?}");
    let stored = e.get(&format!("s3://{BUCKET}/{}", entries[0])).await;

    // Another instance (a cold one: nothing kept) reads it from the bucket.
    e.forget_templates();
    let second = e.call(plan(&project, "r2", "Two")).await.unwrap();
    assert_eq!(second["Template"]["Compile"], true, "{second}");
    assert_ne!(second["PlanHash"], first["PlanHash"]);
    e.client
        .delete_object()
        .bucket(BUCKET)
        .key(&entries[0])
        .send()
        .await
        .unwrap();
    // The same (warm) instance keeps it: no bucket read is needed.
    let warm = e.call(plan(&project, "r2w", "Two")).await.unwrap();
    assert_eq!(warm["Template"]["Compile"], true, "{warm}");
    assert_eq!(warm["PlanHash"], second["PlanHash"]);
    // What a plan without the entry publishes for the same values.
    e.forget_templates();
    let fresh = e.call(plan(&project, "r3", "Two")).await.unwrap();
    assert_eq!(fresh["Template"]["Compile"], false, "{fresh}");
    assert_eq!(second["PlanHash"], fresh["PlanHash"]);
    assert_eq!(
        e.get(second["PlanV2ManifestS3Uri"].as_str().unwrap()).await,
        e.get(fresh["PlanV2ManifestS3Uri"].as_str().unwrap()).await,
        "the plan manifests differ"
    );

    // A truncated entry is refused, the plan compiles, and the entry is replaced.
    e.put(&entries[0], stored[..stored.len() / 2].to_vec())
        .await;
    e.forget_templates();
    let rebuilt = e.call(plan(&project, "r4", "Two")).await.unwrap();
    assert_eq!(rebuilt["Template"]["Compile"], false, "{rebuilt}");
    assert_eq!(rebuilt["PlanHash"], fresh["PlanHash"]);
    assert_eq!(
        e.get(&format!("s3://{BUCKET}/{}", entries[0])).await,
        stored
    );
    e.forget_templates();
    let after = e.call(plan(&project, "r5", "Three")).await.unwrap();
    assert_eq!(after["Template"]["Compile"], true, "{after}");
    assert_eq!(e.work_dirs_left(), 0);
}
