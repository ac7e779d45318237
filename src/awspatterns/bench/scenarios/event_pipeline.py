"""``patterns bench event-pipeline``: how many records per second the pipeline accepts (``PutRecordBatch`` calls
of 100 records, as the emitters make them) and how long a record takes from ``PutRecordBatch`` to a readable
object in the lake (buffering, transformation, compression and the S3 write), on a freshly deployed pattern."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from awspatterns.bench.harness import Benchmark, BenchOptions, Deployment, deployed, run_load
from awspatterns.bench.results import Scenario, write_results

__all__ = ["BATCH", "BENCHMARK", "LATENCY_BATCH", "Lake", "bench_event_pipeline"]

#: Records per ``PutRecordBatch`` call in the throughput scenario.
BATCH = 100
#: Records per probe in the latency scenario.
LATENCY_BATCH = 10


def bench_event_pipeline(options: BenchOptions) -> Path:
    """Put ``options.requests`` batches of :data:`BATCH` records on ``options.concurrency`` threads, check every
    record reached the lake once, then time ``max(3, requests // 50)`` probes from put to readable object."""
    with deployed("event-pipeline", options) as deployment:
        run_id = uuid.uuid4().hex[:8]
        firehose = deployment.session.client("firehose")
        stream = deployment.outputs["StreamName"]
        counter = iter(range(10**9))

        def put_batch() -> tuple[str, float | None, bool]:
            records = [{"Data": _event(f"{run_id}-{next(counter)}")} for _ in range(BATCH)]
            began = time.monotonic()
            response = firehose.put_record_batch(DeliveryStreamName=stream, Records=records)
            latency_ms = (time.monotonic() - began) * 1000
            return ("200" if response["FailedPutCount"] == 0 else "partial-failure"), latency_ms, False

        accepted = Scenario("put-record-batch", f"`PutRecordBatch` of {BATCH} records (records/s = {BATCH} × req/s)")
        run_load(put_batch, options.requests, options.concurrency, accepted, options.progress)
        options.progress("waiting for every record to reach the lake ...")
        lake = Lake(deployment)
        expected = {f"{run_id}-{n}" for n in range(options.requests * BATCH)}
        delivered = lake.wait_for(expected, timeout_s=600)
        accepted.extra["records"] = options.requests * BATCH
        accepted.extra["records_per_s"] = round(accepted.extra["records"] / accepted.wall_s, 1)
        accepted.extra["delivered_once"] = sum(1 for key in expected if lake.copies.get(key) == 1)
        accepted.extra["missing"] = len(expected - delivered)

        latency = Scenario("put-to-lake", f"From `PutRecordBatch` ({LATENCY_BATCH} records) to readable object")
        probes = max(3, options.requests // 50)

        def probe() -> tuple[str, float | None, bool]:
            ids = {f"{run_id}-probe-{uuid.uuid4().hex[:8]}-{n}" for n in range(LATENCY_BATCH)}
            began = time.monotonic()
            firehose.put_record_batch(DeliveryStreamName=stream, Records=[{"Data": _event(i)} for i in ids])
            found = lake.wait_for(ids, timeout_s=900)
            return ("delivered" if found >= ids else "timeout"), (time.monotonic() - began) * 1000, False

        run_load(probe, probes, 1, latency, options.progress)
    notes = (
        f"Throughput: {accepted.extra['records']} records in {options.requests} `PutRecordBatch` calls on "
        f"{options.concurrency} threads, {accepted.extra['records_per_s']} records/s accepted; "
        f"{accepted.extra['delivered_once']} delivered once, {accepted.extra['missing']} missing. Latency: each "
        "probe puts its records and reads the lake until all are there. In the sandbox Firehose buffers at most "
        "1 s (the stream's hint is 60 s: in AWS a record waits up to 60 s, or until 64 MiB are buffered, before "
        "its object is written); the transformation runs in the sandbox's Lambda runtime."
    )
    return write_results("event-pipeline", deployment.target, [accepted, latency], notes, options.out_dir)


def _event(event_id: str) -> bytes:
    event = {
        "event_id": event_id,
        "source": "orders",
        "type": "order.placed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "detail": {"total": "12.50", "items": 3},
    }
    return json.dumps(event).encode()


class Lake:
    """The data prefix of a deployed pipeline, read incrementally: each new object once."""

    def __init__(self, deployment: Deployment) -> None:
        self.s3 = deployment.session.client("s3")
        self.bucket = deployment.outputs["LakeBucket"]
        self.prefix = deployment.outputs["DataPrefix"]
        self.read: set[str] = set()
        #: Event id -> how many rows the lake holds for it.
        self.copies: dict[str, int] = {}

    def refresh(self) -> None:
        """Read the objects written since the last refresh."""
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                if item["Key"] in self.read:
                    continue
                body = gzip.decompress(self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read())
                for line in body.decode().splitlines():
                    event_id = json.loads(line)["event_id"]
                    self.copies[event_id] = self.copies.get(event_id, 0) + 1
                self.read.add(item["Key"])

    def wait_for(self, ids: set[str], timeout_s: float) -> set[str]:
        """Refresh until every id is in the lake or the time is up; the ids found."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.refresh()
            found = {i for i in ids if i in self.copies}
            if found == ids or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


BENCHMARK = Benchmark(
    name="event-pipeline",
    summary="event-pipeline: records per second accepted, and from PutRecordBatch to a readable object in S3",
    run=bench_event_pipeline,
)
