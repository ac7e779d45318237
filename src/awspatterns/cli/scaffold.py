"""``patterns new SLUG``: scaffold a pattern (every required file, from one template) and render its diagram."""

from __future__ import annotations

import argparse
from typing import Any

from awspatterns.cli.output import progress

__all__ = ["add_commands", "cmd_new"]


def cmd_new(args: argparse.Namespace) -> None:
    """Create the pattern's files, render its diagram, and say what to do next."""
    from awspatterns.catalog import get_pattern
    from awspatterns.diagram import render_diagrams
    from awspatterns.scaffold import scaffold

    for path in scaffold(args.slug):
        print(f"created {path}")
    progress(f"rendering the diagram of {args.slug} ...")
    for path in render_diagrams([get_pattern(args.slug)]):
        print(f"wrote {path}")
    progress(
        f"next: replace every TODO, then `pytest tests/examples/test_{args.slug.replace('-', '_')}.py` and "
        f"`pytest -m e2e tests/e2e/test_{args.slug.replace('-', '_')}_e2e.py` (it records the page's permissions "
        "table and its 'last verified' line); docs/contributing.md has the whole checklist"
    )


def add_commands(commands: Any) -> None:
    """Add ``new`` to the ``patterns`` parser."""
    new = commands.add_parser("new", help="scaffold a new pattern: every required file, from one template")
    new.add_argument("slug", metavar="SLUG", help="lower-case words joined by hyphens, e.g. api-async-sqs")
    new.set_defaults(func=cmd_new)
