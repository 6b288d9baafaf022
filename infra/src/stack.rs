//! `HyperframesRenderStack`: the render topology as one construct, with
//! handles to its parts so a user's infra crate can extend it (grants,
//! metrics, alarms, encryption) without writing a logical ID by hand.

use serde_json::json;

use crate::asl::Definition;
use crate::handle::Handle;
use crate::props::{
    BucketEncryptionProps, ChromeSource, HandlerCode, KmsKey, Knobs, LambdaMemory, LambdaTimeout,
    RenderStackProps, ReservedConcurrency, PROJECT_NAME_MAX,
};
use crate::resource::{RemovalPolicy, Resource, Tag};
use crate::resources::cloudwatch::{Alarm, ComparisonOperator};
use crate::resources::iam::{PolicyDocument, Principal, Role, Statement};
use crate::resources::kms::Key;
use crate::resources::lambda::{
    Architecture, Code, Environment, EphemeralStorage, Function, PackageType, Runtime,
    TracingConfig, TracingMode,
};
use crate::resources::logs::LogGroup;
use crate::resources::s3::{
    AbortIncompleteMultipartUpload, Bucket, BucketEncryption, BucketPolicy, LifecycleConfiguration,
    LifecycleRule, PublicAccessBlockConfiguration, RuleStatus, VersioningConfiguration,
    VersioningStatus,
};
use crate::resources::stepfunctions::{
    CloudWatchLogsLogGroup, LogDestination, LogLevel, LoggingConfiguration, StateMachine,
    StateMachineType, TracingConfiguration,
};
use crate::synth::{Problem, Synthesized, ValidationErrors};
use crate::template::{Assertion, Condition, Output, Parameter, Rule, Stack, Template};
use crate::value::{Number, Param, Value};
use crate::workflow;

pub use crate::workflow::states;

/// Logical IDs and names of the stack's own parts (the reference's).
pub mod ids {
    /// The bucket for plans, chunks and outputs; retained on delete and replacement.
    pub const RENDER_BUCKET: &str = "RenderBucket";
    /// The bucket's policy: denies any non-TLS access.
    pub const RENDER_BUCKET_POLICY: &str = "RenderBucketPolicy";
    /// Created only with `BucketEncryptionProps::Kms(KmsKey::Create)`.
    pub const RENDER_BUCKET_KEY: &str = "RenderBucketKey";
    /// The render function: one handler for plan, renderChunk and assemble.
    pub const RENDER_FUNCTION: &str = "RenderFunction";
    /// The render function's execution role.
    pub const RENDER_FUNCTION_ROLE: &str = "RenderFunctionRole";
    /// The render workflow.
    pub const RENDER_STATE_MACHINE: &str = "RenderStateMachine";
    /// The role Step Functions assumes: invoke the function, deliver logs, trace.
    pub const RENDER_STATE_MACHINE_ROLE: &str = "RenderStateMachineRole";
    /// The state machine's execution logs (`/aws/states/<ProjectName>-render`).
    pub const RENDER_STATE_MACHINE_LOG_GROUP: &str = "RenderStateMachineLogGroup";
    /// Alarm: function invocations in one hour over the threshold (a runaway caller).
    pub const CHUNK_INVOCATION_ALARM: &str = "RenderChunkInvocationAlarm";
    /// Alarm: any function error in 5 minutes.
    pub const FUNCTION_ERRORS_ALARM: &str = "RenderFunctionErrorsAlarm";
    /// Alarm: any failed execution in 5 minutes.
    pub const STATE_MACHINE_FAILED_ALARM: &str = "RenderStateMachineFailedAlarm";

    /// Parameter for [`crate::RenderStackProps::project_name`].
    pub const PARAM_PROJECT_NAME: &str = "ProjectName";
    /// Parameter for [`crate::RenderStackProps::memory`], in MB.
    pub const PARAM_MEMORY: &str = "LambdaMemoryMb";
    /// Parameter for [`crate::RenderStackProps::timeout`], in seconds.
    pub const PARAM_TIMEOUT: &str = "LambdaTimeoutSec";
    /// Parameter for [`crate::RenderStackProps::reserved_concurrency`]; -1 is unreserved.
    pub const PARAM_RESERVED_CONCURRENCY: &str = "ReservedConcurrency";
    /// Parameter for [`crate::RenderStackProps::chrome_source`].
    pub const PARAM_CHROME_SOURCE: &str = "ChromeSource";
    /// Parameter for [`crate::RenderStackProps::chunk_invocation_alarm_threshold`].
    pub const PARAM_ALARM_THRESHOLD: &str = "ChunkInvocationAlarmThreshold";
    /// Condition: `ReservedConcurrency` is not -1. When false the function's
    /// `ReservedConcurrentExecutions` is removed (`AWS::NoValue`).
    pub const CONDITION_HAS_RESERVED_CONCURRENCY: &str = "HasReservedConcurrency";

    /// Output: the bucket's name, exported as `<StackName>-RenderBucket`.
    pub const OUTPUT_BUCKET_NAME: &str = "RenderBucketName";
    /// Output: the function's ARN, exported as `<StackName>-RenderFunctionArn`.
    pub const OUTPUT_FUNCTION_ARN: &str = "RenderFunctionArn";
    /// Output: the state machine's ARN, exported as `<StackName>-RenderStateMachineArn`.
    pub const OUTPUT_STATE_MACHINE_ARN: &str = "RenderStateMachineArn";
}

/// Environment variables the handler reads.
pub mod env {
    /// `/tmp`: the only writable path on Lambda.
    pub const TMPDIR: &str = "TMPDIR";
    /// The render bucket's name; the handler refuses S3 URIs outside it.
    pub const RENDER_BUCKET: &str = "HYPERFRAMES_RENDER_BUCKET";
    /// `sparticuz` or `chrome-headless-shell` (see [`crate::ChromeSource`]).
    pub const CHROME_SOURCE: &str = "HYPERFRAMES_LAMBDA_CHROME_SOURCE";
}

/// Key prefix of the intermediates (plans, chunks), which expire after
/// [`INTERMEDIATES_EXPIRY_DAYS`]; keep final outputs outside it.
pub const INTERMEDIATES_PREFIX: &str = "renders/";
/// Days after creation S3 deletes objects under [`INTERMEDIATES_PREFIX`].
pub const INTERMEDIATES_EXPIRY_DAYS: u32 = 7;
/// Where plans keep their content-addressed blobs
/// (`<prefix>/<sha[0:2]>/<sha>`): one store for every render in the
/// bucket, so the rows of a batch, and renders of one site, store a
/// template's fonts, media and scripts once instead of once per render.
/// It lies under [`INTERMEDIATES_PREFIX`], so the same rule expires it
/// (the function writes a blob again before it gets near that age); the
/// `.` keeps it apart from render ids, which cannot hold one.
pub const ARTIFACT_STORE_PREFIX: &str = "renders/.artifacts/sha256";
/// Days CloudWatch Logs keeps the state machine's execution logs.
pub const STATE_MACHINE_LOG_RETENTION_DAYS: u32 = 30;
/// Size of the function's `/tmp` in MB: Lambda's maximum, for frames and chunks.
pub const EPHEMERAL_STORAGE_MB: u32 = 10240;

const COMPONENT_TAG: (&str, &str) = ("HyperFramesComponent", "lambda-renderer");

const DESCRIPTION: &str = "HyperFrames distributed rendering: one Lambda function (plan, renderChunk, assemble) orchestrated by a Step Functions workflow with a Map state for parallel chunks.";

/// The render stack: every resource of the reference template (see the
/// logical IDs in [`ids`]), built from [`RenderStackProps`], with a typed
/// handle to each part. It is a [`Stack`], so `add`, `get_mut`, overrides
/// and `rename` work on it, and the grants and metrics of its handles take
/// it; [`Self::synth`] also reports props that break a rule.
///
/// # Examples
///
/// Page on-call on every alarm and let a role in the same account start
/// renders:
///
/// ```
/// use hyperframes_infra::resources::iam::{Principal, Role};
/// use hyperframes_infra::resources::sns::{Endpoint, Subscription, Topic};
/// use hyperframes_infra::{HyperframesRenderStack, Pseudo, RenderStackProps, Stack};
/// use serde_json::json;
///
/// let mut stack = HyperframesRenderStack::new(RenderStackProps::default());
/// let topic = stack.add("RenderAlerts", Topic::default());
/// stack.add(
///     "OnCall",
///     Subscription::new(&topic, Endpoint::Email("oncall@example.com".into())),
/// );
/// for alarm in stack.alarms() {
///     stack.get_mut(&alarm).add_alarm_action(topic.arn());
/// }
/// let role = stack.add(
///     "RenderSubmitter",
///     Role::assumed_by(Principal::account(Pseudo::AccountId)),
/// );
/// stack.state_machine().grant_start_execution(&mut stack, &role);
///
/// let template = stack.synth()?;
/// let resources = &template.as_json()["Resources"];
/// // Every alarm notifies the topic (an SNS topic's `Ref` is its ARN).
/// for alarm in stack.alarms() {
///     assert_eq!(
///         resources[alarm.logical_id()]["Properties"]["AlarmActions"],
///         json!([{"Ref": "RenderAlerts"}]),
///     );
/// }
/// assert_eq!(resources["OnCall"]["Properties"]["Protocol"], "email");
/// // The grant lands in an inline policy named after the state machine,
/// // scoped to its ARN only.
/// let policy = &resources["RenderSubmitter"]["Properties"]["Policies"][0];
/// assert_eq!(policy["PolicyName"], "RenderStateMachineAccess");
/// assert_eq!(
///     policy["PolicyDocument"]["Statement"],
///     json!([{
///         "Effect": "Allow",
///         "Action": "states:StartExecution",
///         "Resource": {"Ref": "RenderStateMachine"},
///     }]),
/// );
/// # Ok::<(), hyperframes_infra::ValidationErrors>(())
/// ```
#[derive(Debug, Clone)]
pub struct HyperframesRenderStack {
    template: Template,
    props: RenderStackProps,
    // The handles as created; the accessors follow later renames.
    bucket: Handle<Bucket>,
    bucket_policy: Handle<BucketPolicy>,
    render_function: Handle<Function>,
    function_role: Handle<Role>,
    state_machine: Handle<StateMachine>,
    state_machine_role: Handle<Role>,
    log_group: Handle<LogGroup>,
    alarms: [Handle<Alarm>; 3],
}

/// The knob values as they appear in the template: parameter references
/// or literals.
struct KnobValues {
    project_name: Value<String>,
    memory: Value<u32>,
    timeout: Value<u32>,
    reserved: Option<Value<i32>>,
    chrome_source: Value<String>,
    alarm_threshold: Value<Number>,
}

impl KnobValues {
    /// The props as literals (`Knobs::Baked`).
    fn baked(props: &RenderStackProps) -> Self {
        KnobValues {
            project_name: props.project_name.clone().into(),
            memory: props.memory.mb().into(),
            timeout: props.timeout.secs().into(),
            reserved: match props.reserved_concurrency {
                ReservedConcurrency::Unreserved => None,
                cap => Some(cap.as_i32().into()),
            },
            chrome_source: props.chrome_source.as_str().to_string().into(),
            alarm_threshold: Value::Literal(props.chunk_invocation_alarm_threshold.into()),
        }
    }

    /// Declares one parameter per knob, defaulting to the props
    /// (`Knobs::Parameters`), and refers to them.
    fn declare(t: &mut Template, props: &RenderStackProps) -> Self {
        let project = t.add_parameter(
            ids::PARAM_PROJECT_NAME,
            Parameter::with_default(props.project_name.clone())
                .description("Name prefix applied to all created resources.")
                .pattern(
                    "^[a-zA-Z0-9_][a-zA-Z0-9_-]*$",
                    "letters, digits, '-' and '_'; must not start with '-'",
                )
                .length(1, PROJECT_NAME_MAX as u32),
        );
        let memory = t.add_parameter(
            ids::PARAM_MEMORY,
            Parameter::with_default(props.memory.mb())
                .allowed_values(LambdaMemory::allowed())
                .description("Lambda memory in MB. Rendering is CPU-bound and Lambda allots CPU in proportion to memory (1769 MB per vCPU); 3072 has the lowest cost per rendered minute, 10240 (the maximum) the shortest wall time."),
        );
        let timeout = t.add_parameter(
            ids::PARAM_TIMEOUT,
            Parameter::with_default(props.timeout.secs())
                .range(LambdaTimeout::MIN_SECS.into(), LambdaTimeout::MAX_SECS.into())
                .description("Per-invocation Lambda timeout in seconds. 900 is Lambda's ceiling and absorbs cold-start variance."),
        );
        let reserved = t.add_parameter(
            ids::PARAM_RESERVED_CONCURRENCY,
            Parameter::with_default(props.reserved_concurrency.as_i32())
                .min_value(-1.0)
                .description("Reserved concurrency cap for the render function. A positive integer bounds simultaneous chunk renders (and cost); -1 means unreserved."),
        );
        let chrome = t.add_parameter(
            ids::PARAM_CHROME_SOURCE,
            Parameter::with_default(props.chrome_source.as_str().to_string())
                .allowed_values(ChromeSource::ALL.map(|c| c.as_str().to_string()))
                .description("Which Chromium build the handler package carries; handed to the function as HYPERFRAMES_LAMBDA_CHROME_SOURCE."),
        );
        let threshold = t.add_parameter(
            ids::PARAM_ALARM_THRESHOLD,
            Parameter::with_default(Number::from(props.chunk_invocation_alarm_threshold))
                .description("Render function invocations per hour that trip the runaway alarm (about 10x a typical hour protects against billing surprises)."),
        );
        KnobValues {
            project_name: project.value(),
            memory: memory.value(),
            timeout: timeout.value(),
            reserved: Some(guard_reserved_concurrency(t, reserved)),
            chrome_source: chrome.value(),
            alarm_threshold: threshold.value(),
        }
    }

    /// `<prefix><ProjectName><suffix>`: a Sub of the parameter, or a literal.
    fn name(&self, prefix: &str, suffix: &str) -> Value<String> {
        match &self.project_name {
            Value::Literal(project) => Value::Literal(format!("{prefix}{project}{suffix}")),
            Value::Intrinsic(_) => {
                Value::sub(format!("{prefix}${{{}}}{suffix}", ids::PARAM_PROJECT_NAME))
            }
        }
    }

    /// The tags every taggable resource of the stack carries.
    fn tags(&self) -> Vec<Tag> {
        vec![
            Tag::new("Project", self.project_name.clone()),
            Tag::new(COMPONENT_TAG.0, COMPONENT_TAG.1),
        ]
    }
}

/// The `ReservedConcurrency` parameter as the function sees it: absent when
/// -1 (unreserved), and never 0, which a rule refuses at deploy.
fn guard_reserved_concurrency(t: &mut Template, reserved: Param<i32>) -> Value<i32> {
    // MinValue -1 refuses the rest of the negatives; "not 0" needs a rule.
    t.add_rule(
        "ReservedConcurrencyIsNotZero",
        Rule {
            rule_condition: None,
            assertions: vec![Assertion {
                assert: json!({"Fn::Not": [{"Fn::Equals": [reserved.value(), "0"]}]}),
                assert_description: "ReservedConcurrency 0 would throttle every invocation; use -1 for unreserved or a positive cap".into(),
            }],
        },
    );
    let has_reserved = t.add_condition(
        ids::CONDITION_HAS_RESERVED_CONCURRENCY,
        Condition::not(Condition::equals(reserved.value(), Value::Literal(-1))),
    );
    Value::if_or_absent(&has_reserved, reserved.value())
}

/// The bucket holds rendered videos: retained on delete and on replacement.
/// Intermediates expire; abandoned multipart uploads are aborted.
fn add_bucket(t: &mut Template, k: &KnobValues) -> Handle<Bucket> {
    let mut bucket = Resource::new(Bucket {
        bucket_encryption: Some(BucketEncryption::s3_managed()),
        public_access_block_configuration: Some(PublicAccessBlockConfiguration::block_all()),
        versioning_configuration: Some(VersioningConfiguration {
            status: VersioningStatus::Suspended,
        }),
        lifecycle_configuration: Some(LifecycleConfiguration {
            rules: vec![
                LifecycleRule {
                    id: Some("ExpireIntermediates".into()),
                    status: RuleStatus::Enabled,
                    prefix: Some(INTERMEDIATES_PREFIX.into()),
                    expiration_in_days: Some(INTERMEDIATES_EXPIRY_DAYS.into()),
                    abort_incomplete_multipart_upload: None,
                },
                LifecycleRule {
                    id: Some("AbortIncompleteUploads".into()),
                    status: RuleStatus::Enabled,
                    prefix: None,
                    expiration_in_days: None,
                    abort_incomplete_multipart_upload: Some(AbortIncompleteMultipartUpload {
                        days_after_initiation: 1,
                    }),
                },
            ],
        }),
        tags: k.tags(),
        ..Default::default()
    });
    bucket.removal_policy(RemovalPolicy::Retain);
    t.add_resource(ids::RENDER_BUCKET, bucket)
}

/// Denies any access to the bucket that is not over TLS.
fn add_bucket_policy(t: &mut Template, bucket: &Handle<Bucket>) -> Handle<BucketPolicy> {
    t.add(
        ids::RENDER_BUCKET_POLICY,
        BucketPolicy {
            bucket: bucket.name(),
            policy_document: PolicyDocument::new(vec![Statement::deny(
                ["s3:*"],
                [bucket.arn(), bucket.arn_for_objects("*")],
            )
            .sid("DenyInsecureTransport")
            .principal(Principal::Any)
            .condition(json!({"Bool": {"aws:SecureTransport": "false"}}))]),
        },
    )
}

/// The function's execution role: logs and traces; bucket access is granted
/// once the stack stands.
fn add_function_role(t: &mut Template, k: &KnobValues) -> Handle<Role> {
    let mut role = Role::assumed_by(Principal::service("lambda.amazonaws.com"))
        .with_aws_managed_policy("service-role/AWSLambdaBasicExecutionRole")
        .with_aws_managed_policy("AWSXrayWriteOnlyAccess");
    role.tags = k.tags();
    t.add(ids::RENDER_FUNCTION_ROLE, role)
}

/// The one render function: plan, renderChunk and assemble.
fn add_render_function(
    t: &mut Template,
    k: &KnobValues,
    code: &HandlerCode,
    role: &Handle<Role>,
    bucket: &Handle<Bucket>,
) -> Handle<Function> {
    let mut function = Function::new(
        Code::s3(code.s3_bucket.clone(), code.s3_key.clone()),
        role.arn(),
    );
    function.function_name = Some(k.name("", "-render"));
    function.description =
        Some("HyperFrames distributed render handler. Dispatches on event.Action.".into());
    function.package_type = Some(PackageType::Zip);
    function.runtime = Some(Runtime::ProvidedAl2023);
    function.handler = Some("bootstrap".into());
    function.memory_size = Some(k.memory.clone());
    function.timeout = Some(k.timeout.clone());
    function.architectures = vec![Architecture::X86_64];
    function.ephemeral_storage = Some(EphemeralStorage {
        size: EPHEMERAL_STORAGE_MB.into(),
    });
    function.reserved_concurrent_executions = k.reserved.clone();
    function.environment = Some(Environment {
        variables: [
            (env::TMPDIR.to_string(), Value::from("/tmp")),
            (env::RENDER_BUCKET.to_string(), bucket.name()),
            (env::CHROME_SOURCE.to_string(), k.chrome_source.clone()),
        ]
        .into_iter()
        .collect(),
    });
    function.tracing_config = Some(TracingConfig {
        mode: TracingMode::Active,
    });
    function.tags = k.tags();
    t.add(ids::RENDER_FUNCTION, function)
}

/// The state machine's execution logs: operational data, deleted with the
/// stack (said explicitly).
fn add_log_group(t: &mut Template, k: &KnobValues) -> Handle<LogGroup> {
    let mut log_group = Resource::new(LogGroup {
        log_group_name: Some(k.name("/aws/states/", "-render")),
        retention_in_days: Some(STATE_MACHINE_LOG_RETENTION_DAYS.into()),
        tags: k.tags(),
        ..Default::default()
    });
    log_group.removal_policy(RemovalPolicy::Delete);
    t.add_resource(ids::RENDER_STATE_MACHINE_LOG_GROUP, log_group)
}

/// The role Step Functions assumes: invoke the function, deliver logs, trace.
fn add_state_machine_role(
    t: &mut Template,
    k: &KnobValues,
    function: &Handle<Function>,
) -> Handle<Role> {
    let mut role = Role::assumed_by(Principal::service("states.amazonaws.com"));
    role.add_to_policy(
        "InvokeRenderFunction",
        Statement::allow(["lambda:InvokeFunction"], [function.arn()]),
    );
    // CloudWatch Logs delivery APIs do not support resource-level
    // permissions; AWS documents `*` as required here.
    role.add_to_policy(
        "WriteCloudwatchLogs",
        Statement::allow(
            [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            [Value::from("*")],
        ),
    );
    role.add_to_policy(
        "XRayTracing",
        Statement::allow(
            ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            [Value::from("*")],
        ),
    );
    let (machine, children) = own_child_executions(k);
    role.add_to_policy(
        "RunChunkChildExecutions",
        Statement::allow(["states:StartExecution"], [machine]),
    );
    role.add_to_policy(
        "ManageChunkChildExecutions",
        Statement::allow(
            ["states:DescribeExecution", "states:StopExecution"],
            [children],
        ),
    );
    role.tags = k.tags();
    t.add(ids::RENDER_STATE_MACHINE_ROLE, role)
}

/// What the chunk fan-out (a Distributed Map) needs to reach: the state
/// machine itself, which it starts a child execution of per chunk, and
/// those children, `execution:<name>/<Map Run>:<id>`. Built from the
/// machine's name with `Fn::Sub` rather than `Ref`/`GetAtt` of the
/// machine: the role is a property of the machine, so referring back to it
/// would be a circular dependency. Nothing else is reachable: not another
/// state machine, nor the parent renders' own executions
/// (`execution:<name>:<id>`, no `/`).
fn own_child_executions(k: &KnobValues) -> (Value<String>, Value<String>) {
    let arn = |kind: &str, tail: &str| {
        Value::sub_with(
            format!("arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:{kind}:${{MachineName}}{tail}"),
            [("MachineName", k.name("", "-render"))],
        )
    };
    (arn("stateMachine", ""), arn("execution", "/*"))
}

/// The render workflow, its function ARN substituted in, logging errors
/// and tracing.
fn add_state_machine(
    t: &mut Template,
    k: &KnobValues,
    role: &Handle<Role>,
    function: &Handle<Function>,
    log_group: &Handle<LogGroup>,
) -> Handle<StateMachine> {
    let definition: Definition = workflow::render_workflow();
    t.add(
        ids::RENDER_STATE_MACHINE,
        StateMachine {
            state_machine_name: Some(k.name("", "-render")),
            state_machine_type: Some(StateMachineType::Standard),
            role_arn: role.arn(),
            definition: Some(definition.to_json()),
            definition_substitutions: [(workflow::FUNCTION_ARN_VAR.to_string(), function.arn())]
                .into_iter()
                .collect(),
            logging_configuration: Some(LoggingConfiguration {
                level: LogLevel::Error,
                include_execution_data: false,
                destinations: vec![LogDestination {
                    cloud_watch_logs_log_group: CloudWatchLogsLogGroup {
                        log_group_arn: log_group.arn(),
                    },
                }],
            }),
            tracing_configuration: Some(TracingConfiguration { enabled: true }),
            tags: k.tags(),
        },
    )
}

/// Runaway invocations, any function error, any failed execution.
fn add_alarms(
    t: &mut Template,
    k: &KnobValues,
    function: &Handle<Function>,
    state_machine: &Handle<StateMachine>,
) -> [Handle<Alarm>; 3] {
    let runaway = function
        .metric_invocations()
        .period_seconds(3600)
        .alarm(k.alarm_threshold.clone(), ComparisonOperator::GreaterThanThreshold, 1)
        .named(k.name("", "-runaway-chunk-invocations"))
        .description("Fires when render function invocations in one hour exceed the threshold. The Map state bounds simultaneous fan-out, but a runaway caller starting many renders would still rack up cost; this catches that pattern.");
    let errors = function
        .metric_errors()
        .alarm(1u32, ComparisonOperator::GreaterThanOrEqualToThreshold, 1)
        .named(k.name("", "-render-function-errors"))
        .description("Fires when the render function reports any error in a 5-minute window, so a single failure pages.");
    let failed = state_machine
        .metric_failed()
        .alarm(1u32, ComparisonOperator::GreaterThanOrEqualToThreshold, 1)
        .named(k.name("", "-render-state-machine-failed"))
        .description("Fires when a render execution fails: retry exhaustion, non-retryable errors and timeouts that the function's Errors metric misses.");
    [
        t.add(ids::CHUNK_INVOCATION_ALARM, runaway),
        t.add(ids::FUNCTION_ERRORS_ALARM, errors),
        t.add(ids::STATE_MACHINE_FAILED_ALARM, failed),
    ]
}

/// The bucket's name and the two ARNs, exported as `<StackName>-...`.
fn add_outputs(
    t: &mut Template,
    bucket: &Handle<Bucket>,
    function: &Handle<Function>,
    state_machine: &Handle<StateMachine>,
) {
    t.add_output(
        ids::OUTPUT_BUCKET_NAME,
        Output::new(bucket.name())
            .description("S3 bucket for plans, chunk outputs and final renders.")
            .export_as_stack_suffix("RenderBucket"),
    );
    t.add_output(
        ids::OUTPUT_FUNCTION_ARN,
        Output::new(function.arn())
            .description("ARN of the render function.")
            .export_as_stack_suffix("RenderFunctionArn"),
    );
    t.add_output(
        ids::OUTPUT_STATE_MACHINE_ARN,
        Output::new(state_machine.arn())
            .description("ARN of the render state machine; start renders here.")
            .export_as_stack_suffix("RenderStateMachineArn"),
    );
}

impl HyperframesRenderStack {
    /// Builds the stack. Props that break a rule are reported by
    /// [`Self::synth`], together with every other problem.
    pub fn new(props: RenderStackProps) -> Self {
        let mut t = Template::new();
        t.description = Some(DESCRIPTION.into());
        let k = match props.knobs {
            Knobs::Baked => KnobValues::baked(&props),
            Knobs::Parameters => KnobValues::declare(&mut t, &props),
        };
        let bucket = add_bucket(&mut t, &k);
        let bucket_policy = add_bucket_policy(&mut t, &bucket);
        let function_role = add_function_role(&mut t, &k);
        let render_function = add_render_function(&mut t, &k, &props.code, &function_role, &bucket);
        let log_group = add_log_group(&mut t, &k);
        let state_machine_role = add_state_machine_role(&mut t, &k, &render_function);
        let state_machine = add_state_machine(
            &mut t,
            &k,
            &state_machine_role,
            &render_function,
            &log_group,
        );
        let alarms = add_alarms(&mut t, &k, &render_function, &state_machine);
        add_outputs(&mut t, &bucket, &render_function, &state_machine);

        let mut stack = HyperframesRenderStack {
            template: t,
            props,
            bucket: bucket.clone(),
            bucket_policy,
            render_function,
            function_role: function_role.clone(),
            state_machine,
            state_machine_role,
            log_group,
            alarms,
        };
        bucket.grant_read_write(&mut stack, &function_role);
        stack.apply_encryption_props();
        stack.suppress_default_findings();
        stack
    }

    /// SSE-S3 needs nothing; SSE-KMS with a key the stack creates or an
    /// existing key ARN, which the function is then allowed to use.
    fn apply_encryption_props(&mut self) {
        match self.props.encryption.clone() {
            BucketEncryptionProps::S3Managed => {}
            BucketEncryptionProps::Kms(KmsKey::Create) => {
                let key = self.add(
                    ids::RENDER_BUCKET_KEY,
                    Key {
                        description: Some("Encrypts the HyperFrames render bucket.".into()),
                        ..Key::default()
                    },
                );
                self.encrypt_bucket_with(&key);
            }
            BucketEncryptionProps::Kms(KmsKey::Existing(arn)) => {
                let arn = Value::Literal(arn);
                let (bucket, role) = (self.bucket(), self.function_role());
                self.get_mut(&bucket).bucket_encryption = Some(BucketEncryption::kms(arn.clone()));
                role.add_grant(
                    self,
                    &bucket,
                    Statement::allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], [arn]),
                );
            }
        }
    }

    /// The props the stack was built with. They are checked by [`Self::synth`], not here.
    pub fn props(&self) -> &RenderStackProps {
        &self.props
    }

    /// The render bucket (plans, chunks, outputs). Give other roles access with
    /// its `grant_read`, `grant_put` or `grant_read_write`.
    pub fn bucket(&self) -> Handle<Bucket> {
        self.template.follow(&self.bucket)
    }

    /// The bucket policy (deny non-TLS); add statements through `get_mut`.
    pub fn bucket_policy(&self) -> Handle<BucketPolicy> {
        self.template.follow(&self.bucket_policy)
    }

    /// The render function, for metrics, grants and invoke permissions.
    pub fn render_function(&self) -> Handle<Function> {
        self.template.follow(&self.render_function)
    }

    /// The function's execution role: add statements here for anything else the
    /// handler must reach.
    pub fn function_role(&self) -> Handle<Role> {
        self.template.follow(&self.function_role)
    }

    /// The state machine renders start on; let callers start them with its
    /// `grant_start_execution`.
    pub fn state_machine(&self) -> Handle<StateMachine> {
        self.template.follow(&self.state_machine)
    }

    /// The role Step Functions assumes to invoke the function and write logs.
    pub fn state_machine_role(&self) -> Handle<Role> {
        self.template.follow(&self.state_machine_role)
    }

    /// The state machine's execution log group.
    pub fn log_group(&self) -> Handle<LogGroup> {
        self.template.follow(&self.log_group)
    }

    /// The three alarms: runaway invocations, function errors, failed executions.
    pub fn alarms(&self) -> [Handle<Alarm>; 3] {
        self.alarms.each_ref().map(|a| self.template.follow(a))
    }

    /// Validates and renders. Props errors and template problems come back
    /// together, so one run shows everything to fix.
    pub fn synth(&self) -> Result<Synthesized, ValidationErrors> {
        let props_problems: Vec<Problem> = match self.props.validate() {
            Ok(()) => Vec::new(),
            Err(es) => es
                .into_iter()
                .map(|e| Problem::new("RenderStackProps", e.field, e.message))
                .collect(),
        };
        match (self.template.synth(), props_problems.is_empty()) {
            (Ok(s), true) => Ok(s),
            (Ok(_), false) => Err(ValidationErrors(props_problems)),
            (Err(ValidationErrors(mut ps)), _) => {
                let mut all = props_problems;
                all.append(&mut ps);
                Err(ValidationErrors(all))
            }
        }
    }

    /// Encrypts the render bucket with a customer KMS key (SSE-KMS with a
    /// bucket key) and lets the render function use it. Grants made after
    /// this call include the key; make it before granting other roles.
    ///
    /// The key gets the bucket's Retain policy: a retained bucket whose key
    /// was deleted with the stack is unreadable.
    pub fn encrypt_bucket_with(&mut self, key: &Handle<Key>) {
        self.resource_mut(key).removal_policy(RemovalPolicy::Retain);
        let bucket = self.bucket();
        self.get_mut(&bucket).bucket_encryption = Some(BucketEncryption::kms(key.arn()));
        let role = self.function_role();
        key.grant_encrypt_decrypt(self, &role);
    }
}

/// The stack's resources live in its template; everything [`Stack`] offers
/// works on the render stack directly.
impl Stack for HyperframesRenderStack {
    fn template(&self) -> &Template {
        &self.template
    }

    fn template_mut(&mut self) -> &mut Template {
        &mut self.template
    }
}

impl Default for HyperframesRenderStack {
    fn default() -> Self {
        HyperframesRenderStack::new(RenderStackProps::default())
    }
}
