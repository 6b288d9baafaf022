//! The writable top-level property names of each resource type this crate
//! types, vendored from the CloudFormation resource provider schemas (as
//! shipped in cfn-lint 1.58, schemas of 2026-10-20, us-east-1; read-only
//! properties such as `Arn` left out, since CloudFormation refuses them in
//! a template). Synth checks property overrides against them, so a typo
//! (`MemorySizee`) is refused before deploy instead of failing mid-stack.
//!
//! A property AWS adds later is not here until this list is refreshed:
//! [`crate::Stack::add_property_override_unchecked`] sets it meanwhile.

/// `AWS::StepFunctions::StateMachine`.
pub(crate) const STATE_MACHINE: &[&str] = &[
    "Definition",
    "DefinitionS3Location",
    "DefinitionString",
    "DefinitionSubstitutions",
    "EncryptionConfiguration",
    "LoggingConfiguration",
    "RoleArn",
    "StateMachineName",
    "StateMachineType",
    "Tags",
    "TracingConfiguration",
];
/// `AWS::Lambda::Function`.
pub(crate) const FUNCTION: &[&str] = &[
    "Architectures",
    "CapacityProviderConfig",
    "Code",
    "CodeSigningConfigArn",
    "DeadLetterConfig",
    "Description",
    "DurableConfig",
    "Environment",
    "EphemeralStorage",
    "FileSystemConfigs",
    "FunctionName",
    "FunctionScalingConfig",
    "Handler",
    "ImageConfig",
    "KmsKeyArn",
    "Layers",
    "LoggingConfig",
    "MemorySize",
    "PackageType",
    "PublishToLatestPublished",
    "RecursiveLoop",
    "ReservedConcurrentExecutions",
    "Role",
    "Runtime",
    "RuntimeManagementConfig",
    "SnapStart",
    "Tags",
    "TenancyConfig",
    "Timeout",
    "TracingConfig",
    "VpcConfig",
];
/// `AWS::Lambda::Permission`.
pub(crate) const PERMISSION: &[&str] = &[
    "Action",
    "EventSourceToken",
    "FunctionName",
    "FunctionUrlAuthType",
    "InvokedViaFunctionUrl",
    "Principal",
    "PrincipalOrgID",
    "SourceAccount",
    "SourceArn",
];
/// `AWS::IAM::Role`.
pub(crate) const ROLE: &[&str] = &[
    "AssumeRolePolicyDocument",
    "Description",
    "ManagedPolicyArns",
    "MaxSessionDuration",
    "Path",
    "PermissionsBoundary",
    "Policies",
    "RoleName",
    "Tags",
];
/// `AWS::Events::Rule`.
pub(crate) const RULE: &[&str] = &[
    "Description",
    "EventBusName",
    "EventPattern",
    "Name",
    "RoleArn",
    "ScheduleExpression",
    "State",
    "Tags",
    "Targets",
];
/// `AWS::Events::Connection`.
pub(crate) const CONNECTION: &[&str] = &[
    "AuthParameters",
    "AuthorizationType",
    "Description",
    "InvocationConnectivityParameters",
    "KmsKeyIdentifier",
    "Name",
];
/// `AWS::Events::ApiDestination`.
pub(crate) const API_DESTINATION: &[&str] = &[
    "ConnectionArn",
    "Description",
    "HttpMethod",
    "InvocationEndpoint",
    "InvocationRateLimitPerSecond",
    "Name",
];
/// `AWS::KMS::Key`.
pub(crate) const KEY: &[&str] = &[
    "BypassPolicyLockoutSafetyCheck",
    "Description",
    "EnableKeyRotation",
    "Enabled",
    "KeyPolicy",
    "KeySpec",
    "KeyUsage",
    "MultiRegion",
    "Origin",
    "PendingWindowInDays",
    "RotationPeriodInDays",
    "Tags",
];
/// `AWS::KMS::Alias`.
pub(crate) const ALIAS: &[&str] = &["AliasName", "TargetKeyId"];
/// `AWS::SNS::Topic`.
pub(crate) const TOPIC: &[&str] = &[
    "ArchivePolicy",
    "ContentBasedDeduplication",
    "DataProtectionPolicy",
    "DeliveryStatusLogging",
    "DisplayName",
    "FifoThroughputScope",
    "FifoTopic",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "SignatureVersion",
    "Subscription",
    "Tags",
    "TopicName",
    "TracingConfig",
];
/// `AWS::SNS::Subscription`.
pub(crate) const SUBSCRIPTION: &[&str] = &[
    "DeliveryPolicy",
    "Endpoint",
    "FilterPolicy",
    "FilterPolicyScope",
    "Protocol",
    "RawMessageDelivery",
    "RedrivePolicy",
    "Region",
    "ReplayPolicy",
    "SubscriptionRoleArn",
    "TopicArn",
];
/// `AWS::SNS::TopicPolicy`.
pub(crate) const TOPIC_POLICY: &[&str] = &["PolicyDocument", "Topics"];
/// `AWS::CloudWatch::Alarm`.
pub(crate) const ALARM: &[&str] = &[
    "ActionConfiguration",
    "ActionsEnabled",
    "AlarmActions",
    "AlarmDescription",
    "AlarmName",
    "ComparisonOperator",
    "DatapointsToAlarm",
    "Dimensions",
    "EvaluateLowSampleCountPercentile",
    "EvaluationCriteria",
    "EvaluationInterval",
    "EvaluationPeriods",
    "EvaluationWindow",
    "ExtendedStatistic",
    "InsufficientDataActions",
    "MetricName",
    "Metrics",
    "Namespace",
    "OKActions",
    "Period",
    "Statistic",
    "Tags",
    "Threshold",
    "ThresholdMetricId",
    "TreatMissingData",
    "Unit",
    "WarmUpConfiguration",
];
/// `AWS::S3::Bucket`.
pub(crate) const BUCKET: &[&str] = &[
    "AbacStatus",
    "AccelerateConfiguration",
    "AccessControl",
    "AnalyticsConfigurations",
    "BucketEncryption",
    "BucketName",
    "BucketNamePrefix",
    "BucketNamespace",
    "CorsConfiguration",
    "IntelligentTieringConfigurations",
    "InventoryConfigurations",
    "LifecycleConfiguration",
    "LoggingConfiguration",
    "MetadataConfiguration",
    "MetadataTableConfiguration",
    "MetricsConfigurations",
    "NotificationConfiguration",
    "ObjectLockConfiguration",
    "ObjectLockEnabled",
    "OwnershipControls",
    "PublicAccessBlockConfiguration",
    "ReplicationConfiguration",
    "Tags",
    "VersioningConfiguration",
    "WebsiteConfiguration",
];
/// `AWS::S3::BucketPolicy`.
pub(crate) const BUCKET_POLICY: &[&str] = &["Bucket", "PolicyDocument"];
/// `AWS::SQS::Queue`.
pub(crate) const QUEUE: &[&str] = &[
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "QueueName",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "Tags",
    "VisibilityTimeout",
];
/// `AWS::SQS::QueuePolicy`.
pub(crate) const QUEUE_POLICY: &[&str] = &["PolicyDocument", "Queues"];
/// `AWS::Logs::LogGroup`.
pub(crate) const LOG_GROUP: &[&str] = &[
    "BearerTokenAuthenticationEnabled",
    "DataProtectionPolicy",
    "DeletionProtectionEnabled",
    "FieldIndexPolicies",
    "KmsKeyId",
    "LogGroupClass",
    "LogGroupName",
    "ResourcePolicyDocument",
    "RetentionInDays",
    "Tags",
];
