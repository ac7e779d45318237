"""One Lambda execution environment: imports the handler once, then serves invocations until told to stop.

Started by the sandbox's runtime as ``python -I worker.py``, with the function's code folder as the working
directory. It speaks JSON lines over two inherited pipe descriptors (named in ``_AWSPATTERNS_WORKER_FDS``), so
whatever the handler prints goes to stdout/stderr, which the runtime has pointed at the environment's log file.
This file uses the standard library and botocore only: it must not depend on the sandbox being importable.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = ["LambdaContext", "error_of", "invoke", "load_handler", "main", "route_to_account"]


class LambdaContext:
    """The context object Lambda passes to Python handlers."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = request["function_arn"]
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request["request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + request["timeout_ms"] / 1000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the runtime stops this invocation."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_of(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """A Lambda-shaped error: errorMessage, errorType, stackTrace."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def route_to_account(account_id: str) -> None:
    """Send every AWS call of this process to the function's own sandbox account."""
    from botocore.httpsession import URLLib3Session

    original_send = URLLib3Session.send

    def send(self: URLLib3Session, request: Any) -> Any:
        request.headers["x-moto-account-id"] = account_id
        return original_send(self, request)

    URLLib3Session.send = send  # type: ignore[method-assign]


def load_handler(spec: str) -> Any:
    """Import ``module.function`` (``folder/module.function`` also works, like the Lambda runtime)."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)")
    module = importlib.import_module(module_name.replace("/", "."))
    handler = getattr(module, function_name, None)
    if handler is None:
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run the handler once; the result must serialise to JSON, as in Lambda."""
    try:
        result = handler(json.loads(request["event"]), LambdaContext(request))
    except Exception as exc:
        traceback.print_exc()
        return {"error": error_of(exc)}
    try:
        return {"payload": json.dumps(result)}
    except (TypeError, ValueError) as exc:
        return {"error": error_of(exc, "Runtime.MarshalError")}


def main() -> None:
    """Initialise once, then serve invocations."""
    read_fd, write_fd = (int(fd) for fd in os.environ.pop("_AWSPATTERNS_WORKER_FDS").split(","))
    requests = os.fdopen(read_fd, "rb")
    responses = os.fdopen(write_fd, "wb")
    sys.path[:0] = [str(Path.cwd()), *filter(None, os.environ.pop("_AWSPATTERNS_LAYER_PATHS", "").split(os.pathsep))]
    route_to_account(os.environ["_AWSPATTERNS_ACCOUNT_ID"])

    started = time.monotonic()
    init_error = None
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Exception as exc:
        error_type = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        init_error = error_of(exc, error_type)
        traceback.print_exc()
    init_ms = (time.monotonic() - started) * 1000

    for line in requests:
        request = json.loads(line)
        print(f"START RequestId: {request['request_id']} Version: $LATEST", flush=True)
        started = time.monotonic()
        if init_error is not None:
            response: dict[str, Any] = {"error": init_error}
        else:
            response = invoke(handler, request)
        duration_ms = (time.monotonic() - started) * 1000
        sys.stdout.flush()
        sys.stderr.flush()
        print(f"END RequestId: {request['request_id']}", flush=True)
        print(
            f"REPORT RequestId: {request['request_id']}\tDuration: {duration_ms:.2f} ms"
            + (f"\tInit Duration: {init_ms:.2f} ms" if request.get("cold") else ""),
            flush=True,
        )
        response.update(duration_ms=duration_ms, init_ms=init_ms)
        responses.write(json.dumps(response).encode() + b"\n")
        responses.flush()


if __name__ == "__main__":
    main()
