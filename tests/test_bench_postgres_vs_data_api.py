"""The postgres-vs-data-api benchmark: a small real run of both APIs, each in its own sandbox, proves the parts
of the comparison, that every request is counted once and that cold starts are read from the functions' logs
(never its timings)."""

from __future__ import annotations

import json

from awspatterns.bench import BenchOptions, all_benchmarks
from awspatterns.bench.scenarios.postgres_vs_data_api import (
    APIS,
    ARRIVAL_RATE_PER_S,
    SEED_AWS_FIGURES,
    SWEEP,
    bench_postgres_vs_data_api,
)

REQUESTS = 8


def test_a_small_comparison_runs_both_apis_through_every_part(tmp_path):
    assert "postgres-vs-data-api" in all_benchmarks()
    path = bench_postgres_vs_data_api(BenchOptions(requests=REQUESTS, out_dir=tmp_path))
    results = json.loads(path.read_text())
    scenarios = results["scenarios"]
    phases = ["cold", "arrival", *(f"concurrency-{clients}" for clients in SWEEP)]
    assert [(s["api"], s["phase"]) for s in scenarios] == [(api, phase) for api, _ in APIS for phase in phases]
    for s in scenarios:
        # Every request answered, timed and counted once; every one reached the function (the mix is all valid
        # requests, and the run lifts the stages' throttle, so no 429)
        assert sum(s["status_codes"].values()) == s["requests"], s["name"]
        assert set(s["status_codes"]) <= {"200", "201"}, s
    by_phase = {(s["api"], s["phase"]): s for s in scenarios}
    for api, _ in APIS:
        cold = by_phase[api, "cold"]
        # Each round retired the environments, so each of its requests started a new one: counted from the log.
        assert cold["requests"] == 3 and cold["cold_starts"] == 3
        assert sum(by_phase[api, "arrival"]["status_codes"].values()) == REQUESTS
        assert by_phase[api, "concurrency-1"]["cold_starts"] == 0  # after the warm-up: warm requests only
    assert results["reference"] == SEED_AWS_FIGURES
    table = path.with_suffix(".md").read_text()
    assert table.count("| AWS (the seed) |") == 2 and table.count("| sandbox |") == len(scenarios)
    assert table.count(f"| {ARRIVAL_RATE_PER_S:g}/s, open loop |") == 2 * len(APIS)  # latency and counts rows
