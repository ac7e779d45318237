"""The demo issuer block's key generator (``DemoIssuer``'s custom resource): the key it makes signs tokens its
published JWKS verifies, an update rotates it, and every failure is reported to CloudFormation instead of hanging
the stack. moto in-process; a local HTTP server stands in for CloudFormation's pre-signed ResponseURL.

The template of a stack with a ``DemoIssuer`` (least privilege on the secret, the public JWKS method) is asserted by
tests/examples/test_api_authorizer.py; both api-authorizer and s3-presigned-upload deploy it end to end.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import jwt
import pytest
from moto import mock_aws

from awspatterns.blocks.demo_issuer_handler import index


class ResponseUrl:
    """A local stand-in for CloudFormation's pre-signed ResponseURL that keeps what it was sent."""

    def __init__(self) -> None:
        outer = self
        self.responses: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                outer.responses.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/response"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def response_url():
    stand_in = ResponseUrl()
    yield stand_in
    stand_in.server.shutdown()


@pytest.fixture
def keygen(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        secret = boto3.client("secretsmanager").create_secret(Name="signing-key", SecretString="placeholder")["ARN"]
        yield index, secret


def custom_resource_event(request_type: str, response_url: str, properties: dict[str, Any]) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:keygen",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/ApiAuthorizer/1",
        "RequestId": "req-1",
        "LogicalResourceId": "DemoIssuerKey",
        "ResourceType": "Custom::SigningKey",
        "ResourceProperties": {"ServiceToken": "x", **properties},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = "old-kid"
    return event


def test_create_generates_a_key_stores_it_and_returns_its_public_jwks(keygen, response_url, lambda_context):
    module, secret = keygen
    module.handler(custom_resource_event("Create", response_url.url, {"SecretArn": secret}), lambda_context)
    [response] = response_url.responses
    assert response["Status"] == "SUCCESS"
    kid = response["PhysicalResourceId"]
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])
    assert stored["kid"] == kid == response["Data"]["Kid"]
    [jwk] = json.loads(response["Data"]["Jwks"])["keys"]
    assert (jwk["kid"], jwk["alg"], jwk["use"], jwk["kty"]) == (kid, "RS256", "sig", "RSA")
    assert "d" not in jwk and "PRIVATE" not in response["Data"]["Jwks"]
    # the stored private key signs tokens that the published public key verifies
    token = jwt.encode({"sub": "x"}, stored["privateKeyPem"], algorithm="RS256", headers={"kid": kid})
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(token, public, algorithms=["RS256"]) == {"sub": "x"}
    assert len(json.dumps(response)) < 4096  # CloudFormation's limit on a custom resource's response


def test_an_update_rotates_the_key_and_delete_keeps_nothing_to_clean(keygen, response_url, lambda_context):
    module, secret = keygen
    module.handler(custom_resource_event("Create", response_url.url, {"SecretArn": secret}), lambda_context)
    module.handler(
        custom_resource_event("Update", response_url.url, {"SecretArn": secret, "KeyVersion": "2"}), lambda_context
    )
    module.handler(custom_resource_event("Delete", response_url.url, {"SecretArn": secret}), lambda_context)
    created, updated, deleted = response_url.responses
    assert created["PhysicalResourceId"] != updated["PhysicalResourceId"]
    assert (deleted["Status"], deleted["PhysicalResourceId"]) == ("SUCCESS", "old-kid")


def test_a_failure_is_reported_to_cloudformation_instead_of_hanging_the_stack(keygen, response_url, lambda_context):
    module, _ = keygen
    module.handler(
        custom_resource_event("Create", response_url.url, {"SecretArn": "arn:aws:secretsmanager:us-east-1:1:x"}),
        lambda_context,
    )
    [response] = response_url.responses
    assert response["Status"] == "FAILED" and "ResourceNotFound" in response["Reason"]
    module.handler(custom_resource_event("Create", response_url.url, {}), lambda_context)  # no SecretArn
    assert response_url.responses[-1]["Status"] == "FAILED"


def test_a_malformed_custom_resource_event_raises(keygen, lambda_context):
    module, _ = keygen
    with pytest.raises(Exception, match="validation error"):
        module.handler({"RequestType": "Create"}, lambda_context)
