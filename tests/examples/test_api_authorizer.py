"""api-authorizer: template assertions, the cdk-nag gate, the items handler's unit tests and bad input.

The authorizer function's own suite (one test per attack class) is tests/test_jwt_authorizer.py, since the function
is the shared ``JwtAuthorizer`` block; the key generator's is tests/test_demo_issuer.py (the ``DemoIssuer`` block).
The end-to-end tests, which send the same attacks through the sandbox's API Gateway, are in
tests/e2e/test_api_authorizer_e2e.py.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk.assertions import Match, Template

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
