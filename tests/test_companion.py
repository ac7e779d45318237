"""The Run-it companion refuses everything but same-origin requests for a known pattern and command."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from awspatterns.companion import make_server


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>catalog</h1>")
    server = make_server(tmp_path / "site", port=0, env={"AWSPATTERNS_SANDBOX_HOME": str(tmp_path / "none")})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def post(port: int, body: object, **headers: str) -> tuple[int, str]:
    own = f"127.0.0.1:{port}"
    sent = {"Host": own, "Origin": f"http://{own}", "Content-Type": "application/json"} | headers
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/api/run", body=json.dumps(body), headers=sent)
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_it_listens_on_loopback_only(tmp_path: Path) -> None:
    server = make_server(tmp_path, port=0)
    assert server.server_address[0] == "127.0.0.1"
    server.server_close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Host": "rebound.example:8000"}, 403),
        ({"Content-Type": "text/plain"}, 415),
    ],
)
def test_cross_origin_rebound_and_simple_requests_are_refused(port: int, headers: dict[str, str], status: int) -> None:
    assert post(port, {"slug": "s3-fanout", "command": "run"}, **headers)[0] == status


def test_a_request_without_origin_is_refused(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"slug": "s3-fanout", "command": "run"})
    connection.request("POST", "/api/run", body=body, headers={"Content-Type": "application/json"})
    assert connection.getresponse().status == 403


@pytest.mark.parametrize(
    "body",
    [
        {"slug": "../../etc", "command": "run"},
        {"slug": "s3-fanout", "command": "sandbox"},
        {"slug": "s3-fanout; rm -rf /", "command": "run"},
        {"slug": "s3-fanout"},
        ["s3-fanout", "run"],
    ],
)
def test_only_known_slugs_and_commands_run(port: int, body: object) -> None:
    assert post(port, body)[0] == 400


def test_without_a_sandbox_the_stream_says_how_to_start_one(port: int) -> None:
    status, text = post(port, {"slug": "s3-fanout", "command": "deploy"})
    events = [json.loads(line) for line in text.splitlines()]
    assert status == 200
    assert events[0] == {"type": "start", "command": "patterns deploy s3-fanout --target sandbox"}
    assert events[-1]["type"] == "error" and "patterns sandbox start" in events[-1]["message"]


def test_the_site_is_served_and_the_panel_learns_the_companion_is_here(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/assets/companion.js")
    assert "window.AWSPATTERNS_COMPANION = {" in connection.getresponse().read().decode()
    connection.request("GET", "/", headers={"Host": "attacker.example"})
    assert connection.getresponse().status == 403
