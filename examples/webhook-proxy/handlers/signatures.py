"""Webhook signatures as the provider makes them, and the secrets to check them with.

The header is ``Webhook-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]``: each ``v1`` is HMAC-SHA256, keyed with a
signing secret, over ``<t>.`` followed by the raw body. During a rotation the provider signs with both its new and
its old secret, so the header carries two ``v1`` values; the receiver accepts a delivery if any of them matches any
secret it holds (the current one, and the previous one during the rotation overlap).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_HEADER_LENGTH", "MAX_SIGNATURES", "Mismatch", "Refused", "SecretStore", "sign", "verify"]

#: Longer headers are refused before parsing.
MAX_HEADER_LENGTH = 512
#: A rotation needs two signatures; a few more are tolerated, many are refused (each costs an HMAC per secret).
MAX_SIGNATURES = 4


class Refused(Exception):
    """A delivery refused, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Mismatch(Refused):
    """No signature matches the secrets tried (the secrets may be stale: see :class:`SecretStore`)."""

    def __init__(self) -> None:
        super().__init__(401, "no signature matches")


# --8<-- [start:verify]
def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature of ``body`` signed at ``timestamp``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(header: str | None, body: bytes, secrets: list[str], *, now: float, tolerance_s: int) -> int:
    """Check a ``Webhook-Signature`` header against ``secrets``; return the signed time.

    Raises:
        Refused: (401) the header is missing or malformed, or the signed time is outside the tolerance.
        Mismatch: (401) no signature matches a secret.
    """
    if not header:
        raise Refused(401, "the Webhook-Signature header is missing")
    if len(header) > MAX_HEADER_LENGTH:
        raise Refused(401, "the Webhook-Signature header is too long")
    timestamps, signatures = [], []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value)
    if (
        len(timestamps) != 1
        or not (timestamps[0].isascii() and timestamps[0].isdigit())
        or not 1 <= len(signatures) <= MAX_SIGNATURES
    ):
        raise Refused(401, "the Webhook-Signature header must be t=<unix time>,v1=<signature>")
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance_s:
        raise Refused(401, f"the signature was made {int(now - timestamp)} s ago; the tolerance is {tolerance_s} s")
    expected = [sign(secret, timestamp, body) for secret in secrets]
    # compare_digest takes the same time wherever the strings differ; every pair is compared, matched or not.
    matches = [hmac.compare_digest(e.encode(), s.encode()) for e in expected for s in signatures]
    if not any(matches):
        raise Mismatch
    return timestamp


# --8<-- [end:verify]


# --8<-- [start:secrets]
class SecretStore:
    """Each provider's signing secrets from Secrets Manager: ``AWSCURRENT``, and ``AWSPREVIOUS`` while the current
    version is younger than the rotation overlap (so at most one rotation overlaps).

    Secrets are cached for ``max_age_s``. :meth:`for_provider` refreshes them sooner, at most once per
    ``refresh_cooldown_s``, when asked again right after a mismatch (``stale=True``): a rotation is picked up at the
    first delivery signed with the new secret alone, and a flood of forged deliveries costs one call per cooldown.
    """

    def __init__(
        self,
        secret_arns: Mapping[str, str],
        *,
        overlap_s: int,
        client: Any,
        max_age_s: float = 300,
        refresh_cooldown_s: float = 1,
    ) -> None:
        self.arns = dict(secret_arns)
        self.overlap_s = overlap_s
        self.client = client
        self.max_age_s = max_age_s
        self.refresh_cooldown_s = refresh_cooldown_s
        self._cache: dict[str, tuple[float, list[str]]] = {}

    @property
    def providers(self) -> set[str]:
        """The providers with a secret."""
        return set(self.arns)

    def for_provider(self, provider: str, *, stale: bool = False) -> list[str]:
        """The secrets a delivery from ``provider`` may be signed with, newest first."""
        fetched_at, values = self._cache.get(provider, (0.0, []))
        age = time.monotonic() - fetched_at
        if values and age < self.max_age_s and not (stale and age >= self.refresh_cooldown_s):
            return values
        values = self._fetch(self.arns[provider])
        self._cache[provider] = (time.monotonic(), values)
        return values

    def _fetch(self, arn: str) -> list[str]:
        current = self.client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
        values = [current["SecretString"]]
        if time.time() - current["CreatedDate"].timestamp() < self.overlap_s:
            try:
                previous = self.client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")
                values.append(previous["SecretString"])
            except self.client.exceptions.ResourceNotFoundException:
                pass  # never rotated
        return values


# --8<-- [end:secrets]
