"""CloudWatch alarm actions: an alarm whose state changes notifies the SNS topics among the actions for its new state
(``AlarmActions``, ``OKActions``, ``InsufficientDataActions``), as CloudWatch does when ``ActionsEnabled`` is true.

moto 5.2.5 records the new state and runs no action. In the sandbox alarms change state only through
``SetAlarmState`` (metrics are not evaluated); AWS documents that ``SetAlarmState`` runs the actions of the new state
too, so a test can follow an alarm to its subscribers. The message is CloudWatch's JSON notification (``AlarmName``,
``NewStateValue``, ``NewStateReason``, ``OldStateValue``, ``Trigger``, ...) with the subject
``ALARM: "<name>" in <region name>``. Actions other than SNS topics (Auto Scaling, EC2, Systems Manager, Lambda) are
logged as not run. A topic that cannot be reached is logged; the state change itself still succeeds.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime
from typing import Any

import botocore.session
from moto.cloudwatch.models import Alarm
from moto.sns.models import sns_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads, fields

__all__ = ["PATCHED", "READS", "install", "notification", "subject"]

log = logging.getLogger("awspatterns.sandbox.deliveries.alarm_actions")

#: What this module wraps in moto (checked by the canary tests). ``eventbridge`` wraps it too, for state-change
#: events; this module wraps that wrapper.
PATCHED: Patched = ((Alarm, "update_state"),)

#: The alarm state this module reads (checked by the canary tests).
READS: Reads = fields(
    Alarm,
    "name",
    "alarm_arn",
    "description",
    "actions_enabled",
    "alarm_actions",
    "ok_actions",
    "insufficient_data_actions",
    "state_value",
    "state_reason",
    "namespace",
    "metric_name",
    "dimensions",
    "statistic",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "comparison_operator",
    "threshold",
    "treat_missing_data",
    "unit",
    "configuration_updated_timestamp",
)


@functools.cache
def _region_names() -> dict[str, str]:
    endpoints = botocore.session.get_session().get_data("endpoints")
    return {
        region: str(details.get("description", region))
        for partition in endpoints["partitions"]
        for region, details in partition["regions"].items()
    }


def _time(moment: datetime) -> str:
    """CloudWatch's notification timestamps: ``2026-11-28T12:00:00.000+0000``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def subject(alarm: Any) -> str:
    """The notification's subject, as CloudWatch writes it."""
    region = Arn.parse(alarm.alarm_arn).region
    return f'{alarm.state_value}: "{alarm.name}" in {_region_names().get(region, region)}'[:100]


def notification(alarm: Any, old_state: str) -> dict[str, Any]:
    """The JSON document CloudWatch publishes to an alarm's SNS topics when its state changes."""
    arn = Arn.parse(alarm.alarm_arn)
    updated = alarm.configuration_updated_timestamp
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description or None,
        "AWSAccountId": arn.account,
        "AlarmConfigurationUpdatedTimestamp": _time(updated) if isinstance(updated, datetime) else None,
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": _time(datetime.now(UTC)),
        "Region": _region_names().get(arn.region, arn.region),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": str(alarm.statistic or "").upper(),
            "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def _actions(alarm: Any) -> list[str]:
    by_state = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }
    return list(by_state.get(alarm.state_value) or [])


def run_actions(alarm: Any, old_state: str) -> None:
    """Publish the notification to every SNS topic among the actions of the alarm's new state."""
    if not alarm.actions_enabled:
        return
    message = json.dumps(notification(alarm, old_state))
    for action in _actions(alarm):
        try:
            target = Arn.parse(action)
        except ValueError:
            log.warning("alarm %s: action %r is not an ARN; not run", alarm.name, action)
            continue
        if target.service != "sns":
            log.warning("alarm %s: the sandbox runs SNS actions only; %s not run", alarm.name, action)
            continue
        try:
            sns_backends[target.account][target.region].publish(arn=action, message=message, subject=subject(alarm))
        except Exception:
            log.exception("alarm %s could not notify %s", alarm.name, action)


def install(engine: Engine) -> None:
    """Make a state change run the alarm's SNS actions for its new state."""
    original = Alarm.update_state

    def update_state(alarm: Any, reason: str, reason_data: str, state_value: str) -> None:
        old_state = alarm.state_value
        original(alarm, reason, reason_data, state_value)
        if old_state != state_value:
            run_actions(alarm, old_state)

    replace(Alarm, "update_state", update_state)
