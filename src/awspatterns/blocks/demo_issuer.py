"""A stand-in JWT issuer for examples: an RSA key generated at deploy time, kept in Secrets Manager, and its public
JWKS served over HTTPS by a REST API with no function on the request path.

Examples whose APIs sit behind :class:`~awspatterns.blocks.jwt_authorizer.JwtAuthorizer` use it so they run
without an identity provider; a real deployment passes its provider's JWKS URL, issuer and audience instead.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks.apis import secure_rest_api
from awspatterns.blocks.dependencies import DependenciesLayer
from awspatterns.blocks.functions import PythonFunction

__all__ = ["HANDLER_DIR", "DemoIssuer"]

#: The key generator's code, shipped inside this package (``index.handler``).
HANDLER_DIR = Path(__file__).with_name("demo_issuer_handler")


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
            code_dir=HANDLER_DIR,
            handler="index.handler",
            description="Generates the demo issuer's RSA key pair at deploy time",
            timeout=cdk.Duration.seconds(60),
        )
        # cryptography is not in Lambda's Python runtime (nor in every Powertools layer version)
        generator.function.add_layers(
            DependenciesLayer(self, "Dependencies", requirements=HANDLER_DIR / "requirements.txt")
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
