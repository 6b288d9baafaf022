//! AWS access for `deploy` and `destroy`: one place that loads the standard
//! configuration, checks credentials before anything is built or uploaded,
//! and turns SDK errors into messages a user can act on.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use clap::Args;

/// How many times the SDK tries a call. Throttling (`Rate exceeded`) is
/// common when several stacks deploy at once; the SDK's standard mode backs
/// off exponentially with jitter between attempts.
const MAX_ATTEMPTS: u32 = 8;

/// The HTTPS client of every SDK config the programs and their tests make:
/// rustls on ring with the system's CA certificates. The SDK's default
/// client is rustls on aws-lc, whose C build was the slowest crate of a
/// fresh build; the SDK takes any client, so the choice is made here once.
pub fn https_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Flags that choose the account and region, shared by deploy and destroy.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Named profile from ~/.aws/config (default: AWS_PROFILE, then `default`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region to deploy into (default: AWS_REGION, then the profile's region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// Endpoints and credentials of a local stack (`local-stack up` writes
/// them into its outputs file); a deployed stack's file has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEndpoints {
    /// S3 and STS (moto).
    pub endpoint_url: String,
    pub step_functions_endpoint_url: String,
    /// The local Lambda service (older outputs files lack it).
    pub lambda_endpoint_url: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Clients plus the facts every message needs (account, region, endpoint).
pub struct Aws {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    /// Step Functions, for starting and following renders.
    pub sfn: aws_sdk_sfn::Client,
    /// The loaded configuration, for clients of other services (endpoint
    /// and credentials included).
    pub sdk_config: aws_config::SdkConfig,
    /// A local stack's Lambda service, when it has one.
    pub lambda_endpoint: Option<String>,
    pub account: String,
    pub region: String,
    /// Set when `AWS_ENDPOINT_URL` (or the profile's `endpoint_url`) points the
    /// SDK somewhere other than AWS, e.g. a local moto server.
    pub endpoint: Option<String>,
    pub profile: Option<String>,
}

impl Aws {
    /// Loads the standard chain (env, profile, SSO, process, container, IMDS)
    /// and proves the credentials work with `sts:GetCallerIdentity`, so a
    /// missing or expired login fails in a second, not after a build.
    pub async fn connect(args: &AwsArgs) -> Result<Aws> {
        Aws::connect_to(args, None).await
    }

    /// Like [`Aws::connect`]; with `local`, every client goes to the local
    /// stack's endpoints with its credentials (profiles are not read).
    pub async fn connect_to(args: &AwsArgs, local: Option<&LocalEndpoints>) -> Result<Aws> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(l) = local {
            loader = loader
                .endpoint_url(&l.endpoint_url)
                .region(Region::new(l.region.clone()))
                .credentials_provider(aws_credential_types::Credentials::new(
                    &l.access_key_id,
                    &l.secret_access_key,
                    None,
                    None,
                    "local-stack",
                ));
        } else if let Some(p) = &args.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = args.region.as_ref().filter(|_| local.is_none()) {
            check_region_shape(r)?;
            loader = loader.region(Region::new(r.clone()));
        }
        let conf = loader.load().await;
        let profile = args
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok());
        let Some(region) = conf.region().map(|r| r.to_string()) else {
            bail!(
                "no AWS region: pass --region REGION, set AWS_REGION, or set `region` in {}",
                profile_hint(&profile)
            );
        };
        check_region_shape(&region)?;
        check_credentials(&conf, &profile).await?;
        let endpoint = conf.endpoint_url().map(str::to_string);

        let sts = aws_sdk_sts::Client::new(&conf);
        let who = sts.get_caller_identity().send().await.map_err(|e| {
            let ctx = Context {
                region: &region,
                endpoint: endpoint.as_deref(),
                profile: &profile,
            };
            explain("sts:GetCallerIdentity", &e, e.raw_response(), &ctx)
        })?;
        let account = who.account().unwrap_or("unknown").to_string();

        let mut s3 = aws_sdk_s3::config::Builder::from(&conf);
        if endpoint.is_some() {
            // Local S3 emulators serve one host; virtual-hosted bucket names
            // would need wildcard DNS.
            s3 = s3.force_path_style(true);
        }
        Ok(Aws {
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sfn: match local {
                Some(l) => aws_sdk_sfn::Client::from_conf(
                    aws_sdk_sfn::config::Builder::from(&conf)
                        .endpoint_url(&l.step_functions_endpoint_url)
                        .build(),
                ),
                None => aws_sdk_sfn::Client::new(&conf),
            },
            lambda_endpoint: local.and_then(|l| l.lambda_endpoint_url.clone()),
            sdk_config: conf,
            account,
            region,
            endpoint,
            profile,
        })
    }

    pub fn context(&self) -> Context<'_> {
        Context {
            region: &self.region,
            endpoint: self.endpoint.as_deref(),
            profile: &self.profile,
        }
    }

    /// `--region R [--profile P]` for commands we print for the user to run.
    pub fn cli_flags(&self) -> String {
        let mut s = format!("--region {}", self.region);
        if let Some(p) = &self.profile {
            s.push_str(&format!(" --profile {p}"));
        }
        if let Some(e) = &self.endpoint {
            s.push_str(&format!(" --endpoint-url {e}"));
        }
        s
    }

    pub fn describe_target(&self) -> String {
        let mut s = format!("account {}, region {}", self.account, self.region);
        if let Some(p) = &self.profile {
            s.push_str(&format!(", profile {p}"));
        }
        if let Some(e) = &self.endpoint {
            s.push_str(&format!(", endpoint {e}"));
        }
        s
    }

    /// Errors of one service call, explained. `op` names the IAM action so
    /// an AccessDenied tells the user exactly what to grant.
    pub fn explain<E>(&self, op: &str, err: &SdkError<E, HttpResponse>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        explain(op, err, err.raw_response(), &self.context())
    }
}

/// What an error message needs to know about where the call went.
pub struct Context<'a> {
    pub region: &'a str,
    pub endpoint: Option<&'a str>,
    pub profile: &'a Option<String>,
}

fn profile_hint(profile: &Option<String>) -> String {
    match profile {
        Some(p) => format!("profile `{p}` of ~/.aws/config"),
        None => "~/.aws/config".to_string(),
    }
}

/// Rejects strings that cannot be a region before they become a DNS name
/// (`cloudformation.us-esat-1.amazonaws.com` fails as an opaque dispatch error).
fn check_region_shape(region: &str) -> Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts[0].len() == 2
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        bail!(
            "`{region}` is not an AWS region name (expected something like us-east-1 or eu-west-2)"
        )
    }
}

async fn check_credentials(conf: &SdkConfig, profile: &Option<String>) -> Result<()> {
    let Some(provider) = conf.credentials_provider() else {
        bail!("no AWS credential provider is configured");
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(anyhow!(
            "no AWS credentials found. Looked in: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, {}, \
             ~/.aws/credentials, SSO, web identity, the container and instance metadata.\n\
             Fix: `aws configure` (or `aws sso login --profile NAME` and pass --profile NAME), \
             or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
            profile_hint(profile)
        )),
        Err(e) => Err(anyhow!(
            "could not load AWS credentials ({}): {}\n\
             Fix: check the profile (an expired SSO session needs `aws sso login`), or export \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
            profile
                .as_deref()
                .map_or("default chain".to_string(), |p| format!("profile {p}")),
            DisplayErrorContext(&e)
        )),
    }
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// The shared error explainer. Moto sometimes answers a Query-protocol call
/// with a JSON body the SDK cannot parse; the raw body is then the only
/// place the reason is, so it is read here too.
pub fn explain<E>(
    op: &str,
    err: &SdkError<E, HttpResponse>,
    raw: Option<&HttpResponse>,
    ctx: &Context<'_>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let where_ = match ctx.endpoint {
        Some(e) => format!("endpoint {e} (region {})", ctx.region),
        None => format!("region {}", ctx.region),
    };
    match err {
        SdkError::DispatchFailure(d) => {
            let hint = if ctx.endpoint.is_some() {
                "is the endpoint in AWS_ENDPOINT_URL running?".to_string()
            } else {
                format!(
                    "check the network and that `{}` is a region your account has enabled (--region)",
                    ctx.region
                )
            };
            let _ = d;
            anyhow!(
                "{op}: could not reach AWS at {where_}: {hint}\n  cause: {}",
                DisplayErrorContext(err)
            )
        }
        SdkError::TimeoutError(_) => {
            anyhow!("{op}: AWS at {where_} did not answer in time; retry later")
        }
        _ => {
            let code = err.code().unwrap_or("");
            let message = err
                .message()
                .map(str::to_string)
                .or_else(|| raw.and_then(raw_reason))
                .unwrap_or_default();
            let status = raw.map(|r| r.status().as_u16());
            if THROTTLING_CODES.contains(&code) {
                return anyhow!(
                    "{op}: AWS throttled the requests ({code}: {message}) and {MAX_ATTEMPTS} attempts with \
                     backoff did not get through. Wait a minute and rerun; if it persists, other tools in the \
                     account are calling the same API heavily."
                );
            }
            match code {
                "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => anyhow!(
                    "{op}: the AWS credentials have expired ({message}). Refresh them (`aws sso login`{}) and rerun.",
                    ctx.profile.as_deref().map(|p| format!(" --profile {p}")).unwrap_or_default()
                ),
                "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" | "InvalidAccessKeyId" => {
                    anyhow!(
                        "{op}: AWS rejected the credentials ({code}: {message}). Check the access key and secret, \
                         and that `{}` is enabled for the account (opt-in regions reject valid keys the same way).",
                        ctx.region
                    )
                }
                "AccessDenied" | "AccessDeniedException" | "AuthorizationError" => anyhow!(
                    "{op}: access denied ({message}). The identity needs the `{op}` permission in {}.",
                    ctx.region
                ),
                "InsufficientCapabilitiesException" | "InsufficientCapabilities" => anyhow!(
                    "{op}: the template needs a capability that was not acknowledged ({message}). \
                     Pass it with --capabilities (e.g. --capabilities CAPABILITY_NAMED_IAM)."
                ),
                "" if !message.is_empty() => anyhow!("{op} failed: {message}"),
                "" => anyhow!(
                    "{op} failed{}: {}",
                    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
                    DisplayErrorContext(err)
                ),
                _ => anyhow!("{op} failed: {code}: {message}"),
            }
        }
    }
}

/// Best-effort reason from an error body the SDK could not parse: a JSON
/// `message`, an XML `<Message>`, or the first line of text.
fn raw_reason(raw: &HttpResponse) -> Option<String> {
    let bytes = raw.body().bytes()?;
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let msg = v
            .get("message")
            .or_else(|| v.get("Message"))
            .and_then(|m| m.as_str());
        let ty = v.get("__type").and_then(|m| m.as_str());
        return match (ty, msg) {
            (Some(t), Some(m)) => Some(format!("{t}: {m}")),
            (None, Some(m)) => Some(m.to_string()),
            _ => Some(text.to_string()),
        };
    }
    if let (Some(a), Some(b)) = (text.find("<Message>"), text.find("</Message>")) {
        if a + 9 <= b {
            return Some(text[a + 9..b].to_string());
        }
    }
    if text.starts_with('<') {
        return Some(format!(
            "HTTP {} with an unparseable body",
            raw.status().as_u16()
        ));
    }
    Some(text.lines().next().unwrap_or(text).to_string())
}

/// Poll interval for waiting on CloudFormation: quick at first (small
/// stacks and local emulators finish at once), then no faster than AWS's
/// own waiters, to stay clear of DescribeStack* throttling.
pub fn poll_interval(attempt: u32) -> Duration {
    Duration::from_millis((500u64 << attempt.min(3)).min(5_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_shapes() {
        for ok in [
            "us-east-1",
            "eu-west-2",
            "us-gov-west-1",
            "ap-southeast-4",
            "cn-north-1",
        ] {
            assert!(check_region_shape(ok).is_ok(), "{ok}");
        }
        for bad in [
            "useast1",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "",
            "e-west-1",
        ] {
            assert!(check_region_shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn polling_backs_off_to_five_seconds() {
        assert_eq!(poll_interval(0), Duration::from_millis(500));
        assert_eq!(poll_interval(1), Duration::from_millis(1000));
        assert_eq!(poll_interval(10), Duration::from_millis(4000));
    }
}
