"""SQS event sources as Lambda's poller runs them: batches up to the batch size within the batching window,
``ReportBatchItemFailures``, ``FilterCriteria`` (messages filtered out are deleted), and failed messages left to
become visible again, so the queue's redrive policy moves them to its DLQ.

moto 5.2.5 invoked the function synchronously inside ``SendMessage``, one message at a time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.deliveries.polling import MappingPoller
from awspatterns.sandbox.event_filters import matches_filters

__all__ = ["SqsMapping", "SqsPoller", "sqs_record"]

log = logging.getLogger("awspatterns.sandbox.deliveries.sqs")


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
        activity: Activity | None = None,
    ) -> None:
        """``visible(mapping)`` is the number of the queue's messages that can be received now."""
        super().__init__(is_enabled, "sqs-poller", workers=8, activity=activity)
        self._visible = visible
        self._receive = receive
        self._invoke = invoke
        self._delete = delete

    def add(self, mapping: SqsMapping) -> None:
        """Start polling a mapping's queue."""
        self.entries[mapping.uuid] = mapping

    def has_work(self, entry: SqsMapping) -> bool:
        """Whether the queue has messages to receive now. A message waiting out its visibility timeout (a failed
        batch's retry) or its delay is not work yet: it comes back when the timeout ends, as in AWS, which can be
        minutes (six times the function's timeout is the advised visibility timeout)."""
        return self._visible(entry) > 0

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
