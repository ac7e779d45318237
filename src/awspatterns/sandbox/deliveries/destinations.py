"""Sending a message to a destination ARN, as Lambda's destinations, DLQs and stream on-failure records do."""

from __future__ import annotations

from collections.abc import Callable

from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.errors import SandboxUnsupported

__all__ = ["deliver"]


def deliver(target_arn: str, message: str, invoke_async: Callable[[str, str, str, str], None]) -> None:
    """Send ``message`` to an SQS queue or SNS topic, or invoke a Lambda function asynchronously with it
    (``invoke_async(account, region, function_arn, event)``).

    Raises:
        SandboxUnsupported: the ARN names another kind of destination.
    """
    target = Arn.parse(target_arn)
    if target.service == "sqs":
        sqs_backends[target.account][target.region].send_message(target.name, message)
    elif target.service == "sns":
        sns_backends[target.account][target.region].publish(arn=target_arn, message=message)
    elif target.service == "lambda":
        invoke_async(target.account, target.region, target_arn, message)
    else:
        raise SandboxUnsupported(f"the sandbox cannot deliver to {target_arn}")
