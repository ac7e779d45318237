"""The demo JWT issuer's key generator (``DemoIssuer``): a CloudFormation custom resource that creates an RSA key
pair at deploy time.

On Create (and on an Update that changes ``KeyVersion``: a key rotation) it generates a 2048-bit RSA key, stores the
private key and its ``kid`` in the signing-key secret, and returns the ``kid`` and the public JWKS to the stack,
which publishes the JWKS. The private key exists only in the secret: never in the template, the code or a log. On
Delete it does nothing (CloudFormation deletes the secret with the stack).
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    CloudFormationCustomResourceCreateModel,
    CloudFormationCustomResourceDeleteModel,
    CloudFormationCustomResourceUpdateModel,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["create_key", "handler", "new_signing_key"]

logger = Logger()
tracer = Tracer()

CustomResourceEvent = (
    CloudFormationCustomResourceCreateModel
    | CloudFormationCustomResourceUpdateModel
    | CloudFormationCustomResourceDeleteModel
)


def _b64url_uint(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


# --8<-- [start:keygen]
def new_signing_key() -> tuple[str, str, dict[str, Any]]:
    """A new RSA key: its ``kid`` (the RFC 7638 thumbprint of the public key), private PEM and public JWK."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    public = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    thumbprint = hashlib.sha256(json.dumps(public, separators=(",", ":"), sort_keys=True).encode()).digest()
    kid = base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return kid, pem, {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def create_key(secret_id: str) -> dict[str, str]:
    """Generate a key, store it in the secret, and return what the stack publishes."""
    kid, pem, jwk = new_signing_key()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({"kid": kid, "alg": "RS256", "privateKeyPem": pem})
    )
    logger.info("signing key created", extra={"kid": kid})
    return {"Kid": kid, "Jwks": json.dumps({"keys": [jwk]}, separators=(",", ":"))}


# --8<-- [end:keygen]


def _respond(event: CustomResourceEvent, status: str, physical_id: str, data: dict[str, str], reason: str) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:256],
            "PhysicalResourceId": physical_id,
            "StackId": event.stack_id,
            "RequestId": event.request_id,
            "LogicalResourceId": event.logical_resource_id,
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (CloudFormation's pre-signed https URL)
        str(event.response_url), data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    """Answer CloudFormation: SUCCESS with the ``kid`` and JWKS, or FAILED with the reason (never hang the stack)."""
    request: CustomResourceEvent = parse(event=event, model=CustomResourceEvent)  # type: ignore[call-overload]
    properties = request.resource_properties if isinstance(request.resource_properties, dict) else {}
    physical_id = getattr(request, "physical_resource_id", None) or request.logical_resource_id
    try:
        if isinstance(request, CloudFormationCustomResourceDeleteModel):
            _respond(request, "SUCCESS", physical_id, {}, "nothing to delete: the secret goes with the stack")
            return
        data = create_key(str(properties["SecretArn"]))
        _respond(request, "SUCCESS", data["Kid"], data, "signing key created")
    except Exception as error:
        logger.exception("key generation failed")
        _respond(request, "FAILED", physical_id, {}, f"{type(error).__name__}: {error}")
