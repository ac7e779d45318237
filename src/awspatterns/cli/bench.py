"""``patterns bench``: run benchmarks and write their results into ``docs/benchmarks/``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from awspatterns.cli.output import progress
from awspatterns.errors import PatternsError
from awspatterns.targets import TARGET_NAMES

__all__ = ["add_commands", "cmd_bench"]


def cmd_bench(args: argparse.Namespace) -> None:
    """Run the named benchmarks (all checked to exist before the first starts) and write their results."""
    from awspatterns.bench import BENCH_DIR, BenchOptions, get_benchmark

    if args.requests < 1 or args.concurrency < 1:
        raise PatternsError("--requests and --concurrency must be at least 1")
    benchmarks = [get_benchmark(name, args.target) for name in args.names]
    options = BenchOptions(
        args.requests,
        args.concurrency,
        args.target,
        out_dir=args.out_dir or BENCH_DIR,
        progress=progress,
        e2e_suite=args.e2e,
    )
    for benchmark in benchmarks:
        progress(f"benchmark {benchmark.name}: {benchmark.summary}")
        path = benchmark.run(options)
        print(f"wrote {path} and {path.with_suffix('.md')}")


def add_commands(commands: Any) -> None:
    """Add ``bench`` to the ``patterns`` parser."""
    bench = commands.add_parser("bench", help="run benchmarks; results go to docs/benchmarks/")
    bench.add_argument("names", nargs="+", metavar="NAME", help="benchmark names (a wrong name lists them all)")
    bench.add_argument("--requests", type=int, default=1000, help="requests per scenario (default 1000)")
    bench.add_argument("--concurrency", type=int, default=4, help="threads for concurrent scenarios (default 4)")
    bench.add_argument("--target", choices=TARGET_NAMES, default="sandbox", help="where to measure (default sandbox)")
    bench.add_argument("--e2e", action="store_true", help="sandbox benchmark: also time the end-to-end suite")
    bench.add_argument(
        "--out-dir",
        type=Path,
        help="where the results go (default docs/benchmarks/, the published ones: use another folder for a trial run)",
    )
    bench.set_defaults(func=cmd_bench)
