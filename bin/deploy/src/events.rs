//! Waiting on a stack operation while streaming its events: one line per
//! resource status change, a spinner on a terminal, plain lines in CI, and
//! on failure the first resource that failed and why (the root cause, not
//! the cascade of "Resource creation cancelled" that follows it).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Result;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;

use crate::stack::{phase, Phase};
use hyperframes_cli::aws::{poll_interval, Aws};
use hyperframes_cli::bars;
use indicatif::ProgressBar;

/// One stack event, reduced to what is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub epoch_secs: i64,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl Event {
    pub fn line(&self) -> String {
        let t = self.epoch_secs.rem_euclid(86_400);
        let mut s = format!(
            "{:02}:{:02}:{:02}  {:<28} {:<28} {}",
            t / 3600,
            t / 60 % 60,
            t % 60,
            self.status,
            self.logical_id,
            self.resource_type
        );
        if let Some(r) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            s.push_str(&format!("  {r}"));
        }
        s
    }
}

/// The first resource failure in chronological order; stack-level events
/// and cancellations caused by an earlier failure are not root causes.
pub fn first_failure<'a>(events: &'a [Event], stack_name: &str) -> Option<&'a Event> {
    let failed = |e: &&Event| e.status.ends_with("_FAILED");
    let cascade = |e: &&Event| {
        e.reason
            .as_deref()
            .is_some_and(|r| r.to_ascii_lowercase().contains("cancelled"))
    };
    events
        .iter()
        .filter(failed)
        .find(|e| {
            e.logical_id != stack_name
                && e.resource_type != "AWS::CloudFormation::Stack"
                && !cascade(e)
        })
        .or_else(|| events.iter().filter(failed).find(|e| !cascade(e)))
}

/// How a wait ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: String,
    pub reason: Option<String>,
    /// Every event of this operation, oldest first.
    pub events: Vec<Event>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        phase(&self.status) == Phase::Succeeded
    }

    /// The failure report: root cause, then the final status.
    pub fn failure_report(&self, stack_name: &str) -> String {
        let mut s = String::new();
        match first_failure(&self.events, stack_name) {
            Some(e) => s.push_str(&format!(
                "first failure: {} ({}) {}: {}\n",
                e.logical_id,
                e.resource_type,
                e.status,
                e.reason.as_deref().unwrap_or("no reason given")
            )),
            None => s.push_str("no resource reported a failure\n"),
        }
        s.push_str(&format!("final status: {}", self.status));
        if let Some(r) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            s.push_str(&format!(" ({r})"));
        }
        s
    }
}

/// Prints event lines; on a terminal also keeps a spinner under them.
/// `CI` set or output redirected means plain lines only, plus a "still
/// waiting" line now and then so a CI log shows the job is alive.
pub struct Reporter {
    spinner: ProgressBar,
    started: Instant,
    last_heartbeat: Instant,
}

impl Reporter {
    pub fn new() -> Reporter {
        Reporter {
            spinner: bars::spinner(),
            started: Instant::now(),
            last_heartbeat: Instant::now(),
        }
    }

    pub fn line(&mut self, s: &str) {
        bars::println(&self.spinner, s);
    }

    pub fn tick(&mut self, status: &str, done: usize, total: usize) {
        let counts = if total > 0 {
            format!("  {done}/{total} resources")
        } else {
            String::new()
        };
        if !self.spinner.is_hidden() {
            self.spinner.set_message(format!("{status}{counts}"));
        } else if self.last_heartbeat.elapsed() >= Duration::from_secs(30) {
            self.last_heartbeat = Instant::now();
            let secs = self.started.elapsed().as_secs();
            self.line(&format!("  ... still {status} after {secs}s{counts}"));
        }
    }

    pub fn finish(&mut self) {
        self.spinner.finish_and_clear();
    }
}

impl Default for Reporter {
    fn default() -> Self {
        Self::new()
    }
}

/// Follows one stack's event history: remembers what was already seen so
/// each poll prints only new events, without trusting the local clock.
pub struct EventCursor {
    stack_id: String,
    seen: HashSet<String>,
}

impl EventCursor {
    /// Marks every existing event as seen, so the operation about to start
    /// is the only one reported.
    pub async fn start(aws: &Aws, stack_id: &str) -> Result<EventCursor> {
        let mut c = EventCursor {
            stack_id: stack_id.to_string(),
            seen: HashSet::new(),
        };
        let _ = c.poll(aws).await?;
        Ok(c)
    }

    /// A cursor that reports the whole history (used for a new stack).
    pub fn from_beginning(stack_id: &str) -> EventCursor {
        EventCursor {
            stack_id: stack_id.to_string(),
            seen: HashSet::new(),
        }
    }

    /// New events since the last poll, oldest first. A stack that no
    /// longer exists (deleted, addressed by name) has no new events.
    pub async fn poll(&mut self, aws: &Aws) -> Result<Vec<Event>> {
        let mut fresh = Vec::new();
        // Newest first: stop at the first event already shown.
        let mut pages = aws
            .cfn
            .describe_stack_events()
            .stack_name(&self.stack_id)
            .into_paginator()
            .send();
        'pages: while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e) if e.message().is_some_and(|m| m.contains("does not exist")) => break,
                Err(e) => return Err(aws.explain("cloudformation:DescribeStackEvents", &e)),
            };
            for e in page.stack_events() {
                let id = e.event_id().unwrap_or_default().to_string();
                if self.seen.contains(&id) {
                    break 'pages;
                }
                fresh.push(Event {
                    id,
                    epoch_secs: e.timestamp().map(|t| t.secs()).unwrap_or(0),
                    logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: e.resource_type().unwrap_or_default().to_string(),
                    status: e
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: e.resource_status_reason().map(str::to_string),
                });
            }
        }
        fresh.reverse();
        // Same-second events come back in arbitrary order; a stable sort by
        // time keeps CloudFormation's order within a second.
        fresh.sort_by_key(|e| e.epoch_secs);
        for e in &fresh {
            self.seen.insert(e.id.clone());
        }
        Ok(fresh)
    }
}

/// Polls until the stack leaves `*_IN_PROGRESS`, printing events as they
/// arrive. `expected_resources` sizes the progress counter (0 = unknown).
pub async fn wait(
    aws: &Aws,
    cursor: &mut EventCursor,
    stack_name: &str,
    deleting: bool,
    expected_resources: usize,
) -> Result<Outcome> {
    let mut reporter = Reporter::new();
    let mut events = Vec::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut attempt = 0;
    loop {
        for e in cursor.poll(aws).await? {
            reporter.line(&e.line());
            if e.status.ends_with("_COMPLETE") && e.logical_id != stack_name {
                done.insert(e.logical_id.clone());
            }
            events.push(e);
        }
        let (status, reason) = match crate::stack::describe(aws, &cursor.stack_id).await? {
            Some(info) => (info.status, info.reason),
            None if deleting => ("DELETE_COMPLETE".to_string(), None),
            None => (
                "DELETE_COMPLETE".to_string(),
                Some("the stack disappeared while waiting".to_string()),
            ),
        };
        if phase(&status) != Phase::InProgress || (deleting && status == "DELETE_COMPLETE") {
            // Events written between the last poll and the final status.
            for e in cursor.poll(aws).await? {
                reporter.line(&e.line());
                events.push(e);
            }
            reporter.finish();
            return Ok(Outcome {
                status,
                reason,
                events,
            });
        }
        reporter.tick(&status, done.len(), expected_resources);
        tokio::time::sleep(poll_interval(attempt)).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: i64, id: &str, ty: &str, status: &str, reason: Option<&str>) -> Event {
        Event {
            id: i.to_string(),
            epoch_secs: i,
            logical_id: id.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn first_failure_skips_cascades_and_the_stack_itself() {
        let events = vec![
            ev(
                1,
                "s",
                "AWS::CloudFormation::Stack",
                "CREATE_IN_PROGRESS",
                Some("User Initiated"),
            ),
            ev(
                2,
                "RenderFunction",
                "AWS::Lambda::Function",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            ev(
                3,
                "RenderFunctionRole",
                "AWS::IAM::Role",
                "CREATE_FAILED",
                Some("AccessDenied: iam:CreateRole"),
            ),
            ev(
                4,
                "s",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed"),
            ),
            ev(
                5,
                "s",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_COMPLETE",
                None,
            ),
        ];
        let f = first_failure(&events, "s").unwrap();
        assert_eq!(f.logical_id, "RenderFunctionRole");
        let o = Outcome {
            status: "ROLLBACK_COMPLETE".into(),
            reason: None,
            events,
        };
        let report = o.failure_report("s");
        assert!(
            report.contains(
                "first failure: RenderFunctionRole (AWS::IAM::Role) CREATE_FAILED: AccessDenied"
            ),
            "{report}"
        );
        assert!(
            report.ends_with("final status: ROLLBACK_COMPLETE"),
            "{report}"
        );
    }

    #[test]
    fn event_lines_show_utc_time_status_resource_and_reason() {
        let e = ev(
            3_661,
            "RenderBucket",
            "AWS::S3::Bucket",
            "CREATE_COMPLETE",
            None,
        );
        assert!(
            e.line().starts_with("01:01:01  CREATE_COMPLETE"),
            "{}",
            e.line()
        );
        let f = ev(
            0,
            "RenderBucket",
            "AWS::S3::Bucket",
            "CREATE_FAILED",
            Some("name taken"),
        );
        assert!(
            f.line().ends_with("AWS::S3::Bucket  name taken"),
            "{}",
            f.line()
        );
    }
}
