"""Firehose's Lambda data transformation, as AWS documents it: buffered records go to the destination's Lambda
processor in batches (``{"invocationId", "deliveryStreamArn", "region", "records": [{"recordId",
"approximateArrivalTimestamp", "data"}]}``, data base64-encoded); each returned record names its ``recordId`` and a
``result``: ``Ok`` (its ``data`` is delivered), ``Dropped`` (nothing is) or ``ProcessingFailed``.

A failed invocation (the function raised or timed out, or the delivery role may not invoke it) is retried
``NumberOfRetries`` times (default 3); then the whole batch fails. Failed records, and records the response leaves
out, names twice or answers without valid data, are *processing failures*: Firehose writes them, one JSON document
per line (``attemptsMade``, ``arrivalTimestamp``, ``errorCode``, ``errorMessage``, ``attemptEndingTimestamp``,
``rawData`` with the original data, ``lambdaArn``), under the error output prefix with ``processing-failed``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PROCESSING_FAILED",
    "Failure",
    "Outcome",
    "Processor",
    "Record",
    "batches",
    "processor_of",
    "transform",
]

#: The error output type of a transformation failure (what ``!{firehose:error-output-type}`` evaluates to).
PROCESSING_FAILED = "processing-failed"
RESULTS = ("Ok", "Dropped", "ProcessingFailed")


@dataclass(frozen=True)
class Record:
    """One record as Firehose received it."""

    record_id: str
    data: bytes
    arrival_ms: int


@dataclass(frozen=True)
class Failure:
    """A record the transformation did not process, and why."""

    record: Record
    code: str
    message: str
    attempts: int
    lambda_arn: str
    ended_ms: int

    def document(self) -> dict[str, Any]:
        """The JSON document Firehose writes for it under the error prefix."""
        return {
            "attemptsMade": self.attempts,
            "arrivalTimestamp": self.record.arrival_ms,
            "errorCode": self.code,
            "errorMessage": self.message,
            "attemptEndingTimestamp": self.ended_ms,
            "rawData": base64.b64encode(self.record.data).decode(),
            "lambdaArn": self.lambda_arn,
        }


@dataclass
class Outcome:
    """What a transformation gave: records to deliver (transformed data), failures, and how many were dropped."""

    delivered: list[Record] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    dropped: int = 0


@dataclass(frozen=True)
class Processor:
    """A destination's Lambda processor."""

    lambda_arn: str
    retries: int = 3
    buffer_bytes: int = 1024 * 1024
    role_arn: str = ""


def processor_of(destination: dict[str, Any]) -> Processor | None:
    """The enabled Lambda processor of an (extended) S3 destination, or ``None``."""
    configuration = destination.get("ProcessingConfiguration") or {}
    if str(configuration.get("Enabled", "false")).lower() != "true":
        return None
    for processor in configuration.get("Processors") or []:
        if processor.get("Type") != "Lambda":
            continue
        parameters = {p["ParameterName"]: str(p["ParameterValue"]) for p in processor.get("Parameters") or []}
        if "LambdaArn" not in parameters:
            continue
        size = float(parameters.get("BufferSizeInMBs", "1"))
        return Processor(
            lambda_arn=parameters["LambdaArn"],
            retries=int(parameters.get("NumberOfRetries", "3")),
            buffer_bytes=int(size * 1024 * 1024),
            role_arn=parameters.get("RoleArn") or destination.get("RoleARN", ""),
        )
    return None


def batches(records: list[Record], limit_bytes: int) -> list[list[Record]]:
    """Split records into invocation batches of at most ``limit_bytes`` of data (at least one record each)."""
    result: list[list[Record]] = []
    size = 0
    for record in records:
        if not result or size + len(record.data) > limit_bytes:
            result.append([])
            size = 0
        result[-1].append(record)
        size += len(record.data)
    return result


#: Invokes the processor with an event (JSON text): ``(payload, error)``, ``error`` ``None`` on success, else
#: ``(errorCode, errorMessage)`` as Firehose reports it.
Invoke = Callable[[str], tuple[bytes, tuple[str, str] | None]]


def transform(processor: Processor, stream_arn: str, records: list[Record], invoke: Invoke) -> Outcome:
    """Transform ``records`` in batches, retrying failed invocations; account for every record."""
    outcome = Outcome()
    for batch in batches(records, processor.buffer_bytes):
        _transform_batch(processor, stream_arn, batch, invoke, outcome)
    return outcome


def _transform_batch(
    processor: Processor, stream_arn: str, batch: list[Record], invoke: Invoke, outcome: Outcome
) -> None:
    event = json.dumps(
        {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": stream_arn,
            "region": stream_arn.split(":")[3],
            "records": [
                {
                    "recordId": r.record_id,
                    "approximateArrivalTimestamp": r.arrival_ms,
                    "data": base64.b64encode(r.data).decode(),
                }
                for r in batch
            ],
        }
    )
    attempts = 0
    error: tuple[str, str] | None = None
    while attempts <= processor.retries:
        attempts += 1
        payload, error = invoke(event)
        if error is None:
            break
    ended = int(time.time() * 1000)

    def fail(record: Record, code: str, message: str) -> None:
        outcome.failures.append(Failure(record, code, message, attempts, processor.lambda_arn, ended))

    if error is not None:
        for record in batch:
            fail(record, *error)
        return
    try:
        answered = json.loads(payload)["records"]
        assert isinstance(answered, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        for record in batch:
            fail(record, "Lambda.JsonProcessingException", "The response is not JSON with a list of records.")
        return
    answers: dict[str, list[dict[str, Any]]] = {r.record_id: [] for r in batch}
    for item in answered:
        record_id = item.get("recordId") if isinstance(item, dict) else None
        if record_id in answers:  # an id Firehose never sent is ignored: its own records are accounted for
            answers[record_id].append(item)
    for record in batch:
        items = answers[record.record_id]
        if not items:
            fail(record, "Lambda.MissingRecordId", "One or more record ids were not returned.")
        elif len(items) > 1:
            fail(record, "Lambda.DuplicatedRecordId", f"{len(items)} records were returned with the id of one.")
        else:
            _settle(items[0], record, outcome, fail)


def _settle(item: dict[str, Any], record: Record, outcome: Outcome, fail: Callable[[Record, str, str], None]) -> None:
    result = item.get("result")
    if result == "Dropped":
        outcome.dropped += 1
    elif result == "ProcessingFailed":
        fail(record, "Lambda.ProcessingFailed", "The Lambda function returned ProcessingFailed for the record.")
    elif result == "Ok":
        try:
            data = base64.b64decode(str(item["data"]), validate=True)
        except (KeyError, binascii.Error):
            fail(record, "Lambda.InvalidData", "The record's data is missing or not base64.")
            return
        outcome.delivered.append(Record(record.record_id, data, record.arrival_ms))
    else:
        fail(record, "Lambda.InvalidResult", f"The record's result {result!r} is not one of {', '.join(RESULTS)}.")
