"""EventBridge around a rule's target, against AWS's documented behaviour: a rule forwarding to another account's
bus with its execution role (the role must allow ``events:PutEvents`` there), refusals counted in the rule's
``AWS/Events`` metrics and parked in the target's dead-letter queue, which must itself admit EventBridge, and
CloudWatch alarm state changes forwarded to a central account with their source account."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta

from lambda_code import admit, drain, output_queue, queue_arn

_accounts = itertools.count(random.randint(7 * 10**11, 8 * 10**11))
REGION = "us-east-1"


def central_bus(sandbox, admitted_accounts=()):
    """A fresh account with a bus ``central`` whose rule puts every event in the queue ``inbox``; the bus policy
    admits ``admitted_accounts``."""
    central = sandbox.session(str(next(_accounts)))
    events = central.client("events")
    bus = events.create_event_bus(Name="central")["EventBusArn"]
    for account in admitted_accounts:
        events.put_permission(
            EventBusName="central", Action="events:PutEvents", Principal=account, StatementId=f"a{account}"
        )
    inbox = output_queue(central, "inbox")
    rule = events.put_rule(Name="all", EventBusName="central", EventPattern=json.dumps({"account": [{"exists": True}]}))
    admit(central, inbox, "events", rule["RuleArn"])
    events.put_targets(Rule="all", EventBusName="central", Targets=[{"Id": "inbox", "Arn": queue_arn(central, inbox)}])
    return central, bus, inbox


def forwarding_rule(source, bus, role=None, admit_dlq=True, pattern=None):
    """A rule on ``source``'s default bus forwarding to ``bus``, with a DLQ (admitting the rule unless told not to)."""
    events = source.client("events")
    rule = events.put_rule(Name="forward", EventPattern=json.dumps(pattern or {"source": ["orders"]}))["RuleArn"]
    dlq = output_queue(source, "forward-dlq")
    if admit_dlq:
        admit(source, dlq, "events", rule)
    target = {"Id": "central", "Arn": bus, "DeadLetterConfig": {"Arn": queue_arn(source, dlq)}}
    if role:
        target["RoleArn"] = role
    events.put_targets(Rule="forward", Targets=[target])
    return dlq


def put(session, detail=None):
    entry = {"Source": "orders", "DetailType": "Order Placed", "Detail": json.dumps(detail or {"id": "o-1"})}
    answer = session.client("events").put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0
    return answer["Entries"][0]["EventId"]


def rule_metrics(session, rule="forward"):
    """Sum of each AWS/Events metric of ``rule`` over the last hour."""
    cloudwatch = session.client("cloudwatch")
    now = datetime.now(UTC)
    sums = {}
    for metric in cloudwatch.list_metrics(Namespace="AWS/Events")["Metrics"]:
        if {"Name": "RuleName", "Value": rule} not in metric["Dimensions"]:
            continue
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Events",
            MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=5),
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        sums[metric["MetricName"]] = sum(p["Sum"] for p in points)
    return sums


def dead_letters(session, url):
    messages = session.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return [
        (json.loads(m["Body"]), {k: v["StringValue"] for k, v in m["MessageAttributes"].items()})
        for m in messages.get("Messages", [])
    ]


def events_role(session, name="forwarder"):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    return session.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def test_a_rule_role_must_allow_put_events_on_the_other_accounts_bus(sandbox):
    member = sandbox.session(str(next(_accounts)))
    central, bus, inbox = central_bus(sandbox, [member.account_id])
    role = events_role(member)
    dlq = forwarding_rule(member, bus, role=role)

    refused = put(member)
    assert drain(central, inbox) == []
    [(event, attributes)] = dead_letters(member, dlq)
    assert event["id"] == refused
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS" and attributes["TARGET_ARN"] == bus
    assert role in attributes["ERROR_MESSAGE"]

    member.client("iam").put_role_policy(
        RoleName="forwarder",
        PolicyName="send",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus}]}
        ),
    )
    delivered = put(member)
    [event] = drain(central, inbox)
    assert event["id"] == delivered and event["account"] == member.account_id
    used = sandbox.permissions(member.account_id)[role]
    assert {(u["action"], u["resource"], u["decision"]) for u in used} == {
        ("events:PutEvents", bus, "denied"),
        ("events:PutEvents", bus, "allowed"),
    }


def test_a_refused_forward_is_a_failed_invocation_of_the_rule_and_is_parked(sandbox):
    member, stranger = (sandbox.session(str(next(_accounts))) for _ in range(2))
    central, bus, inbox = central_bus(sandbox, [member.account_id])
    member_dlq, stranger_dlq = forwarding_rule(member, bus), forwarding_rule(stranger, bus)

    put(member)
    refused = put(stranger)

    assert [e["account"] for e in drain(central, inbox)] == [member.account_id]
    assert rule_metrics(member) == {"TriggeredRules": 1, "Invocations": 1}  # no failure: not even a zero
    assert rule_metrics(stranger) == {
        "TriggeredRules": 1,
        "Invocations": 1,
        "FailedInvocations": 1,
        "InvocationsSentToDlq": 1,
    }
    assert dead_letters(member, member_dlq) == []
    [(event, attributes)] = dead_letters(stranger, stranger_dlq)
    assert event["id"] == refused and attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert "does not admit account " + stranger.account_id in attributes["ERROR_MESSAGE"]


def test_a_dead_letter_queue_that_does_not_admit_eventbridge_gets_nothing_and_the_loss_is_counted(sandbox):
    stranger = sandbox.session(str(next(_accounts)))
    _, bus, _ = central_bus(sandbox)
    dlq = forwarding_rule(stranger, bus, admit_dlq=False)
    put(stranger)
    assert dead_letters(stranger, dlq) == []
    metrics = rule_metrics(stranger)
    assert metrics["FailedInvocations"] == 1 and metrics["InvocationsFailedToBeSentToDlq"] == 1
    assert "InvocationsSentToDlq" not in metrics


def test_metrics_of_a_custom_bus_rule_carry_the_bus_name(sandbox):
    central, _, _ = central_bus(sandbox)
    put_on_central = {"Source": "orders", "DetailType": "x", "Detail": "{}", "EventBusName": "central"}
    central.client("events").put_events(Entries=[put_on_central])
    [metric] = [
        m
        for m in central.client("cloudwatch").list_metrics(Namespace="AWS/Events")["Metrics"]
        if m["MetricName"] == "Invocations"
    ]
    assert sorted(metric["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "EventBusName", "Value": "central"},
        {"Name": "RuleName", "Value": "all"},
    ]


def test_alarm_state_changes_are_forwarded_to_the_central_account_with_their_source_account(sandbox):
    member = sandbox.session(str(next(_accounts)))
    central, bus, inbox = central_bus(sandbox, [member.account_id])
    forwarding_rule(
        member, bus, pattern={"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}
    )
    cloudwatch = member.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="3 errors")
    [event] = drain(central, inbox)
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["account"] == member.account_id
    assert event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{member.account_id}:alarm:errors"]
    assert event["detail"]["state"]["value"] == "ALARM" and event["detail"]["state"]["reason"] == "3 errors"
