"""S3 buckets with the catalog's defaults: private, encrypted, TLS-only, versioned, access-logged."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from awspatterns.app import acknowledge

__all__ = ["AccessLogBucket", "SecureBucket"]


# --8<-- [start:buckets]
class AccessLogBucket(Construct):
    """The bucket that receives server access logs of the example's other buckets (objects expire after 90 days).

    Attributes:
        bucket: the ``s3.Bucket`` (the block's default child: its logical id is ``<id>...``).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Default",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
        )
        acknowledge(
            self.bucket, {"AwsSolutions-S1": "This is the access-log bucket; logging it into itself would loop."}
        )


class SecureBucket(Construct):
    """An encrypted, versioned, private, TLS-only bucket with server access logs under ``<id>/``.

    The example buckets are destroyed with their stack (objects included) so a trial leaves nothing behind;
    a production bucket would keep ``RemovalPolicy.RETAIN``.

    Args:
        scope: the parent construct.
        construct_id: the block's id; also the prefix of its access logs.
        access_logs: the bucket that receives the access logs (an ``AccessLogBucket``'s ``.bucket``).

    Attributes:
        bucket: the ``s3.Bucket`` (the block's default child: its logical id is ``<id>...``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Default",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{construct_id}/",
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )


# --8<-- [end:buckets]
