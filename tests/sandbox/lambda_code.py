"""Small handlers for the sandbox's own tests, zipped in memory."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from typing import Any


def zip_code(source: str, filename: str = "index.py") -> bytes:
    """A deployment package holding one module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(filename, textwrap.dedent(source))
    return buffer.getvalue()


def create_function(
    session: Any,
    name: str,
    source: str,
    *,
    timeout: int = 10,
    environment: dict[str, str] | None = None,
    runtime: str = "python3.11",
    **extra: Any,
) -> str:
    """Create a function in the sandbox (with a role to satisfy the API) and return its ARN."""
    iam = session.client("iam")
    try:
        role = iam.get_role(RoleName="test-function-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName="test-function-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        # These functions test trigger semantics, not permissions: their role may do anything in its account
        # (the IAM tests use roles of their own).
        iam.put_role_policy(
            RoleName="test-function-role",
            PolicyName="anything",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
    return session.client("lambda").create_function(  # type: ignore[no-any-return]
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": zip_code(source)},
        Timeout=timeout,
        Environment={"Variables": environment or {}},
        **extra,
    )["FunctionArn"]


# A handler that records each event in an SQS queue named by OUTPUT, and fails on request.
RECORDER = """
import json, os, boto3
sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["OUTPUT"], MessageBody=json.dumps(event))
    records = event.get("Records", [])
    if records and "body" in records[0]:
        failed = [r["messageId"] for r in records if r["body"].startswith("fail")]
        if any(r["body"] == "crash" for r in records):
            raise RuntimeError("crash requested")
        if os.environ.get("BAD_RESPONSE"):
            return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
    if event.get("fail") or "fail" in json.dumps(event):
        raise ValueError("failing as asked")
    return {"ok": True}
"""


def queue_arn(session, url):
    attributes = session.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


def output_queue(session, name="output"):
    return session.client("sqs").create_queue(QueueName=name)["QueueUrl"]


def drain(session, url, wait=0):
    sqs = session.client("sqs")
    bodies: list[object] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
        if not messages:
            return bodies
        for m in messages:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def table_with_stream(session, name="items", view="NEW_IMAGE"):
    """A DynamoDB table with a stream of ``view`` images; returns the client and the stream's ARN."""
    dynamodb = session.client("dynamodb")
    table = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )["TableDescription"]
    return dynamodb, table["LatestStreamArn"]


def admit(session, destination: str, service: str, source_arn: str) -> None:
    """Add to ``destination``'s resource policy the statement AWS requires before ``service`` (``sns``, ``s3``,
    ``events``) delivers to it for ``source_arn``: a queue policy, topic policy or function permission. Test set-ups
    call it where they create by API what a template would have granted (the sandbox refuses the delivery
    otherwise, as AWS does)."""
    principal = f"{service}.amazonaws.com"
    if destination.startswith("arn:aws:lambda:") or not destination.startswith(("arn:", "http")):
        session.client("lambda").add_permission(
            FunctionName=destination,
            StatementId=f"{service}-{abs(hash(source_arn))}",
            Action="lambda:InvokeFunction",
            Principal=principal,
            SourceArn=source_arn,
        )
        return
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Resource": destination,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
    }
    if destination.startswith("arn:aws:sns:"):
        sns = session.client("sns")
        policy = json.loads(sns.get_topic_attributes(TopicArn=destination)["Attributes"]["Policy"])
        policy["Statement"].append({**statement, "Action": "sns:Publish"})
        sns.set_topic_attributes(TopicArn=destination, AttributeName="Policy", AttributeValue=json.dumps(policy))
        return
    sqs = session.client("sqs")
    url = (
        destination
        if destination.startswith("http")
        else sqs.get_queue_url(QueueName=destination.split(":")[-1])["QueueUrl"]
    )
    arn = queue_arn(session, url)
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
    policy = json.loads(current) if current else {"Version": "2012-10-17", "Statement": []}
    policy["Statement"].append({**statement, "Resource": arn, "Action": "sqs:SendMessage"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
