"""The ``patterns`` command: list, synthesize, diagram, deploy, run and destroy the catalog's examples.

One module per command group (``catalog``, ``sandbox``, ``deploy``, ``bench``), each adding its subcommands to
the parser; the library they call knows nothing of argparse or printing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from awspatterns.cli import bench, catalog, deploy, sandbox, scaffold
from awspatterns.errors import PatternsError

__all__ = ["build_parser", "main"]

#: The command groups, in the order ``patterns --help`` lists them.
GROUPS = (catalog, sandbox, deploy, bench, scaffold)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``patterns`` command."""
    parser = argparse.ArgumentParser(
        prog="patterns", description="List, synthesize, diagram, deploy, run and destroy the catalog's examples."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``patterns`` console script."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] = args.func
    try:
        return func(args) or 0
    except PatternsError as error:
        print(f"patterns: error: {error}", file=sys.stderr)
        return 2
    except (EndpointConnectionError, ConnectionClosedError) as error:
        print(
            f"patterns: error: could not reach {getattr(error, 'kwargs', {}).get('endpoint_url', 'the endpoint')}: "
            "is the sandbox running (`patterns sandbox status`), or is AWS_ENDPOINT_URL right?",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
