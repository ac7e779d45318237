"""Reading S3 event notifications with Powertools' parser: one module shared by every subscriber of the topic.

S3 sends a JSON document with ``Records``; each record names one object. When a notification configuration is
first saved, S3 also sends a one-off ``s3:TestEvent`` with no records. Keys arrive URL-encoded (a space as ``+``).
Powertools' ``S3Model`` validates the shape; this module adds what the subscribers rely on beyond it (a key of 1 to
1,024 bytes, a ``sequencer`` on every created object) and turns every refusal into one error type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.envelopes import SnsEnvelope
from aws_lambda_powertools.utilities.parser.models import S3Model
from pydantic import BaseModel, RootModel, ValidationError

#: S3 object keys are at most 1024 bytes of UTF-8.
MAX_KEY_BYTES = 1024


class MalformedNotification(ValueError):
    """The message is not an S3 event notification this code can trust."""


# --8<-- [start:model]
class S3TestEvent(BaseModel):
    """What S3 sends once, when a notification configuration is saved; it names no object."""

    Service: Literal["Amazon S3"]
    Event: Literal["s3:TestEvent"]


class S3Notification(RootModel[S3Model | S3TestEvent]):
    """What the topic carries: an event notification, or once the test event."""


@dataclass(frozen=True)
class ObjectEvent:
    """One object named by an S3 event notification, its key decoded."""

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
        return asdict(self)


# --8<-- [end:model]


# --8<-- [start:parse]
def from_sns_event(event: Any) -> list[ObjectEvent]:
    """The objects named by the S3 notifications an SNS invocation event carries (``SnsEnvelope``).

    Raises:
        MalformedNotification: the event is not an SNS event, or a message is not an S3 notification.
    """
    try:
        notifications = SnsEnvelope().parse(data=event, model=S3Notification)
    except (ValidationError, AttributeError, TypeError) as error:  # S3Model's own validator crashes on some shapes
        raise MalformedNotification(f"not an SNS event carrying S3 notifications: {error}") from error
    return [obj for notification in notifications if notification for obj in objects_in(notification.root)]


def from_message(body: str) -> list[ObjectEvent]:
    """The objects named by one S3 notification as a queue receives it (raw message delivery).

    Raises:
        MalformedNotification: not JSON, or not shaped like an S3 notification (the message says where).
    """
    try:
        notification = S3Notification.model_validate_json(body).root
    except (ValidationError, AttributeError) as error:  # S3Model's own validator crashes on some shapes
        raise MalformedNotification(f"not an S3 event notification: {error}") from error
    return objects_in(notification)


def objects_in(notification: S3Model | S3TestEvent) -> list[ObjectEvent]:
    """The objects a notification names; none for the test event.

    Raises:
        MalformedNotification: no records, a key that is empty or over 1,024 bytes, or a created object without
            the ``sequencer`` that orders (and here deduplicates) its events.
    """
    if isinstance(notification, S3TestEvent):
        return []
    if not notification.Records:
        raise MalformedNotification("expected a non-empty 'Records' list")
    objects = []
    for index, record in enumerate(notification.Records):
        where = f"Records[{index}].s3.object"
        obj = record.s3.object
        if obj is None:
            raise MalformedNotification(f"{where} is missing")
        key = unquote_plus(obj.key)
        if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise MalformedNotification(f"{where}.key must be 1 to {MAX_KEY_BYTES} bytes of UTF-8")
        if record.eventName.startswith("ObjectCreated:") and not obj.sequencer:
            raise MalformedNotification(f"{where}.sequencer is missing")
        objects.append(
            ObjectEvent(
                event_name=record.eventName,
                event_time=record.eventTime.isoformat(),
                bucket=record.s3.bucket.name,
                key=key,
                size=int(obj.size or 0),  # absent on ObjectRemoved records
                etag=obj.eTag or "",
                sequencer=obj.sequencer or "",
                version_id=obj.versionId,
            )
        )
    return objects


# --8<-- [end:parse]
