"""The Lambda runtime on its own: environment reuse, concurrency, limits and Lambda-shaped errors."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from lambda_code import zip_code

from awspatterns.sandbox.runtime.runtime import FunctionSpec, LambdaRuntime

HANDLER = """
import json, os, sys, time
STARTED = time.time()

def handler(event, context):
    action = event.get("action")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "raise":
        raise ValueError("bad input: " + event.get("why", ""))
    if action == "exit":
        os._exit(3)
    if action == "print":
        sys.stdout.write("x" * event["bytes"])
    if action == "unserializable":
        return {"value": object()}
    return {"pid": os.getpid(), "started": STARTED, "remaining": context.get_remaining_time_in_millis(),
            "env": os.environ.get("GREETING"), "request_id": context.aws_request_id,
            "endpoint": os.environ.get("AWS_ENDPOINT_URL")}
"""


@pytest.fixture
def runtime(tmp_path: Path):
    runtime = LambdaRuntime("http://localhost:1", tmp_path, max_environments=3)
    yield runtime
    runtime.shutdown()


def spec(code: bytes, timeout_s: float = 5.0, name: str = "probe") -> FunctionSpec:
    return FunctionSpec(
        account_id="123456789012",
        region="us-east-1",
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler="index.handler",
        runtime="python3.11",
        timeout_s=timeout_s,
        memory_mb=128,
        environment=(("GREETING", "hello"),),
        code_sha256=str(hash(code)),
        log_group=f"/aws/lambda/{name}",
    )


CODE = zip_code(HANDLER)


def call(runtime, event, timeout_s=5.0, code=CODE):
    result = runtime.invoke(spec(code, timeout_s), code, json.dumps(event))
    return result, json.loads(result.payload)


def test_first_invocation_is_cold_and_later_ones_reuse_the_environment(runtime):
    first, payload1 = call(runtime, {})
    second, payload2 = call(runtime, {})
    assert first.cold_start and not second.cold_start
    assert payload1["pid"] == payload2["pid"] != os.getpid()
    assert payload1["started"] == payload2["started"]  # module state survives: initialised once
    assert first.init_ms > 0 and second.init_ms == 0
    assert payload1["env"] == "hello" and payload1["endpoint"] == "http://localhost:1"
    assert 0 < payload1["remaining"] <= 5000
    assert payload1["request_id"] == first.request_id != second.request_id
    assert "START RequestId" in first.logs and "REPORT RequestId" in first.logs and "Init Duration" in first.logs


def test_concurrent_invocations_get_separate_environments(runtime):
    pids = []
    threads = [
        threading.Thread(target=lambda: pids.append(call(runtime, {"action": "sleep", "seconds": 0.5})[1]))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({p["pid"] for p in pids}) == 3
    assert runtime.environments() == 3


def test_a_timeout_is_reported_like_lambda_and_the_environment_replaced(runtime):
    _, before = call(runtime, {})
    result, payload = call(runtime, {"action": "sleep", "seconds": 5}, timeout_s=0.5)
    assert result.errored and payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in payload["errorMessage"]
    after_result, after = call(runtime, {}, timeout_s=0.5)
    assert after_result.cold_start and after["pid"] != before["pid"]


def test_an_exception_gives_error_type_message_and_stack_trace(runtime):
    result, payload = call(runtime, {"action": "raise", "why": "missing field"})
    assert result.errored
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "bad input: missing field"
    assert any("handler" in frame for frame in payload["stackTrace"])
    assert "Traceback" in result.logs
    assert not call(runtime, {})[0].cold_start  # an exception does not cost the environment


def test_a_crashing_handler_is_an_exit_error_and_the_runtime_keeps_serving(runtime):
    _result, payload = call(runtime, {"action": "exit"})
    assert payload["errorType"] == "Runtime.ExitError" and "exit status 3" in payload["errorMessage"]
    assert not call(runtime, {})[0].errored


def test_megabytes_of_output_are_truncated_in_the_logs_not_fatal(runtime):
    result, _payload = call(runtime, {"action": "print", "bytes": 5 * 1024 * 1024})
    assert not result.errored
    assert "log output truncated" in result.logs
    assert len(result.logs) < 1.1 * 1024 * 1024


def test_an_unserializable_result_is_a_marshal_error(runtime):
    _result, payload = call(runtime, {"action": "unserializable"})
    assert payload["errorType"] == "Runtime.MarshalError"


def test_an_import_error_is_reported_on_invocation(runtime):
    broken = zip_code("import no_such_module\ndef handler(event, context):\n    return 1\n")
    _result, payload = call(runtime, {}, code=broken)
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "no_such_module" in payload["errorMessage"]


def test_a_missing_handler_function_is_reported(runtime):
    _result, payload = call(runtime, {}, code=zip_code("def other(event, context):\n    return 1\n"))
    assert payload["errorType"] == "Runtime.HandlerNotFound"


def test_a_runtime_without_a_matching_interpreter_says_so(runtime):
    code = CODE
    result = runtime.invoke(FunctionSpec(**{**spec(code).__dict__, "runtime": "python3.99"}), code, "{}")
    assert not result.errored
    assert "python3.99 requested" in result.logs and "running on Python" in result.logs
