"""The HMACs S3 signatures are made of: Signature Version 4 (a key derived per day, region and service, hex
signatures) and Signature Version 2 (HMAC-SHA1 with the secret itself, base64 signatures)."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["same", "sigv2_signature", "sigv4_signature", "sigv4_signing_key"]


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sigv4_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The Signature Version 4 signing key for a day (``YYYYMMDD``), region and service."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sigv4_signature(secret: str, date: str, region: str, service: str, string_to_sign: str) -> str:
    """The hex Signature Version 4 signature of ``string_to_sign``."""
    return hmac.new(
        sigv4_signing_key(secret, date, region, service), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()


def sigv2_signature(secret: str, string_to_sign: str) -> str:
    """The base64 Signature Version 2 signature of ``string_to_sign``."""
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def same(expected: str, provided: str) -> bool:
    """Whether a provided signature is the expected one (in constant time)."""
    return hmac.compare_digest(expected.encode(), provided.encode())
