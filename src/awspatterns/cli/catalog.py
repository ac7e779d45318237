"""``patterns list``, ``patterns synth`` and ``patterns diagrams``: the catalog and what is generated from it."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from awspatterns.catalog import Pattern, get_pattern, load_catalog
from awspatterns.cli.output import progress
from awspatterns.errors import PatternsError

__all__ = ["add_commands", "cmd_diagrams", "cmd_list", "cmd_synth"]


def _patterns(slugs: Sequence[str]) -> list[Pattern]:
    return [get_pattern(slug) for slug in slugs] if slugs else load_catalog()


def cmd_list(args: argparse.Namespace) -> None:
    """Print the catalog."""
    catalog = load_catalog()
    if args.json:
        print(json.dumps([p.to_json() for p in catalog], indent=2, ensure_ascii=False))
        return
    width = max(len(p.slug) for p in catalog)
    for pattern in catalog:
        print(f"{pattern.slug:<{width}}  {pattern.title}")


def cmd_synth(args: argparse.Namespace) -> None:
    """Synthesize examples in one process."""
    from awspatterns.synth import synth

    for pattern in _patterns(args.slugs):
        progress(f"synthesizing {pattern.slug} ...")
        assembly = synth(pattern)
        print(f"{pattern.slug}: {', '.join(assembly.templates)} -> {assembly.directory}")


def cmd_diagrams(args: argparse.Namespace) -> None:
    """Regenerate diagrams, or check that the committed ones are current."""
    from awspatterns.diagram import check_diagrams, render_diagrams

    if args.check:
        stale = check_diagrams(_patterns(args.slugs))
        if stale:
            raise PatternsError(
                "stale diagram(s): " + ", ".join(stale) + "; run `patterns diagrams` and commit the result"
            )
        print("diagrams are current")
        return
    for path in render_diagrams(_patterns(args.slugs)):
        print(f"wrote {path}")


def add_commands(commands: Any) -> None:
    """Add ``list``, ``synth`` and ``diagrams`` to the ``patterns`` parser."""
    listing = commands.add_parser("list", help="list the patterns")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_list)

    synth = commands.add_parser("synth", help="synthesize examples into cdk.out/<slug>/")
    synth.add_argument("slugs", nargs="*", metavar="SLUG")
    synth.set_defaults(func=cmd_synth)

    diagrams = commands.add_parser("diagrams", help="regenerate the diagrams (or --check them)")
    diagrams.add_argument("slugs", nargs="*", metavar="SLUG")
    diagrams.add_argument("--check", action="store_true", help="fail when a committed diagram is stale")
    diagrams.set_defaults(func=cmd_diagrams)
