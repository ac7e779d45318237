"""MkDocs hooks: the catalog table and the Patterns navigation are derived from each ``pattern.toml``."""

from __future__ import annotations

from typing import Any

from awspatterns.catalog import load_catalog
from awspatterns.docs import catalog_table

CATALOG_MARKER = "<!-- catalog-table -->"


def on_config(config: Any) -> Any:
    """Fill the Patterns section of the navigation from the catalog, after its index page."""
    for entry in config["nav"]:
        if isinstance(entry, dict) and "Patterns" in entry:
            entry["Patterns"] = ["patterns/index.md"] + [
                {pattern.title: f"patterns/{pattern.slug}.md"} for pattern in load_catalog()
            ]
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the catalog marker with the table generated from the catalog."""
    if CATALOG_MARKER in markdown:
        prefix = "" if page.file.src_uri.startswith("patterns/") else "patterns/"
        markdown = markdown.replace(CATALOG_MARKER, catalog_table(load_catalog(), link_prefix=prefix))
    return markdown
