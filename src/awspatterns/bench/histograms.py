"""Latency histograms: percentiles within 1 % of the exact value, in constant memory per decade."""

from __future__ import annotations

import math
from collections import Counter

__all__ = ["Histogram"]


class Histogram:
    """A log-linear latency histogram: buckets 1 % wide, so percentiles are within 1 % of the exact value."""

    GROWTH = 1.01

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.count = 0
        self.min = math.inf
        self.max = 0.0

    def record(self, value_ms: float) -> None:
        """Add one sample (milliseconds)."""
        self.counts[self._bucket(value_ms)] += 1
        self.count += 1
        self.min = min(self.min, value_ms)
        self.max = max(self.max, value_ms)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0-100), as the upper bound of its bucket, capped by the maximum."""
        if not self.count:
            return math.nan
        rank = max(1, math.ceil(p / 100 * self.count))
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return min(self.max, max(self.min, self.GROWTH ** (bucket + 1) / 1000))
        return self.max

    def summary(self) -> dict[str, float]:
        """min, median, p95, p99, max (ms, rounded to 0.01)."""
        if not self.count:
            return {}
        return {
            "min": round(self.min, 2),
            "p50": round(self.percentile(50), 2),
            "p95": round(self.percentile(95), 2),
            "p99": round(self.percentile(99), 2),
            "max": round(self.max, 2),
        }

    def _bucket(self, value_ms: float) -> int:
        return math.floor(math.log(max(value_ms, 0.001) * 1000, self.GROWTH))
