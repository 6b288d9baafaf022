//! `bench plan-reuse --handler`: the same cold and reused plans through
//! the Lambda handler's plan action (the function's code, in process)
//! against moto: the site downloaded and extracted, the template entry
//! read from `sites/<id>/templates/` (or compiled and written there), the
//! plan published as v2 blobs.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use aws_sdk_s3::primitives::ByteStream;
use hyperframes_handler::{Handler, LocalProducer, S3Transport};
use serde_json::{json, Value};

use crate::plan_reuse::{row_values, Timings};

const BUCKET: &str = "renders";
const SITE: &str = "sites/plan-reuse-bench";

/// `runs` plans with the bucket's template entry deleted first, then
/// `runs` with it in place.
pub fn plans(project: &Path, work: &Path, runs: usize) -> Result<Timings> {
    let server = hyperframes_testkit::moto::moto_server();
    if !server.is_file() {
        bail!(
            "--handler needs moto ({} is missing); install the test tools and set HF_TOOLS_DIR",
            server.display()
        );
    }
    let moto = hyperframes_testkit::moto::Moto::start(&work.join("moto"));
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let client = moto.s3_client();
        client.create_bucket().bucket(BUCKET).send().await?;
        let archive = work.join("site.tar.gz");
        hyperframes_handler::archive::create_tar_gz(project, &archive)
            .map_err(|e| anyhow!("{e}"))?;
        client
            .put_object()
            .bucket(BUCKET)
            .key(format!("{SITE}/project.tar.gz"))
            .body(ByteStream::from(std::fs::read(&archive)?))
            .send()
            .await?;
        let tmp = work.join("lambda-tmp");
        std::fs::create_dir_all(&tmp)?;
        let handler = Handler {
            render_bucket: BUCKET.into(),
            work_root: tmp,
            transport: S3Transport::new(client.clone()),
            producer: Arc::new(LocalProducer),
        };
        let mut t = Timings {
            cold: vec![],
            reused: vec![],
            cold_phases: vec![],
            reused_phases: vec![],
            identical: None,
        };
        call(&handler, 0).await?; // warm: ffmpeg's version, the asset map
        for i in 0..runs {
            for key in entries(&client).await? {
                client
                    .delete_object()
                    .bucket(BUCKET)
                    .key(key)
                    .send()
                    .await?;
            }
            let (r, ms) = call(&handler, i).await?;
            if r["Template"]["Compile"] != false {
                bail!("a plan after the entry was deleted reused a template: {r}");
            }
            t.cold.push(ms);
        }
        let mut hashes = Vec::new();
        for i in 1..=runs {
            let (r, ms) = call(&handler, i).await?;
            if r["Template"]["Compile"] != true {
                bail!("plan of row {i} did not reuse the template: {r}");
            }
            t.reused.push(ms);
            hashes.push(r["PlanHash"].clone());
        }
        for key in entries(&client).await? {
            client
                .delete_object()
                .bucket(BUCKET)
                .key(key)
                .send()
                .await?;
        }
        let (fresh, _) = call(&handler, runs).await?;
        t.identical = Some(hashes.last() == Some(&fresh["PlanHash"]));
        Ok(t)
    })
}

async fn entries(client: &aws_sdk_s3::Client) -> Result<Vec<String>> {
    let out = client
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("{SITE}/templates/"))
        .send()
        .await?;
    Ok(out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect())
}

/// One plan invocation of row `i`; its result and wall time (ms).
async fn call(handler: &Handler, i: usize) -> Result<(Value, f64)> {
    let config = json!({"fps": 30, "format": "mp4", "variables": row_values(i)});
    let event = json!({
        "Action": "plan",
        "ProjectS3Uri": format!("s3://{BUCKET}/{SITE}/project.tar.gz"),
        "PlanOutputS3Prefix": format!("s3://{BUCKET}/renders/bench-{i}/"),
        "Config": config,
    });
    let t = Instant::now();
    let result = handler
        .handle(event)
        .await
        .map_err(|e| anyhow!("plan of row {i}: {e}"))?;
    Ok((
        serde_json::to_value(result)?,
        t.elapsed().as_secs_f64() * 1000.0,
    ))
}
