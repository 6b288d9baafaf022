//! The service's logs: per function, what CloudWatch Logs would hold (the
//! function's own lines, START/END/REPORT), and `invocations.jsonl`, one
//! JSON record per invocation, which tests and the bench read.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use super::FunctionSpec;

/// One invocation, as its REPORT line describes it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub request_id: String,
    pub function: String,
    /// The event's `Action` (plan, renderChunk, assemble), when it has one.
    pub action: Option<String>,
    /// The event itself (what Lambda's log does not show; the tests and
    /// the bench tell renders apart by it).
    pub event: serde_json::Value,
    /// The log stream of the instance that ran it.
    pub instance: String,
    /// Wall-clock start (when an instance got the event), ms since the epoch.
    pub started_ms: u128,
    /// Init of a cold instance (`None` when it was warm).
    #[serde(with = "millis_opt")]
    pub init: Option<Duration>,
    #[serde(with = "millis")]
    pub duration: Duration,
    pub billed_ms: u64,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u64,
    /// Whether a cgroup enforced Memory Size; when not, Max Memory Used is
    /// the processes' resident memory and REPORT says `unenforced`.
    pub memory_enforced: bool,
    /// Wall-clock end, ms since the epoch.
    pub ended_ms: u128,
    /// `ok`, `error` or `timeout`.
    pub outcome: &'static str,
    pub error_type: Option<String>,
    /// Changed by a test-only fault.
    pub injected: bool,
    #[serde(skip)]
    pub max_memory_mb: u64,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1e5).round() / 100.0)
    }
}

mod millis_opt {
    pub fn serialize<S: serde::Serializer>(
        d: &Option<std::time::Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::millis::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

impl Record {
    pub fn new(request_id: &str, spec: &FunctionSpec, event: serde_json::Value) -> Record {
        Record {
            request_id: request_id.to_string(),
            function: spec.name.clone(),
            action: event["Action"].as_str().map(str::to_string),
            event,
            instance: String::new(),
            started_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
            init: None,
            duration: Duration::ZERO,
            billed_ms: 0,
            memory_size_mb: spec.memory_mb,
            max_memory_used_mb: 0,
            memory_enforced: true,
            ended_ms: 0,
            outcome: "ok",
            error_type: None,
            injected: false,
            max_memory_mb: 0,
        }
    }

    /// The event reached an instance: the invocation's duration starts.
    pub fn delivered(&mut self) {
        self.started_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
    }

    fn bill(&mut self) {
        // Lambda bills per started millisecond, init included for
        // OS-only runtimes.
        let total = self.duration + self.init.unwrap_or_default();
        self.billed_ms = (total.as_secs_f64() * 1000.0).ceil() as u64;
        self.max_memory_used_mb = self.max_memory_mb;
        self.ended_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
    }

    pub fn finish_ok(&mut self) {
        self.outcome = "ok";
        self.bill();
    }

    pub fn finish_error(&mut self, error_type: &str) {
        self.outcome = "error";
        self.error_type = Some(error_type.to_string());
        self.bill();
    }

    pub fn finish_timeout(&mut self) {
        self.outcome = "timeout";
        self.error_type = Some("Sandbox.Timedout".into());
        self.bill();
    }

    /// Lambda's REPORT line.
    pub fn report_line(&self) -> String {
        let mut s = format!(
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.request_id,
            self.duration.as_secs_f64() * 1000.0,
            self.billed_ms,
            self.memory_size_mb,
            self.max_memory_used_mb
        );
        if !self.memory_enforced {
            s.push_str(" (unenforced: rss)");
        }
        if let Some(i) = self.init {
            s.push_str(&format!(
                "\tInit Duration: {:.2} ms",
                i.as_secs_f64() * 1000.0
            ));
        }
        if self.outcome == "timeout" {
            s.push_str("\tStatus: timeout");
        }
        s
    }
}

pub struct Log {
    dir: PathBuf,
    echo: bool,
    files: Mutex<Vec<(String, File)>>,
    jsonl: Mutex<File>,
    records: Mutex<Vec<Record>>,
}

impl Log {
    pub fn open(dir: &Path, echo: bool) -> Result<Log> {
        let path = dir.join("invocations.jsonl");
        let jsonl =
            File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Log {
            dir: dir.to_path_buf(),
            echo,
            files: Mutex::new(Vec::new()),
            jsonl: Mutex::new(jsonl),
            records: Mutex::new(Vec::new()),
        })
    }

    /// The function's log file (`<log dir>/<function>.log`).
    pub fn function_log(&self, function: &str) -> PathBuf {
        self.dir.join(format!("{function}.log"))
    }

    pub fn function_line(&self, function: &str, line: &str) {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if !files.iter().any(|(f, _)| f == function) {
            match File::create(self.function_log(function)) {
                Ok(file) => files.push((function.to_string(), file)),
                Err(_) => return,
            }
        }
        if let Some((_, file)) = files.iter_mut().find(|(f, _)| f == function) {
            let _ = writeln!(file, "{line}");
        }
    }

    fn service_line(&self, function: &str, line: &str) {
        self.function_line(function, line);
        if self.echo {
            eprintln!("{function}: {line}");
        }
    }

    pub fn start(&self, function: &str, rec: &Record) {
        self.service_line(
            function,
            &format!("START RequestId: {} Version: $LATEST", rec.request_id),
        );
    }

    pub fn report(&self, function: &str, rec: &Record) {
        self.service_line(function, &format!("END RequestId: {}", rec.request_id));
        self.service_line(function, &rec.report_line());
        if let Ok(text) = serde_json::to_string(rec) {
            let mut f = self.jsonl.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(f, "{text}");
        }
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(rec.clone());
    }

    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
