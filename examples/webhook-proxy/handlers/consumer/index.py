"""A stage's consumer: reads the payloads table's stream through an event filter that passes only new items for its
stage (``STAGE``), and processes each payload once.

Processing here stands for what the stage does with a webhook (call its own service, start a workflow): the payload
is validated, then the delivery is recorded on its item with a conditional update, which is also what makes it
happen once: a record delivered again (a retried or bisected batch) finds the item already processed and changes
nothing. A payload that fails is reported as a batch item failure; Lambda bisects, retries, and finally sends the
batch's position to the stage's on-failure queue. A record of another stage (which the filter should have kept
away) is an error too, never processed.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

STAGE = os.environ["STAGE"]

logger = Logger()
tracer = Tracer()
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, model=DynamoDBStreamRecordModel)


class WebhookEvent(BaseModel):
    """What the stages expect from the provider: an event id, a type and its data."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    data: dict[str, Any]


class WrongStage(Exception):
    """A record meant for another stage reached this consumer."""


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process a batch of this stage's new payloads; the response lists the records that failed."""
    return process_partial_response(event=event, record_handler=process, processor=processor, context=context)


def process(record: DynamoDBStreamRecordModel, lambda_context: LambdaContext) -> str:
    """Validate one payload and record its delivery to this stage, once."""
    image = record.dynamodb.NewImage if record.dynamodb else None
    if not isinstance(image, dict):
        raise ValueError(f"stream record {record.eventID} has no new image")
    delivery_id, stage = str(image["delivery_id"]), str(image["stage"])
    if stage != STAGE:
        raise WrongStage(f"{delivery_id} is for {stage!r}, this consumer processes {STAGE!r}")
    webhook = WebhookEvent.model_validate_json(str(image["body"]))
    try:
        table.update_item(
            Key={"delivery_id": delivery_id},
            UpdateExpression="SET processed_by = :stage, processed_at = :now, processed_in = :request",
            ConditionExpression="attribute_exists(delivery_id) AND attribute_not_exists(processed_at)",
            ExpressionAttributeValues={
                ":stage": STAGE,
                ":now": int(time.time()),
                ":request": lambda_context.aws_request_id,
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        logger.info("already processed (or expired)", extra={"delivery_id": delivery_id})
        return "duplicate"
    logger.info("processed", extra={"delivery_id": delivery_id, "event_id": webhook.id, "type": webhook.type})
    return "processed"


# --8<-- [end:handler]
