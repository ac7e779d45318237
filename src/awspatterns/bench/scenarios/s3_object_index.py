"""``patterns bench s3-object-index``: how fast the indexer keeps up with uploads, and how long finding one user's
objects takes as the index grows.

Two measurements against a freshly deployed pattern. **Indexing**: ``requests`` event files (JSON lines, five
users each) are uploaded on ``concurrency`` threads; a poller reads the Objects table every 0.25 s and records,
per object, the time from its upload to its entry being there; throughput is objects over the wall time from the
first upload to the last entry. **Finding a user's objects**: the Holdings table is filled to each size with
``BatchWriteItem`` (index entries written directly, not by uploading that many objects), one user holding ten
objects among them; then up to :data:`LOOKUPS` paginated ``Query`` calls on that user's partition are timed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from boto3.dynamodb.conditions import Key

from awspatterns.bench.harness import Benchmark, BenchOptions, Deployment, deployed, run_load
from awspatterns.bench.results import Scenario, write_results

__all__ = ["BENCHMARK", "INDEX_SIZES", "LOOKUPS", "bench_object_index"]

#: The index sizes (Holdings entries) at which one user's objects are looked up.
INDEX_SIZES = (100, 10_000, 100_000)
#: Objects the looked-up user holds at every size.
TARGET_OBJECTS = 10
USERS_PER_OBJECT = 5
#: Lookups timed at each index size (fewer when ``requests`` is smaller): moto reads every item of the table per
#: ``Query``, so at 100,000 entries one lookup in the sandbox takes seconds.
LOOKUPS = 100


def bench_object_index(options: BenchOptions, sizes: Sequence[int] = INDEX_SIZES) -> Path:
    """Deploy s3-object-index, measure indexing throughput and lookups at each index size, write the results."""
    with deployed("s3-object-index", options) as deployment:
        scenarios = [_bench_indexing(deployment, options)]
        scenarios += _bench_lookups(deployment, options, sizes)
    notes = (
        "Indexing: each object is uploaded with `PutObject` and counted as indexed when a poller (every 0.25 s) "
        "first finds its entry in the Objects table, so latencies include up to 0.25 s of polling, S3's event "
        "delivery, the queue's batching window (2 s) and the indexer's work; req/s is objects indexed per second. "
        "Lookups: the Holdings table was filled with `BatchWriteItem` to the stated number of entries (written "
        "directly, not by uploading that many objects); each request is one paginated `Query` returning the "
        f"{TARGET_OBJECTS} objects of one user ({LOOKUPS} per size). In the sandbox a `Query` costs time in "
        "proportion to the whole table (moto reads every item to find a partition's), where DynamoDB reads only "
        "the user's partition: the growth across sizes here is the sandbox's, not the design's."
    )
    return write_results("s3-object-index", options.target, scenarios, notes, options.out_dir)


def _bench_indexing(deployment: Deployment, options: BenchOptions) -> Scenario:
    s3 = deployment.session.client("s3")
    objects = deployment.session.resource("dynamodb").Table(deployment.outputs["ObjectsTable"])
    run = uuid.uuid4().hex[:8]
    prefix = f"{deployment.outputs['Prefix']}bench-{run}/"
    scenario = Scenario("index-objects", f"Upload to indexed, {options.requests} objects of {USERS_PER_OBJECT} users")
    uploaded: dict[str, float] = {}

    def upload(n: int) -> None:
        body = "".join(
            json.dumps({"user_id": f"user-{n}-{u}", "ts": "2026-12-01T00:00:00Z", "n": n}) + "\n"
            for u in range(USERS_PER_OBJECT)
        ).encode()
        key = f"{prefix}{n:06d}.jsonl"
        uploaded[key] = time.monotonic()
        s3.put_object(Bucket=deployment.outputs["BucketName"], Key=key, Body=body)

    options.progress(f"uploading {options.requests} objects ...")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        list(pool.map(upload, range(options.requests)))
    seen: set[str] = set()
    deadline = time.monotonic() + 120 + options.requests * 0.5
    while len(seen) < options.requests and time.monotonic() < deadline:
        now = time.monotonic()
        for key in _indexed_keys(objects, prefix) - seen:
            seen.add(key)
            scenario.histogram.record((now - uploaded[key]) * 1000)
            scenario.status_codes["indexed"] += 1
        time.sleep(0.25)
    scenario.status_codes["not indexed"] += options.requests - len(seen)
    scenario.wall_s = time.monotonic() - started
    options.progress(f"indexed {len(seen)}/{options.requests} objects")
    return scenario


def _indexed_keys(objects: Any, prefix: str) -> set[str]:
    keys: set[str] = set()
    kwargs: dict[str, Any] = {"ProjectionExpression": "object_key"}
    while True:
        page = objects.scan(**kwargs)
        keys |= {item["object_key"] for item in page["Items"] if item["object_key"].startswith(prefix)}
        if "LastEvaluatedKey" not in page:
            return keys
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _bench_lookups(deployment: Deployment, options: BenchOptions, sizes: Sequence[int]) -> list[Scenario]:
    holdings = deployment.session.resource("dynamodb").Table(deployment.outputs["HoldingsTable"])
    target = f"target-{uuid.uuid4().hex[:8]}"
    written = 0
    scenarios = []
    for size in sizes:
        options.progress(f"filling the index to {size} entries ...")
        with holdings.batch_writer() as batch:  # BatchWriteItem, 25 items per request
            while written < size:
                user = target if written < TARGET_OBJECTS else f"filler-{written % max(1, size // 10)}"
                batch.put_item(
                    Item={"user_id": user, "object_key": f"bench/obj-{written:07d}.jsonl", "versions": {"v1"}}
                )
                written += 1

        def lookup() -> tuple[str, float | None, bool]:
            began = time.monotonic()
            found = _query(holdings, target)
            return ("found" if found == TARGET_OBJECTS else f"found-{found}"), (time.monotonic() - began) * 1000, False

        scenario = Scenario(f"find-user-{size}", f"Find one user's objects, index of {size:,} entries")
        lookups = min(options.requests, LOOKUPS)
        scenarios.append(run_load(lookup, lookups, options.concurrency, scenario, options.progress))
    return scenarios


def _query(holdings: Any, user_id: str) -> int:
    count = 0
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("user_id").eq(user_id)}
    while True:
        page = holdings.query(**kwargs)
        count += len(page["Items"])
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


BENCHMARK = Benchmark(
    name="s3-object-index",
    summary="s3-object-index: objects indexed per second, and finding one user's objects as the index grows",
    run=bench_object_index,
)
