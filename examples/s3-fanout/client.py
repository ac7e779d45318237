"""Drive the s3-fanout pattern: upload objects, then report what each subscriber received.

Run it with ``patterns run s3-fanout`` (deploys first if needed), or directly against a deployed stack:
``python client.py`` (uses the ``S3Fanout`` stack's outputs and the usual AWS environment variables).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3

STACK_NAME = "S3Fanout"


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session, timeout: float = 60.0) -> dict[str, Any]:
    """Upload three objects and wait until every subscriber has handled each one.

    Returns a report: for each object, what the indexer recorded, the checksum the consumer computed (next to
    the one computed here), and whether the audit queue received its event.
    """
    s3 = session.client("s3")
    table = session.resource("dynamodb").Table(outputs["RecordsTable"])
    prefix = f"client-run/{uuid.uuid4().hex[:8]}/"
    uploads = {
        f"{prefix}hello.txt": b"hello, fan-out\n",
        f"{prefix}données été 2026.csv": "région,montant\nÎle-de-France,42\n".encode(),
        f"{prefix}blob.bin": os.urandom(2 * 1024 * 1024),
    }
    for key, body in uploads.items():
        s3.put_object(Bucket=outputs["BucketName"], Key=key, Body=body)

    def records_of(key: str) -> dict[str, dict[str, Any]]:
        items = table.query(KeyConditionExpression="object_key = :k", ExpressionAttributeValues={":k": key})
        return {item["subscriber"]: item for item in items["Items"]}

    seen = _wait_for(
        lambda: {key: records_of(key) for key in uploads},
        lambda r: all(len(v) == 2 for v in r.values()),
        timeout,
    )
    audited = _drain_audit_queue(session.client("sqs"), outputs["AuditQueueUrl"], set(uploads), timeout)
    return {
        "bucket": outputs["BucketName"],
        "objects": [
            {
                "key": key,
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "indexer": _plain(seen[key].get("indexer")),
                "checksum": _plain(seen[key].get("checksum")),
                "audited": key in audited,
            }
            for key, body in uploads.items()
        ],
    }


# --8<-- [end:run]


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def _drain_audit_queue(sqs: Any, queue_url: str, keys: set[str], timeout: float) -> set[str]:
    """Receive audit events until every key was seen (or time runs out); delete only the ones for our keys."""
    from urllib.parse import unquote_plus

    found: set[str] = set()
    deadline = time.monotonic() + timeout
    while found != keys and time.monotonic() < deadline:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            for record in json.loads(message["Body"]).get("Records", []):
                key = unquote_plus(record["s3"]["object"]["key"])
                if key in keys:
                    found.add(key)
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """DynamoDB numbers come back as Decimal; make them ints for printing and JSON."""
    if item is None:
        return None
    return {k: int(v) if type(v).__name__ == "Decimal" else v for k, v in item.items()}


def format_report(report: dict[str, Any]) -> str:
    """A human-readable summary of :func:`run`'s report."""
    lines = [f"Uploaded {len(report['objects'])} objects to {report['bucket']}:"]
    for obj in report["objects"]:
        indexer, checksum = obj["indexer"], obj["checksum"]
        lines.append(f"  {obj['key']} ({obj['size']} bytes)")
        lines.append(f"    indexer : {'recorded size ' + str(indexer['size_bytes']) if indexer else 'NOT RECEIVED'}")
        match = checksum and checksum["sha256"] == obj["sha256"]
        lines.append(f"    checksum: {'sha256 matches' if match else 'MISSING OR WRONG'}")
        lines.append(f"    audit   : {'event queued' if obj['audited'] else 'NOT RECEIVED'}")
    return "\n".join(lines)


def main() -> None:
    """Run against the deployed stack named ``S3Fanout`` in the current AWS environment."""
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(format_report(run(outputs, session)))


if __name__ == "__main__":
    main()
