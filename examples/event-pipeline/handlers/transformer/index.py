"""The transformation: Firehose invokes it with the records it buffered; it answers each by its ``recordId``.

* A record an emitter put holds one event (JSON): valid, it becomes one line of the lake (``Ok``); malformed, it
  is answered ``ProcessingFailed`` and Firehose writes it, untouched, under the error prefix.
* A record from the log subscription holds a gzipped CloudWatch Logs batch: each audit line becomes a lake line
  (``Ok``, several lines in one record); a batch with nothing to keep (a control message) is ``Dropped``; a batch
  with a malformed audit line fails as a whole, so nothing of it is lost.

Each failure is logged with its reason, the record id and the SHA-256 of the raw data (the error document holds
the raw data, so a reader finds the reason by its hash).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import (
    KinesisFirehoseDataTransformationRecord,
    KinesisFirehoseDataTransformationResponse,
)
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import CloudWatchLogsDecode, KinesisFirehoseModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from events import MAX_EVENT_BYTES, Event, lake_line
from pydantic import ValidationError

logger = Logger()
tracer = Tracer()
GZIP_MAGIC = b"\x1f\x8b"


class Malformed(ValueError):
    """A record that cannot become a lake line; the message is the reason."""


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=KinesisFirehoseModel)
def handler(batch: KinesisFirehoseModel, context: LambdaContext) -> dict[str, Any]:
    """Answer every record of the batch: ``Ok`` with its lake lines, ``Dropped``, or ``ProcessingFailed``."""
    response = KinesisFirehoseDataTransformationResponse()
    for record in batch.records:
        raw = record.data
        assert isinstance(raw, bytes)  # the model decodes base64 to bytes
        try:
            lines = transform(raw)
        except Malformed as error:
            logger.warning(
                "malformed record",
                extra={
                    "record_id": record.recordId,
                    "raw_sha256": hashlib.sha256(raw).hexdigest(),
                    "reason": str(error),
                },
            )
            response.add_record(KinesisFirehoseDataTransformationRecord(record.recordId, "ProcessingFailed"))
            continue
        if lines:
            data = base64.b64encode(lines).decode()
            response.add_record(KinesisFirehoseDataTransformationRecord(record.recordId, "Ok", data))
        else:
            response.add_record(KinesisFirehoseDataTransformationRecord(record.recordId, "Dropped"))
    return response.asdict()


def transform(data: bytes) -> bytes:
    """The lake lines of one record's data; raises :class:`Malformed` with the reason."""
    if data.startswith(GZIP_MAGIC):
        return _log_batch(data)
    return lake_line(_event(data), channel="direct")


# --8<-- [end:handler]


def _event(data: bytes | str) -> Event:
    if len(data) > MAX_EVENT_BYTES:
        raise Malformed(f"event of {len(data)} bytes is larger than {MAX_EVENT_BYTES}")
    try:
        return Event.model_validate_json(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'event'}: {e['msg']}" for e in error.errors())
        raise Malformed(problems) from None


def _log_batch(data: bytes) -> bytes:
    try:
        batch = CloudWatchLogsDecode.model_validate_json(gzip.decompress(data))
    except (OSError, EOFError, ValidationError) as error:
        raise Malformed(f"not a CloudWatch Logs batch: {type(error).__name__}") from None
    if batch.messageType != "DATA_MESSAGE":
        return b""  # CloudWatch Logs' control message, sent when a subscription is created
    lines = []
    for log_event in batch.logEvents:
        try:
            line = json.loads(str(log_event.message))
        except ValueError:
            continue  # not a structured line: not an audit event
        if isinstance(line, dict) and "audit_event" in line:
            audit = line["audit_event"]
            lines.append(lake_line(_event(json.dumps(audit) if isinstance(audit, dict) else str(audit)), "logs"))
    return b"".join(lines)
