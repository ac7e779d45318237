"""A CDK stack using every gateway feature the sandbox serves, for the gateway conformance tests."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

FUNCTIONS = Path(__file__).parent / "gateway_functions"


def build(outdir: Path) -> Path:
    """Synthesize the stack into ``outdir`` and return the cloud assembly directory."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "GatewayConformance")

    def function(name: str, handler: str) -> lambda_.Function:
        return lambda_.Function(
            stack,
            name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler=f"index.{handler}",
            code=lambda_.Code.from_asset(str(FUNCTIONS)),
            timeout=cdk.Duration.seconds(10),
        )

    echo = function("Echo", "echo")
    api = apigw.RestApi(
        stack,
        "Api",
        cloud_watch_role=False,
        deploy_options=apigw.StageOptions(stage_name="test", variables={"tier": "gold"}),
    )
    token = apigw.TokenAuthorizer(
        stack,
        "TokenAuthorizer",
        handler=function("TokenAuthorizerFunction", "token_authorizer"),
        validation_regex=r"^Bearer [-a-z0-9]+$",
        results_cache_ttl=cdk.Duration.minutes(5),
    )
    request = apigw.RequestAuthorizer(
        stack,
        "RequestAuthorizer",
        handler=function("RequestAuthorizerFunction", "request_authorizer"),
        identity_sources=[apigw.IdentitySource.header("X-Tenant"), apigw.IdentitySource.query_string("key")],
        results_cache_ttl=cdk.Duration.seconds(0),
    )
    proxy = apigw.LambdaIntegration(echo)

    items = api.root.add_resource("items")
    items.add_resource("{id}").add_method("GET", proxy, authorizer=token)
    items.add_resource("special").add_method(
        "GET",
        apigw.MockIntegration(
            request_templates={"application/json": '{"statusCode": 200}'},
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="200", response_templates={"application/json": '{"literal": true}'}
                )
            ],
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
        ),
        method_responses=[apigw.MethodResponse(status_code="200")],
    )
    api.root.add_resource("files").add_resource("{path+}").add_method("ANY", proxy)
    api.root.add_resource("tenants").add_method("GET", proxy, authorizer=request)

    model = api.add_model(
        "Order",
        content_type="application/json",
        schema=apigw.JsonSchema(
            schema=apigw.JsonSchemaVersion.DRAFT4,
            type=apigw.JsonSchemaType.OBJECT,
            required=["sku", "quantity"],
            properties={
                "sku": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1),
                "quantity": apigw.JsonSchema(type=apigw.JsonSchemaType.INTEGER, minimum=1),
            },
        ),
    )
    validator = api.add_request_validator("Validate", validate_request_body=True, validate_request_parameters=True)
    queue = sqs.Queue(stack, "Orders")
    role = iam.Role(stack, "ApiToSqs", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
    queue.grant_send_messages(role)
    send = apigw.AwsIntegration(
        service="sqs",
        path=f"{cdk.Aws.ACCOUNT_ID}/{queue.queue_name}",
        integration_http_method="POST",
        options=apigw.IntegrationOptions(
            credentials_role=role,
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            request_parameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
            request_templates={
                "application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                "&MessageAttribute.1.Name=principal&MessageAttribute.1.Value.DataType=String"
                "&MessageAttribute.1.Value.StringValue=$util.urlEncode($context.authorizer.principalId)"
            },
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="202",
                    selection_pattern="2\\d\\d",
                    response_templates={
                        "application/json": (
                            '{"queued": true, "stage": "$context.stage", "tier": "$stageVariables.tier"}'
                        )
                    },
                    response_parameters={"method.response.header.X-Queued": "'yes'"},
                ),
                apigw.IntegrationResponse(
                    status_code="500", response_templates={"application/json": '{"queued": false}'}
                ),
            ],
        ),
    )
    api.root.add_resource("orders").add_method(
        "POST",
        send,
        authorizer=token,
        request_models={"application/json": model},
        request_validator=validator,
        request_parameters={"method.request.querystring.channel": True},
        method_responses=[
            apigw.MethodResponse(status_code="202", response_parameters={"method.response.header.X-Queued": True}),
            apigw.MethodResponse(status_code="500"),
        ],
    )
    api.add_gateway_response(
        "Unauthorized",
        type=apigw.ResponseType.UNAUTHORIZED,
        status_code="401",
        response_headers={"WWW-Authenticate": "'Bearer'"},
        templates={"application/json": '{"error": $context.error.messageString}'},
    )
    cdk.CfnOutput(stack, "QueueUrl", value=queue.queue_url)
    return Path(app.synth().directory)
