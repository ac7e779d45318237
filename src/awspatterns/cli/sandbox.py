"""``patterns sandbox start|stop|status``: the local sandbox account's server process."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from awspatterns.cli.output import progress

__all__ = ["NOT_RUNNING", "add_commands", "cmd_sandbox"]

#: The exit status of ``patterns sandbox status`` when no sandbox runs (LSB's "program is not running").
NOT_RUNNING = 3


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Start, stop or describe the local sandbox; ``status`` exits with 3 when none is running (as service
    managers do)."""
    from awspatterns.sandbox import control

    if args.action == "start":
        started = time.monotonic()
        info = control.start(enforce=args.enforce)
        progress(
            f"sandbox running at {info.endpoint_url}, enforcement {info.enforce} "
            f"(ready in {time.monotonic() - started:.1f} s)"
        )
        if info.enforce != args.enforce:
            progress(f"note: the running sandbox enforces {info.enforce!r}; stop it to start one with {args.enforce!r}")
        print(json.dumps(info.to_json(), indent=2) if args.json else info.endpoint_url)
        return 0
    if args.action == "stop":
        stopped = control.stop()
        print("sandbox stopped" if stopped else "no sandbox was running")
        return 0
    running = control.status()
    if running is None:
        pid = control.server_pid()
        if args.json:
            print(json.dumps({"running": False, "starting_pid": pid}, indent=2))
        elif pid is not None:
            print(f"the sandbox (pid {pid}) is starting, or stopped answering before it was ready")
        else:
            print("no sandbox is running; start it with `patterns sandbox start`")
        return NOT_RUNNING
    if args.json:
        print(json.dumps({**running.to_json(), "answering": running.answers()}, indent=2))
    else:
        state = "running" if running.answers() else "NOT ANSWERING (see the log; `patterns sandbox stop` ends it)"
        print(
            f"{state} at {running.endpoint_url} (pid {running.pid}, enforcement {running.enforce}); "
            f"local API Gateway at {running.api_endpoint}; "
            "accounts: "
            + ", ".join(f"{k}={v}" for k, v in running.accounts.items())
            + f"; logs: {running.log_file}; its accounts live in memory and end with `patterns sandbox stop`"
        )
    return 0


def add_commands(commands: Any) -> None:
    """Add ``sandbox`` to the ``patterns`` parser."""
    sandbox = commands.add_parser("sandbox", help="start, stop or describe the local sandbox account")
    sandbox.add_argument("action", choices=["start", "stop", "status"])
    sandbox.add_argument("--json", action="store_true")
    sandbox.add_argument(
        "--enforce",
        choices=("on", "soft", "off"),
        default="on",
        help="start: deny what AWS would deny (on, the default), only log it (soft), or neither (off)",
    )
    sandbox.set_defaults(func=cmd_sandbox)
