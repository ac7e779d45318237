"""dead-letter-queue: template assertions, the cdk-nag gate, handler unit tests (moto in-process) and bad input.

The end-to-end tests, which deploy the app into a sandbox account, are in tests/e2e/test_dead_letter_queue_e2e.py.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from pydantic import ValidationError
from s3_events import sqs_event

from awspatterns.app import new_app
from awspatterns.catalog import get_pattern
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "dead-letter-queue"
PARAMETER = "/DeadLetterQueue/accepted-currencies"
ORDER = {"order_id": "o-1", "amount": "120.00", "currency": "EUR"}
JPY = {"order_id": "o-2", "amount": "1200.00", "currency": "JPY"}


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["DeadLetterQueue"])


def logical_id(template: Template, type_: str, prefix: str) -> str:
    [name] = [n for n in template.find_resources(type_) if n.startswith(prefix)]
    return name


def actions_of(template: Template, role_prefix: str) -> dict[str, Any]:
    policy = next(p for n, p in template.find_resources("AWS::IAM::Policy").items() if n.startswith(role_prefix))
    return {
        action: statement["Resource"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


def test_the_worker_retries_twice_within_an_hour_then_parks_in_the_failure_queue(template):
    failures = logical_id(template, "AWS::SQS::Queue", "OrderWorkerFailures")
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": Match.string_like_regexp("^OrderWorker[0-9A-F]")},
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 3600,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [failures, "Arn"]}}},
        },
    )


def test_the_failure_queue_is_the_replay_queues_dlq_so_a_move_task_may_redrive_it(template):
    failures = logical_id(template, "AWS::SQS::Queue", "OrderWorkerFailures")
    replay = template.find_resources("AWS::SQS::Queue")[logical_id(template, "AWS::SQS::Queue", "OrderWorkerReplay")]
    assert replay["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [failures, "Arn"]},
        "maxReceiveCount": 3,
    }
    [replayer] = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "replayer.index.handler"}}
    ).values()
    assert replay["Properties"]["VisibilityTimeout"] >= 6 * replayer["Properties"]["Timeout"]
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^OrderWorkerReplay"), "Arn"]},
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )
    assert replayer["Properties"]["Environment"]["Variables"]["SETTINGS_MAX_AGE_SECONDS"] == "0"


def test_an_alarm_on_the_failure_queues_depth_notifies_the_alerts_topic_both_ways(template):
    failures = logical_id(template, "AWS::SQS::Queue", "OrderWorkerFailures")
    topic = {"Ref": logical_id(template, "AWS::SNS::Topic", "Alerts")}
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [failures, "QueueName"]}}],
            "Statistic": "Maximum",
            "Period": 60,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [topic],
            "OKActions": [topic],
        },
    )


def test_only_this_accounts_alarms_may_publish_to_the_encrypted_topic(template):
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    statements = next(iter(template.find_resources("AWS::SNS::TopicPolicy").values()))["Properties"]["PolicyDocument"][
        "Statement"
    ]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in json.dumps(allow["Condition"]["ArnLike"])
    key = next(iter(template.find_resources("AWS::KMS::Key").values()))["Properties"]
    [cloudwatch] = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch["Condition"] == allow["Condition"]


def test_the_classic_variant_sends_failed_events_to_its_function_dlq(template):
    dead_letters = logical_id(template, "AWS::SQS::Queue", "ClassicDeadLetters")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "worker.index.handler",
            "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]}},
        },
    )
    assert actions_of(template, "ClassicFunctionRole")["sqs:SendMessage"] == {"Fn::GetAtt": [dead_letters, "Arn"]}


def test_functions_may_do_exactly_what_their_code_does(template):
    common = {"logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:PutItem", "ssm:GetParameter"}
    destination = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}  # Lambda's delivery
    assert set(actions_of(template, "OrderWorkerRole")) == common | destination
    poller = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}
    assert set(actions_of(template, "OrderWorkerReplayerRole")) == common | poller | {
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
    }
    assert set(actions_of(template, "ClassicFunctionRole")) == common | {"sqs:SendMessage"}
    for role in ("OrderWorkerRole", "OrderWorkerReplayerRole", "ClassicFunctionRole"):
        assert "accepted-currencies" not in json.dumps(actions_of(template, role)["ssm:GetParameter"])  # by Ref
        assert actions_of(template, role)["ssm:GetParameter"]["Fn::Join"][1][-1]["Ref"].startswith("AcceptedCurrencies")


def test_the_flag_is_a_named_parameter_that_starts_broken(template):
    template.has_resource_properties("AWS::SSM::Parameter", {"Name": PARAMETER, "Value": "EUR,USD", "Type": "String"})


def test_every_queue_is_encrypted_and_tls_only(template):
    queues = template.find_resources("AWS::SQS::Queue")
    assert len(queues) == 5  # failures, replay, classic DLQ, on-call queue and its DLQ
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_the_stack_passes_the_nag_gate_without_acknowledging_any_wildcard_of_its_own(assemblies):
    assembly = assemblies[SLUG]
    assert nag_violations(assembly.directory) == []
    wildcards = {
        path
        for metadata_file in assembly.directory.glob("*.metadata.json")
        for path, entries in json.loads(metadata_file.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
        if "IAM5" in rule
    }
    assert {path.rsplit("/", 1)[-1] for path in wildcards} == {"XRay"}


def test_the_construct_notifies_an_existing_topic(tmp_path):
    module = load_stack_module(get_pattern(SLUG))
    app = new_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Existing", env=cdk.Environment(account="123456789012", region="us-east-1"))
    topic = sns.Topic.from_topic_arn(stack, "Topic", "arn:aws:sns:us-east-1:123456789012:on-call")
    module.AsyncFunctionWithRedrive(
        stack,
        "Jobs",
        code_dir=module.HANDLERS,
        handler="worker.index.handler",
        replay_handler="replayer.index.handler",
        description="jobs",
        environment={},
        alarm_topic=topic,
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmActions": ["arn:aws:sns:us-east-1:123456789012:on-call"]}
    )


# ---------------------------------------------------------------- handlers, against moto in-process
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("ORDERS_TABLE", "orders")
    monkeypatch.setenv("ACCEPTED_CURRENCIES_PARAMETER", PARAMETER)
    monkeypatch.setenv("SETTINGS_MAX_AGE_SECONDS", "0")
    parameters.clear_caches()
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="orders",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        )
        boto3.client("ssm").put_parameter(Name=PARAMETER, Value="EUR,USD", Type="String")
        failures = boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
        monkeypatch.setenv("FAILURES_QUEUE_URL", failures)
        yield boto3.resource("dynamodb").Table("orders")
    parameters.clear_caches()


@pytest.fixture
def worker(aws, handler_loader):
    return handler_loader(SLUG, "worker.index")


@pytest.fixture
def replayer(aws, handler_loader):
    return handler_loader(SLUG, "replayer.index")


def accept(currencies: str) -> None:
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=currencies, Type="String", Overwrite=True)


def recorded(table):
    return {item["order_id"]: item for item in table.scan()["Items"]}


def invocation_record(event: Any, error: str = "UnsupportedCurrency", attempts: int = 3) -> str:
    """What Lambda sends to the on-failure destination after the last attempt."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-28T12:00:00.000Z",
            "requestContext": {
                "requestId": "r-1",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:worker:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": error, "errorMessage": "it failed", "stackTrace": []},
        }
    )


def parked_again():
    url = boto3.client("sqs").get_queue_url(QueueName="failures")["QueueUrl"]
    response = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return response.get("Messages", [])


def test_the_worker_records_an_order(aws, worker, lambda_context):
    assert worker.handler(ORDER, lambda_context) == {"order_id": "o-1", "recorded": True}
    item = recorded(aws)["o-1"]
    assert (str(item["amount"]), item["currency"], item["recorded_by"]) == ("120.00", "EUR", "worker")


def test_the_worker_records_a_repeated_event_once(aws, worker, lambda_context):
    worker.handler(ORDER, lambda_context)
    assert worker.handler(ORDER, replace(lambda_context, aws_request_id="again")) == {
        "order_id": "o-1",
        "recorded": False,
    }
    assert recorded(aws)["o-1"]["request_id"] == lambda_context.aws_request_id  # the first write stands


def test_the_worker_fails_on_a_currency_until_it_is_accepted(aws, worker, lambda_context):
    with pytest.raises(sys.modules["orders"].UnsupportedCurrency, match="JPY is not an accepted currency"):
        worker.handler(JPY, lambda_context)
    assert recorded(aws) == {}
    accept("EUR,USD,JPY")
    assert worker.handler(JPY, lambda_context)["recorded"] is True


MALFORMED_ORDERS = {
    "a list": [ORDER],
    "a string": "o-1",
    "a number": 42,
    "null": None,
    "empty": {},
    "no currency": {k: v for k, v in ORDER.items() if k != "currency"},
    "amount is text": {**ORDER, "amount": "twelve"},
    "three decimals": {**ORDER, "amount": "1.005"},
    "negative amount": {**ORDER, "amount": "-1.00"},
    "amount too large": {**ORDER, "amount": "12345678901.00"},
    "currency in lower case": {**ORDER, "currency": "eur"},
    "order id with spaces": {**ORDER, "order_id": "o 1"},
    "order id too long": {**ORDER, "order_id": "o" * 65},
    "unknown field": {**ORDER, "discount": "5.00"},
    "amount is a list": {**ORDER, "amount": ["1.00"]},
}


@pytest.mark.parametrize("event", MALFORMED_ORDERS.values(), ids=MALFORMED_ORDERS.keys())
def test_the_worker_raises_on_malformed_events_so_lambda_retries_then_parks_them(aws, worker, lambda_context, event):
    with pytest.raises(ValidationError):
        worker.handler(event, lambda_context)
    assert recorded(aws) == {}


# --8<-- [start:replay]
def test_a_redrive_records_what_the_fix_allows_and_parks_the_rest_again_at_once(aws, replayer, lambda_context):
    accept("EUR,USD,JPY")  # the fix
    malformed = {**ORDER, "order_id": "o-3", "amount": "twelve"}
    batch = sqs_event(invocation_record(JPY), invocation_record(malformed, "ValidationError"))

    assert replayer.handler(batch, lambda_context) == {"batchItemFailures": []}  # nothing left for SQS to retry

    assert recorded(aws)["o-2"]["recorded_by"] == "replay"
    [parked] = parked_again()
    assert parked["Body"] == batch["Records"][1]["body"]  # Lambda's invocation record, unchanged
    attributes = {k: v["StringValue"] for k, v in parked["MessageAttributes"].items()}
    assert attributes["ReplayErrorType"] == "ValidationError"
    assert "amount" in attributes["ReplayErrorMessage"]
    assert attributes["ReplayCount"] == "1"
    assert attributes["ReplayRequestId"] == lambda_context.aws_request_id


# --8<-- [end:replay]


def test_a_redrive_before_the_fix_parks_everything_again_and_counts_the_replays(aws, replayer, lambda_context):
    event = sqs_event(invocation_record(JPY))
    event["Records"][0]["messageAttributes"] = {
        "ReplayCount": {"stringValue": "2", "dataType": "Number", "stringListValues": [], "binaryListValues": []}
    }
    assert replayer.handler(event, lambda_context) == {"batchItemFailures": []}
    [parked] = parked_again()
    assert parked["MessageAttributes"]["ReplayErrorType"]["StringValue"] == "UnsupportedCurrency"
    assert parked["MessageAttributes"]["ReplayCount"]["StringValue"] == "3"
    assert recorded(aws) == {}


def test_a_record_replayed_twice_is_recorded_once(aws, replayer, lambda_context):
    accept("EUR,USD,JPY")
    event = sqs_event(invocation_record(JPY))
    replayer.handler(event, lambda_context)
    replayer.handler(event, replace(lambda_context, aws_request_id="second"))
    assert recorded(aws)["o-2"]["request_id"] == lambda_context.aws_request_id
    assert parked_again() == []


def test_a_passing_failure_is_left_to_sqs_retries(aws, replayer, lambda_context, monkeypatch):
    accept("EUR,USD,JPY")
    missing = boto3.resource("dynamodb").Table("no-such-table")  # any AWS error: throttling, an outage
    monkeypatch.setattr(sys.modules["orders"], "orders", missing)
    assert replayer.handler(sqs_event(invocation_record(JPY)), lambda_context) == {
        "batchItemFailures": [{"itemIdentifier": "msg-0"}]
    }
    assert parked_again() == []  # SQS delivers it again; after three receives its redrive policy parks it


def test_a_record_that_cannot_be_parked_again_is_reported_not_dropped(aws, replayer, lambda_context, monkeypatch):
    monkeypatch.setenv("FAILURES_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/gone")
    result = replayer.handler(sqs_event(invocation_record(JPY)), lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}


MALFORMED_RECORDS = {
    "not json": "this is not json",
    "truncated": invocation_record(JPY)[:-30],
    "a json array": "[1, 2]",
    "no request context": json.dumps({"version": "1.0", "timestamp": "t", "requestPayload": JPY}),
    "attempts are text": invocation_record(JPY).replace('"approximateInvokeCount": 3', '"approximateInvokeCount": "x"'),
    "payload not an order": invocation_record({"Records": []}),
    "payload missing": json.dumps(
        {k: v for k, v in json.loads(invocation_record(JPY)).items() if k != "requestPayload"}
    ),
}


@pytest.mark.parametrize("body", MALFORMED_RECORDS.values(), ids=MALFORMED_RECORDS.keys())
def test_the_replayer_parks_malformed_records_again_with_their_error(aws, replayer, lambda_context, body):
    accept("EUR,USD,JPY")
    assert replayer.handler(sqs_event(body), lambda_context) == {"batchItemFailures": []}
    [parked] = parked_again()
    assert parked["Body"] == body
    assert parked["MessageAttributes"]["ReplayErrorType"]["StringValue"] == "ValidationError"
    assert recorded(aws) == {}
