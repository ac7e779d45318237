"""The benchmark harness behind ``patterns bench``: measured figures, written with their environment to
``docs/benchmarks/<name>.json`` and rendered as a Markdown table that the documentation embeds.

- :mod:`~awspatterns.bench.histograms`: latency histograms.
- :mod:`~awspatterns.bench.results`: scenarios, the environment, results files and their tables.
- :mod:`~awspatterns.bench.harness`: benchmarks by name, load driving, timed HTTP requests, a deployed
  pattern to drive.
- :mod:`~awspatterns.bench.scenarios`: one module per benchmark.
"""

from awspatterns.bench.harness import (
    Benchmark,
    BenchOptions,
    Deployment,
    all_benchmarks,
    deployed,
    exchange,
    get_benchmark,
    rest_api_id,
    run_arrivals,
    run_load,
    timed_request,
)
from awspatterns.bench.histograms import Histogram
from awspatterns.bench.results import BENCH_DIR, Scenario, environment, render_markdown, write_results

__all__ = [
    "BENCH_DIR",
    "BenchOptions",
    "Benchmark",
    "Deployment",
    "Histogram",
    "Scenario",
    "all_benchmarks",
    "deployed",
    "environment",
    "exchange",
    "get_benchmark",
    "render_markdown",
    "rest_api_id",
    "run_arrivals",
    "run_load",
    "timed_request",
    "write_results",
]
