"""The sandbox's Lambda runtime: warm, reusable execution environments instead of moto's Docker containers.

Each environment is a separate Python process (``worker.py``) with the function's environment variables, running
from the function's unpacked code. The first invocation of an environment is a cold start (the handler module is
imported, within the init phase's own limit: see ``invocation.py``); later ones reuse it. Concurrent invocations
get more environments, up to a cap per function. A timed-out, crashed or exited environment is discarded, as Lambda
does, and so is one whose function changed while it was busy. Every environment the runtime started is tracked
until it is stopped, so ``shutdown`` ends them all.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from awspatterns.sandbox.runtime.environment import ExecutionEnvironment, FunctionSpec, InvocationResult
from awspatterns.sandbox.runtime.invocation import INIT_TIMEOUT_S, Invocation, Lease
from awspatterns.sandbox.runtime.packages import unpack

__all__ = ["LOG_TAIL_BYTES", "FunctionSpec", "InvocationResult", "LambdaRuntime"]

log = logging.getLogger("awspatterns.sandbox.runtime.runtime")

#: Lambda keeps at most 4 KiB of log tail for ``LogType=Tail``; a CloudWatch event holds at most 256 KiB.
LOG_TAIL_BYTES = 4 * 1024


class _Pool:
    """The environments of one function configuration."""

    def __init__(self, arn: str, limit: int) -> None:
        self.arn = arn
        self.idle: list[ExecutionEnvironment] = []
        self.busy = 0
        self.limit = limit
        self.condition = threading.Condition()
        #: Set when the function's code or configuration changed: environments coming back are stopped.
        self.retired = False


class LambdaRuntime:
    """Runs Lambda functions for the sandbox in reusable worker processes."""

    def __init__(
        self,
        endpoint_url: str,
        work_dir: Path,
        max_environments: int = 8,
        idle_timeout_s: float = 600,
        init_timeout_s: float = INIT_TIMEOUT_S,
    ):
        self.endpoint_url = endpoint_url
        #: The local API Gateway's URL once it listens (functions get it as ``AWSPATTERNS_EXECUTE_API_ENDPOINT``).
        self.execute_api_endpoint = ""
        self.work_dir = work_dir
        self.max_environments = max_environments
        self.idle_timeout_s = idle_timeout_s
        self._pools: dict[str, _Pool] = {}
        #: Every environment started and not yet stopped, idle or busy, in any pool, retired ones included.
        self._live: set[ExecutionEnvironment] = set()
        self._closed = False
        self._lock = threading.Lock()
        self._interpreters: dict[str, tuple[str, str | None]] = {}
        self.init_timeout_s = init_timeout_s
        self.stats = {"invocations": 0, "cold_starts": 0, "errors": 0, "timeouts": 0}

    # -------------------------------------------------------------- invocation
    def invoke(self, spec: FunctionSpec, code: bytes, event: str) -> InvocationResult:
        """Invoke ``spec`` synchronously with a JSON ``event`` and return what happened."""
        started = time.monotonic()
        invocation = Invocation(spec, event, self.init_timeout_s)
        pool = self._pool(spec)
        with self._lease(pool) as lease:
            if lease.environment is not None or invocation.cold_start(
                lease, lambda: self._start_environment(spec, code), self._discard
            ):
                assert lease.environment is not None
                invocation.call(lease.environment)
            lease.keep = not invocation.environment_failed
        self.stats["invocations"] += 1
        self.stats["cold_starts"] += int(invocation.cold)
        self.stats["errors"] += int(invocation.error is not None)
        self.stats["timeouts"] += int(invocation.status == "timeout")
        return invocation.result(started, self._interpreter(spec.runtime)[1])

    @contextmanager
    def _lease(self, pool: _Pool) -> Iterator[Lease]:
        """Hold an environment slot of ``pool`` (with an idle environment in it, if there is one)."""
        with pool.condition:
            pool.condition.wait_for(lambda: pool.idle or pool.busy < pool.limit)
            lease = Lease(pool.idle.pop() if pool.idle else None)
            pool.busy += 1
        try:
            yield lease
        except BaseException:
            lease.keep = False
            raise
        finally:
            environment = lease.environment
            with pool.condition:
                pool.busy -= 1
                returned = lease.keep and environment in self._live and not pool.retired
                if returned and environment is not None:
                    pool.idle.append(environment)
                pool.condition.notify()
            if environment is not None and not returned:
                self._discard(environment)

    def _pool(self, spec: FunctionSpec) -> _Pool:
        with self._lock:
            pool = self._pools.get(spec.key)
            if pool is None:
                retired = self._retire_other_versions(spec)
                pool = self._pools[spec.key] = _Pool(spec.arn, self.max_environments)
            else:
                retired = []
        for environment in retired:
            self._discard(environment)
        return pool

    def _retire_other_versions(self, spec: FunctionSpec) -> list[ExecutionEnvironment]:
        """After a code or configuration change, the function's old environments are stopped: the idle ones
        returned here, busy ones when their invocation ends. Called holding the runtime's lock."""
        idle: list[ExecutionEnvironment] = []
        for key, pool in list(self._pools.items()):
            if key != spec.key and pool.arn == spec.arn:
                with pool.condition:
                    pool.retired = True
                    idle += pool.idle
                    pool.idle = []
                del self._pools[key]
        return idle

    def _start_environment(self, spec: FunctionSpec, code: bytes) -> ExecutionEnvironment:
        code_dir = unpack(code, self.work_dir / "code", spec.code_sha256)
        logs_dir = self.work_dir / "logs" / spec.name
        logs_dir.mkdir(parents=True, exist_ok=True)
        environment = ExecutionEnvironment(
            spec=spec,
            code_dir=code_dir,
            interpreter=self._interpreter(spec.runtime)[0],
            endpoint_url=self.endpoint_url,
            execute_api_endpoint=self.execute_api_endpoint,
            log_path=logs_dir / f"{time.strftime('%Y-%m-%d')}-{uuid.uuid4().hex}.log",
        )
        environment.start()
        with self._lock:
            closed = self._closed
            if not closed:
                self._live.add(environment)
        if closed:
            environment.stop()
            raise RuntimeError("the Lambda runtime is shut down")
        return environment

    def _discard(self, environment: ExecutionEnvironment) -> None:
        """Stop an environment the caller owns and forget it."""
        with self._lock:
            self._live.discard(environment)
        environment.stop()

    # -------------------------------------------------------------- interpreters
    def _interpreter(self, runtime: str) -> tuple[str, str | None]:
        """The interpreter for a ``pythonX.Y`` runtime, and a note when it is not the matching version."""
        if runtime not in self._interpreters:
            self._interpreters[runtime] = _find_interpreter(runtime)
        return self._interpreters[runtime]

    def reap_idle(self) -> int:
        """Stop environments idle longer than the idle timeout; return how many were stopped."""
        now = time.monotonic()
        with self._lock:
            pools = list(self._pools.values())
        expired: list[ExecutionEnvironment] = []
        for pool in pools:
            with pool.condition:
                expired += [e for e in pool.idle if now - e.last_used >= self.idle_timeout_s]
                pool.idle = [e for e in pool.idle if now - e.last_used < self.idle_timeout_s]
        for environment in expired:
            self._discard(environment)
        return len(expired)

    def environments(self) -> int:
        """How many environments are alive (idle or busy)."""
        with self._lock:
            return len(self._live)

    def shutdown(self) -> None:
        """Stop every environment, busy ones included (their invocations end with the runtime's exit), and start
        no more."""
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
            live, self._live = set(self._live), set()
        idle: list[ExecutionEnvironment] = []
        for pool in pools:
            with pool.condition:
                pool.retired = True
                idle += pool.idle
                pool.idle = []
        for environment in live:
            if environment in idle:
                environment.stop()
            else:  # busy: its invoking thread owns its pipes and stops it when it sees the exit
                environment.kill()


def _find_interpreter(runtime: str) -> tuple[str, str | None]:
    own = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime == own or not runtime.startswith("python"):
        return sys.executable, None
    candidate = shutil.which(runtime)
    if candidate:
        probe = subprocess.run(
            [candidate, "-c", "import boto3, aws_lambda_powertools"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return candidate, None
        reason = f"{candidate} lacks boto3 or aws-lambda-powertools"
    else:
        reason = f"no {runtime} interpreter on PATH"
    return sys.executable, f"runtime {runtime} requested; {reason}, running on Python {sys.version.split()[0]}"
