"""Drive the cross-account alarms example: change alarms in the source accounts and in an outsider account, then
show what the central account recorded and notified, and what the outsider's rule says about its refused forward.

Run it with ``patterns run cross-account-eventbridge`` (which deploys first if needed). Against real accounts, the
client needs a session per account: ``patterns run`` gives it one through ``AWSPATTERNS_PROFILES``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

#: The source stacks whose alarms the central bus admits, and the outsider's, by output prefix.
ADMITTED = ("AlarmsSourceA", "AlarmsSourceB")
OUTSIDER = "AlarmsOutsider"


# --8<-- [start:run]
def run(
    outputs: dict[str, str],
    session: boto3.Session,
    session_for: Callable[[str], boto3.Session] | None = None,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Change alarms in two admitted accounts (one to ALARM, the other to ALARM and back to OK) and in the
    outsider; wait until the central account has recorded the admitted changes and the outsider's forward is
    parked; return a report with the count: changed = recorded + refused + parked.

    ``session`` is the central account's; ``session_for(account)`` gives a session for each other account.
    """
    accounts = session_for or (lambda account: session)
    run_id = uuid.uuid4().hex[:8]
    report: dict[str, Any] = {"run": run_id, "central_bus": outputs["CentralBusArn"], "changes": []}

    # 1. State changes in every account: CloudWatch puts each on the account's default bus; the rule forwards it.
    plan = [(ADMITTED[0], "ALARM"), (ADMITTED[1], "ALARM"), (ADMITTED[1], "OK"), (OUTSIDER, "ALARM")]
    for stack, state in plan:
        account, alarm = outputs[f"{stack}Account"], outputs[f"{stack}AlarmName"]
        reason = f"client.py run {run_id}: checkout errors {'at 7 per minute' if state == 'ALARM' else 'back to 0'}"
        cloudwatch = accounts(account).client("cloudwatch")
        if state == "ALARM":  # start from OK, so that every run makes the same changes
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason=f"client.py run {run_id}: reset")
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue=state, StateReason=reason)
        report["changes"].append({"stack": stack, "account": account, "alarm": alarm, "state": state, "reason": reason})

    # 2. The central account: each admitted change recorded once, with its source account, and notified.
    table = session.resource("dynamodb").Table(outputs["HistoryTable"])
    admitted = [c for c in report["changes"] if c["stack"] in ADMITTED]
    report["recorded"] = _wait_for(
        lambda: _recorded(table, admitted, run_id),
        lambda items: len(items) >= len(admitted) and all(item["notified"] for item in items),
        timeout,
    )
    report["notified"] = _wait_for(
        lambda: _notifications(session, outputs["OnCallQueueUrl"], run_id), lambda n: len(n) >= len(admitted), timeout
    )
    report["central_parked"] = {
        "undelivered": len(_browse(session, outputs["UndeliveredQueueUrl"], run_id)),
        "failed": len(_browse(session, outputs["FailedQueueUrl"], run_id)),
    }

    # 3. The outsider: its forward refused by the bus policy, parked in its rule's DLQ and counted as a failure.
    outsider = accounts(outputs[f"{OUTSIDER}Account"])
    report["refused"] = _wait_for(
        lambda: _browse(outsider, outputs[f"{OUTSIDER}UndeliveredQueueUrl"], run_id), bool, timeout
    )
    report["outsider_metrics"] = _rule_metrics(outsider, outputs[f"{OUTSIDER}ForwardingRuleName"])
    report["final"] = {
        "changed": len(report["changes"]),
        "recorded": len(report["recorded"]),
        "refused": len(report["refused"]),
        "parked": sum(report["central_parked"].values()),
    }
    return report


# --8<-- [end:run]


def _recorded(table: Any, changes: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    """This run's items in the central history, oldest first."""
    items = []
    for alarm in {(c["account"], c["alarm"]) for c in changes}:
        response = table.query(KeyConditionExpression=Key("alarm").eq(f"{alarm[0]}/{alarm[1]}"), ConsistentRead=True)
        items += [item for item in response["Items"] if run_id in item.get("reason", "")]
    return sorted(items, key=lambda item: (item["time"], item["change"]))


def _notifications(session: boto3.Session, url: str, run_id: str) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in _browse(session, url, run_id)]


def _browse(session: boto3.Session, url: str, run_id: str) -> list[dict[str, Any]]:
    """This run's messages in a queue, left in it (received, then made visible again)."""
    sqs = session.client("sqs")
    messages: dict[str, dict[str, Any]] = {}
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
    ).get("Messages"):
        messages.update((m["MessageId"], m) for m in batch)
    for message in messages.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return [m for m in messages.values() if run_id in m["Body"]]


def _rule_metrics(session: boto3.Session, rule: str) -> dict[str, float]:
    """The rule's AWS/Events metrics over the last hour (AWS sends each only when it is not zero)."""
    cloudwatch = session.client("cloudwatch")
    now = datetime.now(UTC)
    sums = {}
    for name in ("Invocations", "FailedInvocations", "InvocationsSentToDlq", "InvocationsFailedToBeSentToDlq"):
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Events",
            MetricName=name,
            Dimensions=[{"Name": "RuleName", "Value": rule}],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=1),
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        sums[name] = sum(p["Sum"] for p in points)
    return sums


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def format_report(report: dict[str, Any]) -> str:
    """The story, step by step, in the words of the pattern's page."""
    lines = [f"1. Alarm state changes (run {report['run']}), each forwarded by its account's rule to the central bus:"]
    for change in report["changes"]:
        lines.append(f"   {change['account']} ({change['stack']}): {change['alarm']} -> {change['state']}")
    lines.append(f"2. The central account ({report['central_bus']}) recorded:")
    for item in report["recorded"]:
        lines.append(
            f"   {item['time']}  from {item['source_account']}: {item['alarm_name']} "
            f"{item['previous_state']} -> {item['state']} (notified: {item['notified']})"
        )
    lines.append(f"   The on-call queue received {len(report['notified'])} notification(s).")
    parked = report["central_parked"]
    lines.append(
        f"   Parked in the central account: {parked['undelivered']} undelivered by the rule, "
        f"{parked['failed']} failed in the recorder."
    )
    lines.append("3. The outsider account, which the bus policy does not admit:")
    for message in report["refused"]:
        attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
        event = json.loads(message["Body"])
        lines.append(
            f"   refused {event['detail']['alarmName']} -> {event['detail']['state']['value']}: "
            f"{attributes.get('ERROR_CODE')}: {attributes.get('ERROR_MESSAGE')}"
        )
    metrics = report["outsider_metrics"]
    lines.append(
        f"   its rule's metrics: Invocations {metrics['Invocations']:g}, FailedInvocations "
        f"{metrics['FailedInvocations']:g}, InvocationsSentToDlq {metrics['InvocationsSentToDlq']:g}"
    )
    final = report["final"]
    missing = final["changed"] - final["recorded"] - final["refused"] - final["parked"]
    lines.append(
        f"{final['changed']} changes = {final['recorded']} recorded + {final['refused']} refused + "
        f"{final['parked']} parked; {missing} missing."
    )
    return "\n".join(lines)


def main() -> None:
    """Run against the deployed stacks, each account through the AWS profile named after its stack
    (``AlarmsCentral``, ``AlarmsSourceA``, ...)."""
    outputs: dict[str, str] = {}
    profiles: dict[str, str] = {}
    for stack in ("AlarmsCentral", *ADMITTED, OUTSIDER):
        described = boto3.Session(profile_name=stack).client("cloudformation").describe_stacks(StackName=stack)
        outputs.update({o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])})
        profiles[outputs.get(f"{stack}Account", "central")] = stack
    print(
        format_report(
            run(outputs, boto3.Session(profile_name="AlarmsCentral"), lambda a: boto3.Session(profile_name=profiles[a]))
        )
    )


if __name__ == "__main__":
    main()
