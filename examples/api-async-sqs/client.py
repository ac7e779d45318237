"""Drive the api-async-sqs pattern: post orders (good, bad, concurrent, repeated), then account for every one.

Run it with ``patterns run api-async-sqs`` (deploys first if needed), or directly against a deployed stack:
``python client.py`` (uses the ``ApiAsyncSqs`` stack's outputs and the usual AWS environment). The API itself needs
no AWS credentials: any HTTP client can post to ``OrdersUrl``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

STACK_NAME = "ApiAsyncSqs"
#: How long a browsed message stays hidden from other readers before the client releases it.
BROWSE_VISIBILITY_S = 30
BURST = 20


# --8<-- [start:post]
def post(url: str, body: str | bytes, content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    """POST a body to the API; the status and the JSON answer."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the stack's own URL)
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# --8<-- [end:post]


def order(order_id: str, *items: tuple[str, int], customer: str = "ACME") -> dict[str, Any]:
    """An order body."""
    return {"order_id": order_id, "customer": customer, "items": [{"sku": s, "quantity": q} for s, q in items]}


def bad_requests(max_body: int) -> dict[str, tuple[str | bytes, str]]:
    """Requests the API must refuse, each with its content type."""
    padded = json.dumps(order("too-big", ("BOOK-1", 1))).encode()
    padded = padded[:-1] + b" " * (max_body + 1 - len(padded)) + b"}"  # valid JSON, valid order, too many bytes
    return {
        "malformed JSON": ('{"order_id": "x", "items": [', "application/json"),
        "wrong shape": (json.dumps({**order("w-1", ("BOOK-1", 1)), "items": {"sku": "BOOK-1"}}), "application/json"),
        "wrong type": (json.dumps(order("w-2", ("BOOK-1", "two"))), "application/json"),  # type: ignore[arg-type]
        "missing field": (
            json.dumps({"order_id": "m-1", "items": [{"sku": "BOOK-1", "quantity": 1}]}),
            "application/json",
        ),
        "unknown field": (json.dumps({**order("u-1", ("BOOK-1", 1)), "discount": 100}), "application/json"),
        "body over the limit": (padded, "application/json"),
        "not JSON at all": ("order_id=x", "text/plain"),
    }


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session, timeout: float = 300.0) -> dict[str, Any]:
    """Post bad requests (all refused, none queued), then valid orders: some one by one, a concurrent burst, one
    naming an unknown product; once they are processed, a retry of an accepted order and a reuse of its id for
    different contents; and one message straight on the queue from another producer. Wait until every accepted
    request is processed, recognised as a duplicate, or parked with its error.

    Returns the refusals, the accepted requests (message id -> order id) and the outcome of each.
    """
    url, run_id = outputs["OrdersUrl"], uuid.uuid4().hex[:6]
    sqs = session.client("sqs")
    report: dict[str, Any] = {"url": url, "run": run_id, "refused": {}, "accepted": {}}
    depth_before = _depth(sqs, outputs["QueueUrl"])
    for name, (body, content_type) in bad_requests(int(outputs["MaxBodyBytes"])).items():
        status, answer = post(url, body, content_type)
        report["refused"][name] = {"status": status, **answer}
    report["queued_by_refusals"] = _depth(sqs, outputs["QueueUrl"]) - depth_before

    def accept(body: dict[str, Any]) -> None:
        status, answer = post(url, json.dumps(body))
        if status == 202:
            report["accepted"][answer["messageId"]] = body["order_id"]
        else:
            report["refused"][f"order {body['order_id']}"] = {"status": status, **answer}

    first = order(f"{run_id}-1", ("BOOK-1", 2), ("MUG-1", 1))
    for valid in (first, order(f"{run_id}-2", ("PEN-10", 3)), order(f"{run_id}-3", ("DISCONTINUED-9", 1))):
        accept(valid)
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(accept, [order(f"{run_id}-b{n}", ("BOOK-2", n + 1)) for n in range(BURST)]))
    foreign = sqs.send_message(QueueUrl=outputs["QueueUrl"], MessageBody="<order>not from the API</order>")
    report["foreign"] = {foreign["MessageId"]: "(sent straight to the queue)"}
    _settle(outputs, session, report, timeout)  # the first order is processed before it is sent again

    accept(first)  # a client retrying a request it already sent: processed once only
    accept({**first, "items": [{"sku": "BOOK-2", "quantity": 9}]})  # the same id for another order: parked
    report["outcome"] = _settle(outputs, session, report, timeout)
    return report


# --8<-- [end:run]


def _settle(outputs: dict[str, str], session: boto3.Session, report: dict[str, Any], timeout: float) -> dict[str, Any]:
    table = session.resource("dynamodb").Table(outputs["OrdersTable"])
    sqs = session.client("sqs")
    expected = set(report["accepted"]) | set(report["foreign"])
    started = time.monotonic()

    def read() -> dict[str, Any]:
        processed, duplicates = {}, {}
        for item in _scan(table):
            processed[item["message_id"]] = {
                "order_id": item["order_id"],
                "total": str(item["total"]),
                "times_processed": int(item["times_processed"]),
            }
            for message_id in item.get("duplicate_message_ids", set()):
                duplicates[message_id] = {"order_id": item["order_id"], "first_message_id": item["message_id"]}
        parked = {}
        for message in _browse(sqs, outputs["DlqUrl"]):
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            source = attributes.get("SourceMessageId", message["MessageId"])
            parked[source] = {
                "error_type": attributes.get("ErrorType", "(moved after 3 receives: see the function's log)"),
                "error": attributes.get("ErrorMessage", ""),
            }
        return {
            "processed": {k: v for k, v in processed.items() if k in expected},
            "duplicates": {k: v for k, v in duplicates.items() if k in expected},
            "parked": {k: v for k, v in parked.items() if k in expected},
        }

    def settled(outcome: dict[str, Any]) -> bool:
        return set(outcome["processed"]) | set(outcome["duplicates"]) | set(outcome["parked"]) >= expected

    outcome: dict[str, Any] = _wait_for(read, settled, timeout)
    outcome["missing"] = sorted(
        expected - set(outcome["processed"]) - set(outcome["duplicates"]) - set(outcome["parked"])
    )
    outcome["seconds"] = round(time.monotonic() - started, 1)
    return outcome


def _scan(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _browse(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in a queue, left in it: received (hidden) page by page, then made visible again."""
    messages: dict[str, dict[str, Any]] = {}
    while batch := sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=BROWSE_VISIBILITY_S,
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    ).get("Messages"):
        messages.update((m["MessageId"], m) for m in batch)
    for message in messages.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return list(messages.values())


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def format_report(report: dict[str, Any]) -> str:
    """What happened, in the words of the pattern's page."""
    outcome = report["outcome"]
    lines = [f"Posted to {report['url']}", "", "Refused by API Gateway (nothing queued):"]
    for name, answer in report["refused"].items():
        detail = answer.get("errors") or answer.get("message", "")
        lines.append(
            f"  {answer['status']} {name}: {answer.get('message', '')}"
            + (f" {detail}" if detail != answer.get("message") else "")
        )
    lines.append(f"  messages the refusals put on the queue: {report['queued_by_refusals']}")
    accepted = report["accepted"]
    lines += ["", f"Accepted with 202 and a message id: {len(accepted)} requests (a burst of {BURST} among them)"]
    for message_id, details in outcome["processed"].items():
        if message_id in accepted:
            lines.append(
                f"  processed {details['order_id']}: total {details['total']} "
                f"(processed {details['times_processed']} time(s), message {message_id[:8]})"
            )
    for message_id, details in outcome["duplicates"].items():
        lines.append(
            f"  duplicate {details['order_id']}: already processed from message {details['first_message_id'][:8]}, "
            f"not processed again (message {message_id[:8]})"
        )
    for message_id, details in outcome["parked"].items():
        who = accepted.get(message_id, "a message from another producer")
        lines.append(f"  parked    {who}: {details['error_type']}: {details['error'][:140]}")
    for message_id in outcome["missing"]:
        lines.append(f"  MISSING   message {message_id}: neither processed nor parked")

    def in_accepted(part: str) -> int:
        return len([m for m in outcome[part] if m in accepted])

    lines.append(
        f"  {len(accepted)} accepted = {in_accepted('processed')} processed once + {in_accepted('duplicates')} "
        f"duplicate + {in_accepted('parked')} parked with their error; {len(outcome['missing'])} missing "
        f"(settled within {outcome['seconds']} s)"
    )
    return "\n".join(lines)


def main() -> None:
    """Run against the deployed stack named ``ApiAsyncSqs`` in the current AWS environment."""
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(format_report(run(outputs, session)))


if __name__ == "__main__":
    main()
