"""The queue's consumer: takes S3 events in batches from SQS and records each invoice they name.

A record that fails is reported alone (``batchItemFailures``), so the rest of the batch is deleted. A message no
retry can fix (not an S3 event, or a document that is not an invoice) is parked in the DLQ at once, with its error
as message attributes; other failures are left to SQS, which retries them and moves them to the DLQ after three
receives.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from invoices import InvalidDocument, MalformedEvent, objects_in, parse_notification, read_invoice, record_invoice

#: SQS keeps message attribute values short enough to read; the full error is in the function's log.
MAX_ERROR_MESSAGE = 1024

logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")
# A batch whose every record failed is reported record by record too, not raised as one error.
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process a batch; the response lists the records SQS must deliver again."""
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)


def process_record(record: SqsRecordModel, lambda_context: LambdaContext) -> str:
    """Record every invoice the message's S3 event names; park the message if that can never succeed."""
    try:
        event = parse_notification(str(record.body))  # the raw S3 event: a JSON string
        if event is None:
            return "test event"  # sent once when the bucket's notifications were configured
        for obj in objects_in(event):
            invoice = read_invoice(obj)
            if not record_invoice(obj, invoice, "queued", lambda_context.aws_request_id):
                logger.info("already recorded", extra={"key": obj.key, "version_id": obj.version_id})
    except (MalformedEvent, InvalidDocument) as error:
        park(record, error, lambda_context)
        return "parked"
    return "recorded"


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
            "ApproximateReceiveCount": {
                "DataType": "Number",
                "StringValue": str(record.attributes.ApproximateReceiveCount),
            },
        },
    )


# --8<-- [end:handler]
