"""The data-removal job: given a user id, remove every record of that user from the bucket, and prove it.

Invoke it with ``{"user_id": "...", "request_id": "..."}``. For each object the index says holds the user, it
writes a new version without the user's records (other lines byte for byte, gzip kept), deletes every other
version of the key (and delete markers), sets the key's index entries to the new version, and records what it did
in the Jobs table under the request id: a summary item and one item per object. Each step is safe to repeat, so a
removal interrupted halfway (a timeout, a throttled call) is finished by invoking it again with the same request
id. It ends ``completed`` when the index holds the user nowhere; objects the indexer could not read are listed in
the record (``needs-attention``), since they may hold anyone's data.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from event_lines import Summary, Unindexable, read_lines, without_user
from object_index import (
    BACKFILL_SEQUENCER,
    Version,
    now,
    object_item,
    objects,
    objects_holding,
    put_object_item,
    s3,
    set_holdings,
    unindexable_objects,
)
from pydantic import BaseModel, ConfigDict, Field

#: Stop before the invocation's end with this much time left; the caller invokes again to resume.
RESERVE_MS = 30_000
#: Objects written for the user while the removal runs are found by the next round; the rounds are bounded.
MAX_ROUNDS = 3

logger = Logger()
tracer = Tracer()
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])


class RemovalRequest(BaseModel):
    """Whose data to remove, under which request id (the audit record's key, and how a rerun resumes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(pattern=r"^[A-Za-z0-9_.@:-]{1,128}$")
    request_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class RequestConflict(ValueError):
    """The request id is already the record of another user's removal."""


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=RemovalRequest)
def handler(request: RemovalRequest, context: LambdaContext) -> dict[str, Any]:
    """Remove the user's records from every object the index names; return the audit record's summary."""
    job = f"removal#{request.request_id}"
    summary = start(job, request.user_id)
    if summary["status"] == "completed":
        return plain(summary)  # a completed request only reports
    bucket = os.environ["BUCKET_NAME"]
    for _ in range(MAX_ROUNDS):
        keys = [holding["object_key"] for holding in objects_holding(request.user_id)]
        if not keys:
            break
        for key in keys:
            if context.get_remaining_time_in_millis() < RESERVE_MS:
                return finish(job, summary, left=None)
            outcome = remove_from_object(job, bucket, key, request.user_id)
            logger.info("object done", extra={"key": key, **outcome})
    return finish(job, summary, left=[holding["object_key"] for holding in objects_holding(request.user_id)])


def remove_from_object(job: str, bucket: str, key: str, user_id: str) -> dict[str, Any]:
    """Rewrite the key's latest version without the user's records, delete every other version, re-index it;
    each effect is added to the request's audit record as soon as it is done."""
    versions = list_versions(bucket, key)
    latest = next((v for v in versions if v["IsLatest"]), None)
    keep, removed, summary = None, 0, None
    if latest is not None and not latest["IsDeleteMarker"]:
        current = s3.get_object(Bucket=bucket, Key=key, VersionId=latest["VersionId"])
        rewritten = without_user(current["Body"].read(), user_id)
        if isinstance(rewritten, Unindexable):  # nothing deleted: a person must look at it first
            return audit(job, key, outcome="unreadable", reason=rewritten.reason)
        body, removed = rewritten
        keep = latest["VersionId"]
        if removed:  # on a rerun the latest version may already be the rewritten one
            keep = s3.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=current.get("ContentType", "application/x-ndjson")
            )["VersionId"]
            audit(job, key, records_removed=removed, outcome="rewritten", kept_version=keep)
        summary = read_lines(body)
    doomed = [{"Key": key, "VersionId": v["VersionId"]} for v in versions if v["VersionId"] != keep]
    for start_at in range(0, len(doomed), 1000):  # DeleteObjects takes 1,000 versions per request
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": doomed[start_at : start_at + 1000], "Quiet": True}
        )
        if response.get("Errors"):
            raise RuntimeError(f"S3 did not delete {response['Errors'][:3]} (of {len(response['Errors'])})")
        audit(job, key, versions_deleted=len(doomed[start_at : start_at + 1000]))
    reindex(bucket, key, keep, body_size=len(body) if keep else 0, summary=summary)
    kept = keep or "none: the object had been deleted"
    return audit(job, key, outcome="old versions removed", index_updated=now(), kept_version=kept)


def audit(job: str, key: str, **effects: Any) -> dict[str, Any]:
    """Add effects to the object's audit item: counts add up across reruns, other fields are replaced."""
    counts = {k: v for k, v in effects.items() if isinstance(v, int)}
    fields = {k: v for k, v in effects.items() if not isinstance(v, int)}
    names = {f"#{i}": name for i, name in enumerate([*counts, *fields])}
    values = {f":{i}": value for i, value in enumerate([*counts.values(), *fields.values()])}
    adds = [f"#{i} :{i}" for i in range(len(counts))]
    sets = [
        f"#{i} = if_not_exists(#{i}, :{i})" if names[f"#{i}"] == "outcome" else f"#{i} = :{i}"
        for i in range(len(counts), len(names))
    ]
    expression = " ".join(
        part for part in (f"ADD {', '.join(adds)}" if adds else "", f"SET {', '.join(sets)}" if sets else "") if part
    )
    item: dict[str, Any] = jobs.update_item(
        Key={"job_id": job, "entry": f"object#{key}"},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )["Attributes"]
    return {k: v for k, v in item.items() if k not in {"job_id", "entry"}}


# --8<-- [end:handler]


def reindex(bucket: str, key: str, keep: str | None, body_size: int, summary: Summary | Unindexable | None) -> None:
    """The key now has one version, ``keep`` (or none): its holdings and Objects item say exactly that."""
    users = set(summary.users) if isinstance(summary, Summary) else set()
    set_holdings(key, keep, users)
    if keep is None or summary is None:
        objects.delete_item(Key={"object_key": key})
        return
    item = object_item(key)  # keep the sequencer: a later event about this key still replaces the entry
    sequencer = item["sequencer"] if item else BACKFILL_SEQUENCER
    put_object_item(Version(bucket, key, keep, sequencer), keep, body_size, summary)


def list_versions(bucket: str, key: str) -> list[dict[str, Any]]:
    """Every version and delete marker of exactly ``key`` (a prefix listing also returns longer keys)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
    while True:
        page = s3.list_object_versions(**kwargs)
        found += [{**v, "IsDeleteMarker": False} for v in page.get("Versions", []) if v["Key"] == key]
        found += [{**m, "IsDeleteMarker": True} for m in page.get("DeleteMarkers", []) if m["Key"] == key]
        if not page.get("IsTruncated"):
            return found
        kwargs |= {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page.get("NextVersionIdMarker", "")}


def start(job: str, user_id: str) -> dict[str, Any]:
    """The request's summary item: created on the first run, resumed on a rerun."""
    key = {"job_id": job, "entry": "summary"}
    summary: dict[str, Any] | None = jobs.get_item(Key=key, ConsistentRead=True).get("Item")
    if summary is None:
        summary = {**key, "user_id": user_id, "status": "running", "started_at": now(), "runs": 0}
    elif summary["user_id"] != user_id:
        raise RequestConflict(f"request {job} removes another user's data; use a new request id")
    if summary["status"] != "completed":
        summary = {**summary, "status": "running", "runs": int(summary["runs"]) + 1, "updated_at": now()}
        jobs.put_item(Item=summary)
    return summary


def finish(job: str, summary: dict[str, Any], left: list[str] | None) -> dict[str, Any]:
    """Total the per-object items into the summary and save it; ``left`` is what the index still names for the
    user (``None``: the run ran out of time)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "job_id = :j AND begins_with(entry, :o)",
        "ExpressionAttributeValues": {":j": job, ":o": "object#"},
    }
    while True:
        page = jobs.query(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    unreadable = [i["entry"].removeprefix("object#") for i in items if i.get("outcome") == "unreadable"]
    unindexable = [i["object_key"] for i in unindexable_objects()]
    if left is None or set(left) - set(unreadable):
        status = "incomplete"  # invoke again with the same request id
    elif left or unindexable:
        status = "needs-attention"  # the index holds the user nowhere else, but some objects cannot be read
    else:
        status = "completed"
    summary = {
        **summary,
        "status": status,
        "objects": len(items),
        "records_removed": sum(int(i.get("records_removed", 0)) for i in items),
        "versions_deleted": sum(int(i.get("versions_deleted", 0)) for i in items),
        "unreadable_objects": unreadable[:100],
        "unindexable_objects": unindexable[:100],
        "updated_at": now(),
        **({"completed_at": now()} if status != "incomplete" else {}),
    }
    jobs.put_item(Item=summary)
    return plain(summary)


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's numbers are Decimals, which Lambda cannot return as JSON: these are all counts."""
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in item.items()}
