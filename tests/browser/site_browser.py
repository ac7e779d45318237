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


def open_page(browser: Any, base_url: str, **context_options: Any) -> tuple[Any, Any]:
    """A new context and page that record requests leaving ``base_url`` and console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    page = context.new_page()
    page.outside_requests = []
    page.console_errors = []
    local = (base_url, "data:", "blob:", "about:")
    page.on("request", lambda r: None if r.url.startswith(local) else page.outside_requests.append(r.url))
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    return context, page
