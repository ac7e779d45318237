"""What both consumers share: the objects an S3 event names, reading one as an invoice, and recording it once.

S3 delivers each event at least once, so recording is idempotent: one item per object version, written only if
it is not there yet. A document that is not a valid invoice raises :class:`InvalidDocument`, a failure no retry
can fix; anything else (a throttled write, a network error) may succeed on a retry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools.utilities.parser.models import S3Model
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

#: Invoices are small; a larger object is not one (and reading it whole would waste the consumer's memory).
MAX_DOCUMENT_BYTES = 256 * 1024

s3 = boto3.client("s3")
records = boto3.resource("dynamodb").Table(os.environ["RECORDS_TABLE"])


class InvalidDocument(ValueError):
    """The object is not an invoice this consumer can record; retrying will not change that."""


class MalformedEvent(ValueError):
    """The message is not an S3 event notification; retrying will not change that."""


# --8<-- [start:models]
class Invoice(BaseModel):
    """The JSON document uploaders put in the bucket."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invoice_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$")
    customer: str = Field(min_length=1, max_length=200)
    total: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class S3TestEvent(BaseModel):
    """What S3 sends to a queue once, when a notification configuration is saved; it names no object."""

    Service: Literal["Amazon S3"]
    Event: Literal["s3:TestEvent"]


#: What S3 puts in a queue: an event notification, or once the test event.
QUEUED_MESSAGE: TypeAdapter[S3Model | S3TestEvent] = TypeAdapter(S3Model | S3TestEvent)


@dataclass(frozen=True)
class StoredObject:
    """One object version an S3 event names, its key decoded."""

    bucket: str
    key: str
    version_id: str | None
    size: int
    event_time: str


def parse_notification(body: str) -> S3Model | None:
    """The S3 event a queued message carries; ``None`` for S3's test event.

    Raises:
        MalformedEvent: not JSON, or not shaped like an S3 event (the message says where).
    """
    try:
        event = QUEUED_MESSAGE.validate_json(body)
    except (ValidationError, AttributeError) as error:  # S3Model's own validator crashes on some shapes
        raise MalformedEvent(f"not an S3 event notification: {error}") from error
    return None if isinstance(event, S3TestEvent) else event


def objects_in(event: S3Model) -> list[StoredObject]:
    """The objects an S3 event names (keys arrive URL-encoded: a space as ``+``)."""
    return [
        StoredObject(
            bucket=record.s3.bucket.name,
            key=unquote_plus(record.s3.object.key),
            version_id=record.s3.object.versionId,
            size=int(record.s3.object.size or 0),
            event_time=record.eventTime.isoformat(),
        )
        for record in event.Records
        if record.s3.object is not None and record.eventName.startswith("ObjectCreated:")
    ]


# --8<-- [end:models]


# --8<-- [start:record]
def read_invoice(obj: StoredObject) -> Invoice:
    """Read the exact object version the event names and validate it as an invoice.

    Raises:
        InvalidDocument: too large, not JSON, or not an invoice (the message says which field).
    """
    if obj.size > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(f"{obj.key}: {obj.size} bytes, more than an invoice's {MAX_DOCUMENT_BYTES}")
    version: dict[str, Any] = {"VersionId": obj.version_id} if obj.version_id else {}
    body = s3.get_object(Bucket=obj.bucket, Key=obj.key, **version)["Body"].read(MAX_DOCUMENT_BYTES + 1)
    try:
        return Invoice.model_validate_json(body)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'document'}: {e['msg']}" for e in error.errors())
        raise InvalidDocument(f"{obj.key} is not a valid invoice: {problems}") from error


def record_invoice(obj: StoredObject, invoice: Invoice, consumer: str, request_id: str) -> bool:
    """Record the invoice once per object version; returns ``False`` when it was already recorded."""
    try:
        records.put_item(
            Item={
                "object_key": obj.key,
                "version_id": obj.version_id or "null",
                "invoice_id": invoice.invoice_id,
                "customer": invoice.customer,
                "total": invoice.total,
                "size_bytes": obj.size,
                "uploaded_at": obj.event_time,
                "consumer": consumer,
                "request_id": request_id,
            },
            ConditionExpression="attribute_not_exists(object_key)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False  # a redelivered event: the first delivery recorded it
        raise
    return True


# --8<-- [end:record]
