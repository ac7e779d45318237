"""CDK's custom resources whose providers are Node.js functions (they need the AWS SDK of the real Node.js
runtime): the sandbox does what they do, natively, as ``CustomResources`` handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.ec2.models import ec2_backends
from moto.s3.models import s3_backends

__all__ = ["NATIVE_HANDLERS", "NativeHandler"]

#: A native handler: ``(request_type, properties, account_id, region) -> Data``.
NativeHandler = Callable[[str, dict[str, Any], str, str], dict[str, Any]]


def auto_delete_objects(request_type: str, properties: dict[str, Any], account_id: str, region: str) -> dict[str, Any]:
    """CDK's ``Custom::S3AutoDeleteObjects``: on Delete, remove every object version so the bucket can go."""
    if request_type == "Delete":
        backend = s3_backends[account_id]["aws"]
        bucket_name = properties["BucketName"]
        if bucket_name in backend.buckets:
            bucket = backend.buckets[bucket_name]
            for key_name in list(bucket.keys.keys()):
                for version in list(bucket.keys.getlist(key_name)):
                    backend.delete_object(bucket_name, key_name, version_id=version.version_id, bypass=True)
    return {}


def restrict_default_security_group(
    request_type: str, properties: dict[str, Any], account_id: str, region: str
) -> dict[str, Any]:
    """CDK's ``Custom::VpcRestrictDefaultSG``: the VPC's default security group loses its rules (and gets them back
    on Delete, as CDK's provider does)."""
    backend = ec2_backends[account_id][region]
    group_id = properties["DefaultSecurityGroupId"]
    if request_type == "Create":
        group = backend.get_security_group_from_id(group_id)
        if group is None:
            raise ValueError(f"no security group {group_id}")
        group.ingress_rules, group.egress_rules = [], []
    elif request_type == "Delete":
        backend.authorize_security_group_egress(group_id, "-1", "-1", "-1", [{"CidrIp": "0.0.0.0/0"}])
        backend.authorize_security_group_ingress(group_id, "-1", "-1", "-1", [], source_groups=[{"GroupId": group_id}])
    return {}


NATIVE_HANDLERS: dict[str, NativeHandler] = {
    "Custom::S3AutoDeleteObjects": auto_delete_objects,
    "Custom::VpcRestrictDefaultSG": restrict_default_security_group,
}
