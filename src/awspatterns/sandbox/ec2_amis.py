"""EC2's public AMIs, built per account and region only when something uses them, from data parsed once per process.

moto 5.2.5 builds every region's EC2 backend with about 1,300 public AMIs (its ``amis.json`` plus the region's
``latest_amis`` and ``ecs/optimized_amis``), each with an EBS volume and snapshot, parsing the region's JSON again
for every account. A fresh account pays that on its first EC2 call, even a ``DescribeVpcs`` that never looks at an
image; the sandbox makes fresh accounts all the time (every test, every leak check).

What changes is only when the work happens: the AMI records are parsed once per process and shared read-only,
and an account's AMIs (with their snapshots) are built on the first read of its ``amis`` or ``snapshots``, from
fresh objects of its own, so one account's changes are never visible in another. Their tags go into the account's
tag store at once (cheap, and ``DescribeTags`` or any tag listing reads them without touching the images). The
result is what moto builds eagerly: the same images, attributes, owners, tags and one snapshot each.
"""

from __future__ import annotations

import contextlib
import os
import threading
from functools import cache
from typing import Any

from moto import settings
from moto.core.parse import default_timestamp_parser as parse_timestamp
from moto.ec2.models import EC2Backend
from moto.ec2.models import amis as moto_amis
from moto.ec2.models.amis import Ami, AmiBackend
from moto.ec2.models.elastic_block_store import EBSBackend
from moto.ec2.models.tags import TagBackend
from moto.utilities.utils import load_resource

from awspatterns.sandbox.patching import add, replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["PATCHED", "READS", "install", "records"]

#: What this module replaces in moto (checked by the canary tests): the eager loader, and the two attributes made
#: lazy on EC2's backend (added as descriptors; moto keeps them as instance attributes).
PATCHED: Patched = ((AmiBackend, "_load_amis"), (moto_amis, "AMIS"))

#: The moto state read and written: the backend's images, snapshots and tag store.
READS: Reads = ((AmiBackend, "amis"), (EBSBackend, "snapshots"), (TagBackend, "tags"))

#: The per-region files moto adds to ``amis.json`` unless ``MOTO_AMIS_PATH`` names a file of its own.
REGION_FILES = ("latest_amis", "ecs/optimized_amis")

_STATE = "_awspatterns_amis"
_PENDING, _LOADING = "pending", "loading"
#: Held while an account's AMIs are built: a second thread reading them waits for the whole set.
_LOCK = threading.RLock()


def _normalized(record: dict[str, Any]) -> dict[str, Any]:
    """A record as moto's loader passes it to ``Ami``: owned by ``amazon``, its creation date parsed."""
    record = {**record, "owner_alias": "amazon"}
    if isinstance(record.get("creation_date"), str):
        record["creation_date"] = parse_timestamp(record["creation_date"])
    return record


@cache
def records(region: str) -> tuple[dict[str, Any], ...]:
    """The public AMI records of ``region``, in moto's order (a later record with the same id replaces an earlier
    one, keeping its place), parsed once per process. Shared: never modified; ``Ami`` gets copies."""
    if "MOTO_AMIS_PATH" not in os.environ and not settings.ec2_load_default_amis():
        return ()
    found = [_normalized(record) for record in moto_amis.AMIS]
    if "MOTO_AMIS_PATH" not in os.environ:
        for path in REGION_FILES:
            with contextlib.suppress(FileNotFoundError):  # a region moto has no file for has none of these
                found += [_normalized(record) for record in load_resource(f"ec2/resources/{path}/{region}.json")]
    return tuple(found)


def _register(backend: Any) -> None:
    """Replaces ``AmiBackend._load_amis``: tag the account's public AMIs now, build them on first use."""
    for record in records(backend.region_name):
        if record.get("tags"):
            for key, value in record["tags"].items():  # as ``Ami.add_tags`` does, one tag at a time
                backend.create_tags([record["ami_id"]], {key: value})
    if records(backend.region_name):
        backend.__dict__[_STATE] = _PENDING


def _build(backend: Any) -> None:
    """Build the account's public AMIs (each with its snapshot), as moto's loader would; tags are already there."""
    amis = backend.__dict__["amis"]
    for record in records(backend.region_name):
        fields = {name: value for name, value in record.items() if name != "tags"}
        if "product_codes" in fields:
            fields["product_codes"] = list(fields["product_codes"])
        amis[record["ami_id"]] = Ami(backend, **fields)


def _ensure_built(backend: Any) -> None:
    if backend.__dict__.get(_STATE) is None:
        return
    with _LOCK:  # the building thread re-enters here through its own reads and finds the state LOADING
        if backend.__dict__.get(_STATE) != _PENDING:
            return
        backend.__dict__[_STATE] = _LOADING
        try:
            _build(backend)
        finally:
            del backend.__dict__[_STATE]


class _BuiltOnRead:
    """A backend attribute stored as usual in the instance, whose first read builds the account's public AMIs."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, backend: Any, owner: type | None = None) -> Any:
        if backend is None:
            return self
        _ensure_built(backend)
        return backend.__dict__[self.name]

    def __set__(self, backend: Any, value: Any) -> None:
        backend.__dict__[self.name] = value


def install(engine: Engine) -> None:
    """Defer the AMIs of each account and region until first use, from records parsed once."""
    replace(AmiBackend, "_load_amis", _register)
    add(EC2Backend, "amis", _BuiltOnRead("amis"))
    add(EC2Backend, "snapshots", _BuiltOnRead("snapshots"))
