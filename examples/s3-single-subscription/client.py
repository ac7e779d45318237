"""Drive the s3-single-subscription pattern: upload invoices under both prefixes, then report what each variant did.

Run it with ``patterns run s3-single-subscription`` (deploys first if needed), or directly against a deployed
stack: ``python client.py`` (uses the ``S3SingleSubscription`` stack's outputs and the usual AWS environment).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

import boto3

STACK_NAME = "S3SingleSubscription"
#: How long a browsed message stays hidden from other readers before the client releases it.
BROWSE_VISIBILITY_S = 30


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session, timeout: float = 300.0) -> dict[str, Any]:
    """Upload three valid invoices and one malformed document under each variant's prefix, and wait until every
    upload is either recorded in the table or parked with its error.

    Returns a report per variant: what was recorded (and by which request), what was parked (with its error and,
    for the direct variant, Lambda's attempt count), and the count: uploaded = recorded + parked.
    """
    s3 = session.client("s3")
    run_id = uuid.uuid4().hex[:8]
    variants = {
        "queued": (outputs["QueuedPrefix"], outputs["QueueDlqUrl"], _parked_by_the_consumer),
        "direct": (outputs["DirectPrefix"], outputs["DirectFailuresQueueUrl"], _parked_by_lambda),
    }
    uploads: dict[str, dict[str, bytes]] = {}
    started = time.monotonic()
    for variant, (prefix, _, _) in variants.items():
        uploads[variant] = _documents(f"{prefix}{run_id}/")
        for key, body in uploads[variant].items():
            s3.put_object(Bucket=outputs["BucketName"], Key=key, Body=body, ContentType="application/json")

    table = session.resource("dynamodb").Table(outputs["RecordsTable"])
    sqs = session.client("sqs")
    report: dict[str, Any] = {"bucket": outputs["BucketName"], "run": run_id, "variants": {}}
    for variant, (_, failures_url, parked_of) in variants.items():
        keys = set(uploads[variant])

        def settled(keys: set[str] = keys, url: str = failures_url, parked_of: Any = parked_of) -> dict[str, Any]:
            recorded = {key: item for key in keys if (item := _recorded(table, key))}
            parked = {k: v for k, v in parked_of(_browse(sqs, url)).items() if k in keys}
            return {"recorded": recorded, "parked": parked}

        def all_settled(outcome: dict[str, Any], keys: set[str] = keys) -> bool:
            return set(outcome["recorded"]) | set(outcome["parked"]) >= keys

        outcome = _wait_for(settled, all_settled, timeout)
        report["variants"][variant] = {
            "uploaded": sorted(keys),
            "recorded": {k: _plain(v) for k, v in sorted(outcome["recorded"].items())},
            "parked": dict(sorted(outcome["parked"].items())),
            "missing": sorted(keys - set(outcome["recorded"]) - set(outcome["parked"])),
            "seconds": round(time.monotonic() - started, 1),
        }
    return report


# --8<-- [end:run]


def _documents(prefix: str) -> dict[str, bytes]:
    """Three invoices and one document that is not an invoice (its total is text)."""
    invoices = {
        f"{prefix}inv-{n}.json": {"invoice_id": f"inv-{n}", "customer": customer, "total": total}
        for n, (customer, total) in enumerate([("ACME", "120.00"), ("Globex", "75.50"), ("Initech", "9.99")], 1)
    }
    documents = {key: json.dumps(body).encode() for key, body in invoices.items()}
    documents[f"{prefix}broken.json"] = json.dumps(
        {"invoice_id": "inv-4", "customer": "Umbrella", "total": "a lot"}
    ).encode()
    return documents


def _recorded(table: Any, key: str) -> dict[str, Any] | None:
    items = table.query(KeyConditionExpression="object_key = :k", ExpressionAttributeValues={":k": key})["Items"]
    return items[0] if items else None


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


def _parked_by_the_consumer(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The queue's DLQ holds the S3 event itself; the consumer added the error as message attributes."""
    parked = {}
    for message in messages:
        attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
        for key in _keys_in(message["Body"]):
            parked[key] = {
                "error_type": attributes.get("ErrorType", "(moved by the redrive policy: see the function's log)"),
                "error": attributes.get("ErrorMessage", ""),
                "request_id": attributes.get("RequestID", ""),
                "receives": int(attributes.get("ApproximateReceiveCount", "0")),
            }
    return parked


def _parked_by_lambda(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The on-failure destination holds Lambda's invocation record: the event, the error and the attempts."""
    parked = {}
    for message in messages:
        record = json.loads(message["Body"])
        context, response = record.get("requestContext", {}), record.get("responsePayload") or {}
        for key in _keys_in(json.dumps(record.get("requestPayload"))):
            parked[key] = {
                "error_type": response.get("errorType", context.get("condition", "")),
                "error": response.get("errorMessage", ""),
                "request_id": context.get("requestId", ""),
                "attempts": context.get("approximateInvokeCount", 0),
                "condition": context.get("condition", ""),
            }
    return parked


def _keys_in(body: str) -> list[str]:
    try:
        records = json.loads(body).get("Records", [])
        return [unquote_plus(r["s3"]["object"]["key"]) for r in records]
    except (ValueError, AttributeError, KeyError, TypeError):
        return []


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB numbers come back as Decimal; make them printable and JSON-ready."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in item.items()}


def format_report(report: dict[str, Any]) -> str:
    """What happened, in the words of the pattern's page."""
    titles = {
        "queued": "Through the queue (batches; the consumer parks what it can never record)",
        "direct": "Straight to the function (asynchronous; Lambda retries, then its on-failure destination)",
    }
    lines = [f"Uploaded {sum(len(v['uploaded']) for v in report['variants'].values())} documents to {report['bucket']}"]
    for variant, outcome in report["variants"].items():
        lines += ["", f"{titles[variant]}:"]
        for key, item in outcome["recorded"].items():
            lines.append(
                f"  recorded {key}: {item['invoice_id']} for {item['customer']}, total {item['total']} "
                f"(request {item['request_id'][:8]})"
            )
        for key, parked in outcome["parked"].items():
            tries = (
                f"after {parked['attempts']} attempts ({parked['condition']})"
                if "attempts" in parked
                else f"at once, on receive {parked['receives']}"
            )
            lines.append(f"  parked   {key} {tries}: {parked['error_type']}: {parked['error'][:150]}")
        for key in outcome["missing"]:
            lines.append(f"  MISSING  {key}: neither recorded nor parked")
        lines.append(
            f"  {len(outcome['uploaded'])} uploaded = {len(outcome['recorded'])} recorded + {len(outcome['parked'])} "
            f"parked with their error; {len(outcome['missing'])} missing (settled within {outcome['seconds']} s)"
        )
    return "\n".join(lines)


def main() -> None:
    """Run against the deployed stack named ``S3SingleSubscription`` in the current AWS environment."""
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(format_report(run(outputs, session)))


if __name__ == "__main__":
    main()
