"""``AWS::S3::Bucket``'s ``VersioningConfiguration``, which moto 5.2.5's CloudFormation ignored: a bucket declared
versioned (CDK's ``versioned=True``) was created unversioned, so overwrites lost the previous version, deletes added
no delete marker and ``DeleteObject`` with a version id had nothing to delete. Creating and updating a stack now set
the bucket's versioning status (``Enabled`` or ``Suspended``) as CloudFormation does; removing the property from a
template leaves the status as it was, as in AWS (versioning, once on, can only be suspended)."""

from __future__ import annotations

from typing import Any

from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["PATCHED", "READS", "install"]

#: What this module wraps in moto (checked by the canary tests).
PATCHED: Patched = (
    (FakeBucket, "create_from_cloudformation_json"),
    (FakeBucket, "update_from_cloudformation_json"),
)
READS: Reads = ()

STATUSES = {"Enabled", "Suspended"}


def install(engine: Engine) -> None:
    """Apply ``VersioningConfiguration`` when CloudFormation creates or updates a bucket."""
    original_create = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_update = FakeBucket.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        bucket = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _apply(bucket, cloudformation_json, account_id, region_name)
        return bucket

    def update(
        cls: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        bucket = original_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        _apply(bucket, cloudformation_json, account_id, region_name)
        return bucket

    replace(FakeBucket, "create_from_cloudformation_json", classmethod(create))
    replace(FakeBucket, "update_from_cloudformation_json", classmethod(update))


def _apply(bucket: Any, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    status = (cloudformation_json.get("Properties", {}).get("VersioningConfiguration") or {}).get("Status")
    if status is None:
        return
    if status not in STATUSES:
        raise ValueError(f"VersioningConfiguration.Status must be Enabled or Suspended, not {status!r}")
    s3_backends[account_id][get_partition(region_name)].put_bucket_versioning(bucket.name, status)
