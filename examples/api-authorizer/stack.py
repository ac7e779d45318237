"""A REST API whose routes need JWT scopes, checked by a Lambda TOKEN authorizer against an issuer's JWKS; beside
it, a demo issuer (a key pair generated at deploy time, its public JWKS served over HTTPS).

``ProtectedItemsApi`` takes any issuer (its JWKS URL, issuer and audience) and an existing REST API, so the same
construct protects an API with Cognito, Auth0, Okta or Entra ID tokens; ``DemoIssuer`` stands in for such an
identity provider so the example runs without one.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import JwtAuthorizer, PythonFunction

HANDLERS = Path(__file__).parent / "handlers"
AUDIENCE = "items-api"

# --8<-- [start:routes]
#: Which scopes each route needs (all of them); a route not listed is never allowed.
ROUTE_SCOPES = {"GET /items": ["items:read"], "POST /items": ["items:write"]}
# --8<-- [end:routes]


def secure_rest_api(scope: Construct, construct_id: str, *, description: str, stage_name: str) -> apigateway.RestApi:
    """A regional REST API with JSON access logs, error-level execution logs without data, tracing and throttling."""
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
        cloud_watch_role=False,  # the stack sets the account's API Gateway logging role once, for both APIs
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
            tracing_enabled=True,
            throttling_rate_limit=100,
            throttling_burst_limit=200,
        ),
    )


# --8<-- [start:issuer]
class DemoIssuer(Construct):
    """A stand-in identity provider: an RSA key pair generated at deploy time and its public JWKS, served over HTTPS.

    A custom resource (``KeyGenerator``) creates the key when the stack is created (and again when ``key_version``
    changes: a rotation), stores the private key with its ``kid`` in ``signing_key`` (a Secrets Manager secret), and
    returns the ``kid`` and the JWKS, which ``api`` serves at ``jwks_url`` without any function on the request path.
    Whoever may read the secret can mint tokens: in this example, the account's administrators and the client.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        issuer: the ``iss`` its tokens carry.
        key_version: change it to generate a new key.

    Attributes:
        signing_key: the secret holding ``{"kid", "alg", "privateKeyPem"}``.
        kid: the current key's id.
        api: the REST API serving the JWKS.
        jwks_url: where the JWKS is served.
        issuer: the ``iss`` its tokens carry.
    """

    def __init__(self, scope: Construct, construct_id: str, *, issuer: str, key_version: str = "1") -> None:
        super().__init__(scope, construct_id)
        self.issuer = issuer
        self.signing_key = secretsmanager.Secret(
            self,
            "SigningKey",
            description="Private key (PEM) and kid of the demo JWT issuer; written by its key generator",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.signing_key,
            {
                "AwsSolutions-SMG4": "A signing key is rotated by publishing a new key beside the old one "
                "(change key_version), not by Secrets Manager's rotation of a password."
            },
        )
        generator = PythonFunction(
            self,
            "KeyGenerator",
            code_dir=HANDLERS,
            handler="keygen.index.handler",
            description="Generates the demo issuer's RSA key pair at deploy time",
            timeout=cdk.Duration.seconds(60),
        )
        generator.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:PutSecretValue"], resources=[self.signing_key.secret_arn])
        )
        key = cdk.CustomResource(
            self,
            "Key",
            service_token=generator.function.function_arn,
            resource_type="Custom::SigningKey",
            properties={"SecretArn": self.signing_key.secret_arn, "KeyVersion": key_version},
        )
        key.node.add_dependency(generator)  # its role's policies exist before CloudFormation calls it
        self.kid = key.get_att_string("Kid")
        self.api = secure_rest_api(self, "Api", description="Publishes the demo issuer's JWKS", stage_name="issuer")
        jwks = self.api.root.add_resource(".well-known").add_resource("jwks.json")
        jwks.add_method(
            "GET",
            apigateway.MockIntegration(
                request_templates={"application/json": '{"statusCode": 200}'},
                passthrough_behavior=apigateway.PassthroughBehavior.NEVER,
                integration_responses=[
                    apigateway.IntegrationResponse(
                        status_code="200",
                        response_templates={"application/json": key.get_att_string("Jwks")},
                        response_parameters={"method.response.header.Cache-Control": "'public, max-age=300'"},
                    )
                ],
            ),
            method_responses=[
                apigateway.MethodResponse(
                    status_code="200", response_parameters={"method.response.header.Cache-Control": True}
                )
            ],
        )
        acknowledge(
            self.api,
            {
                "AwsSolutions-APIG2": "GET of a public document: no parameters or body to validate.",
                "AwsSolutions-APIG3": "A demo issuer's public key set; a real deployment puts WAF before the API.",
                "AwsSolutions-APIG4": "A JWKS is public by design: verifiers fetch it without credentials.",
                "AwsSolutions-COG4": "A JWKS is public by design: verifiers fetch it without credentials.",
            },
        )
        self.jwks_url = self.api.url_for_path("/.well-known/jwks.json")


# --8<-- [end:issuer]


# --8<-- [start:api]
class ProtectedItemsApi(Construct):
    """``GET /items`` and ``POST /items`` on an existing REST API, admitted by a JWT authorizer per route scope.

    Requests without a valid ``Bearer`` token are answered 401 (with ``WWW-Authenticate: Bearer``) and never reach
    the handler; valid tokens without the route's scope, 403. ``POST`` bodies are validated by API Gateway against
    a JSON schema before the handler runs. The handler receives the caller's ``sub`` and scopes.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        api: the REST API to add the routes to.
        jwks_url: the issuer's JWKS (``https://``).
        issuer: the ``iss`` tokens must carry.
        audience: the ``aud`` tokens must carry.
        results_cache_ttl: how long API Gateway reuses the authorizer's answer for the same token.

    Attributes:
        authorizer: the ``JwtAuthorizer`` block.
        handler: the items function block.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigateway.RestApi,
        jwks_url: str,
        issuer: str,
        audience: str,
        results_cache_ttl: cdk.Duration = cdk.Duration.minutes(5),
    ) -> None:
        super().__init__(scope, construct_id)
        self.authorizer = JwtAuthorizer(
            self,
            "Authorizer",
            jwks_url=jwks_url,
            issuer=issuer,
            audience=audience,
            route_scopes=ROUTE_SCOPES,
            results_cache_ttl=results_cache_ttl,
        )
        self.handler = PythonFunction(
            self,
            "Handler",
            code_dir=HANDLERS,
            handler="items.index.handler",
            description="Lists and accepts items for callers the JWT authorizer admitted",
        )
        integration = apigateway.LambdaIntegration(self.handler.function)
        validator = api.add_request_validator(
            "ItemsValidator", validate_request_body=True, validate_request_parameters=True
        )
        new_item = api.add_model(
            "NewItem",
            content_type="application/json",
            schema=apigateway.JsonSchema(
                schema=apigateway.JsonSchemaVersion.DRAFT4,
                type=apigateway.JsonSchemaType.OBJECT,
                required=["name"],
                additional_properties=False,
                properties={
                    "name": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING, min_length=1, max_length=100)
                },
            ),
        )
        api.add_gateway_response(
            "Unauthorized",
            type=apigateway.ResponseType.UNAUTHORIZED,
            response_headers={"WWW-Authenticate": "'Bearer'"},
        )
        items = api.root.add_resource("items")
        for method, models in (("GET", None), ("POST", {"application/json": new_item})):
            items.add_method(
                method,
                integration,
                authorizer=self.authorizer.authorizer,
                request_validator=validator,
                request_parameters={"method.request.header.Authorization": True},
                request_models=models,
            )


# --8<-- [end:api]


class ApiAuthorizerStack(cdk.Stack):
    """The demo issuer and the items API that trusts it."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)
        # --8<-- [start:wiring]
        issuer = DemoIssuer(self, "DemoIssuer", issuer=f"urn:awspatterns:{self.stack_name}:issuer")
        api = secure_rest_api(self, "ItemsApi", description="Items, for callers with a JWT", stage_name="prod")
        items = ProtectedItemsApi(
            self, "Items", api=api, jwks_url=issuer.jwks_url, issuer=issuer.issuer, audience=AUDIENCE
        )
        # --8<-- [end:wiring]
        acknowledge(
            api,
            {
                "AwsSolutions-APIG3": "WAF is an account-level choice with its own cost (see the page).",
                "AwsSolutions-COG4": "Callers are authorized by the JWT authorizer, which accepts any issuer's tokens.",
            },
        )
        self._logging_role(api, issuer.api)
        for name, value in {
            "ApiUrl": api.url,
            "ItemsUrl": api.url_for_path("/items"),
            "JwksUrl": issuer.jwks_url,
            "Issuer": issuer.issuer,
            "Audience": AUDIENCE,
            "SigningKeySecretArn": issuer.signing_key.secret_arn,
            "SigningKeyId": issuer.kid,
            "AuthorizerFunctionName": items.authorizer.function.function.function_name,
            "ItemsFunctionName": items.handler.function.function_name,
        }.items():
            cdk.CfnOutput(self, name, value=value)

    def _logging_role(self, *apis: apigateway.RestApi) -> None:
        """The account's API Gateway role for execution logs (one per account and region), set before the stages."""
        role = iam.Role(
            self,
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
        account = apigateway.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        for api in apis:
            api.deployment_stage.node.add_dependency(account)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [ApiAuthorizerStack(app, "ApiAuthorizer", description="AWS Serverless Patterns: api-authorizer")]
