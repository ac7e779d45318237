"""Firehose delivery to S3 as AWS does it: records are buffered per stream (``BufferingHints``), then written as
one object, compressed (``CompressionFormat``: ``GZIP``), under the destination's prefix with its
``!{timestamp:...}`` and ``!{firehose:...}`` expressions, or under the default ``YYYY/MM/DD/HH/`` time prefix.

moto 5.2.5 wrote one uncompressed object per ``PutRecord``/``PutRecordBatch`` call. The sandbox keeps the size
threshold but caps the time threshold at ``max_interval_s`` (AWS waits 60 to 900 seconds).
"""

from __future__ import annotations

import gzip
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
from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["DATE_PATTERNS", "EXPRESSION", "PATCHED", "Buffer", "FirehoseBuffers", "install", "object_key"]

log = logging.getLogger("awspatterns.sandbox.deliveries.firehose")

#: The moto internals this module replaces (checked by the canary tests).
PATCHED: Patched = ((FirehoseBackend, "put_s3_records"),)

#: Java DateTimeFormatter letters Firehose prefixes use, as strftime directives.
DATE_PATTERNS = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
EXPRESSION = re.compile(r"!\{(?P<namespace>timestamp|firehose):(?P<value>[^}]*)\}")


def install(engine: Engine) -> None:
    """Buffer Firehose records per stream (bounded by the engine's Firehose interval) instead of writing each call."""
    buffers = FirehoseBuffers(engine.settings.firehose_interval_s, engine.activity)
    buffers.install()
    engine.add_component(buffers)


@dataclass
class Buffer:
    """Records waiting for one destination."""

    account_id: str
    partition: str
    stream: str
    version: str
    destination: dict[str, Any]
    records: list[bytes] = field(default_factory=list)
    size: int = 0
    opened: float = field(default_factory=time.monotonic)


def object_key(stream: str, version: str, prefix: str, now: datetime) -> str:
    """The key Firehose gives a delivered object: the prefix (expressions evaluated, else the default time
    prefix appended) and ``<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<random>``."""

    def evaluate(match: re.Match[str]) -> str:
        if match["namespace"] == "firehose":
            return uuid.uuid4().hex[:8] if match["value"] == "random-string" else match["value"]
        pattern = match["value"]
        for java, directive in DATE_PATTERNS:
            pattern = pattern.replace(java, directive)
        return now.strftime(pattern)

    default = f"{prefix}{now.strftime('%Y/%m/%d/%H')}/"
    path = EXPRESSION.sub(evaluate, prefix) if EXPRESSION.search(prefix) else default
    return f"{path}{stream}-{version}-{now.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}"


class FirehoseBuffers:
    """Buffers records per destination and delivers them on size or age, on a background thread. Each delivery is
    a unit of :class:`Activity` (the object it writes can notify a queue, a topic or a function)."""

    def __init__(self, max_interval_s: float = 1.0, activity: Activity | None = None) -> None:
        self.max_interval_s = max_interval_s
        self.activity = activity or Activity()
        self._buffers: dict[tuple[str, str, str], Buffer] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="firehose", daemon=True)

    def install(self) -> None:
        """Replace moto's immediate, uncompressed delivery."""
        buffers = self

        def put_s3_records(
            backend: Any, delivery_stream_name: str, version_id: str, s3_destination: dict[str, Any], records: Any
        ) -> list[dict[str, str]]:
            buffers.add(backend, delivery_stream_name, version_id, s3_destination, [r["Data"] for r in records])
            return [{"RecordId": str(uuid.uuid4())} for _ in records]

        replace(FirehoseBackend, "put_s3_records", put_s3_records)
        self._thread.start()

    def add(self, backend: Any, stream: str, version: str, destination: dict[str, Any], data: list[bytes]) -> None:
        """Buffer records; deliver at once when the buffer reaches its size threshold."""
        key = (backend.account_id, stream, destination["BucketARN"])
        hints = destination.get("BufferingHints") or {}
        limit = int(hints.get("SizeInMBs", 5)) * 1024 * 1024
        with self._lock:
            buffer = self._buffers.setdefault(
                key, Buffer(backend.account_id, backend.partition, stream, version, destination)
            )
            buffer.records.extend(data)
            buffer.size += sum(len(d) for d in data)
            full = buffer.size >= limit
            if full:
                self._buffers.pop(key)
        if full:
            self._deliver(buffer)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self._lock:
                due = [k for k, b in self._buffers.items() if now - b.opened >= self._interval(b)]
                ready = [self._buffers.pop(k) for k in due]
            for buffer in ready:
                self._deliver(buffer)

    def _interval(self, buffer: Buffer) -> float:
        hints = buffer.destination.get("BufferingHints") or {}
        return min(float(hints.get("IntervalInSeconds", 300)), self.max_interval_s)

    def _deliver(self, buffer: Buffer) -> None:
        with self.activity.unit():
            self._write(buffer)

    def _write(self, buffer: Buffer) -> None:
        destination = buffer.destination
        data = b"".join(buffer.records)
        key = object_key(buffer.stream, buffer.version, destination.get("Prefix", ""), datetime.now(UTC))
        compression = destination.get("CompressionFormat", "UNCOMPRESSED")
        if compression == "GZIP":
            data, key = gzip.compress(data), key + ".gz"
        elif compression != "UNCOMPRESSED":
            log.warning("%s: compression %s is not applied by the sandbox", buffer.stream, compression)
        bucket = Arn.parse(destination["BucketARN"]).resource
        try:
            s3_backends[buffer.account_id][buffer.partition].put_object(bucket, key, data)
        except Exception:
            log.exception("%s could not deliver %d record(s) to %s", buffer.stream, len(buffer.records), bucket)

    def flush(self) -> None:
        """Deliver every buffer now."""
        with self._lock:
            ready = list(self._buffers.values())
            self._buffers.clear()
        for buffer in ready:
            self._deliver(buffer)

    def busy(self) -> bool:
        """Deliver every buffer now, so waiting for quiet never waits for a buffering interval; then idle (what
        the deliveries cause, they cause as units of activity, which ``quiesce`` sees)."""
        self.flush()
        return False

    def shutdown(self) -> None:
        """Deliver what is buffered and stop."""
        self._stop.set()
        self.flush()
