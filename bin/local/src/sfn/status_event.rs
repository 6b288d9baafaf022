//! The event Step Functions sends EventBridge when an execution's status
//! changes (`Step Functions Execution Status Change`, documented in the
//! Step Functions developer guide): sent on start (RUNNING) and on each
//! ending, to the local event bus.

use serde_json::{json, Value};

use hyperframes_infra::notifications::{EVENT_DETAIL_TYPE, EVENT_SOURCE};

/// EventBridge's event size limit, which Step Functions keeps under by
/// leaving out the input (then the output) when both together are larger.
const PAYLOAD_LIMIT: usize = 248 * 1024;

/// One execution at the moment its status changed.
pub struct StatusChange<'a> {
    pub execution_arn: &'a str,
    pub state_machine_arn: &'a str,
    pub name: &'a str,
    pub status: &'a str,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    pub input: &'a str,
    pub output: Option<&'a str>,
    pub error: Option<&'a (String, String)>,
}

impl StatusChange<'_> {
    /// The whole event, as EventBridge delivers it to a rule's target.
    pub fn event(&self, region: &str, account: &str, now_ms: i64) -> Value {
        let escaped = |s: &str| Value::from(s).to_string().len();
        let out_len = self.output.map_or(0, escaped);
        let input_included = escaped(self.input) + out_len <= PAYLOAD_LIMIT;
        let output_included = out_len <= PAYLOAD_LIMIT;
        let output = self.output.filter(|_| output_included);
        let redrivable = matches!(self.status, "FAILED" | "TIMED_OUT" | "ABORTED");
        json!({
            "version": "0",
            "id": event_id(self.execution_arn, self.status, now_ms),
            "detail-type": EVENT_DETAIL_TYPE,
            "source": EVENT_SOURCE,
            "account": account,
            "time": super::iso_time(now_ms),
            "region": region,
            "resources": [self.execution_arn],
            "detail": {
                "executionArn": self.execution_arn,
                "stateMachineArn": self.state_machine_arn,
                "name": self.name,
                "status": self.status,
                "startDate": self.start_ms,
                "stopDate": self.stop_ms,
                "input": if input_included { Value::from(self.input) } else { Value::Null },
                "output": output,
                "inputDetails": {"included": input_included},
                "outputDetails": self.output.map(|_| json!({"included": output_included})),
                "error": self.error.map(|e| e.0.as_str()),
                "cause": self.error.map(|e| e.1.as_str()),
                "redriveCount": 0,
                "redriveDate": null,
                "redriveStatus": if redrivable { "REDRIVABLE" } else { "NOT_REDRIVABLE" },
                "redriveStatusReason": if redrivable { Value::Null } else {
                    Value::from(format!("Execution is {} and cannot be redriven", self.status))
                },
            }
        })
    }
}

/// A UUID-shaped id, distinct per execution, status and moment.
fn event_id(arn: &str, status: &str, now_ms: i64) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (arn, status, now_ms).hash(&mut h);
    let a = h.finish();
    (a, "salt").hash(&mut h);
    let b = h.finish();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change<'a>(
        status: &'a str,
        output: Option<&'a str>,
        error: Option<&'a (String, String)>,
    ) -> StatusChange<'a> {
        StatusChange {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:hf-1",
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
            name: "hf-1",
            status,
            start_ms: 1767268800000,
            stop_ms: (status != "RUNNING").then_some(1767268861234),
            input: "{\"Config\":{}}",
            output,
            error,
        }
    }

    #[test]
    fn events_have_the_documented_shape() {
        let e = change(
            "SUCCEEDED",
            Some("{\"OutputS3Uri\":\"s3://b/o.mp4\"}"),
            None,
        )
        .event("us-east-1", "123456789012", 1767268861300);
        assert_eq!(e["source"], "aws.states");
        assert_eq!(e["detail-type"], "Step Functions Execution Status Change");
        assert_eq!(e["time"], "2026-01-01T12:01:01Z");
        assert_eq!(e["resources"][0], e["detail"]["executionArn"]);
        let d = &e["detail"];
        assert_eq!(d["status"], "SUCCEEDED");
        assert_eq!(d["startDate"], 1767268800000i64);
        assert_eq!(d["stopDate"], 1767268861234i64);
        assert_eq!(d["output"], "{\"OutputS3Uri\":\"s3://b/o.mp4\"}");
        assert_eq!(d["outputDetails"]["included"], true);
        assert_eq!((&d["error"], &d["cause"]), (&Value::Null, &Value::Null));
        let id = e["id"].as_str().unwrap();
        assert_eq!(id.len(), 36, "{id}");
        let err = ("INVALID_EVENT".to_string(), "boom".to_string());
        let f =
            change("FAILED", None, Some(&err)).event("us-east-1", "123456789012", 1767268861300);
        assert_eq!(
            (&f["detail"]["error"], &f["detail"]["cause"]),
            (&Value::from("INVALID_EVENT"), &Value::from("boom"))
        );
        assert_eq!(f["detail"]["output"], Value::Null);
        assert_ne!(f["id"], e["id"]);
        let r = change("RUNNING", None, None).event("us-east-1", "123456789012", 1767268800001);
        assert_eq!(r["detail"]["stopDate"], Value::Null);
    }

    #[test]
    fn a_payload_over_the_limit_leaves_out_the_input_first() {
        let big = format!("\"{}\"", "x".repeat(200 * 1024));
        let mut c = change("SUCCEEDED", Some(&big), None);
        let input = format!("{{\"k\":\"{}\"}}", "y".repeat(100 * 1024));
        c.input = &input;
        let d = c.event("us-east-1", "1", 0)["detail"].clone();
        assert_eq!(d["input"], Value::Null);
        assert_eq!(d["inputDetails"]["included"], false);
        assert_eq!(d["output"].as_str().map(str::len), Some(big.len()));
    }
}
