"""webhook-proxy: template assertions, the cdk-nag gate, handler unit tests (moto in-process) and bad input.

The end-to-end tests, which deploy the app into a sandbox account, are in tests/e2e/test_webhook_proxy_e2e.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk.assertions import Match, Template
from moto import mock_aws

from awspatterns.catalog import get_pattern
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "webhook-proxy"
SECRET = "provider-secret-1"
MAX = 256 * 1024


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["WebhookProxy"])


def actions_of(template: Template, role_prefix: str) -> set[str]:
    return {
        action
        for name, policy in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith(role_prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


def test_the_table_has_a_stream_of_new_images_and_a_ttl(template):
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "delivery_id", "KeyType": "HASH"}],
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_one_consumer_per_stage_reads_only_its_new_items_bisecting_and_parking_failures(template):
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 3
    stages = set()
    for mapping in mappings.values():
        properties = mapping["Properties"]
        [pattern] = [json.loads(f["Pattern"]) for f in properties["FilterCriteria"]["Filters"]]
        stage = pattern["dynamodb"]["NewImage"]["stage"]["S"][0]
        assert pattern == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"stage": {"S": [stage]}}}}
        stages.add(stage)
        assert properties["BisectBatchOnFunctionError"] is True
        assert properties["MaximumRetryAttempts"] == 2
        assert properties["MaximumRecordAgeInSeconds"] == 3600
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert properties["StartingPosition"] == "TRIM_HORIZON"
        destination = properties["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination["Fn::GetAtt"][0].startswith(f"Webhooks{stage.title()}Failures")
        assert properties["FunctionName"]["Ref"].startswith(f"Webhooks{stage.title()}Consumer")
    assert stages == {"dev", "test", "staging"}


def test_the_route_requires_the_signature_header_before_lambda_runs(template):
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "RequestParameters": {
                "method.request.header.Webhook-Signature": True,
                "method.request.path.provider": True,
            },
            "RequestValidatorId": Match.any_value(),
            "Integration": Match.object_like({"Type": "AWS_PROXY"}),
        },
    )
    template.has_resource_properties("AWS::ApiGateway::RequestValidator", {"ValidateRequestParameters": True})


def test_functions_may_do_exactly_what_their_code_does(template):
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert actions_of(template, "WebhooksReceiverRole") == logs | {
        "dynamodb:PutItem",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",  # part of CDK's grant_read
    }
    stream = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
    destination = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    assert actions_of(template, "WebhooksTestConsumerRole") == logs | stream | destination | {"dynamodb:UpdateItem"}
    assert actions_of(template, "WebhooksTestConsumerStreamList") == {"dynamodb:ListStreams"}


def test_the_receiver_knows_its_limits_and_no_secret_value(template):
    [receiver] = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "receiver.index.handler"}}
    ).values()
    variables = receiver["Properties"]["Environment"]["Variables"]
    assert variables["MAX_BODY_BYTES"] == str(MAX)
    assert (variables["TOLERANCE_SECONDS"], variables["ROTATION_OVERLAP_SECONDS"]) == ("300", "86400")
    assert int(variables["RETENTION_SECONDS"]) >= int(variables["TOLERANCE_SECONDS"])
    assert "SecretString" not in json.dumps(variables)  # only the secret's ARN


def test_the_stack_passes_the_nag_gate_acknowledging_only_wildcards_that_take_no_resource(assemblies):
    assembly = assemblies[SLUG]
    assert nag_violations(assembly.directory) == []
    wildcards = {
        path.rsplit("/", 1)[-1]
        for metadata_file in assembly.directory.glob("*.metadata.json")
        for path, entries in json.loads(metadata_file.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
        if "IAM5" in rule
    }
    assert wildcards == {"XRay", "StreamList"}


def test_the_construct_adds_its_route_to_an_existing_api_and_checks_its_settings(tmp_path):
    module = load_stack_module(get_pattern(SLUG))
    app = cdk.App(outdir=str(tmp_path))  # no nag gate: the shared API stands for someone else's
    stack = cdk.Stack(app, "Existing", env=cdk.Environment(account="123456789012", region="us-east-1"))
    api = apigw.RestApi(stack, "Shared", cloud_watch_role=False)
    api.root.add_resource("health").add_method("GET", apigw.MockIntegration())
    module.WebhookProxy(stack, "Hooks", stages=["a", "b"], default_stage="a", route_field="env", api=api)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 2)
    with pytest.raises(ValueError, match="default stage"):
        module.WebhookProxy(stack, "Bad", stages=["a"], default_stage="z", route_field="env")
    with pytest.raises(ValueError, match="retention"):
        module.WebhookProxy(
            stack, "Short", stages=["a"], default_stage="a", route_field="env", retention=cdk.Duration.seconds(60)
        )


# ---------------------------------------------------------------- handlers, against moto in-process
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="payloads",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "delivery_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "delivery_id", "AttributeType": "S"}],
        )
        arn = boto3.client("secretsmanager").create_secret(Name="acme", SecretString=SECRET)["ARN"]
        monkeypatch.setenv("TABLE_NAME", "payloads")
        monkeypatch.setenv("PROVIDER_SECRETS", json.dumps({"acme": arn}))
        monkeypatch.setenv("STAGES", "dev,test,staging")
        monkeypatch.setenv("DEFAULT_STAGE", "dev")
        monkeypatch.setenv("ROUTE_FIELD", "metadata.stage")
        monkeypatch.setenv("MAX_BODY_BYTES", str(MAX))
        monkeypatch.setenv("TOLERANCE_SECONDS", "300")
        monkeypatch.setenv("ROTATION_OVERLAP_SECONDS", "86400")
        monkeypatch.setenv("RETENTION_SECONDS", "86400")
        monkeypatch.setenv("STAGE", "test")
        yield boto3.resource("dynamodb").Table("payloads")


@pytest.fixture
def receiver(aws, handler_loader):
    return handler_loader(SLUG, "receiver.index")


@pytest.fixture
def consumer(aws, handler_loader):
    return handler_loader(SLUG, "consumer.index")


def signature(body: bytes, *secrets: str, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    return ",".join(
        [
            f"t={t}",
            *(f"v1={hmac.new(s.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}" for s in secrets),
        ]
    )


def api_event(
    body: bytes | str, header: str | None, provider: str = "acme", base64_encoded: bool = False
) -> dict[str, Any]:
    text = body.decode() if isinstance(body, bytes) else body
    headers = {"Content-Type": "application/json"} | ({"Webhook-Signature": header} if header is not None else {})
    return {
        "resource": "/webhooks/{provider}",
        "path": f"/webhooks/{provider}",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"provider": provider},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "stage": "prod",
            "requestId": "r",
            "requestTime": "01/Dec/2026:03:00:00 +0000",
            "requestTimeEpoch": 0,
            "resourceId": "x",
            "resourcePath": "/webhooks/{provider}",
            "httpMethod": "POST",
            "path": "/prod/webhooks/acme",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "isBase64Encoded": base64_encoded,
        "body": base64.b64encode(text.encode()).decode() if base64_encoded else text,
    }


def deliver(receiver, lambda_context, payload: Any, *secrets: str, t: int | None = None) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload).encode()
    response = receiver.handler(api_event(body, signature(body, *(secrets or (SECRET,)), t=t)), lambda_context)
    return response["statusCode"], json.loads(response["body"])


def stored(table) -> list[dict[str, Any]]:
    return list(table.scan()["Items"])


EVENT = {"id": "evt-1", "type": "order.created", "data": {"order": 1}, "metadata": {"stage": "test"}}


# --8<-- [start:receiver]
def test_a_signed_delivery_is_stored_for_its_stage_with_a_ttl(aws, receiver, lambda_context):
    status, answer = deliver(receiver, lambda_context, EVENT)
    assert (status, answer["stage"]) == (200, "test")
    [item] = stored(aws)
    assert (item["delivery_id"], item["stage"], item["provider"]) == (answer["received"], "test", "acme")
    assert json.loads(item["body"]) == EVENT
    assert item["expires_at"] == item["signed_at"] + 86400


def test_the_same_signed_delivery_again_is_a_replay_and_is_refused(aws, receiver, lambda_context):
    body = json.dumps(EVENT).encode()
    event = api_event(body, signature(body, SECRET))
    assert receiver.handler(event, lambda_context)["statusCode"] == 200
    replayed = receiver.handler(event, replace(lambda_context, aws_request_id="again"))
    assert replayed["statusCode"] == 409 and "replay" in json.loads(replayed["body"])["message"]
    assert len(stored(aws)) == 1 and stored(aws)[0]["received_by"] == lambda_context.aws_request_id


# --8<-- [end:receiver]


@pytest.mark.parametrize(
    ("payload", "stage"),
    [
        ({"metadata": {"stage": "staging"}}, "staging"),
        ({"metadata": {"stage": "prod"}}, "dev"),  # not a stage: the default
        ({"metadata": {"stage": 3}}, "dev"),
        ({"metadata": "test"}, "dev"),
        ({}, "dev"),
    ],
)
def test_the_routing_rule_names_a_known_stage_or_falls_back_to_the_default(
    aws, receiver, lambda_context, payload, stage
):
    assert deliver(receiver, lambda_context, payload)[1]["stage"] == stage


def test_a_payload_at_the_size_limit_is_accepted_and_one_byte_more_is_refused(aws, receiver, lambda_context):
    def of_size(size: int) -> bytes:
        base = len(json.dumps({"pad": ""}).encode())
        return json.dumps({"pad": "x" * (size - base)}).encode()

    at_limit, over = of_size(MAX), of_size(MAX + 1)
    assert len(at_limit) == MAX
    assert receiver.handler(api_event(at_limit, signature(at_limit, SECRET)), lambda_context)["statusCode"] == 200
    response = receiver.handler(api_event(over, signature(over, SECRET)), lambda_context)
    assert response["statusCode"] == 413
    assert (
        json.loads(response["body"])["message"]
        == f"the payload is {MAX + 1} bytes; this endpoint accepts at most {MAX}"
    )
    assert len(stored(aws)) == 1


def test_a_base64_encoded_body_is_verified_as_the_bytes_sent(aws, receiver, lambda_context):
    body = json.dumps(EVENT).encode()
    event = api_event(body, signature(body, SECRET), base64_encoded=True)
    assert receiver.handler(event, lambda_context)["statusCode"] == 200


# --8<-- [start:rotation]
def test_a_rotation_accepts_both_secrets_during_the_overlap_and_only_the_new_one_after(
    aws, receiver, lambda_context, monkeypatch
):
    assert deliver(receiver, lambda_context, {"n": 1})[0] == 200  # cached: the old secret only
    arn = json.loads(receiver.os.environ["PROVIDER_SECRETS"])["acme"]
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="provider-secret-2")
    monkeypatch.setattr(receiver.secrets, "refresh_cooldown_s", 0)

    assert (
        deliver(receiver, lambda_context, {"n": 2}, "provider-secret-2", SECRET)[0] == 200
    )  # both: the provider rolls
    assert deliver(receiver, lambda_context, {"n": 3}, "provider-secret-2")[0] == 200  # re-read after the mismatch
    assert deliver(receiver, lambda_context, {"n": 4}, SECRET)[0] == 200  # the old one, within the overlap

    later = time.time() + 86400 + 1  # the overlap is over: the old secret alone is refused
    monkeypatch.setattr(receiver.secrets, "max_age_s", 0)
    monkeypatch.setattr(sys.modules["signatures"].time, "time", lambda: later)
    status, answer = deliver(receiver, lambda_context, {"n": 5}, SECRET, t=int(later))
    assert (status, answer["message"]) == (401, "no signature matches")
    assert deliver(receiver, lambda_context, {"n": 6}, "provider-secret-2", t=int(later))[0] == 200


# --8<-- [end:rotation]


def test_a_second_rotation_drops_the_first_secret_at_once(aws, receiver, lambda_context, monkeypatch):
    arn = json.loads(receiver.os.environ["PROVIDER_SECRETS"])["acme"]
    for value in ("provider-secret-2", "provider-secret-3"):
        boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=value)
    monkeypatch.setattr(receiver.secrets, "max_age_s", 0)
    assert deliver(receiver, lambda_context, {"n": 1}, "provider-secret-2")[0] == 200
    assert deliver(receiver, lambda_context, {"n": 2}, SECRET)[0] == 401  # at most one rotation overlaps


def test_mismatches_read_the_secrets_again_at_most_once_per_cooldown(aws, receiver, lambda_context, monkeypatch):
    calls: list[dict[str, Any]] = []
    original = receiver.secrets.client.get_secret_value

    def counted(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(receiver.secrets.client, "get_secret_value", counted)
    for n in range(20):
        assert deliver(receiver, lambda_context, {"n": n}, "forged-secret")[0] == 401
    fetches = [c for c in calls if c["VersionStage"] == "AWSCURRENT"]
    assert len(fetches) == 1  # the first fetch; the cooldown (1 s) holds off a flood of forgeries


# ---------------------------------------------------------------- bad input: refused, nothing stored
def now() -> int:
    return int(time.time())


BODY = json.dumps(EVENT).encode()
FORGED_HEADERS: dict[str, Any] = {
    "missing": None,
    "empty": "",
    "no timestamp": f"v1={hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()}",
    "no signature": "t=1700000000",
    "two timestamps": "t=1,t=2,v1=00",
    "timestamp not a number": "t=yesterday,v1=00",
    "timestamp in unicode digits": "t=١٢٣,v1=00",
    "too many signatures": "t=1," + ",".join(["v1=00"] * 5),
    "far too long": "t=1,v1=" + "0" * 600,
    "wrong secret": signature(BODY, "guessed"),
    "signature of another body": signature(b"{}", SECRET),
    "upper-case hex": signature(BODY, SECRET).upper().replace("T=", "t=").replace("V1=", "v1="),
    "stale (6 minutes)": lambda: signature(BODY, SECRET, t=now() - 360),  # made when the test runs
    "from the future (6 minutes)": lambda: signature(BODY, SECRET, t=now() + 360),
    "v0 scheme": signature(BODY, SECRET).replace("v1=", "v0="),
    "milliseconds timestamp": lambda: signature(BODY, SECRET, t=now() * 1000),
}


@pytest.mark.parametrize("header", FORGED_HEADERS.values(), ids=FORGED_HEADERS.keys())
def test_forged_missing_malformed_or_stale_signatures_are_refused_and_stored_nowhere(
    aws, receiver, lambda_context, header
):
    response = receiver.handler(api_event(BODY, header() if callable(header) else header), lambda_context)
    assert response["statusCode"] == 401, json.loads(response["body"])
    assert json.loads(response["body"])["message"]
    assert stored(aws) == []


MALFORMED_BODIES = {
    "not JSON": b"order created",
    "truncated JSON": b'{"id": "evt-1", ',
    "a list": b"[1, 2]",
    "a string": b'"hello"',
    "null": b"null",
    "not UTF-8": b'{"id": "\xff"}',
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_payloads_with_a_good_signature_are_refused_with_400_and_stored_nowhere(
    aws, receiver, lambda_context, body
):
    event = api_event(base64.b64encode(body).decode(), signature(body, SECRET))
    event["isBase64Encoded"], event["body"] = True, base64.b64encode(body).decode()
    response = receiver.handler(event, lambda_context)
    assert response["statusCode"] == 400 and json.loads(response["body"])["message"].startswith("the payload")
    assert stored(aws) == []


def test_an_unknown_provider_is_refused_before_anything_else(aws, receiver, lambda_context):
    response = receiver.handler(api_event(BODY, signature(BODY, SECRET), provider="other"), lambda_context)
    assert response["statusCode"] == 404 and stored(aws) == []


def test_an_event_that_is_not_an_api_gateway_request_fails_loudly(aws, receiver, lambda_context):
    with pytest.raises(Exception, match="validation error"):
        receiver.handler({"body": "{}"}, lambda_context)


# ---------------------------------------------------------------- the consumer
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/payloads/stream/2026-01-01T00:00:00.000"


def stream_event(*items: dict[str, Any]) -> dict[str, Any]:
    serializer = boto3.dynamodb.types.TypeSerializer()
    return {
        "Records": [
            {
                "eventID": f"e{index}",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1700000000,
                    "Keys": {"delivery_id": {"S": item["delivery_id"]}},
                    "NewImage": {k: serializer.serialize(v) for k, v in item.items()},
                    "SequenceNumber": str(100 + index),
                    "SizeBytes": 100,
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": STREAM_ARN,
            }
            for index, item in enumerate(items)
        ]
    }


def put(table, delivery_id: str, stage: str = "test", body: Any = EVENT) -> dict[str, Any]:
    item = {
        "delivery_id": delivery_id,
        "stage": stage,
        "provider": "acme",
        "body": body if isinstance(body, str) else json.dumps(body),
        "expires_at": now() + 3600,
    }
    table.put_item(Item=item)
    return item


# --8<-- [start:consumer]
def test_the_consumer_processes_each_delivery_once_even_when_its_batch_is_delivered_again(
    aws, consumer, lambda_context
):
    batch = stream_event(put(aws, "d1"), put(aws, "d2"))
    assert consumer.handler(batch, lambda_context) == {"batchItemFailures": []}
    assert consumer.handler(batch, replace(lambda_context, aws_request_id="retry")) == {"batchItemFailures": []}
    items = {i["delivery_id"]: i for i in stored(aws)}
    assert {k: (v["processed_by"], v["processed_in"]) for k, v in items.items()} == {
        "d1": ("test", lambda_context.aws_request_id),  # the first processing stands
        "d2": ("test", lambda_context.aws_request_id),
    }


def test_a_poison_payload_is_reported_and_the_rest_of_the_batch_is_processed(aws, consumer, lambda_context):
    batch = stream_event(put(aws, "good"), put(aws, "poison", body={"id": "x", "type": "t"}), put(aws, "after"))
    assert consumer.handler(batch, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    assert {i["delivery_id"] for i in stored(aws) if "processed_by" in i} == {"good", "after"}


# --8<-- [end:consumer]

MALFORMED_PAYLOADS = {
    "not JSON": "order created",
    "a list": "[1]",
    "no data": json.dumps({"id": "x", "type": "t"}),
    "id not a string": json.dumps({"id": 1, "type": "t", "data": {}}),
    "data not an object": json.dumps({"id": "x", "type": "t", "data": [1]}),
}


@pytest.mark.parametrize("body", MALFORMED_PAYLOADS.values(), ids=MALFORMED_PAYLOADS.keys())
def test_the_consumer_fails_a_batch_of_malformed_payloads_so_lambda_bisects_and_parks_it(
    aws, consumer, lambda_context, body
):
    with pytest.raises(Exception, match="All records failed"):
        consumer.handler(stream_event(put(aws, "bad", body=body)), lambda_context)
    assert "processed_by" not in stored(aws)[0]


def test_a_record_for_another_stage_is_an_error_never_processed(aws, consumer, lambda_context):
    batch = stream_event(put(aws, "mine"), put(aws, "theirs", stage="dev"))
    assert consumer.handler(batch, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    assert {i["delivery_id"]: i.get("processed_by") for i in stored(aws)} == {"mine": "test", "theirs": None}


def test_an_expired_and_deleted_item_is_not_processed_again(aws, consumer, lambda_context):
    batch = stream_event(put(aws, "gone"))
    aws.delete_item(Key={"delivery_id": "gone"})  # TTL deleted it before its record was read
    assert consumer.handler(batch, lambda_context) == {"batchItemFailures": []}
    assert stored(aws) == []


def test_the_secret_store_keeps_the_previous_version_only_within_the_overlap(aws, handler_loader):
    signatures = handler_loader(SLUG, "signatures")
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name="other", SecretString="one")["ARN"]
    store = signatures.SecretStore({"p": arn}, overlap_s=3600, client=client, max_age_s=0)
    assert store.for_provider("p") == ["one"]  # never rotated: no previous version
    client.put_secret_value(SecretId=arn, SecretString="two")
    assert store.for_provider("p") == ["two", "one"]
    created = client.get_secret_value(SecretId=arn)["CreatedDate"]
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)
