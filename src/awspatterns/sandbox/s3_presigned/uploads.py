"""Browser uploads (POST to a bucket with a form) as S3 authenticates them, in S3's order: the ``key`` and one
``file``; the signature's fields, all of them for Signature Version 4 (``x-amz-algorithm``, ``x-amz-credential``,
``x-amz-date``, ``x-amz-signature``) or 2 (``AWSAccessKeyId``, ``signature``); the access key, its session token and
the signature of the ``policy`` field as sent; then the policy itself (``post_policy``). A form with none of these
is anonymous, which S3 allows only into a bucket whose ACL lets everyone write."""

from __future__ import annotations

import re
from collections.abc import Callable

from awspatterns.sandbox.s3_presigned.credentials import SigningCredentials, check_session, require_credentials
from awspatterns.sandbox.s3_presigned.errors import S3Error, access_denied, invalid_argument, signature_does_not_match
from awspatterns.sandbox.s3_presigned.forms import UploadForm
from awspatterns.sandbox.s3_presigned.post_policy import check_policy, parse_policy
from awspatterns.sandbox.s3_presigned.signing import same, sigv2_signature, sigv4_signature

__all__ = ["MAX_POST_OBJECT_BYTES", "SIGV2_FIELDS", "SIGV4_FIELDS", "check_upload"]

#: The signature's fields, as S3 names them when one is missing.
SIGV4_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature")
SIGV2_FIELDS = ("AWSAccessKeyId", "Signature")
#: The largest object one POST may carry (5 GiB).
MAX_POST_OBJECT_BYTES = 5 * 1024**3
ALWAYS_EXEMPT = frozenset({"file", "policy"})


def _missing(field: str) -> S3Error:
    return invalid_argument(
        f"Bucket POST must contain a field named '{field}'.  If it is specified, please check the order of the fields.",
        field,
        "",
    )


Lookup = Callable[[str], SigningCredentials]


def check_upload(
    form: UploadForm,
    bucket: str,
    now: float,
    bucket_region: str | None = None,
    public_write: bool = False,
    lookup: Lookup = require_credentials,
) -> str | None:
    """Check a browser upload to ``bucket`` as S3 does; return the access key that signed it (``None`` when
    anonymous). ``lookup`` finds an access key's credentials (or raises S3's error for an unknown one).

    Raises:
        S3Error: S3's answer: 400 ``InvalidArgument`` for a missing key, file or signature field, 403
            ``AccessDenied`` for an anonymous upload to a bucket that is not publicly writable, 403
            ``InvalidAccessKeyId``, 403 ``SignatureDoesNotMatch``, and the policy's errors.
    """
    if form.get("key") is None:
        raise _missing("key")
    if form.files != 1:
        raise invalid_argument("POST requires exactly one file upload per request.", "file", str(form.files))
    v4 = any(form.has(field) for field in SIGV4_FIELDS)
    v2 = not v4 and any(form.has(field) for field in SIGV2_FIELDS)
    policy = form.get("policy")
    if not (v4 or v2):
        if policy is None and public_write:
            return None
        raise access_denied()
    for field in SIGV4_FIELDS if v4 else SIGV2_FIELDS:
        if not form.has(field):
            raise _missing(field)
    if policy is None:
        raise _missing("Policy")
    if v4:
        access_key_id = _check_signature_v4(form, policy, now, bucket_region, lookup)
        exempt = ALWAYS_EXEMPT | {"x-amz-signature"}
    else:
        access_key_id = _check_signature_v2(form, policy, now, lookup)
        exempt = ALWAYS_EXEMPT | {"awsaccesskeyid", "signature"}
    check_policy(parse_policy(policy), form, bucket, frozenset(exempt), now)
    if form.size > MAX_POST_OBJECT_BYTES:
        raise S3Error(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            ("ProposedSize", str(form.size)),
            ("MaxSizeAllowed", str(MAX_POST_OBJECT_BYTES)),
        )
    return access_key_id


def _check_signature_v4(form: UploadForm, policy: str, now: float, bucket_region: str | None, lookup: Lookup) -> str:
    algorithm = form.get("X-Amz-Algorithm") or ""
    credential = form.get("X-Amz-Credential") or ""
    amz_date = form.get("X-Amz-Date") or ""
    if algorithm != "AWS4-HMAC-SHA256":
        raise invalid_argument('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', "X-Amz-Algorithm", algorithm)
    scope = credential.split("/")
    if len(scope) != 5:
        raise invalid_argument(
            'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            "X-Amz-Credential",
            credential,
        )
    access_key_id, day, region, service, _ = scope
    if not access_key_id:
        raise invalid_argument(
            "a non-empty Access Key (AKID) must be provided in the credential.", "X-Amz-Credential", credential
        )
    if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
        raise invalid_argument("X-Amz-Date must be formated via ISO8601 Long format", "X-Amz-Date", amz_date)
    if bucket_region and region != bucket_region:
        raise S3Error(
            400,
            "InvalidArgument",
            f"the region '{region}' is wrong; expecting '{bucket_region}'",
            ("ArgumentName", "X-Amz-Credential"),
            ("ArgumentValue", credential),
            ("Region", bucket_region),
        )
    credentials = lookup(access_key_id)
    check_session(credentials, form.get("x-amz-security-token"), now)
    provided = form.get("X-Amz-Signature") or ""
    # The string to sign is the policy field exactly as sent, before it is decoded.
    if not same(sigv4_signature(credentials.secret, day, region, service, policy), provided):
        raise signature_does_not_match(access_key_id, policy, provided)
    return access_key_id


def _check_signature_v2(form: UploadForm, policy: str, now: float, lookup: Lookup) -> str:
    access_key_id = form.get("AWSAccessKeyId") or ""
    credentials = lookup(access_key_id)
    check_session(credentials, form.get("x-amz-security-token"), now)
    provided = form.get("Signature") or ""
    if not same(sigv2_signature(credentials.secret, policy), provided):
        raise signature_does_not_match(access_key_id, policy, provided)
    return access_key_id
