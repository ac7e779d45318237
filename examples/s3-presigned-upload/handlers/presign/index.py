"""The upload API behind the JWT authorizer: ``POST /uploads`` returns a presigned POST form for one file,
``GET /uploads/{upload_id}`` says what became of it (and lends an accepted file back through a presigned GET).

Every refusal is a 4xx with a message saying what to change, given before anything is signed.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayEventAuthorizer,
    APIGatewayEventRequestContext,
    APIGatewayProxyEventModel,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from uploads import (
    ACCEPTED,
    FILENAME,
    INCOMING,
    MAX_BYTES,
    MAX_FILENAME_CHARS,
    MIN_BYTES,
    REJECTED,
    SIGNATURES,
    SUBJECT,
    UPLOAD_ID,
    UploadKey,
)

#: The longest request body read; a form request is a few hundred bytes.
MAX_BODY_BYTES = 4096
#: How long a form (and a download link) stays valid.
FORM_TTL_SECONDS = int(os.environ.get("FORM_TTL_SECONDS", "120"))
BUCKET = os.environ["BUCKET_NAME"]

logger = Logger()
tracer = Tracer()
# Signature Version 4 (a POST policy signed with the function's temporary credentials, session token included).
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))


class ClientError(Exception):
    """A request the API refuses with ``status`` and a message for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --8<-- [start:models]
class Caller(APIGatewayEventAuthorizer):
    """What the JWT authorizer passes on: the token's ``sub`` (and its scopes, unused here)."""

    sub: str


class CallerContext(APIGatewayEventRequestContext):
    authorizer: Caller  # type: ignore[assignment]  # required here: the API has no route without the authorizer


class UploadApiEvent(APIGatewayProxyEventModel):
    """A REST API proxy event whose authorizer context carries the caller."""

    requestContext: CallerContext  # type: ignore[assignment]  # noqa: N815 (the event's own field name)


class UploadRequest(BaseModel):
    """What a caller asks for: one file, its exact type and size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str = Field(max_length=MAX_FILENAME_CHARS)
    content_type: str
    size: StrictInt = Field(ge=MIN_BYTES, le=MAX_BYTES)
    prefix: str | None = None  # optional: if given, it must be the caller's own

    @field_validator("filename")
    @classmethod
    def _safe_filename(cls, value: str) -> str:
        if not FILENAME.match(value):
            raise ValueError("use letters, digits, space, '.', '_', '-', '(' and ')' only, no leading dot and no '..'")
        return value

    @field_validator("content_type")
    @classmethod
    def _allowed_type(cls, value: str) -> str:
        if value not in SIGNATURES:
            raise ValueError(f"{value[:100]!r} is not accepted; use one of {', '.join(sorted(SIGNATURES))}")
        return value


# --8<-- [end:models]


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route the request; every refusal is a 4xx with a message, never a 5xx."""
    try:
        request = parse(event=event, model=UploadApiEvent)
    except ValidationError as error:  # not what API Gateway sends behind the authorizer
        logger.warning("malformed event", extra={"errors": error.errors(include_input=False)})
        return respond(400, {"message": "malformed request"})
    try:
        caller = caller_of(request)
        if request.httpMethod == "POST" and request.resource == "/uploads":
            return respond(201, create_upload(caller, read_request(request)))
        if request.httpMethod == "GET" and request.resource == "/uploads/{upload_id}":
            return respond(200, describe_upload(caller, (request.pathParameters or {}).get("upload_id", "")))
        raise ClientError(404, f"no route {request.httpMethod} {request.resource}")
    except ClientError as error:
        logger.info("refused", extra={"status": error.status, "reason": str(error)})
        return respond(error.status, {"message": str(error)})


def caller_of(request: UploadApiEvent) -> str:
    """The caller's prefix: the token's ``sub``, if it can be one."""
    sub = request.requestContext.authorizer.sub
    if not SUBJECT.match(sub):
        raise ClientError(403, "this token's subject cannot own uploads")
    return sub


def read_request(request: UploadApiEvent) -> UploadRequest:
    """The request body, validated."""
    body = request.body if isinstance(request.body, str) else ""
    raw = base64.b64decode(body) if request.isBase64Encoded else body.encode()
    if len(raw) > MAX_BODY_BYTES:
        raise ClientError(413, f"the request body is over {MAX_BODY_BYTES} bytes")
    try:
        return UploadRequest.model_validate_json(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors(include_input=False)
        )
        raise ClientError(400, f"invalid upload request: {problems}") from error


@tracer.capture_method
def create_upload(sub: str, wanted: UploadRequest) -> dict[str, Any]:
    """Sign a POST form for one object: the exact key, type and size, for ``FORM_TTL_SECONDS``."""
    if wanted.prefix is not None and wanted.prefix != f"{INCOMING}{sub}/":
        raise ClientError(403, f"uploads go under your own prefix, {INCOMING}{sub}/")
    key = UploadKey.new(sub, wanted.filename)
    form = s3.generate_presigned_post(
        Bucket=BUCKET,
        Key=key.key,
        Fields={"Content-Type": wanted.content_type},
        Conditions=[
            {"Content-Type": wanted.content_type},
            ["content-length-range", wanted.size, wanted.size],
        ],
        ExpiresIn=FORM_TTL_SECONDS,
    )
    logger.info("form signed", extra={"key": key.key, "content_type": wanted.content_type, "bytes": wanted.size})
    return {
        "upload_id": key.upload_id,
        "key": key.key,
        "url": form["url"],
        "fields": form["fields"],
        "expires_at": int(time.time()) + FORM_TTL_SECONDS,
    }


# --8<-- [end:handler]


# --8<-- [start:status]
@tracer.capture_method
def describe_upload(sub: str, upload_id: str) -> dict[str, Any]:
    """Where the caller's upload is now: ``pending`` (not validated yet), ``accepted`` or ``rejected``."""
    if not UPLOAD_ID.match(upload_id):
        raise ClientError(400, "an upload id is 32 hexadecimal characters")
    for stage, status in ((ACCEPTED, "accepted"), (REJECTED, "rejected"), (INCOMING, "pending")):
        found = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{stage}{sub}/{upload_id}/", MaxKeys=1).get("Contents")
        if found:
            key = found[0]["Key"]
            head = s3.head_object(Bucket=BUCKET, Key=key)
            answer: dict[str, Any] = {
                "upload_id": upload_id,
                "status": status,
                "key": key,
                "size": head["ContentLength"],
                "content_type": head.get("ContentType"),
            }
            if status == "rejected":
                answer["reason"] = head.get("Metadata", {}).get("reason", "")
            if status == "accepted":
                answer["download_url"] = s3.generate_presigned_url(
                    "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=FORM_TTL_SECONDS
                )
            return answer
    raise ClientError(404, f"no upload {upload_id} under your prefix")


# --8<-- [end:status]


def respond(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """A proxy response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }
