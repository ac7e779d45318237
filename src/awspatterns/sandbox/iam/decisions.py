"""What enforcement decided, for people and for pattern pages: every denial (and, in soft mode, every call that
would be denied) logged explainably, and per role or user every action allowed or denied, with its resource,
kept in memory and served by the control endpoint (``GET /permissions``).

A log line reads (one line)::

    IAM denied arn:aws:sts::123456789012:assumed-role/Worker/worker-fn sqs:PurgeQueue on
    arn:aws:sqs:us-east-1:123456789012:jobs: no identity-based policy allows it (policies: inline policy Send
    of role Worker)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from awspatterns.sandbox.iam.evaluation import IDENTITY, NO_ALLOW, Verdict
from awspatterns.sandbox.iam.principals import Principal
from awspatterns.sandbox.iam.requests import Check

__all__ = ["ALLOWED", "DENIED", "SOFT_DENIED", "PermissionRecord", "log_denial"]

log = logging.getLogger("awspatterns.sandbox.iam")

ALLOWED = "allowed"
DENIED = "denied"
#: Would be denied, and was allowed because enforcement is ``soft``.
SOFT_DENIED = "soft-denied"

#: Distinct (action, resource, decision) entries kept per role or user; more are counted, not kept.
ENTRY_LIMIT = 10_000


def log_denial(principal: Principal, check: Check, verdict: Verdict, policies: Sequence[str], soft: bool) -> None:
    """Log a denial (``soft``: a call that would be denied and was let through) with what decided it."""
    why = verdict.explain()
    if verdict.reason == NO_ALLOW and verdict.kind == IDENTITY:
        why += f" (policies: {', '.join(policies)})" if policies else f" ({principal.identity_arn} has no policies)"
    outcome = "would deny (soft mode: allowed)" if soft else "denied"
    log.warning("IAM %s %s %s on %s: %s", outcome, principal.arn, check.action, check.resource, why)


class PermissionRecord:
    """Per role or user ARN, how often each action on each resource was allowed or denied."""

    def __init__(self, limit: int = ENTRY_LIMIT) -> None:
        self._entries: dict[str, dict[tuple[str, str, str], int]] = {}
        self._accounts: dict[str, str] = {}
        self._dropped: dict[str, int] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def add(self, principal: Principal, check: Check, decision: str) -> None:
        """Count one decision for the principal's role or user."""
        key = (check.action, check.resource, decision)
        with self._lock:
            entries = self._entries.setdefault(principal.identity_arn, {})
            self._accounts[principal.identity_arn] = principal.account
            if key in entries or len(entries) < self._limit:
                entries[key] = entries.get(key, 0) + 1
            else:
                self._dropped[principal.identity_arn] = self._dropped.get(principal.identity_arn, 0) + 1
                if self._dropped[principal.identity_arn] == 1:
                    log.warning("IAM record of %s is full: further distinct calls are not kept", principal.identity_arn)

    def permissions(self, account: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Role or user ARN -> ``[{action, resource, decision, count}]`` (sorted), for one account or all."""
        with self._lock:
            snapshot = {
                arn: dict(entries)
                for arn, entries in self._entries.items()
                if account is None or self._accounts[arn] == account
            }
        return {
            arn: [
                {"action": action, "resource": resource, "decision": decision, "count": count}
                for (action, resource, decision), count in sorted(entries.items())
            ]
            for arn, entries in sorted(snapshot.items())
        }
