"""The local API Gateway against API Gateway's documented behaviour: routing, Lambda proxy events, TOKEN and
REQUEST authorizers (401/403, context, caching), request validation, AWS service integrations with mapping
templates, MOCK, and the gateway's own error responses."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest
from gateway_stack import build

from awspatterns.sandbox.inventory import inventory, leftovers
from awspatterns.targets import assembly_deployer


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Gateway:
    url: str
    session: Any
    queue_url: str
    functions: dict[str, str]

    def call(self, method, path, headers=None, body=None) -> Reply:
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def invocations(self, logical_id: str) -> int:
        """How many times a function ran (its START lines in CloudWatch Logs)."""
        logs = self.session.client("logs")
        group = f"/aws/lambda/{self.functions[logical_id]}"
        try:
            events = logs.filter_log_events(logGroupName=group, filterPattern="START")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return 0
        return sum(e["message"].startswith("START") for e in events)


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    """The conformance stack, synthesized once for every deployment in this module."""
    return build(tmp_path_factory.mktemp("gateway"))


def deploy(sandbox, assembly, account) -> Gateway:
    """Deploy the conformance stack into an account and return its gateway."""
    session = sandbox.session(account)
    assembly_deployer.bootstrap(session)
    outputs = sandbox.local_outputs(assembly_deployer.deploy_assembly(session, assembly, progress=lambda _: None))[
        "GatewayConformance"
    ]
    resources = session.client("cloudformation").describe_stack_resources(StackName="GatewayConformance")
    functions = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r["ResourceType"] == "AWS::Lambda::Function"
    }
    api_url = next(v for k, v in outputs.items() if k.startswith("ApiEndpoint"))
    assert api_url.startswith(sandbox.api_endpoint + "/")
    return Gateway(api_url.rstrip("/"), session, outputs["QueueUrl"], functions)


@pytest.fixture(scope="module")
def gateway(sandbox, assembly):
    session = sandbox.session("301000000001")
    assembly_deployer.bootstrap(session)
    before = inventory(session)
    gateway = deploy(sandbox, assembly, "301000000001")
    yield gateway
    assembly_deployer.destroy_stacks(session, ["GatewayConformance"], progress=lambda _: None)
    assert leftovers(before, inventory(session)) == {}


def function_id(gateway, prefix):
    return next(k for k in gateway.functions if k.startswith(prefix))


ALLOW = {"Authorization": "Bearer allow-ann"}


# ------------------------------------------------------------------ routing and the Lambda proxy event
def test_lambda_proxy_event_carries_path_query_stage_and_authorizer_context(gateway):
    reply = gateway.call("GET", "/items/42?colour=red&colour=blue", ALLOW)
    assert reply.status == 200 and reply.headers["X-Echo"] == "yes"
    event = reply.json
    assert event["resource"] == "/items/{id}" and event["path"] == "/items/42" and event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"colour": "blue"}
    assert event["multiValueQueryStringParameters"] == {"colour": ["red", "blue"]}
    assert event["stageVariables"] == {"tier": "gold"}
    context = event["requestContext"]
    assert context["stage"] == "test" and context["path"] == "/test/items/42" and context["accountId"] == "301000000001"
    assert context["resourcePath"] == "/items/{id}" and context["requestId"] == reply.headers["x-amzn-RequestId"]
    # REST APIs pass the authorizer's context values as strings.
    assert context["authorizer"]["principalId"] == "ann"
    assert context["authorizer"]["user"] == "ann" and context["authorizer"]["tier"] == "3"
    assert context["authorizer"]["admin"] == "true"
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_routing_prefers_literal_then_parameter_then_greedy_paths(gateway):
    assert gateway.call("GET", "/items/special", ALLOW).json == {"literal": True}  # MOCK, not /items/{id}
    greedy = gateway.call("DELETE", "/files/reports/2026/11/summary.csv").json  # ANY method
    assert greedy["pathParameters"] == {"path": "reports/2026/11/summary.csv"} and greedy["httpMethod"] == "DELETE"


@pytest.mark.parametrize("method, path", [("GET", "/nowhere"), ("POST", "/items/42"), ("GET", "/files")])
def test_unknown_paths_and_methods_are_403_missing_authentication_token(gateway, method, path):
    reply = gateway.call(method, path, ALLOW)
    assert reply.status == 403 and reply.json == {"message": "Missing Authentication Token"}


def test_an_unknown_stage_is_403_too(gateway):
    url = gateway.url.rsplit("/", 1)[0] + "/prod/items/1"
    reply = Gateway(url, gateway.session, "", {}).call("GET", "", ALLOW)
    assert reply.status == 403


def test_proxy_response_status_headers_and_binary_bodies_pass_through(gateway):
    reply = gateway.call("GET", "/files/x?status=418", {"Content-Type": "application/octet-stream"})
    assert reply.status == 418 and reply.headers["Set-Cookie"] == "a=1, b=2"
    binary = gateway.call("PUT", "/files/blob", {"Content-Type": "application/octet-stream"}, bytes(range(256)))
    event = binary.json
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == bytes(range(256))


@pytest.mark.parametrize("query", ["fail=1", "malformed=1"])
def test_a_failing_or_malformed_proxy_function_is_502(gateway, query):
    reply = gateway.call("GET", f"/files/x?{query}")
    assert reply.status == 502 and reply.json == {"message": "Internal server error"}


def test_a_request_over_10_mib_is_413(gateway):
    reply = gateway.call("POST", "/files/big", {"Content-Type": "text/plain"}, b"x" * (10 * 1024 * 1024 + 1))
    assert reply.status == 413


# ------------------------------------------------------------------ TOKEN authorizer
def test_missing_token_is_401_with_the_apis_customised_gateway_response(gateway):
    reply = gateway.call("GET", "/items/1")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == "Bearer" and reply.json == {"error": "Unauthorized"}


def test_a_token_failing_the_validation_expression_is_401_without_calling_the_authorizer(gateway):
    authorizer = function_id(gateway, "TokenAuthorizerFunction")
    before = gateway.invocations(authorizer)
    assert gateway.call("GET", "/items/1", {"Authorization": "Basic dXNlcjpwYXNz"}).status == 401
    assert gateway.invocations(authorizer) == before


@pytest.mark.parametrize(
    "token, status, body",
    [
        ("deny", 403, {"Message": "User is not authorized to access this resource with an explicit deny"}),
        ("nope", 401, {"error": "Unauthorized"}),
        ("boom", 500, {"message": None}),
        ("odd", 500, {"message": None}),
    ],
)
def test_authorizer_answers_map_to_api_gateway_statuses(gateway, token, status, body):
    reply = gateway.call("GET", f"/items/{token}", {"Authorization": f"Bearer {token}"})
    assert (reply.status, reply.json) == (status, body)


def test_authorizer_results_are_cached_per_token_and_the_cached_policy_applies_to_other_methods(gateway):
    authorizer = function_id(gateway, "TokenAuthorizerFunction")
    before = gateway.invocations(authorizer)
    bob = {"Authorization": "Bearer items-bob", "Content-Type": "application/json"}
    assert gateway.call("GET", "/items/7", bob).status == 200
    assert gateway.call("GET", "/items/8", bob).status == 200
    denied = gateway.call("POST", "/orders?channel=web", bob, '{"sku": "a", "quantity": 1}')
    assert denied.status == 403 and denied.json == {"Message": "User is not authorized to access this resource"}
    assert gateway.invocations(authorizer) == before + 1  # one call, then the cache (TTL 300 s)


# ------------------------------------------------------------------ REQUEST authorizer
def test_request_authorizer_sees_headers_and_query_and_is_not_cached_with_ttl_zero(gateway):
    authorizer = function_id(gateway, "RequestAuthorizerFunction")
    before = gateway.invocations(authorizer)
    allowed = gateway.call("GET", "/tenants?key=acme-key", {"X-Tenant": "acme"})
    assert allowed.status == 200
    assert allowed.json["requestContext"]["authorizer"]["tenant"] == "acme"
    assert allowed.json["requestContext"]["authorizer"]["principalId"] == "tenant-acme"
    assert gateway.call("GET", "/tenants?key=acme-key", {"X-Tenant": "acme"}).status == 200
    assert gateway.call("GET", "/tenants?key=wrong", {"X-Tenant": "acme"}).status == 403
    assert gateway.invocations(authorizer) == before + 3


# ------------------------------------------------------------------ validation and the SQS integration
ORDER = {"Authorization": "Bearer allow-ann", "Content-Type": "application/json"}


def test_a_valid_order_goes_straight_to_sqs_through_the_mapping_template(gateway):
    reply = gateway.call("POST", "/orders?channel=web", ORDER, '{"sku": "café & co", "quantity": 2}')
    assert reply.status == 202 and reply.headers["X-Queued"] == "yes"
    assert reply.json == {"queued": True, "stage": "test", "tier": "gold"}
    sqs = gateway.session.client("sqs")
    messages = sqs.receive_message(QueueUrl=gateway.queue_url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(messages[0]["Body"]) == {"sku": "café & co", "quantity": 2}
    assert messages[0]["MessageAttributes"]["principal"]["StringValue"] == "ann"


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("/orders", '{"sku": "a", "quantity": 1}', "Missing required request parameters: [channel]"),
        ("/orders?channel=web", '{"sku": "a", "quantity": 0}', "Invalid request body"),
        ("/orders?channel=web", '{"sku": "a"}', "Invalid request body"),
        ("/orders?channel=web", '{"sku": 5, "quantity": 1}', "Invalid request body"),
        ("/orders?channel=web", "{not json", "Invalid request body"),
    ],
)
def test_invalid_orders_are_rejected_with_400_and_never_reach_the_queue(gateway, path, body, message):
    reply = gateway.call("POST", path, ORDER, body)
    assert (reply.status, reply.json) == (400, {"message": message})
    sqs = gateway.session.client("sqs")
    assert sqs.receive_message(QueueUrl=gateway.queue_url, WaitTimeSeconds=0).get("Messages", []) == []


def test_a_content_type_without_a_template_is_415_when_passthrough_is_never(gateway):
    reply = gateway.call("POST", "/orders?channel=web", {**ORDER, "Content-Type": "text/plain"}, "sku=a")
    assert reply.status == 415


# ------------------------------------------------------------------ functions that are gone
def test_a_deleted_function_is_api_gateways_500_not_a_dropped_connection(sandbox, assembly):
    """API Gateway answers 500 when it cannot call the function at all (a Lambda error would be 502); the sandbox's
    log says which function and why. The account is this test's own and its stack stays: deleting it fails on the
    functions deleted out of band (CloudFormation would count them as deleted)."""
    gateway = deploy(sandbox, assembly, "301000000002")
    functions = gateway.session.client("lambda")
    echo = gateway.functions[function_id(gateway, "Echo")]
    authorizer = gateway.functions[function_id(gateway, "TokenAuthorizerFunction")]
    functions.delete_function(FunctionName=echo)
    reply = gateway.call("GET", "/files/x")
    assert (reply.status, reply.json) == (500, {"message": "Internal server error"})
    functions.delete_function(FunctionName=authorizer)
    reply = gateway.call("GET", "/items/1", ALLOW)
    assert (reply.status, reply.json) == (500, {"message": None})  # AUTHORIZER_CONFIGURATION_ERROR
    log = sandbox.log_file.read_text()
    assert f"could not invoke arn:aws:lambda:us-east-1:301000000002:function:{echo}" in log
    assert f"could not invoke the authorizer arn:aws:lambda:us-east-1:301000000002:function:{authorizer}" in log
