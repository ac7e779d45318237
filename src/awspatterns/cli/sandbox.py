"""``patterns sandbox start|stop|status``: the local sandbox account's server process."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from awspatterns.cli.output import progress

__all__ = ["add_commands", "cmd_sandbox"]


def cmd_sandbox(args: argparse.Namespace) -> None:
    """Start, stop or describe the local sandbox."""
    from awspatterns.sandbox import control

    if args.action == "start":
        started = time.monotonic()
        info = control.start()
        progress(f"sandbox running at {info.endpoint_url} (ready in {time.monotonic() - started:.1f} s)")
        print(json.dumps(info.to_json(), indent=2) if args.json else info.endpoint_url)
    elif args.action == "stop":
        stopped = control.stop()
        print("sandbox stopped" if stopped else "no sandbox was running")
    else:
        running = control.status()
        if args.json:
            print(json.dumps(running.to_json() if running else {"running": False}, indent=2))
        elif running is None:
            print("no sandbox is running; start it with `patterns sandbox start`")
        else:
            print(
                f"running at {running.endpoint_url} (pid {running.pid}); local API Gateway at {running.api_endpoint}; "
                "accounts: "
                + ", ".join(f"{k}={v}" for k, v in running.accounts.items())
                + f"; logs: {running.log_file}"
            )


def add_commands(commands: Any) -> None:
    """Add ``sandbox`` to the ``patterns`` parser."""
    sandbox = commands.add_parser("sandbox", help="start, stop or describe the local sandbox account")
    sandbox.add_argument("action", choices=["start", "stop", "status"])
    sandbox.add_argument("--json", action="store_true")
    sandbox.set_defaults(func=cmd_sandbox)
