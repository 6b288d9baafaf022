"""Prepares a moto server for render tests: Step Functions execution on,
a render function, state machines from given definitions, and queued
render-function results. Prints the created ARNs as JSON.

    sfn_setup.py <endpoint> <spec.json>

spec: {"definition": <ASL with ${RenderFunctionArn}>, "waitDefinition": <ASL>,
       "results": [<payload>...]}
"""
import io
import json
import sys
import urllib.request
import zipfile

import boto3

endpoint, spec_path = sys.argv[1], sys.argv[2]
spec = json.load(open(spec_path))


def post(path, body):
    req = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


# Interpret ASL; Lambda runs no code and answers from the queue below.
post("/moto-api/config", {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}})

kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
          aws_secret_access_key="testing")
iam, lam, sfn = boto3.client("iam", **kw), boto3.client("lambda", **kw), boto3.client("stepfunctions", **kw)
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
role = iam.create_role(RoleName="render-test", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("bootstrap", "#!/bin/sh\n")
fn = lam.create_function(FunctionName="hyperframes-render", Runtime="provided.al2023", Role=role,
                         Handler="bootstrap", Code={"ZipFile": buf.getvalue()})["FunctionArn"]
definition = json.dumps(spec["definition"]).replace("${RenderFunctionArn}", fn)
sm = sfn.create_state_machine(name="hyperframes-render", definition=definition, roleArn=role)["stateMachineArn"]
wait = sfn.create_state_machine(name="hyperframes-wait", definition=json.dumps(spec["waitDefinition"]), roleArn=role)["stateMachineArn"]
post("/moto-api/static/lambda-simple/response",
     {"results": [json.dumps(r) for r in spec["results"]], "region": "us-east-1"})
print(json.dumps({"stateMachineArn": sm, "waitStateMachineArn": wait, "functionArn": fn}))
