"""S3's object-removed events in a versioned bucket, as S3 sends them.

In a bucket with versioning enabled, a ``DeleteObject`` without a version id adds a delete marker, and S3 sends
``ObjectRemoved:DeleteMarkerCreated`` naming the marker's version id; a ``DeleteObject`` (or a ``DeleteObjects``
entry) with a version id deletes that version for good, and S3 sends ``ObjectRemoved:Delete`` naming the deleted
version. moto 5.2.5 sent neither: nothing for a delete marker, and for a version only when it was the key's last,
naming the key's current version instead. Removal records carry no ``size`` or ``eTag`` (S3 sends the key, the
version id and the sequencer); ``deliveries.s3`` adds the sequencer, ``deliveries.s3_records`` the rest.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from moto.s3 import notifications as s3_notifications
from moto.s3.models import FakeBucket, S3Backend

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["PATCHED", "READS", "install"]

#: What this module wraps in moto (checked by the canary tests).
PATCHED: Patched = (
    (S3Backend, "delete_object"),
    (s3_notifications, "send_event"),
    (s3_notifications, "_get_s3_event"),
)

#: The moto state this module reads (checked by the canary tests).
READS: Reads = ((FakeBucket, "is_versioned"), (FakeBucket, "keys"))

REMOVAL_EVENTS = ("s3:ObjectRemoved:", "s3:LifecycleExpiration:")


@dataclass(frozen=True)
class RemovedVersion:
    """What an event record needs of a version that no longer exists (moto builds records from its keys)."""

    name: str
    version_id: str
    etag: str = ""
    size: int = 0


def install(engine: Engine) -> None:
    """Send S3's removal events for versioned buckets; leave moto's own for unversioned ones."""
    original_delete = S3Backend.delete_object
    original_send = s3_notifications.send_event
    original_event = s3_notifications._get_s3_event
    own = threading.local()  # set while moto's delete runs, so its own (wrong) event is not sent

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        if not getattr(own, "sending", False):
            original_send(account_id, event_name, bucket, key)

    def delete_object(
        backend: Any, bucket_name: str, key_name: str, version_id: str | None = None, bypass: bool = False
    ) -> tuple[bool, dict[str, Any]]:
        bucket = backend.get_bucket(bucket_name)
        if not bucket.is_versioned:
            result: tuple[bool, dict[str, Any]] = original_delete(backend, bucket_name, key_name, version_id, bypass)
            return result
        existed = version_id is not None and any(
            str(v.version_id) == str(version_id) for v in bucket.keys.getlist(key_name, [])
        )
        own.sending = True
        try:
            deleted, meta = original_delete(backend, bucket_name, key_name, version_id, bypass)
        finally:
            own.sending = False
        if version_id is None and deleted and meta.get("delete-marker") == "true":
            event, removed = "s3:ObjectRemoved:DeleteMarkerCreated", RemovedVersion(key_name, meta["version-id"])
        elif existed:
            event, removed = "s3:ObjectRemoved:Delete", RemovedVersion(key_name, str(version_id))
        else:
            return deleted, meta  # nothing was there: S3 answers success and sends nothing
        original_send(backend.account_id, s3_notifications.S3NotificationEvent(event), bucket, removed)
        return deleted, meta

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        record: dict[str, Any] = original_event(event_name, bucket, key, notification_id)
        if event_name.startswith(REMOVAL_EVENTS):
            for entry in record.get("Records", []):
                entry["s3"]["object"].pop("size", None)
                entry["s3"]["object"].pop("eTag", None)
        return record

    replace(s3_notifications, "send_event", send_event)
    replace(S3Backend, "delete_object", delete_object)
    replace(s3_notifications, "_get_s3_event", s3_event)
