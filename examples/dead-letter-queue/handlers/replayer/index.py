"""The replayer: reads the invocation records a redrive moved to the replay queue, and runs the worker's business
code on each original event.

What still fails cannot be fixed by retrying it now (a malformed event, a currency still not accepted): it is
parked again at once, in the failure queue, with the new error and the number of replays as message attributes.
Anything else is reported as a batch item failure: SQS retries it, and after three receives moves it back to the
failure queue. Either way nothing is lost, and nothing loops: a record is replayed again only by another redrive.
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
from orders import InvocationRecord, Order, UnsupportedCurrency, process
from pydantic import ValidationError

#: SQS keeps message attribute values short enough to read; the full error is in the function's log.
MAX_ERROR_MESSAGE = 1024

logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Replay a batch of parked events; the response lists the records SQS must deliver again."""
    return process_partial_response(event=event, record_handler=replay, processor=processor, context=context)


def replay(record: SqsRecordModel, lambda_context: LambdaContext) -> str:
    """Run the original event of one parked invocation record through the business code again."""
    try:
        parked = InvocationRecord.model_validate_json(str(record.body))
        order = Order.model_validate(parked.request_payload)
        recorded = process(order, source="replay", request_id=lambda_context.aws_request_id)
    except (ValidationError, UnsupportedCurrency) as error:
        park_again(record, error, lambda_context)
        return "parked again"
    logger.info("replayed", extra={"order_id": order.order_id, "recorded": recorded})
    return "replayed"


def park_again(record: SqsRecordModel, error: Exception, context: LambdaContext) -> None:
    """Put the record back in the failure queue, unchanged, with what happened on this replay."""
    previous = record.messageAttributes.get("ReplayCount")
    replays = int(previous.stringValue or 0) + 1 if previous is not None else 1
    logger.warning("parking again", extra={"message_id": record.messageId, "error": str(error), "replays": replays})
    sqs.send_message(
        QueueUrl=os.environ["FAILURES_QUEUE_URL"],
        MessageBody=str(record.body),
        MessageAttributes={
            "ReplayErrorType": {"DataType": "String", "StringValue": type(error).__name__},
            "ReplayErrorMessage": {"DataType": "String", "StringValue": str(error)[:MAX_ERROR_MESSAGE]},
            "ReplayRequestId": {"DataType": "String", "StringValue": context.aws_request_id},
            "ReplayCount": {"DataType": "Number", "StringValue": str(replays)},
        },
    )


# --8<-- [end:handler]
