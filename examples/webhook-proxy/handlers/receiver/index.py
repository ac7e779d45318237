"""The receiver: ``POST /webhooks/{provider}``. Verifies the delivery's signature, stores the payload with its target
stage, answers at once.

Order of checks (cheapest and least trusting first): a known provider (404), the body's size (413), the signature
header's shape (401), the signed time within the tolerance (401), the signature against the provider's secret and,
during a rotation overlap, its previous one (401), then the body as a JSON object (400). Only then is anything
stored, with a conditional write keyed by the SHA-256 of what was signed: the same signed delivery again is a replay
(409). Every refusal is logged with its reason, never with the body or the secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from signatures import Mismatch, Refused, SecretStore, verify

logger = Logger()
tracer = Tracer()
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
secrets = SecretStore(
    json.loads(os.environ["PROVIDER_SECRETS"]),
    overlap_s=int(os.environ["ROTATION_OVERLAP_SECONDS"]),
    client=boto3.client("secretsmanager"),
)
STAGES = os.environ["STAGES"].split(",")
DEFAULT_STAGE = os.environ["DEFAULT_STAGE"]
ROUTE_FIELD = os.environ["ROUTE_FIELD"]
MAX_BODY_BYTES = int(os.environ["MAX_BODY_BYTES"])
TOLERANCE_S = int(os.environ["TOLERANCE_SECONDS"])
RETENTION_S = int(os.environ["RETENTION_SECONDS"])


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=APIGatewayProxyEventModel)
def handler(event: APIGatewayProxyEventModel, context: LambdaContext) -> dict[str, Any]:
    """Verify and store one delivery; the answer says what happened (the sender only looks at the status)."""
    provider = (event.pathParameters or {}).get("provider", "")
    try:
        if provider not in secrets.providers:
            raise Refused(404, f"no webhook provider named {provider[:64]!r}")
        body = raw_body(event)
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, f"the payload is {len(body)} bytes; this endpoint accepts at most {MAX_BODY_BYTES}")
        header = next((v for k, v in event.headers.items() if k.lower() == "webhook-signature"), None)
        signed_at = verified(provider, header, body)
        payload = parse(body)
        stage = route(payload)
        delivery_id = store(provider, body, payload, stage, signed_at, context.aws_request_id)
    except Refused as refusal:
        logger.warning("refused", extra={"provider": provider[:64], "status": refusal.status, "reason": str(refusal)})
        return answer(refusal.status, {"message": str(refusal)})
    logger.info("stored", extra={"provider": provider, "stage": stage, "delivery_id": delivery_id})
    return answer(200, {"received": delivery_id, "stage": stage})


def verified(provider: str, header: str | None, body: bytes) -> int:
    """The signed time of a delivery whose signature matches; after a mismatch the secrets are read again (at
    most once a second), in case the provider has just rotated."""
    try:
        return verify(header, body, secrets.for_provider(provider), now=time.time(), tolerance_s=TOLERANCE_S)
    except Mismatch:
        fresh = secrets.for_provider(provider, stale=True)
        return verify(header, body, fresh, now=time.time(), tolerance_s=TOLERANCE_S)


def raw_body(event: APIGatewayProxyEventModel) -> bytes:
    """The bytes the sender signed: API Gateway passes text as is and binary media base64-encoded."""
    body = event.body if isinstance(event.body, str) else ""
    return base64.b64decode(body) if event.isBase64Encoded else body.encode("utf-8")


def parse(body: bytes) -> dict[str, Any]:
    """The payload, which must be a JSON object (checked only once the signature is known to be good)."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError included
        raise Refused(400, f"the payload is not UTF-8 JSON: {error}") from None
    if not isinstance(payload, dict):
        raise Refused(400, f"the payload must be a JSON object, not {type(payload).__name__}")
    return payload


def route(payload: dict[str, Any]) -> str:
    """The routing rule: the stage named at ``ROUTE_FIELD`` (a dotted path), or the default stage."""
    value: Any = payload
    for part in ROUTE_FIELD.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value in STAGES else DEFAULT_STAGE


def store(provider: str, body: bytes, payload: dict[str, Any], stage: str, signed_at: int, request_id: str) -> str:
    """Store the payload once: the key is the digest of what was signed, so a replay finds it taken."""
    delivery_id = hashlib.sha256(f"{provider}.{signed_at}.".encode() + body).hexdigest()
    try:
        table.put_item(
            Item={
                "delivery_id": delivery_id,
                "provider": provider,
                "stage": stage,
                "body": body.decode("utf-8"),  # parse() checked it is UTF-8
                "event_id": str(payload.get("id", ""))[:256],
                "signed_at": signed_at,
                "received_at": int(time.time()),
                "received_by": request_id,
                "expires_at": signed_at + RETENTION_S,
            },
            ConditionExpression="attribute_not_exists(delivery_id)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise Refused(409, "this signed delivery was already received (a replay)") from None
        raise
    return delivery_id


def answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """A Lambda proxy response."""
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


# --8<-- [end:handler]
