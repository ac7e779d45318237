"""cross-account-eventbridge end to end: deploy each stack into its own fresh sandbox account, change alarms in the
source accounts and in an outsider account, account for every change, break the handler and the delivery on
purpose (nothing is lost), destroy."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def queue_depth(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


# --8<-- [start:e2e]
def test_alarms_from_every_admitted_account_arrive_with_their_source_account_and_the_outsider_is_refused(
    deploy_pattern,
):
    deployed = deploy_pattern("cross-account-eventbridge")
    accounts = deployed.accounts
    outputs = deployed.flat_outputs
    assert outputs["AlarmsSourceAAccount"] == accounts["source-a"]  # each stack in its own account
    assert outputs["AlarmsOutsiderAccount"] == accounts["outsider"]

    report = deployed.run_client(timeout=30)

    recorded = {(r["source_account"], r["alarm_name"], r["previous_state"], r["state"]) for r in report["recorded"]}
    alarm_a, alarm_b = outputs["AlarmsSourceAAlarmName"], outputs["AlarmsSourceBAlarmName"]
    assert recorded == {
        (accounts["source-a"], alarm_a, "OK", "ALARM"),
        (accounts["source-b"], alarm_b, "OK", "ALARM"),
        (accounts["source-b"], alarm_b, "ALARM", "OK"),
    }
    assert all(r["notified"] for r in report["recorded"]) and len(report["notified"]) == 3
    assert {(n["source_account"], n["state"]) for n in report["notified"]} == {
        (accounts["source-a"], "ALARM"),
        (accounts["source-b"], "ALARM"),
        (accounts["source-b"], "OK"),
    }
    [refused] = report["refused"]  # the outsider's forward: refused by the bus policy, visible in its account
    attributes = {k: v["StringValue"] for k, v in refused["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS" and attributes["TARGET_ARN"] == outputs["CentralBusArn"]
    assert json.loads(refused["Body"])["account"] == accounts["outsider"]
    metrics = report["outsider_metrics"]
    assert (metrics["FailedInvocations"], metrics["InvocationsSentToDlq"]) == (1, 1)
    assert report["final"] == {"changed": 4, "recorded": 3, "refused": 1, "parked": 0}

    deployed.record_permissions()  # what the recorder's role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def set_alarm(deployed, stack, state, reason):
    outputs = deployed.flat_outputs
    cloudwatch = deployed.session_for(outputs[f"{stack}Account"]).client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=outputs[f"{stack}AlarmName"], StateValue=state, StateReason=reason)


def test_a_failing_handler_parks_the_event_with_its_error_after_lambdas_retries(deploy_pattern):
    deployed = deploy_pattern("cross-account-eventbridge")
    outputs, central = deployed.flat_outputs, deployed.session
    iam = central.client("iam")
    role = central.client("lambda").get_function(FunctionName=outputs["RecorderFunctionName"])["Configuration"]["Role"]
    role_name = role.rsplit("/", 1)[-1]
    for policy in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:  # take sns:Publish away
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy)["PolicyDocument"]
        kept = [s for s in document["Statement"] if s["Action"] != "sns:Publish"]
        iam.put_role_policy(
            RoleName=role_name, PolicyName=policy, PolicyDocument=json.dumps({**document, "Statement": kept})
        )

    set_alarm(deployed, "AlarmsSourceA", "ALARM", "the recorder cannot notify")
    assert deployed.quiesce()

    sqs = central.client("sqs")
    [message] = sqs.receive_message(QueueUrl=outputs["FailedQueueUrl"], VisibilityTimeout=0)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 3  # the first attempt and Lambda's two retries
    assert record["requestPayload"]["account"] == deployed.accounts["source-a"]
    assert "SNS:Publish" in record["responsePayload"]["errorMessage"]  # AWS spells it so in its message
    items = central.resource("dynamodb").Table(outputs["HistoryTable"]).scan()["Items"]
    assert [(i["state"], i["notified"]) for i in items] == [("ALARM", False)]  # recorded once, not notified yet
    assert queue_depth(sqs, outputs["OnCallQueueUrl"]) == 0
    assert deployed.destroy() == {}


def test_an_event_the_rule_cannot_deliver_goes_to_the_targets_dlq_and_is_counted(deploy_pattern):
    deployed = deploy_pattern("cross-account-eventbridge")
    outputs, central = deployed.flat_outputs, deployed.session
    lambda_ = central.client("lambda")
    policy = json.loads(lambda_.get_policy(FunctionName=outputs["RecorderFunctionName"])["Policy"])
    for statement in policy["Statement"]:  # the permission that lets the central rule invoke the recorder
        lambda_.remove_permission(FunctionName=outputs["RecorderFunctionName"], StatementId=statement["Sid"])

    set_alarm(deployed, "AlarmsSourceB", "ALARM", "nobody may invoke the recorder")
    assert deployed.quiesce()

    [message] = central.client("sqs").receive_message(
        QueueUrl=outputs["UndeliveredQueueUrl"], MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    event = json.loads(message["Body"])
    assert event["account"] == deployed.accounts["source-b"] and event["detail"]["state"]["value"] == "ALARM"
    assert central.resource("dynamodb").Table(outputs["HistoryTable"]).scan()["Items"] == []
    metrics = {  # the central rule counts it, as AWS does
        m["MetricName"]
        for m in central.client("cloudwatch").list_metrics(Namespace="AWS/Events")["Metrics"]
        if {"Name": "RuleName", "Value": outputs["CentralRuleName"]} in m["Dimensions"]
    }
    assert {"FailedInvocations", "InvocationsSentToDlq"} <= metrics
    assert deployed.destroy() == {}
