"""The platform's lines in a function's log, worded as Lambda writes them: ``INIT_REPORT``, ``START``, ``END`` and
``REPORT``, the timeout and runtime-exit messages, and the notice that output was truncated.

The runtime writes them, not the worker, because only the runtime sees an invocation that timed out or whose
worker died; so ``END`` and ``REPORT`` close every invocation's log, whatever happened in it.
"""

from __future__ import annotations

import math
import time

__all__ = [
    "end_line",
    "exit_lines",
    "init_report",
    "report_line",
    "start_line",
    "timeout_message",
    "truncation_notice",
]


def init_report(duration_ms: float, phase: str, status: str, error_type: str | None = None) -> str:
    """The line Lambda writes when an init fails or times out (``phase`` is ``init``, or ``invoke`` when the init
    is retried within the first invocation)."""
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    return line + (f"\tError Type: {error_type}\n" if error_type else "\n")


def start_line(request_id: str) -> str:
    """The first line of an invocation."""
    return f"START RequestId: {request_id} Version: $LATEST\n"


def timeout_message(request_id: str, timeout_s: float) -> str:
    """What Lambda says of an invocation that ran out of time (also the timeout error's ``errorMessage``)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    return f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"


def exit_lines(request_id: str, description: str, error_type: str) -> str:
    """What Lambda logs when the runtime process exits during an invocation."""
    return f"RequestId: {request_id} Error: {description}\n{error_type}\n"


def end_line(request_id: str) -> str:
    """The line that ends an invocation."""
    return f"END RequestId: {request_id}\n"


def report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """The ``REPORT`` line. ``init_ms`` is given on cold starts whose init succeeded in the init phase; ``status``
    (``error`` with ``error_type``, or ``timeout``) when the platform, not the handler, ended the invocation.
    Billed Duration counts the init too, as Lambda has billed it since August 2025."""
    billed = math.ceil(duration_ms + (init_ms or 0.0))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: {max_memory_mb} MB"
    )
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    if status is not None:
        line += f"\tStatus: {status}" + (f"\tError Type: {error_type}" if error_type else "")
    return line + "\n"


def truncation_notice(limit: int, written: int) -> str:
    """Said in place of the output beyond ``limit`` bytes (the invocation wrote ``written``)."""
    return f"[sandbox] log output truncated at {limit} of {written} bytes for this invocation\n"
