//! The one way the handler ZIP is built, shared by `package` and `deploy`:
//! `bootstrap` plus either the pinned payload (the default) or a
//! user-assembled runtime directory.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use crate::package::{self, human_bytes, Bootstrap, Package};
use crate::payload::{self, Source, Staged};

/// Where the pinned Chromium and ffmpeg archives come from.
#[derive(Debug, Clone, Default, Args)]
pub struct PayloadArgs {
    /// Read sparticuz-chromium-153.0.0.tgz and the imageio-ffmpeg 0.8.1 wheel from DIR
    /// instead of fetching them with npm/pip (offline builds; still verified by SHA-256).
    #[arg(long, value_name = "DIR")]
    pub payload_dir: Option<PathBuf>,
    /// Cache for fetched archives and the staged payload
    /// [default: $XDG_CACHE_HOME/hyperframes/payloads or ~/.cache/hyperframes/payloads].
    #[arg(long, value_name = "DIR")]
    pub payload_cache: Option<PathBuf>,
}

impl PayloadArgs {
    pub fn source(&self) -> Source {
        match &self.payload_dir {
            Some(d) => Source::Dir(d.clone()),
            None => Source::Fetch,
        }
    }

    pub fn cache(&self) -> PathBuf {
        self.payload_cache
            .clone()
            .unwrap_or_else(payload::default_cache_dir)
    }
}

/// What went into the ZIP.
#[derive(Debug, Clone)]
pub struct Built {
    pub package: Package,
    /// `None` when a runtime directory was zipped instead.
    pub payload: Option<Staged>,
}

/// Builds the ZIP: with `runtime_dir` its contents go beside `bootstrap`
/// as they are; otherwise the pinned payload does.
pub fn build(
    bootstrap: &Bootstrap,
    runtime_dir: Option<&Path>,
    payload_args: &PayloadArgs,
    out: &Path,
) -> Result<Built> {
    let staged = match runtime_dir {
        Some(_) => None,
        None => Some(payload::stage(
            &payload_args.source(),
            &payload_args.cache(),
        )?),
    };
    let dir = runtime_dir.or(staged.as_ref().map(|s| s.dir.as_path()));
    let package = package::package(bootstrap, dir, out)?;
    Ok(Built {
        package,
        payload: staged,
    })
}

/// The lines `package` and `deploy` print about a built ZIP.
pub fn describe(b: &Built) -> Vec<String> {
    let p = &b.package;
    let mut lines = vec![
        format!("zip       {}", p.zip_path.display()),
        format!("sha256    {}", p.sha256),
        format!(
            "size      {} ({} bytes)",
            human_bytes(p.zipped_bytes),
            p.zipped_bytes
        ),
        format!(
            "unpacked  {} ({} bytes; Lambda's limit is {})",
            human_bytes(p.unzipped_bytes),
            p.unzipped_bytes,
            human_bytes(package::LAMBDA_UNZIPPED_LIMIT)
        ),
        format!("files     {}", p.files),
    ];
    if let Some(s) = &b.payload {
        lines.push(format!(
            "/tmp      {} once the payload is unpacked on cold start ({})",
            human_bytes(s.unpacked_bytes()),
            s.manifest
                .components
                .iter()
                .map(|c| c.origin.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    lines
}
