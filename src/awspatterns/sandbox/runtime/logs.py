"""An invocation's output written to the function's CloudWatch Logs group, one stream per execution."""

from __future__ import annotations

import time

from moto.core.utils import unix_time_millis
from moto.logs.models import logs_backends

from awspatterns.sandbox.runtime.environment import FunctionSpec, InvocationResult

__all__ = ["write_invocation_logs"]

#: CloudWatch Logs accepts at most this many events per ``PutLogEvents`` and this many characters per event.
EVENTS_PER_PUT = 1000
MAX_EVENT_CHARS = 256_000


def write_invocation_logs(spec: FunctionSpec, result: InvocationResult) -> None:
    """Write ``result.logs`` into the function's log group, in a stream named as Lambda names them."""
    backend = logs_backends[spec.account_id][spec.region]
    backend.ensure_log_group(spec.log_group)
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{result.request_id.replace('-', '')}"
    backend.create_log_stream(spec.log_group, stream)
    now = int(unix_time_millis())
    lines = [line for line in result.logs.splitlines() if line] or ["(no output)"]
    for start in range(0, len(lines), EVENTS_PER_PUT):
        backend.put_log_events(
            spec.log_group,
            stream,
            [{"timestamp": now, "message": line[:MAX_EVENT_CHARS]} for line in lines[start : start + EVENTS_PER_PUT]],
        )
