//! One progress display for the whole batch: rows done, running, failed;
//! frames; the accrued cost against the estimate. A bar on a terminal, a
//! line per change otherwise; with `--json`, a JSON line per row change on
//! standard output instead, and the summary at the end.

use indicatif::ProgressBar;
use serde::Serialize;

use super::manifest::{Entry, Status};
use hyperframes_cli::bars;

/// The batch as it stands.
pub struct Board {
    pub entries: Vec<Entry>,
    /// Frames done and total, per row.
    frames: Vec<(u64, u64)>,
    /// Rows found done by an earlier run.
    pub skipped: usize,
    /// The whole batch's expected cost, when estimated.
    pub estimate_usd: Option<f64>,
    json: bool,
    last: String,
    bar: ProgressBar,
}

impl Board {
    pub fn new(
        entries: Vec<Entry>,
        skipped: usize,
        estimate_usd: Option<f64>,
        json: bool,
    ) -> Board {
        let n = entries.len();
        Board {
            entries,
            frames: vec![(0, 0); n],
            skipped,
            estimate_usd,
            json,
            last: String::new(),
            bar: if json {
                ProgressBar::hidden()
            } else {
                bars::fraction()
            },
        }
    }

    /// A row's new state; true when it changed (the manifest is rewritten then).
    pub fn set(&mut self, i: usize, e: Entry) -> bool {
        if self.entries[i] == e {
            return false;
        }
        let status_changed = self.entries[i].status != e.status;
        if e.status == Status::Succeeded && self.frames[i].1 > 0 {
            self.frames[i].0 = self.frames[i].1;
        }
        self.entries[i] = e;
        if self.json && status_changed {
            let mut v = serde_json::to_value(&self.entries[i]).expect("an entry serializes");
            v["event"] = "row".into();
            println!("{v}");
        }
        true
    }

    /// A running row's frames.
    pub fn frames(&mut self, i: usize, done: u64, total: u64) {
        self.frames[i] = (done, total);
    }

    fn count(&self, s: Status) -> usize {
        self.entries.iter().filter(|e| e.status == s).count()
    }

    pub fn cost_usd(&self) -> f64 {
        // `+ 0.0`: an empty sum is -0.0, printed as "$-0.0000".
        self.entries.iter().filter_map(|e| e.cost_usd).sum::<f64>() + 0.0
    }

    /// `rows 3/6 done (1 from an earlier run), 2 running, 1 failed, 0 waiting; frames 90/180; $0.0123 of ~$0.0500 estimated`
    pub fn line(&self) -> String {
        let (done, total): (u64, u64) = self
            .frames
            .iter()
            .fold((0, 0), |(d, t), (a, b)| (d + a, t + b));
        let estimate = match self.estimate_usd {
            Some(e) => format!(" of ~${e:.4} estimated"),
            None => String::new(),
        };
        let earlier = match self.skipped {
            0 => String::new(),
            n => format!(" ({n} from an earlier run)"),
        };
        format!(
            "rows {}/{} done{earlier}, {} running, {} failed, {} waiting; frames {done}/{total}; ${:.4}{estimate}",
            self.count(Status::Succeeded),
            self.entries.len(),
            self.count(Status::Running),
            self.count(Status::Failed),
            self.count(Status::Pending),
            self.cost_usd(),
        )
    }

    /// Redraws: the bar's message on a terminal, else a line when it changed.
    pub fn draw(&mut self) {
        if self.json {
            return;
        }
        let line = self.line();
        let ended = self.count(Status::Succeeded) + self.count(Status::Failed);
        self.bar
            .set_position((ended * 1000 / self.entries.len().max(1)) as u64);
        self.bar.set_message(line.clone());
        if self.bar.is_hidden() && line != self.last {
            eprintln!("{line}");
        }
        self.last = line;
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// The end of the batch, as printed, posted and returned.
    pub fn summary(&self, wall_ms: u64, manifest: String, manifest_uri: Option<String>) -> Summary {
        Summary {
            version: "1",
            kind: "batch",
            rows: self.entries.len(),
            succeeded: self.count(Status::Succeeded),
            failed: self.count(Status::Failed),
            skipped: self.skipped,
            wall_ms,
            cost_usd: (self.cost_usd() * 1e6).round() / 1e6,
            estimate_usd: self.estimate_usd,
            manifest,
            manifest_s3_uri: manifest_uri,
            failures: self
                .entries
                .iter()
                .filter(|e| e.status != Status::Succeeded)
                .map(|e| Failure {
                    line: e.line,
                    output_key: e.output_key.clone(),
                    render_id: e.render_id.clone(),
                    error: e.error.clone(),
                    cause: e.cause.clone(),
                })
                .collect(),
        }
    }
}

/// The batch's ending: `--json`'s last line and the batch notification's body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub version: &'static str,
    pub kind: &'static str,
    pub rows: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Of the succeeded rows, those an earlier run had finished.
    pub skipped: usize,
    pub wall_ms: u64,
    /// Accrued by this batch's renders (rows from an earlier run included).
    pub cost_usd: f64,
    pub estimate_usd: Option<f64>,
    pub manifest: String,
    pub manifest_s3_uri: Option<String>,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub line: usize,
    pub output_key: String,
    pub render_id: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Summary {
    pub fn text(&self) -> String {
        let mut s = format!(
            "batch: {} of {} rows succeeded ({} from an earlier run), {} failed; {:.1} s; ${:.4}{}\n  manifest {}{}\n",
            self.succeeded,
            self.rows,
            self.skipped,
            self.failed,
            self.wall_ms as f64 / 1000.0,
            self.cost_usd,
            self.estimate_usd
                .map_or(String::new(), |e| format!(" (estimate ${e:.4})")),
            self.manifest,
            self.manifest_s3_uri
                .as_ref()
                .map_or(String::new(), |u| format!(" and {u}")),
        );
        for f in &self.failures {
            s.push_str(&format!(
                "  line {} ({}) failed: {}: {}\n",
                f.line,
                f.output_key,
                f.error.as_deref().unwrap_or("UNKNOWN"),
                f.cause.as_deref().unwrap_or("")
            ));
        }
        s
    }
}
