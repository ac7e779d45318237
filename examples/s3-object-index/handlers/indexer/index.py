"""The indexer: takes S3 events in batches from SQS and brings the index up to date for each object version.

``ObjectCreated`` indexes the version the event names; ``ObjectRemoved:Delete`` (a version deleted for good) and
``LifecycleExpiration:Delete`` drop that version from the index; a delete marker hides the object but its
versions, and so its users' records, are still there: the index keeps them. An object that cannot be read is
recorded as unindexable with its reason, which is a result, not a failure. A message that is not an S3 event is
parked in the DLQ at once with its error; any other failure (throttling, a network error) is reported alone
(``batchItemFailures``) and retried by SQS, then moved to the DLQ after three receives.
"""

from __future__ import annotations

import os
from typing import Any, Literal
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import S3Model, SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from object_index import NULL_VERSION, Version, forget_version, index_version, padded
from pydantic import BaseModel, TypeAdapter, ValidationError

#: SQS keeps message attribute values short enough to read; the full error is in the function's log.
MAX_ERROR_MESSAGE = 1024

logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)


class MalformedEvent(ValueError):
    """The message is not an S3 event notification; retrying will not change that."""


class S3TestEvent(BaseModel):
    """What S3 sends to a queue once, when a notification configuration is saved; it names no object."""

    Service: Literal["Amazon S3"]
    Event: Literal["s3:TestEvent"]


QUEUED_MESSAGE: TypeAdapter[S3Model | S3TestEvent] = TypeAdapter(S3Model | S3TestEvent)


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process a batch; the response lists the records SQS must deliver again."""
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)


def process_record(record: SqsRecordModel, lambda_context: LambdaContext) -> str:
    """Apply each object change the message's S3 event names to the index, in the event's order."""
    try:
        event = QUEUED_MESSAGE.validate_json(str(record.body))
    except (ValidationError, AttributeError) as error:  # S3Model's own validator crashes on some shapes
        park(record, MalformedEvent(f"not an S3 event notification: {error}"), lambda_context)
        return "parked"
    if isinstance(event, S3TestEvent):
        return "test event"
    for change in event.Records:
        if change.s3.object is None:
            continue
        key = unquote_plus(change.s3.object.key)  # keys arrive URL-encoded: a space as "+"
        version_id, sequencer = change.s3.object.versionId, padded(change.s3.object.sequencer)
        if change.eventName.startswith("ObjectCreated:"):
            outcome = index_version(Version(change.s3.bucket.name, key, version_id, sequencer))
            logger.info("indexed", extra={"key": key, "version_id": version_id, "outcome": outcome})
        elif change.eventName in {"ObjectRemoved:Delete", "LifecycleExpiration:Delete"}:
            dropped = forget_version(key, version_id or NULL_VERSION, sequencer)
            logger.info("version deleted", extra={"key": key, "version_id": version_id, "holdings_dropped": dropped})
    return "indexed"


# --8<-- [end:handler]


def park(record: SqsRecordModel, error: Exception, context: LambdaContext) -> None:
    """Send the message to the DLQ with its error; it is then deleted from the queue as processed."""
    logger.warning("parking a message no retry can fix", extra={"message_id": record.messageId, "error": str(error)})
    sqs.send_message(
        QueueUrl=os.environ["DEAD_LETTER_QUEUE_URL"],
        MessageBody=record.body,
        MessageAttributes={
            "ErrorType": {"DataType": "String", "StringValue": type(error).__name__},
            "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:MAX_ERROR_MESSAGE]},
            "RequestID": {"DataType": "String", "StringValue": context.aws_request_id},
            "SourceMessageId": {"DataType": "String", "StringValue": record.messageId},
        },
    )
