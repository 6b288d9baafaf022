//! Completion-notification flags shared by `synth` and `deploy`: the
//! common cases of `HyperframesRenderStack::notify_on_completion` without
//! writing an infra crate.

use clap::{Args, ValueEnum};
use hyperframes_infra::hardening::{self, checks, reasons};
use hyperframes_infra::notifications::{
    Destination, ExecutionStatus, Notification, Webhook, WebhookSecret,
};
use hyperframes_infra::resources::sns::{Endpoint, Subscription, Topic};
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_infra::Stack;

/// `arn:<partition>:<service>:<region>:<account>:<name>`, or why not.
fn parse_arn(s: &str, service: &str, what: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == service
        && parts[3..].iter().all(|p| !p.is_empty());
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not an {what} ARN; expected arn:aws:{service}:REGION:ACCOUNT:NAME"
        ))
    }
}

fn parse_topic_arn(s: &str) -> Result<String, String> {
    parse_arn(s, "sns", "SNS topic")
}

fn parse_queue_arn(s: &str) -> Result<String, String> {
    parse_arn(s, "sqs", "SQS queue")
}

/// An execution ending, as the flags spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ending {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl From<Ending> for ExecutionStatus {
    fn from(e: Ending) -> Self {
        match e {
            Ending::Succeeded => ExecutionStatus::Succeeded,
            Ending::Failed => ExecutionStatus::Failed,
            Ending::TimedOut => ExecutionStatus::TimedOut,
            Ending::Aborted => ExecutionStatus::Aborted,
        }
    }
}

/// Where to send a notice when a render ends.
#[derive(Debug, Clone, Default, Args)]
pub struct NotifyArgs {
    /// Email this address when a render ends (adds a topic and an email
    /// subscription; AWS first emails a confirmation link that must be clicked).
    #[arg(long, value_name = "ADDRESS")]
    pub notify_email: Option<String>,
    /// Publish to this existing SNS topic (its access policy must let
    /// events.amazonaws.com call sns:Publish).
    #[arg(long, value_name = "ARN", value_parser = parse_topic_arn)]
    pub notify_topic_arn: Option<String>,
    /// Send to this existing SQS queue (its access policy must let
    /// events.amazonaws.com call sqs:SendMessage; a queue with a customer
    /// KMS key must also let EventBridge use the key).
    #[arg(long, value_name = "ARN", value_parser = parse_queue_arn)]
    pub notify_queue_arn: Option<String>,
    /// POST the completion payload to this https:// URL.
    #[arg(long, value_name = "URL")]
    pub notify_webhook: Option<String>,
    /// Header that carries the webhook's API key.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "X-Api-Key",
        requires = "notify_webhook"
    )]
    pub notify_webhook_header: String,
    /// Secrets Manager secret (name or ARN) holding the API key. Without it
    /// the key is the NoEcho parameter NotifyWebhookApiKey, given at deploy.
    #[arg(long, value_name = "SECRET", requires = "notify_webhook")]
    pub notify_webhook_secret: Option<String>,
    /// Which endings notify (comma-separated; default all).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "ENDING")]
    pub notify_on: Vec<Ending>,
}

impl NotifyArgs {
    fn notification(&self, d: Destination) -> Notification {
        let n = Notification::to(d);
        if self.notify_on.is_empty() {
            n
        } else {
            n.on(self.notify_on.iter().map(|&e| e.into()))
        }
    }

    /// The notification flags given, by name (for a caller that cannot
    /// honour them and must say so rather than drop them).
    pub fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.notify_email.is_some() {
            v.push("--notify-email");
        }
        if self.notify_topic_arn.is_some() {
            v.push("--notify-topic-arn");
        }
        if self.notify_queue_arn.is_some() {
            v.push("--notify-queue-arn");
        }
        if self.notify_webhook.is_some() {
            v.push("--notify-webhook");
        }
        if self.notify_webhook_secret.is_some() {
            v.push("--notify-webhook-secret");
        }
        if !self.notify_on.is_empty() {
            v.push("--notify-on");
        }
        v
    }

    /// Adds the requested notifications to the stack.
    pub fn apply(&self, stack: &mut HyperframesRenderStack) {
        if let Some(address) = &self.notify_email {
            let topic = stack.add("NotifyEmailTopic", Topic::default());
            stack.get_mut(&topic).display_name = Some("HyperFrames renders".into());
            hardening::suppress(
                stack.resource_mut(&topic),
                checks::TOPIC_KMS,
                reasons::TOPIC_KMS,
            );
            stack.add(
                "NotifyEmailSubscription",
                Subscription::new(&topic, Endpoint::Email(address.clone())),
            );
            stack.notify_on_completion("NotifyEmail", self.notification(Destination::Topic(topic)));
        }
        if let Some(arn) = &self.notify_topic_arn {
            stack.notify_on_completion(
                "NotifyTopic",
                self.notification(Destination::ExistingTopic(arn.clone())),
            );
        }
        if let Some(arn) = &self.notify_queue_arn {
            stack.notify_on_completion(
                "NotifyQueue",
                self.notification(Destination::ExistingQueue(arn.clone())),
            );
        }
        if let Some(url) = &self.notify_webhook {
            let secret = match &self.notify_webhook_secret {
                Some(id) => WebhookSecret::SecretsManager {
                    secret_id: id.clone(),
                    json_key: None,
                },
                None => WebhookSecret::Parameter,
            };
            stack.notify_on_completion(
                "NotifyWebhook",
                self.notification(Destination::Webhook(
                    Webhook::new(url.clone(), self.notify_webhook_header.clone()).secret(secret),
                )),
            );
        }
    }
}
