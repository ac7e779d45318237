"""REST APIs with the catalog's defaults: JSON access logs, error-level execution logs without data, tracing,
throttling; and the account's API Gateway logging role those execution logs need."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from awspatterns.app import acknowledge

__all__ = ["api_gateway_logging_role", "secure_rest_api"]


def secure_rest_api(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    stage_name: str,
    rate_limit: float = 100,
    burst_limit: int = 200,
    metrics: bool = False,
) -> apigateway.RestApi:
    """A regional REST API with JSON access logs (30 days), error-level execution logs that never log bodies or
    tokens, X-Ray tracing and stage throttling. Pass it to :func:`api_gateway_logging_role`.

    Args:
        scope: where the API and its access log group go.
        construct_id: the API's id (its log group is ``<construct_id>AccessLogs``).
        description: the API's description.
        stage_name: the stage the API is deployed to.
        rate_limit: the stage's steady-state requests per second (429 beyond them).
        burst_limit: the stage's burst.
        metrics: also publish per-method CloudWatch metrics (``Count``, ``Latency``, ``4XXError``, ...; they are
            billed as custom metrics). API-level metrics are published either way.
    """
    access_logs = logs.LogGroup(
        scope,
        f"{construct_id}AccessLogs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    return apigateway.RestApi(
        scope,
        construct_id,
        description=description,
        endpoint_types=[apigateway.EndpointType.REGIONAL],
        cloud_watch_role=False,  # the account's logging role is set once per stack: api_gateway_logging_role
        deploy_options=apigateway.StageOptions(
            stage_name=stage_name,
            access_log_destination=apigateway.LogGroupLogDestination(access_logs),
            access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                caller=True,
                http_method=True,
                ip=True,
                protocol=True,
                request_time=True,
                resource_path=True,
                response_length=True,
                status=True,
                user=True,
            ),
            logging_level=apigateway.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,  # never log request or response bodies (or tokens)
            metrics_enabled=metrics or None,  # unset unless asked, as the APIs before this option had it
            tracing_enabled=True,
            throttling_rate_limit=rate_limit,
            throttling_burst_limit=burst_limit,
        ),
    )


def api_gateway_logging_role(scope: cdk.Stack, *apis: apigateway.RestApi) -> iam.Role:
    """The account's API Gateway role for execution logs (one per account and region), set before ``apis``' stages.

    Called again in the same stack (by a construct that creates its own API, beside the stack's own call), it
    returns the role it made the first time and only adds the new stages' dependencies.
    """
    existing_role = scope.node.try_find_child("ApiGatewayLogging")
    existing_account = scope.node.try_find_child("ApiGatewayAccount")
    if isinstance(existing_role, iam.Role) and isinstance(existing_account, apigateway.CfnAccount):
        for api in apis:
            api.deployment_stage.node.add_dependency(existing_account)
        return existing_role
    role = iam.Role(
        scope,
        "ApiGatewayLogging",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
        ],
    )
    acknowledge(
        role,
        {
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]": "API Gateway's own role for execution logs: AWS documents "
            "this managed policy for it, and the log groups it writes are named by API Gateway at run time."
        },
    )
    account = apigateway.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    for api in apis:
        api.deployment_stage.node.add_dependency(account)
    return role
