"""Markdown generated for the documentation site from the catalog."""

from __future__ import annotations

from awspatterns.catalog import Pattern

__all__ = ["catalog_table"]


def catalog_table(patterns: list[Pattern], link_prefix: str = "patterns/") -> str:
    """A Markdown table of the catalog: title (linked), summary, services, level."""
    rows = ["| Pattern | What it shows | Services | Level |", "|---|---|---|---|"]
    for pattern in patterns:
        services = ", ".join(pattern.services)
        rows.append(
            f"| [{pattern.title}]({link_prefix}{pattern.slug}.md) | {pattern.summary} | {services} | {pattern.level} |"
        )
    return "\n".join(rows)
