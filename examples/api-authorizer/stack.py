"""A REST API whose routes need JWT scopes, checked by a Lambda TOKEN authorizer against an issuer's JWKS; beside
it, a demo issuer (a key pair generated at deploy time, its public JWKS served over HTTPS).

``ProtectedItemsApi`` takes any issuer (its JWKS URL, issuer and audience) and an existing REST API, so the same
construct protects an API with Cognito, Auth0, Okta or Entra ID tokens; ``DemoIssuer`` (a shared block, also used by
s3-presigned-upload) stands in for such an identity provider so the example runs without one.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import DemoIssuer, JwtAuthorizer, PythonFunction, api_gateway_logging_role, secure_rest_api

HANDLERS = Path(__file__).parent / "handlers"
AUDIENCE = "items-api"

# --8<-- [start:routes]
#: Which scopes each route needs (all of them); a route not listed is never allowed.
ROUTE_SCOPES = {"GET /items": ["items:read"], "POST /items": ["items:write"]}
# --8<-- [end:routes]


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
        api_gateway_logging_role(self, api, issuer.api)
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


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [ApiAuthorizerStack(app, "ApiAuthorizer", description="AWS Serverless Patterns: api-authorizer")]
