//! A small local event bus: the Step Functions service sends it each
//! execution's status-change events (the EventBridge shape, `source:
//! aws.states`), it matches them against the template's rules
//! ([`rules`], [`pattern`]) and delivers each match to the rule's targets
//! with the target's input ([`transform`]): SQS queues and SNS topics in
//! moto, webhooks on loopback ([`deliver`]).
//!
//! A failed delivery is retried a few times ([`rules::LOCAL_RETRIES`]),
//! then goes to the target's dead-letter queue like EventBridge's; nothing
//! a target does can stop the bus or the services. Every event and every
//! delivery outcome is a JSON line in the log (`logs/events.log`).

pub mod deliver;
pub mod pattern;
pub mod rules;
pub mod transform;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use deliver::Moto;
use rules::{Delivery, Rule, Target};

/// Where the Step Functions service puts its status-change events.
pub type EventSender = UnboundedSender<Value>;

pub struct EventBus {
    shared: Arc<Shared>,
    sender: EventSender,
    task: JoinHandle<()>,
}

struct Shared {
    rules: Vec<Rule>,
    moto: Moto,
    log: Mutex<std::fs::File>,
    log_path: PathBuf,
    echo: bool,
}

impl EventBus {
    /// Creates the targets' queues and topics in moto (a queue or topic
    /// outside the template gets a stand-in of the same name) and starts
    /// matching.
    pub async fn start(
        rules: Vec<Rule>,
        moto: Moto,
        log_path: &Path,
        echo: bool,
    ) -> Result<EventBus> {
        for t in rules.iter().flat_map(|r| &r.targets) {
            match &t.delivery {
                Delivery::Queue { name, .. } => moto.create_queue(name).await?,
                Delivery::Topic { name, .. } => moto.create_topic(name).await?,
                Delivery::Webhook { .. } => {}
            }
            if let Some(q) = &t.dead_letter {
                moto.create_queue(q).await?;
            }
        }
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let shared = Arc::new(Shared {
            rules,
            moto,
            log: Mutex::new(log),
            log_path: log_path.to_path_buf(),
            echo,
        });
        let (sender, receiver) = unbounded_channel();
        let task = tokio::spawn(route(shared.clone(), receiver));
        Ok(EventBus {
            shared,
            sender,
            task,
        })
    }

    pub fn sender(&self) -> EventSender {
        self.sender.clone()
    }

    pub fn log_path(&self) -> &Path {
        &self.shared.log_path
    }

    /// One line per rule target, for `up`'s summary: where its events go
    /// and where to watch them.
    pub fn summary(&self) -> Vec<String> {
        let moto = &self.shared.moto;
        let mut lines = Vec::new();
        for r in &self.shared.rules {
            for t in &r.targets {
                let at = match &t.delivery {
                    Delivery::Queue { name, .. } => format!(", {}", moto.queue_url(name)),
                    Delivery::Topic { name, .. } => format!(", {}", moto.topic_arn(name)),
                    Delivery::Webhook { .. } => String::new(),
                };
                lines.push(format!("{} -> {}{at}", r.logical_id, t.delivery.describe()));
            }
        }
        lines
    }

    /// Stops matching; deliveries under way finish or die with the runtime.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

impl Drop for EventBus {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn route(shared: Arc<Shared>, mut events: UnboundedReceiver<Value>) {
    while let Some(event) = events.recv().await {
        let matched: Vec<&Rule> = shared
            .rules
            .iter()
            .filter(|r| r.pattern.matches(&event))
            .collect();
        shared.record(json!({
            "event": event["detail-type"],
            "execution": event["detail"]["name"],
            "status": event["detail"]["status"],
            "matched": matched.iter().map(|r| r.logical_id.as_str()).collect::<Vec<_>>(),
        }));
        for rule in matched {
            for target in &rule.targets {
                tokio::spawn(deliver(
                    shared.clone(),
                    rule.clone(),
                    target.clone(),
                    event.clone(),
                ));
            }
        }
    }
}

/// One target's delivery: the first attempt, the retries, then the
/// dead-letter queue (the event itself, with why, as EventBridge sends it).
async fn deliver(shared: Arc<Shared>, rule: Rule, target: Target, event: Value) {
    let input = target.input.render(&event, &rule.facts);
    let mut error = String::new();
    for attempt in 1..=target.retries + 1 {
        if attempt > 1 {
            tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
        }
        let outcome = send(&shared.moto, &target.delivery, &input).await;
        let last = attempt == target.retries + 1;
        let (result, e) = match outcome {
            Ok(()) => ("delivered", None),
            Err(e) if last => ("failed", Some(format!("{e:#}"))),
            Err(e) => ("retrying", Some(format!("{e:#}"))),
        };
        shared.outcome(&rule, &target, &event, result, attempt, e.as_deref());
        match e {
            None => return,
            Some(e) => error = e,
        }
    }
    let Some(dlq) = &target.dead_letter else {
        return;
    };
    let attributes = [
        ("RULE_ARN", rule.facts.arn.clone()),
        ("ERROR_MESSAGE", error),
    ];
    let result = match shared
        .moto
        .send_message(dlq, &event.to_string(), &attributes)
        .await
    {
        Ok(()) => ("dead-lettered", None),
        Err(e) => ("lost", Some(format!("{e:#}"))),
    };
    shared.outcome(
        &rule,
        &target,
        &event,
        result.0,
        target.retries + 1,
        result.1.as_deref(),
    );
}

async fn send(moto: &Moto, to: &Delivery, input: &str) -> Result<()> {
    match to {
        Delivery::Queue { name, .. } => moto.send_message(name, input, &[]).await,
        Delivery::Topic { name, .. } => moto.publish(name, input).await,
        Delivery::Webhook {
            url,
            method,
            headers,
        } => deliver::call_webhook(url, method, headers, input.to_string()).await,
    }
}

impl Shared {
    fn record(&self, mut line: Value) {
        line["time"] = json!(crate::sfn::iso_time(crate::sfn::now_ms()));
        let mut f = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(f, "{line}");
    }

    fn outcome(
        &self,
        rule: &Rule,
        target: &Target,
        event: &Value,
        result: &str,
        attempt: u32,
        error: Option<&str>,
    ) {
        let (execution, status) = (&event["detail"]["name"], &event["detail"]["status"]);
        self.record(json!({
            "rule": rule.logical_id, "target": target.id, "to": target.delivery.describe(),
            "execution": execution, "status": status, "result": result, "attempt": attempt, "error": error,
        }));
        if self.echo {
            let why = error.map(|e| format!(": {e}")).unwrap_or_default();
            eprintln!(
                "[events] {} {} -> {}: {result} (attempt {attempt}){why}",
                status.as_str().unwrap_or("?"),
                execution.as_str().unwrap_or("?"),
                target.delivery.describe()
            );
        }
    }
}
