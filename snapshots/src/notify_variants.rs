//! Stacks with completion notifications (one per destination kind) and
//! with every hardening option applied: snapshotted, linted and scanned
//! like the default variants.

use hyperframes_infra::hardening::{self, VpcPlacement};
use hyperframes_infra::notifications::{
    Destination, ExecutionStatus, Notification, Webhook, WebhookSecret,
};
use hyperframes_infra::resources::iam::{Principal, Role};
use hyperframes_infra::resources::kms::Key;
use hyperframes_infra::resources::lambda::{Code, Function};
use hyperframes_infra::resources::sns::Topic;
use hyperframes_infra::resources::sqs::Queue;
use hyperframes_infra::Stack;
use hyperframes_infra::{HyperframesRenderStack, RemovalPolicy, Value};

/// A webhook whose key is a NoEcho parameter.
pub fn webhook_stack() -> HyperframesRenderStack {
    let mut stack = HyperframesRenderStack::default();
    stack.notify_on_completion(
        "RenderWebhook",
        Destination::webhook("https://hooks.example.com/renders", "X-Api-Key"),
    );
    stack
}

/// One stack per destination kind, named for the snapshot files.
pub fn notification_variants() -> Vec<(&'static str, HyperframesRenderStack)> {
    let mut topic = HyperframesRenderStack::default();
    let t = topic.add("RenderNotices", Topic::default());
    topic.get_mut(&t).kms_master_key_id = Some(Value::from("alias/renders-sns"));
    topic.notify_on_completion("RenderNotices", Destination::Topic(t));

    let mut existing = HyperframesRenderStack::default();
    existing.notify_on_completion(
        "OpsTopic",
        Notification::to(Destination::ExistingTopic(
            "arn:aws:sns:us-east-1:123456789012:ops-renders".into(),
        ))
        .on([ExecutionStatus::Failed, ExecutionStatus::TimedOut]),
    );

    let mut existing_queue = HyperframesRenderStack::default();
    existing_queue.notify_on_completion(
        "RenderEvents",
        Destination::ExistingQueue("arn:aws:sqs:us-east-1:123456789012:render-events".into()),
    );

    let mut queue = HyperframesRenderStack::default();
    let q = queue.add("RenderResults", Queue::default());
    let properties = queue.get_mut(&q);
    properties.sqs_managed_sse_enabled = Some(true);
    properties.message_retention_period = Some(345_600);
    queue.resource_mut(&q).removal_policy(RemovalPolicy::Delete);
    hardening::suppress(
        queue.resource_mut(&q),
        hardening::checks::QUEUE_ENCRYPTION,
        hardening::reasons::QUEUE_SSE_SQS,
    );
    queue.notify_on_completion("RenderResults", Destination::Queue(q));

    let mut function = HyperframesRenderStack::default();
    let role = function.add(
        "OnRenderDoneRole",
        Role::assumed_by(Principal::service("lambda.amazonaws.com"))
            .with_aws_managed_policy("service-role/AWSLambdaBasicExecutionRole"),
    );
    let mut f = Function::new(Code::s3("acme-artifacts", "on-render-done.zip"), role.arn());
    f.runtime = Some("python3.12".into());
    f.handler = Some("index.handler".into());
    f.reserved_concurrent_executions = Some(Value::from(2));
    let f = function.add("OnRenderDone", f);
    let r = function.resource_mut(&f);
    hardening::suppress(r, hardening::checks::FUNCTION_DLQ, "Stands for the user's own function in this test variant; EventBridge's retry policy and the rule target's dead-letter queue cover delivery, and its own failures are the user's to route.");
    hardening::suppress(r, hardening::checks::FUNCTION_VPC, "Stands for the user's own function in this test variant: it calls no private network resource, so VPC placement is the user's choice.");
    function.notify_on_completion("OnRenderDone", Destination::Function(f));

    let mut secret = HyperframesRenderStack::default();
    secret.notify_on_completion(
        "PartnerWebhook",
        Destination::Webhook(
            Webhook::new(
                "https://partner.example.com/hooks/hyperframes",
                "Authorization",
            )
            .secret(WebhookSecret::SecretsManager {
                secret_id: "hyperframes/partner-webhook".into(),
                json_key: Some("token".into()),
            })
            .rate_limit_per_second(10),
        ),
    );

    vec![
        ("notify_topic", topic),
        ("notify_existing_topic", existing),
        ("notify_queue", queue),
        ("notify_existing_queue", existing_queue),
        ("notify_function", function),
        ("notify_webhook", webhook_stack()),
        ("notify_webhook_secrets_manager", secret),
    ]
}

/// Every hardening option: access logs, a customer key for logs and the
/// environment, VPC placement.
pub fn hardened() -> HyperframesRenderStack {
    let mut stack = HyperframesRenderStack::default();
    stack.log_bucket_access_to("acme-access-logs");
    let key = stack.add("RenderLogsKey", Key::default());
    stack.encrypt_logs_and_environment_with(&key);
    stack.place_in_vpc(VpcPlacement::new(
        vec![
            Value::from("subnet-0a1b2c3d"),
            Value::from("subnet-4e5f6a7b"),
        ],
        vec![Value::from("sg-0123abcd")],
    ));
    stack
}
