"""axe-core (WCAG 2.0/2.1 A and AA) finds no serious or critical violation on any page type, in either theme."""

from __future__ import annotations

from typing import Any

import pytest
from site_browser import axe_violations

from awspatterns.catalog import load_catalog

PAGE_TYPES = {
    "home": "/",
    "patterns-index": "/patterns/",
    "sandbox": "/sandbox/",
    "benchmarks": "/benchmarks/",
    "contributing": "/contributing/",
    "reference": "/reference/catalog/",
    # Every pattern page is built from the same outline; auditing one keeps the suite quick (about 4 s a page).
    "pattern": f"/patterns/{load_catalog()[0].slug}/",
}


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGE_TYPES.values(), ids=PAGE_TYPES.keys())
def test_no_serious_accessibility_violations(request: Any, base_url: str, path: str, theme: str) -> None:
    page = request.getfixturevalue("page" if theme == "light" else "dark_page")
    page.goto(base_url + path)
    expected = "default" if theme == "light" else "slate"
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == expected
    assert axe_violations(page) == []
