"""EventBridge delivery as AWS does it: rules send matching events to Lambda (asynchronously), SQS, SNS, log groups
and other event buses, in this or another account, where the receiving bus's resource policy must admit the
sender, and a Lambda, SQS or SNS target's resource policy must admit ``events.amazonaws.com`` for the rule (its
encrypted queue's or topic's key policy too); a target's ``RoleArn`` must allow sending to it. A target that cannot
be reached, or refuses, sends the event to the target's dead-letter queue (``ERROR_CODE`` ``NO_PERMISSIONS`` for a
refusal) if that queue admits EventBridge; each outcome is counted in the rule's ``AWS/Events`` metrics
(:mod:`~awspatterns.sandbox.deliveries.eventbridge_targets`). CloudWatch alarms emit ``CloudWatch Alarm State
Change`` events to their account's default bus.

moto 5.2.5 raised ``NotImplementedError`` for Lambda and SNS targets (``PutEvents`` answered HTTP 500), rebuilt
forwarded events as new ones from the forwarding account, and ignored bus policies and target DLQs.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jsonpath_ng import parse as parse_jsonpath  # type: ignore[attr-defined]
from moto.cloudwatch.models import Alarm
from moto.events import models as events_models
from moto.events.models import events_backends
from moto.logs.models import logs_backends
from moto.sqs.models import SQSBackend, sqs_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.deliveries.eventbridge_targets import TargetChecks, count
from awspatterns.sandbox.iam.services import admitted
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["MAX_BUS_HOPS", "PATCHED", "READS", "DeliveryFailed", "EventRouter", "bus_admits", "install"]

log = logging.getLogger("awspatterns.sandbox.deliveries.eventbridge")

#: The moto internals this module replaces (checked by the canary tests).
PATCHED: Patched = (
    (events_models.Rule, "send_to_targets"),
    (events_models.Rule, "_send_to_events_archive"),
    (Alarm, "update_state"),
    (events_models.EventBusPolicyStatement, "describe"),
)

#: The moto state this module reads (checked by the canary tests): a bus's policy statements and rules.
READS: Reads = (
    (events_models.EventBus, "_statements"),
    (events_models.EventBus, "rules"),
    (events_models.EventsBackend, "event_buses"),
    (events_models.Rule, "targets"),
    (events_models.Rule, "event_pattern"),
    (events_models.Rule, "event_bus_name"),
    (SQSBackend, "queues"),
)

#: How many buses an event may cross (EventBridge stops forwarding loops).
MAX_BUS_HOPS = 5

Deliver = Callable[[str, str, str, str], None]
#: ``admit(action, target ARN, rule ARN, rule account)``: whether the target's policy admits EventBridge.
Admit = Callable[[str, str, str, str], bool]

EVENTS = "events.amazonaws.com"
TARGET_ACTIONS = {"lambda": "lambda:InvokeFunction", "sqs": "sqs:SendMessage", "sns": "sns:Publish"}


class DeliveryFailed(Exception):
    """A target did not accept the event; ``code`` is EventBridge's error code for the DLQ message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _account_of(principal: Any) -> set[str]:
    """The accounts a policy principal names (``*`` for anyone)."""
    values = principal.get("AWS", []) if isinstance(principal, dict) else principal
    values = [values] if isinstance(values, str) else values
    return {"*" if v == "*" else Arn.parse(v).account if v.startswith("arn:") else v for v in values}


def _conditions_hold(condition: dict[str, Any] | None, sender_account: str) -> bool:
    """The conditions a bus policy can state about the sender that the sandbox knows: its account."""
    known = {"aws:principalaccount": sender_account, "aws:sourceaccount": sender_account}
    for operator, tests in (condition or {}).items():
        for key, expected in tests.items():
            expected_values = [expected] if isinstance(expected, str) else expected
            actual = known.get(key.lower())
            if actual is None:
                log.warning("bus policy condition %s %s is not evaluated by the sandbox: denied", operator, key)
                return False
            if operator == "StringEquals" and actual not in expected_values:
                return False
            if operator == "StringLike" and not any(fnmatch.fnmatchcase(actual, e) for e in expected_values):
                return False
            if operator not in {"StringEquals", "StringLike"}:
                log.warning("bus policy condition operator %s is not evaluated by the sandbox: denied", operator)
                return False
    return True


def bus_admits(bus: Any, sender_account: str) -> bool:
    """Whether a bus's resource policy lets ``sender_account`` put events on it (its own account always can)."""
    if sender_account == bus.account_id:
        return True
    allowed = False
    for statement in bus._statements.values():
        described = statement.describe()
        actions = described.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(fnmatch.fnmatchcase("events:PutEvents", a) for a in actions):
            continue
        principals = _account_of(described.get("Principal", {}))
        if "*" not in principals and sender_account not in principals:
            continue
        if not _conditions_hold(described.get("Condition"), sender_account):
            continue
        if described.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def install(engine: Engine) -> None:
    """Route rule deliveries and alarm state changes through an :class:`EventRouter`."""

    def admit(action: str, target: str, rule: str, account: str) -> bool:
        return admitted(engine, EVENTS, action, target, rule, account, missing_ok=True)

    EventRouter(engine.deliver, admit, TargetChecks(engine)).install()


class EventRouter:
    """Routes events from buses to targets; installed into moto by :meth:`install`."""

    def __init__(self, deliver: Deliver, admit: Admit | None = None, checks: TargetChecks | None = None) -> None:
        self._deliver = deliver
        self._admit = admit or (lambda action, target, rule, account: True)
        self._checks = checks or TargetChecks(None)

    def install(self) -> None:
        """Replace moto's rule delivery and make alarms emit state-change events."""
        router = self

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            router.fire(rule, _as_delivered(event))

        replace(events_models.Rule, "send_to_targets", send_to_targets)
        original_update = Alarm.update_state

        def update_state(alarm: Any, reason: str, reason_data: str, state_value: str) -> None:
            previous = {"value": alarm.state_value, "reason": alarm.state_reason, "timestamp": _iso(time.time())}
            original_update(alarm, reason, reason_data, state_value)
            if previous["value"] != state_value:
                router.emit_alarm_change(alarm, previous)

        replace(Alarm, "update_state", update_state)

    # ------------------------------------------------------------------ rules and targets
    def fire(self, rule: Any, event: dict[str, Any], hops: int = 0) -> None:
        """Deliver one event to every target of ``rule`` if the rule is enabled and its pattern matches."""
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
            return
        count(rule, "TriggeredRules")
        for target in rule.targets:
            count(rule, "Invocations")
            try:
                self._send(rule, target, event, hops)
            except Exception as error:
                # Refusals and missing targets are not retried by AWS either: straight to the DLQ.
                count(rule, "FailedInvocations")
                self._dead_letter(rule, target, event, _error_code(error), str(error))

    def _send(self, rule: Any, target: dict[str, Any], event: dict[str, Any], hops: int) -> None:
        arn: str = target["Arn"]
        parsed = Arn.parse(arn)
        service, region, account = parsed.service, parsed.region, parsed.account
        role = target.get("RoleArn")
        to_bus = service == "events" and parsed.resource.startswith("event-bus/")
        if role and to_bus and not self._checks.role_allows(role, "events:PutEvents", arn):
            raise DeliveryFailed("NO_PERMISSIONS", f"the rule's role {role} may not events:PutEvents on {arn}")
        if to_bus:
            self.put_on_bus(account, region, parsed.name, event, sender=rule.account_id, hops=hops + 1)
            return
        payload = _payload(target, event, rule)
        if service in TARGET_ACTIONS:
            if not self._admit(TARGET_ACTIONS[service], arn, rule.arn, rule.account_id):
                raise DeliveryFailed("NO_PERMISSIONS", f"the resource policy of {arn} does not admit {EVENTS}")
            self._deliver(rule.account_id, rule.region_name, arn, payload)
        elif service == "logs":
            logs = logs_backends[account][region]
            group, stream = parsed.resource.split(":")[1], event["id"]
            logs.create_log_stream(group, stream)
            logs.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": payload}])
        elif service == "events" and not parsed.resource:  # an archive's own rule, set up by moto
            archive_arn = json.loads(payload)["archive-arn"]
            rule._send_to_events_archive(archive_arn.split("/")[-1], event)
        else:
            raise DeliveryFailed("NO_PERMISSIONS", f"the sandbox does not deliver EventBridge events to {arn}")

    def put_on_bus(
        self, account: str, region: str, bus_name: str, event: dict[str, Any], sender: str, hops: int = 0
    ) -> None:
        """Put an event (unchanged: same id, source account and time, as EventBridge forwards it) on a bus."""
        if hops > MAX_BUS_HOPS:
            raise DeliveryFailed("EVENT_BUS_LOOP", f"the event crossed more than {MAX_BUS_HOPS} buses")
        backend = events_backends[account][region]
        bus = backend.event_buses.get(bus_name)
        if bus is None:
            raise DeliveryFailed("RESOURCE_NOT_FOUND", f"event bus {bus_name} does not exist in {account}")
        if not bus_admits(bus, sender):
            raise DeliveryFailed("NO_PERMISSIONS", f"the policy of event bus {bus.arn} does not admit account {sender}")
        for rule in list(bus.rules.values()):
            self.fire(rule, copy.deepcopy(event), hops)

    def _dead_letter(self, rule: Any, target: dict[str, Any], event: dict[str, Any], code: str, message: str) -> None:
        queue_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        log.warning("rule %s could not deliver to %s: %s %s", rule.arn, target["Arn"], code, message)
        if not queue_arn:
            return
        queue = Arn.parse(queue_arn)
        backend = sqs_backends[queue.account][queue.region]
        if queue.name not in backend.queues or not self._checks.dead_letter_queue_admits(queue_arn, rule):
            count(rule, "InvocationsFailedToBeSentToDlq")
            log.warning("rule %s could not send to its dead-letter queue %s: the event is lost", rule.arn, queue_arn)
            return
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": target["Arn"],
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message[:256],
        }
        backend.send_message(
            queue.name,
            json.dumps(event, default=str),
            message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        count(rule, "InvocationsSentToDlq")

    # ------------------------------------------------------------------ CloudWatch alarms
    def emit_alarm_change(self, alarm: Any, previous: dict[str, Any]) -> None:
        """Put ``CloudWatch Alarm State Change`` on the alarm account's default bus."""
        alarm_arn = Arn.parse(alarm.alarm_arn)
        region, account = alarm_arn.region, alarm_arn.account
        now = time.time()
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": account,
            "time": _iso(now),
            "region": region,
            "resources": [alarm.alarm_arn],
            "detail": {
                "alarmName": alarm.name,
                "state": {
                    "value": alarm.state_value,
                    "reason": alarm.state_reason,
                    "reasonData": alarm.state_reason_data,
                    "timestamp": _iso(now),
                },
                "previousState": previous,
                "configuration": {
                    "description": alarm.description,
                    "metrics": [
                        {
                            "metricStat": {
                                "metric": {
                                    "namespace": alarm.namespace,
                                    "name": alarm.metric_name,
                                    "dimensions": {d.name: d.value for d in alarm.dimensions},
                                },
                                "period": alarm.period,
                                "stat": alarm.statistic,
                            }
                        }
                    ]
                    if alarm.metric_name
                    else [],
                },
            },
        }
        try:
            self.put_on_bus(account, region, "default", event, sender=account)
        except DeliveryFailed as error:
            log.warning("alarm %s state change not delivered: %s", alarm.name, error)


def _error_code(error: Exception) -> str:
    """EventBridge's code for why a target did not take an event (the DLQ message's ``ERROR_CODE``)."""
    if isinstance(error, DeliveryFailed):
        return error.code
    # moto's errors name their AWS error code in error_type (RESTError) or code (ServiceException)
    names = [
        name for name in (getattr(error, "error_type", None), getattr(error, "code", None)) if isinstance(name, str)
    ]
    if any(word in name for name in names for word in ("NotFound", "NonExistent", "DoesNotExist")):
        return "RESOURCE_NOT_FOUND"
    return "SDK_CLIENT_ERROR"


def _payload(target: dict[str, Any], event: dict[str, Any], rule: Any) -> str:
    """What a target receives: the event, a constant ``Input``, an ``InputPath`` part, or an input transformation."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(_first_match(target["InputPath"], event))
    transformer = target.get("InputTransformer")
    if transformer:
        return _transform(transformer.get("InputTemplate", ""), transformer.get("InputPathsMap", {}), event, rule)
    return json.dumps(event, default=str)


def _first_match(path: str, document: Any) -> Any:
    matches = [m.value for m in parse_jsonpath(path).find(document)]
    return matches[0] if matches else None


def _transform(template: str, paths: dict[str, str], event: dict[str, Any], rule: Any) -> str:
    """An input transformer: ``<name>`` placeholders take the values at ``paths`` (or EventBridge's predefined
    ``aws.events.*`` variables). Inside a JSON string a value goes in as text; elsewhere it goes in as JSON."""
    values: dict[str, Any] = {
        "aws.events.rule-arn": rule.arn,
        "aws.events.rule-name": rule.name,
        "aws.events.event.ingestion-time": event.get("time"),
        "aws.events.event": event,
        "aws.events.event.json": event,
    }
    values.update({name: _first_match(path, event) for name, path in paths.items()})

    def substitute(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            return match[0]
        value = values[name]
        before = template[: match.start()]
        inside_string = (before.count('"') - before.count('\\"')) % 2 == 1
        if inside_string and isinstance(value, str):
            return json.dumps(value)[1:-1]
        return json.dumps(value)

    return re.sub(r"<([\w.-]+)>", substitute, template)


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """moto's event as EventBridge delivers it: ``time`` as ISO 8601, no internal ``ingestion-time``."""
    delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
    if isinstance(delivered.get("time"), (int, float)):
        delivered["time"] = _iso(delivered["time"])
    return delivered


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
