//! Shared setup for the handler's S3 tests: a moto server with the render
//! bucket, a handler pointed at it, and fixture projects uploaded as
//! archives.

#![allow(dead_code)]

pub use hyperframes_testkit::moto;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use hyperframes_handler::archive::create_tar_gz;
use hyperframes_handler::{Handler, LocalProducer, S3Transport};
use serde_json::Value;

pub const BUCKET: &str = "renders";

pub struct Env {
    pub moto: moto::Moto,
    pub client: Client,
    pub handler: Handler,
    pub work_root: PathBuf,
    pub scratch: PathBuf,
}

pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../producer/tests/fixtures")
        .join(name)
}

/// A moto server with the render bucket and a handler pointed at it.
pub async fn env(name: &str) -> Env {
    // The producer's settings from this run's environment, as a program's
    // edge installs them (the library reads no variable itself).
    hyperframes_testkit::install_producer_settings();
    let scratch = scratch(name);
    let moto = moto::Moto::start(&scratch.join("moto"));
    let client = moto.s3_client();
    client.create_bucket().bucket(BUCKET).send().await.unwrap();
    let work_root = scratch.join("tmp");
    std::fs::create_dir_all(&work_root).unwrap();
    let handler = Handler {
        render_bucket: BUCKET.into(),
        work_root: work_root.clone(),
        transport: S3Transport::new(client.clone()),
        producer: Arc::new(LocalProducer),
    };
    Env {
        moto,
        client,
        handler,
        work_root,
        scratch,
    }
}

impl Env {
    /// Uploads a fixture as a project archive; returns its URI.
    pub async fn upload_project(&self, fixture_name: &str) -> String {
        let project = self.scratch.join(format!("project-{fixture_name}"));
        std::fs::create_dir_all(&project).unwrap();
        std::fs::copy(
            fixture(fixture_name).join("compiled.html"),
            project.join("index.html"),
        )
        .unwrap();
        let archive = self.scratch.join(format!("{fixture_name}.tar.gz"));
        create_tar_gz(&project, &archive).unwrap();
        let key = format!("sites/{fixture_name}/project.tar.gz");
        self.put(&key, std::fs::read(&archive).unwrap()).await;
        format!("s3://{BUCKET}/{key}")
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
    }

    pub async fn get(&self, uri: &str) -> Vec<u8> {
        let key = uri.strip_prefix(&format!("s3://{BUCKET}/")).unwrap();
        let o = self
            .client
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        o.body.collect().await.unwrap().into_bytes().to_vec()
    }

    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        keys.sort();
        keys
    }

    /// Drops the templates this instance kept, as a new (cold) instance
    /// would start without them.
    pub fn forget_templates(&self) {
        let _ =
            std::fs::remove_dir_all(self.work_root.join(hyperframes_handler::TEMPLATE_CACHE_DIR));
    }

    /// The invocations' work directories left behind (the instance's
    /// template cache is kept on purpose).
    pub fn work_dirs_left(&self) -> usize {
        std::fs::read_dir(&self.work_root)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name() != hyperframes_handler::TEMPLATE_CACHE_DIR)
            .count()
    }

    /// When the object at `key` was last written.
    pub async fn written(&self, key: &str) -> Option<aws_sdk_s3::primitives::DateTime> {
        let head = self
            .client
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await;
        head.unwrap().last_modified().copied()
    }

    /// A handler on the same bucket as a new instance would start: its own
    /// `/tmp` (no kept templates) and a transport that has confirmed nothing.
    pub fn cold_handler(&self, name: &str) -> Handler {
        let work_root = self.scratch.join(format!("tmp-{name}"));
        std::fs::create_dir_all(&work_root).unwrap();
        Handler {
            render_bucket: BUCKET.into(),
            work_root,
            transport: S3Transport::new(self.client.clone()),
            producer: Arc::new(LocalProducer),
        }
    }

    /// One invocation; the result as the function's JSON.
    pub async fn call(&self, event: Value) -> Result<Value, hyperframes_handler::HandlerError> {
        let result = self.handler.handle(event).await?;
        Ok(serde_json::to_value(result).expect("stage results serialize"))
    }
}
