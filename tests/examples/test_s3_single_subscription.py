"""s3-single-subscription: template assertions, the cdk-nag gate, handler unit tests (moto in-process) and bad input.

The end-to-end test, which deploys the app into a sandbox account, is tests/e2e/test_s3_single_subscription_e2e.py.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from aws_lambda_powertools.utilities.parser.exceptions import InvalidModelTypeError
from moto import mock_aws
from pydantic import ValidationError
from s3_events import TEST_EVENT, notification, s3_event, s3_record, sqs_event

from awspatterns.app import new_app
from awspatterns.blocks import acknowledge_cdk_custom_resources
from awspatterns.catalog import get_pattern
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "s3-single-subscription"
BUCKET = "uploads"
INVOICE = {"invoice_id": "inv-1", "customer": "ACME", "total": "120.00"}


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["S3SingleSubscription"])


def policy_actions(template: Template, role_prefix: str) -> dict[str, Any]:
    """Each action the role's default policy allows, with its resource."""
    policy = next(p for name, p in template.find_resources("AWS::IAM::Policy").items() if name.startswith(role_prefix))
    return {
        action: statement["Resource"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


def test_each_variant_owns_one_prefix_of_the_bucket(template):
    configuration = next(iter(template.find_resources("Custom::S3BucketNotifications").values()))["Properties"][
        "NotificationConfiguration"
    ]
    [queued] = configuration["QueueConfigurations"]
    [direct] = configuration["LambdaFunctionConfigurations"]
    for config, prefix in ((queued, "queued/"), (direct, "direct/")):
        assert config["Events"] == ["s3:ObjectCreated:*"]
        assert config["Filter"]["Key"]["FilterRules"] == [
            {"Name": "suffix", "Value": ".json"},
            {"Name": "prefix", "Value": prefix},
        ]
    assert queued["QueueArn"]["Fn::GetAtt"][0].startswith("QueuedQueue")
    assert direct["LambdaFunctionArn"]["Fn::GetAtt"][0].startswith("DirectConsumer")


def test_only_this_bucket_may_send_to_the_queue_and_invoke_the_function(template):
    queue_policy = next(
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in template.find_resources("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"][0]["Ref"].startswith("QueuedQueue")
        and "Dlq" not in p["Properties"]["Queues"][0]["Ref"]
    )
    [allow] = [s for s in queue_policy if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0].startswith("Uploads")
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Principal": "s3.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^Uploads"), "Arn"]},
        },
    )


def test_queued_consumer_takes_batches_reports_item_failures_and_outlasts_no_visibility_timeout(template):
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 2, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )
    [consumer] = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "queued.index.handler"}}
    ).values()
    timeout = consumer["Properties"]["Timeout"]
    queue = next(
        q
        for name, q in template.find_resources("AWS::SQS::Queue").items()
        if name.startswith("QueuedQueue") and "Dlq" not in name
    )
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3


def test_direct_consumer_retries_twice_within_an_hour_then_sends_failures_to_a_queue(template):
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 3600,
            "DestinationConfig": {
                "OnFailure": {"Destination": {"Fn::GetAtt": [Match.string_like_regexp("^DirectFailures"), "Arn"]}}
            },
        },
    )


def test_every_queue_is_encrypted_and_tls_only(template):
    queues = template.find_resources("AWS::SQS::Queue")
    assert len(queues) == 3  # the queue, its DLQ, the direct variant's failure queue
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_consumers_may_do_exactly_what_their_code_does(template):
    queued = policy_actions(template, "QueuedConsumerRole")
    assert set(queued) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        # the event source mapping's poller
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        # the handler
        "s3:GetObject",
        "s3:GetObjectVersion",
        "dynamodb:PutItem",
        "sqs:SendMessage",
    }
    assert queued["sqs:SendMessage"]["Fn::GetAtt"][0].startswith("QueuedQueueDlq")
    assert queued["s3:GetObject"]["Fn::Join"][1][1] == "/queued/*"
    direct = policy_actions(template, "DirectConsumerRole")
    assert direct["s3:GetObject"]["Fn::Join"][1][1] == "/direct/*"
    assert direct["sqs:SendMessage"]["Fn::GetAtt"][0].startswith("DirectFailures")  # Lambda's destination delivery
    assert not {a for a in direct if a.startswith(("s3:Put", "s3:Delete", "dynamodb:Update", "dynamodb:Delete"))}


def test_functions_are_traced_and_log_to_their_own_groups(template):
    for handler in ("queued.index.handler", "direct.index.handler"):
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Handler": handler,
                "TracingConfig": {"Mode": "Active"},
                "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp("Logs")}},
            },
        )


def test_records_are_keyed_by_object_version_with_point_in_time_recovery(template):
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "object_key", "KeyType": "HASH"},
                {"AttributeName": "version_id", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_the_stack_passes_the_nag_gate_and_acknowledges_no_wildcard_but_each_consumers_prefix(assemblies):
    assembly = assemblies[SLUG]
    assert nag_violations(assembly.directory) == []
    wildcards = {
        (path, rule.removeprefix("Annotation::"))
        for metadata_file in assembly.directory.glob("*.metadata.json")
        for path, entries in json.loads(metadata_file.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
        if "IAM5" in rule and not rule.endswith("[Resource::*]")
    }
    assert wildcards == {
        ("/S3SingleSubscription/Queued/Consumer/Role", "AwsSolutions-IAM5[Resource::<Uploads4F6EB0FD.Arn>/queued/*]"),
        ("/S3SingleSubscription/Direct/Consumer/Role", "AwsSolutions-IAM5[Resource::<Uploads4F6EB0FD.Arn>/direct/*]"),
    }


def test_the_constructs_subscribe_to_an_existing_bucket(tmp_path):
    module = load_stack_module(get_pattern(SLUG))
    app = new_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Existing", env=cdk.Environment(account="123456789012", region="us-east-1"))
    bucket = s3.Bucket.from_bucket_name(stack, "Imported", "an-existing-bucket")
    table = dynamodb.Table.from_table_name(stack, "Table", "an-existing-table")
    module.QueuedObjectConsumer(stack, "Queued", bucket=bucket, prefix="incoming/", records=table)
    module.DirectObjectConsumer(stack, "Direct", bucket=bucket, prefix="urgent/", records=table)
    acknowledge_cdk_custom_resources(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("Custom::S3BucketNotifications", {"BucketName": "an-existing-bucket"})
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    template.resource_count_is("AWS::Lambda::EventInvokeConfig", 1)


# ---------------------------------------------------------------- handlers, against moto in-process
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("RECORDS_TABLE", "invoices")
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="invoices",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "object_key", "KeyType": "HASH"},
                {"AttributeName": "version_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "object_key", "AttributeType": "S"},
                {"AttributeName": "version_id", "AttributeType": "S"},
            ],
        )
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dlq = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq)
        yield boto3.resource("dynamodb").Table("invoices")


@pytest.fixture
def queued(aws, handler_loader):
    return handler_loader(SLUG, "queued.index")


@pytest.fixture
def direct(aws, handler_loader):
    return handler_loader(SLUG, "direct.index")


def upload(key: str, document: object):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]


def event_for(key: str, version_id: str, size: int = 60):
    return notification(s3_record(BUCKET, key, size=size, version_id=version_id))


def items(table):
    return {item["object_key"]: item for item in table.scan()["Items"]}


def parked():
    url = boto3.client("sqs").get_queue_url(QueueName="dlq")["QueueUrl"]
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return messages.get("Messages", [])


def test_queued_consumer_records_each_invoice_of_a_batch(aws, queued, lambda_context):
    keys = ["queued/a.json", "queued/données été.json"]
    event = sqs_event(
        *(event_for(key, upload(key, {**INVOICE, "invoice_id": f"inv-{n}"})) for n, key in enumerate(keys))
    )
    assert queued.handler(event, lambda_context) == {"batchItemFailures": []}
    recorded = items(aws)
    assert set(recorded) == set(keys)  # the Unicode key arrives URL-encoded and is decoded
    assert recorded["queued/a.json"]["invoice_id"] == "inv-0"
    assert recorded["queued/a.json"]["consumer"] == "queued"
    assert recorded["queued/a.json"]["request_id"] == lambda_context.aws_request_id
    assert parked() == []


def test_queued_consumer_records_a_redelivered_event_once(aws, queued, lambda_context):
    version = upload("queued/once.json", INVOICE)
    event = sqs_event(event_for("queued/once.json", version))
    queued.handler(event, lambda_context)
    upload("queued/once.json", {**INVOICE, "total": "999.00"})  # a later version, not the one the event names
    queued.handler(event, replace(lambda_context, aws_request_id="second-delivery"))  # SQS delivers at least once
    [item] = aws.scan()["Items"]
    assert item["version_id"] == version and str(item["total"]) == "120.00"
    assert item["request_id"] == lambda_context.aws_request_id  # the first delivery's write stands


def test_an_event_naming_no_object_is_done_with(aws, queued, lambda_context):
    assert queued.handler(sqs_event(json.dumps({"Records": []})), lambda_context) == {"batchItemFailures": []}
    assert aws.scan()["Items"] == [] and parked() == []


def test_queued_consumer_acknowledges_the_s3_test_event(aws, queued, lambda_context):
    assert queued.handler(sqs_event(TEST_EVENT), lambda_context) == {"batchItemFailures": []}
    assert aws.scan()["Items"] == [] and parked() == []


# --8<-- [start:partial]
def test_queued_consumer_parks_the_poison_record_and_keeps_the_others(aws, queued, lambda_context):
    good = upload("queued/good.json", INVOICE)
    bad = upload("queued/bad.json", {**INVOICE, "total": "a lot"})
    event = sqs_event(event_for("queued/good.json", good), event_for("queued/bad.json", bad))

    assert queued.handler(event, lambda_context) == {"batchItemFailures": []}  # both done: one recorded, one parked

    assert set(items(aws)) == {"queued/good.json"}
    [message] = parked()
    assert message["Body"] == event["Records"][1]["body"]  # the S3 event itself, as it was queued
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ErrorType"] == "InvalidDocument"
    assert "total: Input should be a valid decimal" in attributes["ErrorMessage"]
    assert attributes["SourceMessageId"] == "msg-1"
    assert attributes["RequestID"] == lambda_context.aws_request_id


# --8<-- [end:partial]


def test_queued_consumer_leaves_a_passing_failure_to_sqs_retries(aws, queued, lambda_context):
    good = upload("queued/good.json", INVOICE)
    event = sqs_event(event_for("queued/good.json", good), event_for("queued/deleted.json", "no-such-version"))
    assert queued.handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert set(items(aws)) == {"queued/good.json"}
    assert parked() == []  # SQS delivers it again; after three receives its redrive policy moves it to the DLQ


def test_queued_consumer_reports_the_record_when_it_cannot_park_it(aws, queued, lambda_context, monkeypatch):
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/gone")
    bad = upload("queued/bad.json", b"not json")
    result = queued.handler(sqs_event(event_for("queued/bad.json", bad)), lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}  # retried, never dropped


# ---------------------------------------------------------------- bad input: every message lands somewhere
MALFORMED_MESSAGES = {
    "not json": "this is not json",
    "truncated": notification(s3_record(BUCKET, "queued/t.json"))[:-20],
    "json array": "[1, 2]",
    "records not a list": json.dumps({"Records": {"a": 1}}),
    "not from s3": json.dumps({"Records": [{"eventSource": "aws:sqs"}]}),
    "key is a number": notification(
        {**s3_record(BUCKET, "queued/s.json"), "s3": {**s3_record(BUCKET, "queued/s.json")["s3"], "object": {"key": 5}}}
    ),
    "no event time": json.dumps({"Records": [{k: v for k, v in s3_record(BUCKET, "x").items() if k != "eventTime"}]}),
}


@pytest.mark.parametrize("body", MALFORMED_MESSAGES.values(), ids=MALFORMED_MESSAGES.keys())
def test_queued_consumer_parks_malformed_messages_with_their_error(aws, queued, lambda_context, body):
    assert queued.handler(sqs_event(body), lambda_context) == {"batchItemFailures": []}
    [message] = parked()
    assert message["Body"] == body
    assert message["MessageAttributes"]["ErrorType"]["StringValue"] == "MalformedEvent"
    assert aws.scan()["Items"] == []


MALFORMED_DOCUMENTS = {
    "not json": b"this is not json",
    "truncated": json.dumps(INVOICE).encode()[:-5],
    "a list": b"[1, 2, 3]",
    "total is text": {**INVOICE, "total": "a lot"},
    "negative total": {**INVOICE, "total": "-5.00"},
    "three decimals": {**INVOICE, "total": "1.005"},
    "missing customer": {k: v for k, v in INVOICE.items() if k != "customer"},
    "unknown field": {**INVOICE, "discount": "5.00"},
    "id with spaces": {**INVOICE, "invoice_id": "inv 1"},
    "empty": b"",
}


@pytest.mark.parametrize("document", MALFORMED_DOCUMENTS.values(), ids=MALFORMED_DOCUMENTS.keys())
def test_queued_consumer_parks_malformed_documents(aws, queued, lambda_context, document):
    version = upload("queued/bad.json", document)
    assert queued.handler(sqs_event(event_for("queued/bad.json", version)), lambda_context) == {"batchItemFailures": []}
    [message] = parked()
    assert message["MessageAttributes"]["ErrorType"]["StringValue"] == "InvalidDocument"
    assert aws.scan()["Items"] == []


def test_queued_consumer_parks_an_object_too_large_to_be_an_invoice_without_reading_it(aws, queued, lambda_context):
    event = sqs_event(event_for("queued/huge.json", "v-unread", size=10 * 1024 * 1024))
    assert queued.handler(event, lambda_context) == {"batchItemFailures": []}
    [message] = parked()
    assert "more than an invoice's" in message["MessageAttributes"]["ErrorMessage"]["StringValue"]


def test_direct_consumer_records_the_invoice_an_event_names(aws, direct, lambda_context):
    version = upload("direct/a b.json", INVOICE)
    event = s3_event(s3_record(BUCKET, "direct/a b.json", size=60, version_id=version))
    assert direct.handler(event, lambda_context) == {"recorded": 1, "duplicates": 0}
    assert items(aws)["direct/a b.json"]["consumer"] == "direct"
    assert direct.handler(event, lambda_context) == {"recorded": 0, "duplicates": 1}  # a retried or repeated event
    assert len(aws.scan()["Items"]) == 1


def test_direct_consumer_ignores_other_event_types(aws, direct, lambda_context):
    event = s3_event(s3_record(BUCKET, "direct/gone.json", event_name="ObjectRemoved:Delete"))
    assert direct.handler(event, lambda_context) == {"recorded": 0, "duplicates": 0}


MALFORMED_EVENTS = {
    "empty": {},
    "a list": [],
    "records not a list": {"Records": {"a": 1}},
    "not from s3": {"Records": [{**s3_record(BUCKET, "x"), "eventSource": "aws:sqs"}]},
    "no bucket name": {
        "Records": [{**s3_record(BUCKET, "x"), "s3": {**s3_record(BUCKET, "x")["s3"], "bucket": {"arn": "arn"}}}]
    },
    "time is not a time": {"Records": [{**s3_record(BUCKET, "x"), "eventTime": "yesterday"}]},
}


@pytest.mark.parametrize("event", MALFORMED_EVENTS.values(), ids=MALFORMED_EVENTS.keys())
def test_direct_consumer_rejects_malformed_events_so_lambda_retries_then_parks_them(aws, direct, lambda_context, event):
    with pytest.raises((ValidationError, InvalidModelTypeError)):  # Powertools wraps a model validator's crash
        direct.handler(event, lambda_context)
    assert aws.scan()["Items"] == []


@pytest.mark.parametrize("document", MALFORMED_DOCUMENTS.values(), ids=MALFORMED_DOCUMENTS.keys())
def test_direct_consumer_raises_on_malformed_documents(aws, direct, lambda_context, document):
    version = upload("direct/bad.json", document)
    with pytest.raises(sys.modules["invoices"].InvalidDocument):  # the module the handler imported
        direct.handler(s3_event(s3_record(BUCKET, "direct/bad.json", size=60, version_id=version)), lambda_context)
    assert aws.scan()["Items"] == []
