"""Throttling as API Gateway applies it to REST APIs: a token bucket per stage method, sized by the stage's method
settings (``throttlingRateLimit`` requests per second, ``throttlingBurstLimit`` tokens), and one per account and
region with API Gateway's default account quota. A request finding its bucket empty is ``429 Too Many Requests``
(the ``THROTTLED`` gateway response), before any authorizer or integration runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from awspatterns.sandbox.gateway.messages import GatewayError

__all__ = ["ACCOUNT_BURST_LIMIT", "ACCOUNT_RATE_LIMIT", "Limit", "Throttles", "method_limit", "settings_key"]

#: API Gateway's default account-level quota per Region: steady-state requests per second and burst.
ACCOUNT_RATE_LIMIT = 10_000.0
ACCOUNT_BURST_LIMIT = 5_000


@dataclass(frozen=True)
class Limit:
    """A token bucket's size: ``rate`` tokens per second refill it up to ``burst``; ``source`` says which setting."""

    rate: float
    burst: int
    source: str


def settings_key(resource_path: str, http_method: str) -> str:
    """The key of a method's entry in a stage's ``methodSettings``: ``~1orders/POST`` for ``POST /orders``."""
    return f"{resource_path.replace('/', '~1')}/{http_method}"


def method_limit(stage: Any, resource_path: str, http_method: str) -> Limit | None:
    """The limit a stage sets for a method: its own method setting, else the stage-wide ``*/*`` one; ``None``
    when the stage sets no throttling (the account's quota still applies)."""
    settings = getattr(stage, "method_settings", None) or {}
    rate: float | None = None
    burst: int | None = None
    sources = []
    for key in (settings_key(resource_path, http_method), "*/*"):
        entry = settings.get(key) or {}
        if rate is None and entry.get("throttlingRateLimit") is not None:
            rate = float(entry["throttlingRateLimit"])
            sources.append(key)
        if burst is None and entry.get("throttlingBurstLimit") is not None:
            burst = int(entry["throttlingBurstLimit"])
            sources.append(key)
    if rate is None and burst is None:
        return None
    return Limit(
        ACCOUNT_RATE_LIMIT if rate is None else rate,
        ACCOUNT_BURST_LIMIT if burst is None else burst,
        "stage " + stage.name + " method settings " + "/".join(dict.fromkeys(sources)),
    )


class _Bucket:
    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = now

    def take(self, now: float) -> bool:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.rate)
        self.updated = max(self.updated, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Throttles:
    """Every bucket of the gateway. A bucket is replaced when its limit changes (an ``UpdateStage``)."""

    def __init__(self, account_rate: float = ACCOUNT_RATE_LIMIT, account_burst: int = ACCOUNT_BURST_LIMIT) -> None:
        self._account = Limit(account_rate, account_burst, "account quota")
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._lock = threading.Lock()

    def admit(self, api: Any, stage: Any, resource_path: str, http_method: str) -> None:
        """Take a token for one request; raise the ``THROTTLED`` gateway error when a bucket is empty."""
        limit = method_limit(stage, resource_path, http_method)
        keys: list[tuple[tuple[str, ...], Limit]] = []
        if limit is not None:
            keys.append(((api.account_id, api.id, stage.name, resource_path, http_method), limit))
        keys.append(((api.account_id, api.region_name), self._account))
        now = time.monotonic()
        with self._lock:
            for key, bucket_limit in keys:
                bucket = self._buckets.get(key)
                if bucket is None or bucket.limit != bucket_limit:
                    bucket = self._buckets[key] = _Bucket(bucket_limit, now)
                if not bucket.take(now):
                    raise GatewayError(
                        "THROTTLED",
                        f"{http_method} {resource_path}: over {bucket_limit.source} "
                        f"(rate {bucket_limit.rate:g}/s, burst {bucket_limit.burst})",
                    )
