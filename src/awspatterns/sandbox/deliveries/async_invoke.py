"""Lambda's asynchronous invocation, which moto lacks: an internal queue, retries with backoff, maximum event
age, then the on-failure destination or the function's dead-letter queue.

It runs on background threads of the sandbox server, so the API call that caused it (an upload, a publish, an
``Invoke`` with ``InvocationType=Event``) returns at once, as in AWS. A retry waits on a scheduler, not in a
worker, so failing events never hold up the others.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.deliveries.scheduler import Scheduler

__all__ = ["DEFAULT_RETRY_DELAYS_S", "MAX_ERROR_MESSAGE_BYTES", "AsyncInvocation", "AsyncInvoker", "Deliver"]

log = logging.getLogger("awspatterns.sandbox.deliveries.async_invoke")

#: Lambda waits about 1 and then 2 minutes between asynchronous retries; the sandbox scales that down.
DEFAULT_RETRY_DELAYS_S = (1.0, 2.0)
#: Lambda truncates the ``ErrorMessage`` attribute of a dead-letter message to 1 KB.
MAX_ERROR_MESSAGE_BYTES = 1024


class Deliver(Protocol):
    """Sends a message to an SQS queue, SNS topic or Lambda function, with optional message attributes
    (a ``str`` value is a String attribute, an ``int`` a Number)."""

    def __call__(
        self,
        account_id: str,
        region: str,
        target_arn: str,
        message: str,
        attributes: Mapping[str, str | int] | None = None,
    ) -> None:
        """Send ``message`` to ``target_arn``."""
        ...


@dataclass
class AsyncInvocation:
    """One event queued for asynchronous invocation."""

    account_id: str
    region: str
    function_arn: str
    event: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: float = field(default_factory=time.time)
    attempts: int = 0


@dataclass
class _Job:
    """An invocation with the settings it was submitted with, and its latest result."""

    invocation: AsyncInvocation
    config: dict[str, Any]
    dead_letter_arn: str | None
    result: Any = None


class AsyncInvoker:
    """Lambda's asynchronous invocation: an internal queue, retries, then on-failure destination or DLQ.

    Each invocation is one unit of :class:`Activity` from :meth:`submit` until its last attempt and the delivery
    of its record, its scheduled retries included.
    """

    def __init__(
        self,
        invoke: Callable[[str, str, str, str], Any],
        deliver: Deliver,
        retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S,
        workers: int = 8,
        activity: Activity | None = None,
    ) -> None:
        """``invoke(account, region, function_arn, event)`` returns an InvocationResult-like object with
        ``errored``, ``error`` and ``payload``; ``deliver`` sends a record to an SQS queue, SNS topic, Lambda
        function or event bus."""
        self._invoke = invoke
        self._deliver = deliver
        self.retry_delays_s = retry_delays_s
        self.activity = activity or Activity()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="async-invoke")
        self._retries = Scheduler("async-retries")

    def submit(self, invocation: AsyncInvocation, config: dict[str, Any], dead_letter_arn: str | None) -> None:
        """Queue ``invocation``; ``config`` is the function's event invoke config (retries, age, destinations)."""
        self.activity.begin()
        self._enqueue(_Job(invocation, config, dead_letter_arn))

    def shutdown(self) -> None:
        """Stop accepting work and drop the retries not yet due; running invocations finish."""
        self._retries.shutdown()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _enqueue(self, job: _Job) -> None:
        try:
            self._pool.submit(self._attempt, job)
        except RuntimeError:  # the pool is shut down: the sandbox is stopping
            self.activity.end()
            log.warning("asynchronous invocation of %s dropped: the sandbox is stopping", job.invocation.function_arn)

    def _attempt(self, job: _Job) -> None:
        finished = True
        try:
            finished = self._attempt_once(job)
        except Exception:
            log.exception("asynchronous invocation of %s failed inside the sandbox", job.invocation.function_arn)
        finally:
            if finished:
                self.activity.end()

    def _attempt_once(self, job: _Job) -> bool:
        """Invoke once; deliver the outcome or schedule the retry. Returns whether the invocation is finished."""
        invocation = job.invocation
        max_retries = int(job.config.get("MaximumRetryAttempts", 2))
        max_age_s = float(job.config.get("MaximumEventAgeInSeconds", 21600))
        if job.result is not None and time.time() - invocation.received > max_age_s:
            self._failed(job, "EventAgeExceeded")
            return True
        invocation.attempts += 1
        job.result = self._invoke(invocation.account_id, invocation.region, invocation.function_arn, invocation.event)
        if not job.result.errored:
            if target := job.config.get("DestinationConfig", {}).get("OnSuccess", {}).get("Destination"):
                self._send(invocation, target, json.dumps(self._record(invocation, job.result, "Success")))
            return True
        if invocation.attempts > max_retries:
            self._failed(job, "RetriesExhausted")
            return True
        delay = self.retry_delays_s[min(invocation.attempts - 1, len(self.retry_delays_s) - 1)]
        self._retries.call_later(delay, lambda: self._enqueue(job))
        return False

    def _failed(self, job: _Job, condition: str) -> None:
        """Send a failed invocation to its on-failure destination, else its dead-letter queue, else drop it."""
        invocation, result = job.invocation, job.result
        if target := job.config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"):
            self._send(invocation, target, json.dumps(self._record(invocation, result, condition)))
        elif job.dead_letter_arn:
            self._send(
                invocation, job.dead_letter_arn, invocation.event, self._dead_letter_attributes(invocation, result)
            )
        else:
            log.warning(
                "event for %s discarded after %d attempts (no destination or DLQ configured)",
                invocation.function_arn,
                invocation.attempts,
            )

    def _send(
        self, invocation: AsyncInvocation, target: str, message: str, attributes: Mapping[str, str | int] | None = None
    ) -> None:
        self._deliver(invocation.account_id, invocation.region, target, message, attributes)

    @staticmethod
    def _dead_letter_attributes(invocation: AsyncInvocation, result: Any) -> dict[str, str | int]:
        """The attributes Lambda gives a dead-letter message: the request, the status code and the error."""
        error = result.error or {}
        message = str(error.get("errorMessage") or error.get("errorType") or "")
        return {
            "RequestID": invocation.request_id,
            "ErrorCode": 200,  # the invocation itself succeeded; the function returned an error
            "ErrorMessage": message.encode()[:MAX_ERROR_MESSAGE_BYTES].decode(errors="ignore"),
        }

    @staticmethod
    def _record(invocation: AsyncInvocation, result: Any, condition: str) -> dict[str, Any]:
        """The invocation record Lambda sends to a destination."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result.errored:
            response["functionError"] = "Unhandled"
        return {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{invocation.function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": invocation.attempts,
            },
            "requestPayload": json.loads(invocation.event),
            "responseContext": response,
            "responsePayload": json.loads(result.payload or b"null"),
        }
