"""``patterns bench api-data-api``: requests per second and latency of the items API, each request one Lambda
invocation and one Data API statement on Aurora PostgreSQL: create, read by id, a page of 20, and a refusal that
never reaches the database."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

from awspatterns.bench.harness import Benchmark, BenchOptions, deployed, exchange, run_load
from awspatterns.bench.results import Scenario, write_results

__all__ = ["BENCHMARK", "bench_api_data_api"]

SLUG = "api-data-api"


def _call(method: str, url: str, body: bytes | None = None) -> tuple[str, float, bool, bytes]:
    status, answer, ms = exchange(url, method=method, body=body, headers={"Content-Type": "application/json"})
    return status, ms, False, answer


def bench_api_data_api(options: BenchOptions) -> Path:
    """Deploy the pattern, then run each scenario ``requests`` times on ``concurrency`` threads: create items,
    read them back by id in random order, list pages of 20, and post invalid bodies."""
    requests, concurrency, say = options.requests, options.concurrency, options.progress
    with deployed(SLUG, options) as deployment:
        url = deployment.outputs["ItemsUrl"].rstrip("/")
        _call("GET", url)  # the first request creates the schema: not part of any scenario
        ids: list[str] = []
        lock = threading.Lock()

        def create() -> tuple[str, float, bool]:
            status, ms, cold, answer = _call("POST", url, json.dumps({"name": "lamp", "quantity": 1}).encode())
            if status == "201":
                with lock:
                    ids.append(json.loads(answer)["id"])
            return status, ms, cold

        scenarios = [
            Scenario("create", f"POST /items: one INSERT … RETURNING through the Data API ({concurrency} clients)")
        ]
        run_load(create, requests, concurrency, scenarios[0], say)
        picks = random.Random(7).choices(ids or ["00000000-0000-0000-0000-000000000000"], k=requests)  # noqa: S311
        reads = iter(picks)
        scenarios.append(Scenario("read", f"GET /items/{{id}}: one SELECT by primary key ({concurrency} clients)"))
        run_load(lambda: _call("GET", f"{url}/{next(reads)}")[:3], requests, concurrency, scenarios[-1], say)
        scenarios.append(Scenario("list", f"GET /items?limit=20: one page, 21 rows read ({concurrency} clients)"))
        run_load(lambda: _call("GET", f"{url}?limit=20")[:3], requests, concurrency, scenarios[-1], say)
        invalid = json.dumps({"name": "lamp", "quantity": "two"}).encode()
        scenarios.append(Scenario("refuse", f"POST an invalid item: 400, no Data API call ({concurrency} clients)"))
        run_load(lambda: _call("POST", url, invalid)[:3], requests, concurrency, scenarios[-1], say)
    notes = (
        "Latency is the client's: from sending the request to reading the whole answer, through the local API "
        "Gateway, the function (a warm execution environment after the first requests) and, except for refusals, "
        "one Data API call that the sandbox runs on a real PostgreSQL 16. The refusal row is the cost of the path "
        "without the database; the difference to the other rows is the Data API call."
    )
    return write_results(SLUG, options.target, scenarios, notes, options.out_dir)


BENCHMARK = Benchmark(
    name=SLUG,
    summary="items API over the Aurora Data API: create, read, list and refuse, per second and latency",
    run=bench_api_data_api,
)
