"""Starting, finding and stopping the sandbox server process (``patterns sandbox start|stop|status``).

One sandbox per home directory. The home holds:

* ``lock``: held while a sandbox starts or stops, so parallel starts (a user's, a deploy's auto-start, a test
  fixture's) share one server instead of racing to several;
* ``server.pid``: the server's process id, written as soon as it is spawned, so a server that hangs, or whose state
  file is damaged, can still be found and stopped;
* ``state.json``: written by the server once it answers (endpoints, accounts);
* ``server.log`` (the previous run's in ``server.log.1``) and ``work/`` (function code and environment logs,
  emptied at every start).

A sandbox's accounts live in the server's memory: they end with ``stop``. Whatever a crashed sandbox left
running (execution environments, their children, PostgreSQL) is found by working directory and ended by the next
``start`` or ``stop`` (see :mod:`awspatterns.sandbox.processes`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from awspatterns.errors import PatternsError
from awspatterns.sandbox.accounts import ACCOUNTS, SandboxSession
from awspatterns.sandbox.ports import free_port
from awspatterns.sandbox.processes import alive, end_processes, processes_under

__all__ = [
    "ACCOUNTS",
    "RDS_ROOT_FILE",
    "SandboxError",
    "SandboxInfo",
    "default_state_dir",
    "leftover_processes",
    "require",
    "server_pid",
    "start",
    "status",
    "stop",
]

#: An API Gateway invoke URL, as stacks output it.
EXECUTE_API_URL = re.compile(r"https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/")
#: Where the server records a PostgreSQL data root it had to place outside the home (see ``rds.aurora``).
RDS_ROOT_FILE = "work/rds-root"
#: The server log is rotated at start once it is larger than this.
MAX_LOG_BYTES = 5 * 1024 * 1024


class SandboxError(PatternsError):
    """The sandbox could not be started, reached or stopped; the message says why and what to do."""


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
    #: ``on`` (deny what AWS denies), ``soft`` (log it only) or ``off``.
    enforce: str = "on"

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

    def permissions(self, account: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Role or user ARN -> ``[{action, resource, decision, count}]``: every action the sandbox allowed
        (``allowed``), denied (``denied``) or let through in soft mode (``soft-denied``) to that role or user, for
        one account (by name, e.g. ``main``, or by id) or all. Root callers (placeholder credentials) are not
        recorded."""
        query = f"?account={self.accounts.get(account, account)}" if account else ""
        result: dict[str, list[dict[str, Any]]] = self.control(f"/permissions{query}")
        return result

    def answers(self, timeout_s: float = 2.0) -> bool:
        """Whether the server answers on its AWS endpoint now."""
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=timeout_s):  # noqa: S310
                return True
        except OSError:
            return False

    def to_json(self) -> dict[str, Any]:
        """What ``patterns sandbox status --json`` prints."""
        return {
            "running": True,
            **asdict(self),
            "log_file": str(self.log_file),
            "aws_endpoint_url": self.endpoint_url,
        }


# ------------------------------------------------------------------ reading the home
def server_pid(state_dir: Path | None = None) -> int | None:
    """The pid of this home's sandbox server if it is alive (starting, running or not answering), else ``None``."""
    state_dir = state_dir or default_state_dir()
    for candidate in (_pid_from_state(state_dir), _pid_from_file(state_dir)):
        if candidate is not None and alive(candidate):
            return candidate
    return None


def _pid_from_file(state_dir: Path) -> int | None:
    try:
        return int((state_dir / "server.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _pid_from_state(state_dir: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError, AttributeError):
        return int(json.loads((state_dir / "state.json").read_text())["pid"])
    return None


def status(state_dir: Path | None = None) -> SandboxInfo | None:
    """The running sandbox, or ``None`` when none has started in this home (or it is still starting).

    A live server is never forgotten: one that does not answer is still returned (requests to it then fail
    with a clear error), and its files are removed only by ``start`` or ``stop``.

    Raises:
        SandboxError: the state file of a live server is damaged, or the server was started by another version
            of awspatterns.
    """
    state_dir = state_dir or default_state_dir()
    pid = server_pid(state_dir)
    if pid is None:
        return None
    state_file = state_dir / "state.json"
    if not state_file.exists():
        return None  # spawned, not ready yet
    try:
        state = json.loads(state_file.read_text())
        if not isinstance(state, dict) or int(state["pid"]) != pid:
            raise ValueError("it names another process")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SandboxError(
            f"the sandbox's state file {state_file} is damaged ({error}); run `patterns sandbox stop` to end the "
            f"sandbox (pid {pid}), then start it again"
        ) from error
    try:
        return SandboxInfo(**state, state_dir=str(state_dir))
    except TypeError as error:
        raise SandboxError(
            f"the running sandbox (pid {pid}) was started by another version of awspatterns; "
            "run `patterns sandbox stop`, then start it again"
        ) from error


def require(state_dir: Path | None = None) -> SandboxInfo:
    """The running sandbox.

    Raises:
        SandboxError: none is running (the message says how to start one).
    """
    info = status(state_dir)
    if info is None:
        raise SandboxError("no sandbox is running; start it with `patterns sandbox start`")
    return info


def leftover_processes(state_dir: Path | None = None) -> list[int]:
    """Processes of this home's sandbox other than its server: execution environments, what their handlers
    started, PostgreSQL. After ``stop`` there are none."""
    return processes_under(_roots(state_dir or default_state_dir()))


def _roots(state_dir: Path) -> list[Path]:
    roots = [state_dir / "work"]
    with contextlib.suppress(OSError):
        recorded = (state_dir / RDS_ROOT_FILE).read_text().strip()
        if recorded:
            roots.append(Path(recorded))
    return roots


# ------------------------------------------------------------------ start and stop
def start(
    state_dir: Path | None = None,
    port: int | None = None,
    timeout_s: float = 60,
    retry_delays_s: tuple[float, ...] = (1.0, 2.0),
    firehose_interval_s: float = 1.0,
    enforce: str = "on",
) -> SandboxInfo:
    """Start the sandbox in the background (or return the one already running) and wait until it answers.

    Parallel calls for one home start one server; the others wait for it and return it. What a crashed sandbox
    left behind is ended first.

    ``retry_delays_s`` are the pauses between asynchronous invocation retries (Lambda waits about a minute, then
    two; the sandbox defaults to seconds, and tests use less).
    ``firehose_interval_s`` caps how long Firehose buffers records (AWS: 60 to 900 seconds).
    ``enforce`` is what the sandbox does with a request AWS would deny: ``on`` denies it, ``soft`` logs it, ``off``
    neither. A sandbox already running keeps its own mode (``SandboxInfo.enforce`` says which).

    Raises:
        SandboxError: the home cannot be used, the server did not become ready, or a live server does not answer.
    """
    state_dir = _usable_home(state_dir or default_state_dir())
    with _locked(state_dir, timeout_s):
        if (pid := server_pid(state_dir)) is not None:
            return _wait_until_ready(state_dir, pid, timeout_s)
        _clean(state_dir)
        command = [
            sys.executable,
            "-m",
            "awspatterns.sandbox.server",
            "--port",
            str(port or free_port()),
            "--state-dir",
            str(state_dir),
            "--retry-delays",
            ",".join(map(str, retry_delays_s)),
            "--firehose-interval",
            str(firehose_interval_s),
            "--enforce",
            enforce,
        ]
        with (state_dir / "server.log").open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
            )
        _write_atomically(state_dir / "server.pid", str(process.pid))
        try:
            return _wait_until_ready(state_dir, process.pid, timeout_s, process)
        except SandboxError:
            _end_server(process.pid)
            _clean(state_dir)
            raise


def stop(state_dir: Path | None = None, timeout_s: float = 20) -> bool:
    """Stop this home's sandbox and everything it started; return whether a server was running. Its accounts'
    contents are gone."""
    state_dir = state_dir or default_state_dir()
    if not state_dir.is_dir():
        return False
    with _locked(state_dir, timeout_s + 10):
        pid = server_pid(state_dir)
        if pid is not None:
            _end_server(pid, timeout_s)
        _clean(state_dir)
        return pid is not None


def _end_server(pid: int, timeout_s: float = 20) -> None:
    """SIGTERM (the server shuts its environments and databases down), then SIGKILL of its process group."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)  # a stopped server cannot act on SIGTERM
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)


def _clean(state_dir: Path) -> None:
    """With no server alive: end what a previous sandbox left running and remove its files (the log rotates)."""
    roots = _roots(state_dir)
    end_processes(processes_under(roots))
    for root in roots[1:]:
        shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(state_dir / "work", ignore_errors=True)
    for name in ("state.json", "state.json.tmp", "server.pid"):
        (state_dir / name).unlink(missing_ok=True)
    log = state_dir / "server.log"
    with contextlib.suppress(OSError):
        if log.stat().st_size > MAX_LOG_BYTES:
            log.replace(state_dir / "server.log.1")


def _wait_until_ready(
    state_dir: Path, pid: int, timeout_s: float, process: subprocess.Popen[bytes] | None = None
) -> SandboxInfo:
    log = state_dir / "server.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SandboxError(f"the sandbox server exited with status {process.returncode}; see {log}")
        if not alive(pid):
            raise SandboxError(f"the sandbox server (pid {pid}) exited; see {log}")
        info = status(state_dir)
        if info is not None and info.answers():
            return info
        time.sleep(0.1)
    raise SandboxError(
        f"the sandbox (pid {pid}) did not answer within {timeout_s:.0f} s; see {log}. `patterns sandbox stop` ends it."
    )


# ------------------------------------------------------------------ the home
def _usable_home(state_dir: Path) -> Path:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SandboxError(
            f"cannot use {state_dir} as the sandbox home ({error.strerror or error}); "
            "set AWSPATTERNS_SANDBOX_HOME to a writable directory"
        ) from error
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise SandboxError(
            f"cannot use {state_dir} as the sandbox home (not writable); "
            "set AWSPATTERNS_SANDBOX_HOME to a writable directory"
        )
    return state_dir


@contextlib.contextmanager
def _locked(state_dir: Path, timeout_s: float) -> Iterator[None]:
    """Hold the home's lock (another process starting or stopping this sandbox waits, up to ``timeout_s``)."""
    try:
        handle = (state_dir / "lock").open("a")
    except OSError as error:
        raise SandboxError(f"cannot lock the sandbox home {state_dir} ({error.strerror or error})") from error
    with handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SandboxError(
                        f"another process has been starting or stopping the sandbox in {state_dir} for over "
                        f"{timeout_s:.0f} s; try again, or see {state_dir / 'server.log'}"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
