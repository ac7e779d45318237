"""A denial as AWS answers it: the service's error code and HTTP status, in its protocol (moto's serializers write
the envelope), with the message AWS words, e.g. ``User: arn:aws:sts::123456789012:assumed-role/R/S is not
authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:...:table/T because no identity-based
policy allows the dynamodb:PutItem action``.

Services word it slightly differently: SQS lower-cases the action (``sqs:sendmessage``), SNS upper-cases the
prefix (``SNS:Publish``), S3 quotes the resource; an action authorized without a resource names none. An explicit
Deny in a managed policy names the policy's ARN; a refusal by a bucket, queue, topic, function or key policy says
``resource-based``.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.s3.exceptions import BucketAccessDeniedError, S3AccessDeniedError

from awspatterns.sandbox.iam.evaluation import Verdict
from awspatterns.sandbox.iam.requests import Check

__all__ = ["DENIALS", "AccessDenied", "S3AccessDenied", "denial_message", "denial_response", "s3_denial"]

#: IAM service prefix -> (error code, HTTP status) of AWS's access denied answer.
DENIALS: dict[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "sqs": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "dynamodb": ("AccessDeniedException", 400),
    "lambda": ("AccessDeniedException", 403),
    "kms": ("AccessDeniedException", 400),
    "logs": ("AccessDeniedException", 400),
    "events": ("AccessDeniedException", 400),
    "firehose": ("AccessDeniedException", 400),
    "kinesis": ("AccessDeniedException", 400),
    "secretsmanager": ("AccessDeniedException", 400),
    "ssm": ("AccessDeniedException", 400),
    "rds-data": ("AccessDeniedException", 403),
    "cloudwatch": ("AccessDenied", 403),
    "xray": ("AccessDeniedException", 403),
    "sts": ("AccessDenied", 403),
    "iam": ("AccessDenied", 403),
    "apigateway": ("AccessDeniedException", 403),
    "cloudformation": ("AccessDenied", 403),
}


class AccessDenied(ServiceException):
    """An access denied error, serialized by moto in the service's protocol."""


class S3AccessDenied(BucketAccessDeniedError):
    """S3's ``AccessDenied``: moto answers it with 403 (and, for a batch delete, as a per-key error)."""

    def __init__(self, bucket: str | None, message: str) -> None:
        super().__init__(bucket or "")
        self.message = message


def denial_message(principal_arn: str, check: Check, verdict: Verdict, service: str) -> str:
    """What AWS's message says for this denial."""
    action = check.action
    if service == "sqs":
        action = action.lower()
    elif service == "sns":
        action = "SNS:" + action.partition(":")[2]
    resource = f'"{check.resource}"' if service == "s3" else check.resource
    head = f"User: {principal_arn} is not authorized to perform: {action}"
    if check.resource != "*":  # AWS names no resource for actions authorized without one
        head += f" on resource: {resource}"
    if verdict.explicit:
        named = f": {verdict.policy.arn}" if verdict.policy is not None and verdict.policy.arn else ""
        return f"{head} with an explicit deny in a{'n' if verdict.kind[0] == 'i' else ''} {verdict.kind} policy{named}"
    return f"{head} because no {verdict.kind} policy allows the {action} action"


def _protocol_default(response: Any) -> tuple[str, int]:
    headers = response.headers
    content_type = str(headers.get("Content-Type", ""))
    if headers.get("X-Amz-Target") or "amz-json" in content_type:
        return "AccessDeniedException", 400
    if "Action" in (response.querystring or {}):
        return "AccessDenied", 403
    return "AccessDeniedException", 403


def denial_response(response: Any, service: str, message: str) -> tuple[int, dict[str, str], Any]:
    """The response moto sends for a denied request to a service other than S3."""
    code, status = DENIALS.get(service) or _protocol_default(response)
    _, headers, body = response.serialized(ActionResult(AccessDenied(code, message)))
    return status, headers, body


def s3_denial(bucket: str | None, message: str) -> Exception:
    """The exception moto's S3 handlers turn into S3's 403 ``AccessDenied`` answer."""
    if bucket:
        return S3AccessDenied(bucket, message)
    error = S3AccessDeniedError()
    error.message = message
    return error
