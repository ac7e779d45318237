"""SNS deliveries to Lambda as AWS makes them: asynchronous invocations whose event carries the real topic and
subscription ARNs and honours the subscription's filter policy (moto 5.2.5 invoked synchronously, with a fake
TopicArn and Subject).

A queue or function receives only what its resource policy admits from ``sns.amazonaws.com`` for the topic
(``aws:SourceArn``), and an encrypted queue only if its key policy lets SNS use the key. A refused delivery goes to
the subscription's redrive dead-letter queue if it has one (which must admit SNS too), else it is logged: AWS's
delivery-failure behaviour."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from moto.sns import models as sns_models

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.deliveries.destinations import deliver
from awspatterns.sandbox.iam.services import admitted
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["PATCHED", "READS", "install", "sns_event"]

log = logging.getLogger("awspatterns.sandbox.deliveries.sns")

SNS = "sns.amazonaws.com"
ACTIONS = {"sqs": "sqs:SendMessage", "lambda": "lambda:InvokeFunction"}

PATCHED: Patched = ((sns_models.Subscription, "publish"),)

#: The moto state this module reads (checked by the canary tests).
READS: Reads = (
    (sns_models.Subscription, "_filter_policy_matcher"),
    (sns_models.Subscription, "topic"),
    (sns_models.Subscription, "attributes"),
    (sns_models.Subscription, "get_post_data"),
)


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
        action = ACTIONS.get(subscription.protocol)
        if action is not None:
            topic_arn = subscription.topic.arn
            account = Arn.parse(topic_arn).account
            if not admitted(engine, SNS, action, subscription.endpoint, topic_arn, account, missing_ok=True):
                matcher = subscription._filter_policy_matcher
                if matcher is None or matcher.matches(message_attributes, message):
                    body = subscription.get_post_data(message, message_id, subject, message_attributes)
                    _dead_letter(engine, subscription, json.dumps(body), topic_arn, account)
                return None
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


def _dead_letter(engine: Engine, subscription: Any, body: str, topic_arn: str, account: str) -> None:
    """Send a refused delivery to the subscription's redrive DLQ, or log it when it has none."""
    redrive = subscription.attributes.get("RedrivePolicy")
    queue_arn = json.loads(redrive).get("deadLetterTargetArn") if isinstance(redrive, str) and redrive else None
    if not queue_arn:
        log.warning(
            "SNS could not deliver %s to %s: refused, and the subscription has no DLQ", topic_arn, subscription.endpoint
        )
        return
    if not admitted(engine, SNS, "sqs:SendMessage", queue_arn, topic_arn, account):
        log.warning(
            "SNS could not deliver %s to %s nor to its DLQ %s: refused", topic_arn, subscription.endpoint, queue_arn
        )
        return
    reason = f"SNS is not authorized to deliver to {subscription.endpoint}"
    deliver(queue_arn, body, engine.submit_async, {"ErrorCode": "AuthorizationError", "ErrorMessage": reason})


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
