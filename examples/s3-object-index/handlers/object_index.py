"""The index in DynamoDB, shared by the indexer, the backfill and the removal job.

Two tables:

* **Objects**, one item per object key: the latest version indexed, its size, time range, record and user
  counts, or ``unindexable`` with the reason (those items also carry the sparse ``Unindexable`` index's key).
* **Holdings**, one item per (user, object): partition key ``user_id``, sort key ``object_key``, and
  ``versions``, the set of the object's version ids known to hold that user's records. "Which objects hold user
  X" is one ``Query`` on ``user_id``; the ``ByObject`` index (``object_key``, ``user_id``) answers "who is in
  this object" when a version disappears.

Every write is safe to repeat and to reorder. Adding a version to ``versions`` (``ADD``) and removing one
(``DELETE``) commute; the Objects item is replaced only by an event whose S3 ``sequencer`` is not older than the
one it holds. A version that no longer exists when it is read is skipped. The index may therefore briefly
over-report (a version deleted a moment ago) but never misses a version that exists and was readable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from event_lines import Summary, Unindexable, read_lines

#: Written by the backfill: lower than any sequencer S3 sends, so an event's entry always wins over it.
BACKFILL_SEQUENCER = "0" * 32
#: S3's version id of an object written while versioning was off.
NULL_VERSION = "null"
GONE = {"NoSuchKey", "NoSuchVersion", "404", "InvalidArgument"}

s3 = boto3.client("s3")
dynamodb = boto3.resource("dynamodb")
objects = dynamodb.Table(os.environ["OBJECTS_TABLE"])
holdings = dynamodb.Table(os.environ["HOLDINGS_TABLE"])

Outcome = Literal["indexed", "unindexable", "gone", "stale"]


def padded(sequencer: str | None) -> str:
    """S3's sequencers compare as hexadecimal strings once padded to the same length."""
    return (sequencer or "").upper().rjust(32, "0")


@dataclass(frozen=True)
class Version:
    """One object version to index: where it is and the sequencer of the event that named it."""

    bucket: str
    key: str
    version_id: str | None
    sequencer: str = BACKFILL_SEQUENCER


def now() -> str:
    """The current time, ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_version(bucket: str, key: str, version_id: str | None) -> tuple[bytes, str] | None:
    """The version's bytes and id; ``None`` when it no longer exists (deleted since the event was sent)."""
    extra: dict[str, Any] = {"VersionId": version_id} if version_id and version_id != NULL_VERSION else {}
    try:
        response = s3.get_object(Bucket=bucket, Key=key, **extra)
    except ClientError as error:
        if error.response["Error"]["Code"] in GONE:
            return None
        raise
    return response["Body"].read(), response.get("VersionId") or NULL_VERSION


# --8<-- [start:index]
def index_version(version: Version, *, latest: bool = True) -> Outcome:
    """Record which users the version holds, and (when it is the key's latest) the object's metadata."""
    read = read_version(version.bucket, version.key, version.version_id)
    if read is None:
        return "gone"
    body, version_id = read
    summary = read_lines(body)
    if isinstance(summary, Summary):
        for user_id in summary.users:  # first the holdings, so the Objects item never announces a partial entry
            holdings.update_item(
                Key={"user_id": user_id, "object_key": version.key},
                UpdateExpression="ADD versions :v SET updated_at = :t",
                ExpressionAttributeValues={":v": {version_id}, ":t": now()},
            )
    if latest and not put_object_item(version, version_id, len(body), summary):
        return "stale"
    return "indexed" if isinstance(summary, Summary) else "unindexable"


def put_object_item(version: Version, version_id: str, size: int, summary: Summary | Unindexable) -> bool:
    """Replace the key's Objects item unless a newer event already wrote it; ``False`` if one did."""
    item: dict[str, Any] = {
        "object_key": version.key,
        "version_id": version_id,
        "size": size,
        "sequencer": version.sequencer,
        "indexed_at": now(),
    }
    if isinstance(summary, Unindexable):
        item |= {"status": "unindexable", "reason": summary.reason, "unindexable": "yes"}
    else:
        item |= {
            "status": "indexed",
            "records": summary.records,
            "users": len(summary.users),
            "gzipped": summary.gzipped,
            **({"first_ts": summary.first_ts.isoformat()} if summary.first_ts else {}),
            **({"last_ts": summary.last_ts.isoformat()} if summary.last_ts else {}),
        }
    try:
        objects.put_item(
            Item=item,
            ConditionExpression="attribute_not_exists(object_key) OR #seq <= :seq",
            ExpressionAttributeNames={"#seq": "sequencer"},
            ExpressionAttributeValues={":seq": version.sequencer},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def forget_version(key: str, version_id: str, sequencer: str) -> int:
    """A version was deleted for good: drop it from every holding of the key (and holdings left with none), and
    the Objects item if it describes that version. Returns the holdings dropped."""
    dropped = 0
    for user_id in users_in(key):
        holdings.update_item(
            Key={"user_id": user_id, "object_key": key},
            UpdateExpression="DELETE versions :v",
            ExpressionAttributeValues={":v": {version_id}},
        )
        dropped += _delete_if_empty(user_id, key)
    _delete_object_item(key, version_id, sequencer)
    return dropped


# --8<-- [end:index]


# --8<-- [start:query]
def objects_holding(user_id: str) -> Iterator[dict[str, Any]]:
    """Every object holding the user's records, with the versions that hold them: a query, never a scan."""
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("user_id").eq(user_id)}
    while True:
        page = holdings.query(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --8<-- [end:query]


def users_in(key: str) -> list[str]:
    """The users the index says the object holds (the ``ByObject`` index)."""
    users: list[str] = []
    kwargs: dict[str, Any] = {"IndexName": "ByObject", "KeyConditionExpression": Key("object_key").eq(key)}
    while True:
        page = holdings.query(**kwargs)
        users += [item["user_id"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return users
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def unindexable_objects() -> list[dict[str, Any]]:
    """The objects the indexer could not read (the sparse ``Unindexable`` index): they may hold anyone's data."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"IndexName": "Unindexable", "KeyConditionExpression": Key("unindexable").eq("yes")}
    while True:
        page = objects.query(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def set_holdings(key: str, version_id: str | None, users: set[str]) -> None:
    """After a rewrite left only ``version_id`` (or nothing): the key's holdings are exactly ``users``, each held in
    that one version."""
    for user_id in set(users_in(key)) - (users if version_id else set()):
        holdings.delete_item(Key={"user_id": user_id, "object_key": key})
    for user_id in users if version_id else ():
        holdings.update_item(
            Key={"user_id": user_id, "object_key": key},
            UpdateExpression="SET versions = :v, updated_at = :t",
            ExpressionAttributeValues={":v": {version_id}, ":t": now()},
        )


def object_item(key: str) -> dict[str, Any] | None:
    """The key's Objects item, if indexed."""
    item: dict[str, Any] | None = objects.get_item(Key={"object_key": key}, ConsistentRead=True).get("Item")
    return item


def _delete_if_empty(user_id: str, key: str) -> int:
    try:
        holdings.delete_item(
            Key={"user_id": user_id, "object_key": key}, ConditionExpression="attribute_not_exists(versions)"
        )  # DynamoDB removes a set attribute once its last element is deleted
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return 0  # other versions still hold the user's records
        raise
    return 1


def _delete_object_item(key: str, version_id: str, sequencer: str) -> None:
    try:
        objects.delete_item(
            Key={"object_key": key},
            ConditionExpression="version_id = :v AND #seq <= :seq",
            ExpressionAttributeNames={"#seq": "sequencer"},
            ExpressionAttributeValues={":v": version_id, ":seq": sequencer},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
