"""``PutRecord`` and ``PutRecordBatch`` as AWS answers them: limits checked (500 records and 4 MiB a batch, 1,000 KiB a
record), and a batch can succeed *partly*: ``FailedPutCount`` says how many records failed, and each failed entry
of ``RequestResponses`` carries ``ErrorCode`` and ``ErrorMessage`` instead of a ``RecordId``. AWS fails records when
a stream is throttled or has an internal fault; a producer must resend exactly those.

The sandbox never throttles on its own, so a test makes records fail with a tag on the delivery stream (any
stream, set by ``TagDeliveryStream`` or in the template): ``sandbox:put-failure-rate`` = a fraction between 0 and
1. That fraction of the stream's records, spread evenly and deterministically over them (every fourth record for
0.25), fails with ``ServiceUnavailableException`` ("Slow down."); a ``PutRecord`` of such a record raises
it. Nothing of a failed record is buffered.

CloudWatch Logs puts a subscription's events into a stream with the subscription filter's role (``RoleArn``): the
role must trust ``logs.amazonaws.com`` and allow ``firehose:PutRecord`` on the stream (the action AWS documents for
subscriptions). A refused batch is logged and not delivered (CloudWatch Logs retries for a while and then drops it;
there is no dead-letter queue for subscriptions). Only the events the filter's pattern matches are sent (moto sent
every event; the sandbox matches terms and quoted terms as moto's ``FilterLogEvents`` does, and lets JSON and metric
patterns, which it cannot evaluate, match everything), and each event's ``id`` is a string, as in AWS.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from moto.firehose.exceptions import FirehoseException, ResourceNotFoundException
from moto.firehose.models import FirehoseBackend
from moto.logs import utils as logs_utils
from moto.logs.models import LogGroup, LogsBackend, SubscriptionFilter, logs_backends

from awspatterns.sandbox.iam.service_roles import role_allows
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Patched, Reads, fields

__all__ = [
    "FAILURE_RATE_TAG",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_RECORDS",
    "MAX_RECORD_BYTES",
    "PATCHED",
    "READS",
    "install",
]

log = logging.getLogger("awspatterns.sandbox.deliveries.firehose")

PATCHED: Patched = (
    (FirehoseBackend, "put_record_batch"),
    (FirehoseBackend, "put_record"),
    (FirehoseBackend, "send_log_event"),
    (logs_utils, "EventMessageFilter"),
)
#: Where a log group keeps its subscription filters (the role CloudWatch Logs delivers with).
READS: Reads = (
    *fields(LogsBackend, "groups"),
    *fields(LogGroup, "subscription_filters"),
    *fields(SubscriptionFilter, "role_arn", "filter_pattern"),
)

#: The tag whose value makes that fraction of a stream's records fail.
FAILURE_RATE_TAG = "sandbox:put-failure-rate"
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1000 * 1024

#: Buffers records for a stream's destination and returns their record ids (``FirehoseBuffers.add``).
Add = Callable[[Any, str, str, dict[str, Any], list[bytes]], list[dict[str, str]]]


class ServiceUnavailable(FirehoseException):
    """Firehose's throttling answer."""

    def __init__(self) -> None:
        super().__init__("ServiceUnavailableException", "Slow down.")


class Invalid(FirehoseException):
    """A request outside Firehose's limits."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidArgumentException", message)


class FailureSchedule:
    """Which records of each stream fail: record n (counted per stream from 1) fails when ``floor(n * rate)`` grows."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def failures(self, stream_arn: str, rate: float, count: int) -> list[bool]:
        """Whether each of the next ``count`` records of the stream fails."""
        if rate <= 0:
            return [False] * count
        with self._lock:
            start = self._counts.get(stream_arn, 0)
            self._counts[stream_arn] = start + count
        return [math.floor((n + 1) * rate) > math.floor(n * rate) for n in range(start, start + count)]


def install(add: Add, engine: Any = None) -> None:
    """Replace moto's PutRecordBatch (and PutRecord, which moto answers through it), and check the role of
    CloudWatch Logs subscriptions to a stream."""
    schedule = FailureSchedule()

    def put_record_batch(backend: Any, delivery_stream_name: str, records: list[dict[str, bytes]]) -> dict[str, Any]:
        stream = backend.delivery_streams.get(delivery_stream_name)
        if stream is None:
            raise ResourceNotFoundException(
                f"Firehose {delivery_stream_name} under account {backend.account_id} not found."
            )
        _check_limits(records)
        tags = backend.tagger.get_tag_dict_for_resource(stream.delivery_stream_arn)
        rate = _rate(tags.get(FAILURE_RATE_TAG, "0"))
        failing = schedule.failures(stream.delivery_stream_arn, rate, len(records))
        accepted = [r["Data"] for r, failed in zip(records, failing, strict=True) if not failed]
        ids = iter(_buffer(add, backend, stream, accepted) if accepted else [])
        responses = [
            {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."} if failed else next(ids)
            for failed in failing
        ]
        return {"FailedPutCount": sum(failing), "Encrypted": False, "RequestResponses": responses}

    def put_record(backend: Any, delivery_stream_name: str, record: dict[str, bytes]) -> dict[str, Any]:
        [response] = put_record_batch(backend, delivery_stream_name, [record])["RequestResponses"]
        if "ErrorCode" in response:
            raise ServiceUnavailable()
        return {"RecordId": response["RecordId"], "Encrypted": False}

    original_send_log_event = FirehoseBackend.send_log_event

    def send_log_event(
        backend: Any,
        delivery_stream_arn: str,
        filter_name: str,
        log_group_name: str,
        log_stream_name: str,
        log_events: list[dict[str, Any]],
    ) -> None:
        group = logs_backends[backend.account_id][backend.region_name].groups.get(log_group_name)
        subscription = group.subscription_filters.get(filter_name) if group is not None else None
        role = getattr(subscription, "role_arn", "") or ""
        # moto sends every event; CloudWatch Logs sends those the filter pattern matches (terms, as moto's
        # FilterLogEvents matches them).
        matches = logs_utils.EventMessageFilter(getattr(subscription, "filter_pattern", "") or "").matches
        # CloudWatch Logs' event ids are strings (moto sent integers, which parsers of the envelope refuse).
        log_events = [{**event, "id": str(event["id"])} for event in log_events if matches(event["message"])]
        if not log_events:
            return
        if not role_allows(engine, "logs.amazonaws.com", role, "firehose:PutRecord", delivery_stream_arn):
            log.warning(
                "CloudWatch Logs dropped %d event(s) of %s for %s", len(log_events), log_group_name, delivery_stream_arn
            )
            return
        original_send_log_event(backend, delivery_stream_arn, filter_name, log_group_name, log_stream_name, log_events)

    replace(FirehoseBackend, "put_record_batch", put_record_batch)
    replace(FirehoseBackend, "put_record", put_record)
    replace(FirehoseBackend, "send_log_event", send_log_event)


def _buffer(add: Add, backend: Any, stream: Any, data: list[bytes]) -> list[dict[str, str]]:
    for destination in stream.destinations:
        for kind in ("ExtendedS3", "S3"):
            if kind in destination:
                return add(backend, stream.delivery_stream_name, stream.version_id, destination[kind], data)
    raise Invalid(f"delivery stream {stream.delivery_stream_name}: the sandbox delivers only to S3")


def _check_limits(records: list[dict[str, bytes]]) -> None:
    if len(records) > MAX_BATCH_RECORDS:
        raise Invalid(f"A PutRecordBatch request has {len(records)} records; the limit is {MAX_BATCH_RECORDS}.")
    sizes = [len(r["Data"]) for r in records]
    if any(size > MAX_RECORD_BYTES for size in sizes):
        raise Invalid(f"A record is {max(sizes)} bytes; the limit is {MAX_RECORD_BYTES} bytes (1,000 KiB).")
    if sum(sizes) > MAX_BATCH_BYTES:
        raise Invalid(f"A PutRecordBatch request carries {sum(sizes)} bytes; the limit is 4 MiB.")


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        return 0.0
    return min(max(rate, 0.0), 1.0)
