"""Starting, finding and stopping the sandbox server process (``patterns sandbox start|stop|status``)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from awspatterns.errors import PatternsError
from awspatterns.sandbox.accounts import ACCOUNTS, SandboxSession
from awspatterns.sandbox.ports import free_port

#: An API Gateway invoke URL, as stacks output it.
EXECUTE_API_URL = re.compile(r"https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/")


class SandboxError(PatternsError):
    """The sandbox could not be started, reached or stopped."""


def default_state_dir() -> Path:
    """Where the sandbox keeps its state file, logs and unpacked function code."""
    if configured := os.environ.get("AWSPATTERNS_SANDBOX_HOME"):
        return Path(configured)
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "awspatterns" / "sandbox"


@dataclass(frozen=True)
class SandboxInfo:
    """A running sandbox, as recorded in its state file."""

    pid: int
    endpoint_url: str
    control_url: str
    api_endpoint: str
    region: str
    accounts: dict[str, str]
    started_at: str
    startup_s: float
    state_dir: str

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return Path(self.state_dir) / "server.log"

    def session(self, account: str = "main") -> SandboxSession:
        """A boto3 session for one of the sandbox's accounts (by name, e.g. ``main``, or by id)."""
        account_id = self.accounts.get(account, account)
        return SandboxSession(self.endpoint_url, account_id=account_id, region_name=self.region)

    def local_url(self, value: str) -> str:
        """``value`` with an API Gateway URL (``https://<api>.execute-api.<region>.amazonaws.com/<stage>/...``)
        replaced by the same API's URL on the sandbox's local gateway; other values are returned unchanged."""
        return EXECUTE_API_URL.sub(lambda m: f"{self.api_endpoint}/{m['api']}/", value)

    def local_outputs(self, outputs: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        """Stack outputs (by stack) with every API Gateway URL made local (see :meth:`local_url`)."""
        return {stack: {k: self.local_url(v) for k, v in values.items()} for stack, values in outputs.items()}

    def control(self, path: str, timeout: float = 60) -> Any:
        """Call the server's control endpoint (``/status``, ``/quiesce?timeout=S``)."""
        with urllib.request.urlopen(f"{self.control_url}{path}", timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read())

    def to_json(self) -> dict[str, Any]:
        """What ``patterns sandbox status --json`` prints."""
        return {**asdict(self), "log_file": str(self.log_file), "aws_endpoint_url": self.endpoint_url}


def status(state_dir: Path | None = None) -> SandboxInfo | None:
    """The running sandbox, or ``None`` (a stale state file from a dead process is removed).

    Raises:
        SandboxError: the running sandbox was started by another version of awspatterns.
    """
    state_dir = state_dir or default_state_dir()
    state = _live_state(state_dir)
    if state is None:
        return None
    try:
        return SandboxInfo(**state, state_dir=str(state_dir))
    except TypeError as error:
        raise SandboxError(
            f"the running sandbox (pid {state['pid']}) was started by another version of awspatterns; "
            "run `patterns sandbox stop`, then start it again"
        ) from error


def _live_state(state_dir: Path) -> dict[str, Any] | None:
    """The state file of a live sandbox server; a stale one is removed."""
    state_file = state_dir / "state.json"
    if not state_file.is_file():
        return None
    state: dict[str, Any] = json.loads(state_file.read_text())
    if not _alive(state["pid"]) or not _answers(state["endpoint_url"]):
        state_file.unlink(missing_ok=True)
        return None
    return state


def start(
    state_dir: Path | None = None,
    port: int | None = None,
    timeout_s: float = 60,
    retry_delays_s: tuple[float, ...] = (1.0, 2.0),
    firehose_interval_s: float = 1.0,
) -> SandboxInfo:
    """Start the sandbox in the background (or return the one already running) and wait until it answers.

    ``retry_delays_s`` are the pauses between asynchronous invocation retries (Lambda waits about a minute, then
    two; the sandbox defaults to seconds, and tests use less).
    ``firehose_interval_s`` caps how long Firehose buffers records (AWS: 60 to 900 seconds).
    """
    state_dir = state_dir or default_state_dir()
    if running := status(state_dir):
        return running
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "state.json").unlink(missing_ok=True)
    port = port or free_port()
    with (state_dir / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "awspatterns.sandbox.server",
                "--port",
                str(port),
                "--state-dir",
                str(state_dir),
                "--retry-delays",
                ",".join(map(str, retry_delays_s)),
                "--firehose-interval",
                str(firehose_interval_s),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(
                f"the sandbox server exited with status {process.returncode}; see {state_dir}/server.log"
            )
        if (info := status(state_dir)) and info.pid == process.pid:
            return info
        time.sleep(0.1)
    process.kill()
    raise SandboxError(f"the sandbox did not become ready within {timeout_s:.0f} s; see {state_dir}/server.log")


def stop(state_dir: Path | None = None, timeout_s: float = 20) -> bool:
    """Stop the running sandbox; return whether one was running. Its accounts' contents are gone."""
    state_dir = state_dir or default_state_dir()
    state = _live_state(state_dir)  # not status(): a sandbox of another version must be stoppable too
    if state is None:
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    (state_dir / "state.json").unlink(missing_ok=True)
    return True


def require(state_dir: Path | None = None) -> SandboxInfo:
    """The running sandbox.

    Raises:
        SandboxError: none is running (the message says how to start one).
    """
    info = status(state_dir)
    if info is None:
        raise SandboxError("no sandbox is running; start it with `patterns sandbox start`")
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _answers(endpoint_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint_url}/moto-api/", timeout=2):  # noqa: S310
            return True
    except OSError:
        return False


__all__ = ["ACCOUNTS", "SandboxError", "SandboxInfo", "require", "start", "status", "stop"]
