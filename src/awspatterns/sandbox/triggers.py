"""Trigger semantics moto lacks: asynchronous invocation with retries and destinations, and SQS event sources
that poll in batches, honour ``ReportBatchItemFailures`` and ``FilterCriteria`` (stream sources: ``streams``).

Both run on background threads of the sandbox server, so the API call that caused them (an upload, a publish)
returns at once, as in AWS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from awspatterns.sandbox.polling import MappingPoller
from awspatterns.sandbox.streams import matches_filters

log = logging.getLogger("awspatterns.sandbox.triggers")

#: Lambda waits about 1 and then 2 minutes between asynchronous retries; the sandbox scales that down.
DEFAULT_RETRY_DELAYS_S = (1.0, 2.0)


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


class AsyncInvoker:
    """Lambda's asynchronous invocation: an internal queue, retries, then on-failure destination or DLQ."""

    def __init__(
        self,
        invoke: Callable[[str, str, str, str], Any],
        deliver: Callable[[str, str, str, str], None],
        retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S,
        workers: int = 8,
    ) -> None:
        """``invoke(account, region, function_arn, event)`` returns an InvocationResult-like object with
        ``errored``, ``error`` and ``payload``; ``deliver(account, region, target_arn, message)`` sends a record to
        an SQS queue, SNS topic, Lambda function or event bus."""
        self._invoke = invoke
        self._deliver = deliver
        self.retry_delays_s = retry_delays_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="async-invoke")
        self._pending = 0
        self._lock = threading.Condition()

    def submit(self, invocation: AsyncInvocation, config: dict[str, Any], dead_letter_arn: str | None) -> None:
        """Queue ``invocation``; ``config`` is the function's event invoke config (retries, age, destinations)."""
        with self._lock:
            self._pending += 1
        self._pool.submit(self._run, invocation, config, dead_letter_arn)

    def idle(self, timeout_s: float) -> bool:
        """Wait until no asynchronous invocation is queued or running (or the timeout passes)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def _run(self, invocation: AsyncInvocation, config: dict[str, Any], dead_letter_arn: str | None) -> None:
        try:
            self._attempt_all(invocation, config, dead_letter_arn)
        except Exception:
            log.exception("asynchronous invocation of %s failed inside the sandbox", invocation.function_arn)
        finally:
            with self._lock:
                self._pending -= 1
                self._lock.notify_all()

    def _attempt_all(self, invocation: AsyncInvocation, config: dict[str, Any], dead_letter_arn: str | None) -> None:
        max_retries = int(config.get("MaximumRetryAttempts", 2))
        max_age_s = float(config.get("MaximumEventAgeInSeconds", 21600))
        destinations = config.get("DestinationConfig", {})
        result = None
        condition = "RetriesExhausted"
        while True:
            invocation.attempts += 1
            result = self._invoke(invocation.account_id, invocation.region, invocation.function_arn, invocation.event)
            if not result.errored:
                if target := destinations.get("OnSuccess", {}).get("Destination"):
                    self._deliver(
                        invocation.account_id,
                        invocation.region,
                        target,
                        json.dumps(self._record(invocation, result, "Success")),
                    )
                return
            if invocation.attempts > max_retries:
                break
            time.sleep(self.retry_delays_s[min(invocation.attempts - 1, len(self.retry_delays_s) - 1)])
            if time.time() - invocation.received > max_age_s:
                condition = "EventAgeExceeded"
                break
        if target := destinations.get("OnFailure", {}).get("Destination"):
            self._deliver(
                invocation.account_id,
                invocation.region,
                target,
                json.dumps(self._record(invocation, result, condition)),
            )
        elif dead_letter_arn:
            self._deliver(invocation.account_id, invocation.region, dead_letter_arn, invocation.event)
        else:
            log.warning(
                "event for %s discarded after %d attempts (no destination or DLQ configured)",
                invocation.function_arn,
                invocation.attempts,
            )

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

    def shutdown(self) -> None:
        """Stop accepting work; running invocations finish."""
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class SqsMapping:
    """An SQS event source mapping the poller owns."""

    account_id: str
    region: str
    uuid: str
    queue_arn: str
    function_arn: str
    batch_size: int
    window_s: float
    report_item_failures: bool
    filters: list[dict[str, Any]] = field(default_factory=list)
    busy: bool = False


class SqsPoller(MappingPoller[SqsMapping]):
    """Polls SQS queues for their Lambda event source mappings, as the Lambda service does."""

    def __init__(
        self,
        receive: Callable[[SqsMapping], list[Any]],
        invoke: Callable[[SqsMapping, str], Any],
        delete: Callable[[SqsMapping, list[Any]], None],
        is_enabled: Callable[[SqsMapping], bool | None],
        visible: Callable[[SqsMapping], int],
    ) -> None:
        super().__init__(is_enabled, "sqs-poller", workers=8)
        self._visible = visible
        self._receive = receive
        self._invoke = invoke
        self._delete = delete

    def add(self, mapping: SqsMapping) -> None:
        """Start polling a mapping's queue."""
        self.entries[mapping.uuid] = mapping

    def busy(self) -> bool:
        """Whether an enabled mapping's queue has visible messages, or a batch is being processed."""
        # Visible messages are counted before the busy flag is read: a poll that starts in between sets the flag
        # before it receives, so the messages are seen one way or the other.
        return any((self._is_enabled(m) and self._visible(m) > 0) or m.busy for m in list(self.entries.values()))

    def poll(self, mapping: SqsMapping) -> None:
        """Receive a batch and process it."""
        messages = self._collect(mapping)
        if messages:
            self._process(mapping, messages)

    def _collect(self, mapping: SqsMapping) -> list[Any]:
        """Receive up to a batch, waiting up to the batching window for it to fill.

        A message received twice in one window (its visibility timeout shorter than the window) appears once,
        with its newest receipt handle.
        """
        batch = {m.id: m for m in self._receive(mapping)}
        deadline = time.monotonic() + mapping.window_s
        while batch and len(batch) < mapping.batch_size and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            batch.update((m.id, m) for m in self._receive(mapping))
        return list(batch.values())

    def _process(self, mapping: SqsMapping, messages: list[Any]) -> None:
        filtered_out = [m for m in messages if not matches_filters(mapping.filters, _for_filtering(mapping, m))]
        if filtered_out:  # Lambda deletes the messages its filters reject
            self._delete(mapping, filtered_out)
            messages = [m for m in messages if m not in filtered_out]
            if not messages:
                return
        event = {"Records": [sqs_record(mapping, message) for message in messages]}
        result = self._invoke(mapping, json.dumps(event))
        if result.errored:
            return  # the whole batch becomes visible again after the visibility timeout
        failed = self._failed_ids(mapping, result.payload, {m.id for m in messages})
        if failed is None:
            return  # an invalid response fails the whole batch, as in Lambda
        self._delete(mapping, [m for m in messages if m.id not in failed])

    @staticmethod
    def _failed_ids(mapping: SqsMapping, payload: bytes, batch_ids: set[str]) -> set[str] | None:
        if not mapping.report_item_failures:
            return set()
        try:
            response = json.loads(payload or b"null")
        except ValueError:
            return None
        if not isinstance(response, dict) or not response.get("batchItemFailures"):
            return set()  # null, {} or an empty list: the whole batch succeeded
        failures = response["batchItemFailures"]
        if not isinstance(failures, list):
            return None
        ids = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in batch_ids:
                return None
            ids.add(identifier)
        return ids


def _for_filtering(mapping: SqsMapping, message: Any) -> dict[str, Any]:
    """The record as filters see it: a JSON body is matched as JSON."""
    record = sqs_record(mapping, message)
    with contextlib.suppress(ValueError):
        record["body"] = json.loads(record["body"])
    return record


def sqs_record(mapping: SqsMapping, message: Any) -> dict[str, Any]:
    """An SQS message as Lambda presents it in an event."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": mapping.account_id,
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if message.group_id:
        attributes.update(MessageGroupId=message.group_id, MessageDeduplicationId=message.deduplication_id or "")
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: {k[0].lower() + k[1:]: v for k, v in value.items()}
            for name, value in (message.message_attributes or {}).items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.queue_arn,
        "awsRegion": mapping.region,
    }
