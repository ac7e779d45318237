"""S3's actions and resources: an S3 request names its operation by method, by whether it addresses a bucket or
an object, and by its subresource (``?tagging``, ``?versionId=``), and is authorized on the bucket or object ARN.

moto calls its S3 authorization hook with the bucket and key; the action is read here from the request, because
moto's own table lacks subresources (``?encryption``, ``?ownershipControls``, ``?publicAccessBlock``, ...) and
names some actions the way the API does, not IAM. A copy (``x-amz-copy-source``) also needs ``s3:GetObject`` on
its source, and a batch delete ``s3:DeleteObject`` on every key it names, plus ``s3:DeleteObjectVersion`` on each
key it names with a version id.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from awspatterns.sandbox.iam.requests import Check

__all__ = ["BUCKET_ACTIONS", "OBJECT_ACTIONS", "s3_checks"]

_CONFIG = {
    "lifecycle": "LifecycleConfiguration",
    "encryption": "EncryptionConfiguration",
    "replication": "ReplicationConfiguration",
    "accelerate": "AccelerateConfiguration",
    "intelligent-tiering": "IntelligentTieringConfiguration",
    "inventory": "InventoryConfiguration",
    "metrics": "MetricsConfiguration",
    "analytics": "AnalyticsConfiguration",
}
_BUCKET_SETTINGS = {
    "versioning": "BucketVersioning",
    "policy": "BucketPolicy",
    "website": "BucketWebsite",
    "acl": "BucketAcl",
    "tagging": "BucketTagging",
    "logging": "BucketLogging",
    "cors": "BucketCORS",
    "notification": "BucketNotification",
    "publicAccessBlock": "BucketPublicAccessBlock",
    "ownershipControls": "BucketOwnershipControls",
    "object-lock": "BucketObjectLockConfiguration",
    "requestPayment": "BucketRequestPayment",
}

#: (method, subresource) -> IAM action, for requests addressing a bucket ("" is the request without one).
BUCKET_ACTIONS: dict[tuple[str, str], str] = {
    ("GET", ""): "ListBucket",
    ("HEAD", ""): "ListBucket",
    ("PUT", ""): "CreateBucket",
    ("DELETE", ""): "DeleteBucket",
    ("POST", ""): "PutObject",  # a browser-form (presigned POST) upload
    ("POST", "delete"): "DeleteObject",
    ("GET", "uploads"): "ListBucketMultipartUploads",
    ("GET", "versions"): "ListBucketVersions",
    ("GET", "location"): "GetBucketLocation",
    ("GET", "policyStatus"): "GetBucketPolicyStatus",
    **{("GET", sub): f"Get{name}" for sub, name in {**_CONFIG, **_BUCKET_SETTINGS}.items()},
    **{("PUT", sub): f"Put{name}" for sub, name in {**_CONFIG, **_BUCKET_SETTINGS}.items()},
    **{("DELETE", sub): f"Put{name}" for sub, name in {**_CONFIG, **_BUCKET_SETTINGS}.items()},
    ("DELETE", "policy"): "DeleteBucketPolicy",
    ("DELETE", "website"): "DeleteBucketWebsite",
}

#: (method, subresource) -> IAM action, for requests addressing an object; ``+Version`` marks actions whose
#: ``...Version...`` variant applies when the request names a ``versionId``.
OBJECT_ACTIONS: dict[tuple[str, str], str] = {
    ("GET", ""): "GetObject+Version",
    ("HEAD", ""): "GetObject+Version",
    ("PUT", ""): "PutObject",
    ("DELETE", ""): "DeleteObject+Version",
    ("GET", "uploadId"): "ListMultipartUploadParts",
    ("PUT", "uploadId"): "PutObject",
    ("POST", "uploads"): "PutObject",
    ("POST", "uploadId"): "PutObject",
    ("DELETE", "uploadId"): "AbortMultipartUpload",
    ("GET", "acl"): "GetObjectAcl+Version",
    ("PUT", "acl"): "PutObjectAcl+Version",
    ("GET", "tagging"): "GetObjectTagging+Version",
    ("PUT", "tagging"): "PutObjectTagging+Version",
    ("DELETE", "tagging"): "DeleteObjectTagging+Version",
    ("GET", "retention"): "GetObjectRetention",
    ("PUT", "retention"): "PutObjectRetention",
    ("GET", "legal-hold"): "GetObjectLegalHold",
    ("PUT", "legal-hold"): "PutObjectLegalHold",
    ("GET", "attributes"): "GetObjectAttributes+Version",
    ("POST", "restore"): "RestoreObject",
    ("POST", "select"): "GetObject",
}

_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}
DELETE_KEY = re.compile(r"<Key>(.*?)</Key>", re.S)
DELETE_ENTRY = re.compile(r"<Object>(.*?)</Object>", re.S)


def _action(table: dict[tuple[str, str], str], method: str, query: Any) -> str:
    keys = set(query or ())
    name = next((a for (m, sub), a in table.items() if m == method and sub and sub in keys), None)
    name = name or table.get((method, ""), "ListBucket")
    base, versionable, _ = name.partition("+Version")
    if versionable and "versionId" in keys:
        return _VERSIONED.get(base, base.replace("Object", "ObjectVersion", 1))
    return base


def s3_checks(
    method: str, query: Any, headers: Any, body: Any, bucket: str | None, key: str | None, partition: str = "aws"
) -> list[Check]:
    """What an S3 request on ``bucket``/``key`` needs authorized."""
    if not bucket:
        return [Check("s3:ListAllMyBuckets", "*")]
    arn = f"arn:{partition}:s3:::{bucket}"
    if key:
        action = _action(OBJECT_ACTIONS, method, query)
        checks = [Check(f"s3:{action}", f"{arn}/{key}")]
        source = headers.get("x-amz-copy-source") if headers is not None else None
        if source and method == "PUT":
            path, _, version = unquote(str(source)).lstrip("/").partition("?versionId=")
            checks.append(Check("s3:GetObjectVersion" if version else "s3:GetObject", f"arn:{partition}:s3:::{path}"))
        return checks
    action = _action(BUCKET_ACTIONS, method, query)
    if method == "POST" and action == "DeleteObject":
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        keys = dict.fromkeys(unquote(k) for k in DELETE_KEY.findall(text))
        versioned = dict.fromkeys(
            unquote(k)
            for entry in DELETE_ENTRY.findall(text)
            if "<VersionId>" in entry
            for k in DELETE_KEY.findall(entry)[:1]
        )
        return [Check("s3:DeleteObject", f"{arn}/{k}") for k in keys] + [
            Check("s3:DeleteObjectVersion", f"{arn}/{k}") for k in versioned
        ] or [Check("s3:DeleteObject", f"{arn}/*")]
    if method == "POST" and action == "PutObject":
        form_key = query.get("key") if query else None
        form_key = form_key[0] if isinstance(form_key, list) else form_key
        return [Check("s3:PutObject", f"{arn}/{form_key}" if form_key else arn)]
    return [Check(f"s3:{action}", arn)]
