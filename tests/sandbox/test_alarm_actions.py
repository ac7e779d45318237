"""CloudWatch alarm actions in the sandbox: a state change notifies the SNS topics among the actions of the new
state, with CloudWatch's notification document, as SetAlarmState does in AWS."""

from __future__ import annotations

import json

import pytest
from lambda_code import admit


@pytest.fixture
def watched(account):
    """An SNS topic with a queue subscribed (raw delivery), and a function to read what reached the queue."""
    sns, sqs = account.client("sns"), account.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    admit(account, inbox, "sns", topic)  # the queue policy SNS needs, as a template would grant it
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})

    def received():
        messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    return topic, received


def alarm(account, topic, **overrides):
    settings = {
        "AlarmName": "queue-depth",
        "AlarmDescription": "Messages wait in the DLQ",
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": "failures"}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic],
        "OKActions": [topic],
        **overrides,
    }
    account.client("cloudwatch").put_metric_alarm(**settings)
    return settings["AlarmName"]


def set_state(account, name, state, reason="testing"):
    account.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)


def test_an_alarm_notifies_its_topic_with_cloudwatchs_document(account, watched):
    topic, received = watched
    name = alarm(account, topic)
    set_state(account, name, "ALARM", "3 messages visible")

    [notification] = received()
    assert notification["AlarmName"] == "queue-depth"
    assert notification["AlarmDescription"] == "Messages wait in the DLQ"
    assert notification["NewStateValue"] == "ALARM"
    assert notification["NewStateReason"] == "3 messages visible"
    assert notification["OldStateValue"] == "OK"  # moto starts alarms in OK (AWS: INSUFFICIENT_DATA)
    assert notification["Region"] == "US East (N. Virginia)"
    assert notification["AlarmArn"].endswith(":alarm:queue-depth")
    assert notification["AlarmActions"] == [topic]
    assert notification["Trigger"] == {
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Namespace": "AWS/SQS",
        "StatisticType": "Statistic",
        "Statistic": "MAXIMUM",
        "Unit": None,
        "Dimensions": [{"value": "failures", "name": "QueueName"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
    }


def test_the_subject_names_the_state_alarm_and_region(account):
    sns, sqs = account.client("sns"), account.client("sqs")
    topic = sns.create_topic(Name="enveloped")["TopicArn"]
    inbox = sqs.create_queue(QueueName="enveloped")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    admit(account, inbox, "sns", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)  # SNS envelope: Subject and Message
    set_state(account, alarm(account, topic, AlarmName="subject"), "ALARM")

    [message] = sqs.receive_message(QueueUrl=inbox)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == 'ALARM: "subject" in US East (N. Virginia)'
    assert json.loads(envelope["Message"])["NewStateValue"] == "ALARM"


def test_each_state_runs_its_own_actions_and_only_on_a_change(account, watched):
    topic, received = watched
    name = alarm(account, topic, OKActions=[topic], InsufficientDataActions=[])
    set_state(account, name, "ALARM")
    set_state(account, name, "ALARM")  # no change: no notification
    set_state(account, name, "OK")
    set_state(account, name, "INSUFFICIENT_DATA")  # no action for this state

    assert [(n["OldStateValue"], n["NewStateValue"]) for n in received()] == [("OK", "ALARM"), ("ALARM", "OK")]


def test_disabled_actions_and_other_action_kinds_notify_nobody_but_the_state_changes(account, watched):
    topic, received = watched
    cloudwatch = account.client("cloudwatch")
    quiet = alarm(account, topic, AlarmName="quiet", ActionsEnabled=False)
    scaling = alarm(
        account,
        topic,
        AlarmName="scaling",
        AlarmActions=["arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:autoScalingGroupName/g:policyName/p"],
    )
    set_state(account, quiet, "ALARM")
    set_state(account, scaling, "ALARM")

    assert received() == []
    states = {a["AlarmName"]: a["StateValue"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert states == {"quiet": "ALARM", "scaling": "ALARM"}


def test_an_alarm_created_by_cloudformation_notifies_its_topic(account, watched):
    topic, received = watched
    template = {
        "Resources": {
            "Depth": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "from-stack",
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Statistic": "Maximum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "AlarmActions": [topic],
                },
            }
        }
    }
    account.client("cloudformation").create_stack(StackName="alarmed", TemplateBody=json.dumps(template))
    set_state(account, "from-stack", "ALARM")
    assert [n["AlarmName"] for n in received()] == ["from-stack"]
