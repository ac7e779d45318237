"""One execution environment of the sandbox's Lambda runtime: a worker process for one function configuration,
serving one invocation at a time, and the types that describe a function and an invocation's outcome.

The worker's exit is noticed through its pidfd, not its pipe (a child it forked may hold the pipe open). Its
memory is held to the function's MemorySize as Lambda's cgroup holds it: by resident memory, checked every
``POLL_S`` while an invocation waits and against the peak the worker reports with each answer; over it, the
worker's process group is killed. Resident memory, not address space, because threads reserve far more than they
use (64 idle threads: 44 MB resident, 548 MB of data segment, 1.5 GB of address space), so RLIMIT_AS or
RLIMIT_DATA would fail functions that run in Lambda. The interpreter's own memory counts, as the runtime's does in
Lambda (a worker is 28 MB resident; with boto3, Powertools and two clients imported, 49 MB).
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awspatterns.sandbox.runtime.import_policy import allowed_modules

__all__ = [
    "PLACEHOLDER_CREDENTIALS",
    "POLL_S",
    "WORKER",
    "EnvironmentDied",
    "ExecutionEnvironment",
    "FunctionSpec",
    "InvocationResult",
    "exit_description",
]

#: The program each environment runs (standard library and botocore only).
WORKER = Path(__file__).with_name("worker.py")
#: How often a waiting invocation looks at its worker's memory (and, without pidfds, whether it exited).
POLL_S = 0.02
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
#: How long a worker whose pipe closed may take to exit before it is killed.
EXIT_GRACE_S = 1.0


#: What an environment gets when its function has no role to assume: the sandbox's root placeholders.
PLACEHOLDER_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_SESSION_TOKEN": "sandbox",
}


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to know about a function version to run it."""

    account_id: str
    region: str
    name: str
    arn: str
    handler: str
    runtime: str
    timeout_s: float
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    code_sha256: str
    log_group: str
    layer_paths: tuple[str, ...] = ()
    #: Public layers the sandbox provides from its own install (``layers.provided_layer_names``: "powertools").
    provided_layers: tuple[str, ...] = ()
    #: The execution role's temporary credentials (``AWS_ACCESS_KEY_ID``...); none: the account's root user.
    credentials: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Environments are reused only for the same code and configuration."""
        return hashlib.sha256(repr(self).encode()).hexdigest()


@dataclass
class InvocationResult:
    """The outcome of one invocation."""

    request_id: str
    payload: bytes
    error: dict[str, Any] | None
    logs: str
    cold_start: bool
    duration_ms: float
    init_ms: float = 0.0
    overhead_ms: float = 0.0

    @property
    def errored(self) -> bool:
        """Whether the function failed (an error the function raised, or a timeout or crash)."""
        return self.error is not None


class EnvironmentDied(RuntimeError):
    """The environment's process exited; the message says how, in the words Lambda uses."""


def exit_description(returncode: int) -> str:
    """How a runtime process ended, as Lambda reports it (``Runtime exited with error: signal: killed``)."""
    if returncode > 0:
        return f"Runtime exited with error: exit status {returncode}"
    if returncode < 0:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
        return f"Runtime exited with error: signal: {name[:1].lower()}{name[1:]}"
    return "Runtime exited without providing a reason"


@dataclass(eq=False)
class ExecutionEnvironment:
    """One worker process serving one invocation at a time.

    The thread that invokes an environment owns it (it alone reads its pipe and closes it); any other thread may
    only :meth:`kill` it, which the owner then sees as the worker's exit.
    """

    spec: FunctionSpec
    code_dir: Path
    interpreter: str
    endpoint_url: str
    log_path: Path
    #: The local API Gateway's URL, given to functions as ``AWSPATTERNS_EXECUTE_API_ENDPOINT`` (empty: not set).
    execute_api_endpoint: str = ""
    process: subprocess.Popen[bytes] | None = None
    invocations: int = 0
    last_used: float = field(default_factory=time.monotonic)
    #: Set when the worker was killed for using more memory than the function's MemorySize.
    out_of_memory: bool = False
    _peak_kb: int = 0
    _requests: Any = None
    _responses: int | None = None
    _exits: int | None = None
    _log: int | None = None
    _log_offset: int = 0
    _reaping: threading.Lock = field(default_factory=threading.Lock)
    _stopped: bool = False

    @property
    def pid(self) -> int:
        """The worker's process id, which is also its process group's."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start the worker process."""
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.code_dir.parent),
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "LAMBDA_TASK_ROOT": str(self.code_dir),
            "_HANDLER": self.spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(self.spec.timeout_s)),
            "AWS_LAMBDA_LOG_GROUP_NAME": self.spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_path.stem,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": self.spec.region,
            "AWS_DEFAULT_REGION": self.spec.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_XRAY_SDK_ENABLED": "false",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # where the sandbox serves https://<api>.execute-api.<region>.amazonaws.com/<stage>/... as <this>/<api>/...
            **({"AWSPATTERNS_EXECUTE_API_ENDPOINT": self.execute_api_endpoint} if self.execute_api_endpoint else {}),
            **dict(self.spec.environment),
            # reserved, as in Lambda: a function's own variables cannot replace its role's credentials
            **(dict(self.spec.credentials) or PLACEHOLDER_CREDENTIALS),
            "_AWSPATTERNS_ACCOUNT_ID": self.spec.account_id,
            "_AWSPATTERNS_LAYER_PATHS": os.pathsep.join(self.spec.layer_paths),
            "_AWSPATTERNS_ALLOWED_MODULES": ",".join(sorted(allowed_modules(self.spec.provided_layers))),
            "_AWSPATTERNS_WORKER_FDS": f"{request_read},{response_write}",
        }
        log_file = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [self.interpreter, "-I", str(WORKER)],
                cwd=self.code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                pass_fds=(request_read, response_write),
                start_new_session=True,
            )
        finally:
            log_file.close()
            os.close(request_read)
            os.close(response_write)
        self._requests = os.fdopen(request_write, "wb")
        self._responses = response_read
        self._exits = _exit_notifier(self.process.pid)
        self._log = os.open(self.log_path, os.O_RDONLY)

    def wait_init(self, deadline: float) -> dict[str, Any]:
        """Wait for the worker's init report (``init_ms``; ``error`` if the handler could not be loaded).

        Raises:
            TimeoutError: the init did not finish by ``deadline`` (monotonic clock).
            EnvironmentDied: the worker exited during its init.
        """
        return json.loads(self._read_line(deadline))  # type: ignore[no-any-return]

    def invoke(self, event: str, request_id: str, deadline: float) -> dict[str, Any]:
        """Send one invocation and wait for its response until ``deadline`` (monotonic clock).

        Raises:
            TimeoutError: no response by the deadline (the caller must discard the environment).
            EnvironmentDied: the worker exited.
        """
        request = {
            "request_id": request_id,
            "event": event,
            "function_arn": self.spec.arn,
            "timeout_ms": max(0, int((deadline - time.monotonic()) * 1000)),
        }
        self.invocations += 1
        try:
            self._requests.write(json.dumps(request).encode() + b"\n")
            self._requests.flush()
        except BrokenPipeError as error:
            raise self._died() from error
        line = self._read_line(deadline)
        self.last_used = time.monotonic()
        return json.loads(line)  # type: ignore[no-any-return]

    def take_output(self, limit: int) -> tuple[str, int]:
        """What the function wrote to its log since the last call, at most ``limit`` bytes of it, and how many
        bytes it wrote in all."""
        assert self._log is not None
        end = os.fstat(self._log).st_size
        start, self._log_offset = self._log_offset, end
        data = os.pread(self._log, min(end - start, limit), start) if end > start else b""
        return data.decode("utf-8", errors="replace"), end - start

    def _read_line(self, deadline: float) -> bytes:
        assert self._responses is not None
        buffer = b""
        watched = [self._responses] if self._exits is None else [self._responses, self._exits]
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select(watched, [], [], min(remaining, POLL_S))
            if not ready:
                self._enforce_memory()
            if self._responses in ready:
                chunk = os.read(self._responses, 65536)
                if not chunk:  # every writer is gone: the worker and anything it forked
                    raise self._died()
                buffer += chunk
            elif self._exits in ready or (self._exits is None and self._reap(block=False)):
                # The worker exited, but a child it forked may hold the pipe open: its EOF would never come.
                buffer += self._drain()
                if not buffer.endswith(b"\n"):
                    raise self._died()
        return buffer

    @property
    def memory_limit_kb(self) -> int:
        """The function's MemorySize, which the worker's resident memory may not exceed."""
        return self.spec.memory_mb * 1024

    def _enforce_memory(self) -> None:
        """Kill the worker if its resident memory is over the function's MemorySize, as Lambda's cgroup does."""
        assert self.process is not None
        try:
            with open(f"/proc/{self.process.pid}/statm", "rb") as statm:  # noqa: PTH123 (a hot path)
                resident_kb = int(statm.read().split()[1]) * _PAGE_KB
        except (OSError, ValueError, IndexError):
            return
        self.note_memory(resident_kb)
        if resident_kb > self.memory_limit_kb:
            self.out_of_memory = True
            self.kill()

    def note_memory(self, resident_kb: int) -> None:
        """Remember a resident size the worker reached (it reports its peak with each answer)."""
        self._peak_kb = max(self._peak_kb, resident_kb)

    def peak_memory_kb(self) -> int:
        """The worker's peak resident memory: its high-water mark while it lives, the highest seen once it exited
        (not wait4's ru_maxrss, which Linux carries across exec from the server the worker was forked from)."""
        assert self.process is not None
        if self.process.returncode is None:
            try:
                status = Path(f"/proc/{self.process.pid}/status").read_text()
                self.note_memory(int(status.split("VmHWM:", 1)[1].split()[0]))
            except (OSError, ValueError, IndexError):
                pass
        return self._peak_kb

    def _drain(self) -> bytes:
        assert self._responses is not None
        data = b""
        while select.select([self._responses], [], [], 0)[0]:
            chunk = os.read(self._responses, 65536)
            if not chunk:
                break
            data += chunk
        return data

    def _died(self) -> EnvironmentDied:
        # A pipe closes a moment before its process can be reaped; a worker that closed it and lives on is ended.
        if not self._exited_within(EXIT_GRACE_S):
            self.kill()
        self._reap(block=True)
        assert self.process is not None and self.process.returncode is not None
        return EnvironmentDied(exit_description(self.process.returncode))

    def _exited_within(self, timeout_s: float) -> bool:
        if self._exits is not None:
            return bool(select.select([self._exits], [], [], timeout_s)[0])
        deadline = time.monotonic() + timeout_s
        while not self._reap(block=False):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _reap(self, block: bool) -> bool:
        """Collect the worker's exit status, if it has exited (waiting for it with ``block``)."""
        assert self.process is not None
        with self._reaping:
            if self.process.returncode is None:
                try:
                    pid, status = os.waitpid(self.process.pid, 0 if block else os.WNOHANG)
                except ChildProcessError:  # reaped elsewhere; the status is lost
                    pid, status = self.process.pid, 0
                if pid == 0:
                    return False
                self.process.returncode = os.waitstatus_to_exitcode(status)
            return True

    def kill(self) -> None:
        """End the worker's whole process group, children it forked included. Safe from any thread."""
        if self.process is not None and not self._stopped:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Kill the worker's process group, collect its exit and release the pipes. Only the owner may call it."""
        if self._stopped:
            return
        self.kill()
        self._stopped = True
        if self.process is not None:
            self._reap(block=True)
        if self._requests is not None:
            with suppress(OSError):
                self._requests.close()
            self._requests = None
        for fd in (self._responses, self._exits, self._log):
            if fd is not None:
                os.close(fd)
        self._responses = self._exits = self._log = None


def _exit_notifier(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits (Linux pidfd), or None where there is none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
