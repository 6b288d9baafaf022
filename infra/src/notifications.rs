//! Completion notifications: an EventBridge rule on the render state
//! machine's terminal execution events, delivered to an SNS topic, an SQS
//! queue, a Lambda function or an HTTPS webhook, as one documented JSON
//! payload, with retries and a dead-letter queue.
//!
//! # The payload
//!
//! Every destination receives the same JSON object (version `"1"`):
//!
//! ```json
//! {
//!   "version": "1",
//!   "renderId": "hf-20260101-120000-ab12cd",
//!   "status": "SUCCEEDED",
//!   "executionArn": "arn:aws:states:us-east-1:123456789012:execution:hyperframes-render:hf-20260101-120000-ab12cd",
//!   "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:hyperframes-render",
//!   "startDate": 1767268800000,
//!   "stopDate": 1767268861234,
//!   "error": null,
//!   "cause": null,
//!   "output": "{\"OutputS3Uri\":\"s3://bucket/outputs/hf-20260101-120000-ab12cd.mp4\",\"FramesEncoded\":1800,\"FileSize\":5242880}"
//! }
//! ```
//!
//! - `renderId`: the execution name, which is the render id `render` prints.
//! - `status`: `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
//! - `startDate`, `stopDate`: epoch milliseconds.
//! - `error`, `cause`: the error name (one of the contract's names, e.g.
//!   `FONT_FETCH_FAILED`, or `States.Timeout`) and its message; `null` on success.
//! - `output`: on success, the render's result as a JSON *string* holding
//!   `OutputS3Uri` (the video), `FramesEncoded` and `FileSize`; `null`
//!   otherwise. EventBridge passes Step Functions' output through as a
//!   string and cannot unpack it, so parse it once:
//!   `JSON.parse(body.output).OutputS3Uri`. With a notification attached, the
//!   state machine's output is exactly that object (the Assemble result), so
//!   the payload stays small whatever the chunk count.
//!
//! SNS delivers the payload as the message text; SQS as the message body;
//! Lambda as the event; a webhook as a `POST` body with
//! `Content-Type: application/json` and the API-key header.

use serde_json::json;

use crate::handle::Handle;
use crate::resource::{RemovalPolicy, Resource, ResourceType};
use crate::resources::events::{
    ApiDestination, Connection, DeadLetterConfig, EventPattern, InputTransformer, RetryPolicy,
    Rule, Target,
};
use crate::resources::iam::{PolicyDocument, Principal, Role, Statement};
use crate::resources::lambda::{Function, Permission};
use crate::resources::sns::{Topic, TopicPolicy};
use crate::resources::sqs::{Queue, QueuePolicy};
use crate::stack::HyperframesRenderStack;
use crate::template::{Parameter, Stack};
use crate::value::{Param, Value};
use crate::workflow::states;

/// The payload's `version` field; bumped when a field changes meaning.
pub const PAYLOAD_VERSION: &str = "1";

/// The `source` of Step Functions' events.
pub const EVENT_SOURCE: &str = "aws.states";
/// The `detail-type` of Step Functions' execution status events.
pub const EVENT_DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    /// The video is in the bucket.
    Succeeded,
    /// A stage failed for good (a non-retryable error, or retries exhausted).
    Failed,
    /// The execution passed its one-hour timeout.
    TimedOut,
    /// Someone stopped it (`cancel`).
    Aborted,
}

impl ExecutionStatus {
    /// Every terminal status: what a notification covers by default.
    pub const ALL: [ExecutionStatus; 4] = [
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
        ExecutionStatus::Aborted,
    ];

    /// The status as Step Functions writes it in events.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// Where the webhook's API key comes from. Never a literal: it would sit
/// in the template, in change sets and in the console in plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookSecret {
    /// A `NoEcho` template parameter named `<name>ApiKey`, given at deploy
    /// (`deploy --parameter-overrides <name>ApiKey=...`).
    Parameter,
    /// A Secrets Manager secret (name or ARN), optionally one JSON key of it;
    /// CloudFormation resolves it at deploy.
    SecretsManager {
        /// The secret's name or ARN.
        secret_id: String,
        /// The JSON key inside the secret string, if it holds several values.
        json_key: Option<String>,
    },
}

/// An HTTPS endpoint called through an EventBridge API destination.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Webhook {
    /// The `https://` URL that receives a `POST` per finished render.
    pub url: String,
    /// The header that carries the API key, e.g. `X-Api-Key`.
    pub api_key_header: String,
    /// Where the key comes from.
    pub secret: WebhookSecret,
    /// Requests per second EventBridge may send (1..=300; default 300).
    pub rate_limit_per_second: Option<u32>,
}

/// Where notifications go.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// A topic in this template; the method adds its topic policy.
    Topic(Handle<Topic>),
    /// A topic outside this template, by ARN. Its access policy must let
    /// `events.amazonaws.com` call `sns:Publish` (the stack cannot add to a
    /// policy it does not own); failed deliveries land in the dead-letter queue.
    ExistingTopic(String),
    /// A queue in this template; the method adds its queue policy.
    Queue(Handle<Queue>),
    /// A queue outside this template, by ARN. Its access policy must let
    /// `events.amazonaws.com` call `sqs:SendMessage` (scoped with
    /// `aws:SourceArn` to the rule's ARN), and a queue encrypted with a
    /// customer KMS key must let EventBridge use that key: the stack cannot
    /// add to a policy it does not own. Failed deliveries land in the
    /// dead-letter queue.
    ExistingQueue(String),
    /// A function in this template; the method adds its invoke permission.
    Function(Handle<Function>),
    /// An HTTPS webhook with an API-key header.
    Webhook(Webhook),
}

impl Webhook {
    /// A webhook whose API key is a `NoEcho` parameter given at deploy,
    /// at EventBridge's default rate.
    pub fn new(url: impl Into<String>, api_key_header: impl Into<String>) -> Self {
        Webhook {
            url: url.into(),
            api_key_header: api_key_header.into(),
            secret: WebhookSecret::Parameter,
            rate_limit_per_second: None,
        }
    }

    /// The API key from elsewhere (e.g. Secrets Manager).
    pub fn secret(mut self, secret: WebhookSecret) -> Self {
        self.secret = secret;
        self
    }

    /// At most this many requests per second (1..=300).
    pub fn rate_limit_per_second(mut self, per_second: u32) -> Self {
        self.rate_limit_per_second = Some(per_second);
        self
    }
}

impl Destination {
    /// A webhook whose API key is a `NoEcho` parameter given at deploy.
    pub fn webhook(url: impl Into<String>, api_key_header: impl Into<String>) -> Self {
        Destination::Webhook(Webhook::new(url, api_key_header))
    }
}

/// A notification: a destination, the statuses it covers, and how hard
/// EventBridge tries before the event goes to the dead-letter queue.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Notification {
    /// Where the payload goes.
    pub destination: Destination,
    /// Which endings notify; default all four.
    pub statuses: Vec<ExecutionStatus>,
    /// Delivery retries; default EventBridge's (24 hours, 185 attempts).
    pub retry: RetryPolicy,
}

impl Notification {
    /// Every ending, to `destination`, with EventBridge's default retries.
    pub fn to(destination: Destination) -> Self {
        Notification {
            destination,
            statuses: ExecutionStatus::ALL.to_vec(),
            retry: RetryPolicy::default(),
        }
    }

    /// Only these endings (e.g. failures for an on-call topic).
    pub fn on(mut self, statuses: impl IntoIterator<Item = ExecutionStatus>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// Another retry policy (60 s..24 h, 0..=185 attempts; synth checks).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

impl From<Destination> for Notification {
    fn from(d: Destination) -> Self {
        Notification::to(d)
    }
}

/// What [`HyperframesRenderStack::notify_on_completion`] added.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NotificationHandles {
    /// The rule; alarm on `AWS/Events` `FailedInvocations` with its name.
    pub rule: Handle<Rule>,
    /// Events EventBridge gave up on (14 days' retention); alarm on its depth.
    pub dead_letter_queue: Handle<Queue>,
    /// For webhooks: the API destination.
    pub api_destination: Option<Handle<ApiDestination>>,
    /// For webhooks: the connection holding the API key.
    pub connection: Option<Handle<Connection>>,
    /// For webhooks with [`WebhookSecret::Parameter`]: the `NoEcho` parameter.
    pub api_key_parameter: Option<Param<String>>,
}

/// The rule's pattern: Step Functions status changes of this state machine
/// that end in one of `statuses`.
pub fn event_pattern(
    state_machine_arn: Value<String>,
    statuses: &[ExecutionStatus],
) -> EventPattern {
    let mut p = EventPattern {
        source: vec![EVENT_SOURCE.into()],
        detail_type: vec![EVENT_DETAIL_TYPE.into()],
        ..Default::default()
    };
    p.detail.insert(
        "status".into(),
        statuses.iter().map(|s| Value::from(s.as_str())).collect(),
    );
    p.detail
        .insert("stateMachineArn".into(), vec![state_machine_arn]);
    p
}

/// The input transformer that shapes the documented payload (module docs).
/// Placeholders stand in value position, unquoted: EventBridge writes
/// strings as JSON strings and keeps numbers and `null` as they are.
pub fn payload_transformer() -> InputTransformer {
    let vars = [
        ("renderId", "$.detail.name"),
        ("status", "$.detail.status"),
        ("executionArn", "$.detail.executionArn"),
        ("stateMachineArn", "$.detail.stateMachineArn"),
        ("startDate", "$.detail.startDate"),
        ("stopDate", "$.detail.stopDate"),
        ("error", "$.detail.error"),
        ("cause", "$.detail.cause"),
        ("output", "$.detail.output"),
    ];
    let mut template = format!("{{\"version\":\"{PAYLOAD_VERSION}\"");
    for (name, _) in vars {
        template.push_str(&format!(",\"{name}\":<{name}>"));
    }
    template.push('}');
    InputTransformer {
        input_paths_map: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        input_template: template,
    }
}

/// Lets EventBridge use a resource only on behalf of this rule.
fn from_rule(statement: Statement, rule: &Handle<Rule>) -> Statement {
    statement
        .principal(Principal::service("events.amazonaws.com"))
        .condition(json!({"ArnEquals": {"aws:SourceArn": rule.arn()}}))
}

impl HyperframesRenderStack {
    /// Sends the render state machine's terminal execution events to a
    /// destination as the payload documented in [`crate::notifications`],
    /// adding everything delivery needs: the rule, a dead-letter queue with
    /// its policy, the destination's resource policy (topic policy, queue
    /// policy or `Lambda::Permission`, each scoped to the rule's ARN), and
    /// for a webhook the connection (which keeps the API key in a secret
    /// EventBridge manages), the API destination and the role that invokes it.
    ///
    /// `name` prefixes the logical IDs it adds (`<name>Rule`,
    /// `<name>DeadLetterQueue`, ...): letters and digits.
    ///
    /// ```
    /// use hyperframes_infra::notifications::Destination;
    /// use hyperframes_infra::{HyperframesRenderStack, RenderStackProps};
    ///
    /// let mut stack = HyperframesRenderStack::new(RenderStackProps::default());
    /// stack.notify_on_completion("RenderWebhook", Destination::webhook("https://hooks.example.com/renders", "X-Api-Key"));
    /// let template = stack.synth()?;
    /// assert!(template.as_json()["Parameters"]["RenderWebhookApiKey"]["NoEcho"] == true);
    /// # Ok::<(), hyperframes_infra::ValidationErrors>(())
    /// ```
    pub fn notify_on_completion(
        &mut self,
        name: &str,
        notification: impl Into<Notification>,
    ) -> NotificationHandles {
        let n = notification.into();
        let sm = self.state_machine();
        let rule_id = format!("{name}Rule");
        let rule: Handle<Rule> = Handle::new(rule_id.as_str());

        let dlq = self.add_dead_letter_queue(name, &rule);

        let mut handles = NotificationHandles {
            rule: rule.clone(),
            dead_letter_queue: dlq.clone(),
            api_destination: None,
            connection: None,
            api_key_parameter: None,
        };
        let mut target = self.target_for(name, &n.destination, rule, &mut handles);
        target.input_transformer = Some(payload_transformer());
        target.retry_policy = Some(n.retry);
        target.dead_letter_config = Some(DeadLetterConfig { arn: dlq.arn() });
        self.add(
            &rule_id,
            Rule {
                description: Some(format!(
                    "Sends the render state machine's {} executions to the {name} destination as the HyperFrames completion payload (version {PAYLOAD_VERSION}).",
                    n.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("/")
                )),
                event_pattern: Some(event_pattern(sm.arn(), &n.statuses)),
                targets: vec![target],
                ..Default::default()
            },
        );
        self.shrink_execution_output();
        handles
    }

    /// Undelivered notices land here, for 14 days.
    fn add_dead_letter_queue(&mut self, name: &str, rule: &Handle<Rule>) -> Handle<Queue> {
        // Undelivered notices are operational data: deleted with the
        // stack, said explicitly (as for the execution log group).
        let mut dlq = Resource::new(Queue {
            message_retention_period: Some(1_209_600),
            sqs_managed_sse_enabled: Some(true),
            ..Default::default()
        });
        dlq.removal_policy(RemovalPolicy::Delete);
        let dlq: Handle<Queue> = self
            .template_mut()
            .add_resource(&format!("{name}DeadLetterQueue"), dlq);
        crate::hardening::suppress(
            self.resource_mut(&dlq),
            crate::hardening::checks::QUEUE_ENCRYPTION,
            crate::hardening::reasons::QUEUE_SSE_SQS,
        );
        self.add(
            &format!("{name}DeadLetterQueuePolicy"),
            QueuePolicy {
                queues: vec![dlq.url()],
                policy_document: PolicyDocument::new(vec![from_rule(
                    Statement::allow(["sqs:SendMessage"], [dlq.arn()]),
                    rule,
                )]),
            },
        );

        dlq
    }

    /// The rule's target for `destination`, with the permission that
    /// lets EventBridge deliver to it.
    fn target_for(
        &mut self,
        name: &str,
        destination: &Destination,
        rule: Handle<Rule>,
        handles: &mut NotificationHandles,
    ) -> Target {
        let mut target = Target::new("Notify", Value::from(""));
        match destination {
            Destination::Topic(topic) => {
                target.arn = topic.arn();
                self.allow_topic_publish(topic, &rule);
            }
            Destination::ExistingTopic(arn) | Destination::ExistingQueue(arn) => {
                target.arn = Value::from(arn.as_str())
            }
            Destination::Queue(queue) => {
                target.arn = queue.arn();
                self.allow_queue_send(queue, &rule);
            }
            Destination::Function(function) => {
                target.arn = function.arn();
                self.add(
                    &format!("{name}InvokePermission"),
                    Permission {
                        action: "lambda:InvokeFunction".into(),
                        function_name: function.arn(),
                        principal: "events.amazonaws.com".into(),
                        source_arn: Some(rule.arn()),
                        source_account: None,
                    },
                );
            }
            Destination::Webhook(w) => {
                let (destination, role) = self.add_webhook(name, w, handles);
                target.arn = destination.arn();
                target.role_arn = Some(role.arn());
            }
        }
        target
    }

    fn add_webhook(
        &mut self,
        name: &str,
        w: &Webhook,
        handles: &mut NotificationHandles,
    ) -> (Handle<ApiDestination>, Handle<Role>) {
        let secret = match &w.secret {
            WebhookSecret::Parameter => {
                let mut p = Parameter::<String>::default()
                    .description(format!(
                        "API key sent in the {} header of every {name} webhook call; stored by the EventBridge connection in Secrets Manager.",
                        w.api_key_header
                    ))
                    .length(1, 512);
                p.no_echo = true;
                let param = self
                    .template_mut()
                    .add_parameter(&format!("{name}ApiKey"), p);
                let value = param.value();
                handles.api_key_parameter = Some(param);
                value
            }
            WebhookSecret::SecretsManager {
                secret_id,
                json_key,
            } => Value::from(format!(
                "{{{{resolve:secretsmanager:{secret_id}:SecretString{}}}}}",
                json_key
                    .as_ref()
                    .map(|k| format!(":{k}"))
                    .unwrap_or_default()
            )),
        };
        let mut connection = Connection::api_key(w.api_key_header.clone(), secret);
        connection.description = Some(format!("API key for the {name} render webhook."));
        let connection = self.add(&format!("{name}Connection"), connection);
        let destination = self.add(
            &format!("{name}Destination"),
            ApiDestination {
                name: None,
                description: Some(format!("The {name} render webhook.")),
                connection_arn: connection.arn(),
                invocation_endpoint: Value::from(w.url.as_str()),
                http_method: "POST".into(),
                invocation_rate_limit_per_second: w.rate_limit_per_second,
            },
        );
        let mut role = Role::assumed_by(Principal::service("events.amazonaws.com"));
        role.add_to_policy(
            &format!("{name}DestinationAccess"),
            Statement::allow(["events:InvokeApiDestination"], [destination.arn()]),
        );
        let role = self.add(&format!("{name}DestinationRole"), role);
        handles.api_destination = Some(destination.clone());
        handles.connection = Some(connection);
        (destination, role)
    }

    /// Adds the rule's publish statement to the topic's policy in this
    /// template, creating `<Topic>Policy` if there is none: a topic has one
    /// policy, and a second `TopicPolicy` would replace the first.
    fn allow_topic_publish(&mut self, topic: &Handle<Topic>, rule: &Handle<Rule>) {
        let statement = from_rule(Statement::allow(["sns:Publish"], [topic.arn()]), rule);
        let arn = topic.arn();
        self.merge_into_policy(
            statement,
            |p: &mut TopicPolicy| p.topics.contains(&arn).then_some(&mut p.policy_document),
            |statement| {
                let policy_document = PolicyDocument::new(vec![statement]);
                let id = format!("{}Policy", topic.logical_id());
                (
                    id,
                    TopicPolicy {
                        topics: vec![topic.arn()],
                        policy_document,
                    },
                )
            },
        );
    }

    /// Like [`Self::allow_topic_publish`], for a queue's policy.
    fn allow_queue_send(&mut self, queue: &Handle<Queue>, rule: &Handle<Rule>) {
        let statement = from_rule(Statement::allow(["sqs:SendMessage"], [queue.arn()]), rule);
        let url = queue.url();
        self.merge_into_policy(
            statement,
            |p: &mut QueuePolicy| p.queues.contains(&url).then_some(&mut p.policy_document),
            |statement| {
                let policy_document = PolicyDocument::new(vec![statement]);
                let id = format!("{}Policy", queue.logical_id());
                (
                    id,
                    QueuePolicy {
                        queues: vec![queue.url()],
                        policy_document,
                    },
                )
            },
        );
    }

    /// Appends `statement` to the first policy of type `P` that `document`
    /// selects, or adds the policy `create` makes.
    fn merge_into_policy<P: ResourceType>(
        &mut self,
        statement: Statement,
        document: impl Fn(&mut P) -> Option<&mut PolicyDocument>,
        create: impl FnOnce(Statement) -> (String, P),
    ) {
        for r in self.template_mut().resources.values_mut() {
            if let Some(doc) = r.properties.downcast_mut::<P>().and_then(&document) {
                doc.statement.push(statement);
                return;
            }
        }
        let (id, policy) = create(statement);
        self.add(&id, policy);
    }

    /// The execution's output becomes the Assemble result alone
    /// (`OutputS3Uri`, `FramesEncoded`, `FileSize`), which the payload
    /// carries; the plan and the chunk list stay in the history.
    fn shrink_execution_output(&mut self) {
        let sm = self.state_machine();
        if let Some(d) = self.get_mut(&sm).definition.as_mut() {
            for state in [states::ASSEMBLE_V1, states::ASSEMBLE_V2] {
                if let Some(s) = d["States"].get_mut(state).and_then(|s| s.as_object_mut()) {
                    s.insert(
                        "OutputPath".into(),
                        json!(crate::contract::state_path::OUTPUT),
                    );
                }
            }
        }
    }
}
