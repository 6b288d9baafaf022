//! Deliveries to the rule targets the rehearsal can reach, all on this
//! machine: moto's SQS (`SendMessage`, JSON protocol) and SNS (`Publish`),
//! and a webhook listening on loopback. One small HTTP/1.1 client on hyper,
//! with EventBridge's 5-second limit on an API destination call.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// EventBridge gives an API destination call 5 seconds.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// moto answers in milliseconds; this only bounds a stuck server.
const MOTO_TIMEOUT: Duration = Duration::from_secs(30);

/// An `http://` URL on this machine: what the rehearsal may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackUrl {
    pub text: String,
    host: String,
    port: u16,
    path: String,
}

impl LoopbackUrl {
    /// Refuses anything that would leave this machine, and https (the
    /// local bus has no TLS; a listener for the rehearsal speaks plain HTTP).
    pub fn parse(url: &str) -> Result<LoopbackUrl, String> {
        let refuse = || {
            format!("`{url}` is not a plain-HTTP URL on this machine; the rehearsal calls only http://127.0.0.1, http://localhost or http://[::1] (EventBridge in AWS calls only https:// endpoints, so a deployed stack needs an https URL)")
        };
        let rest = url.strip_prefix("http://").ok_or_else(refuse)?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !authority.ends_with(']') => {
                (h, p.parse::<u16>().map_err(|_| refuse())?)
            }
            _ => (authority, 80),
        };
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(refuse());
        }
        Ok(LoopbackUrl {
            text: url.to_string(),
            host: host.trim_matches(['[', ']']).to_string(),
            port,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
        })
    }
}

/// One request; the status and the body.
async fn send(
    url: &LoopbackUrl,
    method: &str,
    headers: &[(String, String)],
    body: String,
) -> Result<(u16, String)> {
    let host = if url.host == "::1" {
        "[::1]"
    } else {
        url.host.as_str()
    };
    let stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .with_context(|| format!("cannot connect to {}", url.text))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(&url.path)
        .header("host", format!("{host}:{}", url.port));
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The start of an answer, for an error message.
fn start(text: &str) -> &str {
    let end = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

/// Calls a webhook as an EventBridge API destination does: the input as
/// the body, JSON content type, the connection's API-key header.
pub async fn call_webhook(
    url: &LoopbackUrl,
    method: &str,
    headers: &[(String, String)],
    body: String,
) -> Result<()> {
    let mut all = vec![
        (
            "content-type".to_string(),
            "application/json; charset=utf-8".to_string(),
        ),
        (
            "user-agent".to_string(),
            "Amazon/EventBridge/ApiDestinations".to_string(),
        ),
    ];
    all.extend(headers.iter().cloned());
    let (status, text) = tokio::time::timeout(WEBHOOK_TIMEOUT, send(url, method, &all, body))
        .await
        .map_err(|_| anyhow!("no answer from {} within {WEBHOOK_TIMEOUT:?}", url.text))??;
    if !(200..300).contains(&status) {
        bail!("{} answered HTTP {status}: {}", url.text, start(&text));
    }
    Ok(())
}

/// moto, as the rule targets' SQS and SNS.
#[derive(Debug, Clone)]
pub struct Moto {
    pub endpoint: LoopbackUrl,
    pub region: String,
    pub account: String,
}

impl Moto {
    /// moto reads the region from the credential scope and checks no
    /// signature.
    fn auth(&self, service: &str) -> (String, String) {
        (
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/20260101/{}/{service}/aws4_request, SignedHeaders=host, Signature=0",
                crate::stack::ACCESS_KEY_ID,
                self.region
            ),
        )
    }

    /// One POST to moto, bounded so a stuck server holds up one delivery
    /// for a while, not for ever.
    async fn call(&self, headers: &[(String, String)], body: String) -> Result<(u16, String)> {
        tokio::time::timeout(MOTO_TIMEOUT, send(&self.endpoint, "POST", headers, body))
            .await
            .map_err(|_| anyhow!("moto did not answer within {MOTO_TIMEOUT:?}"))?
    }

    async fn sqs(&self, op: &str, body: Value) -> Result<Value> {
        let headers = [
            self.auth("sqs"),
            ("content-type".into(), "application/x-amz-json-1.0".into()),
            ("x-amz-target".into(), format!("AmazonSQS.{op}")),
        ];
        let (status, text) = self.call(&headers, body.to_string()).await?;
        if status != 200 {
            bail!("moto SQS {op}: HTTP {status}: {}", start(&text));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn sns(&self, form: &[(&str, &str)]) -> Result<()> {
        let body = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let headers = [
            self.auth("sns"),
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
        ];
        let (status, text) = self.call(&headers, body).await?;
        if status != 200 {
            bail!("moto SNS {}: HTTP {status}: {}", form[0].1, start(&text));
        }
        Ok(())
    }

    /// The queue's URL in moto.
    pub fn queue_url(&self, name: &str) -> String {
        format!(
            "{}/{}/{name}",
            self.endpoint.text.trim_end_matches('/'),
            self.account
        )
    }

    pub fn topic_arn(&self, name: &str) -> String {
        format!("arn:aws:sns:{}:{}:{name}", self.region, self.account)
    }

    pub async fn create_queue(&self, name: &str) -> Result<()> {
        self.sqs("CreateQueue", json!({"QueueName": name}))
            .await
            .map(drop)
    }

    pub async fn create_topic(&self, name: &str) -> Result<()> {
        self.sns(&[
            ("Action", "CreateTopic"),
            ("Name", name),
            ("Version", "2010-03-31"),
        ])
        .await
    }

    /// `SendMessage`; `attributes` become String message attributes (how
    /// EventBridge tells a dead-letter queue why).
    pub async fn send_message(
        &self,
        queue: &str,
        body: &str,
        attributes: &[(&str, String)],
    ) -> Result<()> {
        let mut req = json!({"QueueUrl": self.queue_url(queue), "MessageBody": body});
        for (k, v) in attributes {
            req["MessageAttributes"][*k] = json!({"DataType": "String", "StringValue": v});
        }
        self.sqs("SendMessage", req).await.map(drop)
    }

    /// Takes up to 10 messages (with their attributes) off a queue: how a
    /// test watches what a notification delivered. `wait_s` is SQS's long
    /// poll, which moto's server does not honour: poll instead.
    pub async fn receive_messages(&self, queue: &str, wait_s: u32) -> Result<Vec<Value>> {
        let req = json!({
            "QueueUrl": self.queue_url(queue), "MaxNumberOfMessages": 10,
            "WaitTimeSeconds": wait_s, "MessageAttributeNames": ["All"],
        });
        let got = self.sqs("ReceiveMessage", req).await?;
        let messages = got["Messages"].as_array().cloned().unwrap_or_default();
        for m in &messages {
            let handle =
                json!({"QueueUrl": self.queue_url(queue), "ReceiptHandle": m["ReceiptHandle"]});
            self.sqs("DeleteMessage", handle).await?;
        }
        Ok(messages)
    }

    pub async fn publish(&self, topic: &str, message: &str) -> Result<()> {
        let arn = self.topic_arn(topic);
        self.sns(&[
            ("Action", "Publish"),
            ("TopicArn", &arn),
            ("Message", message),
            ("Version", "2010-03-31"),
        ])
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_on_this_machine_is_called() {
        let u = LoopbackUrl::parse("http://127.0.0.1:8080/hooks/render?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/hooks/render?x=1")
        );
        let u = LoopbackUrl::parse("http://localhost").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("localhost", 80, "/")
        );
        let u = LoopbackUrl::parse("http://[::1]:9/h").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        for bad in [
            "https://127.0.0.1:8443/h",
            "http://hooks.example.com/h",
            "http://127.0.0.1.example.com/h",
            "http://10.0.0.1:80/h",
            "http://127.0.0.1:notaport/h",
        ] {
            let e = LoopbackUrl::parse(bad).unwrap_err();
            assert!(e.contains(bad) && e.contains("https://"), "{e}");
        }
    }
}
