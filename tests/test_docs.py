"""The documentation site: a strict build, pages generated from the catalog, embedded code equal to the files."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from awspatterns import REPO_ROOT
from awspatterns.catalog import load_catalog


def text_of(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def test_home_page_lists_every_pattern_from_its_metadata(site):
    home = (site / "index.html").read_text()
    for pattern in load_catalog():
        assert f'href="patterns/{pattern.slug}/"' in home
        assert html.escape(pattern.title, quote=False) in home
        assert html.escape(pattern.summary, quote=False) in home


def test_navigation_lists_every_pattern(site):
    page = (site / "patterns" / "index.html").read_text()
    for pattern in load_catalog():
        assert f'href="{pattern.slug}/"' in page


def test_pattern_page_embeds_the_files_themselves(site):
    page = text_of(site / "patterns" / "s3-fanout" / "index.html")
    stack = (REPO_ROOT / "examples" / "s3-fanout" / "stack.py").read_text()
    topic_section = stack.split("# --8<-- [start:topic]\n")[1].split("        # --8<-- [end:topic]")[0]
    for line in (line.strip() for line in topic_section.splitlines()):
        if line:
            assert line in page, line
    assert "--8<--" not in page


@pytest.mark.parametrize("slug", [p.slug for p in load_catalog()])
def test_every_pattern_page_follows_the_outline_and_shows_its_diagram(site, slug):
    page = (site / "patterns" / slug / "index.html").read_text()
    headings = re.findall(r'<h2 id="([^"]+)"', page)
    assert headings == [
        "problem",
        "solution",
        "how-it-works",
        "run-it",
        "issues-and-considerations",
        "when-to-use-it-and-when-not",
        "cost",
        "limits",
        *(["benchmarks"] if "benchmarks" in headings else []),  # where the pattern is measured
        "related-patterns",
    ]
    assert f'<img alt="{slug} architecture' in page and f"assets/diagrams/{slug}.svg" in page
    assert "--8<--" not in page


def test_site_is_offline_safe(site):
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "fonts.googleapis.com" not in text, page
        assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', text), page


def test_benchmark_page_shows_the_committed_results(site):
    page = text_of(site / "benchmarks" / "index.html")
    assert "Runtime overhead, warm invocation" in page
    assert "Measured" in page and "commit" in page


def test_api_reference_is_rendered_from_docstrings(site):
    page = text_of(site / "reference" / "catalog" / "index.html")
    assert "Read and validate one pattern.toml" in page
