"""cross-account-eventbridge: template assertions, the cdk-nag gate, handler unit tests (moto in-process) and bad
input.

The end-to-end tests, which deploy each stack into its own sandbox account, are in
tests/e2e/test_cross_account_eventbridge_e2e.py.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Match, Template
from moto import mock_aws
from pydantic import ValidationError

from awspatterns.app import new_app
from awspatterns.catalog import get_pattern
from awspatterns.sandbox.accounts import ACCOUNTS
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "cross-account-eventbridge"
SOURCE_A, SOURCE_B, OUTSIDER = ACCOUNTS["source-a"], ACCOUNTS["source-b"], ACCOUNTS["outsider"]
CENTRAL_BUS = f"arn:aws:events:us-east-1:{ACCOUNTS['main']}:event-bus/central-alarms"


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def templates(assemblies) -> dict[str, Template]:
    return {name: Template.from_json(t) for name, t in assemblies[SLUG].templates.items()}


def test_each_stack_is_for_its_own_account(assemblies):
    manifest = json.loads((assemblies[SLUG].directory / "manifest.json").read_text())["artifacts"]
    environments = {name: a["environment"] for name, a in manifest.items() if a["type"] == "aws:cloudformation:stack"}
    assert environments == {
        "AlarmsCentral": f"aws://{ACCOUNTS['main']}/us-east-1",
        "AlarmsSourceA": f"aws://{SOURCE_A}/us-east-1",
        "AlarmsSourceB": f"aws://{SOURCE_B}/us-east-1",
        "AlarmsOutsider": f"aws://{OUTSIDER}/us-east-1",
    }


def test_the_bus_policy_admits_exactly_the_source_accounts(templates):
    policies = templates["AlarmsCentral"].find_resources("AWS::Events::EventBusPolicy").values()
    statements = [p["Properties"]["Statement"] for p in policies]
    assert {s["Principal"]["AWS"] for s in statements} == {
        f"arn:aws:iam::{SOURCE_A}:root",
        f"arn:aws:iam::{SOURCE_B}:root",
    }
    assert all(s["Effect"] == "Allow" and s["Action"] == "events:PutEvents" for s in statements)
    assert OUTSIDER not in json.dumps(templates["AlarmsCentral"].to_json())


def test_the_central_rule_invokes_the_recorder_with_a_retry_policy_and_a_dead_letter_queue(templates):
    template = templates["AlarmsCentral"]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "account": [SOURCE_A, SOURCE_B],
            },
            "Targets": [
                {
                    "Arn": {"Fn::GetAtt": [Match.string_like_regexp("^Recorder"), "Arn"]},
                    "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 7200},
                    "DeadLetterConfig": {
                        "Arn": {"Fn::GetAtt": [Match.string_like_regexp("^AlarmsUndelivered"), "Arn"]}
                    },
                    "Id": Match.any_value(),
                }
            ],
        },
    )
    # AWS sends to the DLQ only if its policy admits EventBridge, for this rule
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Condition": {
                                    "ArnEquals": {
                                        "aws:SourceArn": {
                                            "Fn::GetAtt": [Match.string_like_regexp("^AlarmsAlarmStateChanges"), "Arn"]
                                        }
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
    )


def test_a_failing_recorder_is_retried_twice_then_parked(templates):
    template = templates["AlarmsCentral"]
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 3600,
            "DestinationConfig": {
                "OnFailure": {"Destination": {"Fn::GetAtt": [Match.string_like_regexp("^Failed"), "Arn"]}}
            },
        },
    )


def test_the_recorder_may_do_exactly_what_its_code_does(templates):
    template = templates["AlarmsCentral"]
    policy = next(p for n, p in template.find_resources("AWS::IAM::Policy").items() if n.startswith("RecorderRole"))
    actions = {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "sqs:SendMessage",  # Lambda's delivery to the on-failure destination
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }


@pytest.mark.parametrize("stack", ["AlarmsSourceA", "AlarmsSourceB", "AlarmsOutsider"])
def test_each_source_forwards_its_alarm_state_changes_with_a_role_that_may_only_put_on_the_central_bus(
    templates, stack
):
    template = templates[stack]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]},
            "Targets": [
                {
                    "Arn": CENTRAL_BUS,
                    "RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("^ForwarderRole"), "Arn"]},
                    "DeadLetterConfig": {
                        "Arn": {"Fn::GetAtt": [Match.string_like_regexp("^ForwarderUndelivered"), "Arn"]}
                    },
                    "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600},
                    "Id": Match.any_value(),
                }
            ],
        },
    )
    [policy] = template.find_resources("AWS::IAM::Policy").values()
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": CENTRAL_BUS}
    ]
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": {"Service": "events.amazonaws.com"}})]
            }
        },
    )


def test_every_queue_is_encrypted_and_tls_only(templates):
    for template in templates.values():
        for queue in template.find_resources("AWS::SQS::Queue").values():
            assert queue["Properties"]["SqsManagedSseEnabled"] is True
        for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
            assert any(
                s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for s in policy["Properties"]["PolicyDocument"]["Statement"]
            )


def test_the_stacks_pass_the_nag_gate(assemblies):
    assert nag_violations(assemblies[SLUG].directory) == []


def test_the_forwarder_takes_any_bus_and_pattern(tmp_path):
    module = load_stack_module(get_pattern(SLUG))
    app = new_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Existing", env=cdk.Environment(account="444455556666", region="eu-west-1"))
    module.AlarmForwarder(
        stack,
        "Security",
        central_bus_arn="arn:aws:events:eu-west-1:777788889999:event-bus/security",
        event_pattern=module.events.EventPattern(source=["aws.guardduty"]),
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"source": ["aws.guardduty"]},
            "Targets": [Match.object_like({"Arn": "arn:aws:events:eu-west-1:777788889999:event-bus/security"})],
        },
    )


# ---------------------------------------------------------------- handler, against moto in-process
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch",
    "account": SOURCE_A,
    "time": "2026-12-01T03:00:00Z",
    "region": "us-east-1",
    "resources": [f"arn:aws:cloudwatch:us-east-1:{SOURCE_A}:alarm:checkout-errors"],
    "detail": {
        "alarmName": "checkout-errors",
        "state": {"value": "ALARM", "reason": "7 errors", "timestamp": "2026-12-01T03:00:00.000+0000"},
        "previousState": {"value": "OK", "reason": "0 errors", "timestamp": "2026-12-01T02:00:00.000+0000"},
        "configuration": {"metrics": []},
    },
}


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("HISTORY_TABLE", "history")
    monkeypatch.setenv("SOURCE_ACCOUNTS", f"{SOURCE_A},{SOURCE_B}")
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="history",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "alarm", "KeyType": "HASH"}, {"AttributeName": "change", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "alarm", "AttributeType": "S"},
                {"AttributeName": "change", "AttributeType": "S"},
            ],
        )
        topic = boto3.client("sns").create_topic(Name="notifications")["TopicArn"]
        inbox = boto3.client("sqs").create_queue(QueueName="on-call")["QueueUrl"]
        inbox_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
        boto3.client("sns").subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=inbox_arn["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        monkeypatch.setenv("NOTIFICATIONS_TOPIC_ARN", topic)
        yield {"table": boto3.resource("dynamodb").Table("history"), "inbox": inbox}


@pytest.fixture
def recorder(aws, handler_loader):
    return handler_loader(SLUG, "recorder.index")


def history(aws):
    return aws["table"].scan()["Items"]


def notifications(aws):
    messages = boto3.client("sqs").receive_message(QueueUrl=aws["inbox"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_the_recorder_records_the_change_with_its_source_account_and_notifies(aws, recorder, lambda_context):
    assert recorder.handler(EVENT, lambda_context) == {
        "alarm": "checkout-errors",
        "source_account": SOURCE_A,
        "state": "ALARM",
        "new": True,
    }
    [item] = history(aws)
    assert item["alarm"] == f"{SOURCE_A}/checkout-errors"
    assert (item["source_account"], item["state"], item["previous_state"], item["notified"]) == (
        SOURCE_A,
        "ALARM",
        "OK",
        True,
    )
    assert item["time"] == "2026-12-01T03:00:00+00:00" and item["reason"] == "7 errors"
    [note] = notifications(aws)
    assert (note["source_account"], note["alarm_name"], note["state"]) == (SOURCE_A, "checkout-errors", "ALARM")


def test_a_redelivered_event_is_recorded_and_notified_once(aws, recorder, lambda_context):
    recorder.handler(EVENT, lambda_context)
    assert recorder.handler(EVENT, replace(lambda_context, aws_request_id="again"))["new"] is False
    assert len(history(aws)) == 1 and len(notifications(aws)) == 1
    assert history(aws)[0]["request_id"] == lambda_context.aws_request_id  # the first delivery's record stands


def test_a_failed_notification_is_sent_by_the_retry(aws, recorder, lambda_context, monkeypatch):
    alarms = sys.modules["alarms"]
    real = alarms.sns
    broken = boto3.client("sns", region_name="us-east-1")
    monkeypatch.setattr(alarms, "sns", broken)
    monkeypatch.setattr(broken, "publish", lambda **_: (_ for _ in ()).throw(RuntimeError("SNS is down")))
    with pytest.raises(RuntimeError, match="SNS is down"):
        recorder.handler(EVENT, lambda_context)
    assert [i["notified"] for i in history(aws)] == [False] and notifications(aws) == []
    monkeypatch.setattr(alarms, "sns", real)
    assert recorder.handler(EVENT, replace(lambda_context, aws_request_id="retry"))["new"] is True
    assert [i["notified"] for i in history(aws)] == [True] and len(notifications(aws)) == 1


def test_an_event_from_an_account_the_recorder_does_not_serve_is_refused(aws, recorder, lambda_context):
    with pytest.raises(sys.modules["alarms"].ForeignAccount, match=OUTSIDER):
        recorder.handler({**EVENT, "account": OUTSIDER}, lambda_context)
    assert history(aws) == [] and notifications(aws) == []


def with_detail(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    event["detail"].update(changes)
    return event


MALFORMED_EVENTS = {
    "a list": [EVENT],
    "a string": "checkout-errors",
    "null": None,
    "empty": {},
    "another source": {**EVENT, "source": "orders"},
    "another detail type": {**EVENT, "detail-type": "Order Placed"},
    "account not 12 digits": {**EVENT, "account": "1234"},
    "time not a time": {**EVENT, "time": "yesterday"},
    "no detail": {k: v for k, v in EVENT.items() if k != "detail"},
    "detail a string": {**EVENT, "detail": "ALARM"},
    "no alarm name": with_detail(alarmName=""),
    "alarm name too long": with_detail(alarmName="a" * 256),
    "unknown state": with_detail(state={"value": "PANIC", "reason": "", "timestamp": "t"}),
    "state without time": with_detail(state={"value": "ALARM", "reason": "x"}),
    "reason too long": with_detail(state={"value": "ALARM", "reason": "x" * 1024, "timestamp": "t"}),
    "previous state a number": with_detail(previousState=3),
}


@pytest.mark.parametrize("event", MALFORMED_EVENTS.values(), ids=MALFORMED_EVENTS.keys())
def test_the_recorder_raises_on_malformed_events_so_lambda_retries_then_parks_them(
    aws, recorder, lambda_context, event
):
    with pytest.raises(ValidationError):
        recorder.handler(event, lambda_context)
    assert history(aws) == [] and notifications(aws) == []
