"""The sandbox's process lifecycle under faults: parallel starts, a server that stops answering, kill -9 in the
middle of work, stop during a batch, damaged state, an unusable home, lost connections, foreign hosts.

Each test has its own home and sandbox; afterwards the `home` fixture stops it and checks that no process of
that sandbox is left (the server, execution environments, what handlers forked, PostgreSQL).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError
from lambda_code import create_function

from awspatterns.catalog import get_pattern
from awspatterns.sandbox import control
from awspatterns.sandbox.processes import alive
from awspatterns.synth import synth
from awspatterns.targets.assembly_deployer import DeployError
from awspatterns.targets.sandbox_target import SandboxTarget, answering

# A handler that leaves two children behind, one in its own session, then works for a while.
FORKER = """
import subprocess, time

def handler(event, context):
    subprocess.Popen(["sleep", "300"])
    subprocess.Popen(["sleep", "301"], start_new_session=True)
    time.sleep(float(event.get("sleep", 0)))
    return {"ok": True}
"""

CLUSTER = {
    "Resources": {
        "Cluster": {
            "Type": "AWS::RDS::DBCluster",
            "Properties": {
                "Engine": "aurora-postgresql",
                "MasterUsername": "app_admin",
                "MasterUserPassword": "not-a-secret-only-a-test",
            },
        }
    }
}


@pytest.fixture
def home(tmp_path):
    """A sandbox home of the test's own; stopped afterwards, with nothing of it left running."""
    home = tmp_path / "home"
    yield home
    control.stop(home)
    assert control.server_pid(home) is None
    assert control.leftover_processes(home) == [], "processes of the sandbox outlived `stop`"


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWSPATTERNS_SANDBOX_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "awspatterns.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def servers_of(home: Path) -> list[int]:
    """Sandbox server processes started for ``home``, found by their command line."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"awspatterns.sandbox.server" in command and str(home).encode() in command and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_for(predicate, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


# ------------------------------------------------------------------ one sandbox per home
def test_parallel_starts_share_one_server(home):
    go = home.parent / "go"
    program = (
        "import sys, time; from pathlib import Path; from awspatterns.sandbox import control\n"
        "print('ready', flush=True)\n"
        "while not Path(sys.argv[2]).exists(): time.sleep(0.001)\n"  # all start at once, after their imports
        "print(control.start(Path(sys.argv[1])).pid)"
    )
    starters = [
        subprocess.Popen([sys.executable, "-c", program, str(home), str(go)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for starter in starters:
        assert starter.stdout is not None and starter.stdout.readline().strip() == "ready"
    go.touch()
    pids = {starter.communicate(timeout=120)[0].strip() for starter in starters}
    assert all(starter.returncode == 0 for starter in starters)
    assert len(pids) == 1 and servers_of(home) == [int(pids.pop())]
    assert control.stop(home) is True
    assert servers_of(home) == []


def test_parallel_deploys_auto_start_one_sandbox_and_say_when_they_collide(home, tmp_path):
    assembly = synth(get_pattern("s3-fanout"), tmp_path / "cdk.out").directory
    pattern = get_pattern("s3-fanout")
    outcomes: list[object] = []

    def deploy() -> None:
        try:
            outcomes.append(SandboxTarget(home, autostart=True).deploy(pattern, assembly, lambda _: None))
        except DeployError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=deploy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(servers_of(home)) == 1
    assert len(outcomes) == 2
    for outcome in outcomes:
        # each deploy either succeeds or says another one is under way; never "failed: no reason recorded"
        assert isinstance(outcome, dict) or "another deploy" in str(outcome), outcome
    assert any(isinstance(outcome, dict) for outcome in outcomes)


# ------------------------------------------------------------------ never forget a live server
def test_a_server_that_stops_answering_is_never_forgotten(home):
    info = control.start(home)
    os.kill(info.pid, signal.SIGSTOP)
    try:
        assert control.status(home) == info  # still known, though it does not answer
        assert not info.answers(timeout_s=0.5)
        with pytest.raises(control.SandboxError, match="did not answer"):
            control.start(home, timeout_s=1)
        assert servers_of(home) == [info.pid]  # no second server
        shown = cli("sandbox", "status", home=home)
        assert shown.returncode == 0 and "NOT ANSWERING" in shown.stdout
    finally:
        assert control.stop(home) is True
    assert not alive(info.pid)


# ------------------------------------------------------------------ nothing outlives the sandbox
def test_stop_during_an_invocation_ends_the_environment_and_what_its_handler_forked(home):
    info = control.start(home)
    session = info.session()
    create_function(session, "forker", FORKER, timeout=60)
    session.client("lambda").invoke(FunctionName="forker", InvocationType="Event", Payload=b'{"sleep": 60}')
    left = wait_for(lambda: len(control.leftover_processes(home)) >= 3 and control.leftover_processes(home))
    assert control.stop(home) is True
    assert not any(alive(pid) for pid in left)


def test_the_next_start_reaps_what_a_killed_sandbox_left_running(home):
    info = control.start(home)
    session = info.session()
    create_function(session, "forker", FORKER, timeout=60)
    session.client("lambda").invoke(FunctionName="forker", InvocationType="Event", Payload=b'{"sleep": 60}')
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(StackName="Database", TemplateBody=json.dumps(CLUSTER))
    assert cloudformation.describe_stacks(StackName="Database")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    left = wait_for(lambda: len(control.leftover_processes(home)) >= 4 and control.leftover_processes(home))
    commands = {(Path("/proc") / str(pid) / "comm").read_text().strip() for pid in left}
    assert "postgres" in commands and "sleep" in commands

    os.kill(info.pid, signal.SIGKILL)  # a crash: the server cannot clean up
    wait_for(lambda: not alive(info.pid))
    assert all(alive(pid) for pid in left), "the orphans this test reaps should exist before the next start"

    restarted = control.start(home)
    assert restarted.pid != info.pid
    assert not any(alive(pid) for pid in left)
    assert control.leftover_processes(home) == []


# ------------------------------------------------------------------ damaged state, unusable homes
@pytest.mark.parametrize("damage", ["", "{", '{"endpoint_url": "http://localhost:1"}', "[1, 2]"])
def test_a_damaged_state_file_gets_a_clear_error_and_stop_still_works(home, damage):
    info = control.start(home)
    (home / "state.json").write_text(damage)
    with pytest.raises(control.SandboxError, match=r"state file .* is damaged.*patterns sandbox stop"):
        control.status(home)
    shown = cli("sandbox", "status", home=home)
    assert shown.returncode == 2 and shown.stderr.startswith("patterns: error: the sandbox's state file")
    assert "Traceback" not in shown.stderr and len(shown.stderr.strip().splitlines()) == 1
    stopped = cli("sandbox", "stop", home=home)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "sandbox stopped"
    assert not alive(info.pid)


def test_a_home_that_is_not_a_directory_gets_a_clear_error(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a directory")
    with pytest.raises(control.SandboxError, match=r"cannot use .* as the sandbox home"):
        control.start(home)
    shown = cli("sandbox", "start", home=home)
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert "set AWSPATTERNS_SANDBOX_HOME to a writable directory" in shown.stderr


def test_a_lost_connection_is_reported_with_the_log_to_read(home):
    info = control.start(home)
    os.kill(info.pid, signal.SIGKILL)
    wait_for(lambda: not alive(info.pid))
    lost = rf"stopped answering at {info.endpoint_url}.*server\.log"
    with pytest.raises(control.SandboxError, match=lost), answering(info):
        info.session().client("cloudformation").list_stacks()
    assert isinstance(_raised_inside(info), EndpointConnectionError)
    shown = cli("outputs", "s3-fanout", home=home)
    assert shown.returncode == 2 and "no sandbox is running" in shown.stderr


def _raised_inside(info):
    try:
        info.session().client("cloudformation").list_stacks()
    except Exception as error:
        return error
    return None


# ------------------------------------------------------------------ status, logs, work directory
def test_status_says_running_or_exits_non_zero(home):
    assert cli("sandbox", "status", home=home).returncode == 3
    stopped = json.loads(cli("sandbox", "status", "--json", home=home).stdout)
    assert stopped["running"] is False
    control.start(home)
    running = cli("sandbox", "status", "--json", home=home)
    assert running.returncode == 0
    shown = json.loads(running.stdout)
    assert shown["running"] is True and shown["answering"] is True


def test_start_rotates_a_large_log_and_empties_the_work_directory(home):
    home.mkdir()
    (home / "server.log").write_bytes(b"x" * (control.MAX_LOG_BYTES + 1))
    (home / "work").mkdir()
    (home / "work" / "left-over").write_text("from a previous run")
    control.start(home)
    assert (home / "server.log.1").stat().st_size > control.MAX_LOG_BYTES
    assert (home / "server.log").stat().st_size < control.MAX_LOG_BYTES
    assert not (home / "work" / "left-over").exists()


# ------------------------------------------------------------------ listeners answer this machine only
def _get(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (the local sandbox)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_listeners_refuse_foreign_hosts_and_send_no_cors_headers(home):
    info = control.start(home)
    port = info.endpoint_url.rsplit(":", 1)[1]
    status_code, headers = _get(f"{info.endpoint_url}/moto-api/", Origin="https://evil.example")
    assert status_code == 200 and "Access-Control-Allow-Origin" not in headers
    assert _get(f"{info.endpoint_url}/moto-api/", Host=f"evil.example:{port}")[0] == 403
    assert _get(f"{info.endpoint_url}/moto-api/", Host=f"127.0.0.1:{port}")[0] == 200
    assert _get(f"{info.endpoint_url}/moto-api/", Host=f"bucket.localhost:{port}")[0] == 200
    assert _get(f"{info.control_url}/status")[0] == 200
    assert _get(f"{info.control_url}/status", Host="rebound.example")[0] == 403
    gateway_port = info.api_endpoint.rsplit(":", 1)[1]
    assert _get(f"{info.api_endpoint}/")[0] == 200
    assert _get(f"{info.api_endpoint}/", Host=f"evil.example:{gateway_port}")[0] == 403


def test_a_server_killed_mid_deploy_is_reported_in_one_line_and_the_next_start_is_clean(home):
    info = control.start(home)
    env = {**os.environ, "AWSPATTERNS_SANDBOX_HOME": str(home)}
    deploy = subprocess.Popen(
        [sys.executable, "-m", "awspatterns.cli", "deploy", "s3-fanout"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert deploy.stderr is not None
    seen = []
    for line in deploy.stderr:
        seen.append(line)
        if "creating stack" in line:
            os.kill(info.pid, signal.SIGKILL)  # while CloudFormation creates the stack's resources
            break
    rest = deploy.stderr.read()
    assert deploy.wait(timeout=120) == 2, "".join(seen) + rest
    assert "Traceback" not in rest
    assert "stopped answering" in rest and str(info.log_file) in rest
    assert control.start(home).pid != info.pid
    assert control.leftover_processes(home) == []
