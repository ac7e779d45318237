"""Results files: measured scenarios written with their environment to ``docs/benchmarks/<name>.json``, and
the Markdown table the documentation embeds (``<name>.md``)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from awspatterns import REPO_ROOT
from awspatterns.bench.histograms import Histogram

__all__ = ["BENCH_DIR", "Scenario", "environment", "render_markdown", "write_results"]

#: Where published results live; the Benchmarks page and each pattern page include them.
BENCH_DIR = REPO_ROOT / "docs" / "benchmarks"


@dataclass
class Scenario:
    """One measured scenario."""

    name: str
    description: str
    histogram: Histogram = field(default_factory=Histogram)
    status_codes: Counter[str] = field(default_factory=Counter)
    cold_starts: int = 0
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The scenario as stored in the results file."""
        return {
            "name": self.name,
            "description": self.description,
            "requests": self.histogram.count,
            "rps": round(self.histogram.count / self.wall_s, 1) if self.wall_s else None,
            "latency_ms": self.histogram.summary(),
            "status_codes": dict(self.status_codes),
            "cold_starts": self.cold_starts,
            **self.extra,
        }


def environment(target: str) -> dict[str, Any]:
    """Where and with what the figures were measured."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += "-dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "target": target,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.machine(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "versions": {
            "python": platform.python_version(),
            **{name: version(name) for name in ("moto", "aws-cdk-lib", "boto3", "aws-lambda-powertools")},
        },
    }


def write_results(
    name: str,
    target: str,
    scenarios: list[Scenario],
    notes: str,
    out_dir: Path = BENCH_DIR,
    *,
    extra: Mapping[str, Any] | None = None,
    render: Callable[[dict[str, Any]], str] | None = None,
) -> Path:
    """Write ``<name>.json`` and its rendered table ``<name>.md``; return the JSON path. ``extra`` adds top-level
    fields to the results (a title, reference figures); ``render`` replaces :func:`render_markdown`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "name": name,
        **(extra or {}),
        "environment": environment(target),
        "notes": notes,
        "scenarios": [s.to_json() for s in scenarios],
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / f"{name}.md").write_text((render or render_markdown)(results))
    return path


def render_markdown(results: dict[str, Any]) -> str:
    """A results file as a Markdown table with its environment."""
    env = results["environment"]
    lines = [
        "| Scenario | Requests | req/s | min | p50 | p95 | p99 | max | Cold starts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results["scenarios"]:
        lat = s["latency_ms"]
        cells = [f"{lat.get(k, float('nan')):.1f}" for k in ("min", "p50", "p95", "p99", "max")]
        lines.append(
            f"| {s['description']} | {s['requests']} | {s['rps'] if s['rps'] is not None else '–'} | "
            + " | ".join(cells)
            + f" | {s['cold_starts']} |"
        )
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines += [
        "",
        f"Latencies in milliseconds. Measured {env['date']} at commit `{env['commit']}` on "
        f"{env['machine']['cpus']} CPUs, {env['machine']['memory_gb']} GB ({env['machine']['platform']}); "
        f"target: {env['target']}; {versions}.",
        "",
        results["notes"],
        "",
    ]
    return "\n".join(lines)
