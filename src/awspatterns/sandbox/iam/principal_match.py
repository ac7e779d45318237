"""Whether a resource policy statement's ``Principal`` (or ``NotPrincipal``) names the caller, and how.

A statement names a caller *directly* (``"*"``, the caller's user, role or role-session ARN, its service name, or
the root user by the account's root ARN) or *through its account* (the account id or root ARN, for a user or role
of that account). Naming the account delegates to the account's IAM, as AWS does: such an Allow admits a caller
from another account (whose identity policies must allow too) but grants a user or role of the resource's own
account nothing its identity policies do not; a Deny naming the account applies to everyone in it.
"""

from __future__ import annotations

import re

from awspatterns.sandbox.iam.policies import Statement
from awspatterns.sandbox.iam.principals import Principal

__all__ = ["ACCOUNT", "DIRECT", "principal_match"]

DIRECT = "direct"
ACCOUNT = "account"

ROOT_ARN = re.compile(r"^arn:[\w-]+:iam::(\d{12}):root$")
ROLE_PATH = re.compile(r"^(arn:[\w-]+:iam::\d{12}:role/)(?:.*/)?([^/]+)$")


def _entry(kind: str, value: str, caller: Principal) -> str | None:
    if value == "*" and kind in ("*", "AWS"):
        return DIRECT
    if kind == "Service":
        return DIRECT if caller.kind == "service" and value.lower() == caller.name.lower() else None
    if kind != "AWS" or caller.kind == "service":
        return None  # Federated and CanonicalUser principals never name a sandbox caller
    root = ROOT_ARN.match(value)
    account = value if value.isdigit() else root.group(1) if root else None
    if account is not None:
        if account != caller.account:
            return None
        return DIRECT if caller.is_root else ACCOUNT
    if value in (caller.arn, caller.identity_arn):
        return DIRECT
    role = ROLE_PATH.match(caller.identity_arn) if caller.kind == "assumed-role" else None
    return DIRECT if role is not None and value == role.group(1) + role.group(2) else None


def principal_match(statement: Statement, caller: Principal) -> str | None:
    """``DIRECT``, ``ACCOUNT`` or ``None``: how the statement's principal element names ``caller``. A statement
    without one (an identity policy's) names its caller directly."""
    if statement.principals is None:
        return DIRECT
    best: str | None = None
    for kind, value in statement.principals:
        found = _entry(kind, value, caller)
        if found == DIRECT:
            best = DIRECT
            break
        best = best or found
    if statement.not_principal:
        return None if best is not None else DIRECT
    return best
