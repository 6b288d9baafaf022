//! The security scanner's findings on the stack, each either fixed by an
//! option or suppressed with its reason.
//!
//! checkov finds six things in the stack as built by default. Each is a
//! choice, not an oversight, so the template says why in the resource's
//! `Metadata.checkov.skip` (where checkov, and a reviewer reading the
//! template, find it). Four of them can be turned into the stricter setup
//! with one method, which also removes the suppression so the scanner
//! checks the fix:
//!
//! | finding | resource | fixed by |
//! | --- | --- | --- |
//! | CKV_AWS_18 bucket access logging | RenderBucket | [`HyperframesRenderStack::log_bucket_access_to`] |
//! | CKV_AWS_21 bucket versioning | RenderBucket | suppressed (reason below) |
//! | CKV_AWS_158 log group KMS | RenderStateMachineLogGroup | [`HyperframesRenderStack::encrypt_logs_and_environment_with`] |
//! | CKV_AWS_173 environment KMS | RenderFunction | [`HyperframesRenderStack::encrypt_logs_and_environment_with`] |
//! | CKV_AWS_116 function DLQ | RenderFunction | suppressed (reason below) |
//! | CKV_AWS_117 function in a VPC | RenderFunction | [`HyperframesRenderStack::place_in_vpc`] |

use serde_json::{json, Value as Json};

use crate::handle::Handle;
use crate::resource::Resource;
use crate::resources::iam::{Principal, Statement};
use crate::resources::kms::Key;
use crate::resources::lambda::VpcConfig;
use crate::resources::s3::LoggingConfiguration;
use crate::stack::HyperframesRenderStack;
use crate::template::Stack;
use crate::value::Value;

/// checkov's ids for the findings the stack answers.
pub mod checks {
    /// S3 bucket has no access logging.
    pub const BUCKET_ACCESS_LOGGING: &str = "CKV_AWS_18";
    /// S3 bucket versioning is not enabled.
    pub const BUCKET_VERSIONING: &str = "CKV_AWS_21";
    /// Log group not encrypted with a customer KMS key.
    pub const LOG_GROUP_KMS: &str = "CKV_AWS_158";
    /// Lambda function has no dead-letter queue.
    pub const FUNCTION_DLQ: &str = "CKV_AWS_116";
    /// Lambda function not in a VPC.
    pub const FUNCTION_VPC: &str = "CKV_AWS_117";
    /// Lambda environment not encrypted with a customer KMS key.
    pub const FUNCTION_ENV_KMS: &str = "CKV_AWS_173";
    /// SNS topic not encrypted with KMS.
    pub const TOPIC_KMS: &str = "CKV_AWS_26";
    /// Lambda function has no function-level concurrency limit.
    pub const FUNCTION_CONCURRENCY: &str = "CKV_AWS_115";
    /// SQS queue not encrypted (checkov 3 looks only for a KMS key).
    pub const QUEUE_ENCRYPTION: &str = "CKV_AWS_27";
}

/// Why each default is what it is: the text a reviewer reads in the template.
pub mod reasons {
    /// CKV_AWS_18.
    pub const BUCKET_ACCESS_LOGGING: &str = "Access logs need a second bucket that the platform team owns and retains; the render bucket is private (public access blocked, TLS-only policy) and reached only by the stack's roles. Enable with HyperframesRenderStack::log_bucket_access_to(<log bucket>), or use CloudTrail S3 data events.";
    /// CKV_AWS_21.
    pub const BUCKET_VERSIONING: &str = "Intermediates under renders/ are written once per render and expire after 7 days; versioning would keep (and bill) noncurrent copies past that expiry. Outputs are write-once keys named by render id, and the bucket is retained on stack deletion.";
    /// CKV_AWS_158.
    pub const LOG_GROUP_KMS: &str = "Execution logs are written at level ERROR without execution data (IncludeExecutionData false), so no render input reaches them; CloudWatch Logs encrypts them at rest with its own keys. Use a customer key with HyperframesRenderStack::encrypt_logs_and_environment_with(key).";
    /// CKV_AWS_173.
    pub const FUNCTION_ENV_KMS: &str = "The environment holds no secrets (TMPDIR, the bucket name, the Chrome source); Lambda encrypts it at rest with an AWS key. Use a customer key with HyperframesRenderStack::encrypt_logs_and_environment_with(key).";
    /// CKV_AWS_116.
    pub const FUNCTION_DLQ: &str = "Step Functions invokes the function synchronously (lambda:invoke, RequestResponse); a dead-letter queue applies only to asynchronous invocations. Failures surface as the Task's error, go through its Retry list, and end the execution as FAILED (see notify_on_completion for delivery with a DLQ).";
    /// CKV_AWS_117.
    pub const FUNCTION_VPC: &str = "The function reaches only S3 (and, when a plan fetches remote assets, the internet); outside a VPC it needs no NAT gateway or endpoints. Place it in private subnets with HyperframesRenderStack::place_in_vpc (then provide an S3 gateway endpoint).";
    /// CKV_AWS_115, when the template bakes in "unreserved".
    pub const FUNCTION_CONCURRENCY: &str = "Unreserved on purpose: a render fans out to one invocation per chunk, and a reservation also takes that many executions away from every other function in the account. Cap it with RenderStackProps::reserved_concurrency (a cap also bounds cost).";
    /// CKV_AWS_27 on a queue EventBridge writes to (dead-letter or target).
    pub const QUEUE_SSE_SQS: &str = "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled: true), which checkov 3 does not recognise; EventBridge cannot deliver to a queue encrypted with the AWS managed KMS key (alias/aws/sqs), and a customer key would need a key policy for events.amazonaws.com.";
    /// CKV_AWS_26 on a topic the notification flags create.
    pub const TOPIC_KMS: &str = "EventBridge publishes to this topic; with the AWS managed SNS key it cannot, and a customer key needs a key policy for events.amazonaws.com. It carries completion notices (render id, status, output URI), no render content. Pass your own encrypted topic to notify_on_completion to change that.";
}

/// Adds a checkov suppression with its reason to a resource's metadata.
pub fn suppress(resource: &mut Resource, check: &str, reason: &str) {
    let md = resource.metadata.get_or_insert_with(|| json!({}));
    let skips = &mut md["checkov"]["skip"];
    if !skips.is_array() {
        *skips = json!([]);
    }
    let list = skips.as_array_mut().expect("just made an array");
    if !list.iter().any(|s| s["id"] == check) {
        list.push(json!({"id": check, "comment": reason}));
    }
}

/// Removes a suppression (the option that fixes it was applied), and the
/// metadata blocks left empty.
pub fn unsuppress(resource: &mut Resource, check: &str) {
    let Some(md) = resource.metadata.as_mut() else {
        return;
    };
    if let Some(list) = md["checkov"]["skip"].as_array_mut() {
        list.retain(|s| s["id"] != check);
        if list.is_empty() {
            md["checkov"].as_object_mut().map(|o| o.remove("skip"));
        }
    }
    if md["checkov"].as_object().is_some_and(|o| o.is_empty()) {
        md.as_object_mut().map(|o| o.remove("checkov"));
    }
    if md.as_object().is_some_and(|o| o.is_empty()) {
        resource.metadata = None;
    }
}

/// The subnets and security groups of [`HyperframesRenderStack::place_in_vpc`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VpcPlacement {
    /// Private subnet ids, e.g. `Value::import(...)` of a network stack's export.
    pub subnet_ids: Vec<Value<String>>,
    /// Security group ids; outbound HTTPS must be allowed.
    pub security_group_ids: Vec<Value<String>>,
}

impl VpcPlacement {
    /// The function in `subnet_ids` (private ones), with `security_group_ids`.
    pub fn new(subnet_ids: Vec<Value<String>>, security_group_ids: Vec<Value<String>>) -> Self {
        VpcPlacement {
            subnet_ids,
            security_group_ids,
        }
    }
}

impl HyperframesRenderStack {
    /// The suppressions of the default build (called by `new`).
    pub(crate) fn suppress_default_findings(&mut self) {
        let (bucket, function, logs) = (self.bucket(), self.render_function(), self.log_group());
        let b = self.resource_mut(&bucket);
        suppress(
            b,
            checks::BUCKET_ACCESS_LOGGING,
            reasons::BUCKET_ACCESS_LOGGING,
        );
        suppress(b, checks::BUCKET_VERSIONING, reasons::BUCKET_VERSIONING);
        suppress(
            self.resource_mut(&logs),
            checks::LOG_GROUP_KMS,
            reasons::LOG_GROUP_KMS,
        );
        let f = self.resource_mut(&function);
        suppress(f, checks::FUNCTION_DLQ, reasons::FUNCTION_DLQ);
        suppress(f, checks::FUNCTION_VPC, reasons::FUNCTION_VPC);
        suppress(f, checks::FUNCTION_ENV_KMS, reasons::FUNCTION_ENV_KMS);
        if self.get(&function).reserved_concurrent_executions.is_none() {
            let f = self.resource_mut(&function);
            suppress(
                f,
                checks::FUNCTION_CONCURRENCY,
                reasons::FUNCTION_CONCURRENCY,
            );
        }
    }

    /// Sends the render bucket's server access logs to `log_bucket` (a name;
    /// same region, and its policy must let `logging.s3.amazonaws.com` put
    /// objects), under `render-bucket/`.
    pub fn log_bucket_access_to(&mut self, log_bucket: impl Into<Value<String>>) {
        let bucket = self.bucket();
        self.get_mut(&bucket).logging_configuration = Some(LoggingConfiguration {
            destination_bucket_name: log_bucket.into(),
            log_file_prefix: Some("render-bucket/".into()),
        });
        unsuppress(self.resource_mut(&bucket), checks::BUCKET_ACCESS_LOGGING);
    }

    /// Encrypts the execution log group and the function's environment with
    /// a customer key in this template. The key policy gains the statement
    /// CloudWatch Logs needs (scoped to this account's log groups), and the
    /// function role may decrypt with it.
    pub fn encrypt_logs_and_environment_with(&mut self, key: &Handle<Key>) {
        let (function, logs, role) = (
            self.render_function(),
            self.log_group(),
            self.function_role(),
        );
        let statement = Statement::allow(
            [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            [Value::from("*")],
        )
        .sid("CloudWatchLogsUse")
        .principal(Principal::ServiceValue(Value::sub(
            "logs.${AWS::Region}.amazonaws.com",
        )))
        .condition(
            json!({"ArnLike": {"kms:EncryptionContext:aws:logs:arn": Value::sub(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
            )}}),
        );
        let statements = &mut self.get_mut(key).key_policy.statement;
        if !statements.contains(&statement) {
            statements.push(statement);
        }
        self.get_mut(&logs).kms_key_id = Some(key.arn());
        self.get_mut(&function).kms_key_arn = Some(key.arn());
        self.grant_decrypt(key, &role);
        unsuppress(self.resource_mut(&logs), checks::LOG_GROUP_KMS);
        unsuppress(self.resource_mut(&function), checks::FUNCTION_ENV_KMS);
    }

    fn grant_decrypt(&mut self, key: &Handle<Key>, role: &Handle<crate::resources::iam::Role>) {
        self.get_mut(role).add_to_policy(
            &format!("{}Access", key.logical_id()),
            Statement::allow(["kms:Decrypt"], [key.arn()]),
        );
    }

    /// Runs the function in private subnets. Adds the AWS managed policy
    /// for its network interfaces; S3 must then be reachable through a
    /// gateway endpoint (or NAT), and remote assets at plan time through NAT.
    pub fn place_in_vpc(&mut self, placement: VpcPlacement) {
        let (function, role) = (self.render_function(), self.function_role());
        self.get_mut(&function).vpc_config = Some(VpcConfig {
            subnet_ids: placement.subnet_ids,
            security_group_ids: placement.security_group_ids,
        });
        let managed = Value::sub(
            "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
        );
        let r = self.get_mut(&role);
        if !r.managed_policy_arns.contains(&managed) {
            r.managed_policy_arns.push(managed);
        }
        unsuppress(self.resource_mut(&function), checks::FUNCTION_VPC);
    }
}

/// The suppressions on a rendered resource: `(check id, reason)`.
pub fn suppressions(resource: &Json) -> Vec<(String, String)> {
    resource["Metadata"]["checkov"]["skip"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or("").to_string(),
                s["comment"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}
