"""Subscriber 1: record each new object's metadata. Invoked asynchronously by SNS, one message per event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from object_records import idempotency, persistence, records_table
from s3_notifications import MalformedNotification, from_sns_event

__all__ = ["MalformedNotification", "handler"]

logger = Logger()
tracer = Tracer()


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Index every object an SNS-delivered S3 notification names.

    Raises ``MalformedNotification`` on an event that is not one: Lambda retries it twice, then sends its
    invocation record, error included, to the on-failure destination.
    """
    idempotency.register_lambda_context(context)
    indexed = ignored = 0
    for object_event in from_sns_event(event):  # Powertools' SnsEnvelope and S3Model
        if object_event.is_created:
            index_object(notification=object_event.as_dict())
            indexed += 1
        else:
            logger.warning("ignoring event", extra={"event_name": object_event.event_name})
            ignored += 1
    logger.info("indexed objects", extra={"indexed": indexed, "ignored": ignored})
    return {"indexed": indexed, "ignored": ignored}


@idempotent_function(data_keyword_argument="notification", config=idempotency, persistence_store=persistence)
@tracer.capture_method
def index_object(notification: dict[str, Any]) -> dict[str, Any]:
    """Write the object's metadata; ``deliveries`` counts how often this ran (once, thanks to idempotency)."""
    records_table.update_item(
        Key={"object_key": notification["key"], "subscriber": "indexer"},
        UpdateExpression="SET bucket_name = :b, size_bytes = :s, etag = :e, version_id = :v, event_time = :t "
        "ADD deliveries :one",
        ExpressionAttributeValues={
            ":b": notification["bucket"],
            ":s": notification["size"],
            ":e": notification["etag"],
            ":v": notification["version_id"] or "null",
            ":t": notification["event_time"],
            ":one": 1,
        },
    )
    return {"key": notification["key"]}


# --8<-- [end:handler]
