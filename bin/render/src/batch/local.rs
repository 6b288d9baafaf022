//! A batch on this machine: the rows rendered by the local pipeline into
//! `--out-dir`, one at a time (or `--max-concurrent` at once), with the
//! same manifest and the same resume rule as on a stack: a row whose file
//! is still there with the size and SHA-256 the manifest recorded is done.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::Mutex;
use std::time::Instant;

use hyperframes_producer::runner::{self, Progress, ProgressSink, RunOptions};
use hyperframes_producer::AssetMap;

use super::manifest::{self, Entry, Status};
use super::rows::BatchRow;
use super::stack::Update;

/// Where the rows go and how they are rendered.
pub struct Local<'a> {
    pub project: &'a Path,
    pub out_dir: &'a Path,
    /// `--asset-map`, loaded per render (the runner discovers one without it).
    pub asset_map: Option<&'a Path>,
    /// Chunk workers per render (0: one per core).
    pub workers: usize,
}

/// Whether an earlier run's entry still describes the file on disk.
pub fn done_before(out_dir: &Path, row: &BatchRow, prev: Option<&Entry>) -> Option<Entry> {
    let p = prev.filter(|p| p.status == Status::Succeeded && p.row_hash == row.hash)?;
    let (bytes, sha) = manifest::file_digest(&out_dir.join(&row.output_key)).ok()?;
    (Some(bytes) == p.output_bytes && Some(&sha) == p.output_sha256.as_ref()).then(|| Entry {
        line: row.line,
        ..p.clone()
    })
}

/// Renders `todo` (indices into `rows`) on `slots` threads, sending each
/// row's news on `tx`; returns when all have ended.
pub fn render_all(
    l: &Local,
    rows: &[BatchRow],
    entries: &[Entry],
    todo: Vec<usize>,
    slots: usize,
    tx: Sender<Update>,
) {
    let queue = Mutex::new(VecDeque::from(todo));
    std::thread::scope(|s| {
        for _ in 0..slots.max(1) {
            let tx = tx.clone();
            let queue = &queue;
            s.spawn(move || loop {
                let Some(i) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else {
                    return;
                };
                let e = render_row(l, &rows[i], entries[i].clone(), i, &tx);
                let _ = tx.send(Update::Row(i, Box::new(e)));
            });
        }
    });
}

/// One row: its file written through the local pipeline, or its failure.
fn render_row(l: &Local, row: &BatchRow, mut e: Entry, i: usize, tx: &Sender<Update>) -> Entry {
    e.status = Status::Running;
    (e.error, e.cause, e.output_bytes, e.output_sha256) = (None, None, None, None);
    let _ = tx.send(Update::Row(i, Box::new(e.clone())));
    let out: PathBuf = l.out_dir.join(&row.output_key);
    if let Some(dir) = out.parent() {
        if let Err(err) = std::fs::create_dir_all(dir) {
            e.fail(
                "IO_ERROR",
                format!("cannot create {}: {err}", dir.display()),
            );
            return e;
        }
    }
    let asset_map = match l.asset_map.map(AssetMap::load).transpose() {
        Ok(m) => m,
        Err(err) => {
            e.fail(err.name(), err.to_string());
            return e;
        }
    };
    let sink_tx = Mutex::new(tx.clone());
    let sink = ProgressSink::new(move |p| {
        if let Progress::Frames { done, total } = p {
            let _ = sink_tx
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send(Update::Frames(i, done, total));
        }
    });
    let t = Instant::now();
    let result = runner::run(&RunOptions {
        project_dir: l.project.to_path_buf(),
        out: out.clone(),
        config: row.config.clone(),
        workers: l.workers,
        single_pass: false,
        on_progress: Some(sink),
        asset_map,
        keep_work: None,
        // The rows share the template: planned once, reused by the rest.
        template_cache: crate::commands::render::template_cache(),
    });
    e.duration_ms = Some(t.elapsed().as_millis() as u64);
    match result
        .map_err(|err| (err.name().to_string(), err.to_string()))
        .and_then(|_| {
            manifest::file_digest(&out).map_err(|err| ("IO_ERROR".to_string(), format!("{err:#}")))
        }) {
        Ok((bytes, sha)) => {
            e.status = Status::Succeeded;
            e.output_bytes = Some(bytes);
            e.output_sha256 = Some(sha);
        }
        Err((name, cause)) => e.fail(&name, cause),
    }
    e
}
