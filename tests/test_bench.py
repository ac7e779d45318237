"""The benchmark harness: histogram accuracy, results files, and a small real run that proves it end to end.
Timings themselves are never asserted: they belong in the published results, not in tests."""

from __future__ import annotations

import json
import random

from awspatterns.bench import Histogram, Scenario, bench_sandbox, render_markdown, write_results
from awspatterns.catalog import load_catalog


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
    path = bench_sandbox(load_catalog(), requests=10, concurrency=2, out_dir=tmp_path)
    results = json.loads(path.read_text())
    names = [s["name"] for s in results["scenarios"]]
    assert names[0] == "sandbox-start"
    assert {f"{how}-{p.slug}" for p in load_catalog() for how in ("deploy", "cdk-deploy")} <= set(names)
    by_name = {s["name"]: s for s in results["scenarios"]}
    assert by_name["invoke-warm"]["requests"] == 10 and by_name["invoke-warm"]["status_codes"] == {"200": 10}
    assert by_name["gateway-proxy-warm"]["status_codes"] == {"200": 10}
    assert by_name["invoke-cold"]["cold_starts"] == by_name["invoke-cold"]["requests"] == 5
    assert by_name["invoke-warm"]["cold_starts"] == 0
    off = by_name["invoke-warm-enforce-off"]
    assert off["requests"] == 10 and off["status_codes"] == {"200": 10} and off["cold_starts"] == 0
