"""One invocation through Lambda's phases, and what Lambda reports of it.

A cold start first runs the init phase with its own limit (10 s, whatever the function's timeout); an init that
outlives it is retried once within the invocation, bounded by the function's timeout, as Lambda does. Then the
handler runs until the function's timeout. Whatever ends the invocation (a response, an error, an init failure, a
timeout, the runtime's exit), the log gets its ``START``, ``END`` and ``REPORT`` lines and the caller a
Lambda-shaped error.
"""

from __future__ import annotations

import json
import math
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from awspatterns.sandbox.runtime import reports
from awspatterns.sandbox.runtime.environment import (
    EnvironmentDied,
    ExecutionEnvironment,
    FunctionSpec,
    InvocationResult,
    exit_description,
)

__all__ = ["INIT_TIMEOUT_S", "MAX_OUTPUT_BYTES", "Invocation", "Lease"]

#: Lambda's limit on the init phase of an on-demand function.
INIT_TIMEOUT_S = 10.0
#: The most of a function's output kept per phase of an invocation; the rest is replaced by a notice.
MAX_OUTPUT_BYTES = 1024 * 1024


@dataclass
class Lease:
    """An environment slot of a function, held for one invocation: the environment in it (none yet on a cold
    start) and whether it can serve again afterwards."""

    environment: ExecutionEnvironment | None
    keep: bool = True


@dataclass
class Invocation:
    """One invocation, recording what happened as it goes."""

    spec: FunctionSpec
    event: str
    init_timeout_s: float = INIT_TIMEOUT_S
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    cold: bool = False
    #: A successful init phase's duration: the REPORT line's Init Duration.
    init_ms: float | None = None
    duration_ms: float = 0.0
    payload: str = "null"
    error: dict[str, Any] | None = None
    #: REPORT's Status when the platform ended the invocation: ``error`` (with ``error_type``) or ``timeout``.
    status: str | None = None
    error_type: str | None = None
    max_memory_kb: int = 0
    #: The environment cannot serve again (it timed out, exited or failed its init).
    environment_failed: bool = False
    _before_start: list[str] = field(default_factory=list)
    _after_start: list[str] = field(default_factory=list)
    _closing: list[str] = field(default_factory=list)
    _invoke_started: float | None = None

    # ------------------------------------------------------------------ phases
    def cold_start(
        self,
        lease: Lease,
        start: Callable[[], ExecutionEnvironment],
        discard: Callable[[ExecutionEnvironment], None],
    ) -> bool:
        """Start an environment in ``lease`` and initialise it; False if the init failed (this records why)."""
        self.cold = True
        lease.environment = start()
        outcome = self._init(lease.environment, time.monotonic() + self.init_timeout_s, "init")
        if outcome != "timeout":
            return outcome == "ready"
        # Lambda retries an init that outlived its limit at the first invocation, within the function's timeout.
        discard(lease.environment)
        lease.environment = None
        self._invoke_started = time.monotonic()
        lease.environment = start()
        return self._init(lease.environment, self._invoke_started + self.spec.timeout_s, "invoke") == "ready"

    def call(self, environment: ExecutionEnvironment) -> None:
        """Run the handler in an initialised environment until the function's timeout."""
        started = self._invoke_started or time.monotonic()
        try:
            response = environment.invoke(self.event, self.request_id, started + self.spec.timeout_s)
        except (TimeoutError, EnvironmentDied) as failure:
            self._after_start += self._output(environment)
            self._failed(environment, failure, started)
            return
        self._after_start += self._output(environment)
        environment.note_memory(response["max_memory_kb"])
        if response["max_memory_kb"] > environment.memory_limit_kb:  # it answered before the check caught it
            self._out_of_memory(started)
            return
        self.max_memory_kb = response["max_memory_kb"]
        retried_init = self._invoke_started is not None
        self.duration_ms = (time.monotonic() - started) * 1000 if retried_init else response["duration_ms"]
        if "error" in response:
            self.error = response["error"]
        else:
            self.payload = response["payload"]

    def _init(self, environment: ExecutionEnvironment, deadline: float, phase: str) -> str:
        """Wait for ``environment``'s init: ``ready``, ``timeout`` or ``failed``."""
        lines = self._before_start if phase == "init" else self._after_start
        started = time.monotonic()
        try:
            init = environment.wait_init(deadline)
        except (TimeoutError, EnvironmentDied) as failure:
            lines += self._output(environment)
            timed_out = isinstance(failure, TimeoutError) and not environment.out_of_memory
            if timed_out and phase == "init":
                lines.append(reports.init_report((time.monotonic() - started) * 1000, phase, "timeout"))
                return "timeout"
            self._failed(environment, failure, self._invoke_started or time.monotonic())
            lines.append(reports.init_report((time.monotonic() - started) * 1000, phase, *self._init_status()))
            return "failed"
        lines += self._output(environment)
        environment.note_memory(init["max_memory_kb"])
        if init["max_memory_kb"] > environment.memory_limit_kb:
            self._out_of_memory(self._invoke_started or time.monotonic())
            lines.append(reports.init_report(init["init_ms"], phase, *self._init_status()))
            return "failed"
        self.max_memory_kb = init["max_memory_kb"]
        if "error" in init:
            lines.append(reports.init_report(init["init_ms"], phase, "error", init["error"]["errorType"]))
            self.error = init["error"]
            self.status, self.error_type, self.environment_failed = "error", init["error"]["errorType"], True
            return "failed"
        if phase == "init":
            self.init_ms = init["init_ms"]
        return "ready"

    # ------------------------------------------------------------------ outcomes
    def _failed(self, environment: ExecutionEnvironment, failure: Exception, started: float) -> None:
        """The environment timed out, exited, or was killed for its memory (or went over it between two checks:
        Lambda would have killed it then)."""
        peak_kb = environment.peak_memory_kb()
        if environment.out_of_memory or peak_kb > environment.memory_limit_kb:
            self._out_of_memory(started)
        elif isinstance(failure, TimeoutError):
            self._time_out()
            self.max_memory_kb = peak_kb
        else:
            self._exit(str(failure), started)
            self.max_memory_kb = peak_kb

    def _init_status(self) -> tuple[str, str | None]:
        return ("timeout", None) if self.status == "timeout" else ("error", self.error_type)

    def _time_out(self) -> None:
        message = reports.timeout_message(self.request_id, self.spec.timeout_s)
        self.error = {"errorType": "Sandbox.Timedout", "errorMessage": message}
        self._closing.append(message + "\n")
        self.status, self.environment_failed = "timeout", True
        self.duration_ms = self.spec.timeout_s * 1000

    def _out_of_memory(self, started: float) -> None:
        self._exit(exit_description(-signal.SIGKILL), started, "Runtime.OutOfMemory")
        self.max_memory_kb = self.spec.memory_mb * 1024

    def _exit(self, description: str, started: float, error_type: str = "Runtime.ExitError") -> None:
        self.error = {"errorType": error_type, "errorMessage": f"RequestId: {self.request_id} Error: {description}"}
        self._closing.append(reports.exit_lines(self.request_id, description, error_type))
        self.status, self.error_type, self.environment_failed = "error", error_type, True
        self.duration_ms = (time.monotonic() - started) * 1000

    @staticmethod
    def _output(environment: ExecutionEnvironment) -> list[str]:
        text, written = environment.take_output(MAX_OUTPUT_BYTES)
        parts = [text if not text or text.endswith("\n") else text + "\n"]
        if written > MAX_OUTPUT_BYTES:
            parts.append(reports.truncation_notice(MAX_OUTPUT_BYTES, written))
        return parts

    # ------------------------------------------------------------------ report
    def logs(self, note: str | None = None) -> str:
        """The invocation's log as Lambda writes it; ``note`` is the sandbox's own remark on a cold start."""
        report = reports.report_line(
            self.request_id,
            self.duration_ms,
            self.spec.memory_mb,
            math.ceil(self.max_memory_kb / 1024),
            self.init_ms if self.cold else None,
            self.status,
            self.error_type,
        )
        remark = [f"[sandbox] {note}\n"] if note and self.cold else []
        return "".join(
            [
                *remark,
                *self._before_start,
                reports.start_line(self.request_id),
                *self._after_start,
                *self._closing,
                reports.end_line(self.request_id),
                report,
            ]
        )

    def result(self, started: float, note: str | None = None) -> InvocationResult:
        """The outcome for the caller; ``started`` is when the runtime took the invocation (monotonic clock)."""
        failure = (
            None if self.error is None else {**self.error, "requestId": self.error.get("requestId") or self.request_id}
        )
        init_ms = (self.init_ms or 0.0) if self.cold else 0.0
        total_ms = (time.monotonic() - started) * 1000
        return InvocationResult(
            request_id=self.request_id,
            payload=json.dumps(failure).encode() if failure is not None else self.payload.encode(),
            error=failure,
            logs=self.logs(note),
            cold_start=self.cold,
            duration_ms=self.duration_ms,
            init_ms=init_ms,
            overhead_ms=max(0.0, total_ms - self.duration_ms - init_ms),
        )
