"""Parsing S3 event notifications strictly: one module shared by every subscriber of the topic.

S3 sends a JSON document with ``Records``; each record names one object. When a notification configuration is
first saved, S3 also sends a one-off ``s3:TestEvent`` with no records. Keys arrive URL-encoded (a space as ``+``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

#: SNS and SQS cap a message at 256 KiB; anything larger did not come from S3.
MAX_MESSAGE_BYTES = 256 * 1024
#: S3 object keys are at most 1024 bytes of UTF-8.
MAX_KEY_BYTES = 1024


class MalformedNotification(ValueError):
    """The message is not an S3 event notification this code can trust."""


# --8<-- [start:model]
@dataclass(frozen=True)
class ObjectEvent:
    """One object named by an S3 event notification."""

    event_name: str
    event_time: str
    bucket: str
    key: str
    size: int
    etag: str
    sequencer: str
    version_id: str | None

    @property
    def is_created(self) -> bool:
        """Whether the object was created (put, post, copy or multipart upload)."""
        return self.event_name.startswith("ObjectCreated:")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (the idempotency layer hashes it)."""
        return dict(self.__dict__)


# --8<-- [end:model]


# --8<-- [start:parse]
def parse_notification(message: str | bytes) -> list[ObjectEvent]:
    """Parse an S3 event notification; an ``s3:TestEvent`` gives an empty list.

    Raises:
        MalformedNotification: not JSON, too large, not shaped like an S3 notification, or a field of the wrong
            type. Unknown extra keys are accepted: AWS adds fields over time.
    """
    if len(message) > MAX_MESSAGE_BYTES:
        raise MalformedNotification(f"message of {len(message)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        document = json.loads(message)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedNotification(f"message is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise MalformedNotification(f"expected a JSON object, got {type(document).__name__}")
    if document.get("Event") == "s3:TestEvent":
        return []
    records = document.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedNotification("expected a non-empty 'Records' list")
    return [_parse_record(index, record) for index, record in enumerate(records)]


def _parse_record(index: int, record: object) -> ObjectEvent:
    where = f"Records[{index}]"
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise MalformedNotification(f"{where} is not an aws:s3 record")
    s3 = _field(record, "s3", dict, where)
    bucket = _field(s3, "bucket", dict, f"{where}.s3")
    obj = _field(s3, "object", dict, f"{where}.s3")
    key = unquote_plus(_field(obj, "key", str, f"{where}.s3.object"))
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise MalformedNotification(f"{where}.s3.object.key must be 1 to {MAX_KEY_BYTES} bytes of UTF-8")
    size = obj.get("size", 0)  # absent on ObjectRemoved records
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedNotification(f"{where}.s3.object.size must be a non-negative integer")
    version_id = obj.get("versionId")
    if version_id is not None and not isinstance(version_id, str):
        raise MalformedNotification(f"{where}.s3.object.versionId must be a string")
    return ObjectEvent(
        event_name=_field(record, "eventName", str, where),
        event_time=_field(record, "eventTime", str, where),
        bucket=_field(bucket, "name", str, f"{where}.s3.bucket"),
        key=key,
        size=size,
        etag=str(obj.get("eTag", "")),
        sequencer=_field(obj, "sequencer", str, f"{where}.s3.object"),
        version_id=version_id,
    )


def _field(container: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = container.get(name)
    if not isinstance(value, kind) or (kind is str and not value):
        raise MalformedNotification(f"{where}.{name} must be a non-empty {kind.__name__}")
    return value


# --8<-- [end:parse]
