"""The load harness: what a benchmark is, how one is found by name, how load is driven, and how a benchmark gets a
freshly deployed pattern to drive it against (in a sandbox of its own, or in the real account)."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awspatterns.bench.results import BENCH_DIR, Scenario
from awspatterns.errors import PatternsError

__all__ = [
    "BenchOptions",
    "Benchmark",
    "Deployment",
    "all_benchmarks",
    "deployed",
    "exchange",
    "get_benchmark",
    "rest_api_id",
    "run_arrivals",
    "run_load",
    "timed_request",
]

#: One request: returns (status, latency in ms or ``None`` when not measured, whether it was a cold start).
Call = Callable[[], tuple[str, float | None, bool]]


def _quiet(_: str) -> None:
    """The default progress sink: say nothing."""


@dataclass(frozen=True)
class BenchOptions:
    """How large a run is, where it runs, where its results go and where its progress is told."""

    requests: int = 1000
    concurrency: int = 4
    target: str = "sandbox"
    out_dir: Path = BENCH_DIR
    progress: Callable[[str], None] = _quiet
    #: Used by the ``sandbox`` benchmark only: also time the whole end-to-end test suite.
    e2e_suite: bool = False


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: ``run`` measures and writes ``<out_dir>/<name>.{json,md}``, returning the JSON path."""

    name: str
    summary: str
    run: Callable[[BenchOptions], Path]
    targets: tuple[str, ...] = field(default=("sandbox", "aws"))


def all_benchmarks() -> dict[str, Benchmark]:
    """Every benchmark, by name: each module of :mod:`awspatterns.bench.scenarios` that defines ``BENCHMARK``."""
    from awspatterns.bench import scenarios

    found: dict[str, Benchmark] = {}
    for module_info in pkgutil.iter_modules(scenarios.__path__):
        module = importlib.import_module(f"{scenarios.__name__}.{module_info.name}")
        benchmark = getattr(module, "BENCHMARK", None)
        if isinstance(benchmark, Benchmark):
            found[benchmark.name] = benchmark
    return dict(sorted(found.items()))


def get_benchmark(name: str, target: str = "sandbox") -> Benchmark:
    """The benchmark called ``name``, checked to support ``target``; the error lists what exists."""
    benchmarks = all_benchmarks()
    if name not in benchmarks:
        raise PatternsError(f"no benchmark called {name!r}; available: {', '.join(benchmarks)}")
    benchmark = benchmarks[name]
    if target not in benchmark.targets:
        raise PatternsError(f"benchmark {name!r} runs on {', '.join(benchmark.targets)} only, not {target}")
    return benchmark


class _Tally:
    """Answers counted into a scenario from many threads, with progress told every tenth of the run."""

    def __init__(self, scenario: Scenario, requests: int, progress: Callable[[str], None]) -> None:
        self.scenario, self.requests, self.progress = scenario, requests, progress
        self._lock = threading.Lock()
        self._step = max(1, requests // 10)
        self._done = 0

    def count(self, status: str, value_ms: float | None, cold: bool) -> None:
        """One answer: its status and cold start counted, its latency recorded unless it is ``None``."""
        with self._lock:
            self.scenario.status_codes[status] += 1
            self.scenario.cold_starts += int(cold)
            if value_ms is not None:
                self.scenario.histogram.record(value_ms)
            self._done += 1
            if self._done % self._step == 0 or self._done == self.requests:
                self.progress(f"{self.scenario.name}: {self._done}/{self.requests} requests")


def run_load(
    call: Call,
    requests: int,
    concurrency: int,
    scenario: Scenario,
    progress: Callable[[str], None] = _quiet,
) -> Scenario:
    """Run ``call`` ``requests`` times on ``concurrency`` threads into ``scenario``, telling ``progress`` about
    every tenth of the run."""
    started = time.monotonic()
    tally = _Tally(scenario, requests, progress)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda _: tally.count(*call()), range(requests)))
    scenario.wall_s = time.monotonic() - started
    return scenario


def run_arrivals(
    call: Call,
    requests: int,
    rate_per_s: float,
    scenario: Scenario,
    progress: Callable[[str], None] = _quiet,
) -> Scenario:
    """Start ``call`` ``requests`` times at a fixed arrival rate (an open loop: a request starts on schedule whether
    or not earlier ones have answered) into ``scenario``. Each latency runs from the request's scheduled start, so
    time spent waiting behind a slow system counts (no coordinated omission); an answer the call does not time
    (``None``) is counted only, as in :func:`run_load`."""
    started = time.monotonic()
    tally = _Tally(scenario, requests, progress)

    def one(scheduled: float) -> None:
        status, value_ms, cold = call()
        tally.count(status, None if value_ms is None else (time.monotonic() - scheduled) * 1000, cold)

    # Enough threads that a slow answer never delays the next start; beyond that the system is saturated anyway.
    with ThreadPoolExecutor(max_workers=min(requests, max(8, int(rate_per_s * 5)))) as pool:
        for index in range(requests):
            scheduled = started + index / rate_per_s
            time.sleep(max(0.0, scheduled - time.monotonic()))
            pool.submit(one, scheduled)
    scenario.wall_s = time.monotonic() - started
    return scenario


def rest_api_id(apigateway: Any, api_url: str) -> str:
    """The REST API serving ``api_url`` (``.../<api-id>/<stage>/`` locally, ``https://<api-id>.execute-api...``)."""
    ids = {api["id"] for api in apigateway.get_rest_apis()["items"]}
    [api_id] = [i for i in ids if f"/{i}/" in api_url or f"//{i}." in api_url]
    return str(api_id)


def exchange(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30,
) -> tuple[str, bytes, float]:
    """One HTTP request to a deployed pattern's endpoint (the local API Gateway or the real one): the status, the
    answer's body and the client-observed latency in ms (body read). A 4xx or 5xx is a status to count, not an
    error; a failed connection raises."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 (the stack's URL)
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            answer, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        answer, status = error.read(), error.code
    return str(status), answer, (time.monotonic() - began) * 1000


def timed_request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30,
) -> tuple[str, float, bool]:
    """:func:`exchange` in the shape a :data:`Call` returns: the status, the latency in ms and ``False`` (a cold
    start cannot be seen from the client)."""
    status, _, ms = exchange(url, method=method, body=body, headers=headers, timeout_s=timeout_s)
    return status, ms, False


@dataclass(frozen=True)
class Deployment:
    """A deployed pattern to drive: a session for its account and its stacks' outputs (merged)."""

    session: Any
    outputs: dict[str, str]
    target: str


@contextlib.contextmanager
def deployed(slug: str, options: BenchOptions) -> Iterator[Deployment]:
    """Deploy pattern ``slug`` for the length of a benchmark: into a sandbox of its own (started and stopped here,
    so no earlier state skews the figures) or, with ``target="aws"``, into the real account; destroyed after."""
    from awspatterns.catalog import get_pattern
    from awspatterns.synth import synth
    from awspatterns.targets import get_target
    from awspatterns.targets.sandbox_target import SandboxTarget

    pattern = get_pattern(slug)
    with tempfile.TemporaryDirectory(prefix="awspatterns-bench-") as scratch:
        options.progress(f"synthesizing {slug} ...")
        assembly = synth(pattern, Path(scratch) / "cdk.out").directory
        with contextlib.ExitStack() as cleanup:
            if options.target == "sandbox":
                from awspatterns.sandbox import control

                state = Path(scratch) / "sandbox"
                control.start(state)
                cleanup.callback(control.stop, state)
                target: Any = SandboxTarget(state_dir=state, autostart=False)
            else:
                target = get_target(options.target)
            options.progress(f"deploying {slug} to {options.target} ...")
            outputs = target.deploy(pattern, assembly, options.progress)
            cleanup.callback(target.destroy, pattern, assembly, options.progress)
            merged = {key: value for values in outputs.values() for key, value in values.items()}
            yield Deployment(target.session(), merged, options.target)
