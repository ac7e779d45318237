"""An API that accepts requests asynchronously: API Gateway puts each valid request straight on an SQS queue (no
Lambda on the request path) and answers 202 with the message id; a consumer function processes the queue in
batches, once per order, and parks what it can never process in the queue's DLQ with its error.

Two constructs: :class:`QueueBackedApi` (the API side: model, validator, integration role, throttling) takes the
queue and, optionally, an existing REST API and authorizer; :class:`IdempotentConsumer` (the processing side) takes
the queue, its DLQ and the table it records into. The stack only wires them.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import PythonFunction, QueueWithDlq, api_gateway_logging_role, secure_rest_api

HANDLERS = Path(__file__).parent / "handlers"

#: The largest request body the API accepts: the queue's MaximumMessageSize (SQS allows up to 1 MiB).
MAX_BODY_BYTES = 64 * 1024

# --8<-- [start:schema]
_SKU = apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, pattern="^[A-Z0-9-]{1,32}$")
#: The request model (JSON Schema draft 4): API Gateway refuses any body that does not match it with a 400.
ORDER_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="Order",
    type=apigw.JsonSchemaType.OBJECT,
    required=["order_id", "customer", "items"],
    additional_properties=False,
    properties={
        # The client's own id for the order: sending it again (a retry) never processes it twice.
        "order_id": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, pattern="^[A-Za-z0-9-]{1,64}$"),
        "customer": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=100),
        "items": apigw.JsonSchema(
            type=apigw.JsonSchemaType.ARRAY,
            min_items=1,
            max_items=20,
            items=apigw.JsonSchema(
                type=apigw.JsonSchemaType.OBJECT,
                required=["sku", "quantity"],
                additional_properties=False,
                properties={
                    "sku": _SKU,
                    "quantity": apigw.JsonSchema(type=apigw.JsonSchemaType.INTEGER, minimum=1, maximum=1000),
                },
            ),
        ),
        "note": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=500),
    },
)
# --8<-- [end:schema]


# --8<-- [start:api]
class QueueBackedApi(Construct):
    """``POST /<resource_path>`` -> validated against ``schema`` -> ``sqs:SendMessage`` -> ``202 {"messageId"}``.

    API Gateway calls SQS itself (an AWS service integration), as a role allowed ``sqs:SendMessage`` on this
    queue only. A body that is not JSON or does not match the model is refused with 400 before anything is sent
    (``{"message": "Invalid request body", "errors": "[...]"}``); a body over the queue's maximum message size is
    refused by SQS, which the integration answers as 400 too. The stage throttles requests (429 beyond them).

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        queue: the queue requests go to (one of this stack's, or an existing one).
        schema: the request model (JSON Schema draft 4).
        resource_path: the resource under the API's root, e.g. ``orders``.
        rest_api: an existing REST API to add the method to; by default the construct creates one with the
            catalog's defaults (``secure_rest_api``: regional, access logs, execution logs without data, tracing),
            per-method metrics and the throttling below, and sets the account's API Gateway logging role.
        authorizer: an authorizer for the method (e.g. the api-authorizer pattern's); none by default.
        max_body_bytes: the queue's ``MaximumMessageSize``, which the 400 answer for a larger body states.
        rate_limit: the stage's steady-state requests per second (a new API only).
        burst_limit: the stage's burst (a new API only).

    Attributes:
        api: the REST API.
        method: the ``POST`` method.
        role: the integration's role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        schema: apigw.JsonSchema,
        resource_path: str,
        rest_api: apigw.RestApi | None = None,
        authorizer: apigw.IAuthorizer | None = None,
        max_body_bytes: int = 256 * 1024,
        rate_limit: float = 500,
        burst_limit: int = 1000,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = rest_api or self._new_api(rate_limit, burst_limit)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description=f"Lets API Gateway send {resource_path} requests to their queue",
        )
        queue.grant(self.role, "sqs:SendMessage")
        model = self.api.add_model(f"{construct_id}Model", content_type="application/json", schema=schema)
        validator = self.api.add_request_validator(
            f"{construct_id}Validator", validate_request_body=True, validate_request_parameters=True
        )
        integration = apigw.AwsIntegration(
            service="sqs",
            path=f"{cdk.Aws.ACCOUNT_ID}/{queue.queue_name}",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=self.role,
                # Only JSON reaches the queue: any other Content-Type is 415, never sent as it is.
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_parameters={
                    "integration.request.header.Content-Type": "'application/x-amz-json-1.0'",
                    "integration.request.header.X-Amz-Target": "'AmazonSQS.SendMessage'",
                },
                request_templates={"application/json": _send_message_template(queue)},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="202",
                        selection_pattern="2\\d\\d",
                        response_templates={
                            "application/json": "{\"messageId\": $input.json('$.MessageId'), "
                            '"requestId": "$context.requestId"}'
                        },
                    ),
                    # SQS refuses a body over the queue's MaximumMessageSize (or with characters SQS does not
                    # allow) with 400: the client's error, said in the API's words.
                    apigw.IntegrationResponse(
                        status_code="400",
                        selection_pattern="400",
                        response_templates={
                            "application/json": '{"message": "Request body not accepted by the queue: at most '
                            f'{max_body_bytes} bytes of text SQS allows", '
                            '"reason": "$util.escapeJavaScript($input.path(\'$.__type\'))"}'
                        },
                    ),
                    # Anything else (a denied role, SQS unavailable) is the service's fault, not the client's.
                    apigw.IntegrationResponse(
                        status_code="500",
                        response_templates={
                            "application/json": '{"message": "The request could not be queued", '
                            '"requestId": "$context.requestId"}'
                        },
                    ),
                ],
            ),
        )
        self.method = self.api.root.add_resource(resource_path).add_method(
            "POST",
            integration,
            request_models={"application/json": model},
            request_validator=validator,
            authorizer=authorizer,
            method_responses=[apigw.MethodResponse(status_code=code) for code in ("202", "400", "500")],
        )
        # The default 400 says only "Invalid request body"; this one also says what is wrong with it.
        self.api.add_gateway_response(
            f"{construct_id}BadBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            status_code="400",
            templates={
                "application/json": '{"message": $context.error.messageString, '
                '"errors": "$context.error.validationErrorString"}'
            },
        )

    def _new_api(self, rate_limit: float, burst_limit: int) -> apigw.RestApi:
        api = secure_rest_api(
            self,
            "Api",
            description="Accepts requests and queues them for asynchronous processing",
            stage_name="v1",
            rate_limit=rate_limit,
            burst_limit=burst_limit,
            metrics=True,  # per-method 4XX/5XX counts show refused and failed sends beside accepted ones
        )
        api_gateway_logging_role(cdk.Stack.of(self), api)
        acknowledge(
            api,
            {
                "AwsSolutions-APIG3": "WAF is a deployment choice (cost, rules per threat model); throttling and "
                "request validation protect the queue here.",
                "AwsSolutions-APIG4": "The pattern shows the queue integration; add an authorizer (the construct's "
                "authorizer argument, e.g. the api-authorizer pattern's) before exposing it.",
                "AwsSolutions-COG4": "No Cognito user pool: see AwsSolutions-APIG4.",
            },
        )
        return api


def _send_message_template(queue: sqs.IQueue) -> str:
    """SQS ``SendMessage`` (JSON protocol): the body as the message, the request id and time as attributes."""
    return (
        "{"
        f'"QueueUrl": "{queue.queue_url}", '
        '"MessageBody": "$util.escapeJavaScript($input.body)", '
        '"MessageAttributes": {'
        '"RequestId": {"DataType": "String", "StringValue": "$context.requestId"}, '
        '"ReceivedAt": {"DataType": "Number", "StringValue": "$context.requestTimeEpoch"}'
        "}}"
    )


# --8<-- [end:api]


# --8<-- [start:consumer]
class IdempotentConsumer(Construct):
    """A function that takes the queue's messages in batches and processes each order once.

    It reports failed records one by one (``ReportBatchItemFailures``): a message no retry can fix is parked in
    the DLQ at once with its error; any other failure is retried by SQS and moves to the DLQ after
    ``max_receive_count`` receives (set on the queue). Powertools idempotency, keyed by the order id in a DynamoDB
    table, makes a redelivered message or a client's retry a no-op.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        queue: the queue it consumes.
        dead_letter_queue: where it parks messages it can never process.
        orders: the table it records processed orders in.
        timeout: the function's timeout (the queue's visibility timeout must be at least six times it).
        batch_size: the most messages per invocation.
        batching_window: how long the poller waits to fill a batch.
        idempotency_ttl: how long an order id is remembered.

    Attributes:
        consumer: the function block.
        idempotency_table: Powertools' idempotency records.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        orders: dynamodb.ITable,
        timeout: cdk.Duration = cdk.Duration.seconds(30),
        batch_size: int = 10,
        batching_window: cdk.Duration = cdk.Duration.seconds(1),
        idempotency_ttl: cdk.Duration = cdk.Duration.days(1),
    ) -> None:
        super().__init__(scope, construct_id)
        self.idempotency_table = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.consumer = PythonFunction(
            self,
            "Consumer",
            code_dir=HANDLERS,
            handler="consumer.index.handler",
            description="Processes queued orders in batches, once per order id",
            environment={
                "ORDERS_TABLE": orders.table_name,
                "IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
                "IDEMPOTENCY_TTL_SECONDS": str(int(idempotency_ttl.to_seconds())),
                "DEAD_LETTER_QUEUE_URL": dead_letter_queue.queue_url,
            },
            timeout=timeout,
        )
        self.consumer.function.add_event_source(
            event_sources.SqsEventSource(
                queue, batch_size=batch_size, max_batching_window=batching_window, report_batch_item_failures=True
            )
        )
        orders.grant(self.consumer, "dynamodb:UpdateItem")
        # Powertools' persistence layer: put the in-progress record, complete it, read it back, delete on failure.
        self.idempotency_table.grant(
            self.consumer, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"
        )
        dead_letter_queue.grant(self.consumer, "sqs:SendMessage")


# --8<-- [end:consumer]


class ApiAsyncSqsStack(cdk.Stack):
    """The API, its queue and DLQ, the consumer and the orders table."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)

        # --8<-- [start:stack]
        timeout = cdk.Duration.seconds(30)
        queue = QueueWithDlq(
            self, "Orders", visibility_timeout=cdk.Duration.seconds(6 * timeout.to_seconds()), max_receive_count=3
        )
        raw_queue = queue.queue.node.default_child
        assert isinstance(raw_queue, sqs.CfnQueue)
        raw_queue.maximum_message_size = MAX_BODY_BYTES  # the body limit the API states
        orders = dynamodb.Table(
            self,
            "ProcessedOrders",
            partition_key=dynamodb.Attribute(name="order_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        api = QueueBackedApi(
            self,
            "Intake",
            queue=queue.queue,
            schema=ORDER_SCHEMA,
            resource_path="orders",
            max_body_bytes=MAX_BODY_BYTES,
        )
        consumer = IdempotentConsumer(
            self,
            "Processing",
            queue=queue.queue,
            dead_letter_queue=queue.dead_letter_queue,
            orders=orders,
            timeout=timeout,
        )
        # --8<-- [end:stack]

        for name, value in {
            "OrdersUrl": api.api.url_for_path("/orders"),
            "QueueUrl": queue.queue.queue_url,
            "DlqUrl": queue.dead_letter_queue.queue_url,
            "OrdersTable": orders.table_name,
            "IdempotencyTable": consumer.idempotency_table.table_name,
            "ConsumerFunctionName": consumer.consumer.function.function_name,
            "MaxBodyBytes": str(MAX_BODY_BYTES),
        }.items():
            cdk.CfnOutput(self, name, value=value)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [ApiAsyncSqsStack(app, "ApiAsyncSqs", description="AWS Serverless Patterns: api-async-sqs")]
