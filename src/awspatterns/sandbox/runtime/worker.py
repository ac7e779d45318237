"""One Lambda execution environment: imports the handler once, then serves invocations until told to stop.

Started by the sandbox's runtime as ``python -I worker.py``, with the function's code folder as the working
directory. It speaks JSON lines over two inherited pipe descriptors (named in ``_AWSPATTERNS_WORKER_FDS``), so
whatever the handler prints goes to stdout/stderr, which the runtime has pointed at the environment's log file.
The first line it writes reports the init (``init_ms``, and ``error`` if the handler could not be loaded, after
which it exits); then one line answers each request. Every line carries the process's peak memory.
The platform's own log lines (START, END, REPORT) are the runtime's to write, since only it sees timeouts and
exits. This file uses the standard library and botocore only: it must not depend on the sandbox being importable.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = [
    "InitError",
    "LambdaContext",
    "error_of",
    "guard_imports",
    "invoke",
    "load_handler",
    "log_error",
    "main",
    "peak_memory_kb",
    "route_to_account",
]


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


def error_of(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    """A Lambda-shaped error: errorMessage, errorType, stackTrace."""
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def log_error(error: dict[str, Any]) -> None:
    """Write an error to the function's log as Lambda's Python runtime does."""
    trace = "".join(error["stackTrace"])
    print(f"[ERROR] {error['errorType']}: {error['errorMessage']}\nTraceback (most recent call last):\n{trace}", end="")
    sys.stdout.flush()


def route_to_account(account_id: str) -> None:
    """Send every AWS call of this process to the function's own sandbox account."""
    from botocore.httpsession import URLLib3Session

    original_send = URLLib3Session.send

    def send(self: URLLib3Session, request: Any) -> Any:
        request.headers["x-moto-account-id"] = account_id
        return original_send(self, request)

    URLLib3Session.send = send  # type: ignore[method-assign]


class InitError(Exception):
    """The handler could not be loaded; ``error`` is what Lambda reports for it."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def load_handler(spec: str) -> Any:
    """Import ``module.function`` (``folder/module.function`` also works), failing as Lambda's Python runtime does.

    Raises:
        InitError: a malformed handler name, a module that cannot be imported or raises, a syntax error.
    """
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        message = f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)"
        raise InitError({"errorMessage": message, "errorType": "Runtime.MalformedHandlerName", "stackTrace": []})
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        message = f"Unable to import module '{module_name}': {exc}{_why_missing(exc)}"
        raise InitError({**error_of(exc, "Runtime.ImportModuleError", message), "stackTrace": []}) from exc
    except SyntaxError as exc:
        message = f"Syntax error in module '{module_name}': {exc}"
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise InitError({**error_of(exc, "Runtime.UserCodeSyntaxError", message), "stackTrace": trace}) from exc
    except Exception as exc:
        raise InitError(error_of(exc)) from exc
    handler = getattr(module, function_name, None)
    if handler is None:  # not an init error in Lambda: every invocation fails, the environment stays
        missing = {
            "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
            "errorType": "Runtime.HandlerNotFound",
            "requestId": "",
            "stackTrace": [],
        }

        def handler(event: Any, context: Any) -> Any:
            raise InitError(missing)

    return handler


def invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run the handler once; the result must serialise to JSON, as in Lambda."""
    try:
        result = handler(json.loads(request["event"]), LambdaContext(request))
    except InitError as exc:
        log_error(exc.error)
        return {"error": exc.error}
    except Exception as exc:
        error = error_of(exc)
        error["stackTrace"] = error["stackTrace"][1:]  # the handler's frames, not this function's
        log_error(error)
        return {"error": error}
    try:
        return {"payload": json.dumps(result)}
    except (TypeError, ValueError) as exc:
        error = error_of(exc, "Runtime.MarshalError", f"Unable to marshal response: {exc}")
        log_error(error)
        return {"error": error}


def peak_memory_kb() -> int:
    """The process's peak resident memory so far (Lambda's Max Memory Used)."""
    # Not ru_maxrss: Linux carries it across exec, so it includes the sandbox server this process was forked from.
    try:
        with open("/proc/self/status", "rb") as status:  # noqa: PTH123 (every invocation; pathlib costs more)
            text = status.read()
        return int(text[text.index(b"VmHWM:") + 6 :].split(None, 1)[0])
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


_guard: Any = None


def _why_missing(error: ImportError) -> str:
    """The import guard's reason for a missing module, when the guard hid it (see ``import_guard.why_missing``)."""
    return _guard.why_missing(error.name) if _guard is not None and isinstance(error, ModuleNotFoundError) else ""


def guard_imports(allowed: list[str], own_paths: list[str], runtime: str) -> None:
    """Let the function import only what Lambda's runtime would give it (``import_guard``, loaded by path: with
    ``-I`` this folder is not on the import path, and the sandbox package must not be needed)."""
    spec = importlib.util.spec_from_file_location(
        "_awspatterns_import_guard", Path(__file__).with_name("import_guard.py")
    )
    assert spec is not None and spec.loader is not None
    global _guard
    _guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(_guard)
    _guard.install(allowed, own_paths, runtime)


def main() -> None:
    """Initialise, report the init, then serve invocations; after an init error, exit as Lambda's runtime does."""
    read_fd, write_fd = (int(fd) for fd in os.environ.pop("_AWSPATTERNS_WORKER_FDS").split(","))
    requests = os.fdopen(read_fd, "rb")
    responses = os.fdopen(write_fd, "wb")

    def answer(message: dict[str, Any]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        responses.write(json.dumps({**message, "max_memory_kb": peak_memory_kb()}).encode() + b"\n")
        responses.flush()

    own_paths = [str(Path.cwd()), *filter(None, os.environ.pop("_AWSPATTERNS_LAYER_PATHS", "").split(os.pathsep))]
    sys.path[:0] = own_paths
    route_to_account(os.environ["_AWSPATTERNS_ACCOUNT_ID"])
    allowed = os.environ.pop("_AWSPATTERNS_ALLOWED_MODULES", None)
    if allowed is not None:  # after the worker's own imports, before the function's
        runtime = os.environ.get("AWS_EXECUTION_ENV", "").removeprefix("AWS_Lambda_") or "Python"
        guard_imports(allowed.split(","), own_paths, runtime)

    started = time.monotonic()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except InitError as exc:
        log_error(exc.error)
        answer({"init_ms": (time.monotonic() - started) * 1000, "error": exc.error})
        sys.exit(1)
    answer({"init_ms": (time.monotonic() - started) * 1000})

    for line in requests:
        request = json.loads(line)
        started = time.monotonic()
        response = invoke(handler, request)
        answer({**response, "duration_ms": (time.monotonic() - started) * 1000})


if __name__ == "__main__":
    main()
