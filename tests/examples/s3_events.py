"""Builders of S3 event notifications as S3, SNS and SQS deliver them, for handler tests."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus


def s3_record(
    bucket: str,
    key: str,
    size: int = 5,
    *,
    version_id: str | None = "v1",
    sequencer: str = "0A1",
    event_name: str = "ObjectCreated:Put",
) -> dict[str, Any]:
    """One record of an S3 event notification, every field S3 sends (key URL-encoded as S3 sends it)."""
    obj: dict[str, Any] = {"key": quote_plus(key), "size": size, "eTag": "abc", "sequencer": sequencer}
    if version_id:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T12:00:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "notification-1",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def notification(*records: dict[str, Any]) -> str:
    """An S3 event notification message."""
    return json.dumps({"Records": list(records)})


TEST_EVENT = json.dumps(
    {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-28T12:00:00Z",
        "Bucket": "b",
        "RequestId": "r",
        "HostId": "h",
    }
)


def s3_event(*records: dict[str, Any]) -> dict[str, Any]:
    """The event S3 sends to a Lambda function it invokes (asynchronously): the notification itself."""
    return {"Records": list(records)}


def sns_event(*messages: str) -> dict[str, Any]:
    """An SNS -> Lambda invocation event carrying ``messages``."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:topic:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"m{i}",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:topic",
                    "Subject": "Amazon S3 Notification",
                    "Message": message,
                    "Timestamp": "2026-11-28T12:00:00Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=sub",
                    "MessageAttributes": {},
                },
            }
            for i, message in enumerate(messages)
        ]
    }


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS -> Lambda batch event carrying ``bodies``."""
    return {
        "Records": [
            {
                "messageId": f"msg-{i}",
                "receiptHandle": f"rh-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764331200000",
                    "SenderId": "AIDA",
                    "ApproximateFirstReceiveTimestamp": "1764331200000",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }
