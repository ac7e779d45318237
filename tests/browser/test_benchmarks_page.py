"""The Benchmarks page at 1280 px: every table fits without scrolling sideways, and the charts are static SVG."""

from __future__ import annotations

from typing import Any

from awspatterns.benchpage import load_benchmarks


def test_tables_fit_and_charts_are_static_svg(page: Any, base_url: str) -> None:
    page.goto(base_url + "/benchmarks/")
    tables = page.locator("table.bench-table")
    assert tables.count() >= len(load_benchmarks())
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('table.bench-table')]
            .filter(t => t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1
                         || t.closest('.md-content').scrollWidth > t.closest('.md-content').clientWidth)
            .map(t => t.querySelector('caption').textContent)"""
    )
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    charts = page.locator("svg.bench-chart[role='img']")
    assert charts.count() >= 2 * len(load_benchmarks())
    assert page.locator("svg.bench-chart rect").count() > 10
    assert page.evaluate("[...document.scripts].every(s => !s.src || s.src.startsWith(location.origin))")


def test_chart_bars_and_labels_read_in_the_dark_theme(dark_page: Any, base_url: str) -> None:
    dark_page.goto(base_url + "/benchmarks/")
    bar = dark_page.locator("svg.bench-chart rect.chart-series-0").first
    label = dark_page.locator("svg.bench-chart text.chart-label").first
    assert bar.evaluate("e => getComputedStyle(e).fill") == "rgb(255, 138, 101)"
    assert label.evaluate("e => getComputedStyle(e).fill") != "rgb(0, 0, 0)"  # currentColor: the theme's text
