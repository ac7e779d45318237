"""The queue's consumer: takes orders in batches and processes each one once.

Each record is processed on its own; a failure is reported for that record alone (``batchItemFailures``), so the
rest of the batch is deleted. Processing is idempotent, keyed by the order id (Powertools idempotency, records in
DynamoDB): a message carrying an order already processed returns the stored result and is noted as a duplicate.
A message no retry can fix (not an order, an unknown product, an order id reused for a different order) is parked
in the DLQ at once with its error; anything else is left to SQS, which retries it and moves it to the DLQ after
three receives.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from orders import (
    MalformedMessage,
    Order,
    UnknownProduct,
    as_result,
    parse_order,
    record_duplicate,
    record_order,
    total_of,
)

#: SQS keeps message attribute values short enough to read; the full error is in the function's log.
MAX_ERROR_MESSAGE = 1024

logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")
# A batch whose every record failed is reported record by record too, not raised as one error.
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)

# --8<-- [start:idempotency]
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
idempotency = IdempotencyConfig(
    event_key_jmespath="order_id",  # one order, one processing, however often it arrives
    payload_validation_jmespath="[customer, items]",  # the same id with different contents is refused
    raise_on_no_idempotency_key=True,
    expires_after_seconds=int(os.environ.get("IDEMPOTENCY_TTL_SECONDS", "86400")),
)


@idempotent_function(data_keyword_argument="order", config=idempotency, persistence_store=persistence)
def fulfil(*, order: Order, message_id: str, request_id: str) -> dict[str, Any]:
    """Price and record the order; runs once per order id."""
    total = total_of(order)
    record_order(order, total, message_id, request_id)
    return as_result(order, total, message_id)


# --8<-- [end:idempotency]


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process a batch; the response lists the records SQS must deliver again."""
    idempotency.register_lambda_context(context)  # in-progress records expire with this invocation
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)


def process_record(record: SqsRecordModel, lambda_context: LambdaContext) -> str:
    """Process one order; park the message if that can never succeed."""
    try:
        order = parse_order(str(record.body))
        result = fulfil(order=order, message_id=record.messageId, request_id=_request_id(record))
    except (MalformedMessage, UnknownProduct, IdempotencyValidationError) as error:
        park(record, error, lambda_context)
        return "parked"
    if result["message_id"] != record.messageId:
        record_duplicate(order.order_id, record.messageId)
        logger.info("duplicate", extra={"order_id": order.order_id, "first_message_id": result["message_id"]})
        return "duplicate"
    logger.info("processed", extra={"order_id": order.order_id, "total": result["total"]})
    return "processed"


def park(record: SqsRecordModel, error: Exception, context: LambdaContext) -> None:
    """Send the message to the DLQ with its error; it is then deleted from the queue as processed."""
    logger.warning("parking a message no retry can fix", extra={"message_id": record.messageId, "error": str(error)})
    sqs.send_message(
        QueueUrl=os.environ["DEAD_LETTER_QUEUE_URL"],
        MessageBody=record.body,
        MessageAttributes={
            "ErrorType": {"DataType": "String", "StringValue": type(error).__name__},
            "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:MAX_ERROR_MESSAGE] or "-"},
            "RequestID": {"DataType": "String", "StringValue": context.aws_request_id},
            "SourceMessageId": {"DataType": "String", "StringValue": record.messageId},
            "ApiRequestId": {"DataType": "String", "StringValue": _request_id(record) or "-"},
        },
    )


def _request_id(record: SqsRecordModel) -> str:
    """The API request that queued the message (a message from elsewhere has none)."""
    attribute = record.messageAttributes.get("RequestId")
    return str(attribute.stringValue) if attribute is not None and attribute.stringValue else ""


# --8<-- [end:handler]
