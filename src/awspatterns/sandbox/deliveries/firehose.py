"""Firehose delivery to S3 as AWS does it: records are buffered per stream (``BufferingHints``), transformed by the
destination's Lambda processor if it has one (:mod:`firehose_transform`), then written as one object, compressed
(``CompressionFormat``: ``GZIP``), under the destination's prefix with its ``!{timestamp:...}`` and
``!{firehose:...}`` expressions (the timestamp is the arrival time of the object's oldest record), or under the
default ``YYYY/MM/DD/HH/`` time prefix. Records the transformation failed go to the error output prefix.

Firehose writes with the destination's role (``RoleARN``): it must trust ``firehose.amazonaws.com`` and allow
``s3:PutObject`` (and ``lambda:InvokeFunction`` on the processor). A write that fails (refused, no such bucket) is
not lost: AWS retries an S3 destination until the records' 24-hour retention ends; the sandbox retries every
``retry_interval_s`` (AWS: about 5 s) and at every ``quiesce``, and drops, with a log line, only after 24 hours.

moto 5.2.5 wrote one uncompressed object per ``PutRecord``/``PutRecordBatch`` call and lost it if the write failed.
The sandbox keeps the size threshold but caps the time threshold at ``max_interval_s`` (AWS waits 60 to 900 s).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.firehose.models import FirehoseBackend
from moto.s3.models import s3_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.deliveries import firehose_intake
from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.deliveries.firehose_transform import PROCESSING_FAILED, Record, processor_of, transform
from awspatterns.sandbox.iam.service_roles import role_allows
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = [
    "DATE_PATTERNS",
    "EXPRESSION",
    "PATCHED",
    "READS",
    "RETENTION_S",
    "Buffer",
    "FirehoseBuffers",
    "PendingObject",
    "install",
    "object_key",
]

log = logging.getLogger("awspatterns.sandbox.deliveries.firehose")

#: The moto internals this module replaces (checked by the canary tests).
PATCHED: Patched = ((FirehoseBackend, "put_s3_records"), *firehose_intake.PATCHED)

#: The moto state read without patching it (checked by the canary tests).
READS = firehose_intake.READS

#: Java DateTimeFormatter letters Firehose prefixes use, as strftime directives.
DATE_PATTERNS = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
EXPRESSION = re.compile(r"!\{(?P<namespace>timestamp|firehose):(?P<value>[^}]*)\}")
#: How long Firehose keeps records of a Direct PUT stream it cannot deliver.
RETENTION_S = 24 * 3600.0
#: The longest pause between retries of a failed write (AWS retries an S3 destination about every 5 seconds).
MAX_RETRY_INTERVAL_S = 5.0
SERVICE = "firehose.amazonaws.com"


def install(engine: Engine) -> None:
    """Buffer Firehose records per stream (bounded by the engine's Firehose interval) instead of writing each call;
    accept or fail each record of ``PutRecordBatch`` as the stream's fault tag says (:mod:`firehose_intake`)."""
    buffers = FirehoseBuffers(engine.settings.firehose_interval_s, engine.activity, engine)
    buffers.install()
    firehose_intake.install(buffers.add, engine)
    engine.add_component(buffers)


@dataclass
class Buffer:
    """Records waiting for one destination."""

    account_id: str
    partition: str
    region: str
    stream: str
    version: str
    destination: dict[str, Any]
    records: list[Record] = field(default_factory=list)
    size: int = 0
    opened: float = field(default_factory=time.monotonic)


@dataclass
class PendingObject:
    """An object to write, kept until it is written (retried while the write fails)."""

    account_id: str
    partition: str
    stream: str
    role_arn: str
    bucket: str
    key: str
    body: bytes
    records: int
    attempts: int = 0
    first_attempt: float = field(default_factory=time.monotonic)
    next_attempt: float = 0.0


def object_key(stream: str, version: str, prefix: str, now: datetime, error_type: str = "") -> str:
    """The key Firehose gives a delivered object: the prefix (expressions evaluated, else the default time
    prefix appended) and ``<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<random>``. For records written to the error
    output prefix (``error_type`` such as ``processing-failed``), a prefix without expressions gets
    ``<error_type>/yyyy/MM/dd/HH/`` appended."""

    def evaluate(match: re.Match[str]) -> str:
        if match["namespace"] == "firehose":
            if match["value"] == "random-string":
                return uuid.uuid4().hex[:8]
            return error_type if match["value"] == "error-output-type" else match["value"]
        pattern = match["value"]
        for java, directive in DATE_PATTERNS:
            pattern = pattern.replace(java, directive)
        return now.strftime(pattern)

    default = f"{prefix}{error_type + '/' if error_type else ''}{now.strftime('%Y/%m/%d/%H')}/"
    path = EXPRESSION.sub(evaluate, prefix) if EXPRESSION.search(prefix) else default
    return f"{path}{stream}-{version}-{now.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}"


class FirehoseBuffers:
    """Buffers records per destination and delivers them on size or age, on a background thread; keeps and retries
    the objects whose write failed. Each delivery and each retry is a unit of :class:`Activity` (the object it
    writes can notify a queue, a topic or a function)."""

    def __init__(
        self,
        max_interval_s: float = 1.0,
        activity: Activity | None = None,
        engine: Engine | None = None,
        retry_interval_s: float = 0.5,
    ) -> None:
        self.max_interval_s = max_interval_s
        self.retry_interval_s = retry_interval_s
        self.activity = activity or Activity()
        self.engine = engine
        self._buffers: dict[tuple[str, str, str], Buffer] = {}
        self._pending: list[PendingObject] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="firehose", daemon=True)

    def install(self) -> None:
        """Replace moto's immediate, uncompressed delivery (CloudWatch Logs subscriptions deliver through it)."""
        buffers = self

        def put_s3_records(
            backend: Any, delivery_stream_name: str, version_id: str, s3_destination: dict[str, Any], records: Any
        ) -> list[dict[str, str]]:
            stream = backend.delivery_streams.get(delivery_stream_name)
            destination = _s3_destination(stream) if stream is not None else s3_destination
            return buffers.add(backend, delivery_stream_name, version_id, destination, [r["Data"] for r in records])

        replace(FirehoseBackend, "put_s3_records", put_s3_records)
        self._thread.start()

    def add(
        self, backend: Any, stream: str, version: str, destination: dict[str, Any], data: list[bytes]
    ) -> list[dict[str, str]]:
        """Buffer records (returns their record ids); deliver at once when the buffer reaches its size threshold."""
        key = (backend.account_id, stream, destination["BucketARN"])
        hints = destination.get("BufferingHints") or {}
        limit = int(hints.get("SizeInMBs", 5)) * 1024 * 1024
        now = int(time.time() * 1000)
        records = [Record(_record_id(), d, now) for d in data]
        with self._lock:
            buffer = self._buffers.setdefault(
                key,
                Buffer(backend.account_id, backend.partition, backend.region_name, stream, version, destination),
            )
            buffer.records.extend(records)
            buffer.size += sum(len(d) for d in data)
            full = buffer.size >= limit
            if full:
                self._buffers.pop(key)
        if full:
            self._deliver(buffer)
        return [{"RecordId": r.record_id} for r in records]

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self._lock:
                due = [k for k, b in self._buffers.items() if now - b.opened >= self._interval(b)]
                ready = [self._buffers.pop(k) for k in due]
            for buffer in ready:
                self._deliver(buffer)
            self._retry(lambda pending, now=now: pending.next_attempt <= now)  # type: ignore[misc]

    def _interval(self, buffer: Buffer) -> float:
        hints = buffer.destination.get("BufferingHints") or {}
        return min(float(hints.get("IntervalInSeconds", 300)), self.max_interval_s)

    def _deliver(self, buffer: Buffer) -> None:
        with self.activity.unit():
            for pending in self._objects(buffer):
                self._attempt(pending)

    def _objects(self, buffer: Buffer) -> list[PendingObject]:
        """The objects one buffer becomes: the (transformed) records, and the records the transformation failed."""
        destination = buffer.destination
        stream_arn = (
            f"arn:{buffer.partition}:firehose:{buffer.region}:{buffer.account_id}:deliverystream/{buffer.stream}"
        )
        records, failures = buffer.records, []
        processor = processor_of(destination)
        if processor is not None and records:
            outcome = transform(processor, stream_arn, records, lambda event: self._invoke(buffer, processor, event))
            records, failures = outcome.delivered, outcome.failures
        role = destination.get("RoleARN", "")
        bucket = Arn.parse(destination["BucketARN"]).resource
        oldest = datetime.fromtimestamp(min(r.arrival_ms for r in buffer.records) / 1000, UTC)
        objects = []
        if records:
            key = object_key(buffer.stream, buffer.version, destination.get("Prefix", ""), oldest)
            body, key = self._compress(buffer.stream, destination, b"".join(r.data for r in records), key)
            objects.append(
                PendingObject(buffer.account_id, buffer.partition, buffer.stream, role, bucket, key, body, len(records))
            )
        if failures:
            prefix = destination.get("ErrorOutputPrefix", "")
            key = object_key(buffer.stream, buffer.version, prefix, oldest, PROCESSING_FAILED)
            lines = "".join(json.dumps(f.document()) + "\n" for f in failures).encode()
            body, key = self._compress(buffer.stream, destination, lines, key)
            objects.append(
                PendingObject(
                    buffer.account_id, buffer.partition, buffer.stream, role, bucket, key, body, len(failures)
                )
            )
        return objects

    @staticmethod
    def _compress(stream: str, destination: dict[str, Any], data: bytes, key: str) -> tuple[bytes, str]:
        compression = destination.get("CompressionFormat", "UNCOMPRESSED")
        if compression == "GZIP":
            return gzip.compress(data), key + ".gz"
        if compression != "UNCOMPRESSED":
            log.warning("%s: compression %s is not applied by the sandbox", stream, compression)
        return data, key

    def _invoke(self, buffer: Buffer, processor: Any, event: str) -> tuple[bytes, tuple[str, str] | None]:
        """One invocation of the processor with the delivery role, as Firehose reports its failures."""
        arn = processor.lambda_arn
        if not role_allows(self.engine, SERVICE, processor.role_arn, "lambda:InvokeFunction", arn):
            return b"", ("Lambda.InvokeAccessDenied", f"Access was denied. Ensure that the role may invoke {arn}.")
        if self.engine is None:
            return b"", ("Lambda.ResourceNotFound", "The sandbox has no Lambda runtime here.")
        try:
            result = self.engine.invoke_function(buffer.account_id, buffer.region, arn, event)
        except Exception as error:  # no such function, or the runtime could not start it
            return b"", ("Lambda.ResourceNotFound", f"{type(error).__name__}: {error}")
        if result.error is not None:
            return b"", ("Lambda.FunctionError", str(result.error.get("errorMessage", result.error)))
        return result.payload, None

    def _attempt(self, pending: PendingObject) -> None:
        """Write one object; keep it for a retry if the write fails (until the retention period ends)."""
        pending.attempts += 1
        try:
            resource = f"arn:{pending.partition}:s3:::{pending.bucket}/{pending.key}"
            if not role_allows(self.engine, SERVICE, pending.role_arn, "s3:PutObject", resource):
                raise PermissionError(f"the delivery role {pending.role_arn!r} may not s3:PutObject on {resource}")
            s3_backends[pending.account_id][pending.partition].put_object(pending.bucket, pending.key, pending.body)
            return
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
        if time.monotonic() - pending.first_attempt >= RETENTION_S:
            log.error(
                "%s dropped %d record(s) after %s of retries: %s", pending.stream, pending.records, "24 hours", reason
            )
            return
        log.warning(
            "%s could not deliver %d record(s) to %s (attempt %d, retried): %s",
            pending.stream,
            pending.records,
            pending.bucket,
            pending.attempts,
            reason,
        )
        backoff = min(self.retry_interval_s * 2 ** (pending.attempts - 1), MAX_RETRY_INTERVAL_S)
        pending.next_attempt = time.monotonic() + backoff
        with self._lock:
            self._pending.append(pending)

    def _retry(self, due: Any, *, as_unit: bool = True) -> None:
        with self._lock:
            ready = [p for p in self._pending if due(p)]
            self._pending = [p for p in self._pending if not due(p)]
        if not ready:
            return
        if not as_unit:
            for pending in ready:
                self._attempt(pending)
            return
        with self.activity.unit():
            for pending in ready:
                self._attempt(pending)

    def pending(self) -> int:
        """Records in objects waiting for a retry of their write."""
        with self._lock:
            return sum(p.records for p in self._pending)

    def flush(self) -> None:
        """Deliver every buffer now, and retry every failed write once."""
        with self._lock:
            ready = list(self._buffers.values())
            self._buffers.clear()
        for buffer in ready:
            self._deliver(buffer)
        # Not a unit: a write that still fails changes nothing, and one that succeeds begins the units of what it
        # notifies before this returns, so the caller (``quiesce``) sees those.
        self._retry(lambda pending: True, as_unit=False)

    def busy(self) -> bool:
        """Deliver every buffer (and retry failed writes) now, so waiting for quiet never waits for a buffering
        interval or a retry; then idle. A write that still fails waits for its next retry, as an SQS message waits
        out its visibility timeout: not waited for."""
        self.flush()
        return False

    def shutdown(self) -> None:
        """Deliver what is buffered and stop."""
        self._stop.set()
        self.flush()


def _record_id() -> str:
    # Firehose's record ids are long opaque strings; uniqueness is what matters.
    return uuid.uuid4().hex + uuid.uuid4().hex


def _s3_destination(stream: Any) -> dict[str, Any]:
    for destination in stream.destinations:
        if "ExtendedS3" in destination:
            return dict(destination["ExtendedS3"])
        if "S3" in destination:
            return dict(destination["S3"])
    raise ValueError(f"delivery stream {stream.delivery_stream_name} has no S3 destination")
