"""The benchmark harness: histogram accuracy, results files, and a small real run that proves it end to end.
Timings themselves are never asserted: they belong in the published results, not in tests."""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from awspatterns.bench import (
    BenchOptions,
    Histogram,
    Scenario,
    all_benchmarks,
    exchange,
    get_benchmark,
    render_markdown,
    run_arrivals,
    run_load,
    timed_request,
    write_results,
)
from awspatterns.bench.scenarios.sandbox import bench_sandbox
from awspatterns.catalog import load_catalog
from awspatterns.errors import PatternsError


def test_histogram_percentiles_are_within_one_percent_of_exact():
    samples = [random.lognormvariate(1.5, 0.8) for _ in range(5000)]
    histogram = Histogram()
    for sample in samples:
        histogram.record(sample)
    ordered = sorted(samples)
    for p in (50, 95, 99):
        exact = ordered[int(p / 100 * len(ordered)) - 1]
        assert abs(histogram.percentile(p) - exact) / exact < 0.011, p
    assert histogram.summary()["min"] == round(min(samples), 2)
    assert histogram.summary()["max"] == round(max(samples), 2)


def test_results_file_records_environment_and_renders_a_table(tmp_path):
    scenario = Scenario("demo", "A demo scenario")
    for value in (1.0, 2.0, 3.0):
        scenario.histogram.record(value)
    scenario.status_codes["200"] = 3
    scenario.wall_s = 1.5
    path = write_results("demo", "sandbox", [scenario], "notes here", tmp_path)
    results = json.loads(path.read_text())
    assert set(results["environment"]) == {"date", "commit", "target", "machine", "versions"}
    assert results["environment"]["versions"]["moto"] == "5.2.5"
    [stored] = results["scenarios"]
    assert stored["requests"] == 3 and stored["rps"] == 2.0 and stored["status_codes"] == {"200": 3}
    table = (tmp_path / "demo.md").read_text()
    assert table == render_markdown(results)
    assert "| A demo scenario | 3 | 2.0 | 1.0 |" in table and "notes here" in table


def test_a_small_sandbox_benchmark_runs_end_to_end(tmp_path):
    said: list[str] = []
    path = bench_sandbox(BenchOptions(requests=10, concurrency=2, out_dir=tmp_path, progress=said.append))
    results = json.loads(path.read_text())
    names = [s["name"] for s in results["scenarios"]]
    assert names[0] == "sandbox-start"
    assert {f"deploy-{p.slug}" for p in load_catalog()} <= set(names)
    single_account = {p.slug for p in load_catalog() if p.slug != "cross-account-eventbridge"}
    assert {f"cdk-deploy-{slug}" for slug in single_account} <= set(names)
    assert "cdk-deploy-cross-account-eventbridge" not in names  # the CLI's cross-account trust is not modelled
    by_name = {s["name"]: s for s in results["scenarios"]}
    assert by_name["invoke-warm"]["requests"] == 10 and by_name["invoke-warm"]["status_codes"] == {"200": 10}
    assert by_name["gateway-proxy-warm"]["status_codes"] == {"200": 10}
    assert by_name["invoke-cold"]["cold_starts"] == by_name["invoke-cold"]["requests"] == 5
    assert by_name["invoke-warm"]["cold_starts"] == 0
    off = by_name["invoke-warm-enforce-off"]
    assert off["requests"] == 10 and off["status_codes"] == {"200": 10} and off["cold_starts"] == 0
    assert "invoke-warm: 10/10 requests" in said


def test_benchmarks_are_found_by_name_and_a_wrong_name_lists_them():
    assert "sandbox" in all_benchmarks()
    assert get_benchmark("sandbox").targets == ("sandbox",)
    with pytest.raises(PatternsError, match=r"available: .*sandbox"):
        get_benchmark("no-such-benchmark")
    with pytest.raises(PatternsError, match="runs on sandbox only"):
        get_benchmark("sandbox", target="aws")


def test_run_load_counts_every_request_once_and_reports_progress():
    statuses = iter(["200", "500"] * 50)
    said: list[str] = []
    scenario = run_load(lambda: (next(statuses), 1.0, False), 100, 4, Scenario("s", "d"), said.append)
    assert scenario.status_codes == {"200": 50, "500": 50} and scenario.histogram.count == 100
    assert said == [f"s: {n}/100 requests" for n in range(10, 101, 10)]


def test_run_arrivals_starts_requests_on_schedule_without_waiting_for_answers():
    starts: list[float] = []
    in_flight = most_in_flight = 0
    lock = threading.Lock()

    def slow_call() -> tuple[str, float | None, bool]:
        nonlocal in_flight, most_in_flight
        with lock:
            starts.append(time.monotonic())
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
        time.sleep(0.2)
        with lock:
            in_flight -= 1
        return "200", 0.0, False  # the harness times from the schedule; a call's own figure only says "time me"

    said: list[str] = []
    scenario = run_arrivals(slow_call, 10, 100.0, Scenario("open", "d"), said.append)
    assert scenario.status_codes == {"200": 10} and scenario.histogram.count == 10
    assert most_in_flight > 1  # an open loop: a slow answer does not hold back the next request
    assert all(later - starts[0] >= n / 100.0 - 0.005 for n, later in enumerate(sorted(starts)))  # never early
    assert scenario.histogram.min >= 200  # each latency includes the whole answer, from the scheduled start
    assert said[-1] == "open: 10/10 requests"
    untimed = run_arrivals(lambda: ("429", None, False), 3, 1000.0, Scenario("refused", "d"))
    assert untimed.status_codes == {"429": 3} and untimed.histogram.count == 0  # counted, not timed


def test_timed_request_counts_error_answers_as_statuses_and_sends_what_it_is_given():
    received: list[tuple[str, str, bytes, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.command, self.path, body, self.headers.get("Authorization")))
            self.send_response(404 if self.path == "/missing" else 202)
            self.end_headers()
            self.wfile.write(b"{}")

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, latency_ms, cold = timed_request(
            f"{base}/orders", method="POST", body=b'{"a": 1}', headers={"Authorization": "Bearer t"}
        )
        assert (status, cold) == ("202", False) and latency_ms > 0
        assert timed_request(f"{base}/missing")[0] == "404"  # an error answer is measured, not raised
        status, answer, _ = exchange(f"{base}/missing")
        assert (status, answer) == ("404", b"{}")  # the body too, for callers that need it
    finally:
        server.shutdown()
    assert received == [
        ("POST", "/orders", b'{"a": 1}', "Bearer t"),
        ("GET", "/missing", b"", None),
        ("GET", "/missing", b"", None),
    ]


def test_the_cli_writes_results_where_out_dir_says_and_leaves_the_published_ones_alone(tmp_path, monkeypatch, capsys):
    from awspatterns.bench import BENCH_DIR, Benchmark, harness
    from awspatterns.cli import main

    seen: list[BenchOptions] = []

    def run(options: BenchOptions) -> Path:
        seen.append(options)
        return write_results("trial", options.target, [], "", options.out_dir)

    monkeypatch.setattr(harness, "all_benchmarks", lambda: {"trial": Benchmark("trial", "a trial", run)})
    published = sorted(BENCH_DIR.iterdir())
    assert main(["bench", "trial", "--requests", "20", "--out-dir", str(tmp_path)]) == 0
    assert seen[0].out_dir == tmp_path and seen[0].requests == 20
    assert (tmp_path / "trial.json").is_file() and sorted(BENCH_DIR.iterdir()) == published
    assert f"wrote {tmp_path / 'trial.json'}" in capsys.readouterr().out
