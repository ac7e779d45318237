"""Who is calling: the principal a request's credentials belong to, and the identity policies that apply to it.

The placeholder credentials (access key ``sandbox``), a request without credentials, and any access key moto does
not know act as the root user of the account the request addresses (``x-moto-account-id``), so people and tools
keep working unchanged. An IAM user's access keys (``CreateAccessKey``) and temporary credentials from
``sts:AssumeRole`` are the user or the role session, evaluated against that user's or role's policies.

Principals are cached per access key; every request still looks its key up in moto's IAM backend (one dict
lookup), so a deleted key stops being that principal at once.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.iam import utils as iam_utils
from moto.iam.models import IAMBackend, iam_backends
from moto.sts.models import sts_backends

__all__ = ["PLACEHOLDER_ACCESS_KEY", "PolicySource", "Principal", "Principals", "account_of_key"]

#: The access key of the sandbox's placeholder credentials (people, tools, fixtures): the account's root user.
PLACEHOLDER_ACCESS_KEY = "sandbox"


@dataclass(frozen=True)
class Principal:
    """The caller of a request, as AWS names it in an access denied message."""

    #: ``root``, ``user``, ``assumed-role``, or ``service`` (an AWS service delivering for a resource).
    kind: str
    account: str
    partition: str
    #: What AWS's messages call the caller: ``arn:aws:sts::A:assumed-role/R/SESSION``, a user ARN, or the root ARN.
    arn: str
    #: The IAM entity whose policies apply (and under which the sandbox records permissions): role or user ARN.
    identity_arn: str
    #: The role's or user's name (empty for the root user).
    name: str = ""

    @classmethod
    def root(cls, account: str, partition: str = "aws") -> Principal:
        """The root user of ``account``: allowed everything by identity policies."""
        arn = f"arn:{partition}:iam::{account}:root"
        return cls("root", account, partition, arn, arn)

    @classmethod
    def service(cls, name: str, partition: str = "aws") -> Principal:
        """An AWS service principal (``sns.amazonaws.com``): only resource policies can admit it."""
        return cls("service", "", partition, name, name, name)

    @property
    def is_root(self) -> bool:
        """Whether this is an account's root user (never evaluated, never recorded)."""
        return self.kind == "root"


@dataclass(frozen=True)
class PolicySource:
    """One identity policy of a principal, as moto stores it."""

    #: How a log line names it: a managed policy's ARN, or ``inline policy NAME of role R``.
    name: str
    #: The document: JSON text, or a dict (moto keeps CloudFormation's ``Policies`` property as given).
    document: Any
    #: A managed policy's ARN (AWS names it in explicit-deny messages); ``None`` for inline policies.
    arn: str | None = None


def account_of_key(access_key_id: str) -> str | None:
    """The account an ``AKIA``/``ASIA`` key id moto issued belongs to (moto encodes it as AWS does), else ``None``."""
    if len(access_key_id) < 13 or access_key_id[:4] not in ("AKIA", "ASIA"):
        return None
    try:
        with_offset = int.from_bytes(base64.b32decode(access_key_id[4:12]), "big")
        odd = iam_utils.AWS_ROLE_ALPHABET.index(access_key_id[12]) >= 16
    except (binascii.Error, ValueError):
        return None
    account = (with_offset - iam_utils.ACCOUNT_OFFSET) * 2 + int(odd)
    return f"{account:012d}" if 0 <= account < 10**12 else None


class Principals:
    """Resolves credentials to principals and principals to their identity policies."""

    def __init__(self) -> None:
        # access key id -> (moto's AccessKey object it was resolved from, the principal)
        self._by_key: dict[str, tuple[object, Principal]] = {}
        # (account, role or user name) -> moto's Role or User object last found under that name
        self._entities: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def identify(self, access_key_id: str | None, request_account: str, partition: str = "aws") -> Principal:
        """The principal behind ``access_key_id`` in a request addressed to ``request_account``."""
        if not access_key_id or access_key_id == PLACEHOLDER_ACCESS_KEY:
            return Principal.root(request_account, partition)
        key_account = account_of_key(access_key_id) or request_account
        key = iam_backends[key_account][partition].access_keys.get(access_key_id)
        if key is None:
            return Principal.root(request_account, partition)
        cached = self._by_key.get(access_key_id)
        if cached is not None and cached[0] is key:
            return cached[1]
        principal = self._resolve(key, key_account, partition) or Principal.root(request_account, partition)
        with self._lock:
            self._by_key[access_key_id] = (key, principal)
        return principal

    def _resolve(self, key: Any, account: str, partition: str) -> Principal | None:
        if key.user_name:
            arn = f"arn:{partition}:iam::{account}:user/{key.user_name}"
            user = iam_backends[account][partition].users.get(key.user_name)
            if user is not None:
                arn = user.arn
            return Principal("user", account, partition, arn, arn, key.user_name)
        if key.role_arn:
            session = next(
                (r for r in sts_backends[account][partition].assumed_roles if r.access_key_id == key.access_key_id),
                None,
            )
            if session is None:
                return None
            role_path_and_name = key.role_arn.split(":", 5)[5].removeprefix("role")
            name = role_path_and_name.rsplit("/", 1)[-1]
            session_arn = f"arn:{partition}:sts::{account}:assumed-role/{name}/{session.session_name}"
            return Principal("assumed-role", account, partition, session_arn, key.role_arn, name)
        return None

    # ------------------------------------------------------------------ identity policies
    def policies_of(self, principal: Principal) -> list[PolicySource]:
        """The identity policies of a user (its own and its groups') or a role: inline and attached managed ones."""
        backend = iam_backends[principal.account][principal.partition]
        if principal.kind == "assumed-role":
            role = self._role(backend, principal)
            return [] if role is None else list(_entity_policies(role, f"role {role.name}"))
        if principal.kind == "user":
            user = backend.users.get(principal.name)
            if user is None:
                return []
            sources = list(_entity_policies(user, f"user {user.name}"))
            for group in backend.groups.values():
                if user in group.users:
                    sources.extend(_entity_policies(group, f"group {group.name}"))
            return sources
        return []

    def _role(self, backend: IAMBackend, principal: Principal) -> Any:
        cache_key = (principal.account, principal.partition, principal.identity_arn)
        role = self._entities.get(cache_key)
        if role is not None and backend.roles.get(role.id) is role:
            return role
        role = next((r for r in backend.roles.values() if r.arn == principal.identity_arn), None)
        if role is not None:
            with self._lock:
                self._entities[cache_key] = role
        return role


def _entity_policies(entity: Any, owner: str) -> Iterator[PolicySource]:
    for policy_name, document in list(entity.policies.items()):
        yield PolicySource(f"inline policy {policy_name} of {owner}", document)
    for policy in list(entity.managed_policies.values()):
        version = next((v for v in policy.versions if v.is_default), None)
        if version is not None:
            yield PolicySource(policy.arn, version.document, policy.arn)
