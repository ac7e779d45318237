"""The api-data-api benchmark: a small real run in its own sandbox proves its scenarios and their shape (never
its timings)."""

from __future__ import annotations

import json

from awspatterns.bench import BenchOptions, all_benchmarks
from awspatterns.bench.scenarios.api_data_api import bench_api_data_api


def test_a_small_api_data_api_benchmark_runs_end_to_end(tmp_path):
    assert "api-data-api" in all_benchmarks()
    path = bench_api_data_api(BenchOptions(requests=6, concurrency=2, out_dir=tmp_path))
    results = json.loads(path.read_text())
    by_name = {s["name"]: s for s in results["scenarios"]}
    assert list(by_name) == ["create", "read", "list", "refuse"]
    expected = {"create": "201", "read": "200", "list": "200", "refuse": "400"}
    for name, status in expected.items():
        assert by_name[name]["requests"] == 6 and by_name[name]["status_codes"] == {status: 6}, name
    assert path.with_suffix(".md").is_file()
