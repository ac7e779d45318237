"""``patterns deploy|outputs|run|destroy``: an example in an account, the local sandbox or a real one."""

from __future__ import annotations

import argparse
import inspect
import json
import time
from pathlib import Path
from typing import Any

from awspatterns import ASSEMBLIES_DIR
from awspatterns.catalog import Pattern, get_pattern
from awspatterns.cli.output import progress
from awspatterns.errors import PatternsError
from awspatterns.targets import TARGET_NAMES, get_target
from awspatterns.targets.base import Target, load_client

__all__ = ["add_commands", "cmd_deploy", "cmd_destroy", "cmd_outputs", "cmd_run", "deploy", "synthesize"]


def synthesize(pattern: Pattern) -> Path:
    """Synthesize an example (with the nag gate) and return its cloud assembly directory."""
    from awspatterns.synth import synth

    progress(f"synthesizing {pattern.slug} ...")
    return synth(pattern).directory


def deploy(pattern: Pattern, target: Target) -> dict[str, dict[str, str]]:
    """Synthesize and deploy one example."""
    assembly = synthesize(pattern)
    started = time.monotonic()
    progress(f"deploying {pattern.slug} to {target.name} ...")
    outputs = target.deploy(pattern, assembly, progress)
    progress(f"deployed {pattern.slug} in {time.monotonic() - started:.1f} s")
    return outputs


def cmd_deploy(args: argparse.Namespace) -> None:
    """Deploy examples."""
    target = get_target(args.target, start_sandbox=True)
    for slug in args.slugs:
        deploy(get_pattern(slug), target)


def cmd_outputs(args: argparse.Namespace) -> None:
    """Print a deployed example's stack outputs."""
    pattern = get_pattern(args.slug)
    outputs = get_target(args.target).outputs(pattern)
    if outputs is None:
        raise PatternsError(f"{pattern.slug} is not deployed to {args.target}; run `patterns deploy {pattern.slug}`")
    if args.json:
        print(json.dumps(outputs, indent=2))
        return
    for stack, values in outputs.items():
        for key, value in values.items():
            print(f"{stack}.{key} = {value}")


def cmd_run(args: argparse.Namespace) -> None:
    """Deploy if needed, then drive the example's client and print what happened."""
    pattern = get_pattern(args.slug)
    target = get_target(args.target, start_sandbox=True)
    outputs = target.outputs(pattern) or deploy(pattern, target)
    progress(f"running {pattern.slug}'s client ...")
    client = load_client(pattern)
    merged: dict[str, Any] = {k: v for values in outputs.values() for k, v in values.items()}
    # A multi-account example's client takes a session per account (``session_for``); others need only one.
    extra = {"session_for": target.session_for} if "session_for" in inspect.signature(client.run).parameters else {}
    report = client.run(merged, target.session(), **extra)
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str) if args.json else client.format_report(report))


def cmd_destroy(args: argparse.Namespace) -> None:
    """Destroy examples."""
    target = get_target(args.target)
    for slug in args.slugs:
        pattern = get_pattern(slug)
        assembly: Path | None = ASSEMBLIES_DIR / slug
        if not (ASSEMBLIES_DIR / slug / "manifest.json").is_file():
            # the CDK CLI destroys only what an assembly names; the sandbox can go by the pattern's stack names
            assembly = synthesize(pattern) if target.name == "aws" else None
        progress(f"destroying {slug} in {target.name} ...")
        target.destroy(pattern, assembly, progress)


def add_commands(commands: Any) -> None:
    """Add ``deploy``, ``outputs``, ``run`` and ``destroy`` to the ``patterns`` parser."""

    def with_target(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument(
            "--target",
            choices=TARGET_NAMES,
            default="sandbox",
            help="where to deploy (default: the local sandbox)",
        )
        return parser

    deploy_parser = with_target(commands.add_parser("deploy", help="synthesize and deploy examples"))
    deploy_parser.add_argument("slugs", nargs="+", metavar="SLUG")
    deploy_parser.set_defaults(func=cmd_deploy)

    outputs = with_target(commands.add_parser("outputs", help="print a deployed example's outputs"))
    outputs.add_argument("slug", metavar="SLUG")
    outputs.add_argument("--json", action="store_true")
    outputs.set_defaults(func=cmd_outputs)

    run = with_target(commands.add_parser("run", help="deploy if needed, drive the client, print what happened"))
    run.add_argument("slug", metavar="SLUG")
    run.add_argument("--json", action="store_true", help="print the client's report as JSON")
    run.set_defaults(func=cmd_run)

    destroy = with_target(commands.add_parser("destroy", help="destroy examples"))
    destroy.add_argument("slugs", nargs="+", metavar="SLUG")
    destroy.set_defaults(func=cmd_destroy)
