"""The local API Gateway's AWS service integrations against API Gateway's documented behaviour: the integration's
execution role is assumed and its policy enforced, request bodies are validated against the method's JSON-schema
model (``{"message": "Invalid request body"}``, with ``$context.error.validationErrorString`` for a customised
gateway response), and stage and method throttling answer ``429 {"message": "Too Many Requests"}``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from gateway_queue_stack import build
from moto.iam.models import IAMBackend

from awspatterns.sandbox.gateway import credentials, throttling, validation
from awspatterns.sandbox.gateway.messages import GatewayError
from awspatterns.sandbox.inventory import inventory, leftovers
from awspatterns.targets import assembly_deployer

ACCOUNT = "301000000011"
JSON = {"Content-Type": "application/json"}


class Api:
    def __init__(self, url: str, session: Any, outputs: dict[str, str]) -> None:
        self.url, self.session, self.outputs = url, session, outputs

    def call(self, method: str, path: str, body: str | bytes | None = None, headers: dict[str, str] | None = None):
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or JSON)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def queued(self, key: str = "QueueUrl") -> list[str]:
        sqs = self.session.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.outputs[key], MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in messages.get("Messages", []):
            sqs.delete_message(QueueUrl=self.outputs[key], ReceiptHandle=message["ReceiptHandle"])
        return [m["Body"] for m in messages.get("Messages", [])]


@pytest.fixture(scope="module")
def api(sandbox, tmp_path_factory):
    session = sandbox.session(ACCOUNT)
    assembly_deployer.bootstrap(session)
    before = inventory(session)
    assembly = build(tmp_path_factory.mktemp("gateway-queue"))
    outputs = sandbox.local_outputs(assembly_deployer.deploy_assembly(session, assembly, progress=lambda _: None))[
        "GatewayQueueConformance"
    ]
    url = next(v for k, v in outputs.items() if k.startswith("ApiEndpoint")).rstrip("/")
    yield Api(url, session, outputs)
    assembly_deployer.destroy_stacks(session, ["GatewayQueueConformance"], progress=lambda _: None)
    assert leftovers(before, inventory(session)) == {}


# ------------------------------------------------------------------ the integration's execution role
def test_the_integration_sends_as_its_role_and_answers_with_the_message_id(api):
    status, body = api.call("POST", "/notes", '{"title": "hello \\"you\\"", "copies": 2}')
    assert status == 202 and len(body["messageId"]) == 36
    assert [json.loads(b) for b in api.queued()] == [{"title": 'hello "you"', "copies": 2}]


def test_the_roles_calls_are_recorded_under_its_session(sandbox, api):
    api.call("POST", "/notes", '{"title": "recorded", "copies": 1}')
    api.queued()
    recorded = sandbox.permissions(ACCOUNT)
    sender = next(arn for arn in recorded if ":role/" in arn and "Sender" in arn)
    assert {(r["action"], r["decision"]) for r in recorded[sender]} == {("sqs:SendMessage", "allowed")}


def test_a_role_whose_policy_does_not_allow_the_call_is_refused_by_sqs_and_nothing_is_queued(api):
    status, body = api.call("POST", "/denied", '{"title": "x", "copies": 1}')
    assert (status, body["message"]) == (500, "not queued")
    assert "AccessDenied" in body["status"]
    assert api.queued() == [] and api.queued("OtherQueueUrl") == []


def test_a_role_that_does_not_trust_api_gateway_is_a_configuration_error(api):
    status, body = api.call("POST", "/untrusted", '{"title": "x", "copies": 1}')
    assert (status, body) == (500, {"message": "Internal server error"})
    assert api.queued() == []


def test_trust_policies_admit_only_api_gateway_statements():
    allow = {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
    lambda_only = {**allow, "Principal": {"Service": ["lambda.amazonaws.com"]}}
    deny = {**allow, "Effect": "Deny"}
    assert credentials.trusts({"Statement": [allow]})
    assert credentials.trusts(json.dumps({"Statement": allow}))
    assert not credentials.trusts({"Statement": [lambda_only]})
    assert not credentials.trusts({"Statement": [allow, deny]})


def test_the_moto_internals_the_gateway_calls_still_exist():
    assert ((IAMBackend, "get_role_by_arn"),) == credentials.MOTO_CALLS
    for owner, attribute in credentials.MOTO_CALLS:
        assert callable(getattr(owner, attribute))


# ------------------------------------------------------------------ request validation
@pytest.mark.parametrize(
    "body, errors",
    [
        ('{"title": "x"}', '[object has missing required properties (["copies"])]'),
        (
            '{"title": "x", "copies": "2"}',
            '[instance type (string) does not match any allowed primitive type (allowed: ["integer"])]',
        ),
        (
            '{"title": "x", "copies": 9}',
            "[numeric instance is greater than the required maximum (maximum: 5, found: 9)]",
        ),
        (
            '{"title": "' + "x" * 21 + '", "copies": 1}',
            '[string "' + "x" * 21 + '" is too long (length: 21, maximum allowed: 20)]',
        ),
        (
            '{"title": "x", "copies": 1, "extra": true}',
            '[object instance has properties which are not allowed by the schema: ["extra"]]',
        ),
        (
            '{"title": "x", "copies": 1, "tags": ["a", "b", "c"]}',
            "[array is too long: must have at most 2 elements but instance has 3 elements, "
            'instance value ("c") not found in enum (possible values: ["a","b"])]',
        ),
        ("[]", '[instance type (array) does not match any allowed primitive type (allowed: ["object"])]'),
        ("", '[instance type (null) does not match any allowed primitive type (allowed: ["object"])]'),
    ],
)
def test_a_body_that_does_not_match_the_model_is_400_with_the_validation_errors(api, body, errors):
    status, answer = api.call("POST", "/notes", body)
    assert (status, answer) == (400, {"message": "Invalid request body", "errors": errors})
    assert api.queued() == []


def test_a_body_that_is_not_json_is_400_and_nothing_is_queued(api):
    status, answer = api.call("POST", "/notes", '{"title": "x", ')
    assert (status, answer["message"]) == (400, "Invalid request body")
    assert answer["errors"].startswith("[Invalid JSON: ")
    assert api.queued() == []


def test_without_a_gateway_response_the_default_body_is_apis_own():
    with pytest.raises(GatewayError) as raised:
        validation.check_body(b'{"a": 1}', {"type": "object", "required": ["b"]}, "M")
    assert (raised.value.response_type, raised.value.message) == ("BAD_REQUEST_BODY", "Invalid request body")
    assert raised.value.validation_error_string == '[object has missing required properties (["b"])]'
    integer = {"properties": {"b": {"type": "integer"}}}
    assert validation.body_errors(b'{"b": 1}', integer) == []
    assert validation.body_errors(b'{"b": 1.0}', integer) == [
        'instance type (number) does not match any allowed primitive type (allowed: ["integer"])'
    ]


def test_a_content_type_without_a_template_is_415(api):
    status, _ = api.call("POST", "/notes", "title=x", {"Content-Type": "text/plain"})
    assert status == 415
    assert api.queued() == []


# ------------------------------------------------------------------ throttling
def test_a_method_over_its_burst_is_429_too_many_requests(api):
    answers = [api.call("GET", "/throttled") for _ in range(4)]
    assert [status for status, _ in answers].count(200) == 2
    assert answers[-1] == (429, {"message": "Too Many Requests"})


def test_stage_settings_changed_by_update_stage_apply_at_once(api):
    client = api.session.client("apigateway")
    api_id, stage = api.url.rsplit("/", 2)[-2:]
    client.update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[{"op": "replace", "path": "/~1notes/POST/throttling/burstLimit", "value": "0"}],
    )
    try:
        assert api.call("POST", "/notes", '{"title": "x", "copies": 1}') == (429, {"message": "Too Many Requests"})
        assert api.queued() == []
    finally:
        client.update_stage(
            restApiId=api_id,
            stageName=stage,
            patchOperations=[{"op": "replace", "path": "/~1notes/POST/throttling/burstLimit", "value": "500"}],
        )
    assert api.call("POST", "/notes", '{"title": "x", "copies": 1}')[0] == 202
    assert len(api.queued()) == 1


class _Stage:
    name = "v1"

    def __init__(self, settings: dict[str, dict[str, Any]]) -> None:
        self.method_settings = settings


class _Api:
    account_id, region_name, id = "123456789012", "us-east-1", "a1"


def test_method_settings_override_stage_settings_and_the_bucket_refills_at_the_rate():
    stage = _Stage(
        {"*/*": {"throttlingRateLimit": 100.0, "throttlingBurstLimit": 7}, "~1a/GET": {"throttlingBurstLimit": 1}}
    )
    assert throttling.method_limit(stage, "/a", "GET") == throttling.Limit(
        100.0, 1, "stage v1 method settings ~1a/GET/*/*"
    )
    assert throttling.method_limit(stage, "/b", "GET") == throttling.Limit(100.0, 7, "stage v1 method settings */*")
    assert throttling.method_limit(_Stage({}), "/b", "GET") is None
    throttles = throttling.Throttles()
    throttles.admit(_Api, stage, "/a", "GET")
    with pytest.raises(GatewayError) as raised:
        throttles.admit(_Api, stage, "/a", "GET")
    assert raised.value.response_type == "THROTTLED"
    time.sleep(0.02)  # 100 tokens a second: one is back after 10 ms
    throttles.admit(_Api, stage, "/a", "GET")


def test_the_account_quota_applies_across_apis():
    throttles = throttling.Throttles(account_rate=0.001, account_burst=2)
    throttles.admit(_Api, _Stage({}), "/a", "GET")
    throttles.admit(_Api, _Stage({}), "/b", "POST")
    with pytest.raises(GatewayError):
        throttles.admit(_Api, _Stage({}), "/c", "GET")
