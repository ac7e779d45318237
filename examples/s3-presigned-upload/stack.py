"""Uploads larger than API Gateway can carry: an API behind a JWT authorizer signs a POST form for one file, the
client sends the file straight to S3, and a validator moves each upload to an accepted or a rejected prefix.

``PresignedUploads`` takes the bucket (an existing one works), the REST API to add its routes to (an existing one
works) and the token issuer (any provider's JWKS URL, issuer and audience); the stack wires it to a bucket, an API
and the catalog's demo issuer, whose signing key sits in Secrets Manager.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import (
    AccessLogBucket,
    DeadLetterQueue,
    DemoIssuer,
    JwtAuthorizer,
    PythonFunction,
    SecureBucket,
    acknowledge_cdk_custom_resources,
    api_gateway_logging_role,
    secure_rest_api,
)

HANDLERS = Path(__file__).parent / "handlers"
AUDIENCE = "uploads-api"

# --8<-- [start:routes]
#: Which scopes each route needs; a route not listed is never allowed.
ROUTE_SCOPES = {"POST /uploads": ["uploads:write"], "GET /uploads/{upload_id}": ["uploads:read"]}
# --8<-- [end:routes]


def _arn_token(scope: Construct, arn: str) -> str:
    """How cdk-nag names ``arn`` in a granular finding: ``<LogicalId.Arn>`` for a bucket of this stack."""
    resolved = cdk.Stack.of(scope).resolve(arn)
    return f"<{resolved['Fn::GetAtt'][0]}.Arn>" if isinstance(resolved, dict) and "Fn::GetAtt" in resolved else arn


# --8<-- [start:construct]
class PresignedUploads(Construct):
    """``POST /uploads`` and ``GET /uploads/{upload_id}`` behind a JWT authorizer, and a validator of what lands.

    * ``POST /uploads`` (scope ``uploads:write``) answers a presigned POST form for one file: the key is chosen by
      the server under ``incoming/<sub>/``, the policy pins that key, the exact ``Content-Type`` (from an
      allow-list) and the exact size (``content-length-range``), and expires after ``form_ttl``. The file then goes
      straight to S3, so its size is bounded by ``max_bytes``, not by API Gateway's 10 MB payload limit.
    * S3 invokes ``validator`` for every object under ``incoming/``; it reads the first bytes to learn the real
      type, checks the size, and moves the object to ``accepted/`` or ``rejected/`` (with the reason as metadata).
      Lambda retries a failed event twice, then parks it in ``failures`` with its error.
    * ``GET /uploads/{upload_id}`` (scope ``uploads:read``) says where the caller's upload is, and lends an accepted
      file back through a presigned GET.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        bucket: where uploads land (one of this stack's, or ``s3.Bucket.from_bucket_name``); this construct owns its
            ``incoming/``, ``accepted/`` and ``rejected/`` prefixes.
        api: the REST API to add ``/uploads`` to.
        jwks_url: the token issuer's JWKS (``https://``).
        issuer: the ``iss`` tokens must carry.
        audience: the ``aud`` tokens must carry.
        form_ttl: how long a form (and a download link) is valid.
        max_bytes: the largest upload accepted (at most 5 GB, S3's limit for one POST).

    Attributes:
        authorizer: the ``JwtAuthorizer`` block.
        presign: the API's function block.
        validator: the validator function block.
        failures: the validator's on-failure destination.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        api: apigateway.RestApi,
        jwks_url: str,
        issuer: str,
        audience: str,
        form_ttl: cdk.Duration = cdk.Duration.seconds(120),
        max_bytes: int = 100 * 1024 * 1024,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= max_bytes <= 5 * 1024**3:
            raise ValueError("max_bytes must be between 1 and 5 GB (S3's limit for a POST upload)")
        limits = {"BUCKET_NAME": bucket.bucket_name, "MAX_UPLOAD_BYTES": str(max_bytes)}
        self.authorizer = JwtAuthorizer(
            self, "Authorizer", jwks_url=jwks_url, issuer=issuer, audience=audience, route_scopes=ROUTE_SCOPES
        )
        self.presign = PythonFunction(
            self,
            "Presign",
            code_dir=HANDLERS,
            handler="presign.index.handler",
            description="Signs upload forms and reports uploads, for callers the JWT authorizer admitted",
            environment={**limits, "FORM_TTL_SECONDS": str(int(form_ttl.to_seconds()))},
        )
        # The form is signed with this role: S3 authorizes the upload as this role, on the incoming/ prefix only.
        self.presign.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("incoming/*")])
        )
        self.presign.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{stage}/*") for stage in ("incoming", "accepted", "rejected")],
            )
        )
        # Listing tells "not there yet" (404) from "not yours" without guessing file names.
        self.presign.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
        )
        self.failures: sqs.IQueue = DeadLetterQueue(self, "Failures").queue
        self.validator = PythonFunction(
            self,
            "Validator",
            code_dir=HANDLERS,
            handler="validator.index.handler",
            description="Checks each upload's real type and size and moves it to accepted/ or rejected/",
            environment=limits,
            timeout=cdk.Duration.seconds(60),
            retry_attempts=2,
            on_failure=destinations.SqsDestination(self.failures),
        )
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(self.validator.function),
            s3.NotificationKeyFilter(prefix="incoming/"),
        )
        self.validator.role.add_to_principal_policy(
            iam.PolicyStatement(
                # The event names a version when the bucket is versioned (then the *Version actions apply).
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[bucket.arn_for_objects("incoming/*")],
            )
        )
        self.validator.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects("accepted/*"), bucket.arn_for_objects("rejected/*")],
            )
        )
        arn = _arn_token(self, bucket.bucket_arn)
        reason = "Keys hold a caller's sub and a server-generated upload id: not known at deploy time."
        for function, prefixes in (
            (self.presign, ("incoming", "accepted", "rejected")),
            (self.validator, ("incoming", "accepted", "rejected")),
        ):
            acknowledge(function.role, {f"AwsSolutions-IAM5[Resource::{arn}/{p}/*]": reason for p in prefixes})

        uploads = api.root.add_resource("uploads")
        integration = apigateway.LambdaIntegration(self.presign.function)
        # API Gateway checks the Authorization header is there; the body is validated by the function, which says
        # exactly what is wrong (a JSON-schema model would answer every mistake with "Invalid request body").
        validator = api.add_request_validator(
            "UploadsValidator", validate_request_parameters=True, validate_request_body=True
        )
        api.add_gateway_response(
            "Unauthorized", type=apigateway.ResponseType.UNAUTHORIZED, response_headers={"WWW-Authenticate": "'Bearer'"}
        )
        for resource, method in ((uploads, "POST"), (uploads.add_resource("{upload_id}"), "GET")):
            resource.add_method(
                method,
                integration,
                authorizer=self.authorizer.authorizer,
                request_validator=validator,
                request_parameters={"method.request.header.Authorization": True},
            )


# --8<-- [end:construct]


class S3PresignedUploadStack(cdk.Stack):
    """A bucket, the upload API in front of it, and the demo issuer whose tokens the API accepts."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)
        # --8<-- [start:stack]
        access_logs = AccessLogBucket(self, "AccessLogs")
        bucket = SecureBucket(self, "Uploads", access_logs=access_logs.bucket).bucket
        issuer = DemoIssuer(self, "DemoIssuer", issuer=f"urn:awspatterns:{self.stack_name}:issuer")
        api = secure_rest_api(
            self, "UploadsApi", description="Signs upload forms for callers with a JWT", stage_name="prod"
        )
        uploads = PresignedUploads(
            self, "Presigned", bucket=bucket, api=api, jwks_url=issuer.jwks_url, issuer=issuer.issuer, audience=AUDIENCE
        )
        # --8<-- [end:stack]
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
            "UploadsUrl": api.url_for_path("/uploads"),
            "BucketName": bucket.bucket_name,
            "Issuer": issuer.issuer,
            "Audience": AUDIENCE,
            "SigningKeySecretArn": issuer.signing_key.secret_arn,
            "PresignFunctionName": uploads.presign.function.function_name,
            "ValidatorFunctionName": uploads.validator.function.function_name,
            "ValidatorFailuresQueueUrl": uploads.failures.queue_url,
        }.items():
            cdk.CfnOutput(self, name, value=value)
        acknowledge_cdk_custom_resources(self)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [
        S3PresignedUploadStack(app, "S3PresignedUpload", description="AWS Serverless Patterns: s3-presigned-upload")
    ]
