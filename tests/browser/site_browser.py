"""Helpers of the browser tests (fixtures are in conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from awspatterns import REPO_ROOT

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core (from node_modules, injected: never a CDN) on the page with the WCAG 2 A and AA rules."""
    if not AXE.is_file():
        pytest.fail("axe-core is missing: `npm ci` (part of `make setup`)")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa']}})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {node['target']} {node['failureSummary'].splitlines()[-1].strip()}"
        for v in violations
        if v["impact"] in impacts
        for node in v["nodes"]
    ]
