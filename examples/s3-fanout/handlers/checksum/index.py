"""Subscriber 2: compute each new object's SHA-256. Reads batches from an SQS queue (raw S3 events)."""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from object_records import idempotency, persistence, records_table
from s3_notifications import from_message

CHUNK_BYTES = 1024 * 1024

logger = Logger()
tracer = Tracer()
s3 = boto3.client("s3")
# A batch whose every record failed is reported record by record too, not raised as one error.
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process a batch; a failing record is reported alone and retried, the others are deleted."""
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)


def process_record(record: SqsRecordModel) -> None:
    """Checksum every created object the message names; raise to report this record as failed."""
    for object_event in from_message(str(record.body)):  # the raw S3 event: a JSON string
        if object_event.is_created:
            checksum_object(notification=object_event.as_dict())


@idempotent_function(data_keyword_argument="notification", config=idempotency, persistence_store=persistence)
@tracer.capture_method
def checksum_object(notification: dict[str, Any]) -> dict[str, Any]:
    """Stream the exact object version the event names and store its SHA-256."""
    version = {"VersionId": notification["version_id"]} if notification["version_id"] else {}
    body = s3.get_object(Bucket=notification["bucket"], Key=notification["key"], **version)["Body"]
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: body.read(CHUNK_BYTES), b""):
        digest.update(chunk)
        size += len(chunk)
    records_table.update_item(
        Key={"object_key": notification["key"], "subscriber": "checksum"},
        UpdateExpression="SET sha256 = :h, size_bytes = :s ADD deliveries :one",
        ExpressionAttributeValues={":h": digest.hexdigest(), ":s": size, ":one": 1},
    )
    logger.info("checksummed", extra={"key": notification["key"], "bytes": size})
    return {"key": notification["key"], "sha256": digest.hexdigest()}


# --8<-- [end:handler]
