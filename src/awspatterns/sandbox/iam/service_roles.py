"""Work a service does with a role it was given (Firehose writing to S3 and invoking its transformation function
with its delivery role, CloudWatch Logs putting subscribed events into Firehose with the subscription's role): the
role must trust the service, and its identity policies (with the resource's policy) must allow the action, as for
any caller that assumed it. Decisions are recorded under the role, so the permissions table shows what it used.

Per ``engine.settings.enforce``: ``on`` refuses, ``soft`` allows and logs what would be refused, ``off`` neither.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from moto.iam.models import iam_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.iam.principals import Principal
from awspatterns.sandbox.iam.requests import Check

__all__ = ["role_allows", "trusts"]

log = logging.getLogger("awspatterns.sandbox.iam")


def trusts(role: Any, service: str) -> bool:
    """Whether a role's trust policy lets ``service`` (``firehose.amazonaws.com``) assume it."""
    document = role.assume_role_policy_document
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        if "sts:AssumeRole" not in (actions if isinstance(actions, list) else [actions]):
            continue
        services = (statement.get("Principal") or {}).get("Service", [])
        if service in (services if isinstance(services, list) else [services]):
            return True
    return False


def role_allows(engine: Any, service: str, role_arn: str, action: str, resource: str) -> bool:
    """Whether ``service``, acting with ``role_arn``, may perform ``action`` on ``resource``. A missing role or one
    that does not trust the service refuses everything. Logs a refusal (in ``soft`` mode, and allows)."""
    enforcer = getattr(engine, "iam", None)
    if enforcer is None or enforcer.mode == "off":
        return True
    arn = Arn.parse(role_arn) if role_arn.startswith("arn:") else None
    backend = iam_backends[arn.account][arn.partition] if arn else None
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None) if backend else None
    if role is None or not trusts(role, service):
        soft = bool(enforcer.mode == "soft")
        reason = "no such role" if role is None else f"its trust policy does not admit {service}"
        outcome = "would refuse (soft mode: allowed)" if soft else "refused"
        log.warning("IAM %s %s %s on %s with role %r: %s", outcome, service, action, resource, role_arn, reason)
        return soft
    assert arn is not None
    principal = Principal(
        "assumed-role",
        arn.account,
        arn.partition,
        f"arn:{arn.partition}:sts::{arn.account}:assumed-role/{role.name}/{service.split('.')[0]}",
        role_arn,
        role.name,
    )
    region = Arn.parse(resource).region if resource.startswith("arn:") else ""
    denied = enforcer.decide(principal, [Check(action, resource)], action.partition(":")[0], region, arn.account)
    return denied is None
