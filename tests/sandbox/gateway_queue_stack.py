"""A CDK stack for the gateway's AWS service integration conformance tests: an SQS integration through its
execution role (allowed, denied by the role's policy, role not trusting API Gateway), a JSON-schema request model
with a customised ``BAD_REQUEST_BODY`` response, and stage and method throttling."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

#: SQS's JSON protocol, as API Gateway sends it: the queue URL and the request body as the message.
SEND_TEMPLATE = '{"QueueUrl": "%s", "MessageBody": "$util.escapeJavaScript($input.body)"}'


def _send(role: iam.IRole, queue: sqs.IQueue) -> apigw.AwsIntegration:
    return apigw.AwsIntegration(
        service="sqs",
        path=f"{cdk.Aws.ACCOUNT_ID}/{queue.queue_name}",
        integration_http_method="POST",
        options=apigw.IntegrationOptions(
            credentials_role=role,
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            request_parameters={
                "integration.request.header.Content-Type": "'application/x-amz-json-1.0'",
                "integration.request.header.X-Amz-Target": "'AmazonSQS.SendMessage'",
            },
            request_templates={"application/json": SEND_TEMPLATE % queue.queue_url},
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="202",
                    selection_pattern="2\\d\\d",
                    response_templates={"application/json": "{\"messageId\": $input.json('$.MessageId')}"},
                ),
                apigw.IntegrationResponse(
                    status_code="500",
                    response_templates={
                        "application/json": '{"message": "not queued", "status": "$input.path(\'$.__type\')"}'
                    },
                ),
            ],
        ),
    )


def build(outdir: Path) -> Path:
    """Synthesize the stack into ``outdir`` and return the cloud assembly directory."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "GatewayQueueConformance")
    api = apigw.RestApi(
        stack,
        "Api",
        cloud_watch_role=False,
        deploy_options=apigw.StageOptions(
            stage_name="v1",
            throttling_rate_limit=1000,
            throttling_burst_limit=500,
            method_options={
                "/throttled/GET": apigw.MethodDeploymentOptions(throttling_rate_limit=0.5, throttling_burst_limit=2)
            },
        ),
    )
    model = api.add_model(
        "Note",
        content_type="application/json",
        schema=apigw.JsonSchema(
            schema=apigw.JsonSchemaVersion.DRAFT4,
            type=apigw.JsonSchemaType.OBJECT,
            required=["title", "copies"],
            additional_properties=False,
            properties={
                "title": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=20),
                "copies": apigw.JsonSchema(type=apigw.JsonSchemaType.INTEGER, minimum=1, maximum=5),
                "tags": apigw.JsonSchema(
                    type=apigw.JsonSchemaType.ARRAY,
                    max_items=2,
                    items=apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, enum=["a", "b"]),
                ),
            },
        ),
    )
    validator = api.add_request_validator("Body", validate_request_body=True)
    notes = sqs.Queue(stack, "Notes")
    other = sqs.Queue(stack, "Other")
    sender = iam.Role(stack, "Sender", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
    notes.grant_send_messages(sender)
    # Allowed to send to another queue only: its calls to Notes are denied by IAM.
    wrong_queue = iam.Role(stack, "WrongQueue", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
    other.grant_send_messages(wrong_queue)
    # Allowed to send, but trusting Lambda, not API Gateway: API Gateway cannot assume it.
    untrusted = iam.Role(stack, "Untrusted", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    notes.grant_send_messages(untrusted)

    responses = [apigw.MethodResponse(status_code="202"), apigw.MethodResponse(status_code="500")]
    for path, role in (("notes", sender), ("denied", wrong_queue), ("untrusted", untrusted)):
        api.root.add_resource(path).add_method(
            "POST",
            _send(role, notes),
            request_models={"application/json": model},
            request_validator=validator,
            method_responses=responses,
        )
    api.root.add_resource("throttled").add_method(
        "GET",
        apigw.MockIntegration(
            request_templates={"application/json": '{"statusCode": 200}'},
            integration_responses=[apigw.IntegrationResponse(status_code="200")],
        ),
        method_responses=[apigw.MethodResponse(status_code="200")],
    )
    api.add_gateway_response(
        "BadBody",
        type=apigw.ResponseType.BAD_REQUEST_BODY,
        status_code="400",
        templates={
            "application/json": '{"message": $context.error.messageString, '
            '"errors": "$context.error.validationErrorString"}'
        },
    )
    cdk.CfnOutput(stack, "QueueUrl", value=notes.queue_url)
    cdk.CfnOutput(stack, "OtherQueueUrl", value=other.queue_url)
    return Path(app.synth().directory)
