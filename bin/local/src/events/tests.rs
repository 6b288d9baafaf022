//! The bus at work against a real moto and loopback webhooks: a status
//! event reaches an SQS queue, an SNS topic (moto's Publish accepts it only
//! when the stand-in topic exists) and a webhook, a failing webhook is retried,
//! one that never answers ends in its dead-letter queue, and nothing else
//! is delivered.

use std::time::Duration;

use hyperframes_infra::notifications::Destination;
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_testkit::webhook::Webhook;
use serde_json::Value;

use super::deliver::{LoopbackUrl, Moto};
use super::EventBus;
use crate::sfn::status_event::StatusChange;
use crate::template::{resolve, Names};

fn names() -> Names {
    Names {
        stack: "bus".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        bucket: "bus-renderbucket-local".into(),
    }
}

/// A queue, a webhook that fails twice, and one nobody listens on.
fn template(flaky: &str, down: &str) -> Value {
    let mut stack = HyperframesRenderStack::default();
    let queue = "arn:aws:sqs:us-east-1:123456789012:render-events";
    stack.notify_on_completion("ToQueue", Destination::ExistingQueue(queue.into()));
    let topic = "arn:aws:sns:us-east-1:123456789012:ops-renders";
    stack.notify_on_completion("ToTopic", Destination::ExistingTopic(topic.into()));
    for (name, url) in [("Flaky", flaky), ("Down", down)] {
        let twin = url.replace("http://", "https://");
        stack.notify_on_completion(name, Destination::webhook(twin, "X-Api-Key"));
    }
    let mut t = stack.synth().unwrap().into_json();
    for (name, url) in [("Flaky", flaky), ("Down", down)] {
        t["Resources"][format!("{name}Destination")]["Properties"]["InvocationEndpoint"] =
            url.into();
    }
    t
}

fn event(sm: &str, status: &str) -> Value {
    let arn = format!("{}:hf-bus", sm.replace(":stateMachine:", ":execution:"));
    let err = ("INVALID_EVENT".to_string(), "boom".to_string());
    StatusChange {
        execution_arn: &arn,
        state_machine_arn: sm,
        name: "hf-bus",
        status,
        start_ms: 1767268800000,
        stop_ms: (status != "RUNNING").then_some(1767268801000),
        input: "{}",
        output: None,
        error: (status == "FAILED").then_some(&err),
    }
    .event("us-east-1", "123456789012", 1767268801001)
}

/// The first messages to arrive within 20 s (moto answers at once).
async fn receive(m: &Moto, queue: &str) -> Vec<Value> {
    for _ in 0..100 {
        let got = m.receive_messages(queue, 0).await.unwrap();
        if !got.is_empty() {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Vec::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_queue_and_webhooks_with_retries_and_a_dead_letter_queue() {
    let dir = std::env::temp_dir().join(format!("hf-bus-{}", std::process::id()));
    let logs = dir.join("logs");
    let moto = tokio::task::spawn_blocking(move || hyperframes_testkit::moto::Moto::start(&logs))
        .await
        .unwrap();
    let flaky = Webhook::start("/hooks/flaky", &[500, 503]);
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hooks/down", l.local_addr().unwrap())
    };
    let keys = [
        ("FlakyApiKey".to_string(), "flaky-key".to_string()),
        ("DownApiKey".to_string(), "down-key".to_string()),
    ];
    let r = resolve(&template(&flaky.url, &down), &keys, &names()).unwrap();
    let m = Moto {
        endpoint: LoopbackUrl::parse(&moto.endpoint).unwrap(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
    };
    let log = dir.join("events.log");
    let bus = EventBus::start(r.rules, m.clone(), &log, false)
        .await
        .unwrap();
    bus.sender()
        .send(event(&r.state_machine_arn, "RUNNING"))
        .unwrap();
    bus.sender()
        .send(event(&r.state_machine_arn, "FAILED"))
        .unwrap();

    let got = receive(&m, "render-events").await;
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        got.len(),
        1,
        "only the ending is delivered: {got:#?}\n{}",
        text()
    );
    let payload: Value = serde_json::from_str(got[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&payload["status"], &payload["error"]),
        (&"FAILED".into(), &"INVALID_EVENT".into())
    );

    let calls = tokio::task::spawn_blocking(move || flaky.wait_for(3, Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(calls.len(), 3, "two failures, then delivered: {calls:#?}");
    for c in &calls {
        assert_eq!(
            (c.method.as_str(), c.path.as_str()),
            ("POST", "/hooks/flaky")
        );
        assert_eq!(c.headers["x-api-key"], "flaky-key");
        assert_eq!(c.body, got[0]["Body"].as_str().unwrap());
    }

    let dead = receive(&m, "bus-DownDeadLetterQueue").await;
    assert_eq!(dead.len(), 1, "{dead:#?}");
    let body: Value = serde_json::from_str(dead[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(body["detail"]["status"], "FAILED", "the event itself");
    let why = dead[0]["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]
        .as_str()
        .unwrap();
    assert!(why.contains("cannot connect to"), "{why}");

    let lines = std::fs::read_to_string(&log).unwrap();
    let results: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["rule"].is_string())
        .map(|l| serde_json::json!([l["rule"], l["result"], l["attempt"]]))
        .collect();
    for want in [
        serde_json::json!(["ToQueueRule", "delivered", 1]),
        serde_json::json!(["ToTopicRule", "delivered", 1]),
        serde_json::json!(["FlakyRule", "retrying", 1]),
        serde_json::json!(["FlakyRule", "delivered", 3]),
        serde_json::json!(["DownRule", "failed", 3]),
        serde_json::json!(["DownRule", "dead-lettered", 3]),
    ] {
        assert!(results.contains(&want), "{want} not in {results:#?}");
    }
    bus.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
