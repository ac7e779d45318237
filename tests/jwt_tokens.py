"""A test issuer of JWTs: RSA keys, their JWKS, and well-formed or deliberately broken tokens."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.example.test/"
AUDIENCE = "items-api"


@cache
def rsa_key(name: str = "main", bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key, generated once per test session and name."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TestIssuer:
    """Mints tokens signed with ``key`` under ``kid``; ``jwks()`` publishes the public key."""

    __test__ = False  # not a test class for pytest

    kid: str = "key-1"
    key: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    issuer: str = ISSUER
    audience: str = AUDIENCE

    def jwk(self) -> dict[str, Any]:
        document = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**document, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def jwks(self, *extra: dict[str, Any]) -> dict[str, Any]:
        return {"keys": [self.jwk(), *extra]}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "user-1",
            "scope": "items:read",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, headers: dict[str, Any] | None = None, key: Any = None, **claims: Any) -> str:
        """A signed RS256 token; ``claims`` override the defaults (``None`` removes one)."""
        return jwt.encode(
            self.claims(**claims), key or self.key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )

    def bearer(self, **kwargs: Any) -> str:
        return f"Bearer {self.token(**kwargs)}"


def unsigned_token(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """``header.payload.`` with no signature (what an ``alg: none`` token looks like)."""
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."


def signed_token(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """An RS256 signature over any header, even one PyJWT would refuse to write."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"
