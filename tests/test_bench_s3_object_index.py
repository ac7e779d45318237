"""The s3-object-index benchmark, run tiny: it deploys the pattern, indexes a few objects and looks one user up at
two small index sizes. It checks counts and shape, never timings (those are published by the full run)."""

from __future__ import annotations

import json

import pytest

from awspatterns.bench import BenchOptions, get_benchmark
from awspatterns.bench.scenarios.s3_object_index import TARGET_OBJECTS, bench_object_index

pytestmark = pytest.mark.e2e


def test_a_tiny_object_index_benchmark_runs_end_to_end(tmp_path):
    said: list[str] = []
    options = BenchOptions(requests=4, concurrency=2, out_dir=tmp_path, progress=said.append)
    path = bench_object_index(options, sizes=(20, 50))
    results = json.loads(path.read_text())
    by_name = {s["name"]: s for s in results["scenarios"]}
    assert list(by_name) == ["index-objects", "find-user-20", "find-user-50"]
    assert by_name["index-objects"]["status_codes"] == {"indexed": 4, "not indexed": 0}
    assert by_name["index-objects"]["requests"] == 4 and by_name["index-objects"]["rps"] is not None
    for size in (20, 50):
        assert by_name[f"find-user-{size}"]["status_codes"] == {"found": 4}  # all ten of the user's objects
    assert TARGET_OBJECTS == 10
    assert (tmp_path / "s3-object-index.md").read_text().count("| Find one user's objects") == 2
    assert "indexed 4/4 objects" in said
    assert get_benchmark("s3-object-index").targets == ("sandbox", "aws")
