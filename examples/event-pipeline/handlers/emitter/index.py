"""An emitter: it puts the records it is given into the delivery stream with ``PutRecordBatch`` and resends the
ones Firehose reports failed, until each is accepted.

``PutRecordBatch`` can succeed *partly*: ``FailedPutCount`` says how many records failed (throttling, an internal
fault) and each failed entry carries an ``ErrorCode`` instead of a ``RecordId``. The emitter resends exactly those,
with exponential back-off and full jitter, at most ``MAX_ATTEMPTS`` times; what is still refused then fails the
invocation with the count, so the caller knows (nothing is dropped silently). The emitter does not validate the
events: the pipeline's transformation does, for every emitter alike.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, JsonValue

logger = Logger()
tracer = Tracer()
firehose = boto3.client("firehose")

MAX_BATCH_RECORDS = 500  # Firehose's limits for one PutRecordBatch call
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1000 * 1024
MAX_ATTEMPTS = 8
BASE_DELAY_S = 0.05
MAX_DELAY_S = 2.0


class EmitRequest(BaseModel):
    """Records to put: JSON values (objects are serialized; strings are sent as they are)."""

    records: list[JsonValue] = Field(min_length=1, max_length=10_000)


class NotAccepted(RuntimeError):
    """Records Firehose still refused after every attempt."""


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=EmitRequest)
def handler(request: EmitRequest, context: LambdaContext) -> dict[str, Any]:
    """Put every record; return how many were accepted, in how many calls, and how many were resent."""
    data = [
        r.encode() if isinstance(r, str) else json.dumps(r, separators=(",", ":")).encode() for r in request.records
    ]
    too_large = [i for i, d in enumerate(data) if len(d) > MAX_RECORD_BYTES]
    if too_large:
        raise ValueError(f"records {too_large} are larger than Firehose's {MAX_RECORD_BYTES} bytes; nothing was put")
    stats = {"accepted": 0, "calls": 0, "resent": 0}
    for batch in batches(data):
        put_all(os.environ["STREAM_NAME"], batch, stats)
    logger.info("records put", extra=stats)
    return {**stats, "source": os.environ.get("SOURCE", "")}


def put_all(stream: str, records: list[bytes], stats: dict[str, int]) -> None:
    """Put ``records``, resending the failed ones with back-off; raise :class:`NotAccepted` if some never are."""
    pending = records
    for attempt in range(1, MAX_ATTEMPTS + 1):
        response = firehose.put_record_batch(DeliveryStreamName=stream, Records=[{"Data": d} for d in pending])
        stats["calls"] += 1
        failed = [d for d, r in zip(pending, response["RequestResponses"], strict=True) if "ErrorCode" in r]
        stats["accepted"] += len(pending) - len(failed)
        if not failed:
            return
        pending = failed
        if attempt == MAX_ATTEMPTS:
            break
        codes = sorted({r["ErrorCode"] for r in response["RequestResponses"] if "ErrorCode" in r})
        logger.info("resending failed records", extra={"failed": len(failed), "codes": codes, "attempt": attempt})
        stats["resent"] += len(failed)
        time.sleep(random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt)))  # noqa: S311 (jitter, not crypto)
    raise NotAccepted(f"{len(pending)} records were still refused after {MAX_ATTEMPTS} attempts")


# --8<-- [end:handler]


def batches(data: list[bytes]) -> list[list[bytes]]:
    """Split records into PutRecordBatch calls within Firehose's limits (500 records, 4 MiB)."""
    result: list[list[bytes]] = []
    size = 0
    for record in data:
        if not result or len(result[-1]) == MAX_BATCH_RECORDS or size + len(record) > MAX_BATCH_BYTES:
            result.append([])
            size = 0
        result[-1].append(record)
        size += len(record)
    return result
