"""DynamoDB Time to Live: tables created by CloudFormation get their ``TimeToLiveSpecification``, and expired items
are deleted in the background, each deletion in the table's stream as a ``REMOVE`` record whose ``userIdentity`` is
``{"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}`` (``type`` and ``principalId`` in Lambda's events), as
AWS marks TTL deletions.

moto 5.2.5 records ``UpdateTimeToLive`` but deletes nothing, and its CloudFormation table ignores
``TimeToLiveSpecification``. As in AWS, an item expires when its TTL attribute is a top-level Number (epoch seconds)
lower than the current time; other types are ignored, and so are values more than five years in the past (AWS does
not delete those either). Until the deletion, an expired item still shows in reads, as in AWS. AWS deletes within
days, the sandbox within about a second; ``quiesce`` waits for expired items to be deleted.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table

from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads, fields

__all__ = ["PATCHED", "READS", "TTL_IDENTITY", "TtlSweeper", "expired", "install"]

log = logging.getLogger("awspatterns.sandbox.dynamodb_ttl")

#: What this module wraps in moto (checked by the canary tests).
PATCHED: Patched = ((Table, "create_from_cloudformation_json"), (Table, "delete_item"))

#: The moto state the sweeper reads: each table's TTL setting and items, and its stream's records.
READS: Reads = (
    (DynamoDBBackend, "tables"),
    *fields(Table, "ttl", "items", "hash_key_attr", "range_key_attr", "stream_shard"),
    (StreamShard, "items"),
    (StreamRecord, "record"),
)

#: How a DynamoDB Streams record names the deleter of an item TTL expired (``GetRecords``' member names; Lambda's
#: events spell them ``type`` and ``principalId``).
TTL_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}

#: AWS leaves alone items whose TTL is more than five years in the past.
OLDEST_EXPIRY_S = 5 * 365 * 24 * 3600


def expired(item: Any, attribute: str, now: float) -> bool:
    """Whether a moto item has expired: its ``attribute`` is a Number of epoch seconds before ``now``, and not more
    than five years before it."""
    value = item.attrs.get(attribute)
    if value is None or value.type != "N":
        return False
    try:
        expiry = float(value.value)
    except (TypeError, ValueError):
        return False
    return now - OLDEST_EXPIRY_S <= expiry < now


def _ttl_attribute(table: Any) -> str | None:
    ttl = table.ttl or {}
    return str(ttl["AttributeName"]) if ttl.get("TimeToLiveStatus") == "ENABLED" and ttl.get("AttributeName") else None


def _items(table: Any) -> list[Any]:
    """A snapshot of a table's items (moto writes from its request threads while this reads)."""
    while True:
        try:
            if table.range_key_attr is None:
                return list(table.items.values())
            return [item for ranged in list(table.items.values()) for item in list(ranged.values())]
        except RuntimeError:  # a write changed a dict during the copy: copy again
            continue


class TtlSweeper:
    """Deletes expired items of every table with TTL enabled, in every account and region, on a background thread."""

    def __init__(self, interval_s: float = 0.5, activity: Activity | None = None) -> None:
        self.interval_s = interval_s
        self.activity = activity or Activity()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dynamodb-ttl", daemon=True)
        #: The thread deleting, so that ``delete_item`` knows a deletion is TTL's.
        self.deleting = threading.local()

    def start(self) -> None:
        """Start sweeping in the background."""
        self._thread.start()

    def busy(self) -> bool:
        """Whether an expired item waits for deletion."""
        now = time.time()
        return any(expired(item, attribute, now) for _, attribute, item in self._expirable())

    def shutdown(self) -> None:
        """Stop sweeping."""
        self._stop.set()

    def sweep(self) -> int:
        """Delete every item expired now; return how many."""
        now, deleted = time.time(), 0
        with self.activity.unit():
            for table, attribute, item in self._expirable():
                if not expired(item, attribute, now):
                    continue
                self.deleting.active = True
                try:
                    table.delete_item(item.hash_key, item.range_key)
                finally:
                    self.deleting.active = False
                deleted += 1
        return deleted

    def _expirable(self) -> list[tuple[Any, str, Any]]:
        found: list[tuple[Any, str, Any]] = []
        for regions in list(dynamodb_backends.values()):
            for backend in list(regions.values()):
                for table in list(backend.tables.values()):
                    attribute = _ttl_attribute(table)
                    if attribute is not None:
                        found.extend((table, attribute, item) for item in _items(table))
        return found

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sweep()
            except Exception:
                log.exception("deleting expired DynamoDB items failed")


def install(engine: Engine) -> None:
    """Apply ``TimeToLiveSpecification`` in CloudFormation, mark TTL deletions in streams, start the sweeper."""
    sweeper = TtlSweeper(engine.settings.ttl_interval_s, engine.activity)
    create = Table.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    delete_item = Table.delete_item

    def create_from_cloudformation_json(
        cls: type,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Any:
        table = create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        spec = (cloudformation_json.get("Properties") or {}).get("TimeToLiveSpecification")
        if spec:
            enabled = str(spec.get("Enabled")).lower() == "true"  # CloudFormation may pass "true"
            table.ttl = {"TimeToLiveStatus": "ENABLED" if enabled else "DISABLED"}
            if spec.get("AttributeName"):
                table.ttl["AttributeName"] = spec["AttributeName"]
        return table

    def delete(table: Any, hash_key: Any, range_key: Any) -> Any:
        shard = table.stream_shard
        before = len(shard.items) if shard is not None else 0
        item = delete_item(table, hash_key, range_key)
        if item is not None and shard is not None and getattr(sweeper.deleting, "active", False):
            keys = {table.hash_key_attr: item.hash_key.to_json()}
            if table.range_key_attr is not None:
                keys[table.range_key_attr] = range_key.to_json()
            for record in shard.items[before:]:  # the REMOVE this deletion added (a write may have added others)
                if record.record["eventName"] == "REMOVE" and record.record["dynamodb"]["Keys"] == keys:
                    record.record["userIdentity"] = dict(TTL_IDENTITY)
                    break
        return item

    replace(Table, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))
    replace(Table, "delete_item", delete)
    sweeper.start()
    engine.add_component(sweeper)
