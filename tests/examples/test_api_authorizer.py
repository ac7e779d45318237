"""api-authorizer: template assertions, the cdk-nag gate, handler unit tests (moto in-process) and bad input.

The authorizer function's own suite (one test per attack class) is tests/test_jwt_authorizer.py, since the function
is the shared ``JwtAuthorizer`` block; the end-to-end tests, which send the same attacks through the sandbox's API
Gateway, are in tests/e2e/test_api_authorizer_e2e.py.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aws_cdk as cdk
import boto3
import jwt
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk.assertions import Match, Template
from moto import mock_aws

from awspatterns.blocks.jwt_authorizer import TOKEN_VALIDATION_REGEX
from awspatterns.catalog import get_pattern
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "api-authorizer"


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["ApiAuthorizer"])


def resources(template: Template, type_: str) -> dict[str, Any]:
    return dict(template.find_resources(type_))


def test_both_items_routes_need_the_jwt_authorizer_and_its_regex_and_cache(template):
    [authorizer] = resources(template, "AWS::ApiGateway::Authorizer").keys()
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "TOKEN",
            "IdentityValidationExpression": TOKEN_VALIDATION_REGEX,
            "AuthorizerResultTtlInSeconds": 300,
        },
    )
    methods = {
        m["Properties"]["HttpMethod"]: m["Properties"]
        for m in resources(template, "AWS::ApiGateway::Method").values()
        if m["Properties"].get("AuthorizationType") == "CUSTOM"
    }
    assert set(methods) == {"GET", "POST"}
    assert all(m["AuthorizerId"] == {"Ref": authorizer} for m in methods.values())
    assert methods["POST"]["RequestModels"]["application/json"]


def test_the_only_public_method_is_the_jwks(template):
    public = [
        m["Properties"]
        for m in resources(template, "AWS::ApiGateway::Method").values()
        if m["Properties"].get("AuthorizationType", "NONE") == "NONE"
    ]
    assert [(m["HttpMethod"], m["Integration"]["Type"]) for m in public] == [("GET", "MOCK")]


def test_the_authorizer_is_configured_with_the_issuers_jwks_url_and_the_route_scopes(template):
    functions = resources(template, "AWS::Lambda::Function")
    [variables] = [
        f["Properties"]["Environment"]["Variables"]
        for f in functions.values()
        if "JWKS_URL" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert json.loads(variables["ROUTE_SCOPES"]) == {"GET /items": ["items:read"], "POST /items": ["items:write"]}
    assert variables["AUDIENCE"] == "items-api"
    joined = json.dumps(variables["JWKS_URL"])
    assert "https://" in joined and "/.well-known/jwks.json" in joined


def test_the_key_generator_may_only_write_the_signing_key_secret(template):
    [secret] = resources(template, "AWS::SecretsManager::Secret").keys()
    policies = [
        p
        for name, p in resources(template, "AWS::IAM::Policy").items()
        if name.startswith("DemoIssuerKeyGenerator") and "XRay" not in name
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    secret_statements = [s for s in statements if "secretsmanager" in json.dumps(s["Action"])]
    assert secret_statements == [
        {"Action": "secretsmanager:PutSecretValue", "Effect": "Allow", "Resource": {"Ref": secret}}
    ]
    template.has_resource_properties(
        "Custom::SigningKey", {"SecretArn": {"Ref": secret}, "KeyVersion": "1", "ServiceToken": Match.any_value()}
    )


def test_no_function_may_read_the_signing_key(template):
    for name, policy in resources(template, "AWS::IAM::Policy").items():
        assert "GetSecretValue" not in json.dumps(policy), name


def test_stages_log_access_and_errors_without_data_and_trace(template):
    stages = resources(template, "AWS::ApiGateway::Stage").values()
    assert len(stages) == 2
    for stage in stages:
        properties = stage["Properties"]
        assert properties["TracingEnabled"] is True
        assert properties["AccessLogSetting"]["DestinationArn"]
        [settings] = properties["MethodSettings"]
        assert (settings["LoggingLevel"], settings["DataTraceEnabled"]) == ("ERROR", False)


def test_a_401_tells_the_client_to_send_a_bearer_token(template):
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {"ResponseType": "UNAUTHORIZED", "ResponseParameters": {"gatewayresponse.header.WWW-Authenticate": "'Bearer'"}},
    )


def test_the_stack_outputs_what_a_reader_needs_to_mint_tokens(template):
    outputs = template.to_json()["Outputs"]
    for name in ("ApiUrl", "ItemsUrl", "JwksUrl", "Issuer", "Audience", "SigningKeySecretArn", "SigningKeyId"):
        assert name in outputs


def test_the_stack_passes_the_nag_gate_without_acknowledging_any_wildcard_of_its_own(assemblies):
    assembly = assemblies[SLUG]
    assert nag_violations(assembly.directory) == []
    wildcards = {
        path
        for metadata_file in assembly.directory.glob("*.metadata.json")
        for path, entries in json.loads(metadata_file.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
        if "IAM5" in rule
    }
    assert {path.rsplit("/", 1)[-1] for path in wildcards} == {"XRay"}


def test_the_construct_protects_an_existing_api_with_any_issuer(tmp_path):
    module = load_stack_module(get_pattern(SLUG))
    app = cdk.App(outdir=str(tmp_path))  # no nag gate: the bare API here is the caller's, not the example's
    stack = cdk.Stack(app, "Existing")
    api = apigateway.RestApi(stack, "Existing")
    module.ProtectedItemsApi(
        stack,
        "Items",
        api=api,
        jwks_url="https://login.example.com/.well-known/jwks.json",
        issuer="https://login.example.com/",
        audience="api://items",
        results_cache_ttl=cdk.Duration.seconds(0),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::ApiGateway::Authorizer", {"AuthorizerResultTtlInSeconds": 0})
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {"JWKS_URL": "https://login.example.com/.well-known/jwks.json", "AUDIENCE": "api://items"}
                )
            }
        },
    )


# ---------------------------------------------------------------- the items handler
def proxy_event(method: str, body: Any = None, authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "resource": "/items",
        "path": "/items",
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/items",
            "httpMethod": method,
            "path": "/prod/items",
            "stage": "prod",
            "requestId": "r-1",
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": authorizer
            if authorizer is not None
            else {"principalId": "alice", "sub": "alice", "scope": "items:read items:write"},
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


@pytest.fixture
def items(handler_loader):
    return handler_loader(SLUG, "items.index")


def answer(items, event, lambda_context) -> tuple[int, Any]:
    response = items.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def test_get_items_echoes_the_caller_from_the_authorizer_context(items, lambda_context):
    status, body = answer(items, proxy_event("GET"), lambda_context)
    assert status == 200
    assert body["caller"] == {"sub": "alice", "scopes": ["items:read", "items:write"]}
    assert body["items"]


def test_post_items_accepts_a_valid_item_with_201(items, lambda_context):
    status, body = answer(items, proxy_event("POST", {"name": "stapler"}), lambda_context)
    assert (status, body["item"], body["caller"]["sub"]) == (201, {"name": "stapler"}, "alice")


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        [],
        {},
        {"name": 42},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "ok", "admin": True},
        "x" * 300_000,
    ],
    ids=["malformed-json", "array", "missing-name", "wrong-type", "empty", "too-long", "extra-field", "oversized"],
)
def test_post_items_refuses_bad_bodies_with_422(items, lambda_context, body):
    status, answer_body = answer(items, proxy_event("POST", body), lambda_context)
    assert status == 422, answer_body


def test_a_request_without_authorizer_context_is_refused(items, lambda_context):
    status, _ = answer(items, proxy_event("GET", authorizer={}), lambda_context)
    assert status == 401


# ---------------------------------------------------------------- the key generator (custom resource)
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
def keygen(monkeypatch, handler_loader):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        module = handler_loader(SLUG, "keygen.index")
        secret = boto3.client("secretsmanager").create_secret(Name="signing-key", SecretString="placeholder")["ARN"]
        yield module, secret


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
