"""One execution environment of the sandbox's Lambda runtime: a worker process for one function configuration,
serving one invocation at a time, and the types that describe a function and an invocation's outcome."""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["WORKER", "EnvironmentDied", "ExecutionEnvironment", "FunctionSpec", "InvocationResult"]

#: The program each environment runs (standard library and botocore only).
WORKER = Path(__file__).with_name("worker.py")


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
    """The environment's process exited or stopped answering."""


@dataclass
class ExecutionEnvironment:
    """One worker process serving one invocation at a time."""

    spec: FunctionSpec
    code_dir: Path
    interpreter: str
    endpoint_url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    invocations: int = 0
    last_used: float = field(default_factory=time.monotonic)
    _requests: Any = None
    _responses: Any = None

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
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_SESSION_TOKEN": "sandbox",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_XRAY_SDK_ENABLED": "false",
            "POWERTOOLS_TRACE_DISABLED": "true",
            **dict(self.spec.environment),
            "_AWSPATTERNS_ACCOUNT_ID": self.spec.account_id,
            "_AWSPATTERNS_LAYER_PATHS": os.pathsep.join(self.spec.layer_paths),
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

    def invoke(self, event: str, request_id: str, timeout_s: float) -> dict[str, Any]:
        """Send one invocation and wait for its response.

        Raises:
            TimeoutError: no response within ``timeout_s`` (the caller must discard the environment).
            EnvironmentDied: the worker exited.
        """
        request = {
            "request_id": request_id,
            "event": event,
            "function_arn": self.spec.arn,
            "timeout_ms": int(timeout_s * 1000),
            "cold": self.invocations == 0,
        }
        self.invocations += 1
        try:
            self._requests.write(json.dumps(request).encode() + b"\n")
            self._requests.flush()
        except BrokenPipeError as error:
            raise EnvironmentDied(self._exit_description()) from error
        line = self._read_line(time.monotonic() + timeout_s)
        self.last_used = time.monotonic()
        return json.loads(line)  # type: ignore[no-any-return]

    def _read_line(self, deadline: float) -> bytes:
        buffer = b""
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._responses], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(self._responses, 65536)
            if not chunk:
                raise EnvironmentDied(self._exit_description())
            buffer += chunk
        return buffer

    def _exit_description(self) -> str:
        assert self.process is not None
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the runtime stopped answering"
        return f"Runtime exited with error: exit status {code}" if code else "Runtime exited without providing a reason"

    def stop(self) -> None:
        """Terminate the worker (its whole process group, so children it started go too)."""
        if self._requests is not None:
            with suppress(OSError):
                self._requests.close()
        if self._responses is not None:
            os.close(self._responses)
            self._responses = None
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, 9)
            self.process.wait()
