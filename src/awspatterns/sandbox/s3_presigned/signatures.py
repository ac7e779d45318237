"""Presigned URLs as S3 checks them: the authentication parameters of the query string (Signature Version 4:
``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``,
``X-Amz-Signature``; Signature Version 2: ``AWSAccessKeyId``, ``Expires``, ``Signature``), the expiry, the access
key and its session token, then the signature recomputed from the request as it arrived. Each failure raises
S3's error for it."""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote

from awspatterns.sandbox.s3_presigned.credentials import SigningCredentials, check_session, require_credentials
from awspatterns.sandbox.s3_presigned.errors import S3Error, access_denied, iso8601, signature_does_not_match
from awspatterns.sandbox.s3_presigned.signing import same, sigv2_signature, sigv4_signature

__all__ = [
    "MAX_EXPIRES_S",
    "SIGV2_PARAMS",
    "SIGV4_PARAMS",
    "PresignedRequest",
    "check_presigned_url",
    "parse_query",
    "presigned_version",
]

SIGV4_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
SIGV2_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")
#: The longest a Signature Version 4 URL may be valid: seven days.
MAX_EXPIRES_S = 604800
#: How far in the future ``X-Amz-Date`` may be before S3 says the request is not valid yet.
CLOCK_SKEW_S = 15 * 60
#: The sub-resources a Signature Version 2 signature covers (S3's list, as botocore signs them).
SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle",
        "location", "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
        "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires", "restore", "select",
        "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
        "versions", "website",
    }
)  # fmt: skip
AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")


@dataclass(frozen=True)
class PresignedRequest:
    """What S3 signs of a request: method, path as sent (percent-encoded), query parameters (decoded, in order;
    ``None`` for a name without ``=``), headers, and the bucket (named in the path, or in the host when
    ``virtual_host``), with its region when it exists."""

    method: str
    raw_path: str
    query: tuple[tuple[str, str | None], ...]
    headers: tuple[tuple[str, str], ...]
    bucket: str
    virtual_host: bool = False
    bucket_region: str | None = None

    def param(self, name: str) -> str | None:
        """The first value of a query parameter (``""`` for a name without ``=``), or ``None``."""
        return next(((value or "") for key, value in self.query if key == name), None)

    def header_values(self, name: str) -> list[str]:
        """Every value of a header, case-insensitively."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        """A header's values joined as S3 reads them, or ``None``."""
        values = self.header_values(name)
        return ",".join(value.strip() for value in values) if values else None


def parse_query(query_string: str) -> tuple[tuple[str, str | None], ...]:
    """Query parameters decoded as S3 reads them: ``+`` stays ``+`` (signers encode a space as ``%20``)."""
    pairs: list[tuple[str, str | None]] = []
    for part in query_string.split("&"):
        if not part:
            continue
        name, has_value, value = part.partition("=")
        pairs.append((unquote(name), unquote(value) if has_value else None))
    return tuple(pairs)


def presigned_version(names: Iterable[str]) -> int | None:
    """4 or 2 when the query carries that version's authentication parameters (any of them), else ``None``."""
    present = set(names)
    if present & set(SIGV4_PARAMS):
        return 4
    if present & set(SIGV2_PARAMS):
        return 2
    return None


Lookup = Callable[[str], SigningCredentials]


def check_presigned_url(
    request: PresignedRequest, now: float | None = None, lookup: Lookup = require_credentials
) -> str:
    """Check a presigned request as S3 does and return its access key id (``lookup`` finds an access key's
    credentials, or raises S3's error for an unknown one).

    Raises:
        S3Error: what S3 answers: 400 ``AuthorizationQueryParametersError`` for missing or malformed parameters,
            403 ``AccessDenied`` ("Request has expired") past the expiry, 403 ``InvalidAccessKeyId``, 403
            ``SignatureDoesNotMatch``, and the session token's errors.
    """
    now = time.time() if now is None else now
    version = presigned_version(name for name, _ in request.query)
    if version == 4:
        return _check_sigv4(request, now, lookup)
    if version == 2:
        return _check_sigv2(request, now, lookup)
    raise ValueError("not a presigned request")


# ---------------------------------------------------------------------------------------------- Signature Version 4
def _query_error(message: str, *elements: tuple[str, str]) -> S3Error:
    return S3Error(400, "AuthorizationQueryParametersError", message, *elements)


def _credential_error(detail: str, *elements: tuple[str, str]) -> S3Error:
    return _query_error(f"Error parsing the X-Amz-Credential parameter; {detail}", *elements)


def _check_sigv4(request: PresignedRequest, now: float, lookup: Lookup) -> str:
    params = {name: request.param(name) for name in SIGV4_PARAMS}
    if any(value is None for value in params.values()):
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
    algorithm, credential, signature, amz_date, signed_headers, expires = (str(params[n]) for n in SIGV4_PARAMS)
    if algorithm != "AWS4-HMAC-SHA256":
        raise _query_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    scope = credential.split("/")
    if len(scope) != 5:
        raise _credential_error(
            'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    access_key_id, day, region, service, terminal = scope
    if not AMZ_DATE.match(amz_date):
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if not re.fullmatch(r"-?\d+", expires):
        raise _query_error("X-Amz-Expires should be a number")
    lifetime = int(expires)
    if lifetime < 0:
        raise _query_error("X-Amz-Expires must be non-negative")
    if lifetime > MAX_EXPIRES_S:
        raise _query_error(f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_EXPIRES_S}")
    if day != amz_date[:8]:
        raise _query_error(
            f'Invalid credential date "{day}". This date is not the same as X-Amz-Date: "{amz_date[:8]}".'
        )
    if service != "s3":
        raise _credential_error(f'incorrect service "{service}". This endpoint belongs to "s3".')
    if terminal != "aws4_request":
        raise _credential_error(f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".')
    if request.bucket_region and region != request.bucket_region:
        raise _credential_error(
            f"the region '{region}' is wrong; expecting '{request.bucket_region}'", ("Region", request.bucket_region)
        )

    signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    expires_at = signed_at + lifetime
    if now > expires_at:
        raise access_denied(
            "Request has expired",
            ("X-Amz-Expires", expires),
            ("Expires", iso8601(expires_at)),
            ("ServerTime", iso8601(now)),
        )
    if signed_at > now + CLOCK_SKEW_S:
        raise access_denied(
            "Request is not yet valid",
            ("X-Amz-Date", str(signed_at * 1000)),
            ("Expires", iso8601(expires_at)),
            ("ServerTime", iso8601(now)),
        )

    credentials = lookup(access_key_id)
    check_session(credentials, request.param("X-Amz-Security-Token"), now)
    signed = [name for name in signed_headers.lower().split(";") if name]
    unsigned = sorted({key.lower() for key, _ in request.headers if key.lower().startswith("x-amz-")} - set(signed))
    if unsigned:
        raise access_denied(
            "There were headers present in the request which were not signed", ("HeadersNotSigned", ", ".join(unsigned))
        )
    canonical_request = _canonical_request(request, signed)
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = "\n".join([algorithm, amz_date, f"{day}/{region}/{service}/{terminal}", digest])
    expected = sigv4_signature(credentials.secret, day, region, service, string_to_sign)
    if not same(expected, signature):
        raise signature_does_not_match(access_key_id, string_to_sign, signature, canonical_request)
    return access_key_id


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _canonical_request(request: PresignedRequest, signed_headers: list[str]) -> str:
    # S3 canonicalizes the path it received: decoded, then encoded once with '/' kept.
    path = quote(unquote(request.raw_path), safe="/~")
    query = sorted((_encode(name), _encode(value or "")) for name, value in request.query if name != "X-Amz-Signature")
    headers = [f"{name}:{' '.join((request.header(name) or '').split())}" for name in signed_headers]
    payload = request.header("x-amz-content-sha256") if "x-amz-content-sha256" in signed_headers else None
    return "\n".join(
        [
            request.method.upper(),
            path,
            "&".join(f"{name}={value}" for name, value in query),
            *headers,
            "",
            ";".join(signed_headers),
            payload or "UNSIGNED-PAYLOAD",
        ]
    )


# ---------------------------------------------------------------------------------------------- Signature Version 2
def _check_sigv2(request: PresignedRequest, now: float, lookup: Lookup) -> str:
    access_key_id, signature, expires = (request.param(name) for name in SIGV2_PARAMS)
    if access_key_id is None or signature is None or expires is None:
        raise access_denied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
    if not expires.isdigit():
        raise access_denied(f"Invalid date (should be seconds since epoch): {expires}")
    if now > int(expires):
        raise access_denied("Request has expired", ("Expires", iso8601(int(expires))), ("ServerTime", iso8601(now)))
    credentials = lookup(access_key_id)
    check_session(credentials, request.param("x-amz-security-token") or request.header("x-amz-security-token"), now)
    string_to_sign = _sigv2_string_to_sign(request, expires)
    if not same(sigv2_signature(credentials.secret, string_to_sign), signature):
        raise signature_does_not_match(access_key_id, string_to_sign, signature)
    return access_key_id


def _sigv2_string_to_sign(request: PresignedRequest, expires: str) -> str:
    # x-amz-* values may travel as headers or, in a presigned URL, as query parameters (botocore puts them there).
    amz: dict[str, list[str]] = {}
    for name, value in request.query:
        if name.lower().startswith("x-amz-"):
            amz.setdefault(name.lower(), []).append((value or "").strip())
    for name, value in request.headers:
        if name.lower().startswith("x-amz-"):
            amz.setdefault(name.lower(), []).append(value.strip())
    resource = f"/{request.bucket}{request.raw_path}" if request.virtual_host else request.raw_path
    if request.bucket and resource == f"/{request.bucket}":
        resource += "/"  # the bucket itself is signed as "/bucket/", however the path names it
    subresources = sorted(((name, value) for name, value in request.query if name in SUBRESOURCES), key=lambda p: p[0])
    if subresources:
        resource += "?" + "&".join(name if value is None else f"{name}={value}" for name, value in subresources)
    return "\n".join(
        [
            request.method.upper(),
            request.header("content-md5") or "",
            request.header("content-type") or "",
            expires,
            *(f"{name}:{','.join(values)}" for name, values in sorted(amz.items())),
            resource,
        ]
    )
