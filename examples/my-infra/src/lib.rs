//! A user's own infra crate: the HyperFrames render stack, extended the way
//! a platform team would (alerting, a customer KMS key, a latency alarm,
//! a CI role that may start renders and read their results, and
//! completion notifications: a webhook for the product's backend and
//! failures to on-call).

use hyperframes_infra::hardening::{self, checks};
use hyperframes_infra::notifications::{Destination, ExecutionStatus, Notification};
use hyperframes_infra::resources::cloudwatch::ComparisonOperator;
use hyperframes_infra::resources::iam::{Principal, Role};
use hyperframes_infra::resources::kms::{Alias, Key};
use hyperframes_infra::resources::sns::{Endpoint, Subscription, Topic};
use hyperframes_infra::{Handle, HyperframesRenderStack, Pseudo, RenderStackProps, Stack};

/// Who gets paged.
pub const ONCALL_EMAIL: &str = "oncall@example.com";

/// Where the product's backend hears about finished renders.
pub const WEBHOOK_URL: &str = "https://api.acme.example/hooks/renders";

/// p95 render-function duration (ms) above which renders count as slow:
/// two thirds of the 900 s timeout.
pub const SLOW_P95_MS: f64 = 600_000.0;

/// Builds the extended stack.
pub fn build() -> HyperframesRenderStack {
    let mut stack =
        HyperframesRenderStack::new(RenderStackProps::default().project_name("acme-video"));
    let alerts = add_alerting(&mut stack);
    add_notifications(&mut stack, &alerts);
    add_slow_render_alarm(&mut stack, &alerts);
    encrypt_bucket(&mut stack);
    add_ci_role(&mut stack);
    stack
}

/// One topic with an email subscription; every alarm will notify it.
fn add_alerting(stack: &mut HyperframesRenderStack) -> Handle<Topic> {
    let alerts = stack.add("RenderAlerts", Topic::default());
    stack.get_mut(&alerts).display_name = Some("HyperFrames render alerts".into());
    hardening::suppress(
        stack.resource_mut(&alerts),
        checks::TOPIC_KMS,
        "Alarm and failure notices only (names, statuses, error messages; no render content). CloudWatch alarms and EventBridge cannot publish to a topic under the AWS managed SNS key.",
    );
    stack.add(
        "RenderAlertsOnCall",
        Subscription::new(&alerts, Endpoint::Email(ONCALL_EMAIL.into())),
    );
    alerts
}

/// Where finished renders are announced.
fn add_notifications(stack: &mut HyperframesRenderStack, alerts: &Handle<Topic>) {
    // Every finished render is POSTed to the backend (the API key is a
    // NoEcho parameter, RenderWebhookApiKey, given at deploy); failures
    // and timeouts also page on-call.
    stack.notify_on_completion(
        "RenderWebhook",
        Destination::webhook(WEBHOOK_URL, "X-Api-Key"),
    );
    stack.notify_on_completion(
        "RenderFailures",
        Notification::to(Destination::Topic(alerts.clone()))
            .on([ExecutionStatus::Failed, ExecutionStatus::TimedOut]),
    );
}

/// A p95 latency alarm next to the stack's own three, all paging `alerts`.
fn add_slow_render_alarm(stack: &mut HyperframesRenderStack, alerts: &Handle<Topic>) {
    let slow = stack
        .render_function()
        .metric_duration()
        .p95()
        .alarm(SLOW_P95_MS, ComparisonOperator::GreaterThanThreshold, 3)
        .named("acme-video-slow-renders")
        .description("p95 render function duration above 10 minutes for 15 minutes.");
    let slow = stack.add("SlowRendersAlarm", slow);

    let mut alarms = stack.alarms().to_vec();
    alarms.push(slow);
    for alarm in alarms {
        stack.get_mut(&alarm).add_alarm_action(alerts.arn());
    }
}

/// The render bucket under a key of our own.
fn encrypt_bucket(stack: &mut HyperframesRenderStack) {
    // The bucket encrypted with our own key; the render function is
    // granted kms:Decrypt/GenerateDataKey on it by encrypt_bucket_with.
    let key = stack.add("RenderBucketKey", Key::default());
    stack.get_mut(&key).description = Some("Encrypts acme-video renders.".into());
    stack.add(
        "RenderBucketKeyAlias",
        Alias::new("alias/acme-video-renders", key.key_id()),
    );
    stack.encrypt_bucket_with(&key);
}

/// CI may start renders, follow them and read the bucket (outputs), and
/// nothing else.
fn add_ci_role(stack: &mut HyperframesRenderStack) {
    let ci = stack.add(
        "CiRole",
        Role::assumed_by(Principal::account(Pseudo::AccountId)),
    );
    stack.state_machine().grant_start_execution(stack, &ci);
    stack.state_machine().grant_read_executions(stack, &ci);
    stack.bucket().grant_read(stack, &ci);
}
