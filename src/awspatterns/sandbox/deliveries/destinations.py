"""Sending a message to a destination ARN, as Lambda's destinations, DLQs and stream on-failure records do."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.errors import SandboxUnsupported

__all__ = ["deliver"]


def deliver(
    target_arn: str,
    message: str,
    invoke_async: Callable[[str, str, str, str], None],
    attributes: Mapping[str, str | int] | None = None,
) -> None:
    """Send ``message`` to an SQS queue or SNS topic, or invoke a Lambda function asynchronously with it
    (``invoke_async(account, region, function_arn, event)``). ``attributes`` become message attributes (a ``str``
    a String, an ``int`` a Number; empty ones are left out); a function receives none, as in AWS.

    Raises:
        SandboxUnsupported: the ARN names another kind of destination.
    """
    target = Arn.parse(target_arn)
    typed = {
        name: ("Number" if isinstance(value, int) else "String", str(value))
        for name, value in (attributes or {}).items()
        if str(value)  # SQS and SNS refuse empty attribute values
    }
    if target.service == "sqs":
        sqs_backends[target.account][target.region].send_message(
            target.name,
            message,
            message_attributes={
                name: {"DataType": kind, "StringValue": value} for name, (kind, value) in typed.items()
            },
        )
    elif target.service == "sns":
        sns_backends[target.account][target.region].publish(
            arn=target_arn,
            message=message,
            message_attributes={name: {"Type": kind, "Value": value} for name, (kind, value) in typed.items()},
        )
    elif target.service == "lambda":
        invoke_async(target.account, target.region, target_arn, message)
    else:
        raise SandboxUnsupported(f"the sandbox cannot deliver to {target_arn}")
