"""What enforcement needs of one request to the sandbox's AWS endpoint: the caller's access key, the service and
operation, the account and region, and the operation's parameters (read through moto's own parsing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.utilities.utils import get_partition

__all__ = ["SIGNING_TO_IAM", "Check", "Request", "credentials_of"]

#: Signing names whose IAM service prefix differs.
SIGNING_TO_IAM = {"monitoring": "cloudwatch", "email": "ses", "streams.dynamodb": "dynamodb"}


@dataclass(frozen=True)
class Check:
    """One authorization a request needs: an IAM action on a resource ARN (``*`` for actions AWS authorizes
    without a resource)."""

    action: str
    resource: str


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    return str(value) if value is not None else None


def _query(querystring: Any, name: str) -> str | None:
    for key in (name, name.lower()):
        value = querystring.get(key) if querystring else None
        if value:
            return str(value[0] if isinstance(value, list) else value)
    return None


def credentials_of(headers: Any, querystring: Any) -> tuple[str | None, str | None]:
    """The access key id and signing name a request was signed with: SigV4 ``Authorization`` header, a presigned
    URL's ``X-Amz-Credential`` (also in POST form fields), or SigV2's ``AWS KEY:...``/``AWSAccessKeyId``."""
    authorization = _header(headers, "Authorization") or ""
    if "Credential=" in authorization:
        scope = authorization.partition("Credential=")[2].partition(",")[0].strip().split("/")
        return scope[0], scope[3] if len(scope) > 3 else None
    if authorization.startswith("AWS "):
        return authorization[4:].partition(":")[0], "s3"
    credential = _query(querystring, "X-Amz-Credential")
    if credential:
        scope = unquote(credential).split("/")
        return scope[0], scope[3] if len(scope) > 3 else None
    legacy = _query(querystring, "AWSAccessKeyId")
    return (legacy, "s3") if legacy else (None, None)


class Request:
    """One request as moto parsed it (``response`` is moto's ``BaseResponse`` for the request)."""

    def __init__(self, response: Any, service: str, operation: str) -> None:
        self._response = response
        #: The IAM service prefix (``cloudwatch`` for the ``monitoring`` signing name).
        self.service = service
        self.operation = operation
        self.region: str = response.region
        self.account: str = response.current_account
        self.partition: str = get_partition(self.region)
        self.method: str = response.method
        #: The request path, percent-decoded, without the query.
        self.path: str = unquote(getattr(response, "raw_path", None) or response.path or "/").partition("?")[0]

    def param(self, name: str) -> Any:
        """An operation parameter (body, query string or path), or ``None``."""
        try:
            value = self._response._get_param(name)
        except Exception:  # a parameter moto cannot read is one the request does not have
            return None
        return unquote(value) if isinstance(value, str) and "%3A" in value else value

    def params(self, *names: str) -> list[str]:
        """The first of ``names`` present, as a list (single values become one-element lists)."""
        for name in names:
            value = self.param(name)
            if value:
                return [str(v) for v in value] if isinstance(value, list) else [str(value)]
        return []

    def arn(self, service: str, resource: str, region: bool = True, account: str | None = None) -> str:
        """An ARN in this request's partition, region and account."""
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{account or self.account}:{resource}"
