"""Snippet markers (``--8<-- [start:name]`` / ``[end:name]``) in source files, and the references pages make."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

__all__ = ["MARKER", "REFERENCE", "SnippetError", "references", "references_by_file", "sections"]

MARKER = re.compile(r"^\s*#\s*--8<-- \[(start|end):([\w-]+)\]\s*$")
REFERENCE = re.compile(r'^\s*--8<-- "([^":]+)(?::([\w-]+))?"\s*$', re.MULTILINE)


class SnippetError(ValueError):
    """Markers in a file are unbalanced."""


def sections(path: Path) -> set[str]:
    """The named sections of a file.

    Raises:
        SnippetError: a section is started twice, ended before it starts, or never ended.
    """
    open_sections: set[str] = set()
    found: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if match := MARKER.match(line):
            kind, name = match.groups()
            if kind == "start":
                if name in open_sections or name in found:
                    raise SnippetError(f"{path}:{number}: section {name!r} started twice")
                open_sections.add(name)
            else:
                if name not in open_sections:
                    raise SnippetError(f"{path}:{number}: section {name!r} ended but never started")
                open_sections.remove(name)
                found.add(name)
    if open_sections:
        raise SnippetError(f"{path}: section(s) never ended: {', '.join(sorted(open_sections))}")
    return found


def references(page: Path) -> list[tuple[str, str | None]]:
    """The (file, section) pairs a Markdown page embeds."""
    return [(file, section or None) for file, section in REFERENCE.findall(page.read_text(encoding="utf-8"))]


def references_by_file(pages: list[Path]) -> dict[str, set[str | None]]:
    """Every embedded file and the sections embedded from it, across ``pages``."""
    used: dict[str, set[str | None]] = defaultdict(set)
    for page in pages:
        for file, section in references(page):
            used[file].add(section)
    return used
