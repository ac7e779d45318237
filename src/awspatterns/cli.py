"""The ``patterns`` command: list, synthesize, diagram, deploy, run and destroy the catalog's examples."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from awspatterns.catalog import Pattern, get_pattern, load_catalog
from awspatterns.errors import PatternsError
from awspatterns.targets.commands import add_commands


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
        print(f"synthesizing {pattern.slug} ...", file=sys.stderr, flush=True)
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


def cmd_bench(args: argparse.Namespace) -> None:
    """Run a benchmark and write its results into docs/benchmarks/."""
    from awspatterns.bench import bench_sandbox

    if args.names != ["sandbox"]:
        raise PatternsError("available benchmarks: sandbox (pattern benchmarks arrive with the API patterns)")
    path = bench_sandbox(load_catalog(), args.requests, args.concurrency, e2e_suite=args.e2e)
    print(f"wrote {path} and {path.with_suffix('.md')}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``patterns`` command."""
    parser = argparse.ArgumentParser(prog="patterns", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

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

    bench = commands.add_parser("bench", help="run a benchmark; results go to docs/benchmarks/")
    bench.add_argument("names", nargs="+", metavar="NAME", help="'sandbox'")
    bench.add_argument("--requests", type=int, default=1000)
    bench.add_argument("--concurrency", type=int, default=4)
    bench.add_argument("--e2e", action="store_true", help="also time the whole end-to-end test suite")
    bench.set_defaults(func=cmd_bench)

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``patterns`` console script."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    try:
        func(args)
    except PatternsError as error:
        print(f"patterns: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
