"""``patterns bench``: run a benchmark and write its results into ``docs/benchmarks/``."""

from __future__ import annotations

import argparse
from typing import Any

from awspatterns.catalog import load_catalog
from awspatterns.errors import PatternsError

__all__ = ["add_commands", "cmd_bench"]


def cmd_bench(args: argparse.Namespace) -> None:
    """Run a benchmark and write its results into docs/benchmarks/."""
    from awspatterns.bench import bench_sandbox

    if args.names != ["sandbox"]:
        raise PatternsError("available benchmarks: sandbox (pattern benchmarks arrive with the API patterns)")
    path = bench_sandbox(load_catalog(), args.requests, args.concurrency, e2e_suite=args.e2e)
    print(f"wrote {path} and {path.with_suffix('.md')}")


def add_commands(commands: Any) -> None:
    """Add ``bench`` to the ``patterns`` parser."""
    bench = commands.add_parser("bench", help="run a benchmark; results go to docs/benchmarks/")
    bench.add_argument("names", nargs="+", metavar="NAME", help="'sandbox'")
    bench.add_argument("--requests", type=int, default=1000)
    bench.add_argument("--concurrency", type=int, default=4)
    bench.add_argument("--e2e", action="store_true", help="also time the whole end-to-end test suite")
    bench.set_defaults(func=cmd_bench)
