"""Faults inside the local gateway itself: whatever goes wrong, the client gets API Gateway's answer (502 from an
integration, 500 elsewhere, with its JSON message) instead of a dropped connection, and the log keeps the
traceback. In-process: the gateway's own code with a stand-in route, no sandbox server."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from awspatterns.sandbox.gateway import server
from awspatterns.sandbox.gateway.messages import GatewayRequest
from awspatterns.sandbox.gateway.server import LocalGateway, serve_gateway


def a_route(*_):
    """A matched route with no authorizer and no validation, as routing would return it."""
    api = SimpleNamespace(id="api", account_id="123456789012", region_name="us-east-1", gateway_responses={})
    method = SimpleNamespace(api_key_required=False, authorization_type="NONE", request_validator_id=None)
    return SimpleNamespace(
        api=api,
        method=method,
        resource=SimpleNamespace(id="res"),
        resource_path="/things",
        stage=SimpleNamespace(name="test", variables={}),
        path_parameters={},
    )


def fail(*_):
    raise KeyError("a bug in the sandbox")


@pytest.fixture
def gateway(monkeypatch):
    monkeypatch.setattr(server, "route", a_route)
    return LocalGateway(invoke=fail, aws_endpoint="http://localhost:1")


def request():
    return GatewayRequest(method="GET", path="/things", query={}, headers={}, body=b"")


def test_an_unexpected_error_in_the_integration_is_502(gateway, monkeypatch, caplog):
    monkeypatch.setattr(gateway.integrations, "run", fail)
    with caplog.at_level(logging.ERROR, logger="awspatterns.sandbox.gateway"):
        reply = gateway.handle("api", "test", request())
    assert (reply.status, json.loads(reply.body)) == (502, {"message": "Internal server error"})
    assert reply.headers["x-amzn-ErrorType"] == "INTEGRATION_FAILURE" and reply.headers["x-amzn-RequestId"]
    assert any(r.exc_info and "a bug in the sandbox" in str(r.exc_info[1]) for r in caplog.records)


def test_an_unexpected_error_before_the_integration_is_500(gateway, monkeypatch, caplog):
    monkeypatch.setattr(gateway, "_authorize", fail)
    with caplog.at_level(logging.ERROR, logger="awspatterns.sandbox.gateway"):
        reply = gateway.handle("api", "test", request())
    assert (reply.status, json.loads(reply.body)) == (500, {"message": "Internal server error"})
    assert any(r.exc_info for r in caplog.records)


def test_the_http_server_answers_500_when_serving_itself_fails(caplog):
    class Broken(LocalGateway):
        def handle(self, api_id, stage, request):
            raise RuntimeError("the gateway broke")

    http = serve_gateway(Broken(invoke=fail, aws_endpoint="http://localhost:1"))
    try:
        url = f"http://127.0.0.1:{http.server_address[1]}/api/test/things"
        with (
            caplog.at_level(logging.ERROR, logger="awspatterns.sandbox.gateway"),
            pytest.raises(urllib.error.HTTPError) as raised,
        ):
            urllib.request.urlopen(url, timeout=10)
        assert raised.value.code == 500
        assert json.loads(raised.value.read()) == {"message": "Internal server error"}
        assert any(r.exc_info and "the gateway broke" in str(r.exc_info[1]) for r in caplog.records)
    finally:
        http.shutdown()
        http.server_close()
