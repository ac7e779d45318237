"""S3 event notifications as AWS sends them: records carry ``sequencer`` and ``versionId``; functions are invoked
asynchronously (with Lambda's retries, destinations and DLQ); deliveries to SNS have the ``Amazon S3
Notification`` subject; a topic or function that cannot be reached is logged, not raised into the upload.

moto 5.2.5 invoked a function synchronously inside the upload and dropped its error: a failing function lost the
event, with no retry."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3 import notifications as s3_notifications
from moto.s3.exceptions import InvalidArgumentError
from moto.s3.models import FakeBucket, FakeKey, S3Backend
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.iam.services import admitted
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["PATCHED", "READS", "install"]

log = logging.getLogger("awspatterns.sandbox.deliveries.s3")

PATCHED: Patched = (
    (FakeBucket, "get_permission"),
    (s3_notifications, "_get_s3_event"),
    (s3_notifications, "_send_sns_message"),
    (s3_notifications, "_invoke_awslambda"),
    (s3_notifications, "_send_sqs_message"),
    (S3Backend, "put_bucket_notification_configuration"),
)

S3 = "s3.amazonaws.com"

#: Notification configuration key -> (ARN key, IAM action S3 needs, AWS's reason when the destination refuses).
DESTINATIONS = {
    "TopicConfiguration": (
        "Topic",
        "sns:Publish",
        "Permissions on the destination topic do not allow S3 to publish notifications from this bucket",
    ),
    "QueueConfiguration": (
        "Queue",
        "sqs:SendMessage",
        "Permissions on the destination queue do not allow S3 to publish notifications from this bucket",
    ),
    "CloudFunctionConfiguration": ("CloudFunction", "lambda:InvokeFunction", "Not authorized to invoke function"),
}

#: The moto state this module reads (checked by the canary tests); a renamed ``version_id`` would go unnoticed.
READS: Reads = ((FakeKey, "version_id"), (FakeBucket, "is_versioned"))


def install(engine: Engine) -> None:
    """Complete moto's S3 event records and deliveries; leave bucket policies unenforced."""
    original_event = s3_notifications._get_s3_event
    sequencer = itertools.count(int(time.time() * 1000))
    sequencer_lock = threading.Lock()

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original_event(event_name, bucket, key, notification_id)
        obj = event["Records"][0]["s3"]["object"]
        with sequencer_lock:
            obj["sequencer"] = f"{next(sequencer):016X}"
        if getattr(key, "version_id", None) and bucket.is_versioned:
            obj["versionId"] = key.version_id
        return event

    def send_sns(account_id: str, event_body: Any, topic_arn: str, region_name: str) -> None:
        if not admitted(engine, S3, "sns:Publish", topic_arn, _bucket_arn(event_body), account_id):
            return
        try:
            sns_backends[Arn.parse(topic_arn).account][region_name].publish(
                arn=topic_arn, message=json.dumps(event_body), subject="Amazon S3 Notification"
            )
        except Exception:
            log.exception("S3 could not publish to %s", topic_arn)

    def invoke_function(account_id: str, event_body: Any, function_arn: str, region_name: str) -> None:
        function = Arn.parse(function_arn)
        if not admitted(engine, S3, "lambda:InvokeFunction", function_arn, _bucket_arn(event_body), account_id):
            return
        try:
            engine.submit_async(function.account, function.region, function_arn, json.dumps(event_body))
        except Exception:
            log.exception("S3 could not invoke %s", function_arn)

    def send_sqs(account_id: str, event_body: Any, queue_name: str, region_name: str) -> None:
        queue_arn = f"arn:aws:sqs:{region_name}:{account_id}:{queue_name}"
        if not admitted(engine, S3, "sqs:SendMessage", queue_arn, _bucket_arn(event_body), account_id):
            return
        try:
            sqs_backends[account_id][region_name].send_message(
                queue_name=queue_name, message_body=json.dumps(event_body)
            )
        except Exception:
            log.exception("S3 could not send to %s", queue_arn)

    original_put = S3Backend.put_bucket_notification_configuration

    def put_notification(backend: Any, bucket_name: str, notification_config: dict[str, Any]) -> None:
        bucket = backend.get_bucket(bucket_name)
        source = f"arn:{bucket.partition}:s3:::{bucket_name}"
        refused = [
            (config[arn_key], reason)
            for kind, (arn_key, action, reason) in DESTINATIONS.items()
            for config in (notification_config or {}).get(kind) or []
            if not admitted(engine, S3, action, config[arn_key], source, bucket.account_id, encrypted=False)
        ]
        if refused:
            arn, reason = refused[0]
            raise InvalidArgumentError("Unable to validate the following destination configurations", arn, reason)
        original_put(backend, bucket_name, notification_config)

    replace(s3_notifications, "_send_sqs_message", send_sqs)
    replace(S3Backend, "put_bucket_notification_configuration", put_notification)
    replace(s3_notifications, "_get_s3_event", s3_event)
    replace(s3_notifications, "_send_sns_message", send_sns)
    replace(s3_notifications, "_invoke_awslambda", invoke_function)
    # moto evaluates bucket policies without their conditions, so a TLS-only Deny denies everything. Like
    # IAM policies, bucket policies are not enforced by the sandbox (a documented fidelity limit).
    replace(FakeBucket, "get_permission", lambda bucket, action, resource: PermissionResult.NEUTRAL)


def _bucket_arn(event_body: Any) -> str:
    """The bucket an S3 event (or S3's test event) is about, as its ARN (the delivery's ``aws:SourceArn``)."""
    records = event_body.get("Records") if isinstance(event_body, dict) else None
    name = records[0]["s3"]["bucket"]["name"] if records else event_body.get("Bucket", "")
    return f"arn:aws:s3:::{name}"
