"""The api-authorizer benchmark: a small real run in its own sandbox proves its scenarios and their shape (never
its timings)."""

from __future__ import annotations

import json

from awspatterns.bench import BenchOptions, all_benchmarks, get_benchmark
from awspatterns.bench.scenarios.api_authorizer import bench_api_authorizer


def test_the_benchmark_is_found_by_name_for_both_targets():
    assert "api-authorizer" in all_benchmarks()
    assert get_benchmark("api-authorizer", target="aws").targets == ("sandbox", "aws")


def test_a_small_api_authorizer_benchmark_runs_end_to_end(tmp_path):
    said: list[str] = []
    path = bench_api_authorizer(BenchOptions(requests=5, concurrency=1, out_dir=tmp_path, progress=said.append))
    results = json.loads(path.read_text())
    by_name = {s["name"]: s for s in results["scenarios"]}
    assert list(by_name) == ["no-authorizer", "cache-on-same-token", "cache-on-new-token", "cache-off"]
    # the baseline route reaches the items function, which has no /baseline route: its 404, not the gateway's
    assert by_name["no-authorizer"]["status_codes"] == {"404": 5}
    for name in ("cache-on-same-token", "cache-on-new-token", "cache-off"):
        assert by_name[name]["requests"] == 5 and by_name[name]["status_codes"] == {"200": 5}, name
    assert "overhead" in results["notes"] and "round 5/5: 20 requests done" in said
    assert path.with_suffix(".md").is_file()
