"""EventBridge in the sandbox against its documented behaviour: rule targets (Lambda, SQS, SNS, log groups, other
buses), input shaping, cross-account forwarding governed by the receiving bus's policy, dead-letter queues for
undeliverable events, and CloudWatch alarm state changes as events."""

from __future__ import annotations

import itertools
import json
import random
import re

import pytest
from lambda_code import RECORDER, admit, create_function, drain, output_queue, queue_arn

_accounts = itertools.count(random.randint(6 * 10**11, 7 * 10**11))


def rule_to(session, targets, pattern=None, bus="default", name="rule"):
    events = session.client("events")
    rule = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern or {"source": ["orders"]}))
    for target in targets:  # AWS delivers only to functions, queues and topics whose policy admits the rule
        if target["Arn"].split(":")[2] in ("lambda", "sqs", "sns"):
            admit(session, target["Arn"], "events", rule["RuleArn"])
    events.put_targets(Rule=name, EventBusName=bus, Targets=targets)


def put(session, bus="default", source="orders", detail=None):
    entry = {"Source": source, "DetailType": "Order Placed", "Detail": json.dumps(detail or {"id": "o-1"})}
    if bus != "default":
        entry["EventBusName"] = bus
    answer = session.client("events").put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0
    return answer["Entries"][0]["EventId"]


def test_a_rule_invokes_lambda_asynchronously_with_the_event_as_eventbridge_delivers_it(account, quiesce):
    output = output_queue(account)
    function = create_function(account, "on-order", RECORDER, environment={"OUTPUT": output})
    rule_to(account, [{"Id": "fn", "Arn": function}])
    event_id = put(account, detail={"id": "o-1", "total": 12.5})
    put(account, source="payments")  # does not match the rule
    assert quiesce()

    [event] = drain(account, output)
    assert event["id"] == event_id and event["source"] == "orders" and event["detail-type"] == "Order Placed"
    assert event["detail"] == {"id": "o-1", "total": 12.5}
    assert event["account"] == account.account_id and event["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert "ingestion-time" not in event


def test_input_input_path_and_transformer_shape_what_sqs_and_sns_targets_receive(account):
    sqs = account.client("sqs")
    constant, path, transformed, via_topic = (output_queue(account, n) for n in ("constant", "path", "tx", "topic"))
    sns = account.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    admit(account, via_topic, "sns", topic)  # AWS delivers only to queues whose policy admits the topic
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(account, via_topic),
        Attributes={"RawMessageDelivery": "true"},
    )
    rule_to(
        account,
        [
            {"Id": "constant", "Arn": queue_arn(account, constant), "Input": '{"fixed": true}'},
            {"Id": "path", "Arn": queue_arn(account, path), "InputPath": "$.detail"},
            {
                "Id": "tx",
                "Arn": queue_arn(account, transformed),
                "InputTransformer": {
                    "InputPathsMap": {"order": "$.detail.id", "detail": "$.detail", "nothing": "$.detail.none"},
                    "InputTemplate": '{"summary": "order <order> placed", "rule": "<aws.events.rule-name>", '
                    '"detail": <detail>, "missing": <nothing>}',
                },
            },
            {"Id": "topic", "Arn": topic},
        ],
    )
    event_id = put(account, detail={"id": "o-2"})
    assert drain(account, constant) == [{"fixed": True}]
    assert drain(account, path) == [{"id": "o-2"}]
    assert drain(account, transformed) == [
        {"summary": "order o-2 placed", "rule": "rule", "detail": {"id": "o-2"}, "missing": None}
    ]
    [via_sns] = drain(account, via_topic)
    assert via_sns["id"] == event_id and via_sns["detail"] == {"id": "o-2"}
    assert sqs.get_queue_attributes(QueueUrl=constant, AttributeNames=["All"])  # the queues still exist


def test_a_disabled_rule_delivers_nothing(account):
    output = output_queue(account)
    rule_to(account, [{"Id": "q", "Arn": queue_arn(account, output)}])
    account.client("events").disable_rule(Name="rule")
    put(account)
    assert drain(account, output) == []


def test_log_group_targets_get_the_event(account):
    logs = account.client("logs")
    logs.create_log_group(logGroupName="/events/orders")
    rule_to(account, [{"Id": "logs", "Arn": f"arn:aws:logs:us-east-1:{account.account_id}:log-group:/events/orders"}])
    event_id = put(account)
    [stream] = logs.describe_log_streams(logGroupName="/events/orders")["logStreams"]
    [entry] = logs.get_log_events(logGroupName="/events/orders", logStreamName=stream["logStreamName"])["events"]
    assert json.loads(entry["message"])["id"] == event_id


def test_cross_account_forwarding_is_governed_by_the_central_bus_policy(sandbox):
    central, member, stranger = (sandbox.session(str(next(_accounts))) for _ in range(3))
    central.client("events").create_event_bus(Name="central")
    inbox = output_queue(central, "inbox")
    rule_to(central, [{"Id": "inbox", "Arn": queue_arn(central, inbox)}], bus="central")
    central_bus = f"arn:aws:events:us-east-1:{central.account_id}:event-bus/central"

    dead_letters = {}
    for source in (member, stranger):
        dead_letters[source.account_id] = output_queue(source, "forwarding-dlq")
        admit(
            source, dead_letters[source.account_id], "events", f"arn:aws:events:us-east-1:{source.account_id}:rule/rule"
        )
        rule_to(
            source,
            [
                {
                    "Id": "central",
                    "Arn": central_bus,
                    "DeadLetterConfig": {"Arn": queue_arn(source, dead_letters[source.account_id])},
                }
            ],
        )

    refused_id = put(member)
    assert drain(central, inbox) == []  # the bus has no policy yet: only its own account may put events
    dead = member.client("sqs").receive_message(
        QueueUrl=dead_letters[member.account_id], MessageAttributeNames=["All"]
    )["Messages"][0]
    assert json.loads(dead["Body"])["id"] == refused_id
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert dead["MessageAttributes"]["TARGET_ARN"]["StringValue"] == central_bus

    central.client("events").put_permission(
        EventBusName="central", Action="events:PutEvents", Principal=member.account_id, StatementId="member"
    )
    forwarded_id = put(member, detail={"id": "from-member"})
    put(stranger, detail={"id": "from-stranger"})
    [event] = drain(central, inbox)
    # Forwarding keeps the event: its id, its source account and its detail.
    assert event["id"] == forwarded_id and event["account"] == member.account_id
    assert event["detail"] == {"id": "from-member"}
    assert drain(stranger, dead_letters[stranger.account_id])[0]["detail"] == {"id": "from-stranger"}


@pytest.mark.parametrize(
    "condition, admitted",
    [
        ({"StringEquals": {"aws:PrincipalAccount": "{member}"}}, True),
        ({"StringEquals": {"aws:PrincipalAccount": "999999999999"}}, False),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, False),  # not known to the sandbox: denied
    ],
)
def test_bus_policy_conditions_on_the_sender_account(sandbox, condition, admitted):
    central, member = (sandbox.session(str(next(_accounts))) for _ in range(2))
    central.client("events").create_event_bus(Name="central")
    inbox = output_queue(central, "inbox")
    rule_to(central, [{"Id": "inbox", "Arn": queue_arn(central, inbox)}], bus="central")
    statement = {
        "Sid": "anyone-with-condition",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": f"arn:aws:events:us-east-1:{central.account_id}:event-bus/central",
        "Condition": json.loads(json.dumps(condition).replace("{member}", member.account_id)),
    }
    central.client("events").put_permission(
        EventBusName="central", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    rule_to(member, [{"Id": "central", "Arn": statement["Resource"]}])
    put(member)
    assert len(drain(central, inbox)) == (1 if admitted else 0)


def test_an_alarm_state_change_is_an_event_on_the_default_bus(account):
    output = output_queue(account)
    rule_to(
        account,
        [{"Id": "q", "Arn": queue_arn(account, output)}],
        pattern={"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]},
    )
    cloudwatch = account.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="dlq-depth",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="dlq-depth", StateValue="ALARM", StateReason="1 message in the DLQ")
    cloudwatch.set_alarm_state(AlarmName="dlq-depth", StateValue="ALARM", StateReason="still")  # no change
    [event] = drain(account, output)
    assert event["source"] == "aws.cloudwatch" and event["account"] == account.account_id
    assert event["resources"] == [f"arn:aws:cloudwatch:us-east-1:{account.account_id}:alarm:dlq-depth"]
    detail = event["detail"]
    assert detail["alarmName"] == "dlq-depth"
    assert detail["state"]["value"] == "ALARM" and detail["previousState"]["value"] == "OK"
    metric = detail["configuration"]["metrics"][0]["metricStat"]["metric"]
    assert metric == {
        "namespace": "AWS/SQS",
        "name": "ApproximateNumberOfMessagesVisible",
        "dimensions": {"QueueName": "orders-dlq"},
    }


def test_cloudformation_creates_bus_policies_and_alarms_and_refs_to_buses_work(account):
    member = "111111111111"
    template = {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "central"}},
            "Policy": {
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {
                    "EventBusName": {"Ref": "Bus"},
                    "StatementId": "member",
                    "Statement": {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{member}:root"},
                        "Action": "events:PutEvents",
                        "Resource": {"Fn::GetAtt": ["Bus", "Arn"]},
                    },
                },
            },
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Statistic": "Maximum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                },
            },
        },
        "Outputs": {
            "BusName": {"Value": {"Ref": "Bus"}},
            "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
        },
    }
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName="central", TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName="central")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["BusName"] == "central" and ":alarm:central-Alarm-" in outputs["AlarmArn"]
    policy = json.loads(account.client("events").describe_event_bus(Name="central")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{member}:root"}

    cloudformation.delete_stack(StackName="central")
    assert account.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert [b["Name"] for b in account.client("events").list_event_buses()["EventBuses"]] == ["default"]
