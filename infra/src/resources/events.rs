//! Amazon EventBridge: rules with their targets, and the connection and API
//! destination an HTTPS webhook needs.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::handle::Handle;
use crate::resource::ResourceType;
use crate::synth::Problem;
use crate::validate::ResourceCheck;
use crate::value::Value;

/// `State` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RuleState {
    /// The rule matches events and delivers them.
    Enabled,
    /// The rule exists but matches nothing.
    Disabled,
}

/// An event pattern: which events a rule matches. Every listed field must
/// match; within a field, any listed value does. Only the fields our rules
/// need are typed; `detail` holds the service's own fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct EventPattern {
    /// `source`, e.g. `aws.states`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<String>,
    /// `detail-type`, e.g. `Step Functions Execution Status Change`.
    #[serde(rename = "detail-type", skip_serializing_if = "Vec::is_empty")]
    pub detail_type: Vec<String>,
    /// `detail`: field name to the values that match (values may be
    /// intrinsics, such as a state machine's ARN).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub detail: IndexMap<String, Vec<Value<String>>>,
}

/// `RetryPolicy` of a target: how long and how often EventBridge retries a
/// delivery that failed (throttling, a 5xx, the target being unavailable)
/// before it gives the event to the dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicy {
    /// `MaximumEventAgeInSeconds`, 60..=86400.
    pub maximum_event_age_in_seconds: u32,
    /// `MaximumRetryAttempts`, 0..=185.
    pub maximum_retry_attempts: u32,
}

impl RetryPolicy {
    /// Shortest event age EventBridge accepts.
    pub const MIN_EVENT_AGE_SECONDS: u32 = 60;
    /// Longest event age EventBridge accepts (24 hours), also its default.
    pub const MAX_EVENT_AGE_SECONDS: u32 = 86_400;
    /// Most retries EventBridge accepts, also its default.
    pub const MAX_RETRY_ATTEMPTS: u32 = 185;
}

impl Default for RetryPolicy {
    /// EventBridge's own defaults (24 hours, 185 attempts), written out so a
    /// template diff shows them.
    fn default() -> Self {
        RetryPolicy {
            maximum_event_age_in_seconds: Self::MAX_EVENT_AGE_SECONDS,
            maximum_retry_attempts: Self::MAX_RETRY_ATTEMPTS,
        }
    }
}

/// `DeadLetterConfig`: where EventBridge puts an event it could not deliver.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    /// `Arn` of an SQS queue whose policy lets `events.amazonaws.com` send to it.
    pub arn: Value<String>,
}

/// `InputTransformer`: builds the target's input from parts of the event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformer {
    /// `InputPathsMap`: variable name to a JSON path into the event (at most 100).
    pub input_paths_map: IndexMap<String, String>,
    /// `InputTemplate`: the text sent, with `<variable>` placeholders. In a JSON
    /// template a placeholder in value position is written without quotes:
    /// EventBridge quotes strings itself and keeps numbers and `null` as they are.
    pub input_template: String,
}

/// `HttpParameters` of an API destination target.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpParameters {
    /// `HeaderParameters`: extra headers on every request. Not secret: put
    /// credentials in the [`Connection`].
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub header_parameters: IndexMap<String, String>,
}

/// One target of a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    /// `Id`, unique within the rule: 1-64 letters, digits, `.`, `-`, `_`.
    pub id: String,
    /// `Arn` of what receives the event (a topic, a queue, a function, an API destination).
    pub arn: Value<String>,
    /// `RoleArn`: the role EventBridge assumes to deliver. Needed for API
    /// destinations; SNS, SQS and Lambda use their resource policies instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<Value<String>>,
    /// `InputTransformer`: what is sent instead of the whole event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_transformer: Option<InputTransformer>,
    /// `RetryPolicy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    /// `DeadLetterConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
    /// `HttpParameters`, for API destinations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_parameters: Option<HttpParameters>,
}

impl Target {
    /// A target with only its id and ARN; add delivery settings with the fields.
    pub fn new(id: impl Into<String>, arn: Value<String>) -> Self {
        Target {
            id: id.into(),
            arn,
            role_arn: None,
            input_transformer: None,
            retry_policy: None,
            dead_letter_config: None,
            http_parameters: None,
        }
    }
}

/// `AWS::Events::Rule` on the default event bus.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Rule {
    /// `Name`, up to 64 characters. Unset, CloudFormation generates one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Value<String>>,
    /// `Description`, up to 512 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `EventPattern`: which events the rule matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<EventPattern>,
    /// `State`; unset means enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<RuleState>,
    /// `Targets`, at most 5 per rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

impl Handle<Rule> {
    /// The rule's ARN (`Fn::GetAtt Arn`): what resource policies name as `aws:SourceArn`.
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }

    /// The rule's name (`Ref`, for rules on the default bus): the `RuleName`
    /// dimension of its `AWS/Events` metrics.
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }
}

/// `ApiKeyAuthParameters` of a connection: one header carrying a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiKeyAuthParameters {
    /// `ApiKeyName`: the header name, e.g. `X-Api-Key` or `Authorization`.
    pub api_key_name: String,
    /// `ApiKeyValue`: the secret. Give it as a `Ref` to a `NoEcho` parameter
    /// or a `{{resolve:secretsmanager:...}}` reference: a literal would sit
    /// in the template in plain text, and synth refuses one.
    pub api_key_value: Value<String>,
}

/// `AuthParameters` of a connection (only the API-key form is typed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthParameters {
    /// `ApiKeyAuthParameters`.
    pub api_key_auth_parameters: ApiKeyAuthParameters,
}

/// `AWS::Events::Connection`: how EventBridge authenticates to an HTTP
/// endpoint. EventBridge keeps the credentials in a Secrets Manager secret
/// it creates and rotates with the connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Connection {
    /// `Name`, up to 64 characters. Unset, CloudFormation generates one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Value<String>>,
    /// `Description`, up to 512 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `AuthorizationType`: `API_KEY` (set by [`Connection::api_key`]).
    pub authorization_type: String,
    /// `AuthParameters`.
    pub auth_parameters: AuthParameters,
}

impl Connection {
    /// An API-key connection: every request carries `header: <secret>`.
    pub fn api_key(header: impl Into<String>, secret: Value<String>) -> Self {
        Connection {
            name: None,
            description: None,
            authorization_type: "API_KEY".into(),
            auth_parameters: AuthParameters {
                api_key_auth_parameters: ApiKeyAuthParameters {
                    api_key_name: header.into(),
                    api_key_value: secret,
                },
            },
        }
    }
}

impl Handle<Connection> {
    /// The connection's ARN (`Fn::GetAtt Arn`).
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }

    /// The ARN of the Secrets Manager secret EventBridge created for it.
    pub fn secret_arn(&self) -> Value<String> {
        self.att("SecretArn")
    }
}

/// `AWS::Events::ApiDestination`: an HTTPS endpoint a rule can target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct ApiDestination {
    /// `Name`, up to 64 characters. Unset, CloudFormation generates one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Value<String>>,
    /// `Description`, up to 512 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `ConnectionArn`: the credentials to send.
    pub connection_arn: Value<String>,
    /// `InvocationEndpoint`: an `https://` URL (EventBridge refuses plain HTTP).
    pub invocation_endpoint: Value<String>,
    /// `HttpMethod`, e.g. `POST`.
    pub http_method: String,
    /// `InvocationRateLimitPerSecond`, 1..=300 (EventBridge's default 300):
    /// protects a small endpoint from a burst of events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation_rate_limit_per_second: Option<u32>,
}

impl Handle<ApiDestination> {
    /// The destination's ARN (`Fn::GetAtt Arn`): a rule target, and the
    /// resource of `events:InvokeApiDestination`.
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}

// Synth-time checks of EventBridge resources, on the rendered JSON (after
// overrides): what CloudFormation would only refuse mid-deploy, or worse,
// accept.

impl ResourceType for Rule {
    const TYPE: &'static str = "AWS::Events::Rule";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::RULE);

    /// At most 5 targets with unique ids, ARNs that are ARNs, retry
    /// limits EventBridge accepts, transformer placeholders that exist.
    fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
        let mut out = Vec::new();
        check_rule(check.logical_id(), check.properties(), &mut out);
        out.extend(empty_pattern_values(check));
        out
    }
}

impl ResourceType for Connection {
    const TYPE: &'static str = "AWS::Events::Connection";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::CONNECTION);

    /// The API key is never a literal in the template.
    fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
        let path = "AuthParameters.ApiKeyAuthParameters.ApiKeyValue";
        let value = check.property(path);
        let is_reference = value
            .as_str()
            .is_some_and(|s| s.starts_with("{{resolve:secretsmanager:"));
        if value.is_string() && !is_reference {
            return vec![check.problem(path, "a literal API key would be stored in the template in plain text; pass a Ref to a NoEcho parameter or a {{resolve:secretsmanager:...}} reference (WebhookSecret::Parameter or ::SecretsManager)")];
        }
        Vec::new()
    }
}

impl ApiDestination {
    /// Calls `invocation_endpoint` with `http_method` (e.g. `POST`),
    /// authorized by the connection `connection_arn`; no name, description
    /// or rate limit.
    pub fn new(
        connection_arn: Value<String>,
        invocation_endpoint: Value<String>,
        http_method: impl Into<String>,
    ) -> Self {
        ApiDestination {
            name: None,
            description: None,
            connection_arn,
            invocation_endpoint,
            http_method: http_method.into(),
            invocation_rate_limit_per_second: None,
        }
    }
}

impl ResourceType for ApiDestination {
    const TYPE: &'static str = "AWS::Events::ApiDestination";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::API_DESTINATION);

    /// An https:// endpoint and a rate limit within 1..=300.
    fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Some(url) = check.property("InvocationEndpoint").as_str() {
            if !url.starts_with("https://") || url.len() <= "https://".len() {
                out.push(check.problem(
                    "InvocationEndpoint",
                    format!("`{url}` is not an https:// URL; API destinations only call HTTPS endpoints"),
                ));
            }
        }
        if let Some(n) = check.property("InvocationRateLimitPerSecond").as_u64() {
            if !(1..=300).contains(&n) {
                out.push(check.problem(
                    "InvocationRateLimitPerSecond",
                    format!("{n} is outside 1..=300 requests per second"),
                ));
            }
        }
        out
    }
}

/// EventBridge refuses an event pattern with an empty list anywhere ("Empty
/// arrays are not allowed"): a field that should match nothing cannot be
/// written, and one that should match anything is left out.
fn empty_pattern_values(check: &ResourceCheck<'_>) -> Vec<Problem> {
    let pattern = check.property("EventPattern");
    crate::validate::empty_lists(pattern, "EventPattern")
        .into_iter()
        .map(|path| {
            check.problem(
                &path,
                "empty list in the event pattern, which EventBridge rejects; list at least one value, or leave the field out to match any (a notification's `.on(...)` needs at least one ExecutionStatus)",
            )
        })
        .collect()
}

fn check_rule(id: &str, props: &Json, out: &mut Vec<Problem>) {
    let empty = Vec::new();
    let targets = props["Targets"].as_array().unwrap_or(&empty);
    if targets.len() > 5 {
        out.push(Problem::new(
            id,
            "Properties.Targets",
            format!(
                "{} targets; a rule has at most 5, add another rule",
                targets.len()
            ),
        ));
    }
    let mut seen = Map::new();
    for (i, t) in targets.iter().enumerate() {
        let at = |p: &str| format!("Properties.Targets.{i}.{p}");
        let tid = t["Id"].as_str().unwrap_or("");
        let id_ok = (1..=64).contains(&tid.len())
            && tid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !id_ok {
            out.push(Problem::new(
                id,
                at("Id"),
                format!("target id `{tid}` must be 1-64 letters, digits, `.`, `-` or `_`"),
            ));
        } else if seen.insert(tid.to_string(), Json::Null).is_some() {
            out.push(Problem::new(
                id,
                at("Id"),
                format!("target id `{tid}` is used twice in this rule"),
            ));
        }
        if let Some(arn) = t["Arn"].as_str() {
            if !arn.starts_with("arn:") {
                out.push(Problem::new(
                    id,
                    at("Arn"),
                    format!(
                        "`{arn}` is not an ARN (arn:<partition>:<service>:<region>:<account>:...)"
                    ),
                ));
            }
        }
        let retry = &t["RetryPolicy"];
        if let Some(age) = retry["MaximumEventAgeInSeconds"].as_u64() {
            if !(60..=86_400).contains(&age) {
                out.push(Problem::new(
                    id,
                    at("RetryPolicy.MaximumEventAgeInSeconds"),
                    format!("{age} s is outside 60..=86400"),
                ));
            }
        }
        if let Some(n) = retry["MaximumRetryAttempts"].as_u64() {
            if n > 185 {
                out.push(Problem::new(
                    id,
                    at("RetryPolicy.MaximumRetryAttempts"),
                    format!("{n} is over EventBridge's maximum of 185 retries"),
                ));
            }
        }
        if let Some(tr) = t.get("InputTransformer") {
            check_transformer(id, &at("InputTransformer"), tr, out);
        }
    }
}

/// Every `<placeholder>` in the template must be a declared variable (or
/// one of EventBridge's predefined ones), or the rule is refused at deploy.
fn check_transformer(id: &str, at: &str, tr: &Json, out: &mut Vec<Problem>) {
    const PREDEFINED: [&str; 5] = [
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event.ingestion-time",
        "aws.events.event",
        "aws.events.event.json",
    ];
    let empty = Map::new();
    let vars = tr["InputPathsMap"].as_object().unwrap_or(&empty);
    if vars.len() > 100 {
        out.push(Problem::new(
            id,
            format!("{at}.InputPathsMap"),
            format!("{} variables; EventBridge allows 100", vars.len()),
        ));
    }
    let template = tr["InputTemplate"].as_str().unwrap_or("");
    let mut rest = template;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let name = &after[..end];
        if !vars.contains_key(name) && !PREDEFINED.contains(&name) {
            out.push(Problem::new(
                id,
                format!("{at}.InputTemplate"),
                format!("placeholder <{name}> is not declared in InputPathsMap"),
            ));
        }
        rest = &after[end + 1..];
    }
}
