"""Static SVG bar charts, rendered at build time (no script, no third-party library, readable in both themes).

Colours come from CSS classes (``chart-series-0`` ...) that the site's stylesheet defines per theme; text uses
``currentColor``. Each chart is an ``role="img"`` with a title and a description; the numbers are also in the
table beside it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BarGroup", "bar_chart", "log_ticks", "nice_ticks"]

_WIDTH = 760
_LABEL_WIDTH = 190
_RIGHT_MARGIN = 70
_BAR_HEIGHT = 11
_BAR_GAP = 2
_GROUP_GAP = 12
_TOP = 10
_AXIS_HEIGHT = 40


@dataclass(frozen=True)
class BarGroup:
    """One row of the chart: a label and one value per series (``None`` where there is none)."""

    label: str
    values: tuple[float | None, ...]


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``maximum`` for a linear axis."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(maximum / step) + 1)]


def log_ticks(minimum: float, maximum: float) -> list[float]:
    """Powers of ten that span ``minimum`` to ``maximum`` for a logarithmic axis."""
    low = math.floor(math.log10(max(minimum, 1e-3)))
    high = math.ceil(math.log10(max(maximum, minimum, 1e-3) * 1.0001))
    return [10.0**e for e in range(low, max(high, low + 1) + 1)]


def _format(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value < 1 else f"{value:.1f}"


def bar_chart(
    title: str,
    groups: Sequence[BarGroup],
    series: Sequence[str],
    unit: str,
    *,
    log_scale: bool = False,
    chart_id: str,
) -> str:
    """A horizontal grouped bar chart as an inline SVG element.

    Args:
        title: what the chart shows (also its accessible name).
        groups: one row per scenario.
        series: the name of each value in a group (the legend).
        unit: the unit of the values, shown on the axis.
        log_scale: a logarithmic axis, for values that span orders of magnitude.
        chart_id: a unique id on the page (for the title and description).
    """
    values = [v for g in groups for v in g.values if v is not None and v > 0]
    if not values:
        return ""
    if log_scale:
        ticks = log_ticks(min(values), max(values))

        def position(value: float) -> float:
            span = math.log10(ticks[-1]) - math.log10(ticks[0])
            return (math.log10(max(value, ticks[0])) - math.log10(ticks[0])) / span
    else:
        ticks = nice_ticks(max(values))

        def position(value: float) -> float:
            return value / ticks[-1]

    plot = _WIDTH - _LABEL_WIDTH - _RIGHT_MARGIN
    group_height = len(series) * (_BAR_HEIGHT + _BAR_GAP) + _GROUP_GAP
    height = _TOP + len(groups) * group_height + _AXIS_HEIGHT
    e = html.escape
    parts = [
        f'<svg class="bench-chart" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{e(title)}</title>',
        f'<desc id="{chart_id}-desc">{e(title)} ({e(unit)}{", logarithmic axis" if log_scale else ""}); '
        f"the same numbers are in the table above.</desc>",
    ]
    axis_y = _TOP + len(groups) * group_height
    for tick in ticks:
        x = _LABEL_WIDTH + position(tick) * plot
        parts.append(f'<line class="chart-grid" x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP - 4}" y2="{axis_y}"/>')
        parts.append(
            f'<text class="chart-tick" x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle">{_format(tick)}</text>'
        )
    parts.append(
        f'<text class="chart-tick" x="{_LABEL_WIDTH + plot / 2:.1f}" y="{axis_y + 30}" text-anchor="middle">'
        f"{e(unit)}{' (log scale)' if log_scale else ''}</text>"
    )
    for row, group in enumerate(groups):
        y0 = _TOP + row * group_height
        label_y = y0 + len(series) * (_BAR_HEIGHT + _BAR_GAP) / 2 + 4
        parts.append(
            f'<text class="chart-label" x="{_LABEL_WIDTH - 8}" y="{label_y:.1f}" text-anchor="end">'
            f"{e(group.label)}</text>"
        )
        for index, value in enumerate(group.values):
            if value is None:
                continue
            y = y0 + index * (_BAR_HEIGHT + _BAR_GAP)
            width = max(position(value) * plot, 1.0)
            parts.append(
                f'<rect class="chart-series-{index}" x="{_LABEL_WIDTH}" y="{y}" width="{width:.1f}" '
                f'height="{_BAR_HEIGHT}"><title>{e(group.label)}, {e(series[index])}: {_format(value)} {e(unit)}'
                f"</title></rect>"
            )
            parts.append(
                f'<text class="chart-value" x="{_LABEL_WIDTH + width + 4:.1f}" y="{y + _BAR_HEIGHT - 2}">'
                f"{_format(value)}</text>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<li><svg width="12" height="12" aria-hidden="true"><rect class="chart-series-{i}" width="12" height="12"/>'
        f"</svg> {e(name)}</li>"
        for i, name in enumerate(series)
    )
    return (
        f'<figure class="bench-figure">{"".join(parts)}'
        f'<figcaption>{e(title)}<ul class="chart-legend">{legend}</ul></figcaption></figure>'
    )
