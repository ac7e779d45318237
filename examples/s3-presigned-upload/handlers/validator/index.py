"""The validator: S3 invokes it for every object created under ``incoming/``; it checks the object's size and its
type *by content* (the first bytes, not the declared ``Content-Type``) and moves it to ``accepted/`` or to
``rejected/`` with the reason as object metadata.

A malformed event fails validation before any work; any failure raises, so Lambda retries the event twice and
then sends it with its error to the on-failure destination. A redelivered event whose object was already moved
changes nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3Model
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from uploads import ACCEPTED, INCOMING, MAX_BYTES, MIN_BYTES, REJECTED, BadKey, UploadKey, sniff

#: Enough bytes to recognise every allowed type.
HEAD_BYTES = 16

logger = Logger()
tracer = Tracer()
s3 = boto3.client("s3")


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=S3Model)
def handler(event: S3Model, context: LambdaContext) -> dict[str, int]:
    """Validate and move every object the event names; raise to have Lambda retry, then park the event."""
    outcome = {"accepted": 0, "rejected": 0, "gone": 0}
    for record in event.Records:
        if record.s3.object is None or not record.eventName.startswith("ObjectCreated:"):
            continue
        bucket, key = record.s3.bucket.name, unquote_plus(record.s3.object.key)
        outcome[validate(bucket, key, record.s3.object.versionId)] += 1
    logger.info("validated uploads", extra=outcome)
    return outcome


@tracer.capture_method
def validate(bucket: str, key: str, version_id: str | None) -> str:
    """Check one object and move it; returns ``accepted``, ``rejected`` or ``gone`` (already moved)."""
    version = {"VersionId": version_id} if version_id else {}
    try:
        head = s3.head_object(Bucket=bucket, Key=key, **version)
    except ClientError as error:
        if error.response["Error"]["Code"] in {"404", "NoSuchKey", "NoSuchVersion"}:
            logger.info("already moved", extra={"key": key})  # a redelivered event
            return "gone"
        raise
    reason = problem_with(bucket, key, version, head)
    try:
        upload = UploadKey.parse(key)
        target = upload.moved_to(REJECTED if reason else ACCEPTED).key
    except BadKey:
        target = f"{REJECTED}unexpected/{key.removeprefix(INCOMING)}"
    s3.copy_object(
        Bucket=bucket,
        Key=target,
        CopySource={"Bucket": bucket, "Key": key, **version},
        MetadataDirective="REPLACE",
        ContentType=head.get("ContentType", "application/octet-stream"),
        # Metadata travels as HTTP headers: ASCII only.
        Metadata={
            "validation": "rejected" if reason else "accepted",
            "reason": (reason or "").encode("ascii", "backslashreplace").decode(),
        },
    )
    # In a versioned bucket the event names the version: it is removed for good, not hidden by a delete marker.
    s3.delete_object(Bucket=bucket, Key=key, **version)
    logger.info("moved", extra={"from": key, "to": target, "reason": reason})
    return "rejected" if reason else "accepted"


def problem_with(bucket: str, key: str, version: dict[str, str], head: dict[str, Any]) -> str | None:
    """Why the object is refused, or ``None``: the layout, the size, and the type read from its first bytes."""
    try:
        UploadKey.parse(key)
    except BadKey as error:
        return f"unexpected key: {error}"[:500]
    size, declared = head["ContentLength"], head.get("ContentType", "")
    if not MIN_BYTES <= size <= MAX_BYTES:
        return f"size {size} bytes is outside {MIN_BYTES}..{MAX_BYTES}"
    first = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}", **version)["Body"].read()
    found = sniff(first)
    if found is None:
        return f"the content is none of the accepted types (declared {declared[:100]})"
    if found != declared:
        return f"the content is {found}, declared {declared[:100]}"
    return None


# --8<-- [end:handler]
