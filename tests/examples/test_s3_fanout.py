"""s3-fanout: template assertions, handler unit tests (moto in-process) and bad input.

The end-to-end test, which deploys the app into a sandbox account, lives in tests/e2e/test_s3_fanout_e2e.py.
"""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from moto import mock_aws
from s3_events import TEST_EVENT, notification, s3_record, sns_event, sqs_event

from awspatterns.app import new_app
from awspatterns.catalog import get_pattern
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "s3-fanout"
BUCKET = "uploads"


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["S3Fanout"])


def test_bucket_is_private_encrypted_versioned_and_logged(template):
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "Uploads/"}),
        },
    )


def test_object_created_events_go_to_the_topic(template):
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "TopicConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "TopicArn": {"Ref": Match.string_like_regexp("ObjectEvents")},
                    }
                ]
            }
        },
    )


def test_topic_is_kms_encrypted_and_admits_only_the_bucket_over_tls(template):
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    statements = next(iter(template.find_resources("AWS::SNS::TopicPolicy").values()))["Properties"]["PolicyDocument"][
        "Statement"
    ]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert allow[0]["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow[0]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0].startswith("Uploads")
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_kms_key_lets_only_this_bucket_publish(template):
    key = next(iter(template.find_resources("AWS::KMS::Key").values()))["Properties"]
    assert key["EnableKeyRotation"] is True
    s3_statements = [s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "s3.amazonaws.com"}]
    assert len(s3_statements) == 1  # no unconditional statement beside it (SnsDestination adds one under a flag)
    conditions = s3_statements[0]["Condition"]
    assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert conditions["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0].startswith("Uploads")


def test_access_logs_are_delivered_by_a_bucket_policy_for_this_bucket_only(template):
    log_bucket_name, log_bucket = next(
        (name, b) for name, b in template.find_resources("AWS::S3::Bucket").items() if name.startswith("AccessLogs")
    )
    assert "AccessControl" not in log_bucket["Properties"]  # no LogDeliveryWrite ACL
    policy = next(
        p["Properties"]["PolicyDocument"]
        for p in template.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": log_bucket_name}
    )
    delivery = next(s for s in policy["Statement"] if s["Principal"] == {"Service": "logging.s3.amazonaws.com"})
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0].startswith("Uploads")


def test_three_independent_subscriptions(template):
    subscriptions = template.find_resources("AWS::SNS::Subscription")
    protocols = sorted(s["Properties"]["Protocol"] for s in subscriptions.values())
    assert protocols == ["lambda", "sqs", "sqs"]
    for subscription in subscriptions.values():
        properties = subscription["Properties"]
        if properties["Protocol"] == "sqs":
            assert properties["RawMessageDelivery"] is True
        else:
            assert "RedrivePolicy" in properties  # undeliverable messages go to a DLQ


def test_sns_dead_letters_and_lambda_failure_records_have_queues_of_their_own(template):
    """The two hold different shapes (an SNS message, a Lambda invocation record): one queue each."""
    subscription = next(
        s["Properties"]
        for s in template.find_resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda"
    )
    sns_dlq = subscription["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    invoke_config = next(iter(template.find_resources("AWS::Lambda::EventInvokeConfig").values()))["Properties"]
    on_failure = invoke_config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert sns_dlq.startswith("FanoutIndexerUndelivered")
    assert on_failure.startswith("FanoutIndexerFailures")
    assert sns_dlq != on_failure
    # Only SNS, for this topic only, may send to the subscription's DLQ.
    policy = next(
        p["Properties"]["PolicyDocument"]
        for p in template.find_resources("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": sns_dlq}]
    )
    allow = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"]["Ref"].startswith("FanoutObjectEvents")


def test_the_stack_passes_the_nag_gate_and_acknowledges_no_wildcard_but_the_object_reads(assemblies):
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
    assert wildcards == {("/S3Fanout/Fanout/Checksum/Role", "AwsSolutions-IAM5[Resource::<Uploads4F6EB0FD.Arn>/*]")}


def test_the_construct_subscribes_to_an_existing_topic_and_leaves_the_bucket_alone(tmp_path):
    """Given a topic another stack owns, the construct creates no topic, no key and no bucket notification."""
    module = load_stack_module(get_pattern(SLUG))
    app = new_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Combined", env=cdk.Environment(account="123456789012", region="us-east-1"))
    topic = sns.Topic.from_topic_arn(stack, "Existing", "arn:aws:sns:us-east-1:123456789012:object-events")
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", "existing-uploads")
    fanout = module.ObjectEventFanout(stack, "Fanout", bucket=bucket, topic=topic)
    assert fanout.topic is topic and fanout.topic_key is None
    combined = Template.from_stack(stack)
    combined.resource_count_is("AWS::SNS::Topic", 0)
    combined.resource_count_is("AWS::KMS::Key", 0)
    combined.resource_count_is("Custom::S3BucketNotifications", 0)
    combined.resource_count_is("AWS::SNS::Subscription", 3)
    for subscription in combined.find_resources("AWS::SNS::Subscription").values():
        assert subscription["Properties"]["TopicArn"] == topic.topic_arn


def test_indexer_retries_then_sends_failures_to_a_queue(template):
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"MaximumRetryAttempts": 2, "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}}},
    )


def test_checksum_consumer_reports_batch_item_failures(template):
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )


def test_every_queue_is_encrypted_tls_only_and_work_queues_have_a_dlq(template):
    queues = template.find_resources("AWS::SQS::Queue")
    assert len(queues) == 6
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    work_queues = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert len(work_queues) == 2
    assert all(q["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3 for q in work_queues)
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_checksum_queue_visibility_is_six_times_the_consumer_timeout(template):
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "checksum.index.handler"}})
    timeout = next(iter(functions.values()))["Properties"]["Timeout"]
    template.has_resource_properties(
        "AWS::SQS::Queue", {"VisibilityTimeout": 6 * timeout, "RedrivePolicy": Match.any_value()}
    )


def test_functions_are_traced_and_log_to_their_own_groups(template):
    for handler in ("indexer.index.handler", "checksum.index.handler"):
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Handler": handler,
                "TracingConfig": {"Mode": "Active"},
                "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp("Logs")}},
            },
        )
    template.resource_properties_count_is("AWS::Logs::LogGroup", {"RetentionInDays": 30}, 2)


def test_checksum_reads_objects_only_and_writes_its_records_only(template):
    policies = template.find_resources("AWS::IAM::Policy")
    checksum_policy = next(p for name, p in policies.items() if name.startswith("FanoutChecksumRole"))
    actions = {
        a
        for s in checksum_policy["Properties"]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"s3:GetObject", "s3:GetObjectVersion", "dynamodb:UpdateItem"} <= actions
    assert not any(a.startswith("s3:Put") or a.startswith("s3:Delete") or a == "s3:*" for a in actions)


def test_tables_have_point_in_time_recovery(template):
    tables = template.find_resources("AWS::DynamoDB::Table")
    assert len(tables) == 2
    for table in tables.values():
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


# ---------------------------------------------------------------- handlers, against moto in-process
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("RECORDS_TABLE", "records")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="records",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "object_key", "KeyType": "HASH"},
                {"AttributeName": "subscriber", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "object_key", "AttributeType": "S"},
                {"AttributeName": "subscriber", "AttributeType": "S"},
            ],
        )
        dynamodb.create_table(
            TableName="idempotency",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield boto3.resource("dynamodb").Table("records")


def records(table, key):
    items = table.query(KeyConditionExpression="object_key = :k", ExpressionAttributeValues={":k": key})["Items"]
    return {item["subscriber"]: item for item in items}


@pytest.fixture
def indexer(aws, handler_loader):
    return handler_loader(SLUG, "indexer.index")


@pytest.fixture
def checksum(aws, handler_loader):
    return handler_loader(SLUG, "checksum.index")


def put(key: str, body: bytes):
    return boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]


def test_indexer_records_metadata_with_decoded_unicode_key(aws, indexer, lambda_context):
    key = "rapports/données été 2026+final.csv"
    result = indexer.handler(sns_event(notification(s3_record(BUCKET, key, size=42))), lambda_context)
    assert result == {"indexed": 1, "ignored": 0}
    item = records(aws, key)["indexer"]
    assert item["size_bytes"] == 42
    assert item["bucket_name"] == BUCKET
    assert item["deliveries"] == 1


# --8<-- [start:duplicate]
def test_indexer_processes_a_duplicate_delivery_once(aws, indexer, lambda_context):
    event = sns_event(notification(s3_record(BUCKET, "a.txt")))
    indexer.handler(event, lambda_context)
    indexer.handler(event, lambda_context)  # SNS redelivers
    assert records(aws, "a.txt")["indexer"]["deliveries"] == 1
    # A new version of the same key is a new event, processed again.
    indexer.handler(
        sns_event(notification(s3_record(BUCKET, "a.txt", version_id="v2", sequencer="0A2"))), lambda_context
    )
    assert records(aws, "a.txt")["indexer"]["deliveries"] == 2


# --8<-- [end:duplicate]


def test_indexer_acknowledges_the_s3_test_event(aws, indexer, lambda_context):
    assert indexer.handler(sns_event(TEST_EVENT), lambda_context) == {"indexed": 0, "ignored": 0}
    assert aws.scan()["Items"] == []


def test_indexer_ignores_other_event_types_visibly(aws, indexer, lambda_context):
    event = sns_event(notification(s3_record(BUCKET, "gone.txt", event_name="ObjectRemoved:Delete")))
    assert indexer.handler(event, lambda_context) == {"indexed": 0, "ignored": 1}


def test_indexer_accepts_unknown_extra_keys(aws, indexer, lambda_context):
    record = s3_record(BUCKET, "extra.txt")
    record["newField"] = {"added": "by AWS"}
    record["s3"]["object"]["checksumAlgorithm"] = "CRC64NVME"
    indexer.handler(sns_event(notification(record)), lambda_context)
    assert "indexer" in records(aws, "extra.txt")


BAD_MESSAGES = {
    "not json": "this is not json",
    "truncated": notification(s3_record(BUCKET, "t.txt"))[:-20],
    "json array": "[1, 2]",
    "no records": json.dumps({"Records": []}),
    "records not a list": json.dumps({"Records": {"a": 1}}),
    "not from s3": json.dumps({"Records": [{"eventSource": "aws:sqs"}]}),
    "size is text": notification(
        {
            **s3_record(BUCKET, "s.txt"),
            "s3": {
                **s3_record(BUCKET, "s.txt")["s3"],
                "object": {"key": "s.txt", "size": "five", "sequencer": "1"},
            },
        }
    ),
    "negative size": notification(s3_record(BUCKET, "n.txt", size=-1)),
    "no sequencer": notification(
        {
            **s3_record(BUCKET, "q.txt"),
            "s3": {**s3_record(BUCKET, "q.txt")["s3"], "object": {"key": "q.txt", "size": 1}},
        }
    ),
    "no object": notification(
        {
            **s3_record(BUCKET, "o.txt"),
            "s3": {k: v for k, v in s3_record(BUCKET, "o.txt")["s3"].items() if k != "object"},
        }
    ),
    "key too long": notification(s3_record(BUCKET, "é" * 513)),
    "empty key": notification(s3_record(BUCKET, "")),
    "event time not a time": notification({**s3_record(BUCKET, "t.txt"), "eventTime": "yesterday"}),
}


@pytest.mark.parametrize("message", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_indexer_raises_on_malformed_messages_so_lambda_retries_then_dead_letters(
    aws, indexer, lambda_context, message
):
    with pytest.raises(indexer.MalformedNotification):
        indexer.handler(sns_event(message), lambda_context)
    assert aws.scan()["Items"] == []


@pytest.mark.parametrize(
    "event",
    [{}, {"Records": [{"Sns": {"Message": 5}}]}, [], "text", {"Records": [{"EventSource": "aws:sqs"}]}],
    ids=["empty", "message not a string", "not an object", "a string", "not from sns"],
)
def test_indexer_rejects_events_that_are_not_sns(indexer, lambda_context, event):
    with pytest.raises(indexer.MalformedNotification):
        indexer.handler(event, lambda_context)


def test_checksum_stores_the_sha256_of_the_exact_version(aws, checksum, lambda_context):
    body = b"first version"
    version = put("doc.txt", body)
    put("doc.txt", b"second version, uploaded before the consumer ran")
    event = sqs_event(notification(s3_record(BUCKET, "doc.txt", version_id=version)))
    assert checksum.handler(event, lambda_context) == {"batchItemFailures": []}
    item = records(aws, "doc.txt")["checksum"]
    assert item["sha256"] == hashlib.sha256(body).hexdigest()
    assert item["size_bytes"] == len(body)


def test_checksum_reports_only_the_failing_records(aws, checksum, lambda_context):
    good = put("good.bin", b"\x00" * 3_000_000)
    event = sqs_event(
        notification(s3_record(BUCKET, "good.bin", version_id=good)),
        "{not json",
        notification(s3_record(BUCKET, "missing.bin", version_id=None)),  # deleted before we read it
        TEST_EVENT,
    )
    result = checksum.handler(event, lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-2"}]}
    assert records(aws, "good.bin")["checksum"]["sha256"] == hashlib.sha256(b"\x00" * 3_000_000).hexdigest()


def test_checksum_processes_a_redelivered_message_once(aws, checksum, lambda_context):
    version = put("once.txt", b"x")
    event = sqs_event(notification(s3_record(BUCKET, "once.txt", version_id=version)))
    checksum.handler(event, lambda_context)
    checksum.handler(event, lambda_context)
    assert records(aws, "once.txt")["checksum"]["deliveries"] == 1


@pytest.mark.parametrize("message", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_checksum_reports_malformed_messages_as_batch_item_failures(aws, checksum, lambda_context, message):
    assert checksum.handler(sqs_event(message), lambda_context) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert aws.scan()["Items"] == []
