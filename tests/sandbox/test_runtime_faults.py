"""The Lambda runtime under faults: handlers that fork, crash, hang, flood the log or exhaust memory, slow
initialisation, code updated mid-invocation, shutdown mid-invocation. After each test no process of the runtime is
left: every process whose working directory is inside the runtime's work directory is gone."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError
from lambda_code import create_function, zip_code

from awspatterns.sandbox.runtime import environment
from awspatterns.sandbox.runtime.runtime import FunctionSpec, InvocationResult, LambdaRuntime

T = TypeVar("T")

FAULTS = """
import json, os, sys, time
from pathlib import Path

def handler(event, context):
    action = event.get("action")
    if event.get("started"):
        Path(event["started"]).write_text(str(os.getpid()))
    if action == "fork_and_crash":
        child = os.fork()
        if child == 0:
            time.sleep(60)
            os._exit(0)
        Path(event["pidfile"]).write_text(str(child))
        os._exit(7)
    if action == "sleep":
        time.sleep(event["seconds"])
    return {"pid": os.getpid()}
"""


def processes_under(root: Path) -> set[int]:
    """Live (not zombie) processes whose working directory is inside ``root``: the runtime's workers and
    whatever they forked."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = (entry / "cwd").readlink()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:  # gone meanwhile, or a zombie (no cwd)
            continue
        if state not in ("Z", "X") and cwd.is_relative_to(root):
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def settled(probe: Callable[[], T], expected: T, within_s: float = 5.0) -> T:
    """``probe()`` once it equals ``expected`` (SIGKILL lands asynchronously), or its last value."""
    deadline = time.monotonic() + within_s
    while (value := probe()) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return value


def left_under(root: Path) -> set[int]:
    """The processes left inside ``root`` once killed ones have had a moment to die."""
    none: set[int] = set()
    return settled(lambda: processes_under(root), none)


def survives(pid: int) -> bool:
    return settled(lambda: alive(pid), False)


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[Callable[..., LambdaRuntime]]:
    """``make_runtime(**settings)``: runtimes shut down after the test, which must leave no process behind."""
    runtimes: list[LambdaRuntime] = []

    def make(**settings: Any) -> LambdaRuntime:
        runtimes.append(LambdaRuntime("http://localhost:1", tmp_path / "work", max_environments=3, **settings))
        return runtimes[-1]

    yield make
    for runtime in runtimes:
        runtime.shutdown()
    assert left_under(tmp_path) == set(), "the runtime left processes behind"


@pytest.fixture
def runtime(make_runtime: Callable[..., LambdaRuntime]) -> LambdaRuntime:
    return make_runtime()


def spec(code: bytes, timeout_s: float = 20.0, memory_mb: int = 128, name: str = "faults") -> FunctionSpec:
    return FunctionSpec(
        account_id="123456789012",
        region="us-east-1",
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler="index.handler",
        runtime="python3.11",
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        environment=(),
        code_sha256=str(hash(code)),
        log_group=f"/aws/lambda/{name}",
    )


CODE = zip_code(FAULTS)


def call(
    runtime: LambdaRuntime, event: dict[str, Any], code: bytes = CODE, **settings: Any
) -> tuple[InvocationResult, dict[str, Any]]:
    result = runtime.invoke(spec(code, **settings), code, json.dumps(event))
    return result, json.loads(result.payload)


def wait_for(path: Path) -> None:
    """Wait until a handler has written ``path`` (synchronisation, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


# ---------------------------------------------------------------- item 10: a crashed worker's forked child
def test_a_crash_is_reported_at_once_although_a_forked_child_holds_the_pipe(runtime, tmp_path):
    pidfile = tmp_path / "child.pid"
    result, payload = call(runtime, {"action": "fork_and_crash", "pidfile": str(pidfile)}, timeout_s=20)
    assert payload["errorType"] == "Runtime.ExitError", payload  # not Sandbox.Timedout after 20 s
    assert payload["errorMessage"] == f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 7"
    assert not survives(int(pidfile.read_text())), "the forked child outlived its environment"
    assert left_under(tmp_path) == set()
    assert not call(runtime, {})[0].errored  # a fresh environment serves the next invocation


# ---------------------------------------------------------------- item 14: environments nobody tracks
def test_an_environment_busy_during_a_code_update_is_stopped_when_its_invocation_ends(runtime, tmp_path):
    started = tmp_path / "old-started"
    old_code = zip_code(FAULTS)
    new_code = zip_code(FAULTS + "\n# version 2\n")
    old: list[dict[str, Any]] = []
    slow = {"action": "sleep", "seconds": 1, "started": str(started)}
    thread = threading.Thread(target=lambda: old.append(call(runtime, slow, old_code)[1]))
    thread.start()
    wait_for(started)
    _result, new = call(runtime, {}, new_code)  # the update: a new configuration of the same function
    thread.join()
    assert old[0]["pid"] != new["pid"]
    assert not survives(old[0]["pid"]), "the old version's environment went back to an untracked pool"
    assert runtime.environments() == 1
    assert settled(lambda: processes_under(tmp_path), {new["pid"]}) == {new["pid"]}


def test_shutdown_ends_busy_environments_too(runtime, tmp_path):
    started = tmp_path / "started"
    results: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: results.append(call(runtime, {"action": "sleep", "seconds": 30, "started": str(started)})[1])
    )
    thread.start()
    wait_for(started)
    worker = int(started.read_text())
    runtime.shutdown()
    assert not survives(worker), "shutdown skipped the busy environment"
    thread.join(20)
    assert not thread.is_alive()
    assert results[0]["errorType"] == "Runtime.ExitError"
    assert results[0]["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert left_under(tmp_path) == set()


# ---------------------------------------------------------------- item 9: the init phase has its own limit
SLOW_INIT = """
import os, time
from pathlib import Path
with Path(os.environ["INITS"]).open("a") as inits:
    inits.write("init\\n")
time.sleep(float(os.environ["INIT_SECONDS"]))

def handler(event, context):
    return {"remaining": context.get_remaining_time_in_millis()}
"""


def slow_init(runtime: LambdaRuntime, tmp_path: Path, init_s: float, timeout_s: float) -> InvocationResult:
    code = zip_code(SLOW_INIT)
    environment = (("INITS", str(tmp_path / "inits")), ("INIT_SECONDS", str(init_s)))
    function = FunctionSpec(**{**spec(code, timeout_s=timeout_s).__dict__, "environment": environment})
    return runtime.invoke(function, code, "{}")


def test_a_slow_init_does_not_spend_the_invocations_timeout(runtime, tmp_path):
    result = slow_init(runtime, tmp_path, init_s=1.5, timeout_s=1)
    assert not result.errored, result.payload  # Lambda gives the init its own 10 s
    assert result.cold_start and result.init_ms >= 1500
    assert 0 < json.loads(result.payload)["remaining"] <= 1000
    assert "\tInit Duration: " in result.logs and "INIT_REPORT" not in result.logs


def test_an_init_beyond_its_limit_is_retried_within_the_first_invocation(make_runtime, tmp_path):
    runtime = make_runtime(init_timeout_s=1.5)  # room for the interpreter to start before the limit, even when busy
    result = slow_init(runtime, tmp_path, init_s=3, timeout_s=10)
    assert not result.errored, result.payload
    assert (tmp_path / "inits").read_text() == "init\n" * 2  # the first init was abandoned at its limit
    init_report, start = result.logs.index("INIT_REPORT Init Duration: "), result.logs.index("START RequestId")
    assert init_report < start and "\tPhase: init\tStatus: timeout\n" in result.logs
    assert "\tInit Duration: " not in result.logs  # the retried init counts in the invocation's duration
    assert result.duration_ms >= 3000
    assert runtime.environments() == 1


def test_an_init_retry_that_outlives_the_functions_timeout_is_a_timeout(make_runtime, tmp_path):
    runtime = make_runtime(init_timeout_s=0.5)
    result = slow_init(runtime, tmp_path, init_s=3, timeout_s=1)
    payload = json.loads(result.payload)
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    assert "\tPhase: invoke\tStatus: timeout\n" in result.logs and "\tStatus: timeout\n" in result.logs
    assert runtime.environments() == 0
    assert left_under(tmp_path) == set()


@pytest.mark.parametrize(
    "source, error_type, message",
    [
        ("import no_such_module", "Runtime.ImportModuleError", "Unable to import module 'index': No module named"),
        ("raise ValueError('bad config')", "ValueError", "bad config"),
        ("def handler(event, context)\n    return 1", "Runtime.UserCodeSyntaxError", "Syntax error in module 'index'"),
    ],
    ids=["import", "raises", "syntax"],
)
def test_an_init_error_is_reported_as_lambda_does_and_the_next_invocation_initialises_again(
    runtime, tmp_path, source, error_type, message
):
    code = zip_code(source + "\n")
    first, payload = call(runtime, {}, code)
    assert payload["errorType"] == error_type and payload["errorMessage"].startswith(message)
    assert payload["requestId"] == first.request_id
    assert f"[ERROR] {error_type}: {message}" in first.logs
    assert f"\tPhase: init\tStatus: error\tError Type: {error_type}\n" in first.logs
    assert f"\tStatus: error\tError Type: {error_type}\n" in first.logs.splitlines(keepends=True)[-1]
    second, _ = call(runtime, {}, code)
    assert second.cold_start  # the runtime exited after its init error: Lambda starts a new one
    assert left_under(tmp_path) == set()


def test_an_exit_during_init_is_a_runtime_exit(runtime, tmp_path):
    result, payload = call(runtime, {}, zip_code("import os\nos._exit(4)\n"))
    assert payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 4",
        "requestId": result.request_id,
    }
    assert "\tPhase: init\tStatus: error\tError Type: Runtime.ExitError\n" in result.logs
    assert left_under(tmp_path) == set()


# ---------------------------------------------------------------- item 11: END and REPORT close every invocation
def platform_lines(result: InvocationResult) -> list[str]:
    return [line for line in result.logs.splitlines() if line.split(" ")[0] in ("START", "END", "REPORT")]


def report_fields(result: InvocationResult) -> dict[str, str]:
    report = result.logs.splitlines()[-1]
    assert report.startswith(f"REPORT RequestId: {result.request_id}\t")
    return dict(field.split(": ", 1) for field in report.split("\t")[1:])


def test_a_timeout_is_logged_with_end_and_report(runtime, tmp_path):
    result, _payload = call(runtime, {"action": "sleep", "seconds": 10}, timeout_s=1)
    lines = result.logs.splitlines()
    assert lines[-3].endswith(f" {result.request_id} Task timed out after 1.00 seconds")
    assert lines[-2] == f"END RequestId: {result.request_id}"
    fields = report_fields(result)
    assert fields["Duration"] == "1000.00 ms" and fields["Billed Duration"].endswith(" ms")
    assert fields["Memory Size"] == "128 MB" and fields["Status"] == "timeout"
    assert int(fields["Max Memory Used"].split()[0]) > 0
    assert left_under(tmp_path) == set()


def test_a_runtime_exit_is_logged_with_end_and_report(runtime, tmp_path):
    pidfile = tmp_path / "child.pid"
    result, _payload = call(runtime, {"action": "fork_and_crash", "pidfile": str(pidfile)})
    lines = result.logs.splitlines()
    assert lines[-4:-1] == [
        f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 7",
        "Runtime.ExitError",
        f"END RequestId: {result.request_id}",
    ]
    fields = report_fields(result)
    assert fields["Status"] == "error" and fields["Error Type"] == "Runtime.ExitError"
    assert "Init Duration" in fields  # a cold start


def test_a_flood_of_output_is_truncated_but_end_and_report_survive(runtime):
    flood = zip_code("import sys\ndef handler(event, context):\n    sys.stdout.write('x' * 5 * 1024 * 1024)\n")
    result, _payload = call(runtime, {}, flood)
    assert not result.errored and len(result.logs) < 1.1 * 1024 * 1024
    lines = result.logs.splitlines()
    assert lines[-3].startswith("[sandbox] log output truncated at 1048576 of 5242880 bytes")
    assert platform_lines(result)[-2:] == [f"END RequestId: {result.request_id}", lines[-1]]
    assert "Status" not in report_fields(result)
    second, _ = call(runtime, {}, flood)
    assert not second.cold_start and second.logs.startswith("START")  # the flood did not spill into it


# ---------------------------------------------------------------- item 12: MemorySize is enforced
MEMORY = """
import threading, time

def handler(event, context):
    held = []
    if event.get("action") == "allocate":
        held.append(b"x" * (event["mb"] << 20))
    if event.get("action") == "grow":  # slowly, then wait: only a check while it runs can stop it
        for _ in range(event["mb"]):
            held.append(b"x" * (1 << 20))
            time.sleep(0.002)
        time.sleep(60)
    if event.get("action") == "threads":  # virtual memory, hardly any resident: not counted, as in Lambda
        done = threading.Event()
        threads = [threading.Thread(target=done.wait) for _ in range(event["count"])]
        for thread in threads:
            thread.start()
        done.set()
        for thread in threads:
            thread.join()
    return {"held_mb": sum(len(chunk) for chunk in held) >> 20}
"""


def assert_out_of_memory(result: InvocationResult, payload: dict[str, Any]) -> None:
    assert payload == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed",
        "requestId": result.request_id,
    }
    fields = report_fields(result)
    assert fields["Memory Size"] == "128 MB" and fields["Max Memory Used"] == "128 MB"
    assert fields["Status"] == "error" and fields["Error Type"] == "Runtime.OutOfMemory"


def test_a_handler_over_its_memory_size_is_killed(runtime, tmp_path):
    result, payload = call(runtime, {"action": "allocate", "mb": 300}, zip_code(MEMORY), memory_mb=128)
    assert_out_of_memory(result, payload)
    assert runtime.environments() == 0 and left_under(tmp_path) == set()
    again, payload = call(runtime, {"action": "allocate", "mb": 10}, zip_code(MEMORY), memory_mb=128)
    assert again.cold_start and payload == {"held_mb": 10}


def test_memory_is_checked_while_the_handler_runs(runtime, tmp_path):
    result, payload = call(runtime, {"action": "grow", "mb": 300}, zip_code(MEMORY), memory_mb=128, timeout_s=10)
    assert_out_of_memory(result, payload)  # not Sandbox.Timedout: killed when it crossed the limit
    assert left_under(tmp_path) == set()


@pytest.mark.parametrize("then", ["returns", "times out"])
def test_a_spike_between_two_checks_still_fails_the_invocation(runtime, tmp_path, monkeypatch, then):
    monkeypatch.setattr(environment, "POLL_S", 60.0)  # no check while it runs: only the peak can tell
    source = MEMORY + "\ndef spike(event, context):\n    len(b'x' * (300 << 20))\n    return handler(event, context)\n"
    spike = zip_code(source)
    event = {"action": "grow", "mb": 0} if then == "times out" else {}
    function = FunctionSpec(**{**spec(spike, timeout_s=1).__dict__, "handler": "index.spike"})
    result = runtime.invoke(function, spike, json.dumps(event))
    assert_out_of_memory(result, json.loads(result.payload))
    assert left_under(tmp_path) == set()


def test_an_init_over_its_memory_size_is_killed(runtime, tmp_path):
    result, payload = call(runtime, {}, zip_code("HELD = b'x' * (300 << 20)\n" + MEMORY), memory_mb=128)
    assert_out_of_memory(result, payload)
    assert "\tPhase: init\tStatus: error\tError Type: Runtime.OutOfMemory\n" in result.logs
    assert left_under(tmp_path) == set()


def test_memory_within_the_limit_is_reported_and_threads_virtual_memory_does_not_count(runtime):
    result, payload = call(runtime, {"action": "allocate", "mb": 60}, zip_code(MEMORY), memory_mb=256)
    assert payload == {"held_mb": 60}
    assert 60 < int(report_fields(result)["Max Memory Used"].split()[0]) < 256
    result, payload = call(runtime, {"action": "threads", "count": 64}, zip_code(MEMORY), memory_mb=128)
    assert not result.errored, payload  # 64 threads reserve over 512 MB of address space


# ---------------------------------------------------------------- through the sandbox's Lambda API
def workers_of(session: Any, function: str) -> set[int]:
    """Live processes of a sandbox function's environments (workers and their children), by their environment."""
    wanted = {f"AWS_LAMBDA_FUNCTION_NAME={function}".encode(), f"_AWSPATTERNS_ACCOUNT_ID={session.account_id}".encode()}
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                variables = set((entry / "environ").read_bytes().split(b"\0"))
            except OSError:
                continue
            if wanted <= variables:
                found.add(int(entry.name))
    return found


def client_error(call: Callable[[], Any]) -> tuple[str, int, str]:
    """The code, HTTP status and message of the ClientError ``call`` raises."""
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


ECHO = "def handler(event, context):\n    return {'size': len(str(event))}\n"


# item 13: inputs Lambda refuses
def test_invoke_refuses_a_payload_that_is_not_json(account):
    create_function(account, "echo", ECHO)
    lam = account.client("lambda")
    for payload in (b"hello", b"\xff\xfe{}"):  # the second is not even UTF-8
        code, status, message = client_error(partial(lam.invoke, FunctionName="echo", Payload=payload))
        assert (code, status) == ("InvalidRequestContentException", 400), payload
        assert message.startswith("Could not parse request body into json")
    assert workers_of(account, "echo") == set()  # refused before any environment started


def test_invoke_refuses_payloads_over_lambdas_limits(account):
    create_function(account, "echo", ECHO)
    lam = account.client("lambda")
    seven_mb = json.dumps({"data": "x" * (7 << 20)}).encode()
    code, status, message = client_error(lambda: lam.invoke(FunctionName="echo", Payload=seven_mb))
    assert (code, status) == ("RequestEntityTooLargeException", 413) and "6291456 bytes" in message
    over_1_mb = json.dumps({"data": "x" * (1 << 20)}).encode()
    code, status, message = client_error(
        lambda: lam.invoke(FunctionName="echo", InvocationType="Event", Payload=over_1_mb)
    )
    assert (code, status) == ("RequestEntityTooLargeException", 413) and "1048576 bytes" in message
    assert workers_of(account, "echo") == set()
    under_1_mb = json.dumps({"data": "x" * (300 << 10)}).encode()  # over the old 256 KB limit
    assert lam.invoke(FunctionName="echo", InvocationType="Event", Payload=under_1_mb)["StatusCode"] == 202


def test_a_runtime_the_sandbox_cannot_run_is_refused_naming_it(account):
    create_function(account, "node", "exports.handler = async () => 1;\n", runtime="nodejs20.x")  # AWS accepts it
    lam = account.client("lambda")
    for invocation_type in ("RequestResponse", "Event"):
        invoke = partial(lam.invoke, FunctionName="node", InvocationType=invocation_type, Payload=b"{}")
        code, status, message = client_error(invoke)
        assert (code, status) == ("InvalidRuntimeException", 400)
        assert "nodejs20.x" in message and "node" in message
    assert workers_of(account, "node") == set()


def test_a_layer_the_sandbox_cannot_provide_is_refused_with_a_json_error(account):
    role = account.client("iam").create_role(RoleName="layered-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    datadog = "arn:aws:lambda:us-east-1:464622532012:layer:Datadog-Python311:98"
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "layered",
                    "Runtime": "python3.11",
                    "Handler": "index.handler",
                    "Role": role,
                    "Code": {"ZipFile": ECHO},
                    "Layers": [datadog],
                },
            }
        }
    }
    account.client("cloudformation").create_stack(StackName="layered", TemplateBody=json.dumps(template))
    code, status, message = client_error(lambda: account.client("lambda").invoke(FunctionName="layered"))
    assert (code, status) == ("InvalidParameterValueException", 400) and datadog in message
    assert workers_of(account, "layered") == set()


def test_layers_published_in_the_sandbox_are_on_the_import_path_as_in_opt(account):
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr("python/shared.py", "SOURCE = 'python/'\n")
        archive.writestr("python/lib/python3.11/site-packages/vendored.py", "SOURCE = 'site-packages'\n")
    lam = account.client("lambda")
    arn = lam.publish_layer_version(LayerName="shared", Content={"ZipFile": layer.getvalue()})["LayerVersionArn"]
    handler = "import shared, vendored\ndef handler(event, context):\n    return [shared.SOURCE, vendored.SOURCE]\n"
    create_function(account, "uses-layer", handler, Layers=[arn])
    response = lam.invoke(FunctionName="uses-layer")
    assert "FunctionError" not in response, response["Payload"].read()
    assert json.loads(response["Payload"].read()) == ["python/", "site-packages"]


# item 11, as CloudWatch Logs sees it
SLOW_OR_CRASHING = """
import os, time
def handler(event, context):
    if event.get("crash"):
        os._exit(2)
    time.sleep(5)
"""


def test_timeouts_and_runtime_exits_reach_cloudwatch_with_end_and_report(account):
    create_function(account, "faulty", SLOW_OR_CRASHING, timeout=1)
    lam, logs = account.client("lambda"), account.client("logs")
    for event, closing in (({}, "Task timed out after 1.00 seconds"), ({"crash": True}, "exit status 2")):
        response = lam.invoke(FunctionName="faulty", Payload=json.dumps(event).encode(), LogType="Tail")
        assert response["FunctionError"] == "Unhandled"
        request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        tail = base64.b64decode(response["LogResult"]).decode()
        assert closing in tail and "\nEND RequestId: " in tail and "\nREPORT RequestId: " in tail
        payload = json.loads(response["Payload"].read())
        run_id = payload["requestId"]
        events = logs.filter_log_events(logGroupName="/aws/lambda/faulty")["events"]
        messages = [e["message"] for e in events if run_id in e["message"] or closing in e["message"]]
        assert any(closing in m for m in messages), (request_id, messages)
        assert f"END RequestId: {run_id}" in messages
        assert any(m.startswith(f"REPORT RequestId: {run_id}\t") and "\tStatus: " in m for m in messages)
        none: set[int] = set()
        assert settled(lambda: workers_of(account, "faulty"), none) == none  # the failed environment is gone
