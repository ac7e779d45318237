"""The event-pipeline benchmark, small: it deploys the pattern, drives both scenarios and accounts for every record
(counts and shape only; timings are published by full runs, never asserted)."""

from __future__ import annotations

import json

import pytest

from awspatterns.bench.harness import BenchOptions, get_benchmark

pytestmark = pytest.mark.e2e


def test_a_small_event_pipeline_benchmark_delivers_every_record_once(tmp_path):
    said: list[str] = []
    benchmark = get_benchmark("event-pipeline")
    path = benchmark.run(BenchOptions(requests=4, concurrency=2, out_dir=tmp_path, progress=said.append))
    results = json.loads(path.read_text())
    accepted, latency = results["scenarios"]
    assert accepted["name"] == "put-record-batch" and accepted["requests"] == 4
    assert accepted["status_codes"] == {"200": 4}
    assert (accepted["records"], accepted["delivered_once"], accepted["missing"]) == (400, 400, 0)
    assert latency["name"] == "put-to-lake" and latency["status_codes"] == {"delivered": 3}
    assert (tmp_path / "event-pipeline.md").read_text().count("\n|") >= 3
    assert "put-record-batch: 4/4 requests" in said
