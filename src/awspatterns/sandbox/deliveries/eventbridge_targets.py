"""What EventBridge checks and reports around a rule's target, beside delivering to it: the rule's execution role
(``RoleArn``) must allow what EventBridge does with it, the target's dead-letter queue must admit EventBridge, and
each rule's invocations are counted in CloudWatch's ``AWS/Events`` metrics, as AWS counts them.

* A target with a ``RoleArn`` is sent to as that role: its identity policies must allow the action on the target
  (``events:PutEvents`` on an event bus, in this or another account); the sandbox records the use in the
  permissions record, as for any role, and a refusal is ``NO_PERMISSIONS``.
* A dead-letter queue takes the event only if its queue policy admits ``events.amazonaws.com`` for the rule
  (``aws:SourceArn``), and its key policy lets EventBridge use an encrypting key; otherwise the event is lost and
  counted in ``InvocationsFailedToBeSentToDlq``.
* Metrics (namespace ``AWS/Events``, dimension ``RuleName``, and ``EventBusName`` for a rule of a custom bus):
  ``TriggeredRules`` and ``Invocations`` for each matched event and target, ``FailedInvocations`` for an
  invocation that failed permanently, ``InvocationsSentToDlq`` and ``InvocationsFailedToBeSentToDlq``. AWS sends
  a metric only when it is not zero; so does the sandbox.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.iam.conditions import Context
from awspatterns.sandbox.iam.decisions import ALLOWED, DENIED, SOFT_DENIED, log_denial
from awspatterns.sandbox.iam.evaluation import evaluate
from awspatterns.sandbox.iam.principals import Principal
from awspatterns.sandbox.iam.requests import Check
from awspatterns.sandbox.iam.services import admitted

__all__ = ["NAMESPACE", "TargetChecks", "count"]

log = logging.getLogger("awspatterns.sandbox.deliveries.eventbridge")

NAMESPACE = "AWS/Events"
EVENTS = "events.amazonaws.com"
#: The session name the sandbox gives EventBridge's use of a rule's role (AWS's own is not documented).
ROLE_SESSION = "events"


def count(rule: Any, metric: str) -> None:
    """Add one to a rule's ``AWS/Events`` metric in the rule's account and region."""
    dimensions = [{"Name": "RuleName", "Value": rule.name}]
    if rule.event_bus_name != "default":
        dimensions.insert(0, {"Name": "EventBusName", "Value": rule.event_bus_name})
    backend = cloudwatch_backends[rule.account_id][rule.region_name]
    backend.put_metric_data(
        NAMESPACE, [{"MetricName": metric, "Value": 1.0, "Unit": "Count", "Dimensions": dimensions}]
    )


class TargetChecks:
    """The checks of one sandbox: ``engine.iam`` decides (``None`` or mode ``off``: everything is allowed)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def role_allows(self, role_arn: str, action: str, resource: str) -> bool:
        """Whether the rule's role may perform ``action`` on ``resource`` (its identity policies; a role that does
        not exist allows nothing). Recorded and logged as any role's call is; ``soft`` mode logs and allows."""
        enforcer = getattr(self._engine, "iam", None)
        if enforcer is None or enforcer.mode == "off":
            return True
        role = Arn.parse(role_arn)
        name = role.resource.rsplit("/", 1)[-1]
        principal = Principal(
            "assumed-role",
            role.account,
            role.partition,
            f"arn:{role.partition}:sts::{role.account}:assumed-role/{name}/{ROLE_SESSION}",
            role_arn,
            name,
        )
        sources = enforcer.principals.policies_of(principal)
        context = Context.of(
            **{
                "aws:PrincipalAccount": role.account,
                "aws:PrincipalArn": role_arn,
                "aws:PrincipalType": "AssumedRole",
                "aws:ResourceAccount": Arn.parse(resource).account,
            }
        )
        verdict = evaluate([enforcer.policies.parse(s) for s in sources], action, resource, context)
        check = Check(action, resource)
        if verdict.allowed:
            enforcer.record.add(principal, check, ALLOWED)
            return True
        soft = enforcer.mode == "soft"
        enforcer.record.add(principal, check, SOFT_DENIED if soft else DENIED)
        log_denial(principal, check, verdict, [s.name for s in sources], soft)
        return bool(soft)

    def dead_letter_queue_admits(self, queue_arn: str, rule: Any) -> bool:
        """Whether a target's dead-letter queue (and its key) admits EventBridge for ``rule``."""
        return admitted(self._engine, EVENTS, "sqs:SendMessage", queue_arn, rule.arn, rule.account_id)
