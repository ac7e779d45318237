"""An index of the objects in a bucket: which users' records each object holds, kept up to date from S3 events.

The ``ObjectIndex`` construct takes the bucket (an existing one works) and the prefix it indexes; it brings the
event path (S3 -> SQS -> indexer), the index tables, the backfill job and the data-removal job. The stack only
wires it to a new bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import (
    AccessLogBucket,
    PythonFunction,
    QueueWithDlq,
    SecureBucket,
    acknowledge_cdk_custom_resources,
)

HANDLERS = Path(__file__).parent / "handlers"


def _table(scope: Construct, construct_id: str, partition: str, sort: str | None = None) -> dynamodb.Table:
    """An on-demand, encrypted table with point-in-time recovery, destroyed with the example's stack."""
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING) if sort else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def _allow(function: PythonFunction, actions: Sequence[str], resources: Sequence[str]) -> None:
    function.role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources)))


# --8<-- [start:tables]
class IndexTables(Construct):
    """The index's three tables.

    Attributes:
        objects: one item per object key (``object_key``): latest version, size, time range, counts, or the
            reason it is unindexable; the sparse ``Unindexable`` index lists those.
        holdings: one item per user and object (``user_id``, ``object_key``) with the versions holding the user's
            records; ``ByObject`` (``object_key``, ``user_id``) lists an object's users.
        jobs: the backfill's checkpoints and the removal requests' audit records (``job_id``, ``entry``).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.objects = _table(self, "Objects", "object_key")
        self.objects.add_global_secondary_index(
            index_name="Unindexable",
            partition_key=dynamodb.Attribute(name="unindexable", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="object_key", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=["reason"],
        )
        self.holdings = _table(self, "Holdings", "user_id", "object_key")
        self.holdings.add_global_secondary_index(
            index_name="ByObject",
            partition_key=dynamodb.Attribute(name="object_key", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="user_id", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.jobs = _table(self, "Jobs", "job_id", "entry")


# --8<-- [end:tables]


# --8<-- [start:construct]
class ObjectIndex(Construct):
    """Index the objects under ``prefix`` of ``bucket`` by the users whose records they hold.

    S3 sends object-created and object-removed events to a queue; the indexer takes them in batches (partial batch
    failures, a DLQ) and updates the index. The backfill and the removal are jobs invoked on demand; both stop
    before their time runs out and resume when invoked again with the same id.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        bucket: the bucket holding the raw event data (versioning on: the removal deletes old versions).
        prefix: the keys it indexes, e.g. ``events/``.
        batch_size: the most S3 events per indexer invocation.
        max_receive_count: receives after which an event moves to the DLQ.

    Attributes:
        tables: the index's tables.
        queue: the queue the bucket notifies; ``dead_letter_queue`` its DLQ.
        indexer, backfill, removal: the three function blocks.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        prefix: str,
        batch_size: int = 10,
        max_receive_count: int = 3,
    ) -> None:
        super().__init__(scope, construct_id)
        self.tables = IndexTables(self, "Index")
        tables = self.tables
        environment = {
            "OBJECTS_TABLE": tables.objects.table_name,
            "HOLDINGS_TABLE": tables.holdings.table_name,
            "JOBS_TABLE": tables.jobs.table_name,
            "BUCKET_NAME": bucket.bucket_name,
            "PREFIX": prefix,
        }
        indexer_timeout = cdk.Duration.seconds(60)
        queue = QueueWithDlq(
            self,
            "Queue",
            visibility_timeout=cdk.Duration.seconds(6 * indexer_timeout.to_seconds()),
            max_receive_count=max_receive_count,
        )
        self.queue: sqs.IQueue = queue.queue
        self.dead_letter_queue: sqs.IQueue = queue.dead_letter_queue
        for event in (s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED, s3.EventType.LIFECYCLE_EXPIRATION):
            bucket.add_event_notification(
                event, s3n.SqsDestination(self.queue), s3.NotificationKeyFilter(prefix=prefix)
            )

        self.indexer = PythonFunction(
            self,
            "Indexer",
            code_dir=HANDLERS,
            handler="indexer.index.handler",
            description=f"Indexes the objects under {prefix} from S3 events",
            environment={**environment, "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue.queue_url},
            timeout=indexer_timeout,
            memory_size=1024,
        )
        self.indexer.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                max_batching_window=cdk.Duration.seconds(2),
                report_batch_item_failures=True,
            )
        )
        self.dead_letter_queue.grant(self.indexer, "sqs:SendMessage")  # parks what is not an S3 event

        job_timeout = cdk.Duration.minutes(15)
        self.backfill = PythonFunction(
            self,
            "Backfill",
            code_dir=HANDLERS,
            handler="backfill.index.handler",
            description=f"Indexes the objects under {prefix} the index does not know yet (on demand, resumable)",
            environment=environment,
            timeout=job_timeout,
            memory_size=1024,
        )
        self.removal = PythonFunction(
            self,
            "Removal",
            code_dir=HANDLERS,
            handler="removal.index.handler",
            description=f"Removes one user's records from the objects under {prefix} (on demand, resumable)",
            environment=environment,
            timeout=job_timeout,
            memory_size=1024,
        )
        self._grant(bucket, prefix)

    # --8<-- [end:construct]

    def _grant(self, bucket: s3.IBucket, prefix: str) -> None:
        """Exactly what each function's code calls, on exactly the resources it calls it on."""
        tables = self.tables
        objects_arn = bucket.arn_for_objects(f"{prefix}*")
        holdings, objects, jobs = tables.holdings.table_arn, tables.objects.table_arn, tables.jobs.table_arn
        by_object = f"{holdings}/index/ByObject"
        unindexable = f"{objects}/index/Unindexable"
        read_versions = ["s3:GetObject", "s3:GetObjectVersion"]
        # Indexing a version: read it, add it to its users' holdings, write the Objects item; forgetting one.
        index_writes = ["dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        _allow(self.indexer, read_versions, [objects_arn])
        _allow(self.indexer, index_writes, [holdings])
        _allow(self.indexer, ["dynamodb:PutItem", "dynamodb:DeleteItem"], [objects])
        _allow(self.indexer, ["dynamodb:Query"], [by_object])

        _allow(self.backfill, ["s3:ListBucketVersions"], [bucket.bucket_arn])
        _allow(self.backfill, read_versions, [objects_arn])
        _allow(self.backfill, ["dynamodb:UpdateItem"], [holdings])
        _allow(self.backfill, ["dynamodb:GetItem", "dynamodb:PutItem"], [objects, jobs])

        _allow(self.removal, ["s3:ListBucketVersions"], [bucket.bucket_arn])
        _allow(
            self.removal,
            [*read_versions, "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            [objects_arn],
        )
        _allow(self.removal, ["dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [holdings])
        _allow(self.removal, ["dynamodb:Query"], [by_object, unindexable, jobs])
        _allow(self.removal, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], [objects])
        _allow(self.removal, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [jobs])

        resolved = cdk.Stack.of(self).resolve(bucket.bucket_arn)
        arn = (
            f"<{resolved['Fn::GetAtt'][0]}.Arn>"
            if isinstance(resolved, dict) and "Fn::GetAtt" in resolved
            else bucket.bucket_arn
        )
        for function in (self.indexer, self.backfill, self.removal):
            acknowledge(
                function.role,
                {
                    f"AwsSolutions-IAM5[Resource::{arn}/{prefix}*]": "The index covers every object under its prefix; "
                    "keys are not known in advance.",
                },
            )


class S3ObjectIndexStack(cdk.Stack):
    """A versioned bucket of raw event data and the index of the users each object holds."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)

        # --8<-- [start:stack]
        access_logs = AccessLogBucket(self, "AccessLogs")
        bucket = SecureBucket(self, "Events", access_logs=access_logs.bucket).bucket  # versioned
        index = ObjectIndex(self, "ObjectIndex", bucket=bucket, prefix="events/")
        # --8<-- [end:stack]

        for name, value in {
            "BucketName": bucket.bucket_name,
            "Prefix": "events/",
            "ObjectsTable": index.tables.objects.table_name,
            "HoldingsTable": index.tables.holdings.table_name,
            "JobsTable": index.tables.jobs.table_name,
            "QueueUrl": index.queue.queue_url,
            "QueueDlqUrl": index.dead_letter_queue.queue_url,
            "IndexerFunctionName": index.indexer.function.function_name,
            "BackfillFunctionName": index.backfill.function.function_name,
            "RemovalFunctionName": index.removal.function.function_name,
        }.items():
            cdk.CfnOutput(self, name, value=value)

        acknowledge_cdk_custom_resources(self)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [S3ObjectIndexStack(app, "S3ObjectIndex", description="AWS Serverless Patterns: s3-object-index")]
