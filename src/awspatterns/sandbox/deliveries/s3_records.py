"""The fields of an S3 event record that moto 5.2.5 leaves out and S3 always sends: ``userIdentity``,
``requestParameters`` (``sourceIPAddress``), ``responseElements`` (``x-amz-request-id``, ``x-amz-id-2``) and the
bucket's ``ownerIdentity``, so records validate against the published schema (Powertools' ``S3Model`` requires
them).

The sandbox does not know who made the request when it builds the record: both principals are the bucket's
account, the source address is the loopback address the sandbox listens on, and the two request ids are random
in S3's formats. ``s3`` (``deliveries.s3``) adds ``sequencer`` and ``versionId``; this module completes its records.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from moto.s3 import notifications as s3_notifications
from moto.s3.models import FakeBucket

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["PATCHED", "READS", "complete_record", "install"]

#: What this module wraps in moto (checked by the canary tests); ``deliveries.s3`` wraps it first.
PATCHED: Patched = ((s3_notifications, "_get_s3_event"),)

#: The moto state this module reads (checked by the canary tests).
READS: Reads = ((FakeBucket, "account_id"),)

#: Where requests to the sandbox come from: it listens on the loopback address only.
SOURCE_ADDRESS = "127.0.0.1"


def complete_record(record: dict[str, Any], account_id: str) -> dict[str, Any]:
    """Add what S3 sends and moto does not to one event record (fields already there are kept)."""
    principal = f"AWS:{account_id}"
    record.setdefault("userIdentity", {"principalId": principal})
    record.setdefault("requestParameters", {"sourceIPAddress": SOURCE_ADDRESS})
    record.setdefault(
        "responseElements",
        {
            "x-amz-request-id": secrets.token_hex(8).upper(),
            "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode(),
        },
    )
    bucket = record.get("s3", {}).get("bucket")
    if isinstance(bucket, dict):
        bucket.setdefault("ownerIdentity", {"principalId": account_id})
    return record


def install(engine: Engine) -> None:
    """Complete every S3 event record moto builds."""
    original = s3_notifications._get_s3_event

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event: dict[str, Any] = original(event_name, bucket, key, notification_id)
        for record in event.get("Records", []):
            complete_record(record, bucket.account_id)
        return event

    replace(s3_notifications, "_get_s3_event", s3_event)
