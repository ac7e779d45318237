"""``patterns bench api-async-sqs``: requests accepted per second through the API (API Gateway validating each body
and sending it to SQS as its role), their latency, the latency of a refusal (a body the model rejects), and how
long the consumer takes to process everything that was accepted."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from awspatterns.bench.harness import Benchmark, BenchOptions, deployed, run_load, timed_request
from awspatterns.bench.results import Scenario, write_results

__all__ = ["BENCHMARK", "bench_api_async_sqs"]

SLUG = "api-async-sqs"
#: How long to wait for the consumer to process every accepted order.
DRAIN_TIMEOUT_S = 600.0


def _post(url: str, body: bytes) -> tuple[str, float, bool]:
    return timed_request(url, method="POST", body=body, headers={"Content-Type": "application/json"})


def _order(run: str, n: int) -> bytes:
    items = [{"sku": "BOOK-1", "quantity": 1 + n % 5}, {"sku": "MUG-1", "quantity": 1}]
    return json.dumps({"order_id": f"{run}-{n}", "customer": f"customer {n % 97}", "items": items}).encode()


def _processed(session: Any, table: str) -> int:
    client = session.client("dynamodb")
    count, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = client.scan(**kwargs)
        count += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def bench_api_async_sqs(options: BenchOptions) -> Path:
    """Deploy the pattern, post ``requests`` valid orders and as many invalid ones on ``concurrency`` threads, and
    wait until the consumer has processed every accepted order."""
    requests, concurrency, say = options.requests, options.concurrency, options.progress
    run = uuid.uuid4().hex[:8]
    with deployed(SLUG, options) as deployment:
        url = deployment.outputs["OrdersUrl"]
        numbers = iter(range(requests))
        accept = Scenario("accept", f"POST a valid order: validated, queued, 202 ({concurrency} clients)")
        began = time.monotonic()
        run_load(lambda: _post(url, _order(run, next(numbers))), requests, concurrency, accept, say)
        refuse = Scenario(
            "refuse", f"POST an invalid order: 400 from the model, nothing queued ({concurrency} clients)"
        )
        invalid = json.dumps({"order_id": "x", "customer": "", "items": []}).encode()
        run_load(lambda: _post(url, invalid), requests, concurrency, refuse, say)
        accepted = accept.status_codes["202"]
        say(f"waiting for the consumer to process {accepted} orders ...")
        drain = Scenario("drain", "First request to the last accepted order processed (consumer batches of 10)")
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        processed = 0
        while time.monotonic() < deadline:
            processed = _processed(deployment.session, deployment.outputs["OrdersTable"])
            if processed >= accepted:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - began
        drain.histogram.record(elapsed * 1000)
        drain.status_codes["processed" if processed >= accepted else "timed-out"] += 1
        drain.extra = {"orders_processed": processed, "processed_per_s": round(processed / elapsed, 1)}
    notes = (
        "Latency is the client's: from sending the request to reading the whole answer, through the local API "
        "Gateway (routing, throttling, model validation, the mapping template, the integration role's signed "
        "`SendMessage` to SQS, the integration response). The drain row is one measurement: from the first "
        "accepted request until the consumer has recorded every accepted order, while the load runs."
    )
    return write_results(SLUG, options.target, [accept, refuse, drain], notes, options.out_dir)


BENCHMARK = Benchmark(
    name=SLUG,
    summary="requests accepted per second through API Gateway's SQS integration, and the consumer's drain time",
    run=bench_api_async_sqs,
)
