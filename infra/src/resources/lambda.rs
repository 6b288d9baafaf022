//! AWS Lambda.

use indexmap::IndexMap;
use serde::Serialize;
use serde_with::skip_serializing_none;

use super::Tag;
use crate::template::Handle;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TracingMode {
    Active,
    PassThrough,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    pub mode: TracingMode,
}

/// Where the deployment package lives.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Code {
    pub s3_bucket: Option<Value<String>>,
    pub s3_key: Option<Value<String>>,
    pub s3_object_version: Option<Value<String>>,
    pub zip_file: Option<String>,
    pub image_uri: Option<Value<String>>,
}

impl Code {
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

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub variables: IndexMap<String, Value<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    pub size: Value<u32>,
}

/// `AWS::Lambda::Function`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub function_name: Option<Value<String>>,
    pub description: Option<String>,
    pub code: Code,
    pub package_type: Option<String>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: Value<String>,
    pub memory_size: Option<Value<u32>>,
    pub timeout: Option<Value<u32>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<Architecture>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// `Fn::If [HasReservedConcurrency, Ref ReservedConcurrency, AWS::NoValue]`
    /// fits here: the field is optional, so the `NoValue` branch is legal.
    pub reserved_concurrent_executions: Option<Value<i32>>,
    pub environment: Option<Environment>,
    pub tracing_config: Option<TracingConfig>,
    pub kms_key_arn: Option<Value<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Function {
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
            tags: Vec::new(),
        }
    }
}

/// `AWS::Lambda::Permission`: a resource policy entry letting a service
/// (SNS, S3, EventBridge) invoke the function.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    pub action: String,
    pub function_name: Value<String>,
    pub principal: String,
    pub source_arn: Option<Value<String>>,
    pub source_account: Option<Value<String>>,
}

impl Handle<Function> {
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}
