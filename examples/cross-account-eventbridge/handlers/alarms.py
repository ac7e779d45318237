"""What the recorder knows about alarm state changes: the event's shape, and recording and notifying each once.

EventBridge delivers each event at least once (and Lambda may run an event again after a failure), so recording
is idempotent: one item per event id, written only if it is not there yet. The notification is sent at least once:
an item records whether its notification went out, so a retry after a failed publish sends it, and a retry after
a successful one does not.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Literal

import boto3
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

history = boto3.resource("dynamodb").Table(os.environ["HISTORY_TABLE"])
sns = boto3.client("sns")


class ForeignAccount(ValueError):
    """The event comes from an account this handler does not serve; retrying will not change that."""


# --8<-- [start:models]
class AlarmState(BaseModel):
    """An alarm's state as CloudWatch describes it in the event."""

    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = Field(default="", max_length=1023)
    timestamp: str = Field(min_length=1, max_length=64)


class AlarmDetail(BaseModel):
    """The ``detail`` of a ``CloudWatch Alarm State Change`` event."""

    model_config = ConfigDict(extra="allow")

    alarmName: str = Field(min_length=1, max_length=255)  # noqa: N815 (CloudWatch's field name)
    state: AlarmState
    previousState: AlarmState | None = None  # noqa: N815


class AlarmStateChange(EventBridgeModel):
    """A ``CloudWatch Alarm State Change`` event, as a source account's rule forwards it (its ``account`` is the
    source account)."""

    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    account: str = Field(pattern=r"^\d{12}$")
    detail: AlarmDetail  # type: ignore[assignment]


# --8<-- [end:models]


@dataclass(frozen=True)
class Change:
    """One recorded state change."""

    source_account: str
    alarm: str
    state: str
    previous_state: str
    reason: str
    time: str
    event_id: str


def change_of(event: AlarmStateChange, accounts: frozenset[str]) -> Change:
    """The state change an event describes.

    Raises:
        ForeignAccount: the event's account is not one of ``accounts``.
    """
    if event.account not in accounts:
        raise ForeignAccount(f"account {event.account} is not a source account of this handler")
    detail = event.detail
    return Change(
        source_account=event.account,
        alarm=detail.alarmName,
        state=detail.state.value,
        previous_state=detail.previousState.value if detail.previousState else "",
        reason=detail.state.reason,
        time=event.time.isoformat(),
        event_id=event.id,
    )


# --8<-- [start:record]
def record_and_notify(change: Change, topic_arn: str, request_id: str) -> bool:
    """Record the change once and make sure its notification went out; ``False`` for an event already handled."""
    key = {"alarm": f"{change.source_account}/{change.alarm}", "change": f"{change.time}#{change.event_id}"}
    try:
        history.put_item(
            Item={**key, **_fields(change), "request_id": request_id, "notified": False},
            ConditionExpression="attribute_not_exists(alarm)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        if history.get_item(Key=key, ConsistentRead=True)["Item"].get("notified"):
            return False  # a redelivered event: recorded and notified before
    sns.publish(
        TopicArn=topic_arn,
        Subject=f"{change.alarm} in {change.source_account}: {change.previous_state or '?'} -> {change.state}"[:99],
        Message=json.dumps(_fields(change)),
    )
    history.update_item(Key=key, UpdateExpression="SET notified = :yes", ExpressionAttributeValues={":yes": True})
    return True


# --8<-- [end:record]


def _fields(change: Change) -> dict[str, str]:
    return {
        "source_account": change.source_account,
        "alarm_name": change.alarm,
        "state": change.state,
        "previous_state": change.previous_state,
        "reason": change.reason,
        "time": change.time,
        "event_id": change.event_id,
    }
