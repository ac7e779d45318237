"""Drive the s3-object-index pattern: upload event files, backfill, find one user's objects, remove that user's data.

Run it with ``patterns run s3-object-index`` (deploys first if needed), or directly against a deployed stack:
``python client.py`` (uses the ``S3ObjectIndex`` stack's outputs and the usual AWS environment).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

STACK_NAME = "S3ObjectIndex"
USERS = ("alice", "bob", "carol")
#: The user whose data the client asks to remove.
SUBJECT = "bob"


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session, timeout: float = 300.0) -> dict[str, Any]:
    """Upload six event files and three broken ones; wait until each is indexed or recorded as unindexable;
    forget two entries and let the backfill restore them; find the subject's objects with one query; remove the
    subject's data; then check every object version in the bucket and the index for the subject.
    """
    s3, ddb = session.client("s3"), session.resource("dynamodb")
    objects, holdings = ddb.Table(outputs["ObjectsTable"]), ddb.Table(outputs["HoldingsTable"])
    bucket, run_id = outputs["BucketName"], uuid.uuid4().hex[:8]
    prefix = f"{outputs['Prefix']}{run_id}/"
    uploads = _documents(prefix)
    for key, body in uploads.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    entries = _wait_for(lambda: _entries(objects, uploads), lambda found: len(found) == len(uploads), timeout)

    # Objects that predate the index: the client forgets two entries, as if the indexer had never seen them.
    forgotten = sorted(k for k in uploads if k.endswith(("day-1.jsonl", "day-2.jsonl.gz")))
    for key in forgotten:
        _forget(objects, holdings, key)
    backfill = _invoke_until_done(session, outputs["BackfillFunctionName"], {"job_id": f"backfill-{run_id}"})
    restored = _entries(objects, set(forgotten))

    held = _query(holdings, SUBJECT, prefix)  # one Query on the user's partition, never a bucket scan
    removal = _invoke_until_done(
        session, outputs["RemovalFunctionName"], {"user_id": SUBJECT, "request_id": f"removal-{run_id}"}
    )
    _wait_for(lambda: _queue_depth(session, outputs["QueueUrl"]), lambda depth: depth == 0, timeout)
    return {
        "bucket": bucket,
        "run": run_id,
        "uploaded": sorted(uploads),
        "entries": entries,
        "forgotten": forgotten,
        "backfill": backfill,
        "restored": restored,
        "held_before": held,
        "removal": removal,
        "held_after": _query(holdings, SUBJECT, prefix),
        "versions_with_subject": _versions_holding(s3, bucket, prefix, SUBJECT),
        "parked": _queue_depth(session, outputs["QueueDlqUrl"]),
    }


# --8<-- [end:run]


def _documents(prefix: str) -> dict[str, bytes]:
    """Six days of events for three users (two gzipped) and three files the indexer cannot read."""

    def lines(day: int, users: tuple[str, ...]) -> bytes:
        records = [
            {"user_id": user, "ts": f"2026-11-{day:02d}T{hour:02d}:00:00Z", "event": "page_view", "n": hour}
            for hour in range(1, 4)
            for user in users
        ]
        return "".join(json.dumps(r) + "\n" for r in records).encode()

    plans = {1: USERS, 2: ("alice", "bob"), 3: ("carol",), 4: ("bob",), 5: ("alice", "carol"), 6: USERS}
    documents = {
        f"{prefix}day-{day}.jsonl" + (".gz" if day % 2 == 0 else ""): (
            gzip.compress(lines(day, users)) if day % 2 == 0 else lines(day, users)
        )
        for day, users in plans.items()
    }
    documents[f"{prefix}broken-not-json.jsonl"] = b"user_id=dave ts=yesterday\n"
    documents[f"{prefix}broken-truncated.jsonl.gz"] = gzip.compress(lines(7, ("carol",)))[:-12]
    documents[f"{prefix}broken-no-user.jsonl"] = b'{"ts": "2026-11-08T00:00:00Z", "event": "orphan"}\n'
    return documents


def _entries(objects: Any, keys: Any) -> dict[str, dict[str, Any]]:
    found = {}
    for key in keys:
        item = objects.get_item(Key={"object_key": key}, ConsistentRead=True).get("Item")
        if item:
            found[key] = {
                k: (int(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, bool) else v)
                for k, v in item.items()
                if k in {"status", "reason", "records", "users", "first_ts", "last_ts", "size", "gzipped"}
            }
    return found


def _forget(objects: Any, holdings: Any, key: str) -> None:
    objects.delete_item(Key={"object_key": key})
    users = holdings.query(IndexName="ByObject", KeyConditionExpression=Key("object_key").eq(key))["Items"]
    for item in users:
        holdings.delete_item(Key={"user_id": item["user_id"], "object_key": key})


def _query(holdings: Any, user_id: str, prefix: str) -> list[str]:
    items = holdings.query(
        KeyConditionExpression=Key("user_id").eq(user_id) & Key("object_key").begins_with(prefix), ConsistentRead=True
    )["Items"]
    return sorted(item["object_key"] for item in items)


def _invoke_until_done(session: boto3.Session, function: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Invoke a job until it says it is no longer ``incomplete`` (each run resumes where the last stopped)."""
    client = session.client("lambda")
    for _ in range(20):
        response = client.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
        result: dict[str, Any] = json.loads(response["Payload"].read())
        if "FunctionError" in response:
            raise RuntimeError(f"{function} failed: {result.get('errorType')}: {result.get('errorMessage')}")
        if result["status"] != "incomplete":
            return result
    raise RuntimeError(f"{function} did not finish in 20 runs")


def _queue_depth(session: boto3.Session, url: str) -> int:
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def _versions_holding(s3: Any, bucket: str, prefix: str, user_id: str) -> list[str]:
    """Every version of every object under the prefix whose records mention the user (reading them all)."""
    found = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            with contextlib.suppress(EOFError, OSError):  # the truncated file is searched as it is
                body = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
            if f'"user_id": "{user_id}"'.encode() in body:
                found.append(f"{version['Key']}?versionId={version['VersionId']}")
    return found


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def format_report(report: dict[str, Any]) -> str:
    """What happened, in the words of the pattern's page."""
    entries = report["entries"]
    indexed = {k: v for k, v in entries.items() if v["status"] == "indexed"}
    lines = [f"Uploaded {len(report['uploaded'])} event files to {report['bucket']}:"]
    for key, entry in sorted(indexed.items()):
        lines.append(
            f"  indexed     {key}: {entry['records']} records of {entry['users']} users, "
            f"{entry['first_ts'][:16]} to {entry['last_ts'][:16]}{' (gzip)' if entry['gzipped'] else ''}"
        )
    for key, entry in sorted(entries.items()):
        if entry["status"] == "unindexable":
            lines.append(f"  unindexable {key}: {entry['reason']}")
    missing = sorted(set(report["uploaded"]) - set(entries))
    lines.append(
        f"  {len(report['uploaded'])} uploaded = {len(indexed)} indexed + {len(entries) - len(indexed)} unindexable; "
        f"{len(missing)} missing; {report['parked']} event(s) parked in the DLQ"
    )
    backfill = report["backfill"]
    lines += [
        "",
        f"Forgot {len(report['forgotten'])} entries (as if those objects predated the index); the backfill paged "
        f"through the bucket ({backfill['pages']} page(s)): {backfill.get('indexed', 0)} indexed, "
        f"{backfill.get('already indexed', 0)} already indexed, {backfill.get('unindexable', 0)} unindexable; "
        f"restored {len(report['restored'])} of {len(report['forgotten'])}.",
        "",
        f"Query: objects holding {SUBJECT}'s records: {len(report['held_before'])}",
        *(f"  {key}" for key in report["held_before"]),
    ]
    removal = report["removal"]
    lines += [
        "",
        f"Removal request {removal['job_id'].removeprefix('removal#')} for {removal['user_id']}: {removal['status']} "
        f"after {removal['runs']} run(s): {removal['objects']} objects rewritten, {removal['records_removed']} "
        f"records removed, {removal['versions_deleted']} old versions deleted.",
        f"  unindexable objects listed in the audit record (they may hold anyone's data): "
        f"{len(removal['unindexable_objects'])}",
        f"  afterwards: {len(report['held_after'])} index entries and {len(report['versions_with_subject'])} object "
        f"versions hold {SUBJECT}'s records",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run against the deployed stack named ``S3ObjectIndex`` in the current AWS environment."""
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(format_report(run(outputs, session)))


if __name__ == "__main__":
    main()
