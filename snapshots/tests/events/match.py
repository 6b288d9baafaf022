"""Evaluates an EventBridge rule pattern with moto's EventBridge (in process):
a rule with the pattern and an SQS target, one PutEvents per event, and
whether the event reached the queue. Prints a JSON list of booleans.

    python match.py spec.json     # spec: {"pattern": {...}, "events": [event, ...]}
"""
import json
import sys

import boto3
from moto import mock_aws


def main(path):
    spec = json.load(open(path))
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="matched")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(Name="render-completed", EventPattern=json.dumps(spec["pattern"]))
        events.put_targets(Rule="render-completed", Targets=[{"Id": "q", "Arn": arn}])
        results = []
        for e in spec["events"]:
            r = events.put_events(
                Entries=[
                    {
                        "Source": e["source"],
                        "DetailType": e["detail-type"],
                        "Detail": json.dumps(e["detail"]),
                        "Resources": e["resources"],
                    }
                ]
            )
            if r.get("FailedEntryCount"):
                raise SystemExit(f"PutEvents refused the event: {r}")
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            got = [json.loads(m["Body"]).get("detail", {}) for m in messages]
            results.append(any(d == e["detail"] for d in got))
        print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
