"""The data of SQS message move tasks (see ``message_moves``): a task and its progress as ``ListMessageMoveTasks``
shows it, task handles as SQS encodes them, the API's errors, and the queue ARN checks its parameters get."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.sqs.exceptions import SQSException
from moto.sqs.models import Queue, sqs_backends

from awspatterns.sandbox.arns import Arn

__all__ = [
    "MAX_RATE",
    "MAX_RESULTS",
    "NON_EXISTENT_QUEUE",
    "MoveTask",
    "MoveTaskError",
    "decode_task_handle",
    "encode_task_handle",
    "invalid",
    "not_found",
    "parse_queue_arn",
    "queue_of",
]


#: The highest ``MaxNumberOfMessagesPerSecond`` SQS accepts.
MAX_RATE = 500
#: How many tasks per source queue ``ListMessageMoveTasks`` can return.
MAX_RESULTS = 10
NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"


class MoveTaskError(SQSException):
    """An error answer of the move task API, with SQS's code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code, message)
        self.status = status


def invalid(message: str) -> MoveTaskError:
    """``InvalidParameterValue`` (HTTP 400)."""
    return MoveTaskError("InvalidParameterValue", message)


def not_found(message: str) -> MoveTaskError:
    """``ResourceNotFoundException`` (HTTP 404)."""
    return MoveTaskError("ResourceNotFoundException", message, status=404)


def encode_task_handle(task_id: str, source_arn: str) -> str:
    """A task handle as SQS makes one: base64 of ``{"taskId":...,"sourceArn":...}``."""
    document = json.dumps({"taskId": task_id, "sourceArn": source_arn}, separators=(",", ":"))
    return base64.b64encode(document.encode()).decode()


def decode_task_handle(handle: str) -> tuple[str, str]:
    """The task id and source ARN in a task handle.

    Raises:
        MoveTaskError: the handle is not one SQS gave out (``InvalidParameterValue``).
    """
    try:
        document = json.loads(base64.b64decode(handle, validate=True))
        task_id, source_arn = document["taskId"], document["sourceArn"]
    except (ValueError, binascii.Error, KeyError, TypeError) as error:
        raise invalid("Value for parameter TaskHandle is invalid.") from error
    if not isinstance(task_id, str) or not isinstance(source_arn, str):
        raise invalid("Value for parameter TaskHandle is invalid.")
    return task_id, source_arn


@dataclass
class MoveTask:
    """One message move task and its progress."""

    source_arn: str
    destination_arn: str | None
    rate: int | None
    pending: list[str]
    task_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    status: str = "RUNNING"
    moved: int = 0
    failure: str | None = None
    wake: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.to_move = len(self.pending)

    @property
    def handle(self) -> str:
        """The task handle SQS gives for this task."""
        return encode_task_handle(self.task_id, self.source_arn)

    @property
    def active(self) -> bool:
        """Whether the task still runs (``RUNNING`` or ``CANCELLING``)."""
        return self.status in {"RUNNING", "CANCELLING"}

    def describe(self) -> dict[str, Any]:
        """The task as ``ListMessageMoveTasks`` shows it: optional fields only when they apply."""
        result: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            result["TaskHandle"] = self.handle
        if self.destination_arn is not None:
            result["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            result["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.status == "FAILED" and self.failure:
            result["FailureReason"] = self.failure
        return result


def queue_of(arn: str) -> Queue | None:
    """The queue an ARN names, if it exists."""
    parsed = Arn.parse(arn)
    queue: Queue | None = sqs_backends[parsed.account][parsed.region].queues.get(parsed.name)
    return queue


def parse_queue_arn(arn: object, parameter: str) -> str:
    """``arn`` checked as an SQS queue ARN for ``parameter``, with SQS's errors."""
    if not isinstance(arn, str):
        raise invalid(f"Value for parameter {parameter} is invalid.")
    try:
        parsed = Arn.parse(arn)
    except ValueError as error:
        raise invalid(
            f"You must use this format to specify the {parameter}: "
            "arn:<partition>:<service>:<region>:<account-id>:<resource-id>"
        ) from error
    if parsed.service != "sqs" or not parsed.resource:
        raise not_found(f"The resource that you specified for the {parameter} parameter doesn't exist.")
    return arn
