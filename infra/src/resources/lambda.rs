//! AWS Lambda.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value as Json;

use super::cloudwatch::{Dimension, Metric, Statistic};
use super::iam::{Role, Statement};
use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::synth::Problem;
use crate::template::Stack;
use crate::validate::ResourceCheck;
use crate::value::Value;

pub use super::lambda_kinds::{Architecture, PackageType, Runtime};

/// Whether Lambda samples and sends X-Ray traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TracingMode {
    /// Lambda samples requests and traces them itself.
    Active,
    /// Lambda traces only when the caller's trace header says it was sampled (the default).
    PassThrough,
}

/// `TracingConfig`; the role needs X-Ray write permission for `Active`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    /// `Mode`.
    pub mode: TracingMode,
}

/// Where the deployment package lives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Code {
    /// `S3Bucket` of the ZIP; must be in the stack's region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<Value<String>>,
    /// `S3Key` of the ZIP. Lambda only picks up new code when a property changes,
    /// so use a new key per build rather than overwriting one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<Value<String>>,
    /// `S3ObjectVersion`, for versioned buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_object_version: Option<Value<String>>,
    /// `ZipFile`: inline source, only for interpreted runtimes (Node.js, Python), 4 MB at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_file: Option<String>,
    /// `ImageUri`: an ECR image, for `PackageType: Image` functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<Value<String>>,
}

impl Code {
    /// A ZIP in S3 (bucket and key may be intrinsics).
    pub fn s3(bucket: impl Into<Value<String>>, key: impl Into<Value<String>>) -> Self {
        Code {
            s3_bucket: Some(bucket.into()),
            s3_key: Some(key.into()),
            s3_object_version: None,
            zip_file: None,
            image_uri: None,
        }
    }
}

/// `Environment`: variables the handler reads; 4 KB in total.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    /// `Variables`, in insertion order.
    pub variables: IndexMap<String, Value<String>>,
}

/// `EphemeralStorage`: the size of `/tmp`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    /// `Size` in MB, 512..=10240 (default 512).
    pub size: Value<u32>,
}

/// `AWS::Lambda::Function`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Function {
    /// `FunctionName`, up to 64 characters. Unset, CloudFormation generates one;
    /// changing it replaces the function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_name: Option<Value<String>>,
    /// `Description`, up to 256 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Code`: where the deployment package is.
    pub code: Code,
    /// `PackageType`: `Zip` (default) or `Image`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_type: Option<PackageType>,
    /// `Runtime`, e.g. [`Runtime::ProvidedAl2023`] for a Rust `bootstrap`;
    /// required for `Zip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// `Handler`; for `provided.*` runtimes the binary is named `bootstrap`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// `Role`: the execution role's ARN, whose permissions the function gets.
    pub role: Value<String>,
    /// `MemorySize` in MB, 128..=10240 (synth checks the range). CPU scales with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_size: Option<Value<u32>>,
    /// `Timeout` in seconds, 1..=900 (synth checks the range); Lambda stops
    /// the invocation after this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Value<u32>>,
    /// `Architectures`: one element; unset means `x86_64`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<Architecture>,
    /// `EphemeralStorage`: `/tmp` size; unset means 512 MB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// `Fn::If [HasReservedConcurrency, Ref ReservedConcurrency, AWS::NoValue]`
    /// fits here: the field is optional, so the `NoValue` branch is legal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_concurrent_executions: Option<Value<i32>>,
    /// `Environment` variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// `TracingConfig` for X-Ray.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing_config: Option<TracingConfig>,
    /// `KmsKeyArn`: a customer key for environment variables at rest; unset,
    /// Lambda uses a key of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<Value<String>>,
    /// `VpcConfig`: run in these subnets; the role then needs ENI permissions,
    /// and S3 is reached through a gateway endpoint or NAT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfig>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl ResourceType for Function {
    const TYPE: &'static str = "AWS::Lambda::Function";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::FUNCTION);

    /// Memory, timeout and `/tmp` within Lambda's ranges (also when a
    /// parameter supplies them), and a reserved concurrency Lambda accepts.
    fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
        let mut out: Vec<Problem> = [
            check.range("MemorySize", 128, 10240, "MB"),
            check.range("Timeout", 1, 900, "seconds"),
            check.range("EphemeralStorage.Size", 512, 10240, "MB"),
        ]
        .into_iter()
        .flatten()
        .collect();
        out.extend(reserved_concurrency_problem(check));
        out.extend(check.non_empty(
            "Architectures",
            "Lambda needs exactly one architecture (x86_64 or arm64); leave it out for x86_64",
        ));
        out
    }
}

/// `ReservedConcurrentExecutions` must be positive: 0 disables the
/// function and negatives are rejected. A parameter behind the
/// "not -1" `Fn::If` must refuse values below -1; a bare parameter must not
/// default to 0 or -1.
fn reserved_concurrency_problem(check: &ResourceCheck<'_>) -> Option<Problem> {
    let path = "ReservedConcurrentExecutions";
    let v = check.property(path);
    if let Some(n) = v.as_f64() {
        return (n <= 0.0).then(|| {
            check.problem(
                path,
                format!(
                    "{n} would {}; use a positive cap, or leave it unset for unreserved concurrency",
                    if n == 0.0 {
                        "throttle every invocation (0 reserved = function disabled)"
                    } else {
                        "be rejected by Lambda"
                    }
                ),
            )
        });
    }
    // Behind an Fn::If on "not -1" the parameter must at least refuse
    // values below -1, which Lambda rejects mid-deploy.
    if let Some(branch) = v.get("Fn::If").and_then(|a| a.get(1)) {
        let pname = branch.get("Ref").and_then(Json::as_str)?;
        let p = check.parameter(pname)?;
        let has_allowed = p["AllowedValues"].as_array().is_some_and(|a| !a.is_empty());
        return (!has_allowed && p["MinValue"].as_f64().is_none_or(|m| m < -1.0)).then(|| {
            check.problem(path, format!(
                "parameter `{pname}` admits values below -1, which Lambda rejects; give it MinValue -1 (or AllowedValues)"
            ))
        });
    }
    // A bare Ref (no Fn::If guard) must not default to 0 or the -1 sentinel.
    let pname = v.get("Ref").and_then(Json::as_str)?;
    let d = check.parameter(pname)?["Default"].as_f64()?;
    (d <= 0.0).then(|| {
        check.problem(
            path,
            format!(
                "parameter `{pname}` defaults to {d}, which {}; guard it with Fn::If on a condition",
                if d == 0.0 {
                    "disables the function"
                } else {
                    "Lambda rejects"
                }
            ),
        )
    })
}

impl Function {
    /// A function running `code` with the execution role `role` (an ARN);
    /// everything else left to Lambda's defaults.
    pub fn new(code: Code, role: Value<String>) -> Self {
        Function {
            function_name: None,
            description: None,
            code,
            package_type: None,
            runtime: None,
            handler: None,
            role,
            memory_size: None,
            timeout: None,
            architectures: Vec::new(),
            ephemeral_storage: None,
            reserved_concurrent_executions: None,
            environment: None,
            tracing_config: None,
            kms_key_arn: None,
            vpc_config: None,
            tags: Vec::new(),
        }
    }
}

/// `VpcConfig` of a function.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcConfig {
    /// `SubnetIds`: private subnets, ideally one per availability zone.
    pub subnet_ids: Vec<Value<String>>,
    /// `SecurityGroupIds`: must allow outbound HTTPS to S3.
    pub security_group_ids: Vec<Value<String>>,
}

/// `AWS::Lambda::Permission`: a resource policy entry letting a service
/// (SNS, S3, EventBridge) invoke the function.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Permission {
    /// `Action`, usually `lambda:InvokeFunction`.
    pub action: String,
    /// `FunctionName`: the function's name or ARN.
    pub function_name: Value<String>,
    /// `Principal`: the service allowed, e.g. `sns.amazonaws.com`.
    pub principal: String,
    /// `SourceArn`: only calls on behalf of this resource (a topic, a rule) are
    /// allowed. Set it: without it any account's resource of that service could invoke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<Value<String>>,
    /// `SourceAccount`: only calls from resources in this account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_account: Option<Value<String>>,
}

impl Permission {
    /// Lets `principal` (a service such as `sns.amazonaws.com`, or an
    /// account) perform `action` (e.g. `lambda:InvokeFunction`) on the
    /// function `function_name` (its name or ARN), from any source.
    pub fn new(
        action: impl Into<String>,
        function_name: Value<String>,
        principal: impl Into<String>,
    ) -> Self {
        Permission {
            action: action.into(),
            function_name,
            principal: principal.into(),
            source_arn: None,
            source_account: None,
        }
    }
}

impl ResourceType for Permission {
    const TYPE: &'static str = "AWS::Lambda::Permission";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::PERMISSION);
}

impl Handle<Function> {
    /// The function's name (`Ref`): what the `FunctionName` metric dimension needs.
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    /// The function's ARN (`Fn::GetAtt Arn`): what IAM statements, Step
    /// Functions tasks and event sources need.
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }

    /// `AWS/Lambda` `Errors`: failed invocations (timeouts included), summed per
    /// 5 minutes.
    pub fn metric_errors(&self) -> Metric {
        self.metric("Errors")
    }

    /// `AWS/Lambda` `Invocations`: every invocation (for the render function,
    /// one per stage and per chunk), summed per 5 minutes.
    pub fn metric_invocations(&self) -> Metric {
        self.metric("Invocations")
    }

    /// `AWS/Lambda` `Throttles`: invocations refused for lack of concurrency,
    /// summed per 5 minutes. Expected under load with a reserved-concurrency cap;
    /// the Task retries absorb them.
    pub fn metric_throttles(&self) -> Metric {
        self.metric("Throttles")
    }

    /// Duration in milliseconds, averaged; use `.p95()` for tail latency.
    pub fn metric_duration(&self) -> Metric {
        self.metric("Duration").statistic(Statistic::Average)
    }

    fn metric(&self, name: &str) -> Metric {
        Metric::new(
            "AWS/Lambda",
            name,
            vec![Dimension {
                name: "FunctionName".into(),
                value: self.name(),
            }],
        )
    }

    /// Lets `role` invoke the function.
    pub fn grant_invoke(&self, stack: &mut impl Stack, role: &Handle<Role>) {
        role.add_grant(
            stack,
            self,
            Statement::allow(["lambda:InvokeFunction"], [self.arn()]),
        );
    }

    /// Lets an AWS service (e.g. `sns.amazonaws.com`) invoke the function,
    /// optionally only from one source ARN, through the function's resource
    /// policy (`AWS::Lambda::Permission` named `logical_id`).
    pub fn grant_invoke_by_service(
        &self,
        stack: &mut impl Stack,
        logical_id: &str,
        service: &str,
        source_arn: Option<Value<String>>,
    ) -> Handle<Permission> {
        stack.add(
            logical_id,
            Permission {
                action: "lambda:InvokeFunction".into(),
                function_name: self.arn(),
                principal: service.into(),
                source_arn,
                source_account: None,
            },
        )
    }
}
