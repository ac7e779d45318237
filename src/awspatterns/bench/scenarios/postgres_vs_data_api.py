"""``patterns bench postgres-vs-data-api``: the seed's comparison of the two ways a function reaches Aurora
PostgreSQL, made reproducible.

The same ``/items`` API, the same schema and the same request mix, once over psycopg from a function in the VPC
(``api-postgres-vpc``: a connection held per execution environment) and once over the Aurora Data API from a
function outside any VPC (``api-data-api``: an HTTPS call per statement). Each pattern is deployed alone into a
fresh sandbox (or, with ``--target aws``, the real account) and measured in three parts:

1. cold starts, forced one at a time: a configuration change retires every execution environment, so the next
   request meets a new one (counted from the function's ``REPORT`` log lines, not assumed);
2. ``requests`` requests at a fixed arrival rate (an open loop, as load tools that state an arrival rate run);
3. a concurrency sweep: 1, 4 and 16 clients each sending back to back, after a warm-up that starts the
   environments the level needs, so these rows are warm requests only.

The seed's figures from AWS are written beside ours, labelled as the different world they come from.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

from awspatterns.bench.harness import (
    Benchmark,
    BenchOptions,
    Deployment,
    deployed,
    exchange,
    rest_api_id,
    run_arrivals,
    run_load,
    timed_request,
)
from awspatterns.bench.results import Scenario, write_results

__all__ = ["APIS", "BENCHMARK", "SEED_AWS_FIGURES", "bench_postgres_vs_data_api", "render_comparison"]

NAME = "postgres-vs-data-api"
#: The two APIs compared: a short name for the tables, and the pattern that deploys it.
APIS = (("postgres", "api-postgres-vpc"), ("data-api", "api-data-api"))
#: Clients sending back to back, one level after another.
SWEEP = (1, 4, 16)
#: The open-loop part's arrival rate: about a fifth of what the seed's load tool reached on AWS, so that one 2-core
#: machine running the load, the gateway, the functions and PostgreSQL is not saturated by the load alone.
ARRIVAL_RATE_PER_S = 20.0
#: Half reads by id, a fifth pages of 20, a fifth creates, a tenth replaces: every request of a run is the next of
#: this cycle, in an order fixed once by a seeded shuffle, so both APIs receive exactly the same sequence.
MIX: tuple[str, ...] = tuple(
    random.Random(2024).sample(["read"] * 5 + ["list"] * 2 + ["create"] * 2 + ["replace"], k=10)  # noqa: S311
)
#: The header of every request with a body.
JSON = {"Content-Type": "application/json"}
#: API Gateway's answer when a throttle refuses: counted, never timed.
THROTTLED = "429"
#: The stage throttle during the comparison: API Gateway's default account quota, instead of the patterns' 100
#: requests/s per method (see ``_lift_throttle``).
LIFTED_RATE_PER_S, LIFTED_BURST = 10_000, 5_000
#: Items created before the measured parts (fewer in a run of fewer requests), so that reads and replaces find rows
#: from the first request.
SEED_ITEMS = 50

# --8<-- [start:seed]
#: The seed's figures: 1000 scenarios from a load tool against both APIs deployed on AWS (latency in ms).
SEED_AWS_FIGURES: dict[str, Any] = {
    "label": "AWS, the seed",
    "source": "the original project's README: 1000 scenarios from a load tool against both APIs deployed on AWS; "
    "the Postgres maximum includes the function's VPC cold start",
    "rows": {
        "postgres": {"rps": 95.24, "min": 65, "p50": 78, "p95": 133, "p99": 1509.5, "max": 2337},
        "data-api": {"rps": 95.51, "min": 61, "p50": 75, "p95": 99, "p99": 162, "max": 335},
    },
}
# --8<-- [end:seed]


class _ItemsLoad:
    """The request mix against one deployed items API; thread-safe, deterministic in the order of requests."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._ids: list[str] = []
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._picks = random.Random(7)  # noqa: S311 (which item a read or replace names)

    def _pick(self) -> str:
        with self._lock:
            return self._picks.choice(self._ids)

    def create(self) -> tuple[str, float | None, bool]:
        body = json.dumps({"name": "lamp", "quantity": 1, "price": "9.90"}).encode()
        status, answer, ms = exchange(self.url, method="POST", body=body, headers=JSON)
        if status == "201":
            with self._lock:
                self._ids.append(json.loads(answer)["id"])
        return status, ms, False

    def next_request(self) -> tuple[str, float | None, bool]:
        """The next request of the cycle. A 429 is counted but not timed: it is API Gateway's stage throttle
        answering before the function runs, and timing it would mix the throttle into the database paths' figures."""
        status, ms, cold = self._send_next()
        return status, None if status == THROTTLED else ms, cold

    def _send_next(self) -> tuple[str, float | None, bool]:
        operation = MIX[next(self._counter) % len(MIX)]
        if operation == "create":
            return self.create()
        if operation == "list":
            return timed_request(f"{self.url}?limit=20")
        if operation == "read":
            return timed_request(f"{self.url}/{self._pick()}")
        body = json.dumps({"name": "desk", "quantity": 2, "price": "120.00"}).encode()
        return timed_request(f"{self.url}/{self._pick()}", method="PUT", body=body, headers=JSON)


class _Function:
    """The items function of a deployment: its configuration, and its cold starts read from its log."""

    def __init__(self, deployment: Deployment) -> None:
        self.lambda_ = deployment.session.client("lambda")
        self.logs = deployment.session.client("logs")
        self.name = deployment.outputs["ItemsFunctionName"]
        configuration = self.lambda_.get_function_configuration(FunctionName=self.name)
        self.log_group = configuration.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{self.name}"

    def retire_environments(self, round_number: int) -> None:
        """Change the configuration (one variable), so that Lambda starts new execution environments."""
        current = self.lambda_.get_function_configuration(FunctionName=self.name)
        variables = {**current.get("Environment", {}).get("Variables", {}), "BENCH_ROUND": str(round_number)}
        self.lambda_.update_function_configuration(FunctionName=self.name, Environment={"Variables": variables})
        deadline = time.monotonic() + 120
        while self.lambda_.get_function_configuration(FunctionName=self.name).get("LastUpdateStatus") not in (
            None,
            "Successful",
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: the configuration change did not finish in 120 s")
            time.sleep(0.5)

    def reports(self, start_ms: int, end_ms: int) -> list[str]:
        """The ``REPORT`` lines the function wrote between two times (epoch milliseconds)."""
        lines: list[str] = []
        pages = self.logs.get_paginator("filter_log_events").paginate(
            logGroupName=self.log_group, startTime=start_ms, endTime=end_ms
        )
        for page in pages:
            lines += [e["message"] for e in page["events"] if e["message"].startswith("REPORT")]
        return lines

    def cold_starts(self, start_ms: int, end_ms: int, invocations: int) -> int:
        """How many invocations between two times met a new execution environment (their ``REPORT`` line has an
        ``Init Duration``), once all ``invocations`` have reported (CloudWatch Logs delivers with a delay)."""
        deadline = time.monotonic() + 60
        while len(reports := self.reports(start_ms, end_ms)) < invocations and time.monotonic() < deadline:
            time.sleep(1)
        return sum("Init Duration" in line for line in reports)


def _lift_throttle(deployment: Deployment) -> None:
    """Raise the stage's throttle (100 requests/s per method, as the patterns deploy it) to API Gateway's account
    default, so that every request of the comparison reaches the function: the seed's load stayed under the
    patterns' limit, and a 429 would measure the throttle instead of the database path."""
    apigateway = deployment.session.client("apigateway")
    api_id = rest_api_id(apigateway, deployment.outputs["ItemsUrl"])
    for stage in apigateway.get_stages(restApiId=api_id)["item"]:
        apigateway.update_stage(
            restApiId=api_id,
            stageName=stage["stageName"],
            patchOperations=[
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(LIFTED_RATE_PER_S)},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(LIFTED_BURST)},
            ],
        )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _measure_one_api(api: str, deployment: Deployment, options: BenchOptions) -> list[Scenario]:
    """The three parts against one deployed API; every scenario's ``cold_starts`` comes from the function's log."""
    say, requests = options.progress, options.requests
    load = _ItemsLoad(deployment.outputs["ItemsUrl"])
    function = _Function(deployment)
    _lift_throttle(deployment)
    say(f"{api}: creating {min(SEED_ITEMS, requests)} items to read (the first request also creates the schema)")
    for _ in range(min(SEED_ITEMS, requests)):
        load.create()
    scenarios: list[Scenario] = []

    def measured(scenario: Scenario, run: Any) -> None:
        began = _now_ms()
        run(scenario)
        invocations = sum(scenario.status_codes.values()) - scenario.status_codes[THROTTLED]  # a 429 never ran
        scenario.cold_starts = function.cold_starts(began, _now_ms() + 1, invocations)
        scenario.extra = {"api": api, **scenario.extra}
        scenarios.append(scenario)

    rounds = max(3, requests // 100)
    cold = Scenario(
        f"{api} cold", f"{api}: the first request to a new execution environment ({rounds} rounds, one at a time)"
    )

    def cold_rounds(scenario: Scenario) -> None:
        for number in range(rounds):
            function.retire_environments(number)
            status, ms, _ = load.next_request()
            scenario.status_codes[status] += 1
            if ms is not None:
                scenario.histogram.record(ms)
            say(f"{scenario.name}: {number + 1}/{rounds} rounds")

    measured(cold, cold_rounds)
    cold.extra["phase"] = "cold"
    run_load(load.next_request, 16, max(SWEEP), Scenario("warm-up", ""))  # environments for every level below

    arrival = Scenario(
        f"{api} {ARRIVAL_RATE_PER_S:g}/s",
        f"{api}: {requests} requests arriving at {ARRIVAL_RATE_PER_S:g} per second (open loop)",
        extra={"phase": "arrival"},
    )
    measured(arrival, lambda s: run_arrivals(load.next_request, requests, ARRIVAL_RATE_PER_S, s, say))
    for clients in SWEEP:
        level = Scenario(
            f"{api} x{clients}",
            f"{api}: {requests} requests from {clients} client{'s' if clients > 1 else ''} back to back",
            extra={"phase": f"concurrency-{clients}"},
        )
        measured(level, lambda s, c=clients: run_load(load.next_request, requests, c, s, say))
    return scenarios


def bench_postgres_vs_data_api(options: BenchOptions, apis: tuple[tuple[str, str], ...] = APIS) -> Path:
    """Deploy each API alone, run the three parts against it, destroy it; write both into one results file."""
    scenarios: list[Scenario] = []
    for api, slug in apis:
        with deployed(slug, options) as deployment:
            scenarios += _measure_one_api(api, deployment, options)
    return write_results(
        NAME,
        options.target,
        scenarios,
        _notes(options.target),
        options.out_dir,
        extra={"title": "Postgres vs Data API", "reference": SEED_AWS_FIGURES},
        render=render_comparison,
    )


def _notes(target: str) -> str:
    return (
        f"The same request mix on both APIs (each request the next of a fixed cycle: {MIX.count('read')} reads by "
        f"id, {MIX.count('list')} pages of 20, {MIX.count('create')} creates and {MIX.count('replace')} replace in "
        f"every {len(MIX)}), each API deployed alone in a fresh {target} account with its own Aurora cluster. "
        "Latency is the client's, through the API Gateway; at a fixed arrival rate it runs from each request's "
        "scheduled start. Cold starts are counted from the functions' REPORT lines with an Init Duration; the "
        "concurrency rows follow a warm-up of 16 concurrent requests. The stages' throttle (100 requests/s per "
        "method as the patterns deploy it) is raised to API Gateway's account default for the run, so that every "
        "request reaches the function; a 429 would be counted in the status codes but not timed."
    )


def _cells(figures: dict[str, Any]) -> str:
    return " | ".join(
        "–" if figures.get(key) is None else f"{figures[key]:,.1f}" for key in ("min", "p50", "p95", "p99", "max")
    )


def _load(scenario: dict[str, Any]) -> str:
    """A short name for a scenario's load, from its phase."""
    phase = scenario["phase"]
    if phase == "cold":
        return f"cold starts ({scenario['requests']}, one at a time)"
    if phase == "arrival":
        return f"{ARRIVAL_RATE_PER_S:g}/s, open loop"
    clients = int(phase.removeprefix("concurrency-"))
    return f"{clients} client{'s' if clients > 1 else ''}"


def render_comparison(results: dict[str, Any]) -> str:
    """Two tables: the latencies in the seed's format (requests per second, then min, median, p95, p99 and max), our
    rows first and then the seed's AWS rows, each saying where it was measured; then what every row counted."""
    env, reference = results["environment"], results["reference"]
    latency = [
        "| Measured in | API | Load | req/s | min | median | p95 | p99 | max |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    counts = ["| API | Load | Requests | Cold starts | Status codes |", "|---|---|---:|---:|---|"]
    for s in results["scenarios"]:
        rps = "–" if s["rps"] is None else f"{s['rps']:,.1f}"
        latency.append(f"| {env['target']} | {s['api']} | {_load(s)} | {rps} | {_cells(s['latency_ms'])} |")
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(s["status_codes"].items()))
        answered = sum(s["status_codes"].values())
        counts.append(f"| {s['api']} | {_load(s)} | {answered} | {s['cold_starts']} | {codes} |")
    for api, figures in reference["rows"].items():
        latency.append(f"| AWS (the seed) | {api} | 1000 scenarios | {figures['rps']} | {_cells(figures)} |")
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    return "\n".join(
        [
            *latency,
            "",
            f"Latencies in milliseconds. Ours: measured {env['date']} at commit `{env['commit']}` on "
            f"{env['machine']['cpus']} CPUs, {env['machine']['memory_gb']} GB ({env['machine']['platform']}); "
            f"target: {env['target']}; {versions}. The seed's: {reference['source']}.",
            "",
            *counts,
            "",
            results["notes"],
            "",
        ]
    )


BENCHMARK = Benchmark(
    name=NAME,
    summary="the same items API over psycopg in a VPC and over the Data API: cold starts, a fixed arrival rate "
    "and a concurrency sweep of 1, 4 and 16",
    run=bench_postgres_vs_data_api,
)
