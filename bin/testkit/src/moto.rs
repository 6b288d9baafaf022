//! A moto server for tests that need the AWS API: started on a free port on
//! 127.0.0.1, one per `Moto` value, killed when the value is dropped.
//!
//! moto comes from `scripts/test.sh` (`.tools/venv`, or `$HF_TOOLS_DIR/venv`);
//! when it is missing the test fails and says how to install it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub port: u16,
    pub endpoint: String,
    pub log: PathBuf,
}

/// The moto_server executable, or a failure that says how to get it.
pub fn moto_server() -> PathBuf {
    let tools = crate::tools_dir();
    let exe = tools.join("venv").join("bin").join("moto_server");
    if !exe.is_file() {
        panic!(
            "moto_server not found at {}.\nInstall it with `scripts/test.sh --install-only` \
             (creates .tools/venv with moto[server]), or: python3 -m venv .tools/venv && \
             .tools/venv/bin/pip install 'moto[server]==5.2.5'",
            exe.display()
        );
    }
    exe
}

impl Moto {
    /// Starts a fresh server and waits until it answers HTTP.
    pub fn start(log_dir: &Path) -> Moto {
        let exe = moto_server();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            l.local_addr().unwrap().port()
        };
        std::fs::create_dir_all(log_dir).unwrap();
        let log = log_dir.join(format!("moto-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let mut moto = Moto {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&mut self) {
        // A generous bound for a cold Python import on a loaded 2-core
        // machine; it only matters when the server cannot start at all.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "moto_server exited ({status}) before answering; log:\n{}",
                    self.log_text()
                );
            }
            if self.get("/moto-api/").is_some() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "moto_server on port {} did not answer in 90 s; log:\n{}",
                    self.port,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A plain HTTP GET; `None` while the server is not listening yet.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        Some(body)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Environment for a program that talks to this server with the AWS
    /// SDK's standard chain: fixed credentials, one region, no profile
    /// files and no instance metadata, so nothing reaches real AWS.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials".into(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Applies [`Moto::aws_env`] to a command and removes variables that
    /// would redirect it (a developer's own profile or session token).
    pub fn configure(&self, cmd: &mut Command) {
        for k in [
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in self.aws_env() {
            cmd.env(k, v);
        }
    }
}

impl Moto {
    /// An S3 client for this server: fixed test credentials, path-style
    /// addressing (one host serves every bucket).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .endpoint_url(&self.endpoint)
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
                .force_path_style(true)
                .build(),
        )
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
