"""MkDocs hooks: everything on the site that is derived from the catalog, so no page needs a hand edit when a
pattern is added: the Patterns navigation, the catalog (cards on the home page, a table on the Patterns page),
each pattern page's "last verified" line and "Run it" panel, and the benchmarks collected with their charts."""

from __future__ import annotations

import re
from typing import Any

from awspatterns.benchpage import load_benchmarks, render_benchmarks, render_charts
from awspatterns.catalog import Pattern, load_catalog
from awspatterns.docs import catalog_cards, catalog_table, run_panel, verified_line
from awspatterns.verification import load_verification

CATALOG_MARKER = "<!-- catalog-table -->"
CARDS_MARKER = "<!-- catalog-cards -->"
_PATTERN_PAGE = re.compile(r"^patterns/(?P<slug>[a-z0-9-]+)\.md$")


def on_config(config: Any) -> Any:
    """Fill the Patterns section of the navigation from the catalog, after its index page."""
    for entry in config["nav"]:
        if isinstance(entry, dict) and "Patterns" in entry:
            entry["Patterns"] = ["patterns/index.md"] + [
                {pattern.title: f"patterns/{pattern.slug}.md"} for pattern in load_catalog()
            ]
    return config


def _base(src_uri: str) -> str:
    """The relative path from a page (with directory URLs) to the site root."""
    if src_uri in ("index.md", "README.md"):
        return ""
    depth = src_uri.count("/") + (0 if src_uri.endswith("index.md") else 1)
    return "../" * depth


def _pattern_page(markdown: str, pattern: Pattern) -> str:
    """Insert the "last verified" line before the first section and the panel at the top of "Run it"."""
    run_it = re.search(r"^## Run it[^\n]*\n", markdown, flags=re.MULTILINE)
    if run_it:
        markdown = markdown[: run_it.end()] + "\n" + run_panel(pattern) + "\n" + markdown[run_it.end() :]
    line = verified_line(pattern, load_verification(pattern.slug))
    first_section = re.search(r"^## ", markdown, flags=re.MULTILINE)
    at = first_section.start() if first_section else len(markdown)
    return markdown[:at] + line + "\n\n" + markdown[at:]


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the catalog markers with what the catalog generates; complete each pattern page."""
    src_uri: str = page.file.src_uri
    if CATALOG_MARKER in markdown:
        prefix = "" if src_uri.startswith("patterns/") else "patterns/"
        markdown = markdown.replace(CATALOG_MARKER, catalog_table(load_catalog(), link_prefix=prefix))
    if CARDS_MARKER in markdown:
        catalog = load_catalog()
        verifications = {p.slug: load_verification(p.slug) for p in catalog}
        markdown = markdown.replace(CARDS_MARKER, catalog_cards(catalog, verifications, base=_base(src_uri)))
    if src_uri == "benchmarks/index.md":
        markdown = render_benchmarks(markdown, load_benchmarks())
    if "<!-- benchmark-chart: " in markdown:
        markdown = render_charts(markdown, load_benchmarks())
    if match := _PATTERN_PAGE.match(src_uri):
        patterns = {p.slug: p for p in load_catalog()}
        if match["slug"] in patterns:
            markdown = _pattern_page(markdown, patterns[match["slug"]])
    return markdown
