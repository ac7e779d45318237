"""The subsystem that makes moto's S3 check presigned requests as S3 does (moto 5.2.5 checks neither a presigned
URL's signature or expiry nor a POST upload's policy).

It wraps moto's two S3 request handlers, after moto has parsed the request and before it acts on it: a request
authenticated in its query string (a presigned URL, on a bucket or an object) goes through ``signatures``; a
``multipart/form-data`` POST to a bucket (a browser upload) through ``uploads``. Requests signed in the
``Authorization`` header are left alone. With ``enforce`` ``on`` a refused request gets S3's error; ``soft`` logs
what would have been refused and lets it through; ``off`` installs nothing. Every refusal is logged (bucket, key,
access key, S3's code and message and the elements that say why).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from moto.core.request import Request as MotoRequest
from moto.iam import models as iam_models
from moto.s3.models import ALL_USERS_GRANTEE, PERMISSION_FULL_CONTROL, PERMISSION_WRITE
from moto.s3.responses import S3Response
from moto.sts import models as sts_models

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.s3_presigned.errors import S3Error
from awspatterns.sandbox.s3_presigned.forms import read_form
from awspatterns.sandbox.s3_presigned.signatures import (
    PresignedRequest,
    check_presigned_url,
    parse_query,
    presigned_version,
)
from awspatterns.sandbox.s3_presigned.uploads import check_upload
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "PresignedGate", "install"]

log = logging.getLogger("awspatterns.sandbox.s3_presigned")

PATCHED: Patched = (
    (S3Response, "_bucket_response"),
    (S3Response, "_key_response"),
    (S3Response, "parse_bucket_name_from_url"),
    (S3Response, "parse_key_name"),
    (S3Response, "subdomain_based_buckets"),
    (S3Response, "backend"),
    (MotoRequest, "raw_path"),
    (iam_models, "iam_backends"),
    (sts_models, "sts_backends"),
)

Handler = Callable[[Any, Any, str], Any]
#: Elements too long or too redundant for a log line (the log keeps the string to sign itself).
UNLOGGED = {"StringToSignBytes", "CanonicalRequestBytes"}


def install(engine: Engine) -> None:
    """Wrap moto's S3 bucket and object handlers with the checks, unless enforcement is off."""
    if engine.settings.enforce == "off":
        return
    gate = PresignedGate(engine.settings.enforce)
    replace(S3Response, "_bucket_response", gate.guard(S3Response._bucket_response, bucket_level=True))
    replace(S3Response, "_key_response", gate.guard(S3Response._key_response, bucket_level=False))


class PresignedGate:
    """Checks each presigned request and upload; refuses (``on``) or only logs (``soft``) what S3 would refuse."""

    def __init__(self, mode: str, clock: Callable[[], float] = time.time) -> None:
        self.mode = mode
        self.clock = clock

    def guard(self, handler: Handler, bucket_level: bool) -> Handler:
        """``handler`` (moto's ``_bucket_response`` or ``_key_response``) behind the checks."""
        gate = self

        def guarded(response: Any, request: Any, full_url: str) -> Any:
            if "Authorization" not in request.headers:
                refusal = gate.check(response, request, full_url, bucket_level)
                if refusal is not None and gate.mode == "on":
                    return refusal.response(request.method)
            return handler(response, request, full_url)

        return guarded

    def check(self, response: Any, request: Any, full_url: str, bucket_level: bool) -> S3Error | None:
        """The error S3 would answer to this request (logged), or ``None`` when S3 would accept it."""
        query = parse_query(request.query_string.decode("latin-1"))
        presigned = presigned_version(name for name, _ in query) is not None
        upload = (
            not presigned and bucket_level and request.method == "POST" and request.mimetype == "multipart/form-data"
        )
        if not (presigned or upload):
            return None
        bucket = response.parse_bucket_name_from_url(request, full_url)
        key = "" if bucket_level else response.parse_key_name()
        access_key: str | None = None
        try:
            if upload:
                form = read_form(request.form.items(multi=True), request.files.items(multi=True), response.raw_body)
                key = form.get("key") or ""
                access_key = form.get("X-Amz-Credential") or form.get("AWSAccessKeyId")
                check_upload(form, bucket, self.clock(), _region(response, bucket), _public_write(response, bucket))
            else:
                signed = PresignedRequest(
                    method=request.method,
                    raw_path=request.raw_path,
                    query=query,
                    headers=tuple(request.headers.items()),
                    bucket=bucket,
                    virtual_host=bool(bucket) and response.subdomain_based_buckets(request),
                    bucket_region=_region(response, bucket),
                )
                access_key = signed.param("X-Amz-Credential") or signed.param("AWSAccessKeyId")
                check_presigned_url(signed, self.clock())
        except S3Error as refusal:
            self._log(refusal, "POST upload" if upload else f"presigned {request.method}", bucket, key, access_key)
            return refusal
        return None

    def _log(self, refusal: S3Error, what: str, bucket: str, key: str, access_key: str | None) -> None:
        because = "".join(
            f"; {name}={value!r}" for name, value in refusal.elements if name not in UNLOGGED and value != ""
        )
        credential = (access_key or "anonymous").split("/")[0]
        outcome = "refused" if self.mode == "on" else "would refuse (allowed: enforce soft)"
        log.warning(
            "S3 %s %s to bucket %r key %r (access key %s): %s %s: %s%s",
            outcome,
            what,
            bucket,
            key,
            credential,
            refusal.status,
            refusal.code,
            refusal.message,
            because,
        )


def _bucket(response: Any, name: str) -> Any:
    try:
        return response.backend.get_bucket(name) if name else None
    except Exception:  # a missing bucket is moto's to answer, after the checks
        return None


def _region(response: Any, name: str) -> str | None:
    bucket = _bucket(response, name)
    return getattr(bucket, "region_name", None)


def _public_write(response: Any, name: str) -> bool:
    bucket = _bucket(response, name)
    grants = getattr(getattr(bucket, "acl", None), "grants", None) or []
    return any(
        ALL_USERS_GRANTEE in grant.grantees and {PERMISSION_WRITE, PERMISSION_FULL_CONTROL} & set(grant.permissions)
        for grant in grants
    )
