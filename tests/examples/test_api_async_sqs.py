"""api-async-sqs: template assertions, the cdk-nag gate, the API's request model and mapping template, handler unit
tests (moto in-process) and bad input.

The end-to-end test, which deploys the app into a sandbox account and posts through the local API Gateway, is
tests/e2e/test_api_async_sqs_e2e.py.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_sqs as sqs_cdk
from aws_cdk.assertions import Template
from moto import mock_aws

from awspatterns.catalog import get_pattern
from awspatterns.sandbox.gateway.validation import body_errors
from awspatterns.sandbox.gateway.vtl import render
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "api-async-sqs"
ORDER = {"order_id": "o-1", "customer": "ACME", "items": [{"sku": "BOOK-1", "quantity": 2}]}


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["ApiAsyncSqs"])


def only(template: Template, resource_type: str) -> dict[str, Any]:
    [resource] = template.find_resources(resource_type).values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def test_the_method_sends_straight_to_sqs_with_no_function_on_the_request_path(template):
    method = only(template, "AWS::ApiGateway::Method")
    integration = method["Integration"]
    assert (method["HttpMethod"], integration["Type"], integration["IntegrationHttpMethod"]) == ("POST", "AWS", "POST")
    assert ":sqs:path/" in json.dumps(integration["Uri"])
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["RequestParameters"]["integration.request.header.X-Amz-Target"] == "'AmazonSQS.SendMessage'"
    assert integration["Credentials"]["Fn::GetAtt"][0].startswith("IntakeRole")
    assert [(r["StatusCode"], r.get("SelectionPattern")) for r in integration["IntegrationResponses"]] == [
        ("202", "2\\d\\d"),
        ("400", "400"),
        ("500", None),
    ]
    # The only functions are the consumer and none is wired to the API.
    assert [f["Properties"]["Handler"] for f in template.find_resources("AWS::Lambda::Function").values()] == [
        "consumer.index.handler"
    ]


def test_the_integration_role_may_only_send_to_that_queue(template):
    role = next(r for name, r in template.find_resources("AWS::IAM::Role").items() if name.startswith("IntakeRole"))
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    policy = next(
        p["Properties"]
        for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith("IntakeRole")
    )
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert (
        statement["Resource"]["Fn::GetAtt"][0].startswith("Orders")
        and "Dlq" not in statement["Resource"]["Fn::GetAtt"][0]
    )


def test_the_body_is_validated_against_the_draft_4_model(template):
    method = only(template, "AWS::ApiGateway::Method")
    assert method["RequestModels"]["application/json"]["Ref"].startswith("IntakeApiIntakeModel")
    validator = only(template, "AWS::ApiGateway::RequestValidator")
    assert validator["ValidateRequestBody"] is True
    schema = only(template, "AWS::ApiGateway::Model")["Schema"]
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["required"] == ["order_id", "customer", "items"] and schema["additionalProperties"] is False
    response = only(template, "AWS::ApiGateway::GatewayResponse")
    assert response["ResponseType"] == "BAD_REQUEST_BODY"
    assert "$context.error.validationErrorString" in response["ResponseTemplates"]["application/json"]


def test_the_stage_throttles_logs_without_bodies_and_traces(template):
    stage = only(template, "AWS::ApiGateway::Stage")
    [settings] = stage["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (500, 1000)
    assert (settings["DataTraceEnabled"], settings["LoggingLevel"]) == (False, "ERROR")
    assert settings["MetricsEnabled"] is True
    assert stage["TracingEnabled"] is True and "DestinationArn" in stage["AccessLogSetting"]


def test_the_stage_is_deployed_after_the_accounts_logging_role_is_set(template):
    [account] = template.find_resources("AWS::ApiGateway::Account").items()
    [stage] = template.find_resources("AWS::ApiGateway::Stage").values()
    assert account[0] in stage["DependsOn"]  # execution logs need the role before the stage exists
    [logging_role] = [
        name
        for name, role in template.find_resources("AWS::IAM::Role").items()
        if "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role)
    ]
    assert account[1]["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": [logging_role, "Arn"]}


def test_the_queue_states_the_body_limit_and_dead_letters_after_three_receives(template):
    queues = template.find_resources("AWS::SQS::Queue")
    queue = next(q["Properties"] for name, q in queues.items() if "Dlq" not in name)
    assert queue["MaximumMessageSize"] == 64 * 1024
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    [consumer] = template.find_resources("AWS::Lambda::Function").values()
    assert queue["VisibilityTimeout"] >= 6 * consumer["Properties"]["Timeout"]
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())


def test_the_consumer_takes_batches_and_reports_item_failures(template):
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 1, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True}, "BillingMode": "PAY_PER_REQUEST"},
    )


def test_the_consumer_may_do_exactly_what_its_code_does(template):
    policy = next(
        p["Properties"]
        for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith("ProcessingConsumerRoleDefault")
    )
    actions = {
        (action, json.dumps(statement["Resource"]))
        for statement in policy["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert {a for a, _ in actions} == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "sqs:SendMessage",
    }
    assert {r for a, r in actions if a == "sqs:SendMessage"} == {
        json.dumps({"Fn::GetAtt": ["OrdersDlq3430508F", "Arn"]})
    }


def test_the_stack_passes_the_nag_gate(assemblies):
    assert nag_violations(assemblies[SLUG].directory) == []


def test_the_api_construct_adds_its_method_to_an_existing_api_and_queue(tmp_path):
    module = load_stack_module(get_pattern(SLUG))
    app = cdk.App(outdir=str(tmp_path))  # the caller's app, whose API has its own nag acknowledgements
    stack = cdk.Stack(app, "Existing", env=cdk.Environment(account="123456789012", region="us-east-1"))
    api = apigw.RestApi(stack, "Shared", cloud_watch_role=False)
    api.root.add_method("GET", apigw.MockIntegration())
    queue = sqs_cdk.Queue.from_queue_arn(stack, "Queue", "arn:aws:sqs:us-east-1:123456789012:existing")
    module.QueueBackedApi(stack, "Intake", queue=queue, schema=module.ORDER_SCHEMA, resource_path="jobs", rest_api=api)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "jobs"})
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": [{"Action": "sqs:SendMessage", "Resource": queue.queue_arn}]}},
    )


# ---------------------------------------------------------------- the request model and the mapping template
@pytest.fixture(scope="module")
def schema(template) -> dict[str, Any]:
    return dict(only(template, "AWS::ApiGateway::Model")["Schema"])


MALFORMED_REQUESTS: dict[str, Any] = {
    "not json": b'{"order_id": "o-1", ',
    "empty body": b"",
    "a list": [ORDER],
    "missing customer": {k: v for k, v in ORDER.items() if k != "customer"},
    "missing items": {k: v for k, v in ORDER.items() if k != "items"},
    "no items": {**ORDER, "items": []},
    "21 items": {**ORDER, "items": [{"sku": "BOOK-1", "quantity": 1}] * 21},
    "quantity as text": {**ORDER, "items": [{"sku": "BOOK-1", "quantity": "2"}]},
    "quantity zero": {**ORDER, "items": [{"sku": "BOOK-1", "quantity": 0}]},
    "quantity fractional": {**ORDER, "items": [{"sku": "BOOK-1", "quantity": 1.5}]},
    "sku lower case": {**ORDER, "items": [{"sku": "book-1", "quantity": 1}]},
    "order id with spaces": {**ORDER, "order_id": "o 1"},
    "order id too long": {**ORDER, "order_id": "o" * 65},
    "customer empty": {**ORDER, "customer": ""},
    "note too long": {**ORDER, "note": "n" * 501},
    "unknown field": {**ORDER, "discount": 10},
    "unknown item field": {**ORDER, "items": [{"sku": "BOOK-1", "quantity": 1, "price": 0}]},
}


@pytest.mark.parametrize("body", MALFORMED_REQUESTS.values(), ids=MALFORMED_REQUESTS.keys())
def test_the_model_refuses_malformed_requests_and_so_does_the_consumer(schema, body, handler_loader, aws):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert body_errors(data, schema) != []  # API Gateway answers 400 and queues nothing
    orders = handler_loader(SLUG, "orders")
    with pytest.raises(orders.MalformedMessage):  # the same rules again, for messages from other producers
        orders.parse_order(data.decode())


def test_the_model_and_the_consumer_accept_the_same_valid_orders(schema, handler_loader, aws):
    orders = handler_loader(SLUG, "orders")
    for body in (ORDER, {**ORDER, "note": "é" * 500, "items": [{"sku": "MUG-1", "quantity": 1000}] * 20}):
        assert body_errors(json.dumps(body).encode(), schema) == []
        assert orders.parse_order(json.dumps(body)).order_id == "o-1"


def send_message_request(template: Template, body: str) -> dict[str, Any]:
    """The SQS request API Gateway makes for a body: the method's request template rendered."""
    integration = only(template, "AWS::ApiGateway::Method")["Integration"]
    parts = integration["RequestTemplates"]["application/json"]["Fn::Join"][1]
    text = "".join(
        p if isinstance(p, str) else "https://sqs.us-east-1.amazonaws.com/123456789012/orders" for p in parts
    )
    context = {"requestId": "req-1", "requestTimeEpoch": 1764331200000}
    request: dict[str, Any] = json.loads(render(text, body, {"path": {}, "querystring": {}, "header": {}}, context, {}))
    return request


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(ORDER),
        json.dumps({**ORDER, "note": 'quotes " and \\ backslashes\nand new lines'}),
        json.dumps({**ORDER, "note": "unicode: été, 注文, 🚚"}, ensure_ascii=False),
        json.dumps(ORDER, indent=2),
    ],
    ids=["plain", "escapes", "unicode", "pretty"],
)
def test_the_mapping_template_puts_the_exact_body_on_the_queue(template, body):
    request = send_message_request(template, body)
    assert request["MessageBody"] == body
    assert request["QueueUrl"].endswith("/orders")
    assert request["MessageAttributes"]["RequestId"] == {"DataType": "String", "StringValue": "req-1"}


# ---------------------------------------------------------------- the consumer, against moto in-process
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("ORDERS_TABLE", "orders")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    monkeypatch.delenv("POWERTOOLS_IDEMPOTENCY_DISABLED", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for name, key in (("orders", "order_id"), ("idempotency", "id")):
            dynamodb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            )
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"])
        yield boto3.resource("dynamodb").Table("orders")


@pytest.fixture
def consumer(aws, handler_loader):
    return handler_loader(SLUG, "consumer.index")


def sqs_event(*bodies: str, first: int = 0) -> dict[str, Any]:
    """An SQS -> Lambda batch event carrying ``bodies`` as API Gateway queued them."""
    return {
        "Records": [
            {
                "messageId": f"msg-{i}",
                "receiptHandle": f"rh-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764331200000",
                    "SenderId": "AROA:BackplaneAssumeRoleSession",
                    "ApproximateFirstReceiveTimestamp": "1764331200000",
                },
                "messageAttributes": {
                    "RequestId": {
                        "stringValue": f"req-{i}",
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String",
                    }
                },
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies, first)
        ]
    }


def parked() -> list[dict[str, Any]]:
    url = boto3.client("sqs").get_queue_url(QueueName="dlq")["QueueUrl"]
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    found: list[dict[str, Any]] = messages.get("Messages", [])
    return found


def test_the_consumer_processes_each_order_of_a_batch(aws, consumer, lambda_context):
    second = {**ORDER, "order_id": "o-2", "items": [{"sku": "PEN-10", "quantity": 3}, {"sku": "MUG-1", "quantity": 1}]}
    event = sqs_event(json.dumps(ORDER), json.dumps(second))
    assert consumer.handler(event, lambda_context) == {"batchItemFailures": []}
    items = {item["order_id"]: item for item in aws.scan()["Items"]}
    assert {k: (str(v["total"]), v["times_processed"], v["message_id"]) for k, v in items.items()} == {
        "o-1": ("25.00", 1, "msg-0"),
        "o-2": ("21.50", 1, "msg-1"),
    }
    assert items["o-1"]["request_id"] == "req-0" and parked() == []


# --8<-- [start:idempotent]
def test_an_order_delivered_again_is_processed_once(aws, consumer, lambda_context):
    consumer.handler(sqs_event(json.dumps(ORDER)), lambda_context)
    # SQS delivers the same message again, and the client retries with a new request (a new message).
    consumer.handler(sqs_event(json.dumps(ORDER)), replace(lambda_context, aws_request_id="second"))
    consumer.handler(sqs_event(json.dumps(ORDER), first=7), replace(lambda_context, aws_request_id="third"))
    [item] = aws.scan()["Items"]
    assert item["times_processed"] == 1 and item["message_id"] == "msg-0"
    assert item["duplicate_message_ids"] == {"msg-7"}  # the redelivery of msg-0 is msg-0 itself
    assert parked() == []


# --8<-- [end:idempotent]


def test_an_order_id_reused_for_different_contents_is_parked(aws, consumer, lambda_context):
    consumer.handler(sqs_event(json.dumps(ORDER)), lambda_context)
    other = {**ORDER, "items": [{"sku": "BOOK-2", "quantity": 9}]}
    assert consumer.handler(sqs_event(json.dumps(other), first=1), lambda_context) == {"batchItemFailures": []}
    [message] = parked()
    assert message["MessageAttributes"]["ErrorType"]["StringValue"] == "IdempotencyValidationError"
    [item] = aws.scan()["Items"]
    assert str(item["total"]) == "25.00" and item["times_processed"] == 1


# --8<-- [start:partial]
def test_a_poison_order_is_parked_and_the_rest_of_the_batch_is_processed(aws, consumer, lambda_context):
    poison = {**ORDER, "order_id": "o-9", "items": [{"sku": "DISCONTINUED-9", "quantity": 1}]}
    event = sqs_event(json.dumps(ORDER), json.dumps(poison))

    assert consumer.handler(event, lambda_context) == {"batchItemFailures": []}  # one processed, one parked

    assert [item["order_id"] for item in aws.scan()["Items"]] == ["o-1"]
    [message] = parked()
    assert message["Body"] == json.dumps(poison)  # the request body, as the API queued it
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ErrorType"] == "UnknownProduct" and "DISCONTINUED-9" in attributes["ErrorMessage"]
    assert (attributes["SourceMessageId"], attributes["ApiRequestId"]) == ("msg-1", "req-1")
    assert attributes["RequestID"] == lambda_context.aws_request_id


# --8<-- [end:partial]


def test_a_passing_failure_is_left_to_sqs_and_the_order_can_be_processed_on_retry(
    aws, consumer, lambda_context, monkeypatch
):
    orders = sys.modules["orders"]  # the handlers' shared module, loaded with the consumer
    calls = {"n": 0}
    real = orders.orders_table.update_item

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("throttled")
        return real(**kwargs)

    monkeypatch.setattr(orders.orders_table, "update_item", flaky)
    event = sqs_event(json.dumps(ORDER))
    assert consumer.handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert parked() == []
    # SQS delivers it again after the visibility timeout: idempotency let go of the failed attempt.
    assert consumer.handler(event, replace(lambda_context, aws_request_id="retry")) == {"batchItemFailures": []}
    [item] = aws.scan()["Items"]
    assert item["times_processed"] == 1


def test_the_consumer_reports_the_record_when_it_cannot_park_it(aws, consumer, lambda_context, monkeypatch):
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/gone")
    result = consumer.handler(sqs_event("not an order"), lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}  # retried, never dropped


# ---------------------------------------------------------------- bad input: every message lands somewhere
MALFORMED_MESSAGES = {
    "not json": "this is not json",
    "xml": "<order/>",
    "truncated": json.dumps(ORDER)[:-5],
    "json null": "null",
    "json list": json.dumps([ORDER]),
    "quantity as text": json.dumps({**ORDER, "items": [{"sku": "BOOK-1", "quantity": "2"}]}),
    "no items": json.dumps({**ORDER, "items": []}),
    "missing order id": json.dumps({k: v for k, v in ORDER.items() if k != "order_id"}),
    "unknown field": json.dumps({**ORDER, "admin": True}),
    "huge note": json.dumps({**ORDER, "note": "x" * 10_000}),
}


@pytest.mark.parametrize("body", MALFORMED_MESSAGES.values(), ids=MALFORMED_MESSAGES.keys())
def test_the_consumer_parks_malformed_messages_with_their_error(aws, consumer, lambda_context, body):
    assert consumer.handler(sqs_event(body), lambda_context) == {"batchItemFailures": []}
    [message] = parked()
    assert message["Body"] == body
    assert message["MessageAttributes"]["ErrorType"]["StringValue"] == "MalformedMessage"
    assert aws.scan()["Items"] == []


def test_a_batch_of_only_poison_is_reported_record_by_record_not_raised(aws, consumer, lambda_context):
    event = sqs_event("a", "b", "c")
    assert consumer.handler(event, lambda_context) == {"batchItemFailures": []}
    assert len(parked()) == 3
