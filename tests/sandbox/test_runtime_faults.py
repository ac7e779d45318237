"""The Lambda runtime under faults: handlers that fork, crash, hang, flood the log or exhaust memory, slow
initialisation, code updated mid-invocation, shutdown mid-invocation. After each test no process of the runtime is
left: every process whose working directory is inside the runtime's work directory is gone."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from lambda_code import zip_code

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
    return settled(lambda: processes_under(root), set())


def survives(pid: int) -> bool:
    return settled(lambda: alive(pid), False)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    runtime = LambdaRuntime("http://localhost:1", tmp_path / "work", max_environments=3)
    yield runtime
    runtime.shutdown()
    assert left_under(tmp_path) == set(), "the runtime left processes behind"


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
