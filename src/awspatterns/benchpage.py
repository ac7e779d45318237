"""The Benchmarks page: every published ``docs/benchmarks/<name>.json`` with its environment, readable tables and
static SVG charts (latency percentiles, throughput), rendered when the site is built."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from awspatterns import REPO_ROOT
from awspatterns.charts import BarGroup, bar_chart

__all__ = [
    "BENCHMARKS_DIR",
    "latency_chart",
    "load_benchmarks",
    "render_benchmark",
    "render_benchmarks",
    "render_charts",
]

BENCHMARKS_DIR = REPO_ROOT / "docs" / "benchmarks"
_PERCENTILES = ("p50", "p95", "p99")


def load_benchmarks(directory: Path = BENCHMARKS_DIR) -> list[dict[str, Any]]:
    """Every published results file, by name."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))]


def _title(results: dict[str, Any]) -> str:
    return str(results.get("title") or results["name"].replace("-", " ").capitalize())


def _text(value: str) -> str:
    """Escaped text, with Markdown code spans (as the harness writes them) as ``<code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(value))


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _environment(env: dict[str, Any]) -> str:
    e = html.escape
    machine = env.get("machine", {})
    where = ", ".join(
        part
        for part in (
            f"{machine['cpus']} CPUs" if "cpus" in machine else "",
            f"{machine['memory_gb']} GB" if "memory_gb" in machine else "",
            str(machine.get("platform", "")),
        )
        if part
    )
    versions = ", ".join(f"{name} {version}" for name, version in env.get("versions", {}).items())
    rows = [
        (
            "Measured",
            f"{str(env.get('date', '?'))[:16].replace('T', ' ')} UTC "
            f"at commit <code>{e(str(env.get('commit', '?')))}</code>",
        ),
        ("Target", e(str(env.get("target", "?")))),
        ("Machine", e(where or "?")),
        ("Versions", e(versions or "?")),
    ]
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<dl class="bench-env">{items}</dl>'


def _row_label(scenario: dict[str, Any]) -> str:
    return f'<th scope="row"><code>{html.escape(scenario["name"])}</code></th>'


def _one_off_table(scenarios: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr>{_row_label(s)}<td>{s['latency_ms']['p50'] / 1000:,.2f}</td><td>{_text(s['description'])}</td></tr>"
        for s in scenarios
    )
    return (
        '<table class="bench-table bench-table--one-off"><caption>One-off timings</caption>'
        '<thead><tr><th scope="col">Scenario</th><th scope="col">Time (s)</th><th scope="col">What it times</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _load_table(scenarios: list[dict[str, Any]]) -> str:
    head = "".join(f'<th scope="col">{p} (ms)</th>' for p in ("min", *_PERCENTILES, "max"))
    rows = []
    for s in scenarios:
        latency = s.get("latency_ms", {})
        cells = "".join(f"<td>{_ms(latency.get(p))}</td>" for p in ("min", *_PERCENTILES, "max"))
        rps = "–" if s.get("rps") is None else f"{s['rps']:,.1f}"
        rows.append(
            f"<tr>{_row_label(s)}<td>{s['requests']:,}</td><td>{rps}</td>{cells}"
            f"<td>{s.get('cold_starts', 0):,}</td></tr>"
        )
    return (
        '<table class="bench-table bench-table--load"><caption>Under load</caption><thead><tr>'
        '<th scope="col">Scenario</th><th scope="col">Requests</th><th scope="col">Throughput (req/s)</th>'
        f'{head}<th scope="col">Cold starts</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _descriptions(scenarios: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<dt><code>{html.escape(s['name'])}</code></dt><dd>{_text(s['description'])}</dd>" for s in scenarios
    )
    return f'<dl class="bench-scenarios">{items}</dl>'


def latency_chart(results: dict[str, Any]) -> str:
    """The latency percentiles of a benchmark's load scenarios, followed by its reference figures if it has any
    (``reference``: ``label``, ``source`` and ``rows``, figures measured elsewhere, such as on AWS)."""
    name = re.sub(r"[^a-z0-9-]", "-", results["name"].lower())
    groups = [
        BarGroup(s["name"], tuple(s.get("latency_ms", {}).get(p) for p in _PERCENTILES))
        for s in results.get("scenarios", [])
        if s.get("requests", 0) > 1
    ]
    reference = results.get("reference") or {}
    groups += [
        BarGroup(f"{label} ({reference.get('label', 'reference')})", tuple(figures.get(p) for p in _PERCENTILES))
        for label, figures in reference.get("rows", {}).items()
    ]
    return bar_chart(
        "Latency percentiles under load",
        groups,
        _PERCENTILES,
        "milliseconds",
        log_scale=True,
        chart_id=f"{name}-latency",
    )


def _reference(reference: dict[str, Any]) -> str:
    if not reference:
        return ""
    return (
        f'<p class="bench-notes">The chart also shows reference figures, {_text(str(reference.get("label", "")))}: '
        f"{_text(str(reference.get('source', '')))}. They were measured elsewhere; compare with care.</p>"
    )


def render_benchmark(results: dict[str, Any]) -> str:
    """One benchmark: environment, notes, tables (one-off timings apart from load scenarios) and charts."""
    name = re.sub(r"[^a-z0-9-]", "-", results["name"].lower())
    scenarios: list[dict[str, Any]] = results.get("scenarios", [])
    one_off = [s for s in scenarios if s.get("requests", 0) <= 1]
    load = [s for s in scenarios if s.get("requests", 0) > 1]
    parts = [
        f'<div class="bench" data-benchmark="{html.escape(results["name"])}">',
        _environment(results.get("environment", {})),
    ]
    if notes := results.get("notes"):
        parts.append(f'<p class="bench-notes">{_text(notes)}</p>')
    if load:
        parts.append(_load_table(load))
        parts.append(_descriptions(load))
        parts.append(_reference(results.get("reference") or {}))
        parts.append(latency_chart(results))
        with_rps = [s for s in load if s.get("rps")]
        if with_rps:
            parts.append(
                bar_chart(
                    "Throughput",
                    [BarGroup(s["name"], (s["rps"],)) for s in with_rps],
                    ("requests per second",),
                    "requests per second",
                    chart_id=f"{name}-throughput",
                )
            )
    if one_off:
        parts.append(_one_off_table(one_off))
        parts.append(
            bar_chart(
                "One-off timings",
                [BarGroup(s["name"], (s["latency_ms"]["p50"] / 1000,)) for s in one_off],
                ("time",),
                "seconds",
                log_scale=True,
                chart_id=f"{name}-one-off",
            )
        )
    parts.append(
        f'<p class="bench-raw">Raw results: <code>docs/benchmarks/{html.escape(results["name"])}.json</code></p></div>'
    )
    return "\n".join(p for p in parts if p)


def render_benchmarks(markdown: str, benchmarks: list[dict[str, Any]]) -> str:
    """Fill the Benchmarks page: ``<!-- benchmark: NAME -->`` places one benchmark where its prose is;
    ``<!-- benchmarks -->`` receives every other one under a heading of its own, so new ones appear by themselves."""
    placed = set()
    for results in benchmarks:
        marker = f"<!-- benchmark: {results['name']} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, render_benchmark(results))
            placed.add(results["name"])
    rest = [
        f"## {_title(results)}\n\n{render_benchmark(results)}"
        for results in benchmarks
        if results["name"] not in placed
    ]
    return markdown.replace("<!-- benchmarks -->", "\n\n".join(rest))


def render_charts(markdown: str, benchmarks: list[dict[str, Any]]) -> str:
    """Replace each ``<!-- benchmark-chart: NAME -->`` with that benchmark's latency chart (a page that embeds a
    benchmark's table, such as a comparison, shows its chart beside it)."""
    for results in benchmarks:
        marker = f"<!-- benchmark-chart: {results['name']} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, latency_chart(results))
    return markdown
