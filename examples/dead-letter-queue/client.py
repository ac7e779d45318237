"""Drive the dead-letter-queue pattern through its whole story: failure, retries, parking, alarm, fix, redrive,
success.

Run it with ``patterns run dead-letter-queue`` (deploys first if needed), or directly against a deployed stack:
``python client.py`` (uses the ``DeadLetterQueue`` stack's outputs and the usual AWS environment variables).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3

STACK_NAME = "DeadLetterQueue"
BROKEN = "EUR,USD"  # the configuration before the fix: JPY orders fail
FIXED = "EUR,USD,JPY"
#: How long a browsed message stays hidden from other readers before the client releases it.
BROWSE_VISIBILITY_S = 30
#: The redrive's pace (SQS moves at most 500 messages per second; without a rate it chooses one).
REDRIVE_RATE = 10


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session, timeout: float = 600.0) -> dict[str, Any]:
    """Invoke the worker asynchronously with valid, not-yet-accepted and malformed orders; wait until each is
    recorded or parked; raise the alarm's notification; accept the currency; redrive; wait again.

    Returns a report of every step, with the count at the end: sent = recorded + parked.
    """
    lambda_, sqs, ssm = session.client("lambda"), session.client("sqs"), session.client("ssm")
    orders = session.resource("dynamodb").Table(outputs["OrdersTable"])
    run_id = uuid.uuid4().hex[:8]
    report: dict[str, Any] = {"run": run_id}

    # 0. The starting point: JPY is not accepted yet (a previous run may have accepted it).
    parameter = outputs["AcceptedCurrenciesParameter"]
    if ssm.get_parameter(Name=parameter)["Parameter"]["Value"] != BROKEN:
        ssm.put_parameter(Name=parameter, Value=BROKEN, Overwrite=True)
        time.sleep(float(outputs["WorkerSettingsMaxAgeSeconds"]))  # the worker's cache of the parameter expires

    # 1. Failure: seven orders, invoked asynchronously; four of them fail.
    events = _orders(run_id)
    started = time.monotonic()
    for event in events.values():
        lambda_.invoke(FunctionName=outputs["WorkerFunctionName"], InvocationType="Event", Payload=json.dumps(event))
    classic_event = {"order_id": f"{run_id}-classic", "amount": "500.00", "currency": "JPY"}
    lambda_.invoke(
        FunctionName=outputs["ClassicFunctionName"], InvocationType="Event", Payload=json.dumps(classic_event)
    )
    report["sent"] = {order_id: {"event": event, "kind": _kind(event)} for order_id, event in events.items()}

    # 2. Retries and parking: every event is either recorded or parked with Lambda's invocation record.
    def first_pass() -> dict[str, Any]:
        return {"recorded": _recorded(orders, events), "parked": _parked(sqs, outputs["FailuresQueueUrl"], events)}

    settled = _wait_for(first_pass, lambda s: set(s["recorded"]) | set(s["parked"]) >= set(events), timeout)
    report["first_pass"] = {**settled, "seconds": round(time.monotonic() - started, 1)}
    report["classic"] = _wait_for(
        lambda: _classic(sqs, outputs["ClassicDlqUrl"], classic_event["order_id"]), bool, timeout
    )

    # 3. Alarm: CloudWatch evaluates the queue's depth once a minute; SetAlarmState shows the notification now.
    report["alarm"] = _alarm(session, outputs, sum(1 for p in settled["parked"].values()), timeout)

    # 4. The fix: accept JPY. The replayer reads the parameter on every batch, so the redrive sees it at once.
    ssm.put_parameter(Name=parameter, Value=FIXED, Overwrite=True)
    report["fix"] = {"parameter": parameter, "before": BROKEN, "after": FIXED}

    # 5. Redrive: a message move task moves every parked record to the replay queue, which the replayer reads.
    moved_at = time.monotonic()
    sqs.start_message_move_task(
        SourceArn=outputs["FailuresQueueArn"],
        DestinationArn=outputs["ReplayQueueArn"],
        MaxNumberOfMessagesPerSecond=REDRIVE_RATE,
    )
    task = _wait_for(
        lambda: sqs.list_message_move_tasks(SourceArn=outputs["FailuresQueueArn"])["Results"][0],
        lambda t: t["Status"] not in {"RUNNING", "CANCELLING"},
        timeout,
    )
    report["redrive"] = {**task, "seconds": round(time.monotonic() - moved_at, 1)}

    # 6. Success: the JPY orders are recorded now; what is malformed is parked again with its new error.
    failed = set(settled["parked"])

    def second_pass() -> dict[str, Any]:
        parked = {k: v for k, v in _parked(sqs, outputs["FailuresQueueUrl"], events).items() if v.get("replays")}
        return {"recorded": _recorded(orders, {k: events[k] for k in failed}), "parked": parked}

    report["second_pass"] = _wait_for(second_pass, lambda s: set(s["recorded"]) | set(s["parked"]) >= failed, timeout)
    recorded = {**settled["recorded"], **report["second_pass"]["recorded"]}
    parked = report["second_pass"]["parked"]
    report["final"] = {
        "recorded": sorted(recorded),
        "parked": sorted(parked),
        "missing": sorted(set(events) - set(recorded) - set(parked)),
    }
    return report


# --8<-- [end:run]


def _orders(run_id: str) -> dict[str, dict[str, Any]]:
    """Three valid orders, two in a currency not accepted yet, two malformed ones."""
    events: list[dict[str, Any]] = [
        {"order_id": f"{run_id}-1", "amount": "120.00", "currency": "EUR"},
        {"order_id": f"{run_id}-2", "amount": "75.50", "currency": "USD"},
        {"order_id": f"{run_id}-3", "amount": "9.99", "currency": "EUR"},
        {"order_id": f"{run_id}-4", "amount": "1200.00", "currency": "JPY"},
        {"order_id": f"{run_id}-5", "amount": "3400.00", "currency": "JPY"},
        {"order_id": f"{run_id}-6", "amount": "twelve", "currency": "EUR"},
        {"order_id": f"{run_id}-7", "amount": "5.00"},
    ]
    return {event["order_id"]: event for event in events}


def _kind(event: dict[str, Any]) -> str:
    if "currency" not in event or not str(event["amount"]).replace(".", "").isdigit():
        return "malformed"
    return "not accepted yet" if event["currency"] == "JPY" else "valid"


def _recorded(orders: Any, events: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for order_id in events:
        item = orders.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        if item:
            found[order_id] = {k: str(v) if isinstance(v, Decimal) else v for k, v in item.items()}
    return found


def _browse(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in a queue, left in it: received (hidden) page by page, then made visible again."""
    messages: dict[str, dict[str, Any]] = {}
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=BROWSE_VISIBILITY_S, MessageAttributeNames=["All"]
    ).get("Messages"):
        messages.update((m["MessageId"], m) for m in batch)
    for message in messages.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return list(messages.values())


def _parked(sqs: Any, url: str, events: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """This run's invocation records in the failure queue, by order id, with what each says."""
    parked = {}
    for message in _browse(sqs, url):
        record = json.loads(message["Body"])
        order_id = (record.get("requestPayload") or {}).get("order_id")
        if order_id not in events:
            continue  # another run's, or another producer's
        context, error = record["requestContext"], record.get("responsePayload") or {}
        attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
        parked[order_id] = {
            "request_id": context["requestId"],
            "attempts": context["approximateInvokeCount"],
            "condition": context["condition"],
            "error_type": error.get("errorType", ""),
            "error": error.get("errorMessage", ""),
            "replays": int(attributes.get("ReplayCount", "0")),
            "replay_error_type": attributes.get("ReplayErrorType", ""),
            "replay_error": attributes.get("ReplayErrorMessage", ""),
        }
    return parked


def _classic(sqs: Any, url: str, order_id: str) -> dict[str, Any] | None:
    """The classic DLQ's message for this run: the event itself, and three attributes."""
    for message in _browse(sqs, url):
        if json.loads(message["Body"]).get("order_id") == order_id:
            return {
                "body": json.loads(message["Body"]),
                "attributes": {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()},
            }
    return None


def _alarm(session: boto3.Session, outputs: dict[str, str], parked: int, timeout: float) -> dict[str, Any]:
    """The alarm's configuration, its state change, and the notification the on-call queue received."""
    cloudwatch, sqs = session.client("cloudwatch"), session.client("sqs")
    name = outputs["AlarmName"]
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    result: dict[str, Any] = {
        "name": name,
        "watches": f"{alarm['MetricName']} of {alarm['Dimensions'][0]['Value']}",
        "rule": f"{alarm['Statistic']} over {alarm['Period']} s {alarm['ComparisonOperator']} {alarm['Threshold']:g}",
        "notifies": alarm["AlarmActions"],
        "state_before": alarm["StateValue"],
        "set_by_client": False,
        "notification": None,
    }
    if alarm["StateValue"] == "ALARM":
        return result  # already raised (by CloudWatch, or by a previous run): no new notification
    cloudwatch.set_alarm_state(
        AlarmName=name,
        StateValue="ALARM",
        StateReason=f"client.py: {parked} failed events parked; SetAlarmState shows the notification path now "
        "(CloudWatch evaluates the queue's depth once a minute)",
    )
    result["set_by_client"] = True

    def notification() -> dict[str, Any] | None:
        url = outputs["OnCallQueueUrl"]
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(message["Body"])
            if body.get("AlarmName") == name and body.get("NewStateValue") == "ALARM":
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                return {k: body[k] for k in ("NewStateValue", "OldStateValue", "NewStateReason", "StateChangeTime")}
        return None

    result["notification"] = _wait_for(notification, bool, timeout)
    return result


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def format_report(report: dict[str, Any]) -> str:
    """The story, step by step, in the words of the pattern's page."""
    sent, first, second = report["sent"], report["first_pass"], report["second_pass"]
    kinds = [info["kind"] for info in sent.values()]
    lines = [
        f"1. Failure. Sent {len(sent)} orders to the worker asynchronously (InvocationType=Event): "
        f"{kinds.count('valid')} valid, {kinds.count('not accepted yet')} in JPY (not accepted yet), "
        f"{kinds.count('malformed')} malformed.",
        f"2. Retries and parking (settled in {first['seconds']} s; Lambda waits about 1 and 2 minutes between "
        "attempts, the sandbox 1 and 2 seconds):",
    ]
    for order_id, item in sorted(first["recorded"].items()):
        lines.append(f"   recorded {order_id}: {item['amount']} {item['currency']} at once")
    for order_id, parked in sorted(first["parked"].items()):
        lines.append(
            f"   parked   {order_id} after {parked['attempts']} attempts ({parked['condition']}, request "
            f"{parked['request_id'][:8]}): {parked['error_type']}: {_short(parked['error'])}"
        )
    classic = report["classic"]
    if classic:
        attributes = ", ".join(f"{k}={_short(v, 60)}" for k, v in sorted(classic["attributes"].items()))
        lines.append(
            f"   the classic DLQ got the event itself ({classic['body']['order_id']}) with {attributes}: "
            "no attempt count, no condition, no stack trace"
        )
    alarm = report["alarm"]
    lines.append(f"3. Alarm. {alarm['name']} watches {alarm['watches']} ({alarm['rule']}).")
    if alarm["set_by_client"] and alarm["notification"]:
        note = alarm["notification"]
        lines.append(
            f"   The client set it with SetAlarmState (CloudWatch would within a minute or two): "
            f"{note['OldStateValue']} -> {note['NewStateValue']}; the alerts topic notified the on-call queue."
        )
    elif alarm["set_by_client"]:
        lines.append("   The client set it to ALARM, but NO NOTIFICATION reached the on-call queue.")
    else:
        lines.append(f"   It was already in {alarm['state_before']}: no new notification.")
    fix = report["fix"]
    lines.append(f"4. Fix. {fix['parameter']}: {fix['before']} -> {fix['after']}.")
    redrive = report["redrive"]
    earlier = redrive["ApproximateNumberOfMessagesToMove"] - len(first["parked"])
    lines.append(
        f"5. Redrive. Message move task from the failure queue to the replay queue at {REDRIVE_RATE} per second: "
        f"{redrive['Status']}, {redrive['ApproximateNumberOfMessagesMoved']} of "
        f"{redrive['ApproximateNumberOfMessagesToMove']} moved in {redrive['seconds']} s"
        + (f" ({earlier} of them parked by earlier runs)." if earlier > 0 else ".")
    )
    lines.append("6. Success.")
    for order_id, item in sorted(second["recorded"].items()):
        lines.append(f"   recorded {order_id}: {item['amount']} {item['currency']} by the replay")
    for order_id, parked in sorted(second["parked"].items()):
        lines.append(
            f"   parked again {order_id} at once (replay {parked['replays']}): {parked['replay_error_type']}: "
            f"{_short(parked['replay_error'])}"
        )
    final = report["final"]
    lines.append(
        f"{len(sent)} sent = {len(final['recorded'])} recorded (each once) + {len(final['parked'])} parked with "
        f"their error; {len(final['missing'])} missing. The alarm stays in ALARM while events are parked: fix or "
        "delete them by hand."
    )
    return "\n".join(lines)


def _short(text: str, limit: int = 110) -> str:
    text = " ".join(str(text).split()).split(" [type=")[0]  # Pydantic's message without its debugging tail
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main() -> None:
    """Run against the deployed stack named ``DeadLetterQueue`` in the current AWS environment."""
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(format_report(run(outputs, session)))


if __name__ == "__main__":
    main()
