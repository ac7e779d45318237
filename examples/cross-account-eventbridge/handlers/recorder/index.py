"""The recorder: EventBridge invokes it asynchronously with one alarm state change forwarded by a source account;
it records the change (source account, alarm, state, time) and notifies the on-call topic.

It raises on any failure: Lambda retries the event twice, then parks it with the error in the on-failure
destination. An event that is not an alarm state change, or comes from an account it does not serve, fails
validation before any work is done.
"""

from __future__ import annotations

import os

from alarms import AlarmStateChange, change_of, record_and_notify
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
SOURCE_ACCOUNTS = frozenset(os.environ["SOURCE_ACCOUNTS"].split(","))
TOPIC_ARN = os.environ["NOTIFICATIONS_TOPIC_ARN"]


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=AlarmStateChange)
def handler(event: AlarmStateChange, context: LambdaContext) -> dict[str, object]:
    """Record and notify one alarm state change; raise to have Lambda retry, then park the event."""
    change = change_of(event, SOURCE_ACCOUNTS)
    handled = record_and_notify(change, TOPIC_ARN, context.aws_request_id)
    logger.info(
        "alarm state change",
        extra={"source_account": change.source_account, "alarm": change.alarm, "state": change.state, "new": handled},
    )
    return {"alarm": change.alarm, "source_account": change.source_account, "state": change.state, "new": handled}


# --8<-- [end:handler]
