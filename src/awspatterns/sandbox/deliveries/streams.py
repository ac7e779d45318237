"""Stream event sources (DynamoDB Streams and Kinesis) as Lambda's pollers run them: records in order per shard,
``FilterCriteria``, batches with a batching window, ``ReportBatchItemFailures`` (checkpointing), retries bounded
by ``MaximumRetryAttempts`` and ``MaximumRecordAgeInSeconds``, ``BisectBatchOnFunctionError``, and an on-failure
destination that receives the batch's metadata.

moto 5.2.5 invoked the function synchronously inside the write, one call per write, ignored filters and never
retried.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table
from moto.kinesis.models import Record, Shard, kinesis_backends
from moto.kinesis.models import Stream as KinesisStream

from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.deliveries.polling import MappingPoller
from awspatterns.sandbox.event_filters import matches_filters
from awspatterns.sandbox.subsystem import Reads, fields

__all__ = ["READS", "DynamoDBStreamSource", "KinesisSource", "StreamMapping", "StreamPoller", "StreamRecord"]

#: The moto state the stream sources read: tables' and streams' shards, and their records.
READS: Reads = (
    (DynamoDBBackend, "tables"),
    (Table, "stream_shard"),
    *fields(StreamShard, "items", "starting_sequence_number", "id"),
    (KinesisStream, "shards"),
    (Shard, "records"),
    *fields(Record, "partition_key", "data", "created_at"),
)

log = logging.getLogger("awspatterns.sandbox.deliveries.streams")


@dataclass
class StreamRecord:
    """One record read from a shard: its position, the record as Lambda delivers it, and its arrival time."""

    sequence: int
    record: dict[str, Any]
    arrival: float

    def for_filtering(self) -> dict[str, Any]:
        """The record as filters see it (a Kinesis ``data`` payload decoded from base64 and JSON)."""
        kinesis = self.record.get("kinesis")
        if kinesis is None:
            return self.record
        try:
            data = json.loads(base64.b64decode(kinesis["data"]))
        except ValueError:
            return self.record
        return {**self.record, "data": data}


@dataclass
class StreamMapping:
    """An event source mapping on a stream, with its checkpoint per shard."""

    account_id: str
    region: str
    uuid: str
    source_arn: str
    function_arn: str
    batch_size: int = 100
    window_s: float = 0.0
    filters: list[dict[str, Any]] = field(default_factory=list)
    bisect: bool = False
    max_retries: int = -1
    max_record_age_s: int = -1
    on_failure_arn: str | None = None
    report_item_failures: bool = False
    checkpoints: dict[str, int] = field(default_factory=dict)
    busy: bool = False

    @property
    def kind(self) -> str:
        """``DDBStream`` or ``Kinesis``, as the failure record names the batch."""
        return "Kinesis" if ":kinesis:" in self.source_arn else "DDBStream"


class DynamoDBStreamSource:
    """Reads a table's stream (one shard in the sandbox)."""

    def __init__(self, mapping: StreamMapping, table_name: str) -> None:
        self.mapping = mapping
        self.table_name = table_name

    def _shard(self) -> Any:
        table = dynamodb_backends[self.mapping.account_id][self.mapping.region].tables.get(self.table_name)
        return None if table is None else table.stream_shard

    def latest(self) -> dict[str, int]:
        """The position after the newest record of each shard."""
        shard = self._shard()
        if shard is None:
            return {}
        return {shard.id: shard.starting_sequence_number + len(shard.items) - 1}

    def read(self, shard_id: str, after: int, limit: int) -> list[StreamRecord]:
        """Up to ``limit`` records after position ``after``."""
        shard = self._shard()
        if shard is None:
            return []
        start = max(0, after + 1 - shard.starting_sequence_number)
        records = []
        for item in shard.items[start : start + limit]:
            raw = item.to_json()
            dynamodb = dict(raw["dynamodb"])
            created = dynamodb["ApproximateCreationDateTime"]
            arrival = created.replace(tzinfo=UTC).timestamp() if isinstance(created, datetime) else float(created)
            dynamodb["ApproximateCreationDateTime"] = int(arrival)
            record = {
                "eventID": raw["eventID"],
                "eventName": raw["eventName"],
                "eventVersion": raw["eventVersion"],
                "eventSource": "aws:dynamodb",
                "awsRegion": self.mapping.region,
                "dynamodb": dynamodb,
                "eventSourceARN": self.mapping.source_arn,
            }
            if "userIdentity" in raw:  # a deletion by Time to Live; Lambda's events spell the names in camel case
                identity = raw["userIdentity"]
                record["userIdentity"] = {"type": identity["Type"], "principalId": identity["PrincipalId"]}
            records.append(StreamRecord(int(dynamodb["SequenceNumber"]), record, arrival))
        return records


class KinesisSource:
    """Reads a Kinesis data stream's shards."""

    def __init__(self, mapping: StreamMapping) -> None:
        self.mapping = mapping

    def _stream(self) -> Any:
        backend = kinesis_backends[self.mapping.account_id][self.mapping.region]
        return next((s for s in backend.streams.values() if s.arn == self.mapping.source_arn), None)

    def latest(self) -> dict[str, int]:
        """The newest sequence number of each shard."""
        stream = self._stream()
        if stream is None:
            return {}
        return {s.shard_id: _edge(s.records, newest=True) or 0 for s in list(stream.shards.values())}

    def read(self, shard_id: str, after: int, limit: int) -> list[StreamRecord]:
        """Up to ``limit`` records after sequence number ``after``.

        moto numbers a shard's records 1, 2, 3, ... and writes them from its request threads while this reads, so
        records are looked up by number from the checkpoint on: no scan of the shard, and no iteration that a
        concurrent write could invalidate.
        """
        stream = self._stream()
        shard = (
            None if stream is None else next((s for s in list(stream.shards.values()) if s.shard_id == shard_id), None)
        )
        if shard is None:
            return []
        sequence = max(after + 1, _edge(shard.records, newest=False) or 1)
        records: list[StreamRecord] = []
        while len(records) < limit and (item := shard.records.get(sequence)) is not None:
            records.append(StreamRecord(sequence, self._record(shard_id, sequence, item), float(item.created_at)))
            sequence += 1
        return records

    def _record(self, shard_id: str, sequence: int, item: Any) -> dict[str, Any]:
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": item.partition_key,
                "sequenceNumber": str(sequence),
                "data": item.data,
                "approximateArrivalTimestamp": item.created_at,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{sequence}",
            "eventName": "aws:kinesis:record",
            "awsRegion": self.mapping.region,
            "eventSourceARN": self.mapping.source_arn,
        }


Source = DynamoDBStreamSource | KinesisSource


class StreamPoller(MappingPoller[Source]):
    """Polls every stream mapping on a background thread; one batch at a time per mapping, shards in order.

    A shard's checkpoint moves past a record only once the record is done: delivered, filtered out, or reported to
    the on-failure destination. A mapping disabled (or a poller stopped) while a batch is retried leaves the
    checkpoint before the records not yet done, so they are delivered once the mapping is enabled again.
    """

    def __init__(
        self,
        invoke: Callable[[str, str, str, str], Any],
        deliver: Callable[[str, str, str, str], None],
        is_enabled: Callable[[StreamMapping], bool | None],
        retry_delays_s: tuple[float, ...],
        activity: Activity | None = None,
    ) -> None:
        super().__init__(is_enabled, "stream-poller", workers=4, activity=activity)
        self._invoke = invoke
        self._deliver = deliver
        self.retry_delays_s = retry_delays_s

    def mapping_of(self, entry: Source) -> StreamMapping:
        """The mapping a stream source is read for."""
        return entry.mapping

    def add(self, source: Source, starting_position: str) -> None:
        """Start polling a mapping from ``TRIM_HORIZON`` (the oldest record) or ``LATEST`` (new records only)."""
        mapping = source.mapping
        latest = source.latest()
        mapping.checkpoints = {
            shard: position if starting_position == "LATEST" else -1 for shard, position in latest.items()
        }
        self.entries[mapping.uuid] = source

    def has_work(self, entry: Source) -> bool:
        """Whether a shard has records after the mapping's checkpoint."""
        checkpoints = entry.mapping.checkpoints
        return any(position > checkpoints.get(shard, -1) for shard, position in entry.latest().items())

    def poll(self, source: Source) -> None:
        """Read each shard of the stream in turn."""
        for shard in source.latest():
            source.mapping.checkpoints.setdefault(shard, -1)
            self._poll_shard(source, shard)

    def _poll_shard(self, source: Source, shard: str) -> None:
        mapping = source.mapping
        batch = self._collect(source, shard)
        if not batch:
            return
        passing = [r for r in batch if matches_filters(mapping.filters, r.for_filtering())]
        done = self._process(mapping, shard, passing) if passing else 0
        if done < len(passing):  # stopped before the batch was done: keep the rest for the next poll
            batch = [r for r in batch if r.sequence < passing[done].sequence]
        if batch:
            mapping.checkpoints[shard] = max(mapping.checkpoints[shard], batch[-1].sequence)

    def _collect(self, source: Source, shard: str) -> list[StreamRecord]:
        mapping = source.mapping
        batch = source.read(shard, mapping.checkpoints[shard], mapping.batch_size)
        deadline = time.monotonic() + mapping.window_s
        while batch and len(batch) < mapping.batch_size and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            batch = source.read(shard, mapping.checkpoints[shard], mapping.batch_size)
        return batch

    def _process(self, mapping: StreamMapping, shard: str, records: list[StreamRecord]) -> int:
        """Invoke until the batch succeeds; on exhausted retries or expired records, report the batch to the
        on-failure destination and move on. With bisection a failing batch is split in two. Without a bound
        (``-1``, the default) a failing record blocks its shard, as in AWS, until the mapping is disabled.

        Returns how many of ``records``, from the first, are done; fewer than all only when the mapping was
        disabled or deleted, or the poller stopped, before the rest were.
        """
        attempts = 0
        done = 0
        pending = records
        while pending:
            if self._stop.is_set() or not self._is_enabled(mapping):
                return done
            attempts += 1
            result = self._invoke(
                mapping.account_id,
                mapping.region,
                mapping.function_arn,
                json.dumps({"Records": [r.record for r in pending]}),
            )
            failed_from = self._first_failure(mapping, result, pending)
            if failed_from is None:
                return done + len(pending)
            if failed_from > 0:  # checkpoint the records before the first reported failure
                done, pending, attempts = done + failed_from, pending[failed_from:], 0
                continue
            expired = mapping.max_record_age_s >= 0 and time.time() - pending[0].arrival > mapping.max_record_age_s
            exhausted = mapping.max_retries >= 0 and attempts > mapping.max_retries
            if mapping.bisect and len(pending) > 1 and not expired:
                half = len(pending) // 2
                first = self._process(mapping, shard, pending[:half])
                if first < half:
                    return done + first
                return done + half + self._process(mapping, shard, pending[half:])
            if expired or exhausted:
                condition = "RecordAgeExceeded" if expired else "RetryAttemptsExhausted"
                self._report_failure(mapping, shard, pending, result, attempts, condition)
                return done + len(pending)
            self._stop.wait(self.retry_delays_s[min(attempts - 1, len(self.retry_delays_s) - 1)])
        return done

    @staticmethod
    def _first_failure(mapping: StreamMapping, result: Any, records: list[StreamRecord]) -> int | None:
        """``None`` when the batch succeeded; otherwise the index of the first record to retry from."""
        if result.errored:
            return 0
        if not mapping.report_item_failures:
            return None
        try:
            response = json.loads(result.payload or b"null")
        except ValueError:
            return 0
        if not isinstance(response, dict) or not response.get("batchItemFailures"):
            return None
        positions = {str(r.sequence): index for index, r in enumerate(records)}
        failures = response["batchItemFailures"]
        indexes = [
            positions.get(str(f.get("itemIdentifier"))) if isinstance(f, dict) else None
            for f in (failures if isinstance(failures, list) else [None])
        ]
        if any(i is None for i in indexes):
            return 0  # an invalid response fails the whole batch
        return min(i for i in indexes if i is not None)

    def _report_failure(
        self,
        mapping: StreamMapping,
        shard: str,
        records: list[StreamRecord],
        result: Any,
        attempts: int,
        condition: str,
    ) -> None:
        log.warning("%s: %d record(s) from %s discarded (%s)", mapping.function_arn, len(records), shard, condition)
        if not mapping.on_failure_arn:
            return
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if result.errored else "",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            f"{mapping.kind}BatchInfo": {
                "shardId": shard,
                "startSequenceNumber": str(records[0].sequence),
                "endSequenceNumber": str(records[-1].sequence),
                "approximateArrivalOfFirstRecord": _iso(records[0].arrival),
                "approximateArrivalOfLastRecord": _iso(records[-1].arrival),
                "batchSize": len(records),
                "streamArn": mapping.source_arn,
            },
        }
        self._deliver(mapping.account_id, mapping.region, mapping.on_failure_arn, json.dumps(record))


def _edge(records: dict[int, Any], newest: bool) -> int | None:
    """The oldest or newest key of a shard's records, or ``None`` if it has none."""
    while True:
        try:
            return next(reversed(records) if newest else iter(records), None)
        except RuntimeError:  # moto wrote between the iterator's creation and its first step: look again
            continue


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
