"""SNS deliveries to Lambda as AWS makes them: asynchronous invocations whose event carries the real topic and
subscription ARNs and honours the subscription's filter policy (moto 5.2.5 invoked synchronously, with a fake
TopicArn and Subject)."""

from __future__ import annotations

import json
import time
from typing import Any

from moto.sns import models as sns_models

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["PATCHED", "READS", "install", "sns_event"]

PATCHED: Patched = ((sns_models.Subscription, "publish"),)

#: The moto state this module reads (checked by the canary tests).
READS: Reads = ((sns_models.Subscription, "_filter_policy_matcher"), (sns_models.Subscription, "topic"))


def install(engine: Engine) -> None:
    """Route Lambda subscriptions' deliveries through asynchronous invocation."""
    original = sns_models.Subscription.publish

    def publish(
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if subscription.protocol != "lambda":
            return original(  # type: ignore[no-any-return]
                subscription,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                **kwargs,
            )
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None
        event = sns_event(subscription, message, message_id, subject, message_attributes or {})
        function = Arn.parse(subscription.endpoint)
        engine.submit_async(function.account, function.region, subscription.endpoint, json.dumps(event))
        return None

    replace(sns_models.Subscription, "publish", publish)


def sns_event(
    subscription: Any, message: str, message_id: str, subject: str | None, attributes: dict[str, Any]
) -> dict[str, Any]:
    """The event SNS sends to a Lambda subscriber."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": subscription.topic.arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "SignatureVersion": "1",
                    "Signature": "sandbox",
                    "SigningCertUrl": "https://sns.sandbox.invalid/cert.pem",
                    "UnsubscribeUrl": f"https://sns.sandbox.invalid/?Action=Unsubscribe&SubscriptionArn={subscription.arn}",
                    "MessageAttributes": {
                        name: {"Type": value["Type"], "Value": value["Value"]} for name, value in attributes.items()
                    },
                },
            }
        ]
    }
