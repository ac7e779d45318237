"""S3's error answers for requests it refuses: the status, the ``<Error>`` XML document with its code, message and
the elements S3 adds for that error (``Expires``, ``ServerTime``, ``MaxSizeAllowed``, ``StringToSign``, ...)."""

from __future__ import annotations

import base64
import secrets
import time
from xml.sax.saxutils import escape

__all__ = [
    "S3Error",
    "access_denied",
    "invalid_access_key_id",
    "invalid_argument",
    "iso8601",
    "signature_does_not_match",
    "string_bytes",
]


class S3Error(Exception):
    """A request S3 refuses: ``status``, ``code``, ``message`` and the extra XML elements, in S3's order."""

    def __init__(self, status: int, code: str, message: str, *elements: tuple[str, str]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.elements = elements

    def element(self, name: str) -> str | None:
        """The value of an extra element, or ``None``."""
        return next((value for key, value in self.elements if key == name), None)

    def xml(self) -> str:
        """The ``<Error>`` document S3 sends (``RequestId`` and ``HostId`` are random, as they look)."""
        host_id = base64.b64encode(secrets.token_bytes(56)).decode()
        parts = [("Code", self.code), ("Message", self.message), *self.elements]
        parts += [("RequestId", secrets.token_hex(8).upper()), ("HostId", host_id)]
        body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in parts)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'

    def response(self, method: str) -> tuple[int, dict[str, str], bytes]:
        """The answer as moto's response handlers return it (no body for ``HEAD``, as S3)."""
        body = b"" if method.upper() == "HEAD" else self.xml().encode()
        return self.status, {"content-type": "application/xml"}, body


def iso8601(timestamp: float) -> str:
    """A time as S3 writes it in error documents: ``2019-04-29T07:58:01Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def string_bytes(text: str) -> str:
    """A string's UTF-8 bytes as S3's ``...Bytes`` elements show them: two lowercase hex digits each, spaced."""
    return text.encode().hex(" ")


def access_denied(message: str = "Access Denied", *elements: tuple[str, str]) -> S3Error:
    """403 ``AccessDenied``."""
    return S3Error(403, "AccessDenied", message, *elements)


def invalid_access_key_id(access_key_id: str) -> S3Error:
    """403 ``InvalidAccessKeyId``: no such access key (or an inactive one)."""
    return S3Error(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        ("AWSAccessKeyId", access_key_id),
    )


def invalid_argument(message: str, name: str, value: str) -> S3Error:
    """400 ``InvalidArgument`` naming the argument and its value."""
    return S3Error(400, "InvalidArgument", message, ("ArgumentName", name), ("ArgumentValue", value))


def signature_does_not_match(
    access_key_id: str, string_to_sign: str, provided: str, canonical_request: str | None = None
) -> S3Error:
    """403 ``SignatureDoesNotMatch`` with what S3 signed (and, for Signature Version 4 URLs, the canonical request)."""
    elements = [
        ("AWSAccessKeyId", access_key_id),
        ("StringToSign", string_to_sign),
        ("SignatureProvided", provided),
        ("StringToSignBytes", string_bytes(string_to_sign)),
    ]
    if canonical_request is not None:
        elements += [
            ("CanonicalRequest", canonical_request),
            ("CanonicalRequestBytes", string_bytes(canonical_request)),
        ]
    return S3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        *elements,
    )
