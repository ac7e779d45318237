"""What the site generates from the catalog and the results files: verification records, benchmark tables and
charts, and their place on the built pages."""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from awspatterns import REPO_ROOT
from awspatterns.benchpage import load_benchmarks, render_benchmark, render_benchmarks, render_charts
from awspatterns.catalog import get_pattern, load_catalog
from awspatterns.charts import BarGroup, bar_chart, log_ticks, nice_ticks
from awspatterns.docs import verified_line
from awspatterns.verification import files_hash, load_verification, pattern_files, record_verification

CATALOG = load_catalog()


@pytest.mark.parametrize("pattern", CATALOG, ids=lambda p: p.slug)
def test_every_pattern_is_verified_for_its_current_files(pattern):
    name = pattern.slug.replace("-", "_")
    how = f"run `pytest -m e2e tests/e2e/test_{name}_e2e.py` (it records docs/verified/{pattern.slug}.json)"
    verification = load_verification(pattern.slug)
    assert verification is not None, f"{pattern.slug} was never verified end to end: {how}"
    assert verification.is_current(pattern), f"{pattern.slug} changed after its last end-to-end run: {how}"


def copy_pattern_tree(tmp_path: Path, slugs: list[str]) -> Path:
    for slug in slugs:
        name = slug.replace("-", "_")
        shutil.copytree(REPO_ROOT / "examples" / slug, tmp_path / "examples" / slug)
        for relative in (f"diagrams/{slug}.py", f"tests/examples/test_{name}.py", f"tests/e2e/test_{name}_e2e.py"):
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO_ROOT / relative, tmp_path / relative)
    return tmp_path


def test_the_hash_covers_exactly_the_patterns_own_files(tmp_path):
    fanout, single = get_pattern("s3-fanout"), get_pattern("s3-single-subscription")
    root = copy_pattern_tree(tmp_path, [fanout.slug, single.slug])
    files = {p.as_posix() for p in pattern_files(fanout, root)}
    assert {"examples/s3-fanout/stack.py", "diagrams/s3-fanout.py", "tests/e2e/test_s3_fanout_e2e.py"} <= files
    assert "tests/examples/test_s3_fanout.py" in files
    assert not any("single" in f for f in files)
    before = files_hash(fanout, root)

    (root / "examples" / single.slug / "stack.py").write_text("# another pattern changed\n")
    (root / "examples" / fanout.slug / "__pycache__").mkdir(exist_ok=True)
    (root / "examples" / fanout.slug / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert files_hash(fanout, root) == before

    for relative in ("examples/s3-fanout/client.py", "diagrams/s3-fanout.py", "tests/e2e/test_s3_fanout_e2e.py"):
        original = (root / relative).read_text()
        (root / relative).write_text(original + "\n# changed\n")
        assert files_hash(fanout, root) != before, relative
        (root / relative).write_text(original)
    assert files_hash(fanout, root) == before


def test_the_hash_covers_the_shared_handler_code_a_pattern_ships_and_only_that(tmp_path):
    data_api, fanout = get_pattern("api-data-api"), get_pattern("s3-fanout")
    root = copy_pattern_tree(tmp_path, [data_api.slug, fanout.slug])
    shutil.copytree(REPO_ROOT / "src/awspatterns/shared_handlers", root / "src/awspatterns/shared_handlers")
    assert "src/awspatterns/shared_handlers/items_api/api.py" in {p.as_posix() for p in pattern_files(data_api, root)}
    before = files_hash(data_api, root), files_hash(fanout, root)
    shared = root / "src/awspatterns/shared_handlers/items_api/api.py"
    shared.write_text(shared.read_text() + "\n# changed\n")
    assert files_hash(data_api, root) != before[0]  # its functions ship that file
    assert files_hash(fanout, root) == before[1]  # its handlers import nothing shared


def test_a_record_is_stale_once_a_file_changes_and_a_rerun_keeps_its_date(tmp_path):
    pattern = get_pattern("s3-fanout")
    root = copy_pattern_tree(tmp_path / "repo", [pattern.slug])
    out = tmp_path / "verified"
    first = record_verification(pattern, "sandbox", "t::a", root=root, directory=out)
    assert load_verification(pattern.slug, out) == first and first.is_current(pattern, root)

    again = record_verification(pattern, "sandbox", "t::b", root=root, directory=out)
    assert (again.date, again.commit, again.tests) == (first.date, first.commit, ("t::a", "t::b"))

    (root / "examples" / pattern.slug / "client.py").write_text("# changed\n")
    assert not first.is_current(pattern, root)
    rerun = record_verification(pattern, "sandbox", "t::a", root=root, directory=out)
    assert rerun.files_sha256 != first.files_sha256 and rerun.tests == ("t::a",)


def test_nice_and_log_ticks_span_the_values():
    assert nice_ticks(754.4) == [0, 200, 400, 600, 800]
    assert nice_ticks(94.6)[-1] >= 94.6
    assert log_ticks(1.3, 94.6) == [1, 10, 100]


def test_a_chart_draws_one_bar_per_value_with_an_accessible_name():
    svg = bar_chart(
        "Latency", [BarGroup("a", (1.0, 2.0)), BarGroup("b", (3.0, None))], ("p50", "p99"), "ms", chart_id="c"
    )
    assert svg.count("</title></rect>") == 3  # three bars (the legend's swatches have no title)
    assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert "<script" not in svg


SAMPLE = {
    "name": "new-bench",
    "environment": {"date": "2026-12-01T00:00:00+00:00", "commit": "abc1234", "target": "aws", "versions": {}},
    "notes": "Uses `Invoke`.",
    "scenarios": [
        {"name": "hot", "description": "Hot path", "requests": 100, "rps": 50.0, "cold_starts": 1,
         "latency_ms": {"min": 1, "p50": 2, "p95": 3, "p99": 4, "max": 5}, "status_codes": {"200": 100}},
        {"name": "deploy", "description": "`cdk deploy`", "requests": 1, "rps": None,
         "latency_ms": {"min": 1500, "p50": 1500, "p95": 1500, "p99": 1500, "max": 1500}},
    ],
}  # fmt: skip


def test_a_benchmark_renders_its_environment_tables_with_units_and_charts():
    out = render_benchmark(SAMPLE)
    assert "abc1234" in out and "aws" in out
    for header in ("Throughput (req/s)", "p50 (ms)", "p99 (ms)", "Time (s)"):
        assert header in out
    assert "<code>cdk deploy</code>" in out and "<code>Invoke</code>" in out
    assert out.count('<svg class="bench-chart"') == 3  # latency, throughput, one-off
    assert ">1.50<" in out  # 1500 ms shown as seconds


def test_reference_figures_join_the_latency_chart_labelled_as_measured_elsewhere():
    with_reference = {
        **SAMPLE,
        "reference": {"label": "AWS, the seed", "source": "a load tool", "rows": {"api": {"p50": 7, "p95": 8}}},
    }
    plain, out = render_benchmark(SAMPLE), render_benchmark(with_reference)
    assert "api (AWS, the seed)" in out and "measured elsewhere" in out and "a load tool" in out
    assert out.count("</title></rect>") == plain.count("</title></rect>") + 2  # its p50 and p95 bars (no p99)


def test_a_chart_marker_places_that_benchmarks_latency_chart_on_any_page():
    page = render_charts("text\n<!-- benchmark-chart: new-bench -->\n<!-- benchmark-chart: other -->", [SAMPLE])
    assert page.count('<svg class="bench-chart"') == 1 and 'id="new-bench-latency' in page
    assert "<!-- benchmark-chart: other -->" in page  # no results file of that name: left as it is


def test_an_unplaced_benchmark_gets_its_own_section():
    page = render_benchmarks("intro\n<!-- benchmark: sandbox -->\n<!-- benchmarks -->", [SAMPLE])
    assert "## New bench" in page and "<!-- benchmarks -->" not in page


def test_the_built_benchmarks_page_shows_every_results_file(site):
    page = (site / "benchmarks" / "index.html").read_text()
    for results in load_benchmarks():
        assert f'data-benchmark="{results["name"]}"' in page
        for scenario in results["scenarios"]:
            assert f"<code>{html.escape(scenario['name'])}</code>" in page
    assert "<script" not in page.split('class="md-content"')[1].split("</article>")[0]


@pytest.mark.parametrize("pattern", CATALOG, ids=lambda p: p.slug)
def test_every_pattern_page_shows_a_true_last_verified_line(site, site_records, pattern):
    """A page may say "verified" only for the files it embeds (the site may have been built before this session's
    end-to-end tests recorded a run: then it says "never", which is true of what it was built from)."""
    page = (site / "patterns" / pattern.slug / "index.html").read_text()
    line = re.search(r'<p class="pattern-verified pattern-verified--(\w+)">([^<]+)</p>', page)
    assert line is not None
    if line[1] == "current":
        verification = load_verification(pattern.slug, site_records)
        assert verification is not None and verification.is_current(pattern)
        assert f"{verification.day}, commit {verification.commit}, target {verification.target}" in line[2]
    else:
        assert line[1] in ("stale", "never") and "never" in line[2]


def test_the_line_says_never_for_changed_or_unrecorded_files(tmp_path):
    pattern = get_pattern("s3-fanout")
    current = load_verification(pattern.slug)
    assert current is not None
    assert "pattern-verified--current" in verified_line(pattern, current)
    stale = replace(current, files_sha256="0" * 64)
    assert "pattern-verified--stale" in verified_line(pattern, stale) and current.commit not in verified_line(
        pattern, stale
    )
    assert "pattern-verified--never" in verified_line(pattern, None)


def test_verification_records_are_json_with_the_expected_fields():
    for path in (REPO_ROOT / "docs" / "verified").glob("*.json"):
        data = json.loads(path.read_text())
        assert set(data) == {"slug", "files_sha256", "date", "commit", "target", "tests"}, path
        assert data["slug"] == path.stem
