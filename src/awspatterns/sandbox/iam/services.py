"""Deliveries the sandbox makes as an AWS service (S3 notifications, SNS subscriptions, EventBridge targets): the
destination's resource policy must admit the service principal (``s3.amazonaws.com``, ...), with the
``aws:SourceArn`` and ``aws:SourceAccount`` of the resource the delivery is for; an encrypted topic or queue's key
policy must also let the service use its key (``kms:GenerateDataKey*`` and ``kms:Decrypt``).

Per ``engine.settings.enforce``: ``on`` refuses, ``soft`` delivers and logs what would be refused, ``off``
neither. Each refusal is one log line: service, action, destination, and the statement or missing Allow.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.kms.models import kms_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.iam.conditions import ABSENT_KEYS, Context
from awspatterns.sandbox.iam.evaluation import NO_ALLOW, RESOURCE, Verdict, evaluate
from awspatterns.sandbox.iam.principals import Principal

__all__ = ["SERVICE_ABSENT_KEYS", "admitted", "key_of", "service_verdict"]

log = logging.getLogger("awspatterns.sandbox.iam")

#: Keys a service principal's request never carries (it is no IAM user or role).
SERVICE_ABSENT_KEYS = (ABSENT_KEYS - {"aws:sourcearn", "aws:sourceaccount"}) | {
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principaltype",
    "aws:principalorgid",
    "aws:userid",
    "aws:username",
}


def service_verdict(
    enforcer: Any, service: str, action: str, resource: str, source_arn: str, source_account: str
) -> Verdict | None:
    """Whether the policy of ``resource`` lets ``service`` perform ``action`` for ``source_arn``; ``None`` when
    the resource does not exist."""
    found = enforcer.resource_policies.find(action.partition(":")[0], resource, source_account)
    if found is None:
        return None
    if found.source is None:
        return Verdict(False, NO_ALLOW, kind=RESOURCE)
    context = Context.of(
        **{
            "aws:SourceArn": source_arn,
            "aws:SourceAccount": source_account,
            "aws:PrincipalIsAWSService": "true",
            "aws:PrincipalServiceName": service,
            "aws:ResourceAccount": found.owner,
        }
    )
    context.absent = SERVICE_ABSENT_KEYS
    caller = Principal.service(service)
    return evaluate([enforcer.policies.parse(found.source)], action, resource, context, caller=caller)


def key_of(target_arn: str) -> str | None:
    """The KMS key ARN an SNS topic or SQS queue encrypts with, or ``None`` when it uses none."""
    target = Arn.parse(target_arn)
    if target.service == "sns":
        topic = sns_backends[target.account][target.region].topics.get(target_arn)
        key_id = topic.kms_master_key_id if topic is not None else ""
    elif target.service == "sqs":
        queue = sqs_backends[target.account][target.region].queues.get(target.name)
        key_id = getattr(queue, "kms_master_key_id", "") if queue is not None else ""
    else:
        return None
    if not key_id:
        return None
    if key_id.startswith("arn:") and ":key/" in key_id:
        return str(key_id)
    alias = key_id.split(":", 5)[5] if key_id.startswith("arn:") else key_id
    resolved = (
        kms_backends[target.account][target.region].get_key_id_from_alias(alias)
        if alias.startswith("alias/")
        else alias
    )
    return f"arn:aws:kms:{target.region}:{target.account}:key/{resolved or alias}"


def admitted(
    engine: Any,
    service: str,
    action: str,
    target_arn: str,
    source_arn: str,
    source_account: str,
    encrypted: bool = True,
    missing_ok: bool = False,
) -> bool:
    """Whether ``service`` may deliver to ``target_arn`` for ``source_arn`` (``encrypted``: check the target's KMS
    key too; ``missing_ok``: admit a target that does not exist, so that the delivery fails as it does without
    one). Logs a refusal; in ``soft`` mode logs it and admits."""
    enforcer = getattr(engine, "iam", None)
    if enforcer is None or enforcer.mode == "off":
        return True
    checks = [(action, target_arn)]
    key = key_of(target_arn) if encrypted else None
    if key is not None:
        checks += [("kms:GenerateDataKey", key), ("kms:Decrypt", key)]
    for check_action, resource in checks:
        verdict = service_verdict(enforcer, service, check_action, resource, source_arn, source_account)
        if verdict is None and missing_ok:
            return True
        verdict = verdict or Verdict(False, NO_ALLOW, kind=RESOURCE, detail="no such resource")
        if verdict.allowed:
            continue
        soft = enforcer.mode == "soft"
        outcome = "would refuse (soft mode: delivered)" if soft else "refused"
        log.warning(
            "IAM %s %s %s on %s for %s: %s", outcome, service, check_action, resource, source_arn, verdict.explain()
        )
        return bool(soft)
    return True
