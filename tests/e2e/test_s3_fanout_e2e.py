"""s3-fanout end to end: deploy into a fresh sandbox account, drive the client, check every effect, destroy."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


# --8<-- [start:e2e]
def test_every_subscriber_receives_every_upload_and_nothing_is_left(deploy_pattern):
    deployed = deploy_pattern("s3-fanout")

    report = deployed.run_client(timeout=30)

    assert len(report["objects"]) == 3
    for obj in report["objects"]:
        assert obj["indexer"]["size_bytes"] == obj["size"], obj["key"]
        assert obj["checksum"]["sha256"] == obj["sha256"], obj["key"]
        assert obj["indexer"]["deliveries"] == obj["checksum"]["deliveries"] == 1
        assert obj["audited"], obj["key"]
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def test_a_poison_message_is_retried_then_lands_in_the_failure_queue_with_its_error(deploy_pattern):
    deployed = deploy_pattern("s3-fanout")
    outputs = deployed.flat_outputs
    deployed.session.client("sns").publish(TopicArn=outputs["TopicArn"], Message="{not an S3 event")
    assert deployed.quiesce()

    sqs = deployed.session.client("sqs")
    messages = sqs.receive_message(QueueUrl=outputs["IndexerFailuresQueueUrl"], MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # the first attempt and two retries
    assert record["responsePayload"]["errorType"] == "MalformedNotification"
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == "{not an S3 event"
    assert record["requestPayload"]["Records"][0]["Sns"]["TopicArn"] == outputs["TopicArn"]
    assert deployed.destroy() == {}


def test_handler_logs_reach_cloudwatch_with_lambda_report_lines(deploy_pattern):
    deployed = deploy_pattern("s3-fanout")
    outputs = deployed.flat_outputs
    deployed.session.client("s3").put_object(Bucket=outputs["BucketName"], Key="logged.txt", Body=b"x")
    assert deployed.quiesce()

    logs = deployed.session.client("logs")
    group = next(
        g["logGroupName"] for g in logs.describe_log_groups()["logGroups"] if "IndexerLogs" in g["logGroupName"]
    )
    messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert any(m.startswith("START RequestId:") for m in messages)
    assert any(m.startswith("REPORT RequestId:") and "Duration:" in m for m in messages)
    structured = [json.loads(m) for m in messages if m.startswith("{")]
    assert any(entry.get("message") == "indexed objects" and entry.get("indexed") == 1 for entry in structured)
    assert deployed.destroy() == {}


def test_a_grant_removed_from_the_indexer_is_denied_and_the_event_parked_with_the_denial(deploy_pattern):
    """With the sandbox enforcing IAM, a missing grant fails as it would on AWS: the call is denied, Lambda
    retries, and the event lands in the failure queue naming the denied action."""
    deployed = deploy_pattern("s3-fanout")
    outputs = deployed.flat_outputs
    session = deployed.session
    iam = session.client("iam")
    indexer = next(f for f in session.client("lambda").list_functions()["Functions"] if "Indexer" in f["FunctionName"])
    role = indexer["Role"].rsplit("/", 1)[-1]
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        for statement in statements:  # the grant on the records table (its only dynamodb:UpdateItem target)
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = json.dumps(statement.get("Resource"))
            if "dynamodb:UpdateItem" in actions and "ObjectRecords" in resources:
                statement["Action"] = [a for a in actions if a != "dynamodb:UpdateItem"] or ["dynamodb:DescribeTable"]
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))

    session.client("s3").put_object(Bucket=outputs["BucketName"], Key="denied.txt", Body=b"x")
    assert deployed.quiesce()

    messages = session.client("sqs").receive_message(
        QueueUrl=outputs["IndexerFailuresQueueUrl"], MaxNumberOfMessages=10
    )["Messages"]
    records = [json.loads(m["Body"]) for m in messages]
    assert len(records) == 1 and records[0]["requestContext"]["approximateInvokeCount"] == 3
    assert "AccessDenied" in json.dumps(records[0]["responsePayload"])
    assert "dynamodb:UpdateItem" in json.dumps(records[0]["responsePayload"])
    logs = session.client("logs")
    group = next(
        g["logGroupName"] for g in logs.describe_log_groups()["logGroups"] if "IndexerLogs" in g["logGroupName"]
    )
    logged = "\n".join(e["message"] for e in logs.filter_log_events(logGroupName=group)["events"])
    assert "is not authorized to perform: dynamodb:UpdateItem" in logged
    used = deployed.sandbox.permissions(session.account_id)[indexer["Role"]]
    assert {"action": "dynamodb:UpdateItem", "decision": "denied"}.items() <= next(
        u for u in used if u["action"] == "dynamodb:UpdateItem" and "ObjectRecords" in u["resource"]
    ).items()
    assert deployed.destroy() == {}


def test_a_message_sns_cannot_deliver_lands_in_its_own_queue_and_is_republished_after_the_fix(deploy_pattern):
    """Without the function permission SNS cannot invoke the indexer: the SNS message goes to the subscription's
    dead-letter queue, not among Lambda's invocation records; once the permission is back, publishing the parked
    message again indexes the object."""
    deployed = deploy_pattern("s3-fanout")
    outputs = deployed.flat_outputs
    session = deployed.session
    lambda_ = session.client("lambda")
    function = outputs["IndexerFunctionName"]
    policy = json.loads(lambda_.get_policy(FunctionName=function)["Policy"])
    grant = next(s for s in policy["Statement"] if s["Principal"] == {"Service": "sns.amazonaws.com"})
    lambda_.remove_permission(FunctionName=function, StatementId=grant["Sid"])

    session.client("s3").put_object(Bucket=outputs["BucketName"], Key="undelivered.txt", Body=b"x")
    assert deployed.quiesce()

    sqs = session.client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=outputs["IndexerFailuresQueueUrl"], WaitTimeSeconds=0)
    parked = sqs.receive_message(
        QueueUrl=outputs["IndexerUndeliveredQueueUrl"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert len(parked) == 1
    message = json.loads(parked[0]["Body"])  # the SNS message, not a Lambda invocation record
    assert message["Type"] == "Notification" and message["TopicArn"] == outputs["TopicArn"]
    assert "requestContext" not in message
    assert json.loads(message["Message"])["Records"][0]["s3"]["object"]["key"] == "undelivered.txt"
    table = session.resource("dynamodb").Table(outputs["RecordsTable"])
    assert "Item" not in table.get_item(Key={"object_key": "undelivered.txt", "subscriber": "indexer"})

    # The fix, then the redrive of this queue's shape: publish the parked message to the topic again.
    lambda_.add_permission(
        FunctionName=function,
        StatementId=grant["Sid"],
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=outputs["TopicArn"],
    )
    session.client("sns").publish(TopicArn=message["TopicArn"], Message=message["Message"])
    sqs.delete_message(QueueUrl=outputs["IndexerUndeliveredQueueUrl"], ReceiptHandle=parked[0]["ReceiptHandle"])
    assert deployed.quiesce()
    item = table.get_item(Key={"object_key": "undelivered.txt", "subscriber": "indexer"})["Item"]
    assert item["deliveries"] == 1
    assert deployed.destroy() == {}
